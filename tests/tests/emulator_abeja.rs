//! The emulated ABEJA Platform registry API through the generated client:
//! repositories per organization (create, get, delete → 404), names unique
//! (409), `offset`/`limit` paging with `has_next` walked by `.stream()`,
//! tags seeded and listed the same way, ABEJA's `{error,
//! error_description}` on bad input and bad credentials, Basic auth, and
//! every operation through a validating Prism proxy.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use regkit_abeja::types;
use regkit_core::RetryPolicy;
use regkit_emulator::{Emulator, Provider};
use regkit_tests::emulator::{frozen, json_body, raw};
use regkit_tests::prism::{Prism, Run};
use serde_json::json;

const ORG: &str = "1410000000000";

fn create(name: &str, description: Option<&str>) -> types::RepositoryCreate {
    types::RepositoryCreate {
        description: description.map(str::to_string),
        name: name.to_string(),
    }
}

fn is_13_digits(id: &str) -> bool {
    id.len() == 13 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Seeds `count` repositories (`repo-000`, …) and returns their ids in order.
fn seed_repositories(emu: &Emulator, count: usize) -> Vec<String> {
    emu.seed(|world, ids, now| {
        (0..count)
            .map(|i| {
                world
                    .abeja
                    .add_repository(ORG, &format!("repo-{i:03}"), None, ids, now)
            })
            .collect()
    })
}

#[tokio::test]
async fn repositories_are_created_listed_page_by_page_and_deleted() {
    let mut steps = regkit_tests::Steps::new();
    let emu = frozen().await;
    let abeja = emu.abeja();

    let created = abeja
        .create_repository()
        .organization_id(ORG)
        .body(create("object-detector", Some("shelf detector")))
        .send()
        .await
        .expect("create")
        .into_inner();
    assert!(is_13_digits(&created.id), "{}", created.id);
    assert_eq!(created.organization_id, ORG);
    assert_eq!(created.description.as_deref(), Some("shelf detector"));
    assert_eq!(created.creator.role, "admin");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&created.created_at).is_ok(),
        "{}",
        created.created_at
    );

    let seeded = seed_repositories(&emu, 119);
    assert!(seeded.iter().all(|id| is_13_digits(id)));

    steps.at("one page by hand");
    // One page by hand: the envelope echoes offset and limit.
    let first = abeja
        .list_repositories()
        .organization_id(ORG)
        .limit(25)
        .send()
        .await
        .expect("list")
        .into_inner();
    assert_eq!((first.offset, first.limit, first.has_next), (0, 25, true));
    assert_eq!(first.registry_repositories.len(), 25);
    assert_eq!(first.registry_repositories[0].id, created.id);
    assert!(
        first
            .registry_repositories
            .iter()
            .all(|r| r.tags.is_empty()),
        "list entries carry no tags"
    );
    let last = abeja
        .list_repositories()
        .organization_id(ORG)
        .offset(100)
        .limit(25)
        .send()
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        (last.offset, last.registry_repositories.len(), last.has_next),
        (100, 20, false)
    );
    let exact = abeja
        .list_repositories()
        .organization_id(ORG)
        .offset(95)
        .limit(25)
        .send()
        .await
        .expect("list")
        .into_inner();
    assert!(
        !exact.has_next,
        "a page ending on the last item is the last page"
    );
    let beyond = abeja
        .list_repositories()
        .organization_id(ORG)
        .offset(500)
        .send()
        .await
        .expect("list")
        .into_inner();
    assert!(beyond.registry_repositories.is_empty() && !beyond.has_next);

    steps.at("the default page size is 10");
    // The default page size is 10.
    let default = abeja
        .list_repositories()
        .organization_id(ORG)
        .send()
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        (default.limit, default.registry_repositories.len()),
        (10, 10)
    );

    steps.at("every repository once, walking has_next");
    // Every repository once, walking has_next.
    let all: Vec<types::Repository> = abeja
        .list_repositories()
        .organization_id(ORG)
        .limit(17)
        .stream()
        .try_collect()
        .await
        .expect("walk");
    let ids: Vec<String> = all.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 120);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        120,
        "every repository once"
    );
    assert_eq!(ids[1..], seeded[..], "in creation order");

    let got = abeja
        .get_repository()
        .organization_id(ORG)
        .repository_id(&created.id)
        .send()
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.name, "object-detector");

    let deleted = abeja
        .delete_repository()
        .organization_id(ORG)
        .repository_id(&created.id)
        .send()
        .await
        .expect("delete")
        .into_inner()
        .expect("the emulator answers with the deleted record");
    assert_eq!(
        deleted.id, created.id,
        "delete answers with the record it removed"
    );

    for result in [
        abeja
            .get_repository()
            .organization_id(ORG)
            .repository_id(&created.id)
            .send()
            .await
            .map(|_| ()),
        abeja
            .delete_repository()
            .organization_id(ORG)
            .repository_id(&created.id)
            .send()
            .await
            .map(|_| ()),
        abeja
            .list_repository_tags()
            .organization_id(ORG)
            .repository_id(&created.id)
            .send()
            .await
            .map(|_| ()),
    ] {
        let err = result.expect_err("deleted");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
        let body = err.error_body().expect("ABEJA's error body decodes");
        assert_eq!(body.error, "not_found");
        assert!(
            body.error_description
                .as_deref()
                .is_some_and(|d| d.contains(&created.id))
        );
    }
    assert_eq!(emu.world().abeja.organizations[ORG].repositories.len(), 119);
}

