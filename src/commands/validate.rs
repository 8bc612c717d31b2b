//! `conntest validate`: static checks of connector files, every file, every error.

use std::path::PathBuf;

use console::style;
use serde_json::json;

use crate::cli::{Format, Global};
use crate::connector::diagnostic::Invalid;
use crate::connector::load;
use crate::error::Error;
use crate::report;

/// The files named by CONNECTOR arguments, or every file in the dir.
pub fn targets(g: &Global, args: &[String]) -> Result<Vec<PathBuf>, Error> {
    if args.is_empty() { load::discover(&g.dir) } else { args.iter().map(|a| load::resolve(a, &g.dir)).collect() }
}

/// Prints one invalid file's diagnostics as `file:line:col: message` with a hint.
pub fn print_invalid(inv: &Invalid, stdout: bool) {
    let print = if stdout { report::out } else { report::err };
    for d in &inv.diagnostics {
        print(&format!("{} {}:{}:{}: {}", style("✘").red(), inv.file.display(), d.line, d.column, d.message));
        if !d.hint.is_empty() {
            print(&format!("    {} {}", style("hint:").cyan(), d.hint));
        }
    }
}

pub fn run(g: &Global, args: &[String]) -> Result<(), Error> {
    let files = targets(g, args)?;
    let mut results = Vec::new();
    let mut invalid = 0;
    for file in &files {
        match load::load(file) {
            Ok(c) => {
                if g.format == Format::Text {
                    report::out(&format!(
                        "{} {} {}",
                        style("✔").green(),
                        file.display(),
                        style(format!("({})", c.name)).dim()
                    ));
                }
                results
                    .push(json!({"file": file.display().to_string(), "connector": c.name, "ok": true, "errors": []}));
            }
            Err(inv) => {
                invalid += 1;
                if g.format == Format::Text {
                    print_invalid(&inv, true);
                }
                results.push(json!({
                    "file": file.display().to_string(), "connector": inv.connector, "ok": false,
                    "errors": inv.diagnostics,
                }));
            }
        }
    }
    match g.format {
        Format::Json => report::print_json(&json!({ "results": results })),
        Format::Text => {
            let valid = files.len() - invalid;
            let line = format!("{valid} valid, {invalid} invalid");
            report::out(&if invalid == 0 { style(line).green().to_string() } else { style(line).red().to_string() });
        }
    }
    if invalid > 0 { Err(Error::Reported { code: crate::error::EXIT_USAGE }) } else { Ok(()) }
}
