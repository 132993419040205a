//! DigitalOcean Container Registry through the multi-registry API
//! (`/v2/registries/{registry_name}/…`).
//!
//! The multi-registry operations address a registry by name and also work
//! for an account with a single registry, so they are the only ones used;
//! the deprecated `/v2/registry` operations (which answer 412 once an
//! account has two registries) are not needed.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use regkit_core::SecretString;
use regkit_digitalocean::{Client, types};

use crate::account::{Opened, ProviderKit};
use crate::clock::{Clock, SystemClock};
use crate::credential::{CredentialSource, DockerCredential, Lifetime, expiry_after, ttl_secs};
use crate::view::{
    CollectGarbage, DataPlaneName, DeleteImages, GcKind, GcStatus, Image, ListContents, Registry,
    RegistryView, Repository,
};
use crate::{Error, Result};

const PROVIDER: &str = regkit_digitalocean::PROVIDER.name;
/// DO's largest page.
const MAX_PAGE: u64 = 200;

/// [`RegistryView`] over a DigitalOcean client.
///
/// Supports everything the view offers: registries, repositories
/// (`repositoriesV2`), images, tag and manifest deletion, and garbage
/// collection (start-or-join). Docker credentials are
/// [`DigitalOceanSource`]'s, not this view's.
///
/// Image sizes are DigitalOcean's `compressed_size_bytes`: what the
/// manifest's blobs take in storage, the number storage use and garbage
/// collection's freed bytes count (the uncompressed `size_bytes` when the
/// compressed one is missing).
#[derive(Clone, Debug)]
pub struct DigitalOceanView {
    client: Client,
    per_page: u64,
    host: Option<String>,
}

impl DigitalOceanView {
    /// A view over `client`, reading 100 items a page.
    pub fn new(client: Client) -> Self {
        DigitalOceanView {
            client,
            per_page: 100,
            host: None,
        }
    }

    /// Reports `host` as every registry's host instead of the documented
    /// one (an emulator's, a mirror's; `None` keeps the documented one).
    pub fn registry_host(mut self, host: Option<String>) -> Self {
        self.host = host;
        self
    }

    /// Reads `per_page` items a page (1 to 200; out-of-range values are
    /// clamped).
    pub fn per_page(mut self, per_page: u64) -> Self {
        self.per_page = per_page.clamp(1, MAX_PAGE);
        self
    }

    /// The client this view calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn active_gc(&self, registry: &str) -> Result<Option<GcStatus>> {
        match self
            .client
            .registries_get_garbage_collection()
            .registry_name(registry)
            .send()
            .await
        {
            Ok(info) => info
                .into_inner()
                .garbage_collection
                .map(|gc| gc_status(&gc))
                .transpose(),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(Error::from(e)),
        }
    }
}

fn size(n: Option<i64>) -> Option<u64> {
    n.and_then(|n| u64::try_from(n).ok())
}

fn gc_type(kind: GcKind) -> types::GarbageCollectionType {
    match kind {
        GcKind::UntaggedManifestsAndUnreferencedBlobs => {
            types::GarbageCollectionType::UntaggedManifestsAndUnreferencedBlobs
        }
        GcKind::UntaggedManifestsOnly => types::GarbageCollectionType::UntaggedManifestsOnly,
        GcKind::UnreferencedBlobsOnly => types::GarbageCollectionType::UnreferencedBlobsOnly,
    }
}

fn gc_kind(kind: &types::GarbageCollectionType) -> Option<GcKind> {
    match kind {
        types::GarbageCollectionType::UntaggedManifestsAndUnreferencedBlobs => {
            Some(GcKind::UntaggedManifestsAndUnreferencedBlobs)
        }
        types::GarbageCollectionType::UntaggedManifestsOnly => Some(GcKind::UntaggedManifestsOnly),
        types::GarbageCollectionType::UnreferencedBlobsOnly => Some(GcKind::UnreferencedBlobsOnly),
        _ => None,
    }
}

/// DO's run in the view's shape: `succeeded`, `failed` and `cancelled`
/// are finished (`cancelling` is not yet), only `succeeded` ended well.
fn gc_status(gc: &types::GarbageCollection) -> Result<GcStatus> {
    let id = gc.uuid.clone().ok_or_else(|| {
        Error::Unexpected("a DigitalOcean garbage collection without a uuid".into())
    })?;
    let status = gc.status.as_ref();
    let finished = matches!(
        status,
        Some(
            types::GarbageCollectionStatus::Succeeded
                | types::GarbageCollectionStatus::Failed
                | types::GarbageCollectionStatus::Cancelled
        )
    );
    Ok(GcStatus {
        id,
        status: status.map_or_else(String::new, |s| s.as_str().to_string()),
        finished,
        succeeded: matches!(status, Some(types::GarbageCollectionStatus::Succeeded)),
        freed_bytes: size(gc.freed_bytes),
        blobs_deleted: size(gc.blobs_deleted),
        kind: gc.type_.as_ref().and_then(gc_kind),
    })
}

