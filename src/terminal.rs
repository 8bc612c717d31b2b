//! The terminal itself: putting it back the way it was when a signal ends the
//! run (a prompt may have echo off or raw mode on). dialoguer reads the Form
//! answers; this is what it does not do. Nothing here prints.

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
