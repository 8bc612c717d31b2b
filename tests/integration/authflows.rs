//! Issue 19: auth flows as real providers run them — step `expect`, `store:
//! false` one-time codes, `in: body` never dropped, `secret_outputs`, and the
//! words for a rejected call. Against a Clerk-like in-process server.

use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::harness::{Conntest, Keyring, unique};
use crate::server::{Resp, Server};

/// A Clerk-like sign-in: a password attempt that needs a second factor, then an
/// SMS code; `/me` takes the session token. Every code sent is recorded.
fn clerk(codes: Arc<Mutex<Vec<String>>>, second_factor: bool) -> Server {
    Server::start(move |req| match req.path_only() {
        "/v1/sign_ins" if second_factor => Resp::json(200, json!({"id": "sia_1", "status": "needs_second_factor"})),
        "/v1/sign_ins" => {
            Resp::json(200, json!({"id": "sia_1", "status": "complete", "session_token": "sess-clerk-77a1"}))
        }
        "/v1/sign_ins/sia_1/attempt_second_factor" => {
            let code = req.body.strip_prefix("code=").unwrap_or_default().to_string();
            codes.lock().expect("lock").push(code);
            Resp::json(200, json!({"status": "complete", "session_token": "sess-clerk-77a1"}))
        }
        "/v1/me" if req.header("authorization") == Some("Bearer sess-clerk-77a1") => {
            Resp::json(200, json!({"id": "user_1"}))
        }
        _ => Resp::json(401, json!({"errors": [{"code": "unauthenticated"}]})),
    })
}

fn second_factor_connector(name: &str, url: &str, expect: &str) -> String {
    format!(
        r#"
name: {name}
base_url: {url}
auth_flow:
  - {{id: creds, type: form, fields: [{{key: identifier}}, {{key: password, type: password}}]}}
  - id: sign_in
    type: api_request
    request: {{method: POST, url: /v1/sign_ins, form: {{identifier: "{{{{ creds.identifier }}}}", password: "{{{{ creds.password }}}}"}}}}
    expect: {expect}
test_api: {{request: {{url: /v1/me, headers: {{Authorization: "Bearer {{{{ sign_in.body.session_token }}}}"}}}}}}
"#
    )
}

#[test]
fn a_step_expect_stops_a_second_factor_login_at_that_step_listing_every_failure() {
    let server = clerk(Arc::default(), true);
    let name = unique("expect");
    let yaml = second_factor_connector(
        &name,
        &server.url,
        r#"{status: [200], json: [{path: "$.status", equals: complete}, {path: "$.session_token", exists: true}]}"#,
    );
    let out = sign_in_without_cache(&name, &yaml);
    assert_eq!(out.code, 1, "{out:?}");
    let all = out.all();
    assert!(all.contains("✘ sign_in"), "the step fails, not the test API: {all}");
    assert!(all.contains(r#"`$.status` is "needs_second_factor", expected "complete""#), "{all}");
    assert!(all.contains("`$.session_token` matched nothing"), "every failed assertion: {all}");
    assert_eq!(server.count("/v1/me"), 0, "the run stopped at the step");
}

#[test]
fn a_step_expect_that_holds_passes_and_a_listed_status_is_accepted() {
    let server = clerk(Arc::default(), false);
    let name = unique("expect-ok");
    let yaml = second_factor_connector(&name, &server.url, r#"{json: [{path: "$.status", equals: complete}]}"#);
    let out = sign_in_without_cache(&name, &yaml);
    assert_eq!(out.code, 0, "{out:?}");
    // A status the step lists passes even at 400 and above.
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: probe, type: api_request, request: {{url: /nowhere}}, expect: {{status: [401]}}}}\n",
        server.url
    );
    let out = Conntest::new().connector("probe", &yaml).args(["--no-cache", "test", "auth", "probe"]).run();
    assert_eq!(out.code, 0, "{out:?}");
}

