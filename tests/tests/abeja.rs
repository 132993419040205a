//! The ABEJA Platform registry client, one test (at least) per operation:
//! the exact method, path, query, JSON body and `Authorization` header that
//! reach the server, typed decoding of realistic answers (ids that are JSON
//! strings in one place and numbers in another, null descriptions and
//! display names, `tags` present or absent), ABEJA's `{error,
//! error_description, error_detail}` error body, a plain-text 502, and both
//! credential schemes, including the `user-` prefix of the Basic user name.

use regkit_tests::Wire;
use std::collections::HashMap;

use httpmock::prelude::*;
use regkit_abeja::mock::MockServerExt;
use regkit_abeja::{Client, Error, types};
use regkit_core::{ConfigError, Credentials};
use serde_json::{Value, json};

const TOKEN: &str = "abeja-platform-token-7c2e9f1a4b";
const BEARER: &str = "Bearer abeja-platform-token-7c2e9f1a4b";
const ORG_ID: &str = "1410000000000";
const REPO_ID: &str = "1510000000001";
const USER_ID: &str = "1234567890123";
const PAT: &str = "abeja-pat-9f3c2e7a1b";
/// `Basic base64("user-1234567890123:abeja-pat-9f3c2e7a1b")`.
const BASIC_HEADER: &str = "Basic dXNlci0xMjM0NTY3ODkwMTIzOmFiZWphLXBhdC05ZjNjMmU3YTFi";

const REPOSITORIES: &str = "/organizations/1410000000000/registry/repositories";
const REPOSITORY: &str = "/organizations/1410000000000/registry/repositories/1510000000001";

fn client(server: &MockServer) -> Client {
    client_with(server, Credentials::bearer(TOKEN).unwrap())
}

fn client_with(server: &MockServer, credentials: Credentials) -> Client {
    regkit_tests::client(server, credentials)
}

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

// ------------------------------------------------------------------ recorder

/// Requests are recorded by the shared harness and checked against this
/// provider's token.
const WIRE: Wire = Wire { auth: BEARER };

// ------------------------------------------------------------------ fixtures

fn creator_json(display_name: Value) -> Value {
    json!({
        "id": "1122334455660",
        "email": "ml-team@example.co.jp",
        "display_name": display_name,
        "role": "admin",
        "is_registered": true,
        "created_at": "2017-05-26T01:38:46Z",
        "updated_at": "2018-01-04T03:02:12Z"
    })
}

fn tag_json(id: i64, name: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "digest": "sha256:5c40b3c27b9f13c873fefb2139765c56ce97fd50230f1f2d5c91e55dec171907",
        "media_type": "application/vnd.docker.distribution.manifest.v2+json",
        "size": 2_757_009,
        "creator": creator_json(Value::Null),
        "created_at": "2019-05-23T05:20:41Z",
        "updated_at": "2019-05-23T05:20:41Z"
    })
}

/// A repository; `tags` is left out when `None` (as in list entries).
fn repository_json(description: Value, tags: Option<Value>) -> Value {
    let mut repo = json!({
        "id": REPO_ID,
        "organization_id": ORG_ID,
        "name": "object-detector",
        "description": description,
        "creator": creator_json(json!("Aiko Tanaka")),
        "created_at": "2019-05-23T05:13:13.402117Z",
        "updated_at": "2019-05-23T05:13:13.402195Z"
    });
    if let Some(tags) = tags {
        repo["tags"] = tags;
    }
    repo
}

fn assert_repository(repo: &types::Repository) {
    assert_eq!(repo.id, REPO_ID);
    assert_eq!(repo.organization_id, ORG_ID);
    assert_eq!(repo.name, "object-detector");
    assert_eq!(repo.creator.id, "1122334455660");
    assert_eq!(repo.creator.role, "admin");
    assert!(repo.creator.is_registered);
    // Timestamps are kept exactly as sent, microseconds included.
    assert_eq!(repo.created_at, "2019-05-23T05:13:13.402117Z");
}

fn abeja_error(code: &str, description: &str, detail: Option<Value>) -> Value {
    let mut body = json!({"error": code, "error_description": description});
    if let Some(detail) = detail {
        body["error_detail"] = detail;
    }
    body
}

