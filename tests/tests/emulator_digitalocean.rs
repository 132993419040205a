//! regkit-emulator's DigitalOcean Container Registry, through the generated
//! client: registries and the single-registry view, subscription tiers and
//! their limits, Docker credentials, repositories, tags and manifests with
//! DO's paging, garbage collection on the virtual clock, DO's error bodies,
//! and every operation of `specs/digitalocean.yaml` through a validating
//! Prism proxy.

use regkit_tests::emulator::frozen;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::Duration;

use futures::TryStreamExt;
use regkit_core::{Error, RetryPolicy};
use regkit_digitalocean::types;
use regkit_emulator::providers::digitalocean::{
    GC_DELETING, GC_REQUESTED, GC_SCANNING, GC_WAITING_FOR_JWTS, Tier,
};
use regkit_emulator::{Emulator, Provider};
use regkit_tests::prism::{Prism, Run};

/// A client that shows every answer as it was sent (no retries).
fn client(emu: &Emulator) -> regkit_digitalocean::Client {
    emu.client_builder::<regkit_digitalocean::Client>()
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn std_duration(d: chrono::TimeDelta) -> Duration {
    d.to_std().unwrap()
}

/// The status and DO error body of a failed call.
fn refusal<T: Debug>(result: Result<T, Error<types::Error>>) -> (u16, types::Error) {
    let err = result.expect_err("the call should have been refused");
    let status = err.status().map(|s| s.as_u16()).unwrap_or_default();
    let body = err
        .error_body()
        .cloned()
        .unwrap_or_else(|| panic!("DO's error body decodes: {err:?}"));
    assert!(
        body.request_id.is_some(),
        "DO error bodies carry a request id"
    );
    (status, body)
}

async fn create(client: &regkit_digitalocean::Client, name: &str, tier: &str) {
    client
        .registries_create()
        .body_map(|b| {
            b.name(name)
                .subscription_tier_slug(Some(tier.into()))
                .region(Some("fra1".into()))
        })
        .send()
        .await
        .unwrap();
}

/// Standard base64, enough to read a Docker `auth` value.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("a base64 character") as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

async fn gc_status(client: &regkit_digitalocean::Client, registry: &str) -> String {
    client
        .registries_get_garbage_collection()
        .registry_name(registry)
        .send()
        .await
        .unwrap()
        .into_inner()
        .garbage_collection
        .unwrap()
        .status
        .unwrap()
        .to_string()
}

async fn storage(client: &regkit_digitalocean::Client, registry: &str) -> i64 {
    client
        .registries_get()
        .registry_name(registry)
        .send()
        .await
        .unwrap()
        .into_inner()
        .registry
        .unwrap()
        .storage_usage_bytes
        .unwrap()
}

#[tokio::test]
async fn five_thousand_tags_are_walked_untagged_and_garbage_collected_on_the_virtual_clock() {
    let mut steps = regkit_tests::Steps::new();
    let emu = frozen().await;
    let do_ = client(&emu);
    create(&do_, "acme", "professional").await;
    steps.at("4 999 versions plus `latest`");
    // 4 999 versions plus `latest`: 5 000 tags, each on a manifest of its own.
    emu.seed(|world, ids, now| {
        let account = &mut world.digitalocean;
        account
            .seed_repository("acme", "team/big", 4999, ids, now)
            .unwrap();
        account.seed_repository("acme", "web", 3, ids, now).unwrap();
    });

    let tags: Vec<types::RepositoryTag> = do_
        .registries_list_repository_tags()
        .registry_name("acme")
        .repository_name("team/big")
        .per_page(100u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = tags.iter().map(|t| t.tag.clone().unwrap()).collect();
    assert_eq!(tags.len(), 5000);
    assert_eq!(names.len(), 5000, "every tag is seen once");
    assert!(
        tags.iter()
            .all(|t| t.repository.as_deref() == Some("team/big"))
    );

    steps.at("one page as DO shapes it");
    // One page as DO shapes it: absolute links both ways and the total.
    let page = do_
        .registries_list_repository_tags()
        .registry_name("acme")
        .repository_name("team/big")
        .page(2u64)
        .per_page(100u64)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.meta.total, 5000);
    assert_eq!(page.tags.len(), 100);
    let pages = page.links.unwrap().pages.unwrap();
    let base = format!(
        "{}/v2/registries/acme/repositories/team%2Fbig/tags",
        emu.url(Provider::DigitalOcean)
    );
    assert_eq!(pages.first.unwrap(), format!("{base}?page=1&per_page=100"));
    assert_eq!(pages.prev.unwrap(), format!("{base}?page=1&per_page=100"));
    assert_eq!(pages.next.unwrap(), format!("{base}?page=3&per_page=100"));
    assert_eq!(pages.last.unwrap(), format!("{base}?page=50&per_page=100"));

    steps.at("untag ten versions");
    // Untag ten versions: their manifests stay, untagged, and keep their blobs.
    let manifests_before = do_
        .registries_list_repository_manifests()
        .registry_name("acme")
        .repository_name("team/big")
        .per_page(1u64)
        .send()
        .await
        .unwrap()
        .into_inner()
        .meta
        .total;
    for i in 1..=10 {
        do_.registries_delete_repository_tag()
            .registry_name("acme")
            .repository_name("team/big")
            .repository_tag(format!("v{i}"))
            .send()
            .await
            .unwrap();
    }
    let (status, body) = refusal(
        do_.registries_delete_repository_tag()
            .registry_name("acme")
            .repository_name("team/big")
            .repository_tag("v1")
            .send()
            .await,
    );
    assert_eq!((status, body.id.as_str()), (404, "not_found"));
    let before = storage(&do_, "acme").await;

    let started = do_
        .registries_run_garbage_collection()
        .registry_name("acme")
        .body_map(|b| {
            b.type_(Some(
                types::GarbageCollectionType::UntaggedManifestsAndUnreferencedBlobs,
            ))
        })
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 201);
    let gc = started.into_inner().garbage_collection.unwrap();
    assert_eq!(gc.status.unwrap().to_string(), "requested");
    let uuid = gc.uuid.unwrap();

    steps.at("one active run per registry");
    // One active run per registry.
    let (status, body) = refusal(
        do_.registries_run_garbage_collection()
            .registry_name("acme")
            .send()
            .await,
    );
    assert_eq!((status, body.id.as_str()), (409, "conflict"));

    for (length, next) in [
        (GC_REQUESTED, "waiting for write JWTs to expire"),
        (GC_WAITING_FOR_JWTS, "scanning manifests"),
        (GC_SCANNING, "deleting unreferenced blobs"),
    ] {
        emu.advance(std_duration(length) - Duration::from_secs(1));
        assert_ne!(gc_status(&do_, "acme").await, next, "not a second early");
        emu.advance(Duration::from_secs(1));
        assert_eq!(gc_status(&do_, "acme").await, next);
        assert_eq!(
            storage(&do_, "acme").await,
            before,
            "nothing freed before it succeeds"
        );
    }
    emu.advance(std_duration(GC_DELETING));
    let (status, _) = refusal(
        do_.registries_get_garbage_collection()
            .registry_name("acme")
            .send()
            .await,
    );
    assert_eq!(status, 404, "no active run once it has succeeded");
    let done = do_
        .registries_list_garbage_collections()
        .registry_name("acme")
        .send()
        .await
        .unwrap()
        .into_inner()
        .garbage_collections
        .remove(0);
    assert_eq!(done.uuid.as_deref(), Some(uuid.as_str()));
    assert_eq!(done.status.unwrap().to_string(), "succeeded");
    let freed = done.freed_bytes.unwrap();
    assert!(freed > 0 && done.blobs_deleted.unwrap() > 0, "{freed}");
    assert_eq!(storage(&do_, "acme").await, before - freed);
    let manifests_after = do_
        .registries_list_repository_manifests()
        .registry_name("acme")
        .repository_name("team/big")
        .per_page(1u64)
        .send()
        .await
        .unwrap()
        .into_inner()
        .meta
        .total;
    assert_eq!(
        manifests_after,
        manifests_before - 10,
        "the untagged manifests are gone"
    );
    steps.at("applied once");
    // Applied once: time passing changes nothing more.
    emu.advance(Duration::from_secs(86_400));
    assert_eq!(storage(&do_, "acme").await, before - freed);

    steps.at("a cancelled run frees nothing");
    // A cancelled run frees nothing.
    do_.registries_delete_repository()
        .registry_name("acme")
        .repository_name("web")
        .send()
        .await
        .unwrap();
    let before = storage(&do_, "acme").await;
    let gc = do_
        .registries_run_garbage_collection()
        .registry_name("acme")
        .send()
        .await
        .unwrap()
        .into_inner()
        .garbage_collection
        .unwrap();
    assert_eq!(
        gc.type_.unwrap().to_string(),
        "unreferenced blobs only",
        "the default type"
    );
    emu.advance(std_duration(GC_REQUESTED));
    let cancelled = do_
        .registries_update_garbage_collection()
        .registry_name("acme")
        .garbage_collection_uuid(gc.uuid.clone().unwrap())
        .body_map(|b| b.cancel(Some(true)))
        .send()
        .await
        .unwrap()
        .into_inner()
        .garbage_collection
        .unwrap();
    assert_eq!(cancelled.status.unwrap().to_string(), "cancelled");
    emu.advance(Duration::from_secs(3600));
    assert_eq!(
        storage(&do_, "acme").await,
        before,
        "a cancelled run frees nothing"
    );
    let (status, _) = refusal(
        do_.registries_update_garbage_collection()
            .registry_name("acme")
            .garbage_collection_uuid(gc.uuid.unwrap())
            .body_map(|b| b.cancel(Some(true)))
            .send()
            .await,
    );
    assert_eq!(status, 409, "only an active run can be cancelled");
    steps.at("the deleted repository's blobs are still there for the next run");
    // The deleted repository's blobs are still there for the next run.
    do_.registries_run_garbage_collection()
        .registry_name("acme")
        .send()
        .await
        .unwrap();
    emu.advance(Duration::from_secs(3600));
    assert!(storage(&do_, "acme").await < before);
}

