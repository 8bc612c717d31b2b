//! OAuth 1.0a against a real verifier (oauthlib behind Flask) and NTLM against
//! a real acceptor (pyspnego): the `oauth1` and `ntlm` steps and `sign_in`.

use serde_json::Value;

use crate::harness::{Conntest, Output, unique};

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run the suite with `bash tests/run.sh`"))
}

fn ok(out: &Output) -> Value {
    assert_eq!(out.code, 0, "{out:?}");
    out.json()
}

/// A three-legged connector whose test API is signed with the access token.
fn three_legged(name: &str, method: &str) -> String {
    format!(
        r#"
name: {name}
variables: {{url: "http://127.0.0.1:1", consumer_secret: ""}}
auth_flow:
  - id: o1
    type: oauth1
    consumer_key: ck-test
    consumer_secret: "{{{{ vars.consumer_secret }}}}"
    signature_method: {method}
    realm: photos
    request_token_url: "{{{{ vars.url }}}}/oauth/request_token"
    authorize_url: "{{{{ vars.url }}}}/oauth/authorize"
    access_token_url: "{{{{ vars.url }}}}/oauth/access_token"
    timeout_secs: 20
sign_in:
  type: oauth1
  consumer_key: "{{{{ o1.consumer_key }}}}"
  consumer_secret: "{{{{ o1.consumer_secret }}}}"
  token: "{{{{ o1.oauth_token }}}}"
  token_secret: "{{{{ o1.oauth_token_secret }}}}"
  signature_method: {method}
test_api:
  name: me
  request: {{url: "{{{{ vars.url }}}}/api/me", query: {{"filter[name]": "a b", q: "ü ~x"}}}}
  expect:
    json:
      - {{path: "$.screen_name", equals: alice}}
      - {{path: "$.signature_method", equals: {method}}}
      - {{path: "$.params['filter[name]']", equals: "a b"}}
"#
    )
}

fn oauth1_conntest(mode: &str) -> Conntest {
    Conntest::new()
        .env("BROWSER", &env("CONNTEST_OAUTH1_BROWSER"))
        .env("BROWSER_MODE", mode)
        .env("CONNTEST_VAR_url", &env("CONNTEST_OAUTH1_URL"))
        .env("CONNTEST_VAR_consumer_secret", &env("CONNTEST_OAUTH1_CONSUMER_SECRET"))
}

#[test]
fn oauth1_three_legged_with_every_signature_method() {
    for method in ["HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT"] {
        let name = unique("oauth1");
        let out = oauth1_conntest("approve")
            .connector(&name, &three_legged(&name, method))
            .args(["--no-cache", "-v", "--format", "json", "test", "auth", &name])
            .run();
        let json = ok(&out);
        let outputs = &json["results"][0]["steps"][0]["outputs"];
        assert_eq!(outputs["oauth_token_secret"], "****", "{method}");
        assert_eq!(outputs["screen_name"], "alice", "{method}");
        let secret = env("CONNTEST_OAUTH1_CONSUMER_SECRET");
        assert!(!out.all().contains(&secret), "{method}: consumer secret leaked");
        assert!(out.stderr.contains("Authorization: OAuth ****"), "{method}: the scheme stays visible\n{}", out.stderr);
        assert!(!out.stderr.contains("oauth_signature="), "{method}: signature in clear");
    }
}

#[test]
fn oauth1_denied_or_a_wrong_consumer_secret_fails() {
    let name = unique("oauth1-deny");
    let out = oauth1_conntest("deny")
        .connector(&name, &three_legged(&name, "HMAC-SHA1"))
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("user_refused"), "{out:?}");

    let name = unique("oauth1-wrong");
    let out = oauth1_conntest("approve")
        .connector(&name, &three_legged(&name, "HMAC-SHA1"))
        .env("CONNTEST_VAR_consumer_secret", "not-the-secret")
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("401"), "{out:?}");
}

