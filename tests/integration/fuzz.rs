//! Fuzzing (tests only): a seeded, structure-aware mutator that feeds hostile
//! connector files to load + validate and hostile templates and contexts to
//! the renderer; and (issue 22) raw requests to the callback listener's
//! parser, token answers (JSON and form-encoded) to parsing and masking, and
//! `--inputs` files to their reader. A panic, or one input that takes longer than [`SLOW`], fails.
//!
//! The stable toolchain has no coverage-guided fuzzer, so the mutator makes up
//! for it with knowledge of the formats: every keyword of the connector schema,
//! YAML's own syntax (anchors, tags, flow collections, block scalars), and a
//! grammar of minijinja tags, filters and loops. `cargo test` runs each target
//! briefly; `tests/fuzz.sh` runs them for as long as asked (see its header).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use conntest::context::Context;

/// One input slower than this is a failure (the template work budget stops a
/// runaway loop in ~0.1 s; a connector file validates in well under 10 ms).
const SLOW: Duration = Duration::from_secs(5);
/// The most bytes a mutated input may grow to.
const MAX_INPUT: usize = 64 * 1024;

/// xorshift64*: fast, seeded, reproducible; no crate needed for test noise.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file directly inside `dir` (sorted, so a seed reproduces a run).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Seeds for connector files: the examples, the demo, the invalid fixtures and
/// the committed hostile corpus.
fn connector_seeds() -> Vec<Vec<u8>> {
    let r = repo();
    let mut files = files_in(&r.join("connectors"));
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.extend(files_in(&r.join("tests/fixtures/invalid")));
    files.extend(files_in(&r.join("tests/fuzz/corpus/connector")));
    files.push(r.join("src/demo.yaml"));
    files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

fn template_seeds() -> Vec<Vec<u8>> {
    files_in(&repo().join("tests/fuzz/corpus/template")).iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

/// Words worth inserting into a connector file: every property name and enum
/// value of the schema, and YAML's own punctuation.
fn connector_dictionary() -> Vec<Vec<u8>> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if let (Some(props), "properties") = (v.as_object(), k.as_str()) {
                        out.extend(props.keys().map(|p| format!("{p}: ")));
                    }
                    if k == "enum" || k == "const" {
                        match v {
                            Value::Array(a) => out.extend(a.iter().filter_map(Value::as_str).map(str::to_string)),
                            Value::String(s) => out.push(s.clone()),
                            _ => {}
                        }
                    }
                    walk(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut words = Vec::new();
    walk(conntest::connector::load::schema(), &mut words);
    let yaml = [
        "\n",
        "\n  ",
        "\n    - ",
        "- ",
        ": ",
        "? ",
        "&a ",
        "*a",
        "<<: *a",
        "!!str ",
        "!!binary ",
        "!!int ",
        "!tag ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "|",
        ">-",
        "|+",
        "'",
        "\"",
        "\\u0000",
        "\\x",
        "#",
        "---\n",
        "...\n",
        "%YAML 1.2\n",
        "\t",
        "\r\n",
        "\u{feff}",
        "~",
        "null",
        "true",
        "0x1F",
        "1e400",
        "-.inf",
        ".nan",
        "99999999999999999999",
        "{{ vars.x }}",
        "{{ ",
        " }}",
        "{% for i in range(9) %}",
        "{% endfor %}",
        "{#",
        "#}",
        "${{ step.out }}",
        "\u{202e}",
        "é",
        "\u{1F600}",
        "\x1b[2J",
        "$.a[*]",
        "$..*",
        "throw new Error('x')",
        "return {a: 1}",
        "while(true){}",
        "$$",
        "refresh_on:\n  status: [403]\n",
        "sign_in:\n  type: ntlm\n",
        "outputs:\n  t: $.t\n",
    ];
    words.extend(yaml.iter().map(|s| s.to_string()));
    words.sort();
    words.dedup();
    words.into_iter().map(String::into_bytes).collect()
}

/// One random change: byte edits, dictionary insertions, line surgery, splices.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>], dict: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(12) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = *rng.pick(b" \n\t:-[]{}'\"&*!|>#%@`,?\\0{}");
        }
        2 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(32)).min(len);
            input.drain(start..end);
        }
        3 | 4 => {
            let at = rng.below(len + 1);
            let word = rng.pick(dict).clone();
            input.splice(at..at, word);
        }
        5 if len > 0 => {
            // Repeat a span: deep nesting, long lines, many keys.
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            let span = input[start..end].to_vec();
            let most = if rng.chance(8) { 2000 } else { 8 };
            let times = 1 + rng.below(most);
            let at = rng.below(input.len() + 1);
            let grown: Vec<u8> = span.iter().copied().cycle().take(span.len() * times).collect();
            input.splice(at..at, grown);
        }
        6 | 7 => {
            // Swap, duplicate or drop whole lines, keeping YAML's shape mostly intact.
            let mut lines: Vec<Vec<u8>> = input.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            let (a, b) = (rng.below(n), rng.below(n));
            match rng.below(4) {
                0 => lines.swap(a, b),
                1 => {
                    let l = lines[a].clone();
                    lines.insert(b, l);
                }
                2 => {
                    lines.remove(a);
                }
                _ => {
                    let indent = vec![b' '; rng.below(9)];
                    let trimmed: Vec<u8> = lines[a].iter().copied().skip_while(|c| *c == b' ').collect();
                    lines[a] = [indent, trimmed].concat();
                }
            }
            *input = lines.join(&b'\n');
        }
        8 | 9 => {
            // Splice a line range from another seed (steps of one type into another's file).
            let other = rng.pick(seeds);
            let lines: Vec<&[u8]> = other.split(|b| *b == b'\n').collect();
            let start = rng.below(lines.len());
            let end = (start + 1 + rng.below(12)).min(lines.len());
            let chunk = lines[start..end].join(&b'\n');
            let at = rng.below(len + 1);
            let at = input[..at].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            input.splice(at..at, [chunk, b"\n".to_vec()].concat());
        }
        10 if len > 0 => {
            // An integer at the edges.
            let at = rng.below(len + 1);
            let n =
                rng.pick(&["0", "-1", "65536", "4294967296", "18446744073709551616", "-9223372036854775809", "1e20"]);
            input.splice(at..at, n.bytes());
        }
        _ => {
            let at = rng.below(len + 1);
            let b = rng.next().to_le_bytes();
            input.splice(at..at, b[..1 + rng.below(8)].iter().copied());
        }
    }
    input.truncate(MAX_INPUT);
}

