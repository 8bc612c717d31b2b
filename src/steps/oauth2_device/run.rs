//! Running an `oauth2_device` step (the engine layer): ask for a device code,
//! show the person where to enter it, poll the token endpoint until a token,
//! a refusal or the timeout.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::config::*;
use crate::error::Error;
use crate::oauth::{Client, read_token_response};
use crate::request::excerpt;
use crate::secret::Secret;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::template::Template;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl Device {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let render = |t: &Template, what: &str| t.render(cx.ctx).map_err(|e| Error::failed(format!("{what}: {e}")));
        let client_id = render(&self.client_id, "client_id")?;
        let client_secret = match &self.client_secret {
            Some(t) => Some(Secret::new(render(t, "client_secret")?)),
            None => None,
        };
        let endpoints = self.endpoints.resolve(cx, cx.ctx).await?;
        let device_url = endpoints.get("device_authorization_url")?;
        let token_url = endpoints.get("token_url")?;
        let client = Client {
            token_url: &token_url,
            client_id: &client_id,
            client_secret: client_secret.as_ref(),
            auth: self.client_auth,
        };
        let mut params = Vec::new();
        if let Some(scope) = &self.scope {
            params.push(("scope".to_string(), render(scope, "scope")?));
        }
        let summary = format!("POST {device_url}");
        let resp = cx.http.send(client.request(&device_url, params)).await.map_err(Error::from)?;
        let summary = format!("{summary} → {}", resp.outcome());
        let field = |name: &str| resp.body.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
        if resp.status >= 400 || resp.body.get("error").is_some() {
            let why = field("error").map(|e| match field("error_description") {
                Some(d) => format!("{e}: {d}"),
                None => e.to_string(),
            });
            return Err(Error::failed(format!(
                "{summary}: the device authorization endpoint refused: {}",
                why.unwrap_or_else(|| excerpt(&resp.body))
            )));
        }
        let (Some(device_code), Some(user_code)) = (field("device_code"), field("user_code")) else {
            return Err(Error::failed(format!(
                "{summary}: the answer has no `device_code` and `user_code`: {}",
                excerpt(&resp.body)
            )));
        };
        let device_code = Secret::new(device_code);
        let Some(verify) = field("verification_uri").or_else(|| field("verification_url")) else {
            return Err(Error::failed(format!("{summary}: the answer has no `verification_uri`")));
        };
        let number = |name: &str| resp.body.get(name).and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
        let mut interval = Duration::from_secs(number("interval").unwrap_or(DEFAULT_INTERVAL_SECS).max(1));
        let expires = number("expires_in").map(Duration::from_secs).unwrap_or(self.timeout);
        let deadline = Instant::now() + self.timeout.min(expires);
        // Printed in full: the person types the code on another device.
        crate::output::err_unmasked(&format!(
            "{}: sign in to {} on any device: open {verify} and enter the code {user_code}",
            cx.id, cx.connector
        ));
        if let Some(complete) = field("verification_uri_complete").filter(|_| !cx.no_browser) {
            match crate::browser::open(complete) {
                Ok(o) => crate::output::err(&format!("  (opened {complete} with {})", o.program)),
                Err(why) => crate::output::err(&format!("  ({why}; polling anyway)")),
            }
        }
        let mut polls = 0;
        loop {
            if Instant::now() + interval > deadline {
                return Err(Error::failed(format!(
                    "nobody entered the code {user_code} at {verify} within {} s (`timeout_secs`, or the code's `expires_in`)",
                    self.timeout.min(expires).as_secs()
                )));
            }
            tokio::time::sleep(interval).await;
            polls += 1;
            let params = vec![
                ("grant_type".to_string(), GRANT.to_string()),
                ("device_code".to_string(), device_code.expose().to_string()),
            ];
            let resp = cx.http.send(client.request(&token_url, params)).await.map_err(Error::from)?;
            let error = resp.body.get("error").and_then(Value::as_str).unwrap_or_default();
            match error {
                "authorization_pending" => continue,
                "slow_down" => {
                    interval += Duration::from_secs(SLOW_DOWN_SECS);
                    continue;
                }
                _ => {}
            }
            let at = format!("POST {token_url} → {}", resp.outcome());
            let outputs = read_token_response(resp.status, &resp.body).map_err(|e| {
                let what = match error {
                    "access_denied" => "the person denied the request",
                    "expired_token" => "the device code expired before the person approved",
                    _ => "the token endpoint refused",
                };
                Error::failed(format!("{at}: {what} ({e})"))
            })?;
            let summary = format!("device code {user_code}, {polls} poll(s), {at}");
            return Ok(StepDone { outputs: client.with_client(outputs), summary });
        }
    }
}
