//! conntest: parse the command line, dispatch, report the error, exit.
//!
//! On Linux the C `main` below stands in for std's start-up (`lang_start`),
//! which spends a sixth of a `--version` run (0.15 ms) finding the main
//! thread's stack guard by parsing /proc/self/maps — only so that a stack
//! overflow prints a message before the process dies of it.
//! `signals::start_process` does the rest of what std's start-up does:
//! SIGPIPE ignored, closed standard streams opened on /dev/null.
// (Not under `cargo test`, whose harness brings its own `main`.)
#![cfg_attr(all(target_os = "linux", not(test)), no_main)]

use conntest::{cli, commands, error, output, secret, signals};

#[cfg(all(target_os = "linux", not(test)))]
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    signals::start_process();
    // A panic has printed its message; 101 as under std's start-up.
    let code = std::panic::catch_unwind(run).unwrap_or(101);
    // `exit` flushes stdout, as returning from std's `main` does.
    std::process::exit(code.into())
}

#[cfg(any(not(target_os = "linux"), test))]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(run())
}

fn run() -> u8 {
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
        Ok(()) => error::EXIT_OK,
        Err(e) => {
            if !matches!(e, error::Error::Reported { .. }) {
                output::err(&format!("{} {e}", console::style("error:").red().bold()));
                if let Some(hint) = e.hint() {
                    output::err(&format!("  {} {hint}", console::style("hint:").cyan()));
                }
            }
            e.exit_code()
        }
    }
}
