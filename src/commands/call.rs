//! `conntest call CONNECTOR [METHOD] PATH|URL`: orchestration only — load the
//! connector and its cache (or `--auth-first`), send through the flow's
//! resource-call machinery, print the answer (masked), cache what a refresh made.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::cache::{self, CacheError};
use crate::cli::{CallArgs, Format, Global};
use crate::connector::load;
use crate::error::{EXIT_FAILED, Error};
use crate::flow::{AdHoc, Flow, Options, Session};
use crate::http::Body;
use crate::output;
use crate::prompt::{Prompter, can_prompt, collect_inputs};
use crate::report;
use crate::secret::masker;

pub async fn run(g: &Global, args: &CallArgs) -> Result<(), Error> {
    let result = send(g, args).await;
    if g.format == Format::Json
        && let Err(e) = &result
        && !matches!(e, Error::Reported { .. } | Error::Interrupted { .. })
    {
        // A script reading `--format json` still gets one document: no answer, and why.
        report::print_json(&json!({
            "status": null, "headers": {}, "body": null, "refreshed": false,
            "error": {"message": e.to_string(), "hint": e.hint(), "exit_code": e.exit_code()},
        }));
    }
    result
}

async fn send(g: &Global, args: &CallArgs) -> Result<(), Error> {
    let adhoc = adhoc(args)?;
    let timeout = Some(args.timeout)
        .filter(|s| *s > 0.0 && *s <= 86_400.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            Error::usage(
                format!("--timeout {} is not a number of seconds above 0 and at most 86400", args.timeout),
                Some("e.g. --timeout 30".to_string()),
            )
        })?;
    let file = load::resolve(&args.connector, &g.dir)?;
    let connector = match load::load(&file) {
        Ok(c) => Arc::new(c),
        Err(inv) => {
            crate::commands::validate::print_invalid(&inv, false);
            return Err(Error::Reported { code: crate::error::EXIT_USAGE });
        }
    };
    let name = connector.name.clone();
    let provided = collect_inputs(&args.inputs, &args.input_envs, args.inputs_file.as_deref())?;
    let files = crate::environments::files(&g.dir, args.env.as_deref(), args.vars_file.as_deref())?;
    let vars = crate::vars::Overrides { env: args.env.clone(), files, flags: crate::inputs::parse_vars(&args.vars)? };
    let loaded = [Ok(connector.clone())];
    crate::inputs::check_inputs(loaded.iter(), &provided, &vars, &g.dir)?;
    let verbose = g.verbose;
    let options = Arc::new(Options {
        timeout,
        vars,
        on_exchange: verbose
            .then(|| Arc::new(|e: &crate::http::Exchange| report::print_exchange(e)) as crate::http::ExchangeHook),
        on_event: None,
        spinner: false,
        no_browser: args.no_browser,
        sso_token_file: args.sso_token_file.clone(),
        tls: crate::commands::test::transport(g)?,
    });
    if g.insecure {
        output::warn(
            "-k/--insecure: TLS certificates are not verified; anyone on the network path can read and change this run's traffic",
        );
    }
    let prompter = Prompter::new(can_prompt(g.non_interactive), crate::inputs::for_connector(&provided, &name));
    let mut session = Session::new(connector.clone(), options, prompter)?;
    let nothing = |why: String| {
        Error::environment(why, Some(format!("sign in with `conntest test auth {name}` first, or pass --auth-first")))
    };
    let cached = if g.no_cache {
        None
    } else {
        match cache::load(&name).await {
            Ok(entry) => entry,
            Err(CacheError::Corrupt(why)) => {
                output::warn(&format!("{why}; treating it as not cached"));
                None
            }
            Err(CacheError::Unavailable(why)) if args.auth_first => {
                output::warn(&format!(
                    "cannot read the cache ({why}): --auth-first signs in and keeps the outputs in memory"
                ));
                None
            }
            Err(e) => {
                return Err(Error::environment(
                    format!("cannot read the cache: {e}"),
                    Some("unlock the OS keyring, or pass --auth-first --no-cache".to_string()),
                ));
            }
        }
    };
    let mut signed_in = false;
    let mut before = None;
    match cached {
        Some(entry) => {
            before = Some((entry.outputs.clone(), entry.cookies.clone()));
            if let Some(prints) = &entry.masks {
                crate::secret::masker().learn_prints(prints);
            }
            session.restore(entry.outputs, entry.inputs, &entry.cookies);
        }
        None if args.auth_first => {
            if let Some(why) = crate::prompt::why_not_interactive(g.non_interactive) {
                crate::inputs::check_missing(&loaded, &provided, Flow::Auth, true, why)?;
            }
            let mut steps = Vec::new();
            if let Err(e) = session.sign_in(&mut steps).await {
                let at = steps.iter().rev().find(|s| !s.ok).map(|s| format!(" at step `{}`", s.id)).unwrap_or_default();
                output::err(&format!("error: --auth-first: the auth flow failed{at}: {e}"));
                if let Some(hint) = e.hint() {
                    output::err(&format!("  hint: {hint}"));
                }
                return Err(Error::Reported { code: e.exit_code().max(EXIT_FAILED) });
            }
            signed_in = true;
        }
        None if g.no_cache => return Err(nothing("nothing to read: --no-cache was given".to_string())),
        None => return Err(nothing(format!("nothing cached for `{name}`"))),
    }
    let called = session.call(&adhoc).await?;
    let entry = session.cache_entry();
    let changed = before.is_none_or(|(o, c)| o != entry.outputs || c != entry.cookies);
    if !g.no_cache
        && (signed_in || called.refreshed)
        && changed
        && let Err(e) = cache::save(entry).await
    {
        output::warn(&format!("nothing was cached: {e}"));
    }
    let resp = &called.response;
    match g.format {
        Format::Json => {
            let mut headers = Map::new();
            for (n, v) in &resp.headers {
                let v = crate::report::exchange::mask_header(n, v);
                match headers.get_mut(n) {
                    Some(Value::String(prev)) => *prev = format!("{prev}, {v}"),
                    _ => {
                        headers.insert(n.clone(), Value::String(v));
                    }
                }
            }
            report::print_json(&json!({
                "status": resp.status, "headers": headers, "body": resp.body, "refreshed": called.refreshed,
            }));
        }
        Format::Text => {
            if called.refreshed {
                output::err("refreshed the credentials (the refresh flow ran) and sent the request again");
            }
            output::out(&status_line(resp.status));
            let body = match &resp.body {
                Value::String(s) => masker().mask(s),
                Value::Null => String::new(),
                other => serde_json::to_string_pretty(&masker().mask_json(other)).unwrap_or_default(),
            };
            if !body.is_empty() {
                output::out(&crate::output::printable(&body));
            }
        }
    }
    if (200..300).contains(&resp.status) { Ok(()) } else { Err(Error::Reported { code: EXIT_FAILED }) }
}

