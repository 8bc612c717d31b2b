//! Steps, request parameters, test API expectations and exit codes against an in-process server.

use serde_json::json;

use crate::harness::{Conntest, Output};
use crate::server::{Resp, Server};

/// A JSON token login: form → POST /login → Bearer on /me.
pub fn token_connector(url: &str) -> String {
    format!(
        r#"
name: token
base_url: {url}
variables:
  tenant: acme
auth_flow:
  - id: creds
    type: form
    title: Sign in
    fields:
      - {{key: email, type: email, label: Email}}
      - {{key: password, type: password, label: Password}}
      - {{key: seats, type: number, required: false}}
  - id: login
    type: api_request
    request:
      method: POST
      url: /login
      json: {{email: "{{{{ creds.email }}}}", password: "{{{{ creds.password }}}}", seats: "{{{{ creds.seats }}}}"}}
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.access_token }}}}"}}
  - {{name: tenant, in: query, value: "{{{{ vars.tenant }}}}"}}
test_api:
  name: Current user
  request: {{url: /me}}
  expect:
    status: [200]
    json:
      - {{path: "$.email", equals: "{{{{ creds.email }}}}"}}
      - {{path: "$.id", exists: true}}
"#
    )
}

pub fn token_server(token: &'static str) -> Server {
    Server::start(move |req| match req.path_only() {
        "/login" => {
            let body: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
            if body["password"] == "right" {
                Resp::json(200, json!({"access_token": token, "token_type": "Bearer"}))
            } else {
                Resp::json(401, json!({"error": "bad credentials"}))
            }
        }
        "/me" if req.header("authorization") == Some(&format!("Bearer {token}")) => {
            Resp::json(200, json!({"id": 7, "email": "ann@example.com"}))
        }
        _ => Resp::json(401, json!({"error": "unauthorized"})),
    })
}

fn inputs(password: &str) -> Vec<String> {
    vec!["--input".into(), "creds.email=ann@example.com".into(), "--input".into(), format!("creds.password={password}")]
}

#[test]
fn token_login_passes_and_reports_each_step() {
    let server = token_server("tok-123456");
    let out = Conntest::new()
        .connector("token", &token_connector(&server.url))
        .args(["--no-cache", "test", "auth", "token"])
        .args(inputs("right"))
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("✔ creds form"), "{out:?}");
    assert!(out.stdout.contains(&format!("✔ login api_request POST {}/login → 200", server.url)), "{out:?}");
    assert!(out.stdout.contains("✔ Current user test API GET"), "{out:?}");
    // What reached the server: JSON body with typed values, the header and the query parameter.
    let reqs = server.requests();
    let login = reqs.iter().find(|r| r.path_only() == "/login").expect("login");
    let body: serde_json::Value = serde_json::from_str(&login.body).expect("json body");
    assert_eq!(body, json!({"email": "ann@example.com", "password": "right", "seats": null}));
    let me = reqs.iter().find(|r| r.path_only() == "/me").expect("me");
    assert_eq!(me.header("authorization"), Some("Bearer tok-123456"));
    assert_eq!(me.path, "/me?tenant=acme");
}

#[test]
fn wrong_password_fails_with_exit_1_naming_the_step() {
    let server = token_server("tok-1");
    let out = Conntest::new()
        .connector("token", &token_connector(&server.url))
        .args(["--no-cache", "test", "auth", "token"])
        .args(inputs("wrong"))
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("✘ login api_request"), "{out:?}");
    assert!(out.stdout.contains("→ 401"), "{out:?}");
    assert!(out.stdout.contains("bad credentials"), "{out:?}");
    assert_eq!(server.count("/me"), 0, "the test API must not be called after a failed step");
}

