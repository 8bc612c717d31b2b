//! `callback`: open a URL as written and capture every query parameter of the
//! first request the browser makes on the redirect path.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::oauth2::Redirect;
use super::{StepCx, StepDone};
use crate::connector::check::Checker;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::listener::{Listener, through_browser};
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Opened as written; put `{{ redirect_uri }}` where the provider wants it.
    pub authorize_url: String,
    /// Loopback port of the redirect listener; 0 (default) = any free port.
    pub redirect_port: Option<u16>,
    /// Path of the redirect URI (default `/callback`).
    pub redirect_path: Option<String>,
    /// Percent-decode the captured values (default true).
    pub decode_params: Option<bool>,
    /// Seconds to wait for the browser (default 300).
    #[schemars(range(min = 1))]
    pub timeout_secs: Option<u64>,
}

#[derive(Debug)]
pub struct Callback {
    authorize_url: Template,
    decode: bool,
    redirect: Redirect,
}

impl Callback {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        Callback {
            authorize_url: ck.template(&path.key("authorize_url"), &raw.authorize_url),
            decode: raw.decode_params.unwrap_or(true),
            redirect: Redirect::new(raw.redirect_port, raw.redirect_path.as_deref(), raw.timeout_secs),
        }
    }

    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let listener = Listener::bind(self.redirect.port, &self.redirect.path)?;
        let redirect_uri = listener.redirect_uri();
        let scx = cx.ctx.with_redirect_uri(&redirect_uri);
        let url = self.authorize_url.render(&scx).map_err(|e| Error::failed(format!("authorize_url: {e}")))?;
        let url = super::absolute(cx, &url)?;
        let callback = through_browser(listener, url.as_str(), &self.redirect.wait(cx), |_| Ok(())).await?;
        let params = if self.decode { callback.decoded() } else { callback.raw() };
        let mut outputs = Map::new();
        for (k, v) in params {
            // The first value of a repeated name wins, as most servers read it.
            outputs.entry(k).or_insert(Value::String(v));
        }
        let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
        let summary = format!(
            "browser callback on {redirect_uri} with {}",
            if names.is_empty() { "no parameters".to_string() } else { names.join(", ") }
        );
        Ok(StepDone { outputs, summary })
    }
}
