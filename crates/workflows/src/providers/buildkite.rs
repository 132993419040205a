//! Buildkite Package Registries of the `container` ecosystem.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use regkit_buildkite::{Client, types};

use crate::account::{Opened, ProviderKit};
use crate::clock::Clock;
use crate::credential::{self, CredentialSource, DockerCredential, Lifetime};
use crate::view::{
    DataPlaneName, DeleteImages, Image, ListContents, Registry, RegistryView, Repository,
    TagDeletion,
};
use crate::{Capability, Error, Result};

const PROVIDER: &str = regkit_buildkite::PROVIDER.name;
/// The ecosystem of container (OCI image) registries.
const CONTAINER: &str = "container";
/// Buildkite's largest page.
const MAX_PAGE: i32 = 100;

/// [`RegistryView`] over a Buildkite client, for one organization.
///
/// Only registries of the `container` ecosystem are listed (the others hold
/// gems, wheels, charts, …). In a container registry each image tag is a
/// package: its `name` is the repository and its `version` the tag. So:
///
/// - repositories are the package names (walking every package of the
///   registry once, then sorted by name), with the number of versions as
///   `tag_count` and the newest package's time as `updated_at`;
/// - images are the packages of one name, newest first: tag = version,
///   digest = `sha256:` and the package's SHA-256 (its id when Buildkite
///   gives no digest), updated time = creation time, no size; there are
///   no untagged manifests;
/// - deleting a tag deletes the package of that name and version; deleting
///   a manifest deletes every package of the repository with that digest
///   (or that id).
///
/// Garbage collection is not supported: Buildkite has no such operation.
#[derive(Clone, Debug)]
pub struct BuildkiteView {
    client: Client,
    org_slug: String,
    per_page: i32,
    host: Option<String>,
}

impl BuildkiteView {
    /// A view of organization `org_slug` over `client`, reading 100 items a
    /// page.
    pub fn new(client: Client, org_slug: impl Into<String>) -> Self {
        BuildkiteView {
            client,
            org_slug: org_slug.into(),
            per_page: MAX_PAGE,
            host: None,
        }
    }

    /// Reports `host` as every registry's host instead of the documented
    /// one (an emulator's, a mirror's; `None` keeps the documented one).
    pub fn registry_host(mut self, host: Option<String>) -> Self {
        self.host = host;
        self
    }

    /// Reads `per_page` items a page (1 to 100; out-of-range values are
    /// clamped).
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = i32::try_from(per_page)
            .unwrap_or(MAX_PAGE)
            .clamp(1, MAX_PAGE);
        self
    }

    /// The client this view calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The organization this view shows.
    pub fn org_slug(&self) -> &str {
        &self.org_slug
    }

    /// Packages of `registry`, only those named `name` when given, newest
    /// first.
    fn packages<'a>(
        &'a self,
        registry: &'a Registry,
        name: Option<&'a str>,
    ) -> BoxStream<'a, Result<types::PackageListItem>> {
        let mut list = self
            .client
            .list_packages()
            .org_slug(self.org_slug.as_str())
            .registry_slug(registry.id.as_str())
            .per_page(self.per_page);
        if let Some(name) = name {
            list = list.name(name);
        }
        list.stream().map_err(Error::from).boxed()
    }

    async fn delete_package(&self, registry: &Registry, id: &str) -> Result<()> {
        self.client
            .delete_package()
            .org_slug(self.org_slug.as_str())
            .registry_slug(registry.id.as_str())
            .package_id(id)
            .send()
            .await?;
        Ok(())
    }

    /// Deletes every package of `repository` that `matches`; an error when
    /// none does.
    async fn delete_where(
        &self,
        registry: &Registry,
        repository: &str,
        what: &str,
        matches: impl Fn(&types::PackageListItem) -> bool + Send + Sync,
    ) -> Result<()> {
        // Collected first: deleting while paging would shift the pages.
        let doomed: Vec<String> = self
            .packages(registry, Some(repository))
            .try_filter_map(|p| std::future::ready(Ok(matches(&p).then_some(p.id))))
            .try_collect()
            .await?;
        if doomed.is_empty() {
            return Err(Error::Unexpected(format!(
                "Buildkite registry {} has no package {repository} {what}",
                registry.id
            )));
        }
        for id in doomed {
            self.delete_package(registry, &id).await?;
        }
        Ok(())
    }
}

