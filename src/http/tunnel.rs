//! A CONNECT tunnel (RFC 9110 §9.3.6) through an HTTP proxy, for the pinned
//! NTLM connection: reqwest tunnels its own requests, but NTLM needs one
//! connection of its own from end to end, so it opens the tunnel itself.

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use url::Url;

use crate::http::message::SendError;

/// The most a proxy's answer to CONNECT may hold before its blank line.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A TCP connection to `host:port` through the proxy at `proxy`: the proxy's
/// `200` read, nothing else consumed. Errors name the proxy (its password masked).
pub async fn open(what: &str, proxy: &Url, host: &str, port: u16) -> Result<tokio::net::TcpStream, SendError> {
    let shown = shown_proxy(proxy.as_str());
    let fail = |why: String| {
        SendError::unreachable(
            format!("{what}: cannot get through the proxy at {shown} ({why})"),
            "check --proxy or HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY",
        )
    };
    if proxy.scheme() != "http" {
        return Err(fail(format!(
            "a {}:// proxy cannot carry an NTLM connection; use an http:// proxy",
            proxy.scheme()
        )));
    }
    let proxy_host = proxy.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let proxy_port = proxy.port_or_known_default().unwrap_or(80);
    let mut stream =
        tokio::net::TcpStream::connect((proxy_host.as_str(), proxy_port)).await.map_err(|e| fail(e.to_string()))?;
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if !proxy.username().is_empty() {
        let user = percent_encoding::percent_decode_str(proxy.username()).decode_utf8_lossy();
        let password = percent_encoding::percent_decode_str(proxy.password().unwrap_or_default()).decode_utf8_lossy();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        crate::secret::masker().learn(&token);
        head.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(|e| fail(e.to_string()))?;
    // Byte by byte: what follows the proxy's blank line belongs to the tunnel.
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= MAX_HEAD_BYTES {
            return Err(fail("its answer to CONNECT has no end".into()));
        }
        let byte = stream.read_u8().await.map_err(|e| fail(format!("closed during CONNECT: {e}")))?;
        answer.push(byte);
    }
    let answer = String::from_utf8_lossy(&answer);
    let status_line = answer.lines().next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if !status.starts_with('2') {
        return Err(fail(format!("CONNECT {authority} answered `{}`", crate::output::printable(status_line))));
    }
    Ok(stream)
}

/// A proxy URL as shown: its password masked.
pub fn shown_proxy(proxy: &str) -> String {
    match Url::parse(proxy) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("****"));
            url.to_string()
        }
        _ => proxy.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown_proxy;

    #[test]
    fn a_proxy_password_never_shows() {
        assert_eq!(shown_proxy("http://user:s3cret@proxy.example:3128"), "http://user:****@proxy.example:3128/");
        assert_eq!(shown_proxy("http://proxy.example:3128"), "http://proxy.example:3128");
    }
}
