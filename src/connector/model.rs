//! The validated building blocks a connector is made of — requests, parameters,
//! cookies, refresh rules, test API expectations. They cannot be invalid.

use serde_json::Value;

pub use super::raw::{Location, Method};
use crate::template::Template;

/// SHA-256 of a connector file, in hex; hashed when first asked for, so that
/// `validate`, which never asks, does not pay for it.
#[derive(Debug, Default)]
pub struct Fingerprint {
    text: String,
    hex: std::sync::OnceLock<String>,
}

impl Fingerprint {
    pub fn of(text: &str) -> Self {
        Fingerprint { text: text.to_string(), hex: std::sync::OnceLock::new() }
    }

    pub fn as_str(&self) -> &str {
        use sha2::Digest as _;
        self.hex.get_or_init(|| crate::template::hex(&sha2::Sha256::digest(self.text.as_bytes())))
    }
}

/// Which answers mean "the credentials expired".
#[derive(Debug)]
pub struct RefreshOn {
    pub status: Vec<u16>,
    pub body: Option<regex::Regex>,
}

impl Default for RefreshOn {
    fn default() -> Self {
        RefreshOn { status: vec![401], body: None }
    }
}

impl RefreshOn {
    /// Whether an answer says the credentials expired; with the reason.
    pub fn matches(&self, status: u16, body: &serde_json::Value) -> Option<String> {
        if self.status.contains(&status) {
            return Some(format!("status {status}"));
        }
        let re = self.body.as_ref()?;
        let text = match body {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        re.is_match(&text).then(|| format!("the body matches `{}`", re.as_str()))
    }
}

#[derive(Debug, Clone, Default)]
pub struct CookiePolicy {
    pub forward_all: bool,
    pub double_submit: Option<DoubleSubmit>,
}

#[derive(Debug, Clone)]
pub struct DoubleSubmit {
    pub cookie: String,
    pub name: String,
    pub location: Location,
}

#[derive(Debug)]
pub struct Parameter {
    pub name: String,
    pub location: Location,
    pub value: Template,
}

#[derive(Debug)]
pub struct RequestSpec {
    pub method: Method,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub query: Vec<(String, Template)>,
    pub body: BodySpec,
    pub follow_redirects: bool,
}

#[derive(Debug)]
pub enum BodySpec {
    Empty,
    /// Any JSON value whose strings are templates.
    Json(Value),
    Form(Vec<(String, Template)>),
    Text(Template),
}

#[derive(Debug)]
pub struct TestApi {
    pub name: String,
    pub request: RequestSpec,
    /// Accepted statuses; `None` means any 2xx.
    pub status: Option<Vec<u16>>,
    pub assertions: Vec<Assertion>,
}

/// What a response must be: statuses (`None`: any 2xx) and JSONPath assertions.
#[derive(Debug, Default)]
pub struct Expect {
    pub status: Option<Vec<u16>>,
    pub assertions: Vec<Assertion>,
}

#[derive(Debug)]
pub struct Assertion {
    pub path: serde_json_path::JsonPath,
    pub source: String,
    pub check: Check,
}

#[derive(Debug)]
pub enum Check {
    /// The first match must equal this (strings are templates).
    Equals(Value),
    Exists(bool),
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }
}