#[test]
fn sign_in_oauth1_signs_awkward_queries_and_form_posts_with_a_given_token() {
    let name = unique("oauth1-given");
    let yaml = r#"
variables: {url: "http://127.0.0.1:1", cs: "", token: "", ts: ""}
auth_flow:
  - {id: o1, type: oauth1, consumer_key: ck-test, consumer_secret: "{{ vars.cs }}", token: "{{ vars.token }}", token_secret: "{{ vars.ts }}", signature_method: HMAC-SHA256}
sign_in:
  type: oauth1
  consumer_key: ck-test
  consumer_secret: "{{ vars.cs }}"
  token: "{{ o1.oauth_token }}"
  token_secret: "{{ o1.oauth_token_secret }}"
  signature_method: HMAC-SHA256
  realm: "Example Realm"
test_api:
  name: echo
  request:
    method: POST
    url: "{{ vars.url }}/api/echo?a=1&a=0&sp=x%20y&plus=1%2B1"
    form: {"filter[name]": "a b", u: "ü", empty: ""}
  expect:
    json:
      - {path: "$.params.a", equals: ["1", "0"]}
      - {path: "$.params.sp", equals: "x y"}
      - {path: "$.params.plus", equals: "1+1"}
      - {path: "$.params['filter[name]']", equals: "a b"}
      - {path: "$.params.u", equals: "ü"}
      - {path: "$.realm", equals: "Example Realm"}
"#;
    let t = Conntest::new()
        .env("CONNTEST_VAR_url", &env("CONNTEST_OAUTH1_URL"))
        .env("CONNTEST_VAR_cs", &env("CONNTEST_OAUTH1_CONSUMER_SECRET"))
        .env("CONNTEST_VAR_token", &env("CONNTEST_OAUTH1_TOKEN"))
        .env("CONNTEST_VAR_ts", &env("CONNTEST_OAUTH1_TOKEN_SECRET"))
        .connector(&name, yaml);
    // Twice in a row: a fresh nonce each time (the peer refuses replays).
    for _ in 0..2 {
        let out = t.command().args(["--no-cache", "-v", "test", "auth", &name]).output().expect("run").into();
        let out: Output = out;
        assert_eq!(out.code, 0, "{out:?}");
        assert!(!out.all().contains(&env("CONNTEST_OAUTH1_TOKEN_SECRET")), "token secret leaked");
    }
}

fn ntlm_connector(name: &str, sign_in: bool) -> String {
    let step = "  - {id: win, type: ntlm, url: \"{{ vars.url }}/api/me\", username: \"{{ vars.user }}\", password: \"{{ vars.pw }}\", domain: \"{{ vars.domain }}\", workstation: BUILD01}\n";
    let sign = "sign_in: {type: ntlm, username: \"{{ vars.user }}\", password: \"{{ vars.pw }}\", domain: \"{{ vars.domain }}\"}\ntest_api: {name: me, request: {url: \"{{ vars.url }}/api/me\"}, expect: {json: [{path: \"$.user\", exists: true}]}}\n";
    format!(
        "name: {name}\nvariables: {{url: \"http://127.0.0.1:1\", user: \"\", pw: \"\", domain: \"\"}}\nauth_flow:\n{step}{}",
        if sign_in { sign } else { "" }
    )
}

fn ntlm_conntest() -> Conntest {
    Conntest::new()
        .env("CONNTEST_VAR_url", &env("CONNTEST_NTLM_URL"))
        .env("CONNTEST_VAR_user", &env("CONNTEST_NTLM_USER"))
        .env("CONNTEST_VAR_pw", &env("CONNTEST_NTLM_PASSWORD"))
        .env("CONNTEST_VAR_domain", &env("CONNTEST_NTLM_DOMAIN"))
}

#[test]
fn ntlm_step_and_sign_in_twenty_times_in_a_row() {
    let name = unique("ntlm");
    let t = ntlm_conntest().connector(&name, &ntlm_connector(&name, true));
    let want = format!("{}\\{}", env("CONNTEST_NTLM_DOMAIN"), env("CONNTEST_NTLM_USER"));
    for i in 0..20 {
        let out: Output = t
            .command()
            .args(["--no-cache", "-v", "--format", "json", "test", "auth", &name])
            .output()
            .expect("run")
            .into();
        let json = ok(&out);
        assert_eq!(json["results"][0]["steps"][0]["outputs"]["body"]["user"], want.as_str(), "run {i}");
        assert!(!out.all().contains(&env("CONNTEST_NTLM_PASSWORD")), "password leaked");
        assert!(out.stderr.contains("Authorization: NTLM ****"), "scheme kept, message masked:\n{}", out.stderr);
        assert!(!out.stderr.contains("TlRMTVNT"), "an NTLM message in clear:\n{}", out.stderr);
    }
}

#[test]
fn ntlm_wrong_password_is_exit_1_with_the_status() {
    let name = unique("ntlm-bad");
    let started = std::time::Instant::now();
    let out = ntlm_conntest()
        .env("CONNTEST_VAR_pw", "wrong-password")
        .connector(&name, &ntlm_connector(&name, false))
        .args(["--no-cache", "test", "auth", &name])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("401") && out.all().contains("credentials rejected"), "{out:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "never a hang");
}
