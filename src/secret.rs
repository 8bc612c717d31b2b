//! Secrets: the [`Secret`] type whose Debug/Display are masked, the rule that
//! decides which names are secret, and the one [`Masker`] every output goes through.

mod index;

use std::fmt;
use std::sync::{OnceLock, RwLock};

use serde_json::Value;

pub mod fingerprint;

pub use fingerprint::Fingerprints;

pub const MASK: &str = "****";

/// Values shorter than this are masked by name only: masking every "a" in the
/// output would hide more than it protects.
const MIN_MASK_LEN: usize = 3;

/// A string that must not be printed by accident.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value and teaches the masker to hide it from now on.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        masker().learn(&value);
        Secret(value)
    }

    /// Wraps a value without teaching the masker: for inputs whose kind is not known yet.
    pub fn unlearned(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Teaches the masker this value from now on.
    pub fn learn(&self) {
        masker().learn(&self.0);
    }

    /// The only way to reach the value: name the moment it leaves the type.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Whether a field, header, variable or output named `name` holds a secret (SPEC §1).
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('-', "_");
    const NOT_SECRET_SUFFIXES: [&str; 6] = ["_type", "_url", "_uri", "_in", "_at", "_method"];
    if NOT_SECRET_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return false;
    }
    const EXACT: [&str; 4] = ["code", "jwt", "key", "otp"];
    const CONTAINS: [&str; 12] = [
        "token",
        "secret",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "authorization",
        "cookie",
        "session",
        "assertion",
        "signature",
        "verifier",
    ];
    EXACT.contains(&name.as_str()) || CONTAINS.iter().any(|c| name.contains(c))
}

/// Hides every value known to be secret. One per process, shared by all outputs.
pub struct Masker {
    reveal: std::sync::atomic::AtomicBool,
    /// Set once a value could not be learned because the index is full.
    overflowed: std::sync::atomic::AtomicBool,
    known: RwLock<index::Tiers>,
    /// Secrets known only by fingerprint (from a cache entry), by entry key.
    prints: RwLock<Vec<(String, fingerprint::Matcher)>>,
}

pub fn masker() -> &'static Masker {
    static MASKER: OnceLock<Masker> = OnceLock::new();
    MASKER.get_or_init(|| Masker {
        reveal: false.into(),
        overflowed: false.into(),
        known: RwLock::new(index::Tiers::default()),
        prints: RwLock::new(Vec::new()),
    })
}

/// The forms a secret takes on the wire besides its own text: percent-encoded
/// for a query or path (`%20`), form-encoded (`+`), escaped inside JSON (once,
/// and twice for JSON carried in a JSON string), and HTML-escaped (a page
/// that echoes it).
fn wire_forms(value: &str) -> Vec<String> {
    let json = |v: &str| serde_json::to_string(v).map(|j| j[1..j.len() - 1].to_string()).unwrap_or_default();
    let once = json(value);
    let mut forms = vec![
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>(),
        percent_encoding::utf8_percent_encode(value, PATH_UNSAFE).to_string(),
        json(&once),
        once,
    ];
    let html = value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    forms.push(html.replace('"', "&quot;").replace('\'', "&#39;"));
    forms.push(html.replace('"', "&#34;").replace('\'', "&#x27;"));
    forms.push(html);
    // Only an empty value has empty forms, and they equal it.
    forms.retain(|f| f != value);
    forms.sort();
    forms.dedup();
    forms
}

/// Everything except RFC 3986 unreserved characters.
const PATH_UNSAFE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

