//! What goes over the wire and comes back: requests, bodies, responses, the
//! exchange log's records, and why a request got no answer. Plain data, shared
//! by the reqwest client (`http`) and the pinned NTLM connection (`ntlm`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use url::Url;

use crate::connector::model::Location;
use crate::secret::{is_secret_name, masker};

pub const MAX_REDIRECTS: usize = 10;
/// Responses larger than this are refused rather than read into memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// All the response bodies one connector's run may receive, redirects and
/// retries included: what bounds the memory a run holds (outputs, `-v`, HAR).
pub const MAX_RUN_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub follow_redirects: bool,
    /// Authenticate the connection with NTLM (one pinned connection, no redirects).
    pub ntlm: Option<NtlmAuth>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(Value),
    Form(Vec<(String, String)>),
    Text(String),
}

impl Request {
    pub fn new(method: &str, url: Url) -> Self {
        Request {
            method: method.to_string(),
            url,
            headers: Vec::new(),
            body: Body::Empty,
            follow_redirects: true,
            ntlm: None,
        }
    }

    /// Adds `name=value` where `location` says: a header, a query parameter, or a body field.
    /// Adds a parameter where it says. `in: body` needs a JSON-object or form
    /// body (a body-less POST/PUT/PATCH gets a form body): anything else is an
    /// error, never a parameter silently dropped.
    pub fn add(&mut self, location: Location, name: &str, value: &str) -> Result<(), String> {
        match location {
            Location::Header => {
                self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                self.headers.push((name.to_string(), value.to_string()));
            }
            Location::Query => {
                self.url.query_pairs_mut().append_pair(name, value);
            }
            Location::Body if matches!(self.method.as_str(), "GET" | "HEAD") => {
                return Err(format!("`{name}` is `in: body` but a {} request carries no body", self.method));
            }
            Location::Body => match &mut self.body {
                Body::Json(Value::Object(map)) => {
                    map.insert(name.to_string(), Value::String(value.to_string()));
                }
                Body::Form(pairs) => {
                    pairs.retain(|(n, _)| n != name);
                    pairs.push((name.to_string(), value.to_string()));
                }
                Body::Empty => {
                    self.body = Body::Form(vec![(name.to_string(), value.to_string())]);
                }
                _ => {
                    return Err(format!(
                        "`{name}` is `in: body` but this {} request's body is neither a JSON object nor a form",
                        self.method
                    ));
                }
            },
        }
        Ok(())
    }

    pub fn summary(&self) -> String {
        format!("{} {}", self.method, self.url)
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON, or the text when the body is not JSON.
    pub body: Value,
    /// Cookies set while answering this request (redirect hops included).
    pub cookies: Map<String, Value>,
    /// The statuses of the redirects followed on the way, and where it ended.
    pub hops: Vec<u16>,
    pub final_url: Option<Url>,
}

impl Response {
    /// `200`, or with redirects followed `302 → 200 /login`: what a request line shows.
    pub fn outcome(&self) -> String {
        match &self.final_url {
            Some(url) if !self.hops.is_empty() => {
                let hops: Vec<String> = self.hops.iter().map(u16::to_string).collect();
                let path = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_string(),
                };
                format!("{} → {} {path}", hops.join(" → "), self.status)
            }
            _ => self.status.to_string(),
        }
    }
}

/// Called with every exchange as it completes (`-v`, HAR).
pub type ExchangeHook = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// One request and its answer, as `-v` and HAR show them.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub started: SystemTime,
    pub duration: Duration,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// Which connector, flow and step sent it (HAR pages); filled by the ledger.
    pub source: Option<Source>,
}

impl Exchange {
    /// The record of `req` going out now with these headers and body; the
    /// answer (or the error) is filled in when it comes.
    pub fn begin(req: &Request, headers: Vec<(String, String)>, body: Option<String>) -> Exchange {
        Exchange {
            started: SystemTime::now(),
            duration: Duration::ZERO,
            method: req.method.clone(),
            url: req.url.to_string(),
            request_headers: headers,
            request_body: body,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
            source: None,
        }
    }
}

/// Where an exchange belongs in a report: the HAR page `CONNECTOR/FLOW` and
/// the step id (`test_api` for the test API).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub page: String,
    pub step: String,
}

