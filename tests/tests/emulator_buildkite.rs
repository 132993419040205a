//! The emulated Buildkite Package Registries API through the generated
//! client: registries (slug from the name, names unique → 422), packages
//! published with the hand-written multipart `publish_package`, listed
//! newest first across pages by `links.next`, copied and deleted, registry
//! tokens whose secret is shown once, `Link`-header paging of registries
//! and tokens, Buildkite's `{message, errors}` on bad input and bad
//! credentials, and every operation through a validating Prism proxy.

use regkit_tests::emulator::frozen;
use std::collections::BTreeSet;
use std::fmt::Debug;

use futures::TryStreamExt;
use regkit_buildkite::{PackageFile, types};
use regkit_core::runtime::ResponseValue;
use regkit_core::{Error, RetryPolicy};
use regkit_emulator::{Emulator, Provider};
use regkit_tests::emulator::raw;
use regkit_tests::prism::{Prism, Run};
use serde_json::json;

const ORG: &str = "acme";

fn registry(name: &str, ecosystem: &str) -> types::RegistryCreate {
    types::RegistryCreate {
        color: None,
        description: None,
        ecosystem: ecosystem.to_string(),
        emoji: None,
        name: name.to_string(),
        oidc_policy: None,
        team_ids: Vec::new(),
    }
}

fn status<T: Debug, E: Debug>(r: &Result<ResponseValue<T>, Error<E>>) -> Option<u16> {
    match r {
        Ok(v) => Some(v.status().as_u16()),
        Err(e) => e.status().map(|s| s.as_u16()),
    }
}

