//! Every DigitalOcean Container Registry operation against a mock server:
//! method, exact (still percent-encoded) path, exact query string, exact
//! JSON body, bearer token, and a realistic response decoded into the typed
//! model. Then forward compatibility, error decoding and secret redaction.
//!
//! One `#[tokio::test]` per operation, named after it, so a failure names
//! the operation. Paths are written out literally (a repository called
//! `team/api` must travel as `team%2Fapi`); httpmock's exact `path` matcher
//! compares the raw request path, which `httpmock_path_matcher_sees_the_encoded_path`
//! pins down.

use httpmock::prelude::*;
use httpmock::{Mock, When};
use regkit_core::{Credentials, Error};
use regkit_digitalocean::mock::MockServerExt;
use regkit_digitalocean::{Client, ResponseValue, SecretString, types};
use serde_json::{Value, json};

const TOKEN: &str = "dop_v1_6b0d4c2e9f81a3577e2c1d0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a0f9e8d7";
const REG: &str = "acme-images";
const GC_UUID: &str = "9b2f7c1e-4d3a-4e8b-a6f0-2c5d8e1b7a94";
const DIGEST: &str = "sha256:1f3a9c5e7b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a";

fn client(server: &MockServer) -> Client {
    regkit_tests::client(server, Credentials::bearer(TOKEN).unwrap())
}

/// The rules every request must follow, added to a `When` (raw or taken
/// from a generated helper with `into_inner()`): the exact encoded path,
/// the bearer token, and exactly `query_len` query parameters (the expected
/// ones are matched separately, so no stray parameter slips through).
fn strict(when: When, path: &'static str, query_len: usize) -> When {
    when.path(path)
        .header("authorization", format!("Bearer {TOKEN}"))
        .is_true(move |req| req.query_params().len() == query_len)
}

/// One expected request and its canned answer.
struct Expect {
    method: httpmock::Method,
    path: &'static str,
    query: Vec<(&'static str, &'static str)>,
    body: Option<Value>,
    status: u16,
    reply: Option<Value>,
}

fn expect(method: httpmock::Method, path: &'static str) -> Expect {
    Expect {
        method,
        path,
        query: Vec::new(),
        body: None,
        status: 204,
        reply: None,
    }
}

impl Expect {
    fn query(mut self, pairs: &[(&'static str, &'static str)]) -> Self {
        self.query = pairs.to_vec();
        self
    }

    /// The exact JSON body the request must carry. Without it the request
    /// must have no body at all.
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn reply(mut self, status: u16, body: Value) -> Self {
        self.status = status;
        self.reply = Some(body);
        self
    }

    async fn mount(self, server: &MockServer) -> Mock<'_> {
        let Self {
            method,
            path,
            query,
            body,
            status,
            reply,
        } = self;
        server
            .mock_async(move |when, then| {
                let mut when = strict(when.method(method), path, query.len());
                for (name, value) in query {
                    when = when.query_param(name, value);
                }
                match body {
                    Some(body) => {
                        when.header("content-type", "application/json")
                            .json_body(body);
                    }
                    None => {
                        when.is_true(|req| req.body().is_empty());
                    }
                }
                let then = then.status(status);
                if let Some(reply) = reply {
                    then.header("content-type", "application/json")
                        .json_body(reply);
                }
            })
            .await
    }
}

/// The mock saw exactly one matching request (httpmock explains the
/// closest mismatch otherwise), and the call succeeded.
async fn sent<T>(
    mock: &Mock<'_>,
    result: Result<ResponseValue<T>, Error<types::Error>>,
) -> ResponseValue<T> {
    mock.assert_async().await;
    match result {
        Ok(value) => value,
        Err(e) => panic!("the call failed: {e} ({e:?})"),
    }
}

/// A 204 operation returns `()`.
fn no_content(response: ResponseValue<()>) {
    assert_eq!(response.status().as_u16(), 204);
    let () = response.into_inner();
}

// ------------------------------------------------------------------ fixtures

fn multiregistry() -> Value {
    json!({
        "name": REG,
        "created_at": "2025-01-14T08:30:00Z",
        "region": "ams3",
        "storage_usage_bytes": 73_400_320,
        "storage_usage_bytes_updated_at": "2025-02-01T12:00:00Z"
    })
}

fn tier() -> Value {
    json!({
        "name": "Professional",
        "slug": "professional",
        "included_repositories": 0,
        "included_storage_bytes": 107_374_182_400u64,
        "allow_storage_overage": true,
        "included_bandwidth_bytes": 107_374_182_400u64,
        "monthly_price_in_cents": 2000,
        "storage_overage_price_in_cents": 2
    })
}

fn subscription() -> Value {
    json!({"subscription": {
        "tier": tier(),
        "created_at": "2025-01-14T08:30:00Z",
        "updated_at": "2025-02-10T16:45:12Z"
    }})
}

fn registry_with_subscription() -> Value {
    let mut registry = multiregistry();
    registry["subscription"] = subscription()["subscription"].clone();
    json!({ "registry": registry })
}

fn options() -> Value {
    let mut starter = tier();
    starter["name"] = json!("Starter");
    starter["slug"] = json!("starter");
    starter["eligible"] = json!(false);
    starter["eligibility_reasons"] = json!(["OverStorageLimit"]);
    let mut professional = tier();
    professional["eligible"] = json!(true);
    professional["eligibility_reasons"] = json!([]);
    json!({"options": {
        "available_regions": ["ams3", "fra1", "syd1"],
        "subscription_tiers": [starter, professional]
    }})
}

fn docker_credentials(secret: &str) -> Value {
    json!({"auths": {"registry.digitalocean.com": {"auth": secret}}})
}

