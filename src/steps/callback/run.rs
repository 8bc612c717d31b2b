//! Running a `callback` step (the engine layer).

use serde_json::{Map, Value};

use super::config::*;
use crate::error::Error;
use crate::steps::dispatch::{StepCx, StepDone};

impl Callback {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let landing = self.redirect.landing(self.redirect_uri.as_ref(), cx)?;
        let redirect_uri = landing.uri().to_string();
        let scx = cx.ctx.with_redirect_uri(&redirect_uri);
        let url = self.authorize_url.render(&scx).map_err(|e| Error::failed(format!("authorize_url: {e}")))?;
        let url = crate::steps::dispatch::absolute(cx, &url)?;
        let callback = landing.wait(url.as_str(), &self.redirect.wait(cx), cx.prompter, |_| Ok(())).await?;
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