#[tokio::test]
async fn registries_packages_and_tokens_live_from_create_to_404() {
    let mut steps = regkit_tests::Steps::new();
    let emu = frozen().await;
    let bk = emu.buildkite();

    let gems = bk
        .create_registry()
        .org_slug(ORG)
        .body(types::RegistryCreate {
            description: Some("Internal gems".into()),
            emoji: Some(":gem:".into()),
            ..registry("Ruby Gems", "ruby")
        })
        .send()
        .await
        .expect("create")
        .into_inner();
    assert_eq!(gems.slug, "ruby-gems");
    assert_eq!(gems.ecosystem, "ruby");
    assert!(
        gems.url
            .ends_with("/v2/packages/organizations/acme/registries/ruby-gems")
    );
    bk.create_registry()
        .org_slug(ORG)
        .body(registry("Ruby Production", "ruby"))
        .send()
        .await
        .expect("create");

    steps.at("publish through the hand-written multipart operation");
    // Publish through the hand-written multipart operation.
    let published = bk
        .publish_package()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .file(PackageFile::new("banana-1.0.0.gem", b"gem bytes".to_vec()))
        .send()
        .await
        .expect("publish")
        .into_inner();
    assert_eq!(published.name, "banana");
    assert_eq!(published.version.as_deref(), Some("1.0.0"));
    assert_eq!(published.registry.slug, "ruby-gems");
    assert_eq!(published.organization.slug, ORG);
    let digests = published.digests.clone().expect("digests");
    assert_eq!((digests.sha256.len(), digests.sha512.len()), (64, 128));

    let again = bk
        .publish_package()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .file(PackageFile::new("banana-1.0.0.gem", b"gem bytes".to_vec()))
        .send()
        .await
        .expect_err("the same version twice");
    assert_eq!(again.status().map(|s| s.as_u16()), Some(422));

    steps.at("250 more, then every package once, newest first, across pages");
    // 250 more, then every package once, newest first, across pages.
    emu.seed(|world, ids, now| {
        for i in 0..250 {
            world
                .buildkite
                .add_package(ORG, "ruby-gems", &format!("gem{i:03}"), "0.1.0", ids, now)
                .expect("the registry exists");
        }
    });
    let first = bk
        .list_packages()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .per_page(100)
        .send()
        .await
        .expect("page")
        .into_inner();
    assert_eq!(first.items.len(), 100);
    assert_eq!(first.items[0].name, "gem249", "newest first");
    assert!(first.links.next.is_some() && first.links.prev.is_none());
    let all: Vec<types::PackageListItem> = bk
        .list_packages()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .expect("walk");
    let ids: BTreeSet<&str> = all.iter().map(|p| p.id.as_str()).collect();
    assert_eq!((all.len(), ids.len()), (251, 251), "every package once");
    assert_eq!(all.last().map(|p| p.name.as_str()), Some("banana"));

    steps.at("links.prev leads back to the page before");
    // links.prev leads back to the page before.
    let second = bk
        .list_packages()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .per_page(100)
        .after(query_param(
            first.links.next.as_deref().unwrap_or(""),
            "after",
        ))
        .send()
        .await
        .expect("second page")
        .into_inner();
    assert_eq!(second.items[0].name, "gem149");
    let back = bk
        .list_packages()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .per_page(100)
        .before(query_param(
            second.links.prev.as_deref().unwrap_or(""),
            "before",
        ))
        .send()
        .await
        .expect("back")
        .into_inner();
    assert_eq!(back.items[0].id, first.items[0].id);

    steps.at("filter by name");
    // Filter by name.
    let only = bk
        .list_packages()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .name("banana")
        .send()
        .await
        .expect("filtered")
        .into_inner();
    assert_eq!(only.items.len(), 1);

    let copy = bk
        .copy_package()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .package_id(&published.id)
        .to("ruby-production")
        .send()
        .await
        .expect("copy")
        .into_inner();
    assert_ne!(copy.id, published.id);
    assert_eq!(copy.registry.slug, "ruby-production");
    assert_eq!(copy.digests.map(|d| d.sha256), Some(digests.sha256.clone()));

    let got = bk
        .get_package()
        .org_slug(ORG)
        .registry_slug("ruby-production")
        .package_id(&copy.id)
        .send()
        .await
        .expect("get the copy")
        .into_inner();
    assert_eq!(got.name, "banana");

    let deleted = bk
        .delete_package()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .package_id(&published.id)
        .send()
        .await;
    assert!(matches!(status(&deleted), Some(200 | 204)), "{deleted:?}");
    let gone = bk
        .get_package()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .package_id(&published.id)
        .send()
        .await
        .expect_err("deleted");
    assert!(gone.is_not_found());
    assert_eq!(
        gone.error_body().map(|b| b.message.as_str()),
        Some("Not Found")
    );

    steps.at("tokens");
    // Tokens: the secret comes with the create answer only.
    let token = bk
        .create_registry_token()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .body(types::RegistryTokenRequest {
            description: "CI read access".into(),
        })
        .send()
        .await
        .expect("create token")
        .into_inner();
    let secret = token.token.clone().expect("the secret, once");
    assert!(secret.expose_secret().starts_with("bkpt_"));
    assert!(
        !emu.snapshot().to_json().contains(secret.expose_secret()),
        "the secret is not kept"
    );
    let fetched = bk
        .get_registry_token()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .token_id(&token.id)
        .send()
        .await
        .expect("get token")
        .into_inner();
    assert!(fetched.token.is_none(), "no secret after create");
    let renamed = bk
        .update_registry_token()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .token_id(&token.id)
        .body(types::RegistryTokenRequest {
            description: "Staging read access".into(),
        })
        .send()
        .await
        .expect("update token")
        .into_inner();
    assert_eq!(renamed.description, "Staging read access");
    let listed = bk
        .list_registry_tokens()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .send()
        .await
        .expect("list tokens")
        .into_inner();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].token.is_none());
    bk.delete_registry_token()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .token_id(&token.id)
        .send()
        .await
        .expect("delete token");
    let gone = bk
        .get_registry_token()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .token_id(&token.id)
        .send()
        .await
        .expect_err("deleted");
    assert!(gone.is_not_found());

    steps.at("registry update (POST) and delete");
    // Registry update (POST) and delete.
    let updated = bk
        .update_registry()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .body(types::RegistryUpdate {
            name: Some("Ruby gems (internal)".into()),
            description: Some(regkit_core::Nullable::Null),
            ..types::RegistryUpdate::default()
        })
        .send()
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.name, "Ruby gems (internal)");
    assert_eq!(updated.slug, "ruby-gems", "the slug stays");
    assert!(updated.description.is_none());
    assert_eq!(
        updated.emoji.as_deref(),
        Some(":gem:"),
        "untouched fields stay"
    );
    bk.delete_registry()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .send()
        .await
        .expect("delete");
    let gone = bk
        .get_registry()
        .org_slug(ORG)
        .registry_slug("ruby-gems")
        .send()
        .await
        .expect_err("deleted");
    assert!(gone.is_not_found());
}