fn digest_of(p: &types::PackageListItem) -> String {
    match &p.digests {
        Some(d) if !d.sha256.is_empty() => format!("sha256:{}", d.sha256),
        _ => p.id.clone(),
    }
}

#[async_trait::async_trait]
impl RegistryView for BuildkiteView {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    /// The organization's registries of the `container` ecosystem.
    async fn registries(&self) -> Result<Vec<Registry>> {
        self.client
            .list_registries()
            .org_slug(self.org_slug.as_str())
            .per_page(self.per_page)
            .stream()
            .map_err(Error::from)
            .try_filter_map(|r| {
                std::future::ready(Ok((r.ecosystem == CONTAINER).then(|| Registry {
                    id: r.slug,
                    name: r.name,
                    host: self.host.clone().or_else(|| {
                        regkit_buildkite::PROVIDER
                            .shared_registry_host()
                            .map(str::to_string)
                    }),
                    storage_bytes: None,
                })))
            })
            .try_collect()
            .await
    }

    /// Every registry shares one host; a repository is
    /// `<org>/<registry>/<repository>` there.
    fn data_plane(&self, registry: &Registry, repository: &str) -> Option<DataPlaneName> {
        let host = registry.host.as_deref()?;
        Some(DataPlaneName {
            host: crate::account::host_of(host).to_string(),
            name: format!("{}/{}/{repository}", self.org_slug, registry.id),
        })
    }

    fn contents(&self) -> Option<&dyn ListContents> {
        Some(self)
    }

    fn deletion(&self) -> Option<&dyn DeleteImages> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl ListContents for BuildkiteView {
    /// The package names, in name order, once every package has been read.
    fn repositories<'a>(&'a self, registry: &'a Registry) -> BoxStream<'a, Result<Repository>> {
        let grouped = async move {
            let mut by_name: BTreeMap<String, (u64, DateTime<Utc>)> = BTreeMap::new();
            let mut all = self.packages(registry, None);
            while let Some(p) = all.try_next().await? {
                let entry = by_name.entry(p.name).or_insert((0, p.created_at));
                entry.0 += 1;
                entry.1 = entry.1.max(p.created_at);
            }
            Ok::<_, Error>(stream::iter(by_name.into_iter().map(
                |(name, (count, newest))| {
                    Ok(Repository {
                        name,
                        tag_count: Some(count),
                        updated_at: Some(newest),
                    })
                },
            )))
        };
        stream::once(grouped).try_flatten().boxed()
    }

    fn images<'a>(
        &'a self,
        registry: &'a Registry,
        repository: &'a str,
    ) -> BoxStream<'a, Result<Image>> {
        self.packages(registry, Some(repository))
            // The name filter is exact; checked again all the same.
            .try_filter(move |p| std::future::ready(p.name == repository))
            .map_ok(move |p| Image {
                repository: repository.to_string(),
                digest: digest_of(&p),
                tag: Some(p.version),
                size_bytes: None,
                updated_at: Some(p.created_at),
            })
            .boxed()
    }
}

#[async_trait::async_trait]
impl DeleteImages for BuildkiteView {
    /// A tag is a package version: deleting it deletes the stored image,
    /// and the digest is gone once its last version is.
    fn tag_deletion(&self) -> TagDeletion {
        TagDeletion::RemovesManifestWithLastTag
    }

    /// Deletes the package `repository` at version `tag`.
    async fn delete_tag(&self, registry: &Registry, repository: &str, tag: &str) -> Result<()> {
        self.delete_where(registry, repository, &format!("version {tag}"), |p| {
            p.name == repository && p.version == tag
        })
        .await
    }

    /// Deletes every package of `repository` with this digest (or id).
    async fn delete_manifest(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &str,
    ) -> Result<()> {
        self.delete_where(
            registry,
            repository,
            &format!("with digest {digest}"),
            |p| p.name == repository && (digest_of(p) == digest || p.id == digest),
        )
        .await
    }
}

/// The user name Buildkite Package Registries take with a registry token
/// (the manifest's login user, `buildkite`).
pub fn buildkite_username() -> &'static str {
    match regkit_buildkite::PROVIDER.data_plane.login_user() {
        Some(regkit_core::LoginUser::Fixed(name)) => name,
        _ => "",
    }
}

