//! Browser and token steps against a real authorization server (npm
//! `oidc-provider`, tests/peers/oidc) with a scripted browser set through
//! `BROWSER`: authorization code (basic, body, PKCE), client credentials,
//! JWT bearer with every algorithm, refresh, callback, sso_token, and the
//! failure paths (denied, forged state, timeout, no browser, busy port).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Conntest, Output, keyring_ready, require_keyring, unique};

/// The running peer, from tests/run.sh (tests/peers/start-oidc.sh).
struct Oidc {
    url: String,
    secret: String,
    user: String,
    password: String,
    keys: String,
    browser: String,
}

fn oidc() -> Oidc {
    let get =
        |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run the suite with `bash tests/run.sh`"));
    Oidc {
        url: get("CONNTEST_OIDC_URL"),
        secret: get("CONNTEST_OIDC_CLIENT_SECRET"),
        user: get("CONNTEST_OIDC_USER"),
        password: get("CONNTEST_OIDC_PASSWORD"),
        keys: get("CONNTEST_OIDC_KEYS"),
        browser: get("CONNTEST_BROWSER"),
    }
}

impl Oidc {
    /// A client id of its own for one test (`conf-basic.TAG`): its own stats.
    fn alias(&self, client: &str) -> String {
        format!("{client}.{}", unique("t").replace('-', "_"))
    }

    fn stats(&self, client_id: &str) -> Value {
        get_json(&format!("{}/__stats?client_id={client_id}", self.url))
    }

    /// A conntest invocation whose browser is the scripted one, in `mode`.
    fn conntest(&self, mode: &str) -> Conntest {
        Conntest::new()
            .env("BROWSER", &self.browser)
            .env("BROWSER_MODE", mode)
            .env("BROWSER_USER", &self.user)
            .env("BROWSER_PASSWORD", &self.password)
            .env("CONNTEST_VAR_issuer", &self.url)
            .env("CONNTEST_VAR_client_secret", &self.secret)
    }
}

/// A GET or POST with curl: the peer's test endpoints, outside conntest.
fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl").args(["-fsS", "--max-time", "10"]).args(args).output().expect("curl");
    assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn get_json(url: &str) -> Value {
    serde_json::from_str(&curl(&[url])).expect("JSON")
}

/// An authorization-code connector for `client_id` (`oauth2` or `oauth2_pkce`).
fn code_connector(name: &str, kind: &str, client_id: &str, extra: &str) -> String {
    format!(
        r#"
name: {name}
variables: {{issuer: "http://127.0.0.1:1", client_secret: ""}}
auth_flow:
  - id: login
    type: {kind}
    authorize_url: "{{{{ vars.issuer }}}}/auth"
    token_url: "{{{{ vars.issuer }}}}/token"
    client_id: {client_id}
    scope: openid offline_access api
    timeout_secs: 20
{extra}
refresh_flow:
  steps:
    - id: renew
      type: api_request
      request:
        method: POST
        url: "{{{{ login.token_url }}}}"
        headers: {{Authorization: "Basic {{{{ (login.client_id ~ ':' ~ vars.client_secret) | base64_encode }}}}"}}
        form: {{grant_type: refresh_token, refresh_token: "{{{{ login.refresh_token }}}}"}}
  update_variables:
    login.access_token: "{{{{ renew.body.access_token }}}}"
    login.refresh_token: "{{{{ renew.body.refresh_token }}}}"
    login.expires_at: "{{{{ now() + renew.body.expires_in }}}}"
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.access_token }}}}"}}
test_api:
  name: me
  request: {{url: "{{{{ vars.issuer }}}}/api/me"}}
  expect:
    json:
      - {{path: "$.client_id", equals: "{client_id}"}}
"#
    )
}

/// The decoded payload of a JWT.
fn payload(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url"))
        .expect("JSON")
}

fn assert_ok(out: &Output) {
    assert_eq!(out.code, 0, "{out:?}");
}

