//! The one error every emulated operation answers with: a status, a
//! message and, where a provider lists them, details (Buildkite's `errors`,
//! ABEJA's `error_detail`). Provider models return it from their state
//! transitions; each provider renders it as its own error body. Nothing
//! here serves HTTP: the status is the `http` crate's plain value type.

use std::fmt;

pub use axum::http::StatusCode;

/// Why an emulated API refuses a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The error body's message.
    pub message: String,
    /// What exactly was wrong, for providers whose error body lists it.
    pub details: Vec<Detail>,
}

/// One thing wrong with a request: a message, and the field it is about
/// when the provider names fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    /// The request field, if the message is about one.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// `404` with this message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// `409` with this message.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// The same error with one more detail.
    pub fn detail(mut self, field: Option<&str>, message: impl Into<String>) -> Self {
        self.details.push(Detail {
            field: field.map(str::to_string),
            message: message.into(),
        });
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The message for a body that does not decode. serde quotes the offending
/// value (`invalid type: string "hunter2"`, ``unknown variant `x` ``), and
/// a body may carry a credential, which the emulator never echoes: values
/// are left out, the field and what was expected stay.
pub(crate) fn body_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let mut out = String::from("invalid request body: ");
    for (i, part) in message.split('"').enumerate() {
        out.push_str(if i % 2 == 1 { "\"…\"" } else { part });
    }
    match out.split_once("unknown variant `") {
        Some((head, tail)) => {
            let rest = tail.split_once('`').map_or("", |(_, rest)| rest);
            format!("{head}unknown variant{rest}")
        }
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_errors_never_echo_a_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct B {
            n: u8,
            kind: Kind,
        }
        #[derive(Debug, serde::Deserialize)]
        enum Kind {
            A,
        }
        for body in [
            r#"{"n": "hunter2", "kind": "A"}"#,
            r#"{"n": 1, "kind": "hunter2"}"#,
        ] {
            let e = serde_json::from_str::<B>(body).unwrap_err();
            let text = body_error(&e);
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.starts_with("invalid request body: "), "{text}");
        }
    }
}
