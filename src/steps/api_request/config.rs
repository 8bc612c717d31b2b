//! `api_request`: send one HTTP request; outputs status, headers, body, cookies.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::model::RequestSpec;
use crate::connector::raw::RawRequest;
use crate::connector::spans::Path;

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
}
