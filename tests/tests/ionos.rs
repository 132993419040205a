//! The IONOS Container Registry client (API 1.2.1), one test per operation:
//! the exact method, path, query, JSON body and `Authorization` header that
//! reach the server, typed decoding of a realistic answer, IONOS's
//! `{httpStatus, messages}` error body per resource family, a non-JSON 502
//! from a proxy, both credential schemes, the token password that is only
//! ever shown once (and never in `Debug`), and a two-page `stream()` walk of
//! each offset-paged listing (repositories, artifacts, vulnerabilities),
//! which follows the offset in `_links.next`.

use regkit_tests::Wire;
use std::collections::HashMap;

use futures::TryStreamExt;
use httpmock::prelude::*;
use regkit_core::{ConfigError, Credentials};
use regkit_ionos::mock::MockServerExt;
use regkit_ionos::{Client, Error, types};
use serde_json::{Value, json};

const TOKEN: &str = "ionos-api-token-4f2a9c1e7b";
const BEARER: &str = "Bearer ionos-api-token-4f2a9c1e7b";
const REGISTRY_ID: &str = "8f0c6a2e-3b1d-4c55-9a7e-2d4f6b8c1e90";
const TOKEN_ID: &str = "2b7e1c44-6a0f-4f3e-8d21-9c5b7a3e0f12";
/// Returned by the create calls only.
const TOKEN_PASSWORD: &str = "Zk3q9XvR2mT7wLp4Hs8dNc1B";

fn client(server: &MockServer) -> Client {
    client_with(server, Credentials::bearer(TOKEN).unwrap())
}

fn client_with(server: &MockServer, credentials: Credentials) -> Client {
    regkit_tests::client(server, credentials)
}

// ------------------------------------------------------------------ recorder

/// Requests are recorded by the shared harness and checked against this
/// provider's token.
const WIRE: Wire = Wire { auth: BEARER };

// ------------------------------------------------------------------ fixtures

fn metadata(state: &str, modified: bool) -> Value {
    let mut m = json!({
        "createdBy": "jane.doe@example.com",
        "createdByUserId": "5d3a1f7c-9e2b-4c8d-a6f0-1b2c3d4e5f60",
        "createdDate": "2024-03-12T10:01:00Z",
        "lastModifiedDate": null,
        "state": state
    });
    if modified {
        m["lastModifiedBy"] = json!("ops@example.com");
        m["lastModifiedByUserId"] = json!("7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d");
        m["lastModifiedDate"] = json!("2024-06-03T12:44:31Z");
    }
    m
}

/// A token as the service returns it; `password` is what `credentials`
/// carries (the real secret on create, "" afterwards).
fn token_json(name: &str, password: &str, status: &str) -> Value {
    json!({
        "id": TOKEN_ID,
        "type": "token",
        "href": format!("https://api.ionos.com/containerregistries/registries/{REGISTRY_ID}/tokens/{TOKEN_ID}"),
        "metadata": metadata("AVAILABLE", false),
        "properties": {
            "name": name,
            "credentials": {"username": name, "password": password},
            "expiryDate": "2025-03-12T00:00:00Z",
            "status": status,
            "scopes": [{"name": "app/*", "type": "repository", "actions": ["pull", "push"]}]
        }
    })
}

fn registry_json(state: &str, days: &[&str], time: &str) -> Value {
    json!({
        "id": REGISTRY_ID,
        "type": "registry",
        "href": format!("https://api.ionos.com/containerregistries/registries/{REGISTRY_ID}"),
        "metadata": metadata(state, state == "AVAILABLE"),
        "properties": {
            "name": "my-registry",
            "location": "de/fra",
            "hostname": "my-registry.cr.de-fra.ionos.com",
            "garbageCollectionSchedule": {"days": days, "time": time},
            "storageUsage": {"bytes": 3_221_225_472u64, "updatedAt": "2024-05-20T04:00:00Z"}
        }
    })
}

fn ionos_error(status: u16, code: &str, message: &str) -> Value {
    json!({"httpStatus": status, "messages": [{"errorCode": code, "message": message}]})
}

const BASE: &str = "https://api.ionos.com/containerregistries";
const REPOSITORY_ID: &str = "6c1e9b3a-7d4f-4e2a-b8c5-0f3d2a1e9b7c";
const DIGEST: &str = "sha256:9f2c4d6e8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d";
const OTHER_DIGEST: &str =
    "sha256:0d1c2b3a49586776a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2";
const CVE: &str = "CVE-2023-44487";

fn repository_json(name: &str) -> Value {
    json!({
        "id": REPOSITORY_ID,
        "type": "repository",
        "href": format!("{BASE}/registries/{REGISTRY_ID}/repositories/{name}"),
        "metadata": {
            "createdDate": "2024-04-02T08:12:45Z",
            "createdBy": "jane.doe@example.com",
            "createdByUserId": "5d3a1f7c-9e2b-4c8d-a6f0-1b2c3d4e5f60",
            "artifactCount": 12,
            "pullCount": 3481,
            "pushCount": 27,
            "lastPulledAt": "2024-06-11T09:30:00Z",
            "lastPushedAt": "2024-06-10T14:03:09Z",
            "lastSeverity": "HIGH"
        },
        "properties": {"name": name}
    })
}

/// A scanned artifact: counts, scan summary and tags all present.
fn artifact_json(repository: &str, digest: &str, tags: &[&str]) -> Value {
    json!({
        "id": digest,
        "type": "artifact",
        "href": format!("{BASE}/registries/{REGISTRY_ID}/repositories/{repository}/artifacts/{digest}"),
        "metadata": {
            "createdDate": "2024-04-02T08:12:45Z",
            "createdBy": "jane.doe@example.com",
            "createdByUserId": "5d3a1f7c-9e2b-4c8d-a6f0-1b2c3d4e5f60",
            "lastPushedAt": "2024-06-10T14:03:09Z",
            "lastPulledAt": "2024-06-11T09:30:00Z",
            "lastScannedAt": "2024-06-10T14:05:41Z",
            "pushCount": 3,
            "pullCount": 1204,
            "vulnMaxSeverity": "HIGH",
            "vulnTotalScore": 19.3,
            "vulnTotalCount": 3,
            "vulnFixableCount": 2
        },
        "properties": {
            "repositoryName": repository,
            "digest": digest,
            "tags": tags,
            "mediaType": "application/vnd.oci.image.manifest.v1+json"
        }
    })
}

fn vulnerability_json(id: &str, severity: &str, score: f64) -> Value {
    json!({
        "id": id,
        "type": "vulnerability",
        "href": format!("{BASE}/vulnerabilities/{id}"),
        "metadata": {"publishedAt": "2023-10-10T14:15:10Z", "updatedAt": "2024-06-27T18:15:14Z"},
        "properties": {
            "description": "HTTP/2 stream resets can be sent faster than the server can process them.",
            "recommendations": "Upgrade golang.org/x/net to v0.17.0 or later.",
            "dataSource": {"id": "nvd", "url": format!("https://nvd.nist.gov/vuln/detail/{id}")},
            "fixable": true,
            "affects": [{"type": "golang", "name": "golang.org/x/net", "version": "v0.15.0"}],
            "references": ["https://github.com/advisories/GHSA-qppj-fm5r-hxr3"],
            "severity": severity,
            "score": score
        }
    })
}

/// One page of an offset-paged listing (repositories, artifacts,
/// vulnerabilities): no total, `_links.next` only while items follow.
fn offset_page(href: &str, items: Vec<Value>, offset: u32, limit: u32, next: bool) -> Value {
    let mut links = json!({"self": format!("{href}?offset={offset}&limit={limit}")});
    if offset > 0 {
        links["prev"] = json!(format!(
            "{href}?offset={}&limit={limit}",
            offset.saturating_sub(limit)
        ));
    }
    if next {
        links["next"] = json!(format!("{href}?offset={}&limit={limit}", offset + limit));
    }
    let id = href.rsplit('/').next().unwrap();
    json!({"id": id, "type": "collection", "href": href, "offset": offset, "limit": limit,
           "_links": links, "items": items})
}

fn scope(name: &str, actions: &[&str]) -> types::Scope {
    types::Scope {
        actions: Some(actions.iter().map(|a| a.to_string()).collect()),
        name: name.into(),
        type_: "repository".into(),
    }
}

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

// ------------------------------------------------------------------ tokens

