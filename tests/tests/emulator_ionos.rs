//! regkit-emulator's IONOS Container Registry (API 1.2.1), through the
//! generated client: registries with cursor paging, tokens whose password
//! is shown once, repositories and artifacts from seeded content, the
//! scanner's findings, IONOS's error bodies, and every operation through
//! Prism's validating proxy.

use regkit_tests::emulator::frozen;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::Duration;

use futures::TryStreamExt;
use regkit_core::{Error, Nullable, RetryPolicy};
use regkit_emulator::providers::ionos::{Advisory, Registry};
use regkit_emulator::{ClockMode, Emulator, Provider};
use regkit_ionos::types;
use regkit_tests::prism::{Prism, Run};
use serde_json::json;

fn registry_input(name: &str, location: &str) -> types::PostRegistryInput {
    types::PostRegistryInput {
        properties: properties(name, location),
    }
}

fn properties(name: &str, location: &str) -> types::PostRegistryProperties {
    types::PostRegistryProperties {
        api_subnet_allow_list: None,
        features: None,
        garbage_collection_schedule: Some(types::WeeklySchedule {
            days: Some(vec![types::Day::Saturday]),
            time: "02:30:00+00:00".into(),
        }),
        location: location.into(),
        name: name.parse().expect("a valid registry name"),
    }
}

fn token_input(name: &str) -> types::PostTokenInput {
    types::PostTokenInput {
        properties: types::PostTokenProperties {
            expiry_date: None,
            name: name.parse().expect("a valid token name"),
            scopes: Some(vec![types::Scope {
                actions: Some(vec!["pull".into(), "push".into()]),
                name: "app/*".into(),
                type_: "repository".into(),
            }]),
            status: None,
        },
    }
}

/// Status and IONOS's typed error body of a failed call.
fn failure<T: Debug>(
    result: Result<T, Error<types::ApiErrorResponse>>,
) -> (u16, types::ApiErrorResponse) {
    let err = result.expect_err("the call fails");
    let status = err.status().expect("an HTTP answer").as_u16();
    let body = err
        .error_body()
        .unwrap_or_else(|| panic!("IONOS's error body decodes: {err:?}"))
        .clone();
    assert_eq!(
        body.http_status,
        Some(i32::from(status)),
        "httpStatus repeats the status"
    );
    let messages = body.messages.clone().unwrap_or_default();
    assert!(
        messages
            .iter()
            .any(|m| m.message.as_deref().is_some_and(|t| !t.is_empty())),
        "a message says why: {body:?}"
    );
    (status, body)
}

fn password(properties: &Option<types::TokenProperties>) -> String {
    properties
        .as_ref()
        .and_then(|p| p.credentials.as_ref())
        .map(|c| c.password.expose_secret().to_string())
        .expect("credentials are always there")
}

fn registry_id(emu: &Emulator, name: &str) -> String {
    emu.world()
        .ionos
        .registry_named(name)
        .map(|r| r.id.clone())
        .expect("the registry exists")
}

