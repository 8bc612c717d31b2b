//! Running a `oauth2` step (the engine layer).

use super::config::*;
use crate::error::Error;
use crate::listener::{Landing, Wait};
use crate::oauth::{Client, code_challenge, provider_text, random_token};
use crate::secret::Secret;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::template::Template;

impl Redirect {
    /// Where the browser lands: the loopback listener, or — for a registered
    /// non-loopback `redirect_uri` — the URL the person pastes back.
    pub fn landing(&self, redirect_uri: Option<&Template>, cx: &StepCx<'_>) -> Result<Landing, Error> {
        let given = match redirect_uri {
            Some(t) => Some(t.render(cx.ctx).map_err(|e| Error::failed(format!("redirect_uri: {e}")))?),
            None => None,
        };
        Landing::new(given.as_deref(), self.port, &self.path)
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

/// A step's endpoints as URLs, by name.
pub struct Resolved(Vec<(&'static str, url::Url)>);

impl Resolved {
    pub fn get(&self, name: &str) -> Result<url::Url, Error> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, u)| u.clone()).ok_or_else(|| {
            Error::failed(format!("no `{name}`: it is not given and the issuer's discovery document has none"))
        })
    }
}

impl Endpoints {
    /// The given endpoints, and from OIDC discovery (`issuer`) those not given.
    pub async fn resolve(&self, cx: &StepCx<'_>, ctx: &crate::context::Context) -> Result<Resolved, Error> {
        let render = |t: &Template, what: &str| t.render(ctx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let mut out = Vec::new();
        for (name, t) in &self.given {
            out.push((*name, crate::steps::dispatch::absolute(cx, &render(t, name)?)?));
        }
        if let Some(issuer) = &self.issuer
            && self.needed.len() > out.len()
        {
            let issuer = crate::steps::dispatch::absolute(cx, &render(issuer, "issuer")?)?;
            let doc = crate::oauth::discover(cx.http, &issuer).await?;
            for (name, key) in [
                ("authorize_url", "authorization_endpoint"),
                ("token_url", "token_endpoint"),
                ("device_authorization_url", "device_authorization_endpoint"),
            ] {
                if !out.iter().any(|(n, _)| *n == name)
                    && let Some(u) = doc.get(key).and_then(|v| v.as_str())
                {
                    let u = url::Url::parse(u)
                        .map_err(|e| Error::failed(format!("discovery: `{key}` is not a URL ({e}): {u}")))?;
                    out.push((name, u));
                }
            }
        }
        Ok(Resolved(out))
    }
}

impl OAuth2 {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let landing = self.redirect.landing(self.redirect_uri.as_ref(), cx)?;
        let redirect_uri = landing.uri().to_string();
        let scx = cx.ctx.with_redirect_uri(&redirect_uri);
        let render = |t: &Template, what: &str| t.render(&scx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let client_id = render(&self.client_id, "client_id")?;
        let client_secret = match &self.client_secret {
            Some(t) => Some(Secret::new(render(t, "client_secret")?)),
            None => None,
        };
        let endpoints = self.endpoints.resolve(cx, &scx).await?;
        let token_url = if self.implicit { None } else { Some(endpoints.get("token_url")?) };
        let mut url = endpoints.get("authorize_url")?;
        let state = random_token(16);
        let scope = match &self.scope {
            Some(s) => Some(render(s, "scope")?),
            None => None,
        };
        // OIDC: a fresh nonce the id_token must carry back (replay protection).
        let nonce =
            scope.as_deref().is_some_and(|s| s.split_whitespace().any(|w| w == "openid")).then(|| random_token(16));
        let verifier = self.pkce.map(|_| Secret::new(random_token(32)));
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", if self.implicit { "token" } else { "code" });
            q.append_pair("client_id", &client_id);
            q.append_pair("redirect_uri", &redirect_uri);
            if let Some(scope) = &scope {
                q.append_pair("scope", scope);
            }
            q.append_pair("state", &state);
            if let Some(nonce) = &nonce {
                q.append_pair("nonce", nonce);
            }
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
        let wanted = if self.implicit { "access_token" } else { "code" };
        let callback = landing
            .wait(url.as_str(), &self.redirect.wait(cx), cx.prompter, move |cb| {
                if let Some(error) = cb.get("error") {
                    let description =
                        cb.get("error_description").map(|d| format!(": {}", provider_text(&d))).unwrap_or_default();
                    return Err(format!("the provider answered `{}`{description}", provider_text(&error)));
                }
                match cb.get("state") {
                    None => return Err("the callback has no `state`: it cannot be told from a forged one".into()),
                    Some(s) if s != expected => {
                        return Err(
                            "the callback's `state` does not match the one sent: possible CSRF, no token requested"
                                .into(),
                        );
                    }
                    Some(_) => {}
                }
                match cb.get(wanted) {
                    Some(c) if !c.is_empty() => Ok(()),
                    _ if wanted == "code" => Err("the callback has no authorization `code`".into()),
                    _ => Err("the redirect has no `access_token` (in its query or fragment)".into()),
                }
            })
            .await?;
        let Some(token_url) = token_url else {
            // Implicit: the redirect carried the token response itself.
            let answer: serde_json::Map<String, serde_json::Value> =
                callback.decoded().into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
            let outputs =
                crate::oauth::read_token_response(200, &serde_json::Value::Object(answer)).map_err(Error::failed)?;
            if let Some(nonce) = &nonce {
                crate::oauth::check_nonce(&outputs, nonce).map_err(Error::failed)?;
            }
            return Ok(StepDone { outputs, summary: "browser sign-in, token in the redirect (implicit)".into() });
        };
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
        if let Some(nonce) = &nonce {
            crate::oauth::check_nonce(&outputs, nonce).map_err(|e| Error::failed(format!("{summary}: {e}")))?;
        }
        let how = if self.pkce.is_some() { "browser sign-in with PKCE" } else { "browser sign-in" };
        Ok(StepDone { outputs, summary: format!("{how}, {summary}") })
    }
}
