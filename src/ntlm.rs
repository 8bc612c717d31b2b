//! NTLMv2 over one pinned TCP connection — the only hyper and ntlmclient user.
//!
//! NTLM authenticates the connection, not the request: negotiate, challenge
//! and authenticate must travel on the same socket. A pooled client may switch
//! connections mid-handshake, so this opens one HTTP/1.1 connection with
//! hyper's low-level client (in TLS for https://, with the run's one TLS setup)
//! and keeps every message of the handshake on it. A server that offers only
//! `Negotiate` gets the NTLM messages under that scheme (as Windows clients
//! send them when Kerberos is not available).

mod limits;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::Map;

use crate::http::ledger::Ledger;
use crate::http::message::{Exchange, MAX_BODY_BYTES, NtlmAuth, Request, Response, SendError};
use crate::secret::masker;

type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// How the pinned connection reaches the server: TLS for https:// (the run's
/// one TLS setup), and a CONNECT tunnel when a proxy applies.
#[derive(Default, Clone)]
pub struct Route {
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub proxy: Option<url::Url>,
}

/// Sends `req` with an NTLM handshake on one connection; the answer to the
/// authenticated request is the response.
pub async fn send(
    http: &Ledger,
    req: &Request,
    headers: Vec<(String, String)>,
    body: Option<String>,
    auth: &NtlmAuth,
    timeout: Duration,
    route: &Route,
) -> Result<Response, SendError> {
    let what = req.summary();
    match tokio::time::timeout(timeout, handshake(http, req, headers, body, auth, route)).await {
        Ok(result) => result,
        Err(_) => Err(SendError {
            message: format!("{what}: no answer within {} s during the NTLM handshake", timeout.as_secs_f64()),
            hint: Some("is the server up? raise --timeout if it is only slow".into()),
            unreachable: true,
        }),
    }
}

