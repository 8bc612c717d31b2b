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

/// Variable values from outside the connector file, by source, each for
/// every selected connector (`None`) or for one (`Some(name)`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--env NAME`: the environment's name, as JSON results report it.
    pub env: Option<String>,
    /// `--vars FILE` and `--env NAME` files, in the order given.
    pub files: Vec<(Option<String>, String, String)>,
    /// `--var [CONNECTOR:]NAME=VALUE`.
    pub flags: Vec<(Option<String>, String, String)>,
}

impl Overrides {
    /// What overrides `connector`'s file `variables`, lowest first: files (all
    /// connectors), files (this one), `CONNTEST_VAR_*`, `--var` (all), `--var`
    /// (this one) — a later entry of the same name wins.
    pub fn for_connector(&self, connector: &str) -> Vec<(String, String)> {
        let layer = |list: &[(Option<String>, String, String)], scoped: bool| {
            list.iter()
                .filter(move |(scope, _, _)| match scope {
                    Some(s) => scoped && s == connector,
                    None => !scoped,
                })
                .map(|(_, k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        let mut out = layer(&self.files, false);
        out.extend(layer(&self.files, true));
        out.extend(from_env().iter().cloned());
        out.extend(layer(&self.flags, false));
        out.extend(layer(&self.flags, true));
        out
    }

    /// Whether `--var` sets `name` for `connector`.
    pub fn flag_sets(&self, connector: &str, name: &str) -> bool {
        self.flags.iter().any(|(scope, k, _)| k == name && scope.as_deref().is_none_or(|s| s == connector))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn scoped_values_beat_unscoped_ones_and_flags_beat_files() {
        let o = Overrides {
            env: None,
            files: vec![(Some("a".into()), "x".into(), "file-a".into()), (None, "x".into(), "file-all".into())],
            flags: vec![(Some("a".into()), "y".into(), "flag-a".into()), (None, "y".into(), "flag-all".into())],
        };
        let last = |c: &str, k: &str| {
            o.for_connector(c).into_iter().rev().find(|(n, _)| n == k).map(|(_, v)| v).unwrap_or_default()
        };
        assert_eq!(last("a", "x"), "file-a");
        assert_eq!(last("b", "x"), "file-all");
        assert_eq!(last("a", "y"), "flag-a");
        assert_eq!(last("b", "y"), "flag-all");
    }

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

/// Where a connector's `base_url` comes from, in words, for the hint of a
/// request that finds no server: the variable and which of its sources won
/// (`--var`, `CONNTEST_VAR_*`, the file), or the file when it is written there.
pub fn base_url_origin(connector: &crate::connector::validated::Connector, overrides: &Overrides) -> Option<String> {
    let source = connector.base_url.as_ref()?.source();
    let file = connector.file.display();
    let var = crate::template::references(source)
        .ok()?
        .into_iter()
        .find_map(|path| (path.len() == 2 && path[0] == "vars").then(|| path[1].clone()));
    let Some(var) = var else {
        return Some(format!("`base_url` is set in {file}"));
    };
    Some(if overrides.flag_sets(&connector.name, &var) {
        format!("`base_url` comes from `vars.{var}`, set by `--var {var}=…` on this command line")
    } else if from_env().iter().any(|(k, _)| *k == var) {
        format!(
            "`base_url` comes from `vars.{var}`, set by the environment variable CONNTEST_VAR_{var}; override it with `--var {var}=…`"
        )
    } else {
        format!("`base_url` comes from `vars.{var}` (`variables.{var}` in {file}); override it with `--var {var}=…`")
    })
}

/// The variables of a connector: file, then `--vars`/`--env`, `CONNTEST_VAR_*`
/// and `--var` (see [`Overrides::for_connector`]).
pub fn resolved(
    connector: &crate::connector::validated::Connector,
    overrides: &Overrides,
) -> serde_json::Map<String, serde_json::Value> {
    let mut vars = serde_json::Map::new();
    for (k, v) in &connector.variables {
        vars.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    for (k, v) in overrides.for_connector(&connector.name) {
        vars.insert(k, serde_json::Value::String(v));
    }
    for (k, v) in &vars {
        if crate::secret::is_secret_name(k)
            && let serde_json::Value::String(s) = v
        {
            crate::secret::masker().learn(s);
        }
    }
    vars
}
