//! The Humanitec registries client, one test per operation: the exact
//! method, path, query, JSON body and bearer token that reach the server,
//! typed decoding of realistic answers (including the per-cluster secret
//! reference maps), Humanitec's `{error}` body, a non-JSON 502 from a proxy,
//! and credentials that never show up in `Debug`.

use regkit_tests::Wire;
use std::collections::HashMap;

use httpmock::prelude::*;
use regkit_core::{ConfigError, Credentials, RetryPolicy};
use regkit_humanitec::mock::MockServerExt;
use regkit_humanitec::{Client, Error, types};
use serde_json::{Value, json};

const TOKEN: &str = "hum-api-token-8d3f0b6a91";
const BEARER: &str = "Bearer hum-api-token-8d3f0b6a91";
const ORG: &str = "acme";
const ECR_HOST: &str = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
/// An ECR login token as the creds endpoint hands it out.
const ECR_PASSWORD: &str = "eyJwYXlsb2FkIjoiZWNyLWxvZ2luLXRva2VuIiwidmVyc2lvbiI6IjIifQ==";

fn client(server: &MockServer) -> Client {
    regkit_tests::client(server, Credentials::bearer(TOKEN).unwrap())
}

// ------------------------------------------------------------------ recorder

/// Requests are recorded by the shared harness and checked against this
/// provider's token.
const WIRE: Wire = Wire { auth: BEARER };

// ------------------------------------------------------------------ fixtures

fn ecr_record(enable_ci: bool) -> Value {
    json!({
        "id": "ecr-prod",
        "registry": ECR_HOST,
        "type": "amazon_ecr",
        "enable_ci": enable_ci,
        "created_at": "2024-02-19T13:45:10.250Z",
        "created_by": "a.user@example.com"
    })
}

fn secret_ref_record() -> Value {
    json!({
        "id": "team-pull-secret",
        "registry": "ghcr.io/example-org",
        "type": "secret_ref",
        "enable_ci": false,
        "created_at": "2024-04-02T09:12:00Z",
        "created_by": "a.user@example.com",
        "secrets": {
            "*": {"namespace": "dev-secrets", "secret": "ghcr-regcred"},
            "prod-cluster": {"namespace": "prod-secrets", "secret": "ghcr-regcred-prod"}
        }
    })
}

fn cluster_secrets(entries: &[(&str, &str, &str)]) -> types::ClusterSecretsMap {
    types::ClusterSecretsMap(
        entries
            .iter()
            .map(|(cluster, namespace, secret)| {
                (
                    cluster.to_string(),
                    types::ClusterSecret {
                        namespace: namespace.to_string(),
                        secret: secret.to_string(),
                    },
                )
            })
            .collect(),
    )
}

/// `(namespace, secret)` of one cluster's entry.
fn entry<'a>(map: &'a types::ClusterSecretsMap, cluster: &str) -> (&'a str, &'a str) {
    let s = map
        .get(cluster)
        .unwrap_or_else(|| panic!("no entry for {cluster}: {map:?}"));
    (s.namespace.as_str(), s.secret.as_str())
}

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

// ------------------------------------------------------------------ list

#[tokio::test]
async fn list_registries_decodes_records_and_secret_maps() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!([
                {"id": "humanitec", "registry": "registry.humanitec.io", "type": "public",
                 "enable_ci": false, "created_at": "2023-01-10T08:00:00Z", "created_by": "system"},
                ecr_record(true),
                secret_ref_record()
            ]),
        )
        .await;

    let records = client(&server)
        .list_registries()
        .org_id(ORG)
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", "/orgs/acme/registries");
    assert_eq!(records.len(), 3);
    let ids: Vec<_> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["humanitec", "ecr-prod", "team-pull-secret"]);
    assert_eq!(records[0].type_, types::RegistryType::Public);
    assert!(records[0].secrets.is_none());

    let ecr = &records[1];
    assert_eq!(ecr.registry, ECR_HOST);
    assert_eq!(ecr.type_, types::RegistryType::AmazonEcr);
    assert!(ecr.enable_ci);
    assert_eq!(ecr.created_by.as_deref(), Some("a.user@example.com"));
    assert_eq!(
        serde_json::to_value(ecr.created_at.unwrap()).unwrap(),
        json!("2024-02-19T13:45:10.250Z")
    );

    let secret_ref = &records[2];
    assert_eq!(secret_ref.type_, types::RegistryType::SecretRef);
    let secrets = secret_ref.secrets.as_ref().unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(entry(secrets, "*"), ("dev-secrets", "ghcr-regcred"));
    assert_eq!(
        entry(secrets, "prod-cluster"),
        ("prod-secrets", "ghcr-regcred-prod")
    );
}

