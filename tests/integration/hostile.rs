//! Issue 9: hostile servers and files. Secrets through redirects, excerpts and
//! cached cookies; terminal escapes; templates, masking and YAML that must stay
//! bounded; the bytes one run may hold. Each test failed on the main of its day.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Conntest, Output, keyring_ready, unique};
use crate::server::{Resp, Server};

pub(crate) fn assert_nowhere(out: &Output, files: &[String], secrets: &[&str]) {
    for s in secrets {
        assert!(!out.all().contains(s), "`{s}` leaked to stdout/stderr:\n{out:?}");
        for f in files {
            assert!(!f.contains(s), "`{s}` leaked to a report file:\n{f}");
        }
    }
}

pub(crate) fn read(t: &Conntest, name: &str) -> String {
    std::fs::read_to_string(t.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Item 4: a redirect to another origin carries no secret-named header, no
/// double-submit value, and never a body.
#[test]
fn issue_9_4_cross_origin_redirects_carry_no_credentials() {
    let other = Server::start(|_| Resp::json(200, json!({"ok": true})));
    // Another host (a cookie for 127.0.0.1 would rightly go to any of its ports).
    let target = format!("{}/elsewhere", other.url.replace("127.0.0.1", "localhost"));
    let server = Server::start(move |req| match req.path_only() {
        "/csrf" => Resp::json(200, json!({})).header("Set-Cookie", "csrftoken=canary-csrf-77a1; Path=/"),
        "/post307" => Resp::text(307, "").header("Location", &target),
        _ => Resp::text(302, "").header("Location", &target),
    });
    let yaml = format!(
        "base_url: {}\ncookies:\n  double_submit: {{cookie: csrftoken, name: X-CSRFToken, in: header}}\nauth_flow:\n  - {{id: csrf, type: api_request, request: {{url: /csrf}}}}\n  - id: call\n    type: api_request\n    request:\n      url: /thing\n      headers: {{X-Api-Key: canary-key-1, X-Auth-Token: canary-tok-2, Proxy-Authorization: Basic canary-pa-3, X-Keep: yes}}\n",
        server.url
    );
    let out = Conntest::new().connector("cross", &yaml).args(["--no-cache", "test", "auth", "cross"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let first = server.requests().into_iter().find(|r| r.path == "/thing").expect("first hop");
    assert_eq!(first.header("x-api-key"), Some("canary-key-1"));
    assert_eq!(first.header("x-csrftoken"), Some("canary-csrf-77a1"), "double-submit on its own origin");
    let landed = other.requests().into_iter().next().expect("redirect followed");
    for h in ["x-api-key", "x-auth-token", "proxy-authorization", "x-csrftoken", "cookie", "authorization"] {
        assert_eq!(landed.header(h), None, "`{h}` reached the other origin: {landed:?}");
    }
    assert_eq!(landed.header("x-keep"), Some("yes"), "harmless headers still go");

    // A 307 would resend the password: it is not followed at all.
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /post307, form: {{user: ann, password: canary-body-pw-4}}}}}}\n",
        server.url
    );
    let before = other.requests().len();
    let out = Conntest::new().connector("cross307", &yaml).args(["--no-cache", "test", "auth", "cross307"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("would resend the request body there; not followed"), "{out:?}");
    assert_eq!(other.requests().len(), before, "nothing reached the other origin");
    assert!(!out.all().contains("canary-body-pw-4"), "{out:?}");
}

/// Item 5: a secret in a redirect's `Location` (query or `#fragment`) is masked
/// in `-v` (printed before the next hop) and in HAR's `redirectURL`.
#[test]
fn issue_9_5_secrets_in_redirect_locations_are_masked() {
    let server = Server::start(|req| match req.path_only() {
        "/authorize" => Resp::text(302, "")
            .header("Location", "/landing?code=canary-code-5a&state=s1#access_token=canary-frag-5b&token_type=Bearer"),
        _ => Resp::json(200, json!({"ok": true})),
    });
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: go, type: api_request, request: {{url: /authorize}}}}\n",
        server.url
    );
    let t = Conntest::new().connector("loc", &yaml).args(["--no-cache", "-v", "test", "auth", "loc", "--har", "o.har"]);
    let out = t.run();
    assert_eq!(out.code, 0, "{out:?}");
    let har = read(&t, "o.har");
    assert!(har.contains("redirectURL"), "{har}");
    assert_nowhere(&out, &[har], &["canary-code-5a", "canary-frag-5b"]);
    assert!(out.stderr.contains("location: /landing?code=****&state=s1#access_token=****"), "{out:?}");
}

