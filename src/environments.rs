//! `--env NAME` and `--vars FILE`: variable files of the shape
//! `variables: {…}` plus `connectors: {NAME: {variables: {…}}}`, read into
//! [`crate::vars::Overrides`]; never a connector, never printed (values may be secrets).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::connector::load::ENVIRONMENTS;
use crate::error::Error;

/// The most a variables file may hold.
const MAX_VARS_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VarsFile {
    #[serde(default)]
    variables: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    connectors: BTreeMap<String, ConnectorVars>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectorVars {
    #[serde(default)]
    variables: BTreeMap<String, serde_yaml::Value>,
}

/// The `--env` names there are in `dir/environments`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(ENVIRONMENTS))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The file of environment `name`: `dir/environments/NAME.yaml` (or `.yml`).
pub fn resolve(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let base = dir.join(ENVIRONMENTS);
    let plain = !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.');
    if plain {
        for ext in ["yaml", "yml"] {
            let p = base.join(format!("{name}.{ext}"));
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    let known = names(dir);
    let mut hint = if known.is_empty() {
        format!("there are no environments: create {}/NAME.yaml with `variables:`", base.display())
    } else {
        format!("environments in {}: {}", base.display(), known.join(", "))
    };
    if let Some(m) = crate::connector::diagnostic::did_you_mean(name, known.iter().map(String::as_str)) {
        hint = format!("did you mean `{m}`? {hint}");
    }
    Err(Error::usage(format!("unknown environment `{name}`"), Some(hint)))
}

/// Reads a variables file (`flag` names it in errors) as `(scope, name, value)`:
/// the file's `variables` first, then each connector's.
pub fn read(flag: &str, path: &Path) -> Result<Vec<(Option<String>, String, String)>, Error> {
    let cannot = |why: String| Error::usage(format!("cannot read {flag} {}: {why}", path.display()), None);
    let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    if !meta.is_file() {
        return Err(cannot("not a regular file".to_string()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_VARS_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| cannot(e.to_string()))?;
    if bytes.len() as u64 > MAX_VARS_FILE_BYTES {
        return Err(cannot("larger than 1 MiB".to_string()));
    }
    let text = String::from_utf8(bytes).map_err(|_| cannot("not UTF-8 text".to_string()))?;
    let shape = "the file is `variables: {NAME: value}` and `connectors: {CONNECTOR: {variables: {…}}}`";
    // serde_yaml quotes offending values, and these may be secrets: say where, never what.
    let doc: VarsFile = if text.trim().is_empty() {
        VarsFile { variables: BTreeMap::new(), connectors: BTreeMap::new() }
    } else {
        serde_yaml::from_str(&text).map_err(|e| {
            let at = e.location().map(|l| format!(" at line {}, column {}", l.line(), l.column())).unwrap_or_default();
            Error::usage(format!("{flag} {}: not a variables file{at}", path.display()), Some(shape.to_string()))
        })?
    };
    let mut out = Vec::new();
    let scalar = |scope: Option<&str>, k: &str, v: serde_yaml::Value| match v {
        serde_yaml::Value::String(s) => Ok(s),
        serde_yaml::Value::Number(n) => Ok(n.to_string()),
        serde_yaml::Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Error::usage(
            format!(
                "{flag} {}: {}variables.{k} must be a string, number or boolean",
                path.display(),
                scope.map(|s| format!("connectors.{s}.")).unwrap_or_default()
            ),
            Some(shape.to_string()),
        )),
    };
    for (k, v) in doc.variables {
        out.push((None, k.clone(), scalar(None, &k, v)?));
    }
    for (c, vars) in doc.connectors {
        for (k, v) in vars.variables {
            out.push((Some(c.clone()), k.clone(), scalar(Some(&c), &k, v)?));
        }
    }
    Ok(out)
}

/// `--env NAME` (under `dir`) and `--vars FILE`, read in that order (a `--vars`
/// value wins); a connector's own values come after every file's values for
/// all connectors.
pub fn files(
    dir: &Path,
    env: Option<&str>,
    vars_file: Option<&Path>,
) -> Result<Vec<(Option<String>, String, String)>, Error> {
    let mut files = Vec::new();
    if let Some(name) = env {
        files.extend(read("--env", &resolve(dir, name)?)?);
    }
    if let Some(path) = vars_file {
        files.extend(read("--vars", path)?);
    }
    files.sort_by_key(|(scope, _, _)| scope.is_some());
    Ok(files)
}
