//! The step catalogue: one file per step type, tied together by two enums.
//!
//! Adding a step type is one new file (its `Raw` config, its validated model,
//! its `run`) plus one variant in [`RawStep`] and [`Step`] and their match arms here.

pub mod api_request;
pub mod basic_auth;
pub mod form;
pub mod totp;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connector::check::Checker;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::http::Http;
use crate::prompt::Prompter;

/// Step types of the SPEC catalogue that this version does not run yet.
pub const PLANNED: [&str; 9] = [
    "callback",
    "js",
    "jwt_bearer",
    "ntlm",
    "oauth1",
    "oauth2",
    "oauth2_pkce",
    "oauth2_client_credentials",
    "sso_token",
];

/// One step of a flow, as written in the file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawStep {
    /// Ask a person for values (or take them from --input in CI).
    Form(form::Raw),
    /// Send an HTTP request; outputs status, headers, body and cookies.
    ApiRequest(Box<api_request::Raw>),
    /// Build a Basic `Authorization` header, optionally checked against `verify_url`.
    BasicAuth(basic_auth::Raw),
    /// The current TOTP code of a base32 secret.
    Totp(totp::Raw),
}

impl RawStep {
    pub fn id(&self) -> &str {
        match self {
            RawStep::Form(r) => &r.id,
            RawStep::ApiRequest(r) => &r.id,
            RawStep::BasicAuth(r) => &r.id,
            RawStep::Totp(r) => &r.id,
        }
    }
}

/// A validated step.
#[derive(Debug)]
pub struct StepDef {
    pub id: String,
    pub kind: Step,
}

#[derive(Debug)]
pub enum Step {
    Form(form::Form),
    ApiRequest(api_request::ApiRequest),
    BasicAuth(basic_auth::BasicAuth),
    Totp(totp::Totp),
}

/// What a step can use while it runs.
pub struct StepCx<'a> {
    pub id: &'a str,
    /// Templates' context: `vars` and the outputs of earlier steps.
    pub ctx: &'a crate::context::Context,
    pub http: &'a Http,
    pub base_url: Option<&'a str>,
    pub prompter: &'a Prompter,
}

/// A finished step: its outputs and a one-line account of what it did.
pub struct StepDone {
    pub outputs: Map<String, Value>,
    pub summary: String,
}

impl Step {
    pub fn build(raw: &RawStep, path: &Path, ck: &mut Checker) -> Step {
        match raw {
            RawStep::Form(r) => Step::Form(form::Form::build(r, path, ck)),
            RawStep::ApiRequest(r) => Step::ApiRequest(api_request::ApiRequest::build(r, path, ck)),
            RawStep::BasicAuth(r) => Step::BasicAuth(basic_auth::BasicAuth::build(r, path, ck)),
            RawStep::Totp(r) => Step::Totp(totp::Totp::build(r, path, ck)),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Step::Form(_) => "form",
            Step::ApiRequest(_) => "api_request",
            Step::BasicAuth(_) => "basic_auth",
            Step::Totp(_) => "totp",
        }
    }

    /// Whether the step may appear in `refresh_flow.steps` (SPEC §2).
    pub fn allowed_in_refresh(&self) -> bool {
        matches!(self, Step::ApiRequest(_) | Step::Totp(_))
    }

    /// The outputs later templates can read, when they are known before running.
    pub fn output_names(&self) -> Vec<String> {
        match self {
            Step::Form(f) => f.fields.iter().map(|f| f.key.clone()).collect(),
            Step::ApiRequest(_) => api_request::OUTPUTS.iter().map(|s| s.to_string()).collect(),
            Step::BasicAuth(_) => basic_auth::OUTPUTS.iter().map(|s| s.to_string()).collect(),
            Step::Totp(_) => vec!["code".into()],
        }
    }

    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        match self {
            Step::Form(s) => s.run(cx).await,
            Step::ApiRequest(s) => s.run(cx).await,
            Step::BasicAuth(s) => s.run(cx).await,
            Step::Totp(s) => s.run(cx).await,
        }
    }
}
