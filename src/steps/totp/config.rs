//! `totp`: the current RFC 6238 code of a base32 secret.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::template::Template;

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum Algorithm {
    #[serde(rename = "SHA1")]
    Sha1,
    #[serde(rename = "SHA256")]
    Sha256,
    #[serde(rename = "SHA512")]
    Sha512,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// Base32 secret (template).
    pub secret: Scalar,
    /// Code length (default 6).
    #[schemars(range(min = 6, max = 8))]
    pub digits: Option<u8>,
    /// Seconds per code (default 30, at most 86 400).
    #[schemars(range(min = 1, max = 86400))]
    pub period: Option<u64>,
    pub algorithm: Option<Algorithm>,
}

#[derive(Debug)]
pub struct Totp {
    pub(super) secret: Template,
    pub(super) digits: u8,
    pub(super) period: u64,
    pub(super) algorithm: Algorithm,
}

impl Totp {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        Totp {
            secret: ck.scalar(&path.key("secret"), &raw.secret),
            digits: raw.digits.unwrap_or(6),
            period: raw.period.unwrap_or(30),
            algorithm: raw.algorithm.unwrap_or(Algorithm::Sha1),
        }
    }
}
