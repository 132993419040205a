//! The garbage-collection waiter: start or join, backoff within a budget,
//! typed progress, stalls, and the warning for kinds that leave untagged
//! manifests. First against a scripted in-memory view, then end to end
//! against regkit-emulator's DigitalOcean through `DigitalOceanView` on the
//! emulator's virtual clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use regkit_emulator::providers::digitalocean::{
    GC_DELETING, GC_REQUESTED, GC_SCANNING, GC_WAITING_FOR_JWTS,
};
use regkit_emulator::{ClockMode, Emulator};
use regkit_workflows::clock::Clock;
use regkit_workflows::gc::{GcEvent, GcWaiter};
use regkit_workflows::providers::DigitalOceanView;
use regkit_workflows::view::{GcKind, GcStatus, Image, Registry, RegistryView, Repository};
use regkit_workflows::{Capability, Error, Result};

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

// --- a scripted view and a fake clock ----------------------------------------

/// A clock whose sleeps only move it forward, and remember how long.
#[derive(Debug)]
struct FakeClock {
    now: Mutex<DateTime<Utc>>,
    sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    fn new() -> Arc<Self> {
        Arc::new(FakeClock {
            now: Mutex::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            sleeps: Mutex::new(Vec::new()),
        })
    }

    fn sleeps(&self) -> Vec<u64> {
        self.sleeps
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.as_secs())
            .collect()
    }
}

#[async_trait::async_trait]
impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }

    async fn sleep(&self, d: Duration) {
        self.sleeps.lock().unwrap().push(d);
        let mut now = self.now.lock().unwrap();
        *now += chrono::TimeDelta::from_std(d).unwrap();
    }
}

/// A view whose garbage collection answers a script: `start_gc` the first
/// status, each `gc_status` the next (the last one repeats).
#[derive(Debug)]
struct Scripted {
    gc: bool,
    script: Mutex<VecDeque<GcStatus>>,
    started: Mutex<Vec<GcKind>>,
}

impl Scripted {
    fn new(script: Vec<GcStatus>) -> Self {
        Scripted {
            gc: true,
            script: Mutex::new(script.into()),
            started: Mutex::new(Vec::new()),
        }
    }

    fn next(&self) -> GcStatus {
        let mut script = self.script.lock().unwrap();
        if script.len() > 1 {
            script.pop_front().unwrap()
        } else {
            script.front().cloned().unwrap()
        }
    }
}

fn status(s: &str, freed: u64) -> GcStatus {
    let finished = matches!(s, "succeeded" | "failed" | "cancelled");
    GcStatus {
        id: "gc-1".into(),
        status: s.into(),
        finished,
        succeeded: s == "succeeded",
        freed_bytes: Some(freed),
        blobs_deleted: None,
        kind: Some(GcKind::UntaggedManifestsAndUnreferencedBlobs),
    }
}

#[async_trait::async_trait]
impl RegistryView for Scripted {
    fn provider(&self) -> &'static str {
        "scripted"
    }

    fn supports(&self, capability: Capability) -> bool {
        capability != Capability::GarbageCollection || self.gc
    }

    async fn registries(&self) -> Result<Vec<Registry>> {
        Ok(vec![registry()])
    }

    fn repositories<'a>(&'a self, _: &'a Registry) -> BoxStream<'a, Result<Repository>> {
        stream::empty().boxed()
    }

    fn images<'a>(&'a self, _: &'a Registry, _: &'a str) -> BoxStream<'a, Result<Image>> {
        stream::empty().boxed()
    }

    async fn delete_tag(&self, _: &Registry, _: &str, _: &str) -> Result<()> {
        Ok(())
    }

    async fn delete_manifest(&self, _: &Registry, _: &str, _: &str) -> Result<()> {
        Ok(())
    }

    async fn start_gc(&self, _: &Registry, kind: GcKind) -> Result<GcStatus> {
        if !self.gc {
            return Err(Error::Unexpected(
                "start_gc called on a view without GC".into(),
            ));
        }
        self.started.lock().unwrap().push(kind);
        Ok(self.next())
    }

    async fn gc_status(&self, _: &Registry, _: &str) -> Result<Option<GcStatus>> {
        Ok(Some(self.next()))
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

async fn events(
    waiter: &GcWaiter,
    view: &dyn RegistryView,
    kind: GcKind,
) -> (Vec<GcEvent>, Option<Error>) {
    let reg = registry();
    let mut stream = waiter.run(view, &reg, kind);
    let mut seen = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(e) => seen.push(e),
            Err(e) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after an error"
                );
                return (seen, Some(e));
            }
        }
    }
    (seen, None)
}