/// Who signs in with NTLM, and from which workstation name.
#[derive(Debug, Clone)]
pub struct NtlmAuth {
    pub username: String,
    pub password: crate::secret::Secret,
    pub domain: String,
    pub workstation: String,
}

/// Why a request got no usable answer: `unreachable` when no HTTP response
/// came back at all (refused, reset, DNS, TLS, timeout: exit 5).
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    pub hint: Option<String>,
    pub unreachable: bool,
}

impl SendError {
    pub fn failed(message: impl Into<String>) -> Self {
        SendError { message: message.into(), hint: None, unreachable: false }
    }
    pub fn unreachable(message: impl Into<String>, hint: impl Into<String>) -> Self {
        SendError { message: message.into(), hint: Some(hint.into()), unreachable: true }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why an HTTP request got no answer, or another failure of it.
impl From<SendError> for crate::error::Error {
    fn from(e: SendError) -> Self {
        if e.unreachable {
            crate::error::Error::Unreachable { message: e.message, hint: e.hint }
        } else {
            crate::error::Error::Failed { message: e.message }
        }
    }
}

/// The headers and body text `req` goes out with (a content type added for JSON and forms).
pub fn wire_body(req: &Request) -> (Vec<(String, String)>, Option<String>) {
    let mut headers = req.headers.clone();
    let has_content_type = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    let body = match &req.body {
        Body::Empty => None,
        Body::Json(v) => {
            if !has_content_type {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(v.to_string())
        }
        Body::Form(pairs) => {
            if !has_content_type {
                headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
            }
            Some(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
        }
        Body::Text(t) => Some(t.clone()),
    };
    (headers, body)
}

/// Why `value` cannot be an HTTP header value: a control character (a
/// newline from a template, most often) would end the header or forge another.
pub fn header_value_problem(value: &str) -> Option<String> {
    let bad = value.chars().find(|c| c.is_control() && *c != '\t')?;
    let name = match bad {
        '\n' => "a newline".to_string(),
        '\r' => "a carriage return".to_string(),
        c => format!("the control character U+{:04X}", u32::from(c)),
    };
    Some(format!("the value holds {name}; a header value is one line (trim it, e.g. `{{{{ x | trim }}}}`)"))
}

/// Teaches the masker the user-info of a URL (`http://ann:pw@host`, a
/// proxy's or a `base_url`'s): `ann:pw` as it is written and decoded, and the
/// password alone, so the URL prints as `http://****@host` everywhere.
pub fn learn_url_credentials(url: &Url) {
    let m = masker();
    let (user, password) = (url.username(), url.password().unwrap_or_default());
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    if !password.is_empty() {
        m.learn(&format!("{user}:{password}"));
        m.learn(&format!("{}:{}", decode(user), decode(password)));
        m.learn(password);
        m.learn(&decode(password));
    } else if !user.is_empty() {
        m.learn(user);
        m.learn(&decode(user));
    }
}

/// [`learn_url_credentials`] for a URL given as text (an environment
/// variable's), parsed leniently: `user:pw@proxy:3128` without a scheme too.
pub fn learn_url_text_credentials(text: &str) {
    let parsed = Url::parse(text).ok().filter(|u| u.has_host()).or_else(|| Url::parse(&format!("http://{text}")).ok());
    if let Some(url) = parsed {
        learn_url_credentials(&url);
    }
}

/// Teaches the masker the secrets a request carries, before anything can print it.
pub fn learn_request_secrets(req: &Request) {
    let m = masker();
    learn_url_credentials(&req.url);
    for (name, value) in &req.headers {
        if is_secret_name(name) || name.eq_ignore_ascii_case("proxy-authorization") {
            m.learn(value);
            if let Some((_, credential)) = value.split_once(' ') {
                m.learn(credential.trim());
            }
        }
    }
    for (name, value) in req.url.query_pairs() {
        if is_secret_name(&name) {
            m.learn(&value);
        }
    }
    match &req.body {
        Body::Json(v) => m.learn_json("", v),
        Body::Form(pairs) => pairs.iter().filter(|(n, _)| is_secret_name(n)).for_each(|(_, v)| m.learn(v)),
        _ => {}
    }
}

/// Headers that carry credentials: never sent on to another origin.
pub fn is_credential_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "authorization" | "proxy-authorization" | "cookie")
        || is_secret_name(&lower)
        || ["auth", "api-key", "apikey", "session", "csrf", "xsrf"].iter().any(|w| lower.contains(w))
}

/// Teaches the masker the secret-named parameters of a redirect's `Location`,
/// query and fragment (`#access_token=…`) alike, before any line shows it.
pub fn learn_url_secrets(base: &Url, location: &str) {
    let Ok(url) = base.join(location) else { return };
    let m = masker();
    let fragment = url.fragment().unwrap_or_default();
    let pairs = url.query_pairs().chain(url::form_urlencoded::parse(fragment.as_bytes()));
    for (name, value) in pairs {
        if is_secret_name(&name) {
            m.learn(&value);
        }
    }
}

/// A response body as a step's outputs see it (SPEC §2 "Responses"): an
/// `application/x-www-form-urlencoded` answer (OAuth 1 servers, GitHub's token
/// endpoint) becomes a map of strings, so `{{ step.body.access_token }}` works
/// and its fields are masked by name; otherwise as [`parse_body`].
pub fn parse_response_body(headers: &[(String, String)], text: &str) -> Value {
    if is_form_encoded(headers) { parse_form(text) } else { parse_body(text) }
}

/// Whether the `Content-Type` among `headers` (lower-case names) is a form.
pub fn is_form_encoded(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(n, v)| {
        n == "content-type"
            && v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    })
}

/// `a=b&c=d` as `{"a": "b", "c": "d"}` (a repeated name keeps its last value).
pub fn parse_form(text: &str) -> Value {
    Value::Object(
        url::form_urlencoded::parse(text.trim().as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect(),
    )
}

/// What one parsed value holds in memory, with its share of its container and
/// of the copy templates read (`context`): a generous average, so that the
/// estimate errs on the side of stopping.
pub const VALUE_BYTES: usize = 64;

/// About how many bytes parsing a response body (and keeping it in the
/// exchange log and as outputs) holds beyond the wire bytes, counted before it
/// is parsed: a 16 MiB JSON array of small numbers is 8 M values, ~0.9 GB.
pub fn parsed_size(headers: &[(String, String)], text: &str) -> usize {
    let trimmed = text.trim_start();
    let values = if is_form_encoded(headers) {
        text.bytes().filter(|b| *b == b'&').count() + 1
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        json_values(text)
    } else {
        1
    };
    text.len().saturating_mul(2).saturating_add(values.saturating_mul(VALUE_BYTES))
}

/// An upper bound on the values (and keys) a JSON text parses into: its
/// separators and openers outside strings, plus one.
fn json_values(text: &str) -> usize {
    let (mut in_string, mut escaped, mut values) = (false, false, 1usize);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b':' | b'[' | b'{' => values += 1,
                _ => {}
            }
        }
    }
    values
}

