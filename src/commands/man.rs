//! `conntest man`: the manual page (roff), generated from the same clap
//! definitions as `--help`, so the two cannot disagree. One page: the
//! top-level synopsis and options (clap_mangen), then every command with its
//! options and examples, the exit status, and the examples.

use crate::error::Error;

/// What roff prints literally: `\` escaped, `-` a real hyphen-minus, and no
/// line read as a request.
fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with('.') || line.starts_with('\'') { format!("\\&{line}") } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sections a `Man` renders, without the preamble each render repeats.
fn section(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<String, Error> {
    let mut out = Vec::new();
    render(&mut out).map_err(|e| Error::failed(format!("cannot render the manual page: {e}")))?;
    let text = String::from_utf8_lossy(&out).into_owned();
    Ok(text.lines().filter(|l| !is_preamble(l)).map(|l| format!("{l}\n")).collect())
}

/// roff's apostrophe preamble (`.ie \n(.g .ds Aq \(aq` / `.el .ds Aq '`).
fn is_preamble(line: &str) -> bool {
    line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq")
}

/// The `Examples:` part of a command's `after_help`, as lines.
fn examples(cmd: &clap::Command) -> Vec<String> {
    let text = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
    let body = text.split("Exit codes:").next().unwrap_or_default();
    body.lines().skip_while(|l| !l.starts_with("Examples:")).skip(1).map(|l| l.trim_end().to_string()).collect()
}

/// `.TP` entries for a command's own options and arguments (not the global ones).
fn options(cmd: &clap::Command, out: &mut String) {
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set() && !a.is_global_set()) {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let values: Vec<String> =
            arg.get_value_names().unwrap_or_default().iter().map(|v| format!("\\fI<{}>\\fR", escape(v))).collect();
        let mut names: Vec<String> = Vec::new();
        if let Some(s) = arg.get_short() {
            names.push(format!("\\fB\\-{s}\\fR"));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("\\fB\\-\\-{}\\fR", escape(l)));
        }
        let head = if arg.is_positional() {
            values.join(" ")
        } else if arg.get_action().takes_values() {
            format!("{} {}", names.join(", "), values.join(" "))
        } else {
            names.join(", ")
        };
        out.push_str(&format!(".TP\n{head}\n"));
        if let Some(help) = arg.get_help() {
            out.push_str(&format!("{}\n", escape(&help.to_string())));
        }
        let possible: Vec<String> = arg.get_possible_values().iter().map(|p| p.get_name().to_string()).collect();
        if arg.get_action().takes_values() && !possible.is_empty() {
            out.push_str(&format!(".br\nOne of: {}\n", escape(&possible.join(", "))));
        }
    }
}

/// A `.SS` block for every command that runs something, depth first.
fn commands(cmd: &clap::Command, path: &str, out: &mut String) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help" && !s.is_hide_set()) {
        let path = format!("{path} {}", sub.get_name());
        if sub.has_subcommands() {
            commands(sub, &path, out);
            continue;
        }
        out.push_str(&format!(".SS \"{}\"\n", escape(&path)));
        if let Some(about) = sub.get_about() {
            out.push_str(&format!("{}\n", escape(&about.to_string())));
        }
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim();
        out.push_str(&format!(".PP\n.nf\n\\fB{}\\fR\n.fi\n", escape(usage)));
        options(sub, out);
        let lines = examples(sub);
        if !lines.is_empty() {
            out.push_str(&format!(".PP\nExamples:\n.nf\n{}\n.fi\n", escape(lines.join("\n").trim_end())));
        }
    }
}

pub fn run() -> Result<(), Error> {
    let mut cmd = crate::cli::command();
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let title = section(|w| man.render_title(w))?;
    let mut page = title;
    // `.TH` first, as every man page starts; the preamble is valid after it.
    page.push_str(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n");
    page.push_str(&section(|w| man.render_name_section(w))?);
    page.push_str(&section(|w| man.render_synopsis_section(w))?);
    page.push_str(&section(|w| man.render_description_section(w))?);
    page.push_str(&section(|w| man.render_options_section(w))?);
    page.push_str(".SH COMMANDS\n");
    commands(&cmd, "conntest", &mut page);
    page.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in crate::cli::EXIT_CODES {
        page.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", escape(code), escape(meaning)));
    }
    page.push_str(".PP\nWith several connectors, the most severe code seen, in the order 2, 1, 3, 4, 5, 0: a broken connector (1) and a server that is down (5) exit 1.\n");
    page.push_str(&format!(".SH EXAMPLES\n.nf\n{}\n.fi\n", escape(examples(&cmd).join("\n").trim_end())));
    page.push_str(&section(|w| man.render_version_section(w))?);
    crate::output::raw_out(page.trim_end());
    Ok(())
}
