//! Issue 22, items 12 and 18: a signal ends the run in every phase (a blocked
//! read of `--inputs -` included), SIGHUP/SIGQUIT at a password prompt put the
//! terminal back, and the process can never dump core.
#![cfg(unix)]

use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use expectrl::{Eof, Expect};

use crate::harness::Conntest;
use crate::pty::{at_prompt, spawn_with_echo};

const CONNECTOR: &str =
    "auth_flow:\n  - {id: creds, type: form, fields: [{key: user}, {key: password, type: password}]}\n";

fn kill(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
    assert!(ok.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
}

/// Waits up to `limit` for the child; its exit code and how long it took.
fn wait_for(child: &mut std::process::Child, limit: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return (status.code(), started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    (None, started.elapsed())
}

/// `conntest test auth --inputs -` with a stdin that never ends: the read blocks
/// before any runtime exists, where only the watcher can end the run.
fn blocked_on_inputs() -> (std::process::Child, std::process::ChildStdin, Conntest) {
    let t = Conntest::new().connector("blocked", CONNECTOR);
    let mut cmd = t.command();
    cmd.args(["--no-cache", "test", "auth", "blocked", "--inputs", "-"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn conntest");
    let stdin = child.stdin.take().expect("stdin");
    // Until the process has started its watcher (it reads stdin only after).
    std::thread::sleep(Duration::from_millis(300));
    (child, stdin, t)
}

#[test]
fn hardening2_12_sigterm_ends_a_run_blocked_reading_inputs_with_143() {
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let (mut child, stdin, _dir) = blocked_on_inputs();
        kill(child.id(), signal);
        let (got, took) = wait_for(&mut child, Duration::from_secs(10));
        drop(stdin);
        let mut err = String::new();
        let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
        assert_eq!(got, Some(code), "SIG{signal} while reading --inputs - (after {took:?}): {err}");
        // The grace the command has to end itself is 1 s; the run is over well within 3.
        assert!(took < Duration::from_secs(3), "SIG{signal} took {took:?} to end the run");
        assert!(err.contains(&format!("interrupted by SIG{signal}")), "says why: {err}");
    }
}

#[test]
fn hardening2_18_core_dumps_are_disabled_for_the_whole_process() {
    let (mut child, stdin, _dir) = blocked_on_inputs();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap_or_default();
    kill(child.id(), "KILL");
    let _ = wait_for(&mut child, Duration::from_secs(5));
    drop(stdin);
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap_or_default().to_string();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(fields.get(4..6), Some(&["0", "0"][..]), "RLIMIT_CORE soft and hard: {core}");
}

#[test]
fn hardening2_18_sighup_and_sigquit_at_a_password_prompt_put_echo_back() {
    for (signal, code) in [("HUP", 129), ("QUIT", 131)] {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("connectors")).expect("mkdir");
        std::fs::write(dir.path().join("connectors/hup.yaml"), CONNECTOR).expect("write");
        let mut p = spawn_with_echo(dir.path(), &["test", "auth", "hup"], &[]);
        at_prompt(&mut p, "user");
        p.send_line("ann").expect("type");
        at_prompt(&mut p, "password");
        kill(p.get_process().pid().as_raw() as u32, signal);
        let _ = p.expect(Eof);
        let status = p.get_process().wait().expect("exit status");
        assert_eq!(
            status,
            expectrl::process::unix::WaitStatus::Exited(p.get_process().pid(), code),
            "SIG{signal} at the password prompt"
        );
        assert!(p.get_process().get_echo().expect("terminal settings"), "echo left off after SIG{signal}");
    }
}

/// conntest's own start-up on Linux (src/main.rs) keeps std's: SIGPIPE is
/// ignored, so output to a pipe nobody reads is an error conntest handles,
/// not a silent death by SIGPIPE — even when the parent left SIGPIPE at its
/// default (Python's subprocess does; a Rust parent would pass it ignored).
#[test]
#[cfg(target_os = "linux")]
fn a_closed_pipe_is_not_death_by_sigpipe() {
    let script = "import os, subprocess, sys\nr, w = os.pipe()\nos.close(r)\n\
                  p = subprocess.run([sys.argv[1], 'schema'], stdout=w, stderr=subprocess.DEVNULL)\n\
                  print(p.returncode)\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(crate::harness::bin())
        .output()
        .expect("python3 runs");
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_ne!(code, "-13", "killed by SIGPIPE");
    assert_eq!(code, "0", "{out:?}");
}