fn garbage_collection(status: &str) -> Value {
    json!({
        "uuid": GC_UUID,
        "registry_name": REG,
        "status": status,
        "type": "untagged manifests and unreferenced blobs",
        "created_at": "2025-02-11T03:00:00Z",
        "updated_at": "2025-02-11T03:12:40Z",
        "blobs_deleted": 17,
        "freed_bytes": 52_428_800
    })
}

fn tag(name: &str) -> Value {
    json!({
        "registry_name": REG,
        "repository": "team/api",
        "tag": name,
        "manifest_digest": DIGEST,
        "compressed_size_bytes": 31_457_280,
        "size_bytes": 88_080_384,
        "updated_at": "2025-02-09T18:22:07Z"
    })
}

fn manifest() -> Value {
    json!({
        "registry_name": REG,
        "repository": "team/api",
        "digest": DIGEST,
        "compressed_size_bytes": 31_457_280,
        "size_bytes": 88_080_384,
        "updated_at": "2025-02-09T18:22:07Z",
        "tags": ["v2.7.1", "stable"],
        "blobs": [
            {"digest": "sha256:aa11bb22cc33dd44ee55ff6600771188229933aa44bb55cc66dd77ee88ff9900",
             "compressed_size_bytes": 1_812},
            {"digest": "sha256:0099ff88ee77dd66cc55bb44aa3322119988776655443322110ffeeddccbbaa0",
             "compressed_size_bytes": 31_455_468}
        ]
    })
}

fn page_links(next: &str) -> Value {
    json!({"pages": {"next": next}})
}

fn api_error(id: &str, message: &str, request_id: &str) -> Value {
    json!({"id": id, "message": message, "request_id": request_id})
}

// ------------------------------------------------------ /v2/registries (18)

#[tokio::test]
async fn registries_list() {
    let server = MockServer::start_async().await;
    let mut second = multiregistry();
    second["name"] = json!("acme-staging");
    second["region"] = json!("sfo3");
    let mock = expect(GET, "/v2/registries")
        .reply(
            200,
            json!({
                "registries": [multiregistry(), second],
                // Past 2^32: the account-wide total is an int64.
                "total_storage_usage_bytes": 5_368_709_120_i64
            }),
        )
        .mount(&server)
        .await;
    let got = sent(&mock, client(&server).registries_list().send().await).await;
    let names: Vec<_> = got.registries.iter().map(|r| r.name.as_deref()).collect();
    assert_eq!(names, [Some(REG), Some("acme-staging")]);
    assert_eq!(got.registries[1].region.as_deref(), Some("sfo3"));
    assert_eq!(got.registries[0].storage_usage_bytes, Some(73_400_320));
    assert_eq!(got.total_storage_usage_bytes, Some(5_368_709_120));
}

#[tokio::test]
async fn registries_create() {
    let server = MockServer::start_async().await;
    let mock = expect(POST, "/v2/registries")
        .body(json!({"name": REG, "subscription_tier_slug": "professional", "region": "syd1"}))
        .reply(201, json!({ "registry": multiregistry() }))
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_create()
            .body_map(|b| {
                b.name(REG)
                    .subscription_tier_slug(types::SubscriptionTierSlug::Professional)
                    .region(types::RegistryRegion::Syd1)
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(got.status().as_u16(), 201);
    let registry = got.registry.as_ref().unwrap();
    assert_eq!(registry.name.as_deref(), Some(REG));
    assert_eq!(
        registry.created_at.unwrap().to_rfc3339(),
        "2025-01-14T08:30:00+00:00"
    );
}

#[tokio::test]
async fn registries_get() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registries/acme-images")
        .reply(200, json!({ "registry": multiregistry() }))
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_get()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    let registry = got.registry.as_ref().unwrap();
    assert_eq!(registry.region.as_deref(), Some("ams3"));
    assert_eq!(registry.storage_usage_bytes, Some(73_400_320));
    assert!(registry.storage_usage_bytes_updated_at.is_some());
}

#[tokio::test]
async fn registries_delete() {
    let server = MockServer::start_async().await;
    let mock = expect(DELETE, "/v2/registries/acme-images")
        .mount(&server)
        .await;
    let got = client(&server)
        .registries_delete()
        .registry_name(REG)
        .send()
        .await;
    no_content(sent(&mock, got).await);
}

/// With the generated helper: `read_write` and `expiry_seconds` (declared
/// by our spec fix) arrive as query parameters.
#[tokio::test]
async fn registries_get_docker_credentials() {
    let server = MockServer::start_async().await;
    let auth = types::DockerCredentialsAuth {
        auth: Some(SecretString::new("ZG9wX3YxX3B1c2g6ZG9wX3YxX3B1c2g=")),
    };
    let value = types::DockerCredentials {
        auths: [("registry.digitalocean.com".to_owned(), auth)].into(),
    };
    let mock = server.registries_get_docker_credentials(|when, then| {
        let when = when.registry_name(REG).read_write(true).expiry_seconds(900);
        strict(
            when.into_inner(),
            "/v2/registries/acme-images/docker-credentials",
            2,
        );
        then.ok(&value);
    });
    let got = sent(
        &mock,
        client(&server)
            .registries_get_docker_credentials()
            .registry_name(REG)
            .read_write(true)
            .expiry_seconds(900u64)
            .send()
            .await,
    )
    .await;
    let auth = got.auths["registry.digitalocean.com"]
        .auth
        .as_ref()
        .unwrap();
    assert_eq!(auth.expose_secret(), "ZG9wX3YxX3B1c2g6ZG9wX3YxX3B1c2g=");
}

/// Without the two options, neither query parameter is sent.
#[tokio::test]
async fn registries_get_docker_credentials_sends_no_options_by_default() {
    let server = MockServer::start_async().await;
    let value: types::DockerCredentials =
        serde_json::from_value(docker_credentials("cmVhZDpvbmx5")).unwrap();
    let mock = server.registries_get_docker_credentials(|when, then| {
        let when = when
            .registry_name(REG)
            .read_write(None)
            .expiry_seconds(None);
        strict(
            when.into_inner(),
            "/v2/registries/acme-images/docker-credentials",
            0,
        );
        then.ok(&value);
    });
    let got = sent(
        &mock,
        client(&server)
            .registries_get_docker_credentials()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    assert_eq!(got.auths.len(), 1);
}

#[tokio::test]
async fn registries_get_subscription() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registries/subscription")
        .reply(200, subscription())
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server).registries_get_subscription().send().await,
    )
    .await;
    let tier = got.subscription.as_ref().unwrap().tier.as_ref().unwrap();
    assert_eq!(tier.slug.as_deref(), Some("professional"));
    assert_eq!(tier.included_storage_bytes, Some(107_374_182_400));
    assert_eq!(tier.monthly_price_in_cents, Some(2000));
}

