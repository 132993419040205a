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
use regkit_workflows::providers::{
    AbejaView, BuildkiteView, DigitalOceanView, HumanitecView, IonosView,
};
use regkit_workflows::view::{GcKind, Image, Registry, RegistryView};
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
    assert_eq!(
        (err.provider(), err.operation()),
        (
            Some("digitalocean"),
            Some("registries_delete_repository_tag")
        )
    );

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
    let last = items.last().and_then(|i| i.as_ref().err());
    assert_eq!(
        last.map(|e| (e.operation(), e.status())),
        Some((Some("registries_list_repository_tags"), Some(503)))
    );
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

// --- IONOS ----------------------------------------------------------------------

const IONOS_ID: &str = "8f0c6a2e-3b1d-4c55-9a7e-2d4f6b8c1e90";

#[tokio::test]
async fn ionos_lists_registries_repositories_and_artifacts() -> TestResult {
    let emu = frozen().await?;
    let untagged = emu.seed(|world, ids, now| {
        world.ionos.add_registry(
            "11111111-2222-4333-8444-555555555555",
            "second",
            "de/txl",
            now,
        );
        let r = world.ionos.add_registry(IONOS_ID, "main", "de/fra", now);
        ids.repository(&mut r.content, "team/api", 12, now);
        for i in 0..5 {
            ids.repository(&mut r.content, &format!("app-{i}"), 1, now);
        }
        let manifest = ids.manifest(1, now);
        let digest = manifest.digest.clone();
        r.content.push("team/api", None, manifest);
        digest
    });
    let view = IonosView::new(emu.ionos()).per_page(3);
    assert_eq!(view.provider(), "ionos");

    let registries = view.registries().await?;
    let names: BTreeSet<&str> = registries.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["main", "second"]));
    let main = registries
        .iter()
        .find(|r| r.id == IONOS_ID)
        .ok_or("main is listed")?
        .clone();
    // The host the emulator serves the registry on, as its API reports it.
    assert_eq!(main.host, emu.ionos_registry_host(IONOS_ID));

    let repos: BTreeSet<String> = view
        .repositories(&main)
        .map_ok(|r| r.name)
        .try_collect()
        .await?;
    let mut expected: BTreeSet<String> = (0..5).map(|i| format!("app-{i}")).collect();
    expected.insert("team/api".into());
    assert_eq!(repos, expected);

    // Every tag of every artifact, and the untagged artifact once.
    let repo = emu.world().ionos.registries[IONOS_ID].content.repositories["team/api"].clone();
    let mut want: BTreeSet<(Option<String>, String)> = repo
        .tags
        .iter()
        .map(|(t, d)| (Some(t.clone()), d.clone()))
        .collect();
    want.insert((None, untagged.clone()));
    let listed = images(&view, &main, "team/api").await?;
    assert_eq!(listed.len(), 14, "v1..v12, latest and the untagged one");
    assert_eq!(image_set(&listed), want);
    assert!(
        listed
            .iter()
            .all(|i| i.repository == "team/api" && i.size_bytes.is_none())
    );
    assert!(listed.iter().all(|i| i.updated_at.is_some()));

    check_capability_table(&view, &main, "team/api").await;
    Ok(())
}

// --- ABEJA ----------------------------------------------------------------------

const ABEJA_ORG: &str = "1410000000000";

#[tokio::test]
async fn abeja_lists_its_organization_repositories_and_tags() -> TestResult {
    let emu = frozen().await?;
    let detector = emu.seed(|world, ids, now| {
        let a = &mut world.abeja;
        for i in 0..7 {
            a.add_repository(ABEJA_ORG, &format!("model-{i}"), None, ids, now);
        }
        let id = a.add_repository(ABEJA_ORG, "object-detector", None, ids, now);
        for i in 0..11 {
            a.add_tag(ABEJA_ORG, &id, &format!("0.0.{i}"), ids, now);
        }
        a.add_repository("1420000000000", "elsewhere", None, ids, now);
        id
    });
    let view = AbejaView::new(emu.abeja(), ABEJA_ORG).per_page(3);
    assert_eq!(view.provider(), "abeja");

    let registries = view.registries().await?;
    assert_eq!(registries.len(), 1, "one pseudo-registry: the organization");
    let org = registries[0].clone();
    assert_eq!(org.id, ABEJA_ORG);
    assert_eq!(org.name, format!("organization-{ABEJA_ORG}"));

    let repos: BTreeSet<String> = view
        .repositories(&org)
        .map_ok(|r| r.name)
        .try_collect()
        .await?;
    let mut expected: BTreeSet<String> = (0..7).map(|i| format!("model-{i}")).collect();
    expected.insert("object-detector".into());
    assert_eq!(repos, expected);

    let stored = emu.world().abeja.organizations[ABEJA_ORG]
        .repositories
        .iter()
        .find(|r| r.id == detector)
        .ok_or("seeded")?
        .tags
        .clone();
    let want: BTreeSet<(Option<String>, String)> = stored
        .iter()
        .map(|t| (Some(t.name.clone()), t.digest.clone()))
        .collect();
    let listed = images(&view, &org, "object-detector").await?;
    assert_eq!(listed.len(), 11);
    assert_eq!(image_set(&listed), want);
    let first = &stored[0];
    let image = listed
        .iter()
        .find(|i| i.tag.as_deref() == Some(first.name.as_str()))
        .ok_or("listed")?;
    assert_eq!(image.size_bytes, u64::try_from(first.size).ok());
    assert_eq!(image.repository, "object-detector");
    // The repository's id names it as well.
    assert_eq!(image_set(&images(&view, &org, &detector).await?), want);
    // A name the organization does not have.
    assert!(images(&view, &org, "elsewhere").await.is_err());

    check_capability_table(&view, &org, "object-detector").await;
    Ok(())
}

