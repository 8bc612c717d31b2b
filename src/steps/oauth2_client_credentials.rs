//! `oauth2_client_credentials`: a token for the client itself, no person involved.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{StepCx, StepDone};
use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::oauth::{Client, ClientAuth};
use crate::secret::Secret;
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// The provider's token endpoint.
    pub token_url: String,
    pub client_id: Scalar,
    pub client_secret: Scalar,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// How the client authenticates at the token endpoint (default basic).
    pub client_auth: Option<ClientAuth>,
}

#[derive(Debug)]
pub struct ClientCredentials {
    token_url: Template,
    client_id: Template,
    client_secret: Template,
    scope: Option<Template>,
    client_auth: ClientAuth,
}

impl ClientCredentials {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        ClientCredentials {
            token_url: ck.template(&path.key("token_url"), &raw.token_url),
            client_id: ck.scalar(&path.key("client_id"), &raw.client_id),
            client_secret: ck.scalar(&path.key("client_secret"), &raw.client_secret),
            scope: raw.scope.as_ref().map(|s| ck.template(&path.key("scope"), s)),
            client_auth: raw.client_auth.unwrap_or(ClientAuth::Basic),
        }
    }

    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let render = |t: &Template, what: &str| t.render(cx.ctx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let client_id = render(&self.client_id, "client_id")?;
        let client_secret = Secret::new(render(&self.client_secret, "client_secret")?);
        let token_url = super::absolute(cx, &render(&self.token_url, "token_url")?)?;
        let mut params = vec![("grant_type".to_string(), "client_credentials".to_string())];
        if let Some(scope) = &self.scope {
            params.push(("scope".into(), render(scope, "scope")?));
        }
        let client = Client {
            token_url: &token_url,
            client_id: &client_id,
            client_secret: Some(&client_secret),
            auth: self.client_auth,
        };
        let (outputs, summary) = client.token(cx.http, params).await?;
        Ok(StepDone { outputs, summary })
    }
}
