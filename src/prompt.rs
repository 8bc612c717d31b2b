//! Form values from flags, from the cache, or from a person at the terminal —
//! and a clear "needs input" error when none can be asked.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;

use console::Term;
use dialoguer::theme::{ColorfulTheme, Theme as _};
use dialoguer::{Input, Password};
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
            let _guard = TERMINAL.lock().unwrap_or_else(|p| p.into_inner());
            let label = shown(&label);
            Password::with_theme(&ColorfulTheme::default())
                .with_prompt(&label)
                .allow_empty_password(true)
                .validate_with(|typed: &String| {
                    if typed.trim().is_empty() { Err(reason(&format!("{label} is required"), typed)) } else { Ok(()) }
                })
                .interact_on(&Term::stderr())
                .map(Secret::new)
                .map_err(|e| dialog_failed(e, &step, "token"))
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
            } else if let Some(v) = stored.as_ref().and_then(|s| s.get(&field.key)) {
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

/// Asks for each field at the terminal until its value is accepted: dialoguer's
/// `Input` for text, email and number fields, its `Password` (echo off) for
/// password fields. The format has no fields with choices and no booleans, so
/// there is no `Select` or `Confirm` to show.
///
/// An invalid answer is refused with the reason and the field asked again. Ctrl-D
/// cannot be told from an empty answer through dialoguer (a text prompt ignores
/// it, a password prompt takes it for Enter): Ctrl-C is the way out.
fn ask(step: &str, title: &str, fields: &[Field]) -> Result<Map<String, Value>, Error> {
    let _guard = TERMINAL.lock().unwrap_or_else(|p| p.into_inner());
    let term = Term::stderr();
    let theme = ColorfulTheme::default();
    term.write_line(&console::style(shown(title)).for_stderr().bold().to_string()).map_err(io_failed)?;
    let mut out = Map::new();
    for field in fields {
        let hidden = field.kind == FieldKind::Password;
        // An optional field says so, and what Enter does: a person must not have to
        // guess whether an empty answer is taken.
        let hint = match (&field.default, hidden, field.required) {
            (Some(_), true, true) => " (Enter keeps the default)".to_string(),
            (Some(_), true, false) => " (optional; Enter keeps the default)".to_string(),
            (Some(d), false, true) => format!(" [{}]", shown(d)),
            (Some(d), false, false) => format!(" (optional) [{}]", shown(d)),
            (None, _, true) => String::new(),
            (None, _, false) => " (optional; Enter leaves it empty)".to_string(),
        };
        let label = format!("{}{hint}", shown(&field.label));
        // Checks an answer the way it is then taken: an empty one is the default.
        let check = |typed: &str| field.parse(&answer(field, typed)).map(|_| ()).map_err(|e| reason(&e, typed));
        let typed = if hidden {
            Password::with_theme(&theme)
                .with_prompt(&label)
                .allow_empty_password(true)
                .report(false)
                .validate_with(|typed: &String| check(typed))
                .interact_on(&term)
        } else {
            Input::<String>::with_theme(&theme)
                .with_prompt(&label)
                .allow_empty(true)
                .report(false)
                .validate_with(|typed: &String| check(typed))
                .interact_text_on(&term)
        }
        .map_err(|e| dialog_failed(e, step, &field.key))?;
        let text = answer(field, &typed);
        let text = if hidden { Secret::new(text).expose().to_string() } else { text };
        let value = field.parse(&text).map_err(Error::Prompt)?;
        // What was taken stays on the screen, a password as stars.
        let mut line = String::new();
        let _ = if hidden {
            theme.format_password_prompt_selection(&mut line, &shown(&field.label))
        } else {
            theme.format_input_prompt_selection(&mut line, &shown(&field.label), &shown(&text))
        };
        term.write_line(&line).map_err(io_failed)?;
        out.insert(field.key.clone(), value);
    }
    Ok(out)
}

/// The text an answer stands for: Enter alone keeps the default (a password of
/// spaces is still a password).
fn answer(field: &Field, typed: &str) -> String {
    let empty = if field.kind == FieldKind::Password { typed.is_empty() } else { typed.trim().is_empty() };
    match &field.default {
        Some(d) if empty => d.clone(),
        _ => typed.to_string(),
    }
}

/// Why an answer is refused, with the way out when nothing was typed.
fn reason(error: &str, typed: &str) -> String {
    if typed.trim().is_empty() { format!("{error}: type a value (Ctrl-C ends the run)") } else { error.to_string() }
}

/// Titles, labels and defaults are templates: they can carry a server's text.
fn shown(text: &str) -> String {
    crate::output::printable(&crate::secret::masker().mask(text)).into_owned()
}

fn io_failed(e: std::io::Error) -> Error {
    Error::Prompt(e.to_string())
}

/// A prompt that ended without an answer.
fn dialog_failed(e: dialoguer::Error, step: &str, field: &str) -> Error {
    let dialoguer::Error::IO(e) = e;
    match e.kind() {
        // Ctrl-C read as a key (the prompt had the terminal in raw mode): console
        // has put the terminal back and raised SIGINT, whose handler ends the run
        // (exit 130). Waiting here keeps this prompt's error from racing it.
        std::io::ErrorKind::Interrupted => {
            std::thread::sleep(std::time::Duration::from_secs(5));
            Error::Interrupted { signal: "SIGINT" }
        }
        // The terminal is gone (hung up): nobody is left to answer.
        std::io::ErrorKind::UnexpectedEof => Error::InputEnded { step: step.to_string(), field: field.to_string() },
        _ => Error::Prompt(e.to_string()),
    }
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
