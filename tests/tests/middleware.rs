//! regkit-core's shared behaviour, exercised through a generated client:
//! credentials, secrets, retries, timeouts, bad input, errors, tracing and
//! caller middleware. Each test names the rule it guards.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse, Mock};
use regkit_core::{ConfigError, Credentials, Error, RequestError, RetryPolicy};
use regkit_digitalocean::{Client, ClientBuilder};
use serde_json::json;

const TOKEN: &str = "dop_v1_sekrit-token-0123456789";

fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.base_url())
        .bearer_token(TOKEN)
        .retry(fast_retries())
}

/// Real rules, waits shrunk to milliseconds.
fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

fn client(server: &MockServer) -> Client {
    builder(server).build().unwrap()
}

fn registry_json() -> serde_json::Value {
    json!({"registry": {"name": "example", "region": "fra1", "storage_usage_bytes": 0,
        "created_at": "2024-01-02T03:04:05Z"}})
}

/// One canned response: status, extra headers, body.
type Canned = (u16, Vec<(&'static str, String)>, String);

/// Serves `responses` in order, repeating the last one, to `method path`.
async fn sequence<'a>(
    server: &'a MockServer,
    method: httpmock::Method,
    path: &str,
    responses: Vec<Canned>,
) -> Mock<'a> {
    let next = AtomicUsize::new(0);
    server
        .mock_async(|when, then| {
            when.method(method).path(path.to_owned());
            then.respond_with(move |_: &HttpMockRequest| {
                let i = next.fetch_add(1, Ordering::SeqCst).min(responses.len() - 1);
                let (status, headers, body) = &responses[i];
                let mut r = HttpMockResponse::builder()
                    .status(*status)
                    .header("content-type", "application/json");
                for (k, v) in headers {
                    r = r.header(*k, v.clone());
                }
                r.body(body.clone()).build()
            });
        })
        .await
}

