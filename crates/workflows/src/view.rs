//! One view of a container registry, whoever hosts it: the types every
//! provider's listing comes in, and [`RegistryView`].
//!
//! A view always lists its registries. What else a provider can do is an
//! optional interface the view hands out, as regclient's `scheme` package
//! does: [`ListContents`] (repositories and images), [`DeleteImages`] (tags
//! and manifests) and [`CollectGarbage`]. [`RegistryView::supports`] is
//! derived from them, and the trait's own methods call through them, so a
//! provider that cannot do something writes nothing for it: the call is an
//! [`Error::Unsupported`](crate::Error) naming the provider and the
//! [`Capability`]. Whether a provider mints Docker credentials is its
//! credential source's business ([`crate::credential`]), not its view's.
//! Each provider's implementation lives in [`crate::providers`].

use std::fmt;

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use futures::stream::{BoxStream, StreamExt as _};
use serde::Serialize;

use crate::{Capability, Error, Result};

/// A registry as the view names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Registry {
    /// What the provider's API calls it by (a name, an id or a slug).
    pub id: String,
    /// Its human name.
    pub name: String,
    /// The host Docker logs in to (`registry.digitalocean.com`, …), when the
    /// provider says.
    pub host: Option<String>,
    /// Bytes stored, when the provider says.
    pub storage_bytes: Option<u64>,
}

/// Where a registry's images are served and how a repository is named
/// there: what a view says through [`RegistryView::data_plane`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataPlaneName {
    /// The host (`registry.digitalocean.com`, `127.0.0.1:5000`).
    pub host: String,
    /// The repository's name on it.
    pub name: String,
}

/// A repository of a registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Repository {
    /// Its name (may hold `/`).
    pub name: String,
    /// Number of tags, when the provider says.
    pub tag_count: Option<u64>,
    /// Last change, when the provider says.
    pub updated_at: Option<DateTime<Utc>>,
}

/// One image: a tag and the manifest it names, or an untagged manifest
/// (`tag: None`). Every provider's listing comes in this one shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Image {
    /// The repository.
    pub repository: String,
    /// The tag, or `None` for an untagged manifest.
    pub tag: Option<String>,
    /// The manifest digest (`sha256:…`).
    pub digest: String,
    /// Size in bytes, when the provider says.
    pub size_bytes: Option<u64>,
    /// When it was pushed or last changed, when the provider says.
    pub updated_at: Option<DateTime<Utc>>,
}

/// What kind of garbage collection to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GcKind {
    /// Untagged manifests, then the blobs nothing references.
    UntaggedManifestsAndUnreferencedBlobs,
    /// Untagged manifests only (their blobs stay until a blob collection).
    UntaggedManifestsOnly,
    /// Blobs nothing references (untagged manifests stay).
    UnreferencedBlobsOnly,
}

impl GcKind {
    /// Whether this kind leaves untagged manifests (and their storage)
    /// behind.
    pub fn leaves_untagged_manifests(self) -> bool {
        self == GcKind::UnreferencedBlobsOnly
    }
}

/// Where a garbage collection is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GcStatus {
    /// The provider's id of this run.
    pub id: String,
    /// The provider's status text (`requested`, `scanning manifests`, …).
    pub status: String,
    /// Whether it has ended (succeeded, failed or cancelled).
    pub finished: bool,
    /// Whether it ended well.
    pub succeeded: bool,
    /// Bytes freed so far, when the provider says.
    pub freed_bytes: Option<u64>,
    /// Blobs deleted so far, when the provider says.
    pub blobs_deleted: Option<u64>,
    /// Its kind, when the provider says.
    pub kind: Option<GcKind>,
}

/// What deleting a tag does to the manifest it names, on one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TagDeletion {
    /// The manifest stays, untagged, until it is deleted by digest or a
    /// garbage collection takes it (DigitalOcean, distribution).
    LeavesManifest,
    /// The manifest goes with its last tag: the tag *is* the stored
    /// image (a Buildkite package version), so nothing is left to delete
    /// by digest.
    RemovesManifestWithLastTag,
}