#[test]
fn json_output_matches_the_spec_shape() {
    let server = token_server("tok-json-1");
    let out = Conntest::new()
        .connector("token", &token_connector(&server.url))
        .args(["--no-cache", "--format", "json", "test", "auth", "token"])
        .args(inputs("right"))
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let doc = out.json();
    let r = &doc["results"][0];
    assert_eq!(r["connector"], "token");
    assert_eq!(r["flow"], "auth");
    assert_eq!(r["ok"], true);
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["refreshed"], false);
    assert_eq!(r["error"], serde_json::Value::Null);
    assert_eq!(r["steps"][1]["id"], "login");
    assert_eq!(r["steps"][1]["type"], "api_request");
    assert_eq!(r["steps"][1]["outputs"]["status"], 200);
    assert_eq!(r["steps"][1]["outputs"]["body"]["access_token"], "****");
    assert_eq!(r["steps"][1]["outputs"]["body"]["token_type"], "Bearer");
    assert!(r["steps"][1]["duration_ms"].is_u64());
    assert_eq!(r["test_api"]["name"], "Current user");
    assert_eq!(r["test_api"]["status"], 200);
    assert_eq!(r["test_api"]["ok"], true);
}

#[test]
fn missing_input_in_ci_exits_3_naming_step_field_and_flag() {
    let out = Conntest::new()
        .connector("token", &token_connector("http://127.0.0.1:9"))
        .args(["--no-cache", "test", "auth", "token", "--input", "creds.email=ann@example.com"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.all().contains("token: creds.password"), "{out:?}");
    assert!(out.all().contains("(`CI` is set)"), "says why it is non-interactive: {out:?}");
    // A password is suggested from the environment, never on the command line.
    assert!(out.all().contains("--input-env creds.password=CREDS_PASSWORD"), "{out:?}");
}

#[test]
fn every_missing_input_of_every_connector_in_one_message_before_any_request() {
    let server = Server::start(|_| Resp::json(200, json!({"access_token": "t"})));
    let out = Conntest::new()
        .connector("one", &token_connector(&server.url).replace("name: token", "name: one"))
        .connector("two", &token_connector(&server.url).replace("name: token", "name: two"))
        .args(["--no-cache", "test", "auth", "one", "two"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.all().contains("one: creds.email, creds.password"), "{out:?}");
    assert!(out.all().contains("two: creds.email, creds.password"), "{out:?}");
    // Issue 20: a password reaches one connector, so with two the flags are scoped.
    assert!(
        out.all().contains(
            "--input creds.email=… --input-env one:creds.password=ONE_CREDS_PASSWORD --input-env two:creds.password=TWO_CREDS_PASSWORD"
        ),
        "{out:?}"
    );
    assert_eq!(server.requests().len(), 0, "nothing was sent");
}

#[test]
fn inputs_file_and_input_env_supply_values() {
    let server = token_server("tok-2");
    let out = Conntest::new()
        .connector("token", &token_connector(&server.url))
        .file("inputs.yaml", "creds:\n  email: ann@example.com\n")
        .env("MY_PW", "right")
        .args(["--no-cache", "test", "auth", "token", "--inputs", "inputs.yaml", "--input-env", "creds.password=MY_PW"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn invalid_input_value_is_a_usage_error() {
    let out = Conntest::new()
        .connector("token", &token_connector("http://127.0.0.1:9"))
        .args([
            "--no-cache",
            "test",
            "auth",
            "token",
            "--input",
            "creds.email=not-an-email",
            "--input",
            "creds.password=x",
        ])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.all().contains("creds.email: the value given is not an email address"), "{out:?}");
    assert!(!out.all().contains("not-an-email"), "input values are never quoted (issue 9, item 14): {out:?}");
}

#[test]
fn unknown_connector_is_exit_2_and_lists_what_exists() {
    let out =
        Conntest::new().connector("token", &token_connector("http://127.0.0.1:9")).args(["test", "auth", "tokn"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("connector `tokn` not found"), "{out:?}");
    assert!(out.stderr.contains("available: token"), "{out:?}");
}

#[test]
fn test_api_expectations_fail_with_exit_1() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": "tok-expect"})),
        _ => Resp::json(200, json!({"id": 7, "email": "someone-else@example.com"})),
    });
    let out = Conntest::new()
        .connector("token", &token_connector(&server.url))
        .args(["--no-cache", "test", "auth", "token"])
        .args(inputs("right"))
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("`$.email` is \"someone-else@example.com\", expected \"ann@example.com\""), "{out:?}");
}

#[test]
fn basic_auth_and_totp_steps_send_what_they_promise() {
    let server = Server::start(|req| match req.path_only() {
        "/verify" | "/me" if req.header("authorization") == Some("Basic YW5uOnMzY3JldA==") => {
            Resp::json(200, json!({"ok": true}))
        }
        "/otp" => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    });
    let yaml = format!(
        r#"
base_url: {}
variables: {{otp_seed: JBSWY3DPEHPK3PXP}}
auth_flow:
  - {{id: creds, type: basic_auth, username: ann, password: s3cret, verify_url: /verify}}
  - {{id: otp, type: totp, secret: "{{{{ vars.otp_seed }}}}"}}
  - id: second
    type: api_request
    request: {{method: POST, url: /otp, form: {{code: "{{{{ otp.code }}}}"}}}}
request_parameters:
  - {{name: Authorization, in: header, value: "{{{{ creds.header }}}}"}}
test_api: {{request: {{url: /me}}}}
"#,
        server.url
    );
    let out = Conntest::new().connector("basic", &yaml).args(["--no-cache", "test", "auth", "basic"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let otp = server.requests().into_iter().find(|r| r.path_only() == "/otp").expect("otp request");
    let code = otp.body.strip_prefix("code=").expect("form body");
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
}

/// RFC 6238 computed here with hmac and sha1/sha2 directly, independently of the step.
fn totp(secret: &[u8], algorithm: &str, digits: u32, period: u64, time: u64) -> String {
    use hmac::{Hmac, Mac};
    fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut m = <M as Mac>::new_from_slice(key).expect("any key length");
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    }
    let msg = (time / period).to_be_bytes();
    let digest = match algorithm {
        "SHA256" => mac::<Hmac<sha2::Sha256>>(secret, &msg),
        "SHA512" => mac::<Hmac<sha2::Sha512>>(secret, &msg),
        _ => mac::<Hmac<sha1::Sha1>>(secret, &msg),
    };
    let offset = usize::from(digest[digest.len() - 1] & 0xf);
    let word: [u8; 4] = digest[offset..offset + 4].try_into().expect("4 bytes");
    let code = (u32::from_be_bytes(word) & 0x7fff_ffff) % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// Issue 12: the code a `totp` step sends is the RFC 6238 code of its secret for the
/// current window, with its defaults (6 digits, 30 s, SHA1) and with each setting given.
#[test]
fn totp_steps_send_the_current_rfc_6238_code() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let yaml = format!(
        r#"
base_url: {}
auth_flow:
  - {{id: plain, type: totp, secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ}}
  - {{id: long, type: totp, secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ, digits: 8, period: 60, algorithm: SHA512}}
  - {{id: mid, type: totp, secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ, digits: 7, period: 45, algorithm: SHA256}}
  - id: send
    type: api_request
    request: {{method: POST, url: /otp, form: {{a: "{{{{ plain.code }}}}", b: "{{{{ long.code }}}}", c: "{{{{ mid.code }}}}"}}}}
"#,
        server.url
    );
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let started = now();
    let out = Conntest::new().connector("otp", &yaml).args(["--no-cache", "test", "auth", "otp"]).run();
    let ended = now();
    assert_eq!(out.code, 0, "{out:?}");
    let sent = server.requests().into_iter().find(|r| r.path_only() == "/otp").expect("otp request");
    let secret = b"12345678901234567890";
    let expect = |algorithm: &str, digits: u32, period: u64| -> Vec<String> {
        (started..=ended).map(|t| totp(secret, algorithm, digits, period, t)).collect()
    };
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(sent.body.as_bytes()).into_owned().collect();
    for (field, want) in [("a", expect("SHA1", 6, 30)), ("b", expect("SHA512", 8, 60)), ("c", expect("SHA256", 7, 45))]
    {
        let got = fields.iter().find(|(n, _)| n == field).map(|(_, v)| v.clone()).expect("field sent");
        assert!(want.contains(&got), "{field}: sent {got}, the codes of the run's seconds are {want:?}");
    }
}

#[test]
fn several_connectors_report_the_highest_exit_code() {
    let server = token_server("tok-multi");
    let good = token_connector(&server.url);
    let out = Conntest::new()
        .connector("good", &good.replace("name: token", "name: good"))
        .connector("broken", "name: broken\nauth_flow: []\ntest_api: {request: {url: /x}}\n")
        .args(["--no-cache", "--format", "json", "test", "auth", "--all", "--jobs", "2"])
        .args(inputs("right"))
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    let doc = out.json();
    let codes: Vec<i64> =
        doc["results"].as_array().expect("results").iter().map(|r| r["exit_code"].as_i64().unwrap_or(-1)).collect();
    assert_eq!(codes, vec![2, 0], "{out:?}");
}

#[test]
fn junit_report_names_the_failing_step() {
    let server = token_server("tok-junit");
    let t = Conntest::new()
        .connector("token", &token_connector(&server.url))
        .args(["--no-cache", "test", "auth", "token", "--junit", "report.xml"])
        .args(inputs("wrong-password-canary"));
    let out = t.run();
    assert_eq!(out.code, 1, "{out:?}");
    let xml = std::fs::read_to_string(t.path().join("report.xml")).expect("junit written");
    assert!(xml.contains(r#"<testsuite name="conntest" tests="1" failures="1""#), "{xml}");
    assert!(xml.contains(r#"<testcase classname="conntest.token" name="token auth""#), "{xml}");
    // Issue 20: the message is the error's first line, which names the step.
    assert!(xml.contains(r#"<failure message="step `login`: POST "#), "{xml}");
    assert!(!xml.contains("wrong-password-canary"), "{xml}");
}

/// A server that sets `csrf` on /csrf and rotates it at /login, like Django does.
fn rotating_csrf_server(location: &'static str) -> Server {
    Server::start(move |req| {
        let sent = |name: &str| -> Option<String> {
            let from_query = req.path.split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default();
            let source = if location == "query" { from_query } else { req.body.clone() };
            source.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string))
        };
        match req.path_only() {
            "/csrf" => Resp::json(200, json!({})).header("Set-Cookie", "csrf=one; Path=/"),
            "/login" if sent("csrf_token").as_deref() == Some("one") => {
                Resp::json(200, json!({"ok": true})).header("Set-Cookie", "csrf=two; Path=/")
            }
            "/me" if location == "query" && sent("csrf_token").as_deref() == Some("two") => Resp::json(200, json!({})),
            "/me" if location == "body" => Resp::json(200, json!({})),
            _ => Resp::json(403, json!({"error": "csrf"})),
        }
    })
}

#[test]
fn double_submit_in_body_and_query_follows_a_rotating_cookie() {
    for location in ["body", "query"] {
        let server = rotating_csrf_server(location);
        let yaml = format!(
            "base_url: {}\ncookies:\n  forward_all: true\n  double_submit: {{cookie: csrf, name: csrf_token, in: {location}}}\nauth_flow:\n  - {{id: csrf, type: api_request, request: {{url: /csrf}}}}\n  - {{id: login, type: api_request, request: {{method: POST, url: /login, form: {{user: ann}}}}}}\ntest_api: {{request: {{url: /me}}}}\n",
            server.url
        );
        let out = Conntest::new().connector("ds", &yaml).args(["--no-cache", "test", "auth", "ds"]).run();
        assert_eq!(out.code, 0, "{location}: {out:?}");
        let login = server.requests().into_iter().find(|r| r.path_only() == "/login").expect("login");
        assert_eq!(login.header("cookie"), Some("csrf=one"), "{location}");
    }
}

#[test]
fn body_request_parameters_merge_into_json_and_form_bodies() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    for (body, expected) in [("json: {a: 1}", r#"{"a":1,"tenant":"acme"}"#), ("form: {a: '1'}", "a=1&tenant=acme")] {
        let yaml = format!(
            "base_url: {}\nvariables: {{tenant: acme}}\nauth_flow: []\nrequest_parameters:\n  - {{name: tenant, in: body, value: '{{{{ vars.tenant }}}}'}}\ntest_api: {{request: {{method: POST, url: /me, {body}}}}}\n",
            server.url
        );
        let out = Conntest::new().connector("bp", &yaml).args(["--no-cache", "test", "auth", "bp"]).run();
        assert_eq!(out.code, 0, "{out:?}");
        let sent = server.requests().last().map(|r| r.body.clone()).unwrap_or_default();
        assert_eq!(sent, expected);
    }
}

#[test]
fn the_cookie_jar_honours_path_and_expiry() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({}))
            .header("Set-Cookie", "scoped=1; Path=/api")
            .header("Set-Cookie", "gone=1; Path=/; Max-Age=0")
            .header("Set-Cookie", "site=1; Path=/"),
        _ => Resp::json(200, json!({})),
    });
    let yaml = format!(
        "base_url: {}\ncookies: {{forward_all: true}}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\n  - {{id: api, type: api_request, request: {{url: /api/x}}}}\ntest_api: {{request: {{url: /other}}}}\n",
        server.url
    );
    let out = Conntest::new().connector("jar", &yaml).args(["--no-cache", "test", "auth", "jar"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let cookie = |path: &str| {
        server
            .requests()
            .into_iter()
            .find(|r| r.path_only() == path)
            .and_then(|r| r.header("cookie").map(str::to_string))
    };
    let api = cookie("/api/x").unwrap_or_default();
    assert!(api.contains("scoped=1") && api.contains("site=1") && !api.contains("gone"), "{api}");
    assert_eq!(cookie("/other").as_deref(), Some("site=1"));
}

#[test]
fn a_misspelt_input_or_var_is_a_usage_error() {
    let t = || Conntest::new().connector("token", &token_connector("http://127.0.0.1:9"));
    let out = t().args(["--no-cache", "test", "auth", "token", "--input", "cred.email=a@b.co"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("input `cred.email` names no form field"), "{out:?}");
    assert!(out.stderr.contains("did you mean `creds.email`?"), "{out:?}");
    let out = t().args(["--no-cache", "test", "auth", "token", "--var", "tennant=x"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("did you mean `tenant`?"), "{out:?}");
}

#[test]
fn the_test_api_does_not_follow_a_redirect_to_a_login_page_unless_asked() {
    let server = Server::start(|req| match req.path_only() {
        "/me" => Resp::json(302, json!({})).header("Location", "/login"),
        _ => Resp::text(200, "<form>please sign in</form>"),
    });
    let yaml = |follow: &str| {
        format!("base_url: {}\nauth_flow: []\ntest_api: {{request: {{url: /me{follow}}}}}\n", server.url)
    };
    let out = Conntest::new().connector("bounce", &yaml("")).args(["--no-cache", "test", "auth", "bounce"]).run();
    assert_eq!(out.code, 1, "a bounce to the login page is a failure: {out:?}");
    assert!(out.all().contains("302"), "{out:?}");
    let out = Conntest::new()
        .connector("bounce", &yaml(", follow_redirects: true"))
        .args(["--no-cache", "test", "auth", "bounce"])
        .run();
    assert_eq!(out.code, 0, "followed when asked: {out:?}");
    assert!(out.stdout.contains("→ 302 → 200 /login"), "the hops are shown: {out:?}");
}

#[test]
fn every_failed_assertion_is_reported_with_expected_and_actual() {
    let server = Server::start(|_| Resp::json(200, json!({"email": "x@example.com", "id": 7})));
    let yaml = format!(
        "base_url: {}\nauth_flow: []\ntest_api:\n  request: {{url: /me}}\n  expect:\n    json:\n      - {{path: '$.email', equals: 'ann@example.com'}}\n      - {{path: '$.id', equals: 8}}\n      - {{path: '$.name', exists: true}}\n",
        server.url
    );
    let out = Conntest::new().connector("asserts", &yaml).args(["--no-cache", "test", "auth", "asserts"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    let all = out.all();
    assert!(all.contains(r#"`$.email` is "x@example.com", expected "ann@example.com""#), "{all}");
    assert!(all.contains("`$.id` is 7, expected 8"), "{all}");
    assert!(all.contains("`$.name` matched nothing"), "{all}");
}

#[test]
fn shards_are_disjoint_and_cover_every_connector() {
    let dir = Conntest::new();
    let names: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    let t = names.iter().fold(dir, |t, n| t.connector(n, "auth_flow: []\n"));
    let mut seen = Vec::new();
    for k in 1..=3 {
        let out: crate::harness::Output = t
            .command()
            .args(["--no-cache", "--format", "json", "test", "auth", "--all", "--shard", &format!("{k}/3")])
            .output()
            .expect("run")
            .into();
        assert_eq!(out.code, 0, "{out:?}");
        if out.stdout.trim_start().starts_with('{') {
            for r in out.json()["results"].as_array().expect("results") {
                seen.push(r["connector"].as_str().expect("name").to_string());
            }
        }
    }
    seen.sort();
    let mut want = names.clone();
    want.sort();
    assert_eq!(seen, want, "every connector in exactly one shard");
    let bad: crate::harness::Output =
        t.command().args(["test", "auth", "--all", "--shard", "4/3"]).output().expect("run").into();
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn two_files_with_one_connector_name_name_both() {
    let out = Conntest::new()
        .connector("a", "name: same\nauth_flow: []\n")
        .connector("b", "name: same\nauth_flow: []\n")
        .args(["validate"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("connector name `same` is also given by connectors/b.yaml"), "{out:?}");
    assert!(out.stdout.contains("connector name `same` is also given by connectors/a.yaml"), "{out:?}");
}

#[test]
fn connectors_in_subfolders_are_found_and_an_empty_dir_is_exit_2() {
    let t = Conntest::new().connector("top", "auth_flow: []\n");
    std::fs::create_dir_all(t.path().join("connectors/team/deep")).expect("mkdir");
    std::fs::create_dir_all(t.path().join("connectors/.hidden")).expect("mkdir");
    std::fs::write(t.path().join("connectors/team/deep/nested.yaml"), "auth_flow: []\n").expect("write");
    std::fs::write(t.path().join("connectors/.hidden/skip.yaml"), "auth_flow: [").expect("write");
    let out: crate::harness::Output = t.command().args(["validate"]).output().expect("run").into();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("nested.yaml (nested)") && out.stdout.contains("2 valid"), "{out:?}");

    let empty = Conntest::new();
    std::fs::create_dir_all(empty.path().join("connectors")).expect("mkdir");
    for args in [vec!["validate"], vec!["test", "auth", "--all"]] {
        let out: crate::harness::Output = empty.command().args(&args).output().expect("run").into();
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.all().contains("no connector files"), "{out:?}");
    }
}

#[test]
fn junit_has_an_error_for_exit_5_and_an_unwritable_report_is_exit_2_before_any_request() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let t = Conntest::new().connector(
        "down",
        &format!("base_url: http://127.0.0.1:{port}\nauth_flow: []\ntest_api: {{request: {{url: /me}}}}\n"),
    );
    let out: crate::harness::Output = t
        .command()
        .args(["--no-cache", "test", "auth", "down", "--junit", "out/deep/report.xml"])
        .output()
        .expect("run")
        .into();
    assert_eq!(out.code, 5, "{out:?}");
    let xml = std::fs::read_to_string(t.path().join("out/deep/report.xml")).expect("parent dirs created");
    assert!(xml.contains(r#"errors="1""#) && xml.contains(r#"failures="0""#), "{xml}");
    assert!(xml.contains(r#"type="unreachable""#) && xml.contains("nothing listens"), "{xml}");

    let server = Server::start(|_| Resp::json(200, json!({})));
    let t = Conntest::new()
        .connector("up", &format!("base_url: {}\nauth_flow: []\ntest_api: {{request: {{url: /me}}}}\n", server.url));
    std::fs::create_dir_all(t.path().join("adir")).expect("mkdir");
    let out: crate::harness::Output =
        t.command().args(["--no-cache", "test", "auth", "up", "--har", "adir"]).output().expect("run").into();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.all().contains("--har adir: cannot be written"), "{out:?}");
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[test]
fn inputs_from_stdin_and_a_var_in_the_wrong_case_is_named() {
    use std::io::Write as _;
    let server = token_server("tok-stdin");
    let t = Conntest::new().connector("token", &token_connector(&server.url)).env("CONNTEST_VAR_Tenant", "x");
    let mut cmd = t.command();
    cmd.args(["--no-cache", "test", "auth", "token", "--inputs", "-"]).stdin(std::process::Stdio::piped());
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    child.stdin.take().expect("stdin").write_all(b"creds: {email: ann@example.com, password: right}\n").expect("write");
    let out: crate::harness::Output = child.wait_with_output().expect("wait").into();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("CONNTEST_VAR_Tenant is not used") && out.stderr.contains("CONNTEST_VAR_tenant"),
        "{out:?}"
    );
}

/// Issue 11, items 6 and 10: with several connectors each block holds exactly
/// the lines a run of that connector alone prints: its steps, the test API
/// line, a refresh and its retry, then the result.
#[test]
fn several_connectors_print_the_same_lines_as_one() {
    let server = Server::start(|req| match (req.path_only(), req.header("authorization")) {
        ("/login", _) => Resp::json(200, json!({"token": "old-token-1"})),
        ("/refresh", _) => Resp::json(200, json!({"token": "new-token-2"})),
        ("/me", Some("Bearer new-token-2")) | ("/ok", _) => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    });
    let with_refresh = format!(
        "base_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{url: /login}}}}\nrefresh_flow:\n  steps:\n    - {{id: renew, type: api_request, request: {{url: /refresh}}}}\n  update_variables:\n    login.body.token: '{{{{ renew.body.token }}}}'\nrequest_parameters:\n  - {{name: Authorization, in: header, value: 'Bearer {{{{ login.body.token }}}}'}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let plain = format!(
        "base_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{url: /login}}}}\ntest_api: {{request: {{url: /ok}}}}\n",
        server.url
    );
    let t = Conntest::new().connector("one", &with_refresh).connector("two", &plain);
    let run = |names: &[&str]| {
        let out: Output = t.command().args(["--no-cache", "test", "auth"]).args(names).output().expect("run").into();
        let timings = regex::Regex::new(r"\d+(\.\d)? (ms|s)\b").expect("regex");
        timings.replace_all(&out.stdout, "T").to_string()
    };
    let alone = run(&["one"]);
    assert!(alone.contains("test API") && alone.contains("(refresh)"), "{alone}");
    let both = run(&["one", "two"]);
    let block: Vec<&str> = both.lines().skip_while(|l| !l.starts_with("one ")).take(alone.lines().count()).collect();
    assert_eq!(block.join("\n"), alone.trim_end(), "several:\n{both}\nalone:\n{alone}");
}
