//! Values given on the command line for Forms and variables (`--input`,
//! `--input-env`, `--inputs`, `--var`), checked against the selected
//! connectors before any request: unknown names, bad values, missing inputs.

use std::collections::HashMap;
use std::sync::Arc;

use crate::connector::validated::Connector;
use crate::error::Error;
use crate::flow::Flow;
use crate::output;
use crate::secret::Secret;
use crate::steps::form::config::FieldKind;

/// Form values by (step, field); a scoped value's step is `CONNECTOR:STEP`.
pub type Provided = HashMap<(String, String), Secret>;

/// `--var [CONNECTOR:]NAME=VALUE` as `(scope, name, value)`.
pub fn parse_vars(vars: &[String]) -> Result<Vec<(Option<String>, String, String)>, Error> {
    vars.iter()
        .map(|v| {
            // Not quoted: a variable's value may be a secret, and without `=` the name cannot be told apart.
            let (k, v) = v.split_once('=').ok_or_else(|| {
                Error::usage("a --var argument has no `=`", Some("write --var [CONNECTOR:]NAME=VALUE".to_string()))
            })?;
            Ok(match k.split_once(':') {
                Some((scope, name)) => (Some(scope.to_string()), name.to_string(), v.to_string()),
                None => (None, k.to_string(), v.to_string()),
            })
        })
        .collect()
}

/// The values `connector` receives: every unscoped value, then the values
/// scoped to it, which win.
pub fn for_connector(provided: &Provided, connector: &str) -> Provided {
    let mut out: Provided =
        provided.iter().filter(|((step, _), _)| !step.contains(':')).map(|(k, v)| (k.clone(), v.clone())).collect();
    for ((step, field), value) in provided {
        if let Some((scope, step)) = step.split_once(':')
            && scope == connector
        {
            out.insert((step.to_string(), field.clone()), value.clone());
        }
    }
    out
}

/// Whether a scope (`NAME:`) names a selected connector (`true`), or another
/// connector of the dir (`false`: its values are not for this run, as with a
/// team's shared `--inputs` file). Any other name is a typo that would send
/// the value nowhere: an error.
fn check_scope(scope: &str, what: &str, names: &[&str], dir: &std::path::Path) -> Result<bool, Error> {
    if names.contains(&scope) {
        return Ok(true);
    }
    if crate::connector::check::valid_name(scope) && crate::connector::load::resolve(scope, dir).is_ok() {
        return Ok(false);
    }
    let mut hint = format!("selected connectors: {}", names.join(", "));
    if let Some(m) = crate::connector::diagnostic::did_you_mean(scope, names.iter().copied()) {
        hint = format!("did you mean `{m}`? {hint}");
    }
    Err(Error::usage(format!("{what} is scoped to `{scope}`, which is not a selected connector"), Some(hint)))
}