/// A container registry, whoever hosts it. Implement
/// [`provider`](Self::provider), [`registries`](Self::registries) and the
/// accessors of the optional interfaces the provider has; the rest are
/// provided and call through them.
#[async_trait::async_trait]
pub trait RegistryView: Send + Sync + fmt::Debug {
    /// The provider's short name (`digitalocean`, …), as its crate's
    /// `PROVIDER.name`.
    fn provider(&self) -> &'static str;

    /// The account's registries (one, for single-registry accounts).
    async fn registries(&self) -> Result<Vec<Registry>>;

    /// Listing repositories and images, where the provider can.
    fn contents(&self) -> Option<&dyn ListContents> {
        None
    }

    /// Deleting tags and manifests, where the provider can.
    fn deletion(&self) -> Option<&dyn DeleteImages> {
        None
    }

    /// Garbage collection on request, where the provider runs one.
    fn collection(&self) -> Option<&dyn CollectGarbage> {
        None
    }

    /// Where `registry`'s images are served (the OCI Distribution API)
    /// and the name `repository` has there, where the provider has a data
    /// plane (DigitalOcean, IONOS, Buildkite); `None` elsewhere. What the
    /// image graph is read through.
    fn data_plane(&self, registry: &Registry, repository: &str) -> Option<DataPlaneName> {
        let _ = (registry, repository);
        None
    }

    /// Whether this view can do `capability` at all: derived from the
    /// interfaces it hands out. Credential capabilities are never a view's
    /// (ask the provider's credential source).
    fn supports(&self, capability: Capability) -> bool {
        match capability {
            Capability::ListRegistries => true,
            Capability::ListRepositories | Capability::ListImages => self.contents().is_some(),
            Capability::DeleteTag | Capability::DeleteManifest => self.deletion().is_some(),
            Capability::GarbageCollection => self.collection().is_some(),
            Capability::DockerCredentials | Capability::RevokeCredentials => false,
        }
    }

    /// Every repository of `registry`, page by page as consumed.
    fn repositories<'a>(&'a self, registry: &'a Registry) -> BoxStream<'a, Result<Repository>> {
        match self.contents() {
            Some(c) => c.repositories(registry),
            None => unsupported_stream(self.provider(), Capability::ListRepositories),
        }
    }

    /// Every image of `repository`: each tag with its manifest, and each
    /// untagged manifest once, page by page as consumed.
    fn images<'a>(
        &'a self,
        registry: &'a Registry,
        repository: &'a str,
    ) -> BoxStream<'a, Result<Image>> {
        match self.contents() {
            Some(c) => c.images(registry, repository),
            None => unsupported_stream(self.provider(), Capability::ListImages),
        }
    }

    /// The digest `repository`'s tag `tag` names *now* (see
    /// [`ListContents::tag_digest`]).
    async fn tag_digest(
        &self,
        registry: &Registry,
        repository: &str,
        tag: &str,
    ) -> Result<Option<String>> {
        self.contents()
            .ok_or_else(|| unsupported(self.provider(), Capability::ListImages))?
            .tag_digest(registry, repository, tag)
            .await
    }

    /// The tags that name `digest` *now* (see [`ListContents::manifest_tags`]).
    async fn manifest_tags(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &str,
    ) -> Result<Option<Vec<String>>> {
        self.contents()
            .ok_or_else(|| unsupported(self.provider(), Capability::ListImages))?
            .manifest_tags(registry, repository, digest)
            .await
    }

    /// What [`delete_tag`](Self::delete_tag) does to the tag's manifest
    /// ([`TagDeletion::LeavesManifest`] unless the provider says otherwise).
    fn tag_deletion(&self) -> TagDeletion {
        self.deletion()
            .map_or(TagDeletion::LeavesManifest, DeleteImages::tag_deletion)
    }

    /// Deletes one tag (its manifest stays, unless [`tag_deletion`](Self::tag_deletion)
    /// says otherwise).
    async fn delete_tag(&self, registry: &Registry, repository: &str, tag: &str) -> Result<()> {
        self.deletion()
            .ok_or_else(|| unsupported(self.provider(), Capability::DeleteTag))?
            .delete_tag(registry, repository, tag)
            .await
    }

    /// Deletes a manifest by digest (and, on most registries, its tags).
    async fn delete_manifest(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &str,
    ) -> Result<()> {
        self.deletion()
            .ok_or_else(|| unsupported(self.provider(), Capability::DeleteManifest))?
            .delete_manifest(registry, repository, digest)
            .await
    }

    /// Starts a garbage collection, or returns the one already running.
    async fn start_gc(&self, registry: &Registry, kind: GcKind) -> Result<GcStatus> {
        self.collection()
            .ok_or_else(|| unsupported(self.provider(), Capability::GarbageCollection))?
            .start_gc(registry, kind)
            .await
    }

    /// The running garbage collection, or the latest one when none runs
    /// (`None` when there has never been one).
    async fn gc_status(&self, registry: &Registry, id: &str) -> Result<Option<GcStatus>> {
        self.collection()
            .ok_or_else(|| unsupported(self.provider(), Capability::GarbageCollection))?
            .gc_status(registry, id)
            .await
    }
}

