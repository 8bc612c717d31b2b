//! Issues 18 and 23: the wire format real servers insist on. Every request is
//! RFC 9112 origin form (`GET /path?query HTTP/1.1`) with a `Host` that carries
//! a non-default port — for every step type that sends HTTP, the NTLM handshake
//! on its pinned connection included. The test peers refuse anything else as
//! real origin servers do (400), and these tests check that they do.

use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::harness::{Conntest, unique};
use crate::server::{Resp, Server};

/// The status line a raw `request` to `addr` (`127.0.0.1:PORT`) gets back.
fn raw_status(addr: &str, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    // Up to the end of the status line (the peer may keep the connection open).
    while !answer.contains(&b'\n') {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string()
}

/// What a strict origin server answers 400 to, and what it serves.
fn check_strictness(addr: &str, path: &str) {
    let port = addr.rsplit_once(':').expect("port").1;
    for (request, why) in [
        (format!("GET http://{addr}{path} HTTP/1.1\r\nHost: {addr}\r\n\r\n"), "absolute form"),
        (format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), "Host without the port"),
        (format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:1{port}\r\n\r\n"), "Host with another port"),
        (format!("GET {path} HTTP/1.1\r\n\r\n"), "no Host"),
    ] {
        let status = raw_status(addr, &request);
        assert!(status.starts_with("HTTP/1.1 400"), "{why}: {status:?}");
    }
    let ok = raw_status(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"));
    assert!(!ok.contains(" 400"), "origin form with the port is served: {ok:?}");
}

#[test]
fn the_test_server_refuses_absolute_form_and_a_host_without_its_port() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    check_strictness(server.url.trim_start_matches("http://"), "/me");
    let lines: Vec<String> = server.requests().into_iter().map(|r| r.line).collect();
    assert!(lines[0].starts_with("GET http://"), "the raw request line is recorded: {lines:?}");
}

#[test]
fn the_ntlm_peer_refuses_absolute_form_and_a_host_without_its_port() {
    let url = std::env::var("CONNTEST_NTLM_URL").expect("CONNTEST_NTLM_URL: run `bash tests/run.sh`");
    check_strictness(url.trim_start_matches("http://"), "/__stats");
}

/// A script that plays the user in a browser: it follows the authorize page's
/// redirect to conntest's loopback listener, as a browser would.
fn curl_browser(dir: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("browser.sh");
    std::fs::write(&path, "#!/bin/sh\nexec curl -sS -L -o /dev/null --max-time 30 \"$1\"\n").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

fn query(req: &crate::server::Req, name: &str) -> String {
    let url = url::Url::parse(&format!("http://x{}", req.path)).expect("path");
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// Every token and resource endpoint of every step type that sends HTTP, on one server.
fn every_endpoint() -> Server {
    // The OAuth 1.0a callback, learnt from the request token request.
    let callback = Arc::new(Mutex::new(String::new()));
    let token = || Resp::json(200, json!({"access_token": "at-strict-1", "token_type": "Bearer", "expires_in": 3600}));
    let form = |body: &str| {
        Resp::text(200, body).header("Content-Type", "application/x-www-form-urlencoded").header("X-Form", "1")
    };
    Server::start(move |req| match req.path_only() {
        "/authorize" => {
            let mut to = url::Url::parse(&query(req, "redirect_uri")).expect("redirect_uri");
            to.query_pairs_mut().append_pair("code", "code-strict-1").append_pair("state", &query(req, "state"));
            Resp::text(302, "").header("Location", to.as_str())
        }
        "/token" | "/cc" | "/jwt" => token(),
        "/o1/request" => {
            let auth = req.header("authorization").unwrap_or_default();
            let at = auth.find("oauth_callback=\"").map(|i| i + "oauth_callback=\"".len()).unwrap_or(0);
            let raw = auth[at..].split('"').next().unwrap_or_default();
            *callback.lock().expect("lock") = percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into();
            form("oauth_token=rt-strict&oauth_token_secret=rts-strict&oauth_callback_confirmed=true")
        }
        "/o1/authorize" => {
            let mut to = url::Url::parse(&callback.lock().expect("lock")).expect("oauth_callback");
            to.query_pairs_mut().append_pair("oauth_token", "rt-strict").append_pair("oauth_verifier", "v-strict");
            Resp::text(302, "").header("Location", to.as_str())
        }
        "/o1/access" => form("oauth_token=at-strict&oauth_token_secret=ats-strict"),
        _ => Resp::json(200, json!({"ok": true})),
    })
}

#[test]
fn every_step_type_sends_origin_form_with_the_port_in_host() {
    let server = every_endpoint();
    let name = unique("origin-form");
    let url = &server.url;
    let yaml = format!(
        r#"
name: {name}
base_url: {url}
auth_flow:
  - {{id: login, type: api_request, request: {{method: POST, url: "/login?a=1", json: {{u: ann}}}}}}
  - {{id: basic, type: basic_auth, username: ann, password: pw-strict-basic, verify_url: /verify}}
  - id: code
    type: oauth2
    authorize_url: "{url}/authorize"
    token_url: "{url}/token"
    client_id: app
    client_secret: cs-strict-app
    redirect_port: 0
    timeout_secs: 10
  - {{id: cc, type: oauth2_client_credentials, token_url: "{url}/cc", client_id: svc, client_secret: cs-strict-svc}}
  - {{id: grant, type: jwt_bearer, algorithm: HS256, key: hs-strict-key-0123456789abcdef, claims: {{iss: me}}, token_url: "{url}/jwt"}}
  - id: o1
    type: oauth1
    consumer_key: ck
    consumer_secret: cs-strict-o1
    request_token_url: "{url}/o1/request"
    authorize_url: "{url}/o1/authorize"
    access_token_url: "{url}/o1/access"
    timeout_secs: 10
  - {{id: win, type: ntlm, url: "{url}/ntlm?b=2", username: ann, password: pw-strict-ntlm}}
sign_in: {{type: oauth1, consumer_key: ck, consumer_secret: cs-strict-o1, token: "{{{{ o1.oauth_token }}}}", token_secret: "{{{{ o1.oauth_token_secret }}}}"}}
test_api: {{request: {{url: "/me?x=1"}}}}
"#
    );
    let t = Conntest::new().connector(&name, &yaml);
    let browser = curl_browser(t.path());
    let out = t.env("BROWSER", &browser).args(["--no-cache", "test", "auth", &name]).run();
    assert_eq!(out.code, 0, "{out:?}");
    for path in
        ["/login", "/verify", "/authorize", "/token", "/cc", "/jwt", "/o1/request", "/o1/access", "/ntlm", "/me"]
    {
        assert_eq!(server.count(path), 1, "{path} reached the server once: {:#?}", server.requests());
    }
    server.assert_origin_form();
    let lines: Vec<String> = server.requests().into_iter().map(|r| r.line).collect();
    assert!(lines.contains(&"GET /ntlm?b=2 HTTP/1.1".to_string()), "the NTLM request keeps its query: {lines:?}");
}

#[test]
fn ntlm_sends_the_host_name_and_port_of_its_url() {
    // The pinned connection builds Host itself (for the default port, no port:
    // src/ntlm.rs's unit test); here a name rather than an address.
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let url = server.url.replace("127.0.0.1", "localhost");
    let name = unique("ntlm-host");
    let yaml = format!(
        "auth_flow:\n  - {{id: win, type: ntlm, url: \"{url}/who\", username: ann, password: pw-strict-ntlm}}\n"
    );
    let out = Conntest::new().connector(&name, &yaml).args(["--no-cache", "test", "auth", &name]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let req = &server.requests()[0];
    assert_eq!(req.line, "GET /who HTTP/1.1");
    assert_eq!(req.header("host"), Some(url.trim_start_matches("http://")));
}
