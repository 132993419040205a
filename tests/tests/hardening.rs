//! Hostile servers and hostile input: no escape from a path segment, no
//! credential leaving its origin or reaching error text, no panic from any
//! header or body, and retries that cover whole attempts within the budget.
//! Where the input space is large the rule is a property test.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use regkit_core::middleware::{Middleware, Next};
use regkit_core::{ConfigError, Credentials, Error, RetryPolicy};
use regkit_digitalocean::Client;
use serde_json::json;

// ------------------------------------------------------------------- paths

/// A caller layer that records each request's URL and answers with a set
/// status and body itself, so a property test runs thousands of real
/// generated calls with no server.
#[derive(Clone, Default)]
struct Capture {
    urls: Arc<Mutex<Vec<reqwest::Url>>>,
    answer: Arc<Mutex<(u16, Vec<u8>)>>,
}

impl Capture {
    /// From now on, answer `status` with `body`, and forget what was sent.
    fn answering(&self, status: u16, body: impl Into<Vec<u8>>) {
        *self.answer.lock().unwrap() = (status, body.into());
        self.urls.lock().unwrap().clear();
    }
}

#[async_trait::async_trait]
impl Middleware for Capture {
    async fn handle(
        &self,
        req: reqwest::Request,
        _: &mut http::Extensions,
        _: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.urls.lock().unwrap().push(req.url().clone());
        let (status, body) = self.answer.lock().unwrap().clone();
        let response = http::Response::builder().status(status).body(body).unwrap();
        Ok(response.into())
    }
}

/// One runtime and one client of three providers behind one [`Capture`],
/// per test thread: building a client (its TLS configuration) costs more
/// than a case, so thousands of cases share them, each setting its answer
/// first.
struct Captured {
    rt: tokio::runtime::Runtime,
    capture: Capture,
    digitalocean: Client,
    ionos: regkit_ionos::Client,
    buildkite: regkit_buildkite::Client,
}

impl Captured {
    fn new() -> Self {
        let capture = Capture::default();
        Captured {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            digitalocean: Client::builder()
                .base_url("https://api.example.com/base")
                .bearer_token("t0ken")
                .retry(RetryPolicy::none())
                .with(capture.clone())
                .build()
                .unwrap(),
            ionos: regkit_ionos::Client::builder()
                .base_url("https://api.example.com")
                .bearer_token("t")
                .with(capture.clone())
                .build()
                .unwrap(),
            buildkite: regkit_buildkite::Client::builder()
                .base_url("https://api.example.com")
                .bearer_token("t")
                .with(capture.clone())
                .build()
                .unwrap(),
            capture,
        }
    }

