//! `jwt_bearer`: sign a JWT (HS*, RS*, ES256/384, EdDSA) from a secret or a PEM
//! key and, with `token_url`, exchange it for an access token (RFC 7523).
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use std::collections::BTreeMap;

use base64::Engine as _;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::template::Template;

pub use super::key::Algorithm;
use super::key::signing_key;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

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
    let signature = signing_key(algorithm, key)?.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)))
}

impl JwtBearer {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        let key = ck.scalar(&path.key("key"), &raw.key);
        if !raw.key.0.contains("{{")
            && !raw.key.0.contains("{%")
            && let Err(why) = signing_key(raw.algorithm, &raw.key.0)
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
