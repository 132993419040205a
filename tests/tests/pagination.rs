//! Auto-pagination: every scheme walked over several pages, counting the
//! requests the server saw; laziness; errors mid-stream; empty listings;
//! a server that repeats its next-page marker.

use futures::{StreamExt, TryStreamExt};
use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use regkit_core::{Error, RetryPolicy};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn no_retries() -> RetryPolicy {
    RetryPolicy::none()
}

macro_rules! client {
    ($krate:ident, $server:expr) => {
        $krate::Client::builder()
            .base_url($server.base_url())
            .bearer_token("test-token")
            .retry(no_retries())
            .build()
            .unwrap()
    };
}

// ---------------------------------------------------------------- DigitalOcean

fn do_tag(i: usize) -> Value {
    json!({"registry_name": "reg", "repository": "team/api", "tag": format!("v{i}"),
           "size_bytes": 3_000_000_000u64 + i as u64})
}

/// A DigitalOcean tag page: `items` tags, with `links.pages.next` when `next` is set.
fn do_tags_page(items: std::ops::Range<usize>, next: Option<String>, total: usize) -> Value {
    let mut page = json!({"tags": items.map(do_tag).collect::<Vec<_>>(), "meta": {"total": total}});
    if let Some(next) = next {
        page["links"] = json!({"pages": {"next": next}});
    }
    page
}

const TAGS: &str = "/v2/registry/reg/repositories/team%2Fapi/tags";

#[tokio::test]
async fn digitalocean_page_numbers_follow_links_and_keep_the_page_size() {
    let server = MockServer::start_async().await;
    let mut pages = Vec::new();
    for page in 1..=3usize {
        let next = (page < 3).then(|| {
            format!(
                "https://api.digitalocean.com{TAGS}?page={}&per_page=2",
                page + 1
            )
        });
        let body = do_tags_page((page - 1) * 2..page * 2, next, 6);
        pages.push(
            server
                .mock_async(|when, then| {
                    let when = when.method(GET).path(TAGS).query_param("per_page", "2");
                    if page == 1 {
                        when.query_param_missing("page");
                    } else {
                        when.query_param("page", page.to_string());
                    }
                    then.status(200).json_body(body);
                })
                .await,
        );
    }
    let client = client!(regkit_digitalocean, server);
    let tags: Vec<_> = client
        .registry_list_repository_tags()
        .registry_name("reg")
        .repository_name("team/api")
        .per_page(2u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = tags.iter().map(|t| t.tag.clone().unwrap()).collect();
    assert_eq!(names, ["v0", "v1", "v2", "v3", "v4", "v5"]);
    for page in &pages {
        page.assert_async().await; // each page requested exactly once
    }
}

#[tokio::test]
async fn digitalocean_repositories_v2_follow_page_tokens() {
    let server = MockServer::start_async().await;
    let path = "/v2/registries/reg/repositoriesV2";
    let repo = |name: &str| json!({"registry_name": "reg", "name": name, "tag_count": 1, "manifest_count": 1});
    let first = server
        .mock_async(|when, then| {
            when.path(path).query_param("per_page", "1").query_param_missing("page_token");
            then.status(200).json_body(json!({
                "repositories": [repo("a")], "meta": {"total": 2},
                "links": {"pages": {"next": format!("https://api.digitalocean.com{path}?per_page=1&page_token=tok%2B2")}}
            }));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.path(path)
                .query_param("per_page", "1")
                .query_param("page_token", "tok+2");
            then.status(200)
                .json_body(json!({"repositories": [repo("b")], "meta": {"total": 2}}));
        })
        .await;
    let client = client!(regkit_digitalocean, server);
    let names: Vec<_> = client
        .registries_list_repositories_v2()
        .registry_name("reg")
        .per_page(1u64)
        .stream()
        .map_ok(|r| r.name.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b"]);
    first.assert_async().await;
    second.assert_async().await;
}

/// Serves a 1000-tag listing in pages of `per_page`, counting requests.
async fn thousand_tags(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.method(GET).path(TAGS);
            then.respond_with(|req: &HttpMockRequest| {
                let q = |k: &str| {
                    req.query_params()
                        .into_iter()
                        .find(|(name, _)| name == k)
                        .map(|(_, v)| v.parse::<usize>().unwrap())
                };
                let page = q("page").unwrap_or(1);
                let per_page = q("per_page").unwrap_or(20);
                let start = (page - 1) * per_page;
                let end = (start + per_page).min(1000);
                let next =
                    (end < 1000).then(|| format!("{TAGS}?page={}&per_page={per_page}", page + 1));
                HttpMockResponse::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(do_tags_page(start..end, next, 1000).to_string())
                    .build()
            });
        })
        .await
}

