//! Templates (minijinja): the one environment with strict undefined, the
//! SPEC filters, rendering against a run's context, and static analysis of
//! what a template references.

use std::sync::OnceLock;

use base64::Engine as _;
use hmac::Mac as _;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value as JValue};
use serde_json::Value;
use sha2::Digest as _;

use crate::context::{Context, missing};

mod capped;
mod memo;

use capped::{Capped, join, pprint, string, tojson, within_cap};
use memo::Memo;

/// Work one template may do (minijinja fuel: roughly one unit per instruction).
/// Far above any real connector's needs; a runaway loop stops within ~0.1 s.
const FUEL: u64 = 2_000_000;
/// The most text one template may produce.
pub const MAX_OUTPUT: usize = 4 * 1024 * 1024;

/// A template source that has passed validation (syntax and references).
#[derive(Debug, Clone, PartialEq)]
pub struct Template(String);

impl Template {
    pub fn new(source: impl Into<String>) -> Self {
        Template(source.into())
    }
    pub fn source(&self) -> &str {
        &self.0
    }
    /// Renders to text against `cx`.
    pub fn render(&self, cx: &Context) -> Result<String, String> {
        render_str(&self.0, cx)
    }
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_filter("base64_encode", |s: String| base64::engine::general_purpose::STANDARD.encode(s));
        env.add_filter("base64_decode", base64_decode);
        env.add_filter("sha256", |s: String| hex(&sha2::Sha256::digest(s.as_bytes())));
        env.add_filter("hmac_sha256", hmac_sha256);
        env.add_filter("jwt_claims", jwt_claims);
        env.add_filter("totp", |secret: String| totp_now(&secret, 6, 30, "SHA1").map_err(invalid));
        env.add_function("now", || unix_now() as i64);
        // The built-ins build their whole text before anything can stop them.
        env.add_filter("tojson", tojson);
        env.add_filter("pprint", pprint);
        env.add_filter("join", join);
        env.add_filter("string", string);
        env
    })
}

/// Names a template may use besides `vars` and step ids.
pub const GLOBALS: [&str; 2] = ["now", "redirect_uri"];

fn invalid(message: String) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, message)
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64_decode(s: String) -> Result<String, minijinja::Error> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let bytes = engines
        .iter()
        .find_map(|e| e.decode(s.trim()).ok())
        .ok_or_else(|| invalid("base64_decode: input is not base64".into()))?;
    String::from_utf8(bytes).map_err(|_| invalid("base64_decode: decoded bytes are not UTF-8".into()))
}

fn hmac_sha256(message: String, key: String) -> Result<String, minijinja::Error> {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).map_err(|e| invalid(format!("hmac_sha256: {e}")))?;
    mac.update(message.as_bytes());
    Ok(hex(&mac.finalize().into_bytes()))
}

