//! The only user of reqwest: one client per run (plain and TLS), redirects,
//! size and time limits, `--proxy`, `--retry`. What requests carry is in
//! `message`; what a run's requests share (cookies, budget, log) in `ledger`;
//! the TLS setup shared with the NTLM connection in `tls`; why a request got
//! no answer in `failure`.

pub mod failure;
pub mod ledger;
pub mod message;
pub mod tls;
pub mod tunnel;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use url::Url;

pub use ledger::{CookieRecord, Ledger};
pub use message::{
    Body, Exchange, ExchangeHook, MAX_BODY_BYTES, MAX_REDIRECTS, MAX_RUN_BYTES, NtlmAuth, Request, Response, SendError,
    Source, is_credential_header, is_form_encoded, learn_request_secrets, learn_url_secrets, parse_body, parse_form,
    parse_response_body, wire_body,
};

pub use tls::{ClientFiles, Identity, Tls};

use crate::connector::model::CookiePolicy;
use crate::secret::masker;
use failure::{ReadError, Retry};

/// Told about each retry, in words (`--retry`): the live output shows it.
pub type RetryHook = Arc<dyn Fn(&str) + Send + Sync>;

pub struct Http {
    /// For http:// URLs: built without loading any trust store (cheap).
    plain: reqwest::Client,
    /// For https:// URLs: built on the first one, loading the OS trust store
    /// then (a run against plain-HTTP servers never pays for it).
    tls: OnceLock<Result<reqwest::Client, String>>,
    /// The TLS setup of the NTLM connection: the same trust and client
    /// certificate, HTTP/1.1 only.
    ntlm_tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
    trust: tls::Trust,
    identity: Option<Identity>,
    /// `--proxy` (the environment's proxies otherwise).
    proxy: Option<Url>,
    /// `--retry`: how often a request that got no answer goes again, and how
    /// many retries this run has made.
    retry: u32,
    retries: AtomicU32,
    on_retry: Option<RetryHook>,
    /// Cookies, the double-submit value, the body budget and the exchange log.
    ledger: Ledger,
    timeout: Duration,
    /// The connector's `base_url` and where its value comes from, in words: the
    /// setting to check when a request under it finds no server.
    base_url_origin: Option<(Url, String)>,
}

impl Http {
    pub fn new(
        policy: CookiePolicy,
        timeout: Duration,
        on_exchange: Option<ExchangeHook>,
        tls: &Tls,
        identity: Option<Identity>,
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
        let trust = tls::Trust::new(tls)?;
        if let Some(proxy) = &tls.proxy
            && let Some(password) = proxy.password()
        {
            masker().learn(password);
        }
        let plain = base_builder(timeout, tls.proxy.as_ref())?
            .tls_built_in_root_certs(false)
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        Ok(Http {
            plain,
            tls: OnceLock::new(),
            ntlm_tls: OnceLock::new(),
            trust,
            identity,
            proxy: tls.proxy.clone(),
            retry: tls.retry,
            retries: AtomicU32::new(0),
            on_retry: None,
            ledger: Ledger::new(policy, on_exchange),
            timeout,
            base_url_origin: None,
        })
    }

    /// Where each retry is told (the live output).
    pub fn on_retry(&mut self, hook: RetryHook) {
        self.on_retry = Some(hook);
    }

    /// How many retries this run has made so far (`--retry`).
    pub fn retries(&self) -> u32 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Names where `base_url` (rendered: `base`) comes from in the hints of
    /// requests to its origin that find no server: that is the setting to fix.
    pub fn explain_base_url(&mut self, base: &str, origin: String) {
        self.base_url_origin = Url::parse(base).ok().map(|url| (url, origin));
    }

