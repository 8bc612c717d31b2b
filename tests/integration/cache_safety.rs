//! Issue 9: a cache entry survives kill -9, timeouts and concurrent writers
//! (always the previous complete entry or the new one), `cache clear` finds
//! every part, and the lock that orders writers is private to the user.

use std::os::unix::fs::PermissionsExt as _;

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
