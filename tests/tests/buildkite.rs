//! The Buildkite Package Registries client, one test (at least) per
//! operation: the exact method, path, query, JSON body and bearer token that
//! reach the server, typed decoding of a realistic answer, Buildkite's
//! `{message, errors}` error body, a non-JSON 502 from a proxy, the three
//! shapes of `oidc_policy` (YAML text, statements, null) in both
//! directions, the registry token secret that never shows in `Debug`, and
//! the hand-written multipart `publish_package`.

use regkit_tests::Wire;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use regkit_buildkite::mock::MockServerExt;
use regkit_buildkite::{Client, Error, PackageFile, types};
use regkit_core::{Credentials, RetryPolicy};
use serde_json::{Value, json};

const TOKEN: &str = "bkua_6d1f0c9e4b7a2f5d8c3e1a0b9f7d6c5e4b3a2f1d";
const BEARER: &str = "Bearer bkua_6d1f0c9e4b7a2f5d8c3e1a0b9f7d6c5e4b3a2f1d";
const REGISTRY_ID: &str = "0191df84-85e4-77aa-83ba-6579084728eb";
const ORG_ID: &str = "0190e784-eeb7-4ce4-9d2d-87f7aba85433";
const PACKAGE_ID: &str = "0191e23a-4bc8-7683-bfa4-5f73bc9b7c44";
const TOKEN_ID: &str = "0191b6a2-aa51-70d0-8a5f-aabce115b0fd";
const TEAM_ID: &str = "2a1ac413-a56c-4aaa-aede-dc49bb46d00f";
/// The registry token secret, returned by `create_registry_token` only.
const REGISTRY_SECRET: &str = "bkpt_8e2c4a6f1b3d5e7a9c0b2d4f6e8a1c3b5d7f9e0a";
const YAML_POLICY: &str = "- iss: https://agent.buildkite.com\n  claims:\n    organization_slug: acme\n    pipeline_slug:\n      in: [gem-release]\n";

const REGISTRIES: &str = "/v2/packages/organizations/acme/registries";
const REGISTRY: &str = "/v2/packages/organizations/acme/registries/my-registry";

fn client(server: &MockServer) -> Client {
    client_with_retry(server, RetryPolicy::none())
}

fn client_with_retry(server: &MockServer, retry: RetryPolicy) -> Client {
    regkit_tests::client_with_retry(server, Credentials::bearer(TOKEN).unwrap(), retry)
}

// ------------------------------------------------------------------ recorder

/// Requests are recorded by the shared harness and checked against this
/// provider's token.
const WIRE: Wire = Wire { auth: BEARER };

// ------------------------------------------------------------------ fixtures

/// A string scalar in an OIDC claim rule.
fn text(value: &str) -> types::OidcScalar {
    types::OidcScalar::String(value.into())
}

/// The texts of string scalars, in order (panics on any other kind).
fn texts(values: &[types::OidcScalar]) -> Vec<&str> {
    values
        .iter()
        .map(|v| match v {
            types::OidcScalar::String(s) => s.as_str(),
            other => panic!("expected a string scalar, got {other:?}"),
        })
        .collect()
}

/// The policy as a list of statements, as JSON.
fn statements_json() -> Value {
    json!([{
        "iss": "https://agent.buildkite.com",
        "claims": {
            "organization_slug": "acme",
            "pipeline_slug": {"in": ["gem-release", "gem-nightly"]},
            "build_branch": {"equals": "main"}
        },
        "scopes": ["write_packages"]
    }])
}

/// The same policy, typed.
fn statements() -> types::OidcPolicy {
    let claims = HashMap::from([
        (
            "organization_slug".to_owned(),
            types::OidcClaimCondition::Scalar(text("acme")),
        ),
        (
            "pipeline_slug".to_owned(),
            types::OidcClaimRule {
                in_: vec![text("gem-release"), text("gem-nightly")],
                ..Default::default()
            }
            .into(),
        ),
        (
            "build_branch".to_owned(),
            types::OidcClaimRule {
                equals: Some(text("main")),
                ..Default::default()
            }
            .into(),
        ),
    ]);
    types::OidcPolicy::Array(vec![types::OidcStatement {
        claims,
        iss: "https://agent.buildkite.com".into(),
        scopes: vec!["write_packages".into()],
    }])
}

/// Checks a decoded policy is the one from [`statements_json`].
fn assert_statements(policy: Option<&types::OidcPolicy>) {
    let Some(types::OidcPolicy::Array(list)) = policy else {
        panic!("expected policy statements, got {policy:?}");
    };
    assert_eq!(list.len(), 1);
    let statement = &list[0];
    assert_eq!(statement.iss, "https://agent.buildkite.com");
    assert_eq!(statement.scopes, ["write_packages"]);
    assert!(matches!(
        &statement.claims["organization_slug"],
        types::OidcClaimCondition::Scalar(types::OidcScalar::String(s)) if s == "acme"
    ));
    let types::OidcClaimCondition::ClaimRule(rule) = &statement.claims["pipeline_slug"] else {
        panic!("pipeline_slug should be a rule");
    };
    assert_eq!(texts(&rule.in_), ["gem-release", "gem-nightly"]);
    assert!(rule.equals.is_none() && rule.not_in.is_empty() && rule.matches.is_none());
    let types::OidcClaimCondition::ClaimRule(rule) = &statement.claims["build_branch"] else {
        panic!("build_branch should be a rule");
    };
    assert!(matches!(&rule.equals, Some(types::OidcScalar::String(s)) if s == "main"));
}

/// A registry as Buildkite returns it, with this policy; description,
/// emoji and colour are set or null together.
fn registry_json(oidc_policy: Value, decorated: bool) -> Value {
    let (description, emoji, color) = if decorated {
        (
            json!("Internal Ruby gems"),
            json!(":gem:"),
            json!("#f0ccff"),
        )
    } else {
        (Value::Null, Value::Null, Value::Null)
    };
    json!({
        "id": REGISTRY_ID,
        "graphql_id": "UmVnaXN0cnktLS0wMTkxZGY4NC04NWU0LTc3YWEtODNiYS02NTc5MDg0NzI4ZWI=",
        "slug": "my-registry",
        "url": format!("https://api.buildkite.com{REGISTRY}"),
        "web_url": "https://buildkite.com/organizations/acme/registries/my-registry",
        "name": "my registry",
        "ecosystem": "ruby",
        "description": description,
        "emoji": emoji,
        "color": color,
        "public": false,
        "oidc_policy": oidc_policy,
        "team_ids": [TEAM_ID]
    })
}

