//! The wire contract's shared rules, table-driven over the providers:
//! any 2xx is a success, unlisted error statuses still decode, `null`
//! arrays decode as empty, pagination never loops (every scheme, cycles
//! included), and the body of an operation that returns secrets never
//! reaches an error's `Display` or `Debug`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use regkit_core::{Error, RetryPolicy};
use serde_json::{Value, json};

macro_rules! client {
    ($krate:ident, $base:expr) => {
        $krate::Client::builder()
            .base_url($base)
            .bearer_token("test-token")
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    };
}

/// Answers every request with `status` and `body` (no content type when
/// the body is empty).
async fn answer(server: &MockServer, status: u16, body: &str) {
    let body = body.to_owned();
    server
        .mock_async(|_, then| {
            let then = then.status(status);
            if !body.is_empty() {
                then.header("content-type", "application/json").body(body);
            }
        })
        .await;
}

// ------------------------------------------------------------ any 2xx is Ok

fn ionos_registry(id: &str) -> Value {
    json!({"id": id, "type": "registry", "href": "h",
        "metadata": {"createdBy": "a", "createdByUserId": "u", "createdDate": "2024-03-12T10:01:00Z",
                     "state": "AVAILABLE"},
        "properties": {"name": "r", "location": "de/fra", "hostname": "r.cr.de-fra.ionos.com",
            "garbageCollectionSchedule": {"days": ["Monday"], "time": "01:23:00+00:00"},
            "storageUsage": {"bytes": 0, "updatedAt": "2024-05-20T04:00:00Z"}}})
}

fn abeja_tag(id: u64) -> Value {
    json!({"id": id, "name": "t", "digest": "sha256:00", "media_type": "m", "size": 1,
        "creator": abeja_repository()["creator"], "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z"})
}

fn abeja_repository() -> Value {
    json!({"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        "creator": {"id": "9", "email": "a@example.com", "display_name": null, "role": "admin",
            "is_registered": true, "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z"},
        "description": null, "id": "2",
        "name": "app", "organization_id": "1"})
}

/// Every 2xx a service may send instead of the documented one.
const SUCCESSES: [u16; 6] = [200, 201, 202, 203, 204, 206];

#[tokio::test]
async fn every_2xx_is_a_success_for_operations_with_a_body() {
    for status in SUCCESSES {
        // DigitalOcean documents 200 for a registry; the body still decodes.
        let server = MockServer::start_async().await;
        answer(&server, status, r#"{"registry": {"name": "example"}}"#).await;
        let c = client!(regkit_digitalocean, server.base_url());
        let got = c.registries_get().registry_name("example").send().await;
        if status == 204 {
            // A 204 carries no body by definition, and a read without a
            // body is not an answer: the status is kept in the error.
            match got {
                Err(Error::InvalidResponse(raw, _)) => assert_eq!(raw.status(), 204),
                other => panic!("a read answered 204 must be InvalidResponse: {other:?}"),
            }
        } else {
            let got = got.unwrap_or_else(|e| panic!("{status}: {e}"));
            assert_eq!(got.status(), status);
            let registry = got.registry.as_ref().unwrap();
            assert_eq!(registry.name.as_deref(), Some("example"));
        }

        // Humanitec documents 201 for a create; 200 (and any 2xx) is fine.
        let server = MockServer::start_async().await;
        answer(
            &server,
            status,
            r#"{"id": "reg-1", "registry": "reg.example.com", "type": "basic", "enable_ci": false}"#,
        )
        .await;
        let c = client!(regkit_humanitec, server.base_url());
        let body: regkit_humanitec::types::RegistryRequest = serde_json::from_value(
            json!({"id": "reg-1", "registry": "reg.example.com", "type": "basic"}),
        )
        .unwrap();
        let got = c.create_registry().org_id("acme").body(body).send().await;
        if status != 204 {
            assert_eq!(got.unwrap_or_else(|e| panic!("{status}: {e}")).id, "reg-1");
        }

        // ABEJA documents no status at all: any 2xx with its body is fine.
        let server = MockServer::start_async().await;
        answer(&server, status, &abeja_repository().to_string()).await;
        let c = client!(regkit_abeja, server.base_url());
        let got = c
            .delete_repository()
            .organization_id("1")
            .repository_id("2")
            .send()
            .await;
        // A deletion is Ok at every 2xx; at 204 the body is gone, so the
        // deleted record is absent.
        let deleted = got.unwrap_or_else(|e| panic!("{status}: {e}")).into_inner();
        if status == 204 {
            assert!(deleted.is_none(), "{status}: {deleted:?}");
        } else {
            assert_eq!(deleted.expect("the deleted record").id, "2");
        }
    }
}

#[tokio::test]
async fn an_empty_body_is_invalid_for_a_read_and_lenient_for_a_write() {
    // Every field of DigitalOcean's registry wrapper is optional, so an
    // empty body could pass for a registry with no fields; for a read it
    // is not an answer.
    let server = MockServer::start_async().await;
    answer(&server, 200, "").await;
    let c = client!(regkit_digitalocean, server.base_url());
    let err = c
        .registries_get()
        .registry_name("example")
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::InvalidResponse(raw, _) => {
            assert_eq!(raw.status(), 200);
            assert!(raw.body().is_empty());
        }
        other => panic!("expected InvalidResponse: {other:?}"),
    }

    // A create that happened and answered with no body is not an error
    // that invites a retry: the type's fields are all optional, so it
    // decodes as empty.
    let body: regkit_digitalocean::types::RegistryCreate =
        serde_json::from_value(json!({"name": "example", "subscription_tier_slug": "basic"}))
            .unwrap();
    let got = c.registry_create().body(body).send().await.unwrap();
    assert!(got.registry.is_none());
}

