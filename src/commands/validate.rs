//! `conntest validate`: static checks of connector files, every file, every error.

use std::path::PathBuf;

use console::style;
use serde_json::json;

use crate::cli::{Format, Global};
use crate::connector::diagnostic::Invalid;
use crate::connector::load;
use crate::error::Error;
use crate::output;
use crate::report;

/// The files named by CONNECTOR arguments, or every file in the dir.
pub fn targets(g: &Global, args: &[String]) -> Result<Vec<PathBuf>, Error> {
    if args.is_empty() { load::discover(&g.dir) } else { args.iter().map(|a| load::resolve(a, &g.dir)).collect() }
}

/// Prints one invalid file's diagnostics as `file:line:col: message` with a hint.
pub fn print_invalid(inv: &Invalid, stdout: bool) {
    crate::report::annotations::invalid(inv, stdout);
    let print = if stdout { output::out } else { output::err };
    for d in &inv.diagnostics {
        print(&format!("{} {}:{}:{}: {}", style("✘").red(), inv.file.display(), d.line, d.column, d.message));
        if !d.hint.is_empty() {
            print(&format!("    {} {}", style("hint:").cyan(), d.hint));
        }
    }
}

/// Loads every file, in parallel when there are many, keeping their order.
fn load_all(files: &[PathBuf]) -> Vec<Result<String, Invalid>> {
    const PER_THREAD: usize = 64;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load = |f: &PathBuf| load::load(f).and_then(|c| client_certificate(&c, f).map(|()| c.name));
    if threads < 2 || files.len() < 2 * PER_THREAD {
        return files.iter().map(load).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            files.chunks(chunk).map(|part| scope.spawn(move || part.iter().map(load).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// A `tls:` whose paths hold no template is read and checked here, as at run
/// time: a missing file, a key of another pair or an encrypted key is invalid.
fn client_certificate(c: &crate::connector::validated::Connector, file: &std::path::Path) -> Result<(), Invalid> {
    let Some(tls) = &c.tls else { return Ok(()) };
    let (cert, key) = (tls.cert.source(), tls.key.source());
    if [cert, key].iter().any(|p| p.contains("{{") || p.contains("{%")) {
        return Ok(());
    }
    let files = crate::http::ClientFiles { cert: cert.into(), key: key.into() };
    let Err(message) = files.load() else { return Ok(()) };
    // The line of `tls:` in the file, for the editor; the model keeps no spans.
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let line = text.lines().position(|l| l.trim_start().starts_with("tls:")).map_or(1, |i| i + 1);
    let d = crate::connector::diagnostic::Diagnostic {
        line,
        column: 1,
        message,
        hint: "give a PEM certificate and its unencrypted PEM private key".into(),
    };
    Err(Invalid { file: file.to_path_buf(), connector: Some(c.name.clone()), diagnostics: vec![d] })
}

pub fn run(g: &Global, args: &[String]) -> Result<(), Error> {
    let files = targets(g, args)?;
    if files.is_empty() {
        return Err(Error::usage(
            format!("no connector files (*.yaml, *.yml) in {}", g.dir.display()),
            Some("pass --dir DIR, or name the files to check".to_string()),
        ));
    }
    let mut loaded = load_all(&files);
    let names: Vec<Option<String>> = loaded
        .iter()
        .map(|r| r.as_ref().map(|n| Some(n.clone())).unwrap_or_else(|inv| inv.connector.clone()))
        .collect();
    for (i, other) in load::same_names(&files, &names) {
        let name = names[i].clone().unwrap_or_default();
        let d = crate::connector::diagnostic::Diagnostic {
            line: 1,
            column: 1,
            message: format!("connector name `{name}` is also given by {}", other.display()),
            hint: "rename one: the name comes from `name:` or the file stem".into(),
        };
        match &mut loaded[i] {
            Err(inv) => inv.diagnostics.insert(0, d),
            ok => {
                *ok = Err(Invalid { file: files[i].clone(), connector: Some(name), diagnostics: vec![d] });
            }
        }
    }
    let invalid = loaded.iter().filter(|r| r.is_err()).count();
    match g.format {
        Format::Json => {
            for inv in loaded.iter().filter_map(|r| r.as_ref().err()) {
                crate::report::annotations::invalid(inv, false);
            }
            let results: Vec<_> = files
                .iter()
                .zip(&loaded)
                .map(|(file, r)| match r {
                    Ok(name) => {
                        json!({"file": file.display().to_string(), "connector": name, "ok": true, "errors": []})
                    }
                    Err(inv) => json!({
                        "file": file.display().to_string(), "connector": inv.connector, "ok": false,
                        "errors": inv.diagnostics,
                    }),
                })
                .collect();
            report::print_json(&json!({ "results": results }));
        }
        Format::Text => {
            // Runs of valid files go out in one write each.
            let mut valid_run = Vec::new();
            for (file, r) in files.iter().zip(&loaded) {
                match r {
                    Ok(name) => valid_run.push(format!(
                        "{} {} {}",
                        style("✔").green(),
                        file.display(),
                        style(format!("({name})")).dim()
                    )),
                    Err(inv) => {
                        output::out_lines(&std::mem::take(&mut valid_run));
                        print_invalid(inv, true);
                    }
                }
            }
            output::out_lines(&valid_run);
            let valid = files.len() - invalid;
            let line = format!("{valid} valid, {invalid} invalid");
            output::out(&if invalid == 0 { style(line).green().to_string() } else { style(line).red().to_string() });
        }
    }
    if invalid > 0 { Err(Error::Reported { code: crate::error::EXIT_USAGE }) } else { Ok(()) }
}
