//! The registry view of every provider, against regkit-emulator: registries,
//! repositories and images across several pages (exact sets), tag and
//! manifest deletion, garbage collection start-or-join, and the
//! capability table (`supports()` is true exactly when the call is not
//! `Unsupported`).

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use regkit_emulator::providers::digitalocean::Tier;
use regkit_emulator::{ClockMode, Emulator, FaultRule};
use regkit_workflows::view::{DigitalOceanView, GcKind, Image, Registry, RegistryView};
use regkit_workflows::{Capability, Error};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn frozen() -> std::io::Result<Emulator> {
    Emulator::builder().clock(ClockMode::Frozen).start().await
}

const VIEW_CAPABILITIES: [Capability; 6] = [
    Capability::ListRegistries,
    Capability::ListRepositories,
    Capability::ListImages,
    Capability::DeleteTag,
    Capability::DeleteManifest,
    Capability::GarbageCollection,
];

/// (tag, digest) of every image.
fn image_set(images: &[Image]) -> BTreeSet<(Option<String>, String)> {
    images
        .iter()
        .map(|i| (i.tag.clone(), i.digest.clone()))
        .collect()
}

async fn images(
    view: &dyn RegistryView,
    registry: &Registry,
    repository: &str,
) -> regkit_workflows::Result<Vec<Image>> {
    view.images(registry, repository).try_collect().await
}

/// Whether `capability`'s call on `view` answers `Unsupported` (naming the
/// view's provider and that capability); any other answer, success or
/// failure, counts as supported.
async fn answers_unsupported(
    view: &dyn RegistryView,
    registry: &Registry,
    repository: &str,
    capability: Capability,
) -> bool {
    let result: regkit_workflows::Result<()> = match capability {
        Capability::ListRegistries => view.registries().await.map(drop),
        Capability::ListRepositories => view
            .repositories(registry)
            .try_collect::<Vec<_>>()
            .await
            .map(drop),
        Capability::ListImages => images(view, registry, repository).await.map(drop),
        Capability::DeleteTag => view.delete_tag(registry, repository, "no-such-tag").await,
        Capability::DeleteManifest => {
            view.delete_manifest(registry, repository, "sha256:0000")
                .await
        }
        Capability::GarbageCollection => view.gc_status(registry, "no-such-run").await.map(drop),
        other => panic!("{other} has no view call"),
    };
    match result {
        Err(Error::Unsupported {
            provider,
            capability: c,
        }) => {
            assert_eq!(provider, view.provider());
            assert_eq!(c, capability);
            true
        }
        _ => false,
    }
}

/// For every capability: `supports()` is true exactly when the call is not
/// `Unsupported`; credentials are leases' business, never a view's.
async fn check_capability_table(view: &dyn RegistryView, registry: &Registry, repository: &str) {
    for capability in VIEW_CAPABILITIES {
        let unsupported = answers_unsupported(view, registry, repository, capability).await;
        assert_eq!(
            view.supports(capability),
            !unsupported,
            "{}: supports({capability:?}) disagrees with the call",
            view.provider()
        );
    }
    if view.supports(Capability::GarbageCollection) {
        assert!(
            !matches!(
                view.start_gc(registry, GcKind::UnreferencedBlobsOnly).await,
                Err(Error::Unsupported { .. })
            ),
            "{}: start_gc",
            view.provider()
        );
    } else {
        assert!(matches!(
            view.start_gc(registry, GcKind::UnreferencedBlobsOnly).await,
            Err(Error::Unsupported {
                capability: Capability::GarbageCollection,
                ..
            })
        ));
    }
    assert!(!view.supports(Capability::DockerCredentials));
    assert!(!view.supports(Capability::RevokeCredentials));
}

// --- DigitalOcean -------------------------------------------------------------