fn otp_connector(name: &str, url: &str) -> String {
    format!(
        r#"
name: {name}
base_url: {url}
auth_flow:
  - {{id: creds, type: form, fields: [{{key: identifier}}, {{key: password, type: password}}]}}
  - id: sign_in
    type: api_request
    request: {{method: POST, url: /v1/sign_ins, form: {{identifier: "{{{{ creds.identifier }}}}", password: "{{{{ creds.password }}}}"}}}}
    expect: {{json: [{{path: "$.status", equals: needs_second_factor}}]}}
  - {{id: sms, type: form, fields: [{{key: code, label: SMS code, store: false}}]}}
  - id: factor
    type: api_request
    request: {{method: POST, url: "/v1/sign_ins/{{{{ sign_in.body.id }}}}/attempt_second_factor", form: {{code: "{{{{ sms.code }}}}"}}}}
refresh_flow: {{same_as_auth: true, use_stored_credentials: true}}
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ factor.body.session_token }}}}"}}
test_api: {{request: {{url: /v1/me}}}}
"#
    )
}

#[test]
fn a_store_false_code_never_reaches_the_keyring_and_a_refresh_asks_again() {
    let k = Keyring::shared();
    let codes = Arc::new(Mutex::new(Vec::new()));
    let server = clerk(codes.clone(), true);
    let name = unique("otp");
    let yaml = otp_connector(&name, &server.url);
    let t = || k.conntest(Conntest::new().connector(&name, &yaml));
    let auth = t()
        .args(["test", "auth", &name, "--input", "creds.identifier=ann", "--input", "creds.password=pw-otp-1"])
        .args(["--input", "sms.code=481516"])
        .run();
    assert_eq!(auth.code, 0, "{auth:?}");
    let stored =
        k.secret_tool().args(["search", "--all", "--unlock", "service", "conntest"]).output().expect("secret-tool");
    let stored = String::from_utf8_lossy(&stored.stdout).into_owned() + &String::from_utf8_lossy(&stored.stderr);
    assert!(stored.contains(&name), "the entry is there: {stored}");
    assert!(stored.contains("pw-otp-1"), "the password is kept for use_stored_credentials");
    assert!(!stored.contains("481516"), "the one-time code is in the keyring: {stored}");
    // Non-interactive, no flag: the code is a missing input, named up front, before any request.
    let before = server.requests().len();
    let refresh = t().args(["test", "refresh", &name]).run();
    assert_eq!(refresh.code, 3, "{refresh:?}");
    assert!(refresh.all().contains("sms.code"), "{refresh:?}");
    assert!(!refresh.all().contains("creds.password"), "stored values are not asked for: {refresh:?}");
    assert_eq!(server.requests().len(), before, "no request before the missing input is reported");
    // Given by flag, the refresh sends the new code, the stored password with it.
    let refresh = t().args(["test", "refresh", &name, "--input", "sms.code=623342"]).run();
    assert_eq!(refresh.code, 0, "{refresh:?}");
    assert_eq!(*codes.lock().expect("lock"), vec!["481516".to_string(), "623342".to_string()]);
    let _ = t().args(["cache", "clear", &name]).run();
}

