//! The retention planner and its apply: a rules table against an in-memory
//! view (keep N, older than, both, include/exclude, protected tags sharing
//! a manifest, ties, unknown ages, untagged manifests, determinism), apply's
//! order and partial-failure report, then end to end against
//! regkit-emulator's DigitalOcean: the exact plan over 1 000 tags with mixed
//! ages and protected tags, apply and a garbage collection on the virtual
//! clock, a fault midway, and no secret in any output.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use regkit_emulator::providers::digitalocean::Tier;
use regkit_emulator::{ClockMode, Emulator, FaultRule, Provider};
use regkit_workflows::gc::GcWaiter;
use regkit_workflows::providers::{BuildkiteView, DigitalOceanView};
use regkit_workflows::retention::{self, ApplyOptions, Change, Deletion, Plan, Rule, Rules};
use regkit_workflows::view::{
    CollectGarbage, DeleteImages, GcKind, GcStatus, Image, ListContents, Registry, RegistryView,
    Repository, TagDeletion,
};
use regkit_workflows::{Capability, Error, Result};

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

// --- an in-memory view ------------------------------------------------------------

#[derive(Debug, Default)]
struct Fake {
    repos: Mutex<BTreeMap<String, Vec<Image>>>,
    no_manifest_delete: bool,
    no_tag_delete: bool,
    /// Deleting a tag removes its manifest with its last tag (Buildkite's
    /// model); otherwise the manifest stays, untagged.
    tag_removes_manifest: bool,
    /// Deletions (tag or `@digest`) in the order asked.
    calls: Mutex<Vec<String>>,
    /// The n-th deletion call (0-based) fails.
    fail_at: Option<usize>,
}

impl Fake {
    fn with(images: Vec<Image>) -> Self {
        let fake = Fake::default();
        {
            let mut repos = fake.repos.lock().unwrap();
            for i in images {
                repos.entry(i.repository.clone()).or_default().push(i);
            }
        }
        fake
    }

    fn record(&self, what: String) -> Result<()> {
        let mut calls = self.calls.lock().unwrap();
        if self.fail_at == Some(calls.len()) {
            return Err(Error::Unexpected(format!("injected failure on {what}")));
        }
        calls.push(what);
        Ok(())
    }
}

#[async_trait::async_trait]
impl RegistryView for Fake {
    fn provider(&self) -> &'static str {
        "fake"
    }

    fn supports(&self, capability: Capability) -> bool {
        match capability {
            Capability::DeleteManifest => !self.no_manifest_delete,
            Capability::DeleteTag => !self.no_tag_delete,
            _ => true,
        }
    }

    async fn registries(&self) -> Result<Vec<Registry>> {
        Ok(vec![registry()])
    }

    fn contents(&self) -> Option<&dyn ListContents> {
        Some(self)
    }

    fn deletion(&self) -> Option<&dyn DeleteImages> {
        Some(self)
    }

    fn collection(&self) -> Option<&dyn CollectGarbage> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl ListContents for Fake {
    fn repositories<'a>(&'a self, _: &'a Registry) -> BoxStream<'a, Result<Repository>> {
        let names: Vec<String> = self.repos.lock().unwrap().keys().cloned().collect();
        // Listed in reverse, to show the plan does not depend on it.
        stream::iter(names.into_iter().rev().map(|name| {
            Ok(Repository {
                name,
                tag_count: None,
                updated_at: None,
            })
        }))
        .boxed()
    }

    fn images<'a>(&'a self, _: &'a Registry, repository: &'a str) -> BoxStream<'a, Result<Image>> {
        let mut images = self
            .repos
            .lock()
            .unwrap()
            .get(repository)
            .cloned()
            .unwrap_or_default();
        images.reverse();
        stream::iter(images.into_iter().map(Ok)).boxed()
    }
}

#[async_trait::async_trait]
impl DeleteImages for Fake {
    fn tag_deletion(&self) -> TagDeletion {
        if self.tag_removes_manifest {
            TagDeletion::RemovesManifestWithLastTag
        } else {
            TagDeletion::LeavesManifest
        }
    }

    async fn delete_tag(&self, _: &Registry, repository: &str, tag: &str) -> Result<()> {
        self.record(format!("{repository}:{tag}"))?;
        if let Some(images) = self.repos.lock().unwrap().get_mut(repository) {
            let Some(at) = images.iter().position(|i| i.tag.as_deref() == Some(tag)) else {
                return Err(Error::Unexpected(format!("no tag {tag}")));
            };
            let image = images.remove(at);
            let still_tagged = images.iter().any(|i| i.digest == image.digest);
            if !still_tagged && !self.tag_removes_manifest {
                images.push(Image { tag: None, ..image });
            }
        }
        Ok(())
    }

