//! Paths into step outputs: what the cache keeps of them, reading and writing
//! one (`update_variables`), the expiry margin, and "did you mean" candidates.

use serde_json::{Map, Value};

/// Refresh ahead of a call when a cached token has less than this left.
pub(super) const EXPIRY_MARGIN_SECS: i64 = 30;

/// Seconds as people say them: `40 s`, `3 min`, `2 h`.
pub(super) fn human_secs(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// The parts of `outputs` that `paths` reach (whole subtrees), plus each
/// step's `expires_at`: a later run needs nothing else.
pub(super) fn keep(outputs: &Map<String, Value>, paths: &[Vec<String>]) -> Map<String, Value> {
    fn graft(dst: &mut Map<String, Value>, src: &Map<String, Value>, path: &[String]) {
        let Some((first, rest)) = path.split_first() else { return };
        let Some(value) = src.get(first) else { return };
        match (rest.is_empty(), value) {
            (false, Value::Object(inner)) => {
                let slot = dst.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(slot) = slot {
                    graft(slot, inner, rest);
                }
            }
            // A leaf, a list, or a path that goes on into a value: keep all of it.
            _ => {
                dst.insert(first.clone(), value.clone());
            }
        }
    }
    let mut out = Map::new();
    for path in paths {
        graft(&mut out, outputs, path);
    }
    for (id, value) in outputs {
        if value.get("expires_at").is_some() {
            graft(&mut out, outputs, &[id.clone(), "expires_at".into()]);
        }
    }
    out
}

/// Fingerprints of every secret of the full outputs that the entry does not
/// keep (by name, `secret_outputs`, password fields): what lets a later run
/// from the entry still mask them. `None` when nothing was dropped.
pub(super) fn dropped_secrets(
    connector: &crate::connector::validated::Connector,
    outputs: &Map<String, Value>,
    entry: &crate::cache::Entry,
) -> Option<crate::secret::Fingerprints> {
    use crate::secret::fingerprint::{all_strings, secret_strings};
    use crate::steps::catalogue::Step;
    use crate::steps::form::config::FieldKind;
    let full = Value::Object(outputs.clone());
    let mut secrets = Vec::new();
    secret_strings("", &full, &mut secrets);
    for def in connector.all_steps() {
        let Some(step) = outputs.get(&def.id) else { continue };
        for p in &def.secret_outputs {
            lookup(step, p).into_iter().for_each(|v| all_strings(v, &mut secrets));
        }
        if let Step::Form(form) = &def.kind {
            for f in form.fields.iter().filter(|f| f.kind == FieldKind::Password) {
                step.get(&f.key).into_iter().for_each(|v| all_strings(v, &mut secrets));
            }
        }
    }
    // What the entry keeps is learned again, by value, when it is read.
    let mut kept = Vec::new();
    secret_strings("", &Value::Object(entry.outputs.clone()), &mut kept);
    secret_strings("", &Value::Object(entry.inputs.clone()), &mut kept);
    let kept: std::collections::HashSet<String> = kept.into_iter().collect();
    let mut prints = crate::secret::Fingerprints::new();
    let mut seen = std::collections::HashSet::new();
    for s in secrets.into_iter().filter(|s| !kept.contains(s)) {
        if seen.insert(s.clone()) {
            prints.add(&s);
        }
    }
    (!prints.prints.is_empty()).then_some(prints)
}

/// The value at `path` (keys, or list indexes as numbers).
pub(super) fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |node, seg| match node {
        Value::Object(m) => m.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Every path in `v` (mappings only), for "did you mean".
pub(super) fn all_paths(prefix: &str, v: &Value, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            out.push(p.clone());
            if out.len() < 10_000 {
                all_paths(&p, child, out);
            }
        }
    }
}

/// Sets `ctx[a][b][c] = value`, creating mappings on the way.
pub(super) fn set_path(ctx: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        ctx.insert(first.clone(), value);
        return;
    }
    let entry = ctx.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(map) = entry {
        set_path(map, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::set_path;
    use serde_json::{Map, json};

    #[test]
    fn set_path_updates_nested_outputs() {
        let mut ctx: Map<String, serde_json::Value> =
            json!({"login": {"body": {"access_token": "old", "keep": 1}}}).as_object().cloned().unwrap_or_default();
        set_path(&mut ctx, &["login".into(), "body".into(), "access_token".into()], json!("new"));
        assert_eq!(serde_json::Value::Object(ctx), json!({"login": {"body": {"access_token": "new", "keep": 1}}}));
    }
}