/// `--input` and `--var` must name something one of the connectors has: a typo
/// would otherwise be ignored and surface later as a prompt or a wrong value.
/// An unscoped password that two connectors would receive is refused: it
/// would be sent to the other connector's server.
pub fn check_inputs<'a>(
    loaded: impl Iterator<Item = &'a Result<Arc<Connector>, crate::connector::diagnostic::Invalid>>,
    provided: &Provided,
    vars: &crate::vars::Overrides,
    dir: &std::path::Path,
) -> Result<(), Error> {
    let loaded: Vec<_> = loaded.collect();
    let connectors: Vec<&Connector> = loaded.iter().filter_map(|c| c.as_deref().ok()).collect();
    let names: Vec<&str> = connectors.iter().map(|c| c.name.as_str()).collect();
    // (connector, "step.field", is a password)
    let mut fields: Vec<(&str, String, bool)> = Vec::new();
    for c in &connectors {
        for def in c.all_steps() {
            if let crate::steps::catalogue::Step::Form(form) = &def.kind {
                fields.extend(
                    form.fields
                        .iter()
                        .map(|f| (c.name.as_str(), format!("{}.{}", def.id, f.key), f.kind == FieldKind::Password)),
                );
            }
        }
    }
    let mut keys: Vec<(Option<&str>, String)> = provided
        .keys()
        .map(|(s, f)| match s.split_once(':') {
            Some((scope, step)) => (Some(scope), format!("{step}.{f}")),
            None => (None, format!("{s}.{f}")),
        })
        .collect();
    keys.sort();
    for (_, key) in keys.iter().filter(|(scope, _)| scope.is_none()) {
        // Connectors that would receive this unscoped value as a password (no scoped value of their own).
        let receivers: Vec<&str> = fields
            .iter()
            .filter(|(c, f, password)| *password && f == key && !keys.iter().any(|(s, k)| *s == Some(*c) && k == key))
            .map(|(c, _, _)| *c)
            .collect();
        if receivers.len() >= 2 {
            let spelled: Vec<String> = receivers.iter().map(|c| format!("--input-env {c}:{key}=ENV_NAME")).collect();
            return Err(Error::usage(
                format!(
                    "the password `{key}` would be sent to {} connectors ({}): a password reaches exactly one connector",
                    receivers.len(),
                    receivers.join(", ")
                ),
                Some(format!("scope it to one connector each: {}", spelled.join(" "))),
            ));
        }
    }
    if connectors.len() < loaded.len() {
        // An invalid file may be the one a name was meant for: only the password rule holds.
        return Ok(());
    }
    for (scope, key) in &keys {
        if let Some(scope) = scope
            && !check_scope(scope, &format!("input `{scope}:{key}`"), &names, dir)?
        {
            continue;
        }
        let candidates: Vec<&str> =
            fields.iter().filter(|(c, _, _)| scope.is_none_or(|s| s == *c)).map(|(_, f, _)| f.as_str()).collect();
        if candidates.contains(&key.as_str()) {
            continue;
        }
        let mut hint = if candidates.is_empty() {
            "these connectors have no form fields".to_string()
        } else {
            format!("form fields: {}", candidates.join(", "))
        };
        if let Some(m) = crate::connector::diagnostic::did_you_mean(key, candidates.iter().copied()) {
            hint = format!("did you mean `{m}`? {hint}");
        }
        let shown = scope.map(|s| format!("{s}:{key}")).unwrap_or_else(|| key.clone());
        return Err(Error::usage(format!("input `{shown}` names no form field"), Some(hint)));
    }
    let declared = |scope: Option<&str>| -> Vec<&str> {
        connectors
            .iter()
            .filter(|c| scope.is_none_or(|s| s == c.name))
            .flat_map(|c| c.variables.iter().map(|(k, _)| k.as_str()))
            .collect()
    };
    let all = declared(None);
    for (name, _) in crate::vars::from_env() {
        if all.contains(&name.as_str()) {
            continue;
        }
        if let Some(right) = all.iter().find(|d| d.eq_ignore_ascii_case(name)) {
            output::warn(&format!(
                "CONNTEST_VAR_{name} is not used: the variable is spelt `{right}` (names are case-sensitive); set CONNTEST_VAR_{right}"
            ));
        }
    }
    for (scope, name, _) in &vars.flags {
        if let Some(scope) = scope
            && !check_scope(scope, &format!("--var `{scope}:{name}`"), &names, dir)?
        {
            continue;
        }
        let known = declared(scope.as_deref());
        if known.contains(&name.as_str()) {
            continue;
        }
        let mut hint =
            format!("declared variables: {}", if known.is_empty() { "none".to_string() } else { known.join(", ") });
        if let Some(m) = crate::connector::diagnostic::did_you_mean(name, known.iter().copied()) {
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
    provided: &Provided,
    flow: Flow,
    auth_first: bool,
    why: &str,
) -> Result<(), Error> {
    use crate::connector::validated::RefreshMode;
    let mut missing: Vec<(String, Vec<String>)> = Vec::new();
    let mut flags: Vec<String> = Vec::new();
    let several = loaded.len() > 1;
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
            Flow::Auth | Flow::Lifecycle => true,
            Flow::Refresh => reruns_auth || auth_first || reuses_stored,
            Flow::Api => auth_first,
        };
        if !asks {
            continue;
        }
        let only_unstored = matches!(flow, Flow::Refresh) && reuses_stored && !auth_first;
        let mut fields = Vec::new();
        let provided = for_connector(provided, &c.name);
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
                    let flag = if f.kind == FieldKind::Password && several {
                        // A password reaches one connector: the flag is scoped when several run.
                        let env = format!("{}_{}_{}", c.name, def.id, f.key).to_ascii_uppercase().replace('-', "_");
                        format!("--input-env {}:{key}={env}", c.name)
                    } else if f.kind == FieldKind::Password {
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
    let each = missing
        .iter()
        .flat_map(|(name, fields)| {
            fields.iter().filter_map(move |f| {
                f.split_once('.').map(|(step, field)| (name.clone(), step.to_string(), field.to_string()))
            })
        })
        .collect();
    Err(Error::MissingInputs {
        missing: each,
        message: format!(
            "input needed, and this run cannot ask for it ({why}); nothing was sent. Missing:\n{}",
            list.join("\n")
        ),
        hint: Some(format!("pass them (secrets from the environment, never on the command line): {}", flags.join(" "))),
    })
}
