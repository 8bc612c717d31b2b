//! What a YAML scalar means (YAML 1.2's core schema, as serde_yaml reads it),
//! and what a value costs to copy for an alias (the alias-bomb guard's unit).

use saphyr_parser::{ScalarStyle, Tag};
use serde_json::Value;

/// What a document has expanded to so far, or what an alias copies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cost {
    pub nodes: usize,
    pub text: usize,
}

impl Cost {
    /// A node without text of its own: a collection, a number, an unknown alias.
    pub const NODE: Cost = Cost { nodes: 1, text: 0 };

    pub fn scalar(text: &str) -> Self {
        Cost { nodes: 1, text: text.len() }
    }
}

/// What a scalar means (YAML 1.2 core schema, as serde_yaml reads it).
pub fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag
        && tag.is_yaml_core_schema()
        && tag.suffix == "str"
    {
        return Value::String(text.to_string());
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf"
        | "-.INF" => return Value::Null,
        _ => {}
    }
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let radix = |prefix: &str, radix: u32| {
        digits.strip_prefix(prefix).and_then(|d| u64::from_str_radix(d, radix).ok()).map(|n| (n, negative))
    };
    let int = radix("0x", 16).or_else(|| radix("0o", 8)).or_else(|| radix("0b", 2)).or_else(|| {
        (!digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()))
            .then(|| digits.parse::<u64>().ok().map(|n| (n, negative)))
            .flatten()
    });
    if let Some((n, negative)) = int {
        if !negative {
            return Value::from(n);
        }
        if let Some(n) = i64::try_from(n).ok().map(|n| -n) {
            return Value::from(n);
        }
    }
    let float_like = digits.bytes().any(|c| c.is_ascii_digit())
        && digits.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        && matches!(digits.as_bytes().first(), Some(b'0'..=b'9' | b'.'));
    if float_like && let Ok(f) = text.parse::<f64>() {
        return serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null);
    }
    Value::String(text.to_string())
}

/// The nodes and text `v` holds (the cost of copying it for an alias).
pub fn size(v: &Value) -> Cost {
    let sum = |a: Cost, c: Cost| Cost { nodes: a.nodes + c.nodes, text: a.text + c.text };
    match v {
        Value::Array(items) => items.iter().map(size).fold(Cost::NODE, sum),
        Value::Object(map) => {
            map.iter().map(|(k, v)| sum(Cost { nodes: 0, text: k.len() }, size(v))).fold(Cost::NODE, sum)
        }
        Value::String(s) => Cost::scalar(s),
        _ => Cost::NODE,
    }
}
