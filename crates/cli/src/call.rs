//! `regkit <provider> call <operation>`: every operation of every spec,
//! with its parameters as flags and its JSON body from a file or stdin.
//!
//! The per-operation code is generated from the specs by `cargo xtask
//! codegen` into `generated_calls/<provider>.rs` (one table entry and one
//! match arm per operation; [`crate::call_table`] gathers them); this
//! module is the hand-written runtime it calls: the types of the tables
//! ([`Operation`], [`Method`], [`Location`], [`ParamType`]), the
//! [`command`] built from a table (each parameter's value parsed by clap
//! with its type's [`ParamType::value_parser`], so a bad value is clap's
//! usage error naming the flag), the body file, the output (secrets
//! redacted unless `--show-secrets`) and [`CallError`].
//!
//! ```no_run
//! # async fn demo(client: regkit_digitalocean::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_cli::{call, call_table};
//!
//! let cmd = call::command("digitalocean", call_table::DIGITALOCEAN);
//! let matches = cmd.try_get_matches_from(["call", "registry_get"])?;
//! let (op, args) = matches.subcommand().ok_or("no operation")?;
//! let output = call_table::call_digitalocean(&client, op, args).await?;
//! println!("{}", serde_json::to_string_pretty(&output.body)?);
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::Read as _;

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, ArgMatches, Command};
use regkit_core::ProvideErrorMetadata;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One operation of a provider's spec.
#[derive(Debug)]
pub struct Operation {
    /// The `operationId`, as the spec spells it; also the subcommand's name.
    pub id: &'static str,
    /// The HTTP method.
    pub method: Method,
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
    /// Where the value goes.
    pub location: Location,
    /// The value's type: its clap value parser, and the Rust type the
    /// client's setter takes.
    pub ty: ParamType,
}

/// An operation's HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `PUT`
    Put,
    /// `POST`
    Post,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
}

impl Method {
    /// Upper case, as on the wire: `GET`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Post => "POST",
            Self::Delete => "DELETE",
            Self::Patch => "PATCH",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
            Self::Trace => "TRACE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a parameter goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A segment of the path template (always required).
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
}

impl Location {
    /// `path`, `query` or `header`, as the spec spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parameter's type: the Rust type the generated client's setter takes
/// (typify's choice for the spec's schema), parsed by clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamType {
    /// `type: string`: `String`, any text.
    String,
    /// `type: boolean`: `bool`, `true` or `false`.
    Boolean,
    /// `type: integer, format: int32`: `i32`.
    I32,
    /// `type: integer` without bounds: `i64`.
    I64,
    /// `type: integer, minimum: 0`: `u64`.
    U64,
    /// `type: integer, minimum: 1`: `NonZeroU64`.
    NonZeroU64,
}

impl ParamType {
    /// Whether it is one of the integer types.
    pub const fn is_integer(self) -> bool {
        matches!(self, Self::I32 | Self::I64 | Self::U64 | Self::NonZeroU64)
    }

    /// The clap value parser of the flag: its values are this Rust type in
    /// the `ArgMatches`, and a value that does not parse is clap's usage
    /// error, naming the flag and the value.
    pub fn value_parser(self) -> ValueParser {
        match self {
            Self::String => clap::value_parser!(String),
            Self::Boolean => clap::value_parser!(bool),
            Self::I32 => clap::value_parser!(i32).into(),
            Self::I64 => clap::value_parser!(i64).into(),
            Self::U64 => AtLeast(0).into(),
            Self::NonZeroU64 => clap::builder::TypedValueParser::try_map(AtLeast(1), |n| {
                std::num::NonZeroU64::try_from(n)
            })
            .into(),
        }
    }
}

/// A `u64` of at least `.0`. clap's own `u64` parser calls `-1` an
/// "invalid digit"; this one says that a value below the minimum (`-1`, or
/// `0` for a minimum of 1) is below it, in clap's format, naming the flag.
#[derive(Debug, Clone, Copy)]
struct AtLeast(u64);

impl clap::builder::TypedValueParser for AtLeast {
    type Value = u64;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<u64, clap::Error> {
        let text = value.to_str().unwrap_or_default().trim();
        let digits = text.strip_prefix('-').unwrap_or(text);
        let negative = text.starts_with('-')
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit());
        let below = negative || text.parse::<u64>().is_ok_and(|n| n < self.0);
        if !below {
            return clap::value_parser!(u64).parse_ref(cmd, arg, value);
        }
        let arg = arg.map_or_else(|| "...".to_owned(), ToString::to_string);
        let mut err = clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            format!(
                "invalid value '{text}' for '{arg}': must be {} or more\n",
                self.0
            ),
        );
        err = err.with_cmd(cmd);
        Err(err)
    }
}

impl fmt::Display for ParamType {
    /// For `--help`: `string`, `integer (i32)`, `integer ≥ 1`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::I32 => "integer (32-bit)",
            Self::I64 => "integer (64-bit)",
            Self::U64 => "integer ≥ 0",
            Self::NonZeroU64 => "integer ≥ 1",
        })
    }
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
                .value_parser(p.ty.value_parser())
                // `--limit -1` is a value for --limit (which its value
                // parser then judges, naming the flag), not an unknown
                // flag `-1`.
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

/// The text given for a string argument (`--body`, or a parameter of
/// [`ParamType::String`], by its spec name), if any.
pub fn value<'a>(args: &'a ArgMatches, name: &str) -> Option<&'a str> {
    args.try_get_one::<String>(name)
        .ok()
        .flatten()
        .map(String::as_str)
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
