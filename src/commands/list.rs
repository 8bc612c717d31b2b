//! `conntest list`: connectors found and cached entries, as an aligned table
//! (or JSON): name, cache state, step types, file, description.

use console::style;
use serde_json::{Value, json};

use crate::cache::{self, CacheError};
use crate::cli::{Format, Global};
use crate::clock;
use crate::connector::load;
use crate::error::Error;
use crate::output;
use crate::report;

/// What is known of one connector's cache entry.
enum CacheState {
    /// `--no-cache`: the keyring was not asked.
    NotChecked,
    /// The keyring could not be read; why (the keyring's own words, said once under the table).
    Unknown(String),
    NotCached,
    /// Saved at (Unix seconds), when the entry could be read.
    Cached(Option<i64>),
    /// An entry exists but cannot be read back (a later run treats it as a miss).
    Unreadable,
}

impl CacheState {
    fn text(&self, now: i64) -> String {
        match self {
            CacheState::NotChecked => style("not checked (--no-cache)").dim().to_string(),
            CacheState::Unknown(why) => style(format!("unknown ({})", short_reason(why))).yellow().to_string(),
            CacheState::NotCached => style("not cached").dim().to_string(),
            CacheState::Cached(Some(at)) => style(format!("cached {}", clock::ago(*at, now))).green().to_string(),
            CacheState::Cached(None) => style("cached").green().to_string(),
            CacheState::Unreadable => style("cached, unreadable").red().to_string(),
        }
    }

    /// `cached` in JSON: null when the keyring could not tell.
    fn json(&self) -> Value {
        match self {
            CacheState::NotChecked | CacheState::Unknown(_) => Value::Null,
            CacheState::NotCached => Value::Bool(false),
            CacheState::Cached(_) | CacheState::Unreadable => Value::Bool(true),
        }
    }
}

/// Why the keyring could not be read, short enough for a table cell (the whole
/// reason is said once, under the table).
fn short_reason(why: &str) -> &'static str {
    if why.contains("locked") { "keyring locked" } else { "keyring unreachable" }
}

struct Row {
    name: String,
    /// `None`: a cached entry whose connector file is gone.
    file: Option<String>,
    description: Option<String>,
    steps: Vec<String>,
    valid: bool,
    cache: CacheState,
}

async fn state_of(name: &str) -> CacheState {
    match cache::load(name).await {
        Ok(Some(entry)) => CacheState::Cached(clock::parse_rfc3339(&entry.saved_at)),
        Ok(None) => CacheState::NotCached,
        Err(CacheError::Corrupt(_)) => CacheState::Unreadable,
        Err(e) => CacheState::Unknown(e.to_string()),
    }
}

pub async fn run(g: &Global) -> Result<(), Error> {
    let files = load::discover(&g.dir)?;
    // Names with an entry; `Err` when the keyring cannot say (every row is then unknown).
    let cached: Result<Vec<String>, CacheState> = if g.no_cache {
        Err(CacheState::NotChecked)
    } else {
        cache::cached_names().await.map_err(|e| CacheState::Unknown(e.to_string()))
    };
    let mut rows = Vec::new();
    for file in &files {
        let row = match load::load(file) {
            Ok(c) => Row {
                name: c.name.clone(),
                file: Some(file.display().to_string()),
                description: c.description.clone(),
                steps: c.auth_flow.iter().map(|s| s.kind.type_name().to_string()).collect(),
                valid: true,
                cache: CacheState::NotCached,
            },
            // A file that cannot be read (or says `name: ""`) is still listed under a name.
            Err(inv) => Row {
                name: inv
                    .connector
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()),
                file: Some(file.display().to_string()),
                description: None,
                steps: Vec::new(),
                valid: false,
                cache: CacheState::NotCached,
            },
        };
        rows.push(row);
    }
    for row in &mut rows {
        row.cache = match &cached {
            Err(CacheState::Unknown(why)) => CacheState::Unknown(why.clone()),
            Err(_) => CacheState::NotChecked,
            Ok(names) if names.contains(&row.name) => state_of(&row.name).await,
            Ok(_) => CacheState::NotCached,
        };
    }
    // Cached entries whose connector file is gone: support staff still need to see them.
    if let Ok(names) = &cached {
        for name in names {
            if !rows.iter().any(|r| &r.name == name) {
                let cache = state_of(name).await;
                rows.push(Row {
                    name: name.clone(),
                    file: None,
                    description: None,
                    steps: Vec::new(),
                    valid: true,
                    cache,
                });
            }
        }
    }
    match g.format {
        Format::Json => {
            let connectors: Vec<_> = rows
                .iter()
                .map(|r| {
                    let saved_at = match r.cache {
                        CacheState::Cached(Some(at)) => Value::from(clock::rfc3339(at)),
                        _ => Value::Null,
                    };
                    json!({
                        "name": r.name, "file": r.file, "description": r.description, "steps": r.steps,
                        "cached": r.cache.json(), "saved_at": saved_at, "valid": r.valid,
                    })
                })
                .collect();
            report::print_json(&json!({ "connectors": connectors }));
        }
        Format::Text => {
            if rows.is_empty() {
                output::out(&format!("no connectors in {}", g.dir.display()));
                output::out(&style("write one with `conntest init NAME`, or pass --dir DIR").dim().to_string());
                return Ok(());
            }
            let now = clock::now();
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let steps = match (r.valid, r.file.is_some()) {
                        (false, _) => style("invalid (run `conntest validate`)").red().to_string(),
                        (true, false) => style("—").dim().to_string(),
                        (true, true) => r.steps.join(" → "),
                    };
                    let file = match &r.file {
                        Some(f) => f.clone(),
                        None => style("(file not found)").yellow().to_string(),
                    };
                    vec![
                        style(&r.name).bold().to_string(),
                        r.cache.text(now),
                        steps,
                        file,
                        r.description.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            for line in report::table(&["NAME", "CACHE", "STEPS", "FILE", "DESCRIPTION"], &table) {
                output::out(&line);
            }
            if let Some(why) = rows.iter().find_map(|r| match &r.cache {
                CacheState::Unknown(why) => Some(why),
                _ => None,
            }) {
                let hint = format!(
                    "hint: {why}: unlock the OS keyring (or start a Secret Service provider such as gnome-keyring) to see what is cached"
                );
                output::out(&style(hint).dim().to_string());
            }
            if rows.iter().any(|r| matches!(r.cache, CacheState::Unreadable)) {
                let hint = "hint: `test` treats an unreadable entry as a miss; `conntest cache clear NAME` removes it";
                output::out(&style(hint).dim().to_string());
            }
        }
    }
    Ok(())
}
