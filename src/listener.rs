//! The loopback redirect listener of browser steps (RFC 8252 §7.3): binds
//! 127.0.0.1 only, accepts exactly one request on the redirect path, answers
//! the browser with a small page, and gives up after a timeout. What a
//! connection may send (size, time, how many at once) is bounded in `conn`.

pub mod conn;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::Error;

/// The longest wait for a callback, whatever a config says (a day).
const MAX_WAIT: Duration = Duration::from_secs(86_400);

/// One bound listener, waiting for its callback.
pub struct Listener {
    socket: std::net::TcpListener,
    port: u16,
    path: String,
}

/// The first request on the redirect path: its raw query string.
#[derive(Debug, Clone)]
pub struct Callback {
    pub query: String,
}

impl Callback {
    /// Query parameters, percent-decoded (`+` as space).
    pub fn decoded(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    /// Query parameters exactly as they arrived on the wire.
    pub fn raw(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (p.to_string(), String::new()),
            })
            .collect()
    }

    /// The decoded value of `name`, if the callback carries it.
    pub fn get(&self, name: &str) -> Option<String> {
        self.decoded().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

impl Listener {
    /// Binds `127.0.0.1:port` (0 = any free port). A port in use is an
    /// environment problem (exit 4) that names the port.
    pub fn bind(port: u16, path: &str) -> Result<Listener, Error> {
        let socket = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            Error::environment(
                format!("cannot listen for the browser callback on 127.0.0.1:{port}: {e}"),
                Some(if port == 0 {
                    "check that loopback networking works here".to_string()
                } else {
                    format!("another program holds port {port}: stop it, or set `redirect_port: 0` if the provider accepts any loopback port")
                }),
            )
        })?;
        let port = socket.local_addr().map(|a| a.port()).unwrap_or(port);
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        Ok(Listener { socket, port, path })
    }

    /// The URL the provider redirects the browser to.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.path)
    }

    /// Waits for the first request on the redirect path; `judge` says whether
    /// it signs the user in (`Ok`) or why not, and the browser is told so.
    /// Other paths (a favicon) get a 404 and the wait goes on.
    pub fn wait(
        self,
        timeout: Duration,
        connector: &str,
        judge: impl Fn(&Callback) -> Result<(), String>,
        stop: impl Fn() -> Option<Error>,
    ) -> Result<(Callback, Result<(), String>), Error> {
        let deadline = Instant::now().checked_add(timeout).unwrap_or_else(|| Instant::now() + MAX_WAIT);
        self.socket
            .set_nonblocking(true)
            .map_err(|e| Error::environment(format!("the callback listener failed: {e}"), None))?;
        let (found, arrived) = std::sync::mpsc::sync_channel(conn::MAX_CONNECTIONS);
        let active = Arc::new(AtomicUsize::new(0));
        // Set when the wait ends: readers still busy with a connection stop.
        let done = Arc::new(AtomicBool::new(false));
        let _stop = Stop(done.clone());
        loop {
            if let Some(e) = stop() {
                return Err(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::failed(format!(
                    "no browser callback on {} within {} s: the sign-in page never redirected back \
                     (finish signing in within `timeout_secs`, or check the provider's redirect URI)",
                    self.redirect_uri(),
                    timeout.as_secs()
                )));
            }
            conn::accept_pending(&self.socket, &active, &done, &found)
                .map_err(|e| Error::environment(format!("the callback listener failed: {e}"), None))?;
            let conn::Incoming { request, mut stream } = match arrived.recv_timeout(left.min(Duration::from_millis(50)))
            {
                Ok(incoming) => incoming,
                Err(_) => continue,
            };
            let url = request.target;
            let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
            if path != self.path {
                conn::respond(&mut stream, 404, "text/plain; charset=utf-8", "not found");
                continue;
            }
            let query = match request.method.as_str() {
                // The page below sends the fragment back: its parameters, read like a query's
                // (the body is bounded by the connection's request cap).
                "POST" => String::from_utf8_lossy(&request.body).into_owned(),
                // No query: the answer may be in the fragment, which browsers never send.
                _ if query.is_empty() => {
                    conn::respond(&mut stream, 200, "text/html; charset=utf-8", FRAGMENT_PAGE);
                    continue;
                }
                _ => query.to_string(),
            };
            let callback = Callback { query };
            let verdict = judge(&callback);
            let (status, page) = match &verdict {
                Ok(()) => (
                    200,
                    page(&format!("Signed in to {connector}"), "You can close this tab and return to the terminal."),
                ),
                Err(why) => (400, page(&format!("Sign-in to {connector} failed"), why)),
            };
            conn::respond(&mut stream, status, "text/html; charset=utf-8", &page);
            return Ok((callback, verdict));
        }
    }
}