fn jwt_claims(token: String) -> Result<JValue, minijinja::Error> {
    let payload = token.split('.').nth(1).ok_or_else(|| invalid("jwt_claims: not a JWT (no payload part)".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| invalid("jwt_claims: payload is not base64url".into()))?;
    let claims: Value =
        serde_json::from_slice(&bytes).map_err(|_| invalid("jwt_claims: payload is not JSON".into()))?;
    Ok(JValue::from(minijinja::value::Serde(claims)))
}

/// The current TOTP code (RFC 6238) of a base32 secret.
pub fn totp_now(secret: &str, digits: u8, period: u64, algorithm: &str) -> Result<String, String> {
    totp_at(secret, digits, period, algorithm, unix_now())
}

/// The TOTP code (RFC 6238) of a base32 secret at `unix_time` (seconds): the
/// clock is a parameter so that the RFC's test vectors can pin it.
pub fn totp_at(secret: &str, digits: u8, period: u64, algorithm: &str, unix_time: u64) -> Result<String, String> {
    let secret = totp_rs::Secret::try_from_base32(secret.replace([' ', '-'], "").to_uppercase().trim_end_matches('='))
        .map_err(|_| "totp: the secret is not valid base32".to_string())?;
    let algorithm = match algorithm {
        "SHA256" => totp_rs::Algorithm::SHA256,
        "SHA512" => totp_rs::Algorithm::SHA512,
        _ => totp_rs::Algorithm::SHA1,
    };
    let totp = totp_rs::Builder::new()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_step_duration(period)
        .with_secret(secret)
        .build_noncompliant();
    Ok(totp.generate(unix_time).to_string())
}

/// A template that is exactly one `{{ expression }}`: its value keeps its type.
fn sole_expression(src: &str) -> Option<&str> {
    let inner = src.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.trim_start_matches('-').trim_end_matches('-');
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

fn is_template(src: &str) -> bool {
    src.contains("{{") || src.contains("{%") || src.contains("{#")
}

pub fn render_str(src: &str, cx: &Context) -> Result<String, String> {
    if !is_template(src) {
        return Ok(src.to_string());
    }
    let tmpl = env().template_from_str(src).map_err(|e| explain(src, e, cx))?;
    let mut out = Capped::new();
    match tmpl.render_captured_to(cx.value(), &mut out) {
        Ok(_) => String::from_utf8(out.text).map_err(|_| format!("template `{}` produced invalid UTF-8", short(src))),
        Err(_) if out.over => Err(format!("template `{}` produced more than {MAX_OUTPUT} bytes", short(src))),
        Err(e) => Err(explain(src, e, cx)),
    }
}

/// A template's source cut to one readable line for messages.
fn short(src: &str) -> String {
    let flat: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 80 { format!("{}…", flat.chars().take(80).collect::<String>()) } else { flat }
}

/// Renders every string inside `value`; a string that is one expression keeps its type.
pub fn render_json(value: &Value, ctx: &Context) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) if is_template(s) => match sole_expression(s) {
            Some(expr) => {
                let compiled = env().compile_expression(expr).map_err(|e| explain(s, e, ctx))?;
                let result = compiled.eval(ctx.value()).map_err(|e| explain(s, e, ctx))?;
                if result.is_undefined() {
                    return Err(explain(s, minijinja::Error::new(ErrorKind::UndefinedError, ""), ctx));
                }
                // A value built in one step (`[…] * 100000`) is as large as any text.
                within_cap(&result)
                    .map_err(|_| format!("template `{}` produced more than {MAX_OUTPUT} bytes", short(s)))?;
                serde_json::to_value(&result).map_err(|e| format!("`{s}`: {e}"))?
            }
            None => Value::String(render_str(s, ctx)?),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| render_json(v, ctx)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| Ok((k.clone(), render_json(v, ctx)?))).collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// A readable reason: for undefined values, the missing path and what exists instead.
fn explain(src: &str, err: minijinja::Error, cx: &Context) -> String {
    match err.kind() {
        ErrorKind::UndefinedError => {
            for path in references(src).unwrap_or_default() {
                if let Some(reason) = missing(&path, cx) {
                    return reason;
                }
            }
        }
        ErrorKind::OutOfFuel => {
            return format!("template `{}` ran past its work budget (a loop too large or endless?)", short(src));
        }
        _ => {}
    }
    let detail = err.detail().map(str::to_string).unwrap_or_else(|| err.kind().to_string());
    format!("template `{}`: {detail}", short(src))
}

/// Filters and functions a template calls that do not exist, each with a
/// did-you-mean when one is close. minijinja resolves them only at render
/// time, so `validate` looks for them in the tags' text.
pub fn unknown_callables(src: &str) -> Vec<(String, Option<String>)> {
    if !is_template(src) {
        return Vec::new();
    }
    thread_local!(static SEEN: Memo<Vec<(String, Option<String>)>> = Memo::new());
    SEEN.with(|m| m.get(src, scan_callables))
}

fn scan_callables(src: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for code in tag_bodies(src) {
        let chars: Vec<char> = code.chars().collect();
        let mut i = 0;
        let mut prev: Option<char> = None;
        let mut prev_word = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '"' || c == '\'' {
                // Skip a string literal.
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                prev = Some(c);
                continue;
            }
            if c.is_ascii_alphabetic() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                let called = chars.get(j) == Some(&'(');
                if prev == Some('|') && prev_word != "is" && !is_filter(&word) {
                    out.push((format!("unknown filter `{word}`"), did_you_mean(&word, &KNOWN_FILTERS)));
                } else if called && prev != Some('.') && prev != Some('|') && prev_word != "is" && !is_function(&word) {
                    out.push((format!("unknown function `{word}()`"), did_you_mean(&word, &KNOWN_FUNCTIONS)));
                }
                prev_word = word;
                prev = Some('a');
                continue;
            }
            if !c.is_whitespace() {
                prev = Some(c);
            }
            i += 1;
        }
    }
    out
}

