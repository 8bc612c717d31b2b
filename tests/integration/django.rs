//! A real Django app (SessionMiddleware + CsrfViewMiddleware), started by tests/run.sh.

use crate::harness::Conntest;

fn django() -> (String, String) {
    let url =
        std::env::var("CONNTEST_DJANGO_URL").expect("CONNTEST_DJANGO_URL: run the suite with `bash tests/run.sh`");
    let password = std::env::var("CONNTEST_DJANGO_PASSWORD").expect("CONNTEST_DJANGO_PASSWORD");
    (url, password)
}

fn example() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/connectors/django-session.yaml");
    std::fs::read_to_string(path).expect("connectors/django-session.yaml")
}

fn run(connector: &str, password: &str, extra: &[&str]) -> crate::harness::Output {
    let (url, _) = django();
    Conntest::new()
        .connector("django", connector)
        .args(["--no-cache", "test", "auth", "django", "--var", &format!("base_url={url}")])
        .args(["--input", "login_form.username=alice", "--input", &format!("login_form.password={password}")])
        .args(extra)
        .run()
}

#[test]
fn session_login_with_double_submit_passes() {
    let (_, password) = django();
    let out = run(&example(), &password, &["-v"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("/api/login → 200"), "{out:?}");
    assert!(out.stdout.contains("/api/me → 200"), "{out:?}");
    assert!(!out.all().contains(&password), "password leaked: {out:?}");
    // The CSRF header went out, masked in the verbose log.
    assert!(out.stderr.contains("X-CSRFToken: ****"), "{out:?}");
}

#[test]
fn wrong_password_is_exit_1() {
    let out = run(&example(), "definitely-wrong", &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("/api/login → 401"), "{out:?}");
}

#[test]
fn without_double_submit_the_servers_403_is_reported() {
    let (_, password) = django();
    let connector = example();
    let start = connector.find("  double_submit:").expect("double_submit in example");
    let end = start + connector[start..].find("in: header").expect("in: header") + "in: header".len();
    let without = format!("{}{}", &connector[..start], &connector[end..]);
    let out = run(&without, &password, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("/api/login → 403"), "{out:?}");
    assert!(out.stdout.contains("CSRF"), "Django's reason is shown: {out:?}");
}
