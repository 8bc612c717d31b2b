//! `conntest list`: connectors found, their step types and cache state.

use console::style;
use serde_json::{Value, json};

use crate::cache;
use crate::cli::{Format, Global};
use crate::connector::load;
use crate::error::Error;
use crate::report;

pub async fn run(g: &Global) -> Result<(), Error> {
    let files = load::discover(&g.dir)?;
    let cached: Vec<String> = if g.no_cache {
        Vec::new()
    } else {
        match cache::cached_names().await {
            Ok(names) => names,
            Err(e) => {
                report::warn(&format!("cache state unknown: {e}"));
                Vec::new()
            }
        }
    };
    let mut rows = Vec::new();
    for file in &files {
        let (name, steps, valid) = match load::load(file) {
            Ok(c) => {
                (c.name.clone(), c.auth_flow.iter().map(|s| s.kind.type_name().to_string()).collect::<Vec<_>>(), true)
            }
            // A file that cannot be read (or says `name: ""`) is still listed under a name.
            Err(inv) => {
                let stem = || file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                (inv.connector.filter(|n| !n.is_empty()).unwrap_or_else(stem), Vec::new(), false)
            }
        };
        let is_cached = cached.contains(&name);
        let saved_at = if is_cached { cache::load(&name).await.ok().flatten().map(|e| e.saved_at) } else { None };
        rows.push((name, file.display().to_string(), steps, is_cached, saved_at, valid));
    }
    // Cached entries whose connector file is gone: support staff still need to see them.
    for name in &cached {
        if !rows.iter().any(|r| &r.0 == name) {
            let saved_at = cache::load(name).await.ok().flatten().map(|e| e.saved_at);
            rows.push((name.clone(), String::new(), Vec::new(), true, saved_at, true));
        }
    }
    match g.format {
        Format::Json => {
            let connectors: Vec<_> = rows
                .iter()
                .map(|(name, file, steps, cached, saved_at, valid)| {
                    let file = if file.is_empty() { Value::Null } else { Value::from(file.as_str()) };
                    json!({"name": name, "file": file, "steps": steps, "cached": cached, "saved_at": saved_at, "valid": valid})
                })
                .collect();
            report::print_json(&json!({ "connectors": connectors }));
        }
        Format::Text => {
            if rows.is_empty() {
                report::out(&format!("no connectors in {}", g.dir.display()));
            }
            for (name, file, steps, cached, saved_at, valid) in &rows {
                let state = match (cached, saved_at) {
                    (true, Some(at)) => style(format!("cached {at}")).green().to_string(),
                    (true, None) => style("cached").green().to_string(),
                    (false, _) => style("not cached").dim().to_string(),
                };
                let steps = if *valid {
                    steps.join(" → ")
                } else {
                    style("invalid (run `conntest validate`)").red().to_string()
                };
                report::out(&format!("{}  {}  {steps}  {state}", style(name).bold(), style(file).dim()));
            }
        }
    }
    Ok(())
}
