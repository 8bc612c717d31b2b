//! Issue 11 (items 7–9): what support staff, CI jobs and newcomers read. `list`
//! and `cache show` as text and JSON, unknown cache names, the network errors,
//! every command's `--help` examples, `init`, `man`, `demo --print`, `--shard`
//! with the same flags in every job, and the JUnit report against a published
//! schema. Snapshots (insta) turn a change of wording into a diff; what differs
//! between runs (ports, times, temp paths, durations) is replaced by a name first.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{Conntest, Output, bin, require_keyring};
use crate::server::{Resp, Server};

/// `text` with each known run-dependent value replaced by its name, then every
/// duration (`12 ms`, `0.3 s`) by `[duration]`.
fn redact(text: &str, known: &[(&str, &str)]) -> String {
    let mut text = text.to_string();
    for (value, name) in known {
        text = text.replace(value, name);
    }
    let durations = regex::Regex::new(r"\b\d+(\.\d+)? (ms|s)\b").expect("regex");
    durations.replace_all(&text, "[duration]").into_owned()
}

/// Exit code, stdout and stderr in one text, for a snapshot.
fn screen(out: &Output, known: &[(&str, &str)]) -> String {
    redact(&format!("exit {}\n--- stdout\n{}--- stderr\n{}", out.code, out.stdout, out.stderr), known)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

// ---------------------------------------------------------------- support staff

const ACME: &str = r#"name: acme
description: Acme CRM, production tenant
base_url: https://api.acme.test
auth_flow:
  - id: creds
    type: form
    fields: [{key: email, type: email}, {key: password, type: password}]
  - id: login
    type: api_request
    request: {method: POST, url: /login, json: {email: "{{ creds.email }}", password: "{{ creds.password }}"}}
test_api: {request: {url: /me}}
"#;

const BETA: &str = r#"name: beta
description: Beta billing (sandbox)
auth_flow:
  - {id: creds, type: form, fields: [{key: user}, {key: password, type: password}]}
  - {id: basic, type: basic_auth, username: "{{ creds.user }}", password: "{{ creds.password }}"}
test_api: {request: {url: "https://beta.test/me"}}
"#;

/// A connector dir for support staff: `acme` (cached 3 min ago, token valid for
/// 40 min, two cookies), `beta` (never cached), `broken` (invalid), and a cached
/// entry `gone` (2 h old, token expired 3 min ago) whose connector file was deleted.
struct Desk {
    t: Conntest,
    /// Run-dependent values (times) and the names that replace them in snapshots.
    known: Vec<(String, &'static str)>,
}

impl Desk {
    fn known(&self) -> Vec<(&str, &str)> {
        self.known.iter().map(|(v, n)| (v.as_str(), *n)).collect()
    }
}

fn desk() -> Desk {
    let now = now();
    let (acme_saved, gone_saved) = (rfc3339(now - 190), rfc3339(now - 7300));
    let (acme_expires, gone_expires) = (now + 40 * 60 + 30, now - 190);
    let cookie_expires = rfc3339(now + 3 * 86_400 + 3600);
    let acme = json!({
        "version": 1, "connector": "acme", "saved_at": acme_saved,
        "outputs": {"login": {"body": {
            "access_token": "tok-acme-1234", "refresh_token": "rt-acme-5678",
            "token_type": "Bearer", "expires_at": acme_expires}}},
        "inputs": {},
        "cookies": [
            {"name": "sessionid", "value": "ck-acme-9999", "domain": "api.acme.test", "path": "/", "expires": null},
            {"name": "csrftoken", "value": "csrf-acme-0000", "domain": "api.acme.test", "path": "/",
             "expires": cookie_expires},
        ],
    });
    let gone = json!({
        "version": 1, "connector": "gone", "saved_at": gone_saved,
        "outputs": {"token": {"access_token": "tok-gone-1111", "expires_at": gone_expires}},
        "inputs": {}, "cookies": [],
    });
    let t = Conntest::new()
        .connector("acme", ACME)
        .connector("beta", BETA)
        .connector("broken", "auth_flow:\n  - {id: x, type: nope}\n")
        .file("acme.json", &acme.to_string())
        .file("gone.json", &gone.to_string());
    let known = vec![
        (acme_saved, "[acme saved_at]"),
        (gone_saved, "[gone saved_at]"),
        (acme_expires.to_string(), "[acme expires_at]"),
        (gone_expires.to_string(), "[gone expires_at]"),
        (cookie_expires, "[csrftoken expires]"),
    ];
    Desk { t, known }
}

/// `secret-tool` storing the file NAME.json as the cache entry of NAME, as conntest would.
fn plant(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!("secret-tool store --label=conntest-test service conntest username {n} account {n} < {n}.json\n")
        })
        .collect()
}

