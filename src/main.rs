//! conntest: parse the command line, dispatch, report the error, exit.

mod browser;
mod cache;
mod cli;
mod clock;
mod commands;
mod connector;
mod context;
mod demo;
mod error;
mod flow;
#[cfg(test)]
mod fuzz;
mod http;
mod js;
#[cfg(target_os = "linux")]
mod keystore;
mod listener;
mod ntlm;
mod oauth;
mod oauth1;
mod outcome;
mod prompt;
mod report;
mod request;
mod secret;
mod starter;
mod steps;
mod template;
mod terminal;
mod vars;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::parse();
    let no_color = cli.global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    secret::masker().set_reveal(cli.global.reveal);
    match commands::run(cli) {
        Ok(()) => ExitCode::from(error::EXIT_OK),
        Err(e) => {
            if !matches!(e, error::Error::Reported { .. }) {
                report::err(&format!("{} {e}", console::style("error:").red().bold()));
                if let Some(hint) = e.hint() {
                    report::err(&format!("  {} {hint}", console::style("hint:").cyan()));
                }
            }
            ExitCode::from(e.exit_code())
        }
    }
}
