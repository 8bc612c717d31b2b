//! Why a request got no answer, in words a person can act on; which of those
//! failures `--retry` may send again; the proxy a request goes through.

use url::Url;

use super::tunnel::shown_proxy;
use super::{Http, Request, SendError};
use crate::http::message::MAX_BODY_BYTES;

pub(super) enum ReadError {
    Http(reqwest::Error),
    TooLarge,
    OverBudget(String),
}

/// Which requests `--retry` sends again after this failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// An HTTP answer, or a failure sending again cannot mend.
    Never,
    /// No connection was made: nothing reached the server, any method may go again.
    AnyMethod,
    /// A timeout or a reset: the server may have acted on it, so only GET,
    /// HEAD, PUT, DELETE and OPTIONS go again.
    Idempotent,
}

impl Retry {
    pub fn allows(self, method: &str) -> bool {
        match self {
            Retry::Never => false,
            Retry::AnyMethod => true,
            Retry::Idempotent => matches!(method, "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"),
        }
    }
}

/// What a failed read allows `--retry` to do.
pub(super) fn retry_class(e: &ReadError) -> Retry {
    let ReadError::Http(e) = e else { return Retry::Never };
    let mut all = String::new();
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        all.push_str(&c.to_string().to_ascii_lowercase());
        cause = c.source();
    }
    if all.contains("certificate") || all.contains("handshake") {
        // A certificate fails the same way every time.
        return Retry::Never;
    }
    if e.is_timeout() {
        return Retry::Idempotent;
    }
    if e.is_connect() {
        return Retry::AnyMethod;
    }
    if ["reset", "broken pipe", "connection closed", "incomplete"].iter().any(|n| all.contains(n)) {
        return Retry::Idempotent;
    }
    Retry::Never
}

impl Http {
    /// What went wrong, in words a person can act on.
    pub(super) fn describe(&self, req: &Request, e: &ReadError) -> SendError {
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
        if let Some(proxy) = proxy_for(&req.url, self.proxy.as_ref())
            && e.is_connect()
            && !has("certificate")
        {
            let hint = match self.proxy {
                Some(_) => "check --proxy, or list the host in NO_PROXY",
                None => "check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY",
            };
            return SendError::unreachable(
                format!("{what}: cannot get through the proxy at {} ({inner})", shown_proxy(&proxy)),
                hint,
            );
        }
        let client_cert = ["certificaterequired", "badcertificate", "unknownca", "certificateunknown"];
        let (message, hint): (String, String) = if has("receivedfatalalert") && client_cert.iter().any(|n| has(n)) {
            (
                format!("{what}: {host} refused the TLS session: it requires a client certificate it trusts ({inner})"),
                "give --cert and --key, or `tls:` in the connector".into(),
            )
        } else if has("unknownissuer") {
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
}

/// The proxy a request to `url` goes through: `--proxy`, else the environment
/// (as reqwest reads it); none for a host in NO_PROXY.
pub fn proxy_for(url: &Url, flag: Option<&Url>) -> Option<String> {
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
    if let Some(flag) = flag {
        return Some(flag.to_string());
    }
    match url.scheme() {
        "https" => var("HTTPS_PROXY").or_else(|| var("ALL_PROXY")),
        _ => var("HTTP_PROXY").or_else(|| var("ALL_PROXY")),
    }
}

#[cfg(test)]
mod tests {
    use super::Retry;

    #[test]
    fn only_a_connection_never_made_goes_again_for_every_method() {
        for method in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"] {
            assert!(Retry::Idempotent.allows(method), "{method}");
        }
        for method in ["POST", "PATCH"] {
            assert!(!Retry::Idempotent.allows(method), "{method}");
            assert!(Retry::AnyMethod.allows(method), "{method}");
        }
        assert!(!Retry::Never.allows("GET"));
    }
}