#[tokio::test]
async fn tokens_get_sends_offset_and_limit_and_decodes_the_page() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(
        &server,
        200,
        json!({
            "id": "tokens",
            "type": "collection",
            "href": format!("https://api.ionos.com/containerregistries/registries/{REGISTRY_ID}/tokens"),
            "offset": 20,
            "limit": 10,
            "count": 1,
            "total": 21,
            "_links": {
                "self": format!("https://api.ionos.com/containerregistries/registries/{REGISTRY_ID}/tokens?offset=20&limit=10"),
                "previous": format!("https://api.ionos.com/containerregistries/registries/{REGISTRY_ID}/tokens?offset=10&limit=10"),
                "next": ""
            },
            "items": [token_json("ci-push", "", "enabled")]
        }),
    )
    .await;

    let page = client(&server)
        .registries_tokens_get()
        .registry_id(REGISTRY_ID)
        .offset(20)
        .limit(10)
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/tokens?limit=10&offset=20"),
    );
    assert_eq!(page.status(), 200);
    assert_eq!(
        (page.offset, page.limit, page.count, page.total),
        (20, 10, 1, 21)
    );
    assert_eq!(page.links.next, "");
    assert!(page.links.previous.ends_with("offset=10&limit=10"));
    let items = page.items.as_ref().unwrap();
    assert_eq!(items.len(), 1);
    let token = &items[0];
    assert_eq!(token.id.as_deref().unwrap(), TOKEN_ID);
    assert_eq!(token.type_.as_deref(), Some("token"));
    let meta = token.metadata.as_ref().unwrap();
    assert_eq!(meta.created_by, "jane.doe@example.com");
    assert_eq!(meta.state, "AVAILABLE");
    assert!(meta.last_modified_date.is_none());
    let props = token.properties.as_ref().unwrap();
    assert_eq!(props.name, "ci-push");
    assert_eq!(props.status, Some(types::TokenStatus::Enabled));
    assert_eq!(
        serde_json::to_value(props.expiry_date.unwrap()).unwrap(),
        json!("2025-03-12T00:00:00Z")
    );
    let scopes = props.scopes.as_ref().unwrap();
    assert_eq!(scopes[0].name, "app/*");
    assert_eq!(scopes[0].type_, "repository");
    assert_eq!(scopes[0].actions.as_deref().unwrap(), ["pull", "push"]);
    // Listings never carry the password: it comes back empty.
    let creds = props.credentials.as_ref().unwrap();
    assert_eq!(creds.username, "ci-push");
    assert!(creds.password.is_empty());
}

#[tokio::test]
async fn tokens_get_without_paging_parameters_sends_no_query() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!({"offset": 0, "limit": 100, "count": 0, "total": 0, "items": [],
               "_links": {"self": "", "previous": "", "next": ""}}),
        )
        .await;

    let page = client(&server)
        .registries_tokens_get()
        .registry_id(REGISTRY_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("/registries/{REGISTRY_ID}/tokens"));
    assert_eq!(page.total, 0);
    assert!(page.items.as_ref().unwrap().is_empty());
}

#[tokio::test]
async fn tokens_post_sends_the_properties_and_returns_the_password_once() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            201,
            token_json("ci-push", TOKEN_PASSWORD, "enabled"),
        )
        .await;

    let created = client(&server)
        .registries_tokens_post()
        .registry_id(REGISTRY_ID)
        .body(types::PostTokenInput {
            properties: types::PostTokenProperties {
                expiry_date: "2025-03-12T00:00:00Z".parse().ok(),
                name: "ci-push".parse().unwrap(),
                scopes: Some(vec![scope("app/*", &["pull", "push"])]),
                status: Some(types::TokenStatus::Enabled),
            },
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        &format!("/registries/{REGISTRY_ID}/tokens"),
        json!({"properties": {
            "name": "ci-push",
            "expiryDate": "2025-03-12T00:00:00Z",
            "status": "enabled",
            "scopes": [{"name": "app/*", "type": "repository", "actions": ["pull", "push"]}]
        }}),
    );
    assert_eq!(created.status(), 201);
    assert_eq!(created.id.as_deref().unwrap(), TOKEN_ID);
    let props = created.properties.as_ref().unwrap();
    assert_eq!(props.name, "ci-push");
    let creds = props.credentials.as_ref().unwrap();
    assert_eq!(creds.username, "ci-push");
    // The secret is there for whoever asks for it explicitly...
    assert_eq!(creds.password.expose_secret(), TOKEN_PASSWORD);
    // ...and nowhere in Debug output, however deep or pretty.
    for shown in [
        format!("{:?}", *created),
        format!("{:#?}", *created),
        format!("{created:?}"),
        format!("{creds:?}"),
    ] {
        assert!(!shown.contains(TOKEN_PASSWORD), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
}

#[tokio::test]
async fn tokens_post_conflict_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            409,
            ionos_error(409, "409", "a token named ci-push already exists"),
        )
        .await;

    let err = client(&server)
        .registries_tokens_post()
        .registry_id(REGISTRY_ID)
        .body_map(|b| {
            b.properties(types::PostTokenProperties {
                expiry_date: None,
                name: "ci-push".parse().unwrap(),
                scopes: None,
                status: None,
            })
        })
        .send()
        .await
        .unwrap_err();

    // Unset optional fields are left out, not sent as null.
    rec.only().await.assert_json(
        "POST",
        &format!("/registries/{REGISTRY_ID}/tokens"),
        json!({"properties": {"name": "ci-push"}}),
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    assert!(matches!(err, Error::ErrorResponse(_)));
    let body = err.error_body().expect("typed IONOS error body");
    assert_eq!(body.http_status, Some(409));
    let messages = body.messages.as_ref().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].error_code.as_deref(), Some("409"));
    assert_eq!(
        messages[0].message.as_deref(),
        Some("a token named ci-push already exists")
    );
    assert!(err.raw_body().is_none());
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "409 Conflict: a token named ci-push already exists",
        "the reasons from messages[] are in the one-line Display"
    );
}

#[tokio::test]
async fn tokens_find_by_id_decodes_a_token_whose_password_is_gone() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, token_json("ci-push", "", "enabled"))
        .await;

    let token = client(&server)
        .registries_tokens_find_by_id()
        .registry_id(REGISTRY_ID)
        .token_id(TOKEN_ID)
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/tokens/{TOKEN_ID}"),
    );
    assert_eq!(token.id.as_deref().unwrap(), TOKEN_ID);
    assert_eq!(
        token.href.as_deref(),
        Some(format!("https://api.ionos.com/containerregistries/registries/{REGISTRY_ID}/tokens/{TOKEN_ID}").as_str())
    );
    let props = token.properties.as_ref().unwrap();
    assert_eq!(props.status, Some(types::TokenStatus::Enabled));
    let creds = props.credentials.as_ref().unwrap();
    assert_eq!(creds.username, "ci-push");
    assert_eq!(creds.password.expose_secret(), "");
    assert_eq!(
        serde_json::to_value(token.metadata.as_ref().unwrap().created_date).unwrap(),
        json!("2024-03-12T10:01:00Z")
    );
}

#[tokio::test]
async fn tokens_find_by_id_not_found_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let registry: &str = REGISTRY_ID;
    let token: &str = TOKEN_ID;
    let error: types::ApiErrorResponse = serde_json::from_value(ionos_error(
        404,
        "404",
        &format!("token {TOKEN_ID} not found"),
    ))
    .unwrap();
    let mock = server.registries_tokens_find_by_id(|when, then| {
        when.registry_id(registry)
            .token_id(token)
            .into_inner()
            .header("authorization", BEARER);
        then.not_found(&error);
    });

    let err = client(&server)
        .registries_tokens_find_by_id()
        .registry_id(REGISTRY_ID)
        .token_id(TOKEN_ID)
        .send()
        .await
        .unwrap_err();

    mock.assert_async().await;
    assert!(err.is_not_found());
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(404));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].message.as_deref(),
        Some(format!("token {TOKEN_ID} not found").as_str())
    );
}

