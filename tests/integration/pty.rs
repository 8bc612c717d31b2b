//! The Form prompt in a real pseudo-terminal (expectrl).

use std::time::Duration;

use expectrl::session::OsSession;
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

/// `conntest ARGS` in a pseudo-terminal, with the connectors `(name, yaml)` in its dir.
fn spawn_in_pty(connectors: &[(&str, &str)], args: &[&str]) -> (OsSession, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("connectors")).expect("mkdir");
    for (name, yaml) in connectors {
        std::fs::write(dir.path().join(format!("connectors/{name}.yaml")), yaml).expect("write");
    }
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["--no-cache", "--no-color"]).args(args).current_dir(dir.path()).env_remove("CI").env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    (p, dir)
}

fn exit_status(p: &OsSession) -> i32 {
    match p.get_process().wait().expect("exit status") {
        expectrl::process::unix::WaitStatus::Exited(_, code) => code,
        other => panic!("did not exit: {other:?}"),
    }
}

#[test]
fn ctrl_d_at_a_password_prompt_ends_the_run_with_exit_3_and_echo_back_on() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: creds, type: form, title: Sign in, fields: [{{key: user, label: User name}}, {{key: password, type: password, label: Secret word}}]}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let (mut p, _dir) = spawn_in_pty(&[("eof", &yaml)], &["test", "auth", "eof"]);
    // expectrl starts the terminal with echo off: turn it on, as a person's terminal is,
    // so that a run leaving it off shows. conntest waits for "ann" before it reads the settings.
    p.get_process_mut().set_echo(true, Some(Duration::from_secs(5))).expect("echo on");
    p.expect("User name").expect("first field");
    p.send_line("ann").expect("type");
    p.expect("Secret word").expect("password field, typed with echo off");
    p.send(expectrl::ControlCode::EndOfTransmission).expect("Ctrl-D");
    let screen = rest_of_screen(&mut p, &[]);
    assert_eq!(exit_status(&p), 3, "{screen}");
    assert!(screen.contains("the input ended (Ctrl-D)"), "says why the run ended:\n{screen}");
    assert!(p.get_process().get_echo().expect("terminal settings"), "echo left off after the run:\n{screen}");
    assert!(server.requests().is_empty(), "nothing was sent after the input ended");
}

#[test]
fn an_empty_required_field_says_why_it_is_asked_again_and_optional_fields_are_marked() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: creds, type: form, title: Sign in, fields: [{{key: user, label: User name}}, {{key: note, label: Note, required: false}}]}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let (mut p, _dir) = spawn_in_pty(&[("opt", &yaml)], &["test", "auth", "opt"]);
    let first = p.expect("User name").expect("first field");
    assert!(!String::from_utf8_lossy(first.before()).contains("optional"), "a required field is not marked");
    p.send_line("").expect("Enter alone");
    p.expect("User name is required: type a value (Ctrl-D ends the run)").expect("why it is asked again");
    p.expect("User name").expect("asked again");
    p.send_line("ann").expect("type");
    p.expect("Note (optional; Enter leaves it empty)").expect("the optional field is marked");
    p.send_line("").expect("Enter skips it");
    let screen = rest_of_screen(&mut p, &[]);
    assert_eq!(exit_status(&p), 0, "{screen}");
    assert!(screen.contains("auth passed"), "{screen}");
}

#[test]
fn two_connectors_prompt_one_after_the_other_each_form_naming_its_connector() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let form = |name: &str, who: &str| {
        format!(
            "name: {name}\nbase_url: {}\nauth_flow:\n  - {{id: creds, type: form, title: Sign in to {who}, fields: [{{key: user, label: {who} user}}, {{key: password, type: password, label: {who} password}}]}}\ntest_api: {{request: {{url: /me}}}}\n",
            server.url
        )
    };
    let (a, b) = (form("a", "Alpha"), form("b", "Beta"));
    // Two jobs: both connectors run at once, so only the terminal lock keeps their prompts apart.
    let (mut p, _dir) = spawn_in_pty(&[("a", &a), ("b", &b)], &["test", "auth", "a", "b", "--jobs", "2"]);
    let header = p.expect(expectrl::Regex(r"Sign in to (Alpha \(a\)|Beta \(b\))")).expect("a Form header");
    let first = String::from_utf8_lossy(header.get(0).expect("match")).into_owned();
    let (who, other) = if first.contains("Alpha") { ("Alpha", "Beta") } else { ("Beta", "Alpha") };
    let mut between = Vec::new();
    for (label, answer) in [("user", "ann"), ("password", "pw-1")] {
        let seen = p.expect(format!("{who} {label}")).expect("the first connector's field");
        between.extend(seen.before());
        p.send_line(answer).expect("type");
    }
    let second = p.expect(format!("Sign in to {other} (")).expect("the second Form, after the first one is done");
    between.extend(second.before());
    let between = String::from_utf8_lossy(&between).into_owned();
    assert!(!between.contains(&format!("{other} user")), "prompts interleaved:\n{between}");
    for (label, answer) in [("user", "bob"), ("password", "pw-2")] {
        p.expect(format!("{other} {label}")).expect("the second connector's field");
        p.send_line(answer).expect("type");
    }
    let screen = rest_of_screen(&mut p, &[]);
    assert_eq!(exit_status(&p), 0, "{screen}");
    assert!(screen.contains("2 passed, 0 failed"), "{screen}");
}

#[test]
fn spinners_pause_while_another_connector_asks() {
    // `slow` waits 4 s for its login while `ask` shows its Form: no spinner may draw over the prompt.
    let server = Server::start(|req| match req.path_only() {
        "/login" => Resp::json(200, json!({"access_token": "t"})).delay(Duration::from_secs(4)),
        _ => Resp::json(200, json!({"ok": true})),
    });
    let slow = format!(
        "base_url: {}\nauth_flow:\n  - {{id: login, type: api_request, request: {{method: POST, url: /login}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let ask = format!(
        "base_url: {}\nauth_flow:\n  - {{id: creds, type: form, title: Sign in to Ask, fields: [{{key: user, label: Ask user}}]}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let (mut p, _dir) =
        spawn_in_pty(&[("slow", &slow), ("ask", &ask)], &["test", "auth", "slow", "ask", "--jobs", "2"]);
    p.expect("Ask user").expect("the prompt");
    // The spinner ticks every 80 ms: 1.5 s without its label is a paused spinner.
    p.set_expect_timeout(Some(Duration::from_millis(1500)));
    let drawn = p.expect("slow:").map(|m| String::from_utf8_lossy(m.before()).into_owned());
    assert!(drawn.is_err(), "a spinner drew over the prompt: {drawn:?}");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    p.send_line("ann").expect("type");
    let screen = rest_of_screen(&mut p, &[]);
    assert_eq!(exit_status(&p), 0, "{screen}");
    assert!(screen.contains("2 passed, 0 failed"), "{screen}");
    assert_eq!(server.count("/login"), 1);
}
