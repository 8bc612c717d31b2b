//! The one TLS setup every connection of a run uses — reqwest's clients and
//! the pinned NTLM connection alike: which server certificates are trusted
//! (OS store or `SSL_CERT_FILE`, the bundled Mozilla roots, `--cacert`, none
//! with `-k`) and which client certificate is shown (`--cert`/`--key`, a
//! connector's `tls:`). The only rustls user.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// How requests reach servers: trust, client certificate, proxy and retries.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// `--cacert`: PEM files whose certificates are trusted too.
    pub cacert: Vec<PathBuf>,
    /// `-k/--insecure`: no verification at all.
    pub insecure: bool,
    /// `--cert FILE --key FILE` (a connector's `tls:` takes precedence).
    pub client: Option<ClientFiles>,
    /// `--proxy URL`: overrides HTTPS_PROXY/HTTP_PROXY; NO_PROXY still applies.
    pub proxy: Option<url::Url>,
    /// `--retry N`: how often a request that got no HTTP answer is sent again.
    pub retry: u32,
}

impl Tls {
    /// The transport options from the command line, checked before any request:
    /// a client certificate that cannot be used or a proxy that is not a URL is
    /// an error (message, hint).
    pub fn from_flags(
        cacert: Vec<PathBuf>,
        insecure: bool,
        client: Option<(PathBuf, PathBuf)>,
        proxy: Option<&str>,
        retry: u32,
    ) -> Result<Tls, (String, String)> {
        let client = match client {
            Some((cert, key)) => {
                let files = ClientFiles { cert, key };
                files
                    .load()
                    .map_err(|e| (e, "give a PEM certificate and its unencrypted PEM private key".to_string()))?;
                Some(files)
            }
            None => None,
        };
        let proxy = match proxy {
            Some(p) => Some(proxy_url(p)?),
            None => None,
        };
        Ok(Tls { cacert, insecure, client, proxy, retry })
    }
}

/// `--proxy URL` checked: an `http://` or `https://` URL with a host (SPEC:
/// HTTP proxies; a SOCKS proxy is refused by name, not as "not a URL").
fn proxy_url(p: &str) -> Result<url::Url, (String, String)> {
    let shown = super::tunnel::shown_proxy(p);
    let hint = || "e.g. --proxy http://proxy.example:3128".to_string();
    let url = url::Url::parse(p).map_err(|_| (format!("--proxy {shown}: not a proxy URL"), hint()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err((
            format!("--proxy {shown}: a {}:// proxy is not supported, only http:// and https:// proxies", url.scheme()),
            hint(),
        ));
    }
    // An http(s) URL always has a host: `Url::parse` refuses `http://` and `http:/x`.
    Ok(url)
}

/// A client certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A client certificate read and checked: the chain and the key that matches it.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity { chain: self.chain.clone(), key: self.key.clone_key() }
    }
}

fn read_pem(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    crate::flagfile::read(what, path, crate::flagfile::MAX_CERT_FILE_BYTES)
}