// ------------------------------------------------------------------ repositories

#[tokio::test]
async fn create_repository_sends_name_and_description() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            repository_json(
                json!("Inference image for the shelf object detector"),
                Some(json!([])),
            ),
        )
        .await;

    let repo = client(&server)
        .create_repository()
        .organization_id(ORG_ID)
        .body(types::RepositoryCreate {
            name: "object-detector".into(),
            description: Some("Inference image for the shelf object detector".into()),
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        REPOSITORIES,
        json!({
            "name": "object-detector",
            "description": "Inference image for the shelf object detector"
        }),
    );
    assert_eq!(repo.status(), 200);
    assert_repository(&repo);
    assert_eq!(
        repo.description.as_deref(),
        Some("Inference image for the shelf object detector")
    );
    assert!(repo.tags.is_empty());
    assert_eq!(repo.creator.display_name.as_deref(), Some("Aiko Tanaka"));
}

#[tokio::test]
async fn create_repository_without_description_leaves_it_out() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, repository_json(Value::Null, Some(json!([]))))
        .await;

    let repo = client(&server)
        .create_repository()
        .organization_id(ORG_ID)
        .body_map(|b| b.name("object-detector"))
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_json("POST", REPOSITORIES, json!({"name": "object-detector"}));
    assert!(repo.description.is_none(), "a null description decodes");
}

#[tokio::test]
async fn create_repository_bad_request_decodes_error_detail() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            400,
            abeja_error(
                "bad_request",
                "parameters is insufficient or invalid",
                Some(json!({"name": ["this field is required"]})),
            ),
        )
        .await;

    let err = client(&server)
        .create_repository()
        .organization_id(ORG_ID)
        .body_map(|b| b.name(""))
        .send()
        .await
        .unwrap_err();

    rec.only()
        .await
        .assert_json("POST", REPOSITORIES, json!({"name": ""}));
    assert!(matches!(err, Error::ErrorResponse(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let body = err.error_body().expect("typed ABEJA error body");
    assert_eq!(body.error, "bad_request");
    assert_eq!(
        body.error_description.as_deref(),
        Some("parameters is insufficient or invalid")
    );
    assert_eq!(body.error_detail["name"], json!(["this field is required"]));
    assert!(err.raw_body().is_none());
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn list_repositories_sends_limit_and_offset_and_reads_a_numeric_org_id() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!({
                "offset": 20,
                "limit": 10,
                "has_next": true,
                "organization_name": "test-org",
                // A JSON number here, a string everywhere else.
                "organization_id": 1_410_000_000_000i64,
                "created_at": "2019-05-23T05:13:13Z",
                "updated_at": "2019-05-23T05:13:15Z",
                "registry_repositories": [repository_json(Value::Null, None)]
            }),
        )
        .await;

    let page = client(&server)
        .list_repositories()
        .organization_id(ORG_ID)
        .limit(10)
        .offset(20)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REPOSITORIES}?limit=10&offset=20"));
    assert_eq!((page.offset, page.limit, page.has_next), (20, 10, true));
    assert_eq!(page.organization_name, "test-org");
    assert!(matches!(
        page.organization_id,
        types::StringOrIntegerId::Int64(1_410_000_000_000)
    ));
    assert_eq!(page.organization_id.to_string(), ORG_ID);
    assert_eq!(page.registry_repositories.len(), 1);
    let repo = &page.registry_repositories[0];
    assert_repository(repo);
    assert!(repo.description.is_none());
    assert!(repo.tags.is_empty(), "list entries carry no tags");
}

#[tokio::test]
async fn list_repositories_reads_a_string_org_id_and_sends_no_query_by_default() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!({
                "offset": 0,
                "limit": 10,
                "has_next": false,
                "organization_name": "test-org",
                "organization_id": ORG_ID,
                "created_at": "2019-05-23T05:13:13Z",
                "updated_at": "2019-05-23T05:13:15Z",
                "registry_repositories": []
            }),
        )
        .await;

    let page = client(&server)
        .list_repositories()
        .organization_id(ORG_ID)
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless("GET", REPOSITORIES);
    assert!(matches!(
        &page.organization_id,
        types::StringOrIntegerId::String(id) if id == ORG_ID
    ));
    assert!(!page.has_next);
    assert!(page.registry_repositories.is_empty());
}