fn tag_image(repository: &str, tag: types::RepositoryTag) -> Result<Image> {
    let name = tag
        .tag
        .ok_or_else(|| Error::Unexpected(format!("a tag of {repository} without a name")))?;
    let digest = tag.manifest_digest.ok_or_else(|| {
        Error::Unexpected(format!("tag {repository}:{name} without a manifest digest"))
    })?;
    Ok(Image {
        repository: repository.to_string(),
        tag: Some(name),
        digest,
        size_bytes: size(tag.compressed_size_bytes).or(size(tag.size_bytes)),
        updated_at: tag.updated_at,
    })
}

fn untagged_image(repository: &str, manifest: types::RepositoryManifest) -> Option<Result<Image>> {
    if !manifest.tags.is_empty() {
        return None;
    }
    Some(match manifest.digest {
        Some(digest) => Ok(Image {
            repository: repository.to_string(),
            tag: None,
            digest,
            size_bytes: size(manifest.compressed_size_bytes).or(size(manifest.size_bytes)),
            updated_at: manifest.updated_at,
        }),
        None => Err(Error::Unexpected(format!(
            "a manifest of {repository} without a digest"
        ))),
    })
}

#[async_trait::async_trait]
impl RegistryView for DigitalOceanView {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn registries(&self) -> Result<Vec<Registry>> {
        self.client
            .registries_list()
            .stream()
            .map_err(Error::from)
            .and_then(|r| async move {
                let name = r.name.ok_or_else(|| {
                    Error::Unexpected("a DigitalOcean registry without a name".into())
                })?;
                Ok(Registry {
                    id: name.clone(),
                    name,
                    host: self.host.clone().or_else(|| {
                        regkit_digitalocean::PROVIDER
                            .shared_registry_host()
                            .map(str::to_string)
                    }),
                    storage_bytes: size(r.storage_usage_bytes),
                })
            })
            .try_collect()
            .await
    }

    /// Every registry shares one host; a repository is
    /// `<registry>/<repository>` there.
    fn data_plane(&self, registry: &Registry, repository: &str) -> Option<DataPlaneName> {
        Some(DataPlaneName {
            host: registry.host.clone()?,
            name: format!("{}/{repository}", registry.name),
        })
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
impl ListContents for DigitalOceanView {
    fn repositories<'a>(&'a self, registry: &'a Registry) -> BoxStream<'a, Result<Repository>> {
        self.client
            .registries_list_repositories_v2()
            .registry_name(registry.id.as_str())
            .per_page(self.per_page)
            .stream()
            .map(|item| {
                let repo = item?;
                let name = repo.name.ok_or_else(|| {
                    Error::Unexpected("a DigitalOcean repository without a name".into())
                })?;
                Ok(Repository {
                    name,
                    tag_count: size(repo.tag_count),
                    updated_at: repo.latest_manifest.and_then(|m| m.updated_at),
                })
            })
            .boxed()
    }

    /// Tags first (DigitalOcean's order: newest first), then the untagged
    /// manifests (from the manifest listing: those with no tag).
    fn images<'a>(
        &'a self,
        registry: &'a Registry,
        repository: &'a str,
    ) -> BoxStream<'a, Result<Image>> {
        let tags = self
            .client
            .registries_list_repository_tags()
            .registry_name(registry.id.as_str())
            .repository_name(repository)
            .per_page(self.per_page)
            .stream()
            .map(move |item| {
                item.map_err(Error::from)
                    .and_then(|tag| tag_image(repository, tag))
            });
        // Built only once the tags are through, so an error there ends the
        // stream before any manifest page is asked for.
        let untagged = stream::once(async move {
            self.client
                .registries_list_repository_manifests()
                .registry_name(registry.id.as_str())
                .repository_name(repository)
                .per_page(self.per_page)
                .stream()
                .filter_map(move |item| {
                    std::future::ready(match item {
                        Ok(manifest) => untagged_image(repository, manifest),
                        Err(e) => Some(Err(Error::from(e))),
                    })
                })
        })
        .flatten();
        stop_after_error(tags.chain(untagged)).boxed()
    }

