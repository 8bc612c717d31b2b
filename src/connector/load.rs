//! Finding connector files and loading them: parse → check structure →
//! deserialize → semantic checks. Every problem of a file is collected.

use std::path::{Path as FsPath, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics, Invalid};
use super::file::RawConnector;
use super::spans::Spans;
use super::validated::Connector;

mod fast;
use crate::error::Error;
pub use fast::skipped_by_the_fast_path;

/// The JSON Schema of the connector format that loading checks files against:
/// the committed `connectors/connector.schema.json`, built in. Parsing it costs
/// a sixth of generating it from the raw types on every run; a test keeps the
/// two equal (and `conntest schema` prints the generated one).
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(include_str!("../../connectors/connector.schema.json")).unwrap_or_else(|_| generated())
    })
}

/// The JSON Schema of the connector format, generated from the raw types.
pub fn generated() -> Value {
    let schema =
        schemars::generate::SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<RawConnector>();
    serde_json::to_value(schema).unwrap_or(Value::Bool(true))
}

pub fn is_connector_file(p: &FsPath) -> bool {
    p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// Connector files in `dir`, sorted.
pub fn discover(dir: &FsPath) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::usage(
            format!("cannot read connector dir {}: {e}", dir.display()),
            Some("pass --dir DIR or set CONNTEST_DIR".to_string()),
        )
    })?;
    let mut files = Vec::new();
    let mut seen = Vec::new();
    if let Ok(real) = dir.canonicalize() {
        seen.push(real);
    }
    walk(entries, 0, &mut files, &mut seen);
    files.sort();
    Ok(files)
}

/// The folder under the connector dir that holds `--env NAME` files.
pub const ENVIRONMENTS: &str = "environments";

/// Subdirectories searched below the connector dir, at most.
const MAX_DIR_DEPTH: usize = 16;

/// Collects connector files, descending into subdirectories (hidden ones
/// skipped, each real directory once, so a symlink loop ends).
fn walk(entries: std::fs::ReadDir, depth: usize, files: &mut Vec<PathBuf>, seen: &mut Vec<PathBuf>) {
    for entry in entries.filter_map(Result::ok) {
        let p = entry.path();
        // The listing says what an entry is: only a symbolic link (or a file
        // system that does not say) costs a stat — a thousand-file directory
        // made three apiece.
        let (is_dir, is_file) = match entry.file_type() {
            Ok(t) if !t.is_symlink() => (t.is_dir(), t.is_file()),
            _ => std::fs::metadata(&p).map(|m| (m.is_dir(), m.is_file())).unwrap_or((false, false)),
        };
        let hidden = p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        let named_like_one = matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
        // DIR/environments holds `--env` files, not connectors.
        let environments = depth == 0 && p.file_name().is_some_and(|n| n == ENVIRONMENTS);
        if is_dir && (hidden || environments) {
            continue;
        }
        if is_dir && !named_like_one {
            let Ok(real) = p.canonicalize() else { continue };
            if depth < MAX_DIR_DEPTH && !seen.contains(&real) {
                seen.push(real);
                if let Ok(inner) = std::fs::read_dir(&p) {
                    walk(inner, depth + 1, files, seen);
                }
            }
        } else if !hidden && named_like_one {
            if is_file {
                files.push(p);
            } else {
                say_skipped(&p);
            }
        }
    }
}

