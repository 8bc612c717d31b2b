//! Semantic checks while turning raw types into the model: names, ids,
//! template syntax and references, refresh restrictions, `update_variables`.

use serde_json::Value;

use super::diagnostic::{Diagnostics, did_you_mean};
use super::model::*;
use super::raw::{RawExpect, RawRequest, Scalar};
use super::spans::Path;
use crate::template::{self, GLOBALS, Template};
use url::Url;

/// Names minijinja itself provides.
const BUILTINS: [&str; 8] = ["range", "dict", "namespace", "loop", "self", "lipsum", "cycler", "joiner"];

pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_lowercase())
        && chars.all(|c| c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit())
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Validation state while building one connector.
pub struct Checker<'a> {
    pub d: Diagnostics<'a>,
    /// Steps a template may read here, with their outputs.
    pub(super) visible: Vec<(String, Vec<String>)>,
    /// Steps that exist but run after this point.
    pub(super) later: Vec<String>,
    /// The step being checked: its templates cannot read its own outputs.
    pub(super) current: Option<String>,
    pub(super) variables: Vec<String>,
    pub(super) has_base_url: bool,
    /// Steps set aside for structural errors: known ids, outputs unchecked.
    pub(super) opaque: Vec<Path>,
    /// The connector file, for steps that name their own lines at run time.
    pub file: String,
    /// When set, every reference a template makes is also recorded here
    /// (what runs from the cache reads: what the cache must keep).
    pub(super) collect: Option<Vec<Vec<String>>>,
}

impl<'a> Checker<'a> {
    /// Checks a template's syntax and every name it reads.
    pub fn template(&mut self, path: &Path, src: &str) -> Template {
        match template::references(src) {
            Err(message) => self.d.value(path, message, "check the `{{ … }}` and `{% … %}` delimiters"),
            Ok(refs) => {
                for (message, suggestion) in template::unknown_callables(src) {
                    let hint = match suggestion {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => "see the filters and functions in connectors/README.md".to_string(),
                    };
                    self.d.value(path, message, hint);
                }
                for r in refs {
                    self.reference(path, &r);
                    if let Some(c) = &mut self.collect {
                        c.push(r);
                    }
                }
            }
        }
        Template::new(src)
    }

    /// A problem at a line of the file (inside a multi-line value).
    pub fn invalid_at(&mut self, line: usize, column: usize, message: impl Into<String>, hint: impl Into<String>) {
        self.d.at(crate::connector::spans::Pos { line, column }, message, hint);
    }

    /// Where the text of the string at `path` starts in the file (found when asked).
    pub fn text_at(&self, path: &Path) -> crate::connector::spans::TextAt {
        self.d.spans.text_at(path)
    }

    /// A problem a step's own checks found in the value at `path`.
    pub fn invalid(&mut self, path: &Path, message: impl Into<String>, hint: impl Into<String>) {
        self.d.value(path, message, hint);
    }

    pub fn scalar(&mut self, path: &Path, s: &Scalar) -> Template {
        self.template(path, &s.0)
    }

