//! Finding connector files and loading them: parse → check structure →
//! deserialize → semantic checks. Every problem of a file is collected.

use std::path::{Path as FsPath, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics, Invalid};
use super::model::Connector;
use super::raw::RawConnector;
use super::spans::Spans;
use crate::error::Error;

/// The JSON Schema of the connector format, generated from the raw types.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema =
            schemars::generate::SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<RawConnector>();
        serde_json::to_value(schema).unwrap_or(Value::Bool(true))
    })
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
    let mut files: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_connector_file(p)).collect();
    files.sort();
    Ok(files)
}

/// The file a CONNECTOR argument names: a path, `DIR/NAME.yaml`, or a file whose `name:` matches.
pub fn resolve(arg: &str, dir: &FsPath) -> Result<PathBuf, Error> {
    let as_path = PathBuf::from(arg);
    if arg.ends_with(".yaml") || arg.ends_with(".yml") || arg.contains(std::path::MAIN_SEPARATOR) {
        if as_path.is_file() {
            return Ok(as_path);
        }
        return Err(Error::usage(format!("connector file {arg} not found"), None));
    }
    for ext in ["yaml", "yml"] {
        let p = dir.join(format!("{arg}.{ext}"));
        if p.is_file() {
            return Ok(p);
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
    let v: Value = serde_yaml::from_str(&text).ok()?;
    Some(v.get("name").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| stem(f)))
}

pub fn load(file: &FsPath) -> Result<Connector, Invalid> {
    let invalid = |diagnostics: Vec<Diagnostic>, connector: Option<String>| Invalid {
        file: file.to_path_buf(),
        connector,
        diagnostics,
    };
    let text = std::fs::read_to_string(file).map_err(|e| {
        invalid(
            vec![Diagnostic {
                line: 1,
                column: 1,
                message: format!("cannot read file: {e}"),
                hint: "check the path and permissions".into(),
            }],
            None,
        )
    })?;
    load_str(file, &text).map_err(|(diagnostics, name)| invalid(diagnostics, name))
}

pub fn load_str(file: &FsPath, text: &str) -> Result<Connector, (Vec<Diagnostic>, Option<String>)> {
    let spans = Spans::index(text);
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
    let doc: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            if d.list.is_empty() {
                let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message).to_string();
                d.at(
                    super::spans::Pos { line, column },
                    format!("YAML syntax error: {message}"),
                    "fix the YAML syntax (indentation, quotes, colons)",
                );
            }
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
    let mut doc = doc;
    let unknown = super::structure::check(schema(), &doc, &mut d);
    if d.list.len() > unknown.len() {
        return Err((d.sorted(), name));
    }
    // Only unknown keys: drop them and go on, so the semantic checks report too.
    for path in &unknown {
        super::structure::remove(&mut doc, path);
    }
    let raw: RawConnector = match serde_json::from_value(doc) {
        Ok(raw) => raw,
        Err(e) => {
            d.at(
                super::spans::Pos { line: 1, column: 1 },
                e.to_string(),
                "see `conntest schema` for the connector format",
            );
            return Err((d.sorted(), name));
        }
    };
    match super::check::build(&raw, file, d) {
        (Some(c), _) => Ok(c),
        (None, diagnostics) => Err((diagnostics, name)),
    }
}
