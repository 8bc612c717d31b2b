//! `conntest demo`: the first run — a bundled connector against a built-in
//! loopback API: Form, token login, test API, token expiry, refresh, cache.

use std::sync::Arc;
use std::time::Duration;

use console::style;

use crate::cache;
use crate::cli::{Format, Global};
use crate::connector::load::load_str;
use crate::demo::DemoServer;
use crate::error::Error;
use crate::flow::{Flow, Options, RunResult, Session};
use crate::output;
use crate::prompt::{Prompter, can_prompt};
use crate::report;

const DEMO_CONNECTOR: &str = include_str!("../demo.yaml");

fn say(g: &Global, line: &str) {
    if g.format == Format::Text {
        output::out(line);
    }
}

fn show(g: &Global, r: &RunResult) {
    if g.format == Format::Text {
        for line in report::result_footer(r) {
            output::out(&line);
        }
    }
}

/// `demo --print`: the bundled connector, to read or to start from. Its
/// `base_url` is the demo API's address, which only `conntest demo` knows.
pub fn print() -> Result<(), Error> {
    output::raw_out(DEMO_CONNECTOR.trim_end());
    Ok(())
}

pub async fn run(g: &Global) -> Result<(), Error> {
    let server = DemoServer::start().map_err(|e| Error::environment(e, None))?;
    let connector = load_str(std::path::Path::new("demo.yaml"), DEMO_CONNECTOR)
        .map_err(|(d, _)| Error::failed(format!("bundled demo connector is invalid: {d:?}")))?;
    let connector = Arc::new(connector);
    let live = g.format == Format::Text;
    let options = Arc::new(Options {
        timeout: Duration::from_secs(10),
        vars: crate::vars::Overrides {
            flags: vec![(None, "base_url".into(), server.url.clone())],
            ..Default::default()
        },
        on_exchange: g.verbose.then(|| Arc::new(report::print_exchange) as crate::http::ExchangeHook),
        on_event: Some(report::Live::new(true, live, false).hook()),
        spinner: false,
        no_browser: true,
        sso_token_file: None,
        tls: Default::default(),
    });
    let interactive = can_prompt(g.non_interactive);
    say(g, &format!("{}: demo API listening on {}", style("conntest demo").bold(), server.url));
    if !interactive {
        say(g, &style("non-interactive: the Form is filled with its defaults").dim().to_string());
    }

    say(g, &format!("\n{} sign in, then call the test API", style("1.").bold()));
    let mut session = Session::new(connector.clone(), options.clone(), Prompter::new(interactive, Default::default()))?;
    let first = session.execute(Flow::Auth).await;
    show(g, &first);
    let mut results = vec![first.clone()];
    if !first.ok {
        return finish(g, &results);
    }
    let cached = if g.no_cache {
        say(g, &style("--no-cache: nothing is written to the keyring").dim().to_string());
        false
    } else {
        match cache::save(session.cache_entry()).await {
            Ok(()) => {
                say(
                    g,
                    &format!(
                        "{} outputs cached in the OS keyring (service `conntest`, account `demo`)",
                        style("✔").green()
                    ),
                );
                true
            }
            Err(e) => {
                output::warn(&format!("nothing was cached: {e}; the demo goes on in memory"));
                false
            }
        }
    };

    say(
        g,
        &format!(
            "\n{} the access token expires; the test API answers 401, conntest refreshes and retries",
            style("2.").bold()
        ),
    );
    server.expire_access_tokens();
    if cached && let Ok(Some(e)) = cache::load("demo").await {
        session = Session::new(connector.clone(), options.clone(), Prompter::new(false, Default::default()))?;
        session.restore(e.outputs, e.inputs, &e.cookies);
        say(g, &style("(outputs read back from the keyring)").dim().to_string());
    }
    let second = session.execute(Flow::Api).await;
    show(g, &second);
    results.push(second.clone());
    if second.ok && cached {
        let _ = cache::save(session.cache_entry()).await;
        say(
            g,
            &format!(
                "\n{} the refreshed tokens are cached; inspect them with `conntest cache show demo` (add --reveal to unmask), remove them with `conntest cache clear demo`",
                style("3.").bold()
            ),
        );
    }
    finish(g, &results)
}

fn finish(g: &Global, results: &[RunResult]) -> Result<(), Error> {
    if g.format == Format::Json {
        report::print_json(&report::json_results(results, None));
    }
    let code = crate::error::most_severe(results.iter().map(|r| r.exit_code));
    if code == 0 { Ok(()) } else { Err(Error::Reported { code }) }
}
