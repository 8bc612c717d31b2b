//! `CONNTEST_VAR_*` overrides from the process environment: the only place that
//! reads it for templates, and it never panics or prints a value.

use std::ffi::OsString;
use std::sync::OnceLock;

const PREFIX: &str = "CONNTEST_VAR_";

/// `(NAME, VALUE)` for every `CONNTEST_VAR_NAME` that is valid Unicode, read once.
///
/// Only these variables are looked at: an unrelated non-UTF-8 variable (say
/// `OLDPWD` after a `cd` into a Latin-1 directory) must not matter. A
/// non-Unicode `CONNTEST_VAR_*` is skipped with one warning that names it.
pub fn from_env() -> &'static [(String, String)] {
    static VARS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    VARS.get_or_init(|| {
        let (vars, skipped) = select(std::env::vars_os());
        if !skipped.is_empty() {
            crate::output::warn(&format!(
                "ignoring {} that {} not valid Unicode (the value is not shown)",
                skipped.join(", "),
                if skipped.len() == 1 { "is" } else { "are" }
            ));
        }
        vars
    })
}

/// The overrides among `env`, and the names of the non-Unicode ones skipped.
fn select(env: impl Iterator<Item = (OsString, OsString)>) -> (Vec<(String, String)>, Vec<String>) {
    let mut vars = Vec::new();
    let mut skipped = Vec::new();
    for (key, value) in env {
        // Lossy only to look at the name: the prefix is ASCII, so it survives.
        let lossy = key.to_string_lossy();
        if !lossy.starts_with(PREFIX) {
            continue;
        }
        match (key.to_str(), value.into_string()) {
            (Some(k), Ok(v)) => vars.push((k[PREFIX.len()..].to_string(), v)),
            _ => skipped.push(lossy.escape_debug().to_string()),
        }
    }
    vars.sort();
    (vars, skipped)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn non_unicode_values_and_names_are_skipped_by_name_only() {
        use std::os::unix::ffi::OsStringExt as _;
        let latin1 = || OsString::from_vec(b"caf\xe9-secret".to_vec());
        let env = vec![
            (OsString::from("OLDPWD"), latin1()),
            (OsString::from("CONNTEST_VAR_region"), OsString::from("eu")),
            (OsString::from("CONNTEST_VAR_bad"), latin1()),
            (OsString::from_vec(b"CONNTEST_VAR_\xff".to_vec()), OsString::from("x")),
        ];
        let (vars, skipped) = select(env.into_iter());
        assert_eq!(vars, [("region".to_string(), "eu".to_string())]);
        assert_eq!(skipped, ["CONNTEST_VAR_bad", "CONNTEST_VAR_\u{fffd}"]);
    }
}
