//! The Form prompts (dialoguer) in a real pseudo-terminal (expectrl): what a
//! person sees, what is echoed, what Ctrl-C, Ctrl-D and SIGTERM do, and the
//! terminal left behind.
//!
//! No test sleeps before it types or signals: each waits for the prompt's text,
//! then for the terminal to be set up to read it (echo off: a text prompt reads
//! key by key in raw mode, a password prompt with echo off).

use std::time::{Duration, Instant};

use expectrl::session::OsSession;
use expectrl::{ControlCode, Eof, Expect, Session};
use serde_json::json;

use crate::flows::{token_connector, token_server};
use crate::harness::bin;
use crate::server::{Resp, Server};

/// `conntest --no-cache --no-color ARGS` in a pseudo-terminal, in a temporary dir
/// holding the connectors `(name, yaml)`. The terminal echoes, as a person's
/// does (expectrl starts it with echo off), so that a prompt that does not turn
/// echo off, or a run that leaves it off, shows.
fn spawn_in_pty(connectors: &[(&str, &str)], args: &[&str]) -> (OsSession, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("connectors")).expect("mkdir");
    for (name, yaml) in connectors {
        std::fs::write(dir.path().join(format!("connectors/{name}.yaml")), yaml).expect("write");
    }
    (spawn_with_echo(dir.path(), args, &[]), dir)
}