async fn handshake(
    http: &Ledger,
    req: &Request,
    headers: Vec<(String, String)>,
    body: Option<String>,
    auth: &NtlmAuth,
    route: &Route,
) -> Result<Response, SendError> {
    let what = req.summary();
    limits::check_credentials(auth).map_err(|e| SendError::failed(format!("{what}: {e}")))?;
    if !matches!(req.url.scheme(), "http" | "https") {
        return Err(SendError::failed(format!("{what}: NTLM needs an http:// or https:// URL")));
    }
    // An IPv6 literal is `[::1]` in a URL and `::1` to connect to.
    let host = req.url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = req.url.port_or_known_default().unwrap_or(80);
    let stream = match &route.proxy {
        // Through a proxy, a tunnel of its own: the handshake must stay on one connection.
        Some(proxy) => crate::http::tunnel::open(&what, proxy, &host, port).await?,
        None => tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| SendError {
            message: format!("{what}: {NOT_CONNECTED} {host}:{port} ({e})"),
            hint: Some("is the server running? check the URL and its port".into()),
            unreachable: true,
        })?,
    };
    let mut conn = match route.tls.clone() {
        Some(config) => {
            let stream = crate::http::tls::connect(config, &host, stream)
                .await
                .map_err(|e| tls_failure(&what, &host, port, &e))?;
            let (conn, driver) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| SendError::failed(format!("{what}: {e}")))?;
            tokio::spawn(driver);
            conn
        }
        None => {
            let (conn, driver) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| SendError::failed(format!("{what}: {e}")))?;
            tokio::spawn(driver);
            conn
        }
    };

    let negotiate = ntlmclient::Message::Negotiate(ntlmclient::NegotiateMessage {
        flags: ntlmclient::Flags::NEGOTIATE_UNICODE
            | ntlmclient::Flags::REQUEST_TARGET
            | ntlmclient::Flags::NEGOTIATE_NTLM
            | ntlmclient::Flags::NEGOTIATE_WORKSTATION_SUPPLIED,
        supplied_domain: String::new(),
        supplied_workstation: auth.workstation.clone(),
        os_version: Default::default(),
    });
    let negotiate = negotiate
        .to_bytes()
        .map_err(|e| SendError::failed(format!("{what}: cannot encode the NTLM negotiate message: {e:?}")))?;
    let negotiate = b64(&negotiate);
    let mut scheme = "NTLM";
    let mut first = round(http, &mut conn, req, &headers, &body, Some((scheme, negotiate.clone()))).await?;
    if first.status == 401
        && offers(&first, "Negotiate")
        && !offers(&first, "NTLM")
        && challenge(&first, "NTLM").is_none()
    {
        // Negotiate only: NTLM is one of its mechanisms; send the same messages under it.
        scheme = "Negotiate";
        first = round(http, &mut conn, req, &headers, &body, Some((scheme, negotiate))).await?;
    }
    if first.status != 401 {
        // Already authenticated (or not protected): that answer stands.
        return Ok(first);
    }
    let Some(challenge) = challenge(&first, scheme) else {
        let offered: Vec<&str> = first
            .headers
            .iter()
            .filter(|(n, _)| n == "www-authenticate")
            .map(|(_, v)| v.split_whitespace().next().unwrap_or_default())
            .collect();
        let why = match (scheme, offered.is_empty()) {
            ("Negotiate", _) => {
                "the server offers only Negotiate and did not take NTLM inside it (it may require Kerberos)".to_string()
            }
            (_, true) => "the server offers no authentication scheme here".to_string(),
            _ => format!("the server offers {} here, not NTLM", offered.join(", ")),
        };
        return Err(SendError::failed(format!("{what} → 401 without an NTLM challenge: {why}")));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&challenge)
        .map_err(|_| SendError::failed(format!("{what}: the NTLM challenge is not base64")))?;
    // Under Negotiate the challenge may come wrapped in SPNEGO: the NTLM message is inside.
    let start = bytes.windows(8).position(|w| w == b"NTLMSSP\0").unwrap_or(0);
    let challenge = match ntlmclient::Message::try_from(&bytes[start..]) {
        Ok(ntlmclient::Message::Challenge(c)) => c,
        _ => return Err(SendError::failed(format!("{what}: the server's NTLM challenge cannot be read"))),
    };
    let target_info: Vec<u8> = challenge.target_information.iter().flat_map(|e| e.to_bytes()).collect();
    limits::check_target_info(target_info.len()).map_err(|e| SendError::failed(format!("{what}: {e}")))?;
    let creds = ntlmclient::Credentials {
        username: auth.username.clone(),
        password: auth.password.expose().to_string(),
        domain: auth.domain.clone(),
    };
    let response =
        ntlmclient::respond_challenge_ntlm_v2(challenge.challenge, &target_info, ntlmclient::get_ntlm_time(), &creds);
    let message = response.to_message(
        &creds,
        &auth.workstation,
        ntlmclient::Flags::NEGOTIATE_UNICODE | ntlmclient::Flags::NEGOTIATE_NTLM,
    );
    let message =
        message.to_bytes().map_err(|e| SendError::failed(format!("{what}: cannot encode the NTLM response: {e:?}")))?;
    round(http, &mut conn, req, &headers, &body, Some((scheme, b64(&message)))).await
}

/// How the message of a connection that was never made reads.
const NOT_CONNECTED: &str = "cannot connect to";

/// Whether `e` is a connection that was never made (nothing was sent: `--retry` may go again).
pub fn not_connected(e: &SendError) -> bool {
    e.unreachable && e.message.contains(&format!(": {NOT_CONNECTED} "))
}

/// Whether a 401 offers `scheme` in a `WWW-Authenticate` header.
fn offers(resp: &Response, scheme: &str) -> bool {
    resp.headers.iter().filter(|(n, _)| n == "www-authenticate").any(|(_, v)| {
        v.split(',').any(|part| part.split_whitespace().next().is_some_and(|s| s.eq_ignore_ascii_case(scheme)))
    })
}