fn status(code: u16) -> (u16, Vec<(&'static str, String)>, String) {
    let body = if code < 300 {
        registry_json().to_string()
    } else {
        json!({"id": "err", "message": format!("status {code}")}).to_string()
    };
    (code, vec![], body)
}

fn with_header(
    code: u16,
    name: &'static str,
    value: String,
) -> (u16, Vec<(&'static str, String)>, String) {
    let (code, _, body) = status(code);
    (code, vec![(name, value)], body)
}

async fn get_registry(client: &Client) -> Result<(), Error<regkit_digitalocean::types::Error>> {
    client
        .registries_get()
        .registry_name("example")
        .send()
        .await
        .map(|_| ())
}

async fn create_registry(client: &Client) -> Result<(), Error<regkit_digitalocean::types::Error>> {
    client
        .registries_create()
        .body_map(|b| b.name("example"))
        .send()
        .await
        .map(|_| ())
}

// ---------------------------------------------------------------- credentials

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn missing_credentials_name_the_variables_to_set() {
    let err = Credentials::from_lookup(&regkit_digitalocean::PROVIDER, lookup(&[])).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::MissingCredentials { .. }));
    assert!(
        msg.contains("DIGITALOCEAN_TOKEN") && msg.contains("DIGITALOCEAN_ACCESS_TOKEN"),
        "{msg}"
    );

    let msg = Credentials::from_lookup(&regkit_ionos::PROVIDER, lookup(&[("IONOS_TOKEN", "  ")]))
        .unwrap_err()
        .to_string();
    for var in ["IONOS_TOKEN", "IONOS_USERNAME", "IONOS_PASSWORD"] {
        assert!(msg.contains(var), "{msg}");
    }

    let msg = Credentials::from_lookup(
        &regkit_abeja::PROVIDER,
        lookup(&[("ABEJA_PLATFORM_USER_ID", "1234567890123")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN"),
        "{msg}"
    );
}

#[test]
fn environment_credentials_follow_the_manifest_order() {
    let both = lookup(&[
        ("DIGITALOCEAN_ACCESS_TOKEN", "second"),
        ("DIGITALOCEAN_TOKEN", "first"),
    ]);
    let creds = Credentials::from_lookup(&regkit_digitalocean::PROVIDER, both).unwrap();
    assert_eq!(format!("{creds:?}"), "Credentials::Bearer([REDACTED])");

    let basic = lookup(&[
        ("IONOS_USERNAME", "me@example.com"),
        ("IONOS_PASSWORD", "pw"),
    ]);
    let creds = Credentials::from_lookup(&regkit_ionos::PROVIDER, basic).unwrap();
    assert!(format!("{creds:?}").contains("me@example.com"));
    assert!(!format!("{creds:?}").contains("pw\""));
}

#[test]
fn header_illegal_or_empty_credentials_are_construction_errors() {
    let bad = [
        Credentials::bearer("abc\r\nX-Evil: 1").unwrap_err(),
        Credentials::bearer("abc\n").unwrap_err(),
        Credentials::bearer("").unwrap_err(),
        Credentials::basic("user", "pa\rss").unwrap_err(),
        Credentials::basic("us\ner", "pass").unwrap_err(),
        Credentials::basic("user:x", "pass").unwrap_err(),
        Credentials::api_key("X-Api-Key", None, "k\r\n").unwrap_err(),
        Credentials::api_key("bad header", None, "k").unwrap_err(),
    ];
    for err in bad {
        assert!(matches!(err, ConfigError::InvalidCredential(_)), "{err:?}");
        assert!(!err.to_string().contains("abc") && !err.to_string().contains("pa\rss"));
    }
    // Through the builder: reported by build(), not a panic.
    let err = Client::builder()
        .bearer_token("tok\r\nen")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("line break"), "{err}");
}

#[tokio::test]
async fn credentials_are_sent_in_the_scheme_chosen() {
    let server = MockServer::start_async().await;
    let basic = server
        .mock_async(|when, then| {
            // base64("user-42:pat")
            when.path("/v2/registries/basic")
                .header("authorization", "Basic dXNlci00MjpwYXQ=");
            then.status(200).json_body(registry_json());
        })
        .await;
    let key = server
        .mock_async(|when, then| {
            when.path("/v2/registries/key")
                .header("x-api-key", "Token k3y");
            then.status(200).json_body(registry_json());
        })
        .await;
    let c = Client::builder()
        .base_url(server.base_url())
        .basic_auth("user-42", "pat")
        .build()
        .unwrap();
    c.registries_get()
        .registry_name("basic")
        .send()
        .await
        .unwrap();
    let c = Client::builder()
        .base_url(server.base_url())
        .credentials(Credentials::api_key("X-Api-Key", Some("Token"), "k3y").unwrap())
        .build()
        .unwrap();
    c.registries_get()
        .registry_name("key")
        .send()
        .await
        .unwrap();
    basic.assert_async().await;
    key.assert_async().await;
}

#[tokio::test]
async fn credentials_never_go_over_plain_http_to_a_remote_host() {
    let c = Client::builder()
        .base_url("http://registry.example.invalid")
        .bearer_token(TOKEN)
        .build()
        .unwrap();
    let err = get_registry(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::Request(RequestError::InsecureTransport { host, .. }) if host == "registry.example.invalid"),
        "{err:?}"
    );
    assert!(err.to_string().contains("allow_insecure_http"));
    assert!(!format!("{err} {err:?}").contains(TOKEN));
}

#[tokio::test]
async fn plain_http_to_a_remote_host_works_after_opting_in() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/v2/registries/example")
                .header("authorization", format!("Bearer {TOKEN}"));
            then.status(200).json_body(registry_json());
        })
        .await;
    // "registry.example" resolves to the loopback mock server: no traffic
    // leaves the machine, but to the client it is a remote host.
    let http = reqwest::Client::builder()
        .resolve("registry.example", *server.address())
        .build()
        .unwrap();
    let c = Client::builder()
        .base_url(format!("http://registry.example:{}", server.port()))
        .bearer_token(TOKEN)
        .reqwest_client(http)
        .allow_insecure_http(true)
        .build()
        .unwrap();
    get_registry(&c).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn redirects_to_another_host_do_not_carry_credentials() {
    let origin = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let redirect = origin
        .mock_async(|when, then| {
            when.path("/v2/registries/example")
                .header("authorization", format!("Bearer {TOKEN}"));
            then.status(307)
                .header("location", elsewhere.url("/v2/registries/example"));
        })
        .await;
    let target = elsewhere
        .mock_async(|when, then| {
            when.path("/v2/registries/example")
                .header_missing("authorization");
            then.status(200).json_body(registry_json());
        })
        .await;
    get_registry(&client(&origin)).await.unwrap();
    redirect.assert_async().await;
    target.assert_async().await;
}

