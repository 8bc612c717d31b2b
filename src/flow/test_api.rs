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
        self.http.set_source(format!("{}/{}", self.connector.name, self.current), "test_api");
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
        if let Ok(mut current) = self.current_step.lock() {
            current.clone_from(&test.name);
        }
        let mut hint = None;
        let mut unreachable = false;
        let mut expired = false;
        let outcome = async {
            let mut req = prepare(&test.request, ctx, self.base_url.as_deref()).map_err(|e| format!("request.{e}"))?;
            self.apply_auth(&mut req)?;
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
                return Err(format!(
                    "{}: the credentials were rejected ({why}): {}",
                    report.summary,
                    excerpt(&resp.body)
                ));
            }
            crate::expect::evaluate(&test.expect, |s| (200..300).contains(&s), resp.status, &resp.body, ctx).map_err(
                |e| match e {
                    crate::expect::Unmet::Status { expected } => {
                        if (300..400).contains(&resp.status)
                            && let Some((_, location)) = resp.headers.iter().find(|(n, _)| n == "location")
                        {
                            // The test API does not follow redirects by default: say where it went, and the flag.
                            hint = Some(
                                "a redirect often means a login page (the credentials did not work); if it is expected, set `test_api.request.follow_redirects: true`".to_string(),
                            );
                            return format!(
                                "{}: expected status {expected}, got a redirect to {} (the test API does not follow redirects unless `follow_redirects: true`)",
                                report.summary,
                                crate::output::printable(&crate::secret::masker().mask(location))
                            );
                        }
                        format!("{}: {}", report.summary, crate::expect::Unmet::Status { expected }.message(&resp.body))
                    }
                    _ => e.message(&resp.body),
                },
            )?;
            Ok(())
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

    /// Applies `request_parameters`, then `sign_in`, to a resource call (the
    /// test API, `conntest call`).
    pub(super) fn apply_auth(&self, req: &mut crate::http::Request) -> Result<(), String> {
        let ctx = &self.ctx;
        for p in &self.connector.request_parameters {
            let value =
                render_str(p.value.source(), ctx).map_err(|e| format!("request parameter `{}`: {e}", p.name))?;
            if p.location == crate::connector::model::Location::Header
                && let Some(why) = crate::http::message::header_value_problem(&value)
            {
                return Err(format!("request parameter `{}` (`{}`): {why}", p.name, p.value.source()));
            }
            req.add(p.location, &p.name, &value).map_err(|e| format!("request parameter {e}"))?;
        }
        self.sign(req, ctx).map_err(|e| format!("sign_in: {e}"))
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

    /// After a refresh whose retry was rejected again: what the call carried
    /// (`request_parameters`, masked, the scheme of a header kept), so a person
    /// can see a wrong prefix or a parameter in the wrong place.
    pub(super) fn sent_hint(&self) -> Option<String> {
        use crate::connector::model::Location;
        let sent: Vec<String> = self
            .connector
            .request_parameters
            .iter()
            .filter_map(|p| {
                let value = render_str(p.value.source(), &self.ctx).ok()?;
                let shown = if crate::secret::is_secret_name(&p.name) {
                    match value.split_once(' ') {
                        Some((scheme, _)) if !scheme.is_empty() => format!("{scheme} {}", crate::secret::MASK),
                        _ => crate::secret::MASK.to_string(),
                    }
                } else {
                    crate::secret::masker().mask(&value)
                };
                Some(match p.location {
                    Location::Header => format!("`{}: {shown}`", p.name),
                    Location::Query => format!("`?{}={shown}`", p.name),
                    Location::Body => format!("`{}={shown}` in the body", p.name),
                })
            })
            .collect();
        let what = if sent.is_empty() { "no request_parameters".to_string() } else { sent.join(", ") };
        Some(format!(
            "rejected again after a refresh; sent {what}: check `request_parameters` (scheme, name, place) and `refresh_on`"
        ))
    }

    pub(super) fn emit_test(&self, t: &TestApiReport, retrying: bool) {
        let mut error = t.error.clone();
        if retrying {
            let what = t.status.map(|s| s.to_string()).unwrap_or_else(|| "rejected".into());
            error = Some(format!("{what}: the credentials were rejected: refreshing and retrying once"));
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
