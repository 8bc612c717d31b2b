//! `conntest cache show|clear`: what support staff need to inspect and reset cached auth.

use console::style;
use serde_json::{Value, json};

use crate::cache::{self, CacheError};
use crate::cli::{Format, Global};
use crate::clock;
use crate::connector::load;
use crate::error::Error;
use crate::output;
use crate::report;
use crate::secret::{is_secret_name, masker};
use crate::steps::catalogue::Step;
use crate::steps::form::config::FieldKind;

fn no_cache_error() -> Error {
    Error::usage("cache commands need the keyring, and --no-cache forbids it", Some("drop --no-cache".to_string()))
}

fn unavailable(e: CacheError) -> Error {
    match e {
        CacheError::Unavailable(why) => Error::environment(
            format!("cannot use the cache: {why}"),
            Some("unlock the keyring or start a Secret Service provider (e.g. gnome-keyring)".to_string()),
        ),
        CacheError::Corrupt(why) => {
            Error::environment(why, Some("run `conntest cache clear NAME` and authenticate again".to_string()))
        }
        CacheError::Lock(why) => Error::environment(
            format!("cannot lock the cache: {why}"),
            Some("set XDG_RUNTIME_DIR (or HOME) to a directory of your own".to_string()),
        ),
    }
}

/// A CONNECTOR argument as a cache account: the name its file gives, or —
/// when no connector has that name — the name of a cached entry (its file may
/// be gone). Neither is a usage error with a did-you-mean (SPEC §3).
/// `cached` is asked for only when the name is not a connector's.
struct Target {
    name: String,
    /// The connector's file, when there is one.
    file: Option<std::path::PathBuf>,
}

async fn target(g: &Global, arg: &str, cached: &mut Option<Vec<String>>) -> Result<Target, Error> {
    let available = match load::resolve(arg, &g.dir) {
        Ok(file) => {
            return Ok(Target {
                name: load::declared_name(&file).unwrap_or_else(|| arg.to_string()),
                file: Some(file),
            });
        }
        Err(Error::ConnectorNotFound { available, .. }) => available,
        Err(other) => return Err(other),
    };
    if cached.is_none() {
        *cached = Some(cache::cached_names().await.map_err(unavailable)?);
    }
    let names = cached.as_deref().unwrap_or_default();
    if names.iter().any(|n| n == arg) {
        return Ok(Target { name: arg.to_string(), file: None });
    }
    let candidates = available.iter().chain(names).map(String::as_str);
    let hint = match crate::connector::diagnostic::did_you_mean(arg, candidates) {
        Some(m) => format!("did you mean `{m}`? (`conntest list` shows the connectors and cached entries)"),
        None => "`conntest list` shows the connectors and cached entries".to_string(),
    };
    Err(Error::usage(format!("no connector or cached entry is named `{arg}` (in {})", g.dir.display()), Some(hint)))
}

/// Paths of the secret values in the outputs (`login.body.access_token`), for the summary.
fn secret_paths(prefix: &str, value: &Value, parent: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if !v.is_object() && (is_secret_name(k) || parent == "cookies") {
                    if !v.is_null() && v.as_str() != Some("") {
                        out.push(path);
                    }
                } else {
                    secret_paths(&path, v, k, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                secret_paths(&format!("{prefix}[{i}]"), v, parent, out);
            }
        }
        _ => {}
    }
}

/// Every `expires_at` in the outputs (Unix seconds) with its path.
fn expiries(prefix: &str, value: &Value, out: &mut Vec<(String, i64)>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            let seconds =
                v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).or_else(|| v.as_str()?.trim().parse().ok());
            match (k.as_str(), seconds) {
                ("expires_at", Some(at)) => out.push((path, at)),
                _ => expiries(&path, v, out),
            }
        }
    }
}

