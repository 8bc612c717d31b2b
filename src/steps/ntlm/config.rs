//! `ntlm`: an NTLMv2 handshake on one pinned connection (the `ntlm` module);
//! outputs the authenticated response like `api_request`.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
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
    /// The NTLM-protected URL (GET).
    pub url: String,
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
    pub(super) url: Template,
    pub(super) creds: NtlmCreds,
}

impl Ntlm {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        Ntlm {
            url: ck.template(&path.key("url"), &raw.url),
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