/// Tells the connection readers the wait is over, however it ends.
struct Stop(Arc<AtomicBool>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Served for a redirect without a query: sends `location.hash` back to the
/// same path as a form POST (a token in the fragment, `response_type: token`).
const FRAGMENT_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>conntest</title></head>\
<body style=\"font-family:sans-serif;margin:3em\"><p id=\"m\">Finishing sign-in…</p><script>\
fetch(location.pathname,{method:'POST',headers:{'Content-Type':'application/x-www-form-urlencoded'},\
body:location.hash.replace(/^#/,'')}).then(function(r){return r.text()}).then(function(t){\
document.open();document.write(t);document.close()}).catch(function(e){\
document.getElementById('m').textContent='Could not reach conntest: '+e})</script></body></html>";

/// A small self-contained HTML page for the browser tab.
fn page(title: &str, text: &str) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{x}</p><p>conntest</p></body></html>",
        t = esc(title),
        x = esc(text)
    )
}

/// How a browser step reaches the person and waits for them.
pub struct Wait<'a> {
    pub connector: &'a str,
    pub step: &'a str,
    pub timeout: Duration,
    pub no_browser: bool,
    pub interactive: bool,
    pub spinner: bool,
}

/// Prints `url`, opens the browser on it (unless `--no-browser`), and waits
/// for the one callback. In non-interactive mode a run that cannot open a
/// browser ends at once with exit 3 instead of waiting for nobody.
pub async fn through_browser(
    listener: Listener,
    url: &str,
    w: &Wait<'_>,
    judge: impl Fn(&Callback) -> Result<(), String> + Send + 'static,
) -> Result<Callback, Error> {
    // In full, never masked: the URL is meant for the person's browser.
    crate::output::err_unmasked(&format!("{}: sign in to {} in a browser:\n  {url}", w.step, w.connector));
    let opened = if w.no_browser { Err("--no-browser was given".to_string()) } else { crate::browser::open(url) };
    match &opened {
        Ok(o) => crate::output::err(&format!(
            "  (opened with {}; waiting for the redirect to {})",
            o.program,
            listener.redirect_uri()
        )),
        Err(why) if !w.interactive => {
            return Err(Error::NeedsPerson {
                message: format!("it needs a person to sign in in a browser, and {why}"),
                hint: Some(
                    "run it interactively, or set BROWSER to a program that completes the sign-in (it gets the URL as its one argument)"
                        .into(),
                ),
            });
        }
        Err(why) => crate::output::err(&format!("  ({why}: open the URL yourself)")),
    }
    let spinner =
        w.spinner.then(|| crate::output::spinner(&format!("{}: {}: waiting for the browser", w.connector, w.step)));
    let (timeout, connector) = (w.timeout, w.connector.to_string());
    // An opener that fails soon after starting: CI ends at once (exit 3), a
    // person is told once and the wait goes on.
    let (interactive, told) = (w.interactive, std::sync::atomic::AtomicBool::new(false));
    let stop = move || {
        let why = opened.as_ref().ok()?.failure()?;
        if !interactive {
            return Some(Error::NeedsPerson {
                message: format!("it needs a person to sign in in a browser, and {why}"),
                hint: Some("fix BROWSER (it gets the URL as its one argument), or run it interactively".into()),
            });
        }
        if !told.swap(true, std::sync::atomic::Ordering::Relaxed) {
            crate::output::err(&format!("  ({why}: open the URL above yourself; still waiting)"));
        }
        None
    };
    let waited = tokio::task::spawn_blocking(move || listener.wait(timeout, &connector, judge, stop))
        .await
        .map_err(|e| Error::failed(format!("the callback listener stopped: {e}")))?;
    drop(spinner);
    let (callback, verdict) = waited?;
    verdict.map_err(Error::failed)?;
    Ok(callback)
}