fn organization_json() -> Value {
    json!({
        "id": ORG_ID,
        "slug": "acme",
        "url": "https://api.buildkite.com/v2/organizations/acme",
        "web_url": "https://buildkite.com/acme"
    })
}

fn registry_summary_json(slug: &str) -> Value {
    json!({
        "id": REGISTRY_ID,
        "graphql_id": "UmVnaXN0cnktLS0wMTkxZGY4NC04NWU0LTc3YWEtODNiYS02NTc5MDg0NzI4ZWI=",
        "slug": slug,
        "url": format!("https://api.buildkite.com/v2/packages/organizations/acme/registries/{slug}"),
        "web_url": format!("https://buildkite.com/organizations/acme/packages/registries/{slug}")
    })
}

fn package_json(registry: &str) -> Value {
    json!({
        "id": PACKAGE_ID,
        "url": format!("https://api.buildkite.com/v2/packages/organizations/acme/registries/{registry}/packages/{PACKAGE_ID}"),
        "web_url": format!("https://buildkite.com/organizations/acme/packages/registries/{registry}/packages/{PACKAGE_ID}"),
        "name": "banana",
        "version": "1.0.0",
        "variant": null,
        "metadata": {"platform": "ruby"},
        "digests": {
            "sha256": "2875cc31636d4c4685ec7ac7f06c1fd5a308de168fc7928cddd4a3f87e50af77",
            "sha512": "4a5d2390b6402114f17e8f9819db710f515603b6c366422cbb8fa68c474edf1e0d23288f56247ab5afd172785d6174d9876a603ba62e13450cabd565e4c3a30f"
        },
        "organization": organization_json(),
        "registry": registry_summary_json(registry)
    })
}

fn assert_package(package: &types::Package, registry: &str) {
    assert_eq!(package.id, PACKAGE_ID);
    assert_eq!(package.name, "banana");
    assert_eq!(package.version.as_deref(), Some("1.0.0"));
    assert!(package.variant.is_none());
    assert_eq!(package.metadata["platform"], "ruby");
    let digests = package.digests.as_ref().unwrap();
    assert!(digests.sha256.starts_with("2875cc31"));
    assert_eq!(digests.sha512.len(), 128);
    assert_eq!(package.organization.id, ORG_ID);
    assert_eq!(package.organization.slug, "acme");
    assert_eq!(package.registry.slug, registry);
    assert!(package.url.ends_with(&format!("/packages/{PACKAGE_ID}")));
}

/// A registry token; `token` is only in the create response.
fn token_json(description: &str, secret: Option<&str>) -> Value {
    let mut token = json!({
        "id": TOKEN_ID,
        "graphql_id": "UmVnaXN0cnlUb2tlbi0tLTAxOTFiNmEyLWFhNTEtNzBkMC04YTVmLWFhYmNlMTE1YjBmZA==",
        "description": description,
        "url": format!("https://api.buildkite.com{REGISTRY}/tokens/{TOKEN_ID}"),
        "created_at": "2024-09-03T06:46:39.441Z",
        "created_by": {
            "id": "0191b13b-0eb6-470d-a4c0-2085974f3580",
            "graphql_id": "VXNlci0tLTAxOTFiMTNiLTBlYjYtNDcwZC1hNGMwLTIwODU5NzRmMzU4MA==",
            "name": "Dana Whitfield",
            "email": "dana@acme.example",
            "avatar_url": null,
            "created_at": "2024-09-02T05:35:23.318Z"
        },
        "organization": organization_json(),
        "registry": registry_summary_json("my-registry")
    });
    if let Some(secret) = secret {
        token["token"] = json!(secret);
    }
    token
}

fn assert_token(token: &types::RegistryToken, description: &str) {
    assert_eq!(token.id, TOKEN_ID);
    assert_eq!(token.description, description);
    assert_eq!(
        serde_json::to_value(token.created_at).unwrap(),
        json!("2024-09-03T06:46:39.441Z")
    );
    assert_eq!(token.created_by.name, "Dana Whitfield");
    assert!(token.created_by.avatar_url.is_none());
    assert_eq!(token.organization.slug, "acme");
    assert_eq!(token.registry.id, REGISTRY_ID);
}

fn buildkite_error(message: &str, errors: &[&str]) -> Value {
    json!({"message": message, "errors": errors})
}

/// The texts of validation problems given as plain strings (panics on a
/// `{field, code}` entry).
fn error_texts(errors: &[types::ErrorDetail]) -> Vec<&str> {
    errors
        .iter()
        .map(|e| match e {
            types::ErrorDetail::String(s) => s.as_str(),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

// ------------------------------------------------------------------ registries

#[tokio::test]
async fn create_registry_sends_the_settings_and_a_statement_policy() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(statements_json(), true))
        .await;

    let registry = client(&server)
        .create_registry()
        .org_slug("acme")
        .body(types::RegistryCreate {
            name: "my registry".into(),
            ecosystem: "ruby".into(),
            description: Some("Internal Ruby gems".into()),
            emoji: Some(":gem:".into()),
            color: Some("#f0ccff".into()),
            team_ids: vec![TEAM_ID.into()],
            oidc_policy: Some(statements()),
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        REGISTRIES,
        json!({
            "name": "my registry",
            "ecosystem": "ruby",
            "description": "Internal Ruby gems",
            "emoji": ":gem:",
            "color": "#f0ccff",
            "team_ids": [TEAM_ID],
            "oidc_policy": statements_json()
        }),
    );
    assert_eq!(registry.status(), 200);
    assert_eq!(registry.id, REGISTRY_ID);
    assert_eq!(registry.slug, "my-registry");
    assert_eq!(registry.ecosystem, "ruby");
    assert_eq!(registry.description.as_deref(), Some("Internal Ruby gems"));
    assert_eq!(registry.emoji.as_deref(), Some(":gem:"));
    assert_eq!(registry.color.as_deref(), Some("#f0ccff"));
    assert!(!registry.public);
    assert_eq!(registry.team_ids[0], TEAM_ID);
    assert_statements(registry.oidc_policy.as_ref());
}

#[tokio::test]
async fn create_registry_sends_a_yaml_policy_as_a_string() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(json!(YAML_POLICY), false))
        .await;

    let registry = client(&server)
        .create_registry()
        .org_slug("acme")
        .body_map(|b| {
            b.name("my registry")
                .ecosystem("ruby")
                .oidc_policy(Some(types::OidcPolicy::String(YAML_POLICY.into())))
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        REGISTRIES,
        json!({"name": "my registry", "ecosystem": "ruby", "oidc_policy": YAML_POLICY}),
    );
    assert!(matches!(
        &registry.oidc_policy,
        Some(types::OidcPolicy::String(yaml)) if yaml == YAML_POLICY
    ));
    assert!(registry.description.is_none());
}

#[tokio::test]
async fn create_registry_without_a_policy_sends_no_nulls_and_decodes_nulls() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(Value::Null, false))
        .await;

    let registry = client(&server)
        .create_registry()
        .org_slug("acme")
        .body_map(|b| b.name("my registry").ecosystem("ruby"))
        .send()
        .await
        .unwrap();

    // A policy of None is left out, which Buildkite treats as null (no
    // policy, its default); unset optional fields are not sent either.
    rec.only().await.assert_json(
        "POST",
        REGISTRIES,
        json!({"name": "my registry", "ecosystem": "ruby"}),
    );
    assert!(registry.oidc_policy.is_none());
    assert!(registry.description.is_none());
    assert!(registry.emoji.is_none());
    assert!(registry.color.is_none());
}

