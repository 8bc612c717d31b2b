//! Issue 20: CI and teams — `--auth-first` in memory, `test lifecycle`, scoped
//! inputs and variables, environments, the exit-code order, and the JSON
//! document a CI job reads (summary, file, hint, diagnostics, errors).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::harness::{Conntest, Output};
use crate::server::{Resp, Server};

/// Login gives `at-1`/`rt-1`; each refresh spends its refresh token and
/// rotates both (`at-N`/`rt-N`); `/me` accepts only the newest access token.
fn rotating_server() -> Server {
    let state = Arc::new(Mutex::new((1u32, String::from("rt-1"))));
    Server::start(move |req| {
        let mut s = state.lock().expect("lock");
        match req.path_only() {
            "/login" => {
                *s = (1, "rt-1".into());
                Resp::json(200, json!({"data": {"access_token": "at-1", "refresh_token": "rt-1"}}))
            }
            "/refresh" if req.body == format!("refresh_token={}", s.1) => {
                s.0 += 1;
                s.1 = format!("rt-{}", s.0);
                Resp::json(200, json!({"access_token": format!("at-{}", s.0), "refresh_token": s.1}))
            }
            "/refresh" => Resp::json(400, json!({"error": "invalid_grant"})),
            "/me" if req.header("authorization") == Some(&format!("Bearer at-{}", s.0)) => {
                Resp::json(200, json!({"ok": true}))
            }
            _ => Resp::json(401, json!({"error": "invalid_token"})),
        }
    })
}

/// A connector for [`rotating_server`]; `keep_rt` decides whether
/// `update_variables` stores the rotated refresh token.
fn rotating(url: &str, name: &str, keep_rt: bool) -> String {
    let rt = if keep_rt { "\n    login.body.data.refresh_token: \"{{ renew.body.refresh_token }}\"" } else { "" };
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
    login.body.data.access_token: "{{{{ renew.body.access_token }}}}"{rt}
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.data.access_token }}}}"}}
test_api: {{request: {{url: /me}}}}
"#
    )
}

fn ids(r: &Value) -> Vec<String> {
    r["steps"].as_array().expect("steps").iter().filter_map(|s| s["id"].as_str().map(String::from)).collect()
}

/// `doc` is valid against `conntest schema --results` (Python's jsonschema, Draft 2020-12).
pub fn assert_valid_results(doc: &Value) {
    use std::io::Write as _;
    let schema = Conntest::new().args(["schema", "--results"]).run();
    assert_eq!(schema.code, 0, "{schema:?}");
    let dir = tempfile::tempdir().expect("test fixture");
    std::fs::write(dir.path().join("schema.json"), &schema.stdout).expect("test fixture");
    let check = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(schema)\n\
        errors = [e.message + ' at ' + e.json_path for e in jsonschema.Draft202012Validator(schema).iter_errors(json.load(sys.stdin))]\n\
        print('\\n'.join(errors)); sys.exit(1 if errors else 0)\n";
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", check, dir.path().join("schema.json").to_str().expect("test fixture")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with jsonschema (tests/peers/setup.sh installs python3-jsonschema)");
    child.stdin.take().expect("test fixture").write_all(doc.to_string().as_bytes()).expect("test fixture");
    let out = child.wait_with_output().expect("test fixture");
    assert!(
        out.status.success(),
        "not valid against the results schema:\n{}\n{doc:#}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Every result document carries a summary whose exit code is the process's,
/// and is valid against the published schema.
fn assert_summary(out: &Output) -> Value {
    let doc = out.json();
    assert_valid_results(&doc);
    assert_eq!(doc["summary"]["exit_code"], out.code, "{out:?}");
    let results = doc["results"].as_array().expect("results");
    let passed = results.iter().filter(|r| r["ok"] == true).count();
    assert_eq!(doc["summary"]["passed"], passed, "{doc}");
    assert_eq!(doc["summary"]["failed"], results.len() - passed, "{doc}");
    for r in results {
        assert!(r.get("file").is_some_and(Value::is_string), "{r}");
        assert!(r.get("hint").is_some(), "{r}");
        assert!(r.get("env").is_some(), "{r}");
    }
    doc
}

#[test]
fn auth_first_keeps_the_outputs_in_memory_without_a_keyring() {
    let server = rotating_server();
    for (flow, extra) in [("refresh", vec!["--no-cache"]), ("api", vec!["--no-cache"])] {
        let out = Conntest::new()
            .connector("rot", &rotating(&server.url, "rot", true))
            .args(["--format", "json"])
            .args(&extra)
            .args(["test", flow, "rot", "--auth-first"])
            .run();
        assert_eq!(out.code, 0, "{flow}: {out:?}");
        let doc = assert_summary(&out);
        assert_eq!(doc["results"][0]["flow"], flow);
        if flow == "refresh" {
            assert_eq!(ids(&doc["results"][0]), ["login", "renew"]);
        }
    }
    // Without --auth-first there is nothing to read: exit 4, and the hint names the flag.
    let out = Conntest::new()
        .connector("rot", &rotating(&server.url, "rot", true))
        .args(["--no-cache", "test", "refresh", "rot"])
        .run();
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.all().contains("pass --auth-first"), "{out:?}");
    // A runner whose keyring cannot be reached: the same, with a warning.
    let before = server.count("/refresh");
    let out = Conntest::new()
        .connector("rot", &rotating(&server.url, "rot", true))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["test", "refresh", "rot", "--auth-first"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.count("/refresh"), before + 1);
    assert!(out.stderr.contains("in memory"), "{out:?}");
}

