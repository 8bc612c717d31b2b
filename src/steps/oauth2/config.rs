//! `oauth2` and `oauth2_pkce`: the authorization code grant through the
//! user's browser and the loopback listener, with a fresh `state` (and a PKCE
//! verifier), then the code exchanged at the token endpoint.
//!
//! Configuration: the raw serde shape and the validated model (the format layer).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// Output paths whose values are secret (masked by value), e.g. `signature`.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// The provider's authorization endpoint; conntest adds `response_type`,
    /// `client_id`, `redirect_uri`, `scope`, `state` (and the PKCE challenge,
    /// and a `nonce` when `scope` holds `openid`). Optional with `issuer`.
    pub authorize_url: Option<String>,
    /// The provider's token endpoint. Optional with `issuer`.
    pub token_url: Option<String>,
    /// OIDC issuer: endpoints not given come from `ISSUER/.well-known/openid-configuration`.
    pub issuer: Option<String>,
    pub client_id: Scalar,
    /// Omit for a public client.
    pub client_secret: Option<Scalar>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// Loopback port of the redirect listener; 0 (default) = any free port.
    pub redirect_port: Option<u16>,
    /// Path of the redirect URI (default `/callback`).
    pub redirect_path: Option<String>,
    /// A redirect URI registered with the provider. Not a loopback `http://`
    /// URI: no listener runs; the person pastes the URL the browser ended on.
    pub redirect_uri: Option<String>,
    /// Seconds to wait for the browser (default 300, at most 86 400: a day).
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_secs: Option<u64>,
    /// More authorize URL parameters, e.g. `prompt: consent`.
    #[serde(default)]
    pub extra_params: BTreeMap<String, Scalar>,
    /// How the client authenticates at the token endpoint (default basic).
    pub client_auth: Option<ClientAuth>,
    /// `oauth2_pkce` only: S256 (default) or plain.
    pub code_challenge_method: Option<ChallengeMethod>,
    /// `code` (default) or `token`: the implicit grant, the token in the
    /// redirect's fragment.
    pub response_type: Option<ResponseType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Authorization code, exchanged at the token endpoint.
    Code,
    /// Implicit grant: the access token comes back in the redirect.
    Token,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ChallengeMethod {
    S256,
    #[serde(rename = "plain")]
    Plain,
}

/// Where the browser comes back to, shared by every browser step.
#[derive(Debug)]
pub struct Redirect {
    pub port: u16,
    pub path: String,
    pub timeout: Duration,
}

impl Redirect {
    /// [`Redirect::new`], after checking that `path` can match a browser's
    /// request: a path as browsers send it holds no `?`, `#`, space or other
    /// character they would percent-encode (`/a?b=1` or `/cb#x` never match).
    pub fn checked(
        port: Option<u16>,
        path: Option<&str>,
        timeout_secs: Option<u64>,
        at: &Path,
        ck: &mut Checker,
    ) -> Self {
        if let Some(why) = path.and_then(unmatchable) {
            ck.invalid(
                at,
                format!("`redirect_path` {why}: no browser request would ever match it"),
                "a plain path such as `/callback`; the query and fragment are the provider's",
            );
        }
        Redirect::new(port, path, timeout_secs)
    }

    pub fn new(port: Option<u16>, path: Option<&str>, timeout_secs: Option<u64>) -> Self {
        Redirect {
            port: port.unwrap_or(0),
            path: path.unwrap_or("/callback").to_string(),
            timeout: Duration::from_secs(timeout_secs.unwrap_or(300)),
        }
    }
}

/// Why a redirect path can never equal a request's path, if it cannot.
fn unmatchable(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    for (i, c) in path.char_indices() {
        let ok = c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/".contains(c);
        if c == '%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return Some("holds a `%` that starts no percent-encoding".to_string());
            }
        } else if !ok {
            return Some(match c {
                '?' => "holds a query (`?`)".to_string(),
                '#' => "holds a fragment (`#`)".to_string(),
                c if c.is_whitespace() => "holds white space".to_string(),
                c => format!("holds `{}`, which browsers percent-encode", c.escape_default()),
            });
        }
    }
    None
}

