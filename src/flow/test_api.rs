//! The session's resource calls: the test API with request parameters and
//! `sign_in` applied, its expectations, and its lines in the live output.

use std::time::Instant;

use super::Session;
use crate::context::Context;
use crate::outcome::{Event, StepReport, TestApiReport};
use crate::request::{excerpt, prepare};
use crate::template::render_str;

impl Session {
    /// Calls the test API with request parameters applied.
    pub async fn call_test_api(&self) -> Option<TestApiReport> {
        let test = self.connector.test_api.as_ref()?;
        let started = Instant::now();
        self.event(Event::Busy { connector: &self.connector.name, label: &test.name });
        let ctx = &self.ctx;
        let mut report = TestApiReport {
            name: test.name.clone(),
            status: None,
            ok: false,
            duration_ms: 0,
            summary: String::new(),
            error: None,
            unreachable: false,
            expired: false,
            hint: None,
            retries: 0,
        };
        let retries_before = self.http.retries();
        if let Ok(mut current) = self.current.lock() {
            current.clone_from(&test.name);
        }
        let mut hint = None;
        let mut unreachable = false;
        let mut expired = false;
        let outcome = async {
            let mut req = prepare(&test.request, ctx, self.base_url.as_deref()).map_err(|e| format!("request.{e}"))?;
            for p in &self.connector.request_parameters {
                let value =
                    render_str(p.value.source(), ctx).map_err(|e| format!("request parameter `{}`: {e}", p.name))?;
                req.add(p.location, &p.name, &value);
            }
            self.sign(&mut req, ctx).map_err(|e| format!("sign_in: {e}"))?;
            report.summary = req.summary();
            let resp = self.http.send(req).await.map_err(|e| {
                unreachable = e.unreachable;
                hint = e.hint;
                e.message
            })?;
            report.status = Some(resp.status);
            report.summary = format!("{} → {}", report.summary, resp.outcome());
            if let Some(why) = self.connector.refresh_on.matches(resp.status, &resp.body) {
                expired = true;
                return Err(format!("{}: the credentials expired ({why}): {}", report.summary, excerpt(&resp.body)));
            }
            crate::expect::check(&test.status, &test.assertions, &resp, ctx, &report.summary)
        }
        .await;
        report.unreachable = unreachable;
        report.hint = hint;
        report.expired = expired;
        report.retries = self.http.retries() - retries_before;
        report.duration_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(()) => report.ok = true,
            Err(e) => report.error = Some(e),
        }
        Some(report)
    }

    /// Applies `sign_in` to a resource call: an OAuth 1.0a signature over the
    /// request as sent, or NTLM on the call's connection.
    pub(super) fn sign(&self, req: &mut crate::http::Request, ctx: &Context) -> Result<(), String> {
        use crate::connector::validated::SignIn;
        match &self.connector.sign_in {
            None => {}
            Some(SignIn::OAuth1 { consumer_key, consumer_secret, token, token_secret, method, realm }) => {
                let r = |t: &crate::template::Template, what: &str| t.render(ctx).map_err(|e| format!("{what}: {e}"));
                let creds = crate::oauth1::Credentials {
                    consumer_key: r(consumer_key, "consumer_key")?,
                    consumer_secret: crate::secret::Secret::new(r(consumer_secret, "consumer_secret")?)
                        .expose()
                        .to_string(),
                    token: Some(r(token, "token")?),
                    token_secret: crate::secret::Secret::new(r(token_secret, "token_secret")?).expose().to_string(),
                    method: *method,
                    realm: match realm {
                        Some(t) => Some(r(t, "realm")?),
                        None => None,
                    },
                };
                crate::oauth1::sign_request(&creds, req, &[]);
            }
            Some(SignIn::Ntlm(creds)) => req.ntlm = Some(creds.render(ctx)?),
        }
        Ok(())
    }

    pub(super) fn emit_test(&self, t: &TestApiReport, retrying: bool) {
        let mut error = t.error.clone();
        if retrying {
            let what = t.status.map(|s| s.to_string()).unwrap_or_else(|| "expired".into());
            error = Some(format!("{what}: the credentials expired: refreshing and retrying once"));
        }
        let report = StepReport {
            id: t.name.clone(),
            kind: "test_api",
            ok: t.ok,
            duration_ms: t.duration_ms,
            summary: t.summary.clone(),
            outputs: None,
            error,
            phase: if retrying { "retry" } else { "test" },
            retries: 0,
        };
        self.emit(&report);
    }
}
