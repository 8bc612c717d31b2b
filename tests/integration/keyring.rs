//! The cache against a real Secret Service (gnome-keyring in a private session bus).

use std::process::Command;

use serde_json::json;

#[cfg(unix)]
use crate::harness::Keyring;
use crate::harness::{Conntest, Output, bin, require_keyring, unique};
use crate::server::{Resp, Server};

fn secret_tool(args: &[&str]) -> (i32, String) {
    let out = Command::new("secret-tool").args(args).output().expect("secret-tool installed");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn lookup(account: &str) -> Option<String> {
    let (code, text) = secret_tool(&["lookup", "service", "conntest", "account", account]);
    (code == 0 && !text.is_empty()).then_some(text)
}

fn server(payload_len: usize) -> Server {
    Server::start(move |req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": "kr-token-abc", "blob": "z".repeat(payload_len)}))
            .header("Set-Cookie", "sid=kr-cookie-123; Path=/; Max-Age=3600"),
        "/me" if req.header("authorization") == Some("Bearer kr-token-abc") => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    })
}

fn connector(name: &str, url: &str) -> String {
    format!(
        "name: {name}\nbase_url: {url}\ncookies: {{forward_all: true}}\nauth_flow:\n  - {{id: f, type: form, fields: [{{key: user}}]}}\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\nrequest_parameters:\n  - {{name: Authorization, in: header, value: 'Bearer {{{{ login.body.access_token }}}}'}}\n  - {{name: X-Body-Len, in: header, value: '{{{{ login.body | tojson | length }}}}'}}\ntest_api: {{request: {{url: /me}}}}\n"
    )
}

fn conntest(name: &str, url: &str) -> Conntest {
    Conntest::new().connector(name, &connector(name, url))
}

#[test]
fn auth_stores_an_entry_that_show_reads_and_clear_removes() {
    require_keyring();
    let server = server(10);
    let name = unique("kr");
    let auth = conntest(&name, &server.url).args(["test", "auth", &name, "--input", "f.user=ann"]).run();
    assert_eq!(auth.code, 0, "{auth:?}");
    assert!(!auth.stderr.contains("warning"), "{auth:?}");
    assert!(
        auth.stdout.contains(&format!("cached in the OS keyring (service conntest, account {name})")),
        "a successful test auth says where it cached: {auth:?}"
    );
    let stored = lookup(&name).expect("secret-tool finds the entry");
    let stored: serde_json::Value = serde_json::from_str(&stored).expect("a small entry is plain JSON");
    assert_eq!(stored["version"], 1);
    assert_eq!(stored["connector"], name.as_str());
    assert!(stored["saved_at"].is_string());
    assert_eq!(stored["outputs"]["login"]["body"]["access_token"], "kr-token-abc");
    // Form values are kept only for `use_stored_credentials` (this connector has none).
    assert_eq!(stored["inputs"], serde_json::json!({}));
    assert_eq!(stored["cookies"][0]["name"], "sid");

    let show = conntest(&name, &server.url).args(["--format", "json", "cache", "show", &name]).run();
    assert_eq!(show.code, 0, "{show:?}");
    let doc = show.json();
    assert_eq!(doc["connector"], name.as_str());
    assert!(doc["saved_at"].as_str().is_some_and(|s| s.contains('T')));
    assert_eq!(doc["outputs"]["login"]["body"]["access_token"], "****");
    assert_eq!(doc["inputs"], serde_json::json!({}));
    assert_eq!(doc["cookies"][0]["name"], "sid", "{show:?}");
    assert_eq!(doc["cookies"][0]["value"], "****");
    assert_eq!(doc["cookies"][0]["domain"], "127.0.0.1");
    assert_eq!(doc["cookies"][0]["path"], "/");
    assert!(doc["cookies"][0]["expires"].is_string());
    assert!(!show.stdout.contains("kr-token-abc") && !show.stdout.contains("kr-cookie-123"));
    let reveal = conntest(&name, &server.url).args(["--format", "json", "--reveal", "cache", "show", &name]).run();
    assert_eq!(reveal.json()["outputs"]["login"]["body"]["access_token"], "kr-token-abc");

    let list = conntest(&name, &server.url).args(["--format", "json", "list"]).run();
    assert_eq!(list.json()["connectors"][0]["cached"], true, "{list:?}");
    assert!(list.json()["connectors"][0]["saved_at"].is_string(), "{list:?}");
    // With its file gone, the entry is still listed for support staff.
    let orphan = Conntest::new().connector("other", "auth_flow: []\n").args(["--format", "json", "list"]).run();
    let listed = orphan.json()["connectors"].as_array().cloned().unwrap_or_default();
    let entry = listed.iter().find(|c| c["name"] == name.as_str()).expect("orphan entry listed");
    assert_eq!(entry["file"], serde_json::Value::Null);
    assert_eq!(entry["cached"], true);

    let clear = conntest(&name, &server.url).args(["cache", "clear", &name]).run();
    assert_eq!(clear.code, 0, "{clear:?}");
    assert_eq!(lookup(&name), None);
    let gone = conntest(&name, &server.url).args(["cache", "show", &name]).run();
    assert_eq!(gone.code, 4, "{gone:?}");
    assert!(gone.stderr.contains("nothing cached"), "{gone:?}");
}

