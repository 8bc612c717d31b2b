//! `conntest cache show|clear`: what support staff need to inspect and reset cached auth.

use console::style;
use serde_json::{Value, json};

use crate::cache::{self, CacheError};
use crate::cli::{Format, Global};
use crate::connector::load;
use crate::error::Error;
use crate::report;
use crate::secret::masker;
use crate::steps::Step;
use crate::steps::form::FieldKind;

fn no_cache_error() -> Error {
    Error::usage("cache commands need the keyring, and --no-cache forbids it", Some("drop --no-cache".to_string()))
}

fn unavailable(e: CacheError) -> Error {
    match e {
        CacheError::Unavailable(why) => Error::environment(
            format!("cannot reach the OS keyring: {why}"),
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

/// A connector argument as a cache account: a file's connector name, or the name itself.
fn name_of(g: &Global, arg: &str) -> String {
    match load::resolve(arg, &g.dir) {
        Ok(file) => load::declared_name(&file).unwrap_or_else(|| arg.to_string()),
        Err(_) => arg.to_string(),
    }
}

pub async fn show(g: &Global, arg: &str) -> Result<(), Error> {
    if g.no_cache {
        return Err(no_cache_error());
    }
    let name = name_of(g, arg);
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
    if let Ok(connector) = load::resolve(arg, &g.dir).map(|f| load::load(&f)) {
        for def in connector.iter().flat_map(|c| c.all_steps()) {
            if let Step::Form(form) = &def.kind {
                for f in form.fields.iter().filter(|f| f.kind == FieldKind::Password) {
                    if let Some(v) = entry.inputs.get(&def.id).and_then(|s| s.get(&f.key)) {
                        m.learn_all(v);
                    }
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
            let masked = m.mask_json(&doc);
            report::out(&format!(
                "{} {}",
                style(&entry.connector).bold(),
                style(format!("saved {}", entry.saved_at)).dim()
            ));
            for key in ["outputs", "inputs"] {
                report::out(&style(key).cyan().to_string());
                let text = serde_json::to_string_pretty(&masked[key]).unwrap_or_default();
                for line in text.lines() {
                    report::out(&format!("  {line}"));
                }
            }
            report::out(&style("cookies").cyan().to_string());
            if cookies.is_empty() {
                report::out("  (none)");
            }
            for c in masked["cookies"].as_array().into_iter().flatten() {
                let expires = c["expires"].as_str().unwrap_or("session");
                report::out(&format!(
                    "  {}={}  domain={} path={} expires={expires}",
                    c["name"].as_str().unwrap_or(""),
                    c["value"].as_str().unwrap_or(""),
                    c["domain"].as_str().unwrap_or(""),
                    c["path"].as_str().unwrap_or("")
                ));
            }
            if !m.revealing() {
                report::out(&style("secrets are masked; add --reveal to show them").dim().to_string());
            }
        }
    }
    Ok(())
}

pub async fn clear(g: &Global, args: &[String], all: bool) -> Result<(), Error> {
    if g.no_cache {
        return Err(no_cache_error());
    }
    let mut report_json = Vec::new();
    if all {
        let removed = cache::clear_all().await.map_err(unavailable)?;
        report_json.push(json!({"connector": null, "removed": removed}));
        if g.format == Format::Text {
            report::out(&format!("{} removed {removed} keyring item(s) stored by conntest", style("✔").green()));
        }
    } else {
        for arg in args {
            let name = name_of(g, arg);
            let removed = cache::clear(&name).await.map_err(unavailable)?;
            report_json.push(json!({"connector": name, "removed": removed}));
            if g.format == Format::Text {
                if removed == 0 {
                    report::out(&format!("{} nothing cached for {name}", style("·").dim()));
                } else {
                    report::out(&format!("{} cleared {name} ({removed} item(s))", style("✔").green()));
                }
            }
        }
    }
    if g.format == Format::Json {
        report::print_json(&json!({ "cleared": report_json }));
    }
    Ok(())
}
