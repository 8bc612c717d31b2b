//! `oauth2` and `oauth2_pkce`: the authorization code grant through the
//! user's browser and the loopback listener, with a fresh `state` (and a PKCE
//! verifier), then the code exchanged at the token endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{StepCx, StepDone};
use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::listener::{Listener, Wait, through_browser};
use crate::oauth::{Client, ClientAuth, code_challenge, random_token};
use crate::secret::Secret;
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// The provider's authorization endpoint; conntest adds `response_type`,
    /// `client_id`, `redirect_uri`, `scope`, `state` (and the PKCE challenge).
    pub authorize_url: String,
    /// The provider's token endpoint.
    pub token_url: String,
    pub client_id: Scalar,
    /// Omit for a public client.
    pub client_secret: Option<Scalar>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// Loopback port of the redirect listener; 0 (default) = any free port.
    pub redirect_port: Option<u16>,
    /// Path of the redirect URI (default `/callback`).
    pub redirect_path: Option<String>,
    /// Seconds to wait for the browser (default 300).
    #[schemars(range(min = 1))]
    pub timeout_secs: Option<u64>,
    /// More authorize URL parameters, e.g. `prompt: consent`.
    #[serde(default)]
    pub extra_params: BTreeMap<String, Scalar>,
    /// How the client authenticates at the token endpoint (default basic).
    pub client_auth: Option<ClientAuth>,
    /// `oauth2_pkce` only: S256 (default) or plain.
    pub code_challenge_method: Option<ChallengeMethod>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ChallengeMethod {
    S256,
    #[serde(rename = "plain")]
    Plain,
}

/// Where the browser comes back to, shared by every browser step.
#[derive(Debug)]
pub struct Redirect {
    pub port: u16,
    pub path: String,
    pub timeout: Duration,
}

impl Redirect {
    pub fn new(port: Option<u16>, path: Option<&str>, timeout_secs: Option<u64>) -> Self {
        Redirect {
            port: port.unwrap_or(0),
            path: path.unwrap_or("/callback").to_string(),
            timeout: Duration::from_secs(timeout_secs.unwrap_or(300)),
        }
    }

    pub fn wait<'a>(&self, cx: &'a StepCx<'a>) -> Wait<'a> {
        Wait {
            connector: cx.connector,
            step: cx.id,
            timeout: self.timeout,
            no_browser: cx.no_browser,
            interactive: cx.prompter.interactive(),
            spinner: cx.spinner,
        }
    }
}

#[derive(Debug)]
pub struct OAuth2 {
    authorize_url: Template,
    token_url: Template,
    client_id: Template,
    client_secret: Option<Template>,
    scope: Option<Template>,
    extra_params: Vec<(String, Template)>,
    client_auth: ClientAuth,
    redirect: Redirect,
    /// `None` for plain `oauth2`.
    pkce: Option<ChallengeMethod>,
}

impl OAuth2 {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker, pkce: bool) -> Self {
        if !pkce && raw.code_challenge_method.is_some() {
            ck.invalid(
                &path.key("code_challenge_method"),
                "`code_challenge_method` belongs to `oauth2_pkce` steps",
                "write `type: oauth2_pkce` to use PKCE, or remove the key",
            );
        }
        OAuth2 {
            authorize_url: ck.template(&path.key("authorize_url"), &raw.authorize_url),
            token_url: ck.template(&path.key("token_url"), &raw.token_url),
            client_id: ck.scalar(&path.key("client_id"), &raw.client_id),
            client_secret: raw.client_secret.as_ref().map(|s| ck.scalar(&path.key("client_secret"), s)),
            scope: raw.scope.as_ref().map(|s| ck.template(&path.key("scope"), s)),
            extra_params: raw
                .extra_params
                .iter()
                .map(|(k, v)| (k.clone(), ck.scalar(&path.key("extra_params").key(k.clone()), v)))
                .collect(),
            client_auth: raw.client_auth.unwrap_or(ClientAuth::Basic),
            redirect: Redirect::new(raw.redirect_port, raw.redirect_path.as_deref(), raw.timeout_secs),
            pkce: pkce.then(|| raw.code_challenge_method.unwrap_or(ChallengeMethod::S256)),
        }
    }

    pub fn is_pkce(&self) -> bool {
        self.pkce.is_some()
    }

    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let listener = Listener::bind(self.redirect.port, &self.redirect.path)?;
        let redirect_uri = listener.redirect_uri();
        let scx = cx.ctx.with_redirect_uri(&redirect_uri);
        let render = |t: &Template, what: &str| t.render(&scx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let client_id = render(&self.client_id, "client_id")?;
        let client_secret = match &self.client_secret {
            Some(t) => Some(Secret::new(render(t, "client_secret")?)),
            None => None,
        };
        let token_url = super::absolute(cx, &render(&self.token_url, "token_url")?)?;
        let mut url = super::absolute(cx, &render(&self.authorize_url, "authorize_url")?)?;
        let state = random_token(16);
        let verifier = self.pkce.map(|_| Secret::new(random_token(32)));
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &client_id);
            q.append_pair("redirect_uri", &redirect_uri);
            if let Some(scope) = &self.scope {
                q.append_pair("scope", &render(scope, "scope")?);
            }
            q.append_pair("state", &state);
            if let (Some(method), Some(verifier)) = (self.pkce, &verifier) {
                let s256 = method == ChallengeMethod::S256;
                q.append_pair("code_challenge", &code_challenge(verifier.expose(), s256));
                q.append_pair("code_challenge_method", if s256 { "S256" } else { "plain" });
            }
            for (k, v) in &self.extra_params {
                q.append_pair(k, &render(v, &format!("extra_params.{k}"))?);
            }
        }
        let expected = state.clone();
        let callback = through_browser(listener, url.as_str(), &self.redirect.wait(cx), move |cb| {
            if let Some(error) = cb.get("error") {
                let description = cb.get("error_description").map(|d| format!(": {d}")).unwrap_or_default();
                return Err(format!("the provider answered `{error}`{description}"));
            }
            match cb.get("state") {
                None => return Err("the callback has no `state`: it cannot be told from a forged one".into()),
                Some(s) if s != expected => {
                    return Err(
                        "the callback's `state` does not match the one sent: possible CSRF, no token requested".into(),
                    );
                }
                Some(_) => {}
            }
            match cb.get("code") {
                Some(c) if !c.is_empty() => Ok(()),
                _ => Err("the callback has no authorization `code`".into()),
            }
        })
        .await?;
        let code = Secret::new(callback.get("code").unwrap_or_default());
        let mut params = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.expose().to_string()),
            ("redirect_uri".to_string(), redirect_uri),
        ];
        if let Some(v) = &verifier {
            params.push(("code_verifier".into(), v.expose().to_string()));
        }
        let client = Client {
            token_url: &token_url,
            client_id: &client_id,
            client_secret: client_secret.as_ref(),
            auth: self.client_auth,
        };
        let (outputs, summary) = client.token(cx.http, params).await?;
        let how = if self.pkce.is_some() { "browser sign-in with PKCE" } else { "browser sign-in" };
        Ok(StepDone { outputs, summary: format!("{how}, {summary}") })
    }
}