/// Item 3: a server that echoes the request in a 4xx; the password has quotes,
/// a backslash and runs of spaces, and sits where the 200-character excerpt is cut.
#[test]
fn issue_9_3_echoed_secrets_are_masked_before_excerpts_are_shaped() {
    const PW: &str = "canary \"q\\u\"  pw   9c3e  with  spaces";
    let server = Server::start(|req| Resp::json(400, json!({"pad": "p".repeat(150), "you_sent": req.body})));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: creds, type: form, fields: [{{key: password, type: password}}]}}\n  - {{id: login, type: api_request, request: {{method: POST, url: /login, json: {{password: '{{{{ creds.password }}}}'}}}}}}\n",
        server.url
    );
    for format in ["text", "json"] {
        let t = Conntest::new().connector("echo", &yaml).args([
            "--no-cache",
            "--format",
            format,
            "test",
            "auth",
            "echo",
            "--input",
            &format!("creds.password={PW}"),
            "--junit",
            "o.xml",
        ]);
        let out = t.run();
        assert_eq!(out.code, 1, "{out:?}");
        let junit = read(&t, "o.xml");
        // Neither the value nor a recognisable piece of it, however it was escaped or cut.
        assert_nowhere(&out, &[junit], &["9c3e", "q\\\\u", "pw   9c3e", "pw 9c3e"]);
    }

    // A spaced secret in a URL path, percent-encoded on the wire.
    let server = Server::start(|_| Resp::json(404, json!({})));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: creds, type: form, fields: [{{key: api_key, type: password}}]}}\n  - {{id: get, type: api_request, request: {{url: '/keys/{{{{ creds.api_key }}}}'}}}}\n",
        server.url
    );
    let t = Conntest::new().connector("path", &yaml).args([
        "--no-cache",
        "-v",
        "test",
        "auth",
        "path",
        "--input",
        "creds.api_key=my SECRET 7d1 key",
        "--junit",
        "o.xml",
        "--har",
        "o.har",
    ]);
    let out = t.run();
    assert_eq!(out.code, 1, "{out:?}");
    assert_nowhere(&out, &[read(&t, "o.xml"), read(&t, "o.har")], &["SECRET%207d1", "SECRET 7d1", "SECRET+7d1"]);
}

/// Item 6: templates have a budget; a runaway loop is an error naming the file, not a hang.
#[test]
fn issue_9_6_runaway_templates_end_with_an_error() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    for template in [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{{ 'x' * 100000000 }}{% endfor %}",
    ] {
        let yaml = format!(
            "base_url: {}\nauth_flow:\n  - id: call\n    type: api_request\n    request:\n      url: /thing\n      headers: {{X-Big: \"{template}\"}}\n",
            server.url
        );
        let started = Instant::now();
        let out = Conntest::new().connector("loop", &yaml).args(["--no-cache", "test", "auth", "loop"]).run();
        assert!(started.elapsed() < Duration::from_secs(30), "took {:?}: {out:?}", started.elapsed());
        assert_ne!(out.code, 0, "{out:?}");
        assert!(!out.stderr.contains("panicked"), "{out:?}");
        assert!(out.all().contains("loop.yaml"), "names the file: {out:?}");
        assert_eq!(server.count("/thing"), 0, "nothing was sent");
    }
}

/// Item 7: masking stays near-linear: a 2.8 MB body with 200k secret strings.
#[test]
fn issue_9_7_many_secrets_mask_in_linear_time() {
    let tokens: Vec<String> = (0..200_000).map(|i| format!("tok-{i:08}-abc")).collect();
    let body = json!({"tokens": tokens}).to_string();
    let server = Server::start(move |_| Resp::text(200, &body).header("Content-Type", "application/json"));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: call, type: api_request, request: {{url: /thing}}}}\ntest_api: {{request: {{url: /thing}}, expect: {{status: [500]}}}}\n",
        server.url
    );
    let started = Instant::now();
    let out = Conntest::new().connector("many", &yaml).args(["--no-cache", "-v", "test", "auth", "many"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!out.all().contains("tok-00123456-abc"), "secrets under `tokens` are masked");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?} (102 s when quadratic)", started.elapsed());
}

/// Item 8: YAML loading is linear, and nesting has a limit with a clear error.
#[test]
fn issue_9_8_hostile_yaml_is_refused_quickly() {
    let many_keys: String = (0..125_000).map(|i| format!("k{i}: 1\n")).collect();
    let deep_flow = format!("name: deep\nx: {}", "[".repeat(100_000));
    let deep_block: String =
        (0..6000).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>() + &" ".repeat(6000) + "v\n";
    for (name, text, needle) in [
        ("keys", many_keys.as_str(), "unknown"),
        ("flow", deep_flow.as_str(), "nest"),
        ("block", deep_block.as_str(), "nest"),
    ] {
        let started = Instant::now();
        let out = Conntest::new().connector(name, text).args(["validate"]).run();
        assert!(started.elapsed() < Duration::from_secs(30), "{name}: took {:?}", started.elapsed());
        assert_eq!(out.code, 2, "{name}: {out:?}");
        assert!(out.all().to_lowercase().contains(needle), "{name}: expected `{needle}`:\n{out:?}");
        assert!(!out.stderr.contains("panicked"), "{out:?}");
    }
}