#[tokio::test]
async fn registries_update_subscription() {
    let server = MockServer::start_async().await;
    let mock = expect(POST, "/v2/registries/subscription")
        .body(json!({"tier_slug": "professional"}))
        .reply(200, subscription())
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_update_subscription()
            .body_map(|b| b.tier_slug(types::SubscriptionTierSlug::Professional))
            .send()
            .await,
    )
    .await;
    let subscription = got.subscription.as_ref().unwrap();
    assert_eq!(
        subscription.tier.as_ref().unwrap().name.as_deref(),
        Some("Professional")
    );
    assert!(subscription.updated_at.is_some());
}

#[tokio::test]
async fn registries_get_options() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registries/options")
        .reply(200, options())
        .mount(&server)
        .await;
    let got = sent(&mock, client(&server).registries_get_options().send().await).await;
    let options = got.options.as_ref().unwrap();
    assert_eq!(options.available_regions, ["ams3", "fra1", "syd1"]);
    let starter = &options.subscription_tiers[0];
    assert_eq!(starter.eligible, Some(false));
    assert_eq!(
        starter.eligibility_reasons,
        [types::SubscriptionTierEligibilityReason::OverStorageLimit]
    );
    assert_eq!(options.subscription_tiers[1].eligible, Some(true));
}

#[tokio::test]
async fn registries_get_garbage_collection() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registries/acme-images/garbage-collection")
        .reply(
            200,
            json!({"garbage_collection": garbage_collection("deleting unreferenced blobs")}),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_get_garbage_collection()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    let gc = got.garbage_collection.as_ref().unwrap();
    assert_eq!(
        gc.status,
        Some(types::GarbageCollectionStatus::DeletingUnreferencedBlobs)
    );
    assert_eq!(
        gc.type_,
        Some(types::GarbageCollectionType::UntaggedManifestsAndUnreferencedBlobs)
    );
    assert_eq!(gc.uuid.as_deref(), Some(GC_UUID));
}

/// Without a chosen type the options object goes out empty (`{}`), which
/// leaves the choice to the service.
#[tokio::test]
async fn registries_run_garbage_collection() {
    let server = MockServer::start_async().await;
    let mock = expect(POST, "/v2/registries/acme-images/garbage-collection")
        .body(json!({}))
        .reply(
            201,
            json!({"garbage_collection": garbage_collection("requested")}),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_run_garbage_collection()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    assert_eq!(got.status().as_u16(), 201);
    let gc = got.garbage_collection.as_ref().unwrap();
    assert_eq!(gc.status, Some(types::GarbageCollectionStatus::Requested));
    assert_eq!(gc.registry_name.as_deref(), Some(REG));
}

#[tokio::test]
async fn registries_list_garbage_collections() {
    let server = MockServer::start_async().await;
    let next = "https://api.digitalocean.com/v2/registries/acme-images/garbage-collections?page=3&per_page=10";
    let mock = expect(GET, "/v2/registries/acme-images/garbage-collections")
        .query(&[("page", "2"), ("per_page", "10")])
        .reply(
            200,
            json!({
                "garbage_collections": [garbage_collection("succeeded"), garbage_collection("cancelled")],
                "links": page_links(next),
                "meta": {"total": 27}
            }),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_list_garbage_collections()
            .registry_name(REG)
            .page(2u64)
            .per_page(10u64)
            .send()
            .await,
    )
    .await;
    let statuses: Vec<_> = got
        .garbage_collections
        .iter()
        .map(|gc| gc.status.clone().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            types::GarbageCollectionStatus::Succeeded,
            types::GarbageCollectionStatus::Cancelled
        ]
    );
    assert_eq!(got.garbage_collections[0].freed_bytes, Some(52_428_800));
    assert_eq!(got.meta.as_ref().unwrap().total, 27);
    let links = got.links.as_ref().unwrap().pages.as_ref().unwrap();
    assert_eq!(links.next.as_deref(), Some(next));
}

#[tokio::test]
async fn registries_update_garbage_collection() {
    let server = MockServer::start_async().await;
    let mock = expect(
        PUT,
        "/v2/registries/acme-images/garbage-collection/9b2f7c1e-4d3a-4e8b-a6f0-2c5d8e1b7a94",
    )
    .body(json!({"cancel": true}))
    .reply(
        200,
        json!({"garbage_collection": garbage_collection("cancelling")}),
    )
    .mount(&server)
    .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_update_garbage_collection()
            .registry_name(REG)
            .garbage_collection_uuid(GC_UUID)
            .body_map(|b| b.cancel(true))
            .send()
            .await,
    )
    .await;
    let gc = got.garbage_collection.as_ref().unwrap();
    assert_eq!(gc.status, Some(types::GarbageCollectionStatus::Cancelling));
    assert_eq!(gc.blobs_deleted, Some(17));
}

