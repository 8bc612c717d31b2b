//! `oauth2_client_credentials`: a token for the client itself, no person involved.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::steps::oauth2::config::ClientAuth;
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// The provider's token endpoint. Optional with `issuer`.
    pub token_url: Option<String>,
    /// OIDC issuer: `token_url` from `ISSUER/.well-known/openid-configuration` when not given.
    pub issuer: Option<String>,
    pub client_id: Scalar,
    pub client_secret: Scalar,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// How the client authenticates at the token endpoint (default basic).
    pub client_auth: Option<ClientAuth>,
}

#[derive(Debug)]
pub struct ClientCredentials {
    pub(super) endpoints: crate::steps::oauth2::config::Endpoints,
    pub(super) client_id: Template,
    pub(super) client_secret: Template,
    pub(super) scope: Option<Template>,
    pub(super) client_auth: ClientAuth,
}

impl ClientCredentials {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        ClientCredentials {
            endpoints: crate::steps::oauth2::config::Endpoints::build(
                path,
                ck,
                raw.issuer.as_ref(),
                &[("token_url", raw.token_url.as_ref())],
            ),
            client_id: ck.scalar(&path.key("client_id"), &raw.client_id),
            client_secret: ck.scalar(&path.key("client_secret"), &raw.client_secret),
            scope: raw.scope.as_ref().map(|s| ck.template(&path.key("scope"), s)),
            client_auth: raw.client_auth.unwrap_or(ClientAuth::Basic),
        }
    }
}
