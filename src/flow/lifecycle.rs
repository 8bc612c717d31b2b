//! `test lifecycle`'s engine half: the auth phase, then the refresh phase, and
//! the check that a rotated `refresh_token` is kept by `update_variables`.

use serde_json::Value;

use super::{Flow, RunResult, Session};
use crate::connector::validated::RefreshMode;
use crate::error::{EXIT_FAILED, EXIT_USAGE};

impl Session {
    /// Auth flow + test API, then refresh flow + `update_variables` + test API:
    /// one result per phase that ran (the refresh phase does not run after a
    /// failed auth phase).
    pub async fn lifecycle(&mut self) -> Vec<RunResult> {
        let mut auth = self.execute(Flow::Auth).await;
        auth.flow = Flow::Auth.name();
        if !auth.ok {
            return vec![auth];
        }
        let connector = self.connector.clone();
        let Some(refresh) = &connector.refresh else {
            let mut result = auth.clone();
            result.flow = Flow::Refresh.name();
            result.ok = false;
            result.exit_code = EXIT_USAGE;
            result.steps = Vec::new();
            result.test_api = None;
            result.refreshed = false;
            result.error = Some(format!("connector `{}` has no refresh_flow", connector.name));
            result.hint = Some("add a `refresh_flow:` to the connector file, or use `test auth`".to_string());
            return vec![auth, result];
        };
        let mut result = self.execute(Flow::Refresh).await;
        if result.ok
            && let RefreshMode::Steps(steps) = &refresh.mode
            && let Some((from, to)) = self.unkept_refresh_token(steps.iter().map(|s| s.id.as_str()))
        {
            result.ok = false;
            result.exit_code = EXIT_FAILED;
            result.error = Some(format!(
                "the refresh answer carries a new refresh_token (`{from}`) that no update_variables entry stores: the next refresh would send a spent token"
            ));
            result.hint = Some(match to {
                Some(to) => format!("add to refresh_flow.update_variables: `{to}: \"{{{{ {from} }}}}\"`"),
                None => format!(
                    "store `{from}` with an update_variables entry on the auth-flow output the refresh flow reads"
                ),
            });
        }
        vec![auth, result]
    }

    /// A `refresh_token` in the outputs of the refresh steps `ids` whose value
    /// no auth-flow output holds after `update_variables`: its path, and the
    /// auth-flow path that held the previous one (where it should go).
    fn unkept_refresh_token<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Option<(String, Option<String>)> {
        let auth_ids: Vec<&str> = self.connector.auth_flow.iter().map(|s| s.id.as_str()).collect();
        let mut kept = Vec::new();
        let mut homes = Vec::new();
        for id in &auth_ids {
            if let Some(v) = self.ctx.get_json(id) {
                tokens(id, &v, &mut kept);
            }
        }
        homes.extend(kept.iter().map(|(p, _)| p.clone()));
        homes.sort_by_key(String::len);
        for id in ids.filter(|id| !auth_ids.contains(id)) {
            let Some(v) = self.ctx.get_json(id) else { continue };
            let mut found = Vec::new();
            tokens(id, &v, &mut found);
            if let Some((path, _)) = found.into_iter().find(|(_, value)| !kept.iter().any(|(_, k)| k == value)) {
                return Some((path, homes.first().cloned()));
            }
        }
        None
    }
}

/// Every string under a key named `refresh_token` in `v`, with its dotted path.
fn tokens(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    if let Value::Object(map) = v {
        for (k, inner) in map {
            let path = format!("{prefix}.{k}");
            match inner {
                Value::String(s) if k == "refresh_token" && !s.is_empty() => out.push((path, s.clone())),
                _ => tokens(&path, inner, out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_found_at_any_depth() {
        let mut out = Vec::new();
        let v =
            serde_json::json!({"body": {"data": {"refresh_token": "rt-2", "access_token": "a"}}, "refresh_token": "x"});
        tokens("renew", &v, &mut out);
        out.sort();
        assert_eq!(
            out,
            [
                ("renew.body.data.refresh_token".to_string(), "rt-2".to_string()),
                ("renew.refresh_token".into(), "x".into())
            ]
        );
    }
}
