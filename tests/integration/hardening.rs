//! Issue 9 regressions: hostile environments, flag values, input files, report
//! files, connector dirs and stdout never panic, leak or go unreported.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use crate::flows::{token_connector, token_server};
use crate::harness::{Conntest, Output};

const LATIN1: &[u8] = b"caf\xe9-latin1-canary";

/// Runs with a Latin-1 `OLDPWD` and a Latin-1 `CONNTEST_VAR_tenant`.
fn with_latin1_env(t: &Conntest) -> Output {
    let mut cmd = t.command();
    cmd.env("OLDPWD", OsStr::from_bytes(LATIN1))
        .env("CONNTEST_VAR_tenant", OsStr::from_bytes(LATIN1))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let out = cmd.output().expect("run conntest");
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!bytes.windows(4).any(|w| w == b"caf\xe9"), "{name} shows the variable's value");
    }
    out.into()
}

#[test]
fn issue_9_1_a_non_utf8_environment_variable_is_skipped_not_a_panic() {
    let demo = with_latin1_env(&Conntest::new().args(["--format", "json", "demo"]));
    assert_eq!(demo.code, 0, "{demo:?}");
    assert!(!demo.stderr.contains("panicked"), "{demo:?}");
    assert_eq!(demo.json()["results"][0]["ok"], true, "{demo:?}");

    let server = token_server("tok-latin1");
    let t = Conntest::new().connector("token", &token_connector(&server.url)).args([
        "--no-cache",
        "--format",
        "json",
        "test",
        "auth",
        "token",
        "--input",
        "creds.email=ann@example.com",
        "--input",
        "creds.password=right",
    ]);
    let auth = with_latin1_env(&t);
    assert_eq!(auth.code, 0, "{auth:?}");
    assert_eq!(auth.json()["results"][0]["ok"], true, "{auth:?}");
    // The skipped override is named once; the file's value was used instead.
    assert_eq!(auth.stderr.matches("CONNTEST_VAR_tenant").count(), 1, "{auth:?}");
    assert!(auth.stderr.contains("not valid Unicode"), "{auth:?}");
    assert!(!auth.stderr.contains("OLDPWD"), "only CONNTEST_VAR_* is looked at: {auth:?}");
    assert!(server.requests().iter().any(|r| r.path.contains("tenant=acme")), "file value used");
}

#[test]
fn issue_9_12_out_of_range_timeouts_are_usage_errors() {
    let server = token_server("tok-timeout");
    let t = || Conntest::new().connector("token", &token_connector(&server.url));
    for value in ["1e20", "-1", "NaN", "inf", "0", "abc"] {
        let out = t().args(["--no-cache", "test", "auth", "token", "--timeout", value]).run();
        assert_eq!(out.code, 2, "--timeout {value}: {out:?}");
        assert!(!out.stderr.contains("panicked"), "--timeout {value}: {out:?}");
    }
    for value in ["1e20", "-5", "NaN", "soon"] {
        for args in [&["test", "auth", "token"][..], &["cache", "show", "token"][..], &["list"][..]] {
            let out = t().env("CONNTEST_KEYRING_TIMEOUT", value).args(args).run();
            assert_eq!(out.code, 2, "CONNTEST_KEYRING_TIMEOUT={value} {args:?}: {out:?}");
            assert!(out.stderr.contains("CONNTEST_KEYRING_TIMEOUT"), "{out:?}");
            assert!(!out.stderr.contains("panicked"), "{out:?}");
        }
    }
    assert!(server.requests().is_empty(), "nothing ran");
}

#[test]
fn issue_9_14_input_values_are_never_quoted_in_errors() {
    let canary = "inputs-canary-8817";
    let server = token_server("tok-inputs");
    let t = || Conntest::new().connector("token", &token_connector(&server.url));
    let files = [
        format!("creds: {canary}\n"),
        format!("creds:\n  password: [{canary}]\n"),
        format!("- {canary}\n"),
        format!("creds: {{password: \"{canary}\n"),
        format!("creds:\n  password: {canary}\n   email: x\n"),
    ];
    for text in &files {
        let out = t().file("in.yaml", text).args(["--no-cache", "test", "auth", "token", "--inputs", "in.yaml"]).run();
        assert_eq!(out.code, 2, "{text}: {out:?}");
        assert!(out.stderr.contains("--inputs in.yaml"), "says which file: {out:?}");
        assert!(!out.all().contains(canary), "quotes the value of {text:?}: {out:?}");
    }
    for args in [
        vec!["--input".to_string(), format!("creds.password:{canary}")],
        vec!["--input".to_string(), format!("creds.email={canary}")],
        ["creds.email=a@b.co", "creds.password=right", &format!("creds.seats={canary}")]
            .iter()
            .flat_map(|i| ["--input".to_string(), i.to_string()])
            .collect(),
        vec!["--var".to_string(), format!("tenant:{canary}")],
    ] {
        let out = t().args(["--no-cache", "test", "auth", "token"]).args(&args).run();
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(!out.all().contains(canary), "{args:?}: {out:?}");
    }
    assert!(server.requests().is_empty(), "nothing ran");
}