fn repositories_v2_page() -> Value {
    json!({
        "repositories": [{
            "registry_name": REG,
            "name": "team/api",
            "tag_count": 12,
            "manifest_count": 15,
            "latest_manifest": manifest()
        }],
        "links": page_links("https://api.digitalocean.com/v2/registries/acme-images/repositoriesV2?page=4&page_token=eyJhZnRlciI6InRlYW0vYXBpIn0&per_page=1"),
        "meta": {"total": 9}
    })
}

#[tokio::test]
async fn registries_list_repositories_v2() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registries/acme-images/repositoriesV2")
        .query(&[
            ("per_page", "1"),
            ("page", "3"),
            ("page_token", "eyJhZnRlciI6Im9wcy9jcm9uIn0"),
        ])
        .reply(200, repositories_v2_page())
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_list_repositories_v2()
            .registry_name(REG)
            .per_page(1u64)
            .page(3u64)
            .page_token("eyJhZnRlciI6Im9wcy9jcm9uIn0")
            .send()
            .await,
    )
    .await;
    let repo = &got.repositories[0];
    assert_eq!(repo.name.as_deref(), Some("team/api"));
    assert_eq!(repo.manifest_count, Some(15));
    let latest = repo.latest_manifest.as_ref().unwrap();
    assert_eq!(latest.digest.as_deref(), Some(DIGEST));
    assert_eq!(latest.blobs.len(), 2);
    assert_eq!(got.meta.total, 9);
}

#[tokio::test]
async fn registries_delete_repository() {
    let server = MockServer::start_async().await;
    let mock = expect(DELETE, "/v2/registries/acme-images/repositories/team%2Fapi")
        .mount(&server)
        .await;
    let got = client(&server)
        .registries_delete_repository()
        .registry_name(REG)
        .repository_name("team/api")
        .send()
        .await;
    no_content(sent(&mock, got).await);
}

fn tags_page() -> Value {
    json!({
        "tags": [tag("v2.7.1"), tag("stable")],
        "links": page_links("https://api.digitalocean.com/v2/registries/acme-images/repositories/team%2Fapi/tags?page=3&per_page=2"),
        "meta": {"total": 12}
    })
}

#[tokio::test]
async fn registries_list_repository_tags() {
    let server = MockServer::start_async().await;
    let mock = expect(
        GET,
        "/v2/registries/acme-images/repositories/team%2Fapi/tags",
    )
    .query(&[("page", "2"), ("per_page", "2")])
    .reply(200, tags_page())
    .mount(&server)
    .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_list_repository_tags()
            .registry_name(REG)
            .repository_name("team/api")
            .page(2u64)
            .per_page(2u64)
            .send()
            .await,
    )
    .await;
    let tags: Vec<_> = got.tags.iter().map(|t| t.tag.as_deref()).collect();
    assert_eq!(tags, [Some("v2.7.1"), Some("stable")]);
    assert_eq!(got.tags[0].repository.as_deref(), Some("team/api"));
    assert_eq!(got.tags[0].size_bytes, Some(88_080_384));
    assert_eq!(got.meta.total, 12);
}

#[tokio::test]
async fn registries_delete_repository_tag() {
    let server = MockServer::start_async().await;
    let mock = expect(
        DELETE,
        "/v2/registries/acme-images/repositories/team%2Fapi/tags/v2.7.1",
    )
    .mount(&server)
    .await;
    let got = client(&server)
        .registries_delete_repository_tag()
        .registry_name(REG)
        .repository_name("team/api")
        .repository_tag("v2.7.1")
        .send()
        .await;
    no_content(sent(&mock, got).await);
}

fn manifests_page() -> Value {
    json!({
        "manifests": [manifest()],
        "links": page_links("https://api.digitalocean.com/v2/registries/acme-images/repositories/team%2Fapi/digests?page=2&per_page=1"),
        "meta": {"total": 15}
    })
}

#[tokio::test]
async fn registries_list_repository_manifests() {
    let server = MockServer::start_async().await;
    let mock = expect(
        GET,
        "/v2/registries/acme-images/repositories/team%2Fapi/digests",
    )
    .query(&[("page", "1"), ("per_page", "1")])
    .reply(200, manifests_page())
    .mount(&server)
    .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_list_repository_manifests()
            .registry_name(REG)
            .repository_name("team/api")
            .page(1u64)
            .per_page(1u64)
            .send()
            .await,
    )
    .await;
    let manifest = &got.manifests[0];
    assert_eq!(manifest.tags, ["v2.7.1", "stable"]);
    assert_eq!(manifest.blobs[1].compressed_size_bytes, Some(31_455_468));
    assert_eq!(got.meta.total, 15);
}

#[tokio::test]
async fn registries_delete_repository_manifest() {
    let server = MockServer::start_async().await;
    let mock = expect(
        DELETE,
        "/v2/registries/acme-images/repositories/team%2Fapi/digests/sha256:1f3a9c5e7b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a",
    )
    .mount(&server)
    .await;
    let got = client(&server)
        .registries_delete_repository_manifest()
        .registry_name(REG)
        .repository_name("team/api")
        .manifest_digest(DIGEST)
        .send()
        .await;
    no_content(sent(&mock, got).await);
}

/// With the generated helper: a typed request body and `no_content()`.
#[tokio::test]
async fn registries_validate_name() {
    let server = MockServer::start_async().await;
    let body: types::ValidateRegistry =
        serde_json::from_value(json!({"name": "acme-next"})).unwrap();
    let mock = server.registries_validate_name(|when, then| {
        let when = when.body(&body);
        strict(when.into_inner(), "/v2/registries/validate-name", 0);
        then.no_content();
    });
    let got = client(&server)
        .registries_validate_name()
        .body_map(|b| b.name("acme-next"))
        .send()
        .await;
    no_content(sent(&mock, got).await);
}

// -------------------------------------------- /v2/registry, deprecated (19)

