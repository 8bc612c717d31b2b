//! `api_request`: send one HTTP request; outputs status, headers, body, cookies.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{StepCx, StepDone};
use crate::connector::check::Checker;
use crate::connector::model::RequestSpec;
use crate::connector::raw::RawRequest;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::request::{excerpt, prepare};

pub const OUTPUTS: [&str; 4] = ["status", "headers", "body", "cookies"];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    pub request: RawRequest,
    /// Statuses of 400 and above that do not fail the step, e.g. `[401]`.
    #[serde(default)]
    pub accept_status: Vec<u16>,
}

#[derive(Debug)]
pub struct ApiRequest {
    pub request: RequestSpec,
    pub accept_status: Vec<u16>,
}

impl ApiRequest {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        ck.statuses(&path.key("accept_status"), &raw.accept_status);
        ApiRequest { request: ck.request(&path.key("request"), &raw.request), accept_status: raw.accept_status.clone() }
    }

    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let req = prepare(&self.request, cx.ctx, cx.base_url).map_err(|e| Error::failed(format!("request.{e}")))?;
        let summary = req.summary();
        let resp = cx.http.send(req).await.map_err(Error::from)?;
        let summary = format!("{summary} → {}", resp.outcome());
        if resp.status >= 400 && !self.accept_status.contains(&resp.status) {
            return Err(Error::failed(format!("{summary}: {}", excerpt(&resp.body))));
        }
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