/// Runs `script` in `dir` inside a fresh private keyring session (tests/keyring-session.sh).
/// `locked`: the keyring is locked once `seed` (a script) has run. In the script,
/// `run LABEL ARGS…` runs conntest, keeping its output for [`ran`].
fn in_session(locked: Option<&str>, dir: &Path, script: &str) {
    let session = std::env::var("CONNTEST_KEYRING_SESSION").expect("CONNTEST_KEYRING_SESSION (run tests/run.sh)");
    let prelude = format!(
        "set -u; C={}\n\
         run() {{ label=$1; shift; \"$C\" \"$@\" > \"$label.out\" 2> \"$label.err\"; echo $? > \"$label.code\"; }}\n",
        bin().display()
    );
    let mut cmd = Command::new(session);
    if let Some(seed) = locked {
        cmd.arg("--locked").env("KEYRING_SESSION_SEED", seed);
    }
    let out = cmd
        .args(["--", "bash", "-c", &format!("{prelude}{script}")])
        .current_dir(dir)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env_remove("CONNTEST_DIR")
        .output()
        .expect("keyring session");
    assert!(out.status.success(), "keyring session failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// What `run LABEL …` kept.
fn ran(dir: &Path, label: &str) -> Output {
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{label}.{ext}"))).expect("kept output");
    Output { code: read("code").trim().parse().expect("exit code"), stdout: read("out"), stderr: read("err") }
}

#[test]
fn list_and_cache_show_read_as_support_staff_need() {
    require_keyring();
    let d = desk();
    let dir = d.t.path();
    in_session(
        None,
        dir,
        &format!(
            "{}run list list; run list-json --format json list\n\
         run show-acme cache show acme; run show-gone cache show gone\n\
         run show-typo cache show acm; run clear-typo cache clear gon; run clear-none cache clear\n\
         run show-after cache show acme",
            plant(&["acme", "gone"])
        ),
    );
    let known = d.known();

    let list = ran(dir, "list");
    assert_eq!(list.code, 0, "{list:?}");
    insta::assert_snapshot!("list_text", screen(&list, &known));

    let json = ran(dir, "list-json");
    assert_eq!(json.code, 0, "{json:?}");
    insta::assert_snapshot!("list_json", redact(&serde_json::to_string_pretty(&json.json()).expect("json"), &known));

    let show = ran(dir, "show-acme");
    assert_eq!(show.code, 0, "{show:?}");
    assert!(!show.stdout.contains("tok-acme-1234") && !show.stdout.contains("ck-acme-9999"), "masked: {show:?}");
    insta::assert_snapshot!("cache_show_acme", screen(&show, &known));
    let gone = ran(dir, "show-gone");
    assert_eq!(gone.code, 0, "{gone:?}");
    insta::assert_snapshot!("cache_show_gone", screen(&gone, &known));

    // A typo is exit 2 with the name it probably meant, and clears nothing.
    let typo = ran(dir, "show-typo");
    assert_eq!(typo.code, 2, "{typo:?}");
    insta::assert_snapshot!("cache_show_unknown_name", screen(&typo, &[]));
    let typo = ran(dir, "clear-typo");
    assert_eq!(typo.code, 2, "{typo:?}");
    insta::assert_snapshot!("cache_clear_unknown_name", screen(&typo, &[]));
    let none = ran(dir, "clear-none");
    assert_eq!(none.code, 2, "{none:?}");
    assert!(none.stderr.contains("--all"), "{none:?}");
    insta::assert_snapshot!("cache_clear_without_names", screen(&none, &[]));
    assert_eq!(ran(dir, "show-after").code, 0, "the typos cleared nothing");
}

#[test]
fn list_with_a_locked_keyring_says_unknown_and_json_cached_null() {
    require_keyring();
    let d = desk();
    let dir = d.t.path();
    // The entries are there, in a collection that stays locked (no prompt can unlock it).
    in_session(Some(&plant(&["acme", "gone"])), dir, "run list list; run list-json --format json list");
    let list = ran(dir, "list");
    assert_eq!(list.code, 0, "{list:?}");
    insta::assert_snapshot!("list_text_keyring_locked", screen(&list, &[]));
    let json = ran(dir, "list-json");
    assert_eq!(json.code, 0, "{json:?}");
    let doc = json.json();
    let rows = doc["connectors"].as_array().expect("connectors");
    assert_eq!(rows.len(), 3, "{doc}");
    for row in rows {
        assert_eq!(row["cached"], Value::Null, "the keyring cannot tell: {doc}");
    }
    insta::assert_snapshot!("list_json_keyring_locked", serde_json::to_string_pretty(&doc).expect("json"));
}

// ---------------------------------------------------------------- network errors

/// A connector whose `base_url` comes from `vars.base_url`; no sign-in, a test API.
fn api_at(url: &str) -> String {
    format!(
        "name: api\nbase_url: \"{{{{ vars.base_url }}}}\"\nvariables:\n  base_url: \"{url}\"\nauth_flow: []\ntest_api: {{name: Current user, request: {{url: /me}}}}\n"
    )
}

fn test_auth_api(connector: &str, extra: &[&str]) -> Output {
    Conntest::new().connector("api", connector).args(["--no-cache", "test", "auth", "api"]).args(extra).run()
}

#[test]
fn connection_refused_names_where_base_url_comes_from() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}");
    let out = test_auth_api(&api_at(&url), &[]);
    assert_eq!(out.code, 5, "{out:?}");
    insta::assert_snapshot!("network_connection_refused", screen(&out, &[(&port.to_string(), "[port]")]));

    // Overridden on the command line: the hint names the flag that set it.
    let out = test_auth_api(&api_at("http://127.0.0.1:9"), &["--var", &format!("base_url={url}")]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stdout.contains("`base_url` comes from `vars.base_url`, set by `--var base_url=…`"), "{out:?}");
}