#[tokio::test]
async fn registry_get() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry")
        .reply(200, registry_with_subscription())
        .mount(&server)
        .await;
    let got = sent(&mock, client(&server).registry_get().send().await).await;
    let registry = got.registry.as_ref().unwrap();
    assert_eq!(registry.name.as_deref(), Some(REG));
    let tier = registry
        .subscription
        .as_ref()
        .unwrap()
        .tier
        .as_ref()
        .unwrap();
    assert_eq!(tier.allow_storage_overage, Some(true));
}

#[tokio::test]
async fn registry_create() {
    let server = MockServer::start_async().await;
    let mock = expect(POST, "/v2/registry")
        .body(json!({"name": REG, "subscription_tier_slug": "basic", "region": "fra1"}))
        .reply(201, registry_with_subscription())
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_create()
            .body_map(|b| {
                b.name(REG)
                    .subscription_tier_slug(types::SubscriptionTierSlug::Basic)
                    .region(types::LegacyRegistryRegion::Fra1)
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(got.status().as_u16(), 201);
    let registry = got.registry.as_ref().unwrap();
    assert_eq!(registry.region.as_deref(), Some("ams3"));
    assert!(registry.subscription.is_some());
}

#[tokio::test]
async fn registry_delete() {
    let server = MockServer::start_async().await;
    let mock = expect(DELETE, "/v2/registry").mount(&server).await;
    let got = client(&server).registry_delete().send().await;
    no_content(sent(&mock, got).await);
}

#[tokio::test]
async fn registry_get_subscription() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry/subscription")
        .reply(200, subscription())
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server).registry_get_subscription().send().await,
    )
    .await;
    let subscription = got.subscription.as_ref().unwrap();
    let tier = subscription.tier.as_ref().unwrap();
    assert_eq!(tier.included_repositories, Some(0));
    assert_eq!(tier.storage_overage_price_in_cents, Some(2));
    assert!(subscription.created_at.is_some());
}

#[tokio::test]
async fn registry_update_subscription() {
    let server = MockServer::start_async().await;
    let mock = expect(POST, "/v2/registry/subscription")
        .body(json!({"tier_slug": "basic"}))
        .reply(200, subscription())
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_update_subscription()
            .body_map(|b| b.tier_slug(types::SubscriptionTierSlug::Basic))
            .send()
            .await,
    )
    .await;
    let tier = got.subscription.as_ref().unwrap().tier.as_ref().unwrap();
    assert_eq!(tier.included_bandwidth_bytes, Some(107_374_182_400));
}

#[tokio::test]
async fn registry_get_docker_credentials() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry/docker-credentials")
        .query(&[("read_write", "true"), ("expiry_seconds", "3600")])
        .reply(200, docker_credentials("cHVzaC10b2tlbjpwdXNoLXRva2Vu"))
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_get_docker_credentials()
            .read_write(true)
            .expiry_seconds(3600u64)
            .send()
            .await,
    )
    .await;
    let auth = got.auths["registry.digitalocean.com"]
        .auth
        .as_ref()
        .unwrap();
    assert_eq!(auth.expose_secret(), "cHVzaC10b2tlbjpwdXNoLXRva2Vu");
}

#[tokio::test]
async fn registry_validate_name() {
    let server = MockServer::start_async().await;
    let mock = expect(POST, "/v2/registry/validate-name")
        .body(json!({"name": "acme-next"}))
        .mount(&server)
        .await;
    let got = client(&server)
        .registry_validate_name()
        .body_map(|b| b.name("acme-next"))
        .send()
        .await;
    no_content(sent(&mock, got).await);
}

#[tokio::test]
async fn registry_list_repositories() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry/acme-images/repositories")
        .query(&[("page", "2"), ("per_page", "5")])
        .reply(
            200,
            json!({
                "repositories": [{
                    "registry_name": REG,
                    "name": "team/api",
                    "latest_tag": tag("v2.7.1"),
                    "tag_count": 12
                }],
                "links": page_links("https://api.digitalocean.com/v2/registry/acme-images/repositories?page=3&per_page=5"),
                "meta": {"total": 11}
            }),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_list_repositories()
            .registry_name(REG)
            .page(2u64)
            .per_page(5u64)
            .send()
            .await,
    )
    .await;
    let repo = &got.repositories[0];
    assert_eq!(repo.tag_count, Some(12));
    let latest = repo.latest_tag.as_ref().unwrap();
    assert_eq!(latest.tag.as_deref(), Some("v2.7.1"));
    assert_eq!(latest.manifest_digest.as_deref(), Some(DIGEST));
    assert_eq!(got.meta.total, 11);
}

#[tokio::test]
async fn registry_list_repositories_v2() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry/acme-images/repositoriesV2")
        .query(&[
            ("per_page", "1"),
            ("page_token", "eyJhZnRlciI6Im9wcy9jcm9uIn0"),
        ])
        .reply(200, repositories_v2_page())
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_list_repositories_v2()
            .registry_name(REG)
            .per_page(1u64)
            .page_token("eyJhZnRlciI6Im9wcy9jcm9uIn0")
            .send()
            .await,
    )
    .await;
    let repo = &got.repositories[0];
    assert_eq!(repo.tag_count, Some(12));
    let latest = repo.latest_manifest.as_ref().unwrap();
    assert_eq!(latest.tags, ["v2.7.1", "stable"]);
    assert!(
        got.links
            .as_ref()
            .unwrap()
            .pages
            .as_ref()
            .unwrap()
            .next
            .is_some()
    );
}

