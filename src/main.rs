//! conntest: parse the command line, dispatch, report the error, exit.

use std::process::ExitCode;

use conntest::{cli, commands, error, output, secret, signals};

fn main() -> ExitCode {
    // First: a core dump of this process could hold a typed password (or argv).
    signals::no_core_dumps();
    let cli = cli::parse();
    // After parsing: `--help` and `--version` end inside it and need no watcher.
    signals::watch();
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
                output::err(&format!("{} {e}", console::style("error:").red().bold()));
                if let Some(hint) = e.hint() {
                    output::err(&format!("  {} {hint}", console::style("hint:").cyan()));
                }
            }
            ExitCode::from(e.exit_code())
        }
    }
}
