//! Issue 20: `conntest call` — one ad-hoc request with the connector's auth,
//! refresh-and-retry on a `refresh_on` answer, its output and exit codes.

use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::harness::{Conntest, keyring_ready, unique};
use crate::server::{Resp, Server};

/// Login gives `at-canary-1`; when `stale`, only a refreshed `at-canary-2` is accepted.
fn api(stale: bool) -> Server {
    let good = Arc::new(Mutex::new(if stale { "at-canary-2" } else { "at-canary-1" }.to_string()));
    Server::start(move |req| {
        let good = good.lock().expect("lock").clone();
        match req.path_only() {
            "/login" => Resp::json(200, json!({"access_token": "at-canary-1", "refresh_token": "rt-canary-1"})),
            "/refresh" => Resp::json(200, json!({"access_token": "at-canary-2", "refresh_token": "rt-canary-2"})),
            _ if req.header("authorization") != Some(&format!("Bearer {good}")) => Resp::json(401, json!({})),
            "/v1/items" => Resp::json(201, json!({"created": true, "echo": req.body, "token": good})),
            "/v1/missing" => Resp::json(404, json!({"error": "not found"})),
            _ => Resp::json(200, json!({"path": req.path})),
        }
    })
}

fn connector(url: &str, name: &str) -> String {
    format!(
        r#"
name: {name}
base_url: {url}/v1
auth_flow:
  - {{id: login, type: api_request, request: {{method: POST, url: "{url}/login"}}}}
refresh_flow:
  steps:
    - {{id: renew, type: api_request, request: {{method: POST, url: "{url}/refresh"}}}}
  update_variables:
    login.body.access_token: "{{{{ renew.body.access_token }}}}"
    login.body.refresh_token: "{{{{ renew.body.refresh_token }}}}"
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.access_token }}}}"}}
  - {{name: X-Client, in: header, value: conntest}}
test_api: {{request: {{url: /me}}}}
"#
    )
}

#[test]
fn call_applies_the_auth_joins_the_path_and_prints_the_answer_masked() {
    let server = api(false);
    let out = Conntest::new()
        .connector("acme", &connector(&server.url, "acme"))
        .args([
            "--no-cache",
            "call",
            "acme",
            "post",
            "/items",
            "--auth-first",
            "-H",
            "X-Trace: 7",
            "--data",
            r#"{"a": 1}"#,
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let items = server.requests().into_iter().find(|r| r.path == "/v1/items").expect("reached /v1/items");
    assert_eq!(items.method, "POST");
    assert_eq!(items.header("authorization"), Some("Bearer at-canary-1"));
    assert_eq!(items.header("x-client"), Some("conntest"));
    assert_eq!(items.header("x-trace"), Some("7"));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&items.body).expect("test fixture"), json!({"a": 1}));
    assert!(out.stdout.starts_with("201 Created\n"), "{out:?}");
    assert!(out.stdout.contains("\n  \"created\": true"), "pretty-printed: {out:?}");
    assert!(!out.all().contains("at-canary-1"), "the token is masked: {out:?}");
    // --form and a full URL; -v shows the exchange, masked.
    let out = Conntest::new()
        .connector("acme", &connector(&server.url, "acme"))
        .args([
            "--no-cache",
            "-v",
            "call",
            "acme",
            "PUT",
            &format!("{}/other?x=1", server.url),
            "--auth-first",
            "--form",
            "k=v",
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let other = server.requests().into_iter().find(|r| r.path == "/other?x=1").expect("reached /other");
    assert_eq!((other.method.as_str(), other.body.as_str()), ("PUT", "k=v"));
    assert!(out.stderr.contains("Bearer ****"), "{out:?}");
    assert!(!out.all().contains("at-canary-1"), "{out:?}");
}

#[test]
fn call_refreshes_once_on_a_401_and_says_so_in_json() {
    let server = api(true);
    let out = Conntest::new()
        .connector("acme", &connector(&server.url, "acme"))
        .args(["--no-cache", "--format", "json", "call", "acme", "POST", "/items", "--auth-first", "--data", "{}"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let doc = out.json();
    assert_eq!(doc["status"], 201);
    assert_eq!(doc["refreshed"], true);
    assert_eq!(doc["body"]["token"], "****");
    assert_eq!(doc["headers"]["content-type"], "application/json");
    assert_eq!(server.count("/refresh"), 1);
    assert_eq!(server.count("/v1/items"), 2, "sent, refreshed, sent again");
}

#[test]
fn call_exit_codes() {
    let server = api(false);
    let t = || Conntest::new().connector("acme", &connector(&server.url, "acme"));
    let out = t().args(["--no-cache", "call", "acme", "/missing", "--auth-first"]).run();
    assert_eq!(out.code, 1, "a 404 is 1: {out:?}");
    assert!(out.stdout.starts_with("404 Not Found"), "{out:?}");
    let out = t().args(["--no-cache", "call", "acme", "/me"]).run();
    assert_eq!(out.code, 4, "nothing cached: {out:?}");
    assert!(out.stderr.contains("--auth-first"), "{out:?}");
    let out = t().args(["--no-cache", "--format", "json", "call", "acme", "/me"]).run();
    assert_eq!(out.code, 4, "{out:?}");
    assert_eq!(out.json()["error"]["exit_code"], 4, "one JSON document: {out:?}");
    let out = t().args(["--no-cache", "call", "acme", "/me", "--data", "{nope", "--auth-first"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("test fixture");
        format!("http://{}", l.local_addr().expect("test fixture"))
    };
    let out = Conntest::new()
        .connector(
            "acme",
            &connector(&server.url, "acme")
                .replace(&format!("base_url: {}/v1", server.url), &format!("base_url: {closed}")),
        )
        .args(["--no-cache", "call", "acme", "/me", "--auth-first"])
        .run();
    assert_eq!(out.code, 5, "{out:?}");
}

#[test]
fn call_reads_the_cache_and_caches_what_a_refresh_made() {
    if !keyring_ready() {
        return;
    }
    let server = api(true);
    let name = unique("call");
    let t = || Conntest::new().connector(&name, &connector(&server.url, &name));
    // `test auth` signs in (its test API refreshes), then `call` reads the cache.
    let out = t().args(["test", "auth", &name]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let out = t().args(["--format", "json", "call", &name, "/whoami"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["refreshed"], false);
    assert_eq!(server.count("/login"), 1, "no new sign-in");
    let _ = t().args(["cache", "clear", &name]).run();
}

#[test]
fn call_masks_what_the_minimal_cache_kept_only_as_a_fingerprint() {
    if !keyring_ready() {
        return;
    }
    const DROPPED: &str = "rt-canary-dropped-6f2c";
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": "at-canary-kept-1", "refresh_token": DROPPED})),
        _ => Resp::json(200, json!({"echo": DROPPED})),
    });
    let name = unique("call-prints");
    // No refresh flow reads the refresh token: the minimal cache drops it.
    let yaml = format!(
        "name: {name}\nbase_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\nrequest_parameters:\n  - {{name: Authorization, in: header, value: \"Bearer {{{{ login.body.access_token }}}}\"}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let t = || Conntest::new().connector(&name, &yaml);
    assert_eq!(t().args(["test", "auth", &name]).run().code, 0);
    let out = t().args(["-v", "call", &name, "/echo"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\"echo\": \"****\""), "{out:?}");
    assert!(!out.all().contains(DROPPED), "{out:?}");
    let _ = t().args(["cache", "clear", &name]).run();
}