/// Item 10: the bytes one run holds are bounded: 10 steps of 15 MiB is an error, not 4 GB.
#[test]
fn issue_9_10_a_run_holds_a_bounded_number_of_bytes() {
    let big = "y".repeat(15 * 1024 * 1024);
    let server = Server::start(move |_| Resp::text(200, &big));
    let steps: String =
        (0..10).map(|i| format!("  - {{id: s{i}, type: api_request, request: {{url: /big{i}}}}}\n")).collect();
    let yaml = format!("base_url: {}\nauth_flow:\n{steps}", server.url);
    let t = Conntest::new().connector("bulk", &yaml).args(["--no-cache", "test", "auth", "bulk", "--har", "o.har"]);
    let out = t.run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("more than 64 MiB of response bodies"), "{out:?}");
    // 15 MiB on the wire, and twice that held (the exchange log's copy, the output):
    // the budget runs out at the second (issue 22.8).
    assert!(server.count("/big1") == 1 && server.count("/big2") == 0, "stopped at the second: {out:?}");
    let har_len = std::fs::metadata(t.path().join("o.har")).map(|m| m.len()).unwrap_or(0);
    assert!(har_len < 80 * 1024 * 1024, "HAR of {har_len} bytes");
}

/// Item 11: escape sequences from a server are shown escaped, never run.
#[test]
fn issue_9_11_terminal_escapes_from_servers_are_shown_escaped() {
    let evil = "\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}\r\u{1b}[1A\u{1b}[32m✔ evil passed\u{9b}31m";
    // (HTTP itself refuses control characters in header values: hyper rejects them.)
    let server = Server::start(move |_| Resp::text(500, evil));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: call, type: api_request, request: {{url: /thing}}}}\n",
        server.url
    );
    // Colours off, off by flag, and forced on (where our own colour sequences pass).
    for (extra, colour) in [(&["-v"][..], "0"), (&["-v", "--no-color"][..], "0"), (&["-v"][..], "1")] {
        let out = Conntest::new()
            .connector("esc", &yaml)
            .args(["--no-cache"])
            .args(extra)
            .args(["test", "auth", "esc"])
            .env("NO_COLOR", if colour == "1" { "" } else { "1" })
            .env("CLICOLOR_FORCE", colour)
            .run();
        assert_eq!(out.code, 1, "{out:?}");
        let all = out.all();
        for raw in ["\u{1b}[2J", "\u{1b}]52", "\u{7}", "\r", "\u{1b}[1A", "\u{9b}"] {
            assert!(!all.contains(raw), "{extra:?}: raw {raw:?} reached the terminal:\n{all:?}");
        }
        assert!(all.contains("\\x1b]52;c;ZXZpbA=="), "shown escaped: {all:?}");
    }
}

/// Item 16: cookies restored from the cache are secrets too, even when a
/// double-submit sends one under a header name that does not look secret.
#[test]
fn issue_9_16_cookies_from_the_cache_are_masked() {
    if !keyring_ready() {
        return crate::harness::require_keyring();
    }
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({})).header("Set-Cookie", "xsrf=canary-xsrf-16a; Path=/"),
        _ => Resp::json(200, json!({"ok": true})),
    });
    let name = unique("cookiecache");
    let yaml = format!(
        "base_url: {}\ncookies:\n  double_submit: {{cookie: xsrf, name: X-Requested-With, in: header}}\nauth_flow:\n  - {{id: login, type: api_request, request: {{url: /login}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let t = Conntest::new().connector(&name, &yaml);
    let out: Output = t.command().args(["test", "auth", &name]).output().expect("run").into();
    assert_eq!(out.code, 0, "{out:?}");
    let out: Output = t.command().args(["-v", "test", "api", &name]).output().expect("run").into();
    assert_eq!(out.code, 0, "{out:?}");
    let me = server.requests().into_iter().rfind(|r| r.path == "/me").expect("test API called");
    assert_eq!(me.header("x-requested-with"), Some("canary-xsrf-16a"), "the cached cookie was used");
    assert!(!out.all().contains("canary-xsrf-16a"), "{out:?}");
    let _ = t.command().args(["cache", "clear", &name]).output();
}
