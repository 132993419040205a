//! How a command fails: a message for stderr and the exit code. Errors
//! are sorted into classes here, and only here: each class has its exit
//! code and the hint that says what to do.

use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

use regkit_core::ProvideErrorMetadata;

/// Exit code: success, and also a reader that closed stdout early
/// (`regkit … tags web | head -1`), as Unix tools do.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error (API, credentials, files, unsupported capability).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: bad usage (flags, arguments).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: `prune --apply` did part of its work.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code: no credentials were found, or the provider refused them
/// (401) or found them short of a permission (403).
pub const EXIT_AUTH: u8 = 4;
/// Exit code: the provider says what was named does not exist (404).
pub const EXIT_NOT_FOUND: u8 = 5;
/// Exit code: the provider is rate limiting (429) or did not answer in a
/// way that may change (5xx, timeouts, connections, after the retries):
/// the same command may succeed later.
pub const EXIT_TRY_LATER: u8 = 6;

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

    /// The same failure, its message prefixed with what was being done
    /// (`listing tags failed: …`); the exit code stays its class's.
    pub fn context(mut self, doing: impl fmt::Display) -> Self {
        if !self.message.is_empty() {
            self.message = format!("{doing}: {}", self.message);
        }
        self
    }

    /// A provider call that failed, `text` being what to say of it (the
    /// error's own one line, or that line with what was being done): the
    /// exit code of its class, and a hint where one helps. The request id
    /// is part of regkit-core's line.
    pub fn api(e: &dyn ProvideErrorMetadata, text: impl fmt::Display) -> Self {
        let (code, hint) = classify(e);
        let message = match hint {
            Some(hint) => format!("{text}\nhint: {hint}"),
            None => text.to_string(),
        };
        Fail { code, message }
    }
}

/// The exit code and hint of an API error's class.
fn classify(e: &dyn ProvideErrorMetadata) -> (u8, Option<String>) {
    let name = e.provider().map_or("the provider", |p| p.display_name);
    match e.status().map(|s| s.as_u16()) {
        Some(401) => (
            EXIT_AUTH,
            Some(match e.provider() {
                Some(p) => format!(
                    "{name} refused the credentials; check {}",
                    p.credential_env_text()
                ),
                None => "the provider refused the credentials".to_string(),
            }),
        ),
        Some(403) => (
            EXIT_AUTH,
            Some(format!(
                "{name} accepted the credentials but they lack a permission this needs \
                 (check the token's scopes or role)"
            )),
        ),
        Some(404) => (EXIT_NOT_FOUND, None),
        Some(429) => (EXIT_TRY_LATER, Some(try_later(e, "is rate limiting"))),
        _ if e.is_retryable() => (EXIT_TRY_LATER, Some(try_later(e, "did not answer"))),
        _ => (EXIT_ERROR, None),
    }
}

fn try_later(e: &dyn ProvideErrorMetadata, what: &str) -> String {
    let name = e.provider().map_or("the provider", |p| p.display_name);
    match e.retry_after() {
        Some(wait) => format!(
            "{name} {what}; try again in {} s",
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        ),
        None => format!("{name} {what}; try again later"),
    }
}

impl From<regkit_workflows::Error> for Fail {
    fn from(e: regkit_workflows::Error) -> Self {
        use regkit_workflows::Error;
        match &e {
            Error::Api(api) => Fail::api(api.as_ref(), &e),
            Error::Timeout { .. } | Error::GcStalled { .. } => Fail {
                code: EXIT_TRY_LATER,
                message: e.to_string(),
            },
            _ => Fail::error(e),
        }
    }
}

/// A listing (`ls REGISTRY`, `tags`) that broke off: the workflow's error,
/// classed as any other, said to be the listing's.
pub fn listing_failed(what: &str, e: regkit_workflows::Error) -> Fail {
    Fail::from(e).context(format_args!("listing {what} failed"))
}

impl From<regkit_core::ConfigError> for Fail {
    fn from(e: regkit_core::ConfigError) -> Self {
        match e {
            regkit_core::ConfigError::MissingCredentials { .. } => Fail {
                code: EXIT_AUTH,
                message: e.to_string(),
            },
            _ => Fail::error(e),
        }
    }
}

/// `Result` with [`Fail`].
pub type Result<T, E = Fail> = std::result::Result<T, E>;
