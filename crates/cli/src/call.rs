//! `regkit <provider> call <operation>`: every operation of every spec,
//! with its parameters as flags and its JSON body from a file or stdin.
//!
//! The per-operation code is generated from the specs by `cargo xtask
//! codegen` into `generated_calls.rs` (one table entry and one match arm per
//! operation); this module is the hand-written runtime it calls: the
//! [`command`] built from a table, parameter and body parsing, the output
//! (secrets redacted unless `--show-secrets`) and [`CallError`].
//!
//! ```no_run
//! # async fn demo(client: regkit_digitalocean::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_cli::call;
//!
//! let cmd = call::command("digitalocean", call::DIGITALOCEAN);
//! let matches = cmd.try_get_matches_from(["call", "registry_get"])?;
//! let (op, args) = matches.subcommand().ok_or("no operation")?;
//! let output = call::call_digitalocean(&client, op, args).await?;
//! println!("{}", serde_json::to_string_pretty(&output.body)?);
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::Read as _;

use clap::{Arg, ArgAction, ArgMatches, Command};
use regkit_core::ProvideErrorMetadata;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::generated_calls::{
    ABEJA, BUILDKITE, DIGITALOCEAN, HUMANITEC, IONOS, PROVIDERS, call_abeja, call_buildkite,
    call_digitalocean, call_humanitec, call_ionos,
};

/// One operation of a provider's spec.
#[derive(Debug)]
pub struct Operation {
    /// The `operationId`, as the spec spells it; also the subcommand's name.
    pub id: &'static str,
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// The path template.
    pub path: &'static str,
    /// The spec's summary.
    pub summary: &'static str,
    /// Path, query and header parameters, in spec order.
    pub params: &'static [Param],
    /// The JSON request body, when the operation takes one.
    pub body: Option<BodySpec>,
    /// JSON pointers (`*` = any key or index) of secret values in the
    /// success body; redacted unless `--show-secrets`.
    pub secrets: &'static [&'static str],
    /// Implemented by hand in the provider crate (not callable here).
    pub handwritten: bool,
}

/// One parameter of an operation.
#[derive(Debug)]
pub struct Param {
    /// The name in the spec (also the clap argument id).
    pub name: &'static str,
    /// The flag, kebab case: `--registry-name`.
    pub flag: &'static str,
    /// Whether the spec requires it.
    pub required: bool,
    /// `path`, `query` or `header`.
    pub location: &'static str,
    /// The type, for `--help`: `string`, `integer`, `one of a, b`, …
    pub ty: &'static str,
}

/// An operation's JSON request body.
#[derive(Debug)]
pub struct BodySpec {
    /// The schema's name.
    pub ty: &'static str,
    /// Whether the spec requires it.
    pub required: bool,
}

/// The success answer of a call: its status and its body as JSON (`null`
/// for an answer without one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallOutput {
    /// HTTP status.
    pub status: u16,
    /// The decoded body, serialised back to JSON.
    pub body: serde_json::Value,
    /// Whether secret values were replaced by `[REDACTED]`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

/// Why a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError {
    /// The provider has no operation of that name.
    UnknownOperation {
        /// What was asked for.
        operation: String,
    },
    /// The operation is implemented by hand in the provider crate.
    Unavailable {
        /// The provider's name.
        provider: &'static str,
        /// The operation.
        operation: &'static str,
    },
    /// A parameter's value does not parse as its type.
    InvalidParam {
        /// The flag, without `--`.
        flag: String,
        /// What is wrong.
        message: String,
    },
    /// The body file cannot be read or is not the operation's JSON body.
    InvalidBody {
        /// The file (`-` for stdin).
        source: String,
        /// What is wrong (values quoted by serde are left out).
        message: String,
    },
    /// The request was sent and failed, or could not be sent: regkit-core's
    /// error, whose Display is one line (status, the provider's message,
    /// request id) and never shows a credential.
    Api(Box<dyn ProvideErrorMetadata>),
    /// The answer could not be turned into JSON.
    Output(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownOperation { operation } => {
                write!(f, "no operation `{operation}`; `call --help` lists them")
            }
            Self::Unavailable {
                provider,
                operation,
            } => write!(
                f,
                "`{operation}` is implemented by hand in regkit-{provider} (its body is not \
                 JSON) and cannot be sent through `call`; use the library's \
                 `Client::{operation}`"
            ),
            Self::InvalidParam { flag, message } => {
                write!(f, "invalid value for --{flag}: {message}")
            }
            Self::InvalidBody { source, message } => {
                let source = if source == "-" { "stdin" } else { source };
                write!(f, "invalid body in {source}: {message}")
            }
            Self::Api(e) => fmt::Display::fmt(e, f),
            Self::Output(message) => write!(f, "cannot show the answer as JSON: {message}"),
        }
    }
}