#[tokio::test]
async fn tokens_patch_sends_only_the_changed_fields() {
    let server = MockServer::start_async().await;
    let mut answer = token_json("ci-push", "", "disabled");
    answer["metadata"] = metadata("AVAILABLE", true);
    answer["properties"]["scopes"] =
        json!([{"name": "app/*", "type": "repository", "actions": ["pull"]}]);
    let rec = WIRE.respond_json(&server, 200, answer).await;

    let token = client(&server)
        .registries_tokens_patch()
        .registry_id(REGISTRY_ID)
        .token_id(TOKEN_ID)
        .body(types::PatchTokenInput {
            expiry_date: None,
            scopes: Some(vec![scope("app/*", &["pull"])]),
            status: Some(types::TokenStatus::Disabled),
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "PATCH",
        &format!("/registries/{REGISTRY_ID}/tokens/{TOKEN_ID}"),
        json!({"status": "disabled",
               "scopes": [{"name": "app/*", "type": "repository", "actions": ["pull"]}]}),
    );
    let props = token.properties.as_ref().unwrap();
    assert_eq!(props.status, Some(types::TokenStatus::Disabled));
    assert_eq!(
        props.scopes.as_ref().unwrap()[0]
            .actions
            .as_deref()
            .unwrap(),
        ["pull"]
    );
    let meta = token.metadata.as_ref().unwrap();
    assert_eq!(meta.last_modified_by.as_deref(), Some("ops@example.com"));
    assert_eq!(
        serde_json::to_value(meta.last_modified_date.unwrap()).unwrap(),
        json!("2024-06-03T12:44:31Z")
    );
}

#[tokio::test]
async fn tokens_patch_sends_an_explicit_null_to_remove_the_expiry() {
    let server = MockServer::start_async().await;
    let mut answer = token_json("ci-push", "", "enabled");
    answer["properties"]["expiryDate"] = Value::Null;
    let rec = WIRE.respond_json(&server, 200, answer).await;

    client(&server)
        .registries_tokens_patch()
        .registry_id(REGISTRY_ID)
        .token_id(TOKEN_ID)
        .body(types::PatchTokenInput {
            expiry_date: Some(regkit_core::Nullable::Null),
            scopes: None,
            status: None,
        })
        .send()
        .await
        .unwrap();

    // `null` means "never expires"; a field left out keeps its value.
    rec.only().await.assert_json(
        "PATCH",
        &format!("/registries/{REGISTRY_ID}/tokens/{TOKEN_ID}"),
        json!({"expiryDate": null}),
    );
}

#[tokio::test]
async fn tokens_put_creates_under_the_given_id_and_redacts_the_password() {
    let server = MockServer::start_async().await;
    let pull_password = "Pw7tY2cQ9kR4nV6zJ1hL5sXe";
    let mut answer = token_json("ci-pull", pull_password, "enabled");
    answer["properties"]["expiryDate"] = Value::Null;
    answer["properties"]["scopes"] =
        json!([{"name": "*", "type": "repository", "actions": ["pull"]}]);
    let rec = WIRE.respond_json(&server, 201, answer).await;

    let token = client(&server)
        .registries_tokens_put()
        .registry_id(REGISTRY_ID)
        .token_id(TOKEN_ID)
        .body(types::PutTokenInput {
            properties: types::PostTokenProperties {
                expiry_date: None,
                name: "ci-pull".parse().unwrap(),
                scopes: Some(vec![scope("*", &["pull"])]),
                status: Some(types::TokenStatus::Enabled),
            },
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "PUT",
        &format!("/registries/{REGISTRY_ID}/tokens/{TOKEN_ID}"),
        json!({"properties": {
            "name": "ci-pull",
            "status": "enabled",
            "scopes": [{"name": "*", "type": "repository", "actions": ["pull"]}]
        }}),
    );
    assert_eq!(token.status(), 201);
    let props = token.properties.as_ref().unwrap();
    assert_eq!(props.name, "ci-pull");
    assert!(props.expiry_date.is_none());
    let creds = props.credentials.as_ref().unwrap();
    assert_eq!(creds.password.expose_secret(), pull_password);
    let shown = format!("{token:?}");
    assert!(!shown.contains(pull_password), "{shown}");
}

#[tokio::test]
async fn tokens_delete_sends_no_body_and_accepts_204() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 204).await;

    let done = client(&server)
        .registries_tokens_delete()
        .registry_id(REGISTRY_ID)
        .token_id(TOKEN_ID)
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "DELETE",
        &format!("/registries/{REGISTRY_ID}/tokens/{TOKEN_ID}"),
    );
    assert_eq!(done.status(), 204);
}

// ------------------------------------------------------------------ registries

#[tokio::test]
async fn registries_get_sends_filter_limit_and_cursor() {
    let server = MockServer::start_async().await;
    let next_cursor = "eyJzdGFydCI6Im15LXJlZ2lzdHJ5LTIifQ";
    let rec = WIRE.respond_json(
        &server,
        200,
        json!({
            "id": "registries",
            "type": "collection",
            "href": "https://api.ionos.com/containerregistries/registries",
            "items": [registry_json("AVAILABLE", &["Saturday"], "02:30:00")],
            "_links": {
                "self": "https://api.ionos.com/containerregistries/registries?limit=50",
                "previous": "",
                "next": format!("https://api.ionos.com/containerregistries/registries?limit=50&pagination.token={next_cursor}")
            },
            "pagination": {"limit": 50, "token": next_cursor}
        }),
    )
    .await;

    let page = client(&server)
        .registries_get()
        .filter_name("my-registry")
        .limit(50)
        // A cursor with padding: `=` must be percent-encoded in the query.
        .pagination_token("eyJzdGFydCI6Im15LXJlZ2lzdHJ5In0=")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        "/registries?filter.name=my-registry&limit=50&pagination.token=eyJzdGFydCI6Im15LXJlZ2lzdHJ5In0%3D",
    );
    assert_eq!(page.pagination.limit, 50);
    assert_eq!(page.pagination.token, next_cursor);
    assert!(page.links.next.ends_with(next_cursor));
    let items = page.items.as_ref().unwrap();
    assert_eq!(items.len(), 1);
    let props = items[0].properties.as_ref().unwrap();
    assert_eq!(props.name, "my-registry");
    assert_eq!(props.location, "de/fra");
    assert_eq!(
        props.hostname.as_deref(),
        Some("my-registry.cr.de-fra.ionos.com")
    );
}

#[tokio::test]
async fn registries_get_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let page: types::RegistriesResponse = serde_json::from_value(json!({
        "items": [registry_json("AVAILABLE", &["Sunday"], "01:00:00")],
        "_links": {"self": "", "previous": "", "next": ""},
        "pagination": {"limit": 100, "token": ""}
    }))
    .unwrap();
    let mock = server.registries_get(|when, then| {
        when.filter_name(None::<&str>)
            .limit(None::<i32>)
            .pagination_token(None::<&str>)
            .into_inner()
            .header("authorization", BEARER);
        then.ok(&page);
    });

    let got = client(&server).registries_get().send().await.unwrap();

    mock.assert_async().await;
    let items = got.items.as_ref().unwrap();
    assert_eq!(items[0].id.as_deref().unwrap(), REGISTRY_ID);
    let schedule = items[0]
        .properties
        .as_ref()
        .unwrap()
        .garbage_collection_schedule
        .as_ref()
        .unwrap();
    assert_eq!(schedule.days.as_deref().unwrap(), [types::Day::Sunday]);
    assert_eq!(got.pagination.token, "");
}

#[tokio::test]
async fn registries_get_unauthorized_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            401,
            ionos_error(
                401,
                "paas-auth-1",
                "Unauthorized, wrong or no api key provided",
            ),
        )
        .await;

    let err = client(&server).registries_get().send().await.unwrap_err();

    rec.only().await.assert_bodiless("GET", "/registries");
    assert!(err.is_unauthorized());
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(401));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].error_code.as_deref(),
        Some("paas-auth-1")
    );
}

