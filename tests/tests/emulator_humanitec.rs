//! The emulated Humanitec registries API through the generated client:
//! records per organization (create, get, update, delete → 404), the
//! credentials endpoint's fresh logins on the virtual clock, id conflicts,
//! the built-in record, Humanitec's `{error}` body on bad input and bad
//! credentials, and every operation through a validating Prism proxy.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::SubsecRound;
use futures::TryStreamExt;
use regkit_core::RetryPolicy;
use regkit_emulator::providers::humanitec::{CREDS_TTL, Registry};
use regkit_emulator::{Emulator, Provider};
use regkit_humanitec::types;
use regkit_tests::emulator::{frozen, json_body, raw};
use regkit_tests::prism::{Prism, Run};
use serde_json::json;

const ORG: &str = "acme";
const ECR: &str = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";

fn request(id: &str, registry: &str, kind: &str) -> types::RegistryRequest {
    types::RegistryRequest {
        creds: None,
        enable_ci: None,
        id: id.parse().expect("a valid record id"),
        registry: registry.to_string(),
        secrets: None,
        type_: kind.into(),
    }
}

fn basic(id: &str, registry: &str, username: &str, password: &str) -> types::RegistryRequest {
    types::RegistryRequest {
        creds: Some(types::AccountCredsRequest {
            expires: None,
            password: password.into(),
            username: username.to_string(),
        }),
        ..request(id, registry, "basic")
    }
}

fn bearer(emu: &Emulator) -> Option<String> {
    Some(format!(
        "Bearer {}",
        emu.token(Provider::Humanitec).expose_secret()
    ))
}

#[tokio::test]
async fn a_record_lives_from_create_to_404_and_hands_out_fresh_logins() {
    let mut steps = regkit_tests::Steps::new();
    let emu = frozen().await;
    let hum = emu.humanitec();

    let created = hum
        .create_registry()
        .org_id(ORG)
        .body(basic(
            "ci-cache",
            "registry.example.com/ci",
            "robot",
            "hunter2-not-kept",
        ))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status().as_u16(), 201);
    let created = created.into_inner();
    assert_eq!(created.id, "ci-cache");
    assert_eq!(created.type_, types::RegistryType::Basic);
    assert!(!created.enable_ci);
    assert_eq!(created.created_at, Some(emu.now()));

    let got = hum
        .get_registry()
        .org_id(ORG)
        .reg_id("ci-cache")
        .send()
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.registry, "registry.example.com/ci");

    let mut update = basic("ci-cache", "registry.example.com/ci-v2", "robot2", "s3cret");
    update.enable_ci = Some(true);
    let updated = hum
        .update_registry()
        .org_id(ORG)
        .reg_id("ci-cache")
        .body(update)
        .send()
        .await
        .expect("update")
        .into_inner();
    assert!(updated.enable_ci);
    assert_eq!(updated.registry, "registry.example.com/ci-v2");
    assert_eq!(
        updated.created_at, created.created_at,
        "an update keeps the creation time"
    );

    let creds = hum
        .get_registry_credentials()
        .org_id(ORG)
        .reg_id("ci-cache")
        .send()
        .await
        .expect("creds")
        .into_inner();
    assert_eq!(creds.registry, "registry.example.com/ci-v2");
    assert_eq!(creds.username.as_deref(), Some("robot2"));
    let first_password = creds
        .password
        .expect("a password")
        .expose_secret()
        .to_string();
    assert!(!first_password.is_empty());
    assert_eq!(
        creds.expires,
        Some((emu.now() + CREDS_TTL).trunc_subsecs(3))
    );

    steps.at("past the expiry, a new call hands out a new login with a new expiry");
    // Past the expiry, a new call hands out a new login with a new expiry.
    emu.advance(Duration::from_secs(2 * 3600));
    let again = hum
        .get_registry_credentials()
        .org_id(ORG)
        .reg_id("ci-cache")
        .send()
        .await
        .expect("creds again")
        .into_inner();
    assert_eq!(
        again.expires,
        Some((emu.now() + CREDS_TTL).trunc_subsecs(3))
    );
    assert!(again.expires > creds.expires);
    assert_ne!(
        again.password.expect("a password").expose_secret(),
        first_password
    );

    steps.at("passwords are never kept");
    // Passwords are never kept: not the one sent, not the ones handed out.
    let snapshot = emu.snapshot().to_json();
    for secret in ["hunter2-not-kept", "s3cret", first_password.as_str()] {
        assert!(!snapshot.contains(secret), "{secret} leaked into the state");
    }

    let deleted = hum
        .delete_registry()
        .org_id(ORG)
        .reg_id("ci-cache")
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);

    let gone = hum
        .get_registry()
        .org_id(ORG)
        .reg_id("ci-cache")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));
    assert!(gone.is_not_found());
    let body = gone.error_body().expect("Humanitec's error body decodes");
    assert!(body.error.contains("ci-cache"), "{}", body.error);
    let creds_gone = hum
        .get_registry_credentials()
        .org_id(ORG)
        .reg_id("ci-cache")
        .send()
        .await
        .expect_err("no creds of a deleted record");
    assert!(creds_gone.is_not_found());
}

