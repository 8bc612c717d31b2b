//! One-way fingerprints of the secrets a minimal cache entry drops, so that a
//! later run from that entry still masks them by value (wire forms included)
//! without the entry ever holding the values.
//!
//! A fingerprint is a value's length, the high 32 bits of a rolling hash (a
//! prefilter that lets one pass per length find candidates) and an
//! HMAC-SHA256 under a random per-entry key (the confirmation).

use std::collections::{BTreeMap, HashMap, HashSet};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// At most this many fingerprints per entry: each distinct length costs one
/// pass over every masked text.
pub const MAX_PRINTS: usize = 128;

/// What a cache entry keeps of the secrets it dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprints {
    /// The entry's random HMAC key, hex.
    pub key: String,
    pub prints: Vec<Print>,
}

/// One secret's fingerprint (or one of its wire forms'): never the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Print {
    pub len: usize,
    pub roll: u32,
    pub mac: String,
}

impl Fingerprints {
    /// An empty set under a fresh random key.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        if getrandom::fill(&mut key).is_err() {
            // No randomness: a key from the clock still keeps the values out of the entry.
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            key[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
        }
        Fingerprints { key: hex(&key), prints: Vec::new() }
    }

    /// Adds `value` and the forms it takes on the wire; values shorter than
    /// the masker's minimum are skipped, as the masker skips them.
    pub fn add(&mut self, value: &str) {
        if value.chars().count() < super::MIN_MASK_LEN {
            return;
        }
        let Some(m) = Keyed::new(&self.key) else { return };
        let mut forms = super::wire_forms(value);
        forms.insert(0, value.to_string());
        for form in forms {
            let b = form.as_bytes();
            let print = Print { len: b.len(), roll: (m.roll(b) >> 32) as u32, mac: hex(&m.mac(b)) };
            if self.prints.len() < MAX_PRINTS && !self.prints.contains(&print) {
                self.prints.push(print);
            }
        }
    }
}

/// The key in use: HMAC and the rolling hash's base derived from it.
struct Keyed {
    key: Vec<u8>,
    base: u64,
}

impl Keyed {
    fn new(key_hex: &str) -> Option<Self> {
        let key = unhex(key_hex)?;
        let mut base_mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
        base_mac.update(b"conntest rolling base");
        let bytes = base_mac.finalize().into_bytes();
        // An odd base: multiplication by it is a bijection modulo 2^64.
        let raw = u64::from_le_bytes(bytes[..8].try_into().ok()?);
        Some(Keyed { key, base: raw | 1 })
    }

    fn mac(&self, b: &[u8]) -> Vec<u8> {
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&self.key) else { return Vec::new() };
        m.update(b);
        m.finalize().into_bytes().to_vec()
    }

    fn roll(&self, b: &[u8]) -> u64 {
        b.iter().fold(0, |h, &c| add(mul(h, self.base), u64::from(c)))
    }
}

// The rolling hash is a polynomial modulo 2^64 (wrapping arithmetic): no
// division in the inner loop; the HMAC confirms every candidate.
fn mul(a: u64, b: u64) -> u64 {
    a.wrapping_mul(b)
}

fn add(a: u64, b: u64) -> u64 {
    a.wrapping_add(b)
}

/// Fingerprints loaded for masking: by length, then by rolling hash.
pub(super) struct Matcher {
    keyed: Keyed,
    by_len: BTreeMap<usize, HashMap<u32, HashSet<Vec<u8>>>>,
    /// Per length, a 4096-bit filter of the rolling hashes' top 12 bits: most
    /// positions are ruled out by one bit test, before any map lookup.
    filters: BTreeMap<usize, [u64; 64]>,
}