/// Where a browser step's redirect lands: this machine's loopback listener,
/// or a registered URI no listener can catch, which the person pastes back.
pub enum Landing {
    Listen { listener: Listener, uri: String },
    Paste { uri: String },
}

impl Landing {
    /// `given`: the step's `redirect_uri` as rendered. A loopback `http://`
    /// URI is listened on at its port and path; any other one means paste mode.
    pub fn new(given: Option<&str>, port: u16, path: &str) -> Result<Landing, Error> {
        let Some(given) = given else {
            let listener = Listener::bind(port, path)?;
            let uri = listener.redirect_uri();
            return Ok(Landing::Listen { listener, uri });
        };
        let parsed = url::Url::parse(given.trim())
            .map_err(|e| Error::failed(format!("redirect_uri `{given}` is not an absolute URI: {e}")))?;
        let loopback =
            parsed.scheme() == "http" && matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if !loopback {
            return Ok(Landing::Paste { uri: given.trim().to_string() });
        }
        let listener = Listener::bind(parsed.port_or_known_default().unwrap_or(80), parsed.path())?;
        Ok(Landing::Listen { listener, uri: given.trim().to_string() })
    }

    /// The redirect URI to send to the provider.
    pub fn uri(&self) -> &str {
        match self {
            Landing::Listen { uri, .. } | Landing::Paste { uri } => uri,
        }
    }

    /// Sends the person to `url` and takes the one answer: from the listener,
    /// or pasted (its query and fragment), either way checked by `judge`.
    pub async fn wait(
        self,
        url: &str,
        w: &Wait<'_>,
        prompter: &crate::prompt::Prompter,
        judge: impl Fn(&Callback) -> Result<(), String> + Send + 'static,
    ) -> Result<Callback, Error> {
        let uri = match self {
            Landing::Listen { listener, .. } => return through_browser(listener, url, w, judge).await,
            Landing::Paste { uri } => uri,
        };
        crate::output::err_unmasked(&format!("{}: sign in to {} in a browser:\n  {url}", w.step, w.connector));
        if !w.interactive {
            return Err(Error::NeedsPerson {
                message: format!(
                    "it needs a person to paste the URL the browser ends on: redirect_uri {uri} is not a loopback address, so no listener can catch it"
                ),
                hint: Some("run it interactively, or register a loopback redirect URI (http://127.0.0.1:PORT/PATH) with the provider".into()),
            });
        }
        if !w.no_browser
            && let Err(why) = crate::browser::open(url)
        {
            crate::output::err(&format!("  ({why}: open the URL yourself)"));
        }
        use crate::steps::form::config::{Field, FieldKind, Form};
        let form = Form {
            title: format!("after signing in, paste the URL the browser ended on (it starts with {uri})"),
            fields: vec![Field {
                key: "redirected_to".into(),
                kind: FieldKind::Text,
                label: "URL the browser ended on".into(),
                default: None,
                required: true,
                store: false,
            }],
        };
        let (values, _) = prompter.fill(w.step, &form).await?;
        let pasted = values.get("redirected_to").and_then(|v| v.as_str()).unwrap_or_default().trim().to_string();
        let parsed = url::Url::parse(&pasted)
            .map_err(|e| Error::failed(format!("the pasted text is not a URL ({e}): paste the whole address bar")))?;
        let query = [parsed.query(), parsed.fragment()].into_iter().flatten().filter(|s| !s.is_empty());
        let callback = Callback { query: query.collect::<Vec<_>>().join("&") };
        judge(&callback).map_err(Error::failed)?;
        Ok(callback)
    }
}
