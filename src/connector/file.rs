//! The connector file as serde reads it (the whole document, steps included);
//! also the source of `conntest schema`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::raw::{RawCookies, RawParameter, RawRefreshOn, RawSignIn, RawTestApi, RawTls, Scalar};
use crate::steps::catalogue::RawStep;

/// A connector: how to sign in to an API, refresh that sign-in, and prove it works.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "conntest connector")]
pub struct RawConnector {
    /// Connector name, `[a-z0-9_-]+`; defaults to the file stem.
    pub name: Option<String>,
    /// What this connector signs in to (shown by `conntest list`).
    pub description: Option<String>,
    /// Relative request URLs are joined to this.
    pub base_url: Option<String>,
    /// Static values, available as `{{ vars.NAME }}`; overridable by `--var` and `CONNTEST_VAR_NAME`.
    #[serde(default)]
    pub variables: IndexMap<String, Scalar>,
    /// Cookie handling for every request of a run.
    pub cookies: Option<RawCookies>,
    /// Ordered sign-in steps; each step's outputs feed later steps.
    pub auth_flow: Vec<RawStep>,
    /// What to run after a 401, or by `conntest test refresh`.
    pub refresh_flow: Option<RawRefresh>,
    /// Values added to every resource call (the test API).
    #[serde(default)]
    pub request_parameters: Vec<RawParameter>,
    /// The call that proves the credentials work.
    pub test_api: Option<RawTestApi>,
    /// How every resource call (the test API, `test api`) is signed.
    pub sign_in: Option<RawSignIn>,
    /// A client certificate (mutual TLS) for every request of the connector.
    pub tls: Option<RawTls>,
    /// Which test API answers mean "the credentials expired" (default: status 401).
    pub refresh_on: Option<RawRefreshOn>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRefresh {
    /// Rerun `auth_flow` instead of `steps`.
    #[serde(default)]
    pub same_as_auth: bool,
    /// With `same_as_auth`: Form values come from the cache, no prompt.
    #[serde(default)]
    pub use_stored_credentials: bool,
    #[serde(default)]
    pub steps: Vec<RawStep>,
    /// Auth output path (`login.body.access_token`) ← template over refresh outputs.
    #[serde(default)]
    pub update_variables: IndexMap<String, serde_json::Value>,
}
