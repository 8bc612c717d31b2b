//! The only user of reqwest: one client per run (plain and TLS), redirects,
//! size and time limits, and why a request got no answer. What requests carry
//! is in `message`; what a run's requests share (cookies, budget, log) in `ledger`.

pub mod ledger;
pub mod message;

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};
use url::Url;

pub use ledger::{CookieRecord, Ledger};
pub use message::{
    Body, Exchange, ExchangeHook, MAX_BODY_BYTES, MAX_REDIRECTS, MAX_RUN_BYTES, NtlmAuth, Request, Response, SendError,
    Source, is_credential_header, is_form_encoded, learn_request_secrets, learn_url_secrets, parse_body, parse_form,
    parse_response_body, wire_body,
};

use crate::connector::model::CookiePolicy;
use crate::secret::masker;

pub struct Http {
    /// For http:// URLs: built without loading any trust store (cheap).
    plain: reqwest::Client,
    /// For https:// URLs: built on the first one, loading the OS trust store
    /// then (a run against plain-HTTP servers never pays for it).
    tls: std::sync::OnceLock<Result<reqwest::Client, String>>,
    tls_setup: (Vec<reqwest::Certificate>, bool),
    /// Cookies, the double-submit value, the body budget and the exchange log.
    ledger: Ledger,
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

impl Http {
    pub fn new(
        policy: CookiePolicy,
        timeout: Duration,
        on_exchange: Option<ExchangeHook>,
        tls: &Tls,
    ) -> Result<Http, String> {
        // reqwest reads these itself; their credentials must be masked before
        // any error names the proxy.
        for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"] {
            if let Ok(proxy) = std::env::var(var) {
                message::learn_url_text_credentials(&proxy);
            }
        }
        // rustls-native-certs reads it whole, and blocks on a FIFO.
        if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
            crate::flagfile::check("SSL_CERT_FILE", std::path::Path::new(&file), crate::flagfile::MAX_CERT_FILE_BYTES)?;
        }
        let mut certs = Vec::new();
        for file in &tls.cacert {
            let pem = crate::flagfile::read("--cacert", file, crate::flagfile::MAX_CERT_FILE_BYTES)?;
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
            ledger: Ledger::new(policy, on_exchange),
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
        for (name, value) in &req.headers {
            if let Some(why) = message::header_value_problem(value) {
                return Err(SendError::failed(format!("{}: header `{name}`: {why}", req.summary())));
            }
        }
        if let Some(auth) = req.ntlm.clone() {
            let sent = self.ledger.decorate(req, true);
            learn_request_secrets(&sent);
            let (headers, body) = wire_body(&sent);
            return crate::ntlm::send(&self.ledger, &sent, headers, body, &auth, self.timeout).await;
        }
        let mut req = req;
        let mut cookies_set = Map::new();
        let mut hops = Vec::new();
        let origin = req.url.origin();
        for _ in 0..=MAX_REDIRECTS {
            // The double-submit value belongs to the origin the request was meant for.
            let sent = self.ledger.decorate(req.clone(), req.url.origin() == origin);
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
            let body = parse_response_body(&headers, &text);
            return Ok(Response {
                status,
                headers,
                body,
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
            source: None,
        };
        let result = self.read(builder).await;
        record.duration = clock.elapsed();
        match result {
            Ok((status, resp_headers, text)) => {
                for (_, value) in resp_headers.iter().filter(|(n, _)| n == "set-cookie") {
                    self.ledger.store_cookie(value, &req.url, cookies_set);
                }
                if let Some((_, location)) = resp_headers.iter().find(|(n, _)| n == "location") {
                    learn_url_secrets(&req.url, location);
                }
                record.status = Some(status);
                record.response_headers = resp_headers.clone();
                if is_form_encoded(&resp_headers) {
                    masker().learn_json("", &parse_form(&text));
                } else if let Ok(json) = serde_json::from_str::<Value>(&text) {
                    masker().learn_json("", &json);
                }
                record.response_body = Some(text.clone());
                self.ledger.record(record);
                Ok((status, resp_headers, text))
            }
            Err(e) => {
                let error = self.describe(req, &e);
                record.error = Some(error.message.clone());
                self.ledger.record(record);
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
            self.ledger.spend(chunk.len()).map_err(ReadError::OverBudget)?;
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

    /// Tags the exchanges sent from now on with a HAR page and step id.
    pub fn set_source(&self, page: String, step: &str) {
        self.ledger.set_source(Source { page, step: step.to_string() });
    }

    /// Hands one exchange to `-v` and HAR.
    pub fn record(&self, ex: Exchange) {
        self.ledger.record(ex);
    }

    /// Every unexpired cookie in the jar, for the cache.
    pub fn cookies(&self) -> Vec<CookieRecord> {
        self.ledger.cookies()
    }

    /// Restores cached cookies into the jar.
    pub fn load_cookies(&self, cookies: &[CookieRecord]) {
        self.ledger.load_cookies(cookies);
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