    /// Counts `n` bytes a step made from responses (a js step's outputs)
    /// against the run's budget; an error past it.
    pub fn hold(&self, n: usize) -> Result<(), String> {
        self.ledger.spend(n)
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
            let route = crate::ntlm::Route {
                tls: if sent.url.scheme() == "https" { Some(self.ntlm_tls()?) } else { None },
                proxy: failure::proxy_for(&sent.url, self.proxy.as_ref()).and_then(|p| Url::parse(&p).ok()),
            };
            let mut attempt = 0;
            loop {
                let pending =
                    crate::ntlm::send(&self.ledger, &sent, headers.clone(), body.clone(), &auth, self.timeout, &route);
                match pending.await {
                    // Only a connection never made: a handshake cut short is not sent again.
                    Err(e) if attempt < self.retry && crate::ntlm::not_connected(&e) => {
                        attempt += 1;
                        self.pause(attempt, &e.message).await;
                    }
                    other => return other,
                }
            }
        }
        let mut req = req;
        let mut cookies_set = Map::new();
        let mut hops = Vec::new();
        let origin = req.url.origin();
        for _ in 0..=MAX_REDIRECTS {
            // The double-submit value belongs to the origin the request was meant for.
            let sent = self.ledger.decorate(req.clone(), req.url.origin() == origin);
            let (status, headers, text) = self.with_retries(&sent, &mut cookies_set).await?;
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

    /// One exchange, sent again up to `--retry` times, 1 s, 2 s, 4 s … apart,
    /// while it gets no HTTP answer and the failure allows it for its method.
    async fn with_retries(
        &self,
        req: &Request,
        cookies_set: &mut Map<String, Value>,
    ) -> Result<(u16, Vec<(String, String)>, String), SendError> {
        let mut attempt = 0;
        loop {
            match self.exchange(req, cookies_set).await {
                Err((error, class)) if attempt < self.retry && class.allows(&req.method) => {
                    attempt += 1;
                    self.pause(attempt, &error.message).await;
                }
                Err((error, _)) => return Err(error),
                Ok(answer) => return Ok(answer),
            }
        }
    }

    /// Counts and tells retry `attempt` (after `why`), then waits 1 s, 2 s, 4 s … before it.
    async fn pause(&self, attempt: u32, why: &str) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        let wait = Duration::from_secs(1 << (attempt - 1).min(6));
        if let Some(hook) = &self.on_retry {
            hook(&format!("{why}; retry {attempt} of {} in {} s", self.retry, wait.as_secs()));
        }
        tokio::time::sleep(wait).await;
    }

    async fn exchange(
        &self,
        req: &Request,
        cookies_set: &mut Map<String, Value>,
    ) -> Result<(u16, Vec<(String, String)>, String), (SendError, Retry)> {
        let never = |e: SendError| (e, Retry::Never);
        learn_request_secrets(req);
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| never(SendError::failed(format!("bad method: {e}"))))?;
        let client = if req.url.scheme() == "https" { self.tls_client().map_err(never)? } else { &self.plain };
        let mut builder = client.request(method, req.url.clone());
        let (headers, body_text) = wire_body(req);
        for (n, v) in &headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        if let Some(b) = &body_text {
            builder = builder.body(b.clone());
        }
        let clock = Instant::now();
        let mut record = Exchange::begin(req, headers, body_text);
        // What parsing the body will hold is counted before it is parsed (here for
        // the masker, then as the step's outputs and the templates' copy).
        let result = match self.read(builder).await {
            Ok((status, headers, text)) => match self.ledger.spend(message::parsed_size(&headers, &text)) {
                Ok(()) => Ok((status, headers, text)),
                Err(why) => Err(ReadError::OverBudget(why)),
            },
            Err(e) => Err(e),
        };
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
                Err((error, failure::retry_class(&e)))
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

    /// The client for https:// URLs, built on the first one (loading the OS
    /// trust store then): the one TLS setup of `tls`, HTTP/2 offered.
    fn tls_client(&self) -> Result<&reqwest::Client, SendError> {
        let built = self.tls.get_or_init(|| {
            let alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            let config = tls::config(&self.trust, self.identity.as_ref(), alpn)?;
            base_builder(self.timeout, self.proxy.as_ref())?
                .use_preconfigured_tls(config)
                .build()
                .map_err(|e| format!("cannot start the HTTPS client: {e}"))
        });
        built.as_ref().map_err(|e| SendError::failed(e.clone()))
    }

    /// The TLS setup of the pinned NTLM connection: the same trust and client
    /// certificate as every other request, HTTP/1.1 (NTLM needs its connection).
    fn ntlm_tls(&self) -> Result<Arc<rustls::ClientConfig>, SendError> {
        let built = self
            .ntlm_tls
            .get_or_init(|| tls::config(&self.trust, self.identity.as_ref(), vec![b"http/1.1".to_vec()]).map(Arc::new));
        built.clone().map_err(SendError::failed)
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
fn base_builder(timeout: Duration, proxy: Option<&Url>) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("conntest/", env!("CARGO_PKG_VERSION")));
    if let Some(proxy) = proxy {
        // `--proxy` replaces HTTPS_PROXY/HTTP_PROXY; NO_PROXY still applies.
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|e| format!("--proxy {}: {e}", tunnel::shown_proxy(proxy.as_str())))?
            .no_proxy(reqwest::NoProxy::from_env());
        builder = builder.proxy(proxy);
    }
    Ok(builder)
}
