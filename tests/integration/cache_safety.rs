//! Issue 9: a cache entry survives kill -9, timeouts and concurrent writers
//! (always the previous complete entry or the new one), `cache clear` finds
//! every part, and the lock that orders writers is private to the user.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Conntest, Keyring, Output, require_keyring, unique};
use crate::server::{Resp, Server};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// `/login?gen=G` answers a blob that says which run it belongs to.
fn gen_server(blob_len: usize) -> Server {
    Server::start(move |req| match req.path_only() {
        "/login" => {
            let generation = req.path.split("gen=").nth(1).unwrap_or("0").to_string();
            Resp::json(200, json!({"access_token": "cs-token", "blob": blob(&generation, blob_len)}))
        }
        "/me" => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(404, json!({})),
    })
}

fn blob(generation: &str, len: usize) -> String {
    format!("{generation}:").repeat(len / (generation.len() + 1) + 1)[..len].to_string()
}

fn gen_connector(name: &str, url: &str) -> Conntest {
    Conntest::new().connector(
        name,
        &format!(
            "name: {name}\nbase_url: {url}\nvariables: {{gen: '0'}}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: '/login?gen={{{{ vars.gen }}}}'}}}}\nrequest_parameters:\n  - {{name: X-Body-Len, in: header, value: '{{{{ login.body | tojson | length }}}}'}}\ntest_api: {{request: {{url: /me}}}}\n"
        ),
    )
}