/// No token, code, verifier, secret or assertion in clear on any channel.
fn assert_no_token_leaks(o: &Oidc, texts: &[&str]) {
    for text in texts {
        assert!(!text.contains(&o.secret), "client secret leaked:\n{text}");
        for name in ["access_token", "refresh_token", "id_token", "code_verifier", "assertion", "client_secret"] {
            for quoted in [format!("\"{name}\":\""), format!("\"{name}\": \"")] {
                for (i, _) in text.match_indices(&quoted) {
                    let rest = &text[i + quoted.len()..];
                    assert!(rest.starts_with("****"), "{name} in clear: …{}", &rest[..rest.len().min(40)]);
                }
            }
            for (i, _) in text.match_indices(&format!("{name}=")) {
                let rest = &text[i + name.len() + 1..];
                assert!(
                    rest.starts_with("****") || rest.starts_with('&') || rest.is_empty(),
                    "{name}= in clear: {rest:.40}"
                );
            }
        }
        for (i, _) in text.match_indices("code=") {
            let rest = &text[i + 5..];
            assert!(rest.starts_with("****") || rest.starts_with("&"), "code in clear: {rest:.40}");
        }
    }
}

#[test]
fn authorization_code_with_basic_client_auth() {
    let o = oidc();
    let client = o.alias("conf-basic");
    let name = unique("oauth-basic");
    let t = o
        .conntest("approve")
        .connector(&name, &code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\""));
    let har = t.path().join("run.har");
    // Keep the builder alive: it owns the temp dir the HAR is written to.
    let t =
        t.args(["--no-cache", "--format", "json", "-v", "test", "auth", &name, "--har"]).args([har.to_str().unwrap()]);
    let out = t.run();
    assert_ok(&out);
    let r = &out.json()["results"][0];
    assert_eq!(r["steps"][0]["type"], "oauth2");
    let outputs = &r["steps"][0]["outputs"];
    assert_eq!(outputs["access_token"], "****");
    assert_eq!(outputs["refresh_token"], "****");
    assert_eq!(outputs["token_type"], "Bearer");
    assert!(outputs["expires_at"].as_u64().unwrap() > 1_700_000_000);
    let stats = o.stats(&client);
    assert_eq!(stats["token_requests"], 1, "{stats}");
    assert_eq!(stats["auth_methods"]["client_secret_basic"], 1, "{stats}");
    assert_eq!(stats["api_calls"], 1, "{stats}");
    // The authorize URL is printed to stderr: state may show, the secret may not.
    assert!(out.stderr.contains("/auth?response_type=code"), "{out:?}");
    let har = std::fs::read_to_string(har).unwrap();
    assert_no_token_leaks(&o, &[&out.stdout, &out.stderr, &har]);
}

#[test]
fn authorization_code_with_client_secret_in_the_body() {
    let o = oidc();
    let client = o.alias("conf-post");
    let name = unique("oauth-post");
    let extra = "    client_secret: \"{{ vars.client_secret }}\"\n    client_auth: body";
    let out = o
        .conntest("approve")
        .connector(&name, &code_connector(&name, "oauth2", &client, extra))
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_ok(&out);
    assert_eq!(o.stats(&client)["auth_methods"]["client_secret_post"], 1);
    assert_no_token_leaks(&o, &[&out.stdout, &out.stderr]);
}

#[test]
fn pkce_s256_and_plain_with_a_public_client() {
    let o = oidc();
    for method in ["S256", "plain"] {
        let client = o.alias("public-pkce");
        let name = unique("oauth-pkce");
        let extra = format!("    code_challenge_method: {method}");
        let out = o
            .conntest("approve")
            .connector(&name, &code_connector(&name, "oauth2_pkce", &client, &extra))
            .args(["--no-cache", "--format", "json", "test", "auth", &name])
            .run();
        assert_ok(&out);
        let stats = o.stats(&client);
        assert_eq!(stats["pkce_methods"][method], 1, "{stats}");
        assert_eq!(stats["auth_methods"]["none"], 1, "{stats}");
        assert_eq!(out.json()["results"][0]["steps"][0]["type"], "oauth2_pkce");
    }
}

#[test]
fn consent_denied_fails_with_the_providers_error() {
    let o = oidc();
    let client = o.alias("conf-basic");
    let name = unique("oauth-deny");
    let out = o
        .conntest("deny")
        .connector(&name, &code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\""))
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("access_denied"), "{out:?}");
    assert!(out.all().contains("denied the request"), "{out:?}");
    assert_eq!(o.stats(&client)["token_requests"], 0);
}