#[tokio::test]
async fn registries_post_sends_name_location_and_schedule() {
    let server = MockServer::start_async().await;
    let mut answer = registry_json("BUSY", &["Saturday"], "02:30:00");
    answer["properties"]["hostname"] = json!("");
    answer["properties"]["storageUsage"] = Value::Null;
    let rec = WIRE.respond_json(&server, 201, answer).await;

    let created = client(&server)
        .registries_post()
        .body(types::PostRegistryInput {
            properties: types::PostRegistryProperties {
                garbage_collection_schedule: Some(types::WeeklySchedule {
                    days: Some(vec![types::Day::Saturday]),
                    time: "02:30:00".into(),
                }),
                location: "de/fra".into(),
                name: "my-registry".parse().unwrap(),
                api_subnet_allow_list: None,
                features: None,
            },
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        "/registries",
        json!({"properties": {
            "name": "my-registry",
            "location": "de/fra",
            "garbageCollectionSchedule": {"days": ["Saturday"], "time": "02:30:00"}
        }}),
    );
    assert_eq!(created.status(), 201);
    assert_eq!(created.id.as_deref().unwrap(), REGISTRY_ID);
    assert_eq!(created.metadata.as_ref().unwrap().state, "BUSY");
    let props = created.properties.as_ref().unwrap();
    assert_eq!(props.hostname.as_deref(), Some(""));
    assert!(props.storage_usage.is_none());
}

#[tokio::test]
async fn registries_post_bad_request_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(
        &server,
        400,
        json!({"httpStatus": 400, "messages": [
            {"errorCode": "400", "message": "properties.location: de/xyz is not a valid location"},
            {"errorCode": "400", "message": "properties.garbageCollectionSchedule.time: invalid time"}
        ]}),
    )
    .await;

    let err = client(&server)
        .registries_post()
        .body_map(|b| {
            b.properties(types::PostRegistryProperties {
                api_subnet_allow_list: None,
                features: None,
                garbage_collection_schedule: None,
                location: "de/xyz".into(),
                name: "my-registry".parse().unwrap(),
            })
        })
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_json(
        "POST",
        "/registries",
        json!({"properties": {"name": "my-registry", "location": "de/xyz"}}),
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(400));
    let messages: Vec<_> = body
        .messages
        .as_ref()
        .unwrap()
        .iter()
        .filter_map(|m| m.message.as_deref())
        .collect();
    assert_eq!(
        messages,
        [
            "properties.location: de/xyz is not a valid location",
            "properties.garbageCollectionSchedule.time: invalid time"
        ]
    );
}

#[tokio::test]
async fn registries_find_by_id_decodes_usage_and_schedule() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            registry_json("AVAILABLE", &["Saturday"], "02:30:00"),
        )
        .await;

    let registry = client(&server)
        .registries_find_by_id()
        .registry_id(REGISTRY_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("/registries/{REGISTRY_ID}"));
    assert_eq!(registry.id.as_deref().unwrap(), REGISTRY_ID);
    assert_eq!(registry.type_.as_deref(), Some("registry"));
    let meta = registry.metadata.as_ref().unwrap();
    assert_eq!(meta.state, "AVAILABLE");
    assert_eq!(
        meta.last_modified_by_user_id.as_deref(),
        Some("7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d")
    );
    let props = registry.properties.as_ref().unwrap();
    let usage = props.storage_usage.as_ref().unwrap();
    assert_eq!(usage.bytes, Some(3_221_225_472));
    assert_eq!(
        serde_json::to_value(usage.updated_at.unwrap()).unwrap(),
        json!("2024-05-20T04:00:00Z")
    );
    let schedule = props.garbage_collection_schedule.as_ref().unwrap();
    assert_eq!(schedule.days.as_deref().unwrap(), [types::Day::Saturday]);
    assert_eq!(schedule.time, "02:30:00");
}

#[tokio::test]
async fn registries_find_by_id_not_found_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let id: &str = REGISTRY_ID;
    let error: types::ApiErrorResponse = serde_json::from_value(ionos_error(
        404,
        "404",
        &format!("registry {REGISTRY_ID} not found"),
    ))
    .unwrap();
    let mock = server.registries_find_by_id(|when, then| {
        when.registry_id(id);
        then.not_found(&error);
    });

    let err = client(&server)
        .registries_find_by_id()
        .registry_id(REGISTRY_ID)
        .send()
        .await
        .unwrap_err();

    mock.assert_async().await;
    assert!(err.is_not_found());
    assert_eq!(
        err.error_body().unwrap().messages.as_ref().unwrap()[0]
            .message
            .as_deref(),
        Some(format!("registry {REGISTRY_ID} not found").as_str())
    );
}

#[tokio::test]
async fn registries_patch_sends_the_new_schedule() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            registry_json("AVAILABLE", &["Tuesday", "Friday"], "03:00:00"),
        )
        .await;

    let registry = client(&server)
        .registries_patch()
        .registry_id(REGISTRY_ID)
        .body(types::PatchRegistryInput {
            api_subnet_allow_list: None,
            features: None,
            garbage_collection_schedule: Some(types::WeeklySchedule {
                days: Some(vec![types::Day::Tuesday, types::Day::Friday]),
                time: "03:00:00".into(),
            }),
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "PATCH",
        &format!("/registries/{REGISTRY_ID}"),
        json!({"garbageCollectionSchedule": {"days": ["Tuesday", "Friday"], "time": "03:00:00"}}),
    );
    let schedule = registry
        .properties
        .as_ref()
        .unwrap()
        .garbage_collection_schedule
        .as_ref()
        .unwrap();
    assert_eq!(
        schedule.days.as_deref().unwrap(),
        [types::Day::Tuesday, types::Day::Friday]
    );
    assert_eq!(schedule.time, "03:00:00");
}

