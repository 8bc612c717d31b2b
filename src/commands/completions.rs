//! `conntest completions SHELL`: a completion script on stdout.

use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::error::Error;

pub fn run(shell: clap_complete::Shell) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "conntest", &mut script);
    crate::output::raw_out(String::from_utf8_lossy(&script).trim_end());
    Ok(())
}
