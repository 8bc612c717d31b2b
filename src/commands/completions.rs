//! `conntest completions SHELL`: a completion script on stdout.

use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::error::Error;

pub fn run(shell: clap_complete::Shell) -> Result<(), Error> {
    clap_complete::generate(shell, &mut Cli::command(), "conntest", &mut std::io::stdout());
    Ok(())
}