/// What templates read: every kind of value [`hostile_context`] holds.
const NAMES: &[&str] = &[
    "vars.s",
    "vars.big",
    "vars.deep",
    "vars.list",
    "vars.n",
    "vars.f",
    "vars.map",
    "vars['odd key']",
    "vars.u",
    "vars.t",
    "vars.empty",
    "vars.nul",
    "step.token",
    "step.items",
    "step.nested.a.b",
    "login.expires_in",
    "now()",
];
/// Names that fail (undefined), kept rare so most templates get past them.
const UNDEFINED: &[&str] = &["vars.missing", "step.missing.deeper", "x", "loop.index", "redirect_uri"];
/// conntest's own filters and minijinja's built-ins, with arguments.
const FILTERS: &[&str] = &[
    "base64_encode",
    "base64_decode",
    "sha256",
    "hmac_sha256('k')",
    "hmac_sha256(vars.s)",
    "jwt_claims",
    "totp",
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "replace('a', 'bb')",
    "replace('', 'x')",
    "join(',')",
    "tojson",
    "urlencode",
    "default('d')",
    "length",
    "first",
    "last",
    "list",
    "sort",
    "unique",
    "int",
    "float",
    "abs",
    "round",
    "reverse",
    "items",
    "dictsort",
    "indent(4)",
    "string",
    "bool",
    "safe",
    "escape",
    "min",
    "max",
    "sum",
    "batch(3)",
    "slice(2)",
    "map('upper')",
    "select",
    "reject",
    "selectattr('a')",
    "attr('a')",
    "format(1, 2)",
    "split",
    "lines",
    "chain(vars.list)",
    "zip(vars.list)",
    "pprint",
    "d",
];

