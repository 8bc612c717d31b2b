//! The process's two streams: every line conntest writes to stdout or stderr
//! passes the one masker and is made terminal-safe here; spinners live here too.
//! The bottom layer: it knows nothing of connectors, flows or reports.

use std::sync::OnceLock;
use std::time::Duration;

use console::style;

use crate::error::Error;
use crate::secret::masker;

/// The first failed write to stdout, other than a closed pipe.
static STDOUT_ERROR: OnceLock<String> = OnceLock::new();

/// Writes a line to stdout as is. A closed pipe (`| head`) is the reader's
/// choice and not an error; any other failure (a full disk) is remembered for
/// [`finish_stdout`], so that a report nobody got does not exit 0.
pub fn raw_out(text: &str) {
    use std::io::Write as _;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{text}") {
        note_stdout_error(e);
    }
}

fn note_stdout_error(e: std::io::Error) {
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        let _ = STDOUT_ERROR.set(e.to_string());
    }
}

/// Flushes stdout; an error when any write to it failed (other than a closed pipe).
pub fn finish_stdout() -> Result<(), Error> {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().lock().flush() {
        note_stdout_error(e);
    }
    match STDOUT_ERROR.get() {
        Some(why) => Err(Error::Stdout(why.clone())),
        None => Ok(()),
    }
}

/// A line on stdout: colours only when stdout is a terminal (and colours are on).
pub fn out(line: &str) {
    raw_out(&terminal_safe(&masker().mask(line), Colour::for_stream(console::colors_enabled())));
}

/// Lines on stdout, each as [`out`] writes it, in one write (a `validate` of
/// a thousand files made a thousand).
pub fn out_lines(lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let colour = Colour::for_stream(console::colors_enabled());
    let masker = masker();
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&terminal_safe(&masker.mask(line), colour));
    }
    raw_out(&text);
}

/// A line for stderr that is never masked: the URL a person must open in a
/// browser (an OAuth 1.0a request token in it is meant for that browser).
/// Still terminal-safe.
pub fn err_unmasked(line: &str) {
    use std::io::Write as _;
    let shown = terminal_safe(line, Colour::for_stream(console::colors_enabled_stderr()));
    let _ = writeln!(std::io::stderr().lock(), "{shown}");
}

/// A line on stderr: colours only when stderr is a terminal — whatever stdout
/// is (`2>file` with stdout on a terminal gets no escape codes in the file).
pub fn err(line: &str) {
    use std::io::Write as _;
    let masked = masker().mask(line);
    let shown = terminal_safe(&masked, Colour::for_stream(console::colors_enabled_stderr()));
    let _ = writeln!(std::io::stderr().lock(), "{shown}");
}

/// What happens to a colour sequence (`ESC [ 1;32 m`) on its way out.
#[derive(Clone, Copy, PartialEq)]
enum Colour {
    /// Kept: the stream is a terminal with colours on.
    Keep,
    /// Dropped: this program styled the line, but the stream cannot show
    /// colours (text from outside reaches here already escaped).
    Drop,
    /// Shown escaped, like every other control character: text from outside.
    Escape,
}

impl Colour {
    fn for_stream(enabled: bool) -> Colour {
        if enabled { Colour::Keep } else { Colour::Drop }
    }
}

/// Text from outside (a server's body, headers or message) made safe to show
/// on a terminal: every control character escaped (`\x1b`, `\r`), newlines
/// and tabs kept. Such text could otherwise clear the screen, move the cursor
/// over earlier lines (a fake `✔ passed`), retitle the window or write the
/// clipboard (OSC 52).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(text, Colour::Escape)
}

/// The last line of defence at every write: like [`printable`], except that
/// the colour sequences this program writes itself (`ESC [ digits;… m`,
/// concealment excepted) pass while colours are on, and are dropped otherwise.
fn terminal_safe(text: &str, colour: Colour) -> std::borrow::Cow<'_, str> {
    let is_control = |c: char| (c.is_control() && c != '\n' && c != '\t') || c == '\u{2028}' || c == '\u{2029}';
    if !text.chars().any(is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && colour != Colour::Escape
            && let Some(len) = colour_sequence(rest)
        {
            if colour == Colour::Keep {
                shown.push_str(&rest[..len]);
            }
            rest = &rest[len..];
            continue;
        }
        match c {
            '\r' => shown.push_str("\\r"),
            c if is_control(c) && (c as u32) < 0x100 => shown.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_control(c) => shown.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => shown.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(shown)
}

/// The length of an SGR colour sequence (`ESC [ 1;32 m`) at the start of `text`, if it is one.
fn colour_sequence(text: &str) -> Option<usize> {
    let params = text.strip_prefix("\u{1b}[")?;
    let end = params.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    if !params[end..].starts_with('m') || end > 32 || params[..end].split(';').any(|p| p == "8") {
        return None;
    }
    Some(2 + end + 1)
}

pub fn warn(message: &str) {
    err(&format!("{} {message}", style("warning:").yellow().bold()));
}

/// A spinner on stderr while something waits; cleared when dropped.
pub struct Spinner(indicatif::ProgressBar);

pub fn spinner(label: &str) -> Spinner {
    let bar = spinner_bar(label);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    Spinner(bar)
}

pub fn spinner_bar(label: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}") {
        bar.set_style(style);
    }
    bar.set_message(printable(&masker().mask(label)).into_owned());
    bar.enable_steady_tick(Duration::from_millis(80));
    bar
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Colour, printable, terminal_safe};

    #[test]
    fn control_characters_from_outside_are_shown_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb\rc\u{7}\u{9b}d\te\nf"), "a\\x1b[2Jb\\rc\\x07\\x9bd\te\nf");
        assert_eq!(printable("plain ✔ text"), "plain ✔ text");
        assert_eq!(printable("x\u{2028}y"), "x\\u{2028}y");
    }

    #[test]
    fn only_our_colour_sequences_pass_while_colours_are_on() {
        assert_eq!(terminal_safe("\u{1b}[1;32mok\u{1b}[0m", Colour::Keep), "\u{1b}[1;32mok\u{1b}[0m");
        assert_eq!(terminal_safe("\u{1b}[1;32mok\u{1b}[0m", Colour::Escape), "\\x1b[1;32mok\\x1b[0m");
        // A stream that is not a terminal: our colours are dropped, not shown as `\x1b[…`.
        assert_eq!(terminal_safe("\u{1b}[1;32mok\u{1b}[0m", Colour::Drop), "ok");
        // Concealed text, cursor moves and OSC sequences never pass.
        assert_eq!(terminal_safe("\u{1b}[8mhidden", Colour::Keep), "\\x1b[8mhidden");
        assert_eq!(terminal_safe("\u{1b}[8mhidden", Colour::Drop), "\\x1b[8mhidden");
        assert_eq!(terminal_safe("\u{1b}[1A\u{1b}]52;c;x\u{7}", Colour::Keep), "\\x1b[1A\\x1b]52;c;x\\x07");
    }
}