#[tokio::test]
async fn registry_list_repository_tags() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry/acme-images/repositories/team%2Fapi/tags")
        .query(&[("page", "2"), ("per_page", "2")])
        .reply(200, tags_page())
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_list_repository_tags()
            .registry_name(REG)
            .repository_name("team/api")
            .page(2u64)
            .per_page(2u64)
            .send()
            .await,
    )
    .await;
    assert_eq!(got.tags.len(), 2);
    assert_eq!(got.tags[1].tag.as_deref(), Some("stable"));
    assert_eq!(got.tags[1].compressed_size_bytes, Some(31_457_280));
}

#[tokio::test]
async fn registry_delete_repository_tag() {
    let server = MockServer::start_async().await;
    let mock = expect(
        DELETE,
        "/v2/registry/acme-images/repositories/team%2Fapi/tags/stable",
    )
    .mount(&server)
    .await;
    let got = client(&server)
        .registry_delete_repository_tag()
        .registry_name(REG)
        .repository_name("team/api")
        .repository_tag("stable")
        .send()
        .await;
    no_content(sent(&mock, got).await);
}

#[tokio::test]
async fn registry_list_repository_manifests() {
    let server = MockServer::start_async().await;
    let mock = expect(
        GET,
        "/v2/registry/acme-images/repositories/team%2Fapi/digests",
    )
    .query(&[("page", "1"), ("per_page", "1")])
    .reply(200, manifests_page())
    .mount(&server)
    .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_list_repository_manifests()
            .registry_name(REG)
            .repository_name("team/api")
            .page(1u64)
            .per_page(1u64)
            .send()
            .await,
    )
    .await;
    let manifest = &got.manifests[0];
    assert_eq!(manifest.repository.as_deref(), Some("team/api"));
    assert_eq!(manifest.size_bytes, Some(88_080_384));
}

#[tokio::test]
async fn registry_delete_repository_manifest() {
    let server = MockServer::start_async().await;
    let mock = expect(
        DELETE,
        "/v2/registry/acme-images/repositories/team%2Fapi/digests/sha256:1f3a9c5e7b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a",
    )
    .mount(&server)
    .await;
    let got = client(&server)
        .registry_delete_repository_manifest()
        .registry_name(REG)
        .repository_name("team/api")
        .manifest_digest(DIGEST)
        .send()
        .await;
    no_content(sent(&mock, got).await);
}

#[tokio::test]
async fn registry_get_garbage_collection() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry/acme-images/garbage-collection")
        .reply(
            200,
            json!({"garbage_collection": garbage_collection("waiting for write JWTs to expire")}),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_get_garbage_collection()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    let gc = got.garbage_collection.as_ref().unwrap();
    assert_eq!(
        gc.status,
        Some(types::GarbageCollectionStatus::WaitingForWriteJwTsToExpire)
    );
    assert!(gc.updated_at.unwrap() > gc.created_at.unwrap());
}

#[tokio::test]
async fn registry_run_garbage_collection() {
    let server = MockServer::start_async().await;
    let mock = expect(POST, "/v2/registry/acme-images/garbage-collection")
        .body(json!({"type": "untagged manifests only"}))
        .reply(
            201,
            json!({"garbage_collection": garbage_collection("requested")}),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_run_garbage_collection()
            .registry_name(REG)
            .body_map(|b| b.type_(types::GarbageCollectionType::UntaggedManifestsOnly))
            .send()
            .await,
    )
    .await;
    assert_eq!(got.status().as_u16(), 201);
    let gc = got.garbage_collection.as_ref().unwrap();
    assert_eq!(gc.uuid.as_deref(), Some(GC_UUID));
}

#[tokio::test]
async fn registry_list_garbage_collections() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry/acme-images/garbage-collections")
        .query(&[("page", "1"), ("per_page", "25")])
        .reply(
            200,
            json!({"garbage_collections": [garbage_collection("failed")], "meta": {"total": 1}}),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_list_garbage_collections()
            .registry_name(REG)
            .page(1u64)
            .per_page(25u64)
            .send()
            .await,
    )
    .await;
    assert_eq!(
        got.garbage_collections[0].status,
        Some(types::GarbageCollectionStatus::Failed)
    );
    assert!(got.links.is_none());
    assert_eq!(got.meta.as_ref().unwrap().total, 1);
}

#[tokio::test]
async fn registry_update_garbage_collection() {
    let server = MockServer::start_async().await;
    let mock = expect(
        PUT,
        "/v2/registry/acme-images/garbage-collection/9b2f7c1e-4d3a-4e8b-a6f0-2c5d8e1b7a94",
    )
    .body(json!({"cancel": true}))
    .reply(
        200,
        json!({"garbage_collection": garbage_collection("cancelled")}),
    )
    .mount(&server)
    .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_update_garbage_collection()
            .registry_name(REG)
            .garbage_collection_uuid(GC_UUID)
            .body_map(|b| b.cancel(true))
            .send()
            .await,
    )
    .await;
    let gc = got.garbage_collection.as_ref().unwrap();
    assert_eq!(gc.status, Some(types::GarbageCollectionStatus::Cancelled));
}

#[tokio::test]
async fn registry_get_options() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registry/options")
        .reply(200, options())
        .mount(&server)
        .await;
    let got = sent(&mock, client(&server).registry_get_options().send().await).await;
    let options = got.options.as_ref().unwrap();
    assert_eq!(options.subscription_tiers.len(), 2);
    assert_eq!(
        options.subscription_tiers[1].slug.as_deref(),
        Some("professional")
    );
    assert!(options.subscription_tiers[1].eligibility_reasons.is_empty());
}

// -------------------------------------------------------- path encoding