fn query_param(url: &str, key: &str) -> String {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn registries_and_tokens_page_with_a_link_header() {
    let emu = frozen().await;
    let bk = emu.buildkite();
    emu.seed(|world, ids, now| {
        for i in 0..130 {
            world
                .buildkite
                .add_registry(ORG, &format!("registry {i:03}"), "files", ids, now);
        }
    });
    let first = bk
        .list_registries()
        .org_slug(ORG)
        .per_page(50)
        .send()
        .await
        .expect("page");
    let link = first
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=2"),
        "{link}"
    );
    assert!(
        link.contains("rel=\"last\"") && link.contains("page=3"),
        "{link}"
    );
    assert_eq!(first.into_inner().len(), 50);
    let last = bk
        .list_registries()
        .org_slug(ORG)
        .page(3)
        .per_page(50)
        .send()
        .await
        .expect("last page");
    let link = last
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(!link.contains("rel=\"next\""), "{link}");
    assert_eq!(last.into_inner().len(), 30);

    let all: Vec<types::Registry> = bk
        .list_registries()
        .org_slug(ORG)
        .per_page(50)
        .stream()
        .try_collect()
        .await
        .expect("walk");
    let slugs: BTreeSet<String> = all.iter().map(|r| r.slug.clone()).collect();
    assert_eq!((all.len(), slugs.len()), (130, 130), "every registry once");

    // The default page is 30.
    let default = bk
        .list_registries()
        .org_slug(ORG)
        .send()
        .await
        .expect("page")
        .into_inner();
    assert_eq!(default.len(), 30);

    for i in 0..35 {
        bk.create_registry_token()
            .org_slug(ORG)
            .registry_slug("registry-000")
            .body(types::RegistryTokenRequest {
                description: format!("token {i}"),
            })
            .send()
            .await
            .expect("token");
    }
    let tokens: Vec<types::RegistryToken> = bk
        .list_registry_tokens()
        .org_slug(ORG)
        .registry_slug("registry-000")
        .per_page(10)
        .stream()
        .try_collect()
        .await
        .expect("walk tokens");
    let ids: BTreeSet<String> = tokens.iter().map(|t| t.id.clone()).collect();
    assert_eq!((tokens.len(), ids.len()), (35, 35));
}

#[tokio::test]
async fn names_are_unique_and_copies_follow_the_ecosystem_rules() {
    let emu = frozen().await;
    let bk = emu.buildkite();
    bk.create_registry()
        .org_slug(ORG)
        .body(registry("images", "container"))
        .send()
        .await
        .expect("create");
    for (name, ecosystem) in [("images", "container"), ("Images", "python")] {
        let taken = bk
            .create_registry()
            .org_slug(ORG)
            .body(registry(name, ecosystem))
            .send()
            .await
            .expect_err("taken");
        assert_eq!(taken.status().map(|s| s.as_u16()), Some(422));
        let body = taken.error_body().expect("Buildkite's error body");
        assert_eq!(body.message, "Validation Failed");
        assert!(!body.errors.is_empty());
    }
    // Another organization has its own names.
    bk.create_registry()
        .org_slug("other-org")
        .body(registry("images", "container"))
        .send()
        .await
        .expect("another organization");

    let unknown = bk
        .create_registry()
        .org_slug(ORG)
        .body(registry("snakes", "cobol"))
        .send()
        .await
        .expect_err("unknown ecosystem");
    assert_eq!(unknown.status().map(|s| s.as_u16()), Some(422));

    bk.create_registry()
        .org_slug(ORG)
        .body(registry("more images", "container"))
        .send()
        .await
        .expect("create");
    bk.create_registry()
        .org_slug(ORG)
        .body(registry("wheels", "python"))
        .send()
        .await
        .expect("create");
    let image = bk
        .publish_package()
        .org_slug(ORG)
        .registry_slug("images")
        .file(PackageFile::new("api-1.0.0.tar", b"layers".to_vec()))
        .send()
        .await
        .expect("publish")
        .into_inner();
    for to in ["more-images", "wheels"] {
        let refused = bk
            .copy_package()
            .org_slug(ORG)
            .registry_slug("images")
            .package_id(&image.id)
            .to(to)
            .send()
            .await
            .expect_err("container packages are not copied");
        assert_eq!(refused.status().map(|s| s.as_u16()), Some(422));
    }
    let missing = bk
        .copy_package()
        .org_slug(ORG)
        .registry_slug("images")
        .package_id(&image.id)
        .to("no-such-registry")
        .send()
        .await
        .expect_err("no target");
    assert!(missing.is_not_found());

    // A package URL from the presigned upload works as well as a file.
    let upload = bk
        .create_package_upload()
        .org_slug(ORG)
        .registry_slug("wheels")
        .send()
        .await
        .expect("upload form")
        .into_inner();
    assert_eq!(upload.form.file_input, "file");
    assert!(upload.form.data.contains_key("key"));
    let wheel = bk
        .publish_package()
        .org_slug(ORG)
        .registry_slug("wheels")
        .package_url(format!("{}/pkg-2.0.0-py3-none-any.whl", upload.uri))
        .send()
        .await
        .expect("publish by URL")
        .into_inner();
    assert_eq!(
        (wheel.name.as_str(), wheel.version.as_deref()),
        ("pkg", Some("2.0.0"))
    );
}