impl ClientFiles {
    /// Reads and checks the pair. Errors name the file and the problem, never
    /// the key's bytes.
    pub fn load(&self) -> Result<Identity, String> {
        let pem = read_pem("client certificate", &self.cert)?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|_| format!("client certificate {}: not a PEM certificate file", self.cert.display()))?;
        if chain.is_empty() {
            return Err(format!("client certificate {}: no certificate in the file", self.cert.display()));
        }
        let text = read_pem("client key", &self.key)?;
        if text.windows(9).any(|w| w == b"ENCRYPTED") {
            return Err(format!(
                "client key {}: the key is encrypted (a passphrase-protected key cannot be used)",
                self.key.display()
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(&text)
            .map_err(|_| format!("client key {}: no PEM private key in the file", self.key.display()))?;
        let identity = Identity { chain, key };
        // Building a config checks that the key belongs to the certificate
        // (without verification: no trust store is loaded just for the check).
        let check = Trust { extra: Vec::new(), insecure: true };
        config(&check, Some(&identity), Vec::new()).map_err(|e| {
            if e.contains("KeyMismatch") || e.contains("consistent") {
                format!(
                    "client key {} does not match the client certificate {}",
                    self.key.display(),
                    self.cert.display()
                )
            } else {
                format!("client certificate {} / key {}: {e}", self.cert.display(), self.key.display())
            }
        })?;
        Ok(identity)
    }
}

/// Which server certificates are trusted.
#[derive(Default, Clone)]
pub struct Trust {
    /// `--cacert` certificates, read when the run starts.
    pub extra: Vec<CertificateDer<'static>>,
    pub insecure: bool,
}

impl Trust {
    /// Reads every `--cacert` file (a bad one is an error before any request).
    pub fn new(tls: &Tls) -> Result<Trust, String> {
        let mut extra = Vec::new();
        for file in &tls.cacert {
            let pem = read_pem("--cacert", file)?;
            let found: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .map_err(|_| format!("--cacert {}: not PEM certificates", file.display()))?;
            if found.is_empty() {
                return Err(format!("--cacert {}: no certificate in the file", file.display()));
            }
            extra.extend(found);
        }
        Ok(Trust { extra, insecure: tls.insecure })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration: the OS store (`SSL_CERT_FILE` when set) and
/// the bundled Mozilla roots plus `extra`, or no verification at all; the
/// client certificate when there is one; `alpn` as given.
pub fn config(trust: &Trust, identity: Option<&Identity>, alpn: Vec<Vec<u8>>) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let builder = if trust.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // Unreadable OS certificates are skipped, as reqwest did: the rest still count.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        for cert in &trust.extra {
            roots.add(cert.clone()).map_err(|e| format!("--cacert: a certificate cannot be used as a CA ({e})"))?;
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match identity {
        Some(id) => builder.with_client_auth_cert(id.chain.clone(), id.key.clone_key()).map_err(|e| e.to_string())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn;
    Ok(config)
}

/// `-k`: every server certificate is accepted; signatures are still checked
/// so the handshake completes as with a real verifier.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Wraps a TCP stream in TLS for `host` (the pinned NTLM connection).
pub async fn connect(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    stream: tokio::net::TcpStream,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, std::io::Error> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("bad TLS server name: {e}")))?;
    tokio_rustls::TlsConnector::from(config).connect(name, stream).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_client_key_names_the_file() {
        let files = ClientFiles { cert: "/nonexistent/c.pem".into(), key: "/nonexistent/k.pem".into() };
        let e = files.load().err().unwrap_or_default();
        assert!(e.starts_with("client certificate /nonexistent/c.pem:"), "{e}");
    }

    /// Issue 18: SPEC asks for HTTP proxies; a SOCKS one is refused in words.
    #[test]
    fn only_http_proxies_are_taken_and_a_socks_one_is_named() {
        let refused = |p: &str| proxy_url(p).err().map(|(m, _)| m).unwrap_or_default();
        assert_eq!(
            refused("socks5://user:pw-canary@127.0.0.1:1080"),
            "--proxy socks5://user:****@127.0.0.1:1080: a socks5:// proxy is not supported, only http:// and https:// proxies"
        );
        assert_eq!(refused("not a url"), "--proxy not a url: not a proxy URL");
        assert_eq!(refused("http://"), "--proxy http://: not a proxy URL");
        let tls = Tls::from_flags(vec!["ca.pem".into()], true, None, Some("http://127.0.0.1:3128"), 3).expect("flags");
        assert_eq!(
            (tls.cacert, tls.insecure, tls.proxy.map(String::from), tls.retry),
            (vec![PathBuf::from("ca.pem")], true, Some("http://127.0.0.1:3128/".to_string()), 3)
        );
        assert!(Tls::from_flags(Vec::new(), false, None, Some("socks5://127.0.0.1:1080"), 0).is_err());
        for ok in ["http://127.0.0.1:3128", "https://proxy.example"] {
            assert_eq!(
                proxy_url(ok).map(|u| u.scheme().to_string()),
                Ok(ok.split(':').next().unwrap_or_default().into())
            );
        }
    }
}
