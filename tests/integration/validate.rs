//! `conntest validate`: every error, with file:line:column and a hint (snapshots), every file.

use std::path::PathBuf;

use crate::harness::Conntest;

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/invalid"))
}

fn validate(file: &str, format: &str) -> crate::harness::Output {
    let path = fixtures().join(file);
    let out = Conntest::new().args(["--format", format, "validate", path.to_str().expect("utf-8")]).run();
    assert_eq!(out.code, 2, "{out:?}");
    out
}

fn relative(text: &str) -> String {
    text.replace(&format!("{}/", fixtures().display()), "")
}

#[test]
fn every_problem_of_a_file_is_reported_with_position_and_hint() {
    insta::assert_snapshot!(relative(&validate("everything.yaml", "text").stdout));
}

#[test]
fn semantic_problems_are_reported_alongside_unknown_keys() {
    insta::assert_snapshot!(relative(&validate("semantic.yaml", "text").stdout));
}

#[test]
fn json_diagnostics_match_the_spec_shape() {
    let out = validate("everything.yaml", "json");
    let doc = out.json();
    let r = &doc["results"][0];
    assert_eq!(r["ok"], false);
    assert_eq!(r["connector"], "Bad Name");
    let first = &r["errors"][0];
    for key in ["line", "column", "message", "hint"] {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    insta::assert_json_snapshot!(r["errors"]);
}

#[test]
fn yaml_syntax_errors_have_a_position() {
    insta::assert_snapshot!(relative(&validate("syntax.yaml", "text").stdout));
}

#[test]
fn wrong_types_say_what_was_expected_and_what_was_found() {
    insta::assert_snapshot!(relative(&validate("wrong-types.yaml", "text").stdout));
}

#[test]
fn duplicate_keys_point_at_the_second_one() {
    insta::assert_snapshot!(relative(&validate("duplicate-key.yaml", "text").stdout));
}

#[test]
fn all_files_are_checked_after_the_first_error() {
    let out = Conntest::new()
        .connector("a-bad", "auth_flow: [{id: x, type: nope}]\n")
        .connector("b-good", "auth_flow: []\n")
        .connector("c-bad", "auth_flow: 3\n")
        .args(["--format", "json", "validate"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    let oks: Vec<bool> =
        out.json()["results"].as_array().expect("results").iter().map(|r| r["ok"].as_bool().unwrap_or(true)).collect();
    assert_eq!(oks, [false, true, false]);
}

#[test]
fn every_example_connector_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/connectors");
    let out = Conntest::new().args(["--dir", dir, "--format", "json", "validate"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.json()["results"].as_array().is_some_and(|r| r.len() >= 3), "{out:?}");
}

#[test]
fn valid_connector_exits_0() {
    let out = Conntest::new()
        .connector("fine", "base_url: http://127.0.0.1:1\nauth_flow: []\ntest_api: {request: {url: /me}}\n")
        .args(["validate", "fine"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("1 valid, 0 invalid"), "{out:?}");
}

#[test]
fn unknown_filters_functions_and_references_in_form_titles_are_reported() {
    let yaml = "auth_flow:\n  - id: f\n    type: form\n    title: \"Sign in to {{ vars.tenat }}\"\n    fields: [{key: user, label: \"User at {{ nope.x }}\"}]\n  - {id: a, type: api_request, request: {url: \"http://x/{{ f.user | lenght }}/{{ nwo() }}\"}}\nvariables: {tenant: acme}\n";
    let out = Conntest::new().connector("v", yaml).args(["validate"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    for needle in [
        "unknown variable `vars.tenat`",
        "did you mean `vars.tenant`?",
        "unknown name `nope.x`",
        "unknown filter `lenght`",
        "did you mean `length`?",
        "unknown function `nwo()`",
        "did you mean `now`?",
    ] {
        assert!(out.stdout.contains(needle), "{needle}:\n{}", out.stdout);
    }
}

/// Issue 11, item 3: the hint says the fix — `[200]`, `POST`, and why a step
/// cannot read its own outputs.
#[test]
fn hints_show_the_fix() {
    let out = relative(&validate("hints.yaml", "text").stdout);
    assert!(out.contains("write a list: `status: [200]`"), "{out}");
    assert!(out.contains("write `POST` (upper case)"), "{out}");
    assert!(out.contains("a step cannot read its own outputs"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn text_output_keeps_one_line_per_file_in_order() {
    let out = Conntest::new()
        .connector("a-good", "auth_flow: []\n")
        .connector("b-good", "auth_flow: []\n")
        .connector("c-bad", "auth_flow: 3\n")
        .connector("d-good", "auth_flow: []\n")
        .args(["validate"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let ok = |i: usize, name: &str| {
        assert!(lines[i].starts_with("✔ ") && lines[i].ends_with(&format!("{name}.yaml ({name})")), "line {i}: {out:?}")
    };
    ok(0, "a-good");
    ok(1, "b-good");
    assert!(lines[2].starts_with("✘ ") && lines[2].contains("c-bad.yaml:1:"), "{out:?}");
    let d = lines.iter().position(|l| l.starts_with("✔ ") && l.contains("d-good")).expect("d-good's line");
    assert!(d > 2, "{out:?}");
    assert_eq!(lines.last(), Some(&"3 valid, 1 invalid"), "{out:?}");
    assert_eq!(lines.len(), d + 2, "d-good's line comes last before the summary: {out:?}");
}