    /// Walks the tag listing (in pages of 200, DigitalOcean's largest)
    /// until it meets `tag`.
    async fn tag_digest(
        &self,
        registry: &Registry,
        repository: &str,
        tag: &str,
    ) -> Result<Option<String>> {
        let mut tags = self
            .client
            .registries_list_repository_tags()
            .registry_name(registry.id.as_str())
            .repository_name(repository)
            .per_page(MAX_PAGE)
            .stream();
        while let Some(item) = tags.next().await {
            let item = item?;
            if item.tag.as_deref() == Some(tag) {
                let image = tag_image(repository, item)?;
                return Ok(Some(image.digest));
            }
        }
        Ok(None)
    }

    /// Walks the manifest listing (each manifest with its tags, in pages
    /// of 200) until it meets `digest`.
    async fn manifest_tags(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &str,
    ) -> Result<Option<Vec<String>>> {
        let mut manifests = self
            .client
            .registries_list_repository_manifests()
            .registry_name(registry.id.as_str())
            .repository_name(repository)
            .per_page(MAX_PAGE)
            .stream();
        while let Some(item) = manifests.next().await {
            let item = item?;
            if item.digest.as_deref() == Some(digest) {
                return Ok(Some(item.tags));
            }
        }
        Ok(None)
    }
}

#[async_trait::async_trait]
impl DeleteImages for DigitalOceanView {
    async fn delete_tag(&self, registry: &Registry, repository: &str, tag: &str) -> Result<()> {
        self.client
            .registries_delete_repository_tag()
            .registry_name(registry.id.as_str())
            .repository_name(repository)
            .repository_tag(tag)
            .send()
            .await?;
        Ok(())
    }

    async fn delete_manifest(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &str,
    ) -> Result<()> {
        self.client
            .registries_delete_repository_manifest()
            .registry_name(registry.id.as_str())
            .repository_name(repository)
            .manifest_digest(digest)
            .send()
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl CollectGarbage for DigitalOceanView {
    /// Runs a collection of `kind`; when DigitalOcean refuses because one is
    /// already active (409), returns that one instead (whatever its kind).
    async fn start_gc(&self, registry: &Registry, kind: GcKind) -> Result<GcStatus> {
        let started = self
            .client
            .registries_run_garbage_collection()
            .registry_name(registry.id.as_str())
            .body(types::RegistryRunGc {
                type_: Some(gc_type(kind)),
            })
            .send()
            .await;
        match started {
            Ok(info) => info.into_inner().garbage_collection.as_ref().map_or_else(
                || {
                    Err(Error::Unexpected(
                        "DigitalOcean started a garbage collection but did not describe it".into(),
                    ))
                },
                gc_status,
            ),
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 409) => {
                match self.active_gc(&registry.id).await? {
                    Some(active) => Ok(active),
                    // It ended between the refusal and the look-up.
                    None => Err(Error::from(e)),
                }
            }
            Err(e) => Err(Error::from(e)),
        }
    }

    /// The run `id`: the active one when it is that run, else found in the
    /// list of past runs (newest first). An empty `id` asks for the active
    /// run, or the latest when none is active.
    async fn gc_status(&self, registry: &Registry, id: &str) -> Result<Option<GcStatus>> {
        if let Some(active) = self.active_gc(&registry.id).await?
            && (id.is_empty() || active.id == id)
        {
            return Ok(Some(active));
        }
        let mut runs = self
            .client
            .registries_list_garbage_collections()
            .registry_name(registry.id.as_str())
            .per_page(self.per_page)
            .stream();
        while let Some(gc) = runs.next().await {
            let gc = gc?;
            if id.is_empty() || gc.uuid.as_deref() == Some(id) {
                return gc_status(&gc).map(Some);
            }
        }
        Ok(None)
    }
}

/// Ends `s` after its first error (so a failed tag page does not go on to
/// the manifests).
fn stop_after_error<'a, T: Send + 'a>(
    s: impl futures::Stream<Item = Result<T>> + Send + 'a,
) -> impl futures::Stream<Item = Result<T>> + Send + 'a {
    s.scan(false, |failed, item| {
        let out = if *failed {
            None
        } else {
            *failed = item.is_err();
            Some(item)
        };
        std::future::ready(out)
    })
}

/// DigitalOcean: `registries_get_docker_credentials` for a named registry,
/// or the account's registry (`registry_get_docker_credentials`) when none
/// is named. The TTL becomes `expiry_seconds` (rounded up to whole
/// seconds; [`Lifetime::NeverExpires`] is `0`, DigitalOcean's "never"),
/// `write` becomes `read_write`. DigitalOcean cannot revoke them:
/// keep the TTL short.
#[derive(Clone)]
pub struct DigitalOceanSource {
    client: regkit_digitalocean::Client,
    registry: Option<String>,
    clock: Arc<dyn Clock>,
}

