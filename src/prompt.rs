//! Form values from flags, from the cache, or from a person at the terminal —
//! and a clear "needs input" error when none can be asked.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::secret::Secret;
use crate::steps::form::config::{Field, FieldKind, Form};

/// Where Form values come from during one run.
pub struct Prompter {
    interactive: bool,
    /// `--input`, `--input-env` and `--inputs` values, by (step, field).
    provided: HashMap<(String, String), Secret>,
    /// Form values from the cache (`use_stored_credentials`), by step then field.
    stored: Mutex<Option<Map<String, Value>>>,
}

/// One prompt at a time, even with several connectors running.
static TERMINAL: Mutex<()> = Mutex::new(());

/// Whether a person can be asked: not forced off, stdin and stderr are terminals, not CI.
pub fn can_prompt(non_interactive: bool) -> bool {
    why_not_interactive(non_interactive).is_none()
}

/// Why no person can be asked, in words; `None` when one can.
pub fn why_not_interactive(non_interactive: bool) -> Option<&'static str> {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    if non_interactive {
        Some("--non-interactive was given")
    } else if ci {
        Some("`CI` is set")
    } else if !std::io::stdin().is_terminal() {
        Some("stdin is not a terminal")
    } else if !std::io::stderr().is_terminal() {
        Some("stderr is not a terminal")
    } else {
        None
    }
}

impl Prompter {
    pub fn new(interactive: bool, provided: HashMap<(String, String), Secret>) -> Self {
        Prompter { interactive, provided, stored: Mutex::new(None) }
    }

    /// Whether a person can be asked.
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// Asks for one hidden value (a token), holding the terminal meanwhile.
    pub async fn secret(&self, step: &str, label: &str) -> Result<Secret, Error> {
        let (step, label) = (step.to_string(), label.to_string());
        tokio::task::spawn_blocking(move || {
            use std::io::Write as _;
            let _guard = TERMINAL.lock().unwrap_or_else(|p| p.into_inner());
            let prompt = || {
                let mut err = std::io::stderr();
                let _ = write!(
                    err,
                    "{} {} {} ",
                    console::style("?").yellow(),
                    console::style(&label).bold(),
                    console::style("›").dim()
                );
                let _ = err.flush();
            };
            match crate::terminal::read_line(true, prompt) {
                Ok(Some(line)) => Ok(Secret::new(line)),
                Ok(None) => Err(Error::InputEnded { step, field: "token".into() }),
                Err(e) => Err(Error::Prompt(e.to_string())),
            }
        })
        .await
        .map_err(|e| Error::Prompt(e.to_string()))?
    }

    /// Form values to reuse without asking (refresh with `use_stored_credentials`).
    pub fn use_stored(&self, values: Option<Map<String, Value>>) {
        if let Ok(mut s) = self.stored.lock() {
            *s = values;
        }
    }

