//! The shared test harness of regkit's integration tests (`tests/tests/`):
//! a mock that answers with one canned response and records every request
//! exactly as it arrived, and the wire assertions the provider tests make
//! on it. Provider files keep only what is theirs: fixtures and the
//! provider's own wire and decoding tests.

pub mod emulator;
pub mod prism;
pub mod registry;

use regkit_core::{ClientBuilder, Credentials, GeneratedClient, RetryPolicy};

use std::sync::{Arc, Mutex};

use httpmock::{HttpMockRequest, HttpMockResponse, Mock, MockServer};
use serde_json::Value;

/// A client of `C` talking to `server` with `credentials`, without
/// retries so each canned answer is seen as sent. Every provider file's
/// `client(&server)` is this with its own token.
pub fn client<C: GeneratedClient>(server: &MockServer, credentials: Credentials) -> C {
    client_with_retry(server, credentials, RetryPolicy::none())
}

/// [`client`] with a retry policy.
pub fn client_with_retry<C: GeneratedClient>(
    server: &MockServer,
    credentials: Credentials,
    retry: RetryPolicy,
) -> C {
    ClientBuilder::<C>::default()
        .base_url(server.base_url())
        .credentials(credentials)
        .retry(retry)
        .build()
        .expect("a client for the mock server")
}

/// The steps of a scenario test: `steps.at("create a registry")` before
/// each; when the test fails, the failure names the step it failed in
/// (printed while the panic unwinds, beside the assertion's own message).
#[derive(Debug, Default)]
pub struct Steps {
    current: Option<&'static str>,
}

impl Steps {
    /// A scenario about to take its first step.
    pub fn new() -> Self {
        Self::default()
    }

    /// The step that starts now.
    pub fn at(&mut self, step: &'static str) {
        self.current = Some(step);
    }
}

impl Drop for Steps {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(step) = self.current
        {
            eprintln!("scenario failed in step: {step}");
        }
    }
}

/// One request as the server received it.
#[derive(Debug)]
pub struct Seen {
    /// The method, e.g. `GET`.
    pub method: String,
    /// Path and query exactly as sent (still percent-encoded).
    pub uri: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The `Authorization` the test expects (set by [`respond`]).
    expected_auth: String,
}

impl Seen {
    /// The body as JSON (panics, showing the body, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Method, path + query and credentials, and no request body.
    pub fn assert_bodiless(&self, method: &str, uri: &str) {
        assert_eq!(self.method, method);
        assert_eq!(self.uri, uri);
        assert_eq!(
            self.authorization.as_deref(),
            Some(self.expected_auth.as_str())
        );
        assert!(
            self.body.is_empty(),
            "unexpected body: {}",
            String::from_utf8_lossy(&self.body)
        );
    }

    /// Method, path + query, credentials and exactly this JSON body.
    pub fn assert_json(&self, method: &str, uri: &str, body: Value) {
        assert_eq!(self.method, method);
        assert_eq!(self.uri, uri);
        assert_eq!(
            self.authorization.as_deref(),
            Some(self.expected_auth.as_str())
        );
        assert_eq!(self.content_type.as_deref(), Some("application/json"));
        assert_eq!(self.json(), body);
    }
}

/// A mock that answers every request with one canned response and keeps
/// what it received.
pub struct Recorder<'a> {
    mock: Mock<'a>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl std::fmt::Debug for Recorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("seen", &self.seen.lock().unwrap().len())
            .finish_non_exhaustive()
    }
}

impl Recorder<'_> {
    /// The one request that was sent (panics unless exactly one was).
    pub async fn only(&self) -> Seen {
        assert_eq!(self.mock.calls_async().await, 1);
        let mut seen = self.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "expected exactly one request: {seen:?}");
        seen.pop().unwrap()
    }

    /// Every request that was sent, in order (panics unless `expected`
    /// arrived).
    pub async fn all(&self, expected: usize) -> Vec<Seen> {
        assert_eq!(self.mock.calls_async().await, expected);
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    /// How many requests arrived.
    pub async fn calls(&self) -> usize {
        self.mock.calls_async().await
    }
}

