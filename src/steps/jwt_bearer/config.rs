//! `jwt_bearer`: sign a JWT (HS*, RS*, ES256/384, EdDSA) from a secret or a PEM
//! key and, with `token_url`, exchange it for an access token (RFC 7523).
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use std::collections::BTreeMap;

use base64::Engine as _;
use jsonwebtoken::{Algorithm as Alg, EncodingKey};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::template::Template;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    EdDSA,
}

impl Algorithm {
    pub(super) fn jwt(self) -> Alg {
        match self {
            Algorithm::HS256 => Alg::HS256,
            Algorithm::HS384 => Alg::HS384,
            Algorithm::HS512 => Alg::HS512,
            Algorithm::RS256 => Alg::RS256,
            Algorithm::RS384 => Alg::RS384,
            Algorithm::RS512 => Alg::RS512,
            Algorithm::ES256 => Alg::ES256,
            Algorithm::ES384 => Alg::ES384,
            Algorithm::EdDSA => Alg::EdDSA,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    pub algorithm: Algorithm,
    /// The shared secret (HS*) or a PEM private key (RS*, ES*, EdDSA).
    pub key: Scalar,
    /// The JWT's claims; `iat`, `exp` and `jti` are filled in unless given.
    #[serde(default)]
    pub claims: BTreeMap<String, Value>,
    /// Lifetime for `exp` in seconds (default 300, at most a year: 31 536 000).
    #[schemars(range(min = 1, max = 31536000))]
    pub exp_secs: Option<u64>,
    /// Extra JOSE header fields, e.g. `kid`.
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
    /// Exchange the JWT here for an access token (grant type jwt-bearer).
    pub token_url: Option<String>,
    pub client_id: Option<Scalar>,
    pub scope: Option<String>,
}

#[derive(Debug)]
pub struct JwtBearer {
    pub(super) algorithm: Algorithm,
    pub(super) key: Template,
    pub(super) claims: Map<String, Value>,
    pub(super) exp_secs: u64,
    pub(super) headers: Map<String, Value>,
    pub(super) token_url: Option<Template>,
    pub(super) client_id: Option<Template>,
    pub(super) scope: Option<Template>,
}

/// The signing key for `algorithm`, or why `key` cannot be one. `probe`
/// also signs a test message (a key written in the file: an EC key of the
/// right family can still be on the wrong curve); a run learns that from its
/// own signing.
pub fn encoding_key(algorithm: Algorithm, key: &str, probe: bool) -> Result<EncodingKey, String> {
    let is_pem = key.trim_start().starts_with("-----BEGIN");
    let pem = |kind: &str, r: jsonwebtoken::errors::Result<EncodingKey>| {
        r.map_err(|e| format!("{algorithm:?} needs {kind} private key in PEM (PKCS#8 or traditional): {e}"))
    };
    let ek = match algorithm.jwt().family() {
        jsonwebtoken::AlgorithmFamily::Hmac if is_pem => {
            return Err(format!(
                "{algorithm:?} signs with a shared secret, but `key` is a PEM key: use RS256, ES256 or EdDSA"
            ));
        }
        jsonwebtoken::AlgorithmFamily::Hmac => {
            EncodingKey::from_secret(key.as_bytes()).map_err(|_| "the HMAC secret is empty".to_string())?
        }
        _ if !is_pem => {
            return Err(format!(
                "{algorithm:?} needs a PEM private key (`-----BEGIN PRIVATE KEY-----` …), not a shared secret"
            ));
        }
        jsonwebtoken::AlgorithmFamily::Rsa => pem("an RSA", EncodingKey::from_rsa_pem(key.as_bytes()))?,
        jsonwebtoken::AlgorithmFamily::Ec => pem("an EC", EncodingKey::from_ec_pem(key.as_bytes()))?,
        jsonwebtoken::AlgorithmFamily::Ed => pem("an Ed25519", EncodingKey::from_ed_pem(key.as_bytes()))?,
    };
    // An RSA key's family and PEM are checked above; its test signature
    // would cost milliseconds on every load, and no RSA size is refused.
    if probe && algorithm.jwt().family() != jsonwebtoken::AlgorithmFamily::Rsa {
        jsonwebtoken::crypto::sign(b"probe", &ek, algorithm.jwt())
            .map_err(|e| format!("the key does not fit {algorithm:?}: {e}"))?;
    }
    Ok(ek)
}

/// Signs `header.claims` with `key` (the key's text: a secret or a PEM).
pub fn sign(
    algorithm: Algorithm,
    key: &str,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> Result<String, String> {
    let b64 = |v: &Map<String, Value>| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Value::Object(v.clone()).to_string())
    };
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = match algorithm {
        // ring's RSA is several times faster than the pure-Rust backend's.
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => sign_rsa(algorithm, key, input.as_bytes())?,
        _ => {
            let ek = encoding_key(algorithm, key, false)?;
            jsonwebtoken::crypto::sign(input.as_bytes(), &ek, algorithm.jwt()).map_err(|e| e.to_string())?
        }
    };
    Ok(format!("{input}.{signature}"))
}

/// An RSASSA-PKCS1-v1_5 signature (RS256/384/512) with ring, base64url.
pub(super) fn sign_rsa(algorithm: Algorithm, key: &str, input: &[u8]) -> Result<String, String> {
    let pem = pem::parse(key.trim()).map_err(|e| format!("{algorithm:?} needs an RSA private key in PEM: {e}"))?;
    let pair = match pem.tag() {
        "PRIVATE KEY" => ring::signature::RsaKeyPair::from_pkcs8(pem.contents()),
        "RSA PRIVATE KEY" => ring::signature::RsaKeyPair::from_der(pem.contents()),
        other => return Err(format!("{algorithm:?} needs an RSA private key, not a `{other}` PEM")),
    }
    .map_err(|e| format!("the RSA key was refused: {e}"))?;
    let padding: &'static dyn ring::signature::RsaEncoding = match algorithm {
        Algorithm::RS384 => &ring::signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &ring::signature::RSA_PKCS1_SHA512,
        _ => &ring::signature::RSA_PKCS1_SHA256,
    };
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(padding, &ring::rand::SystemRandom::new(), input, &mut signature)
        .map_err(|_| "RSA signing failed".to_string())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature))
}
impl JwtBearer {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        let key = ck.scalar(&path.key("key"), &raw.key);
        if !raw.key.0.contains("{{")
            && !raw.key.0.contains("{%")
            && let Err(why) = encoding_key(raw.algorithm, &raw.key.0, true)
        {
            ck.invalid(
                &path.key("key"),
                why,
                "check `algorithm` and the key: HS* take a secret, the others a PEM private key",
            );
        }
        let claims: Map<String, Value> =
            raw.claims.iter().map(|(k, v)| (k.clone(), ck.json(&path.key("claims").key(k.clone()), v))).collect();
        let headers: Map<String, Value> =
            raw.headers.iter().map(|(k, v)| (k.clone(), ck.json(&path.key("headers").key(k.clone()), v))).collect();
        JwtBearer {
            algorithm: raw.algorithm,
            key,
            claims,
            exp_secs: raw.exp_secs.unwrap_or(300),
            headers,
            token_url: raw.token_url.as_ref().map(|t| ck.template(&path.key("token_url"), t)),
            client_id: raw.client_id.as_ref().map(|t| ck.scalar(&path.key("client_id"), t)),
            scope: raw.scope.as_ref().map(|t| ck.template(&path.key("scope"), t)),
        }
    }

    pub fn output_names(&self) -> Vec<String> {
        let mut names = vec!["jwt".to_string()];
        if self.token_url.is_some() {
            names.extend(crate::steps::oauth2::config::TOKEN_OUTPUTS.iter().map(|s| s.to_string()));
        }
        names
    }
}
