//! One module per subcommand; this file only dispatches.

pub mod cache;
pub mod call;
pub mod completions;
pub mod demo;
pub mod init;
pub mod list;
pub mod man;
pub mod schema;
pub mod test;
pub mod validate;

use crate::cli::{CacheCommand, Cli, Command, TestCommand};
use crate::error::Error;
use crate::flow::Flow;

pub fn run(cli: Cli) -> Result<(), Error> {
    let g = cli.global;
    let uses_cache = matches!(
        cli.command,
        Command::List | Command::Test(_) | Command::Call(_) | Command::Cache(_) | Command::Demo { print: false }
    );
    if uses_cache && !g.no_cache {
        crate::cache::check_env().map_err(|e| Error::usage(e, Some("fix or unset the variable".to_string())))?;
    }
    let result = match cli.command {
        Command::Validate { connectors } => validate::run(&g, &connectors),
        Command::Schema { results } => schema::run(results),
        Command::Completions { shell } => completions::run(shell),
        Command::Man => man::run(),
        Command::Init { name, kind } => init::run(&g, &name, kind),
        Command::List => block_on(list::run(&g)),
        Command::Test(t) => match *t {
            TestCommand::Auth(args) => block_on(test::run(&g, Flow::Auth, &args, false)),
            TestCommand::Refresh { args, auth_first } => block_on(test::run(&g, Flow::Refresh, &args, auth_first)),
            TestCommand::Api { args, auth_first } => block_on(test::run(&g, Flow::Api, &args, auth_first)),
            TestCommand::Lifecycle(args) => block_on(test::run(&g, Flow::Lifecycle, &args, false)),
            TestCommand::Other(words) => Err(not_a_flow(&g, &words)),
        },
        Command::Call(args) => block_on(call::run(&g, &args)),
        Command::Cache(CacheCommand::Show { connector }) => block_on(cache::show(&g, &connector)),
        Command::Cache(CacheCommand::Clear { connectors, all }) => block_on(cache::clear(&g, &connectors, all)),
        Command::Demo { print: true } => demo::print(),
        Command::Demo { print: false } => block_on(demo::run(&g)),
    };
    // A report that could not be written is a failure even when the run passed;
    // a failed run keeps its own exit code, and the lost report is still said.
    match (result, crate::output::finish_stdout()) {
        (Err(e), Err(lost)) => {
            crate::output::warn(&lost.to_string());
            Err(e)
        }
        (result, written) => result.and(written),
    }
}

/// `conntest test WORD …` where WORD is not auth, refresh or api: most often a
/// connector name given without its flow, so the answer is the command that
/// was probably meant.
fn not_a_flow(g: &crate::cli::Global, words: &[String]) -> Error {
    const FLOWS: [&str; 4] = ["auth", "refresh", "api", "lifecycle"];
    let word = words.first().map(String::as_str).unwrap_or_default();
    // Names only: the other arguments may hold a secret (`--input x.password=…`).
    let names: Vec<&str> = words.iter().map(String::as_str).take_while(|w| !w.starts_with('-')).collect();
    let more = if names.len() < words.len() { " …" } else { "" };
    if crate::connector::load::resolve(word, &g.dir).is_ok() {
        return Error::usage(
            format!("`{word}` is a connector; `conntest test` needs the flow to run first (auth, refresh or api)"),
            Some(format!("conntest test auth {}{more}   (or `test refresh`, `test api`)", names.join(" "))),
        );
    }
    if let Some(flow) = crate::connector::diagnostic::did_you_mean(word, FLOWS) {
        let rest: Vec<&str> = names.iter().skip(1).copied().collect();
        let command = format!("conntest test {flow} {}{more}", rest.join(" "));
        return Error::usage(format!("unknown flow `{word}`"), Some(format!("did you mean `{}`?", command.trim_end())));
    }
    Error::usage(
        format!("`{word}` is neither a flow (auth, refresh, api) nor a connector in {}", g.dir.display()),
        Some("`conntest list` shows the connectors; then e.g. `conntest test auth NAME`".to_string()),
    )
}

/// Runs a command on a fresh runtime; a keyring call that never returned
/// (it has already timed out) does not hold the process open on the way out.
///
/// The runtime is single-threaded: connectors still run concurrently (their
/// time is spent waiting on servers), blocking work (prompts, keyring calls,
/// the browser listener) goes to the blocking pool and `js` steps to threads
/// of their own. Two workers handing every task over cost more than they
/// gave: a 3-request `--no-cache test auth` took 13 % longer, and 20 such
/// connectors at once 16 % longer, on two cores (paired runs). A synthetic
/// 400-request flow is about 4 % slower on it; at 50 requests they are even.
///
/// SIGINT and SIGTERM end the command (a prompt waiting for a line included)
/// with the terminal put back as it was: a Ctrl-C at a password prompt must
/// not leave echo off.
fn block_on(command: impl std::future::Future<Output = Result<(), Error>>) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::environment(format!("cannot start the async runtime: {e}"), None))?;
    let terminal = crate::terminal::save();
    let result = runtime.block_on(async {
        tokio::select! {
            biased;
            signal = interrupted() => {
                terminal.restore();
                if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                    // Off the prompt (or spinner) line the signal cut short.
                    crate::output::err("");
                }
                Err(Error::Interrupted { signal })
            }
            result = command => result,
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

/// The name of the first SIGINT or SIGTERM (Ctrl-C on Windows) to arrive.
async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}
