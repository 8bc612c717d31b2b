//! `ntlm`: an NTLMv2 handshake on one pinned connection (the `ntlm` module);
//! outputs the authenticated response like `api_request`.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use indexmap::IndexMap;

use crate::connector::check::Checker;
use crate::connector::model::{Expect, RequestSpec};
use crate::connector::raw::{Method, RawExpect, RawRequest, Scalar};
use crate::connector::spans::Path;
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// The NTLM-protected URL: http:// or https:// (the same TLS options as every request).
    pub url: String,
    /// HTTP method (default GET).
    pub method: Option<Method>,
    // Boxed: the request keys would make every step of a file as large as this one.
    #[serde(default)]
    pub headers: Box<IndexMap<String, Scalar>>,
    /// JSON body (any value; strings are templates).
    pub json: Option<Box<serde_json::Value>>,
    /// URL-encoded form body.
    pub form: Option<Box<IndexMap<String, Scalar>>>,
    /// Raw body text.
    pub body: Option<String>,
    /// What the authenticated answer must be (default: any 2xx), as the test API's `expect`.
    pub expect: Option<Box<RawExpect>>,
    pub username: Scalar,
    pub password: Scalar,
    /// Windows domain (optional).
    pub domain: Option<Scalar>,
    /// Workstation name sent in the handshake (default `CONNTEST`).
    pub workstation: Option<Scalar>,
}

/// The credentials of an NTLM sign-in, as templates (also `sign_in: {type: ntlm}`).
#[derive(Debug)]
pub struct NtlmCreds {
    pub username: Template,
    pub password: Template,
    pub domain: Option<Template>,
    pub workstation: Option<Template>,
}

impl NtlmCreds {
    pub fn build(
        path: &Path,
        ck: &mut Checker,
        username: &Scalar,
        password: &Scalar,
        domain: Option<&Scalar>,
        workstation: Option<&Scalar>,
    ) -> Self {
        NtlmCreds {
            username: ck.scalar(&path.key("username"), username),
            password: ck.scalar(&path.key("password"), password),
            domain: domain.map(|d| ck.scalar(&path.key("domain"), d)),
            workstation: workstation.map(|w| ck.scalar(&path.key("workstation"), w)),
        }
    }
}

#[derive(Debug)]
pub struct Ntlm {
    /// The authenticated request (never redirected: NTLM holds its connection).
    pub(super) request: RequestSpec,
    pub(super) expect: Expect,
    pub(super) creds: NtlmCreds,
}

impl Ntlm {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        // The step's request keys are the request's own: checked as one.
        let request = RawRequest {
            method: raw.method,
            url: raw.url.clone(),
            headers: (*raw.headers).clone(),
            query: IndexMap::new(),
            json: raw.json.as_deref().cloned(),
            form: raw.form.as_deref().cloned(),
            body: raw.body.clone(),
            follow_redirects: Some(false),
        };
        Ntlm {
            request: ck.request(path, &request),
            expect: ck.expect(&path.key("expect"), raw.expect.as_deref()),
            creds: NtlmCreds::build(
                path,
                ck,
                &raw.username,
                &raw.password,
                raw.domain.as_ref(),
                raw.workstation.as_ref(),
            ),
        }
    }
}