impl std::error::Error for CallError {}

/// The `call` subcommand for one provider: one subcommand per operation,
/// named by its `operationId`, its parameters as `--flags` (required ones
/// required), `--body FILE` (`-` for stdin) when it takes a JSON body, and
/// `--show-secrets` when its answer carries secrets.
pub fn command(provider: &str, ops: &'static [Operation]) -> Command {
    Command::new("call")
        .about(format!(
            "Call any operation of the {provider} API, with its parameters as flags"
        ))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand_value_name("OPERATION")
        .subcommands(ops.iter().map(operation_command))
}

fn operation_command(op: &'static Operation) -> Command {
    let mut about = format!("{} {}", op.method, op.path);
    if !op.summary.is_empty() {
        about = format!("{}  ({about})", op.summary);
    }
    if op.handwritten {
        about.push_str(" [implemented by hand in the library; not callable here]");
    }
    let mut cmd = Command::new(op.id).about(about);
    for p in op.params {
        cmd = cmd.arg(
            Arg::new(p.name)
                .long(p.flag)
                .required(p.required)
                .action(ArgAction::Set)
                // `--limit -1` is a value for --limit (which parse_param
                // then judges, naming the flag), not an unknown flag `-1`.
                .allow_negative_numbers(true)
                .help(format!("{} parameter `{}`: {}", p.location, p.name, p.ty)),
        );
    }
    if let Some(body) = &op.body {
        cmd = cmd.arg(
            Arg::new("body")
                .long("body")
                .value_name("FILE")
                .required(body.required)
                .action(ArgAction::Set)
                .help(format!(
                    "JSON request body ({}) from FILE, or `-` for stdin",
                    body.ty
                )),
        );
    }
    if !op.secrets.is_empty() {
        cmd = cmd.arg(
            Arg::new("show-secrets")
                .long("show-secrets")
                .action(ArgAction::SetTrue)
                .help("Print the secret values of the answer instead of [REDACTED]"),
        );
    }
    cmd
}

/// The operation named `id` in `ops`.
pub fn find(ops: &'static [Operation], id: &str) -> Result<&'static Operation, CallError> {
    ops.iter()
        .find(|op| op.id == id)
        .ok_or_else(|| CallError::UnknownOperation {
            operation: id.to_owned(),
        })
}

/// The operations of a provider, by name.
pub fn operations(provider: &str) -> Option<&'static [Operation]> {
    PROVIDERS
        .iter()
        .find(|(name, _)| *name == provider)
        .map(|(_, ops)| *ops)
}

/// The value given for a parameter (by its spec name), if any.
pub fn value<'a>(args: &'a ArgMatches, name: &str) -> Option<&'a str> {
    args.try_get_one::<String>(name)
        .ok()
        .flatten()
        .map(String::as_str)
}

/// A parameter value as its type: first as a JSON string (`abc`, enum
/// values, times), then as JSON text (`10`, `true`, `["a","b"]`).
pub fn parse_param<T: DeserializeOwned>(flag: &str, value: &str) -> Result<T, CallError> {
    match serde_json::from_value(serde_json::Value::String(value.to_owned())) {
        Ok(v) => Ok(v),
        Err(as_string) => serde_json::from_str(value).map_err(|as_json| {
            // When the value is JSON (`0`, `[1]`), what its JSON reading
            // says is the useful message; otherwise the string reading's.
            let is_json = serde_json::from_str::<serde_json::Value>(value).is_ok();
            let message = if is_json { as_json } else { as_string };
            CallError::InvalidParam {
                flag: flag.to_owned(),
                message: integer_message(value, message.to_string()),
            }
        }),
    }
}

/// serde's message about a flag's value, for people: without serde_json's
/// position (`at line 1 column 23`: the value is one line), and, as serde
/// reads a whole number too large for 64 bits as a float (`invalid type:
/// floating point `1e23`, expected i32`), saying that it is out of range.
fn integer_message(value: &str, message: String) -> String {
    let message = match message.rsplit_once(" at line ") {
        Some((head, position))
            if position
                .split(" column ")
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            head.to_string()
        }
        _ => message,
    };
    let digits = value.trim().strip_prefix('-').unwrap_or(value.trim());
    let whole = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match message.split_once("floating point") {
        Some((_, rest)) if whole => {
            let expected = rest.split_once("expected ").map_or("", |(_, e)| e);
            format!("`{value}` is out of range (expected {expected})")
        }
        _ => message,
    }
}

