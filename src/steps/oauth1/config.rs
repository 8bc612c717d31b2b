//! `oauth1`: OAuth 1.0a — three-legged (request token → the user authorizes
//! in the browser → verifier → access token) or with a given token pair.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::raw::{Scalar, SignatureMethod};
use crate::connector::spans::Path;
use crate::steps::oauth2::config::Redirect;
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    pub consumer_key: Scalar,
    pub consumer_secret: Scalar,
    /// HMAC-SHA1 (default), HMAC-SHA256 or PLAINTEXT.
    pub signature_method: Option<SignatureMethod>,
    pub realm: Option<String>,
    /// Three-legged: where to get a request token (POST, with `oauth_callback`).
    pub request_token_url: Option<String>,
    /// Three-legged: the page the user authorizes on (`oauth_token` is added).
    pub authorize_url: Option<String>,
    /// Three-legged: where the verifier is exchanged for the access token (POST).
    pub access_token_url: Option<String>,
    /// Loopback port of the callback listener; 0 (default) = any free port.
    pub redirect_port: Option<u16>,
    /// Path of the callback (default `/callback`).
    pub redirect_path: Option<String>,
    /// Seconds to wait for the browser (default 300, at most 86 400: a day).
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_secs: Option<u64>,
    /// Given-token mode: an access token the user already has.
    pub token: Option<Scalar>,
    pub token_secret: Option<Scalar>,
}

#[derive(Debug)]
pub(super) enum Mode {
    ThreeLegged { request_token_url: Template, authorize_url: Template, access_token_url: Template, redirect: Redirect },
    Given { token: Template, token_secret: Template },
}

#[derive(Debug)]
pub struct OAuth1 {
    pub(super) consumer_key: Template,
    pub(super) consumer_secret: Template,
    pub(super) method: SignatureMethod,
    pub(super) realm: Option<Template>,
    pub(super) mode: Mode,
}

impl OAuth1 {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        let three = [&raw.request_token_url, &raw.authorize_url, &raw.access_token_url];
        let t =
            |ck: &mut Checker, key: &str, v: &Option<String>| ck.template(&path.key(key), v.as_deref().unwrap_or(""));
        let mode = match (&raw.token, &raw.token_secret) {
            (Some(token), Some(secret)) if three.iter().all(|u| u.is_none()) => Mode::Given {
                token: ck.scalar(&path.key("token"), token),
                token_secret: ck.scalar(&path.key("token_secret"), secret),
            },
            (None, None) if three.iter().all(|u| u.is_some()) => Mode::ThreeLegged {
                request_token_url: t(ck, "request_token_url", &raw.request_token_url),
                authorize_url: t(ck, "authorize_url", &raw.authorize_url),
                access_token_url: t(ck, "access_token_url", &raw.access_token_url),
                redirect: Redirect::checked(
                    raw.redirect_port,
                    raw.redirect_path.as_deref(),
                    raw.timeout_secs,
                    &path.key("redirect_path"),
                    ck,
                ),
            },
            _ => {
                ck.invalid(
                    path,
                    "an `oauth1` step needs either `request_token_url`, `authorize_url` and `access_token_url` (three-legged) or `token` and `token_secret` (given)",
                    "write the three URLs for a browser sign-in, or the token pair you already have — not both",
                );
                Mode::Given { token: Template::new(""), token_secret: Template::new("") }
            }
        };
        OAuth1 {
            consumer_key: ck.scalar(&path.key("consumer_key"), &raw.consumer_key),
            consumer_secret: ck.scalar(&path.key("consumer_secret"), &raw.consumer_secret),
            method: raw.signature_method.unwrap_or(SignatureMethod::HmacSha1),
            realm: raw.realm.as_ref().map(|r| ck.template(&path.key("realm"), r)),
            mode,
        }
    }
}
