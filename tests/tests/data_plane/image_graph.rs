//! Retention over the image graph, on every provider with a data plane:
//! content pushed through regkit-oci (indexes sharing a platform,
//! referrers with `subject`, a referrer of a referrer, cosign-style tags,
//! plain images, garbage), exact plans, applies after which every kept tag
//! still pulls completely, deletes checked against the graph as it is at
//! apply time, failing closed, plan files, and the garbage-collection
//! preflight.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use regkit_emulator::{Emulator, FaultRule, Provider};
use regkit_oci::manifest::{OCI_INDEX, OCI_MANIFEST};
use regkit_tests::registry::OnEmulator;
use regkit_tests::registry::{HOSTING, Image, Site, index, site};
use regkit_workflows::graph::{GraphReader, GraphSession};
use regkit_workflows::providers::{self, Account};
use regkit_workflows::retention::{self, ApplyOptions, Change, Plan, Rule, Rules};
use regkit_workflows::view::{GcKind, Registry, RegistryView};

pub(crate) fn account(emu: &Emulator, p: Provider) -> Box<dyn Account> {
    let core: regkit_core::Provider = p.name().parse().unwrap();
    let org = (p == Provider::Buildkite).then_some("org");
    providers::account(core, org, &OnEmulator(emu)).unwrap()
}

/// A regkit-oci client logged in with the site's writer.
pub(crate) fn writer(s: &Site) -> regkit_oci::Client {
    regkit_oci::Client::builder(s.host.clone())
        .login(Some(regkit_oci::Login::new(
            s.write.user.clone(),
            s.write.password.clone(),
        )))
        .build()
        .unwrap()
}

/// Pushes `image` to `name` at `reference` (a tag, or its digest).
async fn push(c: &regkit_oci::Client, name: &str, reference: Option<&str>, image: &Image) {
    for blob in image.blobs() {
        c.push_blob(name, Bytes::from(blob.clone())).await.unwrap();
    }
    c.put_manifest(
        name,
        reference.unwrap_or(&image.digest),
        OCI_MANIFEST,
        Bytes::from(image.manifest.clone()),
    )
    .await
    .unwrap();
}

/// Pushes an index of `children` (pushed already) at `reference`; its
/// digest and size.
async fn push_index(
    c: &regkit_oci::Client,
    name: &str,
    reference: &str,
    children: &[&Image],
) -> (String, usize) {
    let bytes = index(children);
    let digest = c
        .put_manifest(name, reference, OCI_INDEX, Bytes::from(bytes.clone()))
        .await
        .unwrap();
    (digest, bytes.len())
}

