//! The step catalogue (the format layer): every step type's raw shape and
//! validated model tied together by two enums, and what the checker needs to
//! know of each type. Adding a step type is a folder `steps/NAME/` with
//! `config.rs` and `run.rs`, plus one variant here and one arm in `dispatch`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::spans::Path;
use crate::steps::{
    api_request, basic_auth, callback, form, js, jwt_bearer, ntlm, oauth1, oauth2, oauth2_client_credentials,
    oauth2_device, sso_token, totp,
};

/// One step of a flow, as written in the file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawStep {
    /// Ask a person for values (or take them from --input in CI).
    Form(form::config::Raw),
    /// Send an HTTP request; outputs status, headers, body and cookies.
    ApiRequest(Box<api_request::config::Raw>),
    /// Build a Basic `Authorization` header, optionally checked against `verify_url`.
    BasicAuth(basic_auth::config::Raw),
    /// The current TOTP code of a base32 secret.
    Totp(totp::config::Raw),
    /// OAuth 2 authorization code through the browser (confidential client).
    Oauth2(Box<oauth2::config::Raw>),
    /// OAuth 2 authorization code with PKCE (public client).
    Oauth2Pkce(Box<oauth2::config::Raw>),
    /// OAuth 2 client credentials grant.
    Oauth2ClientCredentials(oauth2_client_credentials::config::Raw),
    /// OAuth 2 device authorization grant (RFC 8628): a code entered on another device.
    Oauth2Device(Box<oauth2_device::config::Raw>),
    /// Sign a JWT and optionally exchange it (RFC 7523).
    JwtBearer(Box<jwt_bearer::config::Raw>),
    /// Open a URL and capture the query of the browser's redirect.
    Callback(callback::config::Raw),
    /// A token from --sso-token-file or CONNTEST_SSO_TOKEN.
    SsoToken(sso_token::config::Raw),
    /// Transform values with sandboxed JavaScript.
    Js(js::config::Raw),
    /// OAuth 1.0a: three-legged in the browser, or a given token pair.
    Oauth1(Box<oauth1::config::Raw>),
    /// An NTLM-authenticated GET on one pinned connection.
    Ntlm(ntlm::config::Raw),
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
            RawStep::Oauth2Device(r) => &r.id,
            RawStep::JwtBearer(r) => &r.id,
            RawStep::Callback(r) => &r.id,
            RawStep::SsoToken(r) => &r.id,
            RawStep::Js(r) => &r.id,
            RawStep::Oauth1(r) => &r.id,
            RawStep::Ntlm(r) => &r.id,
        }
    }

    /// The step's `secret_outputs` paths, as written.
    pub fn secret_outputs(&self) -> &[String] {
        match self {
            RawStep::Form(r) => &r.secret_outputs,
            RawStep::ApiRequest(r) => &r.secret_outputs,
            RawStep::BasicAuth(r) => &r.secret_outputs,
            RawStep::Totp(r) => &r.secret_outputs,
            RawStep::Oauth2(r) | RawStep::Oauth2Pkce(r) => &r.secret_outputs,
            RawStep::Oauth2ClientCredentials(r) => &r.secret_outputs,
            RawStep::Oauth2Device(r) => &r.secret_outputs,
            RawStep::JwtBearer(r) => &r.secret_outputs,
            RawStep::Callback(r) => &r.secret_outputs,
            RawStep::SsoToken(r) => &r.secret_outputs,
            RawStep::Js(r) => &r.secret_outputs,
            RawStep::Oauth1(r) => &r.secret_outputs,
            RawStep::Ntlm(r) => &r.secret_outputs,
        }
    }
}

/// A validated step.
#[derive(Debug)]
pub struct StepDef {
    pub id: String,
    pub kind: Step,
    /// `secret_outputs`: paths (segments) into the outputs whose values are secret.
    pub secret_outputs: Vec<Vec<String>>,
}

