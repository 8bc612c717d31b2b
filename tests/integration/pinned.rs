//! Issue 23: tests that pin the values themselves — limits, margins, defaults
//! and word lists — not only the behaviour. Each one fails when the value it
//! names changes (the sabotage it was written against is in its comment).

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::{Conntest, Output, require_keyring, unique};
use crate::server::{Resp, Server};

fn json_run(t: Conntest, name: &str) -> (Output, Value) {
    let out = t.args(["--no-cache", "--format", "json", "test", "auth", name]).run();
    let json = out.json();
    (out, json)
}

fn js_connector(steps: &[(&str, &str, &str)]) -> String {
    let mut yaml = String::from("auth_flow:\n");
    for (id, extra, code) in steps {
        let indented: String = code.lines().map(|l| format!("      {l}\n")).collect();
        yaml.push_str(&format!("  - id: {id}\n    type: js\n{extra}    code: |\n{indented}"));
    }
    yaml
}

// ---------------------------------------------------------------- js limits

/// Sabotage: the deadline doubled (the step stopped at 2.05 s and still said 1000 ms).
#[test]
fn the_js_step_stops_at_its_timeout_ms_within_a_quarter() {
    let name = unique("js-deadline");
    let yaml = js_connector(&[("spin", "    timeout_ms: 1000\n", "while (true) {}")]);
    let t = Conntest::new().connector(&name, &yaml);
    let mut cmd = t.command();
    cmd.args(["--no-cache", "--format", "json", "test", "auth", &name]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    // Bounded: a limit that does not hold must fail this test, not hang it.
    let out: Output = crate::cache_safety::output_by(cmd.spawn().expect("run"), started + Duration::from_secs(20))
        .unwrap_or_else(|why| panic!("the js step ignored its timeout_ms: {why}"))
        .into();
    let wall = started.elapsed();
    let json = out.json();
    assert_eq!(out.code, 1, "{out:?}");
    let step = &json["results"][0]["steps"][0];
    assert!(step["error"].as_str().unwrap_or_default().contains("stopped after 1000 ms"), "{out:?}");
    let took = step["duration_ms"].as_u64().expect("duration_ms");
    assert!((750..=1250).contains(&took), "the step ran {took} ms for timeout_ms 1000");
    assert!(wall < Duration::from_millis(1250 + 1000), "the whole run took {wall:?}");
}

/// Sabotage: the memory limit ×8 (48 MiB allocated under `memory_mb: 16`).
#[test]
fn the_js_step_allocates_no_more_than_its_memory_mb() {
    let name = unique("js-memory");
    // 1 MiB strings until the engine refuses one; the count is what fitted.
    let code = "const held = [];\ntry {\n  for (;;) held.push('x'.repeat(1 << 20) + held.length);\n} catch (e) {\n  const mib = held.length;\n  held.length = 0;\n  return {mib: mib};\n}";
    let yaml = js_connector(&[("bomb", "    memory_mb: 16\n", code)]);
    let (out, json) = json_run(Conntest::new().connector(&name, &yaml), &name);
    assert_eq!(out.code, 0, "the engine's out-of-memory error is catchable: {out:?}");
    let mib = json["results"][0]["steps"][0]["outputs"]["mib"].as_u64().expect("mib");
    assert!((8..16).contains(&mib), "{mib} MiB of strings fitted under memory_mb: 16");
}

/// Sabotage: one engine (runtime and context) reused by every js step of a run.
#[test]
fn a_js_global_does_not_survive_into_the_next_step() {
    let name = unique("js-fresh");
    let yaml = js_connector(&[
        ("first", "", "globalThis.leaked = 'from-first';\nleaked2 = 1;\nreturn {set: typeof leaked};"),
        ("second", "", "return {leaked: typeof leaked, leaked2: typeof leaked2};"),
    ]);
    let (out, json) = json_run(Conntest::new().connector(&name, &yaml), &name);
    assert_eq!(out.code, 0, "{out:?}");
    let steps = &json["results"][0]["steps"];
    assert_eq!(steps[0]["outputs"]["set"], "string");
    assert_eq!(steps[1]["outputs"], json!({"leaked": "undefined", "leaked2": "undefined"}));
}

// ---------------------------------------------------------------- refresh ahead of expiry

/// `/token` hands out `at-N` valid for `lifetime` seconds; `/me` wants the latest.
fn token_server(lifetime: u64) -> (Server, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let n = issued.clone();
    let server = Server::start(move |req| match req.path_only() {
        "/token" => {
            let i = n.fetch_add(1, Ordering::SeqCst) + 1;
            Resp::json(
                200,
                json!({"access_token": format!("at-margin-{i}"), "token_type": "Bearer", "expires_in": lifetime}),
            )
        }
        "/me" => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(404, json!({})),
    });
    (server, issued)
}

/// A client-credentials connector whose templates never name `expires_at`.
fn margin_connector(name: &str, url: &str) -> String {
    format!(
        "name: {name}\nauth_flow:\n  - {{id: app, type: oauth2_client_credentials, token_url: \"{url}/token\", client_id: svc, client_secret: cs-margin-svc}}\nrefresh_flow: {{same_as_auth: true}}\nrequest_parameters:\n  - {{name: Authorization, in: header, value: \"Bearer {{{{ app.access_token }}}}\"}}\ntest_api: {{request: {{url: \"{url}/me\"}}}}\n"
    )
}

/// Sabotages: the 30 s margin cut to 5 s (or raised past 40 s); the cache no
/// longer keeping `expires_at` unless a template names it.
#[test]
fn a_cached_token_20_s_from_expiry_is_refreshed_and_one_40_s_away_is_not() {
    require_keyring();
    for (lifetime, refreshed) in [(20, true), (40, false)] {
        let (server, issued) = token_server(lifetime);
        let name = unique("margin");
        let t = || Conntest::new().connector(&name, &margin_connector(&name, &server.url));
        let auth = t().args(["test", "auth", &name]).run();
        assert_eq!(auth.code, 0, "{auth:?}");
        // The entry keeps `expires_at` by itself: no template reads it.
        let items = Command::new("secret-tool")
            .args(["search", "--all", "service", "conntest", "account", &name])
            .output()
            .expect("secret-tool");
        let stored = String::from_utf8_lossy(&items.stdout);
        assert!(stored.contains("\"expires_at\""), "the cache keeps expires_at:\n{stored}");

        let api = t().args(["--format", "json", "test", "api", &name]).run();
        assert_eq!(api.code, 0, "{api:?}");
        let result = &api.json()["results"][0];
        assert_eq!(result["refreshed"], refreshed, "a token valid for {lifetime} s: {api:?}");
        assert_eq!(issued.load(Ordering::SeqCst), if refreshed { 2 } else { 1 }, "tokens issued ({lifetime} s)");
        if refreshed {
            let why = result["refresh_reason"].as_str().unwrap_or_default();
            let left = why
                .strip_prefix("token expires in ")
                .and_then(|w| w.strip_suffix(" s: refreshed before calling"))
                .and_then(|n| n.parse::<u64>().ok());
            assert!(left.is_some_and(|s| (10..=20).contains(&s)), "{why}");
        }
        let _ = t().args(["cache", "clear", &name]).run();
    }
}

// ---------------------------------------------------------------- refresh_on

/// Sabotage: `refresh_on` losing its default `status: [401]` when only `body_matches` is given.
#[test]
fn refresh_on_body_matches_alone_keeps_the_default_401() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"token": "old"})),
        "/refresh" => Resp::json(200, json!({"token": "new"})),
        "/me" if req.header("authorization") == Some("Bearer new") => Resp::json(200, json!({"ok": true})),
        // A 401 whose body does not match the expression.
        _ => Resp::json(401, json!({"error": "unauthorized"})),
    });
    let name = unique("refresh-on-401");
    let yaml = format!(
        r#"
base_url: {}
refresh_on: {{body_matches: "(?i)token expired"}}
auth_flow:
  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}