/// `200 OK`, or the bare code when it has no usual reason phrase.
fn status_line(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()) {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// The request from the command line: `[METHOD] PATH`, `-H`, `--data`, `--form`.
fn adhoc(args: &CallArgs) -> Result<AdHoc, Error> {
    let (method, target) = match args.request.as_slice() {
        [target] => ("GET".to_string(), target.clone()),
        [method, target] => (method.to_ascii_uppercase(), target.clone()),
        _ => return Err(Error::usage("give [METHOD] PATH|URL", None)),
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Error::usage(
            format!("`{method}` is not an HTTP method"),
            Some("e.g. GET, POST, PUT, PATCH, DELETE".to_string()),
        ));
    }
    let mut headers = Vec::new();
    for h in &args.headers {
        let (n, v) = h
            .split_once(':')
            .ok_or_else(|| Error::usage("a -H argument has no `:`", Some("write -H 'Name: value'".to_string())))?;
        let n = n.trim();
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::usage(
                format!("-H: `{}` is not a header name", crate::output::printable(n)),
                Some("write -H 'Name: value'".to_string()),
            ));
        }
        headers.push((n.to_string(), v.trim().to_string()));
    }
    let body = if let Some(data) = &args.data {
        // Not quoted in the message: the body may hold a secret.
        let json: Value = serde_json::from_str(data).map_err(|e| {
            Error::usage(
                format!("--data is not JSON (line {}, column {})", e.line(), e.column()),
                Some("quote it for the shell: --data '{\"k\": 1}'".to_string()),
            )
        })?;
        Body::Json(json)
    } else if !args.form.is_empty() {
        let pairs = args
            .form
            .iter()
            .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::usage("a --form argument has no `=`", Some("write --form K=V".to_string())))?;
        Body::Form(pairs)
    } else {
        Body::Empty
    };
    Ok(AdHoc { method, target, headers, body })
}