#[test]
fn https_to_a_plain_http_server_asks_whether_http_was_meant() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let port = server.url.rsplit(':').next().expect("port").to_string();
    let out = test_auth_api(&api_at(&server.url.replace("http://", "https://")), &[]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stdout.contains(&format!("did you mean http://127.0.0.1:{port}?")), "{out:?}");
    insta::assert_snapshot!("network_https_to_plain_http", screen(&out, &[(&port, "[port]")]));
}

/// A port that answers an SSH greeting: after the request (`speaks_first: false`), or at
/// once on connecting, as an SSH server does (then it may arrive before the request is sent).
fn not_http(speaks_first: bool) -> u16 {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            if !speaks_first {
                let _ = stream.read(&mut [0; 4096]);
            }
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
            let _ = stream.read(&mut [0; 4096]);
        }
    });
    port
}

#[test]
fn a_port_that_answers_something_else_than_http_is_said_so() {
    let port = not_http(false);
    let out = test_auth_api(&api_at(&format!("http://127.0.0.1:{port}")), &[]);
    assert_eq!(out.code, 5, "{out:?}");
    insta::assert_snapshot!("network_not_http", screen(&out, &[(&port.to_string(), "[port]")]));
    // Heard before the request was written or after: the same words, the same exit code.
    for _ in 0..5 {
        let port = not_http(true);
        let out = test_auth_api(&api_at(&format!("http://127.0.0.1:{port}")), &[]);
        assert_eq!(out.code, 5, "{out:?}");
        assert!(out.stdout.contains(&format!("127.0.0.1:{port} answered something that is not HTTP")), "{out:?}");
    }
}

#[test]
fn a_certificate_of_an_unknown_issuer_is_exit_5_with_the_flag_that_helps() {
    let server = crate::trust::tls("good");
    let port = server.url.rsplit(':').next().expect("port").to_string();
    let connector =
        format!("name: api\nbase_url: {}\nauth_flow: []\ntest_api: {{request: {{url: /me}}}}\n", server.url);
    let out = test_auth_api(&connector, &[]);
    assert_eq!(out.code, 5, "{out:?}");
    insta::assert_snapshot!("network_tls_unknown_issuer", screen(&out, &[(&port, "[port]")]));
}

// ---------------------------------------------------------------- help and discovery

#[test]
fn every_command_help_ends_with_examples() {
    let commands: &[&[&str]] = &[
        &[],
        &["validate"],
        &["list"],
        &["init"],
        &["test"],
        &["test", "auth"],
        &["test", "refresh"],
        &["test", "api"],
        &["cache"],
        &["cache", "show"],
        &["cache", "clear"],
        &["schema"],
        &["completions"],
        &["man"],
        &["demo"],
    ];
    for command in commands {
        let out = Conntest::new().args(*command).args(["--help"]).run();
        assert_eq!(out.code, 0, "{command:?}: {out:?}");
        let at = out.stdout.find("Examples:").unwrap_or_else(|| panic!("{command:?} --help has no examples: {out:?}"));
        let name = if command.is_empty() { "conntest".to_string() } else { command.join("_") };
        insta::assert_snapshot!(format!("help_examples_{name}"), &out.stdout[at..]);
    }
    for command in [&["test"][..], &["test", "auth"], &["test", "refresh"], &["test", "api"]] {
        let out = Conntest::new().args(command).args(["--help"]).run();
        for code in ["Exit codes:", "  0 ", "  1 ", "  2 ", "  3 ", "  4 ", "  5 "] {
            assert!(out.stdout.contains(code), "{command:?} --help lists the exit codes ({code:?}): {out:?}");
        }
    }
}