/// The `--body` file (`-` for stdin) as the operation's body type, when
/// given.
pub fn read_body<T: DeserializeOwned>(args: &ArgMatches) -> Result<Option<T>, CallError> {
    let Some(source) = value(args, "body") else {
        return Ok(None);
    };
    let invalid = |message: String| CallError::InvalidBody {
        source: source.to_owned(),
        message,
    };
    let mut text = Vec::new();
    if source == "-" {
        std::io::stdin()
            .read_to_end(&mut text)
            .map_err(|e| invalid(format!("cannot read: {e}")))?;
    } else {
        text = std::fs::read(source).map_err(|e| invalid(format!("cannot read: {e}")))?;
    }
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| invalid(unquote(&e.to_string())))
}

/// serde quotes the offending value (`invalid type: string "hunter2"`); a
/// body may carry a secret, so quoted values are left out of the message.
fn unquote(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        if i % 2 == 1 {
            out.push_str(part);
        } else {
            out.push_str("\"…\"");
        }
    }
    out
}

/// A failed request as a [`CallError::Api`], whole: status, request id,
/// retry hints and regkit-core's redacted one line.
pub fn api_error<E>(e: regkit_core::Error<E>) -> CallError
where
    E: regkit_core::ErrorMetadata + fmt::Debug + Send + Sync + 'static,
{
    CallError::Api(Box::new(e))
}

/// The error for an operation `call` cannot send.
pub fn unavailable(provider: &'static str, op: &'static Operation) -> CallError {
    CallError::Unavailable {
        provider,
        operation: op.id,
    }
}

/// A success answer as [`CallOutput`]: its value as JSON, the operation's
/// secret values replaced by `[REDACTED]` unless `--show-secrets`.
pub fn output<T: Serialize>(
    op: &Operation,
    args: &ArgMatches,
    status: u16,
    value: T,
) -> Result<CallOutput, CallError> {
    let mut body = serde_json::to_value(value).map_err(|e| CallError::Output(e.to_string()))?;
    let show = args
        .try_get_one::<bool>("show-secrets")
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false);
    let mut redacted = false;
    if !show {
        for pointer in op.secrets {
            redacted |= redact(&mut body, pointer);
        }
    }
    Ok(CallOutput {
        status,
        body,
        redacted,
    })
}

/// Replaces the values at `pointer` (RFC 6901, `*` for every key or index)
/// with `"[REDACTED]"`; whether any was there.
pub fn redact(value: &mut serde_json::Value, pointer: &str) -> bool {
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    redact_at(value, &segments)
}

fn redact_at(value: &mut serde_json::Value, segments: &[String]) -> bool {
    use serde_json::Value;
    let Some((first, rest)) = segments.split_first() else {
        if value.is_null() {
            return false;
        }
        *value = Value::String("[REDACTED]".into());
        return true;
    };
    match (value, first.as_str()) {
        (Value::Object(map), "*") => map
            .values_mut()
            .fold(false, |any, v| redact_at(v, rest) | any),
        (Value::Array(items), "*") => items
            .iter_mut()
            .fold(false, |any, v| redact_at(v, rest) | any),
        (Value::Object(map), key) => map.get_mut(key).is_some_and(|v| redact_at(v, rest)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_as_strings_then_as_json() {
        assert_eq!(parse_param::<String>("name", "10").unwrap(), "10");
        assert_eq!(parse_param::<u64>("page", "10").unwrap(), 10);
        assert!(parse_param::<bool>("flag", "true").unwrap());
        assert_eq!(
            parse_param::<Vec<String>>("names", r#"["a","b"]"#).unwrap(),
            ["a", "b"]
        );
        let err = parse_param::<i32>("limit", "99999999999999999999999").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for --limit: `99999999999999999999999` is out of range (expected i32)"
        );
        let err = parse_param::<u64>("expiry-seconds", "-1").unwrap_err();
        assert!(
            err.to_string()
                == "invalid value for --expiry-seconds: invalid value: integer `-1`, expected u64",
            "{err}"
        );
        let err = parse_param::<std::num::NonZeroU64>("per-page", "zero").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid value for --per-page: ")
        );
    }

    #[test]
    fn redacts_through_maps_and_lists() {
        let mut v = serde_json::json!({
            "auths": {"a": {"auth": "s1"}, "b": {"auth": "s2", "other": 1}, "c": {}},
            "list": [{"token": "t"}, {"token": null}]
        });
        assert!(redact(&mut v, "/auths/*/auth"));
        assert!(redact(&mut v, "/list/*/token"));
        assert!(!redact(&mut v, "/missing/x"));
        let text = v.to_string();
        for secret in ["s1", "s2", "\"t\""] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(v["list"][1]["token"], serde_json::Value::Null);
        assert_eq!(v["auths"]["b"]["other"], 1);
    }

    #[test]
    fn body_errors_leave_quoted_values_out() {
        assert_eq!(
            unquote(r#"invalid type: string "hunter2", expected u64 at line 1 column 20"#),
            "invalid type: string \"…\", expected u64 at line 1 column 20"
        );
    }
}