/// The text inside `{{ … }}` and `{% … %}` tags.
fn tag_bodies(src: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(open) = rest.find(['{']) {
        let after = &rest[open..];
        let close = if after.starts_with("{{") {
            "}}"
        } else if after.starts_with("{%") {
            "%}"
        } else {
            rest = &rest[open + 1..];
            continue;
        };
        match after[2..].find(close) {
            Some(end) => {
                out.push(&after[2..2 + end]);
                rest = &after[2 + end + 2..];
            }
            None => break,
        }
    }
    out
}

/// Common filters, for suggestions (the environment knows the full set).
const KNOWN_FILTERS: [&str; 24] = [
    "default",
    "length",
    "lower",
    "upper",
    "trim",
    "join",
    "split",
    "replace",
    "first",
    "last",
    "tojson",
    "int",
    "float",
    "string",
    "urlencode",
    "base64_encode",
    "base64_decode",
    "sha256",
    "hmac_sha256",
    "jwt_claims",
    "totp",
    "title",
    "list",
    "round",
];
const KNOWN_FUNCTIONS: [&str; 5] = ["now", "range", "dict", "namespace", "debug"];

fn did_you_mean(word: &str, known: &[&str]) -> Option<String> {
    // Short names swap letters more than they lose them: also try a transposition.
    crate::connector::diagnostic::did_you_mean(word, known.iter().copied())
        .or_else(|| known.iter().find(|k| strsim::damerau_levenshtein(word, k) <= 1 && word.len() > 2).copied())
        .map(str::to_string)
}

/// Whether the environment has a filter `name` (an unknown one fails to render as such).
fn is_filter(name: &str) -> bool {
    static KNOWN: std::sync::Mutex<Vec<(String, bool)>> = std::sync::Mutex::new(Vec::new());
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, yes)) = known.iter().find(|(n, _)| n == name) {
        return *yes;
    }
    let src = format!("{{{{ '' | {name} }}}}");
    let yes = match env().render_str(&src, ()) {
        Ok(_) => true,
        Err(e) => e.kind() != ErrorKind::UnknownFilter,
    };
    known.push((name.to_string(), yes));
    yes
}

fn is_function(name: &str) -> bool {
    GLOBALS.contains(&name)
        || env().globals().any(|(n, _)| n == name)
        || ["caller", "super", "loop", "self"].contains(&name)
}

/// Checks syntax; returns every variable path the template reads (`login.body.token` → segments).
pub fn references(src: &str) -> Result<Vec<Vec<String>>, String> {
    if !is_template(src) {
        return Ok(Vec::new());
    }
    thread_local!(static SEEN: Memo<Result<Vec<Vec<String>>, String>> = Memo::new());
    SEEN.with(|m| m.get(src, compile_references))
}