/// httpmock's exact `path` matcher compares the raw request path: a mock on
/// the decoded spelling never sees the request, the encoded one does.
#[tokio::test]
async fn httpmock_path_matcher_sees_the_encoded_path() {
    let server = MockServer::start_async().await;
    let decoded = server
        .mock_async(|when, then| {
            when.path("/v2/registries/acme-images/repositories/team/api");
            then.status(204);
        })
        .await;
    let encoded = server
        .mock_async(|when, then| {
            when.path("/v2/registries/acme-images/repositories/team%2Fapi")
                .is_true(|req| req.uri().path().ends_with("/team%2Fapi"));
            then.status(204);
        })
        .await;
    client(&server)
        .registries_delete_repository()
        .registry_name(REG)
        .repository_name("team/api")
        .send()
        .await
        .unwrap();
    encoded.assert_async().await;
    assert_eq!(decoded.calls_async().await, 0);
}

// ------------------------------------------------- forward compatibility

/// Storage beyond 4 GiB (here 3 GB, past `i32`) decodes: the field is 64-bit.
#[tokio::test]
async fn storage_usage_bytes_is_64_bit() {
    let server = MockServer::start_async().await;
    let mut registry = multiregistry();
    registry["storage_usage_bytes"] = json!(3_000_000_000u64);
    let mock = expect(GET, "/v2/registries/acme-images")
        .reply(200, json!({ "registry": registry }))
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_get()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    assert_eq!(
        got.registry.as_ref().unwrap().storage_usage_bytes,
        Some(3_000_000_000)
    );
}

/// A garbage-collection status the spec does not list is kept verbatim.
#[tokio::test]
async fn unlisted_garbage_collection_status_decodes_as_unknown() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registries/acme-images/garbage-collection")
        .reply(
            200,
            json!({"garbage_collection": garbage_collection("paused for maintenance")}),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_get_garbage_collection()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    let status = got
        .garbage_collection
        .as_ref()
        .unwrap()
        .status
        .clone()
        .unwrap();
    assert_eq!(
        status,
        types::GarbageCollectionStatus::Unknown("paused for maintenance".into())
    );
    assert!(!status.is_known());
    assert_eq!(status.as_str(), "paused for maintenance");
}

// ------------------------------------------------------------------ errors

#[tokio::test]
async fn unauthorized_decodes_into_the_typed_error() {
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registries")
        .reply(
            401,
            api_error(
                "unauthorized",
                "Unable to authenticate you.",
                "5e1c0a77-3f0b-4a5e-9d1f-61c2b8e4d0aa",
            ),
        )
        .mount(&server)
        .await;
    let err = client(&server).registries_list().send().await.unwrap_err();
    mock.assert_async().await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(err.is_unauthorized());
    assert!(!err.is_not_found() && !err.is_rate_limited() && !err.is_retryable());
    let body = err.error_body().expect("a typed DigitalOcean error");
    assert_eq!(body.id, "unauthorized");
    assert_eq!(body.message, "Unable to authenticate you.");
    assert_eq!(
        body.request_id.as_deref(),
        Some("5e1c0a77-3f0b-4a5e-9d1f-61c2b8e4d0aa")
    );
    assert!(err.raw_body().is_none());
    let shown = err.to_string();
    assert!(shown.contains("401"), "{shown}");
    assert!(
        shown.contains("5e1c0a77-3f0b-4a5e-9d1f-61c2b8e4d0aa"),
        "{shown}"
    );
    assert!(!format!("{err:?}").contains(TOKEN));
}

/// With the generated helper: `then.not_found(&types::Error)`.
#[tokio::test]
async fn not_found_decodes_into_the_typed_error() {
    let server = MockServer::start_async().await;
    let error: types::Error = serde_json::from_value(api_error(
        "not_found",
        "No registry named gone-registry exists in this account.",
        "c0ffee00-1234-4bcd-8ef0-0123456789ab",
    ))
    .unwrap();
    let mock = server.registries_get(|when, then| {
        let when = when.registry_name("gone-registry");
        strict(when.into_inner(), "/v2/registries/gone-registry", 0);
        then.not_found(&error);
    });
    let err = client(&server)
        .registries_get()
        .registry_name("gone-registry")
        .send()
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert!(err.is_not_found());
    assert!(!err.is_unauthorized() && !err.is_retryable());
    let body = err.error_body().unwrap();
    assert_eq!(body.id, "not_found");
    assert_eq!(
        body.message,
        "No registry named gone-registry exists in this account."
    );
    assert_eq!(
        body.request_id.as_deref(),
        Some("c0ffee00-1234-4bcd-8ef0-0123456789ab")
    );
}

/// With `RetryPolicy::none()` a 429 comes back after one request.
#[tokio::test]
async fn rate_limited_decodes_into_the_typed_error_without_retrying() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            strict(
                when.method(GET),
                "/v2/registries/acme-images/repositories/team%2Fapi/tags",
                0,
            );
            then.status(429)
                .header("content-type", "application/json")
                .header("ratelimit-limit", "5000")
                .header("ratelimit-remaining", "0")
                .header("ratelimit-reset", "1893456000")
                .json_body(api_error(
                    "too_many_requests",
                    "API rate limit exceeded.",
                    "7d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5",
                ));
        })
        .await;
    let err = client(&server)
        .registries_list_repository_tags()
        .registry_name(REG)
        .repository_name("team/api")
        .send()
        .await
        .unwrap_err();
    mock.assert_async().await; // exactly one request: no retry
    assert!(err.is_rate_limited());
    assert!(err.is_retryable());
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    let body = err.error_body().unwrap();
    assert_eq!(body.id, "too_many_requests");
    assert_eq!(body.message, "API rate limit exceeded.");
    assert_eq!(
        body.request_id.as_deref(),
        Some("7d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5")
    );
    let headers = err.headers().unwrap();
    assert_eq!(headers["ratelimit-remaining"], "0");
}

// ----------------------------------------------------------------- secrets

