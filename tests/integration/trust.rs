//! TLS trust (a private CA made in the test), network errors as exit 5,
//! `refresh_on`, `update_variables` on a missing path, and a cache that keeps
//! only what later runs read.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::harness::{Conntest, Output, require_keyring, unique};
use crate::server::{Resp, Server};

/// A TLS server (tests/peers/tls_server.py) and the dir holding its CA.
pub struct Tls {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tests/peers/tls_server.py in `mode` (`good`: signed by a CA made for the run).
pub fn tls(mode: &str) -> Tls {
    let python = std::env::var("CONNTEST_PEERS_PYTHON").expect("CONNTEST_PEERS_PYTHON: run `bash tests/run.sh`");
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/tls_server.py"))
        .arg(dir.path())
        .arg(mode)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("start the TLS server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("LISTENING line");
    let url = line.trim().strip_prefix("LISTENING ").expect("LISTENING").to_string();
    Tls { child, url, dir }
}

fn me(url: &str) -> String {
    format!("test_api: {{name: me, request: {{url: \"{url}/me\"}}}}\nauth_flow: []\n")
}

fn run(t: Conntest, name: &str, extra: &[&str]) -> Output {
    t.args(["--no-cache"]).args(extra).args(["test", "auth", name]).run()
}

#[test]
fn a_private_ca_is_exit_5_with_words_until_trusted() {
    let server = tls("good");
    let name = unique("tls");
    let ca = server.dir.path().join("ca.pem");
    let out = run(Conntest::new().connector(&name, &me(&server.url)), &name, &[]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.all().contains("unknown issuer") && out.all().contains("--cacert"), "{out:?}");
    assert!(!out.all().contains("UnknownIssuer"), "no Debug text: {out:?}");

    let out = run(Conntest::new().connector(&name, &me(&server.url)), &name, &["--cacert", ca.to_str().unwrap()]);
    assert_eq!(out.code, 0, "--cacert: {out:?}");
    let out =
        run(Conntest::new().connector(&name, &me(&server.url)).env("SSL_CERT_FILE", ca.to_str().unwrap()), &name, &[]);
    assert_eq!(out.code, 0, "SSL_CERT_FILE: {out:?}");
    let out = run(Conntest::new().connector(&name, &me(&server.url)), &name, &["-k"]);
    assert_eq!(out.code, 0, "-k: {out:?}");
    assert!(out.stderr.contains("--insecure") && out.stderr.contains("not verified"), "warning: {out:?}");
}

#[test]
fn expired_wrong_name_and_ca_as_leaf_have_their_own_messages() {
    for (mode, words) in [
        ("expired", "has expired"),
        ("wrongname", "not valid for the name 127.0.0.1"),
        ("ca-leaf", "CA certificate as its own server certificate"),
    ] {
        let server = tls(mode);
        let name = unique("tls-bad");
        let ca = server.dir.path().join("ca.pem");
        let out = run(Conntest::new().connector(&name, &me(&server.url)), &name, &["--cacert", ca.to_str().unwrap()]);
        assert_eq!(out.code, 5, "{mode}: {out:?}");
        assert!(out.all().contains(words), "{mode}: {out:?}");
    }
}

#[test]
fn refused_and_plain_http_behind_https_are_exit_5_with_a_hint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let name = unique("refused");
    let out = run(Conntest::new().connector(&name, &me(&format!("http://127.0.0.1:{port}"))), &name, &[]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.all().contains(&format!("nothing listens on 127.0.0.1:{port}")), "{out:?}");

    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let https = server.url.replace("http://", "https://");
    let out = run(Conntest::new().connector(&name, &me(&https)), &name, &[]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.all().contains("does not speak TLS") && out.all().contains("http://"), "{out:?}");
}

/// Login gives an expired token; the refresh a fresh one. `/me` answers as `expired`.
fn refresh_on_server(expired: Resp) -> Server {
    let fresh = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    Server::start(move |req| match req.path_only() {
        "/login" => Resp::json(200, json!({"token": "old", "nested": {"deep": {"refresh": "r1"}}})),
        "/refresh" => {
            fresh.store(true, std::sync::atomic::Ordering::SeqCst);
            Resp::json(200, json!({"token": "new"}))
        }
        "/me" if req.header("authorization") == Some("Bearer new") => Resp::json(200, json!({"ok": true})),
        _ => expired.clone(),
    })
}

fn refresh_on_connector(url: &str, refresh_on: &str, target: &str) -> String {
    format!(
        r#"
base_url: {url}
{refresh_on}
auth_flow:
  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}
refresh_flow:
  steps:
    - {{id: renew, type: api_request, request: {{method: POST, url: /refresh}}}}
  update_variables:
    {target}: "{{{{ renew.body.token }}}}"
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.token }}}}"}}
test_api: {{name: me, request: {{url: /me}}}}
"#
    )
}