// --- Buildkite ------------------------------------------------------------------

const BK_ORG: &str = "acme";

#[tokio::test]
async fn buildkite_lists_container_packages_and_deletes_them() -> TestResult {
    let emu = frozen().await?;
    let (slug, shared) = emu.seed(|world, ids, now| {
        let b = &mut world.buildkite;
        b.add_registry(BK_ORG, "gems", "ruby", ids, now);
        b.add_package(BK_ORG, "gems", "rails", "7.0.0", ids, now);
        b.add_registry(BK_ORG, "more images", "container", ids, now);
        let slug = b.add_registry(BK_ORG, "images", "container", ids, now);
        for i in 0..9 {
            b.add_package(BK_ORG, &slug, "api", &format!("1.{i}.0"), ids, now);
        }
        for i in 0..4 {
            b.add_package(BK_ORG, &slug, &format!("worker-{i}"), "0.1.0", ids, now);
        }
        // Two versions of api on one manifest.
        let packages = &mut b
            .orgs
            .get_mut(BK_ORG)
            .ok_or("org")?
            .registries
            .get_mut(&slug)
            .ok_or("registry")?
            .packages;
        let shared = packages[0].sha256.clone();
        packages[1].sha256 = shared.clone();
        Ok::<_, Box<dyn std::error::Error>>((slug, shared))
    })?;
    let view = BuildkiteView::new(emu.buildkite(), BK_ORG).per_page(4);
    assert_eq!(view.provider(), "buildkite");

    let registries = view.registries().await?;
    let names: BTreeSet<&str> = registries.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["images", "more images"]),
        "containers only"
    );
    let images_reg = registries
        .iter()
        .find(|r| r.id == slug)
        .ok_or("images is listed")?
        .clone();
    assert_eq!(images_reg.host.as_deref(), Some("packages.buildkite.com"));

    let repos: Vec<_> = view.repositories(&images_reg).try_collect().await?;
    let counts: Vec<(String, Option<u64>)> = repos
        .iter()
        .map(|r| (r.name.clone(), r.tag_count))
        .collect();
    let mut expected = vec![("api".to_string(), Some(9))];
    expected.extend((0..4).map(|i| (format!("worker-{i}"), Some(1))));
    assert_eq!(counts, expected);

    let stored = emu.world().buildkite.orgs[BK_ORG].registries[&slug]
        .packages
        .clone();
    let want: BTreeSet<(Option<String>, String)> = stored
        .iter()
        .filter(|p| p.name == "api")
        .map(|p| (Some(p.version.clone()), format!("sha256:{}", p.sha256)))
        .collect();
    let listed = images(&view, &images_reg, "api").await?;
    assert_eq!(listed.len(), 9);
    assert_eq!(image_set(&listed), want);

    // A tag is a package version.
    view.delete_tag(&images_reg, "api", "1.5.0").await?;
    let listed = images(&view, &images_reg, "api").await?;
    assert_eq!(listed.len(), 8);
    assert!(listed.iter().all(|i| i.tag.as_deref() != Some("1.5.0")));
    assert!(view.delete_tag(&images_reg, "api", "1.5.0").await.is_err());

    // A manifest is every version with its digest.
    view.delete_manifest(&images_reg, "api", &format!("sha256:{shared}"))
        .await?;
    let tags: BTreeSet<String> = images(&view, &images_reg, "api")
        .await?
        .into_iter()
        .filter_map(|i| i.tag)
        .collect();
    let expected: BTreeSet<String> = [2, 3, 4, 6, 7, 8]
        .iter()
        .map(|i| format!("1.{i}.0"))
        .collect();
    assert_eq!(tags, expected);

    check_capability_table(&view, &images_reg, "api").await;
    Ok(())
}

// --- Humanitec ------------------------------------------------------------------

