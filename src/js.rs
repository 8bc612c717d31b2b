//! The embedded JavaScript engine of `js` steps — the only rquickjs user.
//!
//! Each run gets a fresh runtime and context with the standard built-ins only
//! (no file, network, process, module or timer access), a memory limit, and
//! an interrupt deadline that also stops catastrophic regular expressions.

use std::time::{Duration, Instant};

use rquickjs::{CatchResultExt, CaughtError, Context, Function, Runtime, Value as JsValue};
use serde_json::{Map, Value};

/// The file name code runs under; error positions are read back from it.
const FILE: &str = "conntest-js-step";
/// Native stack the engine may use (deep recursion is an error, not a crash).
const MAX_STACK: usize = 512 * 1024;

/// Why a js step failed, with the line in the step's `code` (1-based) when known.
#[derive(Debug, Clone, PartialEq)]
pub struct JsError {
    pub message: String,
    pub line: Option<usize>,
}

/// Limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub memory_bytes: usize,
}

/// `code` as a function of `params`: code line k is line k + 1 of the source.
fn wrap(code: &str) -> String {
    format!("(function (params) {{\n{code}\n}})")
}

fn engine(limits: Limits) -> Result<(Runtime, Context), JsError> {
    let fail = |e: rquickjs::Error| JsError { message: format!("cannot start the JavaScript engine: {e}"), line: None };
    let rt = Runtime::new().map_err(fail)?;
    rt.set_memory_limit(limits.memory_bytes);
    rt.set_max_stack_size(MAX_STACK);
    let deadline = Instant::now() + limits.timeout;
    rt.set_interrupt_handler(Some(Box::new(move || Instant::now() >= deadline)));
    let ctx = Context::full(&rt).map_err(fail)?;
    Ok((rt, ctx))
}

/// Compiles `code` without running any of it: syntax errors and their line.
/// One engine per thread serves every check (nothing runs, so nothing is
/// shared between connectors); a run always gets a fresh one.
pub fn check(code: &str) -> Result<(), JsError> {
    thread_local! {
        static CHECKER: std::cell::OnceCell<Option<(Runtime, Context)>> = const { std::cell::OnceCell::new() };
    }
    // The checker engine has neither a deadline nor a memory limit (nothing
    // runs), so no message of `explain` ever names these.
    let limits = Limits { timeout: Duration::MAX, memory_bytes: usize::MAX };
    CHECKER.with(|cell| match cell.get_or_init(|| checker_engine().ok()) {
        Some((_rt, ctx)) => compile(ctx, code, limits),
        None => {
            let (_rt, ctx) = checker_engine()?;
            compile(&ctx, code, limits)
        }
    })
}

/// An engine that only compiles: the parser and the regular-expression
/// compiler (literals are compiled while parsing) are all it needs.
fn checker_engine() -> Result<(Runtime, Context), JsError> {
    let fail = |e: rquickjs::Error| JsError { message: format!("cannot start the JavaScript engine: {e}"), line: None };
    let rt = Runtime::new().map_err(fail)?;
    rt.set_max_stack_size(MAX_STACK);
    let ctx =
        Context::custom::<(rquickjs::context::intrinsic::Eval, rquickjs::context::intrinsic::RegExpCompiler)>(&rt)
            .map_err(fail)?;
    Ok((rt, ctx))
}

fn compile(ctx: &Context, code: &str, limits: Limits) -> Result<(), JsError> {
    ctx.with(|ctx| {
        let opts = eval_options();
        ctx.eval_with_options::<Function, _>(wrap(code), opts)
            .catch(&ctx)
            .map(|_| ())
            .map_err(|e| explain(e, code, limits))
    })
}

fn eval_options() -> rquickjs::context::EvalOptions {
    let mut opts = rquickjs::context::EvalOptions::default();
    opts.global = true;
    opts.strict = false;
    opts.filename = Some(FILE.to_string());
    opts
}

