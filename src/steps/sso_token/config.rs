//! `sso_token`: a token the user already holds from single sign-on, taken
//! from `--sso-token-file`, `CONNTEST_SSO_TOKEN`, or a hidden prompt.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use base64::Engine as _;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

pub const OUTPUTS: [&str; 2] = ["token", "claims"];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
}

#[derive(Debug)]
pub struct SsoToken;

/// The decoded payload of a JWT (not verified: the API will do that).
pub fn jwt_payload(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}