/// The lines that lead `cache show`: what support staff ask first.
fn summary(entry: &cache::Entry, target: &Target, fingerprint: Option<&str>) -> Vec<String> {
    let now = clock::now();
    let outputs = Value::Object(entry.outputs.clone());
    let saved = match clock::parse_rfc3339(&entry.saved_at) {
        Some(at) => format!("saved {} ({})", clock::ago(at, now), entry.saved_at),
        None => format!("saved {}", entry.saved_at),
    };
    let mut lines = vec![format!("{}  {}", style(&entry.connector).bold(), style(saved).dim())];
    let mut row = |label: &str, text: String| lines.push(format!("  {:<8} {text}", style(label).cyan()));
    row(
        "file",
        match (&target.file, fingerprint) {
            (None, _) => style("(file not found)").yellow().to_string(),
            (Some(f), Some(now_fp)) if entry.fingerprint.as_deref().is_some_and(|fp| fp != now_fp) => format!(
                "{} {}",
                f.display(),
                style(format!("(edited since this was cached: run `conntest test auth {}`)", entry.connector)).yellow()
            ),
            (Some(f), _) => f.display().to_string(),
        },
    );
    let mut tokens = Vec::new();
    secret_paths("", &outputs, "", &mut tokens);
    row("tokens", if tokens.is_empty() { style("none").dim().to_string() } else { tokens.join(", ") });
    let mut found = Vec::new();
    expiries("", &outputs, &mut found);
    row(
        "expiry",
        if found.is_empty() {
            style("not known (no expires_at in the outputs)").dim().to_string()
        } else {
            found
                .iter()
                .map(|(path, at)| {
                    let when = clock::expiry(*at, now);
                    let when = if *at > now { style(when).green() } else { style(when).red() };
                    format!("{path} {when}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    let cookies: Vec<String> = entry
        .cookies
        .iter()
        .map(|c| {
            let when = match c.expires.as_deref().and_then(clock::parse_rfc3339) {
                Some(at) => clock::expiry(at, now),
                None => "session".to_string(),
            };
            format!("{} {}", c.name, style(format!("({}, {when})", c.domain)).dim())
        })
        .collect();
    row("cookies", if cookies.is_empty() { style("none").dim().to_string() } else { cookies.join(", ") });
    let inputs: Vec<String> = entry
        .inputs
        .iter()
        .flat_map(|(step, fields)| {
            let keys: Vec<String> = fields.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
            keys.into_iter().map(move |k| format!("{step}.{k}"))
        })
        .collect();
    row(
        "inputs",
        if inputs.is_empty() {
            style("none kept").dim().to_string()
        } else {
            format!("{} {}", inputs.join(", "), style("(for use_stored_credentials)").dim())
        },
    );
    lines
}

pub async fn show(g: &Global, arg: &str) -> Result<(), Error> {
    if g.no_cache {
        return Err(no_cache_error());
    }
    let target = target(g, arg, &mut None).await?;
    let name = target.name.clone();
    let entry = cache::load(&name).await.map_err(unavailable)?.ok_or_else(|| {
        Error::environment(
            format!("nothing cached for `{name}`"),
            Some(format!("run `conntest test auth {name}` to sign in and cache the outputs")),
        )
    })?;
    // Teach the masker what is secret: outputs by name, cookies, and password fields.
    let m = masker();
    for v in entry.outputs.values() {
        m.learn_json("", v);
    }
    for c in &entry.cookies {
        c.value.learn();
    }
    if let Some(prints) = &entry.masks {
        m.learn_prints(prints);
    }
    let connector = target.file.as_deref().and_then(|f| load::load(f).ok());
    for def in connector.iter().flat_map(|c| c.all_steps()) {
        for p in &def.secret_outputs {
            let value = p.iter().try_fold(entry.outputs.get(&def.id), |v, seg| v.map(|v| v.get(seg)));
            value.flatten().into_iter().for_each(|v| m.learn_all(v));
        }
        if let Step::Form(form) = &def.kind {
            for f in form.fields.iter().filter(|f| f.kind == FieldKind::Password) {
                if let Some(v) = entry.inputs.get(&def.id).and_then(|s| s.get(&f.key)) {
                    m.learn_all(v);
                }
            }
        }
    }
    let cookies: Vec<Value> = entry
        .cookies
        .iter()
        .map(|c| {
            let value = if m.revealing() { c.value.expose().to_string() } else { crate::secret::MASK.to_string() };
            json!({"name": c.name, "value": value, "domain": c.domain, "path": c.path, "expires": c.expires})
        })
        .collect();
    let doc = json!({
        "connector": entry.connector, "saved_at": entry.saved_at,
        "outputs": entry.outputs, "inputs": entry.inputs, "cookies": cookies,
    });
    match g.format {
        Format::Json => report::print_json(&doc),
        Format::Text => {
            for line in summary(&entry, &target, connector.as_ref().map(|c| c.fingerprint.as_str())) {
                output::out(&line);
            }
            let masked = m.mask_json(&doc);
            for key in ["outputs", "inputs"] {
                output::out(&style(key).cyan().to_string());
                let text = serde_json::to_string_pretty(&masked[key]).unwrap_or_default();
                for line in text.lines() {
                    output::out(&format!("  {line}"));
                }
            }
            output::out(&style("cookies").cyan().to_string());
            if cookies.is_empty() {
                output::out("  (none)");
            }
            for c in masked["cookies"].as_array().into_iter().flatten() {
                let expires = c["expires"].as_str().unwrap_or("session");
                output::out(&format!(
                    "  {}={}  domain={} path={} expires={expires}",
                    c["name"].as_str().unwrap_or(""),
                    c["value"].as_str().unwrap_or(""),
                    c["domain"].as_str().unwrap_or(""),
                    c["path"].as_str().unwrap_or("")
                ));
            }
            if !m.revealing() {
                output::out(&style("secrets are masked; add --reveal to show them").dim().to_string());
            }
        }
    }
    Ok(())
}

pub async fn clear(g: &Global, args: &[String], all: bool) -> Result<(), Error> {
    if g.no_cache {
        return Err(no_cache_error());
    }
    if args.is_empty() && !all {
        return Err(Error::usage(
            "name the connectors whose cached auth to remove, or pass --all",
            Some(
                "conntest cache clear NAME…   or   conntest cache clear --all (every item conntest stored)".to_string(),
            ),
        ));
    }
    let mut report_json = Vec::new();
    if all {
        let removed = cache::clear_all().await.map_err(unavailable)?;
        report_json.push(json!({"connector": null, "removed": removed}));
        if g.format == Format::Text {
            output::out(&format!("{} removed {removed} keyring item(s) stored by conntest", style("✔").green()));
        }
    } else {
        // Every name is checked before anything is removed: a typo clears nothing.
        let mut cached = None;
        let mut names = Vec::new();
        for arg in args {
            names.push(target(g, arg, &mut cached).await?.name);
        }
        for name in names {
            let removed = cache::clear(&name).await.map_err(unavailable)?;
            report_json.push(json!({"connector": name, "removed": removed}));
            if g.format == Format::Text {
                if removed == 0 {
                    output::out(&format!("{} nothing cached for {name}", style("·").dim()));
                } else {
                    output::out(&format!("{} cleared {name} ({removed} item(s))", style("✔").green()));
                }
            }
        }
    }
    if g.format == Format::Json {
        report::print_json(&json!({ "cleared": report_json }));
    }
    Ok(())
}