#[test]
fn a_forged_or_missing_state_is_rejected_and_no_token_is_requested() {
    let o = oidc();
    for mode in ["tamper-state", "drop-state"] {
        let client = o.alias("conf-basic");
        let name = unique("oauth-state");
        let out = o
            .conntest(mode)
            .connector(
                &name,
                &code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\""),
            )
            .args(["--no-cache", "test", "auth", &name])
            .run();
        assert_eq!(out.code, 1, "{mode}: {out:?}");
        assert!(out.all().contains("state"), "{out:?}");
        assert_eq!(o.stats(&client)["token_requests"], 0, "{mode}");
        assert_eq!(o.stats(&client)["authorize_requests"], 1, "{mode}");
    }
}

#[test]
fn a_browser_that_never_comes_back_times_out() {
    let o = oidc();
    let name = unique("oauth-timeout");
    let yaml = code_connector(&name, "oauth2", "conf-basic", "    client_secret: x")
        .replace("timeout_secs: 20", "timeout_secs: 2");
    let started = Instant::now();
    let out = o.conntest("never").connector(&name, &yaml).args(["--no-cache", "test", "auth", &name]).run();
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("no browser callback"), "{out:?}");
    assert!(took < Duration::from_secs(3) + Duration::from_millis(900), "took {took:?}");
}

#[test]
fn no_browser_in_ci_needs_a_person_exit_3() {
    let o = oidc();
    let name = unique("oauth-nobrowser");
    let started = Instant::now();
    let out = o
        .conntest("approve")
        .connector(&name, &code_connector(&name, "oauth2", "conf-basic", "    client_secret: x"))
        .args(["--no-cache", "test", "auth", &name, "--no-browser"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("/auth?response_type=code"), "the URL is still printed: {out:?}");
    assert!(out.all().contains("--no-browser"), "{out:?}");
    let step = "step `login`: it needs a person to sign in in a browser";
    assert_eq!(out.all().matches("step `login`").count(), 1, "the step is named once: {out:?}");
    assert!(out.all().contains(step), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_busy_redirect_port_is_exit_4_naming_the_port() {
    let o = oidc();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let name = unique("oauth-port");
    let extra = format!("    client_secret: x\n    redirect_port: {port}");
    let out = o
        .conntest("approve")
        .connector(&name, &code_connector(&name, "oauth2", "conf-basic", &extra))
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.all().contains(&port.to_string()), "{out:?}");
}

#[test]
fn client_credentials_basic_and_body() {
    let o = oidc();
    for auth in ["basic", "body"] {
        let client = o.alias("cc-client");
        let name = unique("oauth-cc");
        let yaml = format!(
            r#"
variables: {{issuer: "http://127.0.0.1:1", client_secret: ""}}
auth_flow:
  - id: cc
    type: oauth2_client_credentials
    token_url: "{{{{ vars.issuer }}}}/token"
    client_id: {client}
    client_secret: "{{{{ vars.client_secret }}}}"
    client_auth: {auth}
    scope: api
request_parameters:
  - {{name: Authorization, in: header, value: "{{{{ cc.token_type }}}} {{{{ cc.access_token }}}}"}}
test_api: {{name: me, request: {{url: "{{{{ vars.issuer }}}}/api/me"}}, expect: {{json: [{{path: "$.sub", equals: "{client}"}}]}}}}
"#
        );
        let out = o.conntest("never").connector(&name, &yaml).args(["--no-cache", "-v", "test", "auth", &name]).run();
        assert_ok(&out);
        let stats = o.stats(&client);
        let method = if auth == "basic" { "client_secret_basic" } else { "client_secret_post" };
        assert_eq!(stats["auth_methods"][method], 1, "{stats}");
        assert_eq!(stats["grants"]["client_credentials"], 1, "{stats}");
        assert_no_token_leaks(&o, &[&out.stdout, &out.stderr]);
    }
}

#[test]
fn jwt_bearer_with_every_algorithm() {
    let o = oidc();
    let pem = |f: &str| std::fs::read_to_string(format!("{}/{f}", o.keys)).unwrap();
    let indent = |s: String| s.lines().map(|l| format!("      {l}")).collect::<Vec<_>>().join("\n");
    let keys = [
        ("HS256", "\"{{ vars.client_secret }}\"".to_string()),
        ("HS384", "\"{{ vars.client_secret }}\"".to_string()),
        ("HS512", "\"{{ vars.client_secret }}\"".to_string()),
        ("RS256", format!("|\n{}", indent(pem("rsa.pem")))),
        ("RS384", format!("|\n{}", indent(pem("rsa.pem")))),
        ("RS512", format!("|\n{}", indent(pem("rsa.pem")))),
        ("ES256", format!("|\n{}", indent(pem("ec256.pem")))),
        ("ES384", format!("|\n{}", indent(pem("ec384.pem")))),
        ("EdDSA", format!("|\n{}", indent(pem("ed25519.pem")))),
    ];
    for (alg, key) in keys {
        let client = o.alias("jwt-client");
        let name = unique("oauth-jwt");
        let yaml = format!(
            r#"
variables: {{issuer: "http://127.0.0.1:1", client_secret: ""}}
auth_flow:
  - id: grant
    type: jwt_bearer
    algorithm: {alg}
    key: {key}
    claims: {{iss: {client}, sub: "svc-{alg}", aud: "{{{{ vars.issuer }}}}/token"}}
    headers: {{kid: test-key}}
    token_url: "{{{{ vars.issuer }}}}/token"
    client_id: {client}
    scope: api
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ grant.access_token }}}}"}}
test_api: {{name: me, request: {{url: "{{{{ vars.issuer }}}}/api/me"}}, expect: {{json: [{{path: "$.sub", equals: "svc-{alg}"}}]}}}}
"#
        );
        let out = o
            .conntest("never")
            .connector(&name, &yaml)
            .args(["--no-cache", "-v", "--format", "json", "test", "auth", &name])
            .run();
        assert_ok(&out);
        assert_eq!(out.json()["results"][0]["steps"][0]["outputs"]["jwt"], "****", "{alg}");
        assert_eq!(o.stats(&client)["grants"]["urn:ietf:params:oauth:grant-type:jwt-bearer"], 1, "{alg}");
        assert!(!out.all().contains("BEGIN PRIVATE KEY") || !out.all().contains("MII"), "{alg}: key leaked");
        assert_no_token_leaks(&o, &[&out.stdout, &out.stderr]);
    }
}