const FULL: GcKind = GcKind::UntaggedManifestsAndUnreferencedBlobs;

// --- the waiter, scripted ------------------------------------------------------

#[tokio::test]
async fn follows_a_run_to_success_with_backoff_status_changes_and_freed_bytes() {
    let clock = FakeClock::new();
    let view = Scripted::new(vec![
        status("requested", 0),
        status("requested", 0),
        status("scanning manifests", 0),
        status("deleting unreferenced blobs", 10),
        status("deleting unreferenced blobs", 25),
        status("succeeded", 40),
    ]);
    let waiter = GcWaiter::new()
        .poll_interval(Duration::from_secs(5))
        .poll_max(Duration::from_secs(20))
        .clock(clock.clone());
    let (seen, err) = events(&waiter, &view, FULL).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        seen,
        vec![
            GcEvent::Started(status("requested", 0)),
            GcEvent::StatusChanged {
                from: "requested".into(),
                to: "scanning manifests".into()
            },
            GcEvent::StatusChanged {
                from: "scanning manifests".into(),
                to: "deleting unreferenced blobs".into()
            },
            GcEvent::Progress { freed_bytes: 10 },
            GcEvent::Progress { freed_bytes: 25 },
            GcEvent::StatusChanged {
                from: "deleting unreferenced blobs".into(),
                to: "succeeded".into()
            },
            GcEvent::Progress { freed_bytes: 40 },
            GcEvent::Finished(status("succeeded", 40)),
        ]
    );
    assert_eq!(clock.sleeps(), vec![5, 10, 20, 20, 20], "doubling, capped");
    assert_eq!(*view.started.lock().unwrap(), vec![FULL]);

    // `wait` gives the final status.
    let view = Scripted::new(vec![status("requested", 0), status("succeeded", 7)]);
    let done = waiter.wait(&view, &registry(), FULL).await.unwrap();
    assert!(done.succeeded && done.finished);
    assert_eq!(done.freed_bytes, Some(7));
}

#[tokio::test]
async fn a_run_that_never_changes_is_a_stall_that_says_so() {
    let clock = FakeClock::new();
    let view = Scripted::new(vec![
        status("requested", 0),
        status("scanning manifests", 0),
    ]);
    let waiter = GcWaiter::new()
        .poll_interval(Duration::from_secs(10))
        .poll_max(Duration::from_secs(40))
        .stall_timeout(Duration::from_secs(100))
        .budget(Duration::from_secs(10_000))
        .clock(clock.clone());
    let (seen, err) = events(&waiter, &view, FULL).await;
    assert_eq!(
        seen,
        vec![
            GcEvent::Started(status("requested", 0)),
            GcEvent::StatusChanged {
                from: "requested".into(),
                to: "scanning manifests".into()
            },
        ],
        "events before the stall still come out"
    );
    match err {
        Some(Error::GcStalled { status, for_secs }) => {
            assert_eq!(status, "scanning manifests");
            assert_eq!(for_secs, 100);
        }
        other => panic!("expected a stall, got {other:?}"),
    }
    // Changed after the first 10 s sleep; then 20, 40, and the last sleep
    // is cut to the stall deadline (10 + 20 + 40 + 40 = 110 = 10 + 100).
    assert_eq!(clock.sleeps(), vec![10, 20, 40, 40]);
    let e = Error::GcStalled {
        status: "scanning manifests".into(),
        for_secs: 100,
    };
    assert!(e.to_string().contains("stalled"), "{e}");

    // `wait` returns the same error.
    let view = Scripted::new(vec![status("requested", 0)]);
    let err = waiter.wait(&view, &registry(), FULL).await.unwrap_err();
    assert!(matches!(err, Error::GcStalled { .. }), "{err:?}");
}

