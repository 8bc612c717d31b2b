//! OAuth 2 pieces shared by the token steps: fresh random values, PKCE,
//! client authentication, the token request, and a tolerant reading of
//! token responses (RFC 6749 §5) into step outputs.

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::error::Error;
use crate::http::{Body, Http, Request};
use crate::request::excerpt;
use crate::secret::Secret;
use crate::steps::oauth2::config::ClientAuth;

/// Text a provider wrote (`error`, `error_description`), shown on one line:
/// every control character escaped — a newline or a colour code in it must
/// not forge a `✔ passed` line or hide text — and cut at 300 characters.
pub fn provider_text(text: &str) -> String {
    let mut shown = String::new();
    for c in text.chars().take(300) {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    if text.chars().nth(300).is_some() {
        shown.push('…');
    }
    shown
}

/// `n` random bytes as unpadded base64url: 32 bytes give 43 characters.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS always has entropy; this only keeps a failure from panicking.
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        bytes = sha2::Sha256::digest(seed.as_bytes()).to_vec();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE `code_challenge` of a verifier (RFC 7636 §4.2).
pub fn code_challenge(verifier: &str, s256: bool) -> String {
    if s256 {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
    } else {
        verifier.to_string()
    }
}

/// The client as the token endpoint sees it.
pub struct Client<'a> {
    pub token_url: &'a url::Url,
    pub client_id: &'a str,
    pub client_secret: Option<&'a Secret>,
    pub auth: ClientAuth,
}

impl Client<'_> {
    /// POSTs `params` to the token endpoint with client authentication and
    /// reads the answer into outputs; `what` names the grant in messages.
    pub async fn token(
        &self,
        http: &Http,
        params: Vec<(String, String)>,
    ) -> Result<(Map<String, Value>, String), Error> {
        let req = self.request(self.token_url, params);
        let summary = format!("POST {}", self.token_url);
        let resp = http.send(req).await.map_err(Error::from)?;
        let summary = format!("{summary} → {}", resp.outcome());
        let outputs =
            read_token_response(resp.status, &resp.body).map_err(|e| Error::failed(format!("{summary}: {e}")))?;
        Ok((self.with_client(outputs), summary))
    }

    /// The client's own fields added to token outputs (what a refresh flow reads).
    pub fn with_client(&self, mut outputs: Map<String, Value>) -> Map<String, Value> {
        if !self.client_id.is_empty() {
            outputs.insert("client_id".into(), Value::String(self.client_id.to_string()));
        }
        if let Some(secret) = self.client_secret {
            outputs.insert("client_secret".into(), Value::String(secret.expose().to_string()));
        }
        outputs.insert("token_url".into(), Value::String(self.token_url.to_string()));
        outputs
    }

    /// A form POST to one of the provider's endpoints, with client authentication.
    pub fn request(&self, url: &url::Url, mut params: Vec<(String, String)>) -> Request {
        let mut req = Request::new("POST", url.clone());
        match (self.auth, self.client_secret) {
            (ClientAuth::Basic, Some(secret)) => {
                let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair = format!("{}:{}", enc(self.client_id), enc(secret.expose()));
                let basic = Secret::new(base64::engine::general_purpose::STANDARD.encode(pair));
                req.headers.push(("Authorization".into(), format!("Basic {}", basic.expose())));
            }
            (ClientAuth::Body, Some(secret)) => {
                params.push(("client_id".into(), self.client_id.to_string()));
                params.push(("client_secret".into(), secret.expose().to_string()));
            }
            // A public client names itself in the body.
            (_, None) if !self.client_id.is_empty() => params.push(("client_id".into(), self.client_id.to_string())),
            (_, None) => {}
        }
        req.headers.push(("Accept".into(), "application/json".into()));
        req.body = Body::Form(params);
        req.follow_redirects = false;
        req
    }
}