#[test]
fn jwt_bearer_without_token_url_outputs_the_signed_jwt() {
    let name = unique("jwt-only");
    let yaml = r#"
auth_flow:
  - id: sign
    type: jwt_bearer
    algorithm: HS256
    key: a-shared-secret-value
    claims: {sub: me, exp: 2000000000}
    exp_secs: 60
"#;
    let out = Conntest::new()
        .connector(&name, yaml)
        .args(["--no-cache", "--reveal", "--format", "json", "test", "auth", &name])
        .run();
    assert_ok(&out);
    let jwt = out.json()["results"][0]["steps"][0]["outputs"]["jwt"].as_str().unwrap().to_string();
    let claims = payload(&jwt);
    assert_eq!(claims["sub"], "me");
    assert_eq!(claims["exp"], 2_000_000_000, "a given exp is kept");
    assert!(claims["iat"].as_u64().unwrap() > 1_700_000_000);
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
}

#[test]
fn refresh_after_a_401_and_ahead_of_a_known_expiry() {
    require_keyring();
    let o = oidc();
    // 401 → refresh → retry: a long-lived token revoked behind conntest's back.
    let client = o.alias("conf-basic");
    let name = unique("oauth-refresh");
    let t = o
        .conntest("approve")
        .connector(&name, &code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\""));
    assert_ok(&t.args(["test", "auth", &name]).run());
    curl(&["-X", "POST", &format!("{}/__revoke?client_id={client}", o.url)]);
    let t = o
        .conntest("never")
        .connector(&name, &code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\""));
    let out = t.args(["--format", "json", "test", "api", &name]).run();
    assert_ok(&out);
    let r = &out.json()["results"][0];
    assert_eq!(r["refreshed"], true);
    assert!(r.get("refresh_reason").is_none(), "refreshed after the 401, not ahead of it: {r}");
    let stats = o.stats(&client);
    // The revoked token's 401 counts under `_unknown`; the retry under the client.
    assert_eq!(stats["api_calls"], 2, "{stats}");
    assert_eq!(stats["grants"]["refresh_token"], 1, "{stats}");
    // The rotated refresh token was cached: a second refresh works too.
    curl(&["-X", "POST", &format!("{}/__revoke?client_id={client}", o.url)]);
    let t = o
        .conntest("never")
        .connector(&name, &code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\""));
    assert_ok(&t.args(["test", "api", &name]).run());
    assert_eq!(o.stats(&client)["grants"]["refresh_token"], 2);

    // Expiry known in advance: short-ttl tokens are always < 30 s from expiry.
    let client = o.alias("short-ttl");
    let name = unique("oauth-expiry");
    let t = o
        .conntest("approve")
        .connector(&name, &code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\""));
    assert_ok(&t.args(["test", "auth", &name]).run());
    let before = o.stats(&client);
    let t = o
        .conntest("never")
        .connector(&name, &code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\""));
    let out = t.args(["test", "api", &name]).run();
    assert_ok(&out);
    assert!(out.stdout.contains("refreshed before calling"), "{out:?}");
    let after = o.stats(&client);
    assert_eq!(after["api_calls"].as_u64().unwrap() - before["api_calls"].as_u64().unwrap(), 1, "one test API call");
    assert_eq!(after["api_unauthorized"], before["api_unauthorized"], "no 401 was spent");
    let out = o
        .conntest("never")
        .connector(&name, &code_connector(&name, "oauth2", &client, ""))
        .args(["--format", "json", "test", "api", &name])
        .run();
    assert_eq!(out.json()["results"][0]["refreshed"], true, "{out:?}");
    if keyring_ready() {
        let _ = o.conntest("never").args(["cache", "clear", &name]).run();
    }
}