#[tokio::test]
async fn create_registry_validation_failure_decodes_message_and_errors() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            422,
            buildkite_error(
                "Validation Failed",
                &["Name has already been taken", "Ecosystem is not supported"],
            ),
        )
        .await;

    let err = client(&server)
        .create_registry()
        .org_slug("acme")
        .body_map(|b| b.name("my registry").ecosystem("cobol"))
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_json(
        "POST",
        REGISTRIES,
        json!({"name": "my registry", "ecosystem": "cobol"}),
    );
    assert!(matches!(err, Error::ErrorResponse(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(422));
    let body = err.error_body().expect("typed Buildkite error body");
    assert_eq!(body.message, "Validation Failed");
    assert_eq!(
        error_texts(&body.errors),
        ["Name has already been taken", "Ecosystem is not supported"]
    );
    assert!(body.scope.is_none() && body.reset.is_none());
    assert!(err.raw_body().is_none());
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("Validation Failed"), "{err}");
}

#[tokio::test]
async fn list_registries_sends_page_and_per_page_and_decodes_every_policy_shape() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!([
                registry_json(Value::Null, false),
                registry_json(json!(YAML_POLICY), true),
                registry_json(statements_json(), true),
            ]),
        )
        .await;

    let registries = client(&server)
        .list_registries()
        .org_slug("acme")
        .page(2)
        .per_page(3)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REGISTRIES}?page=2&per_page=3"));
    assert_eq!(registries.len(), 3);
    assert!(registries[0].oidc_policy.is_none());
    assert!(registries[0].emoji.is_none() && registries[0].color.is_none());
    assert!(matches!(
        &registries[1].oidc_policy,
        Some(types::OidcPolicy::String(yaml)) if yaml == YAML_POLICY
    ));
    assert_statements(registries[2].oidc_policy.as_ref());
    assert_eq!(registries[2].emoji.as_deref(), Some(":gem:"));
}

#[tokio::test]
async fn list_registries_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let registries: Vec<types::Registry> =
        serde_json::from_value(json!([registry_json(Value::Null, true)])).unwrap();
    let mock = server.list_registries(|when, then| {
        when.org_slug("acme")
            .page(None)
            .per_page(None)
            .into_inner()
            .header("authorization", BEARER);
        then.ok(&registries);
    });

    let got = client(&server)
        .list_registries()
        .org_slug("acme")
        .send()
        .await
        .unwrap();

    mock.assert_async().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name, "my registry");
    assert_eq!(got[0].team_ids.len(), 1);
}

#[tokio::test]
async fn get_registry_decodes_nulls_and_missing_team_ids() {
    let server = MockServer::start_async().await;
    let mut body = registry_json(Value::Null, false);
    body.as_object_mut().unwrap().remove("team_ids");
    let rec = WIRE.respond_json(&server, 200, body).await;

    let registry = client(&server)
        .get_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless("GET", REGISTRY);
    assert_eq!(registry.name, "my registry");
    assert!(registry.description.is_none());
    assert!(registry.emoji.is_none());
    assert!(registry.color.is_none());
    assert!(registry.oidc_policy.is_none());
    assert!(registry.team_ids.is_empty());
    assert_eq!(
        registry.web_url,
        "https://buildkite.com/organizations/acme/registries/my-registry"
    );
}

#[tokio::test]
async fn get_registry_not_found_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let error = types::Error {
        message: "No registry found".into(),
        errors: Vec::new(),
        scope: None,
        limit: None,
        current: None,
        reset: None,
    };
    let mock = server.get_registry(|when, then| {
        when.org_slug("acme").registry_slug("gone");
        then.not_found(&error);
    });

    let err = client(&server)
        .get_registry()
        .org_slug("acme")
        .registry_slug("gone")
        .send()
        .await
        .unwrap_err();

    mock.assert_async().await;
    assert!(err.is_not_found());
    let body = err.error_body().unwrap();
    assert_eq!(body.message, "No registry found");
    assert!(body.errors.is_empty());
}

#[tokio::test]
async fn update_registry_is_a_post_with_a_yaml_policy() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(json!(YAML_POLICY), true))
        .await;

    let registry = client(&server)
        .update_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .body(types::RegistryUpdate {
            name: Some("ruby gems".into()),
            description: Some("Gems shared across all Ruby services".into()),
            oidc_policy: Some(types::OidcPolicy::String(YAML_POLICY.into()).into()),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();

    // POST, not PATCH, on the registry's own path; only the changed fields.
    rec.only().await.assert_json(
        "POST",
        REGISTRY,
        json!({
            "name": "ruby gems",
            "description": "Gems shared across all Ruby services",
            "oidc_policy": YAML_POLICY
        }),
    );
    assert!(matches!(
        &registry.oidc_policy,
        Some(types::OidcPolicy::String(yaml)) if yaml == YAML_POLICY
    ));
}

#[tokio::test]
async fn update_registry_replaces_the_policy_with_statements() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(statements_json(), false))
        .await;

    let registry = client(&server)
        .update_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .body(types::RegistryUpdate {
            emoji: Some(":gem:".into()),
            color: Some("#f0ccff".into()),
            oidc_policy: Some(statements().into()),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        REGISTRY,
        json!({"emoji": ":gem:", "color": "#f0ccff", "oidc_policy": statements_json()}),
    );
    assert_statements(registry.oidc_policy.as_ref());
    assert!(registry.emoji.is_none(), "the answer's null emoji decodes");
}