#[tokio::test]
async fn bad_input_gets_422_and_bad_credentials_401_with_buildkites_body() {
    let emu = frozen().await;
    let bearer = Some(format!(
        "Bearer {}",
        emu.token(Provider::Buildkite).expose_secret()
    ));
    let regs = format!("/v2/packages/organizations/{ORG}/registries");
    for body in [
        json!({"ecosystem": "ruby"}),
        json!({"name": "x"}),
        json!({"name": 5, "ecosystem": "ruby"}),
        json!({"name": "", "ecosystem": "ruby"}),
        json!({"name": "ok", "ecosystem": "ruby", "team_ids": "not-a-list"}),
    ] {
        let bytes = serde_json::to_vec(&body).expect("json");
        let (status, answer) = raw(
            &emu,
            Provider::Buildkite,
            reqwest::Method::POST,
            &regs,
            bearer.clone(),
            Some(("application/json", bytes)),
        )
        .await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    emu.seed(|world, ids, now| world.buildkite.add_registry(ORG, "gems", "ruby", ids, now));
    let packages = format!("{regs}/gems/packages");
    for (content_type, body) in [
        ("multipart/form-data; boundary=b", b"garbage".to_vec()),
        ("multipart/form-data", b"--b\r\n\r\n".to_vec()),
        ("application/json", b"{}".to_vec()),
        (
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n".to_vec(),
        ),
    ] {
        let (status, answer) = raw(
            &emu,
            Provider::Buildkite,
            reqwest::Method::POST,
            &packages,
            bearer.clone(),
            Some((content_type, body)),
        )
        .await;
        assert_eq!(status, 422, "{content_type} → {answer}");
        assert!(answer["message"].is_string());
    }
    for query in ["?per_page=0", "?after=%%%", "?per_page=abc"] {
        let (status, _) = raw(
            &emu,
            Provider::Buildkite,
            reqwest::Method::GET,
            &format!("{packages}{query}"),
            bearer.clone(),
            None,
        )
        .await;
        assert_eq!(status, 422, "{query}");
    }
    let (status, _) = raw(
        &emu,
        Provider::Buildkite,
        reqwest::Method::POST,
        &format!("{packages}/some-id/copy"),
        bearer.clone(),
        None,
    )
    .await;
    assert_eq!(status, 422, "copy without `to`");

    for auth in [None, Some("Bearer bkua_wrong".to_string())] {
        let (status, answer) = raw(
            &emu,
            Provider::Buildkite,
            reqwest::Method::GET,
            &regs,
            auth,
            None,
        )
        .await;
        assert_eq!(status, 401);
        assert!(answer["message"].is_string(), "{answer}");
    }
}

#[tokio::test]
async fn demo_content_is_served() {
    let emu = Emulator::builder().demo(true).start().await.expect("start");
    let bk = emu.buildkite();
    let registries = bk
        .list_registries()
        .org_slug("demo")
        .send()
        .await
        .expect("list")
        .into_inner();
    assert!(registries.iter().any(|r| r.ecosystem == "container"));
    let images = registries
        .iter()
        .find(|r| r.ecosystem == "container")
        .map(|r| r.slug.clone())
        .unwrap_or_default();
    let packages = bk
        .list_packages()
        .org_slug("demo")
        .registry_slug(images)
        .send()
        .await
        .expect("packages")
        .into_inner();
    assert!(packages.items.len() >= 3);
}

// ------------------------------------------------------------- conformance

#[tokio::test]
async fn every_operation_passes_a_validating_prism_proxy() {
    let emu = Emulator::start().await.expect("start");
    emu.seed(|world, ids, now| {
        world.buildkite.add_registry(ORG, "gems", "ruby", ids, now);
        for i in 0..5 {
            world
                .buildkite
                .add_package(ORG, "gems", &format!("seeded{i}"), "1.0.0", ids, now);
        }
    });
    let prism = Prism::proxy("buildkite", &emu.url(Provider::Buildkite));
    let bk = emu
        .client_builder::<regkit_buildkite::Client>()
        .base_url(prism.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let mut run = Run::new(&prism);

    let statement: types::OidcStatement = serde_json::from_value(json!({
        "iss": "https://agent.buildkite.com",
        "claims": {"organization_slug": "acme", "pipeline_slug": {"in": ["release"]}}
    }))
    .expect("an OIDC statement");
    run.check(
        "create_registry",
        bk.create_registry()
            .org_slug(ORG)
            .body(types::RegistryCreate {
                description: Some("Production gems".into()),
                emoji: Some(":gem:".into()),
                color: Some("#f0ccff".into()),
                oidc_policy: Some(types::OidcPolicy::Array(vec![statement])),
                ..registry("ruby production", "ruby")
            })
            .send()
            .await,
    );
    run.check(
        "list_registries",
        bk.list_registries().org_slug(ORG).per_page(1).send().await,
    );
    run.check(
        "get_registry",
        bk.get_registry()
            .org_slug(ORG)
            .registry_slug("ruby-production")
            .send()
            .await,
    );
    run.check(
        "update_registry",
        bk.update_registry()
            .org_slug(ORG)
            .registry_slug("ruby-production")
            .body(types::RegistryUpdate {
                description: Some(regkit_core::Nullable::Value("Gems for production".into())),
                ..types::RegistryUpdate::default()
            })
            .send()
            .await,
    );
    let published = run.check(
        "publish_package",
        bk.publish_package()
            .org_slug(ORG)
            .registry_slug("gems")
            .file(PackageFile::new("banana-1.0.0.gem", b"gem".to_vec()))
            .send()
            .await,
    );
    let page = run.check(
        "list_packages",
        bk.list_packages()
            .org_slug(ORG)
            .registry_slug("gems")
            .per_page(2)
            .send()
            .await,
    );
    if let Some(next) = page.and_then(|p| p.links.next) {
        run.check(
            "list_packages",
            bk.list_packages()
                .org_slug(ORG)
                .registry_slug("gems")
                .per_page(2)
                .after(query_param(&next, "after"))
                .send()
                .await,
        );
    } else {
        run.fail("list_packages: no links.next".into());
    }
    run.check(
        "create_package_upload",
        bk.create_package_upload()
            .org_slug(ORG)
            .registry_slug("gems")
            .send()
            .await,
    );
    if let Some(published) = published {
        run.check(
            "get_package",
            bk.get_package()
                .org_slug(ORG)
                .registry_slug("gems")
                .package_id(&published.id)
                .send()
                .await,
        );
        run.check(
            "copy_package",
            bk.copy_package()
                .org_slug(ORG)
                .registry_slug("gems")
                .package_id(&published.id)
                .to("ruby-production")
                .send()
                .await,
        );
        run.check(
            "delete_package",
            bk.delete_package()
                .org_slug(ORG)
                .registry_slug("gems")
                .package_id(&published.id)
                .send()
                .await,
        );
    }
    let token = run.check(
        "create_registry_token",
        bk.create_registry_token()
            .org_slug(ORG)
            .registry_slug("gems")
            .body(types::RegistryTokenRequest {
                description: "read".into(),
            })
            .send()
            .await,
    );
    run.check(
        "list_registry_tokens",
        bk.list_registry_tokens()
            .org_slug(ORG)
            .registry_slug("gems")
            .send()
            .await,
    );
    if let Some(token) = token {
        run.check(
            "get_registry_token",
            bk.get_registry_token()
                .org_slug(ORG)
                .registry_slug("gems")
                .token_id(&token.id)
                .send()
                .await,
        );
        run.check(
            "update_registry_token",
            bk.update_registry_token()
                .org_slug(ORG)
                .registry_slug("gems")
                .token_id(&token.id)
                .body(types::RegistryTokenRequest {
                    description: "read, renamed".into(),
                })
                .send()
                .await,
        );
        run.check(
            "delete_registry_token",
            bk.delete_registry_token()
                .org_slug(ORG)
                .registry_slug("gems")
                .token_id(&token.id)
                .send()
                .await,
        );
    }
    run.check(
        "delete_registry",
        bk.delete_registry()
            .org_slug(ORG)
            .registry_slug("ruby-production")
            .send()
            .await,
    );
    match bk
        .get_registry()
        .org_slug(ORG)
        .registry_slug("ruby-production")
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

    run.finish();
}