#[test]
fn callback_captures_decoded_and_raw_parameters() {
    let o = oidc();
    for (decode, code, foo) in [("true", "a b/c", "x y"), ("false", "a%20b%2Fc", "x%20y")] {
        let name = unique("callback");
        let yaml = format!(
            r#"
variables: {{issuer: "http://127.0.0.1:1"}}
auth_flow:
  - id: cb
    type: callback
    authorize_url: "{{{{ vars.issuer }}}}/cb-test?redirect_uri={{{{ redirect_uri | urlencode }}}}&code=a%20b%2Fc&foo=x%20y"
    redirect_path: /landing
    decode_params: {decode}
    timeout_secs: 20
"#
        );
        let out = o
            .conntest("direct")
            .connector(&name, &yaml)
            .args(["--no-cache", "--reveal", "--format", "json", "test", "auth", &name])
            .run();
        assert_ok(&out);
        let outputs = &out.json()["results"][0]["steps"][0]["outputs"];
        assert_eq!(outputs["code"], code, "decode_params {decode}");
        assert_eq!(outputs["foo"], foo, "decode_params {decode}");
        // Without --reveal the code is masked everywhere.
        let out = o
            .conntest("direct")
            .connector(&name, &yaml)
            .args(["--no-cache", "--format", "json", "test", "auth", &name])
            .run();
        assert_eq!(out.json()["results"][0]["steps"][0]["outputs"]["code"], "****");
    }
}

#[test]
fn sso_token_from_file_and_env_jwt_and_opaque() {
    let name = unique("sso");
    let yaml = "auth_flow:\n  - {id: sso, type: sso_token}\n";
    // A JWT whose payload is {"sub":"alice","exp":2000000000}.
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMH0.c2lnbmF0dXJl";
    let t = Conntest::new().connector(&name, yaml).file("token.txt", &format!("{jwt}\n"));
    let file = t.path().join("token.txt");
    let out = t
        .args(["--no-cache", "--format", "json", "test", "auth", &name, "--sso-token-file"])
        .args([file.to_str().unwrap()])
        .run();
    assert_ok(&out);
    let outputs = &out.json()["results"][0]["steps"][0]["outputs"];
    assert_eq!(outputs["token"], "****");
    assert_eq!(outputs["claims"]["sub"], "alice");
    assert!(!out.all().contains(jwt));

    let out = Conntest::new()
        .connector(&name, yaml)
        .env("CONNTEST_SSO_TOKEN", "opaque-sso-canary-42")
        .args(["--no-cache", "--format", "json", "test", "auth", &name])
        .run();
    assert_ok(&out);
    assert!(out.json()["results"][0]["steps"][0]["outputs"].get("claims").is_none());
    assert!(!out.all().contains("opaque-sso-canary-42"));

    let out = Conntest::new().connector(&name, yaml).args(["--no-cache", "test", "auth", &name]).run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.all().contains("--sso-token-file") && out.all().contains("CONNTEST_SSO_TOKEN"), "{out:?}");
}