#[tokio::test]
async fn update_registry_clears_the_description_and_policy_with_explicit_nulls() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(Value::Null, false))
        .await;

    let registry = client(&server)
        .update_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .body(types::RegistryUpdate {
            description: Some(regkit_core::Nullable::Null),
            oidc_policy: Some(regkit_core::Nullable::Null),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();

    // `null` clears; a field left out (`None`) keeps its value.
    rec.only().await.assert_json(
        "POST",
        REGISTRY,
        json!({"description": null, "oidc_policy": null}),
    );
    assert!(registry.oidc_policy.is_none());
}

#[tokio::test]
async fn update_registry_with_nothing_set_sends_an_empty_object() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(Value::Null, false))
        .await;

    let registry = client(&server)
        .update_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .body(types::RegistryUpdate::default())
        .send()
        .await
        .unwrap();

    // None means "leave unchanged": the field is left out, not sent as null.
    rec.only().await.assert_json("POST", REGISTRY, json!({}));
    assert!(registry.oidc_policy.is_none());
}

#[tokio::test]
async fn delete_registry_accepts_200_without_a_body() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 200).await;

    let deleted = client(&server)
        .delete_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless("DELETE", REGISTRY);
    assert_eq!(deleted.status(), 200);
}

#[tokio::test]
async fn rate_limited_answer_decodes_scope_limit_current_and_reset() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(
        &server,
        429,
        json!({
            "message": "You have exceeded your API rate limit. Please wait 17 seconds before making more requests.",
            "scope": "rest_user",
            "limit": 50,
            "current": 53,
            "reset": 17
        }),
    )
    .await;

    let err = client(&server)
        .delete_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_bodiless("DELETE", REGISTRY);
    assert!(err.is_rate_limited());
    assert!(err.is_retryable());
    let body = err.error_body().unwrap();
    assert_eq!(body.scope.as_deref(), Some("rest_user"));
    assert_eq!(
        (body.limit, body.current, body.reset),
        (Some(50), Some(53), Some(17))
    );
    assert!(body.message.starts_with("You have exceeded"));
}

// ------------------------------------------------------------------ packages

#[tokio::test]
async fn list_packages_sends_filter_and_cursors_and_decodes_the_page() {
    let server = MockServer::start_async().await;
    let next =
        format!("https://api.buildkite.com{REGISTRY}/packages?after=MDE5MTc4YzItNmIwOA&per_page=1");
    let rec = WIRE.respond_json(
        &server,
        200,
        json!({
            "items": [{
                "id": "019178c2-6b08-7d66-a1db-b79b8ba83151",
                "url": format!("https://api.buildkite.com{REGISTRY}/packages/019178c2-6b08-7d66-a1db-b79b8ba83151"),
                "web_url": "https://buildkite.com/organizations/acme/packages/registries/my-registry/packages/019178c2-6b08-7d66-a1db-b79b8ba83151",
                "name": "grapes",
                "created_at": "2024-08-21T06:24:53Z",
                "version": "2.8.3",
                "digests": {
                    "sha256": "6feb7d25131baf2a6277967e16bd8b1a26ed13cb080222a910dacbaf1120ef55",
                    "sha512": "12fa9f6c57f2912c1991687b95da046dcaa8be84e490309b414ac28186b3da0d29271c810748123d9dc794db3daa6ca01357d735e513cb27ef14eaa7ad77d30a"
                }
            }],
            "links": {
                "self": format!("https://api.buildkite.com{REGISTRY}/packages?per_page=1"),
                "first": format!("https://api.buildkite.com{REGISTRY}/packages?per_page=1"),
                "next": next
            }
        }),
    )
    .await;

    let page = client(&server)
        .list_packages()
        .org_slug("acme")
        .registry_slug("my-registry")
        .name("grapes")
        .per_page(1)
        .before("MDE5MTc4YzItAAAA")
        .after("MDE5MTc4YzItNmIwOA")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "GET",
        &format!(
            "{REGISTRY}/packages?after=MDE5MTc4YzItNmIwOA&before=MDE5MTc4YzItAAAA&name=grapes&per_page=1"
        ),
    );
    assert_eq!(page.items.len(), 1);
    let item = &page.items[0];
    assert_eq!(item.name, "grapes");
    assert_eq!(item.version, "2.8.3");
    assert_eq!(
        serde_json::to_value(item.created_at).unwrap(),
        json!("2024-08-21T06:24:53Z")
    );
    assert!(
        item.digests
            .as_ref()
            .unwrap()
            .sha256
            .starts_with("6feb7d25")
    );
    assert_eq!(page.links.next.as_deref(), Some(next.as_str()));
    assert!(page.links.prev.is_none());
    assert!(page.links.self_.ends_with("per_page=1"));
}

#[tokio::test]
async fn list_packages_without_filters_sends_no_query() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(
        &server,
        200,
        json!({"items": [], "links": {"self": format!("https://api.buildkite.com{REGISTRY}/packages")}}),
    )
    .await;

    let page = client(&server)
        .list_packages()
        .org_slug("acme")
        .registry_slug("my-registry")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REGISTRY}/packages"));
    assert!(page.items.is_empty());
    assert!(page.links.next.is_none());
}

#[tokio::test]
async fn get_package_decodes_digests_owner_and_nullable_variant() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, package_json("my-registry"))
        .await;

    let package = client(&server)
        .get_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .package_id(PACKAGE_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REGISTRY}/packages/{PACKAGE_ID}"));
    assert_package(&package, "my-registry");
}

#[tokio::test]
async fn delete_package_accepts_200_without_a_body() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 200).await;

    let deleted = client(&server)
        .delete_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .package_id(PACKAGE_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("DELETE", &format!("{REGISTRY}/packages/{PACKAGE_ID}"));
    assert_eq!(deleted.status(), 200);
}