    /// This thread's: each test runs on its own thread, so tests never
    /// share one.
    fn with<T>(f: impl FnOnce(&Captured) -> T) -> T {
        thread_local!(static CAPTURED: Captured = Captured::new());
        CAPTURED.with(f)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Deletes a tag (the most dangerous shape: three parameters, DELETE) and
/// checks the request that left: exactly the intended segments, each
/// decoding back to its value, or `InvalidRequest` and nothing sent.
fn check_segments(c: &Captured, values: [&str; 3]) -> Result<(), TestCaseError> {
    c.capture.answering(204, "");
    let result = c.rt.block_on(
        c.digitalocean
            .registry_delete_repository_tag()
            .registry_name(values[0])
            .repository_name(values[1])
            .repository_tag(values[2])
            .send(),
    );
    let urls = c.capture.urls.lock().unwrap();
    match result {
        Err(Error::InvalidRequest(_)) => {
            prop_assert!(urls.is_empty(), "an invalid request was sent: {:?}", urls)
        }
        Err(e) => return Err(TestCaseError::fail(format!("{values:?}: {e:?}"))),
        Ok(_) => {
            prop_assert_eq!(urls.len(), 1);
            let url = &urls[0];
            prop_assert_eq!(url.host_str(), Some("api.example.com"));
            prop_assert!(url.query().is_none(), "{}", url);
            prop_assert!(url.fragment().is_none(), "{}", url);
            let segments: Vec<&str> = url.path_segments().unwrap().collect();
            prop_assert_eq!(segments.len(), 8, "{}", url);
            prop_assert_eq!(
                &segments[..2],
                &["base", "v2"][..],
                "fixed segments moved: {}",
                url
            );
            prop_assert_eq!(segments[2], "registry");
            prop_assert_eq!(segments[4], "repositories");
            prop_assert_eq!(segments[6], "tags");
            for (segment, value) in [segments[3], segments[5], segments[7]].iter().zip(values) {
                let decoded = percent_decode_str(segment).decode_utf8().unwrap();
                prop_assert_eq!(&decoded, value, "{}", url);
            }
        }
    }
    Ok(())
}

/// Strings built from the characters URL parsers treat specially, plus
/// dots and percent signs, so traversal attempts are common.
fn hostile_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(r"[./\\%2eEfF5cC?#;:@ \t\n\x00a-z\[\]{}|^`<>\x22'~+]{0,10}")
            .unwrap(),
        any::<String>(),
        Just("..".to_owned()),
        Just(r"..\..\v2\account".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn a_path_parameter_never_changes_the_path(
        a in hostile_segment(),
        b in hostile_segment(),
        c in hostile_segment(),
    ) {
        Captured::with(|captured| check_segments(captured, [&a, &b, &c]))?;
    }
}

#[test]
fn known_traversals_are_refused_and_nothing_is_sent() {
    Captured::with(known_traversals_are_refused);
}

fn known_traversals_are_refused(c: &Captured) {
    for bad in [
        "..",
        ".",
        "",
        r"..\..\v2\account",
        r"..\x",
        "a/../b",
        "%2e%2e",
        "%2E.",
        ".%2e",
        "%252e%252e",
        "..%2f..",
        "..%5c..",
    ] {
        c.capture.answering(204, "");
        let r = c.rt.block_on(
            c.digitalocean
                .registry_delete_repository_tag()
                .registry_name("r")
                .repository_name(bad)
                .repository_tag("t")
                .send(),
        );
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{bad:?}: {r:?}");
        assert!(
            c.capture.urls.lock().unwrap().is_empty(),
            "{bad:?} was sent"
        );
    }
    // Legitimate names with dots, slashes and backslashes stay one segment.
    for good in ["team/api", "v1.0", "...", r"a\b", "a..b", ".hidden"] {
        check_segments(c, ["r", good, "t"]).unwrap();
    }
}

// ------------------------------------------------------------- credentials

/// Every way a provider here sends a credential, with the header it uses.
fn credential_kinds() -> Vec<(&'static str, Credentials, &'static str)> {
    vec![
        (
            "bearer",
            Credentials::bearer("s3cret-bearer-token").unwrap(),
            "authorization",
        ),
        (
            "basic",
            Credentials::basic("user", "s3cret-basic-password").unwrap(),
            "authorization",
        ),
        (
            "api key",
            Credentials::api_key("X-Api-Key", None, "s3cret-api-key").unwrap(),
            "x-api-key",
        ),
        (
            "prefixed api key",
            Credentials::api_key("X-Auth", Some("Token"), "s3cret-prefixed-key").unwrap(),
            "x-auth",
        ),
    ]
}

#[tokio::test]
async fn no_credential_header_follows_a_redirect_to_another_origin() {
    for (kind, credentials, header) in credential_kinds() {
        for status in [301, 302, 303, 307, 308] {
            let other = MockServer::start_async().await;
            let landed = other
                .mock_async(|when, then| {
                    when.header_missing(header)
                        .header_missing("authorization")
                        .header_missing("cookie");
                    then.status(200)
                        .json_body(json!({"registry": {"name": "r"}}));
                })
                .await;
            let origin = MockServer::start_async().await;
            let target = format!("{}/v2/registry", other.base_url());
            origin
                .mock_async(|when, then| {
                    when.header_exists(header);
                    then.status(status).header("location", target);
                })
                .await;
            let client = Client::builder()
                .base_url(origin.base_url())
                .credentials(credentials.clone())
                .build()
                .unwrap();
            let r = client.registry_get().send().await;
            assert!(r.is_ok(), "{kind} {status}: {r:?}");
            landed.assert_calls_async(1).await;
        }
    }
}

#[tokio::test]
async fn same_origin_redirects_keep_the_credentials() {
    for (kind, credentials, header) in credential_kinds() {
        let server = MockServer::start_async().await;
        let moved = server
            .mock_async(|when, then| {
                when.path("/v2/registry");
                then.status(307).header("location", "/moved");
            })
            .await;
        let landed = server
            .mock_async(|when, then| {
                when.path("/moved").header_exists(header);
                then.status(200)
                    .json_body(json!({"registry": {"name": "r"}}));
            })
            .await;
        let client = Client::builder()
            .base_url(server.base_url())
            .credentials(credentials)
            .build()
            .unwrap();
        let r = client.registry_get().send().await;
        assert!(r.is_ok(), "{kind}: {r:?}");
        moved.assert_calls_async(1).await;
        landed.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn endless_redirects_end_with_the_last_redirect() {
    let server = MockServer::start_async().await;
    let loop_ = server
        .mock_async(|_, then| {
            then.status(302).header("location", "/again");
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .bearer_token("t")
        .build()
        .unwrap();
    let err = client.registry_get().send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(302));
    loop_.assert_calls_async(11).await;
}

#[test]
fn base_urls_with_user_info_query_or_fragment_are_refused_without_echoing_a_password() {
    for url in [
        "http://user:hunter2pass@localhost:1",
        "https://:hunter2pass@api.example.com",
        "https://hunter2pass@api.example.com/v2",
        "https://us%40er:hunter2%3Apass@api.example.com",
        "https://api.example.com/?token=x",
        "https://api.example.com/#frag",
        "https://api.example.com/?",
        "ht!tp://user:hunter2pass@nowhere",
    ] {
        let builder = Client::builder().base_url(url).bearer_token("tok");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let err = builder.build().unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidBaseUrl(_)),
            "{url}: {err:?}"
        );
        for text in [format!("{err}"), format!("{err:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
        }
    }
    // A path prefix is fine.
    Client::builder()
        .base_url("https://api.example.com/proxy/do")
        .bearer_token("tok")
        .build()
        .unwrap();
}

#[tokio::test]
async fn error_text_never_repeats_a_configured_credential() {
    let secrets = [
        "s3cret-bearer-token",
        "s3cret-basic-password",
        "dXNlcjpzM2NyZXQtYmFzaWMtcGFzc3dvcmQ=", // base64("user:s3cret-basic-password")
        "s3cret-api-key",
        "s3cret-prefixed-key",
    ];
    for (kind, credentials, header) in credential_kinds() {
        // The server echoes whatever arrived in the credential header, in
        // every place an error shows: message, request id, body.
        let echo = |status: u16, shape: &'static str| {
            move |req: &httpmock::HttpMockRequest| {
                let sent = req
                    .headers()
                    .get(header)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let raw = sent.split(' ').next_back().unwrap_or_default().to_owned();
                let body = match shape {
                    "json" => {
                        json!({"id": "unauthorized", "message": format!("bad token {sent} ({raw})"),
                                     "request_id": raw})
                        .to_string()
                    }
                    "escaped" => json!({"message": sent.replace('/', "\\/")}).to_string(),
                    "html" => format!("<html>denied {sent} / {raw}</html>"),
                    _ => format!("{{\"registry\": {{\"name\": 7, \"x\": \"{raw}\"}}"),
                };
                httpmock::HttpMockResponse::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .header("x-request-id", raw.clone())
                    .body(body)
                    .build()
            }
        };
        for (status, shape) in [
            (401, "json"),
            (403, "escaped"),
            (502, "html"),
            (200, "wrong type"),
        ] {
            let server = MockServer::start_async().await;
            server
                .mock_async(|_, then| {
                    then.respond_with(echo(status, shape));
                })
                .await;
            let client = Client::builder()
                .base_url(server.base_url())
                .credentials(credentials.clone())
                .retry(RetryPolicy::none())
                .build()
                .unwrap();
            let err = client.registry_get().send().await.unwrap_err();
            for text in [format!("{err}"), format!("{err:?}"), format!("{err:#?}")] {
                for secret in secrets {
                    assert!(!text.contains(secret), "{kind} {status} {shape}: {text}");
                }
            }
        }
    }
}

// ------------------------------------------------ headers and bodies: no panic

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any `Retry-After` or rate-limit reset value on a 429: the call ends
    /// (retried or not) without a panic, within the budget.
    #[test]
    fn any_rate_limit_header_value_is_survived(
        retry_after in prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            Just(u64::MAX.to_string()),
            Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
            Just("Thu, 01 Jan 1970 00:00:00 GMT".to_owned()),
            "[ -~]{0,30}",
        ],
        reset in prop_oneof![any::<u64>().prop_map(|n| n.to_string()), "[ -~]{0,20}"],
    ) {
        thread_local!(static SERVED: (tokio::runtime::Runtime, MockServer, Client) = {
            let rt = runtime();
            let server = rt.block_on(MockServer::start_async());
            let client = Client::builder()
                .base_url(server.base_url())
                .bearer_token("t")
                .retry(RetryPolicy::default()
                    .max_attempts(2)
                    .max_backoff(Duration::from_millis(5))
                    .budget(Duration::from_millis(300)))
                .build()
                .unwrap();
            (rt, server, client)
        });
        let capture = Arc::new(AtomicUsize::new(0));
        let result = SERVED.with(|(rt, server, client)| rt.block_on(async {
            let count = capture.clone();
            let mock = server.mock_async(|_, then| {
                then.respond_with(move |_: &httpmock::HttpMockRequest| {
                    count.fetch_add(1, Ordering::SeqCst);
                    httpmock::HttpMockResponse::builder()
                        .status(429)
                        .header("retry-after", retry_after.clone())
                        .header("ratelimit-reset", reset.clone())
                        .body("{}")
                        .build()
                });
            }).await;
            let result = client.registry_get().send().await;
            mock.delete_async().await;
            // Whether it failed as rate limited, asking for the wait too.
            result.err().map(|err| {
                let _ = err.retry_after();
                err.is_rate_limited()
            })
        }));
        prop_assert_eq!(result, Some(true));
        prop_assert!(capture.load(Ordering::SeqCst) <= 2);
    }

    /// Arbitrary bytes as a success body of several operations: an error
    /// or a value, never a panic.
    #[test]
    fn any_success_body_decodes_or_errors(body in prop_oneof![
        any::<Vec<u8>>(),
        "[\\[\\]{}\":,0-9a-z.eE+-]{0,64}".prop_map(String::into_bytes),
    ]) {
        Captured::with(|c| decode_everywhere(c, &body));
    }
}

/// Sends `body` as a 200 to operations of three providers.
fn decode_everywhere(c: &Captured, body: &[u8]) {
    c.capture.answering(200, body.to_vec());
    let _ = c.rt.block_on(c.digitalocean.registries_list().send());
    let _ = c.rt.block_on(
        c.digitalocean
            .registry_list_repository_tags()
            .registry_name("r")
            .repository_name("x")
            .send(),
    );
    let _ = c.rt.block_on(c.ionos.registries_get().send());
    let _ =
        c.rt.block_on(c.buildkite.list_registries().org_slug("o").send());
}

#[test]
fn deep_nesting_and_huge_numbers_do_not_panic() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_objects = format!(
        "{}1{}",
        r#"{"registries":"#.repeat(50_000),
        "}".repeat(50_000)
    );
    for body in [
        deep,
        deep_objects,
        r#"{"registries": [{"storage_usage_bytes": 1e999999}]}"#.to_owned(),
        format!(
            r#"{{"registries": [{{"storage_usage_bytes": {}}}]}}"#,
            "9".repeat(10_000)
        ),
        r#"{"registries": [{"storage_usage_bytes": -1}]}"#.to_owned(),
        "\u{feff}{}".to_owned(),
    ] {
        Captured::with(|c| decode_everywhere(c, body.as_bytes()));
    }
}

