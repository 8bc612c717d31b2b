//! The only user of reqwest: one client per run, the cookie jar (Domain, Path,
//! expiry), the CSRF double-submit value, redirects, size and time limits,
//! and the log of every exchange (for `-v` and HAR).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cookie_store::{CookieStore, RawCookie};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::connector::model::{CookiePolicy, Location};
use crate::secret::{Secret, is_secret_name, masker};

pub const MAX_REDIRECTS: usize = 10;
/// Responses larger than this are refused rather than read into memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// All the response bodies one connector's run may receive, redirects and
/// retries included: what bounds the memory a run holds (outputs, `-v`, HAR).
pub const MAX_RUN_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub follow_redirects: bool,
    /// Authenticate the connection with NTLM (one pinned connection, no redirects).
    pub ntlm: Option<crate::ntlm::NtlmAuth>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(Value),
    Form(Vec<(String, String)>),
    Text(String),
}

impl Request {
    pub fn new(method: &str, url: Url) -> Self {
        Request {
            method: method.to_string(),
            url,
            headers: Vec::new(),
            body: Body::Empty,
            follow_redirects: true,
            ntlm: None,
        }
    }

    /// Adds `name=value` where `location` says: a header, a query parameter, or a body field.
    pub fn add(&mut self, location: Location, name: &str, value: &str) {
        match location {
            Location::Header => {
                self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                self.headers.push((name.to_string(), value.to_string()));
            }
            Location::Query => {
                self.url.query_pairs_mut().append_pair(name, value);
            }
            Location::Body => match &mut self.body {
                Body::Json(Value::Object(map)) => {
                    map.insert(name.to_string(), Value::String(value.to_string()));
                }
                Body::Form(pairs) => {
                    pairs.retain(|(n, _)| n != name);
                    pairs.push((name.to_string(), value.to_string()));
                }
                Body::Empty if !matches!(self.method.as_str(), "GET" | "HEAD") => {
                    self.body = Body::Form(vec![(name.to_string(), value.to_string())]);
                }
                _ => {}
            },
        }
    }

    pub fn summary(&self) -> String {
        format!("{} {}", self.method, self.url)
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON, or the text when the body is not JSON.
    pub body: Value,
    /// Cookies set while answering this request (redirect hops included).
    pub cookies: Map<String, Value>,
    /// The statuses of the redirects followed on the way, and where it ended.
    pub hops: Vec<u16>,
    pub final_url: Option<Url>,
}

impl Response {
    /// `200`, or with redirects followed `302 → 200 /login`: what a request line shows.
    pub fn outcome(&self) -> String {
        match &self.final_url {
            Some(url) if !self.hops.is_empty() => {
                let hops: Vec<String> = self.hops.iter().map(u16::to_string).collect();
                let path = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_string(),
                };
                format!("{} → {} {path}", hops.join(" → "), self.status)
            }
            _ => self.status.to_string(),
        }
    }
}

/// Called with every exchange as it completes (`-v`, HAR).
pub type ExchangeHook = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// One request and its answer, as `-v` and HAR show them.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub started: SystemTime,
    pub duration: Duration,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

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

pub struct Http {
    /// For http:// URLs: built without loading any trust store (cheap).
    plain: reqwest::Client,
    /// For https:// URLs: built on the first one, loading the OS trust store
    /// then (a run against plain-HTTP servers never pays for it).
    tls: std::sync::OnceLock<Result<reqwest::Client, String>>,
    tls_setup: (Vec<reqwest::Certificate>, bool),
    jar: Mutex<CookieStore>,
    policy: CookiePolicy,
    double_submit_value: Mutex<Option<String>>,
    /// Response body bytes received so far in this run (see [`MAX_RUN_BYTES`]).
    received: std::sync::atomic::AtomicUsize,
    on_exchange: Option<ExchangeHook>,
    timeout: Duration,
    /// The connector's `base_url` and where its value comes from, in words: the
    /// setting to check when a request under it finds no server.
    base_url_origin: Option<(Url, String)>,
}