fn compile_references(src: &str) -> Result<Vec<Vec<String>>, String> {
    let tmpl = env().template_from_str(src).map_err(|e| {
        let detail = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
        format!("template syntax error: {detail}")
    })?;
    let mut paths: Vec<Vec<String>> =
        tmpl.undeclared_variables(true).into_iter().map(|p| p.split('.').map(str::to_string).collect()).collect();
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_follow_the_spec() {
        let mut ctx = Context::new();
        ctx.set("vars", &json!({"s": "hello"}));
        let r = |src: &str| render_str(src, &ctx).unwrap();
        assert_eq!(r("{{ vars.s | base64_encode }}"), "aGVsbG8=");
        assert_eq!(r("{{ 'aGVsbG8=' | base64_decode }}"), "hello");
        assert_eq!(r("{{ vars.s | sha256 }}"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(
            r("{{ 'msg' | hmac_sha256('key') }}"),
            "2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628"
        );
        assert_eq!(r("{{ 'a b&c' | urlencode }}"), "a%20b%26c");
        assert_eq!(r("{{ 'x.eyJzdWIiOiJhbGljZSJ9.y' | jwt_claims | attr('sub') }}"), "alice");
        assert_eq!(r("{{ 'JBSWY3DPEHPK3PXP' | totp }}").len(), 6);
        assert!(r("{{ now() }}").parse::<u64>().unwrap() > 1_700_000_000);
    }

    /// RFC 6238, Appendix B: 8-digit codes of the RFC's seeds (ASCII "1234567890"
    /// repeated to 20, 32 and 64 bytes), 30 s steps, at its fixed times.
    #[test]
    fn totp_matches_the_rfc_6238_test_vectors() {
        let sha1 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let sha256 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====";
        let sha512 =
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA=";
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (time, want1, want256, want512) in vectors {
            assert_eq!(totp_at(sha1, 8, 30, "SHA1", time).as_deref(), Ok(want1), "SHA1 at {time}");
            assert_eq!(totp_at(sha256, 8, 30, "SHA256", time).as_deref(), Ok(want256), "SHA256 at {time}");
            assert_eq!(totp_at(sha512, 8, 30, "SHA512", time).as_deref(), Ok(want512), "SHA512 at {time}");
        }
        // Six digits are the last six of the same code; `totp_now` is `totp_at` now.
        assert_eq!(totp_at(sha1, 6, 30, "SHA1", 59).as_deref(), Ok("287082"));
        let now = unix_now();
        let current = totp_now(sha1, 8, 30, "SHA1").unwrap();
        let around: Vec<String> = [now, now + 1].iter().map(|t| totp_at(sha1, 8, 30, "SHA1", *t).unwrap()).collect();
        assert!(around.contains(&current), "{current} not in {around:?}");
    }

    #[test]
    fn undefined_names_the_path_and_what_exists() {
        let mut ctx = Context::new();
        ctx.set("vars", &json!({}));
        ctx.set("login", &json!({"body": {"access_token": "t"}}));
        let err = render_str("Bearer {{ login.body.acces_token }}", &ctx).unwrap_err();
        assert_eq!(err, "`login.body.acces_token` is undefined; `login.body` has: access_token");
        let err = render_str("{{ logn.x }}", &ctx).unwrap_err();
        assert!(err.starts_with("`logn.x` is undefined; available: vars, login"), "{err}");
    }

    #[test]
    fn sole_expressions_keep_their_type() {
        let mut ctx = Context::new();
        ctx.set("f", &json!({"n": 5}));
        assert_eq!(
            render_json(&json!({"a": "{{ f.n }}", "b": "n={{ f.n }}"}), &ctx).unwrap(),
            json!({"a": 5, "b": "n=5"})
        );
    }

    #[test]
    fn unknown_filters_and_functions_are_found_with_a_suggestion() {
        let found = unknown_callables(
            "{{ a | lenght }} {{ b | default('x|y') | hmac_sha256('k') }} {{ nwo() }} {{ x.items() }} {% if a is defined %}{% endif %} {{ range(3) | list }}",
        );
        assert_eq!(
            found,
            vec![
                ("unknown filter `lenght`".to_string(), Some("length".to_string())),
                ("unknown function `nwo()`".to_string(), Some("now".to_string())),
            ]
        );
    }

    #[test]
    fn runaway_templates_stop_with_a_reason() {
        let ctx = Context::new();
        let err = render_str("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", &ctx)
            .unwrap_err();
        assert!(err.contains("work budget"), "{err}");
        let err = render_str("{{ 'x' * 100000000 }}", &ctx).unwrap_err();
        assert!(err.contains("bytes") || err.contains("budget"), "{err}");
    }
}
