//! How the process ends on a signal, in whatever phase it is: the terminal put
//! back as it was, the exit code of the table (128 + the signal), and no core
//! dump that could hold a typed password.
//!
//! The async commands answer SIGINT/SIGTERM themselves (`commands::block_on`);
//! this watcher, on a thread of its own once the command line is parsed, ends
//! the process when that cannot happen in time: a read of `--inputs` from a
//! FIFO, a long parse, the final masking of a huge report — and at once on
//! SIGHUP and SIGQUIT, whose default actions would leave echo off (and dump core).

use std::time::Duration;

/// How long the command may take to end itself after SIGINT/SIGTERM before
/// the watcher ends the process.
pub const GRACE: Duration = Duration::from_secs(1);

/// Starts the watcher thread (once the command line is parsed).
pub fn watch() {
    let terminal = crate::terminal::save();
    let started = std::thread::Builder::new().name("signals".into()).spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        let (name, code, grace) = runtime.block_on(next());
        if grace {
            std::thread::sleep(GRACE);
        }
        terminal.restore();
        let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("\ninterrupted by {name}\n").as_bytes());
        std::process::exit(code);
    });
    // Without the watcher the async commands still end on SIGINT/SIGTERM.
    drop(started);
}

/// The first signal that ends the run: its name, the exit code, and whether
/// the command gets [`GRACE`] to end itself first.
#[cfg(unix)]
async fn next() -> (&'static str, i32, bool) {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn recv(s: &mut Option<Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    let mut quit = signal(SignalKind::quit()).ok();
    tokio::select! {
        _ = recv(&mut int) => ("SIGINT", 130, true),
        _ = recv(&mut term) => ("SIGTERM", 143, true),
        _ = recv(&mut hup) => ("SIGHUP", 129, false),
        _ = recv(&mut quit) => ("SIGQUIT", 131, false),
    }
}

#[cfg(not(unix))]
async fn next() -> (&'static str, i32, bool) {
    match tokio::signal::ctrl_c().await {
        Ok(()) => ("Ctrl-C", 130, true),
        Err(_) => std::future::pending().await,
    }
}

/// What std's start-up does before `main`, for the C `main` that replaces it
/// on Linux (src/main.rs): standard streams that are closed are opened on
/// /dev/null (else the first file conntest opens, a lock file, would become
/// its stdout), and SIGPIPE is ignored (a closed pipe is an error to report,
/// not a silent death).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn start_process() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    // SAFETY: `fds` is a valid array of three pollfd for the call's duration;
    // open and signal take a NUL-terminated path and valid constants.
    unsafe {
        if libc::poll(fds.as_mut_ptr(), 3, 0) >= 0 {
            for fd in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
                // The lowest free descriptor: the closed stream's own number.
                let opened = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if opened != fd.fd && opened >= 0 {
                    libc::close(opened);
                }
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// No core file (it would hold what was typed at a password prompt), and on
/// Linux not dumpable at all (no ptrace attach by other processes of the user).
pub fn no_core_dumps() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let _ = setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) });
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    }
}
