//! The data plane: the OCI Distribution API (v1.1) each image-hosting
//! provider's registry serves, over the same content the management APIs
//! list, on listeners of its own.
//!
//! | provider | host | names |
//! |---|---|---|
//! | DigitalOcean | one listener, `127.0.0.1:<port>` (for `registry.digitalocean.com`) | `<registry>/<repository>` |
//! | IONOS | a listener per registry, bound when the API first reports its `hostname` | `<repository>` |
//! | Buildkite | one listener (for `packages.buildkite.com`) | `<org>/<registry>/<image>` |
//!
//! Humanitec (a store of credentials for other registries) and ABEJA (no
//! documented registry host) have no data plane.
//!
//! - [`paths`]: what a request path names;
//! - [`access`]: who may do what, per provider, and the challenges;
//! - [`store`]: where a repository lives in the world, and the providers'
//!   side effects (DigitalOcean's repository limit, Buildkite's packages);
//! - [`handlers`]: the endpoints.
//!
//! Fault rules hit data-plane operations by name ([`paths::OPERATIONS`]:
//! `oci_manifest_get`, `oci_blob_upload_chunk`, …) as they hit API
//! operations, with the spec's error body (`TOOMANYREQUESTS` on a 429).

mod access;
mod handlers;
pub(crate) mod paths;
mod store;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use self::access::Refused;
use self::paths::{Endpoint, Target};
use crate::faults::Fault;
use crate::provider::Provider;
use crate::registry::access::Action;
use crate::registry::errors::{OciCode, OciError};
use crate::server;
use crate::shared::{HostKey, Shared};

pub(crate) use self::access::TOKEN_REALM_PATH;

/// The providers with a data plane, and whether one listener serves all
/// their registries.
pub(crate) const SHARED_HOSTS: [Provider; 2] = [Provider::DigitalOcean, Provider::Buildkite];

/// What one listener serves.
#[derive(Clone)]
struct Plane {
    shared: Shared,
    key: HostKey,
    provider: Provider,
}

/// The router of one data-plane host.
pub(crate) fn router(shared: Shared, key: HostKey) -> Router {
    let provider = match &key {
        HostKey::Shared(p) => *p,
        HostKey::Ionos(_) => Provider::Ionos,
    };
    Router::new().fallback(handle).with_state(Plane {
        shared,
        key,
        provider,
    })
}

/// The management API's extra route: DigitalOcean's token endpoint.
pub(crate) fn api_routes(shared: Shared) -> Router {
    Router::new()
        .route(TOKEN_REALM_PATH, axum::routing::get(token))
        .with_state(shared)
}

async fn token(State(shared): State<Shared>, req: Request) -> Response {
    let query = req.uri().query().unwrap_or_default().to_string();
    for fault in shared.arrive(Provider::DigitalOcean, "oci_token") {
        if let Some(r) = fault_response(&fault) {
            return r;
        }
    }
    match access::digitalocean_token(&shared, req.headers(), &query) {
        Ok(body) => axum::Json(body).into_response(),
        Err(refused) => refusal(refused, false),
    }
}

/// The spec's error body (none for a `HEAD`), with a challenge on a 401.
fn error_response(e: &OciError, head: bool) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(e.body().to_string()))
    };
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn refusal(refused: Refused, head: bool) -> Response {
    let mut r = error_response(&refused.error, head);
    if let Some(c) = refused
        .challenge
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, c);
    }
    r
}

/// What a fault makes of a data-plane answer (`None`: the answer goes on,
/// maybe late or cut short).
fn fault_response(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Reset => Some(server::reset()),
        Fault::Status { status } => Some(error_response(
            &OciError::new(OciCode::Unsupported, "fault injected by regkit-emulator")
                .with_status(*status),
            false,
        )),
        Fault::RateLimit { retry_after_secs } => {
            let mut r = error_response(
                &OciError::new(OciCode::TooManyRequests, "too many requests"),
                false,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            Some(r)
        }
        Fault::Latency { .. } | Fault::Truncate => None,
    }
}

fn action_of(method: &Method) -> Action {
    match *method {
        Method::GET | Method::HEAD => Action::Pull,
        Method::DELETE => Action::Delete,
        _ => Action::Push,
    }
}

