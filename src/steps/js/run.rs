//! Running a `js` step (the engine layer).

use serde_json::Value;

use super::config::*;
use crate::error::Error;
use crate::js::JsError;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::template::render_json;

/// How long past its time limit a js step's engine may take to stop by itself.
const ABANDON_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

impl Js {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let params = render_json(&Value::Object(self.params.clone()), cx.ctx)
            .map_err(|e| Error::failed(format!("params: {e}")))?;
        let (code, limits) = (self.code.clone(), self.limits);
        // The engine's interrupt handler is not consulted inside a native
        // built-in (a huge `indexOf` ran 36 s under a 1 s limit): the engine
        // runs on a thread of its own that is abandoned past the deadline.
        let (done, finished) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("js-step".into())
            .spawn(move || {
                let _ = done.send(crate::js::run(&code, &params, limits));
            })
            .map_err(|e| Error::failed(format!("cannot start the JavaScript engine: {e}")))?;
        let result = match tokio::time::timeout(limits.timeout + ABANDON_AFTER, finished).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => return Err(Error::failed("the JavaScript engine stopped unexpectedly")),
            Err(_) => Err(JsError {
                message: format!(
                    "stopped after {} ms (the time limit, reached inside a built-in: a huge indexOf, sort or regular expression?)",
                    limits.timeout.as_millis()
                ),
                line: None,
            }),
        };
        let outputs = result.map_err(|e| Error::failed(self.locate(e)))?;
        // The outputs are kept for the rest of the run (and copied for templates):
        // they count against its byte budget like the responses they came from.
        let size: usize = outputs.iter().map(|(k, v)| k.len() + crate::http::message::value_size(v)).sum();
        cx.http.hold(size).map_err(|why| Error::failed(format!("outputs: {why}")))?;
        let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
        let summary =
            format!("JavaScript returned {}", if names.is_empty() { "no outputs".into() } else { names.join(", ") });
        Ok(StepDone { outputs, summary })
    }

    /// The engine's message with the connector file line it points at.
    fn locate(&self, e: JsError) -> String {
        match e.line {
            Some(l) => format!("{} (at {}:{})", e.message, self.file, self.code_at.line() + l - 1),
            None => e.message,
        }
    }
}