#[tokio::test]
async fn copy_package_names_the_target_in_the_query_and_sends_no_body() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, package_json("ruby-production"))
        .await;

    let copy = client(&server)
        .copy_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .package_id(PACKAGE_ID)
        .to("ruby-production")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless(
        "POST",
        &format!("{REGISTRY}/packages/{PACKAGE_ID}/copy?to=ruby-production"),
    );
    assert_package(&copy, "ruby-production");
}

#[tokio::test]
async fn create_package_upload_is_a_bodiless_post_and_decodes_the_form() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(
        &server,
        200,
        json!({
            "uri": "s3://buildkite-packages-uploads/acme/my-registry/0191e23f-76c0-7a31-9c52-f2c1f9bc1d2a",
            "form": {
                "file_input": "file",
                "method": "POST",
                "url": "https://buildkite-packages-uploads.s3.amazonaws.com",
                "data": {
                    "key": "acme/my-registry/0191e23f-76c0-7a31-9c52-f2c1f9bc1d2a/${filename}",
                    "acl": "private",
                    "x-amz-algorithm": "AWS4-HMAC-SHA256"
                }
            }
        }),
    )
    .await;

    let upload = client(&server)
        .create_package_upload()
        .org_slug("acme")
        .registry_slug("my-registry")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("POST", &format!("{REGISTRY}/packages/upload"));
    assert!(upload.uri.starts_with("s3://buildkite-packages-uploads/"));
    assert_eq!(upload.form.file_input, "file");
    assert_eq!(upload.form.method, "POST");
    assert_eq!(
        upload.form.url,
        "https://buildkite-packages-uploads.s3.amazonaws.com"
    );
    assert_eq!(upload.form.data.len(), 3);
    assert!(upload.form.data["key"].ends_with("/${filename}"));
    assert_eq!(upload.form.data["acl"], "private");
}

// ------------------------------------------------------------------ publish_package

/// The package file of the publish tests; not valid UTF-8 on purpose.
fn gem_bytes() -> Vec<u8> {
    let mut bytes = b"GEMDATA-banana-1.0.0\x00".to_vec();
    bytes.extend([0xff, 0xfe, 0x00, 0x80, b'\r', b'\n', b'-', b'-']);
    bytes
}

/// The boundary from a `multipart/form-data; boundary=…` content type.
fn boundary(content_type: &str) -> &str {
    content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not a multipart content type: {content_type}"))
}

#[tokio::test]
async fn publish_package_uploads_the_file_part_with_its_name() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("{REGISTRY}/packages"))
                .header("authorization", BEARER)
                .header_includes("content-type", "multipart/form-data; boundary=")
                .body_includes(
                    "Content-Disposition: form-data; name=\"file\"; filename=\"banana-1.0.0.gem\"",
                )
                .body_includes("Content-Type: application/octet-stream")
                .body_includes("GEMDATA-banana-1.0.0");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(package_json("my-registry"));
        })
        .await;

    let package = client(&server)
        .publish_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .file(PackageFile::new("banana-1.0.0.gem", gem_bytes()))
        .send()
        .await
        .unwrap();

    mock.assert_calls_async(1).await;
    assert_eq!(package.status(), 200);
    assert_package(&package, "my-registry");
}

#[tokio::test]
async fn publish_package_body_is_exactly_one_file_part_with_the_bytes() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, package_json("my-registry"))
        .await;

    // `bytes::Bytes` works as well as `Vec<u8>` (here taken from another file).
    let contents = PackageFile::new("x", gem_bytes()).contents().clone();
    client(&server)
        .publish_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .file(PackageFile::new("banana-1.0.0.gem", contents))
        .send()
        .await
        .unwrap();

    let seen = rec.only().await;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, format!("{REGISTRY}/packages"));
    assert_eq!(seen.authorization.as_deref(), Some(BEARER));
    let content_type = seen.content_type.as_deref().unwrap();
    let b = boundary(content_type);
    let mut expected = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"banana-1.0.0.gem\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    expected.extend(gem_bytes());
    expected.extend(format!("\r\n--{b}--\r\n").into_bytes());
    assert_eq!(
        seen.body,
        expected,
        "{}",
        String::from_utf8_lossy(&seen.body)
    );
}

#[tokio::test]
async fn publish_package_sends_a_package_url_instead_of_a_file() {
    let server = MockServer::start_async().await;
    let url = "https://buildkite-packages-uploads.s3.amazonaws.com/acme/my-registry/0191e23f-76c0-7a31-9c52-f2c1f9bc1d2a/banana-1.0.0.gem";
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("{REGISTRY}/packages"))
                .header("authorization", BEARER)
                .header_includes("content-type", "multipart/form-data; boundary=")
                .body_includes("Content-Disposition: form-data; name=\"package_url\"\r\n\r\n")
                .body_includes(format!("\r\n\r\n{url}\r\n"));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(package_json("my-registry"));
        })
        .await;

    let package = client(&server)
        .publish_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .package_url(url)
        .send()
        .await
        .unwrap();

    mock.assert_calls_async(1).await;
    assert_package(&package, "my-registry");
}

#[tokio::test]
async fn publish_package_refuses_incomplete_or_ambiguous_requests_without_sending() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, package_json("my-registry"))
        .await;
    let client = client(&server);
    let file = || PackageFile::new("banana-1.0.0.gem", gem_bytes());
    let url = "https://uploads.example/banana-1.0.0.gem";

    let cases = [
        (
            client
                .publish_package()
                .registry_slug("my-registry")
                .file(file()),
            "org_slug",
        ),
        (
            client.publish_package().org_slug("acme").package_url(url),
            "registry_slug",
        ),
        (
            client
                .publish_package()
                .org_slug("acme")
                .registry_slug("my-registry"),
            "`file` or `package_url`",
        ),
        (
            client
                .publish_package()
                .org_slug("acme")
                .registry_slug("my-registry")
                .file(file())
                .package_url(url),
            "not both",
        ),
        (
            client
                .publish_package()
                .org_slug("")
                .registry_slug("my-registry")
                .file(file()),
            "org_slug",
        ),
        (
            client
                .publish_package()
                .org_slug("acme")
                .registry_slug("%2e%2e")
                .package_url(url),
            "registry_slug",
        ),
    ];
    for (builder, says) in cases {
        let err = builder.send().await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
        assert!(
            err.to_string().contains(says),
            "{err} should mention {says}"
        );
        assert!(err.status().is_none());
    }
    assert_eq!(rec.calls().await, 0);
}