pub(crate) fn hex(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// What one repository holds, by role.
pub(crate) struct Content {
    /// The kept index (`a-keep`) and its platforms.
    pub(crate) kept_index: String,
    pub(crate) kept_platforms: [String; 2],
    /// The kept index's signature (`subject`) and cosign-style SBOM.
    pub(crate) kept_signature: String,
    pub(crate) kept_sbom: String,
    /// The index the plan deletes (`b-old`); its own platform; the
    /// platform it shares with the kept index is `kept_platforms[1]`.
    pub(crate) old_index: String,
    pub(crate) old_platform: String,
    /// Its signature, a referrer of that signature, its cosign `.sig`.
    pub(crate) old_signature: String,
    pub(crate) old_signature_referrer: String,
    pub(crate) old_cosign: String,
    /// A plain image (`c-plain`) and an untagged manifest nothing needs.
    pub(crate) plain: String,
    pub(crate) garbage: String,
}

/// Pushes the scenario into `name`.
pub(crate) async fn scenario(c: &regkit_oci::Client, name: &str) -> Content {
    let pk1 = Image::new("amd64", 1, 2000, None);
    let pk2 = Image::new("arm64", 1, 2000, None);
    let po1 = Image::new("amd64", 1, 2000, None);
    for p in [&pk1, &pk2, &po1] {
        push(c, name, None, p).await;
    }
    let (ik, ik_size) = push_index(c, name, "a-keep", &[&pk1, &pk2]).await;
    let (io, io_size) = push_index(c, name, "b-old", &[&po1, &pk2]).await;
    let sk = Image::new("sig", 1, 100, Some((&ik, ik_size)));
    push(c, name, None, &sk).await;
    let cb = Image::new("sbom", 1, 300, None);
    push(c, name, Some(&format!("sha256-{}.sbom", hex(&ik))), &cb).await;
    let so = Image::new("sig", 1, 100, Some((&io, io_size)));
    push(c, name, None, &so).await;
    let sso = Image::new("sig", 1, 100, Some((&so.digest, so.manifest.len())));
    push(c, name, None, &sso).await;
    let cs = Image::new("sig", 1, 120, None);
    push(c, name, Some(&format!("sha256-{}.sig", hex(&io))), &cs).await;
    let plain = Image::new("amd64", 2, 1500, None);
    push(c, name, Some("c-plain"), &plain).await;
    let garbage = Image::new("amd64", 1, 900, None);
    push(c, name, None, &garbage).await;
    Content {
        kept_index: ik,
        kept_platforms: [pk1.digest, pk2.digest],
        kept_signature: sk.digest,
        kept_sbom: cb.digest,
        old_index: io,
        old_platform: po1.digest,
        old_signature: so.digest,
        old_signature_referrer: sso.digest,
        old_cosign: cs.digest,
        plain: plain.digest,
        garbage: garbage.digest,
    }
}

pub(crate) async fn registry_of(view: &dyn RegistryView) -> Registry {
    let mut rs = view.registries().await.unwrap();
    rs.sort_by(|a, b| a.name.cmp(&b.name));
    rs.into_iter().find(|r| r.name == "reg").unwrap()
}

async fn session(emu: &Emulator, account: &dyn Account, registry: &Registry) -> GraphSession {
    let source = account.credentials(registry, Arc::new(emu.clock().clone()));
    GraphSession::open(account.view().as_ref(), registry, source)
        .await
        .unwrap()
        .expect("a data plane")
}

/// Each deletion as (tag or digest, rule, parent).
fn shape(plan: &Plan) -> Vec<(String, String, Option<String>)> {
    plan.deletions
        .iter()
        .map(|d| {
            let rule = match d.rule {
                Rule::KeepNewestAndOlderThan { .. } => "keep_newest_and_older_than",
                Rule::KeepNewest { .. } => "keep_newest",
                Rule::Untagged => "untagged",
                Rule::UntaggedOlderThan { .. } => "untagged_older_than",
                Rule::ChildOfDeleted => "child_of_deleted",
                Rule::OrphanedReferrer => "orphaned_referrer",
                _ => "other",
            };
            (
                d.tag.clone().unwrap_or_else(|| d.digest.clone()),
                rule.to_string(),
                d.parent.clone(),
            )
        })
        .collect()
}

fn entry(what: &str, rule: &str, parent: Option<&str>) -> (String, String, Option<String>) {
    (
        what.to_string(),
        rule.to_string(),
        parent.map(str::to_string),
    )
}

/// Pulls `reference` of `name` completely: the manifest, every child of
/// an index, every blob (streamed, digest-checked).
pub(crate) async fn pull_all(c: &regkit_oci::Client, name: &str, reference: &str) {
    let m = c
        .manifest(name, reference)
        .await
        .unwrap_or_else(|e| panic!("{name}@{reference}: {e}"));
    for child in m.children() {
        Box::pin(pull_all(c, name, child.digest().as_ref())).await;
    }
    for blob in m.blobs() {
        let mut b = c.blob(name, blob.digest().as_ref()).await.unwrap();
        let mut n = 0;
        while let Some(chunk) = b.stream.next().await {
            n += chunk.unwrap().len() as u64;
        }
        assert_eq!(n, blob.size(), "{name} blob {}", blob.digest());
    }
}

#[tokio::test]
async fn a_plan_deletes_only_what_no_kept_tag_reaches_and_kept_tags_pull_completely() {
    let emu = regkit_tests::registry::emulator().await;
    for p in HOSTING {
        let s = site(&emu, p).await;
        let name = s.name("app");
        let c = scenario(&writer(&s), &name).await;
        emu.advance(Duration::from_secs(2 * 86_400));
        let account = account(&emu, p);
        let view = account.view();
        let registry = registry_of(view.as_ref()).await;
        let session = session(&emu, account.as_ref(), &registry).await;
        let rules = Rules::new()
            .keep_newest(1)
            .older_than(Duration::from_secs(86_400));
        let now = emu.clock().now();
        let plan =
            retention::plan_with_graph(view.as_ref(), &registry, &rules, now, session.reader())
                .await
                .unwrap();
        assert!(plan.graph_read && plan.blocked.is_empty(), "{p}: {plan}");
        let cosign_old = format!("sha256-{}.sig", hex(&c.old_index));
        let mut tags = vec![
            entry("b-old", "keep_newest_and_older_than", None),
            entry("c-plain", "keep_newest_and_older_than", None),
            entry(&cosign_old, "orphaned_referrer", Some(&c.old_index)),
        ];
        let got = shape(&plan);
        let (got_tags, got_manifests): (Vec<_>, Vec<_>) = got
            .iter()
            .cloned()
            .partition(|(w, _, _)| !w.starts_with("sha256:"));
        tags.sort();
        let mut sorted_tags = got_tags.clone();
        sorted_tags.sort();
        assert_eq!(sorted_tags, tags, "{p}: {plan}");
        match p {
            Provider::DigitalOcean => {
                // Untagged already and old: by that rule; the cosign `.sig`
                // manifest goes with its subject; the shared platform stays.
                let mut expected = vec![
                    entry(&c.old_index, "untagged", None),
                    entry(&c.plain, "untagged", None),
                    entry(&c.garbage, "untagged_older_than", None),
                    entry(&c.old_platform, "untagged_older_than", None),
                    entry(&c.old_signature, "untagged_older_than", None),
                    entry(&c.old_signature_referrer, "untagged_older_than", None),
                    entry(&c.old_cosign, "orphaned_referrer", Some(&c.old_index)),
                ];
                let mut got_sorted = got_manifests.clone();
                got_sorted.sort();
                expected.sort();
                assert_eq!(got_sorted, expected, "{p}: {plan}");
                // Parents before children, subjects before referrers.
                let at = |d: &str| got_manifests.iter().position(|(w, _, _)| w == d).unwrap();
                assert!(at(&c.old_index) < at(&c.old_platform));
                assert!(at(&c.old_index) < at(&c.old_signature));
                assert!(at(&c.old_signature) < at(&c.old_signature_referrer));
                assert!(at(&c.old_index) < at(&c.old_cosign));
            }
            // No manifest deletes by digest (IONOS), or the tag is the
            // image (Buildkite, which lists no untagged manifests).
            _ => assert!(got_manifests.is_empty(), "{p}: {plan}"),
        }
        for kept in [
            &c.kept_index,
            &c.kept_platforms[0],
            &c.kept_platforms[1],
            &c.kept_signature,
            &c.kept_sbom,
        ] {
            assert!(
                plan.deletions
                    .iter()
                    .all(|d| &d.digest != kept || d.tag.is_some()),
                "{p}: {kept} is kept"
            );
        }
        // No secret in the plan, its text or its file.
        let token = emu.token(p).expose_secret().to_string();
        for shown in [plan.to_string(), plan.to_json(), format!("{plan:?}")] {
            assert!(!shown.contains(&token) && !shown.contains(&s.write.password));
        }
        if view.supports(regkit_workflows::Capability::DeleteTag) {
            let report = retention::apply(
                view.as_ref(),
                &plan,
                ApplyOptions::new().graph(session.reader().clone()),
            )
            .await
            .unwrap();
            assert!(report.is_complete(), "{p}: {report}");
            assert!(report.changed.is_empty(), "{p}: {report}");
            let reader = writer(&s);
            pull_all(&reader, &name, "a-keep").await;
            pull_all(
                &reader,
                &name,
                &format!("sha256-{}.sbom", hex(&c.kept_index)),
            )
            .await;
            pull_all(&reader, &name, &c.kept_signature).await;
            let referrers = reader.referrers(&name, &c.kept_index).await.unwrap();
            assert!(
                referrers
                    .descriptors
                    .iter()
                    .any(|d| d.digest().to_string() == c.kept_signature),
                "{p}: the kept signature is still a referrer"
            );
            for gone in ["b-old", "c-plain", cosign_old.as_str()] {
                assert_eq!(
                    reader.manifest_digest(&name, gone).await.unwrap(),
                    None,
                    "{p}: {gone}"
                );
            }
        }
        session.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_deleted_index_takes_along_what_it_alone_reached_and_the_switch_keeps_referrers() {
    let emu = regkit_tests::registry::emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    let name = s.name("app");
    let c = scenario(&writer(&s), &name).await;
    let account = account(&emu, Provider::DigitalOcean);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let session = session(&emu, account.as_ref(), &registry).await;
    let now = emu.clock().now();
    let plan_of = |rules: Rules| {
        let view = view.as_ref();
        let registry = &registry;
        let reader = session.reader();
        async move {
            retention::plan_with_graph(view, registry, &rules, now, reader)
                .await
                .unwrap()
        }
    };
    // Count only: nothing was untagged long enough for an age rule.
    let plan = plan_of(Rules::new().keep_newest(1)).await;
    let mut manifests: Vec<_> = shape(&plan)
        .into_iter()
        .filter(|(w, _, _)| w.starts_with("sha256:"))
        .collect();
    manifests.sort();
    let mut expected = vec![
        entry(&c.old_index, "untagged", None),
        entry(&c.plain, "untagged", None),
        entry(&c.old_platform, "child_of_deleted", Some(&c.old_index)),
        entry(&c.old_signature, "orphaned_referrer", Some(&c.old_index)),
        entry(
            &c.old_signature_referrer,
            "orphaned_referrer",
            Some(&c.old_signature),
        ),
        entry(&c.old_cosign, "orphaned_referrer", Some(&c.old_index)),
    ];
    expected.sort();
    assert_eq!(manifests, expected, "{plan}");

    // With the switch off, referrers of deleted subjects stay, and so do
    // cosign-style tags.
    let plan = plan_of(Rules::new().keep_newest(1).orphaned_referrers(false)).await;
    let deleted: BTreeSet<String> = shape(&plan).into_iter().map(|(w, _, _)| w).collect();
    let expected: BTreeSet<String> = [
        "b-old".to_string(),
        "c-plain".into(),
        c.old_index.clone(),
        c.plain.clone(),
        c.old_platform.clone(),
    ]
    .into();
    assert_eq!(deleted, expected, "{plan}");

    // A pinned digest keeps what it reaches.
    let plan = plan_of(Rules::new().keep_newest(1).pin(&c.old_index).unwrap()).await;
    let deleted: BTreeSet<String> = shape(&plan).into_iter().map(|(w, _, _)| w).collect();
    assert!(!deleted.contains(&c.old_index) && !deleted.contains(&c.old_platform));
    assert!(!deleted.contains(&c.old_signature) && !deleted.contains(&c.old_cosign));
    assert!(deleted.contains(&c.plain), "{plan}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_manifest_a_kept_index_started_to_list_since_the_plan_is_skipped_and_reported() {
    let emu = regkit_tests::registry::emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    let name = s.name("app");
    let w = writer(&s);
    let c = scenario(&w, &name).await;
    emu.advance(Duration::from_secs(2 * 86_400));
    let account = account(&emu, Provider::DigitalOcean);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let session = session(&emu, account.as_ref(), &registry).await;
    let rules = Rules::new()
        .keep_newest(1)
        .older_than(Duration::from_secs(86_400));
    let plan = retention::plan_with_graph(
        view.as_ref(),
        &registry,
        &rules,
        emu.clock().now(),
        session.reader(),
    )
    .await
    .unwrap();
    assert!(plan.deletions.iter().any(|d| d.digest == c.garbage));
    // Since the plan: a new index, tagged, lists the garbage manifest.
    let garbage = w.manifest(&name, &c.garbage).await.unwrap();
    let listing = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": c.garbage, "size": garbage.bytes.len(),
            "platform": {"architecture": "amd64", "os": "linux"}}],
    })
    .to_string();
    w.put_manifest(&name, "a-rescue", OCI_INDEX, Bytes::from(listing))
        .await
        .unwrap();
    // A plan that read the graph is not applied without checking it.
    let refused = retention::apply(view.as_ref(), &plan, ApplyOptions::new())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("graph"), "{refused}");
    let report = retention::apply(
        view.as_ref(),
        &plan,
        ApplyOptions::new().graph(session.reader().clone()),
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{report}");
    let skipped: Vec<_> = report
        .changed
        .iter()
        .map(|s| (s.deletion.digest.clone(), s.change.clone()))
        .collect();
    assert_eq!(
        skipped,
        [(
            c.garbage.clone(),
            Change::ReferencedNow {
                by: "a-rescue".into()
            }
        )],
        "{report}"
    );
    pull_all(&w, &name, "a-rescue").await;
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_graph_that_cannot_be_read_deletes_nothing_in_that_repository() {
    let emu = regkit_tests::registry::emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    let w = writer(&s);
    scenario(&w, &s.name("app")).await;
    scenario(&w, &s.name("other")).await;
    let account = account(&emu, Provider::DigitalOcean);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let session = session(&emu, account.as_ref(), &registry).await;
    let rules = Rules::new().keep_newest(1);
    let now = emu.clock().now();
    // The first manifest read (in `app`, planned first) is refused: not
    // retried, the repository is left alone; `other` is planned.
    emu.inject(
        FaultRule::status(400)
            .operation("oci_manifest_get")
            .times(1),
    );
    let plan = retention::plan_with_graph(view.as_ref(), &registry, &rules, now, session.reader())
        .await
        .unwrap();
    assert_eq!(plan.blocked.len(), 1, "{plan}");
    assert_eq!(plan.blocked[0].repository, "app");
    assert!(plan.deletions.iter().all(|d| d.repository == "other"));
    assert!(!plan.deletions.is_empty());
    assert!(
        plan.to_string().contains("nothing deleted in app"),
        "{plan}"
    );
    // A server error after the client's retries, everywhere: nothing.
    emu.inject(FaultRule::status(503).operation("oci_referrers_list"));
    let quick = GraphReader::new(
        regkit_oci::Client::builder(s.host.clone())
            .login(Some(regkit_oci::Login::new(
                s.read.user.clone(),
                s.read.password.clone(),
            )))
            .retry(regkit_core::RetryPolicy::none())
            .build()
            .unwrap(),
    );
    let plan = retention::plan_with_graph(view.as_ref(), &registry, &rules, now, &quick)
        .await
        .unwrap();
    assert_eq!(plan.blocked.len(), 2, "{plan}");
    assert!(plan.deletions.is_empty(), "{plan}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn plan_files_round_trip_and_a_stale_or_foreign_plan_is_refused() {
    let emu = regkit_tests::registry::emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    scenario(&writer(&s), &s.name("app")).await;
    let account = account(&emu, Provider::DigitalOcean);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let session = session(&emu, account.as_ref(), &registry).await;
    let now = emu.clock().now();
    let plan = retention::plan_with_graph(
        view.as_ref(),
        &registry,
        &Rules::new().keep_newest(1).exclude("^never$").unwrap(),
        now,
        session.reader(),
    )
    .await
    .unwrap();
    let back = Plan::from_json(&plan.to_json()).unwrap();
    assert_eq!(back.to_json(), plan.to_json());
    assert_eq!(back.deletions, plan.deletions);
    assert_eq!(back.kept, plan.kept);
    let day = Duration::from_secs(86_400);
    back.check_applies("digitalocean", &registry, now, day)
        .unwrap();
    let stale = back
        .check_applies(
            "digitalocean",
            &registry,
            now + chrono::TimeDelta::days(2),
            day,
        )
        .unwrap_err();
    assert!(stale.to_string().contains("older than"), "{stale}");
    let foreign = back
        .check_applies("ionos", &registry, now, day)
        .unwrap_err();
    assert!(
        foreign.to_string().contains("for digitalocean"),
        "{foreign}"
    );
    let other = Registry {
        id: "elsewhere".into(),
        ..registry.clone()
    };
    assert!(
        back.check_applies("digitalocean", &other, now, day)
            .is_err()
    );
    let mut v: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
    v["format"] = 99.into();
    let newer = Plan::from_json(&v.to_string()).unwrap_err();
    assert!(newer.to_string().contains("format 99"), "{newer}");
    assert!(Plan::from_json("{").is_err());
    // The round-tripped plan applies.
    let report = retention::apply(
        view.as_ref(),
        &back,
        ApplyOptions::new().graph(session.reader().clone()),
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{report}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn the_gc_preflight_counts_referenced_untagged_manifests_and_force_goes_ahead() {
    let emu = regkit_tests::registry::emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    let c = scenario(&writer(&s), &s.name("app")).await;
    let account = account(&emu, Provider::DigitalOcean);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let session = session(&emu, account.as_ref(), &registry).await;
    let found = regkit_workflows::gc::preflight(view.as_ref(), &registry, session.reader())
        .await
        .unwrap();
    // Platforms: two of a-keep (one shared with b-old), one of b-old;
    // referrers: a-keep's and b-old's signatures and the signature's own.
    assert_eq!(
        (found.index_children, found.referrers),
        (3, 3),
        "{found} ({})",
        c.garbage
    );
    let waiter = regkit_workflows::gc::GcWaiter::new()
        .clock(Arc::new(emu.clock().clone()))
        .poll_interval(Duration::from_millis(10));
    for kind in [
        GcKind::UntaggedManifestsAndUnreferencedBlobs,
        GcKind::UntaggedManifestsOnly,
    ] {
        let refused = waiter
            .clone()
            .preflight(session.reader().clone(), false)
            .wait(view.as_ref(), &registry, kind)
            .await
            .unwrap_err();
        assert!(
            matches!(
                refused,
                regkit_workflows::Error::GcWouldTakeReferenced {
                    index_children: 3,
                    referrers: 3
                }
            ),
            "{refused}"
        );
    }
    // Blobs only takes no manifest: no preflight.
    let blobs = waiter
        .clone()
        .preflight(session.reader().clone(), false)
        .wait(view.as_ref(), &registry, GcKind::UnreferencedBlobsOnly)
        .await
        .unwrap();
    assert!(blobs.succeeded);
    let forced = waiter
        .preflight(session.reader().clone(), true)
        .wait(
            view.as_ref(),
            &registry,
            GcKind::UntaggedManifestsAndUnreferencedBlobs,
        )
        .await
        .unwrap();
    assert!(forced.succeeded, "{forced:?}");
    session.close().await.unwrap();
}

/// 2 000 tags deleted under DigitalOcean's documented quota (250 a minute,
/// 5 000 an hour, per token; here 120 times faster): the client pauses
/// when `ratelimit-remaining` reaches 0 until `ratelimit-reset`, so every
/// deletion is done and the quota refuses nothing.
#[tokio::test]
async fn a_two_thousand_tag_prune_under_the_quota_finishes_without_a_refusal() {
    let emu = regkit_tests::registry::emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    let name = s.name("many");
    let w = writer(&s);
    let image = Image::new("amd64", 1, 500, None);
    push(&w, &name, Some("latest"), &image).await;
    let tags: Vec<String> = (0..2000).map(|i| format!("build-{i:04}")).collect();
    futures::stream::iter(&tags)
        .for_each_concurrent(16, |t| {
            let w = &w;
            let name = &name;
            let manifest = Bytes::from(image.manifest.clone());
            async move {
                w.put_manifest(name, t, OCI_MANIFEST, manifest)
                    .await
                    .unwrap();
            }
        })
        .await;
    emu.quota(
        Provider::DigitalOcean,
        Some(regkit_emulator::Quota::digitalocean().faster(120)),
    );
    let account = account(&emu, Provider::DigitalOcean);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let session = session(&emu, account.as_ref(), &registry).await;
    let plan = retention::plan_with_graph(
        view.as_ref(),
        &registry,
        &Rules::new().keep_newest(0),
        emu.clock().now(),
        session.reader(),
    )
    .await
    .unwrap();
    assert_eq!(
        plan.totals.tags_deleted, 2000,
        "{}",
        plan.totals.tags_deleted
    );
    assert_eq!(
        plan.totals.manifests_deleted, 0,
        "latest keeps the manifest"
    );
    let report = retention::apply(
        view.as_ref(),
        &plan,
        ApplyOptions::new().graph(session.reader().clone()),
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.done.len(), 2000);
    assert_eq!(emu.quota_refusals(), 0, "no request was refused");
    emu.quota(Provider::DigitalOcean, None);
    session.close().await.unwrap();
}
