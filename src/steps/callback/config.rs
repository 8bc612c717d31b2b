//! `callback`: open a URL as written and capture every query parameter of the
//! first request the browser makes on the redirect path.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::spans::Path;
use crate::steps::oauth2::config::Redirect;
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// Opened as written; put `{{ redirect_uri }}` where the provider wants it.
    pub authorize_url: String,
    /// Loopback port of the redirect listener; 0 (default) = any free port.
    pub redirect_port: Option<u16>,
    /// Path of the redirect URI (default `/callback`).
    pub redirect_path: Option<String>,
    /// A redirect URI registered with the provider. Not a loopback `http://`
    /// URI: no listener runs; the person pastes the URL the browser ended on.
    pub redirect_uri: Option<String>,
    /// Percent-decode the captured values (default true).
    pub decode_params: Option<bool>,
    /// Seconds to wait for the browser (default 300, at most 86 400: a day).
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_secs: Option<u64>,
}

#[derive(Debug)]
pub struct Callback {
    pub(super) authorize_url: Template,
    pub(super) decode: bool,
    pub(super) redirect: Redirect,
    pub(super) redirect_uri: Option<Template>,
}

impl Callback {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        Callback {
            authorize_url: ck.template(&path.key("authorize_url"), &raw.authorize_url),
            decode: raw.decode_params.unwrap_or(true),
            redirect: Redirect::checked(
                raw.redirect_port,
                raw.redirect_path.as_deref(),
                raw.timeout_secs,
                &path.key("redirect_path"),
                ck,
            ),
            redirect_uri: raw.redirect_uri.as_ref().map(|u| ck.template(&path.key("redirect_uri"), u)),
        }
    }
}
