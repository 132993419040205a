//! What an emulated API is, to the server: its route table, its error body,
//! its "invalid request" status and 401 message, its demo content and the
//! facts its provider crate's `PROVIDER` states (auth schemes, rate-limit
//! headers). Also the operation a request belongs to, how an [`ApiError`]
//! becomes the provider's error body, and JSON answers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use chrono::{DateTime, Utc};
use regkit_core::{ProviderInfo, ResetKind};

use crate::content::ContentGen;
use crate::error::{ApiError, StatusCode};
use crate::provider::Provider;
use crate::shared::Shared;
use crate::world::World;

/// One emulated API: one entry of the table in [`crate::providers`].
pub(crate) struct Api {
    /// Whose API it is (its path prefix is the provider's name).
    pub provider: Provider,
    /// The provider crate's generated facts: which credential schemes it
    /// takes and which rate-limit reset header it sends.
    pub info: &'static ProviderInfo,
    /// Every operation it serves.
    pub routes: fn() -> Vec<Route>,
    /// The provider's error body for an error.
    pub error_body: fn(&ApiError) -> Response,
    /// The status of a request that breaks the schema (400 or 422).
    pub invalid: StatusCode,
    /// The message of its 401.
    pub unauthorized: &'static str,
    /// The `ratelimit-limit` it announces on a 429, where it sends
    /// rate-limit headers ([`ProviderInfo::rate_limit_reset`]).
    pub rate_limit: u32,
    /// Seeds its demo content into the world.
    pub demo: fn(&mut World, &mut ContentGen, DateTime<Utc>),
    /// The organization its demo content lives in, where its API is
    /// scoped by one.
    pub demo_org: Option<&'static str>,
}

impl Api {
    /// The provider's error body for `e`.
    pub(crate) fn error(&self, e: &ApiError) -> Response {
        (self.error_body)(e)
    }

    /// The provider's error body with this status and message.
    pub(crate) fn error_with(&self, status: StatusCode, message: &str) -> Response {
        self.error(&ApiError::new(status, message))
    }

    /// The provider's answer to a request that breaks its schema.
    pub(crate) fn invalid(&self, message: impl Into<String>) -> ApiError {
        ApiError::new(self.invalid, message)
    }

    /// The provider's answer to missing or unknown credentials.
    pub(crate) fn unauthorized(&self) -> Response {
        self.error_with(StatusCode::UNAUTHORIZED, self.unauthorized)
    }

    /// The provider's 429: its error body, `Retry-After`, and the
    /// rate-limit headers its `PROVIDER` says it sends (a reset as a Unix
    /// time or as seconds from now).
    pub(crate) fn rate_limited(&self, retry_after: u64, now: DateTime<Utc>) -> Response {
        let mut r = self.error_with(StatusCode::TOO_MANY_REQUESTS, "too many requests");
        let h = r.headers_mut();
        h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        if let Some(reset) = self.info.rate_limit_reset {
            h.insert("ratelimit-limit", HeaderValue::from(self.rate_limit));
            h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
            let value = match reset.kind {
                ResetKind::EpochSeconds => now.timestamp().saturating_add_unsigned(retry_after),
                ResetKind::DeltaSeconds => i64::try_from(retry_after).unwrap_or(i64::MAX),
            };
            h.insert(reset.header, HeaderValue::from(value));
        }
        r
    }

    /// `response`, with an [`ApiError`] a handler or extractor returned
    /// rendered as this provider's error body.
    pub(crate) fn render(&self, mut response: Response) -> Response {
        match response.extensions_mut().remove::<Unrendered>() {
            Some(Unrendered(e)) => self.error(&e),
            None => response,
        }
    }
}

/// One operation of a provider's spec: its `operationId`, method and path
/// (as the spec spells it, `{param}` included) and its handler.
pub(crate) struct Route {
    pub operation: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<Shared>,
}

impl Route {
    pub(crate) fn new(
        operation: &'static str,
        method: Method,
        path: &'static str,
        handler: MethodRouter<Shared>,
    ) -> Self {
        Route {
            operation,
            method,
            path,
            handler,
        }
    }
}

/// Which operation a request is (set by the server before the handler runs;
/// extractors read it from the request's extensions).
#[derive(Clone, Copy)]
pub(crate) struct Op {
    pub api: &'static Api,
    pub operation: &'static str,
}

impl<S: Send + Sync> FromRequestParts<S> for Op {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Op>()
            .copied()
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// An [`ApiError`] on its way to the operation layer, which renders it as
/// the provider's body ([`Api::render`]).
#[derive(Clone)]
struct Unrendered(ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.message.clone()).into_response();
        r.extensions_mut().insert(Unrendered(self));
        r
    }
}

/// What every handler returns: an answer, or an error the provider renders.
pub(crate) type Answer = Result<Response, ApiError>;

/// A JSON answer with this status.
pub(crate) fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the emulator could not encode its answer: {e}"),
        )
            .into_response(),
    }
}

/// `200 OK` with this JSON body.
pub(crate) fn ok<T: serde::Serialize>(body: &T) -> Answer {
    Ok(json(StatusCode::OK, body))
}

/// `204 No Content`.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The answer with a `Location` header.
pub(crate) fn with_location(mut response: Response, href: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(href) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}