// ---------------------------------------------------------------- secrets

#[tokio::test]
async fn secrets_never_appear_in_debug_or_display() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/registries/example");
            then.status(401)
                .json_body(json!({"id": "unauthorized", "message": "Unable to authenticate you."}));
        })
        .await;
    let b = builder(&server);
    let c = builder(&server).build().unwrap();
    let err = get_registry(&c).await.unwrap_err();
    let creds = Credentials::basic("me", TOKEN).unwrap();
    let printed = format!("{b:?} {c:?} {c:#?} {err} {err:?} {creds:?}");
    assert!(!printed.contains(TOKEN), "{printed}");
    assert!(!printed.contains("sekrit"), "{printed}");
}

#[test]
fn secret_fields_in_models_are_redacted_but_keep_their_wire_format() {
    use regkit_digitalocean::types::DockerCredentials;
    let wire = json!({"auths": {"registry.digitalocean.com": {"auth": "dXNlcjpzZWtyaXQ="}}});
    let creds: DockerCredentials = serde_json::from_value(wire.clone()).unwrap();
    assert!(
        !format!("{creds:?}").contains("dXNlcjpzZWtyaXQ="),
        "{creds:?}"
    );
    let auth = creds.auths["registry.digitalocean.com"]
        .auth
        .as_ref()
        .unwrap();
    assert_eq!(auth.expose_secret(), "dXNlcjpzZWtyaXQ=");
    assert_eq!(serde_json::to_value(&creds).unwrap(), wire);
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn idempotent_requests_retry_every_transient_status() {
    for code in [408, 429, 500, 502, 503, 504] {
        let server = MockServer::start_async().await;
        let mock = sequence(
            &server,
            GET,
            "/v2/registries/example",
            vec![status(code), status(200)],
        )
        .await;
        get_registry(&client(&server)).await.unwrap();
        assert_eq!(mock.calls_async().await, 2, "status {code}");
    }
}

#[tokio::test]
async fn permanent_statuses_are_not_retried() {
    for code in [400, 401, 403, 404, 409, 412, 422, 501] {
        let server = MockServer::start_async().await;
        let mock = sequence(
            &server,
            GET,
            "/v2/registries/example",
            vec![status(code), status(200)],
        )
        .await;
        let err = get_registry(&client(&server)).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(code));
        assert_eq!(mock.calls_async().await, 1, "status {code}");
    }
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let server = MockServer::start_async().await;
    let mock = sequence(&server, GET, "/v2/registries/example", vec![status(503)]).await;
    let err = get_registry(&client(&server)).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.is_retryable());
    assert_eq!(mock.calls_async().await, 3);

    let server = MockServer::start_async().await;
    let mock = sequence(&server, GET, "/v2/registries/example", vec![status(503)]).await;
    let c = builder(&server).retry(RetryPolicy::none()).build().unwrap();
    get_registry(&c).await.unwrap_err();
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn post_is_retried_only_on_429() {
    for (code, expected_calls) in [(429, 2), (500, 1), (502, 1), (503, 1), (504, 1), (408, 1)] {
        let server = MockServer::start_async().await;
        let mock = sequence(
            &server,
            POST,
            "/v2/registries",
            vec![status(code), status(201)],
        )
        .await;
        let _ = create_registry(&client(&server)).await;
        assert_eq!(
            mock.calls_async().await,
            expected_calls,
            "POST with status {code}"
        );
    }
}