/// A random template from the minijinja grammar, over the names of [`hostile_context`].
fn grammar_template(rng: &mut Rng, depth: usize) -> String {
    const LITERALS: &[&str] = &[
        "0",
        "1",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "1e308",
        "0.0",
        "'x'",
        "''",
        "'\\u00e9\\U0010FFFF'",
        "[1, 2, 3]",
        "{'a': 1}",
        "none",
        "true",
        "range(1000)",
        "range(100000)",
        "'x' * 100000",
        "'{{ vars.s }}'",
        "namespace(a=1)",
        "dict(a=vars.s)",
    ];
    const OPS: &[&str] =
        &[" + ", " - ", " * ", " / ", " // ", " % ", " ** ", " ~ ", " and ", " or ", " in ", " == ", " < "];
    let expr = |rng: &mut Rng| -> String {
        let mut e = match rng.below(12) {
            0 => rng.pick(UNDEFINED).to_string(),
            1..=4 => rng.pick(LITERALS).to_string(),
            _ => rng.pick(NAMES).to_string(),
        };
        for _ in 0..rng.below(3) {
            match rng.below(5) {
                0 | 4 => e = format!("{e} | {}", rng.pick(FILTERS)),
                1 => e = format!("({e}{}{})", rng.pick(OPS), rng.pick(LITERALS)),
                2 => e = format!("{e}[{}]", rng.pick(&["0", "-1", "'a'", "1:3", "::-1", "vars.n"])),
                _ => e = format!("{e} is {}", rng.pick(&["defined", "string", "number", "none", "odd"])),
            }
        }
        e
    };
    let mut out = String::new();
    for _ in 0..1 + rng.below(3) {
        let body = if depth < 2 && rng.chance(2) { grammar_template(rng, depth + 1) } else { String::new() };
        let piece = match rng.below(10) {
            // No `macros` feature: a macro is a syntax error, tried now and then.
            3 if depth > 0 || !rng.chance(4) => format!("{{{{ {} }}}}{body}", expr(rng)),
            0 => format!("{{% for x in {} %}}{body}{{{{ x }}}}{{% endfor %}}", expr(rng)),
            1 => format!(
                "{{% if {} %}}{body}{{% elif {} %}}{{% else %}}{{{{ {} }}}}{{% endif %}}",
                expr(rng),
                expr(rng),
                expr(rng)
            ),
            2 => format!("{{% set x = {} %}}{body}", expr(rng)),
            3 => format!(
                "{{% macro m(a, n) %}}{{% if n %}}{{{{ m(a ~ a, n - 1) }}}}{{% endif %}}{body}{{% endmacro %}}{{{{ m({}, {}) }}}}",
                expr(rng),
                rng.pick(&["3", "40", "1000"])
            ),
            4 => format!("{{% filter upper %}}{body}{{% endfilter %}}"),
            5 => format!("{{% with x = {} %}}{body}{{% endwith %}}", expr(rng)),
            6 => format!("{{%- raw %}}{{{{ {} }}}}{{% endraw -%}}", expr(rng)),
            7 => format!("{{# {} #}}{body}", expr(rng)),
            _ => format!("{{{{ {} }}}}{body}", expr(rng)),
        };
        out.push_str(&piece);
        if rng.chance(3) {
            let text: &&str = rng.pick(&[" ", "text", "\n", "%", "}", "é"]);
            out.push_str(text);
        }
    }
    out
}

