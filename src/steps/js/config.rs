//! `js`: run a JavaScript function body in the sandboxed engine (`crate::js`)
//! with `params` in scope; the returned object's keys become the outputs.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connector::check::Checker;
use crate::connector::spans::{Path, TextAt};
use crate::js::Limits;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// Values the code reads as `params.NAME` (templates are rendered first).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// A function body: `params` is in scope; it must `return {…}`.
    pub code: String,
    /// Time limit in milliseconds (default 1000).
    #[schemars(range(min = 1, max = 60000))]
    pub timeout_ms: Option<u64>,
    /// Memory limit in MiB (default 32).
    #[schemars(range(min = 16, max = 1024))]
    pub memory_mb: Option<u64>,
}

#[derive(Debug)]
pub struct Js {
    pub(super) params: Map<String, Value>,
    pub(super) code: String,
    pub(super) limits: Limits,
    /// Where the code starts in the connector file, for error messages.
    pub(super) file: String,
    /// Where the code's text starts: indexed only when an error needs it.
    pub(super) code_at: TextAt,
}

impl Js {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        let params =
            raw.params.iter().map(|(k, v)| (k.clone(), ck.json(&path.key("params").key(k.clone()), v))).collect();
        let code_at = ck.text_at(&path.key("code"));
        if let Err(e) = crate::js::check(&raw.code) {
            let first_line = code_at.line();
            let line = e.line.map(|l| first_line + l - 1).unwrap_or(first_line);
            ck.invalid_at(
                line,
                1,
                format!("JavaScript: {}", e.message),
                "fix the code; it runs as a function body with `params` in scope",
            );
        }
        Js {
            params,
            code: raw.code.clone(),
            limits: Limits {
                timeout: Duration::from_millis(raw.timeout_ms.unwrap_or(1000)),
                memory_bytes: (raw.memory_mb.unwrap_or(32) as usize) << 20,
            },
            file: ck.file.clone(),
            code_at,
        }
    }
}