#[test]
fn a_large_entry_is_split_and_round_trips_intact() {
    require_keyring();
    let server = server(6000);
    let name = unique("big");
    let t = || conntest(&name, &server.url).env("CONNTEST_CACHE_CHUNK_CHARS", "1000");
    let auth = t().args(["test", "auth", &name, "--input", "f.user=ann"]).run();
    assert_eq!(auth.code, 0, "{auth:?}");
    assert!(lookup(&format!("{name}#2")).is_some(), "split parts use accounts NAME#2…");
    let show = t().args(["--format", "json", "--reveal", "cache", "show", &name]).run();
    assert_eq!(show.json()["outputs"]["login"]["body"]["blob"], "z".repeat(6000));
    let api = t().args(["test", "api", &name]).run();
    assert_eq!(api.code, 0, "{api:?}");
    t().args(["cache", "clear", &name]).run();
    for part in 1..9 {
        let account = if part == 1 { name.clone() } else { format!("{name}#{part}") };
        assert_eq!(lookup(&account), None, "{account} left behind");
    }
}

/// Stores `text` where conntest looks for `name`'s entry, as another program could.
fn plant(name: &str, text: &str) {
    plant_item(name, text);
}

/// Replaces the keyring item of `account` (`NAME` or `NAME#k`) with `text`.
fn plant_item(account: &str, text: &str) {
    use std::io::Write as _;
    remove_item(account);
    let mut store = Command::new("secret-tool")
        .args(["store", "--label=junk", "service", "conntest", "username", account, "account", account])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("secret-tool");
    store.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    assert!(store.wait().expect("wait").success());
}

fn remove_item(account: &str) {
    secret_tool(&["clear", "service", "conntest", "username", account]);
}

/// Issue 12: reassembly checks each part's generation and that none is missing.
/// The planted part keeps the JSON valid (the blob's letters only), so only those
/// checks can tell the mixed or shortened entry from the one that was saved.
#[test]
fn a_split_entry_with_a_foreign_or_missing_part_is_a_miss() {
    require_keyring();
    let server = server(6000);
    let name = unique("mixed");
    let t = || conntest(&name, &server.url).env("CONNTEST_CACHE_CHUNK_CHARS", "1000");
    let auth = t().args(["test", "auth", &name, "--input", "f.user=ann"]).run();
    assert_eq!(auth.code, 0, "{auth:?}");
    assert_eq!(t().args(["test", "api", &name]).run().code, 0, "the saved entry loads");

    // The head: `conntest-cache GEN 1/TOTAL FIRST`, FIRST the account number of part 2.
    let head = lookup(&name).expect("head");
    let fields: Vec<&str> = head.lines().next().expect("header line").split(' ').collect();
    let (generation, total, first) = match fields[..] {
        ["conntest-cache", generation, count, first] => (
            generation.to_string(),
            count.strip_prefix("1/").and_then(|n| n.parse::<usize>().ok()).expect("1/TOTAL"),
            first.parse::<usize>().expect("FIRST"),
        ),
        _ => panic!("not a split head: {head}"),
    };
    // A part that lies inside the blob: all `z`.
    let (part, account, data) = (2..=total)
        .find_map(|part| {
            let account = format!("{name}#{}", first + part - 2);
            let text = lookup(&account)?;
            let (header, data) = text.split_once('\n')?;
            assert_eq!(header, format!("conntest-cache {generation} {part}/{total}"), "{account}");
            (!data.is_empty() && data.chars().all(|c| c == 'z')).then(|| (part, account, data.to_string()))
        })
        .expect("a part inside the blob");

    // The same part from another save: a well-formed part, valid JSON once joined.
    plant_item(&account, &format!("conntest-cache other-save {part}/{total}\n{}", "y".repeat(data.len())));
    let foreign = t().args(["test", "api", &name]).run();
    assert_eq!(foreign.code, 4, "an entry mixing two saves must not load: {foreign:?}");
    assert!(foreign.stderr.contains(&format!("part {part} belongs to another save")), "{foreign:?}");

    // The part gone.
    remove_item(&account);
    assert_eq!(lookup(&account), None);
    let missing = t().args(["test", "api", &name]).run();
    assert_eq!(missing.code, 4, "an entry with a part missing must not load: {missing:?}");
    assert!(missing.stderr.contains(&format!("part {part} of {total} is missing")), "{missing:?}");

    t().args(["cache", "clear", &name]).run();
}

