//! One problem found in a connector file: where, what, and how to fix it.

use std::path::PathBuf;

use serde::Serialize;

use super::spans::{Path, Pos, Spans};

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: String,
}

/// Collects every diagnostic of one file; positions come from its spans.
pub struct Diagnostics<'a> {
    pub spans: &'a Spans,
    pub list: Vec<Diagnostic>,
    /// What `list` holds, to report each problem once in constant time (a
    /// file with 100k unknown keys must not cost a scan of `list` per key).
    seen: std::collections::HashSet<Diagnostic>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(spans: &'a Spans) -> Self {
        Diagnostics { spans, list: Vec::new(), seen: std::collections::HashSet::new() }
    }

    pub fn at(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.push(Diagnostic { line: pos.line, column: pos.column, message: message.into(), hint: hint.into() });
    }

    /// Adds `d` unless the same problem is already reported.
    pub fn push(&mut self, d: Diagnostic) {
        if self.seen.insert(d.clone()) {
            self.list.push(d);
        }
    }

    /// A problem with the value at `path`.
    pub fn value(&mut self, path: &Path, message: impl Into<String>, hint: impl Into<String>) {
        let pos = self.spans.value(path);
        self.at(pos, message, hint);
    }

    /// A problem with the key naming `path`.
    pub fn key(&mut self, path: &Path, message: impl Into<String>, hint: impl Into<String>) {
        let pos = self.spans.key(path);
        self.at(pos, message, hint);
    }

    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.list.sort_by_key(|d| (d.line, d.column));
        self.list
    }
}

/// A file that failed to load, with every problem found in it.
#[derive(Debug)]
pub struct Invalid {
    pub file: PathBuf,
    pub connector: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// "did you mean" for a misspelt name, from the names that would be valid.
pub fn did_you_mean<'n>(wrong: &str, candidates: impl IntoIterator<Item = &'n str>) -> Option<&'n str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wrong, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
