//! Running a step (the engine layer): what a step can use while it runs, what
//! it gives back, and the one match that hands each step to its `run.rs`.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::http::Http;
use crate::prompt::Prompter;
use crate::steps::catalogue::Step;

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

/// Browser steps of a run of several connectors take turns: two connectors
/// with the same `redirect_port` never collide, and one person signs in once
/// at a time.
static BROWSER_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Step {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let _turn = match self {
            Step::OAuth2(_) | Step::Callback(_) | Step::OAuth1(_) | Step::Device(_) => Some(BROWSER_TURN.lock().await),
            _ => None,
        };
        match self {
            Step::Form(s) => s.run(cx).await,
            Step::ApiRequest(s) => s.run(cx).await,
            Step::BasicAuth(s) => s.run(cx).await,
            Step::Totp(s) => s.run(cx).await,
            Step::OAuth2(s) => s.run(cx).await,
            Step::ClientCredentials(s) => s.run(cx).await,
            Step::Device(s) => s.run(cx).await,
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