#[tokio::test]
async fn streams_are_lazy() {
    let server = MockServer::start_async().await;
    let mock = thousand_tags(&server).await;
    let client = client!(regkit_digitalocean, server);
    let stream = client
        .registry_list_repository_tags()
        .registry_name("reg")
        .repository_name("team/api")
        .per_page(100u64)
        .stream();
    assert_eq!(
        mock.calls_async().await,
        0,
        "nothing is sent before the first poll"
    );
    let first: Vec<_> = stream.take(3).try_collect().await.unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(
        mock.calls_async().await,
        1,
        "3 items of a 1000-item listing: one page"
    );
}

#[tokio::test]
async fn a_full_walk_requests_each_page_once() {
    let server = MockServer::start_async().await;
    let mock = thousand_tags(&server).await;
    let client = client!(regkit_digitalocean, server);
    let count = client
        .registry_list_repository_tags()
        .registry_name("reg")
        .repository_name("team/api")
        .per_page(100u64)
        .stream()
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await
        .unwrap();
    assert_eq!(count, 1000);
    assert_eq!(mock.calls_async().await, 10);
}

#[tokio::test]
async fn an_error_mid_stream_is_yielded_once_and_ends_the_stream() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path(TAGS).query_param_missing("page");
            then.status(200)
                .json_body(do_tags_page(0..2, Some(format!("{TAGS}?page=2")), 4));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.path(TAGS).query_param("page", "2");
            then.status(404)
                .json_body(json!({"id": "not_found", "message": "gone"}));
        })
        .await;
    let client = client!(regkit_digitalocean, server);
    let results: Vec<_> = client
        .registry_list_repository_tags()
        .registry_name("reg")
        .repository_name("team/api")
        .stream()
        .collect()
        .await;
    assert_eq!(results.len(), 3, "two items, then the error, then the end");
    assert!(results[0].is_ok() && results[1].is_ok());
    assert!(results[2].as_ref().unwrap_err().is_not_found());
    second.assert_async().await;
}

#[tokio::test]
async fn retries_apply_per_page() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path(TAGS).query_param_missing("page");
            then.status(200)
                .json_body(do_tags_page(0..2, Some(format!("{TAGS}?page=2")), 4));
        })
        .await;
    let calls = AtomicUsize::new(0);
    let second = server
        .mock_async(|when, then| {
            when.path(TAGS).query_param("page", "2");
            then.respond_with(move |_: &HttpMockRequest| {
                let first_try = calls.fetch_add(1, Ordering::SeqCst) == 0;
                let (status, body) = if first_try {
                    (503, json!({"id": "unavailable", "message": "try again"}))
                } else {
                    (200, do_tags_page(2..4, None, 4))
                };
                HttpMockResponse::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .build()
            });
        })
        .await;
    let client = regkit_digitalocean::Client::builder()
        .base_url(server.base_url())
        .bearer_token("test-token")
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(5)))
        .build()
        .unwrap();
    let all: Vec<_> = client
        .registry_list_repository_tags()
        .registry_name("reg")
        .repository_name("team/api")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        second.calls_async().await,
        2,
        "page 2 was retried, page 1 was not re-fetched"
    );
}

#[tokio::test]
async fn an_empty_first_page_ends_cleanly() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path(TAGS);
            then.status(200)
                .json_body(json!({"tags": [], "meta": {"total": 0}}));
        })
        .await;
    let client = client!(regkit_digitalocean, server);
    let all: Vec<_> = client
        .registry_list_repository_tags()
        .registry_name("reg")
        .repository_name("team/api")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(all.is_empty());
    mock.assert_async().await;
}

