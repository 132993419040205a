//! The HTTP side: one router with a path prefix per provider, the
//! per-operation layer (operation tag, credentials, faults) and the accept
//! loop, which can drop a connection on purpose.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::api::{Api, Op};
use crate::faults::Fault;
use crate::providers::APIS;
use crate::shared::Shared;

/// A response marked this way is never sent: the connection is closed.
#[derive(Clone, Copy, Debug)]
struct Reset;

#[derive(Clone)]
struct OpCtx {
    shared: Shared,
    op: Op,
}

/// Runs before every operation's handler: tags the request with its
/// operation, checks credentials, then applies the fault rules that hit it.
async fn operation(State(ctx): State<OpCtx>, mut req: Request, next: Next) -> Response {
    let OpCtx { shared, op } = ctx;
    req.extensions_mut().insert(op);
    let allowed = shared.auth().allows(op.api.provider, req.headers());
    let faults = shared.arrive(op.api.provider, op.operation);
    let mut truncate = false;
    for fault in &faults {
        match fault {
            Fault::Latency { millis } => tokio::time::sleep(Duration::from_millis(*millis)).await,
            Fault::Reset => return reset(),
            Fault::Status { status } => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return op
                    .api
                    .error_with(status, "fault injected by regkit-emulator");
            }
            Fault::RateLimit { retry_after_secs } => {
                return op.api.rate_limited(*retry_after_secs, shared.now());
            }
            Fault::Truncate => truncate = true,
        }
    }
    if !allowed {
        return op.api.unauthorized();
    }
    let counted = {
        let credential = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .map_or(&b""[..], |v| v.as_bytes());
        shared.quotas().count(op.api.provider, credential)
    };
    if let Some(c) = &counted
        && let Err(wait) = c.allowed
    {
        // Quotas count real time: their resets are real times too.
        return op
            .api
            .rate_limited(wait.as_secs_f64().ceil() as u64, chrono::Utc::now());
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes {
        shared.touch();
    }
    let mut response = op.api.render(next.run(req).await);
    if changes {
        shared.touch();
    }
    if let (Some(c), Some(reset)) = (&counted, op.api.info.rate_limit_reset) {
        let h = response.headers_mut();
        h.insert("ratelimit-limit", c.limit.into());
        h.insert("ratelimit-remaining", c.remaining.into());
        // Rounded up, so a client that waits for it never comes early.
        let value = match reset.kind {
            regkit_core::ResetKind::EpochSeconds => {
                let at = chrono::Utc::now() + c.reset;
                at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
            }
            regkit_core::ResetKind::DeltaSeconds => {
                i64::try_from(c.reset.as_secs_f64().ceil() as u64).unwrap_or(i64::MAX)
            }
        };
        h.insert(reset.header, value.into());
    }
    if truncate {
        return truncated(response).await;
    }
    response
}

/// A response that is never sent: the connection closes instead.
pub(crate) fn reset() -> Response {
    let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    r.extensions_mut().insert(Reset);
    r
}

/// The response with its full length announced and half its body sent.
pub(crate) async fn truncated(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // A body of a byte or none cannot be cut: make it bigger than it says.
    let full = bytes.len().max(2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    let half = bytes.slice(..bytes.len() / 2);
    let stream = futures::stream::iter([Ok::<_, Infallible>(half)]);
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The whole application: `/<provider>/…` for each provider, every route of
/// its table behind the operation layer, and the provider's own 404 and
/// 405 for anything else.
pub(crate) fn router(shared: Shared) -> Router {
    let mut app = Router::new();
    for &api in &APIS {
        app = app.nest(
            &format!("/{}", api.provider.name()),
            provider_router(api, &shared),
        );
    }
    app
}

/// One provider's routes, each behind the operation layer, with the
/// provider's own 404 and 405 for anything else.
fn provider_router(api: &'static Api, shared: &Shared) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<Shared>> = BTreeMap::new();
    for route in (api.routes)() {
        let ctx = OpCtx {
            shared: shared.clone(),
            op: Op {
                api,
                operation: route.operation,
            },
        };
        let handler = route
            .handler
            .route_layer(middleware::from_fn_with_state(ctx, operation));
        let merged = match by_path.remove(route.path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        by_path.insert(route.path, merged);
    }
    let mut router: Router<Shared> = Router::new();
    for (path, handler) in by_path {
        router = router.route(path, handler);
    }
    router
        .fallback(move || async move {
            api.error_with(
                StatusCode::NOT_FOUND,
                "the resource you requested does not exist",
            )
        })
        .method_not_allowed_fallback(move || async move {
            api.error_with(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        })
        .with_state(shared.clone())
}

/// Accepts connections until the task is dropped, serving each with HTTP/1.1.
pub(crate) async fn serve(listener: TcpListener, app: Router) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: wait a moment rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    async move {
                        let response = app
                            .oneshot(req.map(Body::new))
                            .await
                            .unwrap_or_else(|never| match never {});
                        if response.extensions().get::<Reset>().is_some() {
                            // hyper closes the connection without answering.
                            return Err(ResetConnection);
                        }
                        Ok(response)
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The error hyper is given to close a connection on purpose.
#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for ResetConnection {}