#[tokio::test]
async fn retry_after_seconds_is_waited() {
    let server = MockServer::start_async().await;
    let mock = sequence(
        &server,
        GET,
        "/v2/registries/example",
        vec![with_header(429, "retry-after", "1".into()), status(200)],
    )
    .await;
    let started = Instant::now();
    get_registry(&client(&server)).await.unwrap();
    assert_eq!(mock.calls_async().await, 2);
    // The server asked for a second; the 5 ms backoff alone would not take that long.
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn retry_after_http_date_is_understood() {
    let server = MockServer::start_async().await;
    let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(5));
    let mock = sequence(
        &server,
        GET,
        "/v2/registries/example",
        vec![with_header(503, "retry-after", past), status(200)],
    )
    .await;
    get_registry(&client(&server)).await.unwrap();
    assert_eq!(mock.calls_async().await, 2);

    let server = MockServer::start_async().await;
    let far = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let mock = sequence(
        &server,
        GET,
        "/v2/registries/example",
        vec![with_header(503, "retry-after", far), status(200)],
    )
    .await;
    let err = get_registry(&client(&server)).await.unwrap_err();
    assert!(err.retry_after().unwrap() > Duration::from_secs(3500));
    assert_eq!(
        mock.calls_async().await,
        1,
        "an hour's wait is past the budget"
    );
}

#[tokio::test]
async fn waits_past_the_budget_are_not_taken() {
    let server = MockServer::start_async().await;
    let mock = sequence(
        &server,
        GET,
        "/v2/registries/example",
        vec![with_header(429, "retry-after", "3600".into()), status(200)],
    )
    .await;
    let c = builder(&server)
        .retry(fast_retries().budget(Duration::from_secs(5)))
        .build()
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(30), get_registry(&c))
        .await
        .expect("returned instead of sleeping an hour")
        .unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn rate_limit_reset_header_is_honoured_on_429() {
    // DigitalOcean's `ratelimit-reset` is a Unix time (providers.toml).
    let epoch = |d: i64| {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        (now + d).to_string()
    };
    let server = MockServer::start_async().await;
    let mock = sequence(
        &server,
        GET,
        "/v2/registries/example",
        vec![
            with_header(429, "ratelimit-reset", epoch(3600)),
            status(200),
        ],
    )
    .await;
    get_registry(&client(&server)).await.unwrap_err();
    assert_eq!(
        mock.calls_async().await,
        1,
        "reset in an hour: past the budget"
    );

    let server = MockServer::start_async().await;
    let mock = sequence(
        &server,
        GET,
        "/v2/registries/example",
        vec![with_header(429, "ratelimit-reset", epoch(-1)), status(200)],
    )
    .await;
    get_registry(&client(&server)).await.unwrap();
    assert_eq!(mock.calls_async().await, 2);
}

/// A loopback server that accepts connections and closes them unanswered,
/// counting them.
async fn hanging_up_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, count)
}

#[tokio::test]
async fn dropped_connections_are_retried_for_get_but_not_post() {
    let (url, connections) = hanging_up_server().await;
    let c = Client::builder()
        .base_url(&url)
        .bearer_token(TOKEN)
        .retry(fast_retries())
        .build()
        .unwrap();
    let err = get_registry(&c).await.unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::Transport { .. })),
        "{err:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 3);

    let (url, connections) = hanging_up_server().await;
    let c = Client::builder()
        .base_url(&url)
        .bearer_token(TOKEN)
        .retry(fast_retries())
        .build()
        .unwrap();
    create_registry(&c).await.unwrap_err();
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the POST may have been processed: not retried"
    );
}

#[tokio::test]
async fn post_is_retried_when_the_connection_was_never_established() {
    // A port nobody listens on: connection refused, so nothing was processed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .bearer_token(TOKEN)
        .retry(fast_retries())
        .build()
        .unwrap();
    let (attempts, result) = capture_span_field("attempts", create_registry(&c)).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::Request(e) if e.is_connect()),
        "{err:?}"
    );
    assert_eq!(attempts.as_deref(), Some("3"));
}