#[tokio::test]
async fn list_registries_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let records: Vec<types::RegistryResponse> =
        serde_json::from_value(json!([secret_ref_record()])).unwrap();
    let mock = server.list_registries(|when, then| {
        when.org_id(ORG)
            .into_inner()
            .header("authorization", BEARER);
        then.ok(&records);
    });

    let got = client(&server)
        .list_registries()
        .org_id(ORG)
        .send()
        .await
        .unwrap();

    mock.assert_async().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].registry, "ghcr.io/example-org");
    let secrets = got[0].secrets.as_ref().unwrap();
    assert_eq!(entry(secrets, "*"), ("dev-secrets", "ghcr-regcred"));
}

// ------------------------------------------------------------------ create

#[tokio::test]
async fn create_registry_sends_the_login_and_returns_201() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(&server, 201, ecr_record(true)).await;
    let body = types::RegistryRequest {
        creds: Some(types::AccountCredsRequest {
            // A chrono time with nanoseconds, as `Utc::now()` gives: the
            // service takes at most milliseconds.
            expires: "2024-06-04T21:30:00.123456789Z".parse().ok(),
            password: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            username: "AKIAIOSFODNN7EXAMPLE".into(),
        }),
        enable_ci: Some(true),
        id: "ecr-prod".parse().unwrap(),
        registry: ECR_HOST.into(),
        secrets: None,
        type_: types::RegistryType::AmazonEcr,
    };
    // The request model hides the secret key as well.
    let shown = format!("{body:?}");
    assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");

    let created = client(&server)
        .create_registry()
        .org_id(ORG)
        .body(body)
        .send()
        .await
        .unwrap();

    // On the wire the secret is sent as it is.
    rec.only().await.assert_json(
        "POST",
        "/orgs/acme/registries",
        json!({
            "id": "ecr-prod",
            "registry": ECR_HOST,
            "type": "amazon_ecr",
            "enable_ci": true,
            "creds": {
                "username": "AKIAIOSFODNN7EXAMPLE",
                "password": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "expires": "2024-06-04T21:30:00.123Z"
            }
        }),
    );
    assert_eq!(created.status(), 201);
    assert_eq!(created.id, "ecr-prod");
    assert_eq!(created.type_, types::RegistryType::AmazonEcr);
    assert!(created.enable_ci);
    assert!(created.secrets.is_none());
}

/// Humanitec answers a create with 201 today and has announced 200
/// instead: both decode the created record.
#[tokio::test]
async fn create_registry_decodes_the_record_from_200_and_from_201() {
    for status in [200, 201] {
        let server = MockServer::start_async().await;
        let rec = WIRE.respond_json(&server, status, ecr_record(false)).await;

        let created = client(&server)
            .create_registry()
            .org_id(ORG)
            .body_map(|b| {
                b.id("ecr-prod")
                    .registry(ECR_HOST)
                    .type_(types::RegistryType::AmazonEcr)
            })
            .send()
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}"));

        rec.only().await.assert_json(
            "POST",
            "/orgs/acme/registries",
            json!({"id": "ecr-prod", "registry": ECR_HOST, "type": "amazon_ecr"}),
        );
        assert_eq!(created.status(), status);
        assert_eq!(created.id, "ecr-prod");
        assert_eq!(created.registry, ECR_HOST);
        assert!(!created.enable_ci);
    }
}

#[tokio::test]
async fn create_registry_sends_secret_references_per_cluster() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(&server, 201, secret_ref_record()).await;

    let created = client(&server)
        .create_registry()
        .org_id(ORG)
        .body_map(|b| {
            b.id("team-pull-secret")
                .registry("ghcr.io/example-org")
                .type_(types::RegistryType::SecretRef)
                .secrets(Some(cluster_secrets(&[
                    ("*", "dev-secrets", "ghcr-regcred"),
                    ("prod-cluster", "prod-secrets", "ghcr-regcred-prod"),
                ])))
        })
        .send()
        .await
        .unwrap();

    // Unset optional fields (`creds`, `enable_ci`) are left out, not null.
    rec.only().await.assert_json(
        "POST",
        "/orgs/acme/registries",
        json!({
            "id": "team-pull-secret",
            "registry": "ghcr.io/example-org",
            "type": "secret_ref",
            "secrets": {
                "*": {"namespace": "dev-secrets", "secret": "ghcr-regcred"},
                "prod-cluster": {"namespace": "prod-secrets", "secret": "ghcr-regcred-prod"}
            }
        }),
    );
    let secrets = created.secrets.as_ref().unwrap();
    assert_eq!(
        entry(secrets, "prod-cluster"),
        ("prod-secrets", "ghcr-regcred-prod")
    );
}