impl Masker {
    pub fn set_reveal(&self, reveal: bool) {
        self.reveal.store(reveal, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn revealing(&self) -> bool {
        self.reveal.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Remembers `value` as secret: every later occurrence is masked, in the
    /// forms it takes on the wire too.
    pub fn learn(&self, value: &str) {
        if value.chars().count() < MIN_MASK_LEN {
            return;
        }
        if self.known.read().is_ok_and(|k| k.contains(value.as_bytes())) {
            return;
        }
        let forms = wire_forms(value);
        let Ok(mut known) = self.known.write() else { return };
        for form in std::iter::once(value).chain(forms.iter().map(String::as_str)) {
            if form.len() >= MIN_MASK_LEN && !known.insert(form.as_bytes()) {
                self.overflowed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Whether some secret value could not be learned: past
    /// `index::MAX_STATES` bytes of secrets, values are masked by name only.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Byte ranges of `text` that hold a known secret (the automaton brought
    /// up to date first when something was learned since), and those that
    /// match a fingerprint of a secret a cache entry no longer holds.
    fn ranges(&self, text: &str) -> Option<Vec<(usize, usize)>> {
        let exact = self.exact_ranges(text)?;
        let prints = self.prints.read().ok()?;
        if prints.is_empty() {
            return Some(exact);
        }
        let mut found = exact;
        for (_, m) in prints.iter() {
            m.ranges(text.as_bytes(), &mut found);
        }
        found.sort_unstable();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for (start, end) in found {
            match ranges.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => ranges.push((start, end)),
            }
        }
        Some(ranges)
    }

    fn exact_ranges(&self, text: &str) -> Option<Vec<(usize, usize)>> {
        {
            let known = self.known.read().ok()?;
            if known.ready() {
                return Some(known.ranges(text.as_bytes()));
            }
        }
        let mut known = self.known.write().ok()?;
        known.prepare();
        Some(known.ranges(text.as_bytes()))
    }

    /// Masks, from now on, every secret a cache entry knows only by fingerprint.
    pub fn learn_prints(&self, prints: &Fingerprints) {
        let Ok(mut known) = self.prints.write() else { return };
        if prints.prints.is_empty() || known.iter().any(|(k, _)| *k == prints.key) {
            return;
        }
        if let Some(m) = fingerprint::Matcher::new(prints) {
            known.push((prints.key.clone(), m));
        }
    }

    /// Learns every secret in `value`: strings under secret names, recursively.
    pub fn learn_json(&self, name: &str, value: &Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if is_secret_name(k) || is_secret_name(name) {
                        self.learn_all(v);
                    } else {
                        self.learn_json(k, v);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn_json(name, v)),
            _ if is_secret_name(name) => self.learn_all(value),
            _ => {}
        }
    }

    /// Learns every string inside `value` as secret. Numbers and booleans under
    /// secret names are masked by name only: masking every `200` would hide statuses.
    pub fn learn_all(&self, value: &Value) {
        match value {
            Value::String(s) => self.learn(s),
            Value::Array(items) => items.iter().for_each(|v| self.learn_all(v)),
            Value::Object(map) => map.values().for_each(|v| self.learn_all(v)),
            _ => {}
        }
    }

    /// Text with every known secret replaced by `****`, in one pass.
    pub fn mask(&self, text: &str) -> String {
        if self.revealing() {
            return text.to_string();
        }
        let Some(ranges) = self.ranges(text) else { return MASK.to_string() };
        if ranges.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges {
            // Secrets are whole UTF-8 strings, so their matches sit on char boundaries.
            out.push_str(&text[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// A copy of `value` with secret names and known secret values masked.
    pub fn mask_json(&self, value: &Value) -> Value {
        if self.revealing() {
            return value.clone();
        }
        self.mask_json_named(value)
    }

    fn mask_json_named(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let masked = if is_secret_name(k) && (v.is_string() || v.is_number() || v.is_array()) {
                            self.mask_under_secret_name(v)
                        } else {
                            self.mask_json_named(v)
                        };
                        (k.clone(), masked)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.mask_json_named(v)).collect()),
            Value::String(s) => Value::String(self.mask(s)),
            other => other.clone(),
        }
    }

    /// A value under a secret name: scalars become `****`, containers are walked.
    fn mask_under_secret_name(&self, value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|v| self.mask_under_secret_name(v)).collect()),
            Value::Object(_) => self.mask_json_named(value),
            _ => Value::String(MASK.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec() {
        for secret in
            ["access_token", "client_secret", "Password", "X-API-KEY", "apikey", "code", "jwt", "otp", "sessionid"]
        {
            assert!(is_secret_name(secret), "{secret}");
        }
        for plain in ["token_type", "token_url", "session_expires_in", "expires_at", "email", "codename", "status"] {
            assert!(!is_secret_name(plain), "{plain}");
        }
    }

    #[test]
    fn secret_debug_is_masked() {
        let s = Secret::new("hunter2-canary");
        assert_eq!(format!("{s:?} {s}"), "**** ****");
        assert_eq!(masker().mask("pw=hunter2-canary;"), "pw=****;");
    }

    #[test]
    fn wire_forms_and_overlaps_are_masked() {
        masker().learn("my SECRET \"key\"");
        for text in ["/v1/my%20SECRET%20%22key%22/x", "a=my+SECRET+%22key%22&b=1", r#"{"p":"my SECRET \"key\""}"#] {
            let masked = masker().mask(text);
            assert!(!masked.contains("SECRET"), "{text} → {masked}");
        }
        masker().learn("overlap-abcdef");
        masker().learn("xyz-overlap");
        assert_eq!(masker().mask("<xyz-overlap-abcdef>"), "<****>");
        assert_eq!(masker().mask("ünïcode hunter2-canary ✓"), "ünïcode **** ✓");
    }

    /// Issue 23 (cargo-mutants on this file): the 3-character floor, secrets
    /// side by side, an object under a secret name, and masking by name alone.
    #[test]
    fn three_characters_are_enough_and_neighbours_stay_apart() {
        masker().learn("q7Z");
        assert_eq!(masker().mask("<q7Z>"), "<****>");
        masker().learn("side-by-side-one");
        masker().learn("side-by-side-two");
        assert_eq!(masker().mask("side-by-side-oneside-by-side-two!"), "********!");
    }

    #[test]
    fn everything_under_a_secret_name_is_learned_and_masked_by_name() {
        masker().learn_json("", &serde_json::json!({"session": {"id": "nested-session-id-1"}}));
        assert_eq!(masker().mask("id=nested-session-id-1"), "id=****");
        let shown = masker().mask_json(&serde_json::json!({
            "password": "never-learned-pw-2", "otp": 123456, "api_keys": ["never-learned-k-3"], "status": 200
        }));
        assert_eq!(shown, serde_json::json!({"password": "****", "otp": "****", "api_keys": ["****"], "status": 200}));
    }

    /// A masker of its own: what one test learns does not reach the others.
    fn fresh() -> Masker {
        Masker {
            reveal: false.into(),
            overflowed: false.into(),
            known: RwLock::new(index::Tiers::default()),
            prints: RwLock::new(Vec::new()),
        }
    }

    /// Issue 23 (cargo-mutants on this file): a [`Secret`] made without
    /// learning hides nothing until it is learned, and gives its value back.
    #[test]
    fn an_unlearned_secret_is_masked_once_learned() {
        let s = Secret::unlearned("unlearned-canary-7");
        assert_eq!(s.expose(), "unlearned-canary-7");
        assert_eq!(masker().mask("v=unlearned-canary-7"), "v=unlearned-canary-7");
        s.learn();
        assert_eq!(masker().mask("v=unlearned-canary-7"), "v=****");
        assert_eq!(Secret::new("learned-canary-8").expose(), "learned-canary-8");
    }

    /// A JSON-escaped secret is masked up to its closing quote, not past it.
    #[test]
    fn the_json_form_stops_at_the_closing_quote() {
        let m = fresh();
        m.learn("json \"quoted\" secret");
        assert_eq!(m.mask(r#"{"p":"json \"quoted\" secret","q":1}"#), r#"{"p":"****","q":1}"#);
    }

    /// Values under secret names inside arrays, a scalar given with a secret
    /// name, and plain values next to them that stay visible.
    #[test]
    fn json_is_learned_through_arrays_and_plain_values_stay() {
        let m = fresh();
        m.learn_json("", &serde_json::json!({"items": [{"token": "array-token-1"}], "tokens": ["array-token-2"], "id": "plain-id-3"}));
        m.learn_json("refresh_token", &serde_json::json!("direct-token-4"));
        assert_eq!(m.mask("array-token-1 array-token-2 plain-id-3 direct-token-4"), "**** **** plain-id-3 ****");
        let shown = m.mask_json(&serde_json::json!({"api_keys": [{"key_type": "bearer"}, "k-5"]}));
        assert_eq!(shown, serde_json::json!({"api_keys": [{"key_type": "bearer"}, "****"]}));
    }

    /// `--reveal` shows everything, in text and JSON alike.
    #[test]
    fn reveal_shows_what_is_masked_otherwise() {
        let m = fresh();
        m.learn("revealed-secret-6");
        m.set_reveal(true);
        assert!(m.revealing());
        assert_eq!(m.mask("revealed-secret-6"), "revealed-secret-6");
        assert_eq!(m.mask_json(&serde_json::json!({"password": "x"})), serde_json::json!({"password": "x"}));
        m.set_reveal(false);
        assert_eq!(m.mask("revealed-secret-6"), "****");
    }

    /// Overflow is reported only when a value could not be learned.
    #[test]
    fn overflow_is_only_a_value_that_did_not_fit() {
        let m = fresh();
        m.learn("fits-easily-9");
        assert!(!m.overflowed());
        m.learn(&"x".repeat(index::MAX_STATES + 1));
        assert!(m.overflowed());
        assert_eq!(m.mask("fits-easily-9"), "****");
    }

    /// Secrets known by fingerprint: separate ones stay separate, neighbours
    /// are masked one by one, one known both ways is masked once; one matcher
    /// per cache entry, every entry's own.
    #[test]
    fn fingerprinted_secrets_merge_only_where_they_overlap() {
        let m = fresh();
        m.learn("exact-one-val");
        m.learn("both-ways-val");
        let mut first = Fingerprints::new();
        first.add("print-two-val");
        first.add("both-ways-val");
        m.learn_prints(&first);
        m.learn_prints(&first);
        m.learn_prints(&Fingerprints::new());
        let mut second = Fingerprints::new();
        second.add("print-three-val");
        m.learn_prints(&second);
        assert_eq!(m.prints.read().map(|p| p.len()).unwrap_or_default(), 2, "one matcher per entry with prints");
        assert_eq!(m.mask("a exact-one-val b print-two-val c"), "a **** b **** c");
        assert_eq!(m.mask("exact-one-valprint-two-val!"), "********!");
        assert_eq!(m.mask("<both-ways-val> print-three-val"), "<****> ****");
    }

    #[test]
    fn a_hundred_thousand_secrets_learn_and_mask() {
        for i in 0..100_000 {
            // One shared prefix, as tokens of one issuer have.
            masker().learn(&format!("eyJhbGciOiJIUzI1NiJ9.bulk-{i:06}"));
        }
        let text = "eyJhbGciOiJIUzI1NiJ9.".repeat(50_000) + "eyJhbGciOiJIUzI1NiJ9.bulk-099999";
        assert!(masker().mask(&text).ends_with(".****"));
    }
}