#[tokio::test]
async fn deletes_succeed_whatever_2xx_and_body_come_back() {
    for status in SUCCESSES {
        for body in ["", "{}", r#"{"deleted": true}"#, "not json"] {
            let server = MockServer::start_async().await;
            answer(&server, status, body).await;
            let at = format!("{status} {body:?}");

            let c = client!(regkit_digitalocean, server.base_url());
            let r = c.registries_delete().registry_name("r").send().await;
            r.unwrap_or_else(|e| panic!("digitalocean {at}: {e}"));

            let c = client!(regkit_buildkite, server.base_url());
            let r = c
                .delete_registry()
                .org_slug("o")
                .registry_slug("r")
                .send()
                .await;
            r.unwrap_or_else(|e| panic!("buildkite {at}: {e}"));

            let c = client!(regkit_humanitec, server.base_url());
            let r = c.delete_registry().org_id("o").reg_id("r").send().await;
            r.unwrap_or_else(|e| panic!("humanitec {at}: {e}"));

            let c = client!(regkit_ionos, server.base_url());
            let r = c
                .registries_delete()
                .registry_id("5a8e7c1e-40d6-4c38-9b0e-2d9a2f0d7f10")
                .send()
                .await;
            r.unwrap_or_else(|e| panic!("ionos {at}: {e}"));
        }
    }
}

#[tokio::test]
async fn unlisted_error_statuses_still_decode_the_provider_error() {
    // 418 and 507 are in no spec; the body is DigitalOcean's error.
    for status in [409, 418, 451, 507] {
        let server = MockServer::start_async().await;
        answer(
            &server,
            status,
            r#"{"id": "teapot", "message": "short and stout"}"#,
        )
        .await;
        let c = client!(regkit_digitalocean, server.base_url());
        let err = c.registry_get().send().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        let body = err
            .error_body()
            .unwrap_or_else(|| panic!("{status}: {err:?}"));
        assert_eq!(body.message, "short and stout");
    }
}

#[tokio::test]
async fn redirect_and_informational_statuses_are_unexpected_not_success() {
    let server = MockServer::start_async().await;
    answer(&server, 304, "").await;
    let c = client!(regkit_digitalocean, server.base_url());
    let err = c.registry_get().send().await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedStatus(_)), "{err:?}");
}

// ------------------------------------------------------- null arrays decode