/// A context built to hurt: deep nesting, long strings, big lists, odd keys,
/// numbers at the edges, strings that look like templates.
fn hostile_context(rng: &mut Rng) -> Context {
    let mut deep = json!("bottom");
    for i in 0..1 + rng.below(120) {
        deep = if i % 2 == 0 { json!([deep]) } else { json!({ "a": deep }) };
    }
    let big = "x".repeat(*rng.pick(&[0, 1, 1000, 100_000, 1_000_000]));
    let list: Vec<Value> = (0..*rng.pick(&[0, 3, 1000, 20_000])).map(|i| json!(i)).collect();
    let n = rng
        .pick(&[json!(0), json!(-1), json!(i64::MAX), json!(i64::MIN), json!(u64::MAX), json!(1e308), json!(-0.0)])
        .clone();
    let mut cx = Context::new();
    cx.set(
        "vars",
        &json!({
            "s": rng.pick(&["secret", "", "{{ vars.s }}", "{% for %}", "\u{0}\u{1b}[2J", "é\u{202e}"]),
            "big": big, "deep": deep, "list": list, "n": n, "f": 0.5, "u": "\u{1F600}", "t": true,
            "map": { "a": 1, "": 2, "b.c": 3 }, "odd key": "v", "empty": {}, "nul": null,
        }),
    );
    cx.set(
        "step",
        &json!({ "token": "eyJhbGciOiJub25lIn0.eyJleHAiOjF9.", "items": [{"a": 1}, {"a": "x"}], "nested": {"a": {"b": [null]}} }),
    );
    cx.set("login", &json!({ "expires_in": "3600" }));
    cx
}

/// What one target does with one input; `Err` names a finding.
type Target = fn(&[u8], &mut Rng) -> Result<(), String>;

fn connector_target(input: &[u8], _rng: &mut Rng) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    if let Some(skipped) = conntest::connector::load::skipped_by_the_fast_path(&text) {
        return Err(format!("the fast path skipped a schema error: {skipped}"));
    }
    match conntest::connector::load::load_str(Path::new("fuzz.yaml"), &text) {
        Ok(_) => Ok(()),
        Err((diags, _)) if diags.is_empty() => Err("invalid file without a diagnostic".into()),
        Err((diags, _)) => {
            let breaks = text.matches('\n').count() + text.matches('\r').count() - text.matches("\r\n").count();
            let lines = breaks + 1;
            match diags.iter().find(|d| d.line == 0 || d.line > lines + 1 || d.column == 0 || d.message.is_empty()) {
                Some(d) => Err(format!("diagnostic outside the file or empty: {}:{}: {}", d.line, d.column, d.message)),
                None => Ok(()),
            }
        }
    }
}

fn template_target(input: &[u8], rng: &mut Rng) -> Result<(), String> {
    thread_local! {
        // Built once: converting a megabyte string per input would be most of the work.
        static CONTEXTS: Vec<Context> = { let mut rng = Rng::new(7); (0..16).map(|_| hostile_context(&mut rng)).collect() };
    }
    let src = String::from_utf8_lossy(input);
    let cx = CONTEXTS.with(|all| all[rng.below(all.len())].clone());
    let _ = conntest::template::references(&src);
    let _ = conntest::template::unknown_callables(&src);
    if let Ok(out) = conntest::template::render_str(&src, &cx)
        && out.len() > conntest::template::MAX_OUTPUT
    {
        return Err(format!("output of {} bytes passed the cap", out.len()));
    }
    let _ = conntest::template::render_json(&json!({ "a": src, "b": [src] }), &cx);
    Ok(())
}