#[test]
fn lifecycle_runs_auth_then_refresh_with_one_result_per_phase() {
    let server = rotating_server();
    let out = Conntest::new()
        .connector("rot", &rotating(&server.url, "rot", true))
        .args(["--no-cache", "--format", "json", "test", "lifecycle", "rot"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let doc = assert_summary(&out);
    let flows: Vec<&str> = doc["results"]
        .as_array()
        .expect("test fixture")
        .iter()
        .map(|r| r["flow"].as_str().expect("test fixture"))
        .collect();
    assert_eq!(flows, ["auth", "refresh"]);
    assert_eq!(ids(&doc["results"][1]), ["renew"]);
    assert_eq!(server.count("/login"), 1);
    assert_eq!(server.count("/refresh"), 1);
    assert_eq!(server.count("/me"), 2, "the test API before and after the refresh");
    // Without a keyring it caches nothing and says so, but the run passes.
    let out = Conntest::new()
        .connector("rot", &rotating(&server.url, "rot", true))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["test", "lifecycle", "rot"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("nothing was cached"), "{out:?}");
}

#[test]
fn lifecycle_fails_when_update_variables_forgets_the_rotated_refresh_token() {
    let server = rotating_server();
    let out = Conntest::new()
        .connector("rot", &rotating(&server.url, "rot", false))
        .args(["--no-cache", "--format", "json", "test", "lifecycle", "rot"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    let doc = assert_summary(&out);
    let r = &doc["results"][1];
    assert_eq!(r["flow"], "refresh");
    assert!(r["error"].as_str().expect("test fixture").contains("`renew.body.refresh_token`"), "{r}");
    assert!(r["hint"].as_str().expect("test fixture").contains("login.body.data.refresh_token"), "{r}");
    // The text output says it too.
    let out = Conntest::new()
        .connector("rot", &rotating(&server.url, "rot", false))
        .args(["--no-cache", "test", "lifecycle", "rot"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("update_variables"), "{out:?}");
}

/// A Form login that sends user and password to `url`; `/me` answers 200.
fn form_connector(url: &str, name: &str) -> String {
    format!(
        r#"
name: {name}
variables: {{region: file}}
base_url: {url}
auth_flow:
  - id: login
    type: form
    fields: [{{key: user, type: text}}, {{key: password, type: password}}]
  - id: session
    type: api_request
    request:
      method: POST
      url: /login
      form: {{user: "{{{{ login.user }}}}", password: "{{{{ login.password }}}}", region: "{{{{ vars.region }}}}"}}
test_api: {{request: {{url: /me}}}}
"#
    )
}

fn ok_server() -> Server {
    Server::start(|_| Resp::json(200, json!({"ok": true})))
}

fn seen(server: &Server) -> String {
    server.requests().iter().map(|r| format!("{} {} {}\n", r.path, r.body, r.headers.len())).collect()
}

#[test]
fn an_unscoped_password_for_two_connectors_is_refused_before_any_request() {
    let (a, b) = (ok_server(), ok_server());
    let t = || {
        Conntest::new()
            .connector("alpha", &form_connector(&a.url, "alpha"))
            .connector("beta", &form_connector(&b.url, "beta"))
    };
    let out = t()
        .env("PW", "canary-pw-7731")
        .args(["test", "auth", "alpha", "beta", "--input", "login.user=u", "--input-env", "login.password=PW"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("alpha") && out.stderr.contains("beta"), "{out:?}");
    assert!(out.stderr.contains("alpha:login.password"), "the scoped spelling: {out:?}");
    assert!(!out.all().contains("canary-pw-7731"), "{out:?}");
    assert_eq!(a.requests().len() + b.requests().len(), 0, "nothing was sent");
    // Also when a third selected file is invalid (the other checks wait for it to be fixed).
    let out = t()
        .connector("broken", "name: broken\nauth_flow:\n  - {id: x, type: nope}\n")
        .env("PW", "canary-pw-7731")
        .args([
            "test",
            "auth",
            "alpha",
            "beta",
            "broken",
            "--input",
            "login.user=u",
            "--input-env",
            "login.password=PW",
        ])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("alpha:login.password"), "{out:?}");
    assert_eq!(a.requests().len() + b.requests().len(), 0, "nothing was sent");

    // Scoped: each password reaches its own connector only; a scoped user beats the unscoped one.
    let out = t()
        .env("PW_A", "canary-alpha-5521")
        .env("PW_B", "canary-beta-9912")
        .args([
            "--format",
            "json",
            "test",
            "auth",
            "alpha",
            "beta",
            "--input",
            "login.user=u",
            "--input",
            "beta:login.user=ub",
        ])
        .args(["--input-env", "alpha:login.password=PW_A", "--input-env", "beta:login.password=PW_B"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_summary(&out);
    let (sa, sb) = (seen(&a), seen(&b));
    assert!(sa.contains("canary-alpha-5521") && sa.contains("user=u&"), "{sa}");
    assert!(sb.contains("canary-beta-9912") && sb.contains("user=ub&"), "{sb}");
    assert!(!sb.contains("canary-alpha-5521"), "alpha's password reached beta's server: {sb}");
    assert!(!sa.contains("canary-beta-9912"), "beta's password reached alpha's server: {sa}");
    assert!(!out.all().contains("canary-"), "{out:?}");

    // The same from an --inputs file keyed by connector.
    let before_b = seen(&b);
    let t2 = t().file(
        "inputs.yaml",
        "login: {user: u}\nalpha: {login: {password: canary-file-alpha-1}}\nbeta: {login: {password: canary-file-beta-2}}\n",
    );
    let out = t2.args(["test", "auth", "alpha", "beta", "--inputs", "inputs.yaml"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let sb = seen(&b);
    assert!(sb[before_b.len()..].contains("canary-file-beta-2") && !sb.contains("canary-file-alpha-1"), "{sb}");

    // A scope that names no connector is a usage error with a did-you-mean.
    let out = t().args(["test", "auth", "alpha", "beta", "--input", "alpah:login.user=u"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("did you mean `alpha`"), "{out:?}");
    // A team's shared inputs file: a block for a connector of the dir that is not selected
    // is not for this run; its password never reaches the selected connector's server.
    let before_a = seen(&a);
    let shared = t().file(
        "team.yaml",
        "login: {user: u}\nalpha: {login: {password: canary-team-alpha-3}}\nbeta: {login: {password: canary-team-beta-4}}\n",
    );
    let out = shared.args(["test", "auth", "alpha", "--inputs", "team.yaml"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let sa = seen(&a);
    assert!(sa[before_a.len()..].contains("canary-team-alpha-3") && !sa.contains("canary-team-beta-4"), "{sa}");
}

#[test]
fn scoped_variables_and_environments_in_their_order() {
    let (a, b) = (ok_server(), ok_server());
    let t = || {
        let t = Conntest::new()
            .connector("alpha", &form_connector(&a.url, "alpha"))
            .connector("beta", &form_connector(&b.url, "beta"));
        let envs = t.path().join("connectors/environments");
        std::fs::create_dir_all(&envs).expect("test fixture");
        std::fs::write(
            envs.join("staging.yaml"),
            "variables: {region: env-all}\nconnectors: {beta: {variables: {region: env-beta}}}\n",
        )
        .expect("test fixture");
        std::fs::write(envs.join("prod.yml"), "variables: {region: prod}\n").expect("test fixture");
        t.env("A_PW", "pw-a-long")
            .env("B_PW", "pw-b-long")
            .args(["--format", "json", "test", "auth", "alpha", "beta", "--input", "login.user=u"])
            .args(["--input-env", "alpha:login.password=A_PW", "--input-env", "beta:login.password=B_PW"])
    };
    let region = |s: &Server| {
        let r = s.requests();
        let body = &r.iter().rev().find(|r| r.path == "/login").expect("a login").body;
        body.split("region=").nth(1).unwrap_or_default().to_string()
    };
    let out = t().args(["--env", "staging"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let doc = assert_summary(&out);
    assert_eq!(doc["results"][0]["env"], "staging");
    assert_eq!((region(&a), region(&b)), ("env-all".into(), "env-beta".into()));
    // CONNTEST_VAR_* beats the environment; --var beats that; a scoped --var beats an unscoped one.
    let out = t().args(["--env", "staging"]).env("CONNTEST_VAR_region", "from-env-var").run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!((region(&a), region(&b)), ("from-env-var".into(), "from-env-var".into()));
    let out = t()
        .args(["--env", "prod", "--var", "region=flag", "--var", "beta:region=flag-beta"])
        .env("CONNTEST_VAR_region", "x")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!((region(&a), region(&b)), ("flag".into(), "flag-beta".into()));
    // --vars FILE has the same shape.
    let t3 = t().file("vars.yaml", "connectors: {alpha: {variables: {region: vars-alpha}}}\n");
    let out = t3.args(["--vars", "vars.yaml"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!((region(&a), region(&b)), ("vars-alpha".into(), "file".into()));
    assert_eq!(out.json()["results"][0]["env"], Value::Null);
    // A misspelt environment: exit 2, listing those there are, in one JSON document.
    let out = t().args(["--env", "stagin"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("did you mean `staging`") && out.stderr.contains("prod, staging"), "{out:?}");
    let doc = out.json();
    assert_eq!(doc["results"], json!([]));
    assert_eq!(doc["summary"]["exit_code"], 2);
    assert_valid_results(&doc);
    assert!(doc["error"]["hint"].as_str().expect("test fixture").contains("prod, staging"), "{doc}");
    // Files under environments/ are not connectors.
    let v = Conntest::new().connector("alpha", &form_connector(&a.url, "alpha"));
    std::fs::create_dir_all(v.path().join("connectors/environments")).expect("test fixture");
    std::fs::write(v.path().join("connectors/environments/ci.yaml"), "variables: {region: ci}\n")
        .expect("test fixture");
    let out = v.args(["--format", "json", "validate"]).run();
    assert_eq!(out.json()["results"].as_array().map(Vec::len), Some(1), "{out:?}");
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_broken_connector_and_a_server_down_exit_1_not_5() {
    let broken = Server::start(|_| Resp::json(500, json!({"error": "boom"})));
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("test fixture");
        format!("http://{}", l.local_addr().expect("test fixture"))
    };
    let c = |url: &str, name: &str| {
        format!(
            "name: {name}\nbase_url: {url}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\ntest_api: {{request: {{url: /me}}}}\n"
        )
    };
    let out = Conntest::new()
        .connector("broken", &c(&broken.url, "broken"))
        .connector("down", &c(&closed, "down"))
        .args(["--no-cache", "--format", "json", "test", "auth", "down", "broken"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    let doc = assert_summary(&out);
    let codes: Vec<u64> = doc["results"]
        .as_array()
        .expect("test fixture")
        .iter()
        .map(|r| r["exit_code"].as_u64().expect("test fixture"))
        .collect();
    assert_eq!(codes, [5, 1]);
    // Only transport failures: 5.
    let out = Conntest::new().connector("down", &c(&closed, "down")).args(["--no-cache", "test", "auth", "down"]).run();
    assert_eq!(out.code, 5, "{out:?}");
}

#[test]
fn json_mode_always_prints_one_document() {
    let server = ok_server();
    // An invalid file's result carries validate's diagnostics.
    let out = Conntest::new()
        .connector("good", &form_connector(&server.url, "good"))
        .connector("bad", "name: bad\nauth_flow:\n  - {id: x, type: nope}\n")
        .env("PW", "pw-long-1")
        .args([
            "--format",
            "json",
            "test",
            "auth",
            "good",
            "bad",
            "--input",
            "login.user=u",
            "--input-env",
            "login.password=PW",
        ])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    let doc = assert_summary(&out);
    let bad =
        doc["results"].as_array().expect("test fixture").iter().find(|r| r["connector"] == "bad").expect("bad").clone();
    let d = &bad["diagnostics"][0];
    assert!(d["line"].is_number() && d["message"].is_string(), "{bad}");
    // Missing inputs: exit 3 and the list, before any request.
    let out = Conntest::new()
        .connector("good", &form_connector(&server.url, "good"))
        .args(["--format", "json", "test", "auth", "good"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    let doc = out.json();
    assert_eq!(doc["summary"]["exit_code"], 3);
    assert_valid_results(&doc);
    assert!(doc["error"]["message"].is_string() && doc["error"]["hint"].is_string(), "{doc}");
    assert_eq!(
        doc["missing_inputs"],
        json!([{"connector": "good", "step": "login", "field": "user"}, {"connector": "good", "step": "login", "field": "password"}])
    );
    assert!(server.requests().len() <= 2, "only the first run's requests");
    // A usage error after parsing.
    let out = Conntest::new()
        .connector("good", &form_connector(&server.url, "good"))
        .args(["--format", "json", "test", "auth", "good", "--var", "nope=1"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.json()["error"]["message"].as_str().map(|m| m.contains("nope")), Some(true), "{out:?}");
}

#[test]
fn har_pages_junit_lines_and_workflow_commands() {
    let server = rotating_server();
    let broken = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": "tok-canary-4411"})),
        _ => Resp::json(500, json!({"error": "down for\nmaintenance"})),
    });
    let bad = format!(
        "name: broken\nbase_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        broken.url
    );
    let t = Conntest::new()
        .connector("rot", &rotating(&server.url, "rot", true))
        .connector("broken", &bad)
        .connector("invalid", "name: invalid\nauth_flow:\n  - {id: x, type: nope}\n")
        .env("GITHUB_ACTIONS", "true");
    let (har, junit) = (t.path().join("out/run.har"), t.path().join("out/junit.xml"));
    // Kept alive: its temporary dir holds the report files.
    let t = t.args(["--no-cache", "test", "lifecycle", "rot", "broken", "invalid", "--har"]).args([
        har.to_str().expect("test fixture"),
        "--junit",
        junit.to_str().expect("test fixture"),
    ]);
    let out = t.run();
    assert_eq!(out.code, 2, "{out:?}");
    // HAR: one page per connector and flow; every entry names its page and step.
    let har: Value = serde_json::from_str(&std::fs::read_to_string(&har).expect("test fixture")).expect("test fixture");
    let pages: Vec<&str> = har["log"]["pages"]
        .as_array()
        .expect("test fixture")
        .iter()
        .map(|p| p["id"].as_str().expect("test fixture"))
        .collect();
    let mut sorted = pages.clone();
    sorted.sort();
    assert_eq!(sorted, ["broken/auth", "rot/auth", "rot/refresh"], "{har}");
    let entries = har["log"]["entries"].as_array().expect("test fixture");
    let tagged: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["pageref"].as_str().expect("test fixture").to_string(),
                e["comment"].as_str().expect("test fixture").to_string(),
            )
        })
        .collect();
    for want in [
        ("rot/auth", "step login"),
        ("rot/auth", "step test_api"),
        ("rot/refresh", "step renew"),
        ("rot/refresh", "step test_api"),
    ] {
        assert!(tagged.iter().any(|(p, c)| p == want.0 && c == want.1), "{want:?} in {tagged:?}");
    }
    // JUnit: the message is the error's first line; system-out holds the step lines, masked.
    let xml = std::fs::read_to_string(&junit).expect("test fixture");
    let case = &xml[xml.find("name=\"broken auth\"").expect("broken's testcase")..];
    let case = &case[..case.find("</testcase>").expect("test fixture")];
    let message = case.split("message=\"").nth(1).expect("test fixture").split('"').next().expect("test fixture");
    assert!(message.starts_with("test API") && message.contains("→ 500") && !message.contains("hint:"), "{message}");
    assert!(case.contains("<system-out>") && case.contains("login api_request POST"), "{case}");
    assert!(!xml.contains("tok-canary-4411"), "{xml}");
    assert!(xml.contains("name=\"rot refresh\""), "{xml}");
    // Workflow commands for the invalid file (at its line) and the failed connector.
    assert!(out.stderr.contains("::error file=connectors/invalid.yaml,line=3,col="), "{out:?}");
    // In text mode on stdout; with --format json on stderr, so stdout stays one JSON document.
    let broken_line = |text: &str| {
        text.lines()
            .any(|l| l.starts_with("::error file=connectors/broken.yaml,line=") && l.contains("::broken auth: "))
    };
    assert!(broken_line(&out.stdout), "{out:?}");
    assert!(!out.all().contains("tok-canary-4411"), "{out:?}");
    let out = Conntest::new()
        .connector("broken", &bad)
        .env("GITHUB_ACTIONS", "true")
        .args(["--no-cache", "--format", "json", "test", "auth", "broken"])
        .run();
    assert_eq!(out.json()["summary"]["exit_code"], 1, "{out:?}");
    assert!(broken_line(&out.stderr), "{out:?}");
    // Not under another CI.
    let out = Conntest::new()
        .connector("invalid", "name: invalid\nauth_flow:\n  - {id: x, type: nope}\n")
        .args(["validate"])
        .run();
    assert!(!out.all().contains("::error"), "{out:?}");
}

/// An authorization-code connector against the real oidc-provider (which
/// rotates refresh tokens); `keep_rt` decides whether `update_variables`
/// stores the rotated one.
fn oidc_lifecycle(name: &str, client_id: &str, keep_rt: bool) -> String {
    let rt = if keep_rt { "\n    login.refresh_token: \"{{ renew.body.refresh_token }}\"" } else { "" };
    format!(
        r#"
name: {name}
variables: {{issuer: "http://127.0.0.1:1", client_secret: ""}}
auth_flow:
  - id: login
    type: oauth2
    authorize_url: "{{{{ vars.issuer }}}}/auth"
    token_url: "{{{{ vars.issuer }}}}/token"
    client_id: {client_id}
    client_secret: "{{{{ vars.client_secret }}}}"
    scope: openid offline_access api
    timeout_secs: 20
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
    login.access_token: "{{{{ renew.body.access_token }}}}"{rt}
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.access_token }}}}"}}
test_api:
  name: me
  request: {{url: "{{{{ vars.issuer }}}}/api/me"}}
"#
    )
}

#[test]
fn lifecycle_against_oidc_provider_with_rotating_refresh_tokens() {
    let get =
        |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run the suite with `bash tests/run.sh`"));
    let url = get("CONNTEST_OIDC_URL");
    let run = |keep_rt: bool| {
        let client = format!("conf-basic.{}", crate::harness::unique("life").replace('-', "_"));
        let out = Conntest::new()
            .env("BROWSER", &get("CONNTEST_BROWSER"))
            .env("BROWSER_MODE", "approve")
            .env("BROWSER_USER", &get("CONNTEST_OIDC_USER"))
            .env("BROWSER_PASSWORD", &get("CONNTEST_OIDC_PASSWORD"))
            .env("CONNTEST_VAR_issuer", &url)
            .env("CONNTEST_VAR_client_secret", &get("CONNTEST_OIDC_CLIENT_SECRET"))
            .connector("life", &oidc_lifecycle("life", &client, keep_rt))
            .args(["--no-cache", "--format", "json", "test", "lifecycle", "life"])
            .run();
        let stats: Value = serde_json::from_slice(
            &std::process::Command::new("curl")
                .args(["-fsS", "--max-time", "10", &format!("{url}/__stats?client_id={client}")])
                .output()
                .expect("curl")
                .stdout,
        )
        .expect("stats JSON");
        (out, stats)
    };
    let (out, stats) = run(true);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = assert_summary(&out);
    assert_eq!(doc["results"][1]["flow"], "refresh");
    assert_eq!(stats["grants"]["refresh_token"], 1, "{stats}");
    assert_eq!(stats["api_calls"], 2, "the test API before and after the refresh: {stats}");
    assert!(!out.all().contains(&get("CONNTEST_OIDC_PASSWORD")), "{out:?}");

    let (out, _) = run(false);
    assert_eq!(out.code, 1, "{out:?}");
    let doc = assert_summary(&out);
    let r = &doc["results"][1];
    assert!(r["error"].as_str().expect("error").contains("renew.body.refresh_token"), "{r}");
    assert!(r["hint"].as_str().expect("hint").contains("login.refresh_token"), "{r}");
}

#[test]
fn init_shows_an_environment_that_env_reads() {
    let t = Conntest::new();
    let run = |args: &[&str]| -> Output {
        let mut cmd = t.command();
        cmd.args(args);
        cmd.output().expect("run").into()
    };
    assert_eq!(run(&["init", "acme"]).code, 0);
    let env = std::fs::read_to_string(t.path().join("connectors/environments/local.yaml")).expect("written");
    assert!(env.contains("connectors:\n  acme:\n    variables:\n      base_url:"), "{env}");
    // Not a connector; and `--env local` reads it (the run fails on the network, not on usage).
    let out = run(&["--format", "json", "validate"]);
    assert_eq!(out.json()["results"].as_array().map(Vec::len), Some(1), "{out:?}");
    let out =
        run(&["--format", "json", "test", "auth", "acme", "--env", "local", "--input", "login_form.email=a@b.test"]);
    assert_eq!(out.code, 3, "only the password is missing: {out:?}");
    let out =
        run(&["--format", "json", "test", "auth", "acme", "--env", "nope", "--input", "login_form.email=a@b.test"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.json()["error"]["hint"].as_str().is_some_and(|h| h.contains("local")), "{out:?}");
}

#[test]
fn a_test_api_redirect_names_its_location_and_the_flag() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": "t-long-1"})),
        _ => Resp::text(302, "").header("Location", "/sign-in?next=/me"),
    });
    let c = format!(
        "name: redir\nbase_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let out =
        Conntest::new().connector("redir", &c).args(["--no-cache", "--format", "json", "test", "auth", "redir"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    let r = &assert_summary(&out)["results"][0];
    assert!(r["error"].as_str().expect("error").contains("redirect to /sign-in?next=/me"), "{r}");
    assert!(r["hint"].as_str().expect("hint").contains("follow_redirects: true"), "{r}");
    assert_eq!(server.count("/sign-in"), 0, "not followed");
}

#[test]
fn the_html_report_opens_in_a_headless_browser_and_holds_no_secret() {
    let server = rotating_server();
    let broken = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": "tok-canary-html-8812"})),
        _ => Resp::json(500, json!({"error": "<script>alert(1)</script>"})),
    });
    let bad = format!(
        "name: broken\nbase_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        broken.url
    );
    let t = Conntest::new().connector("rot", &rotating(&server.url, "rot", true)).connector("broken", &bad);
    let html = t.path().join("reports/run.html");
    let t = t.args(["--no-cache", "test", "lifecycle", "rot", "broken", "--html", html.to_str().expect("utf-8")]);
    let out = t.run();
    assert_eq!(out.code, 1, "{out:?}");
    let text = std::fs::read_to_string(&html).expect("the report");
    assert!(!text.contains("tok-canary-html-8812") && !text.contains("at-1\"") && !text.contains("rt-1\""), "{text}");
    assert!(!text.contains(" src=") && !text.contains(" href=") && !text.contains("@import"), "no resource to load");
    assert!(!text.contains("<script>alert"), "server text is escaped");
    // A real browser: it loads, runs its script, and shows every connector and flow.
    let profile = tempfile::tempdir().expect("profile dir");
    let browser = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium (tests/peers/setup.sh installs it)");
    let dom = String::from_utf8_lossy(&browser.stdout);
    let log = String::from_utf8_lossy(&browser.stderr);
    assert!(browser.status.success(), "{log}");
    assert!(dom.contains("data-ready=\"1\""), "the inline script ran:\n{dom}\n{log}");
    assert!(!log.contains("Uncaught") && !log.contains("Refused to"), "console errors:\n{log}");
    for id in ["rot/auth", "rot/refresh", "broken/auth"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "section {id}:\n{dom}");
    }
    assert!(dom.contains("<details><summary>renew · POST") && dom.contains("test_api · GET"), "exchanges:\n{dom}");
    assert!(dom.contains("PASS") && dom.contains("FAIL"), "{dom}");
    assert!(!dom.contains("tok-canary-html-8812"), "{dom}");
}

#[test]
fn lifecycle_caches_the_rotated_tokens_at_the_end() {
    if !crate::harness::keyring_ready() {
        return;
    }
    let server = rotating_server();
    let name = crate::harness::unique("life-cache");
    let t = || Conntest::new().connector(&name, &rotating(&server.url, &name, true));
    let out = t().args(["test", "lifecycle", &name]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("cached in the OS keyring"), "{out:?}");
    // The server now accepts only rt-2: a refresh from the cache works only if the rotated token was cached.
    let out = t().args(["--format", "json", "test", "refresh", &name]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.count("/login"), 1, "no second sign-in");
    let _ = t().args(["cache", "clear", &name]).run();
}