#[tokio::test]
async fn registries_patch_turns_scanning_off_and_lifts_the_allow_list_with_an_empty_list() {
    let server = MockServer::start_async().await;
    let mut answer = registry_json("AVAILABLE", &["Saturday"], "02:30:00");
    answer["properties"]["features"] = json!({"vulnerabilityScanning": {"enabled": false}});
    answer["properties"]["apiSubnetAllowList"] = json!([]);
    let rec = WIRE.respond_json(&server, 200, answer).await;

    let registry = client(&server)
        .registries_patch()
        .registry_id(REGISTRY_ID)
        .body(types::PatchRegistryInput {
            // An empty list (not an absent one) removes every restriction.
            api_subnet_allow_list: Some(vec![]),
            features: Some(types::RegistryFeatures {
                vulnerability_scanning: Some(types::FeatureVulnerabilityScanning {
                    enabled: false,
                    properties: Default::default(),
                }),
            }),
            garbage_collection_schedule: None,
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "PATCH",
        &format!("/registries/{REGISTRY_ID}"),
        json!({"apiSubnetAllowList": [], "features": {"vulnerabilityScanning": {"enabled": false}}}),
    );
    let props = registry.properties.as_ref().unwrap();
    let scanning = props
        .features
        .as_ref()
        .unwrap()
        .vulnerability_scanning
        .as_ref()
        .unwrap();
    assert!(!scanning.enabled);
    assert!(scanning.properties.is_empty());
    assert_eq!(props.api_subnet_allow_list.as_deref(), Some(&[][..]));
}

#[tokio::test]
async fn registries_post_sends_features_and_the_api_allow_list() {
    let server = MockServer::start_async().await;
    let mut answer = registry_json("BUSY", &["Saturday"], "02:30:00");
    answer["properties"]["features"] =
        json!({"vulnerabilityScanning": {"enabled": true, "properties": {"tier": "standard"}}});
    answer["properties"]["apiSubnetAllowList"] = json!(["203.0.113.0/24", "2001:db8::/48"]);
    let rec = WIRE.respond_json(&server, 201, answer).await;

    let created = client(&server)
        .registries_post()
        .body(types::PostRegistryInput {
            properties: types::PostRegistryProperties {
                api_subnet_allow_list: Some(vec!["203.0.113.0/24".into(), "2001:db8::/48".into()]),
                features: Some(types::RegistryFeatures {
                    vulnerability_scanning: Some(types::FeatureVulnerabilityScanning {
                        enabled: true,
                        properties: Default::default(),
                    }),
                }),
                garbage_collection_schedule: None,
                location: "de/fra".into(),
                name: "my-registry".parse().unwrap(),
            },
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        "/registries",
        json!({"properties": {
            "name": "my-registry",
            "location": "de/fra",
            "features": {"vulnerabilityScanning": {"enabled": true}},
            "apiSubnetAllowList": ["203.0.113.0/24", "2001:db8::/48"]
        }}),
    );
    let props = created.properties.as_ref().unwrap();
    let scanning = props
        .features
        .as_ref()
        .unwrap()
        .vulnerability_scanning
        .as_ref()
        .unwrap();
    assert!(scanning.enabled);
    assert_eq!(scanning.properties["tier"], json!("standard"));
    assert_eq!(
        props.api_subnet_allow_list.as_deref().unwrap(),
        ["203.0.113.0/24", "2001:db8::/48"]
    );
}

#[tokio::test]
async fn registries_put_sends_the_full_properties() {
    let server = MockServer::start_async().await;
    let mut answer = registry_json("BUSY", &["Sunday"], "01:00:00");
    answer["properties"]["hostname"] = json!("");
    answer["properties"]["storageUsage"] = Value::Null;
    let rec = WIRE.respond_json(&server, 201, answer).await;

    let registry = client(&server)
        .registries_put()
        .registry_id(REGISTRY_ID)
        .body(types::PutRegistryInput {
            properties: types::PostRegistryProperties {
                garbage_collection_schedule: Some(types::WeeklySchedule {
                    days: Some(vec![types::Day::Sunday]),
                    time: "01:00:00".into(),
                }),
                location: "de/fra".into(),
                name: "my-registry".parse().unwrap(),
                api_subnet_allow_list: None,
                features: None,
            },
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "PUT",
        &format!("/registries/{REGISTRY_ID}"),
        json!({"properties": {
            "name": "my-registry",
            "location": "de/fra",
            "garbageCollectionSchedule": {"days": ["Sunday"], "time": "01:00:00"}
        }}),
    );
    assert_eq!(registry.status(), 201);
    assert_eq!(registry.metadata.as_ref().unwrap().state, "BUSY");
    assert_eq!(registry.properties.as_ref().unwrap().name, "my-registry");
}

#[tokio::test]
async fn registries_delete_sends_no_body_and_accepts_204() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 204).await;

    let done = client(&server)
        .registries_delete()
        .registry_id(REGISTRY_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("DELETE", &format!("/registries/{REGISTRY_ID}"));
    assert_eq!(done.status(), 204);
}

// ------------------------------------------------------------------ repositories

#[tokio::test]
async fn repositories_get_sends_paging_filters_and_order_and_decodes_the_page() {
    let server = MockServer::start_async().await;
    let href = format!("{BASE}/registries/{REGISTRY_ID}/repositories");
    let rec = WIRE
        .respond_json(
            &server,
            200,
            offset_page(
                &href,
                vec![
                    repository_json("my-service"),
                    repository_json("my-service-worker"),
                ],
                100,
                50,
                true,
            ),
        )
        .await;

    let page = client(&server)
        .registries_repositories_get()
        .registry_id(REGISTRY_ID)
        .offset(100)
        .limit(50)
        .filter_name("my-service")
        .filter_vulnerability_severity("CRITICAL")
        .order_by("-lastPush")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        &format!(
            "/registries/{REGISTRY_ID}/repositories?filter.name=my-service\
             &filter.vulnerabilitySeverity=CRITICAL&limit=50&offset=100&orderBy=-lastPush"
        ),
    );
    assert_eq!((page.offset, page.limit), (100, 50));
    assert_eq!(page.type_, "collection");
    assert_eq!(page.href, href);
    assert_eq!(
        page.links.next.as_deref(),
        Some(format!("{href}?offset=150&limit=50").as_str())
    );
    assert_eq!(
        page.links.prev.as_deref(),
        Some(format!("{href}?offset=50&limit=50").as_str())
    );
    let names: Vec<_> = page
        .items
        .iter()
        .map(|r| r.properties.name.as_str())
        .collect();
    assert_eq!(names, ["my-service", "my-service-worker"]);
    let repo = &page.items[0];
    assert_eq!(repo.id, REPOSITORY_ID);
    assert_eq!(repo.type_, "repository");
    let meta = &repo.metadata;
    assert_eq!(
        (meta.artifact_count, meta.pull_count, meta.push_count),
        (12, 3481, 27)
    );
    assert_eq!(meta.last_severity.as_deref(), Some("HIGH"));
    // Timestamps are passed through as the text the service sent.
    assert_eq!(meta.last_pushed_at.as_deref(), Some("2024-06-10T14:03:09Z"));
    assert_eq!(meta.created_by.as_deref(), Some("jane.doe@example.com"));
    assert!(meta.last_modified_date.is_none());
}

#[tokio::test]
async fn repositories_get_bad_request_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            400,
            ionos_error(400, "paas-validation-1", "orderBy: unknown field sizeBytes"),
        )
        .await;

    let err = client(&server)
        .registries_repositories_get()
        .registry_id(REGISTRY_ID)
        .order_by("sizeBytes")
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/repositories?orderBy=sizeBytes"),
    );
    assert!(matches!(err, Error::ErrorResponse(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(400));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].error_code.as_deref(),
        Some("paas-validation-1")
    );
    assert_eq!(
        err.to_string(),
        "400 Bad Request: orderBy: unknown field sizeBytes"
    );
}

#[tokio::test]
async fn repositories_get_stream_walks_two_pages_by_the_next_link() {
    let server = MockServer::start_async().await;
    let href = format!("{BASE}/registries/{REGISTRY_ID}/repositories");
    let rec = WIRE
        .respond_in_turn(
            &server,
            vec![
                offset_page(
                    &href,
                    vec![repository_json("api"), repository_json("api-gateway")],
                    0,
                    2,
                    true,
                ),
                offset_page(&href, vec![repository_json("api-worker")], 2, 2, false),
            ],
        )
        .await;

    let names: Vec<String> = client(&server)
        .registries_repositories_get()
        .registry_id(REGISTRY_ID)
        .limit(2)
        .filter_name("api")
        .stream()
        .map_ok(|r| r.properties.name)
        .try_collect()
        .await
        .unwrap();

    assert_eq!(names, ["api", "api-gateway", "api-worker"]);
    let seen = rec.all(2).await;
    // The offset comes from `_links.next`; the caller's filter and page
    // size are kept, and the link's host is not followed.
    seen[0].assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/repositories?filter.name=api&limit=2"),
    );
    seen[1].assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/repositories?filter.name=api&limit=2&offset=2"),
    );
}

#[tokio::test]
async fn repositories_find_by_name_encodes_the_name_and_decodes_the_repository() {
    let server = MockServer::start_async().await;
    let mut answer = repository_json("team/api");
    answer["metadata"]["lastModifiedDate"] = json!("2024-06-10T14:03:09Z");
    answer["metadata"]["lastModifiedBy"] = json!("ci-push");
    answer["metadata"]["resourceURN"] = json!("ionos:containerregistry:de/fra:team/api");
    let rec = WIRE.respond_json(&server, 200, answer).await;

    let repo = client(&server)
        .registries_repositories_find_by_name()
        .registry_id(REGISTRY_ID)
        .repository_name("team/api")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/repositories/team%2Fapi"),
    );
    assert_eq!(repo.status(), 200);
    assert_eq!(repo.properties.name, "team/api");
    assert_eq!(repo.id, REPOSITORY_ID);
    let meta = &repo.metadata;
    assert_eq!(meta.artifact_count, 12);
    assert_eq!(meta.last_modified_by.as_deref(), Some("ci-push"));
    assert_eq!(
        meta.resource_urn.as_deref(),
        Some("ionos:containerregistry:de/fra:team/api")
    );
    assert_eq!(meta.last_pulled_at.as_deref(), Some("2024-06-11T09:30:00Z"));
}

#[tokio::test]
async fn repositories_find_by_name_not_found_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            404,
            ionos_error(404, "404", "repository my-service not found"),
        )
        .await;

    let err = client(&server)
        .registries_repositories_find_by_name()
        .registry_id(REGISTRY_ID)
        .repository_name("my-service")
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/repositories/my-service"),
    );
    assert!(err.is_not_found());
    assert!(matches!(err, Error::ErrorResponse(_)));
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(404));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].message.as_deref(),
        Some("repository my-service not found")
    );
}

#[tokio::test]
async fn repositories_delete_sends_no_body_and_accepts_204() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 204).await;

    let done = client(&server)
        .registries_repositories_delete()
        .registry_id(REGISTRY_ID)
        .repository_name("web.frontend_v2")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "DELETE",
        &format!("/registries/{REGISTRY_ID}/repositories/web.frontend_v2"),
    );
    assert_eq!(done.status(), 204);
}

#[tokio::test]
async fn repositories_delete_not_found_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            404,
            ionos_error(404, "404", "repository ubuntu not found"),
        )
        .await;

    let err = client(&server)
        .registries_repositories_delete()
        .registry_id(REGISTRY_ID)
        .repository_name("ubuntu")
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless(
        "DELETE",
        &format!("/registries/{REGISTRY_ID}/repositories/ubuntu"),
    );
    assert!(err.is_not_found());
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(404));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].message.as_deref(),
        Some("repository ubuntu not found")
    );
}

// ------------------------------------------------------------------ artifacts

