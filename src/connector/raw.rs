//! The building blocks of a connector file as serde reads them: scalars,
//! requests, parameters, cookies, sign-in and expectations. Step configs use
//! them; `file` puts them together with the steps.

use indexmap::IndexMap;

use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRefreshOn {
    /// Statuses that mean the credentials expired (default `[401]`).
    pub status: Option<Vec<u16>>,
    /// A regular expression: an answer whose body matches also means expired.
    pub body_matches: Option<String>,
}

/// A signature every resource call carries.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawSignIn {
    /// OAuth 1.0a: each call signed with a fresh nonce and timestamp.
    Oauth1(RawSignInOAuth1),
    /// NTLM: the connection of each call is authenticated first.
    Ntlm(RawSignInNtlm),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSignInOAuth1 {
    pub consumer_key: Scalar,
    pub consumer_secret: Scalar,
    pub token: Scalar,
    pub token_secret: Scalar,
    /// HMAC-SHA1 (default), HMAC-SHA256 or PLAINTEXT.
    pub signature_method: Option<SignatureMethod>,
    pub realm: Option<String>,
}

/// A client certificate (mutual TLS), used for every request of the connector:
/// token endpoints, NTLM and the test API. Paths are templates.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM file with the client certificate (and its chain).
    pub client_cert: Scalar,
    /// PEM file with the certificate's private key (not encrypted).
    pub client_key: Scalar,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSignInNtlm {
    pub username: Scalar,
    pub password: Scalar,
    pub domain: Option<Scalar>,
    pub workstation: Option<Scalar>,
}

/// A scalar template: strings, numbers and booleans are all accepted as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Scalar(s)),
            serde_json::Value::Number(n) => Ok(Scalar(n.to_string())),
            serde_json::Value::Bool(b) => Ok(Scalar(b.to_string())),
            other => Err(serde::de::Error::custom(format!("expected a string, found {other}"))),
        }
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Template".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "number", "boolean"],
            "description": "A minijinja template, e.g. \"Bearer {{ login.body.access_token }}\""
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCookies {
    /// One cookie jar for every request of a run, the test API included.
    #[serde(default)]
    pub forward_all: bool,
    /// CSRF double-submit: resend a cookie's value under another name.
    pub double_submit: Option<RawDoubleSubmit>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDoubleSubmit {
    /// Incoming cookie name, e.g. `csrftoken`.
    pub cookie: String,
    /// Name to send its value as, e.g. `X-CSRFToken`.
    pub name: String,
    /// Where to send it.
    #[serde(rename = "in")]
    pub location: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Header,
    Query,
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

/// An HTTP request; every string is a template.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// HTTP method (default GET).
    pub method: Option<Method>,
    /// Absolute, or relative to `base_url`.
    pub url: String,
    #[serde(default)]
    pub headers: IndexMap<String, Scalar>,
    #[serde(default)]
    pub query: IndexMap<String, Scalar>,
    /// JSON body (any value; strings are templates).
    pub json: Option<serde_json::Value>,
    /// URL-encoded form body.
    pub form: Option<IndexMap<String, Scalar>>,
    /// Raw body text.
    pub body: Option<String>,
    /// Follow redirects, at most 10 (default true).
    pub follow_redirects: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawParameter {
    pub name: String,
    #[serde(rename = "in")]
    pub location: Location,
    pub value: Scalar,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTestApi {
    pub name: Option<String>,
    /// The test API's request. Unlike a step's, it does not follow redirects
    /// unless `follow_redirects: true` (default false here): a redirect usually
    /// means a login page, i.e. the credentials did not work.
    pub request: RawRequest,
    pub expect: Option<RawExpect>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// Accepted statuses (default: any 2xx).
    pub status: Option<Vec<u16>>,
    /// JSONPath (RFC 9535) assertions on the body.
    #[serde(default)]
    pub json: Vec<RawAssertion>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAssertion {
    pub path: String,
    /// The value found must equal this (strings are templates).
    pub equals: Option<serde_json::Value>,
    /// The path must (true) or must not (false) match.
    pub exists: Option<bool>,
}

/// How OAuth 1.0a requests are signed (RFC 5849 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
pub enum SignatureMethod {
    #[serde(rename = "HMAC-SHA1")]
    HmacSha1,
    #[serde(rename = "HMAC-SHA256")]
    HmacSha256,
    #[serde(rename = "PLAINTEXT")]
    Plaintext,
}

impl SignatureMethod {
    pub fn name(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
            SignatureMethod::Plaintext => "PLAINTEXT",
        }
    }
}
