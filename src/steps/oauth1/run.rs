//! Running a `oauth1` step (the engine layer).

use serde_json::{Map, Value};

use crate::error::Error;
use crate::http::{Body, Request};
use crate::listener::{Listener, through_browser};
use crate::oauth1::{Credentials, sign_request};
use crate::steps::dispatch::{StepCx, StepDone};

use super::config::*;
use crate::request::excerpt;
use crate::secret::Secret;
use crate::template::Template;

impl OAuth1 {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let render = |t: &Template, what: &str| t.render(cx.ctx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let mut creds = Credentials {
            consumer_key: render(&self.consumer_key, "consumer_key")?,
            consumer_secret: Secret::new(render(&self.consumer_secret, "consumer_secret")?).expose().to_string(),
            token: None,
            token_secret: String::new(),
            method: self.method,
            realm: match &self.realm {
                Some(r) => Some(render(r, "realm")?),
                None => None,
            },
        };
        let mut outputs = Map::new();
        let summary = match &self.mode {
            Mode::Given { token, token_secret } => {
                outputs.insert("oauth_token".into(), Value::String(render(token, "token")?));
                let secret = Secret::new(render(token_secret, "token_secret")?);
                outputs.insert("oauth_token_secret".into(), Value::String(secret.expose().to_string()));
                format!("given token, {} signatures", self.method.name())
            }
            Mode::ThreeLegged { request_token_url, authorize_url, access_token_url, redirect } => {
                let listener = Listener::bind(redirect.port, &redirect.path)?;
                let callback = listener.redirect_uri();
                let url = crate::steps::dispatch::absolute(cx, &render(request_token_url, "request_token_url")?)?;
                let temp = post_signed(cx, &creds, url, &[("oauth_callback", callback.as_str())]).await?;
                let token = temp.get("oauth_token").and_then(Value::as_str).unwrap_or_default().to_string();
                let secret = temp.get("oauth_token_secret").and_then(Value::as_str).unwrap_or_default();
                if token.is_empty() {
                    return Err(Error::failed("the request token response has no `oauth_token`"));
                }
                creds.token = Some(Secret::new(token.clone()).expose().to_string());
                creds.token_secret = Secret::new(secret).expose().to_string();
                let mut url = crate::steps::dispatch::absolute(cx, &render(authorize_url, "authorize_url")?)?;
                url.query_pairs_mut().append_pair("oauth_token", &token);
                let expected = token.clone();
                let cb = through_browser(listener, url.as_str(), &redirect.wait(cx), move |cb| {
                    if let Some(problem) = cb.get("oauth_problem") {
                        return Err(format!("the provider answered `{problem}`"));
                    }
                    if cb.get("denied").is_some() {
                        return Err("the user denied access".into());
                    }
                    if cb.get("oauth_token").as_deref() != Some(expected.as_str()) {
                        return Err("the callback's `oauth_token` is not the one this sign-in asked for".into());
                    }
                    match cb.get("oauth_verifier") {
                        Some(v) if !v.is_empty() => Ok(()),
                        _ => Err("the callback has no `oauth_verifier`".into()),
                    }
                })
                .await?;
                let verifier = Secret::new(cb.get("oauth_verifier").unwrap_or_default());
                let url = crate::steps::dispatch::absolute(cx, &render(access_token_url, "access_token_url")?)?;
                let access = post_signed(cx, &creds, url, &[("oauth_verifier", verifier.expose())]).await?;
                if access.get("oauth_token").is_none() || access.get("oauth_token_secret").is_none() {
                    return Err(Error::failed(
                        "the access token response has no `oauth_token` and `oauth_token_secret`",
                    ));
                }
                outputs.extend(access);
                format!("three-legged sign-in in the browser, {} signatures", self.method.name())
            }
        };
        outputs.insert("consumer_key".into(), Value::String(creds.consumer_key.clone()));
        outputs.insert("consumer_secret".into(), Value::String(creds.consumer_secret.clone()));
        outputs.insert("signature_method".into(), Value::String(self.method.name().into()));
        if let Some(realm) = &creds.realm {
            outputs.insert("realm".into(), Value::String(realm.clone()));
        }
        Ok(StepDone { outputs, summary })
    }
}

/// A signed POST whose form-encoded answer becomes a map (RFC 5849 §2.1, §2.3).
async fn post_signed(
    cx: &StepCx<'_>,
    creds: &Credentials,
    url: url::Url,
    extra: &[(&str, &str)],
) -> Result<Map<String, Value>, Error> {
    let mut req = Request::new("POST", url);
    req.body = Body::Form(Vec::new());
    req.follow_redirects = false;
    sign_request(creds, &mut req, extra);
    let summary = req.summary();
    let resp = cx.http.send(req).await.map_err(Error::from)?;
    if !(200..300).contains(&resp.status) {
        return Err(Error::failed(format!("{summary} → {}: {}", resp.status, excerpt(&resp.body))));
    }
    let text = match &resp.body {
        Value::String(s) => s.clone(),
        other => return Ok(other.as_object().cloned().unwrap_or_default()),
    };
    let map: Map<String, Value> = url::form_urlencoded::parse(text.trim().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    for (k, v) in &map {
        if crate::secret::is_secret_name(k)
            && let Value::String(s) = v
        {
            crate::secret::masker().learn(s);
        }
    }
    Ok(map)
}