#[tokio::test]
async fn a_repeated_next_marker_is_an_error_not_a_loop() {
    let server = MockServer::start_async().await;
    // Every page claims the next one is page 2.
    let mock = server
        .mock_async(|when, then| {
            when.path(TAGS);
            then.status(200)
                .json_body(do_tags_page(0..2, Some(format!("{TAGS}?page=2")), 99));
        })
        .await;
    let client = client!(regkit_digitalocean, server);
    let results: Vec<_> = client
        .registry_list_repository_tags()
        .registry_name("reg")
        .repository_name("team/api")
        .stream()
        .collect()
        .await;
    assert_eq!(results.len(), 3, "page 1's items, then the error");
    let err = results[2].as_ref().unwrap_err();
    assert!(matches!(err, Error::Pagination(_)), "{err:?}");
    assert!(err.to_string().contains("`2`"), "{err}");
    assert_eq!(mock.calls_async().await, 2);
}

#[tokio::test]
async fn digitalocean_garbage_collections_manifests_and_repositories_stream() {
    let server = MockServer::start_async().await;
    let gc = server
        .mock_async(|when, then| {
            when.path("/v2/registries/reg/garbage-collections");
            then.status(200).json_body(json!({
                "garbage_collections": [{"uuid": "u1", "status": "paused for maintenance"}],
                "meta": {"total": 1}
            }));
        })
        .await;
    let manifests = server
        .mock_async(|when, then| {
            when.path("/v2/registry/reg/repositories/team%2Fapi/digests");
            then.status(200).json_body(json!({
                "manifests": [{"digest": "sha256:0123", "tags": ["latest"]}],
                "meta": {"total": 1}
            }));
        })
        .await;
    let registries = server
        .mock_async(|when, then| {
            when.path("/v2/registries");
            then.status(200)
                .json_body(json!({"registries": [{"name": "a"}, {"name": "b"}]}));
        })
        .await;
    let client = client!(regkit_digitalocean, server);
    let gcs: Vec<_> = client
        .registries_list_garbage_collections()
        .registry_name("reg")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(!gcs[0].status.as_ref().unwrap().is_known());
    let ms: Vec<_> = client
        .registry_list_repository_manifests()
        .registry_name("reg")
        .repository_name("team/api")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ms[0].digest.as_deref(), Some("sha256:0123"));
    let rs: Vec<_> = client
        .registries_list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rs.len(), 2);
    gc.assert_async().await;
    manifests.assert_async().await;
    registries.assert_async().await;
}

// ---------------------------------------------------------------- IONOS

const REGISTRY_ID: &str = "1f1e2d3c-4b5a-4697-8877-665544332211";

fn ionos_metadata() -> Value {
    json!({"createdBy": "me@example.com", "createdByUserId": "u-1",
           "createdDate": "2024-01-02T03:04:05Z", "state": "Available"})
}

