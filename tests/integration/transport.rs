//! Issue 18 (items 2–6): how requests reach real servers — NTLM over https
//! (pyspnego behind Python's ssl, Negotiate-only too), the `ntlm` step's
//! method, body and `expect`, client certificates against a server that
//! requires one, `--proxy` through a real forwarding proxy, `--retry`, and
//! colours per stream in a pseudo-terminal.

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Conntest, Output, unique};
use crate::server::{Resp, Server};

/// A Python peer started by a test; killed when dropped.
struct Peer {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tests/peers/SCRIPT` with `args` (`{dir}` is the peer's temp dir) and waits for its LISTENING line.
fn peer(script: &str, args: &[&str], env: &[(&str, &str)]) -> Peer {
    let python = std::env::var("CONNTEST_PEERS_PYTHON").expect("CONNTEST_PEERS_PYTHON: run `bash tests/run.sh`");
    let dir = tempfile::tempdir().expect("tmp");
    let dir_text = dir.path().display().to_string();
    let mut child = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(script))
        .args(args.iter().map(|a| a.replace("{dir}", &dir_text)))
        .envs(env.iter().copied())
        .env("NTLM_QUIET", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .expect("start the peer");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("LISTENING line");
    let url = line.trim().strip_prefix("LISTENING ").unwrap_or_else(|| panic!("{script}: {line:?}")).to_string();
    Peer { child, url, dir }
}

const USER: &str = "carol";
const DOMAIN: &str = "WINDOM";

/// The NTLM acceptor over https for one domain user (no domain-less login),
/// with a password that must never print.
fn ntlm_tls(password: &str, extra: &[&str]) -> Peer {
    let mut args = vec!["--port", "0", "--tls", "{dir}"];
    args.extend(extra);
    peer(
        "ntlm/server.py",
        &args,
        &[("NTLM_USER", USER), ("NTLM_DOMAIN", DOMAIN), ("NTLM_PASSWORD", password), ("NTLM_ALLOW_NO_DOMAIN", "0")],
    )
}

fn ca(p: &Peer) -> String {
    p.dir.path().join("ca.pem").display().to_string()
}

/// An `ntlm` step that POSTs JSON over https with `expect`, and `sign_in: ntlm` on an https test API.
fn ntlm_connector(url: &str, expect: &str) -> String {
    format!(
        "variables: {{url: \"{url}\", pw: \"\"}}
auth_flow:
  - id: win
    type: ntlm
    method: POST
    url: \"{{{{ vars.url }}}}/api/echo\"
    headers: {{X-Request-Id: r-42}}
    json: {{report: quarterly, rows: 3}}
    username: {USER}
    password: \"{{{{ vars.pw }}}}\"
    domain: {DOMAIN}
    expect: {expect}
sign_in: {{type: ntlm, username: {USER}, password: \"{{{{ vars.pw }}}}\", domain: {DOMAIN}}}
test_api: {{name: me, request: {{url: \"{{{{ vars.url }}}}/api/me\"}}, expect: {{json: [{{path: \"$.user\", equals: \"{DOMAIN}\\\\{USER}\"}}]}}}}
"
    )
}

#[test]
fn ntlm_over_https_posts_json_checks_expect_and_signs_the_test_api() {
    let password = format!("canary-ntlm-{}", unique("pw"));
    let server = ntlm_tls(&password, &[]);
    let name = unique("ntlm-tls");
    let expect = format!(
        "{{status: [200], json: [{{path: \"$.user\", equals: \"{DOMAIN}\\\\{USER}\"}}, {{path: \"$.content_type\", equals: application/json}}]}}"
    );
    let t = Conntest::new().connector(&name, &ntlm_connector(&server.url, &expect)).env("CONNTEST_VAR_pw", &password);
    let out = t.clone_args(&["--no-cache", "-v", "--cacert", &ca(&server), "--format", "json", "test", "auth", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let step = &json["results"][0]["steps"][0];
    assert_eq!(step["outputs"]["body"]["user"], format!("{DOMAIN}\\{USER}"), "{json}");
    assert_eq!(step["outputs"]["body"]["method"], "POST");
    let sent: serde_json::Value =
        serde_json::from_str(step["outputs"]["body"]["body"].as_str().unwrap_or_default()).expect("the JSON body");
    assert_eq!(sent, serde_json::json!({"report": "quarterly", "rows": 3}));
    assert_eq!(json["results"][0]["test_api"]["status"], 200, "sign_in: ntlm on an https test API");
    assert!(out.stderr.contains("Authorization: NTLM ****"), "{}", out.stderr);
    assert!(!out.all().contains(&password), "the password leaked");

    // The same server is not trusted without its CA: a certificate failure in words, exit 5.
    let out = t.clone_args(&["--no-cache", "test", "auth", &name]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.all().contains("unknown issuer") && out.all().contains("--cacert"), "{out:?}");
}

#[test]
fn ntlm_step_expect_lists_every_failed_assertion_and_fails_with_exit_1() {
    let password = format!("canary-ntlm-{}", unique("pw"));
    let server = ntlm_tls(&password, &[]);
    let name = unique("ntlm-expect");
    let expect = "{json: [{path: \"$.user\", equals: \"OTHER\\\\mallory\"}, {path: \"$.roles\", exists: true}]}";
    let out = Conntest::new()
        .connector(&name, &ntlm_connector(&server.url, expect))
        .env("CONNTEST_VAR_pw", &password)
        .clone_args(&["--no-cache", "--cacert", &ca(&server), "test", "auth", &name]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("`$.user` is \"WINDOM\\\\carol\", expected \"OTHER\\\\mallory\""), "{out:?}");
    assert!(out.all().contains("`$.roles` matched nothing"), "both failures listed: {out:?}");
    assert!(!out.all().contains("test API"), "stops at the step: {out:?}");
}

#[test]
fn ntlm_over_https_with_a_wrong_password_ends_on_the_acceptors_401() {
    let server = ntlm_tls(&format!("canary-ntlm-{}", unique("pw")), &[]);
    let name = unique("ntlm-wrong");
    let started = Instant::now();
    let t = Conntest::new()
        .connector(&name, &ntlm_connector(&server.url, "{status: [200]}"))
        .env("CONNTEST_VAR_pw", "not-the-password");
    let har = t.path().join("run.har").display().to_string();
    let out = t.clone_args(&["--no-cache", "--cacert", &ca(&server), "test", "auth", "--har", &har, &name]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all().contains("→ 401: credentials rejected"), "{out:?}");
    assert!(!out.all().contains("404"), "{out:?}");
    // Both messages of the handshake went out; the last answer is the acceptor's 401 to the authenticate message.
    let har: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&har).expect("har")).expect("json");
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{har}");
    assert_eq!(entries[1]["response"]["status"], 401, "{har}");
    assert!(started.elapsed() < Duration::from_secs(10), "never a hang");
}

#[test]
fn a_negotiate_only_server_gets_ntlm_under_negotiate() {
    let password = format!("canary-ntlm-{}", unique("pw"));
    let server = ntlm_tls(&password, &["--negotiate"]);
    let name = unique("ntlm-nego");
    let out = Conntest::new()
        .connector(&name, &ntlm_connector(&server.url, "{status: [200]}"))
        .env("CONNTEST_VAR_pw", &password)
        .clone_args(&["--no-cache", "-v", "--cacert", &ca(&server), "test", "auth", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("Authorization: Negotiate ****"), "{}", out.stderr);
    assert!(!out.all().contains(&password), "the password leaked");
}

#[test]
fn the_client_certificate_reaches_the_pinned_ntlm_connection() {
    let password = format!("canary-ntlm-{}", unique("pw"));
    let server = ntlm_tls(&password, &["--client-cert"]);
    let name = unique("ntlm-mtls");
    let t = Conntest::new()
        .connector(&name, &ntlm_connector(&server.url, "{status: [200]}"))
        .env("CONNTEST_VAR_pw", &password);
    let (cert, key) = (file(&server, "client.pem"), file(&server, "client.key"));
    let out =
        t.clone_args(&["--no-cache", "--cacert", &ca(&server), "--cert", &cert, "--key", &key, "test", "auth", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = t.clone_args(&["--no-cache", "--cacert", &ca(&server), "test", "auth", &name]);
    assert_eq!(out.code, 5, "without the certificate the handshake fails: {out:?}");
    assert!(out.all().contains("requires a client certificate") && out.all().contains("--cert"), "{out:?}");
}

/// `tests/peers/tls_server.py mtls`: a server that requires a client certificate.
fn mtls() -> Peer {
    peer("tls_server.py", &["{dir}", "mtls"], &[])
}

fn me(url: &str) -> String {
    format!(
        "test_api: {{name: me, request: {{url: \"{url}/me\"}}, expect: {{json: [{{path: \"$.client\", equals: conntest client}}]}}}}\nauth_flow: []\n"
    )
}

fn file(p: &Peer, name: &str) -> String {
    p.dir.path().join(name).display().to_string()
}

#[test]
fn client_certificates_reach_a_server_that_requires_one() {
    let server = mtls();
    let name = unique("mtls");
    let t = Conntest::new().connector(&name, &me(&server.url));
    let run = |extra: &[&str]| {
        let mut args =
            vec!["--no-cache", "--cacert", &file(&server, "ca.pem")].into_iter().map(String::from).collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["test".into(), "auth".into(), name.clone()]);
        t.clone_args(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let key_text = std::fs::read_to_string(file(&server, "client.key")).expect("key");
    let key_line = key_text.lines().nth(1).expect("a base64 line of the key").to_string();

    let out = run(&["--cert", &file(&server, "client.pem"), "--key", &file(&server, "client.key")]);
    assert_eq!(out.code, 0, "the right certificate: {out:?}");

    let out = run(&[]);
    assert_eq!(out.code, 5, "no certificate: {out:?}");
    assert!(out.all().contains("requires a client certificate") && out.all().contains("--cert"), "in words: {out:?}");

    let out = run(&["--cert", &file(&server, "client.pem"), "--key", &file(&server, "other.key")]);
    assert_eq!(out.code, 2, "a key of another pair: {out:?}");
    assert!(out.all().contains("does not match the client certificate"), "{out:?}");

    let out = run(&["--cert", &file(&server, "client.pem"), "--key", &file(&server, "encrypted.key")]);
    assert_eq!(out.code, 2, "an encrypted key: {out:?}");
    assert!(out.all().contains("is encrypted"), "{out:?}");

    let out = run(&["--cert", &file(&server, "missing.pem"), "--key", &file(&server, "client.key")]);
    assert_eq!(out.code, 2, "a missing file: {out:?}");
    assert!(out.all().contains("missing.pem"), "{out:?}");

    // The key is a file name on every channel, never its bytes.
    let out = run(&["-v", "--cert", &file(&server, "client.key"), "--key", &file(&server, "client.key")]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(!out.all().contains(&key_line), "key bytes printed: {out:?}");
}

#[test]
fn a_connectors_tls_block_takes_templates_and_applies_to_its_requests() {
    let server = mtls();
    let name = unique("mtls-file");
    let yaml = format!(
        "variables: {{certs: \"{}\"}}\ntls: {{client_cert: \"{{{{ vars.certs }}}}/client.pem\", client_key: \"{{{{ vars.certs }}}}/client.key\"}}\n{}",
        server.dir.path().display(),
        me(&server.url)
    );
    let out = Conntest::new().connector(&name, &yaml).clone_args(&[
        "--no-cache",
        "--cacert",
        &file(&server, "ca.pem"),
        "test",
        "auth",
        &name,
    ]);
    assert_eq!(out.code, 0, "{out:?}");

    // Static paths are checked by `validate`: a key of another pair is an invalid file.
    let yaml = format!(
        "tls: {{client_cert: \"{}\", client_key: \"{}\"}}\n{}",
        file(&server, "client.pem"),
        file(&server, "other.key"),
        me(&server.url)
    );
    let out = Conntest::new().connector(&name, &yaml).clone_args(&["validate", &name]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.all().contains(":1:1: client key") && out.all().contains("does not match"), "{out:?}");
}

/// `tests/peers/proxy.py`: a forwarding proxy that logs what it carried.
fn proxy(creds: Option<&str>) -> (Peer, PathBuf) {
    let mut args = vec!["{dir}/log"];
    args.extend(creds);
    let p = peer("proxy.py", &args, &[]);
    let log = p.dir.path().join("log");
    (p, log)
}

fn log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn proxy_carries_http_and_https_and_beats_the_environment() {
    let (proxy, log_file) = proxy(None);
    let api = Server::start(|_| Resp::json(200, serde_json::json!({"ok": true})));
    let tls = mtls_free_tls();
    let name = unique("proxied");
    let yaml = format!(
        "auth_flow:\n  - {{id: plain, type: api_request, request: {{url: \"{}/plain\"}}}}\ntest_api: {{name: me, request: {{url: \"{}/me\"}}}}\n",
        api.url, tls.url
    );
    let t = Conntest::new()
        .connector(&name, &yaml)
        // An environment proxy that does not exist: --proxy wins over it.
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env("NO_PROXY", "");
    let out = t.clone_args(&["--no-cache", "--proxy", &proxy.url, "--cacert", &ca(&tls), "test", "auth", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    let carried = log(&log_file);
    assert!(carried.contains(&format!("GET {}/plain", api.url)), "http through the proxy: {carried}");
    assert!(
        carried.contains(&format!("CONNECT {}", tls.url.trim_start_matches("https://"))),
        "https tunnelled: {carried}"
    );
    api.assert_origin_form();

    // NO_PROXY still applies to --proxy.
    let before = log(&log_file);
    let out = t.env("NO_PROXY", "127.0.0.1").clone_args(&[
        "--no-cache",
        "--proxy",
        &proxy.url,
        "--cacert",
        &ca(&tls),
        "test",
        "auth",
        &name,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(log(&log_file), before, "a NO_PROXY host went through the proxy");
}

#[test]
fn ntlm_goes_through_the_proxy_in_a_tunnel_of_its_own() {
    let password = format!("canary-ntlm-{}", unique("pw"));
    let server = ntlm_tls(&password, &[]);
    let (proxy, log_file) = proxy(Some("proxyuser:canary-proxy-pw"));
    let name = unique("ntlm-proxied");
    let with_creds = proxy.url.replace("http://", "http://proxyuser:canary-proxy-pw@");
    let out = Conntest::new()
        .connector(&name, &ntlm_connector(&server.url, "{status: [200]}"))
        .env("CONNTEST_VAR_pw", &password)
        .env("NO_PROXY", "")
        .clone_args(&["--no-cache", "-v", "--proxy", &with_creds, "--cacert", &ca(&server), "test", "auth", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    let tunnels = log(&log_file).matches(&format!("CONNECT {}", server.url.trim_start_matches("https://"))).count();
    assert_eq!(tunnels, 2, "the step's and the test API's connections: {}", log(&log_file));
    assert!(!out.all().contains("canary-proxy-pw") && !out.all().contains(&password), "{out:?}");
}

/// A TLS server without client-certificate checks (`tls_server.py good`).
fn mtls_free_tls() -> Peer {
    peer("tls_server.py", &["{dir}", "good"], &[])
}

#[test]
fn proxy_credentials_are_masked_and_an_unreachable_proxy_is_named() {
    let (proxy, log_file) = proxy(Some("proxyuser:canary-proxy-pw"));
    let api = Server::start(|_| Resp::json(200, serde_json::json!({"ok": true})));
    let name = unique("proxy-auth");
    let t = Conntest::new()
        .connector(&name, &format!("auth_flow: []\ntest_api: {{name: me, request: {{url: \"{}/me\"}}}}\n", api.url))
        .env("NO_PROXY", "");
    let with_creds = proxy.url.replace("http://", "http://proxyuser:canary-proxy-pw@");
    let out = t.clone_args(&["--no-cache", "-v", "--proxy", &with_creds, "test", "auth", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(log(&log_file).contains("GET "), "{}", log(&log_file));
    assert!(!out.all().contains("canary-proxy-pw"), "proxy password leaked: {out:?}");

    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let dead = format!("http://proxyuser:canary-proxy-pw@127.0.0.1:{port}");
    let out = t.clone_args(&["--no-cache", "--proxy", &dead, "test", "auth", &name]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.all().contains(&format!("the proxy at http://proxyuser:****@127.0.0.1:{port}")), "{out:?}");
    assert!(!out.all().contains("canary-proxy-pw"), "proxy password leaked: {out:?}");

    let out = t.clone_args(&["--no-cache", "--proxy", "not a url", "test", "auth", &name]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--proxy not a url: not a proxy URL"), "{out:?}");
    // SPEC asks for HTTP proxies: a SOCKS one is refused by name before any request.
    let out = t.clone_args(&["--no-cache", "--proxy", "socks5://127.0.0.1:1080", "test", "auth", &name]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("a socks5:// proxy is not supported, only http:// and https:// proxies"), "{out:?}");
}

/// A port where nothing listens until `after`; then a server answering 200 `{}` to every request.
fn listens_after(after: Duration) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("rebind");
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn retry_waits_1_then_2_seconds_through_refused_connections_and_counts_them() {
    // Attempts at 0 s and 1 s are refused; the one at 3 s finds the server (up from 2 s).
    let url = listens_after(Duration::from_millis(2000));
    let name = unique("retry");
    let t = Conntest::new().connector(
        &name,
        &format!("auth_flow: []\ntest_api: {{name: me, request: {{method: POST, url: \"{url}/me\"}}}}\n"),
    );
    let started = Instant::now();
    let out = t.clone_args(&["--no-cache", "--retry", "3", "--format", "json", "test", "auth", &name]);
    let took = started.elapsed();
    assert_eq!(out.code, 0, "a refused connection is retried for any method: {out:?}");
    assert_eq!(out.json()["results"][0]["test_api"]["retries"], 2, "{}", out.stdout);
    assert!(took >= Duration::from_millis(2900) && took < Duration::from_secs(6), "1 s then 2 s apart: {took:?}");

    let url = listens_after(Duration::from_millis(2000));
    let t = Conntest::new()
        .connector(&name, &format!("auth_flow: []\ntest_api: {{name: me, request: {{url: \"{url}/me\"}}}}\n"));
    let out = t.clone_args(&["--no-cache", "--retry", "3", "test", "auth", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.all().contains("retry 1 of 3 in 1 s") && out.all().contains("retry 2 of 3 in 2 s"), "{out:?}");
    // A retry is a note, not a step: its line ends with the wait, no ` 0 ms` after it.
    let all = out.all();
    let line = all.lines().find(|l| l.contains("retry 1 of 3")).unwrap_or_default();
    assert!(line.starts_with("  ↻ me retry ") && line.ends_with("; retry 1 of 3 in 1 s"), "{line:?}");

    // The pinned NTLM connection too: a connection never made is made again.
    let url = listens_after(Duration::from_millis(1500));
    let ntlm =
        format!("auth_flow:\n  - {{id: win, type: ntlm, url: \"{url}/me\", username: u, password: canary-pw-x}}\n");
    let out = Conntest::new().connector(&name, &ntlm).clone_args(&[
        "--no-cache",
        "--retry",
        "2",
        "--format",
        "json",
        "test",
        "auth",
        &name,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["results"][0]["steps"][0]["retries"], 2, "{}", out.stdout);

    // At most 10, pinned.
    assert_eq!(Conntest::new().clone_args(&["--retry", "11", "validate"]).code, 2);
    assert!(Conntest::new().clone_args(&["--retry", "10", "--help"]).code == 0);

    // Without --retry the first refusal is the answer.
    let url = listens_after(Duration::from_secs(30));
    let t = Conntest::new()
        .connector(&name, &format!("auth_flow: []\ntest_api: {{name: me, request: {{url: \"{url}/me\"}}}}\n"));
    let out = t.clone_args(&["--no-cache", "test", "auth", &name]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(!out.all().contains("retry 1 of"), "{out:?}");
}

#[test]
fn retry_sends_a_get_that_timed_out_again_but_never_a_post_nor_an_http_answer() {
    let server = Server::start(|r| match r.path_only() {
        "/slow" => Resp::json(200, serde_json::json!({})).delay(Duration::from_secs(3)),
        _ => Resp::json(503, serde_json::json!({"error": "down"})),
    });
    let name = unique("retry-timeout");
    let step = |method: &str, path: &str| {
        format!(
            "auth_flow:\n  - {{id: call, type: api_request, request: {{method: {method}, url: \"{}{path}\"}}}}\n",
            server.url
        )
    };
    let run = |yaml: String| {
        Conntest::new().connector(&name, &yaml).clone_args(&[
            "--no-cache",
            "--retry",
            "1",
            "--format",
            "json",
            "test",
            "auth",
            "--timeout",
            "1",
            &name,
        ])
    };
    let out = run(step("POST", "/slow"));
    assert_eq!(out.code, 5, "{out:?}");
    assert_eq!(server.count("/slow"), 1, "a POST that timed out is not sent again");

    let out = run(step("GET", "/slow"));
    assert_eq!(out.code, 5, "{out:?}");
    assert_eq!(server.count("/slow"), 3, "a GET that timed out goes once more");
    assert_eq!(out.json()["results"][0]["steps"][0]["retries"], 1, "{}", out.stdout);

    let out = run(step("GET", "/down"));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(server.count("/down"), 1, "a 503 is an HTTP answer: never retried");
}

#[cfg(unix)]
#[test]
fn colours_go_only_to_the_stream_that_is_a_terminal() {
    let server = Server::start(|_| Resp::json(200, serde_json::json!({"ok": true})));
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("connectors")).expect("mkdir");
    let yaml = format!(
        "auth_flow:\n  - {{id: ping, type: api_request, request: {{url: \"{}/ping\"}}}}\ntest_api: {{name: me, request: {{url: \"{}/me\"}}}}\n",
        server.url, server.url
    );
    std::fs::write(dir.path().join("connectors/colour.yaml"), yaml).expect("write");
    let errfile = dir.path().join("stderr.txt");
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        // -k: its warning is a styled line on stderr.
        .arg(format!("'{}' --no-cache -k test auth colour 2>'{}'", crate::harness::bin().display(), errfile.display()))
        .current_dir(dir.path())
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .env_remove("CLICOLOR_FORCE");
    let mut p = expectrl::Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    let mut screen = String::new();
    let _ = p.read_to_string(&mut screen);
    let _ = p.get_process().wait();
    let stderr = std::fs::read_to_string(&errfile).expect("stderr file");
    assert!(stderr.contains("warning: -k/--insecure"), "the warning: {stderr:?}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in the stderr file: {stderr:?}");
    assert!(!stderr.contains("\\x1b["), "colour codes shown escaped in the stderr file: {stderr:?}");
    assert!(screen.contains("ping") && screen.contains("\u{1b}["), "stdout is the terminal: colours there: {screen:?}");
}

impl Conntest {
    /// Runs with `args` after the builder's own, leaving the builder usable.
    fn clone_args(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        cmd.output().expect("run conntest").into()
    }
}