/// The host of Buildkite Package Registries (the manifest's shared host,
/// `packages.buildkite.com`).
pub fn buildkite_host() -> &'static str {
    regkit_buildkite::PROVIDER
        .shared_registry_host()
        .unwrap_or_default()
}

/// Buildkite: a registry token (`create_registry_token`), used as the
/// password with user name [`buildkite_username`] on [`buildkite_host`].
/// Registry tokens only read (`write` is [`Error::Unsupported`]) and do not
/// expire (the TTL is checked, then not sent); revoking deletes the token
/// (`delete_registry_token`).
#[derive(Clone)]
pub struct BuildkiteSource {
    client: regkit_buildkite::Client,
    org: String,
    registry: String,
    host: String,
    description: String,
}

impl BuildkiteSource {
    /// Tokens of registry `registry_slug` of organization `org_slug`.
    pub fn new(
        client: regkit_buildkite::Client,
        org_slug: impl Into<String>,
        registry_slug: impl Into<String>,
    ) -> Self {
        Self {
            client,
            org: org_slug.into(),
            registry: registry_slug.into(),
            host: buildkite_host().into(),
            description: "regkit credential lease".into(),
        }
    }

    /// The host to write into Docker's configuration instead of
    /// [`buildkite_host`] (say `packages.buildkite.com/org/registry`, the
    /// form `docker login` is shown with).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The description given to each token (says what it is for).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }
}

impl fmt::Debug for BuildkiteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildkiteSource")
            .field("org", &self.org)
            .field("registry", &self.registry)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialSource for BuildkiteSource {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn supports_revoke(&self) -> bool {
        true
    }

    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential> {
        lifetime.checked()?;
        if write {
            return Err(Error::Unsupported {
                provider: PROVIDER,
                capability: Capability::DockerCredentials,
            });
        }
        let token = self
            .client
            .create_registry_token()
            .org_slug(self.org.as_str())
            .registry_slug(self.registry.as_str())
            .body(regkit_buildkite::types::RegistryTokenRequest {
                description: self.description.clone(),
            })
            .send()
            .await?
            .into_inner();
        let password = token.token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::Unexpected(format!(
                "Buildkite created registry token {} without its secret",
                token.id
            ))
        })?;
        Ok(DockerCredential {
            host: self.host.clone(),
            username: buildkite_username().into(),
            password,
            expires_at: None,
            id: Some(token.id),
        })
    }

    async fn revoke(&self, credential: &DockerCredential) -> Result<()> {
        let id = credential::token_id(credential, "Buildkite")?;
        credential::revoked(
            self.client
                .delete_registry_token()
                .org_slug(self.org.as_str())
                .registry_slug(self.registry.as_str())
                .token_id(id)
                .send()
                .await,
        )
    }
}

/// Buildkite's module: accounts are organizations; [`BuildkiteView`] and
/// [`BuildkiteSource`].
pub(crate) struct Buildkite;

#[async_trait::async_trait]
impl ProviderKit for Buildkite {
    type Client = Client;
    const PROVIDER: regkit_core::Provider = regkit_core::Provider::Buildkite;
    const ORG: Option<&'static str> = Some("ORG_SLUG");

    fn view(a: &Opened<Self>) -> Box<dyn RegistryView> {
        Box::new(
            BuildkiteView::new(a.client.clone(), a.org.clone())
                .registry_host(a.registry_host.clone()),
        )
    }

    fn credentials(
        a: &Opened<Self>,
        registry: &Registry,
        _clock: Arc<dyn Clock>,
    ) -> Option<Box<dyn CredentialSource>> {
        let source = BuildkiteSource::new(a.client.clone(), a.org.clone(), registry.id.clone());
        Some(Box::new(match &a.registry_host {
            Some(host) => source.host(host.clone()),
            None => source,
        }))
    }

    /// The registry given, else the one the key's path names
    /// (`packages.buildkite.com/<org>/<registry>`).
    async fn credential_for_host(
        a: &Opened<Self>,
        key: &str,
        registry: Option<&str>,
        lifetime: Lifetime,
        push: bool,
    ) -> Result<Option<DockerCredential>> {
        let from_path = key.split('/').filter(|p| !p.is_empty()).nth(2);
        let Some(registry) = registry.or(from_path) else {
            return Ok(None);
        };
        BuildkiteSource::new(a.client.clone(), a.org.clone(), registry)
            .host(key)
            .mint(lifetime, push)
            .await
            .map(Some)
    }
}