/// About how many bytes `value` holds in memory (see [`VALUE_BYTES`]).
pub fn value_size(value: &Value) -> usize {
    let (mut total, mut stack) = (0usize, vec![value]);
    while let Some(v) = stack.pop() {
        total = total.saturating_add(VALUE_BYTES);
        match v {
            Value::String(s) => total = total.saturating_add(s.len()),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (k, v) in map {
                    total = total.saturating_add(k.len() + VALUE_BYTES);
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
    total
}

pub fn parse_body(text: &str) -> Value {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = serde_json::from_str(text)
    {
        return v;
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod size_tests {
    use super::*;

    #[test]
    fn parsed_sizes_count_values_not_only_bytes() {
        let numbers = format!("[{}1]", "1,".repeat(1000));
        assert_eq!(json_values(&numbers), 1002);
        // Separators inside strings are not values.
        assert_eq!(json_values(r#"{"a": "x,y:[{\"z,"}"#), 3);
        assert!(parsed_size(&[], &numbers) > 1000 * VALUE_BYTES);
        assert_eq!(parsed_size(&[], "plain"), 10 + VALUE_BYTES);
        let form = [("content-type".to_string(), "application/x-www-form-urlencoded".to_string())];
        assert_eq!(parsed_size(&form, "a=1&b=2"), 14 + 2 * VALUE_BYTES);
        let v = serde_json::json!({"k": ["ab", 1]});
        assert_eq!(value_size(&v), 5 * VALUE_BYTES + 1 + 2);
    }
}
