//! The step catalogue: one file per step type, tied together by two enums.
//!
//! Adding a step type is one new file (its `Raw` config, its validated model,
//! its `run`) plus one variant in [`RawStep`] and [`Step`] and their match arms here.

pub mod api_request;
pub mod basic_auth;
pub mod callback;
pub mod form;
pub mod js;
pub mod jwt_bearer;
pub mod ntlm;
pub mod oauth1;
pub mod oauth2;
pub mod oauth2_client_credentials;
pub mod sso_token;
pub mod totp;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connector::check::Checker;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::http::Http;
use crate::prompt::Prompter;

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
    /// OAuth 2 authorization code through the browser (confidential client).
    Oauth2(Box<oauth2::Raw>),
    /// OAuth 2 authorization code with PKCE (public client).
    Oauth2Pkce(Box<oauth2::Raw>),
    /// OAuth 2 client credentials grant.
    Oauth2ClientCredentials(oauth2_client_credentials::Raw),
    /// Sign a JWT and optionally exchange it (RFC 7523).
    JwtBearer(Box<jwt_bearer::Raw>),
    /// Open a URL and capture the query of the browser's redirect.
    Callback(callback::Raw),
    /// A token from --sso-token-file or CONNTEST_SSO_TOKEN.
    SsoToken(sso_token::Raw),
    /// Transform values with sandboxed JavaScript.
    Js(js::Raw),
    /// OAuth 1.0a: three-legged in the browser, or a given token pair.
    Oauth1(Box<oauth1::Raw>),
    /// An NTLM-authenticated GET on one pinned connection.
    Ntlm(ntlm::Raw),
}

impl RawStep {
    pub fn id(&self) -> &str {
        match self {
            RawStep::Form(r) => &r.id,
            RawStep::ApiRequest(r) => &r.id,
            RawStep::BasicAuth(r) => &r.id,
            RawStep::Totp(r) => &r.id,
            RawStep::Oauth2(r) | RawStep::Oauth2Pkce(r) => &r.id,
            RawStep::Oauth2ClientCredentials(r) => &r.id,
            RawStep::JwtBearer(r) => &r.id,
            RawStep::Callback(r) => &r.id,
            RawStep::SsoToken(r) => &r.id,
            RawStep::Js(r) => &r.id,
            RawStep::Oauth1(r) => &r.id,
            RawStep::Ntlm(r) => &r.id,
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
    OAuth2(oauth2::OAuth2),
    ClientCredentials(oauth2_client_credentials::ClientCredentials),
    JwtBearer(jwt_bearer::JwtBearer),
    Callback(callback::Callback),
    SsoToken(sso_token::SsoToken),
    Js(js::Js),
    OAuth1(oauth1::OAuth1),
    Ntlm(ntlm::Ntlm),
}

/// What a step can use while it runs.
pub struct StepCx<'a> {
    pub id: &'a str,
    pub connector: &'a str,
    /// `--no-browser`: print browser URLs instead of opening them.
    pub no_browser: bool,
    /// Whether stderr is a terminal that can show a spinner.
    pub spinner: bool,
    pub sso_token_file: Option<&'a std::path::Path>,
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
            RawStep::Oauth2(r) => Step::OAuth2(oauth2::OAuth2::build(r, path, ck, false)),
            RawStep::Oauth2Pkce(r) => Step::OAuth2(oauth2::OAuth2::build(r, path, ck, true)),
            RawStep::Oauth2ClientCredentials(r) => {
                Step::ClientCredentials(oauth2_client_credentials::ClientCredentials::build(r, path, ck))
            }
            RawStep::JwtBearer(r) => Step::JwtBearer(jwt_bearer::JwtBearer::build(r, path, ck)),
            RawStep::Callback(r) => Step::Callback(callback::Callback::build(r, path, ck)),
            RawStep::SsoToken(_) => Step::SsoToken(sso_token::SsoToken),
            RawStep::Js(r) => Step::Js(js::Js::build(r, path, ck)),
            RawStep::Oauth1(r) => Step::OAuth1(oauth1::OAuth1::build(r, path, ck)),
            RawStep::Ntlm(r) => Step::Ntlm(ntlm::Ntlm::build(r, path, ck)),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Step::Form(_) => "form",
            Step::ApiRequest(_) => "api_request",
            Step::BasicAuth(_) => "basic_auth",
            Step::Totp(_) => "totp",
            Step::OAuth2(s) if s.is_pkce() => "oauth2_pkce",
            Step::OAuth2(_) => "oauth2",
            Step::ClientCredentials(_) => "oauth2_client_credentials",
            Step::JwtBearer(_) => "jwt_bearer",
            Step::Callback(_) => "callback",
            Step::SsoToken(_) => "sso_token",
            Step::Js(_) => "js",
            Step::OAuth1(_) => "oauth1",
            Step::Ntlm(_) => "ntlm",
        }
    }

    /// Whether the step may appear in `refresh_flow.steps` (SPEC §2).
    pub fn allowed_in_refresh(&self) -> bool {
        matches!(self, Step::ApiRequest(_) | Step::Totp(_) | Step::SsoToken(_) | Step::Js(_) | Step::OAuth1(_))
    }

    /// Whether the step waits for a person (a prompt or a browser): no spinner of the flow's.
    pub fn waits_for_person(&self) -> bool {
        matches!(self, Step::Form(_) | Step::OAuth2(_) | Step::Callback(_) | Step::SsoToken(_) | Step::OAuth1(_))
    }

    /// The outputs later templates can read, when they are known before running.
    pub fn output_names(&self) -> Vec<String> {
        match self {
            Step::Form(f) => f.fields.iter().map(|f| f.key.clone()).collect(),
            Step::ApiRequest(_) => api_request::OUTPUTS.iter().map(|s| s.to_string()).collect(),
            Step::BasicAuth(_) => basic_auth::OUTPUTS.iter().map(|s| s.to_string()).collect(),
            Step::Totp(_) => vec!["code".into()],
            Step::OAuth2(_) | Step::ClientCredentials(_) => {
                crate::oauth::TOKEN_OUTPUTS.iter().map(|s| s.to_string()).collect()
            }
            Step::JwtBearer(s) => s.output_names(),
            // Every query parameter the browser brings back: not known before.
            Step::Callback(_) => Vec::new(),
            Step::SsoToken(_) => sso_token::OUTPUTS.iter().map(|s| s.to_string()).collect(),
            // Whatever the code returns.
            Step::Js(_) => Vec::new(),
            // The access token response may carry more fields (`screen_name`, …).
            Step::OAuth1(_) => Vec::new(),
            Step::Ntlm(_) => api_request::OUTPUTS.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        match self {
            Step::Form(s) => s.run(cx).await,
            Step::ApiRequest(s) => s.run(cx).await,
            Step::BasicAuth(s) => s.run(cx).await,
            Step::Totp(s) => s.run(cx).await,
            Step::OAuth2(s) => s.run(cx).await,
            Step::ClientCredentials(s) => s.run(cx).await,
            Step::JwtBearer(s) => s.run(cx).await,
            Step::Callback(s) => s.run(cx).await,
            Step::SsoToken(s) => s.run(cx).await,
            Step::Js(s) => s.run(cx).await,
            Step::OAuth1(s) => s.run(cx).await,
            Step::Ntlm(s) => s.run(cx).await,
        }
    }
}

/// A URL from a step's config, joined to `base_url` when relative.
pub fn absolute(cx: &StepCx<'_>, url: &str) -> Result<url::Url, Error> {
    crate::request::join(cx.base_url, url.trim()).map_err(Error::failed)
}