#[tokio::test]
async fn registry_tokens_and_content_end_to_end() {
    let mut steps = regkit_tests::Steps::new();
    let emu = frozen().await;
    let ionos = emu.ionos();

    let locations = ionos.locations_get().send().await.unwrap().into_inner();
    let ids: Vec<String> = locations
        .items
        .unwrap()
        .into_iter()
        .filter_map(|l| l.id)
        .collect();
    assert!(
        ids.iter().any(|l| l == "de/fra") && ids.iter().any(|l| l == "de/txl"),
        "{ids:?}"
    );
    assert!(
        ionos
            .is_registry_name_available("team-images")
            .await
            .unwrap()
    );

    steps.at("create");
    // Create: BUSY while provisioning, AVAILABLE with its hostname after.
    let created = ionos
        .registries_post()
        .body(registry_input("team-images", "de/fra"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().get("location").is_some());
    let created = created.into_inner();
    let id = created.id.clone().unwrap();
    assert_eq!(created.metadata.as_ref().unwrap().state, "BUSY");
    assert_eq!(
        created.properties.as_ref().unwrap().hostname.as_deref(),
        Some("")
    );
    assert!(
        !ionos
            .is_registry_name_available("team-images")
            .await
            .unwrap()
    );
    emu.advance(Duration::from_secs(120));
    let got = ionos
        .registries_find_by_id()
        .registry_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    let props = got.properties.unwrap();
    assert_eq!(got.metadata.unwrap().state, "AVAILABLE");
    // The registry's own data-plane listener; with the data plane off,
    // the host name IONOS gives it.
    assert_eq!(props.hostname, emu.ionos_registry_host(&id));
    let dark = Emulator::builder().data_plane(false).start().await.unwrap();
    dark.seed(|w, _, now| {
        w.ionos.add_registry("dark", "team-images", "de/fra", now);
    });
    let got = dark
        .ionos()
        .registries_find_by_id()
        .registry_id("dark")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.into_inner().properties.unwrap().hostname.as_deref(),
        Some("team-images.cr.de-fra.ionos.com")
    );
    assert_eq!(props.location, "de/fra");
    let schedule = props.garbage_collection_schedule.unwrap();
    assert_eq!(schedule.days, Some(vec![types::Day::Saturday]));
    assert_eq!(schedule.time, "02:30:00+00:00");
    assert!(
        props
            .features
            .unwrap()
            .vulnerability_scanning
            .unwrap()
            .enabled
    );

    steps.at("a token");
    // A token: the password is in the creating answer only.
    let token = ionos
        .registries_tokens_post()
        .registry_id(&id)
        .body(token_input("ci-push"))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    let token = token.into_inner();
    let secret = password(&token.properties);
    assert!(secret.len() >= 16, "a real password");
    let token_id = token.id.clone().unwrap();
    let fetched = ionos
        .registries_tokens_find_by_id()
        .registry_id(&id)
        .token_id(&token_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(password(&fetched.properties), "");
    let props = fetched.properties.as_ref().unwrap();
    assert_eq!(props.name, "ci-push");
    assert_eq!(props.credentials.as_ref().unwrap().username, "ci-push");
    assert_eq!(props.status, Some(types::TokenStatus::Enabled));
    assert!(
        !emu.snapshot().to_json().contains(&secret),
        "the state never holds the password"
    );

    steps.at("more tokens, listed with offset/limit over several pages");
    // More tokens, listed with offset/limit over several pages.
    for i in 1..=6 {
        ionos
            .registries_tokens_post()
            .registry_id(&id)
            .body(token_input(&format!("robot-{i}")))
            .send()
            .await
            .unwrap();
    }
    let first = ionos
        .registries_tokens_get()
        .registry_id(&id)
        .limit(3)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (first.offset, first.limit, first.count, first.total),
        (0, 3, 3, 7)
    );
    assert!(first.links.next.contains("offset=3"), "{:?}", first.links);
    assert_eq!(first.links.previous, "");
    let last = ionos
        .registries_tokens_get()
        .registry_id(&id)
        .offset(6)
        .limit(3)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (last.count, last.total, last.links.next.as_str()),
        (1, 7, "")
    );
    let all: Vec<types::TokenResponse> = ionos
        .registries_tokens_get()
        .registry_id(&id)
        .limit(3)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = all
        .iter()
        .map(|t| t.properties.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!((all.len(), names.len()), (7, 7), "every token once");
    assert!(
        all.iter().all(|t| password(&t.properties).is_empty()),
        "no password in a list"
    );

    steps.at("patch");
    // Patch: a new expiry, then disabled; then delete and 404.
    let expiry = emu.now() + chrono::Duration::days(90);
    let patched = ionos
        .registries_tokens_patch()
        .registry_id(&id)
        .token_id(&token_id)
        .body(types::PatchTokenInput {
            expiry_date: Some(Nullable::Value(expiry)),
            scopes: None,
            status: Some(types::TokenStatus::Disabled),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    let props = patched.properties.unwrap();
    assert_eq!(props.expiry_date, Some(expiry));
    assert_eq!(props.status, Some(types::TokenStatus::Disabled));
    assert_eq!(props.scopes.unwrap().len(), 1, "scopes stay as they were");
    assert!(patched.metadata.unwrap().last_modified_date.is_some());
    let deleted = ionos
        .registries_tokens_delete()
        .registry_id(&id)
        .token_id(&token_id)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (status, _) = failure(
        ionos
            .registries_tokens_find_by_id()
            .registry_id(&id)
            .token_id(&token_id)
            .send()
            .await,
    );
    assert_eq!(status, 404);

    steps.at("content");
    // Content: repositories with artifacts, paged.
    emu.seed(|world, ids, now| {
        let r = world.ionos.registries.get_mut(&id).unwrap();
        for i in 0..5 {
            ids.repository(&mut r.content, &format!("app-{i}"), i + 1, now);
        }
    });
    let repos: Vec<types::RepositoryRead> = ionos
        .registries_repositories_get()
        .registry_id(&id)
        .limit(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let repo_names: BTreeSet<String> = repos.iter().map(|r| r.properties.name.clone()).collect();
    assert_eq!(repos.len(), 5);
    assert_eq!(repo_names.len(), 5, "every repository once");
    let page = ionos
        .registries_repositories_get()
        .registry_id(&id)
        .limit(2)
        .offset(2)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((page.offset, page.limit, page.items.len()), (2, 2, 2));
    assert!(page.links.prev.is_some() && page.links.next.is_some());
    let app4 = ionos
        .registries_repositories_find_by_name()
        .registry_id(&id)
        .repository_name("app-4")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(app4.metadata.artifact_count, 5);
    let artifacts: Vec<types::ArtifactRead> = ionos
        .registries_repositories_artifacts_get()
        .registry_id(&id)
        .repository_name("app-4")
        .limit(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let digests: BTreeSet<String> = artifacts.iter().map(|a| a.id.clone()).collect();
    assert_eq!((artifacts.len(), digests.len()), (5, 5));
    assert!(
        artifacts
            .iter()
            .any(|a| a.properties.tags.contains(&"latest".to_string()))
    );
    let everything: Vec<types::ArtifactRead> = ionos
        .registries_artifacts_get()
        .registry_id(&id)
        .limit(4)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(everything.len(), 1 + 2 + 3 + 4 + 5);

    steps.at("the scanner");
    // The scanner: nothing found, then a seeded finding.
    let digest = artifacts[0].id.clone();
    let vulns = ionos
        .registries_repositories_artifacts_vulnerabilities_get()
        .registry_id(&id)
        .repository_name("app-4")
        .digest(&digest)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(vulns.items.is_empty());
    emu.seed(|world, _, now| {
        world
            .ionos
            .vulnerabilities
            .insert("CVE-2024-0001".into(), advisory(now));
        let r = world.ionos.registries.get_mut(&id).unwrap();
        r.findings
            .insert(digest.clone(), vec!["CVE-2024-0001".into()]);
    });
    let vulns = ionos
        .registries_repositories_artifacts_vulnerabilities_get()
        .registry_id(&id)
        .repository_name("app-4")
        .digest(&digest)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(vulns.items.len(), 1);
    assert_eq!(vulns.items[0].properties.severity, "CRITICAL");
    let artifact = ionos
        .registries_repositories_artifacts_find_by_digest()
        .registry_id(&id)
        .repository_name("app-4")
        .digest(&digest)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(artifact.metadata.vuln_total_count, Some(1));
    assert_eq!(
        artifact.metadata.vuln_max_severity.as_deref(),
        Some("CRITICAL")
    );
    let affected: Vec<types::ArtifactRead> = ionos
        .registries_artifacts_get()
        .registry_id(&id)
        .filter_vulnerability_id("CVE-2024-0001")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(affected.len(), 1);
    let cve = ionos
        .vulnerabilities_find_by_id()
        .vulnerability_id("CVE-2024-0001")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cve.properties.score, 9.8);
    let (status, _) = failure(
        ionos
            .vulnerabilities_find_by_id()
            .vulnerability_id("CVE-1999-0000")
            .send()
            .await,
    );
    assert_eq!(status, 404);

    steps.at("deleting a repository takes its artifacts");
    // Deleting a repository takes its artifacts; then the registry goes.
    let gone = ionos
        .registries_repositories_delete()
        .registry_id(&id)
        .repository_name("app-4")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    let (status, _) = failure(
        ionos
            .registries_repositories_find_by_name()
            .registry_id(&id)
            .repository_name("app-4")
            .send()
            .await,
    );
    assert_eq!(status, 404);
    let deleted = ionos
        .registries_delete()
        .registry_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (status, body) = failure(ionos.registries_find_by_id().registry_id(&id).send().await);
    assert_eq!(status, 404);
    assert!(
        body.messages.unwrap()[0]
            .message
            .as_ref()
            .unwrap()
            .contains(&id)
    );
}

fn advisory(now: chrono::DateTime<chrono::Utc>) -> Advisory {
    Advisory {
        description: "A buffer overflow in a made-up library.".into(),
        recommendations: Some("Upgrade to 1.2.4.".into()),
        source: "nvd".into(),
        source_url: None,
        fixable: true,
        affects: vec![("deb".into(), "libmadeup".into(), "1.2.3".into())],
        references: vec![],
        severity: "CRITICAL".into(),
        score: 9.8,
        published_at: now - chrono::Duration::days(10),
        updated_at: None,
    }
}

#[tokio::test]
async fn registries_page_with_limit_and_a_pagination_token() {
    let emu = frozen().await;
    let ionos = emu.ionos();
    for i in 0..7 {
        let location = if i % 2 == 0 { "de/fra" } else { "de/txl" };
        ionos
            .registries_post()
            .body(registry_input(&format!("reg-{i}"), location))
            .send()
            .await
            .unwrap();
    }
    let first = ionos
        .registries_get()
        .limit(3)
        .send()
        .await
        .unwrap()
        .into_inner();
    let names: Vec<String> = first
        .items
        .unwrap()
        .into_iter()
        .map(|r| r.properties.unwrap().name)
        .collect();
    assert_eq!(names, ["reg-0", "reg-1", "reg-2"]);
    assert_eq!(first.pagination.limit, 3);
    assert!(!first.pagination.token.is_empty());
    assert!(
        first.links.next.contains("pagination.token="),
        "{:?}",
        first.links
    );
    assert_eq!(first.links.previous, "");
    let second = ionos
        .registries_get()
        .limit(3)
        .pagination_token(first.pagination.token.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        second.items.as_ref().unwrap()[0]
            .properties
            .as_ref()
            .unwrap()
            .name,
        "reg-3"
    );
    assert!(!second.links.previous.is_empty());

    let all: Vec<types::RegistryResponse> = ionos
        .registries_get()
        .limit(3)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names: Vec<String> = all
        .into_iter()
        .map(|r| r.properties.unwrap().name)
        .collect();
    let expected: Vec<String> = (0..7).map(|i| format!("reg-{i}")).collect();
    assert_eq!(names, expected, "every registry once, in order");

    let last = ionos
        .registries_get()
        .limit(100)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (last.pagination.token.as_str(), last.links.next.as_str()),
        ("", "")
    );

    let filtered = ionos
        .registries_get()
        .filter_name("reg-5")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(filtered.items.unwrap().len(), 1);

    let (status, _) = failure(
        ionos
            .registries_get()
            .pagination_token("not-a-token!")
            .send()
            .await,
    );
    assert_eq!(status, 400);
    let (status, _) = failure(ionos.registries_get().limit(0).send().await);
    assert_eq!(status, 400);
}

#[tokio::test]
async fn names_are_unique_and_replacing_keeps_what_is_fixed() {
    let mut steps = regkit_tests::Steps::new();
    let emu = frozen().await;
    let ionos = emu.ionos();
    ionos
        .registries_post()
        .body(registry_input("shop", "de/fra"))
        .send()
        .await
        .unwrap();
    let id = registry_id(&emu, "shop");

    steps.at("a taken registry name is IONOS's 400");
    // A taken registry name is IONOS's 400; a taken token name its 409.
    let (status, _) = failure(
        ionos
            .registries_post()
            .body(registry_input("shop", "de/txl"))
            .send()
            .await,
    );
    assert_eq!(status, 400);
    let (status, _) = failure(
        ionos
            .registries_post()
            .body(registry_input("other", "mars/base"))
            .send()
            .await,
    );
    assert_eq!(status, 400);
    ionos
        .registries_tokens_post()
        .registry_id(&id)
        .body(token_input("deploy"))
        .send()
        .await
        .unwrap();
    let (status, _) = failure(
        ionos
            .registries_tokens_post()
            .registry_id(&id)
            .body(token_input("deploy"))
            .send()
            .await,
    );
    assert_eq!(status, 409);

    steps.at("PATCH changes only what it names");
    // PATCH changes only what it names.
    let patched = ionos
        .registries_patch()
        .registry_id(&id)
        .body(types::PatchRegistryInput {
            api_subnet_allow_list: Some(vec!["203.0.113.0/24".into()]),
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
        .unwrap()
        .into_inner();
    let props = patched.properties.unwrap();
    assert_eq!(
        props.api_subnet_allow_list,
        Some(vec!["203.0.113.0/24".to_string()])
    );
    assert!(
        !props
            .features
            .unwrap()
            .vulnerability_scanning
            .unwrap()
            .enabled
    );
    assert_eq!(
        props.garbage_collection_schedule.unwrap().days,
        Some(vec![types::Day::Saturday])
    );

    steps.at("PUT");
    // PUT: a new id creates (201), an existing one is replaced (201) but
    // keeps its name and location.
    let put_id = "0b6f3c1e-2d4a-4f5b-8c9d-0e1f2a3b4c5d";
    let put = ionos
        .registries_put()
        .registry_id(put_id)
        .body(types::PutRegistryInput {
            properties: properties("mirror", "es/vit"),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    assert_eq!(put.into_inner().id.as_deref(), Some(put_id));
    let mut replaced = properties("mirror", "es/vit");
    replaced.garbage_collection_schedule = None;
    let put = ionos
        .registries_put()
        .registry_id(put_id)
        .body(types::PutRegistryInput {
            properties: replaced,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    assert!(
        put.into_inner()
            .properties
            .unwrap()
            .garbage_collection_schedule
            .is_none()
    );
    let (status, _) = failure(
        ionos
            .registries_put()
            .registry_id(put_id)
            .body(types::PutRegistryInput {
                properties: properties("renamed", "es/vit"),
            })
            .send()
            .await,
    );
    assert_eq!(status, 400);

    steps.at("token PUT");
    // Token PUT: creating shows the password, replacing does not.
    let token_id = "6a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";
    let created = ionos
        .registries_tokens_put()
        .registry_id(&id)
        .token_id(token_id)
        .body(types::PutTokenInput {
            properties: token_input("puller").properties,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(!password(&created.into_inner().properties).is_empty());
    let mut changed = token_input("puller").properties;
    changed.status = Some(types::TokenStatus::Disabled);
    let replaced = ionos
        .registries_tokens_put()
        .registry_id(&id)
        .token_id(token_id)
        .body(types::PutTokenInput {
            properties: changed,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(password(&replaced.properties), "");
    assert_eq!(
        replaced.properties.unwrap().status,
        Some(types::TokenStatus::Disabled)
    );
    let (status, _) = failure(
        ionos
            .registries_tokens_put()
            .registry_id(&id)
            .token_id("another-id")
            .body(types::PutTokenInput {
                properties: token_input("deploy").properties,
            })
            .send()
            .await,
    );
    assert_eq!(status, 409, "a PUT that would create a second `deploy`");

    steps.at("unknown ids are 404 with IONOS's body");
    // Unknown ids are 404 with IONOS's body.
    for result in [
        ionos
            .registries_delete()
            .registry_id("nope")
            .send()
            .await
            .map(|_| ()),
        ionos
            .registries_tokens_delete()
            .registry_id(&id)
            .token_id("nope")
            .send()
            .await
            .map(|_| ()),
        ionos
            .registries_repositories_delete()
            .registry_id(&id)
            .repository_name("nope")
            .send()
            .await
            .map(|_| ()),
    ] {
        let (status, _) = failure(result);
        assert_eq!(status, 404);
    }
}

fn storage(registry: &types::RegistryResponse) -> (i64, Option<chrono::DateTime<chrono::Utc>>) {
    let usage = registry
        .properties
        .as_ref()
        .and_then(|p| p.storage_usage.as_ref())
        .expect("storage usage is reported");
    (usage.bytes.expect("bytes"), usage.updated_at)
}

#[tokio::test]
async fn a_deleted_repository_takes_storage_until_the_scheduled_garbage_collection() {
    // Thursday 2026-01-01; the registry collects on Saturdays at 02:30 UTC.
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let emu = Emulator::builder()
        .clock(ClockMode::Frozen)
        .start_time(start)
        .start()
        .await
        .unwrap();
    let ionos = emu.ionos();
    let id = ionos
        .registries_post()
        .body(registry_input("gc-test", "de/txl"))
        .send()
        .await
        .unwrap()
        .into_inner()
        .id
        .unwrap();
    emu.seed(|world, ids, now| {
        let r = world.ionos.registries.get_mut(&id).unwrap();
        ids.repository(&mut r.content, "keep", 2, now);
        ids.repository(&mut r.content, "drop", 3, now);
    });
    let get = || async {
        ionos
            .registries_find_by_id()
            .registry_id(&id)
            .send()
            .await
            .unwrap()
            .into_inner()
    };
    let (before, _) = storage(&get().await);
    assert!(before > 0);
    ionos
        .registries_repositories_delete()
        .registry_id(&id)
        .repository_name("drop")
        .send()
        .await
        .unwrap();
    assert_eq!(
        storage(&get().await).0,
        before,
        "deleting frees nothing by itself"
    );
    emu.advance(Duration::from_secs(24 * 3600)); // Friday
    assert_eq!(storage(&get().await).0, before);
    emu.advance(Duration::from_secs(2 * 24 * 3600)); // Sunday
    let (after, updated) = storage(&get().await);
    let keep_only = emu.world().ionos.registries[&id].content.storage_bytes();
    assert!(after < before, "{after} < {before}");
    assert_eq!(
        after as u64, keep_only,
        "only what `keep` references is left"
    );
    assert_eq!(
        updated.map(|t| t.to_rfc3339()),
        Some("2026-01-03T02:30:00+00:00".to_string()),
        "the figure dates from the collection"
    );
}

#[tokio::test]
async fn bad_input_and_bad_credentials_get_ionos_error_bodies() {
    let emu = frozen().await;
    let base = emu.url(Provider::Ionos);
    let token = emu.token(Provider::Ionos).expose_secret().to_string();
    // Building a regkit client first installs the rustls crypto provider
    // that a plain reqwest client needs too.
    let _ = emu.ionos();
    let raw = reqwest::Client::new();
    emu.seed(|world, _, now| {
        world.ionos.add_registry("r1", "raw", "de/fra", now);
    });
    let cases = [
        (
            "POST",
            "/registries",
            json!({"properties": {"location": "de/fra"}}),
        ),
        (
            "POST",
            "/registries",
            json!({"properties": {"name": 42, "location": "de/fra"}}),
        ),
        (
            "POST",
            "/registries",
            json!({"properties": {"name": "Bad_Name", "location": "de/fra"}}),
        ),
        (
            "POST",
            "/registries",
            json!({"properties": {"name": "fine", "location": "de/fra",
                   "garbageCollectionSchedule": {"days": ["Caturday"], "time": "02:00:00Z"}}}),
        ),
        (
            "POST",
            "/registries",
            json!({"properties": {"name": "fine", "location": "de/fra",
                   "garbageCollectionSchedule": {"days": ["Monday"], "time": "half past two"}}}),
        ),
        ("POST", "/registries", json!([1, 2])),
        ("POST", "/registries/r1/tokens", json!({"properties": {}})),
        (
            "POST",
            "/registries/r1/tokens",
            json!({"properties": {"name": "x-1", "expiryDate": "2001-01-01T00:00:00Z"}}),
        ),
        (
            "POST",
            "/registries/r1/tokens",
            json!({"properties": {"name": "x-1", "status": "paused"}}),
        ),
        (
            "PATCH",
            "/registries/r1",
            json!({"apiSubnetAllowList": ["not-an-ip"]}),
        ),
        (
            "PATCH",
            "/registries/r1",
            json!({"features": {"vulnerabilityScanning": {}}}),
        ),
    ];
    for (method, path, body) in cases {
        let res = raw
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{method} {path} {body}");
        let err: types::ApiErrorResponse = res.json().await.unwrap();
        assert_eq!(err.http_status, Some(400), "{method} {path} {body}");
        assert!(!err.messages.unwrap().is_empty());
    }
    for query in [
        "limit=abc",
        "limit=0",
        "offset=-1",
        "limit=1001",
        "orderBy=colour",
    ] {
        let res = raw
            .get(format!("{base}/registries/r1/repositories?{query}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query}");
        let _: types::ApiErrorResponse = res.json().await.unwrap();
    }
    // Name check: malformed 400, free 404, taken 200, no body.
    for (name, status) in [("Bad_Name", 400), ("free-name", 404), ("raw", 200)] {
        let res = raw
            .head(format!("{base}/names/{name}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{name}");
    }
    // No or foreign credentials: 401 with IONOS's body.
    for auth in [None, Some("Bearer wrong"), Some("Basic d3Jvbmc6d3Jvbmc=")] {
        let mut req = raw.get(format!("{base}/registries"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        let err: types::ApiErrorResponse = res.json().await.unwrap();
        assert_eq!(err.http_status, Some(401));
    }
    // Nothing was created by the failed calls.
    assert_eq!(emu.world().ionos.registries.len(), 1);
    assert!(emu.world().ionos.registries["r1"].tokens.is_empty());
}

#[tokio::test]
async fn demo_content_has_a_registry_with_repositories_and_a_token_without_password() {
    let emu = Emulator::builder().demo(true).start().await.unwrap();
    let world = emu.world();
    let demo: &Registry = world
        .ionos
        .registry_named("demo")
        .expect("the demo registry");
    assert_eq!(demo.location, "de/fra");
    assert!(demo.content.repositories.len() >= 2);
    assert_eq!(demo.tokens.len(), 1);
    let listed = emu
        .ionos()
        .registries_tokens_get()
        .registry_id(&demo.id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed
            .items
            .unwrap()
            .iter()
            .all(|t| password(&t.properties).is_empty())
    );
}

// ---------------------------------------------------------------------------
// Every operation through Prism's validating proxy.

#[tokio::test]
async fn every_operation_conforms_through_prism() {
    let emu = frozen().await;
    let prism = Prism::proxy("ionos", &emu.url(Provider::Ionos));
    let client = emu
        .client_builder::<regkit_ionos::Client>()
        .base_url(prism.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut run = Run::new(&prism);

    run.check("locationsGet", client.locations_get().send().await);
    let created = run.check(
        "registriesPost",
        client
            .registries_post()
            .body(types::PostRegistryInput {
                properties: types::PostRegistryProperties {
                    api_subnet_allow_list: Some(vec![
                        "203.0.113.0/24".into(),
                        "2001:db8::/48".into(),
                    ]),
                    features: Some(types::RegistryFeatures {
                        vulnerability_scanning: Some(types::FeatureVulnerabilityScanning {
                            enabled: true,
                            properties: Default::default(),
                        }),
                    }),
                    ..properties("conformance", "de/fra")
                },
            })
            .send()
            .await,
    );
    let id = created.and_then(|r| r.id).unwrap_or_default();
    run.check(
        "namesCheckUsage",
        client.names_check_usage().name("conformance").send().await,
    );
    emu.advance(Duration::from_secs(300));
    emu.seed(|world, ids, now| {
        let r = world.ionos.registries.get_mut(&id).expect("created");
        ids.repository(&mut r.content, "web", 3, now);
        ids.repository(&mut r.content, "api", 2, now);
        let digest = r.content.repositories["web"].tags["latest"].clone();
        r.findings.insert(digest, vec!["CVE-2024-0001".into()]);
        world
            .ionos
            .vulnerabilities
            .insert("CVE-2024-0001".into(), advisory(now));
    });
    let digest =
        emu.world().ionos.registries[&id].content.repositories["web"].tags["latest"].clone();

    run.check(
        "registriesGet",
        client.registries_get().limit(10).send().await,
    );
    run.check(
        "registriesFindById",
        client.registries_find_by_id().registry_id(&id).send().await,
    );
    run.check(
        "registriesPatch",
        client
            .registries_patch()
            .registry_id(&id)
            .body(types::PatchRegistryInput {
                garbage_collection_schedule: Some(types::WeeklySchedule {
                    days: Some(vec![types::Day::Tuesday, types::Day::Friday]),
                    time: "03:00:00+00:00".into(),
                }),
                ..Default::default()
            })
            .send()
            .await,
    );
    run.check(
        "registriesPut",
        client
            .registries_put()
            .registry_id("8f0c6a2e-3b1d-4c55-9a7e-2d4f6b8c1e90")
            .body(types::PutRegistryInput {
                properties: properties("replaced", "de/txl"),
            })
            .send()
            .await,
    );
    run.check(
        "registriesArtifactsGet",
        client
            .registries_artifacts_get()
            .registry_id(&id)
            .limit(2)
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesGet",
        client
            .registries_repositories_get()
            .registry_id(&id)
            .limit(1)
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesFindByName",
        client
            .registries_repositories_find_by_name()
            .registry_id(&id)
            .repository_name("web")
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesArtifactsGet",
        client
            .registries_repositories_artifacts_get()
            .registry_id(&id)
            .repository_name("web")
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesArtifactsFindByDigest",
        client
            .registries_repositories_artifacts_find_by_digest()
            .registry_id(&id)
            .repository_name("web")
            .digest(&digest)
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesArtifactsVulnerabilitiesGet",
        client
            .registries_repositories_artifacts_vulnerabilities_get()
            .registry_id(&id)
            .repository_name("web")
            .digest(&digest)
            .send()
            .await,
    );
    run.check(
        "vulnerabilitiesFindByID",
        client
            .vulnerabilities_find_by_id()
            .vulnerability_id("CVE-2024-0001")
            .send()
            .await,
    );
    let token = run.check(
        "registriesTokensPost",
        client
            .registries_tokens_post()
            .registry_id(&id)
            .body(types::PostTokenInput {
                properties: types::PostTokenProperties {
                    expiry_date: Some(emu.now() + chrono::Duration::days(30)),
                    ..token_input("ci-push").properties
                },
            })
            .send()
            .await,
    );
    let token_id = token.and_then(|t| t.id).unwrap_or_default();
    run.check(
        "registriesTokensGet",
        client
            .registries_tokens_get()
            .registry_id(&id)
            .limit(5)
            .send()
            .await,
    );
    run.check(
        "registriesTokensFindById",
        client
            .registries_tokens_find_by_id()
            .registry_id(&id)
            .token_id(&token_id)
            .send()
            .await,
    );
    run.check(
        "registriesTokensPatch",
        client
            .registries_tokens_patch()
            .registry_id(&id)
            .token_id(&token_id)
            .body(types::PatchTokenInput {
                status: Some(types::TokenStatus::Disabled),
                ..Default::default()
            })
            .send()
            .await,
    );
    run.check(
        "registriesTokensPut",
        client
            .registries_tokens_put()
            .registry_id(&id)
            .token_id("2b7e1c44-6a0f-4f3e-8d21-9c5b7a3e0f12")
            .body(types::PutTokenInput {
                properties: token_input("ci-pull").properties,
            })
            .send()
            .await,
    );
    run.check(
        "registriesTokensDelete",
        client
            .registries_tokens_delete()
            .registry_id(&id)
            .token_id(&token_id)
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesDelete",
        client
            .registries_repositories_delete()
            .registry_id(&id)
            .repository_name("api")
            .send()
            .await,
    );
    run.check(
        "registriesDelete",
        client.registries_delete().registry_id(&id).send().await,
    );
    run.finish();
}