/// Runs `code` with `params` in scope; the returned object's keys are the outputs.
pub fn run(code: &str, params: &Value, limits: Limits) -> Result<Map<String, Value>, JsError> {
    let (_rt, ctx) = engine(limits)?;
    ctx.with(|ctx| {
        let f = ctx
            .eval_with_options::<Function, _>(wrap(code), eval_options())
            .catch(&ctx)
            .map_err(|e| explain(e, code, limits))?;
        let p = ctx.json_parse(params.to_string()).catch(&ctx).map_err(|e| explain(e, code, limits))?;
        let out: JsValue = f.call((p,)).catch(&ctx).map_err(|e| explain(e, code, limits))?;
        let is_plain_object = out.is_object() && !out.is_array() && !out.is_function() && !out.is_promise();
        if !is_plain_object {
            let kind = if out.is_null() {
                "null"
            } else if out.is_undefined() {
                "nothing (add `return {…}`)"
            } else if out.is_array() {
                "an array"
            } else if out.is_promise() {
                "a Promise (there is no async I/O here)"
            } else {
                out.type_name()
            };
            return Err(JsError {
                message: format!("the code must return an object of outputs, it returned {kind}"),
                line: None,
            });
        }
        let json = ctx
            .json_stringify(out)
            .catch(&ctx)
            .map_err(|e| explain(e, code, limits))?
            .map(|s| s.to_string())
            .transpose()
            .map_err(|e| JsError { message: format!("the returned object is not JSON: {e}"), line: None })?
            .unwrap_or_default();
        match serde_json::from_str(&json) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(JsError { message: "the returned object is not JSON".into(), line: None }),
        }
    })
}

/// A caught error in words, with the code line it points at (an error at the
/// wrapper's closing `}` — an unclosed brace, say — points at the last line).
fn explain(e: CaughtError<'_>, code: &str, limits: Limits) -> JsError {
    match e {
        CaughtError::Exception(ex) => {
            let message = ex.message().unwrap_or_default();
            let stack = ex.stack().unwrap_or_default();
            let last = code.lines().count().max(1);
            let line = code_line(&stack).or_else(|| code_line(&message)).map(|l| l.min(last));
            let name = ex.get::<_, String>("name").unwrap_or_else(|_| "Error".into());
            let message = if message.contains("interrupted") {
                format!(
                    "stopped after {} ms (the time limit; an endless loop or a runaway regular expression?)",
                    limits.timeout.as_millis()
                )
            } else if message.contains("out of memory") {
                format!("memory limit exceeded ({} MiB)", limits.memory_bytes >> 20)
            } else {
                format!("{name}: {message}")
            };
            JsError { message, line }
        }
        CaughtError::Value(v) if v.is_null() || v.is_undefined() => {
            // An allocation failure can surface as a bare null.
            JsError { message: format!("memory limit exceeded ({} MiB)", limits.memory_bytes >> 20), line: None }
        }
        CaughtError::Value(v) => {
            let text = v.as_string().and_then(|s| s.to_string().ok()).unwrap_or_else(|| v.type_name().to_string());
            JsError { message: format!("uncaught: {text}"), line: None }
        }
        CaughtError::Error(rquickjs::Error::Allocation) => {
            JsError { message: format!("memory limit exceeded ({} MiB)", limits.memory_bytes >> 20), line: None }
        }
        CaughtError::Error(e) => JsError { message: e.to_string(), line: None },
    }
}