#[tokio::test]
async fn null_arrays_decode_as_empty_in_every_provider() {
    let server = MockServer::start_async().await;
    answer(&server, 200, r#"{"tags": null, "meta": {"total": 0}}"#).await;
    let c = client!(regkit_digitalocean, server.base_url());
    let tags = c
        .registry_list_repository_tags()
        .registry_name("r")
        .repository_name("a")
        .send()
        .await
        .unwrap();
    assert!(tags.tags.is_empty());

    let server = MockServer::start_async().await;
    answer(
        &server,
        200,
        r#"{"items": null, "links": {"self": "https://api.buildkite.com/x"}}"#,
    )
    .await;
    let c = client!(regkit_buildkite, server.base_url());
    let packages = c
        .list_packages()
        .org_slug("o")
        .registry_slug("r")
        .send()
        .await
        .unwrap();
    assert!(packages.items.is_empty());

    let server = MockServer::start_async().await;
    answer(
        &server,
        200,
        &json!({"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "has_next": false, "limit": 50, "offset": 0, "organization_id": "1",
            "organization_name": "o", "registry_repositories": null})
        .to_string(),
    )
    .await;
    let c = client!(regkit_abeja, server.base_url());
    let repos = c
        .list_repositories()
        .organization_id("1")
        .send()
        .await
        .unwrap();
    assert!(repos.registry_repositories.is_empty());

    // IONOS and Humanitec declare their arrays nullable (`Option<Vec<_>>`).
    let server = MockServer::start_async().await;
    answer(
        &server,
        200,
        r#"{"items": null, "_links": {"next": "", "previous": "", "self": ""}, "pagination": {"limit": 100, "token": ""}}"#,
    )
    .await;
    let c = client!(regkit_ionos, server.base_url());
    let registries = c.registries_get().send().await.unwrap();
    assert!(registries.items.as_deref().unwrap_or_default().is_empty());
}

// --------------------------------------------------- pagination never loops

/// Serves pages by the value of `param` (missing = the first page), each
/// from `page(marker)`, counting requests.
async fn paged(
    server: &MockServer,
    param: &'static str,
    page: impl Fn(Option<String>) -> (Value, Option<String>) + Send + Sync + 'static,
) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    server
        .mock_async(|_, then| {
            then.respond_with(move |req: &HttpMockRequest| {
                seen.fetch_add(1, Ordering::SeqCst);
                let marker = req
                    .query_params()
                    .into_iter()
                    .find(|(k, _)| k == param)
                    .map(|(_, v)| v);
                let (body, link) = page(marker);
                let mut r = HttpMockResponse::builder()
                    .status(200)
                    .header("content-type", "application/json");
                if let Some(link) = link {
                    r = r.header("link", link);
                }
                r.body(body.to_string()).build()
            });
        })
        .await;
    count
}

/// Walks a stream to its end: the items before the error, and the error.
async fn walk<T, E, S>(stream: S) -> (usize, Option<Error<E>>)
where
    S: futures::Stream<Item = Result<T, Error<E>>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut items = 0;
    while let Some(next) = stream.next().await {
        match next {
            Ok(_) => items += 1,
            Err(e) => {
                assert!(stream.next().await.is_none(), "the error ends the stream");
                return (items, Some(e));
            }
        }
    }
    (items, None)
}

fn assert_cycle<E: std::fmt::Debug>(
    scheme: &str,
    requests: usize,
    items: usize,
    err: Option<Error<E>>,
) {
    assert_loop(scheme, (requests, items), (3, 2), err)
}

/// The walk ended with a pagination error after `want` (requests, items).
fn assert_loop<E: std::fmt::Debug>(
    scheme: &str,
    got: (usize, usize),
    want: (usize, usize),
    err: Option<Error<E>>,
) {
    let err = err.unwrap_or_else(|| panic!("{scheme}: the cycle A → B → A was walked to an end"));
    assert!(
        matches!(err, Error::Pagination(ref why) if why.contains("again")),
        "{scheme}: {err:?}"
    );
    // A, B, then A again (detected there; its items are not yielded twice).
    assert_eq!(got, want, "{scheme}: (requests, items)");
}

