//! Running a `jwt_bearer` step (the engine layer).

use serde_json::{Map, Value};

use super::config::*;
use crate::error::Error;
use crate::oauth::{Client, random_token};
use crate::secret::Secret;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::steps::oauth2::config::ClientAuth;
use crate::template::{Template, render_json};

impl JwtBearer {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let render = |t: &Template, what: &str| t.render(cx.ctx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let key = Secret::new(render(&self.key, "key")?);
        let mut claims = match render_json(&Value::Object(self.claims.clone()), cx.ctx)
            .map_err(|e| Error::failed(format!("claims: {e}")))?
        {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let now = crate::template::unix_now();
        claims.entry("iat").or_insert(Value::from(now));
        claims.entry("exp").or_insert(Value::from(now.saturating_add(self.exp_secs)));
        claims.entry("jti").or_insert(Value::String(random_token(16)));
        let mut header = Map::new();
        header.insert("alg".into(), Value::String(format!("{:?}", self.algorithm)));
        header.insert("typ".into(), Value::String("JWT".into()));
        if let Value::Object(extra) = render_json(&Value::Object(self.headers.clone()), cx.ctx)
            .map_err(|e| Error::failed(format!("headers: {e}")))?
        {
            header.extend(extra);
        }
        let jwt = Secret::new(
            sign(self.algorithm, key.expose(), &header, &claims)
                .map_err(|e| Error::failed(format!("signing with the {:?} key: {e}", self.algorithm)))?,
        );
        let Some(token_url) = &self.token_url else {
            let mut outputs = Map::new();
            outputs.insert("jwt".into(), Value::String(jwt.expose().to_string()));
            return Ok(StepDone { outputs, summary: format!("signed a {:?} JWT", self.algorithm) });
        };
        let token_url = crate::steps::dispatch::absolute(cx, &render(token_url, "token_url")?)?;
        let client_id = match &self.client_id {
            Some(t) => render(t, "client_id")?,
            None => String::new(),
        };
        let mut params = vec![
            ("grant_type".to_string(), GRANT_TYPE.to_string()),
            ("assertion".to_string(), jwt.expose().to_string()),
        ];
        if let Some(scope) = &self.scope {
            params.push(("scope".into(), render(scope, "scope")?));
        }
        let client =
            Client { token_url: &token_url, client_id: &client_id, client_secret: None, auth: ClientAuth::Body };
        let (mut outputs, summary) = client.token(cx.http, params).await?;
        outputs.insert("jwt".into(), Value::String(jwt.expose().to_string()));
        Ok(StepDone { outputs, summary: format!("{:?} assertion, {summary}", self.algorithm) })
    }
}