#[tokio::test]
async fn a_run_that_keeps_moving_past_its_budget_times_out() {
    let clock = FakeClock::new();
    let script: Vec<GcStatus> = (0..100).map(|i| status(&format!("phase {i}"), 0)).collect();
    let view = Scripted::new(script);
    let waiter = GcWaiter::new()
        .poll_interval(Duration::from_secs(30))
        .poll_max(Duration::from_secs(30))
        .stall_timeout(Duration::from_secs(60))
        .budget(Duration::from_secs(100))
        .clock(clock.clone());
    let (seen, err) = events(&waiter, &view, FULL).await;
    match err {
        Some(Error::Timeout { budget_secs, what }) => {
            assert_eq!(budget_secs, 100);
            assert!(what.contains("gc-1"), "{what}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(
        clock.sleeps(),
        vec![30, 30, 30, 10],
        "the last wait ends at the budget"
    );
    assert_eq!(seen.len(), 1 + 4, "started, then a change per poll");
}

#[tokio::test]
async fn a_kind_that_leaves_untagged_manifests_warns_first() {
    let clock = FakeClock::new();
    let script: Vec<GcStatus> = [status("requested", 0), status("succeeded", 0)]
        .into_iter()
        .map(|mut s| {
            s.kind = Some(GcKind::UnreferencedBlobsOnly);
            s
        })
        .collect();
    let view = Scripted::new(script);
    let waiter = GcWaiter::new().clock(clock);
    let (seen, err) = events(&waiter, &view, GcKind::UnreferencedBlobsOnly).await;
    assert!(err.is_none());
    match &seen[0] {
        GcEvent::Warning(w) => assert!(w.contains("untagged manifests"), "{w}"),
        other => panic!("expected a warning first, got {other:?}"),
    }
    assert!(matches!(seen[1], GcEvent::Started(_)));

    for kind in [FULL, GcKind::UntaggedManifestsOnly] {
        let view = Scripted::new(vec![status("requested", 0), status("succeeded", 0)]);
        let (seen, _) = events(&waiter, &view, kind).await;
        assert!(
            !seen.iter().any(|e| matches!(e, GcEvent::Warning(_))),
            "{kind:?} warns of nothing"
        );
    }
}

#[tokio::test]
async fn a_cancelled_run_finishes_without_success_and_a_running_one_is_joined() {
    let clock = FakeClock::new();
    let waiter = GcWaiter::new().clock(clock);
    let view = Scripted::new(vec![status("requested", 0), status("cancelled", 0)]);
    let (seen, err) = events(&waiter, &view, FULL).await;
    assert!(err.is_none());
    assert_eq!(
        seen.last(),
        Some(&GcEvent::Finished(status("cancelled", 0)))
    );
    let done = waiter
        .wait(
            &Scripted::new(vec![status("requested", 0), status("cancelled", 0)]),
            &registry(),
            FULL,
        )
        .await
        .unwrap();
    assert!(done.finished && !done.succeeded);

    // Already past `requested` when asked: joined.
    let view = Scripted::new(vec![
        status("scanning manifests", 0),
        status("succeeded", 0),
    ]);
    let (seen, _) = events(&waiter, &view, FULL).await;
    assert_eq!(seen[0], GcEvent::Joined(status("scanning manifests", 0)));
    // Another kind running: joined.
    let mut other = status("requested", 0);
    other.kind = Some(GcKind::UnreferencedBlobsOnly);
    let view = Scripted::new(vec![other.clone(), status("succeeded", 0)]);
    let (seen, _) = events(&waiter, &view, FULL).await;
    assert_eq!(seen[0], GcEvent::Joined(other));
}

#[tokio::test]
async fn a_view_without_garbage_collection_is_unsupported_before_any_call() {
    let mut view = Scripted::new(vec![status("requested", 0)]);
    view.gc = false;
    let waiter = GcWaiter::new().clock(FakeClock::new());
    let (seen, err) = events(&waiter, &view, FULL).await;
    assert!(seen.is_empty());
    assert!(
        matches!(
            err,
            Some(Error::Unsupported {
                provider: "scripted",
                capability: Capability::GarbageCollection
            })
        ),
        "{err:?}"
    );
    assert!(view.started.lock().unwrap().is_empty());
}

// --- end to end: DigitalOcean on the emulator's virtual clock ----------------------

async fn seeded()
-> std::result::Result<(Emulator, DigitalOceanView, Registry), Box<dyn std::error::Error>> {
    let emu = Emulator::builder().clock(ClockMode::Frozen).start().await?;
    emu.seed(|world, ids, now| -> std::result::Result<(), String> {
        let account = &mut world.digitalocean;
        account
            .create_registry("acme", Some("fra1"), None, now)
            .map_err(|e| format!("{e:?}"))?;
        account
            .seed_repository("acme", "team/api", 20, ids, now)
            .map_err(|e| format!("{e:?}"))?;
        // Untag the oldest five: their own layers become collectable.
        let repo = account
            .registries
            .get_mut("acme")
            .and_then(|r| r.store.repositories.get_mut("team/api"))
            .ok_or("seeded repository")?;
        for i in 1..=5 {
            repo.tags.remove(&format!("v{i}"));
        }
        Ok(())
    })?;
    let view = DigitalOceanView::new(emu.digitalocean());
    let registry = view
        .registries()
        .await?
        .into_iter()
        .find(|r| r.name == "acme")
        .ok_or("registry acme")?;
    Ok((emu, view, registry))
}

fn storage(emu: &Emulator) -> u64 {
    emu.world().digitalocean.registries["acme"]
        .store
        .storage_bytes()
}

fn expected_freed(emu: &Emulator) -> u64 {
    emu.world().digitalocean.registries["acme"]
        .store
        .collectable(
            true,
            true,
            regkit_emulator::UntaggedCollection::SpareReferenced,
        )
        .freed_bytes
}

#[tokio::test]
async fn emulator_a_garbage_collection_is_followed_to_success_on_the_virtual_clock() -> TestResult {
    let (emu, view, registry) = seeded().await?;
    let before = storage(&emu);
    let freed = expected_freed(&emu);
    assert!(freed > 0);
    let waiter = GcWaiter::new()
        .poll_interval(Duration::from_secs(5))
        .poll_max(Duration::from_secs(60))
        .clock(Arc::new(emu.clock().clone()));
    let started_at = emu.now();
    let seen: Vec<GcEvent> = waiter.run(&view, &registry, FULL).try_collect().await?;

    assert!(matches!(&seen[0], GcEvent::Started(s) if s.status == "requested"));
    let changes: Vec<(String, String)> = seen
        .iter()
        .filter_map(|e| match e {
            GcEvent::StatusChanged { from, to } => Some((from.clone(), to.clone())),
            _ => None,
        })
        .collect();
    let phases = [
        "requested",
        "waiting for write JWTs to expire",
        "scanning manifests",
        "deleting unreferenced blobs",
        "succeeded",
    ];
    let expected: Vec<(String, String)> = phases
        .windows(2)
        .map(|w| (w[0].to_string(), w[1].to_string()))
        .collect();
    assert_eq!(changes, expected, "every phase, in order, once");
    assert!(seen.contains(&GcEvent::Progress { freed_bytes: freed }));
    match seen.last() {
        Some(GcEvent::Finished(s)) => {
            assert!(s.succeeded && s.finished);
            assert_eq!(s.freed_bytes, Some(freed));
        }
        other => panic!("expected Finished last, got {other:?}"),
    }
    assert_eq!(storage(&emu), before - freed, "freed bytes = storage drop");
    let took = emu.now() - started_at;
    let phases_len = GC_REQUESTED + GC_WAITING_FOR_JWTS + GC_SCANNING + GC_DELETING;
    assert!(took >= phases_len, "virtual time covers every phase");
    assert!(
        took <= phases_len + chrono::TimeDelta::seconds(60),
        "polled at most a poll_max late"
    );
    Ok(())
}

#[tokio::test]
async fn emulator_a_running_collection_is_joined_and_waited_for() -> TestResult {
    let (emu, view, registry) = seeded().await?;
    let first = view
        .start_gc(&registry, GcKind::UntaggedManifestsOnly)
        .await?;
    emu.advance(GC_REQUESTED.to_std()?);
    let waiter = GcWaiter::new().clock(Arc::new(emu.clock().clone()));
    let mut events = waiter.run(&view, &registry, FULL);
    match events.try_next().await? {
        Some(GcEvent::Joined(s)) => {
            assert_eq!(s.id, first.id);
            assert_eq!(s.kind, Some(GcKind::UntaggedManifestsOnly));
        }
        other => panic!("expected Joined, got {other:?}"),
    }
    let mut last = None;
    while let Some(e) = events.try_next().await? {
        last = Some(e);
    }
    match last {
        Some(GcEvent::Finished(s)) => assert!(s.succeeded && s.id == first.id),
        other => panic!("expected Finished, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn emulator_a_wait_shorter_than_digitaloceans_jwt_phase_is_a_stall() -> TestResult {
    let (emu, view, registry) = seeded().await?;
    let waiter = GcWaiter::new()
        .poll_interval(Duration::from_secs(30))
        .poll_max(Duration::from_secs(60))
        .stall_timeout(Duration::from_secs(5 * 60))
        .clock(Arc::new(emu.clock().clone()));
    let err = waiter.wait(&view, &registry, FULL).await.unwrap_err();
    match &err {
        Error::GcStalled { status, for_secs } => {
            assert_eq!(status, "waiting for write JWTs to expire");
            assert_eq!(*for_secs, 300);
        }
        other => panic!("expected a stall, got {other:?}"),
    }
    assert!(err.to_string().contains("waiting for write JWTs to expire"));
    Ok(())
}