#[tokio::test]
async fn a_marker_cycle_ends_the_stream_with_an_error_in_every_scheme() {
    // Link in the body (DigitalOcean): page 1 → page 2 → page 1 → …
    let server = MockServer::start_async().await;
    let base = server.base_url();
    let requests = paged(&server, "page", move |page| {
        let (tag, next) = match page.as_deref() {
            None | Some("1") => ("a", "2"),
            _ => ("b", "1"),
        };
        let next = format!("{base}/v2/registry/r/repositories/x/tags?page={next}");
        (
            json!({"tags": [{"tag": tag}], "meta": {"total": 2}, "links": {"pages": {"next": next}}}),
            None,
        )
    })
    .await;
    let c = client!(regkit_digitalocean, server.base_url());
    let (items, err) = walk(
        c.registry_list_repository_tags()
            .registry_name("r")
            .repository_name("x")
            .stream(),
    )
    .await;
    assert_cycle("link in body", requests.load(Ordering::SeqCst), items, err);

    // Link header (Buildkite registries).
    let server = MockServer::start_async().await;
    let base = server.base_url();
    let requests = paged(&server, "page", move |page| {
        let (slug, next) = match page.as_deref() {
            None | Some("1") => ("a", "2"),
            _ => ("b", "1"),
        };
        let link =
            format!(r#"<{base}/v2/packages/organizations/o/registries?page={next}>; rel="next""#);
        let id = format!("0191df84-85e4-77aa-83ba-65790847280{slug}");
        let registry = json!({"id": id, "graphql_id": "g", "slug": slug, "url": "u", "web_url": "w",
            "name": slug, "ecosystem": "container", "description": null, "emoji": null,
            "color": null, "public": false, "oidc_policy": null, "team_ids": []});
        (json!([registry]), Some(link))
    })
    .await;
    let c = client!(regkit_buildkite, server.base_url());
    let (items, err) = walk(c.list_registries().org_slug("o").stream()).await;
    assert_cycle("link header", requests.load(Ordering::SeqCst), items, err);

    // Cursor in the body (IONOS registries).
    let server = MockServer::start_async().await;
    let requests = paged(&server, "pagination.token", |token| {
        let (id, next) = match token.as_deref() {
            None | Some("A") => ("5a8e7c1e-40d6-4c38-9b0e-2d9a2f0d7f1a", "B"),
            _ => ("5a8e7c1e-40d6-4c38-9b0e-2d9a2f0d7f1b", "A"),
        };
        (
            json!({"items": [ionos_registry(id)], "_links": {"next": "", "previous": "", "self": ""},
                "pagination": {"limit": 1, "token": next}}),
            None,
        )
    })
    .await;
    let c = client!(regkit_ionos, server.base_url());
    let (items, err) = walk(c.registries_get().stream()).await;
    assert_cycle("cursor", requests.load(Ordering::SeqCst), items, err);

    // Offsets (ABEJA): a server that ignores `offset` and answers the
    // first page again; the second page's marker repeats the first's.
    let server = MockServer::start_async().await;
    let requests = paged(&server, "offset", |_| {
        let page = json!({"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "has_next": true, "limit": 1, "offset": 0, "organization_id": "1",
            "organization_name": "o", "registry_repository_id": "2", "tags": [abeja_tag(0)]});
        (page, None)
    })
    .await;
    let c = client!(regkit_abeja, server.base_url());
    let (items, err) = walk(
        c.list_repository_tags()
            .organization_id("1")
            .repository_id("2")
            .stream(),
    )
    .await;
    assert_loop(
        "offset",
        (requests.load(Ordering::SeqCst), items),
        (2, 1),
        err,
    );
}

// ------------------------------------ secret-bearing bodies stay out of errors

const SECRET: &str = "SEKRET-from-the-body-42";

/// Bodies that fail to decode and quote the secret: a wrong type (serde's
/// message would quote the string), a truncated object, and an error page.
fn hostile_bodies() -> Vec<(u16, String)> {
    vec![
        (200, format!("\"{SECRET}\"")),
        (200, format!(r#"{{"auths": {{"h": {{"auth": "{SECRET}"#)),
        (201, format!(r#"[{{"password": "{SECRET}"}}, 7]"#)),
        (500, format!("<html>{SECRET}</html>")),
        (418, format!("\"{SECRET}\"")),
    ]
}

/// One call of a secret-bearing operation, reduced to what a user could
/// print: `{}`, `{:?}`, `{:#?}` and the raw body.
type Shown = (String, String, String, Option<Vec<u8>>);

fn shown<T, E: std::fmt::Debug + regkit_core::ErrorMetadata>(r: Result<T, Error<E>>) -> Shown {
    match r {
        Ok(_) => panic!("a hostile body decoded"),
        Err(e) => (
            format!("{e}"),
            format!("{e:?}"),
            format!("{e:#?}"),
            e.raw_body().map(|b| b.to_vec()),
        ),
    }
}

type Call = Box<dyn Fn(String) -> futures::future::BoxFuture<'static, Shown>>;

/// Every operation whose success body carries a secret, per provider.
fn secret_operations() -> Vec<(&'static regkit_core::ProviderInfo, &'static str, Call)> {
    use regkit_buildkite as bk;
    use regkit_digitalocean as dgo;
    use regkit_humanitec as hum;
    use regkit_ionos as ion;
    const REG: &str = "5a8e7c1e-40d6-4c38-9b0e-2d9a2f0d7f10";
    const TOK: &str = "0f7d9c44-3c53-4f4e-8d6c-0f6e1e3b8a21";
    fn call<F>(f: F) -> Call
    where
        F: Fn(String) -> futures::future::BoxFuture<'static, Shown> + 'static,
    {
        Box::new(f)
    }
    fn bk_token() -> bk::types::RegistryTokenRequest {
        serde_json::from_value(json!({"description": "ci"})).unwrap()
    }
    vec![
        (
            &dgo::PROVIDER,
            "registry_get_docker_credentials",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_digitalocean, b);
                    shown(c.registry_get_docker_credentials().send().await)
                })
            }),
        ),
        (
            &dgo::PROVIDER,
            "registries_get_docker_credentials",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_digitalocean, b);
                    shown(
                        c.registries_get_docker_credentials()
                            .registry_name("r")
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &hum::PROVIDER,
            "get_registry_credentials",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_humanitec, b);
                    shown(
                        c.get_registry_credentials()
                            .org_id("o")
                            .reg_id("r")
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &bk::PROVIDER,
            "list_registry_tokens",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_buildkite, b);
                    shown(
                        c.list_registry_tokens()
                            .org_slug("o")
                            .registry_slug("r")
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &bk::PROVIDER,
            "create_registry_token",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_buildkite, b);
                    shown(
                        c.create_registry_token()
                            .org_slug("o")
                            .registry_slug("r")
                            .body(bk_token())
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &bk::PROVIDER,
            "get_registry_token",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_buildkite, b);
                    shown(
                        c.get_registry_token()
                            .org_slug("o")
                            .registry_slug("r")
                            .token_id("t")
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &bk::PROVIDER,
            "update_registry_token",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_buildkite, b);
                    shown(
                        c.update_registry_token()
                            .org_slug("o")
                            .registry_slug("r")
                            .token_id("t")
                            .body(bk_token())
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &ion::PROVIDER,
            "registries_tokens_get",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_ionos, b);
                    shown(c.registries_tokens_get().registry_id(REG).send().await)
                })
            }),
        ),
        (
            &ion::PROVIDER,
            "registries_tokens_find_by_id",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_ionos, b);
                    shown(
                        c.registries_tokens_find_by_id()
                            .registry_id(REG)
                            .token_id(TOK)
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &ion::PROVIDER,
            "registries_tokens_post",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_ionos, b);
                    let body: ion::types::PostTokenInput =
                        serde_json::from_value(json!({"properties": {"name": "ci"}})).unwrap();
                    shown(
                        c.registries_tokens_post()
                            .registry_id(REG)
                            .body(body)
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &ion::PROVIDER,
            "registries_tokens_put",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_ionos, b);
                    let body: ion::types::PutTokenInput =
                        serde_json::from_value(json!({"properties": {"name": "ci"}})).unwrap();
                    shown(
                        c.registries_tokens_put()
                            .registry_id(REG)
                            .token_id(TOK)
                            .body(body)
                            .send()
                            .await,
                    )
                })
            }),
        ),
        (
            &ion::PROVIDER,
            "registries_tokens_patch",
            call(|b| {
                Box::pin(async move {
                    let c = client!(regkit_ionos, b);
                    let body: ion::types::PatchTokenInput =
                        serde_json::from_value(json!({})).unwrap();
                    shown(
                        c.registries_tokens_patch()
                            .registry_id(REG)
                            .token_id(TOK)
                            .body(body)
                            .send()
                            .await,
                    )
                })
            }),
        ),
    ]
}

