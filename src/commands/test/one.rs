//! One connector's run for `conntest test`: its session, what the cache
//! holds for it (or `--auth-first`), the flow (or the lifecycle's two phases),
//! and saving what succeeded.

use std::sync::Arc;

use crate::cache::{self, CacheError};
use crate::connector::validated::Connector;
use crate::error::{EXIT_ENVIRONMENT, EXIT_USAGE};
use crate::flow::{Flow, Options, RunResult, Session};
use crate::output;
use crate::prompt::Prompter;

pub(super) async fn run_one(
    connector: Arc<Connector>,
    flow: Flow,
    options: Arc<Options>,
    prompter: Prompter,
    no_cache: bool,
    auth_first: bool,
) -> Vec<RunResult> {
    let file = connector.file.display().to_string();
    let name = connector.name.clone();
    let origin = crate::vars::base_url_origin(&connector, &options.vars);
    let mut session = match Session::new(connector.clone(), options, prompter) {
        Ok(s) => s,
        Err(e) => return vec![RunResult::failed(name, file, flow.name(), e.exit_code(), e.to_string(), e.hint())],
    };
    if let (Some(origin), Some(base)) = (origin, connector.base_url.as_ref().and_then(|t| t.render(&session.ctx).ok()))
    {
        session.http.explain_base_url(&base, origin);
    }
    if flow == Flow::Refresh && connector.refresh.is_none() {
        let hint = Some("add a `refresh_flow:` to the connector file, or use `test auth`".to_string());
        return vec![RunResult::failed(
            name.clone(),
            file,
            flow.name(),
            EXIT_USAGE,
            format!("connector `{name}` has no refresh_flow"),
            hint,
        )];
    }
    if flow == Flow::Lifecycle {
        let mut results = session.lifecycle().await;
        if results.iter().all(|r| r.ok) && !no_cache {
            save(&session, None, results.last_mut()).await;
        }
        return results;
    }
    if flow == Flow::Auth && !no_cache {
        cache::locate(&name);
    }
    // One result, one HAR page: `--auth-first`'s sign-in belongs to this flow's page.
    session.page = Some(flow.name());
    let mut run_flow = flow;
    let mut stale = false;
    // What the cache held, to skip rewriting an entry that did not change.
    let mut loaded = None;
    if flow != Flow::Auth {
        let missing = |why: String, hint: String| {
            vec![RunResult::failed(name.clone(), file.clone(), flow.name(), EXIT_ENVIRONMENT, why, Some(hint))]
        };
        if no_cache && !auth_first {
            return missing(
                "nothing to read: --no-cache was given".into(),
                format!(
                    "pass --auth-first to sign in first and keep the outputs in memory, or run without --no-cache after `conntest test auth {name}`"
                ),
            );
        }
        let cached = match if no_cache { Ok(None) } else { cache::load(&name).await } {
            Ok(entry) => entry,
            Err(CacheError::Corrupt(why)) => {
                output::warn(&format!("{why}; treating it as not cached"));
                None
            }
            Err(CacheError::Unavailable(why)) if auth_first => {
                // A CI runner without a keyring: sign in and keep the outputs in memory.
                cache::warn_once(&format!(
                    "cannot read the cache ({why}): --auth-first signs in and keeps the outputs in memory"
                ));
                None
            }
            Err(CacheError::Unavailable(why)) => {
                return missing(
                    format!("cannot read the cache: {why}"),
                    "unlock the OS keyring (or start a Secret Service provider such as gnome-keyring) and retry".into(),
                );
            }
            Err(CacheError::Lock(why)) => {
                return missing(format!("cannot read the cache: {why}"), cache::LOCK_HINT.into());
            }
        };
        match cached {
            Some(entry) => {
                if entry.fingerprint.as_deref().is_some_and(|f| f != connector.fingerprint.as_str()) {
                    stale = true;
                    output::warn(&format!(
                        "the cache of `{name}` (saved {}) predates an edit of {file}: if this run fails, sign in again with `conntest test auth {name}`",
                        entry.saved_at
                    ));
                }
                loaded = Some((entry.outputs.clone(), entry.cookies.clone()));
                if let Some(prints) = &entry.masks {
                    crate::secret::masker().learn_prints(prints);
                }
                session.restore(entry.outputs, entry.inputs, &entry.cookies);
            }
            None if auth_first => run_flow = Flow::Auth,
            None => {
                return missing(
                    format!("nothing cached for `{name}`"),
                    format!("run `conntest test auth {name}` first (or pass --auth-first)"),
                );
            }
        }
    }
    let mut result = session.execute(run_flow).await;
    if run_flow != flow && flow == Flow::Refresh && result.ok {
        // --auth-first: the auth flow ran; now the refresh flow proper.
        let first_steps = std::mem::take(&mut result.steps);
        result = session.execute(Flow::Refresh).await;
        let mut steps = first_steps;
        steps.append(&mut result.steps);
        result.steps = steps;
    }
    result.flow = flow.name();
    if !result.ok && loaded.is_some() {
        // A run from the cache that fails: the usual way out is a fresh sign-in.
        let again = format!("sign in again: `conntest test auth {name}`");
        result.hint = Some(match result.hint.take() {
            Some(h) if stale => format!("{h}; the cache predates an edit of the file: {again}"),
            Some(h) => format!("{h}; or {again}"),
            None => again,
        });
    }
    // A refresh that succeeded is saved even when the test API then fails: the
    // provider may have rotated (and revoked) the refresh token the cache holds.
    if (result.ok || result.refreshed) && !no_cache {
        save(&session, loaded, Some(&mut result)).await;
    }
    vec![result]
}

/// Caches what the session's outputs are now, unless they equal what the
/// cache `loaded`; a keyring that cannot be written is a warning.
async fn save(
    session: &Session,
    loaded: Option<(serde_json::Map<String, serde_json::Value>, Vec<crate::http::CookieRecord>)>,
    result: Option<&mut RunResult>,
) {
    let name = &session.connector.name;
    let entry = session.cache_entry();
    let unchanged = loaded.is_some_and(|(outputs, cookies)| outputs == entry.outputs && cookies == entry.cookies);
    if unchanged {
        return;
    }
    match cache::save(entry).await {
        Ok(()) => {
            if let Some(result) = result {
                result.cached = Some(if result.ok {
                    format!(
                        "cached in the OS keyring (service conntest, account {name}); next: `conntest test api {name}`, `conntest cache show {name}`"
                    )
                } else {
                    format!(
                        "the refreshed outputs were cached in the OS keyring (service conntest, account {name}): a rotated refresh token is kept"
                    )
                });
            }
        }
        Err(e) => cache::warn_once(&format!("nothing was cached: {e}")),
    }
}
