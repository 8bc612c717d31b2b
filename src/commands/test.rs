//! `conntest test auth|refresh|api|lifecycle`: select and check the connectors
//! and inputs, run them (concurrently; one connector's run is `test/one`),
//! report, and keep the keyring cache in step with what succeeded.

use std::io::IsTerminal as _;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cache;
use crate::cli::{Format, Global, TestArgs};
use crate::connector::load;
use crate::error::{EXIT_USAGE, Error};
use crate::flow::{Flow, Options, RunResult};
use crate::http::Exchange;
use crate::inputs::{check_inputs, check_missing, for_connector, parse_vars};
use crate::output;
use crate::prompt::{Prompter, can_prompt, collect_inputs};
use crate::report;

mod one;
use one::run_one;

/// The longest `--timeout` accepted, in seconds (a day).
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

pub async fn run(g: &Global, flow: Flow, args: &TestArgs, auth_first: bool) -> Result<(), Error> {
    let result = run_all(g, flow, args, auth_first).await;
    if g.format == Format::Json
        && let Err(e) = &result
        && !matches!(e, Error::Reported { .. } | Error::Interrupted { .. })
    {
        // A CI job that reads `--format json > results.json` still gets one document.
        report::print_json(&report::json_error(e));
    }
    result
}

async fn run_all(g: &Global, flow: Flow, args: &TestArgs, auth_first: bool) -> Result<(), Error> {
    // Duration::from_secs_f64 panics past u64 seconds; a day is longer than any request should take.
    let timeout = Some(args.run.timeout)
        .filter(|s| *s > 0.0 && *s <= MAX_TIMEOUT_SECS)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            Error::usage(
                format!(
                    "--timeout {} is not a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}",
                    args.run.timeout
                ),
                Some("e.g. --timeout 30".to_string()),
            )
        })?;
    let mut files =
        if args.all { load::discover(&g.dir)? } else { crate::commands::validate::targets(g, &args.connectors)? };
    if files.is_empty() {
        return Err(Error::usage(
            format!("no connector files (*.yaml, *.yml) in {}", g.dir.display()),
            Some("pass --dir DIR or set CONNTEST_DIR".to_string()),
        ));
    }
    if let Some(p) = &args.junit {
        report::check_writable("--junit", p)?;
    }
    if let Some(p) = &args.har {
        report::check_writable("--har", p)?;
    }
    if let Some(p) = &args.html {
        report::check_writable("--html", p)?;
    }
    let transport = transport(g)?;
    // A connector named twice runs once.
    let mut unique = Vec::new();
    files.retain(|f| {
        let key = f.canonicalize().unwrap_or_else(|_| f.clone());
        let new = !unique.contains(&key);
        unique.push(key);
        new
    });
    // A matrix passes the same --input/--var flags to every shard: they are checked
    // against every selected connector, not only this shard's.
    let selected = files.clone();
    if let Some((k, n)) = args.shard {
        files.retain(|f| shard_of(f, n) == k);
        if files.is_empty() {
            match g.format {
                Format::Json => report::print_json(&report::json_results(&[], args.run.env.as_deref())),
                Format::Text => {
                    output::out(&format!("shard {k}/{n}: no connector falls in this shard; nothing to run"))
                }
            }
            return Ok(());
        }
    }
    if !g.no_cache {
        // Running unlocked could corrupt entries that other runs are saving: refuse up front.
        cache::check_locking().map_err(|e| {
            Error::environment(format!("cannot lock the cache: {e}"), Some(cache::LOCK_HINT.to_string()))
        })?;
        cache::prewarm();
    }
    let provided = collect_inputs(&args.run.inputs, &args.run.input_envs, args.run.inputs_file.as_deref())?;
    let vars = crate::vars::Overrides {
        env: args.run.env.clone(),
        files: crate::environments::files(&g.dir, args.run.env.as_deref(), args.run.vars_file.as_deref())?,
        flags: parse_vars(&args.run.vars)?,
    };
    let interactive = can_prompt(g.non_interactive);
    let single = files.len() == 1;
    let live = single && g.format == Format::Text;
    let display = report::Live::new(live, g.format == Format::Text, std::io::stderr().is_terminal());
    let exchanges: Arc<Mutex<Vec<Exchange>>> = Arc::new(Mutex::new(Vec::new()));
    let verbose = g.verbose;
    let har_log = exchanges.clone();
    let keep_har = args.har.is_some() || args.html.is_some();
    let har_bytes = std::sync::atomic::AtomicUsize::new(0);
    let options = Arc::new(Options {
        timeout,
        vars,
        on_exchange: (verbose || keep_har).then(|| {
            Arc::new(move |e: &Exchange| {
                if verbose {
                    report::print_exchange(e);
                }
                if keep_har && let Ok(mut log) = har_log.lock() {
                    // The HAR holds at most MAX_RUN_BYTES of bodies across all
                    // connectors; later bodies are named, not kept.
                    let mut e = e.clone();
                    let held = har_bytes.fetch_add(body_bytes(&e), std::sync::atomic::Ordering::Relaxed);
                    if held + body_bytes(&e) > crate::http::MAX_RUN_BYTES {
                        let note = format!(
                            "(not kept: the HAR already holds {} MiB of bodies)",
                            crate::http::MAX_RUN_BYTES >> 20
                        );
                        e.request_body = e.request_body.map(|_| note.clone());
                        e.response_body = e.response_body.map(|_| note);
                    }
                    log.push(e);
                }
            }) as crate::http::ExchangeHook
        }),
        on_event: Some(display.hook()),
        spinner: std::io::stderr().is_terminal(),
        no_browser: args.run.no_browser,
        sso_token_file: args.run.sso_token_file.clone(),
        tls: transport,
    });

    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    // A connector whose run panics becomes a failed result: the others' results and the reports stand.
    let mut running = std::collections::HashMap::new();
    let loaded: Vec<_> = files.iter().map(|f| load::load(f).map(Arc::new)).collect();
    let names: Vec<Option<String>> = loaded
        .iter()
        .map(|r| r.as_ref().map(|c| Some(c.name.clone())).unwrap_or_else(|inv| inv.connector.clone()))
        .collect();
    if let Some((i, other)) = load::same_names(&files, &names).first() {
        return Err(Error::usage(
            format!(
                "connector name `{}` is given by both {} and {}",
                names[*i].clone().unwrap_or_default(),
                files[*i].display(),
                other.display()
            ),
            Some("rename one: the name comes from `name:` or the file stem".to_string()),
        ));
    }
    let in_shard: std::collections::HashSet<&std::path::PathBuf> = files.iter().collect();
    let other_shards: Vec<_> =
        selected.iter().filter(|f| !in_shard.contains(f)).map(|f| load::load(f).map(Arc::new)).collect();
    check_inputs(loaded.iter().chain(&other_shards), &provided, &options.vars, &g.dir)?;
    if let Some(why) = crate::prompt::why_not_interactive(g.non_interactive)
        && let Err(e) = check_missing(&loaded, &provided, flow, auth_first, why)
    {
        // Nothing runs, but the CI's test report still says which connectors did not, and why.
        if let Some(path) = &args.junit {
            let results: Vec<RunResult> = files
                .iter()
                .zip(&names)
                .map(|(file, name)| {
                    let name = name.clone().unwrap_or_else(|| file.display().to_string());
                    RunResult::failed(
                        name,
                        file.display().to_string(),
                        flow.name(),
                        e.exit_code(),
                        e.to_string(),
                        e.hint(),
                    )
                })
                .collect();
            report::write_junit(path, &results)?;
        }
        return Err(e);
    }
    if g.insecure {
        output::warn(
            "-k/--insecure: TLS certificates are not verified; anyone on the network path can read and change this run's traffic",
        );
    }
    for (index, (file, connector)) in files.iter().zip(loaded).enumerate() {
        let connector = match connector {
            Ok(c) => c,
            Err(inv) => {
                if g.format == Format::Text {
                    crate::commands::validate::print_invalid(&inv, false);
                } else {
                    report::annotations::invalid(&inv, false);
                }
                let name = inv.connector.clone().unwrap_or_else(|| file.display().to_string());
                let n = inv.diagnostics.len();
                let mut result = RunResult::failed(
                    name,
                    file.display().to_string(),
                    flow.name(),
                    EXIT_USAGE,
                    format!("connector file is invalid ({n} problem(s))"),
                    Some(format!("run `conntest validate {}`", file.display())),
                );
                result.diagnostics = serde_json::to_value(&inv.diagnostics).ok();
                tasks.spawn(async move { (index, vec![result]) });
                continue;
            }
        };
        if live {
            output::out(&format!(
                "{} {}",
                console::style(&connector.name).bold(),
                console::style(format!("({}, {})", flow.name(), file.display())).dim()
            ));
        }
        let options = options.clone();
        let provided = for_connector(&provided, &connector.name);
        let semaphore = semaphore.clone();
        let no_cache = g.no_cache;
        let crashed = (index, connector.name.clone(), file.display().to_string());
        let task = tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (index, run_one(connector, flow, options, Prompter::new(interactive, provided), no_cache, auth_first).await)
        });
        running.insert(task.id(), crashed);
    }
    let mut results: Vec<(usize, Vec<RunResult>)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            Err(e) => match running.remove(&e.id()) {
                Some((index, name, file)) => {
                    results.push((index, vec![RunResult::crashed(name, file, flow.name(), e)]))
                }
                None => return Err(Error::failed(format!("a connector run crashed: {e}"))),
            },
        }
    }
    if crate::secret::masker().overflowed() {
        output::warn(
            "this run met more secret values than conntest keeps track of; later ones are masked by their names only",
        );
    }
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<RunResult> = results.into_iter().flat_map(|(_, r)| r).collect();

    match g.format {
        Format::Json => report::print_json(&report::json_results(&results, args.run.env.as_deref())),
        Format::Text => {
            for r in &results {
                for line in display.block(r) {
                    output::out(&line);
                }
            }
            if !single {
                output::out(&report::summary(&results));
            }
        }
    }
    report::annotations::failed(&results, g.format == Format::Text);
    if let Some(path) = &args.junit {
        report::write_junit(path, &results)?;
    }
    let log = exchanges.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
    if let Some(path) = &args.har {
        report::write_har(path, &log)?;
    }
    if let Some(path) = &args.html {
        report::write_html(path, &results, &log)?;
    }
    let code = crate::error::most_severe(results.iter().map(|r| r.exit_code));
    if code == 0 { Ok(()) } else { Err(Error::Reported { code }) }
}

fn body_bytes(e: &Exchange) -> usize {
    e.request_body.as_ref().map_or(0, String::len) + e.response_body.as_ref().map_or(0, String::len)
}

/// The shard (1..=n) a connector file falls in: FNV-1a of its file name, so
/// the split is the same on every machine and for any selection order.
fn shard_of(file: &std::path::Path, n: u32) -> u32 {
    let key = file.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (hash % u64::from(n)) as u32 + 1
}

/// `--cacert`, `-k`, `--cert`/`--key`, `--proxy`, `--retry`, checked before any
/// request: a client certificate that cannot be used or a proxy that is not a
/// URL is a usage error (exit 2).
pub fn transport(g: &Global) -> Result<crate::http::Tls, Error> {
    let client = g.cert.clone().zip(g.key.clone());
    crate::http::Tls::from_flags(g.cacert.clone(), g.insecure, client, g.proxy.as_deref(), g.retry)
        .map_err(|(message, hint)| Error::usage(message, Some(hint)))
}