impl Matcher {
    pub(super) fn new(f: &Fingerprints) -> Option<Self> {
        let keyed = Keyed::new(&f.key)?;
        let mut by_len: BTreeMap<usize, HashMap<u32, HashSet<Vec<u8>>>> = BTreeMap::new();
        for p in f.prints.iter().take(MAX_PRINTS).filter(|p| p.len >= super::MIN_MASK_LEN) {
            let Some(mac) = unhex(&p.mac) else { continue };
            by_len.entry(p.len).or_default().entry(p.roll).or_default().insert(mac);
        }
        let mut filters = BTreeMap::new();
        for (len, rolls) in &by_len {
            let bits: &mut [u64; 64] = filters.entry(*len).or_insert([0; 64]);
            for roll in rolls.keys() {
                let top = (roll >> 20) as usize;
                bits[top / 64] |= 1 << (top % 64);
            }
        }
        Some(Matcher { keyed, by_len, filters })
    }

    /// Byte ranges of `text` whose fingerprint is known: one rolling pass per
    /// distinct length, an HMAC only where the rolling hash agrees.
    pub(super) fn ranges(&self, text: &[u8], out: &mut Vec<(usize, usize)>) {
        for (&len, rolls) in &self.by_len {
            if text.len() < len {
                continue;
            }
            // base^(len-1), to take the leaving byte out.
            let top = (1..len).fold(1, |acc, _| mul(acc, self.keyed.base));
            let Some(bits) = self.filters.get(&len) else { continue };
            let mut h = self.keyed.roll(&text[..len]);
            let mut i = 0;
            loop {
                let bit = (h >> 52) as usize;
                if bits[bit / 64] & (1 << (bit % 64)) != 0
                    && let Some(macs) = rolls.get(&((h >> 32) as u32))
                    && macs.contains(&self.keyed.mac(&text[i..i + len]))
                {
                    out.push((i, i + len));
                }
                if i + len >= text.len() {
                    break;
                }
                let gone = mul(u64::from(text[i]), top);
                h = add(mul(h.wrapping_sub(gone), self.keyed.base), u64::from(text[i + len]));
                i += 1;
            }
        }
    }
}

/// Every string `value` holds under a secret name (the masker's own rule).
pub fn secret_strings(name: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if super::is_secret_name(k) || super::is_secret_name(name) {
                    all_strings(v, out);
                } else {
                    secret_strings(k, v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| secret_strings(name, v, out)),
        _ if super::is_secret_name(name) => all_strings(value, out),
        _ => {}
    }
}

/// Every string inside `value`.
pub fn all_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| all_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| all_strings(v, out)),
        _ => {}
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 128 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_print_finds_the_value_and_its_wire_forms_but_holds_none() {
        let mut f = Fingerprints::new();
        f.add("refresh \"tok\" 42");
        let json = serde_json::to_string(&f).unwrap_or_default();
        assert!(!json.contains("tok"), "{json}");
        let m = Matcher::new(&f).expect("a valid key");
        for text in ["x refresh \"tok\" 42 y", "a=refresh+%22tok%22+42", r#"{"t":"refresh \"tok\" 42"}"#] {
            let mut found = Vec::new();
            m.ranges(text.as_bytes(), &mut found);
            assert_eq!(found.len(), 1, "{text}");
        }
        let mut none = Vec::new();
        m.ranges(b"refresh \"tok\" 43 and nothing else", &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn prints_are_capped() {
        let mut f = Fingerprints::new();
        for i in 0..1_000 {
            f.add(&format!("secret-value-{i}"));
        }
        assert_eq!(f.prints.len(), MAX_PRINTS);
    }
}

#[cfg(test)]
mod cost {
    use super::*;

    /// Measures masking 1 MiB against a full set of fingerprints
    /// (`cargo test --release --lib fingerprint_cost -- --ignored --nocapture`).
    #[test]
    #[ignore = "a benchmark"]
    fn fingerprint_cost() {
        let mut f = Fingerprints::new();
        for i in 0..40 {
            f.add(&format!("refresh-token-{i:04}-{}", "x".repeat(i)));
        }
        let m = Matcher::new(&f).expect("key");
        let lens = m.by_len.len();
        let text = "lorem ipsum dolor sit amet ".repeat(40_000);
        let started = std::time::Instant::now();
        let mut found = Vec::new();
        m.ranges(text.as_bytes(), &mut found);
        println!("{} prints, {lens} lengths, {} bytes: {:?}", f.prints.len(), text.len(), started.elapsed());
    }
}