/// Which server certificates to trust.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// `--cacert`: PEM files whose certificates are trusted too.
    pub cacert: Vec<std::path::PathBuf>,
    /// `-k/--insecure`: no verification at all.
    pub insecure: bool,
}

/// Why a request got no usable answer: `unreachable` when no HTTP response
/// came back at all (refused, reset, DNS, TLS, timeout: exit 5).
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    pub hint: Option<String>,
    pub unreachable: bool,
}

impl SendError {
    pub fn failed(message: impl Into<String>) -> Self {
        SendError { message: message.into(), hint: None, unreachable: false }
    }
    fn unreachable(message: impl Into<String>, hint: impl Into<String>) -> Self {
        SendError { message: message.into(), hint: Some(hint.into()), unreachable: true }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Http {
    pub fn new(
        policy: CookiePolicy,
        timeout: Duration,
        on_exchange: Option<ExchangeHook>,
        tls: &Tls,
    ) -> Result<Http, String> {
        let mut certs = Vec::new();
        for file in &tls.cacert {
            let pem = std::fs::read(file).map_err(|e| format!("--cacert {}: {e}", file.display()))?;
            let found = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("--cacert {}: not PEM certificates ({e})", file.display()))?;
            if found.is_empty() {
                return Err(format!("--cacert {}: no certificate in the file", file.display()));
            }
            certs.extend(found);
        }
        let plain = base_builder(timeout)
            .tls_built_in_root_certs(false)
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        Ok(Http {
            plain,
            tls: std::sync::OnceLock::new(),
            tls_setup: (certs, tls.insecure),
            jar: Mutex::new(CookieStore::new()),
            policy,
            double_submit_value: Mutex::new(None),
            received: std::sync::atomic::AtomicUsize::new(0),
            on_exchange,
            timeout,
            base_url_origin: None,
        })
    }

    /// Names where `base_url` (rendered: `base`) comes from in the hints of
    /// requests to its origin that find no server: that is the setting to fix.
    pub fn explain_base_url(&mut self, base: &str, origin: String) {
        self.base_url_origin = Url::parse(base).ok().map(|url| (url, origin));
    }

    /// Sends `req`, following redirects, keeping cookies; an error says what failed and where.
    pub async fn send(&self, req: Request) -> Result<Response, SendError> {
        if let Some(auth) = req.ntlm.clone() {
            let sent = self.decorate(req, true);
            learn_request_secrets(&sent);
            let (headers, body) = wire_body(&sent);
            return crate::ntlm::send(self, &sent, headers, body, &auth, self.timeout).await;
        }
        let mut req = req;
        let mut cookies_set = Map::new();
        let mut hops = Vec::new();
        let origin = req.url.origin();
        for _ in 0..=MAX_REDIRECTS {
            // The double-submit value belongs to the origin the request was meant for.
            let sent = self.decorate(req.clone(), req.url.origin() == origin);
            let (status, headers, text) = self.exchange(&sent, &mut cookies_set).await?;
            let location = headers.iter().find(|(n, _)| n == "location").map(|(_, v)| v.clone());
            if req.follow_redirects
                && matches!(status, 301 | 302 | 303 | 307 | 308)
                && let Some(location) = location
            {
                let next = sent.url.join(&location).map_err(|e| {
                    SendError::failed(format!("{}: bad redirect location `{location}`: {e}", sent.summary()))
                })?;
                let changes_to_get = status == 303 || (matches!(status, 301 | 302) && req.method == "POST");
                if next.origin() != sent.url.origin() {
                    // Credentials meant for one origin are not handed to another:
                    // no secret-named header, and never the body again (a 307/308
                    // would resend a password to the other host).
                    if !changes_to_get && !matches!(req.body, Body::Empty) {
                        return Err(SendError::failed(format!(
                            "{}: {status} redirect to another origin ({}) would resend the request body there; not followed",
                            sent.summary(),
                            next.origin().ascii_serialization()
                        )));
                    }
                    req.headers.retain(|(n, _)| !is_credential_header(n));
                }
                if changes_to_get {
                    req.method = "GET".into();
                    req.body = Body::Empty;
                    req.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
                }
                req.url = next;
                hops.push(status);
                continue;
            }
            return Ok(Response {
                status,
                headers,
                body: parse_body(&text),
                cookies: cookies_set,
                hops,
                final_url: Some(req.url.clone()),
            });
        }
        Err(SendError::failed(format!(
            "{} {}: too many redirects (more than {MAX_REDIRECTS}); last location {}",
            req.method, req.url, req.url
        )))
    }

    /// Adds the cookie header and (on the request's own origin) the double-submit value to one hop.
    fn decorate(&self, mut req: Request, own_origin: bool) -> Request {
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
            req.add(ds.location, &ds.name, &value);
        }
        req
    }

