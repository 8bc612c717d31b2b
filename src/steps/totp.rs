//! `totp`: the current RFC 6238 code of a base32 secret.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{StepCx, StepDone};
use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::secret::Secret;
use crate::template::{Template, totp_now};

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
    /// Base32 secret (template).
    pub secret: Scalar,
    /// Code length (default 6).
    #[schemars(range(min = 6, max = 8))]
    pub digits: Option<u8>,
    /// Seconds per code (default 30).
    #[schemars(range(min = 1))]
    pub period: Option<u64>,
    pub algorithm: Option<Algorithm>,
}

#[derive(Debug)]
pub struct Totp {
    secret: Template,
    digits: u8,
    period: u64,
    algorithm: Algorithm,
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

    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let secret = Secret::new(self.secret.render(cx.ctx).map_err(|e| Error::failed(format!("secret: {e}")))?);
        let algorithm = match self.algorithm {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        };
        let code = Secret::new(totp_now(secret.expose(), self.digits, self.period, algorithm).map_err(Error::failed)?);
        let mut outputs = Map::new();
        outputs.insert("code".into(), Value::String(code.expose().to_string()));
        Ok(StepDone { outputs, summary: format!("{}-digit {algorithm} code ({} s window)", self.digits, self.period) })
    }
}