#[tokio::test]
async fn docker_credentials_are_fresh_each_time_and_scoped_as_asked() {
    let emu = frozen().await;
    let do_ = client(&emu);
    create(&do_, "acme", "basic").await;

    let read = do_
        .registries_get_docker_credentials()
        .registry_name("acme")
        .send()
        .await
        .unwrap()
        .into_inner();
    let write = do_
        .registries_get_docker_credentials()
        .registry_name("acme")
        .read_write(true)
        .expiry_seconds(3600u64)
        .send()
        .await
        .unwrap()
        .into_inner();
    let legacy = do_
        .registry_get_docker_credentials()
        .read_write(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    let mut secrets = BTreeSet::new();
    // The host the emulator serves DigitalOcean's registries on.
    let host = emu.registry_host(Provider::DigitalOcean).unwrap();
    for creds in [&read, &write, &legacy] {
        let auth = creds.auths[host.as_str()]
            .auth
            .as_ref()
            .unwrap()
            .expose_secret()
            .to_string();
        let decoded = String::from_utf8(base64_decode(&auth)).unwrap();
        let (user, password) = decoded.split_once(':').unwrap();
        assert!(
            !password.is_empty() && user == password,
            "DO's token on both sides"
        );
        secrets.insert(password.to_string());
    }
    assert_eq!(secrets.len(), 3, "a fresh secret every call");

    let issued = emu.world().digitalocean.issued_credentials;
    assert_eq!(issued.len(), 3);
    assert!(!issued[0].read_write && issued[0].expires_at.is_none());
    assert!(issued[1].read_write);
    assert_eq!(
        issued[1].expires_at,
        Some(emu.now() + chrono::TimeDelta::hours(1))
    );
    assert_eq!(issued[2].registry, None);
    let snapshot = emu.snapshot().to_json();
    for secret in &secrets {
        assert!(!snapshot.contains(secret.as_str()), "secrets are not kept");
    }

    let (status, body) = refusal(
        do_.registries_get_docker_credentials()
            .registry_name("nope")
            .send()
            .await,
    );
    assert_eq!((status, body.id.as_str()), (404, "not_found"));
}

#[tokio::test]
async fn registries_subscriptions_and_the_single_registry_view_keep_state() {
    let mut steps = regkit_tests::Steps::new();
    let emu = frozen().await;
    let do_ = client(&emu);
    assert!(
        do_.registries_list()
            .send()
            .await
            .unwrap()
            .registries
            .is_empty()
    );
    let (status, body) = refusal(do_.registry_get().send().await);
    assert_eq!(
        (status, body.id.as_str()),
        (404, "not_found"),
        "no registry yet"
    );

    do_.registries_validate_name()
        .body_map(|b| b.name("one"))
        .send()
        .await
        .unwrap();
    create(&do_, "one", "basic").await;
    let (status, body) = refusal(
        do_.registries_validate_name()
            .body_map(|b| b.name("one"))
            .send()
            .await,
    );
    assert_eq!((status, body.id.as_str()), (409, "conflict"));
    let (status, _) = refusal(
        do_.registry_validate_name()
            .body_map(|b| b.name("one"))
            .send()
            .await,
    );
    assert_eq!(status, 409);
    let (status, body) = refusal(
        do_.registries_create()
            .body_map(|b| b.name("one"))
            .send()
            .await,
    );
    assert_eq!(
        (status, body.id.as_str()),
        (409, "conflict"),
        "names are unique"
    );

    let got = do_
        .registries_get()
        .registry_name("one")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.registry.unwrap().region.as_deref(), Some("fra1"));
    let single = do_
        .registry_get()
        .send()
        .await
        .unwrap()
        .into_inner()
        .registry
        .unwrap();
    assert_eq!(single.name.as_deref(), Some("one"));
    assert_eq!(
        single.subscription.unwrap().tier.unwrap().slug.as_deref(),
        Some("basic")
    );

    steps.at("basic holds one registry and five repositories");
    // Basic holds one registry and five repositories.
    let (status, body) = refusal(
        do_.registries_create()
            .body_map(|b| b.name("two"))
            .send()
            .await,
    );
    assert_eq!((status, body.id.as_str()), (412, "precondition_failed"));
    emu.seed(|world, ids, now| {
        for i in 0..5 {
            world
                .digitalocean
                .seed_repository("one", &format!("app-{i}"), 1, ids, now)
                .unwrap();
        }
        let err = world
            .digitalocean
            .seed_repository("one", "app-5", 1, ids, now)
            .unwrap_err();
        assert_eq!(err.status.as_u16(), 412);
    });

    steps.at("starter (one repository) cannot hold them");
    // Starter (one repository) cannot hold them: refused, and reported.
    let options = do_
        .registries_get_options()
        .send()
        .await
        .unwrap()
        .into_inner()
        .options
        .unwrap();
    let starter = &options.subscription_tiers[0];
    assert_eq!(starter.slug.as_deref(), Some("starter"));
    assert_eq!(starter.included_repositories, Some(1));
    assert_eq!(starter.eligible, Some(false));
    assert_eq!(
        starter.eligibility_reasons,
        vec![types::SubscriptionTierEligibilityReason::OverRepositoryLimit]
    );
    assert_eq!(options.subscription_tiers[2].included_repositories, Some(0));
    let (status, body) = refusal(
        do_.registries_update_subscription()
            .body_map(|b| b.tier_slug(Some(types::SubscriptionTierSlug::Starter)))
            .send()
            .await,
    );
    assert_eq!((status, body.id.as_str()), (412, "precondition_failed"));
    assert!(
        body.message.contains("OverRepositoryLimit"),
        "{}",
        body.message
    );
    let (status, _) = refusal(
        do_.registry_update_subscription()
            .body_map(|b| b.tier_slug(Some(types::SubscriptionTierSlug::Starter)))
            .send()
            .await,
    );
    assert_eq!(status, 412);

    emu.advance(Duration::from_secs(60));
    let sub = do_
        .registries_update_subscription()
        .body_map(|b| b.tier_slug(Some(types::SubscriptionTierSlug::Professional)))
        .send()
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    assert_eq!(sub.tier.unwrap().slug.as_deref(), Some("professional"));
    assert_eq!(sub.updated_at, Some(emu.now()));
    assert!(sub.created_at < sub.updated_at);
    let got = do_
        .registry_get_subscription()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.subscription.unwrap().tier.unwrap().slug.as_deref(),
        Some("professional")
    );
    assert_eq!(emu.world().digitalocean.tier(), Tier::Professional);

    steps.at("professional holds several registries");
    // Professional holds several registries; the single view then refuses.
    create(&do_, "two", "professional").await;
    let listed = do_.registries_list().send().await.unwrap().into_inner();
    let names: Vec<_> = listed
        .registries
        .iter()
        .map(|r| r.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["one", "two"]);
    let total: i64 = listed
        .registries
        .iter()
        .map(|r| r.storage_usage_bytes.unwrap())
        .sum();
    assert_eq!(listed.total_storage_usage_bytes, Some(total));
    assert!(total > 0);
    let (status, body) = refusal(do_.registry_get().send().await);
    assert_eq!((status, body.id.as_str()), (412, "precondition_failed"));
    let (status, _) = refusal(do_.registry_delete().send().await);
    assert_eq!(status, 412);
    let (status, _) = refusal(
        do_.registries_update_subscription()
            .body_map(|b| b.tier_slug(Some(types::SubscriptionTierSlug::Basic)))
            .send()
            .await,
    );
    assert_eq!(status, 412, "Basic holds one registry");

    do_.registries_delete()
        .registry_name("two")
        .send()
        .await
        .unwrap();
    let (status, body) = refusal(do_.registries_get().registry_name("two").send().await);
    assert_eq!((status, body.id.as_str()), (404, "not_found"));
    let (status, _) = refusal(do_.registries_delete().registry_name("two").send().await);
    assert_eq!(status, 404);
    do_.registry_delete().send().await.unwrap();
    let (status, _) = refusal(do_.registry_get().send().await);
    assert_eq!(status, 404);
    assert!(
        do_.registries_list()
            .send()
            .await
            .unwrap()
            .registries
            .is_empty()
    );

    steps.at("the deprecated create makes the account's registry, once");
    // The deprecated create makes the account's registry, once.
    let made = do_
        .registry_create()
        .body_map(|b| {
            b.name("legacy")
                .subscription_tier_slug(types::SubscriptionTierSlug::Basic)
        })
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);
    let (status, _) = refusal(
        do_.registry_create()
            .body_map(|b| {
                b.name("again")
                    .subscription_tier_slug(types::SubscriptionTierSlug::Basic)
            })
            .send()
            .await,
    );
    assert_eq!(status, 412);
}