#[tokio::test]
async fn publish_package_validation_failure_decodes_the_buildkite_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            422,
            buildkite_error("Validation Failed", &["File is not a valid gem"]),
        )
        .await;

    let err = client(&server)
        .publish_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .file(PackageFile::new("banana.txt", b"not a gem".to_vec()))
        .send()
        .await
        .unwrap_err();

    let seen = rec.only().await;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, format!("{REGISTRY}/packages"));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(422));
    let body = err.error_body().unwrap();
    assert_eq!(body.message, "Validation Failed");
    assert_eq!(error_texts(&body.errors), ["File is not a valid gem"]);
}

#[tokio::test]
async fn publish_package_is_resent_whole_after_a_429() {
    let server = MockServer::start_async().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let (count, log) = (Arc::clone(&calls), Arc::clone(&bodies));
    let package = package_json("my-registry").to_string();
    let mock = server
        .mock_async(move |when, then| {
            when.method(POST).path(format!("{REGISTRY}/packages"));
            then.respond_with(move |req: &HttpMockRequest| {
                log.lock().unwrap().push(req.body_vec());
                if count.fetch_add(1, Ordering::SeqCst) == 0 {
                    HttpMockResponse::builder()
                        .status(429)
                        .header("retry-after", "0")
                        .header("content-type", "application/json")
                        .body(r#"{"message":"slow down"}"#)
                        .build()
                } else {
                    HttpMockResponse::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .body(package.clone())
                        .build()
                }
            });
        })
        .await;

    let published = client_with_retry(&server, RetryPolicy::default().max_attempts(2))
        .publish_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .file(PackageFile::new("banana-1.0.0.gem", gem_bytes()))
        .send()
        .await
        .unwrap();

    mock.assert_calls_async(2).await;
    assert_package(&published, "my-registry");
    let bodies = bodies.lock().unwrap();
    assert_eq!(
        bodies[0], bodies[1],
        "the retry sends the same multipart body"
    );
    assert!(bodies[1].windows(20).any(|w| w == b"GEMDATA-banana-1.0.0"));
}

#[tokio::test]
async fn publish_package_is_not_resent_after_a_server_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond(&server, 503, Some("text/plain"), "unavailable".into())
        .await;

    let err = client_with_retry(&server, RetryPolicy::default().max_attempts(3))
        .publish_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .package_url("https://uploads.example/banana-1.0.0.gem")
        .send()
        .await
        .unwrap_err();

    // The upload may have been processed: a POST is not repeated on 5xx.
    rec.only().await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(err.raw_body().unwrap().as_ref(), b"unavailable");
}

#[test]
fn package_file_debug_shows_name_and_size_not_contents() {
    let file = PackageFile::new("banana-1.0.0.gem", b"SECRET-GEM-CONTENTS".to_vec());
    let shown = format!("{file:?}");
    assert!(shown.contains("banana-1.0.0.gem"), "{shown}");
    assert!(shown.contains("19"), "{shown}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert_eq!(file.filename(), "banana-1.0.0.gem");
    assert_eq!(file.contents().as_ref(), b"SECRET-GEM-CONTENTS");
}

// ------------------------------------------------------------------ registry tokens

#[tokio::test]
async fn create_registry_token_returns_the_secret_once_and_never_in_debug() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            token_json("Read access for the staging cluster", Some(REGISTRY_SECRET)),
        )
        .await;

    let created = client(&server)
        .create_registry_token()
        .org_slug("acme")
        .registry_slug("my-registry")
        .body(types::RegistryTokenRequest {
            description: "Read access for the staging cluster".into(),
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        &format!("{REGISTRY}/tokens"),
        json!({"description": "Read access for the staging cluster"}),
    );
    assert_token(&created, "Read access for the staging cluster");
    let secret = created
        .token
        .as_ref()
        .expect("the create answer has the secret");
    assert_eq!(secret.expose_secret(), REGISTRY_SECRET);
    for shown in [
        format!("{:?}", *created),
        format!("{:#?}", *created),
        format!("{created:?}"),
        format!("{secret:?}"),
    ] {
        assert!(!shown.contains(REGISTRY_SECRET), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
}

#[tokio::test]
async fn list_registry_tokens_sends_paging_and_has_no_secrets() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!([token_json("Read access for the staging cluster", None)]),
        )
        .await;

    let tokens = client(&server)
        .list_registry_tokens()
        .org_slug("acme")
        .registry_slug("my-registry")
        .page(1)
        .per_page(100)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REGISTRY}/tokens?page=1&per_page=100"));
    assert_eq!(tokens.len(), 1);
    assert_token(&tokens[0], "Read access for the staging cluster");
    assert!(tokens[0].token.is_none());
}

#[tokio::test]
async fn get_registry_token_decodes_the_creator() {
    let server = MockServer::start_async().await;
    let mut body = token_json("Read access for the staging cluster", None);
    body["created_by"]["avatar_url"] = json!("https://www.gravatar.com/avatar/5d2f3c1a");
    let rec = WIRE.respond_json(&server, 200, body).await;

    let token = client(&server)
        .get_registry_token()
        .org_slug("acme")
        .registry_slug("my-registry")
        .token_id(TOKEN_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REGISTRY}/tokens/{TOKEN_ID}"));
    assert_eq!(token.id, TOKEN_ID);
    assert_eq!(token.created_by.email, "dana@acme.example");
    assert_eq!(
        token.created_by.avatar_url.as_deref(),
        Some("https://www.gravatar.com/avatar/5d2f3c1a")
    );
    assert!(token.token.is_none());
}

#[tokio::test]
async fn update_registry_token_is_a_post_with_the_new_description() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            token_json("Read access for the production cluster", None),
        )
        .await;

    let token = client(&server)
        .update_registry_token()
        .org_slug("acme")
        .registry_slug("my-registry")
        .token_id(TOKEN_ID)
        .body_map(|b| b.description("Read access for the production cluster"))
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        &format!("{REGISTRY}/tokens/{TOKEN_ID}"),
        json!({"description": "Read access for the production cluster"}),
    );
    assert_token(&token, "Read access for the production cluster");
}

