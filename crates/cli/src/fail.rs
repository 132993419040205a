//! How a command fails: a message for stderr and the exit code.

use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

/// Exit code: success, and also a reader that closed stdout early
/// (`regkit … tags web | head -1`), as Unix tools do.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error (API, credentials, files, unsupported capability).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: bad usage (flags, arguments).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: `prune --apply` did part of its work.
pub const EXIT_PARTIAL: u8 = 3;

/// A failed command. Its message never holds a secret: it is built from
/// regkit's errors, which redact credentials.
#[derive(Debug)]
pub struct Fail {
    /// The exit code.
    pub code: u8,
    /// What to print on stderr (empty: already reported).
    pub message: String,
}

impl Fail {
    /// Exit 1 with `message`.
    pub fn error(message: impl fmt::Display) -> Self {
        Fail {
            code: EXIT_ERROR,
            message: message.to_string(),
        }
    }

    /// Exit 2 with `message`.
    pub fn usage(message: impl fmt::Display) -> Self {
        Fail {
            code: EXIT_USAGE,
            message: message.to_string(),
        }
    }

    /// Exit 3, the report already printed.
    pub fn partial(message: impl fmt::Display) -> Self {
        Fail {
            code: EXIT_PARTIAL,
            message: message.to_string(),
        }
    }

    /// Exit 0 quietly: whoever read stdout closed it (`| head -1`), so the
    /// rest of the output has nowhere to go and nothing went wrong.
    pub fn stdout_closed() -> Self {
        Fail {
            code: EXIT_OK,
            message: String::new(),
        }
    }

    /// Prints the message (prefixed with the program name) and turns the
    /// code into an [`ExitCode`]. A closed stderr is ignored, never a panic.
    pub fn report(self, program: &str) -> ExitCode {
        if !self.message.is_empty() {
            let _ = writeln!(std::io::stderr(), "{program}: {}", self.message);
        }
        ExitCode::from(self.code)
    }
}

impl From<regkit_workflows::Error> for Fail {
    fn from(e: regkit_workflows::Error) -> Self {
        Fail::error(e)
    }
}

impl From<regkit_core::ConfigError> for Fail {
    fn from(e: regkit_core::ConfigError) -> Self {
        Fail::error(e)
    }
}

/// `Result` with [`Fail`].
pub type Result<T, E = Fail> = std::result::Result<T, E>;
