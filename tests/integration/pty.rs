//! The Form prompt in a real pseudo-terminal (expectrl).

use std::time::Duration;

use expectrl::{Eof, Expect, Session};
use serde_json::json;

use crate::harness::bin;

/// Everything the session printed from here to its end.
fn rest_of_screen(p: &mut impl Expect, before: &[u8]) -> String {
    let rest = p.expect(Eof).expect("finishes");
    let mut bytes = before.to_vec();
    bytes.extend(rest.before());
    bytes.extend(rest.get(0).unwrap_or_default());
    String::from_utf8_lossy(&bytes).into_owned()
}
use crate::server::{Resp, Server};

#[test]
fn form_prompt_shows_title_and_labels_hides_password_and_reasks_bad_email() {
    let password = "pty-secret-5521";
    // The login answers after 1.5 s: long enough for the spinner to tick while the step waits.
    let server = Server::start(move |req| match req.path_only() {
        "/login" if req.body.contains(password) && req.body.contains("ann%40example.com") => {
            Resp::json(200, json!({"access_token": "pty-tok"})).delay(Duration::from_millis(1500))
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
    // The slow login shows a spinner naming the connector and step, and it keeps
    // drawing while the step waits: a frame a second in (its elapsed time `1s`)
    // comes before the step's ✔ line. The first frame alone is drawn at once.
    let spinner = p.expect("pty: login").expect("spinner while waiting");
    let ticking = p.expect("1s").expect("the spinner still drawing a second into the wait");
    let waited = String::from_utf8_lossy(ticking.before()).into_owned();
    assert!(!waited.contains("✔"), "the step finished before the spinner ticked:\n{waited}");
    let done = p.expect("✔ login").expect("the step's line after the spinner");
    let mut before = spinner.before().to_vec();
    before.extend(ticking.before());
    before.extend(ticking.get(0).unwrap_or_default());
    before.extend(done.before());
    before.extend(done.get(0).unwrap_or_default());
    let screen = rest_of_screen(&mut p, &before);
    assert!(!screen.contains(password), "password echoed:\n{screen}");
    assert!(screen.contains("auth passed"), "{screen}");
}

#[test]
fn django_login_passes_interactively() {
    let url =
        std::env::var("CONNTEST_DJANGO_URL").expect("CONNTEST_DJANGO_URL: run the suite with `bash tests/run.sh`");
    let password = std::env::var("CONNTEST_DJANGO_PASSWORD").expect("CONNTEST_DJANGO_PASSWORD");
    let connectors = concat!(env!("CARGO_MANIFEST_DIR"), "/connectors");
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["--no-cache", "--no-color", "--dir", connectors, "test", "auth", "django-session", "--var"])
        .arg(format!("base_url={url}"))
        .env_remove("CI")
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(30)));
    p.expect("Sign in to the Django app").expect("title shown");
    p.expect("Username").expect("username label");
    p.send_line("alice").expect("type");
    p.expect("Password").expect("password label");
    p.send_line(&password).expect("type");
    let screen = rest_of_screen(&mut p, &[]);
    assert!(!screen.contains(&password), "password echoed:\n{screen}");
    assert!(screen.contains("/api/me → 200") && screen.contains("auth passed"), "{screen}");
}

#[test]
fn waiting_for_the_browser_shows_a_spinner_and_ctrl_c_exits_130() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("connectors")).expect("mkdir");
    std::fs::write(
        dir.path().join("connectors/wait.yaml"),
        "auth_flow:\n  - {id: cb, type: callback, authorize_url: 'http://127.0.0.1:9/?r={{ redirect_uri }}', timeout_secs: 60}\n",
    )
    .expect("write");
    let mut cmd = std::process::Command::new(bin());
    // `true` as the browser: it opens nothing, so conntest waits for a person.
    cmd.args(["--no-cache", "--no-color", "test", "auth", "wait"])
        .current_dir(dir.path())
        .env_remove("CI")
        .env("BROWSER", "true")
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    p.expect("sign in to wait in a browser").expect("URL announced");
    p.expect("waiting for the browser").expect("spinner while waiting");
    p.expect("1s").expect("elapsed time shown");
    p.send(expectrl::ControlCode::EndOfText).expect("Ctrl-C");
    p.expect(Eof).expect("ends");
    let status = p.get_process().wait().expect("exit status");
    assert_eq!(status, expectrl::process::unix::WaitStatus::Exited(p.get_process().pid(), 130), "{status:?}");
}