    /// Fills every field of `form`; returns the outputs and where they came from.
    pub async fn fill(&self, step: &str, form: &Form) -> Result<(Map<String, Value>, String), Error> {
        let mut outputs = Map::new();
        let mut to_ask: Vec<Field> = Vec::new();
        let mut from_input = Vec::new();
        let mut from_cache = Vec::new();
        let stored = self.stored.lock().ok().and_then(|s| s.as_ref().and_then(|m| m.get(step).cloned()));
        for field in &form.fields {
            if let Some(value) = self.provided.get(&(step.to_string(), field.key.clone())) {
                // `field.parse` quotes the value, which is fine at a prompt but not in a CI log.
                let parsed = field.parse(value.expose()).map_err(|_| {
                    let what = if value.expose().trim().is_empty() {
                        "is empty".to_string()
                    } else {
                        format!("is not {}", field.expects())
                    };
                    Error::usage(
                        format!("input {step}.{}: the value given {what}", field.key),
                        Some("fix the --input value".to_string()),
                    )
                })?;
                from_input.push(field.key.clone());
                outputs.insert(field.key.clone(), parsed);
            } else if let Some(v) = stored.as_ref().and_then(|s| s.get(&field.key)).filter(|_| field.store) {
                from_cache.push(field.key.clone());
                outputs.insert(field.key.clone(), v.clone());
            } else if self.interactive {
                to_ask.push(field.clone());
            } else if let Some(default) = &field.default {
                outputs.insert(field.key.clone(), field.parse(default).map_err(Error::failed)?);
            } else if !field.required {
                outputs.insert(field.key.clone(), field.parse("").map_err(Error::failed)?);
            } else {
                return Err(Error::NeedsInput { step: step.to_string(), field: field.key.clone() });
            }
        }
        let asked: Vec<String> = to_ask.iter().map(|f| f.key.clone()).collect();
        if !to_ask.is_empty() {
            let (step, title) = (step.to_string(), form.title.clone());
            let answers = tokio::task::spawn_blocking(move || ask(&step, &title, &to_ask))
                .await
                .map_err(|e| Error::Prompt(e.to_string()))??;
            outputs.extend(answers);
        }
        // Outputs in the order the form declares its fields.
        let outputs: Map<String, Value> =
            form.fields.iter().filter_map(|f| Some((f.key.clone(), outputs.get(&f.key)?.clone()))).collect();
        for field in &form.fields {
            if field.kind == FieldKind::Password
                && let Some(Value::String(s)) = outputs.get(&field.key)
            {
                Secret::new(s.clone());
            }
        }
        let mut parts = Vec::new();
        if !asked.is_empty() {
            parts.push(format!("asked {}", asked.join(", ")));
        }
        if !from_input.is_empty() {
            parts.push(format!("given {}", from_input.join(", ")));
        }
        if !from_cache.is_empty() {
            parts.push(format!("stored {}", from_cache.join(", ")));
        }
        if parts.is_empty() {
            parts.push("defaults".into());
        }
        Ok((outputs, parts.join("; ")))
    }
}

/// Asks for each field at the terminal until its value is accepted.
///
/// Lines are read in the terminal's own line mode (its editing keys work), with
/// echo off for passwords, so that Ctrl-D — the end of input — ends the run
/// instead of being taken for an empty answer and asked again.
fn ask(step: &str, title: &str, fields: &[Field]) -> Result<Map<String, Value>, Error> {
    use std::io::Write as _;
    let _guard = TERMINAL.lock().unwrap_or_else(|p| p.into_inner());
    let mut err = std::io::stderr();
    let failed = |e: std::io::Error| Error::Prompt(e.to_string());
    // Titles, labels and defaults are templates: they can carry a server's text.
    let shown = |text: &str| crate::output::printable(&crate::secret::masker().mask(text)).into_owned();
    writeln!(err, "{}", console::style(shown(title)).bold()).map_err(failed)?;
    let mut out = Map::new();
    for field in fields {
        let hidden = field.kind == FieldKind::Password;
        // An optional field says so, and what Enter does: a person must not have to
        // guess whether an empty answer is taken.
        let default = match (&field.default, hidden, field.required) {
            (Some(_), true, true) => " (Enter keeps the default)".to_string(),
            (Some(_), true, false) => " (optional; Enter keeps the default)".to_string(),
            (Some(d), false, true) => format!(" [{}]", shown(d)),
            (Some(d), false, false) => format!(" (optional) [{}]", shown(d)),
            (None, _, true) => String::new(),
            (None, _, false) => " (optional; Enter leaves it empty)".to_string(),
        };
        let value = loop {
            let prompt = || {
                let label = console::style(shown(&field.label)).bold();
                let _ = write!(err, "{} {label}{default} {} ", console::style("?").yellow(), console::style("›").dim());
                let _ = err.flush();
            };
            let Some(line) = crate::terminal::read_line(hidden, prompt).map_err(failed)? else {
                let _ = writeln!(err);
                return Err(Error::InputEnded { step: step.to_string(), field: field.key.clone() });
            };
            // Enter keeps the default (a password of spaces is still a password).
            let empty = if hidden { line.is_empty() } else { line.trim().is_empty() };
            let text = match &field.default {
                Some(d) if empty => d.clone(),
                _ => line,
            };
            let text = if hidden { Secret::new(text).expose().to_string() } else { text };
            match field.parse(&text) {
                Ok(value) => break value,
                // Said before the field is asked again, with the way out of the loop.
                Err(e) if empty => {
                    writeln!(err, "{} {e}: type a value (Ctrl-D ends the run)", console::style("✘").red())
                        .map_err(failed)?
                }
                Err(e) => writeln!(err, "{} {e}", console::style("✘").red()).map_err(failed)?,
            }
        };
        out.insert(field.key.clone(), value);
    }
    Ok(out)
}