/// Answers every request to `server` with `status`, `content_type` and
/// `body`, recording each request; `auth` is the `Authorization` value the
/// assertions expect.
pub async fn respond<'a>(
    server: &'a MockServer,
    status: u16,
    content_type: Option<&'static str>,
    body: String,
    auth: &str,
) -> Recorder<'a> {
    let auth = auth.to_owned();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let mock = server
        .mock_async(move |_when, then| {
            then.respond_with(move |req: &HttpMockRequest| {
                log.lock().unwrap().push(record(req, &auth));
                let mut response = HttpMockResponse::builder().status(status);
                if let Some(ct) = content_type {
                    response = response.header("content-type", ct);
                }
                response.body(body.clone()).build()
            });
        })
        .await;
    Recorder { mock, seen }
}

/// A request as [`Seen`], with the credentials the test expects.
fn record(req: &HttpMockRequest, auth: &str) -> Seen {
    let headers = req.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    Seen {
        method: req.method_str().to_owned(),
        uri: req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: req.body_vec(),
        expected_auth: auth.to_owned(),
    }
}

/// Answers the n-th request with `pages[n]` (200, JSON; `null` past the
/// end), whatever it asks for, so a walk that sends a wrong marker shows up
/// in the recorded URIs.
pub async fn respond_in_turn<'a>(
    server: &'a MockServer,
    pages: Vec<Value>,
    auth: &str,
) -> Recorder<'a> {
    let auth = auth.to_owned();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let mock = server
        .mock_async(move |_when, then| {
            then.respond_with(move |req: &HttpMockRequest| {
                let mut log = log.lock().unwrap();
                log.push(record(req, &auth));
                let body = pages.get(log.len() - 1).cloned().unwrap_or(Value::Null);
                HttpMockResponse::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .build()
            });
        })
        .await;
    Recorder { mock, seen }
}

/// [`respond`] with a JSON body.
pub async fn respond_json<'a>(
    server: &'a MockServer,
    status: u16,
    body: Value,
    auth: &str,
) -> Recorder<'a> {
    respond(
        server,
        status,
        Some("application/json"),
        body.to_string(),
        auth,
    )
    .await
}

/// [`respond`] with no body at all.
pub async fn respond_empty<'a>(server: &'a MockServer, status: u16, auth: &str) -> Recorder<'a> {
    respond(server, status, None, String::new(), auth).await
}

/// One provider's expected credentials, and recorders that check them:
/// `const WIRE: Wire = Wire { auth: BEARER };`, then
/// `WIRE.respond_json(&server, 200, body)`.
#[derive(Debug, Clone, Copy)]
pub struct Wire {
    /// The `Authorization` value every recorded request must carry.
    pub auth: &'static str,
}

impl Wire {
    /// [`respond`] with this provider's credentials.
    pub async fn respond<'a>(
        &self,
        server: &'a MockServer,
        status: u16,
        content_type: Option<&'static str>,
        body: String,
    ) -> Recorder<'a> {
        respond(server, status, content_type, body, self.auth).await
    }

    /// [`respond_json`] with this provider's credentials.
    pub async fn respond_json<'a>(
        &self,
        server: &'a MockServer,
        status: u16,
        body: Value,
    ) -> Recorder<'a> {
        respond_json(server, status, body, self.auth).await
    }

    /// [`respond_in_turn`] with this provider's credentials.
    pub async fn respond_in_turn<'a>(
        &self,
        server: &'a MockServer,
        pages: Vec<Value>,
    ) -> Recorder<'a> {
        respond_in_turn(server, pages, self.auth).await
    }

    /// [`respond_empty`] with this provider's credentials.
    pub async fn respond_empty<'a>(&self, server: &'a MockServer, status: u16) -> Recorder<'a> {
        respond_empty(server, status, self.auth).await
    }
}