#[tokio::test]
async fn tags_are_listed_page_by_page() {
    let emu = frozen().await;
    let abeja = emu.abeja();
    let repo = emu.seed(|world, ids, now| {
        let repo = world.abeja.add_repository(ORG, "trainer", None, ids, now);
        for i in 0..45 {
            assert!(
                world
                    .abeja
                    .add_tag(ORG, &repo, &format!("0.0.{i}"), ids, now)
            );
        }
        repo
    });
    let page = abeja
        .list_repository_tags()
        .organization_id(ORG)
        .repository_id(&repo)
        .limit(20)
        .offset(40)
        .send()
        .await
        .expect("tags")
        .into_inner();
    assert_eq!((page.offset, page.limit, page.has_next), (40, 20, false));
    assert_eq!(page.tags.len(), 5);
    assert_eq!(page.registry_repository_id, repo);
    assert_eq!(page.organization_id.to_string(), ORG);
    let tag = &page.tags[0];
    assert_eq!(tag.name, "0.0.40");
    assert!(tag.digest.starts_with("sha256:") && tag.digest.len() == 71);
    assert!(tag.size > 0 && tag.id >= 1_000_000_000_000);

    let all: Vec<types::Tag> = abeja
        .list_repository_tags()
        .organization_id(ORG)
        .repository_id(&repo)
        .limit(7)
        .stream()
        .try_collect()
        .await
        .expect("walk");
    let names: BTreeSet<String> = all.iter().map(|t| t.name.clone()).collect();
    assert_eq!((all.len(), names.len()), (45, 45), "every tag once");
}

#[tokio::test]
async fn names_are_unique_per_organization() {
    let emu = frozen().await;
    let abeja = emu.abeja();
    abeja
        .create_repository()
        .organization_id(ORG)
        .body(create("detector", None))
        .send()
        .await
        .expect("create");
    let conflict = abeja
        .create_repository()
        .organization_id(ORG)
        .body(create("detector", Some("again")))
        .send()
        .await
        .expect_err("taken");
    assert_eq!(conflict.status().map(|s| s.as_u16()), Some(409));
    let body = conflict.error_body().expect("ABEJA's error body");
    assert_eq!(body.error, "conflict");
    abeja
        .create_repository()
        .organization_id("1410000000001")
        .body(create("detector", None))
        .send()
        .await
        .expect("another organization's namespace");
}

