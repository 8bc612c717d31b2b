//! `js` steps: transforms feeding later steps, the sandbox (no I/O globals),
//! time and memory limits, errors at the connector file's line, refresh flows.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Conntest, unique};
use crate::server::{Resp, Server};

#[test]
fn a_transform_feeds_later_steps_with_json_regexp_date_and_base64() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"token": "tok-123", "expires": "2030-01-02T03:04:05Z", "scopes": "a b c"})),
        "/me" if req.header("authorization") == Some("Custom dG9rLTEyMw==;3") => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    });
    let name = unique("js-transform");
    let yaml = format!(
        r#"
base_url: {url}
auth_flow:
  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}
  - id: shape
    type: js
    params:
      token: "{{{{ login.body.token }}}}"
      body: "{{{{ login.body | tojson }}}}"
    code: |
      const body = JSON.parse(params.body);
      const year = new Date(body.expires).getUTCFullYear();
      const n = body.scopes.split(/\s+/).length;
      if (!/^tok-\d+$/.test(params.token)) throw new Error("unexpected token shape");
      return {{header: "Custom " + btoa(params.token) + ";" + n, year: year, back: atob(btoa("ok"))}};
request_parameters:
  - {{name: Authorization, in: header, value: "{{{{ shape.header }}}}"}}
test_api: {{request: {{url: /me}}}}
"#,
        url = server.url
    );
    let out =
        Conntest::new().connector(&name, &yaml).args(["--no-cache", "--format", "json", "test", "auth", &name]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let outputs = &out.json()["results"][0]["steps"][1]["outputs"];
    assert_eq!(outputs["year"], 2030);
    assert_eq!(outputs["back"], "ok");
    assert_eq!(out.json()["results"][0]["steps"][1]["type"], "js");
}

fn run_code(code: &str, extra: &str) -> (crate::harness::Output, Duration) {
    let name = unique("js-code");
    let indented: String = code.lines().map(|l| format!("      {l}\n")).collect();
    let yaml = format!("auth_flow:\n  - id: j\n    type: js\n{extra}    code: |\n{indented}");
    let t = Conntest::new().connector(&name, &yaml).args(["--no-cache", "test", "auth", &name]);
    let started = Instant::now();
    let out = t.run();
    (out, started.elapsed())
}

#[test]
fn endless_loops_and_runaway_regexes_stop_at_the_time_limit() {
    for code in ["while (true) {}", "return {m: /^(a+)+$/.test('a'.repeat(60) + 'b')};"] {
        let (out, took) = run_code(code, "    timeout_ms: 300\n");
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.all().contains("stopped after 300 ms"), "{out:?}");
        // Process start-up included; the engine itself stops at 300 ms.
        assert!(took < Duration::from_millis(300 + 500 + 400), "{code}: took {took:?}");
    }
}

#[test]
fn a_memory_bomb_is_stopped() {
    let (out, _) = run_code("const a = []; for (;;) a.push('x'.repeat(1 << 20));", "    memory_mb: 16\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("memory limit exceeded"), "{out:?}");
}

#[test]
fn no_file_network_process_module_or_timer_globals() {
    let names = ["require", "fetch", "XMLHttpRequest", "process", "Deno", "setTimeout", "setInterval", "std", "os"];
    let code =
        format!("return {{{}}};", names.iter().map(|n| format!("{n}: typeof {n}")).collect::<Vec<_>>().join(", "));
    let name = unique("js-sandbox");
    let yaml = format!("auth_flow:\n  - id: j\n    type: js\n    code: \"{code}\"\n");
    let out =
        Conntest::new().connector(&name, &yaml).args(["--no-cache", "--format", "json", "test", "auth", &name]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let outputs = &out.json()["results"][0]["steps"][0]["outputs"];
    for n in names {
        assert_eq!(outputs[n], "undefined", "{n} is reachable");
    }
    // Dynamic import has no loader: the step fails, nothing is read.
    let (out, _) = run_code("return import('/etc/passwd');", "");
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn syntax_and_runtime_errors_point_at_the_connector_line() {
    // `code: |` is on line 5, so the code's line 3 is the file's line 8.
    let yaml = "name: jsline\nauth_flow:\n  - id: j\n    type: js\n    code: |\n      const a = 1;\n      const b = 2;\n      const c = ;\n      return {a};\n";
    let out = Conntest::new().connector("jsline", yaml).args(["validate"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("jsline.yaml:8:1: JavaScript: SyntaxError"), "{out:?}");

    // Found by fuzzing: code left open at the end of the block (and of the
    // file) was reported past the file's last line, at the wrapper's `}`.
    for (yaml, at) in [
        ("name: jsopen\nauth_flow:\n  - id: j\n    type: js\n    code: |\n      // sign\n      return {a: 1, b: x", 7),
        ("name: jsopen\nauth_flow:\n  - id: j\n    type: js\n    code: |\n      return {a: 1,\n        b: x\n", 7),
    ] {
        let out = Conntest::new().connector("jsopen", yaml).args(["validate"]).run();
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stdout.contains(&format!("jsopen.yaml:{at}:1: JavaScript: SyntaxError")), "{out:?}");
    }

    let yaml = "name: jsrun\nauth_flow:\n  - id: j\n    type: js\n    code: |\n      const a = 1;\n\n      missing_function(a);\n      return {a};\n";
    let out = Conntest::new().connector("jsrun", yaml).args(["--no-cache", "test", "auth", "jsrun"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("ReferenceError"), "{out:?}");
    assert!(out.all().contains("jsrun.yaml:8)"), "{out:?}");
    let (out, _) = run_code("return 42;", "");
    assert!(out.all().contains("must return an object"), "{out:?}");
}

#[test]
fn a_js_step_runs_in_the_refresh_flow() {
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"token": "expired"})),
        "/refresh" => Resp::json(200, json!({"token": "fresh"})),
        "/me" if req.header("authorization") == Some("Bearer FRESH") => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    });
    let name = unique("js-refresh");
    let yaml = format!(
        r#"
base_url: {url}
auth_flow:
  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}
refresh_flow:
  steps:
    - {{id: renew, type: api_request, request: {{method: POST, url: /refresh}}}}
    - id: upper
      type: js
      params: {{t: "{{{{ renew.body.token }}}}"}}
      code: "return {{token: params.t.toUpperCase()}};"
  update_variables:
    login.body.token: "{{{{ upper.token }}}}"
request_parameters:
  - {{name: Authorization, in: header, value: "Bearer {{{{ login.body.token }}}}"}}
test_api: {{request: {{url: /me}}}}
"#,
        url = server.url
    );
    let out =
        Conntest::new().connector(&name, &yaml).args(["--no-cache", "--format", "json", "test", "auth", &name]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["results"][0]["refreshed"], true);
    assert_eq!(server.count("/me"), 2);
}
