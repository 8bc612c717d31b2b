//! The Form prompt in a real pseudo-terminal (expectrl).

use std::time::Duration;

use expectrl::{Eof, Expect, Session};
use serde_json::json;

use crate::harness::bin;
use crate::server::{Resp, Server};

#[test]
fn form_prompt_shows_title_and_labels_hides_password_and_reasks_bad_email() {
    let password = "pty-secret-5521";
    let server = Server::start(move |req| match req.path_only() {
        "/login" if req.body.contains(password) && req.body.contains("ann%40example.com") => {
            Resp::json(200, json!({"access_token": "pty-tok"}))
        }
        "/me" => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    });
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("connectors")).expect("mkdir");
    std::fs::write(
        dir.path().join("connectors/pty.yaml"),
        format!(
            "base_url: {}\nauth_flow:\n  - id: creds\n    type: form\n    title: Sign in to Pty Corp\n    fields:\n      - {{key: email, type: email, label: Work email}}\n      - {{key: password, type: password, label: Secret word}}\n  - id: login\n    type: api_request\n    request: {{method: POST, url: /login, form: {{e: '{{{{ creds.email }}}}', p: '{{{{ creds.password }}}}'}}}}\ntest_api: {{request: {{url: /me}}}}\n",
            server.url
        ),
    )
    .expect("write");
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["--no-cache", "--no-color", "test", "auth", "pty"])
        .current_dir(dir.path())
        .env_remove("CI")
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    p.expect("Sign in to Pty Corp").expect("title shown");
    p.expect("Work email").expect("email label shown");
    p.send_line("not-an-email").expect("type");
    p.expect("is not an email address").expect("bad email refused");
    p.send_line("ann@example.com").expect("type");
    p.expect("Secret word").expect("password label shown");
    p.send_line(password).expect("type");
    let rest = p.expect(Eof).expect("finishes");
    let mut bytes = rest.before().to_vec();
    bytes.extend(rest.get(0).unwrap_or_default());
    let screen = String::from_utf8_lossy(&bytes).into_owned();
    assert!(!screen.contains(password), "password echoed:\n{screen}");
    assert!(screen.contains("auth passed"), "{screen}");
}
