//! Values given on the command line for Forms and variables (`--input`,
//! `--input-env`, `--inputs`, `--var`), checked against the selected
//! connectors before any request: unknown names, bad values, missing inputs.

use std::sync::Arc;

use crate::connector::validated::Connector;
use crate::error::Error;
use crate::flow::Flow;
use crate::output;

pub fn parse_vars(vars: &[String]) -> Result<Vec<(String, String)>, Error> {
    vars.iter()
        .map(|v| {
            // Not quoted: a variable's value may be a secret, and without `=` the name cannot be told apart.
            v.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::usage("a --var argument has no `=`", Some("write --var NAME=VALUE".to_string())))
        })
        .collect()
}

/// `--input` and `--var` must name something one of the connectors has: a typo
/// would otherwise be ignored and surface later as a prompt or a wrong value.
pub fn check_inputs<'a>(
    loaded: impl Iterator<Item = &'a Result<Arc<Connector>, crate::connector::diagnostic::Invalid>>,
    provided: &std::collections::HashMap<(String, String), crate::secret::Secret>,
    vars: &[(String, String)],
) -> Result<(), Error> {
    let loaded: Vec<_> = loaded.collect();
    let connectors: Vec<&Connector> = loaded.iter().filter_map(|c| c.as_deref().ok()).collect();
    if connectors.len() < loaded.len() {
        // An invalid file may be the one the value was meant for.
        return Ok(());
    }
    let mut fields: Vec<String> = Vec::new();
    for c in &connectors {
        for def in c.all_steps() {
            if let crate::steps::catalogue::Step::Form(form) = &def.kind {
                fields.extend(form.fields.iter().map(|f| format!("{}.{}", def.id, f.key)));
            }
        }
    }
    let mut keys: Vec<String> = provided.keys().map(|(s, f)| format!("{s}.{f}")).collect();
    keys.sort();
    if let Some(unknown) = keys.iter().find(|k| !fields.contains(k)) {
        let mut hint = if fields.is_empty() {
            "these connectors have no form fields".to_string()
        } else {
            format!("form fields: {}", fields.join(", "))
        };
        if let Some(m) = crate::connector::diagnostic::did_you_mean(unknown, fields.iter().map(String::as_str)) {
            hint = format!("did you mean `{m}`? {hint}");
        }
        return Err(Error::usage(format!("input `{unknown}` names no form field"), Some(hint)));
    }
    let declared: Vec<&str> = connectors.iter().flat_map(|c| c.variables.iter().map(|(k, _)| k.as_str())).collect();
    for (name, _) in crate::vars::from_env() {
        if declared.contains(&name.as_str()) {
            continue;
        }
        if let Some(right) = declared.iter().find(|d| d.eq_ignore_ascii_case(name)) {
            output::warn(&format!(
                "CONNTEST_VAR_{name} is not used: the variable is spelt `{right}` (names are case-sensitive); set CONNTEST_VAR_{right}"
            ));
        }
    }
    if let Some((name, _)) = vars.iter().find(|(k, _)| !declared.contains(&k.as_str())) {
        let mut hint = format!(
            "declared variables: {}",
            if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
        );
        if let Some(m) = crate::connector::diagnostic::did_you_mean(name, declared.iter().copied()) {
            hint = format!("did you mean `{m}`? {hint}");
        }
        return Err(Error::usage(format!("--var `{name}` names no variable of these connectors"), Some(hint)));
    }
    Ok(())
}

/// Every required Form value no flag gives, across all selected connectors,
/// in one message with a ready-to-paste line of flags — before any request.
pub fn check_missing(
    loaded: &[Result<Arc<Connector>, crate::connector::diagnostic::Invalid>],
    provided: &std::collections::HashMap<(String, String), crate::secret::Secret>,
    flow: Flow,
    auth_first: bool,
    why: &str,
) -> Result<(), Error> {
    use crate::connector::validated::RefreshMode;
    let mut missing: Vec<(String, Vec<String>)> = Vec::new();
    let mut flags: Vec<String> = Vec::new();
    for c in loaded.iter().filter_map(|c| c.as_deref().ok()) {
        // The flows of this run that show Forms: auth, or a refresh that reruns it without stored values.
        let reruns_auth = matches!(
            c.refresh.as_ref().map(|r| &r.mode),
            Some(RefreshMode::SameAsAuth { use_stored_credentials: false })
        );
        // A refresh that reuses stored Form values still asks for `store: false` fields.
        let reuses_stored = matches!(
            c.refresh.as_ref().map(|r| &r.mode),
            Some(RefreshMode::SameAsAuth { use_stored_credentials: true })
        );
        let asks = match flow {
            Flow::Auth => true,
            Flow::Refresh => reruns_auth || auth_first || reuses_stored,
            Flow::Api => false,
        };
        if !asks {
            continue;
        }
        let only_unstored = matches!(flow, Flow::Refresh) && reuses_stored && !auth_first;
        let mut fields = Vec::new();
        for def in &c.auth_flow {
            let crate::steps::catalogue::Step::Form(form) = &def.kind else { continue };
            for f in &form.fields {
                let value = provided.get(&(def.id.clone(), f.key.clone()));
                if let Some(v) = value
                    && f.parse(v.expose()).is_err()
                {
                    // Checked up front too: a bad value is a usage error before any request.
                    let what = if v.expose().trim().is_empty() {
                        "is empty".to_string()
                    } else {
                        format!("is not {}", f.expects())
                    };
                    return Err(Error::usage(
                        format!("input {}.{}: the value given {what}", def.id, f.key),
                        Some("fix the --input value".to_string()),
                    ));
                }
                let given = value.is_some();
                if f.required && f.default.is_none() && !given && (!only_unstored || !f.store) {
                    let key = format!("{}.{}", def.id, f.key);
                    let flag = if f.kind == crate::steps::form::config::FieldKind::Password {
                        let env = format!("{}_{}", def.id, f.key).to_ascii_uppercase().replace('-', "_");
                        format!("--input-env {key}={env}")
                    } else {
                        format!("--input {key}=…")
                    };
                    if !flags.contains(&flag) {
                        flags.push(flag);
                    }
                    fields.push(key);
                }
            }
        }
        if !fields.is_empty() {
            missing.push((c.name.clone(), fields));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(|(name, f)| format!("  {name}: {}", f.join(", "))).collect();
    Err(Error::NeedsPerson {
        message: format!(
            "input needed, and this run cannot ask for it ({why}); nothing was sent. Missing:\n{}",
            list.join("\n")
        ),
        hint: Some(format!("pass them (secrets from the environment, never on the command line): {}", flags.join(" "))),
    })
}