#[tokio::test]
async fn list_repositories_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let page: types::RepositoryList = serde_json::from_value(json!({
        "offset": 10,
        "limit": 5,
        "has_next": false,
        "organization_name": "test-org",
        "organization_id": 1_410_000_000_000i64,
        "created_at": "2019-05-23T05:13:13Z",
        "updated_at": "2019-05-23T05:13:15Z",
        "registry_repositories": [repository_json(json!("detector"), None)]
    }))
    .unwrap();
    let mock = server.list_repositories(|when, then| {
        when.organization_id(ORG_ID)
            .limit(5)
            .offset(10)
            .into_inner()
            .header("authorization", BEARER);
        then.ok(&page);
    });

    let got = client(&server)
        .list_repositories()
        .organization_id(ORG_ID)
        .limit(5)
        .offset(10)
        .send()
        .await
        .unwrap();

    mock.assert_async().await;
    assert_eq!(
        got.registry_repositories[0].description.as_deref(),
        Some("detector")
    );
    assert_eq!(got.organization_id.to_string(), ORG_ID);
}

#[tokio::test]
async fn get_repository_decodes_tags_and_null_display_names() {
    let server = MockServer::start_async().await;
    let mut body = repository_json(
        json!("detector"),
        Some(json!([tag_json(1_771_682_238_503, "0.0.4")])),
    );
    body["creator"]["display_name"] = Value::Null;
    let rec = WIRE.respond_json(&server, 200, body).await;

    let repo = client(&server)
        .get_repository()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless("GET", REPOSITORY);
    assert_repository(&repo);
    assert!(repo.creator.display_name.is_none());
    // The element shape is unconfirmed: each tag is kept as sent.
    assert_eq!(repo.tags, [tag_json(1_771_682_238_503, "0.0.4")]);
}

#[tokio::test]
async fn get_repository_not_found_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let error = types::Error {
        error: "not_found".into(),
        error_description: Some("repository not found".into()),
        error_detail: serde_json::Map::new(),
    };
    let mock = server.get_repository(|when, then| {
        when.organization_id(ORG_ID).repository_id("1510000000999");
        then.not_found(&error);
    });

    let err = client(&server)
        .get_repository()
        .organization_id(ORG_ID)
        .repository_id("1510000000999")
        .send()
        .await
        .unwrap_err();

    mock.assert_async().await;
    assert!(err.is_not_found());
    let body = err.error_body().unwrap();
    assert_eq!(body.error, "not_found");
    assert_eq!(
        body.error_description.as_deref(),
        Some("repository not found")
    );
    assert!(body.error_detail.is_empty(), "error_detail is optional");
}

#[tokio::test]
async fn delete_repository_returns_the_deleted_record() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, repository_json(Value::Null, Some(json!([]))))
        .await;

    let deleted = client(&server)
        .delete_repository()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .send()
        .await
        .unwrap()
        .into_inner()
        .expect("the deleted record decodes");

    rec.only().await.assert_bodiless("DELETE", REPOSITORY);
    assert_repository(&deleted);
    assert!(deleted.description.is_none());
}

#[tokio::test]
async fn delete_repository_unauthorized_decodes_the_abeja_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            401,
            abeja_error(
                "unauthorized",
                "authentication credentials were not provided",
                None,
            ),
        )
        .await;

    let err = client(&server)
        .delete_repository()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless("DELETE", REPOSITORY);
    assert!(err.is_unauthorized());
    let body = err.error_body().unwrap();
    assert_eq!(body.error, "unauthorized");
    assert!(body.error_detail.is_empty());
}

// ------------------------------------------------------------------ tags