/// Parses `--input`, `--input-env` and `--inputs FILE` into values by (step, field).
pub fn collect_inputs(
    inputs: &[String],
    input_envs: &[String],
    file: Option<&std::path::Path>,
) -> Result<HashMap<(String, String), Secret>, Error> {
    let mut out = HashMap::new();
    if let Some(path) = file {
        let text = read_inputs_file(path)?;
        // serde_yaml's messages quote the offending value (`invalid type: string "hunter2"`),
        // and this file holds passwords: say where, never what.
        let doc: HashMap<String, HashMap<String, serde_yaml::Value>> = serde_yaml::from_str(&text).map_err(|e| {
            let at = e.location().map(|l| format!(" at line {}, column {}", l.line(), l.column())).unwrap_or_default();
            Error::usage(
                format!("--inputs {}: not a mapping of steps to fields{at}", path.display()),
                Some("the file is a YAML mapping `step: {field: value}`".to_string()),
            )
        })?;
        for (step, fields) in doc {
            for (field, value) in fields {
                let text = match value {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(Error::usage(
                            format!("--inputs {}: {step}.{field} must be a scalar", path.display()),
                            None,
                        ));
                    }
                };
                out.insert((step.clone(), field), Secret::unlearned(text));
            }
        }
    }
    for (flag, raw) in input_envs.iter().map(|v| ("--input-env", v)).chain(inputs.iter().map(|v| ("--input", v))) {
        // Without `=` there is no telling the name from the value, so the argument is not quoted.
        let (target, value) = raw.split_once('=').ok_or_else(|| {
            Error::usage(format!("an {flag} argument has no `=`"), Some(format!("write {flag} STEP.FIELD=…")))
        })?;
        let (step, field) = target.split_once('.').ok_or_else(|| {
            Error::usage(format!("{flag} `{target}` is not STEP.FIELD"), Some(format!("write {flag} STEP.FIELD=…")))
        })?;
        let value = if flag == "--input-env" {
            std::env::var(value).map_err(|_| {
                Error::usage(format!("--input-env {target}: environment variable `{value}` is not set"), None)
            })?
        } else {
            value.to_string()
        };
        out.insert((step.to_string(), field.to_string()), Secret::unlearned(value));
    }
    Ok(out)
}

/// The most an `--inputs` file may hold: Form values are short, `/dev/zero` is not.
const MAX_INPUTS_FILE_BYTES: u64 = 1024 * 1024;

/// Reads an `--inputs` file of at most [`MAX_INPUTS_FILE_BYTES`].
fn read_inputs_file(path: &std::path::Path) -> Result<String, Error> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| Error::usage(format!("cannot read --inputs {}: {e}", path.display()), None);
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        // `--inputs -`: the YAML comes on stdin (e.g. from a secrets manager).
        std::io::stdin().lock().take(MAX_INPUTS_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(cannot)?;
    } else {
        let file = std::fs::File::open(path).map_err(cannot)?;
        file.take(MAX_INPUTS_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(cannot)?;
    }
    if bytes.len() as u64 > MAX_INPUTS_FILE_BYTES {
        return Err(Error::usage(
            format!("--inputs {} is larger than 1 MiB", path.display()),
            Some("an inputs file holds a few Form values: `step: {field: value}`".to_string()),
        ));
    }
    String::from_utf8(bytes).map_err(|_| Error::usage(format!("--inputs {} is not UTF-8 text", path.display()), None))
}
