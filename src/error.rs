//! The error type of every command and its one exit-code table.
//!
//! Messages are lowercase fragments that say what failed and where; hints say
//! what to do. Only `main.rs` turns an [`Error`] into a process exit code.

use std::path::PathBuf;

/// Everything passed, or nothing to do.
pub const EXIT_OK: u8 = 0;
/// A step or the test API failed: the connector does not work.
pub const EXIT_FAILED: u8 = 1;
/// Usage error, or a connector file is invalid.
pub const EXIT_USAGE: u8 = 2;
/// Input was needed but could not be asked for.
pub const EXIT_NEEDS_INPUT: u8 = 3;
/// Environment problem: keyring, port, nothing cached.
pub const EXIT_ENVIRONMENT: u8 = 4;
/// The server could not be reached or did not answer (no HTTP response came back).
pub const EXIT_UNREACHABLE: u8 = 5;
/// Ended by SIGINT (Ctrl-C): 128 + 2, as shells report it.
pub const EXIT_INTERRUPTED: u8 = 130;
/// Ended by SIGTERM: 128 + 15.
pub const EXIT_TERMINATED: u8 = 143;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Usage { message: String, hint: Option<String> },

    #[error("connector `{name}` not found in {dir}")]
    ConnectorNotFound { name: String, dir: PathBuf, available: Vec<String> },

    #[error("`{field}` needs a value, and input cannot be asked for (non-interactive)")]
    NeedsInput { step: String, field: String },

    /// The terminal closed at a Form prompt: nobody is left to answer.
    #[error("`{field}` needs a value, and the terminal's input ended")]
    InputEnded { step: String, field: String },

    /// SIGINT or SIGTERM arrived; the terminal has been restored.
    #[error("interrupted by {signal}")]
    Interrupted { signal: &'static str },

    #[error("{message}")]
    Environment { message: String, hint: Option<String> },

    /// A person (or a browser) was needed and none can be reached.
    #[error("{message}")]
    NeedsPerson { message: String, hint: Option<String> },

    #[error("{message}")]
    Failed { message: String },

    /// No HTTP answer: refused, reset, DNS, TLS, timeout.
    #[error("{message}")]
    Unreachable { message: String, hint: Option<String> },

    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },

    /// Writing the report to stdout failed (not a closed pipe).
    #[error("cannot write to stdout: {0}")]
    Stdout(String),

    #[error("prompt failed: {0}")]
    Prompt(String),

    /// The result of several runs: the highest exit code seen, already reported.
    #[error("")]
    Reported { code: u8 },
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Error::Usage { message: message.into(), hint: hint.into() }
    }

    pub fn environment(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Error::Environment { message: message.into(), hint: hint.into() }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed { message: message.into() }
    }

    /// The one place that decides how each error ends the process.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::ConnectorNotFound { .. } => EXIT_USAGE,
            Error::NeedsInput { .. } | Error::NeedsPerson { .. } | Error::InputEnded { .. } => EXIT_NEEDS_INPUT,
            Error::Interrupted { signal } => {
                if *signal == "SIGTERM" {
                    EXIT_TERMINATED
                } else {
                    EXIT_INTERRUPTED
                }
            }
            Error::Environment { .. } | Error::Write { .. } | Error::Stdout(_) => EXIT_ENVIRONMENT,
            Error::Failed { .. } | Error::Prompt(_) => EXIT_FAILED,
            Error::Unreachable { .. } => EXIT_UNREACHABLE,
            Error::Reported { code } => *code,
        }
    }

    /// What the user can do about it, printed under the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. }
            | Error::Environment { hint, .. }
            | Error::NeedsPerson { hint, .. }
            | Error::Unreachable { hint, .. } => hint.clone(),
            Error::ConnectorNotFound { available, dir, .. } => Some(if available.is_empty() {
                format!("no connectors in {}; pass a path to a .yaml file or use --dir", dir.display())
            } else {
                format!("available: {}", available.join(", "))
            }),
            Error::NeedsInput { step, field } | Error::InputEnded { step, field } => {
                Some(format!("pass --input {step}.{field}=VALUE, --input-env {step}.{field}=ENV_NAME or --inputs FILE"))
            }
            _ => None,
        }
    }
}