#[test]
fn the_table_covers_every_secret_bearing_operation() {
    let table = secret_operations();
    for provider in [
        &regkit_digitalocean::PROVIDER,
        &regkit_ionos::PROVIDER,
        &regkit_humanitec::PROVIDER,
        &regkit_buildkite::PROVIDER,
        &regkit_abeja::PROVIDER,
    ] {
        let mut covered: Vec<&str> = table
            .iter()
            .filter(|(p, _, _)| p.name == provider.name)
            .map(|(_, id, _)| *id)
            .collect();
        covered.sort_unstable();
        let mut expected = provider.secret_responses.to_vec();
        expected.sort_unstable();
        assert_eq!(covered, expected, "{}", provider.name);
    }
}

#[tokio::test]
async fn bodies_of_secret_bearing_operations_never_reach_error_text() {
    for (provider, id, call) in secret_operations() {
        for (status, body) in hostile_bodies() {
            let server = MockServer::start_async().await;
            answer(&server, status, &body).await;
            let (display, debug, pretty, raw) = call(server.base_url()).await;
            for text in [&display, &debug, &pretty] {
                assert!(
                    !text.contains("SEKRET"),
                    "{}/{id} {status} {body}: {text}",
                    provider.name
                );
            }
            // The caller who asks still gets the body.
            assert_eq!(
                raw.as_deref(),
                Some(body.as_bytes()),
                "{}/{id}",
                provider.name
            );
            assert!(display.contains(&status.to_string()), "{display}");
        }
    }
}