#[tokio::test]
async fn bad_input_and_bad_credentials_get_digitaloceans_error_bodies() {
    let emu = frozen().await;
    let do_ = client(&emu);
    create(&do_, "acme", "professional").await;
    emu.seed(|world, ids, now| {
        world
            .digitalocean
            .seed_repository("acme", "app", 3, ids, now)
            .unwrap();
    });
    let base = emu.url(Provider::DigitalOcean);
    let token = emu.token(Provider::DigitalOcean);
    let raw = reqwest::Client::new();
    let bodies = [
        ("/v2/registries", serde_json::json!({})),
        ("/v2/registries", serde_json::json!({"name": 5})),
        ("/v2/registries", serde_json::json!({"name": "Not A Name"})),
        (
            "/v2/registries",
            serde_json::json!({"name": "ok", "region": "mars1"}),
        ),
        (
            "/v2/registries",
            serde_json::json!({"name": "ok", "subscription_tier_slug": "gold"}),
        ),
        ("/v2/registry", serde_json::json!({"name": "ok"})),
        (
            "/v2/registries/validate-name",
            serde_json::json!({"name": ["x"]}),
        ),
        (
            "/v2/registries/subscription",
            serde_json::json!({"tier_slug": 1}),
        ),
        ("/v2/registries/subscription", serde_json::json!({})),
        (
            "/v2/registries/acme/garbage-collection",
            serde_json::json!({"type": "everything"}),
        ),
    ];
    for (path, body) in bodies {
        let res = raw
            .post(format!("{base}{path}"))
            .bearer_auth(token.expose_secret())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "POST {path} {body}");
        let err: types::Error = res.json().await.unwrap();
        assert_eq!(err.id, "unprocessable_entity", "POST {path} {body}");
    }
    let res = raw
        .put(format!("{base}/v2/registries/acme/garbage-collection/x"))
        .bearer_auth(token.expose_secret())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    let queries = [
        ("/v2/registries/acme/repositories/app/tags?per_page=0", 422),
        (
            "/v2/registries/acme/repositories/app/tags?per_page=201",
            422,
        ),
        ("/v2/registries/acme/repositories/app/tags?page=0", 422),
        ("/v2/registries/acme/repositories/app/tags?page=two", 422),
        (
            "/v2/registries/acme/docker-credentials?expiry_seconds=-1",
            422,
        ),
        (
            "/v2/registries/acme/docker-credentials?read_write=maybe",
            422,
        ),
        ("/v2/registries/acme/repositoriesV2?page_token=%25%25", 400),
        ("/v2/registries/acme/repositories/nope/tags", 404),
        ("/v2/registries/nope/repositoriesV2", 404),
        ("/v2/registries/%FF", 400),
        ("/v2/registries/acme/repositories/%FF%FE/tags", 400),
    ];
    for (path, status) in queries {
        let res = raw
            .get(format!("{base}{path}"))
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "GET {path}");
        let err: types::Error = res.json().await.unwrap();
        assert!(!err.message.is_empty());
    }

    for auth in [None, Some("Bearer wrong")] {
        let mut req = raw.get(format!("{base}/v2/registries"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        let err: types::Error = res.json().await.unwrap();
        assert_eq!(err.id, "unauthorized");
        assert_eq!(err.message, "Unable to authenticate you.");
    }
}

#[tokio::test]
async fn every_list_pages_the_way_digitalocean_does() {
    let mut steps = regkit_tests::Steps::new();
    let emu = frozen().await;
    let do_ = client(&emu);
    create(&do_, "acme", "professional").await;
    emu.seed(|world, ids, now| {
        for i in 0..45 {
            world
                .digitalocean
                .seed_repository("acme", &format!("team/app-{i:02}"), 2, ids, now)
                .unwrap();
        }
        world
            .digitalocean
            .seed_repository("acme", "many", 57, ids, now)
            .unwrap();
    });
    let expected: BTreeSet<String> = (0..45)
        .map(|i| format!("team/app-{i:02}"))
        .chain(["many".to_string()])
        .collect();

    steps.at("v2");
    // V2: page tokens.
    let first = do_
        .registries_list_repositories_v2()
        .registry_name("acme")
        .per_page(10u64)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.meta.total, 46);
    let pages = first.links.unwrap().pages.unwrap();
    assert!(pages.first.is_none() && pages.prev.is_none());
    assert!(pages.next.unwrap().contains("page_token="));
    assert!(pages.last.unwrap().ends_with("page=5&per_page=10"));
    let v2: Vec<types::RepositoryV2> = do_
        .registries_list_repositories_v2()
        .registry_name("acme")
        .per_page(10u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = v2.iter().map(|r| r.name.clone().unwrap()).collect();
    assert_eq!((v2.len(), &names), (46, &expected));
    let many = v2
        .iter()
        .find(|r| r.name.as_deref() == Some("many"))
        .unwrap();
    assert_eq!((many.tag_count, many.manifest_count), (Some(58), Some(57)));
    let latest = many.latest_manifest.as_ref().unwrap();
    assert!(latest.tags.contains(&"latest".to_string()) && latest.blobs.len() == 3);
    let legacy_v2: Vec<types::RepositoryV2> = do_
        .registry_list_repositories_v2()
        .registry_name("acme")
        .per_page(7u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(legacy_v2.len(), 46);

    steps.at("v1 and the other lists");
    // V1 and the other lists: page numbers.
    let v1: Vec<types::Repository> = do_
        .registry_list_repositories()
        .registry_name("acme")
        .per_page(10u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = v1.iter().map(|r| r.name.clone().unwrap()).collect();
    assert_eq!((v1.len(), &names), (46, &expected));
    let latest = v1
        .iter()
        .find(|r| r.name.as_deref() == Some("many"))
        .unwrap();
    assert_eq!(
        latest.latest_tag.as_ref().unwrap().tag.as_deref(),
        Some("latest")
    );

    let manifests: Vec<types::RepositoryManifest> = do_
        .registries_list_repository_manifests()
        .registry_name("acme")
        .repository_name("many")
        .per_page(10u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let digests: BTreeSet<_> = manifests
        .iter()
        .map(|m| m.digest.clone().unwrap())
        .collect();
    assert_eq!((manifests.len(), digests.len()), (57, 57));
    let tags: Vec<types::RepositoryTag> = do_
        .registry_list_repository_tags()
        .registry_name("acme")
        .repository_name("many")
        .per_page(20u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags.len(), 58);
    let legacy_manifests: Vec<types::RepositoryManifest> = do_
        .registry_list_repository_manifests()
        .registry_name("acme")
        .repository_name("many")
        .per_page(50u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(legacy_manifests.len(), 57);

    steps.at("garbage collections");
    // Garbage collections: 23 runs, each cancelled, newest first.
    let mut uuids = Vec::new();
    for _ in 0..23 {
        let gc = do_
            .registries_run_garbage_collection()
            .registry_name("acme")
            .send()
            .await
            .unwrap()
            .into_inner()
            .garbage_collection
            .unwrap();
        do_.registries_update_garbage_collection()
            .registry_name("acme")
            .garbage_collection_uuid(gc.uuid.clone().unwrap())
            .body_map(|b| b.cancel(Some(true)))
            .send()
            .await
            .unwrap();
        uuids.push(gc.uuid.unwrap());
        emu.advance(Duration::from_secs(1));
    }
    let runs: Vec<types::GarbageCollection> = do_
        .registries_list_garbage_collections()
        .registry_name("acme")
        .per_page(5u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    uuids.reverse();
    assert_eq!(
        runs.iter()
            .map(|r| r.uuid.clone().unwrap())
            .collect::<Vec<_>>(),
        uuids
    );
    let legacy_runs: Vec<types::GarbageCollection> = do_
        .registry_list_garbage_collections()
        .registry_name("acme")
        .per_page(10u64)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(legacy_runs.len(), 23);
}

#[tokio::test]
async fn the_demo_has_a_professional_registry_with_two_repositories() {
    let emu = Emulator::builder().demo(true).start().await.unwrap();
    let do_ = client(&emu);
    let repos = do_
        .registries_list_repositories_v2()
        .registry_name("demo")
        .send()
        .await
        .unwrap()
        .into_inner();
    let counts: Vec<_> = repos
        .repositories
        .iter()
        .map(|r| (r.name.clone().unwrap(), r.tag_count.unwrap()))
        .collect();
    // ContentGen adds `latest` to the versions.
    assert_eq!(
        counts,
        [("api/server".to_string(), 6), ("web".to_string(), 13)]
    );
    let sub = do_
        .registries_get_subscription()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        sub.subscription.unwrap().tier.unwrap().slug.as_deref(),
        Some("professional")
    );
}

// ---------------------------------------------------------------------------
// Every operation through a validating Prism proxy
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_operation_answers_within_the_spec_behind_a_validating_proxy() {
    let emu = frozen().await;
    let prism = Prism::proxy("digitalocean", &emu.url(Provider::DigitalOcean));
    let c = emu
        .client_builder::<regkit_digitalocean::Client>()
        .base_url(prism.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut run = Run::new(&prism);
    let gc_type = || Some(types::GarbageCollectionType::UntaggedManifestsAndUnreferencedBlobs);

    // The single-registry API, while the account has one registry.
    run.check(
        "registry_get_options",
        c.registry_get_options().send().await,
    );
    run.check(
        "registry_validate_name",
        c.registry_validate_name()
            .body_map(|b| b.name("legacy"))
            .send()
            .await,
    );
    run.check(
        "registry_create",
        c.registry_create()
            .body_map(|b| {
                b.name("legacy")
                    .subscription_tier_slug(types::SubscriptionTierSlug::Basic)
                    .region(Some(types::LegacyRegistryRegion::Ams3))
            })
            .send()
            .await,
    );
    emu.seed(|world, ids, now| {
        world
            .digitalocean
            .seed_repository("legacy", "team/api", 25, ids, now)
            .unwrap();
    });
    run.check("registry_get", c.registry_get().send().await);
    run.check(
        "registry_get_subscription",
        c.registry_get_subscription().send().await,
    );
    run.check(
        "registry_update_subscription",
        c.registry_update_subscription()
            .body_map(|b| b.tier_slug(Some(types::SubscriptionTierSlug::Basic)))
            .send()
            .await,
    );
    run.check(
        "registry_get_dockerCredentials",
        c.registry_get_docker_credentials()
            .expiry_seconds(600u64)
            .read_write(true)
            .send()
            .await,
    );
    run.check(
        "registry_list_repositories",
        c.registry_list_repositories()
            .registry_name("legacy")
            .per_page(1u64)
            .send()
            .await,
    );
    run.check(
        "registry_list_repositoriesV2",
        c.registry_list_repositories_v2()
            .registry_name("legacy")
            .send()
            .await,
    );
    run.check(
        "registry_list_repositoryTags",
        c.registry_list_repository_tags()
            .registry_name("legacy")
            .repository_name("team/api")
            .page(2u64)
            .per_page(10u64)
            .send()
            .await,
    );
    let manifests = run.check(
        "registry_list_repositoryManifests",
        c.registry_list_repository_manifests()
            .registry_name("legacy")
            .repository_name("team/api")
            .send()
            .await,
    );
    run.check(
        "registry_delete_repositoryTag",
        c.registry_delete_repository_tag()
            .registry_name("legacy")
            .repository_name("team/api")
            .repository_tag("v3")
            .send()
            .await,
    );
    let digest = manifests
        .and_then(|m| m.manifests.last().and_then(|m| m.digest.clone()))
        .unwrap_or_default();
    run.check(
        "registry_delete_repositoryManifest",
        c.registry_delete_repository_manifest()
            .registry_name("legacy")
            .repository_name("team/api")
            .manifest_digest(digest)
            .send()
            .await,
    );
    let gc = run.check(
        "registry_run_garbageCollection",
        c.registry_run_garbage_collection()
            .registry_name("legacy")
            .body_map(|b| b.type_(gc_type()))
            .send()
            .await,
    );
    run.check(
        "registry_get_garbageCollection",
        c.registry_get_garbage_collection()
            .registry_name("legacy")
            .send()
            .await,
    );
    let uuid = gc
        .and_then(|g| g.garbage_collection)
        .and_then(|g| g.uuid)
        .unwrap_or_default();
    run.check(
        "registry_update_garbageCollection",
        c.registry_update_garbage_collection()
            .registry_name("legacy")
            .garbage_collection_uuid(uuid)
            .body_map(|b| b.cancel(Some(true)))
            .send()
            .await,
    );
    run.check(
        "registry_run_garbageCollection",
        c.registry_run_garbage_collection()
            .registry_name("legacy")
            .send()
            .await,
    );
    emu.advance(Duration::from_secs(3600));
    run.check(
        "registry_list_garbageCollections",
        c.registry_list_garbage_collections()
            .registry_name("legacy")
            .per_page(1u64)
            .page(1u64)
            .send()
            .await,
    );

    // The multi-registry API.
    run.check(
        "registries_get_options",
        c.registries_get_options().send().await,
    );
    run.check(
        "registries_update_subscription",
        c.registries_update_subscription()
            .body_map(|b| b.tier_slug(Some(types::SubscriptionTierSlug::Professional)))
            .send()
            .await,
    );
    run.check(
        "registries_get_subscription",
        c.registries_get_subscription().send().await,
    );
    run.check(
        "registries_validate_name",
        c.registries_validate_name()
            .body_map(|b| b.name("multi"))
            .send()
            .await,
    );
    run.check(
        "registries_create",
        c.registries_create()
            .body_map(|b| b.name("multi").region(Some(types::RegistryRegion::Blr1)))
            .send()
            .await,
    );
    emu.seed(|world, ids, now| {
        world
            .digitalocean
            .seed_repository("multi", "web", 12, ids, now)
            .unwrap();
        world
            .digitalocean
            .seed_repository("multi", "gone", 2, ids, now)
            .unwrap();
    });
    run.check("registries_list", c.registries_list().send().await);
    run.check(
        "registries_get",
        c.registries_get().registry_name("multi").send().await,
    );
    run.check(
        "registries_get_dockerCredentials",
        c.registries_get_docker_credentials()
            .registry_name("multi")
            .send()
            .await,
    );
    let first = run.check(
        "registries_list_repositoriesV2",
        c.registries_list_repositories_v2()
            .registry_name("multi")
            .per_page(1u64)
            .send()
            .await,
    );
    // The next page, by its token.
    let token = first
        .and_then(|p| p.links)
        .and_then(|l| l.pages)
        .and_then(|p| p.next)
        .and_then(|next| {
            next.split(['?', '&'])
                .find_map(|kv| kv.strip_prefix("page_token=").map(str::to_string))
        });
    match token {
        Some(token) => {
            run.check(
                "registries_list_repositoriesV2",
                c.registries_list_repositories_v2()
                    .registry_name("multi")
                    .per_page(1u64)
                    .page_token(token)
                    .send()
                    .await,
            );
        }
        None => {
            run.fail("registries_list_repositoriesV2: no page_token in links.pages.next".into())
        }
    }
    run.check(
        "registries_list_repositoryTags",
        c.registries_list_repository_tags()
            .registry_name("multi")
            .repository_name("web")
            .per_page(5u64)
            .page(2u64)
            .send()
            .await,
    );
    let manifests = run.check(
        "registries_list_repositoryManifests",
        c.registries_list_repository_manifests()
            .registry_name("multi")
            .repository_name("web")
            .per_page(5u64)
            .send()
            .await,
    );
    run.check(
        "registries_delete_repositoryTag",
        c.registries_delete_repository_tag()
            .registry_name("multi")
            .repository_name("web")
            .repository_tag("v1")
            .send()
            .await,
    );
    let digest = manifests
        .and_then(|m| m.manifests.first().and_then(|m| m.digest.clone()))
        .unwrap_or_default();
    run.check(
        "registries_delete_repositoryManifest",
        c.registries_delete_repository_manifest()
            .registry_name("multi")
            .repository_name("web")
            .manifest_digest(digest)
            .send()
            .await,
    );
    run.check(
        "registries_delete_repository",
        c.registries_delete_repository()
            .registry_name("multi")
            .repository_name("gone")
            .send()
            .await,
    );
    let gc = run.check(
        "registries_run_garbageCollection",
        c.registries_run_garbage_collection()
            .registry_name("multi")
            .body_map(|b| b.type_(gc_type()))
            .send()
            .await,
    );
    emu.advance(Duration::from_secs(60));
    run.check(
        "registries_get_garbageCollection",
        c.registries_get_garbage_collection()
            .registry_name("multi")
            .send()
            .await,
    );
    let uuid = gc
        .and_then(|g| g.garbage_collection)
        .and_then(|g| g.uuid)
        .unwrap_or_default();
    run.check(
        "registries_update_garbageCollection",
        c.registries_update_garbage_collection()
            .registry_name("multi")
            .garbage_collection_uuid(uuid)
            .body_map(|b| b.cancel(Some(true)))
            .send()
            .await,
    );
    run.check(
        "registries_run_garbageCollection",
        c.registries_run_garbage_collection()
            .registry_name("multi")
            .send()
            .await,
    );
    emu.advance(Duration::from_secs(3600));
    run.check(
        "registries_list_garbageCollections",
        c.registries_list_garbage_collections()
            .registry_name("multi")
            .per_page(1u64)
            .send()
            .await,
    );
    run.check(
        "registries_delete",
        c.registries_delete().registry_name("multi").send().await,
    );
    run.check("registry_delete", c.registry_delete().send().await);
    run.finish();
}
