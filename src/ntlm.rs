//! NTLMv2 over one pinned TCP connection — the only hyper and ntlmclient user.
//!
//! NTLM authenticates the connection, not the request: negotiate, challenge
//! and authenticate must travel on the same socket. A pooled client may switch
//! connections mid-handshake, so this opens one HTTP/1.1 connection with
//! hyper's low-level client and keeps every message of the handshake on it.

use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::{Map, Value};

use crate::http::ledger::Ledger;
use crate::http::message::{Exchange, MAX_BODY_BYTES, NtlmAuth, Request, Response, SendError};
use crate::secret::masker;

type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Sends `req` with an NTLM handshake on one connection; the answer to the
/// authenticated request is the response.
pub async fn send(
    http: &Ledger,
    req: &Request,
    headers: Vec<(String, String)>,
    body: Option<String>,
    auth: &NtlmAuth,
    timeout: Duration,
) -> Result<Response, SendError> {
    let what = req.summary();
    match tokio::time::timeout(timeout, handshake(http, req, headers, body, auth)).await {
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
) -> Result<Response, SendError> {
    let what = req.summary();
    if req.url.scheme() != "http" {
        return Err(SendError::failed(format!("{what}: NTLM is supported over http:// only in this version")));
    }
    // An IPv6 literal is `[::1]` in a URL and `::1` to connect to.
    let host = req.url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = req.url.port_or_known_default().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| SendError {
        message: format!("{what}: cannot connect to {host}:{port} ({e})"),
        hint: Some("is the server running? check the URL and its port".into()),
        unreachable: true,
    })?;
    let (mut conn, driver) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| SendError::failed(format!("{what}: {e}")))?;
    tokio::spawn(driver);

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
    let first = round(http, &mut conn, req, &headers, &body, Some(b64(&negotiate))).await.map_err(SendError::failed)?;
    if first.status != 401 {
        // Already authenticated (or not protected): that answer stands.
        return Ok(first);
    }
    let challenge = first
        .headers
        .iter()
        .filter(|(n, _)| n == "www-authenticate")
        .find_map(|(_, v)| v.strip_prefix("NTLM ").map(str::trim).map(str::to_string))
        .ok_or_else(|| {
            SendError::failed(format!("{what} → 401 without an NTLM challenge (the server does not offer NTLM here)"))
        })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&challenge)
        .map_err(|_| SendError::failed(format!("{what}: the NTLM challenge is not base64")))?;
    let challenge = match ntlmclient::Message::try_from(bytes.as_slice()) {
        Ok(ntlmclient::Message::Challenge(c)) => c,
        _ => return Err(SendError::failed(format!("{what}: the server's NTLM challenge cannot be read"))),
    };
    let target_info: Vec<u8> = challenge.target_information.iter().flat_map(|e| e.to_bytes()).collect();
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
    round(http, &mut conn, req, &headers, &body, Some(b64(&message))).await.map_err(SendError::failed)
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
    token: Option<String>,
) -> Result<Response, String> {
    let what = req.summary();
    let mut headers = headers.to_vec();
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    if let Some(t) = token {
        headers.push(("Authorization".into(), format!("NTLM {t}")));
    }
    let (target, host) = origin_form(&req.url);
    let mut builder = hyper::Request::builder().method(req.method.as_str()).uri(target).header("Host", host);
    for (n, v) in &headers {
        builder = builder.header(n.as_str(), v.as_str());
    }
    let request =
        builder.body(Full::new(Bytes::from(body.clone().unwrap_or_default()))).map_err(|e| format!("{what}: {e}"))?;
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut record = Exchange {
        started,
        duration: Duration::ZERO,
        method: req.method.clone(),
        url: req.url.to_string(),
        request_headers: headers,
        request_body: body.clone(),
        status: None,
        response_headers: Vec::new(),
        response_body: None,
        error: None,
    };
    conn.ready().await.map_err(|e| format!("{what}: the connection closed during the NTLM handshake ({e})"))?;
    let result = async {
        let resp = conn.send_request(request).await.map_err(|e| format!("{what}: {e}"))?;
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
            .map_err(|_| format!("{what}: response body unreadable or larger than {} MiB", MAX_BODY_BYTES >> 20))?
            .to_bytes();
        http.spend(bytes.len()).map_err(|why| format!("{what}: {why}"))?;
        Ok::<_, String>((status, resp_headers, String::from_utf8_lossy(&bytes).into_owned()))
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
                if let Some(challenge) = value.strip_prefix("NTLM ") {
                    masker().learn(challenge.trim());
                }
            }
            record.status = Some(status);
            record.response_headers = resp_headers.clone();
            record.response_body = Some(text.clone());
            http.record(record);
            let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            Ok(Response { status, headers: resp_headers, body, cookies, hops: Vec::new(), final_url: None })
        }
        Err(e) => {
            record.error = Some(e.clone());
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