    /// Checks every string inside a JSON value as a template.
    pub fn json(&mut self, path: &Path, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                self.template(path, s);
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, item)| {
                self.json(&path.index(i), item);
            }),
            Value::Object(map) => map.iter().for_each(|(k, item)| {
                self.json(&path.key(k.clone()), item);
            }),
            _ => {}
        }
        v.clone()
    }

    fn reference(&mut self, path: &Path, r: &[String]) {
        let Some(first) = r.first() else { return };
        if GLOBALS.contains(&first.as_str()) || BUILTINS.contains(&first.as_str()) {
            return;
        }
        if first == "vars" {
            if let Some(var) = r.get(1)
                && !self.variables.contains(var)
            {
                let mut hint = "declare it under `variables:` (then --var can override it)".to_string();
                if let Some(m) = did_you_mean(var, self.variables.iter().map(String::as_str)) {
                    hint = format!("did you mean `vars.{m}`?");
                }
                self.d.value(path, format!("unknown variable `vars.{var}`"), hint);
            }
            return;
        }
        if let Some((_, outputs)) = self.visible.iter().find(|(id, _)| id == first) {
            if let Some(out) = r.get(1)
                && !outputs.is_empty()
                && !outputs.contains(out)
            {
                let mut hint = format!("outputs of `{first}`: {}", outputs.join(", "));
                if let Some(m) = did_you_mean(out, outputs.iter().map(String::as_str)) {
                    hint = format!("did you mean `{first}.{m}`? {hint}");
                }
                self.d.value(path, format!("step `{first}` has no output `{out}`"), hint);
            }
            return;
        }
        if self.current.as_deref() == Some(first) {
            self.d.value(
                path,
                format!("`{}` refers to the step it is written in", r.join(".")),
                "a step cannot read its own outputs: read them in a later step, `request_parameters` or `test_api`",
            );
            return;
        }
        if self.later.contains(first) {
            self.d.value(
                path,
                format!("`{}` refers to step `{first}`, which runs later", r.join(".")),
                "a step can only read the outputs of steps before it",
            );
            return;
        }
        let mut names: Vec<&str> = vec!["vars"];
        names.extend(self.visible.iter().map(|(id, _)| id.as_str()));
        let mut hint = format!("available: {}", names.join(", "));
        if let Some(m) = did_you_mean(first, names.iter().copied()) {
            hint = format!("did you mean `{m}`? {hint}");
        }
        self.d.value(path, format!("unknown name `{}` in template", r.join(".")), hint);
    }

    pub fn request(&mut self, path: &Path, raw: &RawRequest) -> RequestSpec {
        let url = self.template(&path.key("url"), &raw.url);
        if !raw.url.contains("{{") && Url::parse(&raw.url).is_err() && !self.has_base_url {
            self.d.value(
                &path.key("url"),
                format!("relative URL `{}` needs a `base_url`", raw.url),
                "add `base_url: https://…` at the top of the file, or write an absolute URL",
            );
        }
        let bodies = [raw.json.is_some(), raw.form.is_some(), raw.body.is_some()];
        if bodies.iter().filter(|b| **b).count() > 1 {
            self.d.value(path, "a request has at most one of `json`, `form` and `body`", "keep one body");
        }
        let pairs = |ck: &mut Self, key: &str, map: &indexmap::IndexMap<String, Scalar>| {
            map.iter().map(|(k, v)| (k.clone(), ck.scalar(&path.key(key).key(k.clone()), v))).collect::<Vec<_>>()
        };
        let headers = pairs(self, "headers", &raw.headers);
        let query = pairs(self, "query", &raw.query);
        let body = if let Some(j) = &raw.json {
            BodySpec::Json(self.json(&path.key("json"), j))
        } else if let Some(f) = &raw.form {
            BodySpec::Form(pairs(self, "form", f))
        } else if let Some(b) = &raw.body {
            BodySpec::Text(self.template(&path.key("body"), b))
        } else {
            BodySpec::Empty
        };
        RequestSpec {
            method: raw.method.unwrap_or(Method::Get),
            url,
            headers,
            query,
            body,
            follow_redirects: raw.follow_redirects.unwrap_or(true),
        }
    }

    /// Checks a list of HTTP statuses.
    pub fn statuses(&mut self, path: &Path, statuses: &[u16]) {
        for (i, s) in statuses.iter().enumerate() {
            if !(100..=599).contains(s) {
                self.d.value(&path.index(i), format!("`{s}` is not an HTTP status"), "use a number from 100 to 599");
            }
        }
    }

    /// Checks an `expect` (the test API's or a step's): statuses and JSONPath
    /// assertions, each needing exactly one of `equals` and `exists`.
    pub fn expect(&mut self, path: &Path, raw: Option<&RawExpect>) -> Expect {
        let Some(raw) = raw else { return Expect::default() };
        if let Some(s) = &raw.status {
            self.statuses(&path.key("status"), s);
        }
        let assertions = raw
            .json
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let apath = path.key("json").index(i);
                let parsed = serde_json_path::JsonPath::parse(&a.path)
                    .map_err(|e| {
                        self.d.value(
                            &apath.key("path"),
                            format!("invalid JSONPath `{}`: {e}", a.path),
                            "write it like `$.user.email` (RFC 9535)",
                        )
                    })
                    .ok();
                let check = match (&a.equals, a.exists) {
                    (Some(v), None) => Some(Check::Equals(self.json(&apath.key("equals"), v))),
                    (None, Some(e)) => Some(Check::Exists(e)),
                    _ => {
                        self.d.value(
                            &apath,
                            "an assertion needs exactly one of `equals` and `exists`",
                            "add `equals: …` or `exists: true`",
                        );
                        None
                    }
                };
                Some(Assertion { path: parsed?, source: a.path.clone(), check: check? })
            })
            .collect();
        Expect { status: raw.status.clone(), assertions }
    }
}
