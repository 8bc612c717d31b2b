//! `form`: values a person types (or CI passes with --input); one output per field.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::connector::check::{Checker, valid_id};
use crate::connector::spans::Path;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// Shown above the prompts.
    pub title: Option<String>,
    pub fields: Vec<RawField>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    /// Output name, `[a-z_][a-z0-9_]*`.
    pub key: String,
    /// Input kind (default text).
    #[serde(rename = "type")]
    pub kind: Option<FieldKind>,
    /// Prompt text (default: the key).
    pub label: Option<String>,
    pub default: Option<crate::connector::raw::Scalar>,
    /// Whether an empty value is refused (default true).
    pub required: Option<bool>,
    /// Whether the value may be cached (default true); `false` for a one-time
    /// code: never in the keyring, asked again on a `same_as_auth` refresh.
    pub store: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Email,
    Number,
    Password,
}

#[derive(Debug)]
pub struct Form {
    pub title: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub key: String,
    pub kind: FieldKind,
    pub label: String,
    pub default: Option<String>,
    pub required: bool,
    /// `store: false`: never cached, never reused from the cache.
    pub store: bool,
}

impl Field {
    /// What a value of this field must be ("is not …"), for errors that may not quote the value.
    pub fn expects(&self) -> &'static str {
        match self.kind {
            FieldKind::Email => "an email address",
            FieldKind::Number => "a number",
            FieldKind::Text | FieldKind::Password => "accepted",
        }
    }

    /// Checks a typed value: the error says what is wrong with it.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        let text = if self.kind == FieldKind::Password { text } else { text.trim() };
        if text.is_empty() {
            return if self.required {
                Err(format!("{} is required", self.label))
            } else {
                Ok(if self.kind == FieldKind::Number { Value::Null } else { Value::String(String::new()) })
            };
        }
        match self.kind {
            FieldKind::Email => {
                let ok = text.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty()
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains('@')
                        && !text.contains(char::is_whitespace)
                });
                if ok { Ok(Value::String(text.into())) } else { Err(format!("`{text}` is not an email address")) }
            }
            FieldKind::Number => {
                if let Ok(i) = text.parse::<i64>() {
                    Ok(Value::from(i))
                } else {
                    text.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .ok_or_else(|| format!("`{text}` is not a number"))
                }
            }
            FieldKind::Text | FieldKind::Password => Ok(Value::String(text.into())),
        }
    }
}

impl Form {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        let mut fields: Vec<Field> = Vec::new();
        if raw.fields.is_empty() {
            ck.d.value(&path.key("fields"), "a form needs at least one field", "add `- {key: email, type: email}`");
        }
        for (i, f) in raw.fields.iter().enumerate() {
            let fpath = path.key("fields").index(i);
            if !valid_id(&f.key) {
                ck.d.value(&fpath.key("key"), format!("invalid field key `{}`", f.key), "use `[a-z_][a-z0-9_]*`");
            } else if fields.iter().any(|x| x.key == f.key) {
                ck.d.value(
                    &fpath.key("key"),
                    format!("duplicate field key `{}`", f.key),
                    "field keys must be unique in a form",
                );
            }
            if let Some(label) = &f.label {
                ck.template(&fpath.key("label"), label);
            }
            if let Some(d) = &f.default {
                ck.template(&fpath.key("default"), &d.0);
            }
            let field = Field {
                key: f.key.clone(),
                kind: f.kind.unwrap_or(FieldKind::Text),
                label: f.label.clone().unwrap_or_else(|| f.key.clone()),
                default: f.default.as_ref().map(|d| d.0.clone()),
                required: f.required.unwrap_or(true),
                store: f.store.unwrap_or(true),
            };
            if let Some(d) = &field.default
                && let Err(e) = field.parse(d)
            {
                ck.d.value(&fpath.key("default"), format!("bad default: {e}"), "give a default that the field accepts");
            }
            fields.push(field);
        }
        if let Some(title) = &raw.title {
            ck.template(&path.key("title"), title);
        }
        Form { title: raw.title.clone().unwrap_or_else(|| raw.id.clone()), fields }
    }
}

impl Form {
    /// The keys of the fields that must never be cached (`store: false`).
    pub fn unstored(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter(|f| !f.store).map(|f| f.key.as_str())
    }
}