#[tokio::test]
async fn per_attempt_timeout_applies_and_is_retried_for_get() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/v2/registries/example");
            then.status(200)
                .json_body(registry_json())
                .delay(Duration::from_secs(2));
        })
        .await;
    let c = builder(&server)
        .timeout(Duration::from_millis(200))
        .retry(fast_retries().max_attempts(2))
        .build()
        .unwrap();
    let err = get_registry(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::Request(e) if e.is_timeout()),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(mock.calls_async().await, 2);
}

// ---------------------------------------------------------------- bad input

#[tokio::test]
async fn dot_segments_in_path_parameters_are_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            then.status(204);
        })
        .await;
    let c = client(&server);
    for (repo, tag) in [
        ("..", "latest"),
        ("repo", "."),
        ("%2e%2E", "v1"),
        ("repo", ""),
        ("", "v1"),
    ] {
        let err = c
            .registries_delete_repository_tag()
            .registry_name("example")
            .repository_name(repo)
            .repository_tag(tag)
            .send()
            .await
            .unwrap_err();
        let Error::InvalidRequest(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(
            msg.contains("repository_name") || msg.contains("repository_tag"),
            "{msg}"
        );
    }
    assert_eq!(any.calls_async().await, 0, "nothing may reach the server");
}

#[tokio::test]
async fn response_bodies_over_the_bound_are_errors() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/registries/example");
            then.status(200).body("x".repeat(64 * 1024));
        })
        .await;
    let c = builder(&server)
        .max_response_bytes(16 * 1024)
        .build()
        .unwrap();
    let err = get_registry(&c).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Request(RequestError::ResponseTooLarge { limit: 16384, .. })
        ),
        "{err:?}"
    );
}

#[test]
fn invalid_builder_settings_are_reported() {
    let err = Client::builder()
        .base_url("ftp://example.com")
        .no_credentials()
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::InvalidBaseUrl(_)), "{err}");
    let err = Client::builder()
        .base_url("not a url")
        .no_credentials()
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::InvalidBaseUrl(_)), "{err}");
}

// ---------------------------------------------------------------- errors and observability

#[tokio::test]
async fn errors_carry_status_request_id_and_retry_after() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/registries/example");
            then.status(429)
                .header("x-request-id", "req-123")
                .header("retry-after", "30")
                .json_body(
                    json!({"id": "too_many_requests", "message": "API rate limit exceeded."}),
                );
        })
        .await;
    let c = builder(&server).retry(RetryPolicy::none()).build().unwrap();
    let err = get_registry(&c).await.unwrap_err();
    assert!(err.is_rate_limited() && err.is_retryable() && !err.is_not_found());
    assert_eq!(err.request_id().as_deref(), Some("req-123"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(err.error_body().unwrap().id, "too_many_requests");
    let line = err.to_string();
    assert_eq!(
        line,
        "429 Too Many Requests: API rate limit exceeded. (request id req-123)"
    );
}

/// Every kind of operation error answers the same questions through the
/// object-safe `ProvideErrorMetadata`, as code above the clients keeps it:
/// provider and operation (a transport failure included), a request id
/// from the body when no header carries one, and on a 429 without
/// `Retry-After` the wait the provider's reset header asks for.
#[tokio::test]
async fn every_error_keeps_its_facts_behind_the_metadata_trait() {
    use regkit_core::ProvideErrorMetadata;
    let server = MockServer::start_async().await;
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 120;
    server
        .mock_async(|when, then| {
            when.path("/v2/registries/example");
            then.status(429)
                .header("ratelimit-reset", reset.to_string())
                .json_body(json!({"id": "too_many_requests", "message": "slow down",
                    "request_id": "body-id-7"}));
        })
        .await;
    let c = builder(&server).retry(RetryPolicy::none()).build().unwrap();
    let err: Box<dyn ProvideErrorMetadata> = Box::new(get_registry(&c).await.unwrap_err());
    assert_eq!(err.provider().map(|p| p.name), Some("digitalocean"));
    assert_eq!(err.operation(), Some("registries_get"));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.request_id().as_deref(), Some("body-id-7"));
    assert_eq!(err.message().as_deref(), Some("slow down"));
    assert!(err.is_rate_limited() && err.is_retryable());
    assert!(!err.is_unauthorized() && !err.is_not_found());
    let wait = err.retry_after().expect("the reset header's wait");
    assert!(
        (Duration::from_secs(100)..=Duration::from_secs(120)).contains(&wait),
        "{wait:?}"
    );

    // Nothing listens: a transport error still names its operation.
    let closed = Client::builder()
        .base_url("http://127.0.0.1:9")
        .bearer_token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err: Box<dyn ProvideErrorMetadata> = Box::new(get_registry(&closed).await.unwrap_err());
    assert_eq!(err.operation(), Some("registries_get"));
    assert_eq!(err.provider().map(|p| p.name), Some("digitalocean"));
    assert_eq!((err.status(), err.request_id()), (None, None));
    assert!(
        err.is_retryable(),
        "a GET that could not connect may be retried"
    );
}

