//! The terminal itself: reading one line of a Form (echo off for passwords) so
//! that the end of input (Ctrl-D) is seen, and putting the terminal back the
//! way it was when a signal ends the run. Nothing here prints.

use std::io::BufRead as _;

/// The terminal settings of stdin when the run started, to restore on a signal.
pub struct Saved(#[cfg(unix)] Option<rustix::termios::Termios>);

/// Takes note of stdin's terminal settings (nothing when stdin is not a terminal).
pub fn save() -> Saved {
    #[cfg(unix)]
    {
        Saved(rustix::termios::tcgetattr(std::io::stdin()).ok())
    }
    #[cfg(not(unix))]
    Saved()
}

impl Saved {
    /// Puts the settings back: echo on, line mode, whatever a prompt changed.
    pub fn restore(&self) {
        #[cfg(unix)]
        if let Some(termios) = &self.0 {
            let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, termios);
        }
    }
}

/// One line typed at the terminal, without its line end; `None` at the end of
/// input (Ctrl-D on an empty line). `prompt` is called once the terminal is set up.
pub fn read_line(hidden: bool, prompt: impl FnOnce()) -> std::io::Result<Option<String>> {
    #[cfg(unix)]
    let _echo = if hidden { Some(EchoOff::new()?) } else { None };
    #[cfg(not(unix))]
    if hidden {
        prompt();
        // No end of input to see without termios; console hides the typing.
        return console::Term::stderr().read_secure_line().map(Some);
    }
    prompt();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let end = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(end);
    Ok(Some(line))
}

/// Echo off until dropped; the newline that ends the line is still echoed.
#[cfg(unix)]
struct EchoOff(rustix::termios::Termios);

#[cfg(unix)]
impl EchoOff {
    fn new() -> std::io::Result<EchoOff> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let original = tcgetattr(std::io::stdin())?;
        let mut quiet = original.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        quiet.local_modes.insert(LocalModes::ECHONL);
        // Now, not after a flush: a line typed ahead of the prompt is kept.
        tcsetattr(std::io::stdin(), OptionalActions::Now, &quiet)?;
        Ok(EchoOff(original))
    }
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, &self.0);
    }
}
