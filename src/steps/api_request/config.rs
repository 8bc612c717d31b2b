//! `api_request`: send one HTTP request; outputs status, headers, body, cookies.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::model::{Expect, RequestSpec};
use crate::connector::raw::{RawExpect, RawRequest};
use crate::connector::spans::Path;

pub const OUTPUTS: [&str; 4] = ["status", "headers", "body", "cookies"];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    pub request: RawRequest,
    /// Statuses of 400 and above that do not fail the step, e.g. `[401]`.
    #[serde(default)]
    pub accept_status: Vec<u16>,
    /// What the answer must look like, as the test API's `expect`: a failed
    /// assertion fails the step (with `status`, only those statuses pass).
    pub expect: Option<RawExpect>,
}

#[derive(Debug)]
pub struct ApiRequest {
    pub request: RequestSpec,
    pub accept_status: Vec<u16>,
    pub expect: Expect,
}

impl ApiRequest {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        ck.statuses(&path.key("accept_status"), &raw.accept_status);
        ApiRequest {
            request: ck.request(&path.key("request"), &raw.request),
            accept_status: raw.accept_status.clone(),
            expect: ck.expect(&path.key("expect"), raw.expect.as_ref()),
        }
    }
}