#[test]
fn refresh_on_a_403_and_on_a_200_whose_body_says_expired() {
    for (resp, refresh_on) in [
        (Resp::json(403, json!({"error": "forbidden"})), "refresh_on: {status: [401, 403]}"),
        (
            Resp::json(200, json!({"error": "Token expired"})),
            "refresh_on: {body_matches: \"(?i)token (expired|invalid)\"}",
        ),
    ] {
        let server = refresh_on_server(resp);
        let name = unique("refresh-on");
        let out = Conntest::new()
            .connector(&name, &refresh_on_connector(&server.url, refresh_on, "login.body.token"))
            .args(["--no-cache", "--format", "json", "test", "auth", &name])
            .run();
        assert_eq!(out.code, 0, "{refresh_on}: {out:?}");
        assert_eq!(out.json()["results"][0]["refreshed"], true);
        assert_eq!(server.count("/me"), 2, "{refresh_on}: the test API is called exactly twice");
        assert_eq!(server.count("/refresh"), 1);
    }
}

#[test]
fn still_expired_after_the_refresh_fails_without_a_loop() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"token": "old"})),
        "/refresh" => Resp::json(200, json!({"token": "also-bad"})),
        _ => Resp::json(200, json!({"error": "token expired"})),
    });
    let name = unique("refresh-loop");
    let out = Conntest::new()
        .connector(
            &name,
            &refresh_on_connector(&server.url, "refresh_on: {body_matches: \"token expired\"}", "login.body.token"),
        )
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("credentials were rejected"), "{out:?}");
    assert_eq!(server.count("/me"), 2);
    assert_eq!(server.count("/refresh"), 1);
}

#[test]
fn validate_checks_the_refresh_on_regex() {
    let out = Conntest::new()
        .connector("bad-re", "auth_flow: []\nrefresh_on: {body_matches: \"(unclosed\"}\n")
        .args(["validate"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("bad-re.yaml:2:") && out.stdout.contains("not a valid regular expression"), "{out:?}");
}

#[test]
fn update_variables_on_a_missing_path_names_the_closest_one() {
    let server = refresh_on_server(Resp::json(401, json!({})));
    let name = unique("uv-typo");
    let out = Conntest::new()
        .connector(&name, &refresh_on_connector(&server.url, "", "login.body.nested.deep.refersh"))
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("`login.body.nested.deep.refersh` does not exist"), "{out:?}");
    assert!(out.all().contains("`login.body.nested.deep.refresh`"), "{out:?}");
}

#[test]
fn the_cache_keeps_only_what_later_runs_read() {
    require_keyring();
    let password = format!("canary-pw-{}", std::process::id());
    let server = Server::start(|req| match req.path_only() {
        "/login" => {
            Resp::json(200, json!({"token": "tok-kept", "unused": "unread-output-value", "profile": {"name": "n"}}))
        }
        "/me" => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(404, json!({})),
    });
    let connector = |stored: bool| {
        let refresh = if stored { "refresh_flow: {same_as_auth: true, use_stored_credentials: true}\n" } else { "" };
        format!(
            "base_url: {}\nauth_flow:\n  - {{id: f, type: form, fields: [{{key: user}}, {{key: password, type: password}}]}}\n  - {{id: login, type: api_request, request: {{method: POST, url: /login, form: {{u: \"{{{{ f.user }}}}\", p: \"{{{{ f.password }}}}\"}}}}}}\n{refresh}request_parameters:\n  - {{name: Authorization, in: header, value: \"Bearer {{{{ login.body.token }}}}\"}}\ntest_api: {{request: {{url: /me}}}}\n",
            server.url
        )
    };
    for stored in [false, true] {
        let name = unique("minimal-cache");
        let t = Conntest::new().connector(&name, &connector(stored));
        let out: Output = t
            .command()
            .args(["test", "auth", &name, "--input", "f.user=ann", "--input"])
            .arg(format!("f.password={password}"))
            .output()
            .expect("run")
            .into();
        assert_eq!(out.code, 0, "{out:?}");
        // Every item conntest stored for this connector, as the Secret Service holds it.
        let items = Command::new("secret-tool")
            .args(["search", "--all", "service", "conntest", "account", &name])
            .output()
            .expect("secret-tool");
        let mine = String::from_utf8_lossy(&items.stdout).into_owned() + &String::from_utf8_lossy(&items.stderr);
        assert!(mine.contains("secret = "), "the entry is stored:\n{mine}");
        assert!(mine.contains("tok-kept"), "the token a later run reads is kept:\n{mine}");
        assert!(!mine.contains("unread-output-value"), "an output no template reads is not kept:\n{mine}");
        assert_eq!(
            mine.contains(&password),
            stored,
            "the Form password is cached only for use_stored_credentials:\n{mine}"
        );

        // An edit of the file: test api warns that the cache predates it.
        let t = Conntest::new().connector(&name, &format!("{}# edited\n", connector(stored)));
        let out: Output = t.command().args(["test", "api", &name]).output().expect("run").into();
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stderr.contains("predates an edit"), "{out:?}");
        let _ = Conntest::new().args(["cache", "clear", &name]).run();
    }
}

#[test]
fn a_proxy_that_cannot_be_reached_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let name = unique("proxy");
    let proxy = format!("http://127.0.0.1:{port}");
    let out = run(
        Conntest::new()
            .connector(&name, &me("https://api.example.test"))
            .env("HTTPS_PROXY", &proxy)
            .env("NO_PROXY", ""),
        &name,
        &[],
    );
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.all().contains(&format!("the proxy at {proxy}")), "{out:?}");
}