/// Issue 22: the callback listener's request parser, on bytes any local
/// process may send. What it accepts must fit the cap and be what was sent.
fn listener_target(input: &[u8], _rng: &mut Rng) -> Result<(), String> {
    use conntest::listener::conn::{MAX_REQUEST_BYTES, parse_request};
    for end in [input.len(), input.len() / 2] {
        match parse_request(&input[..end]) {
            Ok(Some(r)) if r.body.len() > MAX_REQUEST_BYTES || !r.target.starts_with('/') => {
                return Err(format!("accepted past the rules: {} bytes of body, target {:?}", r.body.len(), r.target));
            }
            Err((status, _)) if ![400, 411, 431].contains(&status) => return Err(format!("status {status}")),
            _ => {}
        }
    }
    Ok(())
}

/// Issue 22: token endpoint answers, JSON and form-encoded, read as outputs.
fn token_target(input: &[u8], rng: &mut Rng) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    let kind = if rng.chance(2) { "application/x-www-form-urlencoded" } else { "application/json" };
    let headers = vec![("content-type".to_string(), kind.to_string())];
    let body = conntest::http::parse_response_body(&headers, &text);
    conntest::secret::masker().learn_json("", &body);
    let status = *rng.pick(&[200u16, 201, 400, 401, 500]);
    if let Ok(out) = conntest::oauth::read_token_response(status, &body)
        && !out.get("access_token").is_some_and(serde_json::Value::is_string)
    {
        return Err("a token response without a string access_token was accepted".into());
    }
    let _ = conntest::secret::masker().mask(&text);
    Ok(())
}

/// Issue 22: `--inputs` files, through the same reader as the command line.
fn inputs_target(input: &[u8], _rng: &mut Rng) -> Result<(), String> {
    thread_local! {
        static FILE: tempfile::NamedTempFile = tempfile::NamedTempFile::new().expect("temp file");
    }
    FILE.with(|f| {
        std::fs::write(f.path(), input).map_err(|e| e.to_string())?;
        let _ = conntest::prompt::collect_inputs(&[], &[], Some(f.path()));
        Ok(())
    })
}