refresh_flow:
  steps:
    - {{id: renew, type: api_request, request: {{method: POST, url: /refresh}}}}
  update_variables:
    login.body.token: "{{{{ renew.body.token }}}}"
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.token }}}}"}}
test_api: {{request: {{url: /me}}}}
"#,
        server.url
    );
    let (out, json) = json_run(Conntest::new().connector(&name, &yaml), &name);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json["results"][0]["refreshed"], true);
    assert_eq!(server.count("/refresh"), 1);
    assert_eq!(server.count("/me"), 2);
}

// ---------------------------------------------------------------- cross-origin redirects

/// Sabotage: the word list (`auth`, `csrf`, `xsrf` as substrings) reduced to whole names.
#[test]
fn a_cross_origin_redirect_drops_x_auth_key_and_x_csrf() {
    let other = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let target = format!("{}/landing", other.url);
    let first = Server::start(move |_| Resp::text(302, "").header("Location", &target));
    let name = unique("cross-origin");
    let yaml = format!(
        "auth_flow:\n  - id: go\n    type: api_request\n    request:\n      url: \"{}/start\"\n      headers: {{X-Auth-Key: cf-global-key-123, X-CSRF: csrf-word-456, X-XSRF-Value: xsrf-word-789, X-Request-Id: rid-1}}\n",
        first.url
    );
    let (out, _) = json_run(Conntest::new().connector(&name, &yaml), &name);
    assert_eq!(out.code, 0, "{out:?}");
    let sent = &first.requests()[0];
    assert_eq!(sent.header("x-auth-key"), Some("cf-global-key-123"), "its own origin gets it");
    let landed = &other.requests()[0];
    for header in ["x-auth-key", "x-csrf", "x-xsrf-value"] {
        assert_eq!(landed.header(header), None, "{header} reached the other origin: {landed:?}");
    }
    assert_eq!(landed.header("x-request-id"), Some("rid-1"), "other headers go on: {landed:?}");
}

