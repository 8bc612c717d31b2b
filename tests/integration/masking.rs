//! Planted canary secrets never reach any output channel unless --reveal is given.

use serde_json::json;

use crate::harness::Conntest;
use crate::server::{Resp, Server};

const PASSWORD: &str = "canary-pw-4f1d9";
const ACCESS: &str = "canary-access-8c2e7";
const REFRESH: &str = "canary-refresh-1b6a3";
const COOKIE: &str = "canary-cookie-93d0f";
const API_KEY: &str = "canary-apikey-55e1c";

fn server() -> Server {
    Server::start(|req| match req.path_only() {
        "/login" => Resp::json(
            200,
            json!({"access_token": ACCESS, "refresh_token": REFRESH, "token_type": "Bearer", "echo": PASSWORD}),
        )
        .header("Set-Cookie", &format!("sessionid={COOKIE}; Path=/; HttpOnly")),
        // A server that echoes credentials back in a field with an innocent name.
        "/me" => {
            Resp::json(200, json!({"user": "ann", "seen": req.header("authorization"), "cookie": req.header("cookie")}))
        }
        _ => Resp::json(404, json!({})),
    })
}

fn connector(url: &str) -> String {
    format!(
        r#"
base_url: {url}
variables: {{api_key: {API_KEY}}}
cookies: {{forward_all: true}}
auth_flow:
  - id: creds
    type: form
    fields: [{{key: user, type: text}}, {{key: password, type: password}}]
  - id: login
    type: api_request
    request:
      method: POST
      url: /login
      headers: {{X-Api-Key: "{{{{ vars.api_key }}}}"}}
      form: {{user: "{{{{ creds.user }}}}", password: "{{{{ creds.password }}}}"}}
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.access_token }}}}"}}
test_api:
  request: {{url: /me}}
"#
    )
}

const CANARIES: [&str; 5] = [PASSWORD, ACCESS, REFRESH, COOKIE, API_KEY];

fn run(extra: &[&str]) -> (String, String, String) {
    let server = server();
    let t = Conntest::new()
        .connector("mask", &connector(&server.url))
        .args(["--no-cache", "-v", "test", "auth", "mask"])
        .args(extra)
        .args([
            "--input",
            "creds.user=ann",
            "--input",
            &format!("creds.password={PASSWORD}"),
            "--har",
            "out.har",
            "--junit",
            "out.xml",
        ]);
    let out = t.run();
    assert_eq!(out.code, 0, "{out:?}");
    let har = std::fs::read_to_string(t.path().join("out.har")).expect("har");
    let junit = std::fs::read_to_string(t.path().join("out.xml")).expect("junit");
    (out.all(), har, junit)
}

#[test]
fn no_canary_in_text_verbose_har_or_junit() {
    let (all, har, junit) = run(&[]);
    for canary in CANARIES {
        assert!(!all.contains(canary), "`{canary}` leaked to stdout/stderr:\n{all}");
        assert!(!har.contains(canary), "`{canary}` leaked to HAR");
        assert!(!junit.contains(canary), "`{canary}` leaked to JUnit");
    }
    // The scheme stays readable, the credentials do not.
    assert!(all.contains("Authorization: Bearer ****"), "{all}");
    assert!(all.contains("set-cookie: sessionid=****; Path=/; HttpOnly"), "structure kept: {all}");
    let har: serde_json::Value = serde_json::from_str(&har).expect("HAR is JSON");
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(har["log"]["entries"].as_array().map(Vec::len), Some(2));
}

#[test]
fn no_canary_in_json_output() {
    let (all, _, _) = run(&["--format", "json"]);
    for canary in CANARIES {
        assert!(!all.contains(canary), "`{canary}` leaked in JSON mode:\n{all}");
    }
}

#[test]
fn reveal_shows_secrets() {
    let (all, har, _) = run(&["--reveal", "--format", "json"]);
    assert!(all.contains(ACCESS), "{all}");
    assert!(all.contains(PASSWORD), "{all}");
    assert!(har.contains(COOKIE));
}

#[test]
fn failing_runs_mask_secrets_in_error_messages() {
    let server = Server::start(|_| Resp::json(500, json!({"detail": format!("bad password {PASSWORD}")})));
    let out = Conntest::new()
        .connector("mask", &connector(&server.url))
        .args([
            "--no-cache",
            "test",
            "auth",
            "mask",
            "--input",
            "creds.user=ann",
            "--input",
            &format!("creds.password={PASSWORD}"),
        ])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("bad password ****"), "{out:?}");
    assert!(!out.all().contains(PASSWORD), "{out:?}");
}

/// Issue 12: a failing testcase is the only one with text in JUnit. Here the server
/// echoes the password into a field the test API expects something else in, and
/// the expectation's message (which quotes the value it found) is the failure text.
#[test]
fn junit_failure_text_is_masked() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": ACCESS, "token_type": "Bearer"})),
        _ => Resp::json(200, json!({"detail": format!("bad password {PASSWORD}")})),
    });
    let yaml = connector(&server.url).replace(
        "test_api:\n  request: {url: /me}",
        "test_api:\n  request: {url: /me}\n  expect: {json: [{path: '$.detail', equals: welcome}]}",
    );
    assert!(yaml.contains("equals: welcome"), "{yaml}");
    let t = Conntest::new().connector("mask", &yaml).args([
        "--no-cache",
        "test",
        "auth",
        "mask",
        "--input",
        "creds.user=ann",
        "--input",
        &format!("creds.password={PASSWORD}"),
        "--junit",
        "out.xml",
    ]);
    let out = t.run();
    assert_eq!(out.code, 1, "{out:?}");
    let junit = std::fs::read_to_string(t.path().join("out.xml")).expect("junit written for a failing run");
    // Issue 20: the message is the error's first line (masked), not a generic "step failed".
    assert!(
        junit.contains("<failure message=\"test API `GET /me`: `$.detail` is &quot;bad password ****&quot;"),
        "{junit}"
    );
    assert!(junit.contains("bad password ****"), "the failure text is there, masked:\n{junit}");
    assert!(!junit.contains(PASSWORD), "password leaked to JUnit:\n{junit}");
    assert!(!out.all().contains(PASSWORD), "{out:?}");
}