#[derive(Debug)]
pub struct OAuth2 {
    pub(super) endpoints: Endpoints,
    pub(super) client_id: Template,
    pub(super) client_secret: Option<Template>,
    pub(super) scope: Option<Template>,
    pub(super) extra_params: Vec<(String, Template)>,
    pub(super) client_auth: ClientAuth,
    pub(super) redirect: Redirect,
    pub(super) redirect_uri: Option<Template>,
    /// `None` for plain `oauth2`.
    pub(super) pkce: Option<ChallengeMethod>,
    pub(super) implicit: bool,
}

impl OAuth2 {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker, pkce: bool) -> Self {
        if !pkce && raw.code_challenge_method.is_some() {
            ck.invalid(
                &path.key("code_challenge_method"),
                "`code_challenge_method` belongs to `oauth2_pkce` steps",
                "write `type: oauth2_pkce` to use PKCE, or remove the key",
            );
        }
        let implicit = raw.response_type == Some(ResponseType::Token);
        if implicit && pkce {
            ck.invalid(
                &path.key("response_type"),
                "`response_type: token` (implicit) has no code to protect with PKCE",
                "use `type: oauth2` for the implicit grant",
            );
        }
        // The implicit grant never calls the token endpoint.
        let mut given = vec![("authorize_url", raw.authorize_url.as_ref())];
        if !implicit {
            given.push(("token_url", raw.token_url.as_ref()));
        }
        OAuth2 {
            endpoints: Endpoints::build(path, ck, raw.issuer.as_ref(), &given),
            client_id: ck.scalar(&path.key("client_id"), &raw.client_id),
            client_secret: raw.client_secret.as_ref().map(|s| ck.scalar(&path.key("client_secret"), s)),
            scope: raw.scope.as_ref().map(|s| ck.template(&path.key("scope"), s)),
            extra_params: raw
                .extra_params
                .iter()
                .map(|(k, v)| (k.clone(), ck.scalar(&path.key("extra_params").key(k.clone()), v)))
                .collect(),
            client_auth: raw.client_auth.unwrap_or(ClientAuth::Basic),
            redirect: Redirect::checked(
                raw.redirect_port,
                raw.redirect_path.as_deref(),
                raw.timeout_secs,
                &path.key("redirect_path"),
                ck,
            ),
            redirect_uri: raw.redirect_uri.as_ref().map(|u| ck.template(&path.key("redirect_uri"), u)),
            pkce: pkce.then(|| raw.code_challenge_method.unwrap_or(ChallengeMethod::S256)),
            implicit,
        }
    }

    pub fn is_pkce(&self) -> bool {
        self.pkce.is_some()
    }
}

/// A step's OAuth endpoints: each given, or discovered from `issuer`.
#[derive(Debug, Default)]
pub struct Endpoints {
    pub issuer: Option<Template>,
    /// By name (`authorize_url`, `token_url`, `device_authorization_url`): the given ones.
    pub given: Vec<(&'static str, Template)>,
    /// Every endpoint the step uses.
    pub needed: Vec<&'static str>,
}

impl Endpoints {
    /// Checks that every endpoint the step needs is given, or that `issuer` is.
    pub fn build(
        path: &Path,
        ck: &mut Checker,
        issuer: Option<&String>,
        needed: &[(&'static str, Option<&String>)],
    ) -> Self {
        let issuer = issuer.map(|i| ck.template(&path.key("issuer"), i));
        let mut given = Vec::new();
        for (name, value) in needed {
            match value {
                Some(v) => given.push((*name, ck.template(&path.key(*name), v))),
                None if issuer.is_none() => ck.invalid(
                    path,
                    format!("missing `{name}` (or `issuer` to discover it)"),
                    format!("add `{name}: https://…`, or `issuer: https://…` for OIDC discovery"),
                ),
                None => {}
            }
        }
        Endpoints { issuer, given, needed: needed.iter().map(|(n, _)| *n).collect() }
    }
}

/// How the client proves itself to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret (client_secret_basic).
    Basic,
    /// `client_id` and `client_secret` in the form body (client_secret_post).
    Body,
}

/// Output names of a token response, for `validate`'s reference checks.
pub const TOKEN_OUTPUTS: [&str; 12] = [
    "access_token",
    "token_type",
    "expires_in",
    "expires_at",
    "refresh_token",
    "scope",
    "id_token",
    "id_token_claims",
    "body",
    "client_id",
    "client_secret",
    "token_url",
];