#[test]
fn issue_9_20_a_huge_inputs_file_is_a_usage_error() {
    let server = token_server("tok-huge");
    let t = Conntest::new()
        .connector("token", &token_connector(&server.url))
        .file("big.yaml", &format!("{}creds: {{password: right}}\n", "# padding\n".repeat(200_000)));
    let big = t.args(["--no-cache", "test", "auth", "token", "--inputs", "big.yaml"]).run();
    assert_eq!(big.code, 2, "{big:?}");
    assert!(big.stderr.contains("larger than 1 MiB"), "{big:?}");

    // An endless file is cut at the cap instead of filling memory.
    let endless = Conntest::new().connector("token", &token_connector(&server.url)).args([
        "--no-cache",
        "test",
        "auth",
        "token",
        "--inputs",
        "/dev/zero",
    ]);
    let mut child = endless
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            let _ = child.kill();
            panic!("--inputs /dev/zero still reading after 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let zero: Output = child.wait_with_output().expect("output").into();
    assert_eq!(zero.code, 2, "{zero:?}");
    assert!(zero.stderr.contains("larger than 1 MiB"), "{zero:?}");
    assert!(server.requests().is_empty(), "nothing ran");
}

#[test]
fn issue_9_17_report_files_are_private_and_replaced_whole() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let server = token_server("tok-reports");
    let t = Conntest::new().connector("token", &token_connector(&server.url));
    let reports = t.path().join("reports");
    std::fs::create_dir_all(&reports).expect("mkdir");
    // An old world-readable report is replaced, not rewritten in place.
    let old_har = reports.join("run.har");
    std::fs::write(&old_har, "old").expect("write");
    std::fs::set_permissions(&old_har, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let old_inode = std::fs::metadata(&old_har).expect("stat").ino();
    let t = t
        .args(["--no-cache", "test", "auth", "token", "--har", "reports/run.har", "--junit", "reports/new/junit.xml"])
        .args(["--input", "creds.email=ann@example.com", "--input", "creds.password=right"]);
    let out = t.run();
    assert_eq!(out.code, 0, "{out:?}");
    for (file, start) in [("run.har", "{"), ("new/junit.xml", "<?xml")] {
        let path = reports.join(file);
        let meta = std::fs::metadata(&path).expect("report written");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file} is readable by others");
        assert!(std::fs::read_to_string(&path).expect("read").starts_with(start), "{file}");
    }
    assert_ne!(std::fs::metadata(&old_har).expect("stat").ino(), old_inode, "renamed over, not written in place");
    let left: Vec<_> = std::fs::read_dir(&reports).expect("ls").filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 2, "no temp files left behind: {left:?}");
}

#[test]
fn issue_9_18_a_utf8_bom_before_name_is_accepted() {
    let server = token_server("tok-bom");
    let yaml = format!("\u{feff}{}", token_connector(&server.url).trim_start().replace("name: token", "name: bommed"));
    let t = || Conntest::new().connector("bom", &yaml);
    let validate = t().args(["--format", "json", "validate"]).run();
    assert_eq!(validate.code, 0, "{validate:?}");
    assert_eq!(validate.json()["results"][0]["connector"], "bommed", "{validate:?}");
    let list = t().args(["--no-cache", "--format", "json", "list"]).run();
    assert_eq!(list.json()["connectors"][0]["name"], "bommed", "{list:?}");
    let auth = t()
        .args(["--no-cache", "test", "auth", "bommed", "--input", "creds.email=ann@example.com"])
        .args(["--input", "creds.password=right"])
        .run();
    assert_eq!(auth.code, 0, "{auth:?}");
}

#[test]
fn issue_9_19_a_failed_stdout_write_is_an_error() {
    let t = Conntest::new().connector("x", "auth_flow: []\n");
    for args in [&["schema"][..], &["--format", "json", "validate"][..], &["completions", "bash"][..]] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
        let out: Output = t.command().args(args).stdout(full).output().expect("run").into();
        assert_ne!(out.code, 0, "{args:?}: {out:?}");
        assert!(out.stderr.contains("cannot write to stdout"), "{args:?}: {out:?}");
        assert!(!out.stderr.contains("panicked"), "{args:?}: {out:?}");
    }
}

#[test]
fn issue_9_21_unusable_connector_paths_are_named_not_skipped() {
    let t = || {
        let t = Conntest::new().connector("good", "auth_flow: []\n");
        let dir = t.path().join("connectors");
        std::fs::create_dir(dir.join("folder.yaml")).expect("mkdir");
        std::os::unix::fs::symlink("loop.yaml", dir.join("loop.yaml")).expect("symlink loop");
        std::os::unix::fs::symlink("missing.txt", dir.join("dangling.yml")).expect("dangling symlink");
        std::fs::write(dir.join("latin1.yaml"), b"name: caf\xe9\n").expect("write");
        t
    };
    let validate = t().args(["validate"]).run();
    assert_eq!(validate.code, 2, "latin1.yaml is invalid: {validate:?}");
    assert!(validate.stderr.contains("folder.yaml: it is a directory"), "{validate:?}");
    assert!(validate.stderr.contains("loop.yaml: it is a symbolic link that cannot be followed"), "{validate:?}");
    assert!(validate.stderr.contains("dangling.yml: it is a symbolic link"), "{validate:?}");
    assert_eq!(validate.stderr.matches("skipping").count(), 3, "each said once: {validate:?}");

    let named = t().args(["validate", "loop"]).run();
    assert_eq!(named.code, 2, "{named:?}");
    assert!(named.stderr.contains("loop.yaml is a symbolic link that cannot be followed"), "{named:?}");
    let named = t().args(["validate", "connectors/folder.yaml"]).run();
    assert!(named.stderr.contains("folder.yaml is a directory"), "{named:?}");

    let list = t().args(["--no-cache", "--format", "json", "list"]).run();
    assert_eq!(list.code, 0, "{list:?}");
    let doc = list.json();
    let names: Vec<&str> =
        doc["connectors"].as_array().expect("list").iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["good", "latin1"], "{list:?}");
}