async fn handle(State(plane): State<Plane>, req: Request) -> Response {
    let head = req.method() == Method::HEAD;
    let Some(parsed) = paths::parse(req.uri().path()) else {
        let e = OciError::new(
            OciCode::NameUnknown,
            format!(
                "{} is not an endpoint of the OCI Distribution API",
                req.uri().path()
            ),
        )
        .with_status(404);
        return error_response(&e, head);
    };
    let op = paths::operation(req.method(), &parsed.endpoint);
    let faults = plane.shared.arrive(plane.provider, op);
    let mut truncate = false;
    for fault in &faults {
        match fault {
            Fault::Latency { millis } => tokio::time::sleep(Duration::from_millis(*millis)).await,
            Fault::Truncate => truncate = true,
            other => {
                if let Some(r) = fault_response(other) {
                    return r;
                }
            }
        }
    }
    let response = match answer(&plane, parsed, req).await {
        Ok(r) => r,
        Err(Failure::Oci(e)) => error_response(&e, head),
        Err(Failure::Refused(r)) => refusal(r, head),
    };
    let mut response = response;
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    if truncate {
        return server::truncated(response).await;
    }
    response
}

enum Failure {
    Oci(OciError),
    Refused(Refused),
}

impl From<OciError> for Failure {
    fn from(e: OciError) -> Self {
        Failure::Oci(e)
    }
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Self {
        Failure::Refused(r)
    }
}

async fn answer(plane: &Plane, parsed: paths::Parsed, req: Request) -> Result<Response, Failure> {
    let Plane {
        shared,
        key,
        provider,
    } = plane;
    let (parts, body) = req.into_parts();
    let (method, headers, query) = (
        &parts.method,
        &parts.headers,
        parts.uri.query().unwrap_or_default(),
    );
    if parsed.endpoint == Endpoint::Base {
        access::authorize(shared, key, *provider, None, headers)?;
        return Ok(axum::Json(serde_json::json!({})).into_response());
    }
    let ionos = match key {
        HostKey::Ionos(id) => Some(id.as_str()),
        HostKey::Shared(_) => None,
    };
    let t = Target::of(*provider, ionos, &parsed.name)?;
    store::settle(shared);
    access::authorize(
        shared,
        key,
        *provider,
        Some((&t, action_of(method))),
        headers,
    )?;
    let head = *method == Method::HEAD;
    let not_allowed = || {
        Failure::Oci(
            OciError::new(
                OciCode::Unsupported,
                format!("{method} is not allowed here"),
            )
            .with_status(405),
        )
    };
    let reply = match (&parsed.endpoint, method) {
        (Endpoint::Manifest(r), &Method::GET | &Method::HEAD) => {
            handlers::get_manifest(shared, &t, r, headers, head)
        }
        (Endpoint::Manifest(r), &Method::PUT) => {
            handlers::put_manifest(shared, &t, r, headers, body).await
        }
        (Endpoint::Manifest(r), &Method::DELETE) => handlers::delete_manifest(shared, &t, r),
        (Endpoint::Blob(d), &Method::GET | &Method::HEAD) => {
            handlers::get_blob(shared, &t, d, headers, head).await
        }
        (Endpoint::Blob(d), &Method::DELETE) => handlers::delete_blob(shared, &t, d),
        (Endpoint::UploadStart, &Method::POST) => {
            let may_read = |source: &Target| {
                access::reaches(shared, key, *provider, source, Action::Pull, headers)
            };
            handlers::start_upload(shared, &t, query, headers, body, may_read).await
        }
        (Endpoint::Upload(id), &Method::PATCH | &Method::PUT | &Method::GET | &Method::DELETE) => {
            handlers::upload(shared, &t, id, method, query, headers, body).await
        }
        (Endpoint::Tags, &Method::GET) => handlers::list_tags(shared, &t, query),
        (Endpoint::Referrers(d), &Method::GET) if shared.data().referrers => {
            handlers::list_referrers(shared, &t, d, query)
        }
        (Endpoint::Referrers(_), &Method::GET) => {
            return Err(Failure::Oci(
                OciError::new(OciCode::NameUnknown, "this registry has no referrers API")
                    .with_status(404),
            ));
        }
        _ => return Err(not_allowed()),
    };
    Ok(reply?)
}

/// Binds a listener on `addr` (port 0: chosen by the system) and serves `key`
/// on it until the returned task is aborted,
/// on `runtime` (the emulator's: the first ask may come from any thread).
pub(crate) fn bind(
    shared: &Shared,
    runtime: &tokio::runtime::Handle,
    addr: std::net::SocketAddr,
    key: &HostKey,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let _entered = runtime.enter();
    let listener = tokio::net::TcpListener::from_std(std_listener)?;
    let app = router(shared.clone(), key.clone());
    Ok((addr, runtime.spawn(server::serve(listener, app))))
}