#[tokio::test]
async fn bodies_of_other_operations_still_explain_the_failure() {
    // Not secret-bearing: serde's message and the body preview stay, so a
    // schema mismatch can be diagnosed from the error alone.
    let server = MockServer::start_async().await;
    answer(&server, 200, r#"{"registry": {"name": 42}}"#).await;
    let c = client!(regkit_digitalocean, server.base_url());
    let err = c.registry_get().send().await.unwrap_err();
    assert!(format!("{err}").contains("invalid type"), "{err}");
    assert!(format!("{err:?}").contains("42"), "{err:?}");
}

// ------------------------------------------- error pages that are not JSON

/// What a proxy or load balancer in front of any provider may answer.
fn error_pages() -> Vec<(u16, Option<&'static str>, &'static str)> {
    vec![
        (
            502,
            Some("text/html"),
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        (503, Some("text/plain"), "upstream connect error"),
        (500, None, ""),
        (504, Some("application/json"), r#"["unexpected", "shape"]"#),
    ]
}

/// Calls one GET operation of each provider against `base`, reduced to
/// (status, raw body, Display, retryable).
async fn each_provider_get(
    base: String,
) -> Vec<(&'static str, Option<u16>, Option<Vec<u8>>, String, bool)> {
    fn row<T, E: regkit_core::ErrorMetadata + std::fmt::Debug>(
        provider: &'static str,
        r: Result<T, Error<E>>,
    ) -> (&'static str, Option<u16>, Option<Vec<u8>>, String, bool) {
        let Err(e) = r else {
            panic!("{provider}: an error page decoded as a success")
        };
        assert!(
            matches!(e, Error::UnexpectedStatus(_)),
            "{provider}: not UnexpectedStatus: {e:?}"
        );
        (
            provider,
            e.status().map(|s| s.as_u16()),
            e.raw_body().map(|b| b.to_vec()),
            e.to_string(),
            e.is_retryable(),
        )
    }
    let c = client!(regkit_digitalocean, base.clone());
    let digitalocean = row("digitalocean", c.registry_get().send().await);
    let c = client!(regkit_ionos, base.clone());
    let ionos = row("ionos", c.registries_get().send().await);
    let c = client!(regkit_humanitec, base.clone());
    let humanitec = row("humanitec", c.list_registries().org_id("o").send().await);
    let c = client!(regkit_buildkite, base.clone());
    let buildkite = row("buildkite", c.list_registries().org_slug("o").send().await);
    let c = client!(regkit_abeja, base);
    let abeja = row(
        "abeja",
        c.list_repositories().organization_id("1").send().await,
    );
    vec![digitalocean, ionos, humanitec, buildkite, abeja]
}

#[tokio::test]
async fn error_pages_keep_status_and_raw_body_in_every_provider() {
    for (status, content_type, body) in error_pages() {
        let server = MockServer::start_async().await;
        server
            .mock_async(|_, then| {
                let then = then.status(status).body(body);
                if let Some(ct) = content_type {
                    then.header("content-type", ct);
                }
            })
            .await;
        for (provider, got_status, raw, display, retryable) in
            each_provider_get(server.base_url()).await
        {
            assert_eq!(got_status, Some(status), "{provider}");
            assert_eq!(raw.as_deref(), Some(body.as_bytes()), "{provider}");
            assert!(
                display.starts_with(&status.to_string()),
                "{provider}: {display}"
            );
            if !body.is_empty() {
                let start: String = body.chars().take(20).collect();
                assert!(display.contains(&start), "{provider}: {display}");
            }
            // Every one of these statuses is transient for a GET.
            assert!(retryable, "{provider} {status}");
        }
    }
}

// ------------------------------------------------- null as a value, kept

#[test]
fn a_null_that_means_something_survives_decoding_and_is_sent_back() {
    use regkit_buildkite::types::{OidcClaimRule, OidcScalar};
    // Buildkite's OIDC rule `equals: null` (the claim must be null) is not
    // the same as no `equals` at all.
    let rule: OidcClaimRule = serde_json::from_value(json!({"equals": null})).unwrap();
    assert!(matches!(rule.equals, Some(OidcScalar::Null)), "{rule:?}");
    assert_eq!(serde_json::to_value(&rule).unwrap()["equals"], Value::Null);
    let absent: OidcClaimRule = serde_json::from_value(json!({"not_equals": "x"})).unwrap();
    assert!(absent.equals.is_none());
    assert!(
        serde_json::to_value(&absent)
            .unwrap()
            .get("equals")
            .is_none()
    );
}

#[tokio::test]
async fn ionos_error_bodies_missing_fields_still_decode() {
    // API 1.2.1 marks every field of the error body optional.
    for body in [
        json!({}),
        json!({"httpStatus": 400}),
        json!({"messages": [{"message": "bad name"}]}),
        json!({"messages": [{"errorCode": "paas-1"}], "httpStatus": 400}),
        json!({"messages": null}),
    ] {
        let server = MockServer::start_async().await;
        answer(&server, 400, &body.to_string()).await;
        let c = client!(regkit_ionos, server.base_url());
        let err = c.registries_get().send().await.unwrap_err();
        assert!(err.error_body().is_some(), "{body}: {err:?}");
    }
}

#[tokio::test]
async fn ids_that_are_not_uuids_decode() {
    // No source guarantees UUIDs for these ids (IONOS 1.2.1 and Buildkite
    // type them as strings): a response with another form still decodes.
    let server = MockServer::start_async().await;
    let mut registry = ionos_registry("not-a-uuid-1");
    registry["metadata"]["createdByUserId"] = json!("user 7");
    answer(
        &server,
        200,
        &json!({"items": [registry], "_links": {"next": "", "previous": "", "self": ""},
                "pagination": {"limit": 1, "token": ""}})
        .to_string(),
    )
    .await;
    let c = client!(regkit_ionos, server.base_url());
    let page = c.registries_get().send().await.unwrap();
    assert_eq!(
        page.items.as_ref().unwrap()[0].id.as_deref(),
        Some("not-a-uuid-1")
    );
}