#[tokio::test]
async fn create_registry_conflict_decodes_the_humanitec_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            409,
            json!({"error": "Registry with id 'ecr-prod' already exists."}),
        )
        .await;

    let err = client(&server)
        .create_registry()
        .org_id(ORG)
        .body_map(|b| {
            b.id("ecr-prod")
                .registry(ECR_HOST)
                .type_(types::RegistryType::AmazonEcr)
                .enable_ci(false)
        })
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_json(
        "POST",
        "/orgs/acme/registries",
        json!({"id": "ecr-prod", "registry": ECR_HOST, "type": "amazon_ecr", "enable_ci": false}),
    );
    assert!(matches!(err, Error::ErrorResponse(_)));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    assert_eq!(
        err.error_body().unwrap().error,
        "Registry with id 'ecr-prod' already exists."
    );
    assert!(err.raw_body().is_none());
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "409 Conflict: Registry with id 'ecr-prod' already exists."
    );
}

// ------------------------------------------------------------------ get

#[tokio::test]
async fn get_registry_decodes_the_record() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(&server, 200, ecr_record(true)).await;

    let record = client(&server)
        .get_registry()
        .org_id(ORG)
        .reg_id("ecr-prod")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", "/orgs/acme/registries/ecr-prod");
    assert_eq!(record.id, "ecr-prod");
    assert_eq!(record.registry, ECR_HOST);
    assert_eq!(record.type_, types::RegistryType::AmazonEcr);
    assert!(record.enable_ci);
    assert_eq!(record.created_by.as_deref(), Some("a.user@example.com"));
}

#[tokio::test]
async fn get_registry_not_found_through_the_generated_mock() {
    let server = MockServer::start_async().await;
    let error = types::ErrorInfoResponse {
        error: "Registry with id 'nope' not found.".into(),
    };
    let mock = server.get_registry(|when, then| {
        when.org_id(ORG)
            .reg_id("nope")
            .into_inner()
            .header("authorization", BEARER);
        then.not_found(&error);
    });

    let err = client(&server)
        .get_registry()
        .org_id(ORG)
        .reg_id("nope")
        .send()
        .await
        .unwrap_err();

    mock.assert_async().await;
    assert!(err.is_not_found());
    assert_eq!(
        err.error_body().unwrap().error,
        "Registry with id 'nope' not found."
    );
}

// ------------------------------------------------------------------ update

#[tokio::test]
async fn update_registry_patches_the_record() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(&server, 200, ecr_record(false)).await;

    let record = client(&server)
        .update_registry()
        .org_id(ORG)
        .reg_id("ecr-prod")
        .body(types::RegistryRequest {
            creds: None,
            enable_ci: Some(false),
            id: "ecr-prod".parse().unwrap(),
            registry: ECR_HOST.into(),
            secrets: None,
            type_: types::RegistryType::AmazonEcr,
        })
        .send()
        .await
        .unwrap();

    rec.only().await.assert_json(
        "PATCH",
        "/orgs/acme/registries/ecr-prod",
        json!({"id": "ecr-prod", "registry": ECR_HOST, "type": "amazon_ecr", "enable_ci": false}),
    );
    assert_eq!(record.status(), 200);
    assert!(!record.enable_ci);
    assert_eq!(record.id, "ecr-prod");
}

#[tokio::test]
async fn update_registry_forbidden_for_the_builtin_registry() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            403,
            json!({"error": "The built-in registry cannot be modified."}),
        )
        .await;

    let err = client(&server)
        .update_registry()
        .org_id(ORG)
        .reg_id("humanitec")
        .body_map(|b| {
            b.id("humanitec")
                .registry("registry.humanitec.io")
                .type_(types::RegistryType::Public)
                .enable_ci(true)
        })
        .send()
        .await
        .unwrap_err();

    rec.only().await.assert_json(
        "PATCH",
        "/orgs/acme/registries/humanitec",
        json!({"id": "humanitec", "registry": "registry.humanitec.io", "type": "public",
               "enable_ci": true}),
    );
    assert!(err.is_unauthorized());
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(
        err.error_body().unwrap().error,
        "The built-in registry cannot be modified."
    );
}

// ------------------------------------------------------------------ delete

#[tokio::test]
async fn delete_registry_sends_no_body_and_accepts_204() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond(&server, 204, None, String::new()).await;

    let done = client(&server)
        .delete_registry()
        .org_id(ORG)
        .reg_id("team-pull-secret")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("DELETE", "/orgs/acme/registries/team-pull-secret");
    assert_eq!(done.status(), 204);
}

// ------------------------------------------------------------------ credentials endpoint

