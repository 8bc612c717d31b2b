//! What every request of one connector's run shares: the cookie jar (Domain,
//! Path, expiry), the CSRF double-submit value, the body-byte budget and the
//! exchange log. Used by the reqwest client and the pinned NTLM connection alike.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use cookie_store::{CookieStore, RawCookie};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::message::{Exchange, ExchangeHook, MAX_RUN_BYTES, Request, Source};
use crate::connector::model::CookiePolicy;
use crate::secret::{Secret, masker};

/// A cookie as cached and shown by `cache show`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CookieRecord {
    pub name: String,
    pub value: Secret,
    pub domain: String,
    pub path: String,
    /// RFC 3339, or `None` for a session cookie.
    pub expires: Option<String>,
    #[serde(default)]
    pub secure: bool,
    #[serde(default)]
    pub http_only: bool,
    #[serde(default)]
    pub host_only: bool,
}

pub struct Ledger {
    jar: Mutex<CookieStore>,
    policy: CookiePolicy,
    double_submit_value: Mutex<Option<String>>,
    /// Response body bytes received so far in this run (see [`MAX_RUN_BYTES`]).
    received: AtomicUsize,
    on_exchange: Option<ExchangeHook>,
    /// What the session is running now, for the exchanges it sends.
    source: Mutex<Option<Source>>,
}

impl Ledger {
    pub fn new(policy: CookiePolicy, on_exchange: Option<ExchangeHook>) -> Self {
        Ledger {
            jar: Mutex::new(CookieStore::new()),
            policy,
            double_submit_value: Mutex::new(None),
            received: AtomicUsize::new(0),
            on_exchange,
            source: Mutex::new(None),
        }
    }

    /// Adds the cookie header and (on the request's own origin) the double-submit value to one hop.
    pub fn decorate(&self, mut req: Request, own_origin: bool) -> Request {
        let cookie_header = {
            let Ok(jar) = self.jar.lock() else { return req };
            let pairs: Vec<String> = jar
                .get_request_values(&req.url)
                .filter(|(name, _)| {
                    self.policy.forward_all || self.policy.double_submit.as_ref().is_some_and(|d| d.cookie == *name)
                })
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            pairs.join("; ")
        };
        if !cookie_header.is_empty() && !req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("cookie")) {
            req.headers.push(("Cookie".into(), cookie_header));
        }
        if let Some(ds) = &self.policy.double_submit
            && own_origin
            && let Some(value) = self.double_submit_value.lock().ok().and_then(|v| v.clone())
        {
            // The double-submit value rides every request that can carry it;
            // a GET has no body to put an `in: body` value in.
            let _ = req.add(ds.location, &ds.name, &value);
        }
        req
    }

    /// Hands one exchange to `-v` and HAR (also NTLM's, sent outside reqwest).
    pub fn record(&self, mut ex: Exchange) {
        if let Some(f) = &self.on_exchange {
            if ex.source.is_none() {
                ex.source = self.source.lock().ok().and_then(|s| s.clone());
            }
            f(&ex);
        }
    }

    /// Tags the exchanges sent from now on (see [`Source`]).
    pub fn set_source(&self, source: Source) {
        if let Ok(mut s) = self.source.lock() {
            *s = Some(source);
        }
    }

    /// Counts `n` more bytes against the run's budget: response bodies as they
    /// arrive, the values parsed from them, js steps' outputs; an error past it.
    pub fn spend(&self, n: usize) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        let before = self.received.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > MAX_RUN_BYTES {
            return Err(format!(
                "this run has received more than {} MiB of response bodies and values made from them \
                 (parsed JSON, js outputs), the limit for one connector",
                MAX_RUN_BYTES >> 20
            ));
        }
        Ok(())
    }

    /// Keeps the cookies a response set (also NTLM's).
    pub fn store_cookie(&self, header: &str, url: &Url, cookies_set: &mut Map<String, Value>) {
        let Ok(raw) = RawCookie::parse(header.to_string()) else { return };
        let (name, value) = (raw.name().to_string(), raw.value().to_string());
        masker().learn(&value);
        if let Ok(mut jar) = self.jar.lock() {
            let _ = jar.insert_raw(&raw, url);
        }
        if self.policy.double_submit.as_ref().is_some_and(|d| d.cookie == name)
            && let Ok(mut v) = self.double_submit_value.lock()
        {
            *v = Some(value.clone());
        }
        cookies_set.insert(name, Value::String(value));
    }

    /// Every unexpired cookie in the jar, for the cache.
    pub fn cookies(&self) -> Vec<CookieRecord> {
        let Ok(jar) = self.jar.lock() else { return Vec::new() };
        jar.iter_unexpired()
            .map(|c| {
                let (domain, host_only) = match &c.domain {
                    cookie_store::CookieDomain::HostOnly(d) => (d.clone(), true),
                    cookie_store::CookieDomain::Suffix(d) => (d.clone(), false),
                    _ => (String::new(), true),
                };
                let expires = match &c.expires {
                    cookie_store::CookieExpiration::AtUtc(t) => {
                        t.format(&time::format_description::well_known::Rfc3339).ok()
                    }
                    cookie_store::CookieExpiration::SessionEnd => None,
                };
                CookieRecord {
                    name: c.name().to_string(),
                    value: Secret::new(c.value()),
                    domain,
                    path: String::from(&c.path as &str),
                    expires,
                    secure: c.secure().unwrap_or(false),
                    http_only: c.http_only().unwrap_or(false),
                    host_only,
                }
            })
            .collect()
    }

    /// Restores cached cookies into the jar.
    pub fn load_cookies(&self, cookies: &[CookieRecord]) {
        let Ok(mut jar) = self.jar.lock() else { return };
        for c in cookies {
            // A cookie from the cache is as secret as one a server just set
            // (a double-submit value can go out under an innocent header name).
            c.value.learn();
            let scheme = if c.secure { "https" } else { "http" };
            let Ok(url) = Url::parse(&format!("{scheme}://{}{}", c.domain, c.path)) else { continue };
            let mut builder = RawCookie::build((c.name.clone(), c.value.expose().to_string()))
                .path(c.path.clone())
                .secure(c.secure)
                .http_only(c.http_only);
            if !c.host_only {
                builder = builder.domain(c.domain.clone());
            }
            if let Some(exp) = c
                .expires
                .as_deref()
                .and_then(|e| time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok())
            {
                builder = builder.expires(exp);
            }
            let _ = jar.insert_raw(&builder.build(), &url);
            if self.policy.double_submit.as_ref().is_some_and(|d| d.cookie == c.name)
                && let Ok(mut v) = self.double_submit_value.lock()
            {
                *v = Some(c.value.expose().to_string());
            }
        }
    }
}
