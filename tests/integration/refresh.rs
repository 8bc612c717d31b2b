//! 401 → refresh → retry once; update_variables; stored credentials. Servers whose tokens expire.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::harness::{Conntest, keyring_ready, require_keyring, unique};
use crate::server::{Resp, Server};

/// Access tokens are valid once; refresh issues a new one (nested under `data`).
fn expiring_server(refresh_works: bool) -> Server {
    let current = Arc::new(Mutex::new(String::from("at-initial")));
    let n = Arc::new(AtomicUsize::new(0));
    Server::start(move |req| match req.path_only() {
        "/login" => Resp::json(200, json!({"data": {"access_token": "at-expired", "refresh_token": "rt-1"}})),
        "/refresh" if refresh_works && req.body == "refresh_token=rt-1" => {
            let token = format!("at-fresh-{}", n.fetch_add(1, Ordering::SeqCst));
            *current.lock().expect("lock") = token.clone();
            Resp::json(200, json!({"access_token": token, "refresh_token": "rt-2"}))
        }
        "/refresh" => Resp::json(200, json!({"access_token": "at-still-bad", "refresh_token": "rt-x"})),
        "/me"
            if req
                .header("authorization")
                .is_some_and(|h| h == format!("Bearer {}", current.lock().expect("lock"))) =>
        {
            Resp::json(200, json!({"ok": true}))
        }
        _ => Resp::json(401, json!({"error": "invalid_token"})),
    })
}

fn connector(url: &str, name: &str) -> String {
    format!(
        r#"
name: {name}
base_url: {url}
auth_flow:
  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}
refresh_flow:
  steps:
    - id: renew
      type: api_request
      request: {{method: POST, url: /refresh, form: {{refresh_token: "{{{{ login.body.data.refresh_token }}}}"}}}}
  update_variables:
    login.body.data.access_token: "{{{{ renew.body.access_token }}}}"
    login.body.data.refresh_token: "{{{{ renew.body.refresh_token }}}}"
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.data.access_token }}}}"}}
test_api: {{request: {{url: /me}}}}
"#
    )
}

#[test]
fn a_401_refreshes_updates_nested_variables_and_retries() {
    let server = expiring_server(true);
    let out = Conntest::new()
        .connector("exp", &connector(&server.url, "exp"))
        .args(["--no-cache", "--format", "json", "test", "auth", "exp"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let r = &out.json()["results"][0];
    assert_eq!(r["refreshed"], true);
    assert_eq!(server.count("/me"), 2);
    assert_eq!(server.count("/refresh"), 1);
    let ids: Vec<&str> = r["steps"].as_array().expect("steps").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, ["login", "renew"]);
}

#[test]
fn a_second_401_fails_without_looping() {
    let server = expiring_server(false);
    let out = Conntest::new()
        .connector("exp", &connector(&server.url, "exp"))
        .args(["--no-cache", "--format", "json", "test", "auth", "exp"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["results"][0]["refreshed"], true);
    assert_eq!(server.count("/me"), 2, "the protected endpoint is called exactly twice");
    assert_eq!(server.count("/refresh"), 1);
}

#[test]
fn test_refresh_without_refresh_flow_is_a_usage_error() {
    let out = Conntest::new()
        .connector("plain", "base_url: http://127.0.0.1:9\nauth_flow: []\n")
        .args(["--no-cache", "test", "refresh", "plain"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("connector `plain` has no refresh_flow"), "{out:?}");
}

#[test]
fn cached_refresh_rotates_tokens_and_api_reads_the_cache() {
    require_keyring();
    let server = expiring_server(true);
    let name = unique("rot");
    let t = || Conntest::new().connector(&name, &connector(&server.url, &name));
    let auth = t().args(["test", "auth", &name]).run();
    assert_eq!(auth.code, 0, "{auth:?}");
    // `test api` reads the cache: the refreshed token cached by `test auth` is still valid.
    let api = t().args(["--format", "json", "test", "api", &name]).run();
    assert_eq!(api.code, 0, "{api:?}");
    assert_eq!(api.json()["results"][0]["refreshed"], false);
    assert_eq!(server.count("/login"), 1, "test api runs no auth step");
    let refresh = t().args(["--format", "json", "test", "refresh", &name]).run();
    assert_eq!(refresh.code, 1, "rt-1 was rotated to rt-2, which this server refuses: {refresh:?}");
    let last = server.requests().into_iter().rfind(|r| r.path_only() == "/refresh").expect("refresh sent");
    assert_eq!(last.body, "refresh_token=rt-2", "the rotated refresh token was cached and used");
    let _ = t().args(["cache", "clear", &name]).run();
}

#[test]
fn same_as_auth_with_stored_credentials_does_not_prompt() {
    if !keyring_ready() {
        require_keyring();
    }
    let logins = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = logins.clone();
    let server = Server::start(move |req| match req.path_only() {
        "/login" => {
            seen.lock().expect("lock").push(req.body.clone());
            Resp::json(200, json!({"token": "t"}))
        }
        _ => Resp::json(200, json!({})),
    });
    let name = unique("stored");
    let yaml = format!(
        r#"
name: {name}
base_url: {}
auth_flow:
  - {{id: f, type: form, fields: [{{key: user}}, {{key: password, type: password}}]}}
  - {{id: login, type: api_request, request: {{method: POST, url: /login, form: {{u: "{{{{ f.user }}}}", p: "{{{{ f.password }}}}"}}}}}}
refresh_flow: {{same_as_auth: true, use_stored_credentials: true}}
test_api: {{request: {{url: /me}}}}
"#,
        server.url
    );
    let t = || Conntest::new().connector(&name, &yaml);
    let auth = t().args(["test", "auth", &name, "--input", "f.user=ann", "--input", "f.password=pw-stored-1"]).run();
    assert_eq!(auth.code, 0, "{auth:?}");
    // No --input now, non-interactive: the values must come from the cache.
    let refresh = t().args(["test", "refresh", &name]).run();
    assert_eq!(refresh.code, 0, "{refresh:?}");
    assert!(refresh.stdout.contains("✔ f (refresh) form stored user, password"), "{refresh:?}");
    assert_eq!(
        *logins.lock().expect("lock"),
        vec!["u=ann&p=pw-stored-1".to_string(), "u=ann&p=pw-stored-1".to_string()]
    );
    let _ = t().args(["cache", "clear", &name]).run();
}
