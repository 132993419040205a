//! Where a data-plane repository's content lives in the world (the same
//! [`Store`] the management API lists), and what each provider does beyond
//! storing: DigitalOcean's tier limits the repositories a push may create;
//! Buildkite records each tag as a package version.

use chrono::{DateTime, Utc};

use super::paths::Target;
use crate::content::{ContentGen, Store};
use crate::provider::Provider;
use crate::providers::buildkite::Registry as BuildkiteRegistry;
use crate::registry::errors::{OciCode, OciError};
use crate::world::World;

/// The `container` ecosystem of Buildkite Package Registries: the only one
/// with a data plane.
const BUILDKITE_CONTAINER: &str = "container";

fn unknown(t: &Target) -> OciError {
    OciError::new(
        OciCode::NameUnknown,
        format!(
            "no registry {} holds repository {}",
            t.registry, t.repository
        ),
    )
}

/// The Buildkite `container` registry `t` names (`<org>/<slug>`), if it is
/// one.
fn buildkite_registry<'w>(world: &'w World, t: &Target) -> Option<&'w BuildkiteRegistry> {
    let (org, slug) = t.registry.split_once('/')?;
    (t.provider == Provider::Buildkite)
        .then(|| world.buildkite.orgs.get(org)?.registries.get(slug))
        .flatten()
        .filter(|r| r.ecosystem == BUILDKITE_CONTAINER)
}

/// The same, to change it.
fn buildkite_registry_mut<'w>(
    world: &'w mut World,
    t: &Target,
) -> Option<&'w mut BuildkiteRegistry> {
    let (org, slug) = t.registry.split_once('/')?;
    if t.provider != Provider::Buildkite {
        return None;
    }
    world
        .buildkite
        .orgs
        .get_mut(org)?
        .registries
        .get_mut(slug)
        .filter(|r| r.ecosystem == BUILDKITE_CONTAINER)
}

/// Brings the garbage collections that fell due up to now (DigitalOcean's
/// runs, IONOS's schedules) before the data plane reads or writes, so a
/// pull after a collection finds what it deleted gone.
pub(crate) fn settle(shared: &crate::shared::Shared) {
    let now = shared.now();
    let mut world = shared.world();
    let collected = world.digitalocean.settle(now) | world.ionos.collect_due(now);
    if collected {
        shared.sweep_blobs(&world);
        drop(world);
        shared.touch();
    }
}

/// The store holding `t`'s repository (404 `NAME_UNKNOWN` when its
/// registry does not exist).
pub(crate) fn store<'w>(world: &'w World, t: &Target) -> Result<&'w Store, OciError> {
    let found = match t.provider {
        Provider::DigitalOcean => world
            .digitalocean
            .registries
            .get(&t.registry)
            .map(|r| &r.store),
        Provider::Ionos => world.ionos.registries.get(&t.registry).map(|r| &r.content),
        Provider::Buildkite => buildkite_registry(world, t).map(|r| &r.content),
        _ => None,
    };
    found.ok_or_else(|| unknown(t))
}

/// The same, to change it.
pub(crate) fn store_mut<'w>(world: &'w mut World, t: &Target) -> Result<&'w mut Store, OciError> {
    let found = match t.provider {
        Provider::DigitalOcean => world
            .digitalocean
            .registries
            .get_mut(&t.registry)
            .map(|r| &mut r.store),
        Provider::Ionos => world
            .ionos
            .registries
            .get_mut(&t.registry)
            .map(|r| &mut r.content),
        Provider::Buildkite => buildkite_registry_mut(world, t).map(|r| &mut r.content),
        _ => None,
    };
    found.ok_or_else(|| unknown(t))
}

/// Whether a push may create `t`'s repository: DigitalOcean's tier caps
/// the account's repositories (403 `DENIED` beyond it, as the seeding
/// helper's 412 says in the API).
pub(crate) fn may_create(world: &World, t: &Target) -> Result<(), OciError> {
    if t.provider != Provider::DigitalOcean {
        return Ok(());
    }
    let exists = store(world, t)?
        .repositories
        .get(&t.repository)
        .is_some_and(|r| !r.manifests.is_empty());
    let st = &world.digitalocean;
    let included = st.tier().included_repositories();
    if !exists && included > 0 && st.repository_count() as u64 >= included {
        return Err(OciError::new(
            OciCode::Denied,
            format!(
                "the {} tier includes {included} repositories: [OverRepositoryLimit]",
                st.tier().slug()
            ),
        ));
    }
    Ok(())
}

/// What a provider records when `tag` of `t` is set to a manifest of
/// `size` bytes: Buildkite publishes the tag as a package version.
pub(crate) fn tagged(
    world: &mut World,
    ids: &mut ContentGen,
    t: &Target,
    tag: &str,
    digests: (&str, &str),
    size: u64,
    now: DateTime<Utc>,
) {
    if let Some(r) = buildkite_registry_mut(world, t) {
        r.publish_tag(ids, &t.repository, tag, digests, size, now);
    }
}

/// What a provider records when `tag` of `t` is deleted through the data
/// plane: Buildkite's package version goes.
pub(crate) fn untagged(world: &mut World, t: &Target, tag: &str) {
    if let Some(r) = buildkite_registry_mut(world, t) {
        r.packages
            .retain(|p| !(p.name == t.repository && p.version == tag));
    }
}

/// Whether `provider`'s registry deletes a tag by `DELETE
/// /v2/<name>/manifests/<tag>`. None documents it: IONOS and Buildkite
/// (where a tag is a package version the API deletes one by one) do here;
/// DigitalOcean, which deletes tags through its API, answers the spec's
/// `UNSUPPORTED` as distribution does.
pub(crate) fn deletes_tags(provider: Provider) -> bool {
    matches!(provider, Provider::Ionos | Provider::Buildkite)
}
