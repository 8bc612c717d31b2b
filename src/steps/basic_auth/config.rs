//! `basic_auth`: build a Basic `Authorization` header, optionally verified.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::template::Template;

pub const OUTPUTS: [&str; 3] = ["username", "token", "header"];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    pub username: Scalar,
    pub password: Scalar,
    /// Must answer 2xx to a GET with the Basic header.
    pub verify_url: Option<String>,
}

#[derive(Debug)]
pub struct BasicAuth {
    pub(super) username: Template,
    pub(super) password: Template,
    pub(super) verify_url: Option<Template>,
}

impl BasicAuth {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        BasicAuth {
            username: ck.scalar(&path.key("username"), &raw.username),
            password: ck.scalar(&path.key("password"), &raw.password),
            verify_url: raw.verify_url.as_ref().map(|u| ck.template(&path.key("verify_url"), u)),
        }
    }
}
