//! Running a `api_request` step (the engine layer).

use serde_json::{Map, Value};

use super::config::*;
use crate::error::Error;
use crate::request::{excerpt, prepare};
use crate::steps::dispatch::{StepCx, StepDone};

impl ApiRequest {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let req = prepare(&self.request, cx.ctx, cx.base_url).map_err(|e| Error::failed(format!("request.{e}")))?;
        let summary = req.summary();
        let resp = cx.http.send(req).await.map_err(Error::from)?;
        let summary = format!("{summary} → {}", resp.outcome());
        let default_ok = |status: u16| status < 400 || self.accept_status.contains(&status);
        if self.expect.status.is_none() && !default_ok(resp.status) {
            return Err(Error::failed(format!("{summary}: {}", excerpt(&resp.body))));
        }
        crate::expect::evaluate(&self.expect, default_ok, resp.status, &resp.body, cx.ctx)
            .map_err(|e| Error::failed(format!("{summary}: expect: {}", e.message(&resp.body))))?;
        Ok(StepDone { outputs: outputs(&resp), summary })
    }
}

/// The outputs of a response, shared by every step that makes one.
pub fn outputs(resp: &crate::http::Response) -> Map<String, Value> {
    let mut headers = Map::new();
    for (name, value) in &resp.headers {
        match headers.get_mut(name) {
            // Repeated headers (Set-Cookie) keep every value.
            Some(Value::String(first)) => {
                let joined = format!("{first}, {value}");
                headers.insert(name.clone(), Value::String(joined));
            }
            _ => {
                headers.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    let mut out = Map::new();
    out.insert("status".into(), Value::from(resp.status));
    out.insert("headers".into(), Value::Object(headers));
    out.insert("body".into(), resp.body.clone());
    out.insert("cookies".into(), Value::Object(resp.cookies.clone()));
    out
}