/// The keyring test connector plus a refresh flow, for `test refresh --auth-first`.
fn refreshable(name: &str, url: &str) -> Conntest {
    let yaml = connector(name, url).replace(
        "request_parameters:",
        "refresh_flow:\n  steps:\n    - {id: again, type: api_request, request: {method: POST, url: /login}}\n  update_variables:\n    login.body.access_token: '{{ again.body.access_token }}'\nrequest_parameters:",
    );
    Conntest::new().connector(name, &yaml)
}

#[test]
fn a_corrupt_entry_is_a_warning_and_a_miss() {
    require_keyring();
    let server = server(10);
    let name = unique("corrupt");
    plant(&name, "{not a conntest entry");
    let api = conntest(&name, &server.url).args(["test", "api", &name]).run();
    assert_eq!(api.code, 4, "{api:?}");
    assert!(api.stderr.contains("warning:") && api.stderr.contains("cannot be read"), "{api:?}");
    assert!(api.stdout.contains("nothing cached"), "{api:?}");
    // A miss, so --auth-first signs in afresh, refreshes, and replaces the entry.
    let fresh =
        refreshable(&name, &server.url).args(["test", "refresh", &name, "--auth-first", "--input", "f.user=ann"]).run();
    assert_eq!(fresh.code, 0, "{fresh:?}");
    assert!(fresh.stderr.contains("cannot be read"), "{fresh:?}");
    let show = conntest(&name, &server.url).args(["cache", "show", &name]).run();
    assert_eq!(show.code, 0, "the fresh run replaced the corrupt entry: {show:?}");
    conntest(&name, &server.url).args(["cache", "clear", &name]).run();
}

#[test]
fn an_entry_of_another_format_version_is_a_warning_and_a_miss() {
    require_keyring();
    let server = server(10);
    let name = unique("oldver");
    let old = format!(
        "conntest-cache g0 1/1\n{{\"version\":0,\"connector\":\"{name}\",\"saved_at\":\"2020-01-01T00:00:00Z\",\"outputs\":{{}},\"inputs\":{{}},\"cookies\":[]}}"
    );
    plant(&name, &old);
    let api = conntest(&name, &server.url).args(["test", "api", &name]).run();
    assert_eq!(api.code, 4, "{api:?}");
    assert!(api.stderr.contains("format version 0"), "{api:?}");
    conntest(&name, &server.url).args(["cache", "clear", &name]).run();
}

#[test]
fn twenty_concurrent_runs_leave_a_complete_entry() {
    require_keyring();
    let server = server(3000);
    let name = unique("conc");
    let t = conntest(&name, &server.url).env("CONNTEST_CACHE_CHUNK_CHARS", "700").args([
        "test",
        "auth",
        &name,
        "--input",
        "f.user=ann",
    ]);
    let children: Vec<_> = (0..20)
        .map(|_| {
            let mut cmd = t.command();
            cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
            cmd.spawn().expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("warning"), "every run cached its outputs: {stderr}");
    }
    let show = conntest(&name, &server.url)
        .env("CONNTEST_CACHE_CHUNK_CHARS", "700")
        .args(["--format", "json", "--reveal", "cache", "show", &name])
        .run();
    assert_eq!(show.code, 0, "{show:?}");
    assert_eq!(show.json()["outputs"]["login"]["body"]["blob"], "z".repeat(3000));
    conntest(&name, &server.url).args(["cache", "clear", &name]).run();
}