#[tokio::test]
async fn ionos_registries_follow_the_pagination_token_until_it_is_empty() {
    let server = MockServer::start_async().await;
    let registry = |name: &str| {
        json!({"id": format!("5a4d3c2b-0000-4000-8000-{:012}", name.len()), "metadata": ionos_metadata(),
               "properties": {"name": name, "location": "de/fra"}})
    };
    let links = json!({"next": "", "previous": "", "self": ""});
    let mut mocks = Vec::new();
    for (token, next, name) in [
        (None, "t2", "a"),
        (Some("t2"), "t3", "b"),
        (Some("t3"), "", "c"),
    ] {
        let body = json!({"items": [registry(name)], "_links": links,
                          "pagination": {"limit": 1, "token": next}});
        mocks.push(
            server
                .mock_async(|when, then| {
                    let when = when
                        .path("/containerregistries/registries")
                        .query_param("limit", "1");
                    match token {
                        None => when.query_param_missing("pagination.token"),
                        Some(t) => when.query_param("pagination.token", t),
                    };
                    then.status(200).json_body(body);
                })
                .await,
        );
    }
    let client = regkit_ionos::Client::builder()
        .base_url(format!("{}/containerregistries", server.base_url()))
        .bearer_token("test-token")
        .build()
        .unwrap();
    let names: Vec<_> = client
        .registries_get()
        .limit(1)
        .stream()
        .map_ok(|r| r.properties.unwrap().name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b", "c"]);
    for m in &mocks {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn ionos_tokens_page_by_offset_until_the_total() {
    let server = MockServer::start_async().await;
    let token = |i: u64| {
        json!({"id": format!("7e1d0c9b-0000-4000-8000-{i:012}"), "metadata": ionos_metadata(),
               "properties": {"name": format!("ci-{i}"),
                              "credentials": {"username": format!("ci-{i}"), "password": ""}}})
    };
    let mut mocks = Vec::new();
    for offset in [0u64, 2, 4] {
        let items: Vec<_> = (offset..(offset + 2).min(5)).map(token).collect();
        let body = json!({"items": items, "offset": offset, "limit": 2, "count": items.len(),
                          "total": 5, "_links": {"next": "", "previous": "", "self": ""}});
        mocks.push(
            server
                .mock_async(|when, then| {
                    let when = when
                        .path(format!(
                            "/containerregistries/registries/{REGISTRY_ID}/tokens"
                        ))
                        .query_param("limit", "2");
                    if offset == 0 {
                        when.query_param_missing("offset");
                    } else {
                        when.query_param("offset", offset.to_string());
                    }
                    then.status(200).json_body(body);
                })
                .await,
        );
    }
    let client = regkit_ionos::Client::builder()
        .base_url(format!("{}/containerregistries", server.base_url()))
        .bearer_token("test-token")
        .build()
        .unwrap();
    let all: Vec<_> = client
        .registries_tokens_get()
        .registry_id(REGISTRY_ID)
        .limit(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    for m in &mocks {
        m.assert_async().await;
    }
}

// ---------------------------------------------------------------- ABEJA

fn abeja_user() -> Value {
    json!({"id": "1122334455660", "email": "test@abeja.asia", "display_name": null, "role": "admin",
           "is_registered": true, "created_at": "2017-05-26T01:38:46Z", "updated_at": "2018-01-04T03:02:12Z"})
}

#[tokio::test]
async fn abeja_repositories_and_tags_page_by_offset_while_has_next() {
    let server = MockServer::start_async().await;
    let repo = |i: u64| {
        json!({"id": format!("15{i:011}"), "organization_id": "1410000000000", "name": format!("repo-{i}"),
               "description": null, "creator": abeja_user(),
               "created_at": "2018-06-07T04:42:34.913644Z", "updated_at": "2018-06-07T04:42:34.913726Z"})
    };
    let base = "/organizations/1410000000000/registry/repositories";
    let mut mocks = Vec::new();
    for (offset, has_next) in [(0u64, true), (2, true), (4, false)] {
        let items: Vec<_> = (offset..offset + 2).map(repo).collect();
        let body = json!({"offset": offset, "limit": 2, "has_next": has_next,
            "organization_name": "test-org", "organization_id": 1410000000000u64,
            "created_at": "2019-05-23T05:13:13Z", "updated_at": "2019-05-23T05:13:15Z",
            "registry_repositories": items});
        mocks.push(
            server
                .mock_async(|when, then| {
                    let when = when.path(base).query_param("limit", "2");
                    if offset == 0 {
                        when.query_param_missing("offset");
                    } else {
                        when.query_param("offset", offset.to_string());
                    }
                    then.status(200).json_body(body);
                })
                .await,
        );
    }
    let tags = server
        .mock_async(|when, then| {
            when.path(format!("{base}/1500000000001/tags"));
            then.status(200).json_body(json!({"offset": 0, "limit": 10, "has_next": false,
                "registry_repository_id": "1500000000001", "organization_name": "test-org",
                "organization_id": "1410000000000", "created_at": "2019-05-23T05:13:13Z",
                "updated_at": "2019-05-23T05:13:15Z", "tags": [{"id": 1771682238503u64, "name": "0.0.4",
                "digest": "sha256:5c40", "media_type": "application/vnd.docker.distribution.manifest.v2+json",
                "size": 2757009, "creator": abeja_user(), "created_at": "2019-05-23T05:13:13Z",
                "updated_at": "2019-05-23T05:13:15Z"}]}));
        })
        .await;
    let client = client!(regkit_abeja, server);
    let names: Vec<_> = client
        .list_repositories()
        .organization_id("1410000000000")
        .limit(2)
        .stream()
        .map_ok(|r| r.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        names,
        ["repo-0", "repo-1", "repo-2", "repo-3", "repo-4", "repo-5"]
    );
    for m in &mocks {
        m.assert_async().await;
    }
    let t: Vec<_> = client
        .list_repository_tags()
        .organization_id("1410000000000")
        .repository_id("1500000000001")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(t[0].id, 1771682238503);
    tags.assert_async().await;
}

// ---------------------------------------------------------------- Buildkite

fn bk_package(i: usize) -> Value {
    json!({"id": format!("0191e23a-4bc8-7683-bfa4-{i:012}"),
           "url": format!("https://api.buildkite.com/v2/packages/organizations/acme/registries/gems/packages/{i}"),
           "web_url": format!("https://buildkite.com/organizations/acme/packages/registries/gems/packages/{i}"),
           "name": format!("pkg-{i}"), "created_at": "2024-08-21T06:24:53Z", "version": "1.0.0"})
}

#[tokio::test]
async fn buildkite_packages_follow_links_next() {
    let server = MockServer::start_async().await;
    let path = "/v2/packages/organizations/acme/registries/gems/packages";
    let url = |q: &str| format!("https://api.buildkite.com{path}{q}");
    let first = server
        .mock_async(|when, then| {
            when.path(path)
                .query_param("per_page", "2")
                .query_param_missing("after");
            then.status(200)
                .json_body(json!({"items": [bk_package(0), bk_package(1)],
                "links": {"self": url("?per_page=2"), "next": url("?per_page=2&after=cursor-1")}}));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.path(path)
                .query_param("per_page", "2")
                .query_param("after", "cursor-1");
            then.status(200).json_body(json!({"items": [bk_package(2)],
                "links": {"self": url("?per_page=2&after=cursor-1")}}));
        })
        .await;
    let client = client!(regkit_buildkite, server);
    let names: Vec<_> = client
        .list_packages()
        .org_slug("acme")
        .registry_slug("gems")
        .per_page(2)
        .stream()
        .map_ok(|p| p.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["pkg-0", "pkg-1", "pkg-2"]);
    first.assert_async().await;
    second.assert_async().await;
}

fn bk_registry(slug: &str) -> Value {
    json!({"id": "0191df84-85e4-77aa-83ba-6579084728eb", "graphql_id": "UmVnaXN0cnk=", "slug": slug,
           "url": format!("https://api.buildkite.com/v2/packages/organizations/acme/registries/{slug}"),
           "web_url": format!("https://buildkite.com/organizations/acme/registries/{slug}"),
           "name": slug, "ecosystem": "ruby", "description": null, "emoji": null, "color": null,
           "public": false, "oidc_policy": null})
}

#[tokio::test]
async fn buildkite_registries_follow_the_link_header() {
    let server = MockServer::start_async().await;
    let path = "/v2/packages/organizations/acme/registries";
    let first = server
        .mock_async(|when, then| {
            when.path(path).query_param("per_page", "1").query_param_missing("page");
            then.status(200)
                .header(
                    "link",
                    format!(r#"<https://api.buildkite.com{path}?page=2&per_page=1>; rel="next", <https://api.buildkite.com{path}?page=2&per_page=1>; rel="last""#),
                )
                .json_body(json!([bk_registry("one")]));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.path(path)
                .query_param("per_page", "1")
                .query_param("page", "2");
            then.status(200)
                .header(
                    "link",
                    format!(r#"<https://api.buildkite.com{path}?page=1&per_page=1>; rel="prev""#),
                )
                .json_body(json!([bk_registry("two")]));
        })
        .await;
    let client = client!(regkit_buildkite, server);
    let slugs: Vec<_> = client
        .list_registries()
        .org_slug("acme")
        .per_page(1)
        .stream()
        .map_ok(|r| r.slug)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(slugs, ["one", "two"]);
    first.assert_async().await;
    second.assert_async().await;
}

// ---------------------------------------------------------------- Humanitec

#[tokio::test]
async fn humanitec_registries_stream_as_one_page() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/orgs/acme/registries");
            then.status(200).json_body(json!([
                {"id": "dockerhub", "registry": "registry.hub.docker.com", "type": "basic", "enable_ci": false},
                {"id": "ecr", "registry": "123.dkr.ecr.eu-west-1.amazonaws.com", "type": "amazon_ecr", "enable_ci": true}
            ]));
        })
        .await;
    let client = client!(regkit_humanitec, server);
    let ids: Vec<_> = client
        .list_registries()
        .org_id("acme")
        .stream()
        .map_ok(|r| r.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["dockerhub", "ecr"]);
    mock.assert_async().await;
}

// ------------------------------------------- every paged list, over two pages

/// Serves `key: [first]` with a next link that names page 2 through `param`
/// (`page` or `page_token`), then `key: [second]` without one; both
/// requests must keep `per_page=1`.
async fn do_two_pages<'a>(
    server: &'a MockServer,
    path: &str,
    key: &str,
    param: &str,
    first: Value,
    second: Value,
) -> [httpmock::Mock<'a>; 2] {
    let marker = if param == "page" { "2" } else { "tok-2" };
    let next = format!("https://api.digitalocean.com{path}?per_page=1&{param}={marker}");
    let one = server
        .mock_async(|when, then| {
            when.path(path.to_owned())
                .query_param("per_page", "1")
                .query_param_missing(param);
            then.status(200).json_body(json!({
                key: [first], "meta": {"total": 2}, "links": {"pages": {"next": next}}
            }));
        })
        .await;
    let two = server
        .mock_async(|when, then| {
            when.path(path.to_owned())
                .query_param("per_page", "1")
                .query_param(param, marker);
            then.status(200)
                .json_body(json!({key: [second], "meta": {"total": 2}}));
        })
        .await;
    [one, two]
}

/// One test per DigitalOcean list operation: `$call` is the configured
/// builder, `$field` the item field compared against `$a`/`$b`.
macro_rules! do_two_page_test {
    ($name:ident, $path:literal, $key:literal, $param:literal, $field:literal, $a:expr, $b:expr, |$c:ident| $call:expr) => {
        #[tokio::test]
        async fn $name() {
            let server = MockServer::start_async().await;
            let mocks = do_two_pages(
                &server,
                $path,
                $key,
                $param,
                json!({ $field: $a }),
                json!({ $field: $b }),
            )
            .await;
            let $c = client!(regkit_digitalocean, server);
            let got: Vec<Value> = $call
                .stream()
                .map_ok(|item| serde_json::to_value(item).unwrap()[$field].clone())
                .try_collect()
                .await
                .unwrap();
            assert_eq!(got, [json!($a), json!($b)]);
            for m in mocks {
                m.assert_async().await;
            }
        }
    };
}

const ONE: std::num::NonZeroU64 = std::num::NonZeroU64::MIN;

do_two_page_test!(
    do_registry_list_repositories_two_pages,
    "/v2/registry/reg/repositories",
    "repositories",
    "page",
    "name",
    "a",
    "b",
    |c| c
        .registry_list_repositories()
        .registry_name("reg")
        .per_page(ONE)
);
do_two_page_test!(
    do_registry_list_repositories_v2_two_pages,
    "/v2/registry/reg/repositoriesV2",
    "repositories",
    "page_token",
    "name",
    "a",
    "b",
    |c| c
        .registry_list_repositories_v2()
        .registry_name("reg")
        .per_page(1u64)
);
do_two_page_test!(
    do_registries_list_repository_tags_two_pages,
    "/v2/registries/reg/repositories/team%2Fapi/tags",
    "tags",
    "page",
    "tag",
    "v1",
    "v2",
    |c| c
        .registries_list_repository_tags()
        .registry_name("reg")
        .repository_name("team/api")
        .per_page(ONE)
);
do_two_page_test!(
    do_registry_list_repository_manifests_two_pages,
    "/v2/registry/reg/repositories/team%2Fapi/digests",
    "manifests",
    "page",
    "digest",
    "sha256:01",
    "sha256:02",
    |c| c
        .registry_list_repository_manifests()
        .registry_name("reg")
        .repository_name("team/api")
        .per_page(ONE)
);
do_two_page_test!(
    do_registries_list_repository_manifests_two_pages,
    "/v2/registries/reg/repositories/team%2Fapi/digests",
    "manifests",
    "page",
    "digest",
    "sha256:01",
    "sha256:02",
    |c| c
        .registries_list_repository_manifests()
        .registry_name("reg")
        .repository_name("team/api")
        .per_page(ONE)
);
do_two_page_test!(
    do_registry_list_garbage_collections_two_pages,
    "/v2/registry/reg/garbage-collections",
    "garbage_collections",
    "page",
    "uuid",
    "gc-1",
    "gc-2",
    |c| c
        .registry_list_garbage_collections()
        .registry_name("reg")
        .per_page(ONE)
);
do_two_page_test!(
    do_registries_list_garbage_collections_two_pages,
    "/v2/registries/reg/garbage-collections",
    "garbage_collections",
    "page",
    "uuid",
    "gc-1",
    "gc-2",
    |c| c
        .registries_list_garbage_collections()
        .registry_name("reg")
        .per_page(ONE)
);

fn bk_token(description: &str) -> Value {
    json!({"id": "0191b6a2-aa51-70d0-8a5f-aabce115b0fd", "graphql_id": "UmVnaXN0cnlUb2tlbg==",
           "description": description,
           "url": "https://api.buildkite.com/v2/packages/organizations/acme/registries/gems/tokens/0191b6a2-aa51-70d0-8a5f-aabce115b0fd",
           "created_at": "2024-09-03T06:46:39.441Z",
           "created_by": {"id": "0191b13b-0eb6-470d-a4c0-2085974f3580", "graphql_id": "VXNlcg==",
                          "name": "Dana Whitfield", "email": "dana@acme.example",
                          "avatar_url": "https://www.gravatar.com/avatar/0", "created_at": "2024-09-02T05:35:23.318Z"},
           "organization": {"id": "0190e784-eeb7-4ce4-9d2d-87f7aba85433", "slug": "acme",
                            "url": "https://api.buildkite.com/v2/organizations/acme", "web_url": "https://buildkite.com/acme"},
           "registry": {"id": "0191df84-85e4-77aa-83ba-6579084728eb", "graphql_id": "UmVnaXN0cnk=", "slug": "gems",
                        "url": "https://api.buildkite.com/v2/packages/organizations/acme/registries/gems",
                        "web_url": "https://buildkite.com/organizations/acme/packages/registries/gems"}})
}

#[tokio::test]
async fn buildkite_registry_tokens_follow_the_link_header() {
    let server = MockServer::start_async().await;
    let path = "/v2/packages/organizations/acme/registries/gems/tokens";
    let first = server
        .mock_async(|when, then| {
            when.path(path)
                .query_param("per_page", "1")
                .query_param_missing("page");
            then.status(200)
                .header(
                    "link",
                    format!(r#"<https://api.buildkite.com{path}?page=2&per_page=1>; rel="next""#),
                )
                .json_body(json!([bk_token("staging pull")]));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.path(path)
                .query_param("per_page", "1")
                .query_param("page", "2");
            then.status(200).json_body(json!([bk_token("ci push")]));
        })
        .await;
    let client = client!(regkit_buildkite, server);
    let descriptions: Vec<_> = client
        .list_registry_tokens()
        .org_slug("acme")
        .registry_slug("gems")
        .per_page(1)
        .stream()
        .map_ok(|t| t.description)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(descriptions, ["staging pull", "ci push"]);
    first.assert_async().await;
    second.assert_async().await;
}
