//! The validated connector: what every command downstream of the loader gets —
//! flows of validated steps, the refresh rules, how resource calls are signed.

use std::path::PathBuf;

use serde_json::Value;

use crate::connector::model::{CookiePolicy, Fingerprint, Parameter, RefreshOn, TestApi};
use crate::steps::catalogue::StepDef;
use crate::template::Template;

#[derive(Debug)]
pub struct Connector {
    pub name: String,
    /// What the connector is for, as written (shown by `list`).
    pub description: Option<String>,
    pub file: PathBuf,
    pub base_url: Option<Template>,
    /// Declared variables, before `--var` / `CONNTEST_VAR_*` overrides.
    pub variables: Vec<(String, String)>,
    pub cookies: CookiePolicy,
    pub auth_flow: Vec<StepDef>,
    pub refresh: Option<Refresh>,
    pub request_parameters: Vec<Parameter>,
    pub test_api: Option<TestApi>,
    pub sign_in: Option<SignIn>,
    /// `tls:`: the client certificate and key files, as templates.
    pub tls: Option<ClientTls>,
    pub refresh_on: RefreshOn,
    /// Output paths that templates running from the cache read (request
    /// parameters, `sign_in`, test API, refresh flow, `update_variables`):
    /// the cache keeps these and nothing else of the outputs.
    pub cached_paths: Vec<Vec<String>>,
    /// SHA-256 of the file, recorded in cache entries to tell an edit.
    pub fingerprint: Fingerprint,
}

/// How resource calls are signed.
#[derive(Debug)]
pub enum SignIn {
    OAuth1 {
        consumer_key: Template,
        consumer_secret: Template,
        token: Template,
        token_secret: Template,
        method: crate::connector::raw::SignatureMethod,
        realm: Option<Template>,
    },
    Ntlm(crate::steps::ntlm::config::NtlmCreds),
}

#[derive(Debug)]
pub struct Refresh {
    pub mode: RefreshMode,
    /// Auth output path (segments) ← template value over refresh outputs.
    pub update_variables: Vec<(Vec<String>, Value)>,
}

#[derive(Debug)]
pub enum RefreshMode {
    Steps(Vec<StepDef>),
    SameAsAuth { use_stored_credentials: bool },
}

impl Connector {
    /// Every step of the auth flow and the refresh flow, in order.
    pub fn all_steps(&self) -> impl Iterator<Item = &StepDef> {
        let refresh: &[StepDef] = match self.refresh.as_ref().map(|r| &r.mode) {
            Some(RefreshMode::Steps(steps)) => steps,
            _ => &[],
        };
        self.auth_flow.iter().chain(refresh.iter())
    }
}

/// A connector's client certificate: two PEM file paths, as templates.
#[derive(Debug)]
pub struct ClientTls {
    pub cert: Template,
    pub key: Template,
}