impl DigitalOceanSource {
    /// Credentials for the account's registry.
    pub fn new(client: regkit_digitalocean::Client) -> Self {
        Self {
            client,
            registry: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Credentials for the named registry (multi-registry API).
    pub fn registry(mut self, name: impl Into<String>) -> Self {
        self.registry = Some(name.into());
        self
    }

    /// The clock that dates the credentials' expiry (the system clock by
    /// default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl fmt::Debug for DigitalOceanSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigitalOceanSource")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// The one login in a DigitalOcean `DockerCredentials` answer (the first
/// host in name order when there are several).
fn from_docker_config(
    auths: &std::collections::HashMap<String, regkit_digitalocean::types::DockerCredentialsAuth>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<DockerCredential> {
    let mut hosts: Vec<&String> = auths.keys().collect();
    hosts.sort();
    let host = hosts.first().ok_or_else(|| {
        Error::Unexpected("docker-credentials answered without a registry host".into())
    })?;
    let auth = auths[*host]
        .auth
        .as_ref()
        .ok_or_else(|| Error::Unexpected(format!("docker-credentials for {host} has no `auth`")))?;
    let (username, password) = split_auth(auth).ok_or_else(|| {
        Error::Unexpected(format!(
            "docker-credentials for {host}: `auth` is not base64 of user:password"
        ))
    })?;
    Ok(DockerCredential {
        host: (*host).clone(),
        username,
        password,
        expires_at,
        id: None,
    })
}

/// Decodes a Docker `auth` value into user name and password. `None` (and
/// nothing of the value in any message) when it is malformed.
pub(crate) fn split_auth(auth: &SecretString) -> Option<(String, SecretString)> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let raw = engines
        .iter()
        .find_map(|e| e.decode(auth.expose_secret().trim()).ok())?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    if user.is_empty() {
        return None;
    }
    Some((user.to_string(), SecretString::new(password)))
}

#[async_trait::async_trait]
impl CredentialSource for DigitalOceanSource {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential> {
        // Dated from before the request: never later than DigitalOcean's.
        let expires_at = expiry_after(self.clock.now(), lifetime)?;
        let secs = match lifetime {
            Lifetime::Ttl(ttl) => ttl_secs(ttl),
            Lifetime::NeverExpires => 0,
        };
        let answer = match &self.registry {
            Some(name) => {
                self.client
                    .registries_get_docker_credentials()
                    .registry_name(name.as_str())
                    .expiry_seconds(secs)
                    .read_write(write)
                    .send()
                    .await?
            }
            None => {
                self.client
                    .registry_get_docker_credentials()
                    .expiry_seconds(secs)
                    .read_write(write)
                    .send()
                    .await?
            }
        };
        from_docker_config(&answer.into_inner().auths, expires_at)
    }
}

/// DigitalOcean's module: [`DigitalOceanView`] and [`DigitalOceanSource`].
pub(crate) struct DigitalOcean;

#[async_trait::async_trait]
impl ProviderKit for DigitalOcean {
    type Client = Client;
    const PROVIDER: regkit_core::Provider = regkit_core::Provider::DigitalOcean;

    fn view(a: &Opened<Self>) -> Box<dyn RegistryView> {
        Box::new(DigitalOceanView::new(a.client.clone()).registry_host(a.registry_host.clone()))
    }

    fn credentials(
        a: &Opened<Self>,
        registry: &Registry,
        clock: Arc<dyn Clock>,
    ) -> Option<Box<dyn CredentialSource>> {
        Some(Box::new(
            DigitalOceanSource::new(a.client.clone())
                .registry(registry.id.clone())
                .clock(clock),
        ))
    }

    /// Every registry shares one host: the named registry, else the
    /// account's first by name.
    async fn credential_for_host(
        a: &Opened<Self>,
        _key: &str,
        registry: Option<&str>,
        lifetime: Lifetime,
        push: bool,
    ) -> Result<Option<DockerCredential>> {
        let registry = match registry {
            Some(r) => r.to_string(),
            None => {
                let mut names: Vec<String> = DigitalOceanView::new(a.client.clone())
                    .registries()
                    .await?
                    .into_iter()
                    .map(|r| r.name)
                    .collect();
                names.sort();
                match names.into_iter().next() {
                    Some(first) => first,
                    None => return Ok(None),
                }
            }
        };
        DigitalOceanSource::new(a.client.clone())
            .registry(registry)
            .mint(lifetime, push)
            .await
            .map(Some)
    }
}
