//! Secrets: the [`Secret`] type whose Debug/Display are masked, the rule that
//! decides which names are secret, and the one [`Masker`] every output goes through.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{OnceLock, RwLock};

use serde_json::Value;

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
    known: RwLock<Known>,
}

/// The secrets learned so far, indexed for one pass over a text: a bitmap of
/// two-byte prefixes rules out most positions at once; at the others, the
/// secrets sharing the first three bytes are looked up by hash, once per
/// distinct length. Learning is a hash insert, and masking costs the text's
/// length, however many secrets there are (tokens of one issuer share long
/// prefixes, so a list per prefix would not do).
#[derive(Default)]
struct Known {
    all: HashSet<Box<str>>,
    /// Bit `(b0 << 8) | b1` is set when some secret starts with bytes b0 b1.
    starts: Vec<u64>,
    by_prefix: HashMap<[u8; 3], Bucket>,
}

/// Secrets that start with the same three bytes.
#[derive(Default)]
struct Bucket {
    /// Their distinct lengths, longest first.
    lens: Vec<usize>,
    set: HashSet<Box<[u8]>>,
}

impl Known {
    fn insert(&mut self, value: &str) {
        let b = value.as_bytes();
        if b.len() < MIN_MASK_LEN || self.all.contains(value) {
            return;
        }
        self.all.insert(value.into());
        if self.starts.is_empty() {
            self.starts = vec![0; 1 << 10];
        }
        let pair = (usize::from(b[0]) << 8) | usize::from(b[1]);
        self.starts[pair / 64] |= 1 << (pair % 64);
        let bucket = self.by_prefix.entry([b[0], b[1], b[2]]).or_default();
        if let Err(at) = bucket.lens.binary_search_by(|l| b.len().cmp(l)) {
            bucket.lens.insert(at, b.len());
        }
        bucket.set.insert(b.into());
    }

    /// Byte ranges of `text` covered by some secret, merged where they overlap.
    fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let b = text.as_bytes();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        if self.all.is_empty() || b.len() < MIN_MASK_LEN {
            return ranges;
        }
        for i in 0..=b.len() - MIN_MASK_LEN {
            let pair = (usize::from(b[i]) << 8) | usize::from(b[i + 1]);
            if self.starts[pair / 64] & (1 << (pair % 64)) == 0 {
                continue;
            }
            let Some(bucket) = self.by_prefix.get(&[b[i], b[i + 1], b[i + 2]]) else { continue };
            let found = bucket.lens.iter().find(|&&len| i + len <= b.len() && bucket.set.contains(&b[i..i + len]));
            if let Some(len) = found {
                let end = i + len;
                match ranges.last_mut() {
                    Some(last) if i < last.1 => last.1 = last.1.max(end),
                    _ => ranges.push((i, end)),
                }
            }
        }
        ranges
    }
}

pub fn masker() -> &'static Masker {
    static MASKER: OnceLock<Masker> = OnceLock::new();
    MASKER.get_or_init(|| Masker { reveal: false.into(), known: RwLock::new(Known::default()) })
}

/// The forms a secret takes on the wire besides its own text: percent-encoded
/// for a query or path (`%20`), form-encoded (`+`), and escaped inside JSON.
fn wire_forms(value: &str) -> Vec<String> {
    let mut forms = Vec::with_capacity(3);
    forms.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>());
    forms.push(percent_encoding::utf8_percent_encode(value, PATH_UNSAFE).to_string());
    if let Ok(json) = serde_json::to_string(value) {
        forms.push(json[1..json.len() - 1].to_string());
    }
    forms.retain(|f| f != value);
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
        if self.known.read().is_ok_and(|k| k.all.contains(value)) {
            return;
        }
        let forms = wire_forms(value);
        let Ok(mut known) = self.known.write() else { return };
        known.insert(value);
        for form in &forms {
            known.insert(form);
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
        let Ok(known) = self.known.read() else { return MASK.to_string() };
        let ranges = known.ranges(text);
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