// ----------------------------------------- attempts include the body; budget

/// A server that sends headers promising `len` bytes, then `sent` bytes,
/// then either hangs (`stall`) or closes; counts connections.
fn half_body_server(len: usize, sent: usize, stall: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&b"{\"registry\": {\"name\": \"r\"}}"[..sent.min(27)]);
                let _ = stream.flush();
                if stall {
                    std::thread::sleep(Duration::from_secs(30));
                }
            });
        }
    });
    (url, count)
}

fn quick(url: &str) -> regkit_digitalocean::ClientBuilder {
    Client::builder().base_url(url).bearer_token("t").retry(
        RetryPolicy::default()
            .max_attempts(3)
            .initial_backoff(Duration::from_millis(1))
            .max_backoff(Duration::from_millis(5)),
    )
}

#[tokio::test]
async fn a_body_cut_mid_way_is_a_failed_attempt_retried_for_get_only() {
    let (url, connections) = half_body_server(500, 10, false);
    let client = quick(&url).build().unwrap();
    let err = client.registry_get().send().await.unwrap_err();
    assert!(matches!(err, Error::Request(_)), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 3, "GET is retried");

    let (url, connections) = half_body_server(500, 10, false);
    let client = quick(&url).build().unwrap();
    let err = client
        .registries_create()
        .body(
            serde_json::from_value::<regkit_digitalocean::types::MultiregistryCreate>(
                json!({"name": "r", "subscription_tier_slug": "basic", "region": "fra1"}),
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Request(_)), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "POST is not");
}