#[test]
fn a_body_parameter_on_a_get_test_api_is_a_validation_error() {
    let yaml = "base_url: http://127.0.0.1:9\nauth_flow: []\nrequest_parameters:\n  - {name: api_token, in: body, value: x}\ntest_api: {request: {url: /me}}\n";
    let out = Conntest::new().connector("getbody", yaml).args(["validate"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.all().contains("getbody.yaml:4:"), "{out:?}");
    assert!(out.all().contains("`api_token` is `in: body` but the test API is a GET request"), "{out:?}");
}

#[test]
fn a_body_parameter_is_sent_in_a_form_body_or_is_a_step_error_never_dropped() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"items": [1, 2]})),
        _ => Resp::json(200, json!({"ok": true})),
    });
    // A body-less POST gets a form body carrying the parameter.
    let yaml = format!(
        "base_url: {}\nauth_flow: []\nrequest_parameters:\n  - {{name: tenant, in: body, value: acme}}\ntest_api: {{request: {{method: POST, url: /me}}}}\n",
        server.url
    );
    let out = Conntest::new().connector("formbody", &yaml).args(["--no-cache", "test", "auth", "formbody"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let sent = server.requests().into_iter().find(|r| r.path_only() == "/me").expect("sent");
    assert_eq!(sent.body, "tenant=acme");
    // A JSON body known only at run time that is not an object: a step error.
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\nrequest_parameters:\n  - {{name: tenant, in: body, value: acme}}\ntest_api: {{request: {{method: POST, url: /list, json: \"{{{{ login.body.items }}}}\"}}}}\n",
        server.url
    );
    let out = Conntest::new().connector("listbody", &yaml).args(["--no-cache", "test", "auth", "listbody"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("`tenant` is `in: body` but this POST request's body is neither"), "{out:?}");
    assert_eq!(server.count("/list"), 0, "nothing sent without the parameter");
}

#[test]
fn a_js_value_listed_in_secret_outputs_is_masked_by_value() {
    let server = Server::start(|req| Resp::json(200, json!({"echo": req.header("x-proof")})));
    let yaml = format!(
        r#"
base_url: {}
variables: {{seed: plain-seed}}
auth_flow:
  - id: derive
    type: js
    params: {{seed: "{{{{ vars.seed }}}}"}}
    code: "return {{sig: 'derived-' + params.seed + '-9c1e'}}"
    secret_outputs: [sig]
request_parameters:
  - {{name: X-Proof, in: header, value: "{{{{ derive.sig }}}}"}}
test_api: {{request: {{url: /me}}}}
"#,
        server.url
    );
    let out = Conntest::new()
        .connector("derive", &yaml)
        .args(["--no-cache", "-v", "--format", "json", "test", "auth", "derive"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let sent = server.requests().into_iter().next().expect("sent");
    assert_eq!(sent.header("x-proof"), Some("derived-plain-seed-9c1e"), "the value really travels");
    assert!(!out.all().contains("derived-plain-seed-9c1e"), "{out:?}");
    assert_eq!(out.json()["results"][0]["steps"][0]["outputs"]["sig"], "****", "{out:?}");
}

#[test]
fn a_secret_outputs_path_the_step_does_not_have_is_a_validation_error() {
    let yaml = "auth_flow:\n  - {id: t, type: totp, secret: JBSWY3DPEHPK3PXP, secret_outputs: [cod]}\n";
    let out = Conntest::new().connector("badpath", yaml).args(["validate"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.all().contains("the step has no output `cod`"), "{out:?}");
    assert!(out.all().contains("did you mean `code`?"), "{out:?}");
}

#[test]
fn rejected_again_after_a_refresh_says_rejected_and_what_was_sent() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"token": "tok-rejected-3f"})),
        "/refresh" => Resp::json(200, json!({"token": "tok-rejected-4a"})),
        _ => Resp::json(401, json!({"detail": "Invalid token."})),
    });
    let yaml = format!(
        r#"
base_url: {}
auth_flow: [{{id: login, type: api_request, request: {{method: POST, url: /login}}}}]
refresh_flow:
  steps: [{{id: renew, type: api_request, request: {{method: POST, url: /refresh}}}}]
  update_variables: {{login.body.token: "{{{{ renew.body.token }}}}"}}
request_parameters:
  - {{name: Authorization, in: header, value: "Token {{{{ login.body.token }}}}"}}
test_api: {{request: {{url: /me}}}}
"#,
        server.url
    );
    let out = Conntest::new().connector("words", &yaml).args(["--no-cache", "test", "auth", "words"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    let all = out.all();
    assert!(all.contains("401: the credentials were rejected: refreshing and retrying once"), "{all}");
    assert!(!all.contains("expired"), "nothing had a known expiry: {all}");
    assert!(all.contains("sent `Authorization: Token ****`"), "{all}");
    assert!(!all.contains("tok-rejected"), "{all}");
}

/// An oauth2 connector against the in-process `server` (token endpoint), its
/// browser coming back on `port`.
fn browser_connector(name: &str, url: &str, port: u16) -> String {
    format!(
        r#"
name: {name}
auth_flow:
  - id: login
    type: oauth2
    authorize_url: {url}/authorize
    token_url: {url}/token
    client_id: app
    redirect_port: {port}
    timeout_secs: 60
"#
    )
}

#[test]
fn a_browser_program_that_fails_ends_a_ci_run_at_once_with_exit_3() {
    let name = unique("badbrowser");
    let started = std::time::Instant::now();
    let out = Conntest::new()
        .connector(&name, &browser_connector(&name, "http://127.0.0.1:9", 0))
        .env("BROWSER", "false")
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "it waited {:?}", started.elapsed());
    assert!(out.all().contains("false failed (exit status: 1)"), "{out:?}");
    assert!(out.stderr.contains("http://127.0.0.1:9/authorize?response_type=code"), "the URL is printed: {out:?}");
}

#[test]
fn browser_steps_of_several_connectors_take_turns_on_one_redirect_port() {
    let server = Server::start(|req| match req.path_only() {
        "/token" => Resp::json(200, json!({"access_token": "at-turns-1", "token_type": "Bearer"})),
        _ => Resp::json(404, json!({})),
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    // A browser that comes straight back with a code and the state it was given.
    let script = "#!/bin/sh\nexec python3 -c 'import sys,urllib.parse as u,urllib.request as r\nq=dict(u.parse_qsl(u.urlsplit(sys.argv[1]).query))\nr.urlopen(q[\"redirect_uri\"]+\"?code=c0de&state=\"+q[\"state\"]).read()' \"$1\"\n";
    let t = Conntest::new()
        .connector("turn-a", &browser_connector("turn-a", &server.url, port))
        .connector("turn-b", &browser_connector("turn-b", &server.url, port))
        .file("browser.sh", script);
    let browser = t.path().join("browser.sh");
    std::process::Command::new("chmod").arg("+x").arg(&browser).status().expect("chmod");
    let out = t
        .env("BROWSER", &browser.display().to_string())
        .args(["--no-cache", "--format", "json", "test", "auth", "--all", "--jobs", "2"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.count("/token"), 2);
}

#[test]
fn the_oauth1_url_to_open_is_printed_in_full() {
    let server = Server::start(|req| match req.path_only() {
        "/request_token" => Resp::text(
            200,
            "oauth_token=rt-open-me-5521&oauth_token_secret=rts-hidden-8812&oauth_callback_confirmed=true",
        )
        .header("Content-Type", "application/x-www-form-urlencoded"),
        _ => Resp::json(404, json!({})),
    });
    let yaml = format!(
        r#"
auth_flow:
  - id: o1
    type: oauth1
    consumer_key: ck
    consumer_secret: cs-secret-1
    request_token_url: {0}/request_token
    authorize_url: {0}/authorize
    access_token_url: {0}/access_token
"#,
        server.url
    );
    let out = Conntest::new().connector("o1", &yaml).args(["--no-cache", "test", "auth", "o1", "--no-browser"]).run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("/authorize?oauth_token=rt-open-me-5521"), "{out:?}");
    assert!(!out.all().contains("rts-hidden-8812"), "{out:?}");
}

/// A browser that comes straight back to the listener with a code and the state it was given.
fn quick_browser(t: Conntest) -> Conntest {
    let script = "#!/bin/sh\nexec python3 -c 'import sys,urllib.parse as u,urllib.request as r\nq=dict(u.parse_qsl(u.urlsplit(sys.argv[1]).query))\nr.urlopen(q[\"redirect_uri\"]+\"?code=c0de&state=\"+q[\"state\"]).read()' \"$1\"\n";
    let t = t.file("quick-browser.sh", script);
    let browser = t.path().join("quick-browser.sh");
    std::process::Command::new("chmod").arg("+x").arg(&browser).status().expect("chmod");
    let browser = browser.display().to_string();
    t.env("BROWSER", &browser)
}

#[test]
fn an_id_token_with_another_nonce_fails_the_step() {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"ann","nonce":"forged-nonce-1"}"#);
    let id_token = format!("eyJhbGciOiJub25lIn0.{payload}.");
    let server = Server::start(move |req| match req.path_only() {
        "/token" => {
            Resp::json(200, json!({"access_token": "at-nonce-1", "token_type": "Bearer", "id_token": id_token}))
        }
        _ => Resp::json(404, json!({})),
    });
    let name = unique("nonce");
    let yaml = format!("{}    scope: openid profile\n", browser_connector(&name, &server.url, 0));
    let out = quick_browser(Conntest::new().connector(&name, &yaml)).args(["--no-cache", "test", "auth", &name]).run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("the id_token's `nonce` is not the one sent"), "{out:?}");
    assert!(out.stderr.contains("&nonce="), "a nonce was sent: {out:?}");
}

/// A device-flow provider: the token endpoint answers `script` in turn (the
/// last answer repeats); every poll's time is recorded.
fn device_server(script: Vec<serde_json::Value>, polls: Arc<Mutex<Vec<std::time::Instant>>>) -> Server {
    Server::start(move |req| match req.path_only() {
        "/device" => Resp::json(
            200,
            json!({"device_code": "dc-secret-0aa1", "user_code": "WDJB-MJHT", "verification_uri": "https://id.example/device",
                   "verification_uri_complete": "https://id.example/device?user_code=WDJB-MJHT", "expires_in": 60, "interval": 1}),
        ),
        "/token" => {
            assert!(
                req.body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"),
                "{}",
                req.body
            );
            assert!(req.body.contains("device_code=dc-secret-0aa1"), "{}", req.body);
            let mut p = polls.lock().expect("lock");
            p.push(std::time::Instant::now());
            let answer = script[(p.len() - 1).min(script.len() - 1)].clone();
            Resp::json(if answer.get("error").is_some() { 400 } else { 200 }, answer)
        }
        _ => Resp::json(404, json!({})),
    })
}

fn device_connector(url: &str) -> String {
    format!(
        "auth_flow:\n  - {{id: dev, type: oauth2_device, device_authorization_url: {url}/device, token_url: {url}/token, client_id: cli, timeout_secs: 30}}\n"
    )
}

#[test]
fn a_device_flow_polls_through_pending_and_slow_down_in_ci() {
    let polls = Arc::new(Mutex::new(Vec::new()));
    let server = device_server(
        vec![
            json!({"error": "authorization_pending"}),
            json!({"error": "slow_down"}),
            json!({"access_token": "at-device-77", "token_type": "Bearer", "expires_in": 600}),
        ],
        polls.clone(),
    );
    let out = Conntest::new()
        .connector("dev", &device_connector(&server.url))
        .env("BROWSER", "true")
        .args(["--no-cache", "--format", "json", "test", "auth", "dev"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("open https://id.example/device and enter the code WDJB-MJHT"), "{out:?}");
    assert!(!out.all().contains("dc-secret-0aa1") && !out.all().contains("at-device-77"), "{out:?}");
    let p = polls.lock().expect("lock").clone();
    assert_eq!(p.len(), 3);
    let gap = |i: usize| p[i + 1].duration_since(p[i]);
    assert!(gap(0) >= std::time::Duration::from_millis(950), "interval 1 s: {:?}", gap(0));
    // slow_down: the interval grows by 5 s, to 6 s.
    assert!(gap(1) >= std::time::Duration::from_millis(5950), "after slow_down: {:?}", gap(1));
    assert_eq!(out.json()["results"][0]["steps"][0]["type"], "oauth2_device");
}

#[test]
fn a_denied_device_request_fails_the_step() {
    let server = device_server(vec![json!({"error": "access_denied"})], Arc::default());
    let out = Conntest::new()
        .connector("dev", &device_connector(&server.url))
        .args(["--no-cache", "test", "auth", "dev", "--no-browser"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("the person denied the request"), "{out:?}");
}

/// The implicit grant: the "provider" answers in the fragment, and the
/// scripted browser does what the listener's page does — loads the redirect
/// (the fragment stays in the browser), then POSTs `location.hash` back.
#[test]
fn an_implicit_grant_answer_in_the_fragment_is_read_through_the_page() {
    let script = r#"#!/bin/sh
exec python3 - "$1" <<'PY'
import sys, urllib.parse as u, urllib.request as r
q = dict(u.parse_qsl(u.urlsplit(sys.argv[1]).query))
assert q["response_type"] == "token", q
page = r.urlopen(q["redirect_uri"]).read().decode()
assert "location.hash" in page, page
fragment = u.urlencode({"access_token": "at-frag-3c9d", "token_type": "Bearer", "expires_in": "60", "state": q["state"]})
r.urlopen(r.Request(q["redirect_uri"], data=fragment.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"})).read()
PY
"#;
    let server = Server::start(|req| {
        Resp::json(if req.header("authorization") == Some("Bearer at-frag-3c9d") { 200 } else { 401 }, json!({}))
    });
    let yaml = format!(
        r#"
auth_flow:
  - {{id: login, type: oauth2, authorize_url: "{0}/authorize", client_id: spa, response_type: token, timeout_secs: 30}}
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.access_token }}}}"}}
test_api: {{request: {{url: "{0}/me"}}}}
"#,
        server.url
    );
    let t = Conntest::new().connector("implicit", &yaml).file("frag-browser.sh", script);
    let browser = t.path().join("frag-browser.sh");
    std::process::Command::new("chmod").arg("+x").arg(&browser).status().expect("chmod");
    let out = t
        .env("BROWSER", &browser.display().to_string())
        .args(["--no-cache", "--format", "json", "test", "auth", "implicit"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let outputs = &out.json()["results"][0]["steps"][0]["outputs"];
    assert_eq!(outputs["access_token"], "****", "{out:?}");
    assert_eq!(outputs["expires_in"], 60, "{out:?}");
    assert!(!out.all().contains("at-frag-3c9d"), "{out:?}");
}

fn paste_connector(url: &str) -> String {
    format!(
        "auth_flow:\n  - {{id: login, type: oauth2, authorize_url: {url}/authorize, token_url: {url}/token, client_id: web, redirect_uri: \"https://app.example.com/oauth/cb\", timeout_secs: 30}}\n"
    )
}

#[test]
fn a_registered_https_redirect_uri_needs_a_person_in_ci() {
    let out = Conntest::new()
        .connector("paste", &paste_connector("http://127.0.0.1:9"))
        .env("BROWSER", "true")
        .args(["--no-cache", "test", "auth", "paste"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth%2Fcb"), "{out:?}");
    assert!(out.all().contains("is not a loopback address"), "{out:?}");
}

/// Paste mode in a real pty: the person pastes the URL the browser ended on;
/// its `state` is checked and its code exchanged with the registered URI.
#[test]
fn a_pasted_redirect_url_is_checked_like_a_callback() {
    use expectrl::{Eof, Expect, Session};
    let server = Server::start(|req| match req.path_only() {
        "/token"
            if req.body.contains("code=pasted-c0de")
                && req.body.contains("redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth%2Fcb") =>
        {
            Resp::json(200, json!({"access_token": "at-pasted-1", "token_type": "Bearer"}))
        }
        _ => Resp::json(400, json!({"error": "invalid_grant"})),
    });
    let run = |state_of: &dyn Fn(&str) -> String| {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("connectors")).expect("mkdir");
        std::fs::write(dir.path().join("connectors/paste.yaml"), paste_connector(&server.url)).expect("write");
        let mut cmd = std::process::Command::new(crate::harness::bin());
        cmd.args(["--no-cache", "--no-color", "test", "auth", "paste"])
            .current_dir(dir.path())
            .env_remove("CI")
            .env("BROWSER", "true")
            .env("TERM", "xterm");
        let mut p = Session::spawn(cmd).expect("spawn in a pty");
        p.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
        let shown = p.expect("URL the browser ended on").expect("asks for the URL");
        let screen = String::from_utf8_lossy(shown.before()).into_owned();
        let state =
            screen.split("state=").nth(1).and_then(|r| r.split(['&', '\r', '\n']).next()).expect("state").to_string();
        p.send_line(format!("https://app.example.com/oauth/cb?code=pasted-c0de&state={}", state_of(&state)))
            .expect("paste");
        let rest = p.expect(Eof).expect("finishes");
        let text = String::from_utf8_lossy(rest.before()).into_owned();
        let code = p.get_process_mut().wait().ok();
        (text, format!("{code:?}"))
    };
    let (text, code) = run(&|s| s.to_string());
    assert!(code.contains("Exited(") && code.contains(", 0)"), "{code} {text}");
    let (text, code) = run(&|_| "forged".to_string());
    assert!(code.contains(", 1)"), "{code} {text}");
    assert_eq!(server.count("/token"), 1, "no token requested for the forged state");
}

/// `store: false` in a terminal: the refresh reuses the stored password but
/// asks for the one-time code again, on every refresh.
#[test]
fn a_store_false_code_is_asked_again_at_each_interactive_refresh() {
    use expectrl::{Eof, Expect, Session};
    let _k = Keyring::shared();
    let codes = Arc::new(Mutex::new(Vec::new()));
    let server = clerk(codes.clone(), true);
    let name = unique("otp-pty");
    let yaml = otp_connector(&name, &server.url);
    let t = Conntest::new().connector(&name, &yaml);
    let auth = Conntest::new()
        .connector(&name, &yaml)
        .args(["test", "auth", &name, "--input", "creds.identifier=ann", "--input", "creds.password=pw-otp-2"])
        .args(["--input", "sms.code=111111"])
        .run();
    assert_eq!(auth.code, 0, "{auth:?}");
    for code in ["222222", "333333"] {
        let mut cmd = std::process::Command::new(crate::harness::bin());
        cmd.args(["--no-color", "test", "refresh", &name]).current_dir(t.path()).env_remove("CI").env("TERM", "xterm");
        let mut p = Session::spawn(cmd).expect("spawn in a pty");
        p.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
        p.expect("SMS code").expect("the code is asked for again");
        p.send_line(code).expect("type");
        p.expect(Eof).expect("finishes");
        assert!(p.get_process_mut().wait().is_ok_and(|s| format!("{s:?}").contains(", 0)")), "refresh with {code}");
    }
    assert_eq!(*codes.lock().expect("lock"), ["111111", "222222", "333333"]);
    let _ = t.args(["cache", "clear", &name]).run();
}

/// Interactive: a failing `BROWSER` is reported and the wait goes on — the
/// person opens the URL themselves (here: the test delivers the redirect).
#[test]
fn a_failing_browser_in_a_terminal_is_reported_and_the_wait_goes_on() {
    use expectrl::{Eof, Expect, Session};
    let server = Server::start(|req| match req.path_only() {
        "/token" => Resp::json(200, json!({"access_token": "at-waited-1", "token_type": "Bearer"})),
        _ => Resp::json(404, json!({})),
    });
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("connectors")).expect("mkdir");
    std::fs::write(dir.path().join("connectors/wait.yaml"), browser_connector("wait", &server.url, 0)).expect("write");
    let mut cmd = std::process::Command::new(crate::harness::bin());
    cmd.args(["--no-cache", "--no-color", "test", "auth", "wait"])
        .current_dir(dir.path())
        .env_remove("CI")
        .env("BROWSER", "false")
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
    let said = p.expect("still waiting").expect("the failure is reported");
    let screen = String::from_utf8_lossy(said.before()).into_owned();
    assert!(screen.contains("false failed"), "{screen}");
    let find = |name: &str| {
        let v = screen.split(&format!("{name}=")).nth(1).and_then(|r| r.split(['&', '\r', '\n']).next());
        url::form_urlencoded::parse(format!("v={}", v.expect(name)).as_bytes()).next().map(|(_, v)| v.into_owned())
    };
    let (uri, state) = (find("redirect_uri").expect("uri"), find("state").expect("state"));
    let delivered = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", &format!("{uri}?code=by-hand&state={state}")])
        .output()
        .expect("curl");
    assert!(delivered.status.success(), "{delivered:?}");
    p.expect(Eof).expect("finishes");
    assert!(p.get_process_mut().wait().is_ok_and(|s| format!("{s:?}").contains(", 0)")));
    assert_eq!(server.count("/token"), 1);
}

/// `test auth NAME --no-cache` with the second-factor connector's credentials given by flag.
fn sign_in_without_cache(name: &str, yaml: &str) -> crate::harness::Output {
    Conntest::new()
        .connector(name, yaml)
        .args(["--no-cache", "test", "auth", name, "--input", "creds.identifier=ann", "--input", "creds.password=pw-1"])
        .run()
}