#[tokio::test]
async fn user_agent_names_the_crate_and_the_application() {
    let server = MockServer::start_async().await;
    let ua = format!(
        "regkit-digitalocean/{}",
        regkit_digitalocean::PROVIDER.crate_version
    );
    let plain = server
        .mock_async(|when, then| {
            when.path("/v2/registries/plain")
                .header("user-agent", ua.clone());
            then.status(200).json_body(registry_json());
        })
        .await;
    let app = server
        .mock_async(|when, then| {
            when.path("/v2/registries/app")
                .header("user-agent", format!("deployer/2.1 {ua}"));
            then.status(200).json_body(registry_json());
        })
        .await;
    client(&server)
        .registries_get()
        .registry_name("plain")
        .send()
        .await
        .unwrap();
    builder(&server)
        .user_agent("deployer/2.1")
        .build()
        .unwrap()
        .registries_get()
        .registry_name("app")
        .send()
        .await
        .unwrap();
    plain.assert_async().await;
    app.assert_async().await;
}

#[tokio::test]
async fn requests_carry_only_documented_headers() {
    // progenitor would add `api-version: <spec version>`; codegen drops it.
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/v2/registries/example")
                .header_missing("api-version");
            then.status(200).json_body(registry_json());
        })
        .await;
    client(&server)
        .registries_get()
        .registry_name("example")
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
}

/// Runs `fut` with a subscriber that records the value of `field` on the
/// `regkit.request` span.
async fn capture_span_field<F: std::future::Future>(
    field: &'static str,
    fut: F,
) -> (Option<String>, F::Output) {
    let (fields, out) = capture_span(fut).await;
    (fields.get(field).cloned(), out)
}

async fn capture_span<F: std::future::Future>(fut: F) -> (HashMap<String, String>, F::Output) {
    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, SubscriberExt};

    #[derive(Clone, Default)]
    struct Recorder(Arc<std::sync::Mutex<HashMap<String, String>>>);
    impl Visit for Recorder {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let text = format!("{value:?}").trim_matches('"').to_owned();
            self.0.lock().unwrap().insert(field.name().to_owned(), text);
        }
    }
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: Context<'_, S>,
        ) {
            if attrs.metadata().name() == "regkit.request" {
                attrs.record(&mut self.clone());
            }
        }
        fn on_record(
            &self,
            _: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            _: Context<'_, S>,
        ) {
            values.record(&mut self.clone());
        }
    }

    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let out = tracing::instrument::WithSubscriber::with_subscriber(fut, subscriber).await;
    let fields = recorder.0.lock().unwrap().clone();
    (fields, out)
}

#[tokio::test]
async fn each_operation_has_a_span_with_id_method_status_attempts_and_latency() {
    let server = MockServer::start_async().await;
    sequence(
        &server,
        GET,
        "/v2/registries/example",
        vec![status(503), status(200)],
    )
    .await;
    let c = client(&server);
    let (fields, result) = capture_span(get_registry(&c)).await;
    result.unwrap();
    assert_eq!(fields["operation_id"], "registries_get");
    assert_eq!(fields["provider"], "digitalocean");
    assert_eq!(fields["method"], "GET");
    assert_eq!(fields["status"], "200");
    assert_eq!(fields["attempts"], "2");
    assert!(fields["latency_ms"].parse::<u64>().is_ok());
    assert!(!fields.values().any(|v| v.contains("sekrit")));
}