    async fn exchange(
        &self,
        req: &Request,
        cookies_set: &mut Map<String, Value>,
    ) -> Result<(u16, Vec<(String, String)>, String), SendError> {
        learn_request_secrets(req);
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| SendError::failed(format!("bad method: {e}")))?;
        let client = if req.url.scheme() == "https" { self.tls_client()? } else { &self.plain };
        let mut builder = client.request(method, req.url.clone());
        let (headers, body_text) = wire_body(req);
        for (n, v) in &headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        if let Some(b) = &body_text {
            builder = builder.body(b.clone());
        }
        let started = SystemTime::now();
        let clock = Instant::now();
        let mut record = Exchange {
            started,
            duration: Duration::ZERO,
            method: req.method.clone(),
            url: req.url.to_string(),
            request_headers: headers,
            request_body: body_text,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
        };
        let result = self.read(builder).await;
        record.duration = clock.elapsed();
        match result {
            Ok((status, resp_headers, text)) => {
                for (_, value) in resp_headers.iter().filter(|(n, _)| n == "set-cookie") {
                    self.store_cookie(value, &req.url, cookies_set);
                }
                if let Some((_, location)) = resp_headers.iter().find(|(n, _)| n == "location") {
                    learn_url_secrets(&req.url, location);
                }
                record.status = Some(status);
                record.response_headers = resp_headers.clone();
                if let Ok(json) = serde_json::from_str::<Value>(&text) {
                    masker().learn_json("", &json);
                }
                record.response_body = Some(text.clone());
                self.record(record);
                Ok((status, resp_headers, text))
            }
            Err(e) => {
                let error = self.describe(req, &e);
                record.error = Some(error.message.clone());
                self.record(record);
                Err(error)
            }
        }
    }

    async fn read(&self, builder: reqwest::RequestBuilder) -> Result<(u16, Vec<(String, String)>, String), ReadError> {
        let mut resp = builder.send().await.map_err(ReadError::Http)?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        if resp.content_length().is_some_and(|n| n as usize > MAX_BODY_BYTES) {
            return Err(ReadError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(ReadError::Http)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ReadError::TooLarge);
            }
            self.spend(chunk.len()).map_err(ReadError::OverBudget)?;
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
    }

    /// The client for https:// URLs. Trust: the OS store (SSL_CERT_FILE when
    /// set) and the bundled Mozilla roots (both reqwest features), plus every
    /// --cacert certificate; none at all with -k.
    fn tls_client(&self) -> Result<&reqwest::Client, SendError> {
        let built = self.tls.get_or_init(|| {
            let (certs, insecure) = &self.tls_setup;
            let mut builder = base_builder(self.timeout).danger_accept_invalid_certs(*insecure);
            for cert in certs {
                builder = builder.add_root_certificate(cert.clone());
            }
            builder.build().map_err(|e| format!("cannot start the HTTPS client: {e}"))
        });
        built.as_ref().map_err(|e| SendError::failed(e.clone()))
    }

    /// What went wrong, in words a person can act on.
    fn describe(&self, req: &Request, e: &ReadError) -> SendError {
        let what = req.summary();
        let host = req.url.host_str().unwrap_or_default().to_string();
        let port = req.url.port_or_known_default().unwrap_or_default();
        let e = match e {
            ReadError::OverBudget(why) => return SendError::failed(format!("{what}: {why}")),
            ReadError::TooLarge => {
                return SendError::failed(format!("{what}: response body larger than {} MiB", MAX_BODY_BYTES >> 20));
            }
            ReadError::Http(e) => e,
        };
        if e.is_timeout() {
            return SendError::unreachable(
                format!("{what}: no answer within {} s", self.timeout.as_secs_f64()),
                "is the server up? raise --timeout if it is only slow",
            );
        }
        let mut causes = Vec::new();
        let mut cause: Option<&dyn std::error::Error> = Some(e);
        while let Some(c) = cause {
            causes.push(c.to_string());
            cause = c.source();
        }
        let inner = causes.last().cloned().unwrap_or_default();
        let all = causes.join(": ").to_ascii_lowercase().replace([' ', '_'], "");
        let has = |needle: &str| all.contains(needle);
        let tls_hint = "trust its CA with --cacert FILE (PEM) or SSL_CERT_FILE; -k skips verification (unsafe)";
        let base_url = self
            .base_url_origin
            .as_ref()
            .filter(|(base, _)| base.origin() == req.url.origin())
            .map(|(_, origin)| origin.as_str());
        if let Some(proxy) = proxy_for(&req.url)
            && e.is_connect()
            && !has("certificate")
        {
            return SendError::unreachable(
                format!("{what}: cannot get through the proxy at {proxy} ({inner})"),
                "check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY",
            );
        }
        let (message, hint): (String, String) = if has("unknownissuer") {
            (
                format!(
                    "{what}: the TLS certificate of {host} is signed by an unknown issuer (a CA this machine does not trust)"
                ),
                tls_hint.into(),
            )
        } else if has("expired") {
            (
                format!("{what}: the TLS certificate of {host} has expired"),
                "renew the server's certificate; -k skips verification (unsafe)".into(),
            )
        } else if has("notvalidforname") || has("notvalidforthename") || has("certificatenotvalidforname") {
            (
                format!("{what}: the TLS certificate is not valid for the name {host}"),
                "use the host name the certificate was issued for; -k skips verification (unsafe)".into(),
            )
        } else if has("causedasendentity") {
            (
                format!("{what}: {host} presents a CA certificate as its own server certificate"),
                "the server must present a leaf certificate signed by that CA".into(),
            )
        } else if has("certificate") {
            (format!("{what}: the TLS certificate of {host} was rejected ({inner})"), tls_hint.into())
        } else if req.url.scheme() == "https"
            && (has("invalidcontenttype")
                || has("corruptmessage")
                || has("recordoverflow")
                || has("wrongversion")
                || has("tlshandshakeeof"))
        {
            let mut hint = format!("did you mean http://{host}:{port}?");
            if let Some(origin) = base_url {
                hint = format!("{hint} {origin}");
            }
            (format!("{what}: {host}:{port} does not speak TLS"), hint)
        } else if has("connectionrefused") {
            (
                format!("{what}: nothing listens on {host}:{port} (connection refused)"),
                match base_url {
                    Some(origin) => format!("is the server running? {origin}"),
                    None => "is the server running? check the URL, its port and `base_url`".into(),
                },
            )
        } else if has("dnserror") || has("failedtolookupaddress") || has("nameorservicenotknown") {
            (
                format!("{what}: cannot resolve the host name {host}"),
                match base_url {
                    Some(origin) => format!("check the spelling of the host: {origin}"),
                    None => "check the spelling of the host in the URL or `base_url`".into(),
                },
            )
        } else if has("connectionreset") || has("brokenpipe") {
            (format!("{what}: {host}:{port} reset the connection"), "is it the right port for this service?".into())
        } else if has("invalidhttpversion")
            || has("http/0.9")
            || has("invalidstatuscode")
            || has("parse") && !e.is_body()
            // A server that speaks first (SSH, SMTP) can be heard before the request is
            // written: hyper's "received unexpected message from connection".
            || has("unexpectedmessage")
        {
            (
                format!("{what}: {host}:{port} answered something that is not HTTP"),
                match base_url {
                    Some(origin) => format!("is it the right port for this service? {origin}"),
                    None => "is it the right port for this service?".into(),
                },
            )
        } else if e.is_connect() || has("connectionclosed") || has("incompletemessage") {
            (
                format!("{what}: no HTTP answer from {host}:{port} ({inner})"),
                "is the server running and reachable?".into(),
            )
        } else {
            return SendError::failed(format!("{what}: {inner}"));
        };
        SendError::unreachable(message, hint)
    }

    /// Hands one exchange to `-v` and HAR (also NTLM's, sent outside reqwest).
    pub fn record(&self, ex: Exchange) {
        if let Some(f) = &self.on_exchange {
            f(&ex);
        }
    }

    /// Counts `n` more body bytes against the run's budget; an error past it.
    pub fn spend(&self, n: usize) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        let before = self.received.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > MAX_RUN_BYTES {
            return Err(format!(
                "this run has received more than {} MiB of response bodies, the limit for one connector",
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

/// Settings every client of a run shares.
fn base_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("conntest/", env!("CARGO_PKG_VERSION")))
}

/// The proxy a request to `url` goes through, from the environment (as reqwest reads it).
fn proxy_for(url: &Url) -> Option<String> {
    let host = url.host_str().unwrap_or_default();
    let var = |k: &str| {
        std::env::var(k).ok().or_else(|| std::env::var(k.to_ascii_lowercase()).ok()).filter(|v| !v.is_empty())
    };
    if let Some(no) = var("NO_PROXY")
        && no
            .split(',')
            .map(str::trim)
            .any(|n| n == "*" || (!n.is_empty() && host.ends_with(n.trim_start_matches('.'))))
    {
        return None;
    }
    match url.scheme() {
        "https" => var("HTTPS_PROXY").or_else(|| var("ALL_PROXY")),
        _ => var("HTTP_PROXY").or_else(|| var("ALL_PROXY")),
    }
}

enum ReadError {
    Http(reqwest::Error),
    TooLarge,
    OverBudget(String),
}

/// The headers and body text `req` goes out with (a content type added for JSON and forms).
pub fn wire_body(req: &Request) -> (Vec<(String, String)>, Option<String>) {
    let mut headers = req.headers.clone();
    let has_content_type = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    let body = match &req.body {
        Body::Empty => None,
        Body::Json(v) => {
            if !has_content_type {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(v.to_string())
        }
        Body::Form(pairs) => {
            if !has_content_type {
                headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
            }
            Some(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
        }
        Body::Text(t) => Some(t.clone()),
    };
    (headers, body)
}

/// Teaches the masker the secrets a request carries, before anything can print it.
fn learn_request_secrets(req: &Request) {
    let m = masker();
    for (name, value) in &req.headers {
        if is_secret_name(name) || name.eq_ignore_ascii_case("proxy-authorization") {
            m.learn(value);
            if let Some((_, credential)) = value.split_once(' ') {
                m.learn(credential.trim());
            }
        }
    }
    for (name, value) in req.url.query_pairs() {
        if is_secret_name(&name) {
            m.learn(&value);
        }
    }
    match &req.body {
        Body::Json(v) => m.learn_json("", v),
        Body::Form(pairs) => pairs.iter().filter(|(n, _)| is_secret_name(n)).for_each(|(_, v)| m.learn(v)),
        _ => {}
    }
}

/// Headers that carry credentials: never sent on to another origin.
fn is_credential_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "authorization" | "proxy-authorization" | "cookie")
        || is_secret_name(&lower)
        || ["auth", "api-key", "apikey", "session", "csrf", "xsrf"].iter().any(|w| lower.contains(w))
}

/// Teaches the masker the secret-named parameters of a redirect's `Location`,
/// query and fragment (`#access_token=…`) alike, before any line shows it.
fn learn_url_secrets(base: &Url, location: &str) {
    let Ok(url) = base.join(location) else { return };
    let m = masker();
    let fragment = url.fragment().unwrap_or_default();
    let pairs = url.query_pairs().chain(url::form_urlencoded::parse(fragment.as_bytes()));
    for (name, value) in pairs {
        if is_secret_name(&name) {
            m.learn(&value);
        }
    }
}

fn parse_body(text: &str) -> Value {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = serde_json::from_str(text)
    {
        return v;
    }
    Value::String(text.to_string())
}