// ---------------------------------------------------------------- Cookie masking

/// Sabotage: `Cookie: a=****; b=****` collapsed to `Cookie: ****`.
#[test]
fn cookies_show_their_names_and_mask_their_values_in_text_json_and_har() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"ok": true}))
            .header("Set-Cookie", "a=ck-a-value-1; Path=/")
            .header("Set-Cookie", "b=ck-b-value-2; Path=/; HttpOnly"),
        _ => Resp::json(200, json!({"ok": true})),
    });
    let name = unique("cookie-form");
    let yaml = format!(
        "base_url: {}\ncookies: {{forward_all: true}}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let t = Conntest::new().connector(&name, &yaml);
    for format in ["text", "json"] {
        let har = t.path().join(format!("{format}.har"));
        let out: Output = t
            .command()
            .args(["--no-cache", "-v", "--format", format, "test", "auth", &name, "--har"])
            .arg(&har)
            .output()
            .expect("run")
            .into();
        assert_eq!(out.code, 0, "{format}: {out:?}");
        // Each name with its value masked (in the jar's order, which is not the order they were set in).
        let forms = ["a=****; b=****", "b=****; a=****"];
        assert!(forms.iter().any(|f| out.stderr.contains(&format!("> Cookie: {f}\n"))), "{format} -v:\n{}", out.stderr);
        assert!(!out.all().contains("ck-a-value-1") && !out.all().contains("ck-b-value-2"), "{out:?}");

        let har: Value = serde_json::from_str(&std::fs::read_to_string(&har).expect("har")).expect("HAR is JSON");
        assert_eq!(har["log"]["version"], "1.2");
        assert_eq!(har["log"]["creator"]["name"], "conntest");
        let entries = har["log"]["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), 2, "{har:#}");
        for e in entries {
            assert!(e["startedDateTime"].is_string() && e["time"].is_number(), "{e:#}");
            assert!(e["request"]["headers"].is_array() && e["response"]["headers"].is_array(), "{e:#}");
            assert_eq!(e["response"]["status"], 200, "{e:#}");
        }
        assert_eq!(entries[0]["request"]["method"], "POST");
        assert_eq!(entries[1]["request"]["url"], format!("{}/me", server.url));
        let header = |e: &Value, side: &str, n: &str| -> Vec<String> {
            e[side]["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .filter(|h| h["name"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(n)))
                .map(|h| h["value"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let cookie = header(&entries[1], "request", "cookie");
        assert!(cookie.len() == 1 && forms.contains(&cookie[0].as_str()), "{format} HAR: {cookie:?}");
        assert_eq!(
            header(&entries[0], "response", "set-cookie"),
            ["a=****; Path=/", "b=****; Path=/; HttpOnly"],
            "{format} HAR"
        );
    }
}

// ---------------------------------------------------------------- JWT default lifetime

/// Sabotage: the default `exp` ×1000.
#[test]
fn a_jwt_bearer_assertion_lives_300_s_by_default() {
    let server = Server::start(|_| Resp::json(200, json!({"access_token": "at-jwt", "token_type": "Bearer"})));
    let name = unique("jwt-exp");
    let yaml = format!(
        "auth_flow:\n  - {{id: grant, type: jwt_bearer, algorithm: HS256, key: hs-exp-key-0123456789abcdef, claims: {{iss: me, aud: there}}, token_url: \"{}/token\"}}\n",
        server.url
    );
    let (out, _) = json_run(Conntest::new().connector(&name, &yaml), &name);
    assert_eq!(out.code, 0, "{out:?}");
    let body = &server.requests()[0].body;
    let assertion = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "assertion")
        .map(|(_, v)| v.into_owned())
        .expect("an assertion in the token request");
    let payload = assertion.split('.').nth(1).expect("a JWT");
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
            .expect("claims");
    let (iat, exp) = (claims["iat"].as_i64().expect("iat"), claims["exp"].as_i64().expect("exp"));
    assert_eq!(exp - iat, 300, "{claims}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    assert!((now - 60..=now + 1).contains(&iat), "iat is now: {claims}");
}

// ---------------------------------------------------------------- --shard

/// Which shard of 3 each connector file falls in: FNV-1a of the file name,
/// fixed here so a change of the hash, or of what is hashed, is seen.
const SHARDS_OF_3: [(&str, u32); 10] = [
    ("storage", 1),
    ("tickets", 1),
    ("billing", 2),
    ("crm", 2),
    ("mail", 2),
    ("payroll", 2),
    ("hr", 3),
    ("ledger", 3),
    ("search", 3),
    ("wiki", 3),
];

/// Sabotage: hashing the path as given (the split then depends on `--dir`).
#[test]
fn shard_membership_follows_a_fixed_table_whatever_the_dir_is_called() {
    let mut t = Conntest::new();
    for (name, _) in SHARDS_OF_3 {
        t = t.connector(name, &format!("name: {name}\nauth_flow: []\n"));
    }
    let absolute = t.path().join("connectors").display().to_string();
    for dir in ["connectors", "./connectors/", absolute.as_str()] {
        for k in 1..=3 {
            let out: Output = t
                .command()
                .args(["--no-cache", "--format", "json", "--dir", dir, "test", "auth", "--all", "--shard"])
                .arg(format!("{k}/3"))
                .output()
                .expect("run")
                .into();
            assert_eq!(out.code, 0, "--dir {dir} shard {k}/3: {out:?}");
            let mut ran: Vec<String> = out.json()["results"]
                .as_array()
                .expect("results")
                .iter()
                .filter_map(|r| r["connector"].as_str().map(str::to_string))
                .collect();
            ran.sort();
            let want: Vec<&str> = SHARDS_OF_3.iter().filter(|(_, s)| *s == k).map(|(n, _)| *n).collect();
            assert_eq!(ran, want, "--dir {dir} shard {k}/3");
        }
    }
}

// ---------------------------------------------------------------- a connector named twice

/// Sabotage: a connector named twice running twice.
#[test]
fn a_connector_named_twice_sends_one_request() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let t = Conntest::new().connector(
        "twice",
        &format!("name: twice\ntest_api: {{request: {{url: \"{}/me\"}}}}\nauth_flow: []\n", server.url),
    );
    let out =
        t.args(["--no-cache", "--format", "json", "test", "auth", "twice", "twice", "connectors/twice.yaml"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["results"].as_array().map(Vec::len), Some(1), "{out:?}");
    assert_eq!(server.count("/me"), 1);
}

// ---------------------------------------------------------------- sign_in: oauth1

/// Sabotage: `sign_in: oauth1` dropping every other header of the request.
#[test]
fn a_request_signed_with_oauth1_keeps_its_other_headers() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let name = unique("o1-headers");
    let yaml = format!(
        r#"
auth_flow:
  - {{id: o1, type: oauth1, consumer_key: ck, consumer_secret: cs-o1-keep, token: tok-o1-keep, token_secret: ts-o1-keep}}
sign_in: {{type: oauth1, consumer_key: ck, consumer_secret: cs-o1-keep, token: "{{{{ o1.oauth_token }}}}", token_secret: "{{{{ o1.oauth_token_secret }}}}"}}
request_parameters:
  - {{name: X-Tenant, in: header, value: acme}}
test_api:
  request:
    method: POST
    url: "{}/me"
    headers: {{X-Trace: trace-1, Accept: application/json}}
    json: {{a: 1}}
"#,
        server.url
    );
    let (out, _) = json_run(Conntest::new().connector(&name, &yaml), &name);
    assert_eq!(out.code, 0, "{out:?}");
    let sent = &server.requests()[0];
    assert!(sent.header("authorization").is_some_and(|a| a.starts_with("OAuth ")), "{sent:?}");
    assert_eq!(sent.header("x-trace"), Some("trace-1"), "{sent:?}");
    assert_eq!(sent.header("accept"), Some("application/json"), "{sent:?}");
    assert_eq!(sent.header("x-tenant"), Some("acme"), "{sent:?}");
    assert_eq!(sent.header("content-type"), Some("application/json"), "{sent:?}");
    assert_eq!(sent.body, r#"{"a":1}"#);
}

/// tests/peers/oauth1/tls.py: the oauthlib provider over TLS, its CA in `dir`.
struct Oauth1Tls {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Oauth1Tls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn oauth1_tls(consumer_secret: &str, token: &str, token_secret: &str) -> Oauth1Tls {
    let python = std::env::var("CONNTEST_PEERS_PYTHON").expect("CONNTEST_PEERS_PYTHON: run `bash tests/run.sh`");
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/oauth1/tls.py"))
        .arg(dir.path())
        .env("OAUTH1_CONSUMER_KEY", "ck-test")
        .env("OAUTH1_CONSUMER_SECRET", consumer_secret)
        .env("OAUTH1_TOKEN", token)
        .env("OAUTH1_TOKEN_SECRET", token_secret)
        .env("OAUTH1_QUIET", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tests/peers/oauth1/tls.py");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("LISTENING line");
    let url =
        line.trim().strip_prefix("LISTENING ").unwrap_or_else(|| panic!("no LISTENING line: {line:?}")).to_string();
    Oauth1Tls { child, url, dir }
}

/// Sabotage: the port of an `https://host:8443` URL dropped from the base string.
#[test]
fn an_https_url_on_a_non_default_port_is_signed_as_oauthlib_verifies() {
    let (cs, token, ts) = ("canary-o1tls-cs", "at0123456789abcdef012345", "canary-o1tls-ts");
    let peer = oauth1_tls(cs, token, ts);
    assert!(!peer.url.ends_with(":443"), "{}", peer.url);
    let name = unique("o1-https");
    let yaml = format!(
        r#"
auth_flow:
  - {{id: o1, type: oauth1, consumer_key: ck-test, consumer_secret: {cs}, token: {token}, token_secret: {ts}, signature_method: HMAC-SHA256}}
sign_in: {{type: oauth1, consumer_key: ck-test, consumer_secret: {cs}, token: "{{{{ o1.oauth_token }}}}", token_secret: "{{{{ o1.oauth_token_secret }}}}", signature_method: HMAC-SHA256}}
test_api:
  request: {{url: "{}/api/me?q=a%20b"}}
  expect:
    json:
      - {{path: "$.screen_name", equals: alice}}
      - {{path: "$.params.q", equals: "a b"}}
"#,
        peer.url
    );
    let ca = peer.dir.path().join("ca.pem");
    let out = Conntest::new()
        .connector(&name, &yaml)
        .args(["--no-cache", "--cacert", ca.to_str().expect("utf-8"), "test", "auth", &name])
        .run();
    assert_eq!(out.code, 0, "oauthlib accepts the signature over {}: {out:?}", peer.url);
}

// ---------------------------------------------------------------- exit 5

fn unreachable_api(url: &str) -> Output {
    let name = unique("exit5");
    let yaml = format!("auth_flow: []\ntest_api: {{name: me, request: {{url: \"{url}\"}}}}\n");
    Conntest::new().connector(&name, &yaml).args(["--no-cache", "test", "auth", &name]).run()
}

#[test]
fn a_host_name_that_does_not_resolve_is_exit_5() {
    let out = unreachable_api("http://conntest-no-such-host.invalid/me");
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.all().contains("cannot resolve the host name conntest-no-such-host.invalid"), "{out:?}");
}

#[test]
fn a_connection_reset_is_exit_5() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let served = Arc::new(Mutex::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            // Read one byte of the request and close: the unread rest makes the
            // kernel answer with a reset (RST), not an orderly close.
            let mut one = [0u8; 1];
            let _ = std::io::Read::read(&mut stream, &mut one);
            std::thread::sleep(Duration::from_millis(50));
            *count.lock().expect("lock") += 1;
            drop(stream);
        }
    });
    let out = unreachable_api(&format!("http://{addr}/me"));
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.all().contains(&format!("{addr} reset the connection")), "{out:?}");
    assert!(*served.lock().expect("lock") >= 1);
}

// ---------------------------------------------------------------- js errors (cargo-mutants on src/js.rs)

/// Mutant: the engine's stack limit `512 * 1024` made `512 / 1024` (0: no limit).
#[test]
fn deep_recursion_in_a_js_step_is_an_error_not_a_crash() {
    let name = unique("js-stack");
    let yaml = js_connector(&[("deep", "", "function f(n) { return f(n + 1) + 1; }\nreturn {n: f(0)};")]);
    let (out, json) = json_run(Conntest::new().connector(&name, &yaml), &name);
    assert_eq!(out.code, 1, "{out:?}");
    let error = json["results"][0]["steps"][0]["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("RangeError: Maximum call stack size exceeded"), "{error}");
}

/// Mutant: every thrown value read as a memory failure.
#[test]
fn a_thrown_string_is_reported_as_thrown() {
    let name = unique("js-throw");
    let yaml = js_connector(&[("t", "", "throw 'custom failure';")]);
    let (out, json) = json_run(Conntest::new().connector(&name, &yaml), &name);
    assert_eq!(out.code, 1, "{out:?}");
    let error = json["results"][0]["steps"][0]["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("uncaught: custom failure"), "{error}");
}