/// `test auth NAME --var gen=GENERATION` with `t`: stdout discarded, stderr piped.
fn auth_run(t: &Conntest, name: &str, generation: &str) -> std::process::Command {
    let mut cmd = t.command();
    cmd.args(["test", "auth", name, "--var", &format!("gen={generation}")]);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

#[test]
fn issue_9_9_the_lock_dir_is_private_to_the_user() {
    require_keyring();
    let server = gen_server(10);
    let name = unique("lockdir");
    let t = gen_connector(&name, &server.url);
    let run_dir = tempfile::tempdir().expect("tmp");
    // A directory someone left open to all is made private again.
    std::fs::create_dir(run_dir.path().join("conntest")).expect("mkdir");
    std::fs::set_permissions(run_dir.path().join("conntest"), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let mut cmd = t.command();
    cmd.args(["test", "auth", &name]).env("XDG_RUNTIME_DIR", run_dir.path());
    let auth: Output = cmd.output().expect("run").into();
    assert_eq!(auth.code, 0, "{auth:?}");
    assert!(!auth.stderr.contains("warning"), "{auth:?}");
    assert_eq!(mode(&run_dir.path().join("conntest")), 0o700);
    assert_eq!(mode(&run_dir.path().join(format!("conntest/{name}.lock"))), 0o600);
    // The files that say which part accounts a save uses (issue 22.20).
    assert_eq!(mode(&run_dir.path().join(format!("conntest/{name}.0.slot"))), 0o600);
    assert_eq!(mode(&run_dir.path().join(format!("conntest/{name}.0.claim"))), 0o600);

    // Without XDG_RUNTIME_DIR: a 0700 dir under the user's cache dir.
    let cache_dir = tempfile::tempdir().expect("tmp");
    let mut cmd = t.command();
    cmd.args(["cache", "clear", &name]).env_remove("XDG_RUNTIME_DIR").env("XDG_CACHE_HOME", cache_dir.path());
    let clear: Output = cmd.output().expect("run").into();
    assert_eq!(clear.code, 0, "{clear:?}");
    assert_eq!(mode(&cache_dir.path().join("conntest/locks")), 0o700);
    assert_eq!(mode(&cache_dir.path().join(format!("conntest/locks/{name}.lock"))), 0o600);
}

#[test]
fn issue_9_9_no_private_lock_dir_is_exit_4_not_an_unlocked_run() {
    let server = gen_server(10);
    let name = unique("nolock");
    let t = gen_connector(&name, &server.url);
    let blocked = t.path().join("blocked");
    std::fs::create_dir(&blocked).expect("mkdir");
    std::fs::write(blocked.join("conntest"), "a file where the lock dir should be").expect("write");
    for flow in ["auth", "api", "refresh"] {
        let mut cmd = t.command();
        cmd.args(["test", flow, &name]).env("XDG_RUNTIME_DIR", &blocked);
        let out: Output = cmd.output().expect("run").into();
        assert_eq!(out.code, 4, "{flow}: {out:?}");
        assert!(out.stderr.contains("cannot lock the cache"), "{flow}: {out:?}");
        assert!(out.stderr.contains("blocked/conntest"), "names the directory: {out:?}");
    }
    let mut cmd = t.command();
    cmd.args(["test", "auth", &name]).env_remove("XDG_RUNTIME_DIR").env_remove("HOME").env_remove("XDG_CACHE_HOME");
    let homeless: Output = cmd.output().expect("run").into();
    assert_eq!(homeless.code, 4, "{homeless:?}");
    assert_eq!(server.count("/login"), 0, "nothing ran unlocked");
    // --no-cache needs no lock.
    let mut cmd = t.command();
    cmd.args(["--no-cache", "test", "auth", &name]).env("XDG_RUNTIME_DIR", &blocked);
    let out: Output = cmd.output().expect("run").into();
    assert_eq!(out.code, 0, "{out:?}");
}

/// Stores `text` under `account` (service `conntest`) as another program could.
fn plant(k: &Keyring, account: &str, text: &str) {
    use std::io::Write as _;
    let mut store = k
        .secret_tool()
        .args(["store", "--label=planted", "service", "conntest", "username", account, "account", account])
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool");
    store.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    assert!(store.wait().expect("wait").success());
}

/// `run()` again (three times, 0.3 s apart) until `settled` says its answer is one:
/// a busy Secret Service can time one call out, and a private one is restarted
/// after a crash (see `Keyring::private`). That is neither "no items" nor a miss.
fn asked_again<T>(run: impl Fn() -> T, settled: impl Fn(&T) -> bool) -> T {
    let mut out = run();
    for _ in 0..3 {
        if settled(&out) {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        out = run();
    }
    out
}

/// `secret-tool ARGS`, asked again while it fails with an error.
fn secret_tool(k: &Keyring, args: &[&str]) -> std::process::Output {
    asked_again(
        || k.secret_tool().args(args).output().expect("secret-tool"),
        |out| out.status.success() || out.stderr.is_empty(),
    )
}

fn lookup(k: &Keyring, account: &str) -> Option<String> {
    let out = secret_tool(k, &["lookup", "service", "conntest", "username", account]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Accounts stored for `name` (`NAME` and `NAME#k`), by searching the keyring.
fn accounts_of(k: &Keyring, name: &str) -> Vec<String> {
    let out = secret_tool(k, &["search", "--all", "service", "conntest"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("attribute.username = "))
        .filter(|a| *a == name || a.strip_prefix(name).is_some_and(|k| k.starts_with('#')))
        .map(str::to_string)
        .collect();
    found.sort();
    found
}

#[test]
fn issue_9_15_clear_finds_every_part_by_search() {
    let k = Keyring::shared();
    let name = unique("clear");
    let t = Conntest::new().connector(&name, "auth_flow: []\n");
    // A head whose part count was edited by hand, and parts a killed save orphaned.
    plant(&k, &name, "conntest-cache g1 1/1000000\n{\"version\":1");
    plant(&k, &format!("{name}#3"), "conntest-cache g1 3/1000000\nx");
    plant(&k, &format!("{name}#77"), "conntest-cache g0 2/2\ny");
    plant(&k, &format!("{name}-neighbour"), "not ours");
    let started = Instant::now();
    let clear = t.args(["cache", "clear", &name]).env("CONNTEST_KEYRING_TIMEOUT", "3").run();
    assert_eq!(clear.code, 0, "{clear:?}");
    assert!(clear.stdout.contains("(3 item(s))"), "{clear:?}");
    assert!(!clear.all().contains("cannot reach"), "{clear:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(accounts_of(&k, &name), Vec::<String>::new());
    assert!(lookup(&k, &format!("{name}-neighbour")).is_some(), "another connector's item was removed");

    // Parts with no head at all are found too, not "nothing cached".
    plant(&k, &format!("{name}#5"), "conntest-cache g2 5/9\nz");
    let orphan = Conntest::new().connector(&name, "auth_flow: []\n").args(["cache", "clear", &name]).run();
    assert_eq!(orphan.code, 0, "{orphan:?}");
    assert!(orphan.stdout.contains("(1 item(s))"), "{orphan:?}");
    assert_eq!(accounts_of(&k, &name), Vec::<String>::new());
    Conntest::new().args(["cache", "clear", &format!("{name}-neighbour")]).run();
}

/// A blob that makes the entry ~10 parts of 64 characters.
const BLOB: usize = 300;

/// Reads the entry until `done`, counting the reads: every entry seen must be
/// one of the complete ones in `valid`.
fn read_until(
    done: &std::sync::atomic::AtomicBool,
    t: &Conntest,
    name: &str,
    valid: &[String],
) -> Result<usize, String> {
    let mut reads = 0;
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        match shown_blob(t, name) {
            Ok(shown) if valid.contains(&shown) => reads += 1,
            Ok(_) => return Err("a reader saw a mixed entry".to_string()),
            Err(why) => return Err(format!("a reader saw no complete entry: {why}")),
        }
    }
    Ok(reads)
}

/// `cache show --reveal` of `name`: the blob of a complete entry, or why there is none.
/// A keyring that cannot be used (exit 4: the private daemon restarting after a
/// crash) is asked again; a miss or a broken entry is not.
fn shown_blob(t: &Conntest, name: &str) -> Result<String, String> {
    let out = asked_again(
        || -> Output {
            let mut cmd = t.command();
            cmd.args(["--format", "json", "--reveal", "cache", "show", name]);
            let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run");
            match output_by(child, Instant::now() + Duration::from_secs(60)) {
                Ok(out) => out.into(),
                Err(why) => Output { code: -1, stdout: String::new(), stderr: why },
            }
        },
        |out| out.code != 4,
    );
    if out.code != 0 {
        return Err(format!("{out:?}"));
    }
    out.json()["outputs"]["login"]["body"]["blob"].as_str().map(str::to_string).ok_or_else(|| format!("{out:?}"))
}

/// The accounts a complete entry of `name` is made of, from its head.
fn accounts_of_head(k: &Keyring, name: &str) -> Vec<String> {
    let head = lookup(k, name).expect("head");
    let mut accounts = vec![name.to_string()];
    if let Some(line) = head.strip_prefix("conntest-cache ").and_then(|h| h.lines().next()) {
        let words: Vec<&str> = line.split(' ').collect();
        let total: usize = words[1].split_once('/').expect("part/total").1.parse().expect("total");
        let first: usize = words.get(2).map_or(2, |f| f.parse().expect("first"));
        accounts.extend((first..first + total - 1).map(|k| format!("{name}#{k}")));
    }
    accounts.sort();
    accounts
}

/// Small xorshift: the kill points differ per run and the seed is printed for a replay.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("KILL_LOOP_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7)
        });
        eprintln!("kill loop seed: KILL_LOOP_SEED={seed}");
        Rng(seed | 1)
    }
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn issue_9_2_kill_9_at_random_points_of_split_saves_never_loses_the_entry() {
    // Its own keyring: a conntest killed (or giving up) mid-call can crash the daemon.
    let k = Keyring::private();
    let server = gen_server(BLOB);
    let name = unique("kill");
    let t = k.conntest(gen_connector(&name, &server.url).env("CONNTEST_CACHE_CHUNK_CHARS", "64"));
    let auth = |generation: &str| auth_run(&t, &name, generation);
    // Two whole runs: a complete entry to start from, and how long a run takes.
    let mut full = Duration::ZERO;
    for generation in ["base0", "base"] {
        let started = Instant::now();
        let out = auth(generation).output().expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        full = full.max(started.elapsed());
    }
    let parts = accounts_of_head(&k, &name).len();
    assert!(parts >= 6, "the entry is split: {parts} items");

    let mut rng = Rng::new();
    let mut known = "base".to_string();
    let (mut kept_old, mut got_new, mut runs) = (0, 0, 0);
    let started = Instant::now();
    // 200 kills, or as many as fit in about a minute on a slow or busy machine.
    while runs < 200 && started.elapsed() < Duration::from_secs(60) {
        let generation = format!("k{runs}");
        let mut child = auth(&generation).spawn().expect("spawn");
        let delay = full.mul_f64(rng.unit() * 1.1);
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let shown = shown_blob(&t, &name)
            .unwrap_or_else(|why| panic!("kill {runs} after {delay:?} of ~{full:?} lost the entry: {why}"));
        if shown == blob(&generation, BLOB) {
            known = generation;
            got_new += 1;
        } else {
            assert_eq!(shown, blob(&known, BLOB), "kill {runs} after {delay:?}: neither the old nor the new entry");
            kept_old += 1;
        }
        runs += 1;
    }
    eprintln!("{runs} kills of {parts}-item saves (~{full:?} each): {kept_old} kept the old entry, {got_new} the new");
    assert!(runs >= 50, "only {runs} kills fitted in the time budget");
    assert!(kept_old > 0 && got_new > 0, "kills landed both before and after the switch");

    // The next whole save removes every part the killed ones left behind.
    let out = auth("last").output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(shown_blob(&t, &name), Ok(blob("last", BLOB)));
    assert_eq!(accounts_of(&k, &name), accounts_of_head(&k, &name), "leftover parts");
    t.command().args(["cache", "clear", &name]).output().expect("clear");
    assert_eq!(accounts_of(&k, &name), Vec::<String>::new());
}

#[test]
fn issue_9_2_twenty_processes_saving_split_entries_leave_a_complete_one() {
    // Its own keyring: a conntest killed (or giving up) mid-call can crash the daemon.
    let k = Keyring::private();
    let server = gen_server(BLOB);
    let name = unique("twenty");
    let t = k.conntest(gen_connector(&name, &server.url).env("CONNTEST_CACHE_CHUNK_CHARS", "64"));
    let auth = |generation: &str, timeout: &str| {
        let mut cmd = auth_run(&t, &name, generation);
        cmd.env("CONNTEST_KEYRING_TIMEOUT", timeout);
        cmd
    };
    let mut full = Duration::ZERO;
    for generation in ["base0", "base"] {
        let started = Instant::now();
        assert!(auth(generation, "30").status().expect("run").success());
        full = full.max(started.elapsed());
    }
    // One save's own keyring work fits in the timeout many times over; twenty saves
    // queued behind one another do not — waiting for the lock is not a keyring call.
    let timeout = (full.as_secs_f64() * 6.0).clamp(1.5, 10.0).to_string();
    let generations: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    let valid: Vec<String> =
        std::iter::once("base").chain(generations.iter().map(String::as_str)).map(|g| blob(g, BLOB)).collect();
    let children: Vec<_> = generations.iter().map(|g| auth(g, &timeout).spawn().expect("spawn")).collect();
    // Every wait is bounded, and the readers stop on every path (a failed or hung
    // child included): the test fails with the child's output, it never hangs.
    let deadline = Instant::now() + full.mul_f64(40.0).max(Duration::from_secs(120));
    let done = std::sync::atomic::AtomicBool::new(false);
    let (reads, failures) = std::thread::scope(|s| {
        // Readers all along: every entry they see is one of the complete ones.
        let reader = s.spawn(|| read_until(&done, &t, &name, &valid));
        let stop = StopOnDrop(&done);
        let mut failures = Vec::new();
        for (generation, child) in generations.iter().zip(children) {
            match output_by(child, deadline) {
                Ok(out) => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    if !out.status.success() {
                        failures.push(format!("run {generation} failed ({}):\n{stderr}", out.status));
                    } else if stderr.contains("warning") {
                        failures.push(format!("run {generation} did not cache its outputs:\n{stderr}"));
                    }
                }
                Err(why) => failures.push(format!("run {generation}: {why}")),
            }
        }
        drop(stop);
        (reader.join(), failures)
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let reads = match reads {
        Ok(Ok(reads)) => reads,
        Ok(Err(why)) => panic!("{why}"),
        Err(_) => panic!("the reader panicked"),
    };
    assert!(reads > 0);
    let last = shown_blob(&t, &name).expect("complete entry");
    assert!(valid[1..].contains(&last), "one of the twenty saves is the entry");
    assert_eq!(accounts_of(&k, &name), accounts_of_head(&k, &name), "leftover parts");
    t.command().args(["cache", "clear", &name]).output().expect("clear");
}

/// Sets the flag when dropped: on the normal path and when a panic unwinds alike.
struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `child`'s output once it exits; past `deadline` it is killed and the error
/// holds what it printed until then.
pub fn output_by(child: std::process::Child, deadline: Instant) -> Result<std::process::Output, String> {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(out) => out.map_err(|e| format!("cannot wait for pid {pid}: {e}")),
        Err(_) => {
            // Our own child, by its pid (the Child moved into the waiting thread).
            let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            let printed = rx
                .recv_timeout(Duration::from_secs(10))
                .ok()
                .and_then(Result::ok)
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                .unwrap_or_default();
            Err(format!("pid {pid} still running at the deadline, killed; it printed:\n{printed}"))
        }
    }
}

#[test]
fn issue_9_2_a_save_that_times_out_keeps_the_old_entry() {
    // Its own keyring: a conntest killed (or giving up) mid-call can crash the daemon.
    let k = Keyring::private();
    let server = gen_server(3000);
    let name = unique("slow");
    let t = k.conntest(gen_connector(&name, &server.url).env("CONNTEST_CACHE_CHUNK_CHARS", "64"));
    let auth = |generation: &str, timeout: &str| -> Output {
        let mut cmd = t.command();
        cmd.args(["test", "auth", &name, "--var", &format!("gen={generation}")]);
        cmd.env("CONNTEST_KEYRING_TIMEOUT", timeout).output().expect("run").into()
    };
    let first = auth("old", "30");
    assert_eq!(first.code, 0, "{first:?}");
    let parts = accounts_of_head(&k, &name);
    // The timeout is for one keyring call: writing one item takes ~10-20 ms, so
    // with 5 ms the save is abandoned at a part write, before the head switch.
    let slow = auth("new", "0.005");
    assert_eq!(slow.code, 0, "{slow:?}");
    assert!(slow.stderr.contains("nothing was cached"), "{slow:?}");
    assert_eq!(shown_blob(&t, &name), Ok(blob("old", 3000)), "the old entry is intact");
    assert_eq!(accounts_of_head(&k, &name), parts);
    // Whatever the abandoned save could not remove, the next one does.
    let next = auth("next", "30");
    assert_eq!(next.code, 0, "{next:?}");
    assert_eq!(shown_blob(&t, &name), Ok(blob("next", 3000)));
    assert_eq!(accounts_of(&k, &name), accounts_of_head(&k, &name), "leftover parts");
    t.command().args(["cache", "clear", &name]).output().expect("clear");
}

/// Issue 22 item 20: fifty processes saving 26-part entries at once all cache
/// their entry and say so. A save holds the writers' lock only to pick its
/// accounts and to switch the head (its parts are written and the old ones
/// deleted outside it), it has succeeded once the head is switched, and
/// waiting for the others is bounded by their progress, not by a total.
/// Before: 0/50 cached, and 40 runs warned "nothing was cached" for an entry
/// they had saved (the timeout hit the clean-up after the head switch).
#[test]
fn hardening2_20_fifty_processes_saving_26_part_entries_all_cache() {
    // Its own keyring: the count of items left is this test's alone.
    let k = Keyring::private();
    const LEN: usize = 1350;
    const PROCESSES: usize = 50;
    let server = gen_server(LEN);
    let name = unique("fifty");
    let t = k.conntest(gen_connector(&name, &server.url).env("CONNTEST_CACHE_CHUNK_CHARS", "64"));
    let auth = |generation: &str| auth_run(&t, &name, generation);
    let started = Instant::now();
    let base = auth("base").output().expect("run");
    assert!(base.status.success(), "{}", String::from_utf8_lossy(&base.stderr));
    let alone = started.elapsed();
    assert_eq!(accounts_of_head(&k, &name).len(), 26, "the entry is not 26 parts");

    // The keyring's timeout is for one call (one item written, read or deleted:
    // ~10-40 ms here), not for a save's fifty calls (~0.5 s alone): a timeout
    // that one call keeps easily must not fail, or half-fail, fifty saves.
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| auth(&format!("p{i}")).env("CONNTEST_KEYRING_TIMEOUT", "0.5").spawn().expect("spawn"))
        .collect();
    // Bounded: a child still running at the deadline is killed and its output shown.
    let deadline = started + Duration::from_secs(300);
    let valid: Vec<String> = std::iter::once("base".to_string())
        .chain((0..PROCESSES).map(|i| format!("p{i}")))
        .map(|g| blob(&g, LEN))
        .collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (reads, failures) = std::thread::scope(|s| {
        // Two readers all along (parts are written outside the lock now): every
        // entry they see is a complete one.
        let readers: Vec<_> = (0..2).map(|_| s.spawn(|| read_until(&done, &t, &name, &valid))).collect();
        let stop = StopOnDrop(&done);
        let mut failures = Vec::new();
        for (i, child) in children.into_iter().enumerate() {
            match output_by(child, deadline) {
                Ok(out) => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    if !out.status.success() || stderr.contains("nothing was cached") {
                        failures.push(format!("run p{i} ({}):\n{stderr}", out.status));
                    }
                }
                Err(why) => failures.push(format!("run p{i}: {why}")),
            }
        }
        drop(stop);
        (readers.into_iter().map(|r| r.join()).collect::<Vec<_>>(), failures)
    });
    eprintln!("one 26-part save alone: {alone:?}; {PROCESSES} at once: {:?}", started.elapsed());
    assert!(failures.is_empty(), "{} of {PROCESSES} runs failed:\n{}", failures.len(), failures.join("\n"));
    for read in reads {
        match read {
            Ok(Ok(reads)) => assert!(reads > 0),
            Ok(Err(why)) => panic!("{why}"),
            Err(_) => panic!("a reader panicked"),
        }
    }
    let last = shown_blob(&t, &name).expect("a complete entry");
    assert!(valid[1..].contains(&last), "the entry is none of the fifty saves'");
    assert_eq!(accounts_of(&k, &name), accounts_of_head(&k, &name), "leftover parts");
    t.command().args(["cache", "clear", &name]).output().expect("clear");
}