#[tokio::test]
async fn a_body_that_stalls_past_the_timeout_is_a_retried_timeout() {
    let (url, connections) = half_body_server(500, 10, true);
    let client = quick(&url)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.registry_get().send().await.unwrap_err();
    match &err {
        Error::Request(e) => assert!(e.is_timeout(), "{err:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_budget_bounds_attempts_too() {
    // Each attempt may take 30 s, the whole call 400 ms: the first attempt
    // is cut at the budget, and no second one starts.
    let (url, connections) = half_body_server(500, 10, true);
    let client = quick(&url)
        .timeout(Duration::from_secs(30))
        .retry(
            RetryPolicy::default()
                .max_attempts(5)
                .budget(Duration::from_millis(400)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.registry_get().send().await.unwrap_err();
    assert!(
        matches!(&err, Error::Request(e) if e.is_timeout()),
        "{err:?}"
    );
    // Far below one attempt's own timeout: the budget cut it.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirect_chains_keep_credentials_on_their_origin_and_a_get_a_get() {
    // origin --302--> other --307--> other/again --302--> origin/home
    let origin = MockServer::start_async().await;
    let other = MockServer::start_async().await;
    let first = origin
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v2/registries")
                .header("authorization", "Bearer t0ken");
            then.status(302)
                .header("location", format!("{}/moved", other.base_url()));
        })
        .await;
    let moved = other
        .mock_async(|when, then| {
            when.method(GET)
                .path("/moved")
                .header_missing("authorization");
            then.status(307).header("location", "/again");
        })
        .await;
    let again = other
        .mock_async(|when, then| {
            // Still a GET after the 302, and still no credentials.
            when.method(GET)
                .path("/again")
                .header_missing("authorization");
            then.status(302)
                .header("location", format!("{}/home", origin.base_url()));
        })
        .await;
    let home = origin
        .mock_async(|when, then| {
            // Back on the credentials' own origin: they are sent again.
            when.method(GET)
                .path("/home")
                .header("authorization", "Bearer t0ken");
            then.status(201)
                .json_body(json!({"registry": {"name": "r"}}));
        })
        .await;
    let client = Client::builder()
        .base_url(origin.base_url())
        .bearer_token("t0ken")
        .build()
        .unwrap();
    let r = client
        .registries_create()
        .body(
            serde_json::from_value::<regkit_digitalocean::types::MultiregistryCreate>(
                json!({"name": "r", "subscription_tier_slug": "basic", "region": "fra1"}),
            )
            .unwrap(),
        )
        .send()
        .await;
    assert!(r.is_ok(), "{r:?}");
    for mock in [&first, &moved, &again, &home] {
        mock.assert_calls_async(1).await;
    }
}