    async fn delete_manifest(&self, _: &Registry, repository: &str, digest: &str) -> Result<()> {
        self.record(format!("{repository}@{digest}"))?;
        if let Some(images) = self.repos.lock().unwrap().get_mut(repository) {
            images.retain(|i| i.digest != digest);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl CollectGarbage for Fake {
    async fn start_gc(&self, _: &Registry, kind: GcKind) -> Result<GcStatus> {
        Ok(GcStatus {
            id: "gc".into(),
            status: "succeeded".into(),
            finished: true,
            succeeded: true,
            freed_bytes: Some(1),
            blobs_deleted: None,
            kind: Some(kind),
        })
    }

    async fn gc_status(&self, r: &Registry, _: &str) -> Result<Option<GcStatus>> {
        CollectGarbage::start_gc(self, r, GcKind::UntaggedManifestsAndUnreferencedBlobs)
            .await
            .map(Some)
    }
}

fn registry() -> Registry {
    Registry {
        id: "r".into(),
        name: "r".into(),
        host: None,
        storage_bytes: None,
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn days(n: i64) -> Duration {
    Duration::from_secs(n as u64 * 86_400)
}

/// An image `age_days` old; `digest` defaults to one of its own.
fn img(repo: &str, tag: Option<&str>, digest: &str, age_days: i64) -> Image {
    Image {
        repository: repo.into(),
        tag: tag.map(str::to_string),
        digest: digest.into(),
        size_bytes: Some(100),
        updated_at: Some(now() - TimeDelta::days(age_days)),
    }
}

/// `n` tags `t0`… of `repo`, `t{i}` `i` days old, each on its own manifest
/// `d-t{i}`.
fn aged(repo: &str, n: i64) -> Vec<Image> {
    (0..n)
        .map(|i| img(repo, Some(&format!("t{i}")), &format!("d-t{i}"), i))
        .collect()
}

async fn plan_of(view: &Fake, rules: &Rules) -> Plan {
    retention::plan(view, &registry(), rules, now())
        .await
        .unwrap()
}

fn tags(plan: &Plan) -> Vec<String> {
    plan.deletions
        .iter()
        .filter_map(|d| d.tag.as_ref().map(|t| format!("{}:{t}", d.repository)))
        .collect()
}

fn manifests(plan: &Plan) -> Vec<String> {
    plan.deletions
        .iter()
        .filter(|d| d.tag.is_none())
        .map(|d| format!("{}@{}", d.repository, d.digest))
        .collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// --- rules ------------------------------------------------------------------------------

#[test]
fn rules_new_protects_latest_and_semver_releases_only() {
    let rules = Rules::new();
    for tag in ["latest", "1.2.3", "v1.2.3", "v10.20.30"] {
        assert!(rules.is_protected(tag), "{tag}");
    }
    for tag in ["latest-dev", "v1.2", "v1.2.3-rc1", "main", "v1", "xlatest"] {
        assert!(!rules.is_protected(tag), "{tag}");
    }
    assert!(Rules::unprotected().protect.is_empty());
    assert!(matches!(
        Rules::new().include("(").unwrap_err(),
        Error::InvalidInput(_)
    ));
}

#[tokio::test]
async fn keep_newest_only_deletes_what_is_beyond_n_with_its_manifests() {
    let view = Fake::with(aged("app", 6));
    let plan = plan_of(&view, &Rules::new().keep_newest(2)).await;
    assert_eq!(tags(&plan), strs(&["app:t2", "app:t3", "app:t4", "app:t5"]));
    assert_eq!(
        manifests(&plan),
        strs(&["app@d-t2", "app@d-t3", "app@d-t4", "app@d-t5"])
    );
    for d in &plan.deletions {
        match d.tag {
            Some(_) => {
                assert_eq!(d.rule, Rule::KeepNewest { n: 2 });
                assert_eq!(d.freed_bytes, Some(0), "a tag frees nothing itself");
            }
            None => {
                assert_eq!(d.rule, Rule::Untagged);
                assert_eq!(d.freed_bytes, Some(100));
            }
        }
    }
    let t = &plan.totals;
    assert_eq!(
        (
            t.repositories,
            t.tags_seen,
            t.tags_kept,
            t.tags_deleted,
            t.manifests_deleted
        ),
        (1, 6, 2, 4, 4)
    );
    assert_eq!((t.freed_bytes, t.unknown_sizes), (400, 0));
}

#[tokio::test]
async fn older_than_only_deletes_what_is_older_than_the_cutoff() {
    let view = Fake::with(aged("app", 6));
    let plan = plan_of(
        &view,
        &Rules::new().older_than(days(3) + Duration::from_secs(1)),
    )
    .await;
    let cutoff = now() - TimeDelta::days(3) - TimeDelta::seconds(1);
    assert_eq!(plan.cutoff, Some(cutoff));
    assert_eq!(tags(&plan), strs(&["app:t4", "app:t5"]));
    assert!(
        plan.deletions
            .iter()
            .filter(|d| d.tag.is_some())
            .all(|d| d.rule == Rule::OlderThan { cutoff })
    );
}

#[tokio::test]
async fn both_rules_delete_only_what_is_beyond_n_and_older_so_n_is_a_floor() {
    let view = Fake::with(aged("app", 6));
    let cutoff = now() - TimeDelta::hours(36);
    let rules = Rules::new()
        .keep_newest(3)
        .older_than(Duration::from_secs(36 * 3600));
    let plan = plan_of(&view, &rules).await;
    // Older than 36 h: t2…t5; beyond the newest 3: t3…t5.
    assert_eq!(tags(&plan), strs(&["app:t3", "app:t4", "app:t5"]));
    assert!(
        plan.deletions
            .iter()
            .filter(|d| d.tag.is_some())
            .all(|d| d.rule == Rule::KeepNewestAndOlderThan { n: 3, cutoff })
    );

    // A dormant repository (everything old) keeps its newest 3.
    let old: Vec<Image> = (0..6)
        .map(|i| img("app", Some(&format!("t{i}")), &format!("d{i}"), 400 + i))
        .collect();
    let plan = plan_of(&Fake::with(old), &rules).await;
    assert_eq!(tags(&plan), strs(&["app:t3", "app:t4", "app:t5"]));

    // Neither rule: nothing.
    let plan = plan_of(&view, &Rules::new()).await;
    assert!(plan.is_empty());
}

#[tokio::test]
async fn include_and_exclude_choose_candidates_and_n_counts_candidates_only() {
    let mut images = aged("app", 4); // t0..t3
    for (i, tag) in ["pr-1", "pr-2", "pr-keep-3", "pr-4"].iter().enumerate() {
        images.push(img("app", Some(tag), &format!("d-{tag}"), 10 + i as i64));
    }
    let view = Fake::with(images);
    let rules = Rules::new()
        .keep_newest(1)
        .include("^pr-")
        .unwrap()
        .exclude("keep")
        .unwrap();
    let plan = plan_of(&view, &rules).await;
    // Candidates pr-1 (newest, kept), pr-2, pr-4; t* are not included.
    assert_eq!(tags(&plan), strs(&["app:pr-2", "app:pr-4"]));
    assert_eq!(plan.totals.tags_kept, 6);
}

#[tokio::test]
async fn a_protected_tag_keeps_its_manifest_while_another_tag_on_it_goes() {
    let view = Fake::with(vec![
        img("app", Some("latest"), "d-shared", 50),
        img("app", Some("build-50"), "d-shared", 50),
        img("app", Some("v1.2.3"), "d-release", 60),
        img("app", Some("v1.2.3-rc1"), "d-release", 61),
        img("app", Some("v1.2.3-rc0"), "d-rc0", 62),
        img("app", Some("other"), "d-other", 1),
    ]);
    let plan = plan_of(&view, &Rules::new().older_than(days(30))).await;
    assert_eq!(
        tags(&plan),
        strs(&["app:build-50", "app:v1.2.3-rc0", "app:v1.2.3-rc1"])
    );
    assert_eq!(
        manifests(&plan),
        strs(&["app@d-rc0"]),
        "protected manifests are never deleted"
    );
    // A manifest one of whose tags is kept (too new) stays too.
    let view = Fake::with(vec![
        img("app", Some("old"), "d", 90),
        Image {
            updated_at: Some(now()),
            ..img("app", Some("new"), "d", 0)
        },
    ]);
    let plan = plan_of(&view, &Rules::new().older_than(days(30))).await;
    assert_eq!(tags(&plan), strs(&["app:old"]));
    assert!(manifests(&plan).is_empty());
}

#[tokio::test]
async fn ties_go_by_tag_name_and_unknown_ages_rank_newest_and_never_old() {
    let same = |tag: &str| img("app", Some(tag), &format!("d-{tag}"), 5);
    let view = Fake::with(vec![same("c"), same("a"), same("b")]);
    let plan = plan_of(&view, &Rules::new().keep_newest(1)).await;
    assert_eq!(tags(&plan), strs(&["app:b", "app:c"]), "a is first by name");

    let unknown = Image {
        updated_at: None,
        size_bytes: None,
        ..img("app", Some("mystery"), "d-m", 0)
    };
    let view = Fake::with(vec![unknown, img("app", Some("old"), "d-o", 100)]);
    let plan = plan_of(&view, &Rules::new().keep_newest(1)).await;
    assert_eq!(tags(&plan), strs(&["app:old"]), "unknown age ranks newest");
    let plan = plan_of(&view, &Rules::new().older_than(days(1))).await;
    assert_eq!(tags(&plan), strs(&["app:old"]), "unknown age is never old");
    // An unknown size is counted apart.
    let view = Fake::with(vec![Image {
        size_bytes: None,
        ..img("app", Some("x"), "d-x", 100)
    }]);
    let plan = plan_of(&view, &Rules::new().older_than(days(1))).await;
    assert_eq!(plan.totals.unknown_sizes, 1);
}

#[tokio::test]
async fn untagged_manifests_already_there_go_when_older_than_the_cutoff() {
    let view = Fake::with(vec![
        img("app", None, "d-old", 40),
        img("app", None, "d-new", 2),
        img("app", Some("t"), "d-t", 1),
    ]);
    let rules = Rules::new().older_than(days(30));
    let plan = plan_of(&view, &rules).await;
    let cutoff = now() - TimeDelta::days(30);
    assert_eq!(
        plan.deletions,
        vec![Deletion {
            repository: "app".into(),
            tag: None,
            digest: "d-old".into(),
            rule: Rule::UntaggedOlderThan { cutoff },
            parent: None,
            freed_bytes: Some(100),
        }]
    );
    assert!(
        plan_of(&view, &rules.delete_untagged(false))
            .await
            .is_empty()
    );
    assert!(
        plan_of(&view, &Rules::new().keep_newest(0))
            .await
            .deletions
            .len()
            == 2,
        "without older_than, only the tag and its manifest"
    );
}

#[tokio::test]
async fn without_manifest_deletion_the_first_tag_of_an_emptied_manifest_carries_its_bytes() {
    let mut view = Fake::with(vec![
        img("app", Some("a"), "d1", 10),
        img("app", Some("b"), "d1", 10),
        img("app", Some("c"), "d2", 10),
        img("app", None, "d3", 10),
    ]);
    view.no_manifest_delete = true;
    let plan = plan_of(&view, &Rules::new().older_than(days(1))).await;
    let freed: Vec<(String, Option<u64>)> = plan
        .deletions
        .iter()
        .map(|d| (d.tag.clone().unwrap_or_default(), d.freed_bytes))
        .collect();
    assert_eq!(
        freed,
        vec![
            ("a".into(), Some(100)),
            ("b".into(), Some(0)),
            ("c".into(), Some(100))
        ]
    );
}

#[tokio::test]
async fn the_same_state_gives_the_same_plan_ordered_tags_then_manifests() {
    let mut images = aged("web", 30);
    images.extend(aged("api/v2", 30));
    images.extend(aged("zz", 3));
    images.push(img("api/v2", Some("latest"), "d-t29", 0));
    let view = Fake::with(images);
    let rules = Rules::new()
        .keep_newest(5)
        .older_than(days(10))
        .repository("^(web|api/)")
        .unwrap();
    let a = plan_of(&view, &rules).await;
    let b = plan_of(&view, &rules).await;
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(a.totals.repositories, 2, "zz is not covered");

    let first_manifest = a.deletions.iter().position(|d| d.tag.is_none()).unwrap();
    assert!(
        a.deletions[..first_manifest]
            .iter()
            .all(|d| d.tag.is_some())
    );
    assert!(
        a.deletions[first_manifest..]
            .iter()
            .all(|d| d.tag.is_none())
    );
    let key = |d: &Deletion| (d.repository.clone(), d.tag.clone(), d.digest.clone());
    for part in [
        &a.deletions[..first_manifest],
        &a.deletions[first_manifest..],
    ] {
        let keys: Vec<_> = part.iter().map(key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
    // api/v2's t29 shares its manifest with `latest`: the tag goes, the
    // manifest stays.
    assert!(tags(&a).contains(&"api/v2:t29".to_string()));
    assert!(!manifests(&a).contains(&"api/v2@d-t29".to_string()));

    // The JSON names the rule of each deletion.
    let json: serde_json::Value = serde_json::to_value(&a).unwrap();
    assert_eq!(json["provider"], "fake");
    assert_eq!(
        json["deletions"][0]["rule"]["rule"],
        "keep_newest_and_older_than"
    );
    assert_eq!(json["rules"]["protect"][0], "^latest$");
    assert_eq!(json["rules"]["older_than"], 864_000);
    let text = a.to_string();
    assert!(text.contains("delete tag api/v2:t11 (d-t11)"), "{text}");
}

// --- apply --------------------------------------------------------------------------------

#[tokio::test]
async fn apply_deletes_tags_then_manifests_then_collects() {
    let view = Fake::with(aged("app", 4));
    let plan = plan_of(&view, &Rules::new().keep_newest(2)).await;
    let waiter = GcWaiter::new();
    let report = retention::apply(
        &view,
        &plan,
        ApplyOptions::new().gc(GcKind::UntaggedManifestsAndUnreferencedBlobs, waiter),
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        *view.calls.lock().unwrap(),
        strs(&["app:t2", "app:t3", "app@d-t2", "app@d-t3"])
    );
    assert_eq!(report.done, plan.deletions);
    assert!(report.gc.as_ref().is_some_and(|s| s.succeeded));
    // Applied, the same rules plan nothing more.
    assert!(
        plan_of(&view, &Rules::new().keep_newest(2))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn apply_stops_at_the_first_failure_and_says_what_was_and_was_not_done() {
    let mut view = Fake::with(aged("app", 6));
    view.fail_at = Some(2);
    let plan = plan_of(&view, &Rules::new().keep_newest(1)).await;
    assert_eq!(plan.deletions.len(), 10);
    let report = retention::apply(
        &view,
        &plan,
        ApplyOptions::new().gc(
            GcKind::UntaggedManifestsAndUnreferencedBlobs,
            GcWaiter::new(),
        ),
    )
    .await
    .unwrap();
    assert!(!report.is_complete());
    assert_eq!(report.done, plan.deletions[..2]);
    let (failed, err) = report.failed.as_ref().unwrap();
    assert_eq!(failed, &plan.deletions[2]);
    assert!(err.to_string().contains("injected"));
    assert_eq!(report.not_attempted, plan.deletions[3..]);
    assert!(report.gc.is_none(), "no collection after a failure");
    assert_eq!(view.calls.lock().unwrap().len(), 2, "no retry");
}

#[tokio::test]
async fn apply_refuses_up_front_what_it_cannot_do() {
    let view = Fake::with(aged("app", 3));
    let plan = plan_of(&view, &Rules::new().keep_newest(1)).await;
    let mut no_tags = Fake::with(aged("app", 3));
    no_tags.no_tag_delete = true;
    let err = retention::apply(&no_tags, &plan, ApplyOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Unsupported {
            capability: Capability::DeleteTag,
            ..
        }
    ));
    assert!(no_tags.calls.lock().unwrap().is_empty());

    let mut other = plan.clone();
    other.provider = "digitalocean".into();
    let err = retention::apply(&view, &other, ApplyOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

/// Points `repo:tag` at `digest` in the fake (pushing the tag again).
fn retag(view: &Fake, repo: &str, tag: &str, digest: &str) {
    let mut repos = view.repos.lock().unwrap();
    let images = repos.get_mut(repo).unwrap();
    if let Some(at) = images.iter().position(|i| i.tag.as_deref() == Some(tag)) {
        let old = images.remove(at);
        if !images.iter().any(|i| i.digest == old.digest) {
            images.push(Image { tag: None, ..old });
        }
    }
    images.retain(|i| !(i.digest == digest && i.tag.is_none()));
    images.push(img(repo, Some(tag), digest, 0));
}

#[tokio::test]
async fn apply_skips_a_tag_pushed_again_since_the_plan_and_goes_on() {
    let view = Fake::with(aged("app", 5));
    let plan = plan_of(&view, &Rules::new().keep_newest(2)).await;
    assert_eq!(tags(&plan), strs(&["app:t2", "app:t3", "app:t4"]));
    // t3 is pushed again, onto a new image, after the plan.
    retag(&view, "app", "t3", "d-new");
    let report = retention::apply(&view, &plan, ApplyOptions::new())
        .await
        .unwrap();
    assert!(
        report.is_complete(),
        "a skip does not stop the run: {report}"
    );
    assert_eq!(
        *view.calls.lock().unwrap(),
        strs(&["app:t2", "app:t4", "app@d-t2", "app@d-t3", "app@d-t4"]),
        "t3 is not deleted; its old manifest is untagged now and goes as planned"
    );
    assert_eq!(report.changed.len(), 1);
    assert_eq!(report.changed[0].deletion.tag.as_deref(), Some("t3"));
    assert_eq!(
        report.changed[0].change,
        Change::TagMoved {
            digest: "d-new".into()
        }
    );
    assert_eq!(
        report.done.len() + report.changed.len(),
        plan.deletions.len()
    );
    assert!(
        report
            .to_string()
            .contains("1 skipped as changed since the plan")
    );
    // The new image keeps its tag.
    let left = view.repos.lock().unwrap()["app"].clone();
    assert!(
        left.iter()
            .any(|i| i.tag.as_deref() == Some("t3") && i.digest == "d-new")
    );
}

#[tokio::test]
async fn apply_skips_a_manifest_that_a_tag_moved_onto_since_the_plan() {
    let view = Fake::with(aged("app", 4));
    let plan = plan_of(&view, &Rules::new().keep_newest(2)).await;
    assert_eq!(manifests(&plan), strs(&["app@d-t2", "app@d-t3"]));
    // `latest` is rolled back onto d-t3 after the plan.
    view.repos
        .lock()
        .unwrap()
        .get_mut("app")
        .unwrap()
        .push(img("app", Some("latest"), "d-t3", 0));
    let report = retention::apply(&view, &plan, ApplyOptions::new())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        *view.calls.lock().unwrap(),
        strs(&["app:t2", "app:t3", "app@d-t2"])
    );
    assert_eq!(
        report.changed,
        vec![retention::Skipped {
            deletion: plan.deletions[3].clone(),
            change: Change::ManifestTagged {
                tags: strs(&["latest"])
            },
        }]
    );
    let left = view.repos.lock().unwrap()["app"].clone();
    assert!(
        left.iter()
            .any(|i| i.tag.as_deref() == Some("latest") && i.digest == "d-t3"),
        "the rolled-back image stays whole"
    );
}

#[tokio::test]
async fn apply_skips_what_is_gone_already() {
    let view = Fake::with(aged("app", 4));
    let plan = plan_of(&view, &Rules::new().keep_newest(2)).await;
    // Someone else deleted t2 (and its manifest) and d-t3 went too.
    {
        let mut repos = view.repos.lock().unwrap();
        let images = repos.get_mut("app").unwrap();
        images.retain(|i| i.digest != "d-t2");
    }
    let report = retention::apply(&view, &plan, ApplyOptions::new())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    let changes: Vec<(Option<String>, Change)> = report
        .changed
        .iter()
        .map(|s| (s.deletion.tag.clone(), s.change.clone()))
        .collect();
    assert_eq!(
        changes,
        vec![
            (Some("t2".into()), Change::TagGone),
            (None, Change::ManifestGone)
        ]
    );
    assert_eq!(*view.calls.lock().unwrap(), strs(&["app:t3", "app@d-t3"]));
}

#[tokio::test]
async fn where_a_tag_deletion_removes_the_manifest_the_plan_deletes_tags_only_and_applies_fully() {
    let mut images = aged("app", 5);
    // t0 and t1 share d-t0; t4 and t3 share d-t3.
    images[1].digest = "d-t0".into();
    images[4].digest = "d-t3".into();
    let mut view = Fake::with(images);
    view.tag_removes_manifest = true;
    let plan = plan_of(&view, &Rules::new().keep_newest(1)).await;
    assert_eq!(tags(&plan), strs(&["app:t1", "app:t2", "app:t3", "app:t4"]));
    assert!(manifests(&plan).is_empty(), "{plan}");
    // Bytes: d-t2 and d-t3 are emptied, each credited once; d-t0 stays (t0).
    let freed: Vec<Option<u64>> = plan.deletions.iter().map(|d| d.freed_bytes).collect();
    assert_eq!(freed, vec![Some(0), Some(100), Some(100), Some(0)]);
    assert_eq!(plan.totals.freed_bytes, 200);
    let report = retention::apply(&view, &plan, ApplyOptions::new())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert!(report.changed.is_empty());
    assert_eq!(report.done, plan.deletions);
    let left = view.repos.lock().unwrap()["app"].clone();
    assert_eq!(left.len(), 1, "{left:?}");
    // Untagged manifests that exist already are still deleted by digest.
    let mut view = Fake::with(vec![
        img("app", Some("t0"), "d0", 0),
        img("app", None, "old", 90),
    ]);
    view.tag_removes_manifest = true;
    let plan = plan_of(&view, &Rules::new().older_than(days(30))).await;
    assert_eq!(manifests(&plan), strs(&["app@old"]));
}

// --- end to end: DigitalOcean on the emulator ------------------------------------------------

/// `acme` with `team/app`: 1 000 tags — `v1`…`v989` one a day going back
/// (`v989` today, each up to an hour older), `latest` on `v989`'s manifest,
/// and ten releases `v1.0.0`…`v1.0.9` on the manifests of `v10`, `v20`, …,
/// `v100`; and `web`: `v1`…`v300` and `latest`, with `v1`, `v2` and `v299`
/// untagged.
async fn seeded() -> std::result::Result<Emulator, Box<dyn std::error::Error>> {
    let emu = Emulator::builder().clock(ClockMode::Frozen).start().await?;
    emu.seed(|world, ids, now| -> std::result::Result<(), String> {
        let account = &mut world.digitalocean;
        account
            .create_registry("acme", Some("fra1"), Some(Tier::Professional), now)
            .map_err(|e| e.to_string())?;
        account
            .seed_repository("acme", "team/app", 989, ids, now)
            .map_err(|e| e.to_string())?;
        account
            .seed_repository("acme", "web", 300, ids, now)
            .map_err(|e| e.to_string())?;
        let store = &mut account
            .registries
            .get_mut("acme")
            .ok_or("registry acme")?
            .store;
        let app = store.repositories.get_mut("team/app").ok_or("team/app")?;
        for k in 0..10 {
            let digest = app.tags[&format!("v{}", (k + 1) * 10)].clone();
            app.tags.insert(format!("v1.0.{k}"), digest);
        }
        let web = store.repositories.get_mut("web").ok_or("web")?;
        for tag in ["v1", "v2", "v299"] {
            web.tags.remove(tag);
        }
        Ok(())
    })?;
    let tags = emu.world().digitalocean.registries["acme"]
        .store
        .repositories["team/app"]
        .tags
        .len();
    assert_eq!(tags, 1000);
    Ok(emu)
}

/// Keep the newest 100 candidates, delete what is older than 200½ days
/// (the half day keeps clear of the seeded ages' up-to-an-hour jitter).
fn e2e_rules() -> Rules {
    Rules::new()
        .keep_newest(100)
        .older_than(Duration::from_secs(200 * 86_400 + 12 * 3600))
}

async fn do_view(view: DigitalOceanView) -> (DigitalOceanView, Registry) {
    let registry = view
        .registries()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "acme")
        .unwrap();
    (view, registry)
}

fn digest_of(emu: &Emulator, repo: &str, tag: &str) -> String {
    emu.world().digitalocean.registries["acme"]
        .store
        .repositories[repo]
        .tags[tag]
        .clone()
}

#[tokio::test]
async fn emulator_the_plan_over_1000_tags_is_exact_then_applied_and_collected() -> TestResult {
    let emu = seeded().await?;
    let (view, registry) = do_view(DigitalOceanView::new(emu.digitalocean())).await;
    let now = emu.now();
    let rules = e2e_rules();
    let cutoff = now - TimeDelta::days(200) - TimeDelta::hours(12);
    let plan = retention::plan(&view, &registry, &rules, now).await?;

    // team/app: candidates are v1…v989 (latest and v1.0.x are protected);
    // the newest 100 are v890…v989; older than 200½ days are v1…v788.
    // web: candidates v3…v298 and v300; the newest 100 are v300 and
    // v200…v298; older: v3…v99. v1 and v2 were untagged and are old; v299
    // is untagged but new.
    let mut want_tags: BTreeSet<String> = (1..=788).map(|i| format!("team/app:v{i}")).collect();
    want_tags.extend((3..=99).map(|i| format!("web:v{i}")));
    let got_tags: BTreeSet<String> = tags(&plan).into_iter().collect();
    assert_eq!(got_tags, want_tags);
    assert_eq!(tags(&plan).len(), 788 + 97, "each once");

    let protected: BTreeSet<usize> = (1..=10).map(|k| k * 10).collect();
    let mut want_manifests: BTreeMap<String, Rule> = (1..=788)
        .filter(|i| !protected.contains(i))
        .map(|i| {
            (
                format!("team/app@{}", digest_of(&emu, "team/app", &format!("v{i}"))),
                Rule::Untagged,
            )
        })
        .collect();
    // web's v1, v2 are untagged now: their digests from the snapshot.
    let web = &emu.world().digitalocean.registries["acme"]
        .store
        .repositories["web"];
    let untagged = web.untagged();
    assert_eq!(untagged.len(), 3);
    for digest in &untagged {
        let age = now - web.manifests[digest].updated_at;
        if age > TimeDelta::days(200) {
            want_manifests.insert(format!("web@{digest}"), Rule::UntaggedOlderThan { cutoff });
        }
    }
    for i in 3..=99 {
        want_manifests.insert(
            format!("web@{}", digest_of(&emu, "web", &format!("v{i}"))),
            Rule::Untagged,
        );
    }
    assert_eq!(want_manifests.len(), 778 + 2 + 97);
    let got_manifests: BTreeMap<String, Rule> = plan
        .deletions
        .iter()
        .filter(|d| d.tag.is_none())
        .map(|d| (format!("{}@{}", d.repository, d.digest), d.rule))
        .collect();
    assert_eq!(got_manifests, want_manifests);
    assert!(
        plan.deletions
            .iter()
            .filter(|d| d.tag.is_some())
            .all(|d| d.rule == Rule::KeepNewestAndOlderThan { n: 100, cutoff })
    );
    assert_eq!(plan.totals.tags_seen, 1000 + 298);
    assert_eq!(plan.totals.unknown_sizes, 0);
    assert!(plan.totals.freed_bytes > 0);

    // The same state: the same plan.
    let again = retention::plan(&view, &registry, &rules, now).await?;
    assert_eq!(
        serde_json::to_string(&plan)?,
        serde_json::to_string(&again)?
    );
    let nothing_deleted = emu.world().digitalocean.registries["acme"]
        .store
        .repositories["team/app"]
        .tags
        .len();
    assert_eq!(nothing_deleted, 1000, "plan deletes nothing");

    // Apply, with a garbage collection on the virtual clock.
    let storage_before = emu.world().digitalocean.registries["acme"]
        .store
        .storage_bytes();
    let waiter = GcWaiter::new().clock(Arc::new(emu.clock().clone()));
    let report = retention::apply(
        &view,
        &plan,
        ApplyOptions::new().gc(GcKind::UntaggedManifestsAndUnreferencedBlobs, waiter),
    )
    .await?;
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.done.len(), plan.deletions.len());
    let gc = report.gc.as_ref().ok_or("a garbage collection ran")?;
    assert!(gc.succeeded);
    let world = emu.world();
    let store = &world.digitalocean.registries["acme"].store;
    let app = &store.repositories["team/app"];
    let left: BTreeSet<&str> = app.tags.keys().map(String::as_str).collect();
    let mut want_left: BTreeSet<String> = (789..=989).map(|i| format!("v{i}")).collect();
    want_left.insert("latest".into());
    want_left.extend((0..10).map(|k| format!("v1.0.{k}")));
    assert_eq!(left, want_left.iter().map(String::as_str).collect());
    assert_eq!(
        app.manifests.len(),
        201 + 10,
        "kept manifests and the releases'"
    );
    assert!(
        store.repositories["web"].untagged().is_empty(),
        "the collection took v299's untagged manifest too"
    );
    let freed = storage_before - store.storage_bytes();
    assert_eq!(gc.freed_bytes, Some(freed));
    assert!(
        freed > 0 && freed <= plan.totals.freed_bytes,
        "shared layers stay"
    );

    // Nothing more to do.
    let after = retention::plan(&view, &registry, &rules, emu.now()).await?;
    assert!(after.is_empty(), "{after}");
    Ok(())
}

#[tokio::test]
async fn emulator_a_fault_midway_reports_five_done_one_failed_and_the_rest_not_attempted()
-> TestResult {
    let emu = seeded().await?;
    let client = emu
        .client_builder::<regkit_digitalocean::Client>()
        .retry(regkit_core::RetryPolicy::none())
        .build()?;
    let (view, registry) = do_view(DigitalOceanView::new(client)).await;
    let plan = retention::plan(&view, &registry, &e2e_rules(), emu.now()).await?;
    emu.inject(
        FaultRule::status(500)
            .operation("registries_delete_repositoryTag")
            .after(5)
            .times(1),
    );
    let report = retention::apply(&view, &plan, ApplyOptions::new()).await?;
    assert!(!report.is_complete());
    assert_eq!(report.done, plan.deletions[..5]);
    let (failed, err) = report.failed.as_ref().ok_or("a failure")?;
    assert_eq!(failed, &plan.deletions[5]);
    assert!(
        matches!(err, Error::Api(_)) && err.status() == Some(500),
        "{err:?}"
    );
    assert_eq!(report.not_attempted, plan.deletions[6..]);
    assert_eq!(
        report.done.len() + 1 + report.not_attempted.len(),
        plan.deletions.len()
    );

    let world = emu.world();
    let app = &world.digitalocean.registries["acme"].store.repositories["team/app"];
    for d in &plan.deletions[..5] {
        assert!(!app.tags.contains_key(d.tag.as_deref().unwrap_or_default()));
    }
    let failed_tag = failed.tag.as_deref().ok_or("a tag deletion")?;
    assert!(
        app.tags.contains_key(failed_tag),
        "the failed tag is still there"
    );
    assert_eq!(app.tags.len(), 1000 - 5);
    Ok(())
}

#[tokio::test]
async fn emulator_digitalocean_apply_skips_a_tag_pushed_again_and_a_manifest_tagged_since_the_plan()
-> TestResult {
    let emu = seeded().await?;
    let (view, registry) = do_view(DigitalOceanView::new(emu.digitalocean())).await;
    let plan = retention::plan(&view, &registry, &e2e_rules(), emu.now()).await?;
    let planned = |tag: &str| {
        plan.deletions
            .iter()
            .any(|d| d.repository == "team/app" && d.tag.as_deref() == Some(tag))
    };
    assert!(planned("v5") && planned("v7"));
    let v7 = digest_of(&emu, "team/app", "v7");
    let v900 = digest_of(&emu, "team/app", "v900");
    assert!(
        plan.deletions
            .iter()
            .any(|d| d.tag.is_none() && d.digest == v7)
    );
    // After the plan: v5 is pushed again (onto v900's image), and `latest`
    // is rolled back onto v7's manifest.
    emu.seed(|world, _, _| {
        let app = world
            .digitalocean
            .registries
            .get_mut("acme")
            .and_then(|r| r.store.repositories.get_mut("team/app"))
            .expect("team/app");
        app.tags.insert("v5".into(), v900.clone());
        app.tags.insert("latest".into(), v7.clone());
    });
    let report = retention::apply(&view, &plan, ApplyOptions::new()).await?;
    assert!(report.is_complete(), "{report}");
    let changes: BTreeSet<(String, String)> = report
        .changed
        .iter()
        .map(|s| (s.deletion.to_string(), s.change.to_string()))
        .collect();
    let v5_deletion = plan
        .deletions
        .iter()
        .find(|d| d.tag.as_deref() == Some("v5") && d.repository == "team/app")
        .ok_or("v5")?;
    let v7_manifest = plan
        .deletions
        .iter()
        .find(|d| d.tag.is_none() && d.digest == v7)
        .ok_or("v7's manifest")?;
    assert_eq!(
        report.changed,
        vec![
            retention::Skipped {
                deletion: v5_deletion.clone(),
                change: Change::TagMoved {
                    digest: v900.clone()
                },
            },
            retention::Skipped {
                deletion: v7_manifest.clone(),
                change: Change::ManifestTagged {
                    tags: vec!["latest".into()]
                },
            },
        ],
        "{changes:?}"
    );
    assert_eq!(
        report.done.len() + report.changed.len(),
        plan.deletions.len()
    );
    let world = emu.world();
    let app = &world.digitalocean.registries["acme"].store.repositories["team/app"];
    assert_eq!(app.tags.get("v5"), Some(&v900), "the re-pushed tag stays");
    assert_eq!(app.tags.get("latest"), Some(&v7));
    assert!(
        app.manifests.contains_key(&v7),
        "the rolled-back manifest stays"
    );
    assert!(
        !app.tags.contains_key("v7"),
        "v7 itself was still as planned"
    );
    Ok(())
}

const BK_ORG: &str = "acme";

/// Buildkite `acme/images`: `api` versions `1.0.0`…`1.11.0`, version
/// `1.i.0` `i` days old, with `1.10.0` and `1.11.0` on one digest.
async fn buildkite_seeded() -> std::result::Result<(Emulator, String), Box<dyn std::error::Error>> {
    let emu = Emulator::builder().clock(ClockMode::Frozen).start().await?;
    let slug = emu.seed(|world, ids, now| {
        let b = &mut world.buildkite;
        let slug = b.add_registry(BK_ORG, "images", "container", ids, now);
        for i in 0..12 {
            b.add_package(BK_ORG, &slug, "api", &format!("1.{i}.0"), ids, now);
        }
        let packages = &mut b
            .orgs
            .get_mut(BK_ORG)
            .and_then(|o| o.registries.get_mut(&slug))
            .expect("registry")
            .packages;
        for (i, p) in packages.iter_mut().enumerate() {
            p.created_at = Some(now - TimeDelta::days(i as i64));
        }
        let shared = packages[10].sha256.clone();
        packages[11].sha256 = shared;
        slug
    });
    Ok((emu, slug))
}

#[tokio::test]
async fn emulator_buildkite_a_plan_applies_to_completion_deleting_packages_only() -> TestResult {
    let (emu, slug) = buildkite_seeded().await?;
    let view = BuildkiteView::new(emu.buildkite(), BK_ORG);
    let registry = view
        .registries()
        .await?
        .into_iter()
        .find(|r| r.id == slug)
        .ok_or("images")?;
    let rules = Rules::unprotected().keep_newest(4);
    let plan = retention::plan(&view, &registry, &rules, emu.now()).await?;
    let want: BTreeSet<String> = (4..12).map(|i| format!("api:1.{i}.0")).collect();
    assert_eq!(tags(&plan).into_iter().collect::<BTreeSet<_>>(), want);
    assert!(
        manifests(&plan).is_empty(),
        "a package version is the image: no manifest deletion follows"
    );
    let report = retention::apply(&view, &plan, ApplyOptions::new()).await?;
    assert!(report.is_complete(), "{report}");
    assert!(report.failed.is_none() && report.changed.is_empty());
    assert_eq!(report.done, plan.deletions);
    let left: BTreeSet<String> = emu.world().buildkite.orgs[BK_ORG].registries[&slug]
        .packages
        .iter()
        .map(|p| p.version.clone())
        .collect();
    assert_eq!(left, (0..4).map(|i| format!("1.{i}.0")).collect());
    assert!(
        retention::plan(&view, &registry, &rules, emu.now())
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn emulator_buildkite_apply_skips_a_version_pushed_again_since_the_plan() -> TestResult {
    let (emu, slug) = buildkite_seeded().await?;
    let view = BuildkiteView::new(emu.buildkite(), BK_ORG);
    let registry = view
        .registries()
        .await?
        .into_iter()
        .find(|r| r.id == slug)
        .ok_or("images")?;
    let plan = retention::plan(
        &view,
        &registry,
        &Rules::unprotected().keep_newest(4),
        emu.now(),
    )
    .await?;
    // 1.6.0 is published again with new content after the plan.
    let new_hex = "ab".repeat(32);
    emu.seed(|world, _, _| {
        let packages = &mut world
            .buildkite
            .orgs
            .get_mut(BK_ORG)
            .and_then(|o| o.registries.get_mut(&slug))
            .expect("registry")
            .packages;
        let p = packages
            .iter_mut()
            .find(|p| p.version == "1.6.0")
            .expect("1.6.0");
        p.sha256 = new_hex.clone();
    });
    let report = retention::apply(&view, &plan, ApplyOptions::new()).await?;
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.changed.len(), 1, "{report}");
    assert_eq!(report.changed[0].deletion.tag.as_deref(), Some("1.6.0"));
    assert_eq!(
        report.changed[0].change,
        Change::TagMoved {
            digest: format!("sha256:{new_hex}")
        }
    );
    assert_eq!(report.done.len(), plan.deletions.len() - 1);
    let left: BTreeSet<String> = emu.world().buildkite.orgs[BK_ORG].registries[&slug]
        .packages
        .iter()
        .map(|p| p.version.clone())
        .collect();
    assert!(left.contains("1.6.0"), "the new 1.6.0 stays");
    assert_eq!(left.len(), 5);
    Ok(())
}

#[tokio::test]
async fn emulator_no_secret_in_plan_or_report_output() -> TestResult {
    let emu = seeded().await?;
    let (view, registry) = do_view(DigitalOceanView::new(emu.digitalocean())).await;
    let plan = retention::plan(&view, &registry, &e2e_rules(), emu.now()).await?;
    emu.inject(
        FaultRule::status(401)
            .operation("registries_delete_repositoryTag")
            .times(1),
    );
    let report = retention::apply(&view, &plan, ApplyOptions::new()).await?;
    assert!(report.failed.is_some());
    let token = emu.token(Provider::DigitalOcean);
    let secret = token.expose_secret();
    assert!(secret.len() >= 8);
    for text in [
        plan.to_string(),
        format!("{plan:?}"),
        serde_json::to_string(&plan)?,
        report.to_string(),
        format!("{report:?}"),
        format!("{view:?}"),
    ] {
        assert!(!text.contains(secret), "a secret leaked: {text:.200}");
    }
    Ok(())
}

// --- planning on providers that cannot delete: IONOS and ABEJA ---------------------------

const IONOS_ID: &str = "8f0c6a2e-3b1d-4c55-9a7e-2d4f6b8c1e90";
const ABEJA_ORG: &str = "1410000000000";

/// Keep the newest 10, delete what is older than 30½ days.
fn small_rules() -> Rules {
    Rules::new()
        .keep_newest(10)
        .older_than(Duration::from_secs(30 * 86_400 + 12 * 3600))
}

#[tokio::test]
async fn emulator_ionos_plans_tags_only_and_apply_is_unsupported() -> TestResult {
    let emu = Emulator::builder().clock(ClockMode::Frozen).start().await?;
    emu.seed(|world, ids, now| {
        let r = world.ionos.add_registry(IONOS_ID, "main", "de/fra", now);
        // v1…v60 (v60 today, one a day back), latest on v60.
        ids.repository(&mut r.content, "team/api", 60, now);
        if let Some(repo) = r.content.repositories.get_mut("team/api") {
            let v5 = repo.tags["v5"].clone();
            repo.tags.insert("v1.2.3".into(), v5);
        }
        let old = ids.manifest(1, now - TimeDelta::days(100));
        r.content.push("team/api", None, old);
    });
    let view = regkit_workflows::providers::IonosView::new(emu.ionos());
    let registry = view
        .registries()
        .await?
        .into_iter()
        .find(|r| r.id == IONOS_ID)
        .ok_or("main")?;
    let plan = retention::plan(&view, &registry, &small_rules(), emu.now()).await?;
    // Older than 30½ days: v1…v29 (all beyond the newest 10).
    let want: BTreeSet<String> = (1..=29).map(|i| format!("team/api:v{i}")).collect();
    assert_eq!(tags(&plan).into_iter().collect::<BTreeSet<_>>(), want);
    assert!(manifests(&plan).is_empty(), "IONOS cannot delete manifests");
    // IONOS gives no sizes: each emptied manifest's bytes are unknown
    // (v5's manifest is kept by v1.2.3).
    assert_eq!(plan.totals.unknown_sizes, 28);
    assert_eq!(plan.provider, "ionos");

    let err = retention::apply(&view, &plan, ApplyOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                provider: "ionos",
                capability: Capability::DeleteTag
            }
        ),
        "{err:?}"
    );
    let tags_left = emu.world().ionos.registries[IONOS_ID].content.repositories["team/api"]
        .tags
        .len();
    assert_eq!(tags_left, 62, "nothing deleted");
    Ok(())
}

#[tokio::test]
async fn emulator_abeja_plans_with_sizes_and_protects_semver_tags() -> TestResult {
    let emu = Emulator::builder().clock(ClockMode::Frozen).start().await?;
    emu.seed(|world, ids, now| {
        let a = &mut world.abeja;
        let id = a.add_repository(ABEJA_ORG, "detector", None, ids, now);
        for i in 0..40 {
            a.add_tag(
                ABEJA_ORG,
                &id,
                &format!("build-{i}"),
                ids,
                now - TimeDelta::days(i),
            );
        }
        a.add_tag(ABEJA_ORG, &id, "1.0.0", ids, now - TimeDelta::days(300));
        a.add_tag(ABEJA_ORG, &id, "latest", ids, now - TimeDelta::days(200));
        let releases = a.add_repository(ABEJA_ORG, "releases", None, ids, now);
        for i in 0..5 {
            a.add_tag(
                ABEJA_ORG,
                &releases,
                &format!("0.0.{i}"),
                ids,
                now - TimeDelta::days(90),
            );
        }
    });
    let view = regkit_workflows::providers::AbejaView::new(emu.abeja(), ABEJA_ORG);
    let registry = view.registries().await?.remove(0);
    let plan = retention::plan(&view, &registry, &small_rules(), emu.now()).await?;
    // build-i is i days old: the newest 10 are build-0…9; older than 30½
    // days: build-31…39. Releases and latest are protected.
    let want: BTreeSet<String> = (31..40).map(|i| format!("detector:build-{i}")).collect();
    assert_eq!(tags(&plan).into_iter().collect::<BTreeSet<_>>(), want);
    assert!(manifests(&plan).is_empty());
    // Each tag is a manifest of its own, so each deletion carries its size.
    let stored = emu.world().abeja.organizations[ABEJA_ORG]
        .repositories
        .iter()
        .find(|r| r.name == "detector")
        .ok_or("detector")?
        .tags
        .clone();
    let want_bytes: u64 = stored
        .iter()
        .filter(|t| want.contains(&format!("detector:{}", t.name)))
        .map(|t| t.size as u64)
        .sum();
    assert_eq!(plan.totals.freed_bytes, want_bytes);
    assert_eq!(plan.totals.unknown_sizes, 0);
    assert_eq!(plan.totals.tags_seen, 42 + 5);
    assert!(matches!(
        retention::apply(&view, &plan, ApplyOptions::new()).await,
        Err(Error::Unsupported {
            provider: "abeja",
            ..
        })
    ));
    Ok(())
}