/// `conntest ARGS` in a pseudo-terminal with echo on before conntest starts
/// (it notes the terminal's settings at its start, to restore them).
pub(crate) fn spawn_with_echo(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> OsSession {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(r#"stty echo && exec "$0" --no-cache --no-color "$@""#)
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("CI")
        .env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut p = Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    p
}

/// The terminal's local modes (echo, line mode), read through the pty's master side.
pub(crate) fn modes(p: &OsSession) -> rustix::termios::LocalModes {
    let master = p.get_process().get_raw_handle().expect("the pty's master");
    rustix::termios::tcgetattr(&master).expect("termios").local_modes
}

/// Waits for `label` on the screen, then for the prompt to read (echo off); returns
/// what was printed up to and including the label.
pub(crate) fn at_prompt(p: &mut OsSession, label: &str) -> String {
    let seen = p.expect(label).unwrap_or_else(|e| panic!("prompt `{label}`: {e}"));
    let mut screen = String::from_utf8_lossy(seen.before()).into_owned();
    screen.push_str(&String::from_utf8_lossy(seen.get(0).unwrap_or_default()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while modes(p).contains(rustix::termios::LocalModes::ECHO) {
        assert!(Instant::now() < deadline, "the prompt `{label}` never turned echo off:\n{screen}");
        std::thread::sleep(Duration::from_millis(5));
    }
    screen
}

/// Waits for the prompt `label`, then types `text` and Enter.
fn answer(p: &mut OsSession, label: &str, text: &str) -> String {
    let screen = at_prompt(p, label);
    p.send_line(text).expect("type");
    screen
}

/// Everything the session printed from here to its end.
fn rest_of_screen(p: &mut impl Expect) -> String {
    let rest = p.expect(Eof).expect("finishes");
    let mut bytes = rest.before().to_vec();
    bytes.extend(rest.get(0).unwrap_or_default());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Waits for the end of the run: its exit code, the rest of the screen, and the
/// terminal's modes after it.
fn finished(mut p: OsSession) -> (i32, String, rustix::termios::LocalModes) {
    let rest = match p.expect(Eof) {
        Ok(c) => {
            format!("{}{}", String::from_utf8_lossy(c.before()), String::from_utf8_lossy(c.get(0).unwrap_or_default()))
        }
        Err(e) => {
            let _ = p.get_process_mut().kill(expectrl::process::unix::Signal::SIGKILL);
            panic!("the run did not end: {e}");
        }
    };
    let code = exit_status(&p);
    (code, rest, modes(&p))
}

fn exit_status(p: &OsSession) -> i32 {
    match p.get_process().wait().expect("exit status") {
        expectrl::process::unix::WaitStatus::Exited(_, code) => code,
        other => panic!("did not exit: {other:?}"),
    }
}

/// Echo and line mode both back on: the terminal is as it was before the run.
fn assert_terminal_restored(modes: rustix::termios::LocalModes, what: &str) {
    use rustix::termios::LocalModes;
    assert!(modes.contains(LocalModes::ECHO), "echo left off after {what}");
    assert!(modes.contains(LocalModes::ICANON), "raw mode left on after {what}");
}

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
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - id: creds\n    type: form\n    title: Sign in to Pty Corp\n    fields:\n      - {{key: email, type: email, label: Work email}}\n      - {{key: password, type: password, label: Secret word}}\n  - id: login\n    type: api_request\n    request: {{method: POST, url: /login, form: {{e: '{{{{ creds.email }}}}', p: '{{{{ creds.password }}}}'}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let (mut p, _dir) = spawn_in_pty(&[("pty", &yaml)], &["test", "auth", "pty"]);
    p.expect("Sign in to Pty Corp").expect("title shown");
    let mut screen = answer(&mut p, "Work email", "not-an-email");
    p.expect("is not an email address").expect("bad email refused");
    screen += &answer(&mut p, "Work email", "ann@example.com");
    screen += &answer(&mut p, "Secret word", password);
    // The slow login shows a spinner naming the connector and step, and it keeps
    // drawing while the step waits: a frame a second in (its elapsed time `1s`)
    // comes before the step's ✔ line. The first frame alone is drawn at once.
    let spinner = p.expect("pty: login").expect("spinner while waiting");
    let ticking = p.expect("1s").expect("the spinner still drawing a second into the wait");
    let waited = String::from_utf8_lossy(ticking.before()).into_owned();
    assert!(!waited.contains("✔"), "the step finished before the spinner ticked:\n{waited}");
    let done = p.expect("✔ login").expect("the step's line after the spinner");
    for part in [spinner.before(), ticking.before(), ticking.get(0).unwrap_or_default(), done.before()] {
        screen.push_str(&String::from_utf8_lossy(part));
    }
    screen += &rest_of_screen(&mut p);
    assert!(!screen.contains(password), "password echoed:\n{screen}");
    assert!(screen.contains("✔ Work email · ann@example.com"), "the answer stays on the screen:\n{screen}");
    assert!(screen.contains("✔ Secret word · ********"), "a password answer shows as stars:\n{screen}");
    assert!(screen.contains("auth passed"), "{screen}");
    assert_terminal_restored(modes(&p), "a run that passed");
}

#[test]
fn defaults_are_shown_and_taken_with_enter_and_a_bad_number_is_asked_again() {
    let server = Server::start(|req| match req.path_only() {
        "/login" if req.body == "e=ann%40example.com&t=core&n=8080&p=dflt-pw-77" => {
            Resp::json(200, json!({"access_token": "t"}))
        }
        "/me" => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    });
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - id: creds\n    type: form\n    title: Defaults\n    fields:\n      - {{key: email, type: email, label: Work email, default: ann@example.com}}\n      - {{key: team, label: Team, default: core, required: false}}\n      - {{key: port, type: number, label: Port}}\n      - {{key: pw, type: password, label: Pass, default: dflt-pw-77}}\n  - id: login\n    type: api_request\n    request: {{method: POST, url: /login, form: {{e: '{{{{ creds.email }}}}', t: '{{{{ creds.team }}}}', n: '{{{{ creds.port }}}}', p: '{{{{ creds.pw }}}}'}}}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let (mut p, _dir) = spawn_in_pty(&[("dflt", &yaml)], &["test", "auth", "dflt"]);
    let mut screen = answer(&mut p, "Work email [ann@example.com]", "");
    screen += &answer(&mut p, "Team (optional) [core]", "   ");
    screen += &answer(&mut p, "Port", "abc");
    p.expect("`abc` is not a number").expect("a bad number refused with the reason");
    screen += &answer(&mut p, "Port", "8080");
    screen += &answer(&mut p, "Pass (Enter keeps the default)", "");
    screen += &rest_of_screen(&mut p);
    assert_eq!(exit_status(&p), 0, "{screen}\n{:?}", server.requests());
    assert!(screen.contains("✔ Work email · ann@example.com"), "the default taken is shown:\n{screen}");
    assert!(!screen.contains("dflt-pw-77"), "a password default is never shown:\n{screen}");
    assert!(screen.contains("auth passed"), "{screen}");
}

#[test]
fn django_login_passes_interactively() {
    let url =
        std::env::var("CONNTEST_DJANGO_URL").expect("CONNTEST_DJANGO_URL: run the suite with `bash tests/run.sh`");
    let password = std::env::var("CONNTEST_DJANGO_PASSWORD").expect("CONNTEST_DJANGO_PASSWORD");
    let connectors = concat!(env!("CARGO_MANIFEST_DIR"), "/connectors");
    let base_url = format!("base_url={url}");
    let dir = tempfile::tempdir().expect("tmp");
    let mut p =
        spawn_with_echo(dir.path(), &["--dir", connectors, "test", "auth", "django-session", "--var", &base_url], &[]);
    p.set_expect_timeout(Some(Duration::from_secs(30)));
    p.expect("Sign in to the Django app").expect("title shown");
    let mut screen = answer(&mut p, "Username", "alice");
    screen += &answer(&mut p, "Password", &password);
    screen += &rest_of_screen(&mut p);
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
    // `true` as the browser: it opens nothing, so conntest waits for a person.
    let mut p = spawn_with_echo(dir.path(), &["test", "auth", "wait"], &[("BROWSER", "true")]);
    p.expect("sign in to wait in a browser").expect("URL announced");
    p.expect("waiting for the browser").expect("spinner while waiting");
    p.expect("1s").expect("elapsed time shown");
    p.send(ControlCode::EndOfText).expect("Ctrl-C");
    let (code, rest, modes) = finished(p);
    assert_eq!(code, 130, "{rest}");
    assert_terminal_restored(modes, "Ctrl-C while waiting for the browser");
}

#[test]
fn ctrl_c_and_sigterm_at_either_prompt_end_the_run_with_the_terminal_restored() {
    use expectrl::process::unix::Signal;
    let server = token_server("tok-sig");
    let yaml = token_connector(&server.url);
    // A session stopped at the prompt `label` (the email typed first for the password).
    let at = |label: &str| {
        let (mut p, dir) = spawn_in_pty(&[("token", &yaml)], &["test", "auth", "token"]);
        if label == "Password" {
            answer(&mut p, "Email", "ann@example.com");
        }
        at_prompt(&mut p, label);
        (p, dir)
    };
    // Ctrl-C at the password prompt: the terminal's line mode sends SIGINT.
    let (mut p, _dir) = at("Password");
    p.send(ControlCode::EndOfText).expect("Ctrl-C");
    let (code, rest, modes) = finished(p);
    assert_eq!(code, 130, "{rest}");
    assert!(rest.contains("interrupted by SIGINT"), "{rest}");
    assert_terminal_restored(modes, "Ctrl-C at the password prompt");
    // Ctrl-C at the text prompt: read as a key in raw mode, then raised as SIGINT.
    let (mut p, _dir) = at("Email");
    p.send(ControlCode::EndOfText).expect("Ctrl-C");
    let (code, rest, modes) = finished(p);
    assert_eq!(code, 130, "{rest}");
    assert!(rest.contains("interrupted by SIGINT"), "{rest}");
    assert_terminal_restored(modes, "Ctrl-C at the text prompt");
    // SIGTERM at either prompt (the text prompt has the terminal in raw mode).
    for label in ["Password", "Email"] {
        let (mut p, _dir) = at(label);
        p.get_process_mut().kill(Signal::SIGTERM).expect("SIGTERM");
        let (code, rest, modes) = finished(p);
        assert_eq!(code, 143, "SIGTERM at {label}: {rest}");
        assert_terminal_restored(modes, &format!("SIGTERM at the {label} prompt"));
    }
    // A SIGINT from outside at the text prompt.
    let (mut p, _dir) = at("Email");
    p.get_process_mut().kill(Signal::SIGINT).expect("SIGINT");
    let (code, rest, modes) = finished(p);
    assert_eq!(code, 130, "{rest}");
    assert_terminal_restored(modes, "SIGINT at the text prompt");
    assert_eq!(server.count("/login"), 0);
}

#[test]
fn ctrl_d_does_not_end_a_prompt_and_ctrl_c_is_the_way_out() {
    // dialoguer cannot tell Ctrl-D from an empty answer: a text prompt ignores it,
    // a password prompt takes it for Enter and says why it asks again.
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: creds, type: form, title: Sign in, fields: [{{key: user, label: User name}}, {{key: password, type: password, label: Secret word}}]}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let (mut p, _dir) = spawn_in_pty(&[("eof", &yaml)], &["test", "auth", "eof"]);
    at_prompt(&mut p, "User name");
    p.send(ControlCode::EndOfTransmission).expect("Ctrl-D");
    p.send_line("ann").expect("type");
    p.expect("✔ User name · ann").expect("Ctrl-D ignored, the answer taken");
    at_prompt(&mut p, "Secret word");
    p.send(ControlCode::EndOfTransmission).expect("Ctrl-D");
    p.expect("Secret word is required: type a value (Ctrl-C ends the run)").expect("why it is asked again");
    at_prompt(&mut p, "Secret word");
    p.send(ControlCode::EndOfText).expect("Ctrl-C");
    let (code, rest, modes) = finished(p);
    assert_eq!(code, 130, "{rest}");
    assert_terminal_restored(modes, "Ctrl-C after Ctrl-D");
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[test]
fn an_empty_required_field_says_why_it_is_asked_again_and_optional_fields_are_marked() {
    let server = Server::start(|_| Resp::json(200, json!({"ok": true})));
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: creds, type: form, title: Sign in, fields: [{{key: user, label: User name}}, {{key: note, label: Note, required: false}}]}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let (mut p, _dir) = spawn_in_pty(&[("opt", &yaml)], &["test", "auth", "opt"]);
    let first = answer(&mut p, "User name", "");
    assert!(!first.contains("optional"), "a required field is not marked");
    p.expect("User name is required: type a value (Ctrl-C ends the run)").expect("why it is asked again");
    answer(&mut p, "User name", "ann");
    answer(&mut p, "Note (optional; Enter leaves it empty)", "");
    let screen = rest_of_screen(&mut p);
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
    let mut between = String::new();
    for (label, text) in [("user", "ann"), ("password", "pw-1")] {
        between += &answer(&mut p, &format!("{who} {label}"), text);
    }
    let second = p.expect(format!("Sign in to {other} (")).expect("the second Form, after the first one is done");
    between += &String::from_utf8_lossy(second.before());
    assert!(!between.contains(&format!("{other} user")), "prompts interleaved:\n{between}");
    for (label, text) in [("user", "bob"), ("password", "pw-2")] {
        answer(&mut p, &format!("{other} {label}"), text);
    }
    let screen = rest_of_screen(&mut p);
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
    at_prompt(&mut p, "Ask user");
    // The spinner ticks every 80 ms: 1.5 s without its label is a paused spinner.
    p.set_expect_timeout(Some(Duration::from_millis(1500)));
    let drawn = p.expect("slow:").map(|m| String::from_utf8_lossy(m.before()).into_owned());
    assert!(drawn.is_err(), "a spinner drew over the prompt: {drawn:?}");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    p.send_line("ann").expect("type");
    let screen = rest_of_screen(&mut p);
    assert_eq!(exit_status(&p), 0, "{screen}");
    assert!(screen.contains("2 passed, 0 failed"), "{screen}");
    assert_eq!(server.count("/login"), 1);
}

#[test]
fn an_sso_token_is_asked_hidden_and_an_empty_one_asked_again() {
    let token = "sso-canary-7781";
    let server = Server::start(move |req| match req.header("authorization") {
        Some(h) if h == format!("Bearer {token}") => Resp::json(200, json!({"ok": true})),
        _ => Resp::json(401, json!({})),
    });
    let yaml = format!(
        "base_url: {}\nauth_flow:\n  - {{id: sso, type: sso_token}}\nrequest_parameters:\n  - {{name: Authorization, in: header, value: 'Bearer {{{{ sso.token }}}}'}}\ntest_api: {{request: {{url: /me}}}}\n",
        server.url
    );
    let (mut p, _dir) = spawn_in_pty(&[("tok", &yaml)], &["test", "auth", "tok"]);
    let mut screen = answer(&mut p, "SSO token for tok", "");
    p.expect("SSO token for tok is required: type a value (Ctrl-C ends the run)").expect("why it is asked again");
    screen += &answer(&mut p, "SSO token for tok", token);
    screen += &rest_of_screen(&mut p);
    assert_eq!(exit_status(&p), 0, "{screen}");
    assert!(!screen.contains(token), "token echoed:\n{screen}");
    assert!(screen.contains("auth passed"), "{screen}");
}