#[tokio::test]
async fn get_registry_credentials_decodes_a_redacted_login() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            200,
            json!({
                "registry": ECR_HOST,
                "username": "AWS",
                "password": ECR_PASSWORD,
                "expires": "2024-06-04T21:30:00Z"
            }),
        )
        .await;

    let creds = client(&server)
        .get_registry_credentials()
        .org_id(ORG)
        .reg_id("ecr-prod")
        .send()
        .await
        .unwrap();

    rec.only()
        .await
        .assert_bodiless("GET", "/orgs/acme/registries/ecr-prod/creds");
    assert_eq!(creds.registry, ECR_HOST);
    assert_eq!(creds.username.as_deref(), Some("AWS"));
    assert_eq!(
        serde_json::to_value(creds.expires.unwrap()).unwrap(),
        json!("2024-06-04T21:30:00Z")
    );
    assert!(creds.secrets.is_none());
    let password = creds.password.as_ref().unwrap();
    assert_eq!(password.expose_secret(), ECR_PASSWORD);
    for shown in [
        format!("{:?}", *creds),
        format!("{:#?}", *creds),
        format!("{creds:?}"),
        format!("{password:?}"),
        format!("{password}"),
    ] {
        assert!(!shown.contains(ECR_PASSWORD), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
}

#[tokio::test]
async fn get_registry_credentials_of_a_secret_backed_registry() {
    let server = MockServer::start_async().await;
    let answer: types::RegistryCredsResponse = serde_json::from_value(json!({
        "registry": "ghcr.io/example-org",
        "secrets": {
            "*": {"namespace": "dev-secrets", "secret": "ghcr-regcred"},
            "prod-cluster": {"namespace": "prod-secrets", "secret": "ghcr-regcred-prod"}
        }
    }))
    .unwrap();
    let mock = server.get_registry_credentials(|when, then| {
        when.org_id(ORG)
            .reg_id("team-pull-secret")
            .into_inner()
            .header("authorization", BEARER);
        then.ok(&answer);
    });

    let creds = client(&server)
        .get_registry_credentials()
        .org_id(ORG)
        .reg_id("team-pull-secret")
        .send()
        .await
        .unwrap();

    mock.assert_async().await;
    assert!(creds.password.is_none());
    assert!(creds.username.is_none());
    let secrets = creds.secrets.as_ref().unwrap();
    assert_eq!(entry(secrets, "*"), ("dev-secrets", "ghcr-regcred"));
    assert_eq!(
        entry(secrets, "prod-cluster"),
        ("prod-secrets", "ghcr-regcred-prod")
    );
}

#[tokio::test]
async fn get_registry_credentials_unauthorized_decodes_the_humanitec_error() {
    let server = MockServer::start_async().await;
    let rec = WIRE
        .respond_json(
            &server,
            401,
            json!({"error": "The token is not allowed to read registry credentials."}),
        )
        .await;

    let err = client(&server)
        .get_registry_credentials()
        .org_id(ORG)
        .reg_id("ecr-prod")
        .send()
        .await
        .unwrap_err();

    rec.only()
        .await
        .assert_bodiless("GET", "/orgs/acme/registries/ecr-prod/creds");
    assert!(err.is_unauthorized());
    assert_eq!(
        err.error_body().unwrap().error,
        "The token is not allowed to read registry credentials."
    );
}

// ------------------------------------------------------------------ client credentials

#[tokio::test]
async fn token_from_lookup_is_sent_as_bearer() {
    let server = MockServer::start_async().await;
    let rec = WIRE.respond_json(&server, 200, json!([])).await;
    let credentials = Credentials::from_lookup(
        &regkit_humanitec::PROVIDER,
        lookup(&[("HUMANITEC_TOKEN", " from-env-token \n")]),
    )
    .unwrap();
    assert!(!format!("{credentials:?}").contains("from-env-token"));
    let client = Client::builder()
        .base_url(server.base_url())
        .credentials(credentials)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    let records = client.list_registries().org_id(ORG).send().await.unwrap();

    let seen = rec.only().await;
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.uri, "/orgs/acme/registries");
    assert_eq!(seen.authorization.as_deref(), Some("Bearer from-env-token"));
    assert!(records.is_empty());
}

#[test]
fn missing_token_names_the_humanitec_variable() {
    let err = Credentials::from_lookup(
        &regkit_humanitec::PROVIDER,
        lookup(&[("HUMANITEC_TOKEN", "")]),
    )
    .unwrap_err();
    assert!(
        matches!(err, ConfigError::MissingCredentials { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("Humanitec") && msg.contains("HUMANITEC_TOKEN"),
        "{msg}"
    );
}