/// Pairs of files that give the same connector name: (index, the other file).
pub fn same_names(files: &[PathBuf], names: &[Option<String>]) -> Vec<(usize, PathBuf)> {
    // Linear: thousands of files in a CI gate.
    let mut first: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(name) = name {
            first.entry(name.as_str()).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for same in first.values().filter(|v| v.len() > 1) {
        for &i in same {
            if let Some(&j) = same.iter().find(|&&j| j != i && files[j] != files[i]) {
                out.push((i, files[j].clone()));
            }
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// Says, once per path, why an entry named like a connector file is skipped
/// (a directory, a symlink loop) instead of skipping it silently.
fn say_skipped(p: &FsPath) {
    static SAID: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    if let Some(why) = not_a_connector_file(p) {
        let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
        if !said.iter().any(|s| s == p) {
            crate::output::warn(&format!("skipping {}: it {why}", p.display()));
            said.push(p.to_path_buf());
        }
    }
}

/// Why `p` cannot be read as a connector file; `None` when it can, or does not exist at all.
pub fn not_a_connector_file(p: &FsPath) -> Option<String> {
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() => None,
        Ok(m) if m.is_dir() => Some("is a directory".into()),
        Ok(_) => Some("is not a regular file".into()),
        Err(e) if std::fs::symlink_metadata(p).is_ok() => {
            Some(format!("is a symbolic link that cannot be followed ({e})"))
        }
        Err(_) => None,
    }
}

/// The file a CONNECTOR argument names: a path, `DIR/NAME.yaml`, or a file whose `name:` matches.
pub fn resolve(arg: &str, dir: &FsPath) -> Result<PathBuf, Error> {
    let as_path = PathBuf::from(arg);
    if arg.ends_with(".yaml") || arg.ends_with(".yml") || arg.contains(std::path::MAIN_SEPARATOR) {
        if as_path.is_file() {
            return Ok(as_path);
        }
        let why = not_a_connector_file(&as_path).unwrap_or_else(|| "not found".into());
        return Err(Error::usage(format!("connector file {arg} {why}"), None));
    }
    for ext in ["yaml", "yml"] {
        let p = dir.join(format!("{arg}.{ext}"));
        if p.is_file() {
            return Ok(p);
        }
        if let Some(why) = not_a_connector_file(&p) {
            return Err(Error::usage(format!("connector file {} {why}", p.display()), None));
        }
    }
    let files = discover(dir).unwrap_or_default();
    let mut available = Vec::new();
    for f in &files {
        let name = declared_name(f);
        if name.as_deref() == Some(arg) {
            return Ok(f.clone());
        }
        available.push(name.unwrap_or_else(|| stem(f)));
    }
    Err(Error::ConnectorNotFound { name: arg.to_string(), dir: dir.to_path_buf(), available })
}

fn stem(f: &FsPath) -> String {
    f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The connector name of a file without validating it: `name:` or the file stem.
pub fn declared_name(f: &FsPath) -> Option<String> {
    let text = std::fs::read_to_string(f).ok()?;
    let v: Value = super::spans::parse(&text).0.ok()?;
    Some(v.get("name").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| stem(f)))
}

pub fn load(file: &FsPath) -> Result<Connector, Invalid> {
    let invalid = |diagnostics: Vec<Diagnostic>, connector: Option<String>| Invalid {
        file: file.to_path_buf(),
        connector,
        diagnostics,
    };
    let text = std::fs::read_to_string(file).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::InvalidData {
            "save the file as UTF-8"
        } else {
            "check the path and permissions"
        };
        invalid(
            vec![Diagnostic { line: 1, column: 1, message: format!("cannot read file: {e}"), hint: hint.into() }],
            None,
        )
    })?;
    load_str(file, &text).map_err(|(diagnostics, name)| invalid(diagnostics, name))
}

pub fn load_str(file: &FsPath, text: &str) -> Result<Connector, (Vec<Diagnostic>, Option<String>)> {
    let (doc, spans) = super::spans::parse(text);
    let mut d = Diagnostics::new(&spans);
    for (path, pos) in &spans.duplicates {
        d.at(
            *pos,
            format!(
                "duplicate key `{}`",
                path.0
                    .last()
                    .map(|s| match s {
                        super::spans::Seg::Key(k) => k.clone(),
                        super::spans::Seg::Index(i) => i.to_string(),
                    })
                    .unwrap_or_default()
            ),
            "remove one of them",
        );
    }
    let doc = match doc {
        Ok(v) => v,
        Err(mut e) => {
            // The parser's own limit can come first (it reads flow collections ahead).
            if e.message.contains("recursion limit") {
                e.message = format!("nesting deeper than {} levels", super::spans::MAX_DEPTH);
            }
            let hint = if e.message.contains("nesting") || e.message.contains("aliases") {
                "a connector needs no more than a few levels of nesting and no repeated aliases"
            } else if e.message.contains("document") {
                "keep one connector per file, without a second `---`"
            } else {
                "fix the YAML syntax (indentation, quotes, colons)"
            };
            d.at(e.pos, format!("YAML syntax error: {}", e.message), hint);
            return Err((d.sorted(), None));
        }
    };
    let name = doc.get("name").and_then(Value::as_str).map(str::to_string).or_else(|| Some(stem(file)));
    if !doc.is_object() {
        d.at(
            super::spans::Pos { line: 1, column: 1 },
            "a connector file must be a mapping",
            "start with `name: …` and `auth_flow:`",
        );
        return Err((d.sorted(), name));
    }
    // The schema walk finds nothing in a file the raw types accept whose
    // ranged numbers are in range: such a file skips the walk and the parse
    // of the built-in schema (a quarter of a short run's instructions).
    let (raw, opaque) = match fast::accepted(&doc) {
        Some(raw) => (raw, Vec::new()),
        None => match schema_walk(doc, &spans, &mut d) {
            Ok(walked) => walked,
            Err(()) => return Err((d.sorted(), name)),
        },
    };
    match super::build::build(&raw, file, d, &opaque) {
        (Some(mut c), _) => {
            c.fingerprint = super::model::Fingerprint::of(text);
            Ok(c)
        }
        (None, diagnostics) => Err((diagnostics, name)),
    }
}

/// The schema walk: reports every structural problem, sets broken parts aside
/// so that the semantic checks still report on the rest, and deserializes what
/// is left (`Err` when nothing can be).
fn schema_walk(
    mut doc: Value,
    spans: &Spans,
    d: &mut Diagnostics,
) -> Result<(RawConnector, Vec<super::spans::Path>), ()> {
    let droppable = super::structure::check(schema(), &doc, d);
    let structural = !d.list.is_empty();
    for path in &droppable {
        super::structure::remove(&mut doc, path);
    }
    let opaque = if structural { salvage(&mut doc, spans) } else { Vec::new() };
    match serde_json::from_value(doc) {
        Ok(raw) => Ok((raw, opaque)),
        Err(e) => {
            if !structural {
                let hint = "see `conntest schema` for the connector format";
                d.at(super::spans::Pos { line: 1, column: 1 }, e.to_string(), hint);
            }
            Err(())
        }
    }
}

/// Replaces structurally broken steps with placeholders (their ids stay known,
/// their outputs unchecked) and drops other broken top-level keys, so that the
/// semantic checks run over what is left. Returns the placeholder steps' paths.
fn salvage(doc: &mut Value, spans: &Spans) -> Vec<super::spans::Path> {
    use super::spans::Path;
    use super::structure::probe;
    let root = schema();
    let step_schema = &root["$defs"]["RawStep"];
    let mut opaque = Vec::new();
    for flow in [Path::root().key("auth_flow"), Path::root().key("refresh_flow").key("steps")] {
        let Some(Value::Array(steps)) = super::structure::node_mut(doc, &flow) else { continue };
        for (i, step) in steps.iter_mut().enumerate() {
            let (errors, _) = probe(root, step_schema, step, &flow.index(i), spans);
            if errors > 0 {
                let id = step
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|id| super::check::valid_id(id))
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("_broken_step_{i}"));
                *step = serde_json::json!({"id": id, "type": "api_request", "request": {"url": "http://placeholder.invalid/"}});
                opaque.push(flow.index(i));
            }
        }
    }
    let Some(props) = root.get("properties").and_then(Value::as_object) else { return opaque };
    let Some(map) = doc.as_object_mut() else { return opaque };
    let broken: Vec<String> = map
        .iter()
        .filter(|(k, v)| {
            props.get(k.as_str()).is_some_and(|s| probe(root, s, v, &Path::root().key(k.as_str()), spans).0 > 0)
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in broken {
        if key == "auth_flow" {
            map.insert(key, Value::Array(Vec::new()));
        } else {
            map.remove(&key);
        }
    }
    opaque
}

#[cfg(test)]
mod schema_tests {
    /// The built-in schema is the generated one (regenerate the file with
    /// `conntest schema > connectors/connector.schema.json`).
    #[test]
    fn the_built_in_schema_is_the_generated_one() {
        let mut built_in = super::schema().clone();
        if let Some(obj) = built_in.as_object_mut() {
            obj.remove("$id");
        }
        assert_eq!(built_in, super::generated(), "regenerate connectors/connector.schema.json");
    }
}

#[cfg(all(test, unix))]
mod discover_tests {
    use std::os::unix::fs::symlink;

    /// What the directory listing says decides, and a symbolic link is followed.
    #[test]
    fn finds_files_and_followed_links_and_skips_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let write = |p: &str| std::fs::write(d.join(p), "auth_flow: []\n").expect("write");
        for sub in ["sub", ".hidden", "environments", "real"] {
            std::fs::create_dir(d.join(sub)).expect("mkdir");
        }
        for p in ["a.yaml", "b.yml", "notes.txt", "sub/c.yaml", ".hidden/d.yaml", "environments/local.yaml"] {
            write(p);
        }
        write("real/e.yaml");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        std::fs::write(elsewhere.path().join("f.yaml"), "auth_flow: []\n").expect("write");
        symlink("a.yaml", d.join("link.yaml")).expect("link to a file");
        symlink("real", d.join("linked")).expect("link to a directory");
        symlink(elsewhere.path(), d.join("outside")).expect("link to a directory outside");
        symlink("a.yaml", d.join("link.txt")).expect("link not named like a connector");
        let found: Vec<String> = super::discover(d)
            .expect("discover")
            .iter()
            .map(|p| p.strip_prefix(d).expect("under dir").display().to_string())
            .collect();
        // `real` and `linked` are one directory, listed once (whichever comes first).
        let e = if found.contains(&"linked/e.yaml".to_string()) { "linked/e.yaml" } else { "real/e.yaml" };
        let mut want = vec!["a.yaml", "b.yml", "link.yaml", e, "outside/f.yaml", "sub/c.yaml"];
        want.sort();
        assert_eq!(found, want);
    }
}
