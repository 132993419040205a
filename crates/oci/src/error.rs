//! What can go wrong talking to a registry: [`Error`], with the
//! operation it happened in. No variant holds a credential: a registry's
//! own message is kept only with every secret this client knows cut out.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

/// A data-plane failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The registry answered with an error status (after retries).
    Status {
        /// The operation (`manifest_get`, `blob_get`, …).
        operation: &'static str,
        /// The status.
        status: StatusCode,
        /// The first code of the spec's error envelope (`MANIFEST_UNKNOWN`,
        /// `DENIED`, …), when the body had one.
        code: Option<String>,
        /// Its message, secrets cut out.
        message: Option<String>,
        /// How long the registry asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The request did not get an answer (connection, timeout, a body cut
    /// off), after retries.
    Transport {
        /// The operation.
        operation: &'static str,
        /// What reqwest said.
        source: reqwest::Error,
    },
    /// The login failed: the token endpoint refused, or answered no
    /// token.
    Login {
        /// The operation that needed it.
        operation: &'static str,
        /// Why.
        reason: String,
    },
    /// A manifest (or another bounded answer) was larger than the bound.
    TooLarge {
        /// The operation.
        operation: &'static str,
        /// The bound, in bytes.
        limit: usize,
    },
    /// Content did not hash to the digest it was asked for by.
    DigestMismatch {
        /// What was asked for.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// A manifest of a media type this client does not read.
    UnknownMediaType {
        /// The media type (or `unknown` when none was given).
        media_type: String,
    },
    /// An answer that breaks the spec (a manifest that does not parse, a
    /// missing `Location`), or input that cannot be sent.
    Invalid(String),
}

impl Error {
    /// The status the registry answered with, when it did.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the registry said the thing does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// The spec's error code, when the registry gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Status {
                operation,
                status,
                code,
                message,
                ..
            } => {
                write!(f, "{operation}: the registry answered {status}")?;
                if let Some(code) = code {
                    write!(f, " {code}")?;
                }
                if let Some(message) = message.as_deref().filter(|m| !m.is_empty()) {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            Error::Transport { operation, source } => {
                write!(f, "{operation}: no answer from the registry: {source}")
            }
            Error::Login { operation, reason } => write!(f, "{operation}: login failed: {reason}"),
            Error::TooLarge { operation, limit } => {
                write!(f, "{operation}: the answer is larger than {limit} bytes")
            }
            Error::DigestMismatch { expected, actual } => {
                write!(f, "content asked for as {expected} hashes to {actual}")
            }
            Error::UnknownMediaType { media_type } => {
                write!(
                    f,
                    "a manifest of media type {media_type}, which regkit does not read"
                )
            }
            Error::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
