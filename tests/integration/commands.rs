//! demo, schema, completions, list and help, as a newcomer meets them.

use crate::harness::Conntest;

#[test]
fn demo_runs_offline_with_refresh_and_without_a_keyring() {
    let out = Conntest::new().env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent").args(["demo"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("✔ sign_in form"), "{out:?}");
    assert!(out.stdout.contains("↻ Current user test API 401"), "{out:?}");
    assert!(out.stdout.contains("✔ renew (refresh) api_request"), "{out:?}");
    assert!(out.stdout.contains("demo api passed after a refresh"), "{out:?}");
    assert!(out.stderr.contains("nothing was cached"), "{out:?}");
    // Why, in words a user can act on, not the D-Bus library's.
    assert!(out.stderr.contains("no D-Bus session bus answers at unix:path=/nonexistent"), "{out:?}");
    assert!(out.stderr.contains("`dbus-run-session`"), "{out:?}");
    assert!(!out.stderr.contains("zbus"), "{out:?}");
}

#[test]
fn demo_with_a_keyring_caches_and_reads_back() {
    crate::harness::require_keyring();
    let out = Conntest::new().args(["--format", "json", "demo"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let doc = out.json();
    assert_eq!(doc["results"][1]["refreshed"], true);
    let show = Conntest::new().args(["cache", "show", "demo"]).run();
    assert_eq!(show.code, 0, "{show:?}");
    assert!(show.stdout.contains("\"access_token\": \"****\""), "{show:?}");
}

#[test]
fn schema_is_json_schema_2020_12_of_the_format() {
    let out = Conntest::new().args(["schema"]).run();
    assert_eq!(out.code, 0);
    let s = out.json();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(s["properties"]["auth_flow"].is_object());
    let steps = s["$defs"]["RawStep"]["oneOf"].as_array().expect("step variants");
    let types: Vec<&str> = steps.iter().filter_map(|v| v["properties"]["type"]["const"].as_str()).collect();
    assert_eq!(
        types,
        [
            "form",
            "api_request",
            "basic_auth",
            "totp",
            "oauth2",
            "oauth2_pkce",
            "oauth2_client_credentials",
            "oauth2_device",
            "jwt_bearer",
            "callback",
            "sso_token",
            "js",
            "oauth1",
            "ntlm"
        ]
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = Conntest::new().args(["completions", shell]).run();
        assert_eq!(out.code, 0, "{shell}");
        assert!(out.stdout.contains("conntest"), "{shell}");
    }
}

#[test]
fn help_tells_support_staff_about_the_cache() {
    let out = Conntest::new().args(["cache", "--help"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("show") && out.stdout.contains("clear"), "{out:?}");
    let bad = Conntest::new().args(["test", "auth"]).run();
    assert_eq!(bad.code, 2, "usage error: {bad:?}");
}

#[test]
fn global_options_are_accepted_after_the_subcommand() {
    let out = Conntest::new().connector("x", "auth_flow: []\n").args(["validate", "--format", "json"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.json()["results"].is_array());
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    for args in [&["schema"][..], &["completions", "bash"][..]] {
        let mut child = Conntest::new()
            .args(args)
            .command()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn the_schema_file_beside_the_examples_is_current() {
    let out = Conntest::new().args(["schema"]).run();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/connectors/connector.schema.json"))
        .expect("schema file");
    assert_eq!(
        out.stdout.trim_end(),
        file.trim_end(),
        "regenerate it: conntest schema > connectors/connector.schema.json"
    );
}