#[derive(Debug)]
pub enum Step {
    Form(form::config::Form),
    ApiRequest(api_request::config::ApiRequest),
    BasicAuth(basic_auth::config::BasicAuth),
    Totp(totp::config::Totp),
    OAuth2(oauth2::config::OAuth2),
    ClientCredentials(oauth2_client_credentials::config::ClientCredentials),
    Device(oauth2_device::config::Device),
    JwtBearer(jwt_bearer::config::JwtBearer),
    Callback(callback::config::Callback),
    SsoToken(sso_token::config::SsoToken),
    Js(js::config::Js),
    OAuth1(oauth1::config::OAuth1),
    Ntlm(ntlm::config::Ntlm),
}

impl Step {
    pub fn build(raw: &RawStep, path: &Path, ck: &mut Checker) -> Step {
        match raw {
            RawStep::Form(r) => Step::Form(form::config::Form::build(r, path, ck)),
            RawStep::ApiRequest(r) => Step::ApiRequest(api_request::config::ApiRequest::build(r, path, ck)),
            RawStep::BasicAuth(r) => Step::BasicAuth(basic_auth::config::BasicAuth::build(r, path, ck)),
            RawStep::Totp(r) => Step::Totp(totp::config::Totp::build(r, path, ck)),
            RawStep::Oauth2(r) => Step::OAuth2(oauth2::config::OAuth2::build(r, path, ck, false)),
            RawStep::Oauth2Pkce(r) => Step::OAuth2(oauth2::config::OAuth2::build(r, path, ck, true)),
            RawStep::Oauth2ClientCredentials(r) => {
                Step::ClientCredentials(oauth2_client_credentials::config::ClientCredentials::build(r, path, ck))
            }
            RawStep::Oauth2Device(r) => Step::Device(oauth2_device::config::Device::build(r, path, ck)),
            RawStep::JwtBearer(r) => Step::JwtBearer(jwt_bearer::config::JwtBearer::build(r, path, ck)),
            RawStep::Callback(r) => Step::Callback(callback::config::Callback::build(r, path, ck)),
            RawStep::SsoToken(_) => Step::SsoToken(sso_token::config::SsoToken),
            RawStep::Js(r) => Step::Js(js::config::Js::build(r, path, ck)),
            RawStep::Oauth1(r) => Step::OAuth1(oauth1::config::OAuth1::build(r, path, ck)),
            RawStep::Ntlm(r) => Step::Ntlm(ntlm::config::Ntlm::build(r, path, ck)),
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
            Step::Device(_) => "oauth2_device",
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
        matches!(
            self,
            Step::Form(_) | Step::OAuth2(_) | Step::Callback(_) | Step::SsoToken(_) | Step::OAuth1(_) | Step::Device(_)
        )
    }

    /// The outputs later templates can read, when they are known before running.
    pub fn output_names(&self) -> Vec<String> {
        match self {
            Step::Form(f) => f.fields.iter().map(|f| f.key.clone()).collect(),
            Step::ApiRequest(_) => api_request::config::OUTPUTS.iter().map(|s| s.to_string()).collect(),
            Step::BasicAuth(_) => basic_auth::config::OUTPUTS.iter().map(|s| s.to_string()).collect(),
            Step::Totp(_) => vec!["code".into()],
            Step::OAuth2(_) | Step::ClientCredentials(_) | Step::Device(_) => {
                crate::steps::oauth2::config::TOKEN_OUTPUTS.iter().map(|s| s.to_string()).collect()
            }
            Step::JwtBearer(s) => s.output_names(),
            // Every query parameter the browser brings back: not known before.
            Step::Callback(_) => Vec::new(),
            Step::SsoToken(_) => sso_token::config::OUTPUTS.iter().map(|s| s.to_string()).collect(),
            // Whatever the code returns.
            Step::Js(_) => Vec::new(),
            // The access token response may carry more fields (`screen_name`, …).
            Step::OAuth1(_) => Vec::new(),
            Step::Ntlm(_) => api_request::config::OUTPUTS.iter().map(|s| s.to_string()).collect(),
        }
    }
}