/// A caller's own layer: adds a header and counts the calls it sees.
struct Stamp(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Stamp {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        ext: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.0.fetch_add(1, Ordering::SeqCst);
        req.headers_mut().insert("x-stamp", "yes".parse().unwrap());
        next.run(req, ext).await
    }
}

#[tokio::test]
async fn caller_middleware_layers_run_outside_the_retry_loop() {
    let server = MockServer::start_async().await;
    let seen = Arc::new(AtomicUsize::new(0));
    let next = AtomicUsize::new(0);
    let mock = server
        .mock_async(|when, then| {
            when.path("/v2/registries/example").header("x-stamp", "yes");
            then.respond_with(move |_: &HttpMockRequest| {
                let code = if next.fetch_add(1, Ordering::SeqCst) == 0 {
                    503
                } else {
                    200
                };
                HttpMockResponse::builder()
                    .status(code)
                    .header("content-type", "application/json")
                    .body(registry_json().to_string())
                    .build()
            });
        })
        .await;
    let c = builder(&server).with(Stamp(seen.clone())).build().unwrap();
    get_registry(&c).await.unwrap();
    assert_eq!(
        mock.calls_async().await,
        2,
        "the retry repeated the stamped request"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the layer saw one logical call"
    );
}

/// A caller's layer that leaves a mark in the call's extensions and reads
/// it back once the layers below (regkit's call layer among them) are done.
struct Mark(Arc<AtomicUsize>);

#[derive(Clone)]
struct Marked(u32);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Mark {
    async fn handle(
        &self,
        req: reqwest::Request,
        ext: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        ext.insert(Marked(7));
        let out = next.run(req, ext).await;
        if ext.get::<Marked>().is_some_and(|m| m.0 == 7) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        out
    }
}

#[tokio::test]
async fn with_caller_layers_the_span_counts_attempts_and_extensions_come_back() {
    // The call layer lends the call's extensions to the layers below it for
    // each attempt; the layers above must find them where they left them,
    // and the span must still count the attempts.
    let server = MockServer::start_async().await;
    sequence(
        &server,
        GET,
        "/v2/registries/example",
        vec![status(503), status(503), status(200)],
    )
    .await;
    let kept = Arc::new(AtomicUsize::new(0));
    let c = builder(&server).with(Mark(kept.clone())).build().unwrap();
    let (fields, result) = capture_span(get_registry(&c)).await;
    result.unwrap();
    assert_eq!(fields["attempts"], "3");
    assert_eq!(fields["status"], "200");
    assert_eq!(
        kept.load(Ordering::SeqCst),
        1,
        "the layer's extension came back after three attempts"
    );
}

#[tokio::test]
async fn is_retryable_says_what_the_retry_loop_did() {
    // One classifier decides both: for every status and method, the error
    // calls itself retryable exactly when the loop tried again.
    let statuses = [
        400, 401, 403, 404, 408, 409, 418, 422, 429, 500, 501, 502, 503, 504, 505, 507, 511,
    ];
    for code in statuses {
        for post in [false, true] {
            let server = MockServer::start_async().await;
            let (method, path) = if post {
                (POST, "/v2/registries")
            } else {
                (GET, "/v2/registries/example")
            };
            let mock = sequence(&server, method, path, vec![status(code)]).await;
            let client = builder(&server)
                .retry(fast_retries().max_attempts(2))
                .build()
                .unwrap();
            let err = if post {
                create_registry(&client).await.unwrap_err()
            } else {
                get_registry(&client).await.unwrap_err()
            };
            let tried_again = mock.calls_async().await == 2;
            assert_eq!(
                err.is_retryable(),
                tried_again,
                "{} {code}",
                if post { "POST" } else { "GET" }
            );
        }
    }
}