/// A provider's listing of repositories and images.
#[async_trait::async_trait]
pub trait ListContents: Send + Sync {
    /// Every repository of `registry`, page by page as consumed.
    fn repositories<'a>(&'a self, registry: &'a Registry) -> BoxStream<'a, Result<Repository>>;

    /// Every image of `repository`: each tag with its manifest, and each
    /// untagged manifest once, page by page as consumed.
    fn images<'a>(
        &'a self,
        registry: &'a Registry,
        repository: &'a str,
    ) -> BoxStream<'a, Result<Image>>;

    /// The digest `repository`'s tag `tag` names *now*, read through the
    /// provider's API at the time of the call, or `None` when the tag no
    /// longer exists. Retention's apply asks right before deleting a tag.
    ///
    /// The default walks [`images`](Self::images) until it meets the tag;
    /// a provider with a cheaper read overrides it.
    async fn tag_digest(
        &self,
        registry: &Registry,
        repository: &str,
        tag: &str,
    ) -> Result<Option<String>> {
        let mut images = self.images(registry, repository);
        while let Some(image) = images.try_next().await? {
            if image.tag.as_deref() == Some(tag) {
                return Ok(Some(image.digest));
            }
        }
        Ok(None)
    }

    /// The tags that name `digest` in `repository` *now* (empty for an
    /// untagged manifest), read through the provider's API at the time of
    /// the call, or `None` when the manifest no longer exists. Retention's
    /// apply asks right before deleting a manifest.
    ///
    /// The default walks every [`image`](Self::images) of the repository.
    async fn manifest_tags(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &str,
    ) -> Result<Option<Vec<String>>> {
        let mut found = false;
        let mut tags = Vec::new();
        let mut images = self.images(registry, repository);
        while let Some(image) = images.try_next().await? {
            if image.digest == digest {
                found = true;
                tags.extend(image.tag);
            }
        }
        Ok(found.then_some(tags))
    }
}

/// A provider's deletion of tags and manifests.
#[async_trait::async_trait]
pub trait DeleteImages: Send + Sync {
    /// What [`delete_tag`](Self::delete_tag) does to the tag's manifest.
    /// The retention planner plans by it, so a plan never asks to delete a
    /// manifest that its own tag deletions already removed.
    fn tag_deletion(&self) -> TagDeletion {
        TagDeletion::LeavesManifest
    }

    /// Deletes one tag.
    async fn delete_tag(&self, registry: &Registry, repository: &str, tag: &str) -> Result<()>;

    /// Deletes a manifest by digest.
    async fn delete_manifest(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &str,
    ) -> Result<()>;
}

/// A provider's garbage collection on request.
#[async_trait::async_trait]
pub trait CollectGarbage: Send + Sync {
    /// Starts a garbage collection, or returns the one already running.
    async fn start_gc(&self, registry: &Registry, kind: GcKind) -> Result<GcStatus>;

    /// The running garbage collection, or the latest one when none runs
    /// (`None` when there has never been one).
    async fn gc_status(&self, registry: &Registry, id: &str) -> Result<Option<GcStatus>>;
}

/// `Error::Unsupported` for `provider`.
fn unsupported(provider: &'static str, capability: Capability) -> Error {
    Error::Unsupported {
        provider,
        capability,
    }
}

fn unsupported_stream<'a, T: Send + 'a>(
    provider: &'static str,
    capability: Capability,
) -> BoxStream<'a, Result<T>> {
    futures::stream::once(std::future::ready(Err(unsupported(provider, capability)))).boxed()
}