#[tokio::test]
async fn registry_artifacts_get_sends_filter_and_order_and_decodes_the_page() {
    let server = MockServer::start_async().await;
    let href = format!("{BASE}/registries/{REGISTRY_ID}/artifacts");
    let mut unscanned = artifact_json("my-service", OTHER_DIGEST, &["v1.5.0-rc1"]);
    // Not scanned yet: no scan summary; a time without a zone is kept as sent.
    for field in [
        "lastScannedAt",
        "vulnMaxSeverity",
        "vulnTotalScore",
        "vulnTotalCount",
        "vulnFixableCount",
    ] {
        unscanned["metadata"].as_object_mut().unwrap().remove(field);
    }
    unscanned["metadata"]["lastPulledAt"] = Value::Null;
    unscanned["metadata"]["lastPushedAt"] = json!("2024-06-12T07:45:00");
    let rec = WIRE
        .respond_json(
            &server,
            200,
            offset_page(
                &href,
                vec![
                    artifact_json("my-service", DIGEST, &["v1.4.2", "latest"]),
                    unscanned,
                ],
                0,
                2,
                true,
            ),
        )
        .await;

    let page = client(&server)
        .registries_artifacts_get()
        .registry_id(REGISTRY_ID)
        .offset(0)
        .limit(2)
        .filter_vulnerability_id(CVE)
        .order_by("-pullCount")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        &format!(
            "/registries/{REGISTRY_ID}/artifacts?filter.vulnerabilityId={CVE}\
             &limit=2&offset=0&orderBy=-pullCount"
        ),
    );
    assert_eq!((page.offset, page.limit), (0, 2));
    assert!(page.links.prev.is_none());
    assert!(
        page.links
            .next
            .as_deref()
            .unwrap()
            .ends_with("offset=2&limit=2")
    );
    assert_eq!(page.items.len(), 2);
    let scanned = &page.items[0];
    assert_eq!(scanned.id, DIGEST);
    assert_eq!(scanned.properties.digest, DIGEST);
    assert_eq!(scanned.properties.repository_name, "my-service");
    assert_eq!(scanned.properties.tags, ["v1.4.2", "latest"]);
    assert_eq!(
        scanned.properties.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    let meta = &scanned.metadata;
    assert_eq!((meta.push_count, meta.pull_count), (3, 1204));
    assert_eq!(meta.vuln_max_severity.as_deref(), Some("HIGH"));
    assert_eq!(meta.vuln_total_score, Some(19.3));
    assert_eq!(
        (meta.vuln_total_count, meta.vuln_fixable_count),
        (Some(3), Some(2))
    );
    assert_eq!(
        meta.last_scanned_at.as_deref(),
        Some("2024-06-10T14:05:41Z")
    );
    let fresh = &page.items[1].metadata;
    assert_eq!(fresh.last_pushed_at, "2024-06-12T07:45:00");
    assert!(fresh.last_pulled_at.is_none());
    assert!(fresh.last_scanned_at.is_none());
    assert!(fresh.vuln_total_score.is_none());
}

#[tokio::test]
async fn registry_artifacts_get_unauthorized_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            401,
            ionos_error(
                401,
                "paas-auth-1",
                "Unauthorized, wrong or no api key provided",
            ),
        )
        .await;

    let err = client(&server)
        .registries_artifacts_get()
        .registry_id(REGISTRY_ID)
        .send()
        .await
        .unwrap_err();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("/registries/{REGISTRY_ID}/artifacts"));
    assert!(err.is_unauthorized());
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(401));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].error_code.as_deref(),
        Some("paas-auth-1")
    );
}

#[tokio::test]
async fn registry_artifacts_get_stream_walks_two_pages_by_the_next_link() {
    let server = MockServer::start_async().await;
    let href = format!("{BASE}/registries/{REGISTRY_ID}/artifacts");
    let rec = WIRE
        .respond_in_turn(
            &server,
            vec![
                offset_page(
                    &href,
                    vec![artifact_json("my-service", DIGEST, &["latest"])],
                    0,
                    1,
                    true,
                ),
                offset_page(
                    &href,
                    vec![artifact_json("billing", OTHER_DIGEST, &["v2"])],
                    1,
                    1,
                    false,
                ),
            ],
        )
        .await;

    let digests: Vec<String> = client(&server)
        .registries_artifacts_get()
        .registry_id(REGISTRY_ID)
        .limit(1)
        .filter_vulnerability_id(CVE)
        .stream()
        .map_ok(|a| a.id)
        .try_collect()
        .await
        .unwrap();

    assert_eq!(digests, [DIGEST, OTHER_DIGEST]);
    let seen = rec.all(2).await;
    seen[0].assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/artifacts?filter.vulnerabilityId={CVE}&limit=1"),
    );
    seen[1].assert_bodiless(
        "GET",
        &format!(
            "/registries/{REGISTRY_ID}/artifacts?filter.vulnerabilityId={CVE}&limit=1&offset=1"
        ),
    );
}

#[tokio::test]
async fn repository_artifacts_get_sends_paging_and_order_and_decodes_the_page() {
    let server = MockServer::start_async().await;
    let href = format!("{BASE}/registries/{REGISTRY_ID}/repositories/my-service/artifacts");
    let mut untagged = artifact_json("my-service", OTHER_DIGEST, &[]);
    untagged["properties"]["tags"] = Value::Null;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            offset_page(
                &href,
                vec![artifact_json("my-service", DIGEST, &["v1.4.2"]), untagged],
                0,
                100,
                false,
            ),
        )
        .await;

    let page = client(&server)
        .registries_repositories_artifacts_get()
        .registry_id(REGISTRY_ID)
        .repository_name("my-service")
        .limit(100)
        .order_by("pushCount")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        &format!(
            "/registries/{REGISTRY_ID}/repositories/my-service/artifacts?limit=100&orderBy=pushCount"
        ),
    );
    assert_eq!((page.offset, page.limit), (0, 100));
    assert!(page.links.next.is_none());
    assert_eq!(page.items[0].properties.tags, ["v1.4.2"]);
    // An untagged artifact: `tags: null` reads as no tags.
    assert!(page.items[1].properties.tags.is_empty());
    assert_eq!(page.items[1].properties.digest, OTHER_DIGEST);
}

#[tokio::test]
async fn repository_artifacts_get_not_found_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            404,
            ionos_error(404, "404", "repository gone-service not found"),
        )
        .await;

    let err = client(&server)
        .registries_repositories_artifacts_get()
        .registry_id(REGISTRY_ID)
        .repository_name("gone-service")
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/repositories/gone-service/artifacts"),
    );
    assert!(err.is_not_found());
    assert_eq!(
        err.error_body().unwrap().messages.as_ref().unwrap()[0]
            .message
            .as_deref(),
        Some("repository gone-service not found")
    );
}

#[tokio::test]
async fn repository_artifacts_get_stream_walks_two_pages_by_the_next_link() {
    let server = MockServer::start_async().await;
    let href = format!("{BASE}/registries/{REGISTRY_ID}/repositories/team%2Fapi/artifacts");
    let rec = WIRE
        .respond_in_turn(
            &server,
            vec![
                offset_page(
                    &href,
                    vec![
                        artifact_json("team/api", DIGEST, &["latest"]),
                        artifact_json("team/api", OTHER_DIGEST, &["v1"]),
                    ],
                    0,
                    2,
                    true,
                ),
                offset_page(&href, vec![], 2, 2, false),
            ],
        )
        .await;

    let artifacts: Vec<types::ArtifactRead> = client(&server)
        .registries_repositories_artifacts_get()
        .registry_id(REGISTRY_ID)
        .repository_name("team/api")
        .limit(2)
        .order_by("-lastPush")
        .stream()
        .try_collect()
        .await
        .unwrap();

    let tags: Vec<_> = artifacts
        .iter()
        .map(|a| a.properties.tags[0].as_str())
        .collect();
    assert_eq!(tags, ["latest", "v1"]);
    let seen = rec.all(2).await;
    seen[0].assert_bodiless(
        "GET",
        &format!(
            "/registries/{REGISTRY_ID}/repositories/team%2Fapi/artifacts?limit=2&orderBy=-lastPush"
        ),
    );
    seen[1].assert_bodiless(
        "GET",
        &format!(
            "/registries/{REGISTRY_ID}/repositories/team%2Fapi/artifacts\
             ?limit=2&offset=2&orderBy=-lastPush"
        ),
    );
}