#[tokio::test]
async fn list_repository_tags_sends_limit_and_offset_and_decodes_numeric_tag_ids() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(
        &server,
        200,
        json!({
            "offset": 10,
            "limit": 2,
            "has_next": true,
            "registry_repository_id": REPO_ID,
            "organization_name": "test-org",
            "organization_id": ORG_ID,
            "created_at": "2019-05-23T05:13:13Z",
            "updated_at": "2019-05-23T05:13:15Z",
            "tags": [tag_json(1_771_682_238_503, "0.0.4"), tag_json(1_771_682_238_504, "latest")]
        }),
    )
    .await;

    let page = client(&server)
        .list_repository_tags()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .limit(2)
        .offset(10)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REPOSITORY}/tags?limit=2&offset=10"));
    assert_eq!((page.offset, page.limit, page.has_next), (10, 2, true));
    assert_eq!(page.registry_repository_id, REPO_ID);
    assert!(
        matches!(&page.organization_id, types::StringOrIntegerId::String(id) if id == ORG_ID),
        "a string in this envelope: {:?}",
        page.organization_id
    );
    assert_eq!(page.tags.len(), 2);
    let tag = &page.tags[0];
    assert_eq!(tag.id, 1_771_682_238_503);
    assert_eq!(tag.name, "0.0.4");
    assert!(tag.digest.starts_with("sha256:5c40b3c2"));
    assert_eq!(
        tag.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(tag.size, 2_757_009);
    assert!(tag.creator.display_name.is_none());
    assert_eq!(page.tags[1].name, "latest");
}

#[tokio::test]
async fn list_repository_tags_without_paging_sends_no_query() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!({
                "offset": 0,
                "limit": 10,
                "has_next": false,
                "registry_repository_id": REPO_ID,
                "organization_name": "test-org",
                "organization_id": ORG_ID,
                "created_at": "2019-05-23T05:13:13Z",
                "updated_at": "2019-05-23T05:13:15Z",
                "tags": []
            }),
        )
        .await;

    let page = client(&server)
        .list_repository_tags()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REPOSITORY}/tags"));
    assert!(page.tags.is_empty());
    assert!(!page.has_next);
}

// ------------------------------------------------------------------ credentials

#[tokio::test]
async fn basic_credentials_from_lookup_add_the_user_prefix_once() {
    let provider = &regkit_abeja::PROVIDER;
    for user in [USER_ID.to_owned(), format!("user-{USER_ID}")] {
        let credentials = Credentials::from_lookup(
            provider,
            lookup(&[
                ("ABEJA_PLATFORM_USER_ID", &user),
                ("ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN", PAT),
            ]),
        )
        .unwrap();
        let shown = format!("{credentials:?}");
        assert!(!shown.contains(PAT), "{shown}");

        let server = MockServer::start_async().await;
        let rec = WIRE
            .respond_json(&server, 200, repository_json(Value::Null, Some(json!([]))))
            .await;
        client_with(&server, credentials)
            .get_repository()
            .organization_id(ORG_ID)
            .repository_id(REPO_ID)
            .send()
            .await
            .unwrap();

        let seen = rec.only().await;
        assert_eq!(seen.method, "GET");
        assert_eq!(seen.uri, REPOSITORY);
        // `user-1234567890123` either way, never `user-user-…`.
        assert_eq!(seen.authorization.as_deref(), Some(BASIC_HEADER), "{user}");
    }
}

#[tokio::test]
async fn credentials_from_lookup_prefer_the_platform_token() {
    let provider = &regkit_abeja::PROVIDER;
    let cases = [
        (lookup(&[("PLATFORM_AUTH_TOKEN", TOKEN)]), BEARER),
        (
            lookup(&[
                ("ABEJA_PLATFORM_USER_ID", USER_ID),
                ("ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN", PAT),
                ("PLATFORM_AUTH_TOKEN", TOKEN),
            ]),
            BEARER,
        ),
        (
            lookup(&[
                ("PLATFORM_AUTH_TOKEN", "  "),
                ("ABEJA_PLATFORM_USER_ID", USER_ID),
                ("ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN", PAT),
            ]),
            BASIC_HEADER,
        ),
    ];
    for (vars, expected) in cases {
        let server = MockServer::start_async().await;
        let rec = WIRE
            .respond_json(
                &server,
                200,
                json!({
                    "offset": 0, "limit": 10, "has_next": false,
                    "organization_name": "test-org", "organization_id": ORG_ID,
                    "created_at": "2019-05-23T05:13:13Z", "updated_at": "2019-05-23T05:13:15Z",
                    "registry_repositories": []
                }),
            )
            .await;
        let credentials = Credentials::from_lookup(provider, vars).unwrap();
        client_with(&server, credentials)
            .list_repositories()
            .organization_id(ORG_ID)
            .send()
            .await
            .unwrap();
        let seen = rec.only().await;
        assert_eq!(seen.uri, REPOSITORIES);
        assert_eq!(seen.authorization.as_deref(), Some(expected));
    }
}