/// Issue 12: `-v` prints each request line; a key that travels in the URL's
/// query (not in a header or body, masked on their own) must be masked there too.
#[test]
fn verbose_masks_a_secret_in_the_url_query() {
    let server = Server::start(|req| match req.path_only() {
        "/me" => Resp::json(200, json!({"user": "ann"})),
        _ => Resp::json(404, json!({})),
    });
    let yaml = format!(
        "base_url: {}\nvariables: {{api_key: {API_KEY}}}\nauth_flow: []\ntest_api: {{request: {{url: '/me?api_key={{{{ vars.api_key }}}}'}}}}\n",
        server.url
    );
    let out = Conntest::new().connector("query", &yaml).args(["--no-cache", "-v", "test", "auth", "query"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let sent = server.requests().into_iter().find(|r| r.path_only() == "/me").expect("test API called");
    assert_eq!(sent.path, format!("/me?api_key={API_KEY}"), "the key really travels in the URL");
    assert!(out.stderr.contains("/me?api_key=****"), "the request line is printed, masked:\n{}", out.stderr);
    assert!(!out.all().contains(API_KEY), "`{API_KEY}` leaked:\n{}", out.all());
}

#[test]
fn a_step_named_like_a_secret_does_not_mask_its_status_or_headers() {
    let server = Server::start(|req| match req.path_only() {
        "/token" => Resp::json(200, json!({"access_token": "tok-ab12cd", "token_type": "Bearer"})),
        _ => Resp::json(200, json!({"ok": true})),
    });
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: token, type: api_request, request: {{method: POST, url: /token}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let out =
        Conntest::new().connector("tok", &yaml).args(["--no-cache", "--format", "json", "test", "auth", "tok"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let step = &out.json()["results"][0]["steps"][0];
    assert_eq!(step["outputs"]["status"], 200, "{out:?}");
    assert_eq!(step["outputs"]["body"]["token_type"], "Bearer", "{out:?}");
    assert_eq!(step["outputs"]["body"]["access_token"], "****", "{out:?}");
    assert_eq!(out.json()["results"][0]["test_api"]["status"], 200);
}

/// Issue 19: masking outlives the cache. `test auth` caches only the access
/// token; a later `test api -v` against an API that echoes every dropped
/// secret (the refresh token, the password, a `secret_outputs` value — raw,
/// JSON-escaped and percent-encoded) still masks each, and the entry holds a
/// fingerprint of them, never the values.
#[cfg(unix)]
#[test]
fn masking_outlives_the_minimal_cache() {
    let k = crate::harness::Keyring::shared();
    const DERIVED: &str = "canary-derived \"q\"/7e";
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": ACCESS, "refresh_token": REFRESH})),
        _ => Resp::json(
            200,
            json!({"a": REFRESH, "b": PASSWORD, "c": DERIVED, "d": format!("x={}", urlencode(DERIVED)), "e": urlencode(REFRESH)}),
        ),
    });
    let name = crate::harness::unique("outlives");
    let yaml = format!(
        r#"
name: {name}
base_url: {}
auth_flow:
  - id: creds
    type: form
    fields: [{{key: user, type: text}}, {{key: pin, type: password}}]
  - id: login
    type: api_request
    request: {{method: POST, url: /login, form: {{user: "{{{{ creds.user }}}}", pin: "{{{{ creds.pin }}}}"}}}}
  - id: derive
    type: js
    params: {{}}
    code: 'return {{value: {}}}'
    secret_outputs: [value]
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.access_token }}}}"}}
test_api: {{request: {{url: /me}}}}
"#,
        server.url,
        serde_json::to_string(DERIVED).unwrap_or_default()
    );
    let t = || k.conntest(Conntest::new().connector(&name, &yaml));
    let auth = t()
        .args(["test", "auth", &name, "--input", "creds.user=ann", "--input", &format!("creds.pin={PASSWORD}")])
        .run();
    assert_eq!(auth.code, 0, "{auth:?}");
    let stored =
        k.secret_tool().args(["lookup", "service", "conntest", "account", &name]).output().expect("secret-tool");
    let stored = String::from_utf8_lossy(&stored.stdout).into_owned();
    assert!(stored.contains("\"masks\""), "fingerprints are kept: {stored}");
    for dropped in [REFRESH, PASSWORD, "canary-derived"] {
        assert!(!stored.contains(dropped), "`{dropped}` is in the entry: {stored}");
    }
    let api = t().args(["-v", "test", "api", &name]).run();
    assert_eq!(api.code, 0, "{api:?}");
    let show = t().args(["cache", "show", &name]).run();
    assert_eq!(show.code, 0, "{show:?}");
    for out in [&api, &show] {
        let all = out.all();
        for leaked in [REFRESH, PASSWORD, "canary-derived", ACCESS] {
            assert!(!all.contains(leaked), "`{leaked}` leaked after a run from the cache:\n{all}");
        }
    }
    assert!(api.all().contains(r#""a": "****""#) || api.all().contains(r#""a":"****""#), "{}", api.all());
    let _ = t().args(["cache", "clear", &name]).run();
}

#[cfg(unix)]
fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