/// The docker-credentials `auth` value is readable with `expose_secret()`
/// but never shows up in Debug output.
#[tokio::test]
async fn docker_credentials_auth_is_redacted_in_debug() {
    let secret = "ZG9fcmVnaXN0cnlfdXNlcjpzM2NyM3QtcHVzaC10b2tlbi0xMjM0NQ==";
    let server = MockServer::start_async().await;
    let mock = expect(GET, "/v2/registries/acme-images/docker-credentials")
        .query(&[("read_write", "true")])
        .reply(200, docker_credentials(secret))
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_get_docker_credentials()
            .registry_name(REG)
            .read_write(true)
            .send()
            .await,
    )
    .await;
    let auth = got.auths["registry.digitalocean.com"]
        .auth
        .as_ref()
        .unwrap();
    assert_eq!(auth.expose_secret(), secret);
    for shown in [
        format!("{got:?}"),
        format!("{:?}", got.as_ref()),
        format!("{:#?}", got.auths),
        format!("{auth:?}"),
    ] {
        assert!(!shown.contains(secret), "secret leaked: {shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }
}

/// The generated mock helpers match what the client really sends: a
/// repository name with `/` percent-encoded, and a tag whose `.` is literal.
#[tokio::test]
async fn mock_helpers_match_encoded_and_literal_path_parameters() {
    let server = MockServer::start_async().await;
    let exact = server.registry_delete_repository_tag(|when, then| {
        when.registry_name("example")
            .repository_name("team/api")
            .repository_tag("v2.7.1");
        then.no_content();
    });
    let client = client(&server);
    client
        .registry_delete_repository_tag()
        .registry_name("example")
        .repository_name("team/api")
        .repository_tag("v2.7.1")
        .send()
        .await
        .unwrap();
    exact.assert_calls(1);

    // `.` in the expected tag is not a regex wildcard.
    let err = client
        .registry_delete_repository_tag()
        .registry_name("example")
        .repository_name("team/api")
        .repository_tag("v2x7x1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    exact.assert_calls(1);
}

// ------------------------------------------------------------------ garbage collection types

/// The three kinds of garbage collection, as sent on the wire (godo's
/// `GarbageCollectionType` constants).
const GC_TYPES: [(types::GarbageCollectionType, &str); 3] = [
    (
        types::GarbageCollectionType::UntaggedManifestsOnly,
        "untagged manifests only",
    ),
    (
        types::GarbageCollectionType::UnreferencedBlobsOnly,
        "unreferenced blobs only",
    ),
    (
        types::GarbageCollectionType::UntaggedManifestsAndUnreferencedBlobs,
        "untagged manifests and unreferenced blobs",
    ),
];

/// A garbage collection of the given type, as the service reports it.
fn garbage_collection_of(wire_type: &str) -> Value {
    let mut gc = garbage_collection("requested");
    gc["type"] = json!(wire_type);
    json!({ "garbage_collection": gc })
}

#[tokio::test]
async fn registries_run_garbage_collection_sends_each_type_and_decodes_it() {
    for (kind, wire) in GC_TYPES {
        let server = MockServer::start_async().await;
        let mock = expect(POST, "/v2/registries/acme-images/garbage-collection")
            .body(json!({ "type": wire }))
            .reply(201, garbage_collection_of(wire))
            .mount(&server)
            .await;
        let got = sent(
            &mock,
            client(&server)
                .registries_run_garbage_collection()
                .registry_name(REG)
                .body_map(|b| b.type_(kind.clone()))
                .send()
                .await,
        )
        .await;
        let gc = got.garbage_collection.as_ref().unwrap();
        assert_eq!(gc.type_, Some(kind), "{wire}");
    }
}

#[tokio::test]
async fn registry_run_garbage_collection_sends_each_type_and_decodes_it() {
    for (kind, wire) in GC_TYPES {
        let server = MockServer::start_async().await;
        let mock = expect(POST, "/v2/registry/acme-images/garbage-collection")
            .body(json!({ "type": wire }))
            .reply(201, garbage_collection_of(wire))
            .mount(&server)
            .await;
        let got = sent(
            &mock,
            client(&server)
                .registry_run_garbage_collection()
                .registry_name(REG)
                .body(types::RegistryRunGc {
                    type_: Some(kind.clone()),
                })
                .send()
                .await,
        )
        .await;
        let gc = got.garbage_collection.as_ref().unwrap();
        assert_eq!(gc.type_, Some(kind), "{wire}");
    }
}

/// Without a chosen type the deprecated endpoint gets an empty options
/// object too.
#[tokio::test]
async fn registry_run_garbage_collection_without_a_type_sends_an_empty_object() {
    let server = MockServer::start_async().await;
    let mock = expect(POST, "/v2/registry/acme-images/garbage-collection")
        .body(json!({}))
        .reply(201, garbage_collection_of("unreferenced blobs only"))
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registry_run_garbage_collection()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    assert_eq!(
        got.garbage_collection.as_ref().unwrap().type_,
        Some(types::GarbageCollectionType::UnreferencedBlobsOnly)
    );
}

#[tokio::test]
async fn garbage_collection_list_decodes_the_type_of_each_run() {
    let server = MockServer::start_async().await;
    let runs: Vec<Value> = GC_TYPES
        .iter()
        .map(|(_, wire)| garbage_collection_of(wire)["garbage_collection"].clone())
        .collect();
    let mock = expect(GET, "/v2/registries/acme-images/garbage-collections")
        .reply(
            200,
            json!({"garbage_collections": runs, "meta": {"total": 3}}),
        )
        .mount(&server)
        .await;
    let got = sent(
        &mock,
        client(&server)
            .registries_list_garbage_collections()
            .registry_name(REG)
            .send()
            .await,
    )
    .await;
    let kinds: Vec<_> = got
        .garbage_collections
        .iter()
        .map(|gc| gc.type_.clone())
        .collect();
    let expected: Vec<_> = GC_TYPES.iter().map(|(k, _)| Some(k.clone())).collect();
    assert_eq!(kinds, expected);
}
