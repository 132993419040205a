//! regkit-emulator's framework: every operation of every spec is served at
//! its method and path, credentials are checked, faults hit what they name,
//! snapshots round-trip. Provider behaviour lives in `emulator_<provider>.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use regkit_core::RetryPolicy;
use regkit_emulator::{Emulator, FaultRule, Provider};
use regkit_tests::prism::repo_root;

fn spec_operations(p: Provider) -> BTreeSet<(String, String, String)> {
    let root = repo_root();
    let manifest = xtask::Manifest::load(&root).expect("specs/providers.toml loads");
    let entry = manifest
        .providers
        .iter()
        .find(|e| e.name == p.name())
        .expect("every emulated provider is in the manifest");
    xtask::operations(&root, entry)
        .expect("the spec loads")
        .into_iter()
        .map(|o| (o.id, o.method, o.path))
        .collect()
}

#[test]
fn every_operation_of_every_spec_is_served_at_its_method_and_path() {
    let mut problems = Vec::new();
    for p in Provider::ALL {
        let spec = spec_operations(p);
        let served: BTreeSet<(String, String, String)> = regkit_emulator::served_operations(p)
            .into_iter()
            .map(|(id, method, path)| (id.to_string(), method, path.to_string()))
            .collect();
        for missing in spec.difference(&served) {
            problems.push(format!("{p}: not served: {missing:?}"));
        }
        for extra in served.difference(&spec) {
            problems.push(format!("{p}: served but not in the spec: {extra:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A bare reqwest client, for requests no generated client would send.
/// Building a regkit client first installs the TLS provider reqwest needs.
fn raw(emu: &Emulator) -> reqwest::Client {
    drop(emu.digitalocean());
    reqwest::Client::new()
}

/// A client that does not retry, so each fault is seen as it was sent.
fn once(emu: &Emulator) -> regkit_digitalocean::Client {
    emu.client_builder::<regkit_digitalocean::Client>()
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_provider_answers_missing_or_foreign_credentials_with_its_own_401() {
    let emu = Emulator::start().await.unwrap();
    let raw = raw(&emu);
    // One cheap GET per provider (any operation: credentials are checked first).
    let probes = [
        (Provider::DigitalOcean, "/v2/registries/options"),
        (Provider::Ionos, "/locations"),
        (Provider::Humanitec, "/orgs/acme/registries"),
        (
            Provider::Buildkite,
            "/v2/packages/organizations/acme/registries",
        ),
        (
            Provider::Abeja,
            "/organizations/1410000000000/registry/repositories",
        ),
    ];
    for (p, path) in probes {
        let url = format!("{}{path}", emu.url(p));
        let other = if p == Provider::Ionos {
            Provider::Abeja
        } else {
            Provider::Ionos
        };
        let attempts = [
            None,
            Some("Bearer not-a-token".to_string()),
            Some(format!("Bearer {}", emu.token(other).expose_secret())),
            Some("Basic Zm9vOmJhcg==".to_string()),
        ];
        for auth in attempts {
            let mut req = raw.get(&url);
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{p} {path} with {auth:?}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert!(body.is_object(), "{p}: a JSON error body: {body}");
            // The body never echoes what was sent.
            if let Some(a) = &auth {
                assert!(!body.to_string().contains(a.split(' ').nth(1).unwrap()));
            }
        }
        let ok = raw
            .get(&url)
            .bearer_auth(emu.token(p).expose_secret())
            .send()
            .await
            .unwrap();
        assert!(ok.status().is_success(), "{p} {path}: {}", ok.status());
    }
}

#[tokio::test]
async fn an_unknown_path_is_the_providers_own_404() {
    let emu = Emulator::start().await.unwrap();
    let res = raw(&emu)
        .get(format!(
            "{}/v2/nothing-here",
            emu.url(Provider::DigitalOcean)
        ))
        .bearer_auth(emu.token(Provider::DigitalOcean).expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: regkit_digitalocean::types::Error = res.json().await.unwrap();
    assert!(!body.message.is_empty());
}

#[tokio::test]
async fn a_burst_of_503s_is_retried_through_and_then_spent() {
    let emu = Emulator::start().await.unwrap();
    emu.inject(
        FaultRule::status(503)
            .provider(Provider::DigitalOcean)
            .operation("registries_get_options")
            .times(2),
    );
    let client = emu
        .client_builder::<regkit_digitalocean::Client>()
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    client.registries_get_options().send().await.unwrap();
    assert!(emu.faults().is_empty(), "the burst is spent");

    emu.inject(
        FaultRule::status(503)
            .operation("registries_get_options")
            .times(1),
    );
    let err = once(&emu)
        .registries_get_options()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.error_body().is_some(), "DigitalOcean's own error body");
}

#[tokio::test]
async fn a_rate_limit_carries_retry_after_and_digitaloceans_reset_headers() {
    let emu = Emulator::start().await.unwrap();
    emu.inject(FaultRule::rate_limit(Duration::from_secs(7)).times(1));
    let err = once(&emu)
        .registries_get_options()
        .send()
        .await
        .unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    let headers = err.headers().unwrap();
    assert_eq!(headers["ratelimit-remaining"], "0");
    let reset: i64 = headers["ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(reset, emu.now().timestamp() + 7);
}

#[tokio::test]
async fn a_reset_connection_and_a_truncated_body_are_transport_errors() {
    let emu = Emulator::start().await.unwrap();
    for rule in [FaultRule::reset(), FaultRule::truncate()] {
        emu.inject(rule.clone().times(1));
        let err = once(&emu)
            .registries_get_options()
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, regkit_core::Error::Request(_)),
            "{rule:?}: {err:?}"
        );
        // The next request is served normally.
        once(&emu).registries_get_options().send().await.unwrap();
    }
    // With retries, a one-off reset on an idempotent GET is invisible.
    emu.inject(FaultRule::reset().times(1));
    emu.client_builder::<regkit_digitalocean::Client>()
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap()
        .registries_get_options()
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn latency_is_real_time_and_meets_the_clients_timeout() {
    let emu = Emulator::start().await.unwrap();
    emu.inject(FaultRule::latency(Duration::from_secs(5)).times(1));
    let client = emu
        .client_builder::<regkit_digitalocean::Client>()
        .retry(RetryPolicy::none())
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let err = client.registries_get_options().send().await.unwrap_err();
    match &err {
        regkit_core::Error::Request(e) => assert!(e.is_timeout(), "{err:?}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn fault_chances_repeat_with_the_seed() {
    async fn pattern(seed: u64) -> Vec<bool> {
        let emu = Emulator::builder().seed(seed).start().await.unwrap();
        emu.inject(FaultRule::status(500).probability(0.5));
        let client = once(&emu);
        let mut hits = Vec::new();
        for _ in 0..24 {
            hits.push(client.registries_get_options().send().await.is_err());
        }
        hits
    }
    let first = pattern(11).await;
    assert_eq!(first, pattern(11).await, "the same seed, the same faults");
    assert!(
        first.contains(&true) && first.contains(&false),
        "a 0.5 chance hits some requests and spares others: {first:?}"
    );
}

#[tokio::test]
async fn a_snapshot_round_trips_through_json_and_restores() {
    let emu = Emulator::builder()
        .clock(regkit_emulator::ClockMode::Frozen)
        .demo(true)
        .start()
        .await
        .unwrap();
    let before = emu.snapshot();
    assert_ne!(
        before.world,
        regkit_emulator::World::default(),
        "demo content"
    );
    let text = before.to_json();
    assert_eq!(regkit_emulator::Snapshot::from_json(&text).unwrap(), before);

    let fresh = Emulator::builder()
        .snapshot(regkit_emulator::Snapshot::from_json(&text).unwrap())
        .clock(regkit_emulator::ClockMode::Frozen)
        .start()
        .await
        .unwrap();
    assert_eq!(fresh.snapshot(), before);

    emu.restore(regkit_emulator::Snapshot {
        now: before.now,
        world: regkit_emulator::World::default(),
        blobs: Default::default(),
    })
    .unwrap();
    assert_eq!(emu.world(), regkit_emulator::World::default());
}

#[tokio::test]
async fn the_virtual_clock_moves_only_when_told_when_frozen() {
    let emu = Emulator::builder()
        .clock(regkit_emulator::ClockMode::Frozen)
        .start()
        .await
        .unwrap();
    let t0 = emu.now();
    assert_eq!(emu.now(), t0);
    emu.advance(Duration::from_secs(3600));
    assert_eq!(emu.now() - t0, chrono::Duration::hours(1));
}

/// An emulator with DigitalOcean registry `acme` holding `team/api` with
/// `tags` tags (plus `latest`).
async fn with_tags(tags: usize) -> Emulator {
    let emu = Emulator::start().await.unwrap();
    emu.seed(|world, ids, now| {
        let state = &mut world.digitalocean;
        state
            .create_registry(
                "acme",
                None,
                Some(regkit_emulator::providers::digitalocean::Tier::Professional),
                now,
            )
            .unwrap();
        state
            .seed_repository("acme", "team/api", tags, ids, now)
            .unwrap();
    });
    emu
}

async fn walk_tags(client: &regkit_digitalocean::Client) -> Result<Vec<String>, String> {
    use futures::TryStreamExt as _;
    client
        .registries_list_repository_tags()
        .registry_name("acme")
        .repository_name("team/api")
        .per_page(std::num::NonZeroU64::new(50).unwrap())
        .stream()
        .map_ok(|t| t.tag.unwrap_or_default())
        .try_collect()
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_listing_walks_through_a_fault_on_a_middle_page_when_retries_allow() {
    let emu = with_tags(499).await; // 500 with `latest`: ten pages of 50
    let retrying = emu
        .client_builder::<regkit_digitalocean::Client>()
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    for rule in [
        FaultRule::status(503),
        FaultRule::reset(),
        FaultRule::truncate(),
        FaultRule::rate_limit(Duration::ZERO),
    ] {
        emu.inject(
            rule.clone()
                .operation("registries_list_repositoryTags")
                .after(4)
                .times(2),
        );
        let tags = walk_tags(&retrying)
            .await
            .unwrap_or_else(|e| panic!("{rule:?}: {e}"));
        let unique: BTreeSet<&String> = tags.iter().collect();
        assert_eq!((tags.len(), unique.len()), (500, 500), "{rule:?}");
        assert!(emu.faults().is_empty(), "{rule:?} was hit");
    }
}

#[tokio::test]
async fn without_retries_a_fault_mid_listing_ends_the_stream_with_one_error() {
    use futures::StreamExt as _;
    let emu = with_tags(499).await;
    emu.inject(
        FaultRule::status(500)
            .operation("registries_list_repositoryTags")
            .after(3)
            .times(1),
    );
    let client = once(&emu);
    let items: Vec<_> = client
        .registries_list_repository_tags()
        .registry_name("acme")
        .repository_name("team/api")
        .per_page(std::num::NonZeroU64::new(50).unwrap())
        .stream()
        .collect()
        .await;
    let (ok, err): (Vec<_>, Vec<_>) = items.into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 150, "three pages arrived before the fault");
    assert_eq!(
        err.len(),
        1,
        "the error is yielded once and ends the stream"
    );
    assert_eq!(
        err[0].as_ref().unwrap_err().status().map(|s| s.as_u16()),
        Some(500)
    );
}

/// Whether `body` is `p`'s own error body for `status` (not axum's plain
/// text, not another provider's shape), with a message.
fn is_providers_error_body(p: Provider, status: u16, body: &serde_json::Value) -> bool {
    let text = |v: &serde_json::Value| v.as_str().is_some_and(|s| !s.is_empty());
    match p {
        Provider::DigitalOcean => {
            text(&body["id"]) && text(&body["message"]) && text(&body["request_id"])
        }
        Provider::Ionos => body["httpStatus"] == status && text(&body["messages"][0]["message"]),
        Provider::Humanitec => {
            text(&body["error"]) && body.as_object().is_some_and(|o| o.len() == 1)
        }
        Provider::Buildkite => {
            text(&body["message"]) && body.get("id").is_none() && body.get("error").is_none()
        }
        Provider::Abeja => text(&body["error"]) && text(&body["error_description"]),
    }
}

/// A bad path segment (a percent-escape that is not UTF-8), a query value
/// of the wrong type and a body that breaks the schema: every provider
/// answers each with its own error body, at 400 for the path and at its
/// own "invalid request" status for the rest (DigitalOcean and Buildkite
/// 422, the others 400). Humanitec's operations take no query.
#[tokio::test]
async fn every_provider_answers_bad_input_with_its_own_error_body() {
    let emu = Emulator::start().await.unwrap();
    let raw = raw(&emu);
    // (provider, bad path segment, bad query value, bad body: (path, JSON), invalid status)
    type Case<'a> = (Provider, &'a str, Option<&'a str>, (&'a str, &'a str), u16);
    let cases: [Case; 5] = [
        (
            Provider::DigitalOcean,
            "/v2/registries/%FF",
            Some("/v2/registries/acme/repositoriesV2?per_page=many"),
            ("/v2/registries", r#"{"name": 7}"#),
            422,
        ),
        (
            Provider::Ionos,
            "/registries/%FF",
            Some("/registries?limit=many"),
            ("/registries", r#"{"properties": 7}"#),
            400,
        ),
        (
            Provider::Humanitec,
            "/orgs/%FF/registries",
            None,
            ("/orgs/acme/registries", r#"{"id": 7}"#),
            400,
        ),
        (
            Provider::Buildkite,
            "/v2/packages/organizations/%FF/registries",
            Some("/v2/packages/organizations/acme/registries?page=many"),
            (
                "/v2/packages/organizations/acme/registries",
                r#"{"name": 7}"#,
            ),
            422,
        ),
        (
            Provider::Abeja,
            "/organizations/%FF/registry/repositories",
            Some("/organizations/1410000000000/registry/repositories?limit=many"),
            (
                "/organizations/1410000000000/registry/repositories",
                r#"{"name": 7}"#,
            ),
            400,
        ),
    ];
    assert_eq!(
        cases.map(|c| c.0),
        Provider::ALL,
        "every provider has a case"
    );
    for (p, bad_path, bad_query, (body_path, bad_body), invalid) in cases {
        let token = emu.token(p);
        let mut requests = vec![(
            "path segment",
            raw.get(format!("{}{bad_path}", emu.url(p))),
            400,
        )];
        if let Some(q) = bad_query {
            requests.push((
                "query value",
                raw.get(format!("{}{q}", emu.url(p))),
                invalid,
            ));
        }
        requests.push((
            "body",
            raw.post(format!("{}{body_path}", emu.url(p)))
                .header("content-type", "application/json")
                .body(bad_body),
            invalid,
        ));
        for (what, request, status) in requests {
            let res = request
                .bearer_auth(token.expose_secret())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), status, "{p}: a bad {what}");
            let body: serde_json::Value = res
                .json()
                .await
                .unwrap_or_else(|e| panic!("{p}: a bad {what} gets a JSON body: {e}"));
            assert!(
                is_providers_error_body(p, status, &body),
                "{p}: a bad {what} gets {p}'s own error body, not {body}"
            );
        }
    }
}