/// OIDC discovery: the provider's metadata at `ISSUER/.well-known/openid-configuration`.
pub async fn discover(http: &Http, issuer: &url::Url) -> Result<Map<String, Value>, Error> {
    let base = issuer.as_str().trim_end_matches('/');
    let url = url::Url::parse(&format!("{base}/.well-known/openid-configuration"))
        .map_err(|e| Error::failed(format!("issuer `{issuer}`: {e}")))?;
    let mut req = Request::new("GET", url.clone());
    req.headers.push(("Accept".into(), "application/json".into()));
    let resp = http.send(req).await.map_err(Error::from)?;
    match &resp.body {
        Value::Object(doc) if resp.status == 200 => Ok(doc.clone()),
        body => Err(Error::failed(format!(
            "OIDC discovery: GET {url} → {}: not a metadata document: {}",
            resp.status,
            excerpt(body)
        ))),
    }
}

/// The returned `id_token` must carry the `nonce` that was sent (OIDC Core §3.1.3.7).
pub fn check_nonce(outputs: &Map<String, Value>, sent: &str) -> Result<(), String> {
    let Some(claims) = outputs.get("id_token_claims") else { return Ok(()) };
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if n == sent => Ok(()),
        Some(_) => Err("the id_token's `nonce` is not the one sent: a replayed or forged id_token".into()),
        None => Err("the id_token has no `nonce`, but one was sent: a replayed or forged id_token".into()),
    }
}

/// A token endpoint's answer as outputs: the standard fields (with
/// `expires_in` as a number even when sent as a string, and `expires_at` in
/// absolute Unix seconds) plus the whole answer under `body`.
pub fn read_token_response(status: u16, body: &Value) -> Result<Map<String, Value>, String> {
    let field = |name: &str| body.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    if status >= 400 || body.get("error").is_some() {
        let what = match (field("error"), field("error_description")) {
            (Some(e), Some(d)) => format!("{}: {}", provider_text(e), provider_text(d)),
            (Some(e), None) => provider_text(e),
            _ => excerpt(body),
        };
        return Err(format!("the token endpoint refused (HTTP {status}): {what}"));
    }
    if !body.is_object() {
        return Err(format!("the token endpoint did not answer JSON: {}", excerpt(body)));
    }
    let Some(access) = field("access_token") else {
        let keys: Vec<&str> = body.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        return Err(format!("the token response has no `access_token` (it has: {})", keys.join(", ")));
    };
    let mut out = Map::new();
    out.insert("access_token".into(), Value::String(access.to_string()));
    out.insert("token_type".into(), Value::String(field("token_type").unwrap_or("Bearer").to_string()));
    let expires_in = match body.get("expires_in") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    if let Some(secs) = expires_in.filter(|s| s.is_finite() && *s >= 0.0) {
        let secs = secs.round() as u64;
        out.insert("expires_in".into(), Value::from(secs));
        out.insert("expires_at".into(), Value::from(crate::template::unix_now().saturating_add(secs)));
    }
    for name in ["refresh_token", "scope", "id_token"] {
        if let Some(v) = field(name) {
            out.insert(name.into(), Value::String(v.to_string()));
        }
    }
    // The id_token's payload, decoded but not signature-checked.
    if let Some(claims) = field("id_token").and_then(crate::steps::sso_token::config::jwt_payload) {
        out.insert("id_token_claims".into(), claims);
    }
    out.insert("body".into(), body.clone());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_responses_are_read_tolerantly() {
        let out = read_token_response(200, &json!({"access_token": "a", "expires_in": "60", "x": 1})).unwrap();
        assert_eq!(out["expires_in"], json!(60));
        assert!(out["expires_at"].as_u64().unwrap() >= crate::template::unix_now() + 59);
        assert_eq!(out["token_type"], json!("Bearer"));
        assert_eq!(out["body"]["x"], json!(1));
        let err =
            read_token_response(400, &json!({"error": "invalid_grant", "error_description": "code used"})).unwrap_err();
        assert_eq!(err, "the token endpoint refused (HTTP 400): invalid_grant: code used");
        assert!(read_token_response(200, &json!({"token": "x"})).unwrap_err().contains("has: token"));
    }

    #[test]
    fn pkce_s256_is_unpadded_base64url_of_sha256() {
        // Expected value from Python's hashlib + base64.urlsafe_b64encode.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXrFYFEjXk", true),
            "-0Ox40CCrRf1xIWfAdULFAolDUKraQ41CvMPiguWVC8"
        );
        assert_eq!(random_token(32).len(), 43);
        assert_ne!(random_token(32), random_token(32));
    }
}