#[tokio::test]
async fn digitalocean_lists_deletes_and_collects() -> TestResult {
    let emu = frozen().await?;
    emu.seed(|world, ids, now| {
        let d = &mut world.digitalocean;
        d.create_registry("alpha", Some("fra1"), Some(Tier::Professional), now)
            .map(drop)?;
        d.create_registry("beta", None, None, now).map(drop)?;
        d.seed_repository("alpha", "team/api", 25, ids, now)?;
        for i in 0..7 {
            d.seed_repository("alpha", &format!("app-{i}"), 1, ids, now)?;
        }
        d.seed_repository("beta", "other", 2, ids, now)
    })?;
    let view = DigitalOceanView::new(emu.digitalocean()).per_page(4);
    assert_eq!(view.provider(), "digitalocean");

    let registries = view.registries().await?;
    let names: BTreeSet<&str> = registries.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["alpha", "beta"]));
    let alpha = registries
        .iter()
        .find(|r| r.id == "alpha")
        .ok_or("alpha is listed")?
        .clone();
    assert_eq!(alpha.host.as_deref(), Some("registry.digitalocean.com"));
    assert!(alpha.storage_bytes.is_some_and(|b| b > 0));

    let repos: Vec<_> = view.repositories(&alpha).try_collect().await?;
    let repo_names: BTreeSet<String> = repos.iter().map(|r| r.name.clone()).collect();
    let mut expected: BTreeSet<String> = (0..7).map(|i| format!("app-{i}")).collect();
    expected.insert("team/api".into());
    assert_eq!(repo_names, expected);
    let api = repos
        .iter()
        .find(|r| r.name == "team/api")
        .ok_or("team/api")?;
    assert_eq!(api.tag_count, Some(26), "v1..v25 and latest");

    // 26 tags over 7 pages, exactly the emulator's.
    let store = |emu: &Emulator| {
        emu.world().digitalocean.registries["alpha"]
            .store
            .repositories["team/api"]
            .clone()
    };
    let repo = store(&emu);
    let want: BTreeSet<(Option<String>, String)> = repo
        .tags
        .iter()
        .map(|(t, d)| (Some(t.clone()), d.clone()))
        .collect();
    let listed = images(&view, &alpha, "team/api").await?;
    assert_eq!(listed.len(), 26);
    assert_eq!(image_set(&listed), want);
    let v1 = listed
        .iter()
        .find(|i| i.tag.as_deref() == Some("v1"))
        .ok_or("v1")?
        .clone();
    let stored = &repo.manifests[&v1.digest];
    assert_eq!(v1.size_bytes, Some(stored.compressed_size_bytes()));
    assert_eq!(v1.updated_at, Some(stored.updated_at));
    assert_eq!(v1.repository, "team/api");

    // A deleted tag leaves its manifest, listed once as untagged, after
    // every tag.
    view.delete_tag(&alpha, "team/api", "v1").await?;
    let listed = images(&view, &alpha, "team/api").await?;
    assert_eq!(listed.len(), 26);
    assert_eq!(
        listed.last().map(|i| (i.tag.clone(), i.digest.clone())),
        Some((None, v1.digest.clone()))
    );
    assert!(listed[..25].iter().all(|i| i.tag.is_some()));

    // A deleted manifest takes its tags along.
    let v2 = repo.tags["v2"].clone();
    view.delete_manifest(&alpha, "team/api", &v2).await?;
    let listed = images(&view, &alpha, "team/api").await?;
    assert!(listed.iter().all(|i| i.digest != v2));
    assert_eq!(listed.len(), 25);

    // Deleting what is gone is DO's 404, as an API error.
    let err = view.delete_tag(&alpha, "team/api", "v1").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(matches!(
        err,
        Error::Api {
            provider: "digitalocean",
            operation: "registries_delete_repository_tag",
            ..
        }
    ));

    // Start, then start again: the second joins the first.
    assert_eq!(view.gc_status(&alpha, "").await?, None, "never collected");
    let first = view
        .start_gc(&alpha, GcKind::UntaggedManifestsAndUnreferencedBlobs)
        .await?;
    assert!(!first.finished);
    assert_eq!(first.status, "requested");
    assert_eq!(
        first.kind,
        Some(GcKind::UntaggedManifestsAndUnreferencedBlobs)
    );
    let joined = view.start_gc(&alpha, GcKind::UnreferencedBlobsOnly).await?;
    assert_eq!(joined.id, first.id);
    assert_eq!(
        joined.kind,
        Some(GcKind::UntaggedManifestsAndUnreferencedBlobs)
    );
    assert_eq!(
        view.gc_status(&alpha, &first.id).await?.map(|g| g.id),
        Some(first.id.clone())
    );

    emu.advance(Duration::from_secs(60 * 60));
    let done = view
        .gc_status(&alpha, &first.id)
        .await?
        .ok_or("the run is listed")?;
    assert!(done.finished && done.succeeded, "{done:?}");
    assert_eq!(done.status, "succeeded");
    assert!(done.freed_bytes.is_some_and(|b| b > 0));
    assert_eq!(
        view.gc_status(&alpha, "").await?,
        Some(done.clone()),
        "the latest"
    );
    assert_eq!(view.gc_status(&alpha, "no-such-run").await?, None);
    let listed = images(&view, &alpha, "team/api").await?;
    assert!(
        listed.iter().all(|i| i.tag.is_some()),
        "the untagged manifest was collected"
    );

    // A new run after the first ended is a new run.
    let second = view.start_gc(&alpha, GcKind::UnreferencedBlobsOnly).await?;
    assert_ne!(second.id, first.id);
    Ok(())
}

#[tokio::test]
async fn digitalocean_errors_end_the_image_stream() -> TestResult {
    let emu = frozen().await?;
    emu.seed(|world, ids, now| {
        let d = &mut world.digitalocean;
        d.create_registry("alpha", None, None, now).map(drop)?;
        d.seed_repository("alpha", "api", 9, ids, now)
    })?;
    let client = emu
        .client_builder::<regkit_digitalocean::Client>()
        .retry(regkit_core::RetryPolicy::none())
        .build()?;
    let view = DigitalOceanView::new(client).per_page(4);
    let alpha = view.registries().await?.remove(0);
    emu.inject(
        FaultRule::status(503)
            .operation("registries_list_repositoryTags")
            .after(1)
            .times(1),
    );
    let items: Vec<_> = view.images(&alpha, "api").collect().await;
    assert_eq!(
        items.len(),
        5,
        "one page of 4, then the error, then nothing"
    );
    assert!(matches!(
        items.last(),
        Some(Err(Error::Api {
            operation: "registries_list_repository_tags",
            status: Some(503),
            ..
        }))
    ));
    Ok(())
}

#[tokio::test]
async fn digitalocean_capabilities() -> TestResult {
    let emu = frozen().await?;
    emu.seed(|world, ids, now| {
        let d = &mut world.digitalocean;
        d.create_registry("alpha", None, None, now).map(drop)?;
        d.seed_repository("alpha", "api", 1, ids, now)
    })?;
    let view = DigitalOceanView::new(emu.digitalocean());
    let alpha = view.registries().await?.remove(0);
    for capability in VIEW_CAPABILITIES {
        assert!(view.supports(capability));
    }
    check_capability_table(&view, &alpha, "api").await;
    Ok(())
}
