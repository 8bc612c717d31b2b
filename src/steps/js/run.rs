//! Running a `js` step (the engine layer).

use serde_json::Value;

use super::config::*;
use crate::error::Error;
use crate::js::JsError;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::template::render_json;

impl Js {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let params = render_json(&Value::Object(self.params.clone()), cx.ctx)
            .map_err(|e| Error::failed(format!("params: {e}")))?;
        let (code, limits) = (self.code.clone(), self.limits);
        let result = tokio::task::spawn_blocking(move || crate::js::run(&code, &params, limits))
            .await
            .map_err(|e| Error::failed(format!("the JavaScript engine stopped: {e}")))?;
        let outputs = result.map_err(|e| Error::failed(self.locate(e)))?;
        let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
        let summary =
            format!("JavaScript returned {}", if names.is_empty() { "no outputs".into() } else { names.join(", ") });
        Ok(StepDone { outputs, summary })
    }

    /// The engine's message with the connector file line it points at.
    fn locate(&self, e: JsError) -> String {
        match e.line {
            Some(l) => format!("{} (at {}:{})", e.message, self.file, self.first_line + l - 1),
            None => e.message,
        }
    }
}