#[test]
fn a_connector_name_where_the_flow_belongs_suggests_the_command() {
    let out = Conntest::new().connector("myapi", "auth_flow: []\n").args(["test", "myapi"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("conntest test auth myapi"), "{out:?}");
    insta::assert_snapshot!("test_without_a_flow", screen(&out, &[]));
    let out = Conntest::new().connector("myapi", "auth_flow: []\n").args(["test", "atuh", "myapi"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("did you mean `conntest test auth myapi`?"), "{out:?}");
}

const STARTERS: [&str; 12] = [
    "form",
    "basic_auth",
    "oauth2",
    "oauth2_pkce",
    "oauth2_client_credentials",
    "jwt_bearer",
    "callback",
    "sso_token",
    "totp",
    "js",
    "oauth1",
    "ntlm",
];

#[test]
fn init_writes_a_starter_that_validates_and_never_overwrites() {
    let t = Conntest::new();
    let run = |args: &[&str]| -> Output {
        let mut cmd = t.command();
        cmd.args(args);
        cmd.output().expect("run").into()
    };
    let first = run(&["init", "acme"]);
    assert_eq!(first.code, 0, "{first:?}");
    insta::assert_snapshot!("init_text", screen(&first, &[]));
    for kind in STARTERS {
        let name = format!("s-{}", kind.replace('_', "-"));
        let out = run(&["init", &name, "--type", kind]);
        assert_eq!(out.code, 0, "{kind}: {out:?}");
        let text = std::fs::read_to_string(t.path().join(format!("connectors/{name}.yaml"))).expect("written");
        assert!(
            text.starts_with("# yaml-language-server: $schema=./connector.schema.json"),
            "{kind}: editors find the schema:\n{text}"
        );
        let check = run(&["validate", &name]);
        assert_eq!(check.code, 0, "the {kind} starter validates: {check:?}");
    }
    let file = t.path().join("connectors/acme.yaml");
    std::fs::write(&file, "# edited by hand\nauth_flow: []\n").expect("edit");
    for kind in ["form", "oauth2"] {
        let again = run(&["init", "acme", "--type", kind]);
        assert_eq!(again.code, 2, "{again:?}");
        assert!(again.stderr.contains("already exists"), "{again:?}");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "# edited by hand\nauth_flow: []\n", "overwritten");
    }
    // Another file that says `name: acme` is the same connector: no second one.
    std::fs::rename(&file, t.path().join("connectors/other.yaml")).expect("mv");
    std::fs::write(t.path().join("connectors/other.yaml"), "name: acme\nauth_flow: []\n").expect("write");
    let clash = run(&["init", "acme"]);
    assert_eq!(clash.code, 2, "{clash:?}");
    assert!(!file.exists(), "nothing written beside the connector of that name");
}

#[test]
fn man_prints_a_roff_page() {
    let out = Conntest::new().args(["man"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().any(|l| l.starts_with(".TH conntest 1")), "a roff title line: {}", out.stdout);
    assert!(out.stdout.contains(".SH EXIT STATUS") || out.stdout.contains("EXIT"), "{}", out.stdout);
    assert!(out.stdout.contains("test auth"), "{}", out.stdout);
}

#[test]
fn demo_print_shows_a_connector_that_validates() {
    let out = Conntest::new().args(["demo", "--print"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("refresh_flow:") && out.stdout.contains("auth_flow:"), "{out:?}");
    let check = Conntest::new().connector("demo", &out.stdout).args(["validate", "demo"]).run();
    assert_eq!(check.code, 0, "{check:?}");
}

// ---------------------------------------------------------------- CI: shards and JUnit

fn login_connector(name: &str, url: &str) -> String {
    format!(
        "name: {name}\nbase_url: {url}\nauth_flow:\n  - {{id: {name}_login, type: form, fields: [{{key: password, type: password}}]}}\n  - {{id: token, type: api_request, request: {{method: POST, url: /login, form: {{p: '{{{{ {name}_login.password }}}}'}}}}}}\ntest_api: {{request: {{url: /me, headers: {{Authorization: 'Bearer {{{{ token.body.access_token }}}}'}}}}}}\n"
    )
}

/// `/login` gives a token for the password `pw-a` or `pw-b`; `/me` wants it.
fn login_server() -> Server {
    Server::start(|req| match req.path_only() {
        "/login" if req.body.contains("pw-a") || req.body.contains("pw-b") => {
            Resp::json(200, json!({"access_token": "junit-token"}))
        }
        "/login" => Resp::json(401, json!({"error": format!("bad password {}", req.body)})),
        "/me" if req.header("authorization") == Some("Bearer junit-token") => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    })
}

#[test]
fn every_shard_of_a_matrix_takes_the_same_flags() {
    let server = login_server();
    let t = Conntest::new()
        .connector("a", &login_connector("a", &server.url))
        .connector("b", &login_connector("b", &server.url));
    let mut ran = Vec::new();
    for shard in ["1/2", "2/2"] {
        let mut cmd = t.command();
        cmd.args(["--no-cache", "--format", "json", "test", "auth", "--all", "--shard", shard])
            .args(["--input-env", "a_login.password=A_PASSWORD", "--input-env", "b_login.password=B_PASSWORD"])
            .env("A_PASSWORD", "pw-a")
            .env("B_PASSWORD", "pw-b");
        let out: Output = cmd.output().expect("run").into();
        assert_eq!(out.code, 0, "shard {shard}: {out:?}");
        let names: Vec<String> = out.json()["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["connector"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(names.len(), 1, "a.yaml and b.yaml fall in different shards: {out:?}");
        ran.extend(names);
    }
    ran.sort();
    assert_eq!(ran, ["a", "b"], "the shards are disjoint and cover every connector");
}

/// Validates `xml` against the Jenkins JUnit schema (tests/fixtures/junit/junit-10.xsd).
fn assert_valid_junit(xml: &Path) {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/junit/junit-10.xsd");
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", schema])
        .arg(xml)
        .output()
        .expect("xmllint (Debian libxml2-utils; tests/peers/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{} does not validate:\n{}\n{}",
        xml.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(xml).unwrap_or_default()
    );
}

#[test]
fn junit_reports_validate_against_the_published_schema() {
    let server = login_server();
    let refused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let t = Conntest::new()
        .connector("a", &login_connector("a", &server.url))
        .connector("down", &login_connector("down", &format!("http://127.0.0.1:{refused}")))
        .connector("broken", "auth_flow:\n  - {id: x, type: nope}\n");
    let run = |connector: &str, password: &str, report: &str| -> (Output, String) {
        let mut cmd = t.command();
        cmd.args(["--no-cache", "test", "auth", connector, "--junit", report]).env("PW", password);
        if connector != "broken" {
            cmd.args(["--input-env", &format!("{connector}_login.password=PW")]);
        }
        let out: Output = cmd.output().expect("run").into();
        let path = t.path().join(report);
        assert_valid_junit(&path);
        (out, std::fs::read_to_string(path).expect("report"))
    };

    let (out, xml) = run("a", "pw-a", "reports/pass.xml");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(xml.contains("tests=\"1\" failures=\"0\" errors=\"0\""), "{xml}");

    let password = "junit-canary-7731";
    let (out, xml) = run("a", password, "reports/fail.xml");
    assert_eq!(out.code, 1, "{out:?}");
    // Issue 20: the message is the error's first line, which names the failing step.
    assert!(xml.contains("<failure message=\"step `token`: POST "), "names the failing step:\n{xml}");
    assert!(xml.contains("<system-out>") && xml.contains("a_login form given password"), "the step lines:\n{xml}");
    assert!(xml.contains("bad password") && !xml.contains(password), "the message, masked:\n{xml}");

    let (out, xml) = run("down", "pw-a", "reports/down.xml");
    assert_eq!(out.code, 5, "{out:?}");
    assert!(xml.contains("<error message=") && xml.contains("type=\"unreachable\""), "{xml}");
    assert!(xml.contains("nothing listens on"), "{xml}");

    // No password given in CI: nothing runs (exit 3), and the report says why.
    let before = server.requests().len();
    let mut cmd = t.command();
    cmd.args(["--no-cache", "test", "auth", "a", "--junit", "reports/missing.xml"]);
    let out: Output = cmd.output().expect("run").into();
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(server.requests().len(), before, "no request after a missing input");
    let report = t.path().join("reports/missing.xml");
    assert_valid_junit(&report);
    let xml = std::fs::read_to_string(report).expect("a report for a run that needed input");
    assert!(xml.contains("type=\"input-needed\"") && xml.contains("a_login.password"), "{xml}");

    let (out, xml) = run("broken", "", "reports/broken.xml");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(xml.contains("type=\"usage\"") && xml.contains("conntest validate"), "{xml}");
}
