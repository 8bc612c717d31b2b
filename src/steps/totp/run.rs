//! Running a `totp` step (the engine layer).

use serde_json::{Map, Value};

use super::config::*;
use crate::error::Error;
use crate::secret::Secret;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::template::totp_now;

impl Totp {
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
