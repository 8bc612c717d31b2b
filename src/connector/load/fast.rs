//! The load pipeline's fast path: a file the raw types accept, with every
//! ranged number in its range, needs no schema walk (and no parse of the
//! built-in schema); the table of ranges, and the checks that the fast path
//! never skips what the walk reports.

use serde::Deserialize;
use serde_json::Value;

use crate::connector::diagnostic::Diagnostics;
use crate::connector::file::RawConnector;

/// The numbers the schema bounds more tightly than their Rust type does
/// (`schemars(range)`), by key: each key has one range wherever it appears. A
/// test derives the table from the schema.
pub(super) const RANGES: &[(&str, f64, f64)] = &[
    ("digits", 6.0, 8.0),
    ("exp_secs", 1.0, 31_536_000.0),
    ("memory_mb", 16.0, 1024.0),
    ("period", 1.0, 86_400.0),
    ("timeout_ms", 1.0, 60_000.0),
    ("timeout_secs", 1.0, 86_400.0),
];

/// Whether a mapping anywhere in `v` has a key of [`RANGES`] with something
/// other than nothing or a number in its range (the schema walk then decides).
fn out_of_range(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            let bad = RANGES.iter().find(|(key, ..)| key == k).is_some_and(|(_, min, max)| match v {
                Value::Null => false,
                Value::Number(n) => n.as_f64().is_none_or(|n| n < *min || n > *max),
                _ => true,
            });
            bad || out_of_range(v)
        }),
        Value::Array(a) => a.iter().any(out_of_range),
        _ => false,
    }
}

/// The connector, when `doc` can take the fast path: its raw types accept it
/// and every ranged number is in range.
pub(super) fn accepted(doc: &Value) -> Option<RawConnector> {
    if out_of_range(doc) { None } else { RawConnector::deserialize(doc).ok() }
}

/// What the schema walk reports about `text` although the raw types accept it
/// and the fast path of [`load_str`] would skip the walk (`None`: nothing, as
/// it must be). For the tests and the fuzzer.
#[doc(hidden)]
pub fn skipped_by_the_fast_path(text: &str) -> Option<String> {
    let (doc, spans) = crate::connector::spans::parse(text);
    let doc = doc.ok().filter(Value::is_object)?;
    accepted(&doc)?;
    let mut d = Diagnostics::new(&spans);
    crate::connector::structure::check(super::schema(), &doc, &mut d);
    d.list.first().map(|x| format!("{}:{}: {}", x.line, x.column, x.message))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// `RANGES` is every property the schema bounds more tightly than its
    /// integer format does, with its range (the same wherever the key is): a
    /// new `schemars(range)` must join the table, or the fast path would let
    /// its out-of-range numbers through.
    #[test]
    fn the_ranges_are_the_schema_s() {
        fn natural(format: Option<&str>) -> Option<(f64, f64)> {
            Some(match format? {
                "uint8" => (0.0, u8::MAX as f64),
                "uint16" => (0.0, u16::MAX as f64),
                "uint32" => (0.0, u32::MAX as f64),
                "uint64" | "uint" => (0.0, u64::MAX as f64),
                _ => return None,
            })
        }
        type Found = std::collections::BTreeSet<(String, u64, u64)>;
        fn walk(v: &Value, key: &str, out: &mut Found) {
            match v {
                Value::Object(m) => {
                    let bounds = (m.get("minimum").and_then(Value::as_f64), m.get("maximum").and_then(Value::as_f64));
                    if let (Some(min), Some(max)) = bounds
                        && natural(m.get("format").and_then(Value::as_str)) != Some((min, max))
                    {
                        out.insert((key.to_string(), min as u64, max as u64));
                    } else if bounds.0.is_some() || bounds.1.is_some() {
                        assert!(natural(m.get("format").and_then(Value::as_str)).is_some(), "`{key}`: one bound");
                    }
                    for (k, child) in m {
                        if k == "properties"
                            && let Some(props) = child.as_object()
                        {
                            props.iter().for_each(|(name, p)| walk(p, name, out));
                        } else {
                            walk(child, key, out);
                        }
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, key, out)),
                _ => {}
            }
        }
        let mut found = Found::new();
        walk(super::super::schema(), "", &mut found);
        let table: Found =
            super::RANGES.iter().map(|(k, min, max)| (k.to_string(), *min as u64, *max as u64)).collect();
        assert_eq!(found, table, "one range per key, as in the schema");
    }

    /// The fast path skips nothing the walk would report, on every connector
    /// file in the repository (the fuzzer checks mutations of them).
    #[test]
    fn the_fast_path_skips_no_schema_error() {
        fn yaml_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() && !p.ends_with("node_modules") && !p.ends_with("target") {
                    yaml_under(&p, out);
                } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                    out.push(p);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![root.join("src/demo.yaml")];
        for dir in ["connectors", "tests", "bench"] {
            yaml_under(&root.join(dir), &mut files);
        }
        let mut on_fast_path = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            assert_eq!(super::skipped_by_the_fast_path(&text), None, "{}", f.display());
            let (doc, _) = crate::connector::spans::parse(&text);
            on_fast_path += usize::from(doc.is_ok_and(|d| super::accepted(&d).is_some()));
        }
        assert!(files.len() >= 20 && on_fast_path >= 10, "{} files, {on_fast_path} on the fast path", files.len());
    }

    /// Which values keep the fast path: nothing, or a number within the key's
    /// range, ends included; anything else takes the walk.
    #[test]
    fn the_fast_path_takes_ranged_numbers_in_range_only() {
        use serde_json::json;
        for fast in [
            json!({"timeout_secs": 1}),
            json!({"timeout_secs": 86400}),
            json!({"timeout_secs": null}),
            json!([{"digits": 6}, {"digits": 8}]),
        ] {
            assert!(!super::out_of_range(&fast), "{fast}");
        }
        for walk in [
            json!({"timeout_secs": 0}),
            json!({"timeout_secs": 86401}),
            json!({"a": [{"digits": 9}]}),
            json!({"timeout_ms": "5"}),
            json!({"memory_mb": 15.5}),
        ] {
            assert!(super::out_of_range(&walk), "{walk}");
        }
    }

    /// A number out of its range still gets the walk's message, at both ends
    /// of the range; the ends themselves load.
    #[test]
    fn an_out_of_range_number_is_still_reported() {
        let load = |digits: &str| {
            let text =
                format!("name: r\nauth_flow:\n  - {{id: t, type: totp, secret: JBSWY3DPEHPK3PXP, digits: {digits}}}\n");
            super::super::load_str(std::path::Path::new("r.yaml"), &text).err().map(|e| format!("{:?}", e.0))
        };
        for bad in ["5", "9", "6.5e0", "\"7\""] {
            assert!(load(bad).is_some_and(|e| e.contains("digits")), "digits: {bad} is refused: {:?}", load(bad));
        }
        for good in ["6", "8"] {
            assert_eq!(load(good), None, "digits: {good} loads");
        }
    }
}