#[tokio::test]
async fn artifacts_find_by_digest_sends_the_digest_as_is_and_decodes_the_artifact() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            artifact_json("my-service", DIGEST, &["v1.4.2", "latest"]),
        )
        .await;

    let artifact = client(&server)
        .registries_repositories_artifacts_find_by_digest()
        .registry_id(REGISTRY_ID)
        .repository_name("my-service")
        .digest(DIGEST)
        .send()
        .await
        .unwrap();

    // `:` is a legal path character: the digest is not escaped.
    rec.only().await.assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/repositories/my-service/artifacts/{DIGEST}"),
    );
    assert_eq!(artifact.status(), 200);
    assert_eq!(artifact.id, DIGEST);
    assert_eq!(artifact.type_, "artifact");
    assert_eq!(
        artifact.href,
        format!("{BASE}/registries/{REGISTRY_ID}/repositories/my-service/artifacts/{DIGEST}")
    );
    assert_eq!(artifact.properties.tags, ["v1.4.2", "latest"]);
    let meta = &artifact.metadata;
    assert_eq!(meta.last_pushed_at, "2024-06-10T14:03:09Z");
    assert_eq!(meta.created_date.as_deref(), Some("2024-04-02T08:12:45Z"));
    assert_eq!(meta.vuln_fixable_count, Some(2));
}

#[tokio::test]
async fn artifacts_find_by_digest_not_found_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            404,
            ionos_error(404, "404", &format!("artifact {OTHER_DIGEST} not found")),
        )
        .await;

    let err = client(&server)
        .registries_repositories_artifacts_find_by_digest()
        .registry_id(REGISTRY_ID)
        .repository_name("my-service")
        .digest(OTHER_DIGEST)
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless(
        "GET",
        &format!("/registries/{REGISTRY_ID}/repositories/my-service/artifacts/{OTHER_DIGEST}"),
    );
    assert!(err.is_not_found());
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(404));
    assert_eq!(
        err.to_string(),
        format!("404 Not Found: artifact {OTHER_DIGEST} not found")
    );
}

#[tokio::test]
async fn artifact_vulnerabilities_get_sends_filters_and_decodes_the_page() {
    let server = MockServer::start_async().await;
    let href = format!(
        "{BASE}/registries/{REGISTRY_ID}/repositories/my-service/artifacts/{DIGEST}/vulnerabilities"
    );
    let mut unfixed = vulnerability_json("CVE-2024-24790", "CRITICAL", 9.8);
    unfixed["properties"]["fixable"] = json!(false);
    unfixed["properties"]["references"] = Value::Null;
    unfixed["properties"]
        .as_object_mut()
        .unwrap()
        .remove("recommendations");
    unfixed["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("updatedAt");
    let rec = WIRE
        .respond_json(
            &server,
            200,
            offset_page(
                &href,
                vec![vulnerability_json(CVE, "CRITICAL", 7.5), unfixed],
                0,
                25,
                false,
            ),
        )
        .await;

    let page = client(&server)
        .registries_repositories_artifacts_vulnerabilities_get()
        .registry_id(REGISTRY_ID)
        .repository_name("my-service")
        .digest(DIGEST)
        .offset(0)
        .limit(25)
        .filter_severity("CRITICAL")
        .filter_fixable(true)
        .order_by("-score")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        &format!(
            "/registries/{REGISTRY_ID}/repositories/my-service/artifacts/{DIGEST}/vulnerabilities\
             ?filter.fixable=true&filter.severity=CRITICAL&limit=25&offset=0&orderBy=-score"
        ),
    );
    assert_eq!((page.offset, page.limit), (0, 25));
    let first = &page.items[0];
    assert_eq!(first.id, CVE);
    assert_eq!(first.type_, "vulnerability");
    assert_eq!(first.metadata.published_at, "2023-10-10T14:15:10Z");
    let props = &first.properties;
    assert_eq!(props.score, 7.5);
    assert_eq!(props.severity, "CRITICAL");
    assert!(props.fixable);
    assert_eq!(props.data_source.id.as_deref(), Some("nvd"));
    assert_eq!(props.affects[0].type_, "golang");
    assert_eq!(props.affects[0].name, "golang.org/x/net");
    assert_eq!(props.affects[0].version, "v0.15.0");
    assert_eq!(
        props.references,
        ["https://github.com/advisories/GHSA-qppj-fm5r-hxr3"]
    );
    let second = &page.items[1];
    assert_eq!(second.properties.score, 9.8);
    assert!(!second.properties.fixable);
    assert!(second.properties.references.is_empty());
    assert!(second.properties.recommendations.is_none());
    assert!(second.metadata.updated_at.is_none());
}

#[tokio::test]
async fn artifact_vulnerabilities_get_rate_limited_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            429,
            ionos_error(429, "paas-rate-limit-1", "too many requests, retry later"),
        )
        .await;

    let err = client(&server)
        .registries_repositories_artifacts_vulnerabilities_get()
        .registry_id(REGISTRY_ID)
        .repository_name("my-service")
        .digest(DIGEST)
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless(
        "GET",
        &format!(
            "/registries/{REGISTRY_ID}/repositories/my-service/artifacts/{DIGEST}/vulnerabilities"
        ),
    );
    assert!(err.is_rate_limited());
    assert!(err.is_retryable());
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(429));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].message.as_deref(),
        Some("too many requests, retry later")
    );
}

#[tokio::test]
async fn artifact_vulnerabilities_get_stream_walks_two_pages_by_the_next_link() {
    let server = MockServer::start_async().await;
    let href = format!(
        "{BASE}/registries/{REGISTRY_ID}/repositories/my-service/artifacts/{DIGEST}/vulnerabilities"
    );
    let rec = WIRE
        .respond_in_turn(
            &server,
            vec![
                offset_page(
                    &href,
                    vec![
                        vulnerability_json("CVE-2024-24790", "CRITICAL", 9.8),
                        vulnerability_json(CVE, "HIGH", 7.5),
                    ],
                    0,
                    2,
                    true,
                ),
                offset_page(
                    &href,
                    vec![vulnerability_json("CVE-2023-39325", "HIGH", 7.5)],
                    2,
                    2,
                    false,
                ),
            ],
        )
        .await;

    let ids: Vec<String> = client(&server)
        .registries_repositories_artifacts_vulnerabilities_get()
        .registry_id(REGISTRY_ID)
        .repository_name("my-service")
        .digest(DIGEST)
        .limit(2)
        .filter_fixable(false)
        .stream()
        .map_ok(|v| v.id)
        .try_collect()
        .await
        .unwrap();

    assert_eq!(ids, ["CVE-2024-24790", CVE, "CVE-2023-39325"]);
    let seen = rec.all(2).await;
    let path = format!(
        "/registries/{REGISTRY_ID}/repositories/my-service/artifacts/{DIGEST}/vulnerabilities"
    );
    seen[0].assert_bodiless("GET", &format!("{path}?filter.fixable=false&limit=2"));
    seen[1].assert_bodiless(
        "GET",
        &format!("{path}?filter.fixable=false&limit=2&offset=2"),
    );
}

// ------------------------------------------------------------------ vulnerabilities

#[tokio::test]
async fn vulnerabilities_find_by_id_decodes_the_advisory() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, vulnerability_json(CVE, "HIGH", 7.5))
        .await;

    let vuln = client(&server)
        .vulnerabilities_find_by_id()
        .vulnerability_id(CVE)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("/vulnerabilities/{CVE}"));
    assert_eq!(vuln.status(), 200);
    assert_eq!(vuln.id, CVE);
    assert_eq!(vuln.href, format!("{BASE}/vulnerabilities/{CVE}"));
    assert_eq!(vuln.metadata.published_at, "2023-10-10T14:15:10Z");
    assert_eq!(
        vuln.metadata.updated_at.as_deref(),
        Some("2024-06-27T18:15:14Z")
    );
    let props = &vuln.properties;
    assert_eq!(props.severity, "HIGH");
    assert_eq!(props.score, 7.5);
    assert!(props.fixable);
    assert_eq!(
        props.recommendations.as_deref(),
        Some("Upgrade golang.org/x/net to v0.17.0 or later.")
    );
    assert_eq!(
        props.data_source.url.as_deref(),
        Some(format!("https://nvd.nist.gov/vuln/detail/{CVE}").as_str())
    );
    assert_eq!(props.affects.len(), 1);
    assert!(props.description.starts_with("HTTP/2"));
}

