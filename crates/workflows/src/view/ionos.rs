//! IONOS Container Registry: registries, repositories and artifacts.

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use regkit_ionos::{Client, types};

use super::{GcKind, GcStatus, Image, Registry, RegistryView, Repository, unsupported};
use crate::{Capability, Error, Result};

const PROVIDER: &str = "ionos";
/// IONOS's largest page.
const MAX_PAGE: i32 = 1000;

/// [`RegistryView`] over an IONOS client.
///
/// Lists registries (their host is IONOS's `hostname`), repositories, and
/// images from a repository's artifacts: one image per tag of an artifact,
/// and an artifact with no tag is one untagged image, in IONOS's order
/// (newest push first). IONOS reports no artifact size, so `size_bytes` is
/// `None`.
///
/// Not supported, as the IONOS API has no such operation: deleting a tag or
/// a manifest (only a whole repository can be deleted), and garbage
/// collection, which IONOS runs by itself on each registry's weekly
/// `garbageCollectionSchedule`.
#[derive(Clone, Debug)]
pub struct IonosView {
    client: Client,
    limit: i32,
}

impl IonosView {
    /// A view over `client`, reading 100 items a page.
    pub fn new(client: Client) -> Self {
        IonosView { client, limit: 100 }
    }

    /// Reads `limit` items a page (1 to 1000; out-of-range values are
    /// clamped).
    pub fn per_page(mut self, limit: u32) -> Self {
        self.limit = i32::try_from(limit).unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
        self
    }

    /// The client this view calls.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// One image per tag of `artifact`, or one untagged image.
fn artifact_images(repository: &str, artifact: types::ArtifactRead) -> Vec<Result<Image>> {
    let updated_at = time(Some(&artifact.metadata.last_pushed_at));
    let digest = artifact.properties.digest;
    let image = |tag: Option<String>| {
        Ok(Image {
            repository: repository.to_string(),
            tag,
            digest: digest.clone(),
            size_bytes: None,
            updated_at,
        })
    };
    if artifact.properties.tags.is_empty() {
        vec![image(None)]
    } else {
        artifact
            .properties
            .tags
            .iter()
            .map(|t| image(Some(t.clone())))
            .collect()
    }
}

#[async_trait::async_trait]
impl RegistryView for IonosView {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn supports(&self, capability: Capability) -> bool {
        matches!(
            capability,
            Capability::ListRegistries | Capability::ListRepositories | Capability::ListImages
        )
    }

    async fn registries(&self) -> Result<Vec<Registry>> {
        self.client
            .registries_get()
            .limit(self.limit)
            .stream()
            .map_err(Error::from)
            .and_then(|r| async move {
                let id = r
                    .id
                    .ok_or_else(|| Error::Unexpected("an IONOS registry without an id".into()))?;
                let properties = r.properties.ok_or_else(|| {
                    Error::Unexpected(format!("IONOS registry {id} without properties"))
                })?;
                Ok(Registry {
                    id,
                    name: properties.name,
                    host: properties.hostname,
                    storage_bytes: properties
                        .storage_usage
                        .and_then(|s| s.bytes)
                        .and_then(|b| u64::try_from(b).ok()),
                })
            })
            .try_collect()
            .await
    }

    fn repositories<'a>(&'a self, registry: &'a Registry) -> BoxStream<'a, Result<Repository>> {
        self.client
            .registries_repositories_get()
            .registry_id(registry.id.as_str())
            .limit(self.limit)
            .stream()
            .map(|item| {
                let repo = item?;
                Ok(Repository {
                    name: repo.properties.name,
                    // IONOS counts artifacts, not tags.
                    tag_count: None,
                    updated_at: time(repo.metadata.last_pushed_at.as_deref()),
                })
            })
            .boxed()
    }

    fn images<'a>(
        &'a self,
        registry: &'a Registry,
        repository: &'a str,
    ) -> BoxStream<'a, Result<Image>> {
        self.client
            .registries_repositories_artifacts_get()
            .registry_id(registry.id.as_str())
            .repository_name(repository)
            .limit(self.limit)
            .stream()
            .flat_map(move |item| {
                stream::iter(match item {
                    Ok(artifact) => artifact_images(repository, artifact),
                    Err(e) => vec![Err(Error::from(e))],
                })
            })
            .boxed()
    }

    async fn delete_tag(&self, _: &Registry, _: &str, _: &str) -> Result<()> {
        unsupported(PROVIDER, Capability::DeleteTag)
    }

    async fn delete_manifest(&self, _: &Registry, _: &str, _: &str) -> Result<()> {
        unsupported(PROVIDER, Capability::DeleteManifest)
    }

    /// Unsupported: IONOS collects garbage on each registry's weekly
    /// schedule (`garbageCollectionSchedule`), not on request.
    async fn start_gc(&self, _: &Registry, _: GcKind) -> Result<GcStatus> {
        unsupported(PROVIDER, Capability::GarbageCollection)
    }

    /// Unsupported: IONOS reports no garbage-collection runs.
    async fn gc_status(&self, _: &Registry, _: &str) -> Result<Option<GcStatus>> {
        unsupported(PROVIDER, Capability::GarbageCollection)
    }
}
