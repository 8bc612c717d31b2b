//! Running a `oauth2_client_credentials` step (the engine layer).

use super::config::*;
use crate::error::Error;
use crate::oauth::Client;
use crate::secret::Secret;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::template::Template;

impl ClientCredentials {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let render = |t: &Template, what: &str| t.render(cx.ctx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let client_id = render(&self.client_id, "client_id")?;
        let client_secret = Secret::new(render(&self.client_secret, "client_secret")?);
        let token_url = self.endpoints.resolve(cx, cx.ctx).await?.get("token_url")?;
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
