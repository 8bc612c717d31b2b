//! Servers that misbehave: every case ends with exit 1 (or 5 when no answer came back) and a clear message, never a panic or a hang.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Conntest, Output};
use crate::server::{Resp, Server};

fn run_against(url: &str, extra: &[&str]) -> Output {
    let yaml = format!(
        "base_url: {url}\nauth_flow:\n  - id: call\n    type: api_request\n    request: {{url: /thing}}\ntest_api: {{request: {{url: /thing}}, expect: {{json: [{{path: '$.ok', exists: true}}]}}}}\n"
    );
    Conntest::new().connector("fault", &yaml).args(["--no-cache", "test", "auth", "fault"]).args(extra).run()
}

fn assert_clean_failure(out: &Output, needle: &str) {
    assert_clean_exit(out, 1, needle);
}

/// No HTTP answer at all (refused, timeout) is exit 5: a CI job may retry it.
fn assert_clean_exit(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.code, code, "{out:?}");
    assert!(out.all().contains(needle), "expected `{needle}` in:\n{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
}

#[test]
fn connection_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let out = run_against(&format!("http://127.0.0.1:{port}"), &[]);
    assert_clean_exit(&out, 5, "nothing listens on 127.0.0.1");
}

#[test]
fn server_slower_than_timeout() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})).delay(Duration::from_secs(5)));
    let started = Instant::now();
    let out = run_against(&server.url, &["--timeout", "0.5"]);
    assert_clean_exit(&out, 5, "no answer within 0.5 s");
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
}

#[test]
fn non_json_body_is_kept_as_text_and_assertions_say_so() {
    let server = Server::start(|_| Resp::text(200, "<html>not json</html>"));
    let out = run_against(&server.url, &[]);
    assert_clean_failure(&out, "`$.ok` matched nothing (body: <html>not json</html>)");
}

#[test]
fn server_error_5xx() {
    let server = Server::start(|_| Resp::json(503, json!({"error": "maintenance"})));
    let out = run_against(&server.url, &[]);
    assert_clean_failure(&out, "→ 503: {\"error\":\"maintenance\"}");
}

#[test]
fn body_over_the_size_limit() {
    let server = Server::start(|_| Resp::text(200, &"x".repeat(17 * 1024 * 1024)));
    let out = run_against(&server.url, &[]);
    assert_clean_failure(&out, "response body larger than 16 MiB");
}

/// Issue 12: without `Content-Length` only the check while streaming can refuse it.
#[test]
fn chunked_body_over_the_size_limit() {
    let server = Server::start(|_| Resp::text(200, &"x".repeat(17 * 1024 * 1024)).chunked());
    let out = run_against(&server.url, &[]);
    assert_clean_failure(&out, "response body larger than 16 MiB");
    assert_eq!(server.count("/thing"), 1, "{out:?}");
}

#[test]
fn redirect_loop() {
    let server = Server::start(|_| Resp::text(302, "").header("Location", "/thing"));
    let out = run_against(&server.url, &[]);
    assert_clean_failure(&out, "too many redirects (more than 10)");
    assert_eq!(server.count("/thing"), 11, "first request plus 10 redirects");
}

#[test]
fn redirects_are_followed_and_cookies_kept_on_the_way() {
    let server = Server::start(|req| match req.path_only() {
        "/thing" => Resp::text(303, "").header("Location", "/landing").header("Set-Cookie", "sid=abc123; Path=/"),
        "/landing" if req.header("cookie") == Some("sid=abc123") => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({"ok": false})),
    });
    let yaml = format!(
        "base_url: {}\ncookies: {{forward_all: true}}\nauth_flow:\n  - {{id: call, type: api_request, request: {{method: POST, url: /thing, json: {{a: 1}}}}}}\ntest_api: {{request: {{url: /landing}}}}\n",
        server.url
    );
    let out = Conntest::new().connector("redir", &yaml).args(["--no-cache", "test", "auth", "redir"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let landing = server.requests().into_iter().find(|r| r.path_only() == "/landing").expect("redirect followed");
    assert_eq!(landing.method, "GET", "303 turns POST into GET");
}

#[test]
fn accept_status_lets_a_step_continue() {
    let server = Server::start(|req| match req.path_only() {
        "/probe" => Resp::json(401, json!({"realm": "x"})),
        _ => Resp::json(200, json!({"ok": true})),
    });
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: probe, type: api_request, accept_status: [401], request: {{url: /probe}}}}\ntest_api:\n  request: {{url: '/x?status={{{{ probe.status }}}}'}}\n",
        server.url
    );
    let out = Conntest::new().connector("acc", &yaml).args(["--no-cache", "test", "auth", "acc"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(server.requests().iter().any(|r| r.path == "/x?status=401"));
}

#[test]
fn credentials_are_not_forwarded_to_another_origin_on_redirect() {
    let other = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let target = format!("{}/elsewhere", other.url);
    let server = Server::start(move |_| Resp::text(302, "").header("Location", &target));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: call, type: api_request, request: {{url: /thing, headers: {{Authorization: Bearer secret-xyz, Cookie: sid=secret-cookie-xyz, X-Keep: yes}}}}}}\n",
        server.url
    );
    let out = Conntest::new().connector("cross", &yaml).args(["--no-cache", "test", "auth", "cross"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    // Both were sent to the origin they were written for…
    let first = server.requests().into_iter().next().expect("first request");
    assert_eq!(first.header("authorization"), Some("Bearer secret-xyz"));
    assert_eq!(first.header("cookie"), Some("sid=secret-cookie-xyz"));
    // …and neither reached the other one (issue 12: an explicit `Cookie` header too).
    let landed = other.requests().into_iter().next().expect("redirect followed");
    assert_eq!(landed.header("authorization"), None, "{landed:?}");
    assert_eq!(landed.header("cookie"), None, "{landed:?}");
    assert_eq!(landed.header("x-keep"), Some("yes"));
}