#[test]
fn validate_knows_the_new_step_types() {
    let yaml = r#"
auth_flow:
  - {id: a, type: oauth2_pkce, authorize_url: "http://x/a", token_url: "http://x/t", client_id: c, code_challenge_method: S512}
  - {id: b, type: jwt_bearer, algorithm: RS265, key: k}
  - {id: c, type: jwt_bearer, algorithm: RS256, key: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"}
  - {id: d, type: jwt_bearer, algorithm: HS256, key: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"}
  - {id: e, type: oauth2_client_credentials, token_url: "http://x/t", client_id: c}
  - {id: f, type: callback, authorize_url: "http://x/?r={{ redirect_uri }}", redirect_prot: 1}
  - {id: g, type: oauth2, authorize_url: "http://x/a", token_url: "http://x/t", client_id: c, code_challenge_method: S256}
  - {id: h, type: sso_token}
  - {id: i, type: sso_token}
"#;
    let out = Conntest::new().connector("v", yaml).args(["validate"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    let text = out.stdout;
    for needle in [
        "code_challenge_method",
        "RS256",
        "RS256 needs an RSA private key",
        "signs with a shared secret",
        "missing required key `client_secret`",
        "redirect_port",
        "belongs to `oauth2_pkce`",
        "more than one `sso_token`",
    ] {
        assert!(text.contains(needle), "{needle} missing in:\n{text}");
    }
}

/// Issue 19: `issuer` discovery fills `authorize_url` and `token_url` from the
/// peer's `.well-known/openid-configuration`; with `openid` in the scope a
/// fresh `nonce` is sent, and the real provider's id_token carries it back
/// (`id_token_claims`, decoded).
#[test]
fn issuer_discovery_and_a_nonce_the_provider_returns() {
    let o = oidc();
    let client = o.alias("conf-basic");
    let name = unique("oauth-discovery");
    let yaml = code_connector(&name, "oauth2", &client, "    client_secret: \"{{ vars.client_secret }}\"").replace(
        "    authorize_url: \"{{ vars.issuer }}/auth\"\n    token_url: \"{{ vars.issuer }}/token\"\n",
        "    issuer: \"{{ vars.issuer }}\"\n",
    );
    assert!(yaml.contains("issuer: \"{{ vars.issuer }}\"") && !yaml.contains("/auth\""), "{yaml}");
    // `id_token_claims` is secret by its name: --reveal to read the nonce back.
    let out = o
        .conntest("approve")
        .connector(&name, &yaml)
        .args(["--no-cache", "--reveal", "--format", "json", "test", "auth", &name])
        .run();
    assert_ok(&out);
    let sent = out.stderr.split("nonce=").nth(1).and_then(|r| r.split(['&', '\n']).next()).expect("a nonce in the URL");
    let claims = &out.json()["results"][0]["steps"][0]["outputs"]["id_token_claims"];
    assert_eq!(claims["nonce"], sent, "{out:?}");
    assert_eq!(claims["aud"], client.as_str(), "{out:?}");
    assert_eq!(o.stats(&client)["token_requests"], 1);
}

/// Issue 19: the device flow against the real provider (its `deviceFlow`
/// feature): endpoints by discovery, the scripted browser opens
/// `verification_uri_complete`, confirms the user code, signs in and consents
/// while conntest polls — in CI mode, asking nothing.
#[test]
fn device_flow_with_discovery_against_the_provider() {
    let o = oidc();
    let client = o.alias("device-client");
    let name = unique("oauth-device");
    let yaml = format!(
        r#"
name: {name}
variables: {{issuer: "http://127.0.0.1:1"}}
auth_flow:
  - id: dev
    type: oauth2_device
    issuer: "{{{{ vars.issuer }}}}"
    client_id: {client}
    scope: openid api
    timeout_secs: 60
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ dev.access_token }}}}"}}
test_api:
  request: {{url: "{{{{ vars.issuer }}}}/api/me"}}
  expect: {{json: [{{path: "$.client_id", equals: "{client}"}}]}}
"#
    );
    let out = o.conntest("approve").connector(&name, &yaml).args(["--no-cache", "test", "auth", &name]).run();
    assert_ok(&out);
    assert!(out.stderr.contains("and enter the code "), "{out:?}");
    let stats = o.stats(&client);
    assert!(stats["grants"]["urn:ietf:params:oauth:grant-type:device_code"].as_u64() >= Some(1), "{stats}");
    // The user code is meant to be read and typed: it is printed as is.
    let stderr = out.stderr.replace("user_code=", "user_code:");
    assert_no_token_leaks(&o, &[&out.stdout, &stderr]);
}
