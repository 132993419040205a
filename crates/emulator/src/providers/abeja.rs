//! PLACEHOLDER_DOC

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{self, Route};
use crate::content::ContentGen;

/// What this provider's API remembers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {}

/// The status of a request that breaks the schema.
pub(crate) const INVALID: StatusCode = StatusCode::BAD_REQUEST;
/// The message of the 401 answer.
pub(crate) const UNAUTHORIZED: &str = "unauthorized";

pub(crate) fn routes() -> Vec<Route> {
    Vec::new()
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    api::json(status, &serde_json::json!({ "message": message }))
}

pub(crate) fn demo(_state: &mut State, _ids: &mut ContentGen, _now: DateTime<Utc>) {}
