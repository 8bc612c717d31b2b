//! `oauth2_device`: the device authorization grant (RFC 8628).
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::steps::oauth2::config::{ClientAuth, Endpoints};
use crate::template::Template;

/// How long the step polls when `timeout_secs` is not given.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;
/// Poll interval when the provider names none (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL_SECS: u64 = 5;
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECS: u64 = 5;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// The provider's device authorization endpoint. Optional with `issuer`.
    pub device_authorization_url: Option<String>,
    /// The provider's token endpoint. Optional with `issuer`.
    pub token_url: Option<String>,
    /// OIDC issuer: endpoints not given come from `ISSUER/.well-known/openid-configuration`.
    pub issuer: Option<String>,
    pub client_id: Scalar,
    /// Omit for a public client.
    pub client_secret: Option<Scalar>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// How the client authenticates at the provider (default basic).
    pub client_auth: Option<ClientAuth>,
    /// Seconds to wait for the person (default 300).
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_secs: Option<u64>,
}

#[derive(Debug)]
pub struct Device {
    pub(super) endpoints: Endpoints,
    pub(super) client_id: Template,
    pub(super) client_secret: Option<Template>,
    pub(super) scope: Option<Template>,
    pub(super) client_auth: ClientAuth,
    pub(super) timeout: Duration,
}

impl Device {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        let needed = [
            ("device_authorization_url", raw.device_authorization_url.as_ref()),
            ("token_url", raw.token_url.as_ref()),
        ];
        if raw.timeout_secs.is_some_and(|t| !(1..=86_400).contains(&t)) {
            ck.invalid(&path.key("timeout_secs"), "`timeout_secs` must be from 1 to 86400", "e.g. `timeout_secs: 300`");
        }
        Device {
            endpoints: Endpoints::build(path, ck, raw.issuer.as_ref(), &needed),
            client_id: ck.scalar(&path.key("client_id"), &raw.client_id),
            client_secret: raw.client_secret.as_ref().map(|s| ck.scalar(&path.key("client_secret"), s)),
            scope: raw.scope.as_ref().map(|s| ck.template(&path.key("scope"), s)),
            client_auth: raw.client_auth.unwrap_or(ClientAuth::Basic),
            timeout: Duration::from_secs(raw.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)),
        }
    }
}
