//! `basic_auth`: build a Basic `Authorization` header, optionally verified.

use base64::Engine as _;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{StepCx, StepDone};
use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::http::Request;
use crate::request::{excerpt, join};
use crate::secret::Secret;
use crate::template::Template;

pub const OUTPUTS: [&str; 3] = ["username", "token", "header"];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    pub username: Scalar,
    pub password: Scalar,
    /// Must answer 2xx to a GET with the Basic header.
    pub verify_url: Option<String>,
}

#[derive(Debug)]
pub struct BasicAuth {
    username: Template,
    password: Template,
    verify_url: Option<Template>,
}

impl BasicAuth {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        BasicAuth {
            username: ck.scalar(&path.key("username"), &raw.username),
            password: ck.scalar(&path.key("password"), &raw.password),
            verify_url: raw.verify_url.as_ref().map(|u| ck.template(&path.key("verify_url"), u)),
        }
    }

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