#[tokio::test]
async fn humanitec_lists_registry_records_only() -> TestResult {
    use regkit_emulator::providers::humanitec::Registry as Record;
    let emu = frozen().await?;
    emu.seed(|world, _, now| {
        let org = world.humanitec.orgs.entry("acme".to_string()).or_default();
        for i in 0..12 {
            let id = format!("record-{i:02}");
            org.registries.insert(
                id.clone(),
                Record {
                    id,
                    registry: format!("registry{i}.example.com/team"),
                    kind: "public".to_string(),
                    created_at: Some(now),
                    ..Record::default()
                },
            );
        }
    });
    let view = HumanitecView::new(emu.humanitec(), "acme");
    assert_eq!(view.provider(), "humanitec");
    let registries = view.registries().await?;
    let got: BTreeSet<(String, Option<String>)> = registries
        .iter()
        .map(|r| (r.id.clone(), r.host.clone()))
        .collect();
    let want: BTreeSet<(String, Option<String>)> = (0..12)
        .map(|i| {
            (
                format!("record-{i:02}"),
                Some(format!("registry{i}.example.com/team")),
            )
        })
        .collect();
    assert_eq!(got, want);
    for capability in VIEW_CAPABILITIES {
        assert_eq!(
            view.supports(capability),
            capability == Capability::ListRegistries
        );
    }
    check_capability_table(&view, &registries[0], "anything").await;
    Ok(())
}

/// Every provider × capability, in one table.
#[tokio::test]
async fn every_view_supports_exactly_what_it_can_do() -> TestResult {
    let emu = frozen().await?;
    emu.seed(|world, ids, now| {
        world
            .digitalocean
            .create_registry("alpha", None, None, now)
            .map(drop)?;
        world
            .digitalocean
            .seed_repository("alpha", "api", 1, ids, now)?;
        let r = world.ionos.add_registry(IONOS_ID, "main", "de/fra", now);
        ids.repository(&mut r.content, "api", 1, now);
        let id = world.abeja.add_repository(ABEJA_ORG, "api", None, ids, now);
        world.abeja.add_tag(ABEJA_ORG, &id, "1", ids, now);
        let slug = world
            .buildkite
            .add_registry(BK_ORG, "images", "container", ids, now);
        world
            .buildkite
            .add_package(BK_ORG, &slug, "api", "1.0.0", ids, now);
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    let views: Vec<Box<dyn RegistryView>> = vec![
        Box::new(DigitalOceanView::new(emu.digitalocean())),
        Box::new(IonosView::new(emu.ionos())),
        Box::new(AbejaView::new(emu.abeja(), ABEJA_ORG)),
        Box::new(BuildkiteView::new(emu.buildkite(), BK_ORG)),
        Box::new(HumanitecView::new(emu.humanitec(), "acme")),
    ];
    let mut table = Vec::new();
    for view in &views {
        let registry = match view.registries().await?.into_iter().next() {
            Some(r) => r,
            None => Registry {
                id: "none".into(),
                name: "none".into(),
                host: None,
                storage_bytes: None,
            },
        };
        check_capability_table(view.as_ref(), &registry, "api").await;
        let row: Vec<bool> = VIEW_CAPABILITIES
            .iter()
            .map(|c| view.supports(*c))
            .collect();
        table.push((view.provider(), row));
    }
    // ListRegistries, ListRepositories, ListImages, DeleteTag, DeleteManifest, GC.
    assert_eq!(
        table,
        vec![
            ("digitalocean", vec![true; 6]),
            ("ionos", vec![true, true, true, false, false, false]),
            ("abeja", vec![true, true, true, false, false, false]),
            ("buildkite", vec![true, true, true, true, true, false]),
            ("humanitec", vec![true, false, false, false, false, false]),
        ]
    );
    let unsupported = Error::Unsupported {
        provider: "ionos",
        capability: Capability::DeleteTag,
    };
    assert_eq!(unsupported.to_string(), "ionos cannot delete a tag");
    Ok(())
}

/// A view's Debug shows no credential of its client.
#[tokio::test]
async fn views_do_not_show_credentials() -> TestResult {
    use regkit_emulator::Provider;
    let emu = frozen().await?;
    let shown = [
        (
            Provider::DigitalOcean,
            format!("{:?}", DigitalOceanView::new(emu.digitalocean())),
        ),
        (
            Provider::Ionos,
            format!("{:?}", IonosView::new(emu.ionos())),
        ),
        (
            Provider::Abeja,
            format!("{:?}", AbejaView::new(emu.abeja(), ABEJA_ORG)),
        ),
        (
            Provider::Buildkite,
            format!("{:?}", BuildkiteView::new(emu.buildkite(), BK_ORG)),
        ),
        (
            Provider::Humanitec,
            format!("{:?}", HumanitecView::new(emu.humanitec(), "acme")),
        ),
    ];
    for (provider, text) in shown {
        let token = emu.token(provider);
        assert!(
            !text.contains(token.expose_secret()),
            "{provider:?} view shows its token: {text}"
        );
    }
    Ok(())
}