#[test]
fn missing_credentials_name_the_abeja_variables() {
    let provider = &regkit_abeja::PROVIDER;

    let err = Credentials::from_lookup(provider, lookup(&[])).unwrap_err();
    assert!(
        matches!(err, ConfigError::MissingCredentials { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    for var in [
        "PLATFORM_AUTH_TOKEN",
        "ABEJA_PLATFORM_USER_ID",
        "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN",
    ] {
        assert!(msg.contains(var), "{msg}");
    }

    // A user id without its access token is an error, not a silent fallback.
    let err = Credentials::from_lookup(provider, lookup(&[("ABEJA_PLATFORM_USER_ID", USER_ID)]))
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::MissingCredentials { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN"),
        "{err}"
    );
}

// ------------------------------------------------------------------ issue 9: what the service may really send

#[tokio::test]
async fn repository_tags_of_any_shape_are_kept_as_sent() {
    let server = MockServer::start_async().await;
    // Nothing confirms what a repository's tag looks like: an object like
    // the tag listing's, a bare name, a number or an object of another shape.
    let tags = json!([
        tag_json(1_771_682_238_503, "0.0.4"),
        "latest",
        1_771_682_238_504_i64,
        {"name": "0.0.5", "digest": null}
    ]);
    let rec = WIRE
        .respond_json(
            &server,
            200,
            repository_json(json!("detector"), Some(tags.clone())),
        )
        .await;

    let repo = client(&server)
        .get_repository()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless("GET", REPOSITORY);
    assert_repository(&repo);
    assert_eq!(Value::Array(repo.tags.clone()), tags);
    assert_eq!(repo.tags[1], "latest");
}

#[tokio::test]
async fn list_repository_tags_reads_a_numeric_org_id() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!({
                "offset": 0,
                "limit": 10,
                "has_next": false,
                "registry_repository_id": REPO_ID,
                "organization_name": "test-org",
                "organization_id": 1_410_000_000_000_i64,
                "created_at": "2019-05-23T05:13:13Z",
                "updated_at": "2019-05-23T05:13:15Z",
                "tags": [tag_json(1_771_682_238_503, "0.0.4")]
            }),
        )
        .await;

    let page = client(&server)
        .list_repository_tags()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REPOSITORY}/tags"));
    assert!(matches!(
        page.organization_id,
        types::StringOrIntegerId::Int64(1_410_000_000_000)
    ));
    assert_eq!(page.organization_id.to_string(), ORG_ID);
    assert_eq!(page.tags[0].name, "0.0.4");
}

#[tokio::test]
async fn error_body_with_only_the_code_decodes() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 403, json!({"error": "forbidden"}))
        .await;

    let err = client(&server)
        .delete_repository()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless("DELETE", REPOSITORY);
    assert!(matches!(err, Error::ErrorResponse(_)), "{err:?}");
    let body = err.error_body().expect("typed ABEJA error body");
    assert_eq!(body.error, "forbidden");
    assert!(body.error_description.is_none());
    assert!(body.error_detail.is_empty());
    assert!(err.to_string().contains("forbidden"), "{err}");
}

#[tokio::test]
async fn timestamps_in_another_form_are_kept_as_text() {
    let server = MockServer::start_async().await;
    let mut body = repository_json(Value::Null, Some(json!([])));
    body["created_at"] = json!("2019-05-23 05:13:13");
    body["updated_at"] = json!("2019-05-23T05:13:13+09:00");
    body["creator"]["created_at"] = json!("1495762726");
    let rec = WIRE.respond_json(&server, 200, body).await;

    let repo = client(&server)
        .get_repository()
        .organization_id(ORG_ID)
        .repository_id(REPO_ID)
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless("GET", REPOSITORY);
    assert_eq!(repo.created_at, "2019-05-23 05:13:13");
    assert_eq!(repo.updated_at, "2019-05-23T05:13:13+09:00");
    assert_eq!(repo.creator.created_at, "1495762726");
}