/// The base64 token of a `WWW-Authenticate: SCHEME token` header.
fn challenge(resp: &Response, scheme: &str) -> Option<String> {
    resp.headers.iter().filter(|(n, _)| n == "www-authenticate").find_map(|(_, v)| {
        let (s, token) = v.trim().split_once(' ')?;
        (s.eq_ignore_ascii_case(scheme) && !token.trim().is_empty()).then(|| token.trim().to_string())
    })
}

/// A request on the pinned connection that got no HTTP answer (exit 5), in
/// words: with TLS 1.3 a server that refuses the client certificate says so
/// only after the handshake, on the first request.
fn no_answer(what: &str, e: &hyper::Error) -> SendError {
    let mut causes = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        causes.push(c.to_string());
        cause = c.source();
    }
    let all = causes.join(": ");
    let lower = all.to_ascii_lowercase().replace([' ', '_'], "");
    if lower.contains("certificaterequired") || lower.contains("badcertificate") || lower.contains("unknownca") {
        return SendError::unreachable(
            format!("{what}: the server refused the TLS session: it requires a client certificate it trusts ({all})"),
            "give --cert and --key, or `tls:` in the connector",
        );
    }
    SendError::unreachable(
        format!("{what}: no HTTP answer on the NTLM connection ({all})"),
        "is the server running and reachable?",
    )
}

/// A TLS handshake that failed, in words: the certificate, or no TLS at all.
fn tls_failure(what: &str, host: &str, port: u16, e: &std::io::Error) -> SendError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase().replace([' ', '_'], "");
    let trust = "trust its CA with --cacert FILE (PEM) or SSL_CERT_FILE; -k skips verification (unsafe)";
    let (message, hint) = if lower.contains("unknownissuer") {
        (
            format!("the TLS certificate of {host} is signed by an unknown issuer (a CA this machine does not trust)"),
            trust,
        )
    } else if lower.contains("expired") {
        (
            format!("the TLS certificate of {host} has expired"),
            "renew the server's certificate; -k skips verification (unsafe)",
        )
    } else if lower.contains("notvalidforname") {
        (
            format!("the TLS certificate is not valid for the name {host}"),
            "use the host name the certificate was issued for",
        )
    } else if lower.contains("certificaterequired")
        || lower.contains("handshakefailure")
        || lower.contains("badcertificate")
    {
        (
            format!("{host}:{port} refused the TLS handshake ({text})"),
            "does it require a client certificate? give --cert and --key, or `tls:` in the connector",
        )
    } else if lower.contains("corruptmessage") || lower.contains("invalidcontenttype") || lower.contains("eof") {
        (format!("{host}:{port} does not speak TLS ({text})"), "did you mean http://?")
    } else {
        (format!("TLS handshake with {host}:{port} failed ({text})"), trust)
    };
    SendError::unreachable(format!("{what}: {message}"), hint)
}

/// What goes on the request line and in `Host` for `url` (RFC 9112 §3.2): the
/// request target in origin form (path and query, never the scheme and
/// authority: absolute form is for proxies, and origin servers such as IIS
/// route on the raw path and answer 404 or 400 to it), and the host with its
/// port unless that is the scheme's default. hyper's connection-level client
/// sends the URI it is given as is and adds no `Host`, so the pinned connection
/// needs both; reqwest (hyper-util's pooled client) derives the same two from
/// the URL itself — the strict test server checks both paths.
pub fn origin_form(url: &url::Url) -> (String, String) {
    let mut target = url.path().to_string();
    if target.is_empty() {
        target.push('/');
    }
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let host = url.host_str().unwrap_or_default();
    // `port()` is `None` for the scheme's default port: `Host: example.com`.
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    (target, host)
}

fn b64(bytes: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    // NTLM messages are credentials on the wire: never printed.
    masker().learn(&text);
    text
}