/// The code line of the first `FILE:LINE` position in an engine message.
fn code_line(text: &str) -> Option<usize> {
    let at = text.find(&format!("{FILE}:"))? + FILE.len() + 1;
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    let line: usize = digits.parse().ok()?;
    // Line 1 is the wrapper's `(function (params) {`.
    line.checked_sub(1).filter(|l| *l >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> Limits {
        Limits { timeout: Duration::from_millis(500), memory_bytes: 32 << 20 }
    }

    #[test]
    fn returns_outputs_with_builtins() {
        let code = "const d = new Date(Date.UTC(2020, 0, 2));\nreturn {b: btoa(params.s), back: atob(btoa(params.s)), y: d.getUTCFullYear(), m: /(\\d+)/.exec('ab12')[1], j: JSON.parse('{\"k\":1}').k};";
        let out = run(code, &json!({"s": "hi"}), limits()).unwrap();
        assert_eq!(Value::Object(out), json!({"b": "aGk=", "back": "hi", "y": 2020, "m": "12", "j": 1}));
    }

    #[test]
    fn syntax_and_runtime_errors_name_the_code_line() {
        let err = check("let a = 1;\nlet b = ;\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err:?}");
        assert!(err.message.starts_with("SyntaxError"), "{err:?}");
        let err = run("let a = 1;\n\nnope();\nreturn {};", &json!({}), limits()).unwrap_err();
        assert_eq!(err.line, Some(3), "{err:?}");
        assert!(err.message.contains("nope"), "{err:?}");
    }

    #[test]
    fn sandbox_has_no_io_and_stops_runaways() {
        for name in ["require", "fetch", "XMLHttpRequest", "process", "Deno", "setTimeout", "std", "os"] {
            let out = run(&format!("return {{t: typeof {name}}};"), &json!({}), limits()).unwrap();
            assert_eq!(out["t"], "undefined", "{name}");
        }
        let err = run("while (true) {}", &json!({}), limits()).unwrap_err();
        assert!(err.message.contains("time limit"), "{err:?}");
        let err = run("return {m: /^(a+)+$/.test('a'.repeat(40) + 'b')};", &json!({}), limits()).unwrap_err();
        assert!(err.message.contains("time limit"), "{err:?}");
        let err = run("let a = []; while (true) { a.push('x'.repeat(1 << 20)); }", &json!({}), limits()).unwrap_err();
        assert!(err.message.contains("memory limit exceeded"), "{err:?}");
        let err = run("return [1];", &json!({}), limits()).unwrap_err();
        assert!(err.message.contains("an array"), "{err:?}");
    }

    /// CRATES.md: an allocation failure can surface as a bare `null` (or
    /// `undefined`) exception, reported as the memory limit; any other thrown
    /// value is shown as itself (issue 23: cargo-mutants on line 159).
    #[test]
    fn a_bare_null_throw_is_the_memory_limit_and_other_values_are_named() {
        let memory = JsError { message: "memory limit exceeded (32 MiB)".into(), line: None };
        for code in ["throw null;", "throw undefined;"] {
            assert_eq!(run(code, &json!({}), limits()), Err(memory.clone()), "{code}");
        }
        let small = Limits { memory_bytes: 16 << 20, ..limits() };
        assert_eq!(
            run("throw null;", &json!({}), small).map_err(|e| e.message),
            Err("memory limit exceeded (16 MiB)".into())
        );
        for (code, want) in
            [("throw 'boom';", "uncaught: boom"), ("throw 42;", "uncaught: int"), ("throw false;", "uncaught: bool")]
        {
            assert_eq!(run(code, &json!({}), limits()).map_err(|e| e.message), Err(want.to_string()), "{code}");
        }
    }

    /// Deep recursion is an error in words, not a crash of the process (the
    /// native stack limit); a value that is no object is named.
    #[test]
    fn deep_recursion_is_an_error_and_a_number_is_no_object() {
        let err = run("function f(n) { return f(n + 1) + 1; }\nreturn {n: f(0)};", &json!({}), limits()).unwrap_err();
        assert!(err.message.starts_with("RangeError"), "{err:?}");
        let err = run("return 42;", &json!({}), limits()).unwrap_err();
        assert_eq!(err.message, "the code must return an object of outputs, it returned int");
    }

    /// The engine's own cost per js step (issue 8: ≤ 1 ms): a fresh engine, the
    /// bench's small transform, and the check `validate` makes. Run by
    /// `bench/run.sh` as `cargo test --release -- --ignored js_engine_cost`.
    #[test]
    #[ignore = "a benchmark: bench/run.sh runs it in release mode"]
    fn js_engine_cost() {
        let code = "const p = params.token.split('.');\nreturn {user: JSON.parse(atob(p[1])).sub.toUpperCase(), at: new Date(0).toISOString(), n: /(\\d+)/.exec(p[0])[1]};";
        let token = format!(
            "h123.{}.s",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "{\"sub\":\"ann\"}")
        );
        let params = json!({ "token": token });
        let limits = Limits { timeout: Duration::from_secs(1), memory_bytes: 32 << 20 };
        assert_eq!(run(code, &params, limits).unwrap()["user"], "ANN");
        let n = 2000;
        let time = |f: &dyn Fn()| {
            let started = Instant::now();
            for _ in 0..n {
                f();
            }
            started.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
        };
        let run_ms = time(&|| drop(run(code, &params, limits)));
        let check_ms = time(&|| drop(check(code)));
        // The first check of a process also starts the checker's engine.
        let cold_ms = time(&|| drop(checker_engine().map(|(_rt, ctx)| compile(&ctx, code, limits))));
        println!(
            "js engine cost: run {run_ms:.3} ms, validate check {check_ms:.3} ms (first of a process {cold_ms:.3} ms), one js step in one process {:.3} ms",
            run_ms + cold_ms
        );
    }
}
