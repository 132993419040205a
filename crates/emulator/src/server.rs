//! The HTTP side: one router with a path prefix per provider, the
//! per-operation layer (operation tag, credentials, faults) and the accept
//! loop, which can drop a connection on purpose.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use chrono::{DateTime, Utc};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::api::Op;
use crate::auth::Auth;
use crate::clock::Clock;
use crate::content::ContentGen;
use crate::faults::{Fault, Faults};
use crate::world::World;
use crate::{Provider, providers};

/// What every handler shares: the world, the clock, the fault rules, the
/// accepted credentials and the seeded source of new ids.
#[derive(Clone, Debug)]
pub(crate) struct Shared(Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    world: Mutex<World>,
    pub(crate) clock: Clock,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) auth: Mutex<Auth>,
    ids: Mutex<ContentGen>,
    /// Bumped by every change to the world (any request but GET and HEAD,
    /// seeding, restoring, a garbage collection taking effect): derived
    /// data cached at an older generation is stale.
    generation: AtomicU64,
    /// Derived data (a listing's sort order, say) by key, with the
    /// generation it was computed at.
    cache: Mutex<HashMap<String, Cached>>,
}

/// A cached value and the world generation it was computed at.
type Cached = (u64, Arc<dyn Any + Send + Sync>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Handlers never leave the world half-changed across an await, so a
    // poisoned lock still guards consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(world: World, clock: Clock, seed: u64, auth: Auth) -> Self {
        Shared(Arc::new(Inner {
            world: Mutex::new(world),
            clock,
            faults: Mutex::new(Faults::new(seed)),
            auth: Mutex::new(auth),
            ids: Mutex::new(ContentGen::new(seed ^ 0x0069_6473)),
            generation: AtomicU64::new(0),
            cache: Mutex::new(HashMap::new()),
        }))
    }

    /// The whole emulated world, locked. Take it, change it, drop it: never
    /// hold it across an `.await`.
    ///
    /// Lock order: `ids()` before `world()` when both are needed (as
    /// [`crate::Emulator::seed`] takes them), never the other way round.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.0.world)
    }

    /// The seeded source of new ids, digests and secrets.
    pub(crate) fn ids(&self) -> MutexGuard<'_, ContentGen> {
        lock(&self.0.ids)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }

    /// Marks the world changed: cached derived data is recomputed.
    pub(crate) fn touch(&self) {
        self.0.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// `compute()`'s value for `key`, computed once per generation of the
    /// world (a 100 000-tag listing is sorted once, not once per page).
    /// Called with the world locked, so no change can slip in between.
    pub(crate) fn cached<T: Send + Sync + 'static>(
        &self,
        key: &str,
        compute: impl FnOnce() -> T,
    ) -> Arc<T> {
        let generation = self.0.generation.load(Ordering::Relaxed);
        let mut cache = lock(&self.0.cache);
        let fresh = cache
            .get(key)
            .filter(|(at, _)| *at == generation)
            .and_then(|(_, value)| Arc::clone(value).downcast::<T>().ok());
        if let Some(value) = fresh {
            return value;
        }
        let value = Arc::new(compute());
        cache.insert(
            key.to_string(),
            (generation, value.clone() as Arc<dyn Any + Send + Sync>),
        );
        value
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.0
    }
}

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
    let allowed = lock(&shared.inner().auth).allows(op.provider, req.headers());
    let faults = lock(&shared.inner().faults).draw(op.provider, op.operation);
    let mut truncate = false;
    for fault in &faults {
        match fault {
            Fault::Latency { millis } => tokio::time::sleep(Duration::from_millis(*millis)).await,
            Fault::Reset => {
                let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                r.extensions_mut().insert(Reset);
                return r;
            }
            Fault::Status { status } => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return op.error(status, "fault injected by regkit-emulator");
            }
            Fault::RateLimit { retry_after_secs } => {
                return rate_limited(op.provider, *retry_after_secs, shared.now());
            }
            Fault::Truncate => truncate = true,
        }
    }
    if !allowed {
        return providers::unauthorized(op.provider);
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes {
        shared.touch();
    }
    let response = next.run(req).await;
    if changes {
        shared.touch();
    }
    if truncate {
        return truncated(response).await;
    }
    response
}

/// The provider's 429: its error body, `Retry-After`, and the rate-limit
/// headers the provider sends (DigitalOcean: reset as a Unix time;
/// Buildkite: seconds until the reset).
fn rate_limited(p: Provider, retry_after: u64, now: DateTime<Utc>) -> Response {
    let mut r = crate::providers::error(p, StatusCode::TOO_MANY_REQUESTS, "too many requests");
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    match p {
        Provider::DigitalOcean => {
            h.insert("ratelimit-limit", HeaderValue::from_static("5000"));
            h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
            let reset = now.timestamp().saturating_add_unsigned(retry_after);
            h.insert("ratelimit-reset", HeaderValue::from(reset));
        }
        Provider::Buildkite => {
            h.insert("ratelimit-limit", HeaderValue::from_static("200"));
            h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
            h.insert("ratelimit-reset", HeaderValue::from(retry_after));
        }
        _ => {}
    }
    r
}

/// The response with its full length announced and half its body sent.
async fn truncated(response: Response) -> Response {
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
    for p in Provider::ALL {
        let mut by_path: BTreeMap<&'static str, MethodRouter<Shared>> = BTreeMap::new();
        for route in providers::routes(p) {
            let ctx = OpCtx {
                shared: shared.clone(),
                op: Op {
                    provider: p,
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
        let mut api: Router<Shared> = Router::new();
        for (path, handler) in by_path {
            api = api.route(path, handler);
        }
        let api = api
            .fallback(move || async move {
                providers::error(
                    p,
                    StatusCode::NOT_FOUND,
                    "the resource you requested does not exist",
                )
            })
            .method_not_allowed_fallback(move || async move {
                providers::error(p, StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
            })
            .with_state(shared.clone());
        app = app.nest(&format!("/{}", p.name()), api);
    }
    app
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
