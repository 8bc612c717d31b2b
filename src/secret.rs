//! Secrets: the [`Secret`] type whose Debug/Display are masked, the rule that
//! decides which names are secret, and the one [`Masker`] every output goes through.

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
    known: RwLock<Vec<String>>,
}

pub fn masker() -> &'static Masker {
    static MASKER: OnceLock<Masker> = OnceLock::new();
    MASKER.get_or_init(|| Masker { reveal: false.into(), known: RwLock::new(Vec::new()) })
}

impl Masker {
    pub fn set_reveal(&self, reveal: bool) {
        self.reveal.store(reveal, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn revealing(&self) -> bool {
        self.reveal.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Remembers `value` as secret: every later occurrence is masked.
    pub fn learn(&self, value: &str) {
        if value.chars().count() < MIN_MASK_LEN {
            return;
        }
        let Ok(mut known) = self.known.write() else { return };
        if !known.iter().any(|k| k == value) {
            known.push(value.to_string());
            // Longest first, so a secret that contains another is masked whole.
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
        // A secret also travels percent- and base64-encoded in URLs and headers.
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        if encoded != value && !known.contains(&encoded) {
            known.push(encoded);
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
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

    /// Text with every known secret replaced by `****`.
    pub fn mask(&self, text: &str) -> String {
        if self.revealing() {
            return text.to_string();
        }
        let Ok(known) = self.known.read() else { return MASK.to_string() };
        let mut out = text.to_string();
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
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
}