fn unreachable(t: Conntest) -> Output {
    t.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus").run()
}

#[test]
fn without_a_keyring_auth_runs_and_warns_and_api_exits_4() {
    let server = server(10);
    let name = unique("nokr");
    let auth = unreachable(conntest(&name, &server.url).args(["test", "auth", &name, "--input", "f.user=ann"]));
    assert_eq!(auth.code, 0, "{auth:?}");
    assert_eq!(auth.stderr.matches("nothing was cached").count(), 1, "{auth:?}");
    let api = unreachable(conntest(&name, &server.url).args(["test", "api", &name]));
    assert_eq!(api.code, 4, "{api:?}");
    assert!(api.all().contains("cannot read the cache"), "{api:?}");
    assert!(api.all().contains("unlock the OS keyring"), "{api:?}");
    assert!(api.all().contains("no D-Bus session bus answers") && !api.all().contains("zbus"), "{api:?}");
    let show = unreachable(conntest(&name, &server.url).args(["cache", "show", &name]));
    assert_eq!(show.code, 4, "{show:?}");
    assert!(show.stderr.contains("error: cannot use the cache: the keyring cannot be reached (no D-Bus"), "{show:?}");
    let no_cache =
        unreachable(conntest(&name, &server.url).args(["--no-cache", "test", "auth", &name, "--input", "f.user=ann"]));
    assert_eq!(no_cache.code, 0);
    assert!(!no_cache.stderr.contains("warning"), "--no-cache never touches the keyring: {no_cache:?}");
}

/// Runs `conntest ARGS` in `dir` under `wrapper`, a command line that ends in `--`.
fn under(mut wrapper: Command, dir: &std::path::Path, args: &[&str]) -> Output {
    wrapper.arg(bin()).args(args).current_dir(dir).env("CI", "true").env("NO_COLOR", "1").output().expect("run").into()
}

/// Runs `conntest ARGS` inside a fresh session (`--locked` or not) of tests/keyring-session.sh.
fn in_session(locked: bool, dir: &std::path::Path, args: &[&str]) -> Output {
    let session = std::env::var("CONNTEST_KEYRING_SESSION").expect("CONNTEST_KEYRING_SESSION (run tests/run.sh)");
    let mut cmd = Command::new(session);
    if locked {
        cmd.arg("--locked");
    }
    cmd.arg("--");
    under(cmd, dir, args)
}

#[test]
fn a_locked_keyring_is_a_warning_for_auth_and_exit_4_for_api() {
    require_keyring();
    let server = server(10);
    let t = conntest("locked", &server.url);
    let auth = in_session(true, t.path(), &["test", "auth", "locked", "--input", "f.user=ann"]);
    assert_eq!(auth.code, 0, "{auth:?}");
    assert!(auth.stderr.contains("nothing was cached"), "{auth:?}");
    let api = in_session(true, t.path(), &["test", "api", "locked"]);
    assert_eq!(api.code, 4, "{api:?}");
}

#[test]
fn clear_all_removes_every_item_even_of_deleted_connectors() {
    require_keyring();
    let server = server(3000);
    let t = conntest("one", &server.url).connector("two", &connector("two", &server.url));
    // One private keyring for the whole scenario: clear --all must not race other tests.
    let script = format!(
        "set -e; export CONNTEST_CACHE_CHUNK_CHARS=1000; C={bin}; $C test auth one two --input f.user=ann; rm connectors/two.yaml; \
         secret-tool search --all service conntest 2>&1 | grep -c '^attribute.account' ; $C cache clear --all; \
         echo left=$(secret-tool search --all service conntest 2>&1 | grep -c '^attribute.account' || true)",
        bin = bin().display()
    );
    let session = std::env::var("CONNTEST_KEYRING_SESSION").expect("session");
    let run = Command::new(session)
        .args(["--", "bash", "-c", &script])
        .current_dir(t.path())
        .env("CI", "true")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    let first: usize = stdout.lines().find_map(|l| l.trim().parse().ok()).unwrap_or(0);
    assert!(first >= 4, "two split entries stored: {stdout}");
    assert!(stdout.contains("left=0"), "{stdout}");
}