#[tokio::test]
async fn delete_registry_token_accepts_200_without_a_body() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 200).await;

    let deleted = client(&server)
        .delete_registry_token()
        .org_slug("acme")
        .registry_slug("my-registry")
        .token_id(TOKEN_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("DELETE", &format!("{REGISTRY}/tokens/{TOKEN_ID}"));
    assert_eq!(deleted.status(), 200);
}

#[tokio::test]
async fn delete_registry_token_forbidden_decodes_the_buildkite_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            403,
            buildkite_error(
                "Your access token doesn't have the write_registries scope",
                &[],
            ),
        )
        .await;

    let err = client(&server)
        .delete_registry_token()
        .org_slug("acme")
        .registry_slug("my-registry")
        .token_id(TOKEN_ID)
        .send()
        .await
        .unwrap_err();

    rec.only()
        .await
        .assert_bodiless("DELETE", &format!("{REGISTRY}/tokens/{TOKEN_ID}"));
    assert!(err.is_unauthorized());
    assert!(
        err.error_body()
            .unwrap()
            .message
            .contains("write_registries")
    );
}

// ------------------------------------------------------------------ issue 9: what the service really sends

/// The deletes answer 204 without a body (go-buildkite's tests) as well as
/// the documented 200.
#[tokio::test]
async fn delete_registry_accepts_204_without_a_body() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 204).await;

    let deleted = client(&server)
        .delete_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .send()
        .await
        .unwrap();

    rec.only().await.assert_bodiless("DELETE", REGISTRY);
    assert_eq!(deleted.status(), 204);
}

#[tokio::test]
async fn delete_package_accepts_204_without_a_body() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 204).await;

    let deleted = client(&server)
        .delete_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .package_id(PACKAGE_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("DELETE", &format!("{REGISTRY}/packages/{PACKAGE_ID}"));
    assert_eq!(deleted.status(), 204);
}

#[tokio::test]
async fn delete_registry_token_accepts_204_without_a_body() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_empty(&server, 204).await;

    let deleted = client(&server)
        .delete_registry_token()
        .org_slug("acme")
        .registry_slug("my-registry")
        .token_id(TOKEN_ID)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("DELETE", &format!("{REGISTRY}/tokens/{TOKEN_ID}"));
    assert_eq!(deleted.status(), 204);
}

/// Team ids as the reference's own create example writes them: not UUIDs.
const TEAM_IDS: [&str; 2] = ["team-one-uuid", "team-two-uuid"];

#[tokio::test]
async fn create_registry_sends_non_uuid_team_ids_verbatim_and_decodes_non_uuid_ids() {
    let server = MockServer::start_async().await;
    let mut answer = registry_json(Value::Null, false);
    answer["id"] = json!("registry-7");
    answer["team_ids"] = json!(TEAM_IDS);
    let rec = WIRE.respond_json(&server, 200, answer).await;

    let registry = client(&server)
        .create_registry()
        .org_slug("acme")
        .body_map(|b| {
            b.name("my registry")
                .ecosystem("ruby")
                .team_ids(TEAM_IDS.map(String::from).to_vec())
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        REGISTRIES,
        json!({"name": "my registry", "ecosystem": "ruby", "team_ids": TEAM_IDS}),
    );
    assert_eq!(registry.id, "registry-7");
    assert_eq!(registry.team_ids, TEAM_IDS);
}

#[tokio::test]
async fn package_with_non_uuid_ids_decodes() {
    let server = MockServer::start_async().await;
    let mut answer = package_json("my-registry");
    answer["id"] = json!("pkg_banana_1");
    answer["organization"]["id"] = json!("org-acme");
    answer["registry"]["id"] = json!("42");
    let rec = WIRE.respond_json(&server, 200, answer).await;

    let package = client(&server)
        .get_package()
        .org_slug("acme")
        .registry_slug("my-registry")
        .package_id("pkg_banana_1")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REGISTRY}/packages/pkg_banana_1"));
    assert_eq!(package.id, "pkg_banana_1");
    assert_eq!(package.organization.id, "org-acme");
    assert_eq!(package.registry.id, "42");
}

#[tokio::test]
async fn package_list_items_with_non_uuid_ids_decode() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!({
                "items": [{
                    "id": "grapes-2.8.3",
                    "url": "https://api.buildkite.com/x",
                    "web_url": "https://buildkite.com/x",
                    "name": "grapes",
                    "created_at": "2024-08-21T06:24:53Z",
                    "version": "2.8.3"
                }],
                "links": {"self": "https://api.buildkite.com/x"}
            }),
        )
        .await;

    let page = client(&server)
        .list_packages()
        .org_slug("acme")
        .registry_slug("my-registry")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REGISTRY}/packages"));
    assert_eq!(page.items[0].id, "grapes-2.8.3");
}

#[tokio::test]
async fn registry_token_with_non_uuid_ids_decodes() {
    let server = MockServer::start_async().await;
    let mut answer = token_json("Usher", None);
    answer["id"] = json!("tok-1");
    answer["created_by"]["id"] = json!("user-1");
    answer["organization"]["id"] = json!("org-1");
    answer["registry"]["id"] = json!("reg-1");
    let rec = WIRE.respond_json(&server, 200, answer).await;

    let token = client(&server)
        .get_registry_token()
        .org_slug("acme")
        .registry_slug("my-registry")
        .token_id("tok-1")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", &format!("{REGISTRY}/tokens/tok-1"));
    assert_eq!(token.id, "tok-1");
    assert_eq!(token.created_by.id, "user-1");
    assert_eq!(token.organization.id, "org-1");
    assert_eq!(token.registry.id, "reg-1");
}

/// Every claim rule form of Buildkite's OIDC policy reference: a bare
/// scalar of each kind as the whole rule, `equals`/`not_equals` with each
/// non-null scalar kind, scalar lists (null included) for `in`/`not_in`,
/// and `matches` as one glob or a list.
fn every_claim_form_json() -> Value {
    json!([{
        "iss": "https://token.actions.githubusercontent.com",
        "scopes": ["read_packages", "delete_packages"],
        "claims": {
            "organization_slug": "acme",
            "run_attempt": 1,
            "weight": 0.5,
            "runner_is_hosted": true,
            "environment": null,
            "pipeline_slug": {"equals": "gem-release", "not_equals": "gem-nightly"},
            "build_number": {"equals": 42, "not_equals": 7},
            "ratio": {"equals": 1.5},
            "rebuilt": {"equals": false, "not_equals": true},
            "actor": {"in": ["deploy-bot", 3, 2.5, false, null], "not_in": ["revert-bot", null]},
            "repository": {"matches": "acme/*"},
            "build_branch": {"matches": ["main", "feature/*"], "not_equals": "feature/not-this-one"}
        }
    }])
}

