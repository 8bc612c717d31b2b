//! GitHub Actions workflow commands (`::error file=F,line=L,col=C::message`)
//! for validation errors and failed connectors, so they show on the pull
//! request; only when `GITHUB_ACTIONS=true`. The runner reads them on either
//! stream: on stdout in text mode, on stderr when stdout holds a JSON document.

use crate::connector::diagnostic::Invalid;
use crate::outcome::RunResult;
use crate::secret::masker;

/// Whether this run is a GitHub Actions job.
pub fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// A property value: `%`, CR, LF, `:` and `,` escaped as the runner expects.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A message: `%`, CR and LF escaped (a multi-line message stays one command).
fn data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn error(file: &str, line: usize, col: usize, message: &str) -> String {
    format!("::error file={},line={line},col={col}::{}", property(file), data(&masker().mask(message)))
}

fn print(stdout: bool, line: &str) {
    if stdout { crate::output::out(line) } else { crate::output::err(line) }
}

/// One command per diagnostic of an invalid file.
pub fn invalid(inv: &Invalid, stdout: bool) {
    if !enabled() {
        return;
    }
    let file = inv.file.display().to_string();
    for d in &inv.diagnostics {
        let message = if d.hint.is_empty() { d.message.clone() } else { format!("{} (hint: {})", d.message, d.hint) };
        print(stdout, &error(&file, d.line, d.column, &message));
    }
}

/// One command per failed result, at the failing step's `id:` line when the
/// file shows one (else line 1).
pub fn failed(results: &[RunResult], stdout: bool) {
    if !enabled() {
        return;
    }
    for r in results.iter().filter(|r| !r.ok && r.diagnostics.is_none()) {
        let step = r.steps.iter().rev().find(|s| !s.ok).map(|s| s.id.as_str());
        let (line, col) = step.and_then(|id| position_of(&r.file, id)).unwrap_or((1, 1));
        let mut message = format!("{} {}: {}", r.connector, r.flow, r.error.as_deref().unwrap_or("failed"));
        if let Some(hint) = &r.hint {
            message = format!("{message} (hint: {hint})");
        }
        print(stdout, &error(&r.file, line, col, &message));
    }
}

/// The line and column of `id: STEP` in the file (the step's first line).
fn position_of(file: &str, step: &str) -> Option<(usize, usize)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().enumerate().find_map(|(i, l)| {
        let at = l.find(&format!("id: {step}"))?;
        let rest = &l[at + 4 + step.len()..];
        rest.chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '_').then_some((i + 1, at + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(error("a,b:c.yaml", 3, 5, "50%\nnext"), "::error file=a%2Cb%3Ac.yaml,line=3,col=5::50%25%0Anext");
    }
}