#[test]
fn a_bus_without_a_secret_service_is_an_unreachable_keyring() {
    let server = server(10);
    let t = conntest("noprov", &server.url);
    // A private session bus that can activate nothing: no Secret Service provider at all.
    let config = t.path().join("bus.conf");
    std::fs::write(
        &config,
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>"#,
    )
    .expect("write bus config");
    let run = |args: &[&str]| {
        let mut bus = Command::new("dbus-run-session");
        bus.arg(format!("--config-file={}", config.display())).arg("--");
        under(bus, t.path(), args)
    };
    let auth = run(&["test", "auth", "noprov", "--input", "f.user=ann"]);
    assert_eq!(auth.code, 0, "{auth:?}");
    assert!(auth.stderr.contains("nothing was cached"), "{auth:?}");
    // The bus answers, the provider is missing: say that, and what to start.
    assert!(auth.stderr.contains("no Secret Service provider on the session bus at unix:"), "{auth:?}");
    assert!(auth.stderr.contains("start gnome-keyring-daemon"), "{auth:?}");
    assert!(!auth.stderr.contains("zbus") && !auth.stderr.contains("ServiceUnknown"), "{auth:?}");
    let api = run(&["test", "api", "noprov"]);
    assert_eq!(api.code, 4, "{api:?}");
}

#[test]
fn a_keyring_that_never_answers_times_out() {
    let python = std::env::var("CONNTEST_PEERS_PYTHON").expect("CONNTEST_PEERS_PYTHON (run tests/run.sh)");
    let hung = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/hung_secrets.py");
    let server = server(10);
    let t = conntest("hung", &server.url);
    let script = format!(
        "{python} {hung} > ready.txt 2>&1 & for i in $(seq 100); do grep -q READY ready.txt && break; sleep 0.1; done; \
         export CONNTEST_KEYRING_TIMEOUT=1 CI=true NO_COLOR=1; \
         {bin} test auth hung --input f.user=ann; echo auth=$?; {bin} test api hung; echo api=$?; kill %1",
        bin = bin().display()
    );
    let started = std::time::Instant::now();
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", &script])
        .current_dir(t.path())
        .output()
        .expect("run");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("auth=0") && stdout.contains("api=4"), "{stdout}\n{stderr}");
    assert!(stderr.contains("did not answer within 1 s"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "took {:?}", started.elapsed());
}

/// The process that owns `org.freedesktop.secrets` on `k`'s bus.
#[cfg(unix)]
fn secrets_daemon(k: &Keyring) -> Option<u32> {
    let out = k
        .on_bus("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            "string:org.freedesktop.secrets",
        ])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).split_whitespace().last()?.parse().ok()
}

#[cfg(unix)]
#[test]
fn a_secret_service_restarted_during_the_sign_in_still_gets_the_save() {
    // Its own keyring: the daemon is killed, and the session starts it again
    // (unlocked, same keyring file) on the next call, as a desktop would.
    let k = Keyring::private();
    let server = Server::start(|req| match req.path_only() {
        "/login" => {
            Resp::json(200, json!({"access_token": "restart-token"})).delay(std::time::Duration::from_millis(2500))
        }
        "/me" if req.header("authorization") == Some("Bearer restart-token") => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    });
    let name = unique("restart");
    let t = k.conntest(conntest(&name, &server.url));
    let mut cmd = t.command();
    let child = cmd
        .args(["test", "auth", &name, "--input", "f.user=ann"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    // conntest opened its keyring session at start; the sign-in waits on /login.
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let daemon = secrets_daemon(&k).expect("the private Secret Service's pid");
    assert!(Command::new("kill").args(["-9", &daemon.to_string()]).status().expect("kill").success());
    let out: Output = child.wait_with_output().expect("wait").into();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("warning"), "the save went to the restarted daemon: {out:?}");
    assert_ne!(secrets_daemon(&k), Some(daemon), "the daemon was restarted");
    let stored = k.secret_tool().args(["lookup", "service", "conntest", "account", &name]).output().expect("lookup");
    assert!(String::from_utf8_lossy(&stored.stdout).contains("restart-token"), "{stored:?}");
}
