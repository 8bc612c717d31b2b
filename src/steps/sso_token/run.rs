//! Running a `sso_token` step (the engine layer).

use serde_json::{Map, Value};

use super::config::*;
use crate::error::Error;
use crate::secret::Secret;
use crate::steps::dispatch::{StepCx, StepDone};

impl SsoToken {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let (token, source) = if let Some(file) = cx.sso_token_file {
            let bytes =
                crate::flagfile::read("--sso-token-file", file, MAX_TOKEN_BYTES).map_err(|e| Error::usage(e, None))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::usage(format!("--sso-token-file {} is not UTF-8 text", file.display()), None))?;
            (text.trim().to_string(), format!("from {}", file.display()))
        } else if let Some(t) = std::env::var_os("CONNTEST_SSO_TOKEN") {
            let t = t.into_string().map_err(|_| Error::usage("CONNTEST_SSO_TOKEN is not valid UTF-8", None))?;
            (t.trim().to_string(), "from CONNTEST_SSO_TOKEN".to_string())
        } else if cx.prompter.interactive() {
            let t = cx.prompter.secret(cx.id, &format!("SSO token for {}", cx.connector)).await?;
            (t.expose().trim().to_string(), "asked".to_string())
        } else {
            return Err(Error::NeedsPerson {
                message: format!(
                    "step `{}` needs an SSO token, and input cannot be asked for (non-interactive)",
                    cx.id
                ),
                hint: Some("pass --sso-token-file FILE or set CONNTEST_SSO_TOKEN".into()),
            });
        };
        if token.is_empty() {
            return Err(Error::failed(format!("the SSO token {source} is empty")));
        }
        let token = Secret::new(token);
        let mut outputs = Map::new();
        outputs.insert("token".into(), Value::String(token.expose().to_string()));
        let mut kind = "opaque token";
        if let Some(claims) = jwt_payload(token.expose()) {
            outputs.insert("claims".into(), claims);
            kind = "JWT";
        }
        Ok(StepDone { outputs, summary: format!("{kind} {source}") })
    }
}

/// A token file larger than this is not a token.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;