fn listener_seeds() -> Vec<Vec<u8>> {
    [
        "GET /callback?code=abc&state=xyz HTTP/1.1\r\nHost: 127.0.0.1:8400\r\nUser-Agent: x\r\n\r\n",
        "POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 27\r\n\r\naccess_token=t&token_type=b",
        "GET /favicon.ico HTTP/1.0\r\n\r\n",
        "POST /cb HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn token_seeds() -> Vec<Vec<u8>> {
    [
        r#"{"access_token":"eyJhbGciOi.x.y","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1","scope":"a b"}"#,
        r#"{"access_token":"at","expires_in":"60","id_token":"a.b.c"}"#,
        r#"{"error":"invalid_grant","error_description":"code used\nagain"}"#,
        "access_token=gho_abc&scope=repo%2Cgist&token_type=bearer",
        "error=bad_verification_code&error_description=The+code+passed+is+incorrect",
        "oauth_token=a&oauth_token_secret=b&oauth_callback_confirmed=true",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn inputs_seeds() -> Vec<Vec<u8>> {
    [
        "login: {user: ann, password: hunter2}\n",
        "acme:\n  login:\n    user: ann\nother:\n  f: {code: '123456'}\n",
        "f:\n  user: &a [x, *a]\n",
        "- not a mapping\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Bytes the mutator splices into HTTP requests, token answers and YAML.
fn wire_dictionary() -> Vec<Vec<u8>> {
    [
        "\r\n",
        "\r\n\r\n",
        ": ",
        "Content-Length: ",
        "Content-Length: 99999999999999999999",
        "Transfer-Encoding",
        " HTTP/1.1",
        "GET ",
        "POST ",
        "?",
        "#",
        "&",
        "=",
        "%",
        "%zz",
        "+",
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        "null",
        "1e309",
        "-1",
        "\\u0000",
        "\u{1b}[2J",
        "access_token",
        "expires_in",
        "error",
        "&&&&",
        "*a",
        "&a",
        "!!binary",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Where a run stands, shared with its watchdog.
struct Progress {
    started_ms: AtomicU64,
    current: Mutex<Vec<u8>>,
}

/// Where findings (and traced inputs) are saved, created on first use.
fn findings_dir() -> PathBuf {
    let dir = repo().join("target/fuzz-findings");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A finding: the input is saved under `target/fuzz-findings/` to replay.
fn save_finding(target: &str, input: &[u8], why: &str) -> PathBuf {
    let dir = findings_dir();
    let hash = conntest::template::hex(&<sha2::Sha256 as sha2::Digest>::digest(input))[..16].to_string();
    let path = dir.join(format!("{target}-{hash}"));
    let _ = std::fs::write(&path, input);
    let _ = std::fs::write(path.with_extension("why"), why);
    path
}

struct Budget {
    execs: u64,
    time: Duration,
}

/// Runs `target` over mutated seeds until the budget is spent; returns the
/// number of executions, or the findings.
fn fuzz(
    name: &'static str,
    target: Target,
    seeds: Vec<Vec<u8>>,
    dict: Vec<Vec<u8>>,
    gen_templates: bool,
    budget: Budget,
) -> Result<u64, Vec<String>> {
    assert!(!seeds.is_empty(), "no seeds for {name}");
    let seed = std::env::var("CONNTEST_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_u64);
    let mut rng = Rng::new(seed ^ name.len() as u64);
    let begin = Instant::now();
    let progress = Arc::new(Progress { started_ms: AtomicU64::new(u64::MAX), current: Mutex::new(Vec::new()) });
    let watch = Arc::clone(&progress);
    // The watchdog saves an input that hangs and ends the process, which a
    // panic cannot do from another thread.
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let started = watch.started_ms.load(Ordering::Relaxed);
            let now = begin.elapsed().as_millis() as u64;
            if started != u64::MAX && now.saturating_sub(started) > 4 * SLOW.as_millis() as u64 {
                let input = watch.current.lock().map(|g| g.clone()).unwrap_or_default();
                let path = save_finding(name, &input, "hang");
                eprintln!("fuzz {name}: an input hangs; saved to {}", path.display());
                std::process::exit(70);
            }
        }
    });
    let trace =
        std::env::var_os("CONNTEST_FUZZ_TRACE").is_some().then(|| findings_dir().join(format!("{name}-current")));
    let mut findings = Vec::new();
    let mut execs = 0u64;
    let mut input = Vec::new();
    while execs < budget.execs && begin.elapsed() < budget.time {
        if execs.is_multiple_of(16) || input.is_empty() {
            input = if gen_templates && rng.chance(2) {
                grammar_template(&mut rng, 0).into_bytes()
            } else {
                rng.pick(&seeds).clone()
            };
        }
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut input, &seeds, &dict);
        }
        if let Ok(mut g) = progress.current.lock() {
            g.clone_from(&input);
        }
        if let Some(current) = &trace {
            // An out-of-memory abort cannot be caught: leave the input where it can be replayed.
            let _ = std::fs::write(current, &input);
        }
        let t0 = Instant::now();
        progress.started_ms.store(begin.elapsed().as_millis() as u64, Ordering::Relaxed);
        let mut exec_rng = Rng::new(rng.next());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&input, &mut exec_rng)));
        progress.started_ms.store(u64::MAX, Ordering::Relaxed);
        let why = match result {
            Ok(Ok(())) if t0.elapsed() > SLOW => Some(format!("slow: {:.1} s", t0.elapsed().as_secs_f64())),
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some("panic".to_string()),
        };
        if let Some(why) = why {
            let path = save_finding(name, &input, &why);
            findings.push(format!("{why}: {}", path.display()));
            if findings.len() >= 20 {
                break;
            }
        }
        execs += 1;
    }
    let secs = begin.elapsed().as_secs_f64();
    eprintln!(
        "fuzz {name}: {execs} executions in {secs:.0} s ({:.0}/s), {} findings",
        execs as f64 / secs,
        findings.len()
    );
    if findings.is_empty() { Ok(execs) } else { Err(findings) }
}

/// The budget from `CONNTEST_FUZZ_SECS`/`CONNTEST_FUZZ_EXECS`, else a short run.
fn budget(short_execs: u64) -> Budget {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    match (env("CONNTEST_FUZZ_SECS"), env("CONNTEST_FUZZ_EXECS")) {
        (None, None) => Budget { execs: short_execs, time: Duration::from_secs(60) },
        (secs, execs) => {
            Budget { execs: execs.unwrap_or(u64::MAX), time: Duration::from_secs(secs.unwrap_or(u64::MAX / 4)) }
        }
    }
}

#[test]
fn connector_files_never_crash_load_or_validate() {
    let run = fuzz("connector", connector_target, connector_seeds(), connector_dictionary(), false, budget(10_000));
    assert!(run.is_ok(), "findings (replay with CONNTEST_FUZZ_REPLAY): {:#?}", run.err());
}

#[test]
fn templates_never_crash_or_run_away_on_a_hostile_context() {
    let dict: Vec<Vec<u8>> = [
        "{{", "}}", "{%", "%}", "{#", "#}", "|", "(", ")", "[", "]", ".", "~", "*", "range(", "for ", "endfor", "loop",
        "-%}", "{%-",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let run = fuzz("template", template_target, template_seeds(), dict, true, budget(1_000));
    assert!(run.is_ok(), "findings: {:#?}", run.err());
}

#[test]
fn listener_requests_never_crash_the_parser() {
    let run = fuzz("listener", listener_target, listener_seeds(), wire_dictionary(), false, budget(20_000));
    assert!(run.is_ok(), "findings: {:#?}", run.err());
}

#[test]
fn token_responses_never_crash_parsing_or_masking() {
    let run = fuzz("token", token_target, token_seeds(), wire_dictionary(), false, budget(2_000));
    assert!(run.is_ok(), "findings: {:#?}", run.err());
}

#[test]
fn inputs_files_never_crash_or_hang() {
    let run = fuzz("inputs", inputs_target, inputs_seeds(), wire_dictionary(), false, budget(2_000));
    assert!(run.is_ok(), "findings: {:#?}", run.err());
}

/// Every filter on every value of every hostile context: the pairs random
/// search reaches too rarely.
#[test]
fn every_filter_on_every_hostile_value() {
    let mut rng = Rng::new(7);
    let contexts: Vec<Context> = (0..16).map(|_| hostile_context(&mut rng)).collect();
    for cx in &contexts {
        for name in NAMES.iter().chain(UNDEFINED) {
            for filter in FILTERS {
                let src = format!("{{{{ {name} | {filter} }}}}");
                let t0 = Instant::now();
                let _ = conntest::template::render_str(&src, cx);
                let _ = conntest::template::render_json(&json!(src), cx);
                assert!(t0.elapsed() < SLOW, "`{src}` took {:?}", t0.elapsed());
            }
        }
    }
}

/// Replays a saved finding: `CONNTEST_FUZZ_REPLAY=target/fuzz-findings/… cargo test fuzz::replay -- --ignored`.
#[test]
#[ignore = "replays the file named by CONNTEST_FUZZ_REPLAY"]
fn replay() {
    let Ok(path) = std::env::var("CONNTEST_FUZZ_REPLAY") else { return };
    let input = std::fs::read(&path).expect("CONNTEST_FUZZ_REPLAY names a readable file");
    let target: Target = match path.rsplit('/').next().and_then(|f| f.split('-').next()) {
        Some("template") => template_target,
        Some("listener") => listener_target,
        Some("token") => token_target,
        Some("inputs") => inputs_target,
        _ => connector_target,
    };
    let t0 = Instant::now();
    let result = target(&input, &mut Rng::new(1));
    eprintln!("{path}: {result:?} in {:.3} s", t0.elapsed().as_secs_f64());
}
