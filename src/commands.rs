//! One module per subcommand; this file only dispatches.

pub mod cache;
pub mod completions;
pub mod demo;
pub mod list;
pub mod schema;
pub mod test;
pub mod validate;

use crate::cli::{CacheCommand, Cli, Command, TestCommand};
use crate::error::Error;
use crate::flow::Flow;

pub fn run(cli: Cli) -> Result<(), Error> {
    let g = cli.global;
    let uses_cache = matches!(cli.command, Command::List | Command::Test(_) | Command::Cache(_) | Command::Demo);
    if uses_cache && !g.no_cache {
        crate::cache::check_env().map_err(|e| Error::usage(e, Some("fix or unset the variable".to_string())))?;
    }
    let result = match cli.command {
        Command::Validate { connectors } => validate::run(&g, &connectors),
        Command::Schema => schema::run(),
        Command::Completions { shell } => completions::run(shell),
        Command::List => block_on(list::run(&g)),
        Command::Test(TestCommand::Auth(args)) => block_on(test::run(&g, Flow::Auth, &args, false)),
        Command::Test(TestCommand::Refresh { args, auth_first }) => {
            block_on(test::run(&g, Flow::Refresh, &args, auth_first))
        }
        Command::Test(TestCommand::Api(args)) => block_on(test::run(&g, Flow::Api, &args, false)),
        Command::Cache(CacheCommand::Show { connector }) => block_on(cache::show(&g, &connector)),
        Command::Cache(CacheCommand::Clear { connectors, all }) => block_on(cache::clear(&g, &connectors, all)),
        Command::Demo => block_on(demo::run(&g)),
    };
    // A report that could not be written is a failure even when the run passed;
    // a failed run keeps its own exit code, and the lost report is still said.
    match (result, crate::report::finish_stdout()) {
        (Err(e), Err(lost)) => {
            crate::report::warn(&lost.to_string());
            Err(e)
        }
        (result, written) => result.and(written),
    }
}

/// Runs a command on a fresh runtime; a keyring call that never returned
/// (it has already timed out) does not hold the process open on the way out.
///
/// SIGINT and SIGTERM end the command (a prompt waiting for a line included)
/// with the terminal put back as it was: a Ctrl-C at a password prompt must
/// not leave echo off.
fn block_on(command: impl std::future::Future<Output = Result<(), Error>>) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
                    crate::report::err("");
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