#[tokio::test]
async fn vulnerabilities_find_by_id_not_found_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let error: types::ApiErrorResponse = serde_json::from_value(ionos_error(
        404,
        "404",
        "vulnerability CVE-1999-0000 not found",
    ))
    .unwrap();
    let mock = server.vulnerabilities_find_by_id(|when, then| {
        when.vulnerability_id("CVE-1999-0000")
            .into_inner()
            .header("authorization", BEARER);
        then.not_found(&error);
    });

    let err = client(&server)
        .vulnerabilities_find_by_id()
        .vulnerability_id("CVE-1999-0000")
        .send()
        .await
        .unwrap_err();

    mock.assert_async().await;
    assert!(err.is_not_found());
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(404));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].message.as_deref(),
        Some("vulnerability CVE-1999-0000 not found")
    );
}

// ------------------------------------------------------------------ names

#[tokio::test]
async fn names_check_usage_is_a_bodiless_head() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 200).await;

    let taken = client(&server)
        .names_check_usage()
        .name("my-registry")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("HEAD", "/names/my-registry");
    // 200: the name is valid but already in use.
    assert_eq!(taken.status(), 200);
}

#[tokio::test]
async fn names_check_usage_reports_free_and_malformed_names_by_status() {
    let server = MockServer::start_async().await;
    let free = server.names_check_usage(|when, then| {
        when.name("fresh-name")
            .into_inner()
            .header("authorization", BEARER);
        then.not_found();
    });
    let malformed = server.names_check_usage(|when, then| {
        when.name("9-starts-with-digit");
        then.bad_request();
    });
    let broken = server.names_check_usage(|when, then| {
        when.name("during-outage");
        then.server_error(503);
    });
    let client = client(&server);

    // 404 means the name can be used; it surfaces as a not-found error.
    let err = client
        .names_check_usage()
        .name("fresh-name")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert!(matches!(err, Error::ErrorResponse(_)));

    let err = client
        .names_check_usage()
        .name("9-starts-with-digit")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(err.raw_body().is_none());

    let err = client
        .names_check_usage()
        .name("during-outage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.is_retryable());

    free.assert_async().await;
    malformed.assert_async().await;
    broken.assert_async().await;
}

#[tokio::test]
async fn is_registry_name_available_turns_the_status_into_a_bool() {
    let server = MockServer::start_async().await;
    let free = server.names_check_usage(|when, then| {
        when.name("fresh-name");
        then.not_found();
    });
    let taken = server.names_check_usage(|when, then| {
        when.name("my-registry");
        then.ok();
    });
    let malformed = server.names_check_usage(|when, then| {
        when.name("9-starts-with-digit");
        then.bad_request();
    });
    let client = client(&server);

    assert!(
        client
            .is_registry_name_available("fresh-name")
            .await
            .unwrap()
    );
    assert!(
        !client
            .is_registry_name_available("my-registry")
            .await
            .unwrap()
    );
    let err = client
        .is_registry_name_available("9-starts-with-digit")
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));

    free.assert_async().await;
    taken.assert_async().await;
    malformed.assert_async().await;
}

// ------------------------------------------------------------------ locations

#[tokio::test]
async fn locations_get_decodes_the_location_ids() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!({
                "id": "locations",
                "type": "collection",
                "href": "https://api.ionos.com/containerregistries/locations",
                "items": [{"id": "de/fra"}, {"id": "de/txl"}, {"id": "es/vit"}]
            }),
        )
        .await;

    let locations = client(&server).locations_get().send().await.unwrap();

    rec.only().await.assert_bodiless("GET", "/locations");
    let ids: Vec<_> = locations
        .items
        .as_ref()
        .unwrap()
        .iter()
        .map(|l| l.id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["de/fra", "de/txl", "es/vit"]);
    assert_eq!(locations.type_.as_deref(), Some("collection"));
}

#[tokio::test]
async fn locations_get_server_error_decodes_the_ionos_error() {
    let server = MockServer::start_async().await;
    let error: types::ApiErrorResponse =
        serde_json::from_value(ionos_error(503, "503", "service temporarily unavailable")).unwrap();
    let mock = server.locations_get(|when, then| {
        when.into_inner().header("authorization", BEARER);
        then.server_error(503, &error);
    });

    let err = client(&server).locations_get().send().await.unwrap_err();

    mock.assert_async().await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.is_retryable());
    let body = err.error_body().unwrap();
    assert_eq!(body.http_status, Some(503));
    assert_eq!(
        body.messages.as_ref().unwrap()[0].error_code.as_deref(),
        Some("503")
    );
}

// ------------------------------------------------------------------ credentials

const BASIC_USER: &str = "jane.doe@example.com";
const BASIC_PASSWORD: &str = "s3cr3t-Pa55";
/// `Basic ` + base64("jane.doe@example.com:s3cr3t-Pa55").
const BASIC_HEADER: &str = "Basic amFuZS5kb2VAZXhhbXBsZS5jb206czNjcjN0LVBhNTU=";

#[tokio::test]
async fn basic_credentials_send_base64_user_and_password() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, json!({"items": [{"id": "de/fra"}]}))
        .await;

    let credentials = Credentials::basic(BASIC_USER, BASIC_PASSWORD).unwrap();
    let shown = format!("{credentials:?}");
    assert!(!shown.contains(BASIC_PASSWORD), "{shown}");
    let client = client_with(&server, credentials);
    let locations = client.locations_get().send().await.unwrap();

    let seen = rec.only().await;
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.uri, "/locations");
    assert_eq!(seen.authorization.as_deref(), Some(BASIC_HEADER));
    assert_eq!(locations.items.as_ref().unwrap().len(), 1);
}

#[tokio::test]
async fn credentials_from_lookup_pick_bearer_or_basic() {
    let provider = &regkit_ionos::PROVIDER;
    let cases = [
        (
            lookup(&[("IONOS_TOKEN", "env-token-123")]),
            "Bearer env-token-123".to_owned(),
        ),
        (
            lookup(&[
                ("IONOS_USERNAME", BASIC_USER),
                ("IONOS_PASSWORD", BASIC_PASSWORD),
            ]),
            BASIC_HEADER.to_owned(),
        ),
        // Both schemes configured: the token wins (manifest order).
        (
            lookup(&[
                ("IONOS_USERNAME", BASIC_USER),
                ("IONOS_PASSWORD", BASIC_PASSWORD),
                ("IONOS_TOKEN", "env-token-123"),
            ]),
            "Bearer env-token-123".to_owned(),
        ),
        // A blank token does not count; Basic is used instead.
        (
            lookup(&[
                ("IONOS_TOKEN", "   "),
                ("IONOS_USERNAME", BASIC_USER),
                ("IONOS_PASSWORD", BASIC_PASSWORD),
            ]),
            BASIC_HEADER.to_owned(),
        ),
    ];
    for (vars, expected) in cases {
        let server = MockServer::start_async().await;
        let rec = WIRE.respond_empty(&server, 204).await;
        let credentials = Credentials::from_lookup(provider, vars).unwrap();
        client_with(&server, credentials)
            .registries_delete()
            .registry_id(REGISTRY_ID)
            .send()
            .await
            .unwrap();
        let seen = rec.only().await;
        assert_eq!(seen.method, "DELETE");
        assert_eq!(seen.uri, format!("/registries/{REGISTRY_ID}"));
        assert_eq!(seen.authorization.as_deref(), Some(expected.as_str()));
    }
}

#[test]
fn missing_credentials_name_the_ionos_variables() {
    let provider = &regkit_ionos::PROVIDER;

    let err = Credentials::from_lookup(provider, lookup(&[])).unwrap_err();
    assert!(
        matches!(err, ConfigError::MissingCredentials { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("IONOS"), "{msg}");
    for var in ["IONOS_TOKEN", "IONOS_USERNAME", "IONOS_PASSWORD"] {
        assert!(msg.contains(var), "{msg}");
    }

    // Half of the Basic pair is an error that says what is missing.
    let err =
        Credentials::from_lookup(provider, lookup(&[("IONOS_USERNAME", BASIC_USER)])).unwrap_err();
    assert!(
        matches!(err, ConfigError::MissingCredentials { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("IONOS_PASSWORD"), "{msg}");

    // Likewise with only the password, which the message must not echo.
    let err = Credentials::from_lookup(provider, lookup(&[("IONOS_PASSWORD", BASIC_PASSWORD)]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("IONOS_USERNAME"), "{err}");
    assert!(!err.contains(BASIC_PASSWORD), "{err}");
}
