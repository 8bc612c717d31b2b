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
    match cli.command {
        Command::Validate { connectors } => validate::run(&g, &connectors),
        Command::Schema => schema::run(),
        Command::Completions { shell } => completions::run(shell),
        Command::List => runtime()?.block_on(list::run(&g)),
        Command::Test(TestCommand::Auth(args)) => runtime()?.block_on(test::run(&g, Flow::Auth, &args, false)),
        Command::Test(TestCommand::Refresh { args, auth_first }) => {
            runtime()?.block_on(test::run(&g, Flow::Refresh, &args, auth_first))
        }
        Command::Test(TestCommand::Api(args)) => runtime()?.block_on(test::run(&g, Flow::Api, &args, false)),
        Command::Cache(CacheCommand::Show { connector }) => runtime()?.block_on(cache::show(&g, &connector)),
        Command::Cache(CacheCommand::Clear { connectors, all }) => {
            runtime()?.block_on(cache::clear(&g, &connectors, all))
        }
        Command::Demo => runtime()?.block_on(demo::run(&g)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::environment(format!("cannot start the async runtime: {e}"), None))
}