#[tokio::test]
async fn bad_input_gets_400_and_bad_credentials_401_with_abejas_body() {
    let emu = frozen().await;
    let bearer = Some(format!(
        "Bearer {}",
        emu.token(Provider::Abeja).expose_secret()
    ));
    let path = format!("/organizations/{ORG}/registry/repositories");
    for body in [
        json!({}),
        json!({"name": 42}),
        json!({"name": ""}),
        json!({"name": "Has Spaces"}),
        json!({"name": "ok", "description": 7}),
    ] {
        let (status, answer) = raw(
            &emu,
            Provider::Abeja,
            reqwest::Method::POST,
            &path,
            bearer.clone(),
            json_body(&body),
        )
        .await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["error"], "bad_request", "{body} → {answer}");
        assert!(answer["error_description"].is_string());
    }
    for query in ["?limit=-1", "?offset=abc", "?limit=99999999999"] {
        let (status, answer) = raw(
            &emu,
            Provider::Abeja,
            reqwest::Method::GET,
            &format!("{path}{query}"),
            bearer.clone(),
            None,
        )
        .await;
        assert_eq!(status, 400, "{query} → {answer}");
        assert_eq!(answer["error"], "bad_request");
    }
    // A null description is allowed, as the CLI sends it.
    let (status, answer) = raw(
        &emu,
        Provider::Abeja,
        reqwest::Method::POST,
        &path,
        bearer.clone(),
        json_body(&json!({"name": "from-cli", "description": null})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["description"].is_null());

    for auth in [
        None,
        Some("Bearer nope".to_string()),
        Some("Basic dXNlci0xOnBhc3M=".to_string()),
    ] {
        let (status, answer) = raw(
            &emu,
            Provider::Abeja,
            reqwest::Method::GET,
            &path,
            auth,
            None,
        )
        .await;
        assert_eq!(status, 401);
        assert_eq!(answer["error"], "unauthorized", "{answer}");
    }

    // The Basic pair (user-<id>, personal access token) works as well.
    let (user, token) = emu
        .credentials(Provider::Abeja)
        .basic
        .expect("ABEJA accepts Basic");
    let basic = emu
        .client_builder::<regkit_abeja::Client>()
        .basic_auth(user, token)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    basic
        .list_repositories()
        .organization_id(ORG)
        .send()
        .await
        .expect("Basic auth is accepted");
}

#[tokio::test]
async fn demo_content_is_served() {
    let emu = Emulator::builder().demo(true).start().await.expect("start");
    let abeja = emu.abeja();
    let list = abeja
        .list_repositories()
        .organization_id(ORG)
        .send()
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.registry_repositories.len(), 2);
    let tags = abeja
        .list_repository_tags()
        .organization_id(ORG)
        .repository_id(&list.registry_repositories[0].id)
        .send()
        .await
        .expect("tags")
        .into_inner();
    assert!(!tags.tags.is_empty());
}

// ------------------------------------------------------------- conformance

#[tokio::test]
async fn every_operation_passes_a_validating_prism_proxy() {
    let emu = Emulator::start().await.expect("start");
    let seeded = emu.seed(|world, ids, now| {
        let repo = world
            .abeja
            .add_repository(ORG, "seeded", Some("with tags"), ids, now);
        for i in 0..3 {
            world
                .abeja
                .add_tag(ORG, &repo, &format!("1.0.{i}"), ids, now);
        }
        repo
    });
    let prism = Prism::proxy("abeja", &emu.url(Provider::Abeja));
    let abeja = emu
        .client_builder::<regkit_abeja::Client>()
        .base_url(prism.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let mut run = Run::new(&prism);

    let created = run.check(
        "create_repository",
        abeja
            .create_repository()
            .organization_id(ORG)
            .body(create("object-detector", None))
            .send()
            .await,
    );
    run.check(
        "create_repository",
        abeja
            .create_repository()
            .organization_id(ORG)
            .body(create("described", Some("a description")))
            .send()
            .await,
    );
    run.check(
        "list_repositories",
        abeja
            .list_repositories()
            .organization_id(ORG)
            .limit(2)
            .send()
            .await,
    );
    run.check(
        "list_repositories",
        abeja
            .list_repositories()
            .organization_id(ORG)
            .offset(2)
            .limit(2)
            .send()
            .await,
    );
    run.check(
        "get_repository",
        abeja
            .get_repository()
            .organization_id(ORG)
            .repository_id(&seeded)
            .send()
            .await,
    );
    run.check(
        "list_repository_tags",
        abeja
            .list_repository_tags()
            .organization_id(ORG)
            .repository_id(&seeded)
            .limit(2)
            .send()
            .await,
    );
    if let Some(created) = created {
        run.check(
            "delete_repository",
            abeja
                .delete_repository()
                .organization_id(ORG)
                .repository_id(&created.id)
                .send()
                .await,
        );
        match abeja
            .get_repository()
            .organization_id(ORG)
            .repository_id(&created.id)
            .send()
            .await
        {
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
    }

    run.finish();
}
