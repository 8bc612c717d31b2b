//! Running a `basic_auth` step (the engine layer).

use base64::Engine as _;
use serde_json::{Map, Value};

use super::config::*;
use crate::error::Error;
use crate::http::Request;
use crate::request::{excerpt, join};
use crate::secret::Secret;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::template::Template;

impl BasicAuth {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let render = |t: &Template, what: &str| t.render(cx.ctx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let username = render(&self.username, "username")?;
        let password = Secret::new(render(&self.password, "password")?);
        let token =
            Secret::new(base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.expose())));
        let header = Secret::new(format!("Basic {}", token.expose()));
        let mut summary = format!("Basic credentials for {username}");
        if let Some(url) = &self.verify_url {
            let url = join(cx.base_url, &render(url, "verify_url")?).map_err(Error::failed)?;
            let mut req = Request::new("GET", url);
            req.headers.push(("Authorization".into(), header.expose().to_string()));
            summary = req.summary();
            let resp = cx.http.send(req).await.map_err(Error::from)?;
            summary = format!("{summary} → {}", resp.outcome());
            if !(200..300).contains(&resp.status) {
                return Err(Error::failed(format!("{summary}: credentials rejected ({})", excerpt(&resp.body))));
            }
        }
        let mut outputs = Map::new();
        outputs.insert("username".into(), Value::String(username));
        outputs.insert("token".into(), Value::String(token.expose().to_string()));
        outputs.insert("header".into(), Value::String(header.expose().to_string()));
        Ok(StepDone { outputs, summary })
    }
}