fn claims(policy: &types::OidcPolicy) -> &HashMap<String, types::OidcClaimCondition> {
    let types::OidcPolicy::Array(statements) = policy else {
        panic!("expected statements, got {policy:?}");
    };
    &statements[0].claims
}

fn rule<'a>(
    claims: &'a HashMap<String, types::OidcClaimCondition>,
    name: &str,
) -> &'a types::OidcClaimRule {
    match &claims[name] {
        types::OidcClaimCondition::ClaimRule(rule) => rule,
        other => panic!("{name}: expected a rule, got {other:?}"),
    }
}

#[tokio::test]
async fn oidc_claim_rules_of_every_form_decode_and_are_sent_back_unchanged() {
    use types::OidcClaimCondition::Scalar;
    use types::OidcScalar as S;

    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(every_claim_form_json(), false))
        .await;
    let registry = client(&server)
        .get_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .send()
        .await
        .unwrap();
    rec.only().await.assert_bodiless("GET", REGISTRY);

    let policy = registry.oidc_policy.clone().expect("a policy");
    let c = claims(&policy);
    assert!(matches!(&c["organization_slug"], Scalar(S::String(s)) if s == "acme"));
    assert!(matches!(&c["run_attempt"], Scalar(S::Int64(1))));
    assert!(matches!(&c["weight"], Scalar(S::Number(n)) if *n == 0.5));
    assert!(matches!(&c["runner_is_hosted"], Scalar(S::Boolean(true))));
    assert!(matches!(&c["environment"], Scalar(S::Null)));
    let r = rule(c, "pipeline_slug");
    assert!(matches!(&r.equals, Some(S::String(s)) if s == "gem-release"));
    assert!(matches!(&r.not_equals, Some(S::String(s)) if s == "gem-nightly"));
    let r = rule(c, "build_number");
    assert!(matches!(r.equals, Some(S::Int64(42))));
    assert!(matches!(r.not_equals, Some(S::Int64(7))));
    assert!(matches!(rule(c, "ratio").equals, Some(S::Number(n)) if n == 1.5));
    let r = rule(c, "rebuilt");
    assert!(matches!(r.equals, Some(S::Boolean(false))));
    assert!(matches!(r.not_equals, Some(S::Boolean(true))));
    let r = rule(c, "actor");
    assert!(matches!(
        r.in_.as_slice(),
        [S::String(a), S::Int64(3), S::Number(n), S::Boolean(false), S::Null]
            if a == "deploy-bot" && *n == 2.5
    ));
    assert!(matches!(r.not_in.as_slice(), [S::String(a), S::Null] if a == "revert-bot"));
    assert!(matches!(
        &rule(c, "repository").matches,
        Some(types::OidcGlobs::String(g)) if g == "acme/*"
    ));
    let r = rule(c, "build_branch");
    assert!(matches!(
        &r.matches,
        Some(types::OidcGlobs::Array(g)) if g == &["main", "feature/*"]
    ));

    // The decoded policy goes back to Buildkite exactly as it came.
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(every_claim_form_json(), false))
        .await;
    client(&server)
        .update_registry()
        .org_slug("acme")
        .registry_slug("my-registry")
        .body(types::RegistryUpdate {
            oidc_policy: Some(policy.into()),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    rec.only().await.assert_json(
        "POST",
        REGISTRY,
        json!({"oidc_policy": every_claim_form_json()}),
    );
}

#[tokio::test]
async fn oidc_rule_built_in_code_sends_null_scalars_and_a_single_glob() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(&server, 200, registry_json(Value::Null, false))
        .await;

    let rule = types::OidcClaimRule {
        equals: Some(types::OidcScalar::Null),
        not_equals: Some(7i64.into()),
        in_: vec![types::OidcScalar::Null, true.into(), 0.25.into()],
        matches: Some(types::OidcGlobs::String("release/*".into())),
        ..Default::default()
    };
    let policy = types::OidcPolicy::Array(vec![types::OidcStatement {
        iss: "https://agent.buildkite.com".into(),
        claims: HashMap::from([
            ("build_branch".to_owned(), rule.into()),
            (
                "cluster_id".to_owned(),
                types::OidcClaimCondition::Scalar(types::OidcScalar::Null),
            ),
        ]),
        scopes: vec![],
    }]);
    client(&server)
        .create_registry()
        .org_slug("acme")
        .body_map(|b| b.name("r").ecosystem("files").oidc_policy(Some(policy)))
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "POST",
        REGISTRIES,
        json!({
            "name": "r",
            "ecosystem": "files",
            "oidc_policy": [{
                "iss": "https://agent.buildkite.com",
                "claims": {
                    "build_branch": {
                        "equals": null,
                        "not_equals": 7,
                        "in": [null, true, 0.25],
                        "matches": "release/*"
                    },
                    "cluster_id": null
                }
            }]
        }),
    );
}

#[tokio::test]
async fn validation_errors_decode_as_messages_and_as_field_codes() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            422,
            json!({
                "message": "Validation Failed",
                "errors": [
                    "Name has already been taken",
                    {"field": "ecosystem", "code": "invalid"},
                    {"field": "team_ids", "code": "missing"}
                ]
            }),
        )
        .await;

    let err = client(&server)
        .create_registry()
        .org_slug("acme")
        .body_map(|b| b.name("my registry").ecosystem("cobol"))
        .send()
        .await
        .unwrap_err();

    rec.only().await;
    assert!(matches!(err, Error::ErrorResponse(_)), "{err:?}");
    let body = err.error_body().expect("typed Buildkite error body");
    assert_eq!(body.message, "Validation Failed");
    assert!(matches!(
        body.errors.as_slice(),
        [
            types::ErrorDetail::String(text),
            types::ErrorDetail::FieldError(first),
            types::ErrorDetail::FieldError(second),
        ] if text == "Name has already been taken"
            && first.field.as_deref() == Some("ecosystem")
            && first.code.as_deref() == Some("invalid")
            && second.field.as_deref() == Some("team_ids")
            && second.code.as_deref() == Some("missing")
    ));
}
