//! Issue 9: a cache entry survives kill -9, timeouts and concurrent writers
//! (always the previous complete entry or the new one), `cache clear` finds
//! every part, and the lock that orders writers is private to the user.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Conntest, Output, require_keyring, unique};
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
            "name: {name}\nbase_url: {url}\nvariables: {{gen: '0'}}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: '/login?gen={{{{ vars.gen }}}}'}}}}\ntest_api: {{request: {{url: /me}}}}\n"
        ),
    )
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
fn plant(account: &str, text: &str) {
    use std::io::Write as _;
    let mut store = Command::new("secret-tool")
        .args(["store", "--label=planted", "service", "conntest", "username", account, "account", account])
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool");
    store.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    assert!(store.wait().expect("wait").success());
}

fn lookup(account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "conntest", "username", account])
        .output()
        .expect("secret-tool");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Accounts stored for `name` (`NAME` and `NAME#k`), by searching the keyring.
fn accounts_of(name: &str) -> Vec<String> {
    let out = Command::new("secret-tool").args(["search", "--all", "service", "conntest"]).output().expect("search");
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
    require_keyring();
    let name = unique("clear");
    let t = Conntest::new().connector(&name, "auth_flow: []\n");
    // A head whose part count was edited by hand, and parts a killed save orphaned.
    plant(&name, "conntest-cache g1 1/1000000\n{\"version\":1");
    plant(&format!("{name}#3"), "conntest-cache g1 3/1000000\nx");
    plant(&format!("{name}#77"), "conntest-cache g0 2/2\ny");
    plant(&format!("{name}-neighbour"), "not ours");
    let started = Instant::now();
    let clear = t.args(["cache", "clear", &name]).env("CONNTEST_KEYRING_TIMEOUT", "3").run();
    assert_eq!(clear.code, 0, "{clear:?}");
    assert!(clear.stdout.contains("(3 item(s))"), "{clear:?}");
    assert!(!clear.all().contains("cannot reach"), "{clear:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(accounts_of(&name), Vec::<String>::new());
    assert!(lookup(&format!("{name}-neighbour")).is_some(), "another connector's item was removed");

    // Parts with no head at all are found too, not "nothing cached".
    plant(&format!("{name}#5"), "conntest-cache g2 5/9\nz");
    let orphan = Conntest::new().connector(&name, "auth_flow: []\n").args(["cache", "clear", &name]).run();
    assert_eq!(orphan.code, 0, "{orphan:?}");
    assert!(orphan.stdout.contains("(1 item(s))"), "{orphan:?}");
    assert_eq!(accounts_of(&name), Vec::<String>::new());
    Conntest::new().args(["cache", "clear", &format!("{name}-neighbour")]).run();
}