#[tokio::test]
async fn ids_are_unique_per_organization_and_lists_hold_every_record() {
    let emu = frozen().await;
    let hum = emu.humanitec();
    hum.create_registry()
        .org_id(ORG)
        .body(request("ecr-prod", ECR, "amazon_ecr"))
        .send()
        .await
        .expect("create");

    let conflict = hum
        .create_registry()
        .org_id(ORG)
        .body(request("ecr-prod", "other.example.com", "basic"))
        .send()
        .await
        .expect_err("the id is taken");
    assert_eq!(conflict.status().map(|s| s.as_u16()), Some(409));
    let body = conflict.error_body().expect("ErrorInfoResponse");
    assert!(body.error.contains("ecr-prod"), "{}", body.error);

    // Another organization may use the same id.
    hum.create_registry()
        .org_id("other-org")
        .body(request("ecr-prod", ECR, "amazon_ecr"))
        .send()
        .await
        .expect("another organization's namespace");

    // Renaming onto a taken id is a conflict too.
    hum.create_registry()
        .org_id(ORG)
        .body(request("ghcr", "ghcr.io/acme", "public"))
        .send()
        .await
        .expect("create");
    let rename = hum
        .update_registry()
        .org_id(ORG)
        .reg_id("ghcr")
        .body(request("ecr-prod", "ghcr.io/acme", "public"))
        .send()
        .await
        .expect_err("renaming onto a taken id");
    assert_eq!(rename.status().map(|s| s.as_u16()), Some(409));

    // A list is every record of the organization, in one answer.
    emu.seed(|world, _, now| {
        let org = world.humanitec.orgs.entry(ORG.to_string()).or_default();
        for i in 0..40 {
            let id = format!("seeded-{i:02}");
            org.registries.insert(
                id.clone(),
                Registry {
                    id,
                    registry: format!("registry{i}.example.com"),
                    kind: "public".to_string(),
                    created_at: Some(now),
                    ..Registry::default()
                },
            );
        }
    });
    let all: Vec<types::RegistryResponse> = hum
        .list_registries()
        .org_id(ORG)
        .stream()
        .try_collect()
        .await
        .expect("list");
    let ids: BTreeSet<String> = all.iter().map(|r| r.id.clone()).collect();
    assert_eq!(all.len(), 42);
    assert_eq!(ids.len(), 42, "every record once");
    assert!(ids.contains("ecr-prod") && ids.contains("ghcr"));

    // An organization nobody used lists nothing.
    let empty = hum
        .list_registries()
        .org_id("fresh-org")
        .send()
        .await
        .expect("list")
        .into_inner();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn the_built_in_record_cannot_be_changed_and_secret_refs_come_back_as_creds() {
    let emu = frozen().await;
    let hum = emu.humanitec();
    emu.seed(|world, _, now| {
        let org = world.humanitec.orgs.entry(ORG.to_string()).or_default();
        org.registries.insert(
            "humanitec".to_string(),
            Registry {
                id: "humanitec".to_string(),
                registry: "registry.humanitec.io".to_string(),
                kind: "public".to_string(),
                created_at: Some(now),
                created_by: Some("system".to_string()),
                ..Registry::default()
            },
        );
    });
    let patch = hum
        .update_registry()
        .org_id(ORG)
        .reg_id("humanitec")
        .body(request("humanitec", "registry.humanitec.io", "basic"))
        .send()
        .await
        .expect_err("built in");
    assert_eq!(patch.status().map(|s| s.as_u16()), Some(403));
    let delete = hum
        .delete_registry()
        .org_id(ORG)
        .reg_id("humanitec")
        .send()
        .await
        .expect_err("built in");
    assert_eq!(delete.status().map(|s| s.as_u16()), Some(403));
    assert!(delete.error_body().is_some());

    let mut with_secrets = request("team-pull-secret", "ghcr.io/acme", "secret_ref");
    with_secrets.secrets = Some(types::ClusterSecretsMap(
        [(
            "*".to_string(),
            types::ClusterSecret {
                namespace: "dev-secrets".to_string(),
                secret: "ghcr-regcred".to_string(),
            },
        )]
        .into_iter()
        .collect(),
    ));
    hum.create_registry()
        .org_id(ORG)
        .body(with_secrets)
        .send()
        .await
        .expect("create");
    let creds = hum
        .get_registry_credentials()
        .org_id(ORG)
        .reg_id("team-pull-secret")
        .send()
        .await
        .expect("creds")
        .into_inner();
    assert!(creds.password.is_none() && creds.username.is_none());
    let secrets = creds.secrets.expect("secret references");
    assert_eq!(secrets.0["*"].secret, "ghcr-regcred");

    // A record's own expiry caps the login's.
    let mut short = basic("short-lived", "r.example.com", "u", "p");
    let soon = emu.now() + chrono::Duration::minutes(10);
    if let Some(c) = short.creds.as_mut() {
        c.expires = Some(soon.trunc_subsecs(3).into());
    }
    hum.create_registry()
        .org_id(ORG)
        .body(short)
        .send()
        .await
        .expect("create");
    let creds = hum
        .get_registry_credentials()
        .org_id(ORG)
        .reg_id("short-lived")
        .send()
        .await
        .expect("creds")
        .into_inner();
    assert_eq!(creds.expires, Some(soon.trunc_subsecs(3)));
}

#[tokio::test]
async fn bad_bodies_get_400_and_bad_credentials_401_with_humanitecs_body() {
    let emu = frozen().await;
    let path = format!("/orgs/{ORG}/registries");
    let cases = [
        json!({"id": "ok-id", "type": "basic"}),
        json!({"id": "Not_Valid!", "registry": "r.example.com", "type": "basic"}),
        json!({"id": "ok-id", "registry": "r.example.com", "type": "carrier_pigeon"}),
        json!({"id": "ok-id", "registry": "r.example.com", "type": "basic", "enable_ci": "yes"}),
        json!({"id": "ok-id", "registry": "r.example.com", "type": "basic", "creds": {"username": "u"}}),
        json!(["not", "an", "object"]),
    ];
    for body in cases {
        let (status, answer) = raw(
            &emu,
            Provider::Humanitec,
            reqwest::Method::POST,
            &path,
            bearer(&emu),
            json_body(&body),
        )
        .await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert!(answer["error"].is_string(), "{body} → {answer}");
    }
    let (status, answer) = raw(
        &emu,
        Provider::Humanitec,
        reqwest::Method::POST,
        &path,
        bearer(&emu),
        None,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        emu.world()
            .humanitec
            .orgs
            .values()
            .all(|o| o.registries.is_empty())
    );

    for auth in [None, Some("Bearer not-the-token".to_string())] {
        let (status, answer) = raw(
            &emu,
            Provider::Humanitec,
            reqwest::Method::GET,
            &path,
            auth,
            None,
        )
        .await;
        assert_eq!(status, 401);
        assert!(answer["error"].is_string(), "{answer}");
    }
    let anonymous = emu
        .client_builder::<regkit_humanitec::Client>()
        .bearer_token("wrong")
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let err = anonymous
        .list_registries()
        .org_id(ORG)
        .send()
        .await
        .expect_err("wrong token");
    assert!(err.is_unauthorized());
    assert!(
        err.error_body().is_some(),
        "the 401 body is ErrorInfoResponse"
    );
}

#[tokio::test]
async fn demo_content_is_served() {
    let emu = Emulator::builder().demo(true).start().await.expect("start");
    let records = emu
        .humanitec()
        .list_registries()
        .org_id("demo-org")
        .send()
        .await
        .expect("list")
        .into_inner();
    assert_eq!(records.len(), 2);
}

// ------------------------------------------------------------- conformance

#[tokio::test]
async fn every_operation_passes_a_validating_prism_proxy() {
    let emu = Emulator::start().await.expect("start");
    let prism = Prism::proxy("humanitec", &emu.url(Provider::Humanitec));
    let hum = emu
        .client_builder::<regkit_humanitec::Client>()
        .base_url(prism.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let mut run = Run::new(&prism);

    let mut ecr = basic("ecr-prod", ECR, "AWS", "not-kept");
    if let Some(c) = ecr.creds.as_mut() {
        c.expires = Some(
            (emu.now() + chrono::Duration::days(1))
                .trunc_subsecs(3)
                .into(),
        );
    }
    ecr.type_ = types::RegistryType::AmazonEcr;
    ecr.enable_ci = Some(true);
    run.check(
        "create_registry",
        hum.create_registry()
            .org_id(ORG)
            .body(ecr.clone())
            .send()
            .await,
    );
    let mut secret_ref = request("pull-secret", "ghcr.io/acme", "secret_ref");
    secret_ref.secrets = Some(types::ClusterSecretsMap(
        [(
            "prod-cluster".to_string(),
            types::ClusterSecret {
                namespace: "prod".to_string(),
                secret: "ghcr-regcred".to_string(),
            },
        )]
        .into_iter()
        .collect(),
    ));
    run.check(
        "create_registry",
        hum.create_registry()
            .org_id(ORG)
            .body(secret_ref)
            .send()
            .await,
    );
    let list = run.check(
        "list_registries",
        hum.list_registries().org_id(ORG).send().await,
    );
    if list.map(|l| l.len()) != Some(2) {
        run.fail("list_registries: not both records".into());
    }
    run.check(
        "get_registry",
        hum.get_registry()
            .org_id(ORG)
            .reg_id("ecr-prod")
            .send()
            .await,
    );
    ecr.enable_ci = Some(false);
    run.check(
        "update_registry",
        hum.update_registry()
            .org_id(ORG)
            .reg_id("ecr-prod")
            .body(ecr)
            .send()
            .await,
    );
    run.check(
        "get_registry_credentials",
        hum.get_registry_credentials()
            .org_id(ORG)
            .reg_id("ecr-prod")
            .send()
            .await,
    );
    run.check(
        "get_registry_credentials",
        hum.get_registry_credentials()
            .org_id(ORG)
            .reg_id("pull-secret")
            .send()
            .await,
    );
    run.check(
        "delete_registry",
        hum.delete_registry()
            .org_id(ORG)
            .reg_id("ecr-prod")
            .send()
            .await,
    );

    // An error answer validates too.
    let missing = hum
        .get_registry()
        .org_id(ORG)
        .reg_id("ecr-prod")
        .send()
        .await;
    match missing {
        Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => {
            if let Some(v) = e.headers().and_then(|h| h.get("sl-violations")) {
                run.fail(format!(
                    "404: violations {}",
                    String::from_utf8_lossy(v.as_bytes())
                ));
            }
        }
        other => run.fail(format!("get after delete: {other:?}")),
    }

    run.finish();
}