/// One request on the pinned connection, logged like every other exchange.
async fn round(
    http: &Ledger,
    conn: &mut Conn,
    req: &Request,
    headers: &[(String, String)],
    body: &Option<String>,
    token: Option<(&str, String)>,
) -> Result<Response, SendError> {
    let what = req.summary();
    let mut headers = headers.to_vec();
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    if let Some((scheme, t)) = token {
        headers.push(("Authorization".into(), format!("{scheme} {t}")));
    }
    let (target, host) = origin_form(&req.url);
    let mut builder = hyper::Request::builder().method(req.method.as_str()).uri(target).header("Host", host);
    for (n, v) in &headers {
        builder = builder.header(n.as_str(), v.as_str());
    }
    let request = builder
        .body(Full::new(Bytes::from(body.clone().unwrap_or_default())))
        .map_err(|e| SendError::failed(format!("{what}: {e}")))?;
    let clock = Instant::now();
    let mut record = Exchange::begin(req, headers, body.clone());
    conn.ready().await.map_err(|e| no_answer(&what, &e))?;
    let result = async {
        let resp = conn.send_request(request).await.map_err(|e| no_answer(&what, &e))?;
        let status = resp.status().as_u16();
        let resp_headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let limited = http_body_util::Limited::new(resp.into_body(), MAX_BODY_BYTES);
        let bytes = limited
            .collect()
            .await
            .map_err(|_| {
                SendError::failed(format!(
                    "{what}: response body unreadable or larger than {} MiB",
                    MAX_BODY_BYTES >> 20
                ))
            })?
            .to_bytes();
        http.spend(bytes.len()).map_err(|why| SendError::failed(format!("{what}: {why}")))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // What parsing it will hold, counted before it is parsed.
        http.spend(crate::http::message::parsed_size(&resp_headers, &text))
            .map_err(|why| SendError::failed(format!("{what}: {why}")))?;
        Ok::<_, SendError>((status, resp_headers, text))
    }
    .await;
    record.duration = clock.elapsed();
    match result {
        Ok((status, resp_headers, text)) => {
            let mut cookies = Map::new();
            for (_, value) in resp_headers.iter().filter(|(n, _)| n == "set-cookie") {
                http.store_cookie(value, &req.url, &mut cookies);
            }
            for (_, value) in resp_headers.iter().filter(|(n, _)| n == "www-authenticate") {
                if let Some((scheme, challenge)) = value.trim().split_once(' ')
                    && ["ntlm", "negotiate"].contains(&scheme.to_ascii_lowercase().as_str())
                {
                    masker().learn(challenge.trim());
                }
            }
            record.status = Some(status);
            record.response_headers = resp_headers.clone();
            record.response_body = Some(text.clone());
            http.record(record);
            let body = crate::http::message::parse_response_body(&resp_headers, &text);
            masker().learn_json("", &body);
            Ok(Response { status, headers: resp_headers, body, cookies, hops: Vec::new(), final_url: None })
        }
        Err(e) => {
            record.error = Some(e.message.clone());
            http.record(record);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::origin_form;

    fn of(url: &str) -> (String, String) {
        origin_form(&url::Url::parse(url).expect("url"))
    }

    #[test]
    fn origin_form_is_path_and_query_with_the_port_in_host_unless_default() {
        assert_eq!(
            of("http://127.0.0.1:9420/whoami?a=1&b=%20#frag"),
            ("/whoami?a=1&b=%20".into(), "127.0.0.1:9420".into())
        );
        assert_eq!(of("http://Example.COM"), ("/".into(), "example.com".into()));
        assert_eq!(of("http://example.com:80/a"), ("/a".into(), "example.com".into()));
        assert_eq!(of("https://example.com:443/a?"), ("/a?".into(), "example.com".into()));
        assert_eq!(of("https://example.com:8443/a"), ("/a".into(), "example.com:8443".into()));
        assert_eq!(of("http://[::1]:8080/x"), ("/x".into(), "[::1]:8080".into()));
    }
}
