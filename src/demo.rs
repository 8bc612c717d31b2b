//! The demo API `conntest demo` talks to: a token login, a refresh endpoint
//! with rotating refresh tokens, and a protected `/me`, served in-process on an
//! ephemeral 127.0.0.1 port.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::Digest as _;

pub const PASSWORD: &str = "demo-password";

#[derive(Default)]
struct State {
    /// access token → user
    access: HashMap<String, String>,
    /// refresh token → user
    refresh: HashMap<String, String>,
    counter: u64,
}

impl State {
    fn token(&mut self, kind: &str) -> String {
        self.counter += 1;
        let seed = format!("{kind}-{}-{}-{:?}", self.counter, std::process::id(), std::time::SystemTime::now());
        format!("{kind}_{}", &crate::template::hex(&sha2::Sha256::digest(seed.as_bytes()))[..24])
    }

    fn issue(&mut self, user: &str) -> Value {
        let access = self.token("at");
        let refresh = self.token("rt");
        self.access.insert(access.clone(), user.to_string());
        self.refresh.insert(refresh.clone(), user.to_string());
        json!({"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": 30})
    }
}

pub struct DemoServer {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
}

impl DemoServer {
    pub fn start() -> Result<DemoServer, String> {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").map_err(|e| format!("cannot bind 127.0.0.1: {e}"))?);
        let port = server.server_addr().to_ip().map(|a| a.port()).ok_or("the demo server has no port")?;
        let state = Arc::new(Mutex::new(State::default()));
        let (s, st) = (server.clone(), state.clone());
        std::thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
                let (status, value) = handle(&st, req.method().as_str(), req.url(), req.headers(), &body);
                let header = tiny_http::Header::from_bytes("Content-Type", "application/json").ok();
                let mut resp = tiny_http::Response::from_string(value.to_string()).with_status_code(status);
                if let Some(h) = header {
                    resp = resp.with_header(h);
                }
                if status == 401
                    && let Ok(h) = tiny_http::Header::from_bytes("WWW-Authenticate", "Bearer error=\"invalid_token\"")
                {
                    resp = resp.with_header(h);
                }
                let _ = req.respond(resp);
            }
        });
        Ok(DemoServer { url: format!("http://127.0.0.1:{port}"), state, server })
    }

    /// Every access token expires now; refresh tokens stay valid.
    pub fn expire_access_tokens(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.access.clear();
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn handle(state: &Mutex<State>, method: &str, url: &str, headers: &[tiny_http::Header], body: &str) -> (u16, Value) {
    let Ok(mut s) = state.lock() else { return (500, json!({"error": "server error"})) };
    let path = url.split('?').next().unwrap_or("");
    match (method, path) {
        ("POST", "/login") => {
            let creds: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            let user = creds["username"].as_str().unwrap_or("");
            if !user.is_empty() && creds["password"] == PASSWORD {
                (200, s.issue(user))
            } else {
                (401, json!({"error": "invalid_credentials", "error_description": "wrong username or password"}))
            }
        }
        ("POST", "/refresh") => {
            let token = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "refresh_token")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            match s.refresh.remove(&token) {
                Some(user) => (200, s.issue(&user)),
                None => (401, json!({"error": "invalid_grant"})),
            }
        }
        ("GET", "/me") => {
            let bearer = headers
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(str::to_string));
            match bearer.and_then(|t| s.access.get(&t).cloned()) {
                Some(user) => (200, json!({"username": user, "plan": "demo"})),
                None => (401, json!({"error": "invalid_token"})),
            }
        }
        _ => (404, json!({"error": "not found"})),
    }
}
