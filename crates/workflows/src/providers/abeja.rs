//! ABEJA Platform registry repositories and their tags.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use regkit_abeja::{Client, types};

use crate::account::{Opened, ProviderKit};
use crate::clock::Clock;
use crate::credential::{CredentialSource, DockerCredential, Lifetime};
use crate::view::{Image, ListContents, Registry, RegistryView, Repository};
use crate::{Error, Result};

const PROVIDER: &str = regkit_abeja::PROVIDER.name;

/// [`RegistryView`] over an ABEJA client, for one organization.
///
/// ABEJA keeps one registry per organization, so [`RegistryView::registries`]
/// returns one pseudo-registry whose `id` is the organization id and whose
/// `name` is the organization's name. Repositories are listed by name; a
/// repository is addressed in the API by its id, so [`RegistryView::images`]
/// looks the name up in the repository listing first (an id is accepted as
/// well). Every image is a tag with its digest, size and update time; ABEJA
/// does not list untagged manifests.
///
/// Not supported, as the ABEJA API has no such operation: deleting a tag or
/// a manifest (only a whole repository), and garbage collection.
#[derive(Clone, Debug)]
pub struct AbejaView {
    client: Client,
    organization_id: String,
    limit: i32,
}

impl AbejaView {
    /// A view of organization `organization_id` over `client`, reading 100
    /// items a page.
    pub fn new(client: Client, organization_id: impl Into<String>) -> Self {
        AbejaView {
            client,
            organization_id: organization_id.into(),
            limit: 100,
        }
    }

    /// Reads `limit` items a page (at least 1).
    pub fn per_page(mut self, limit: u32) -> Self {
        self.limit = i32::try_from(limit).unwrap_or(i32::MAX).max(1);
        self
    }

    /// The client this view calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The organization this view shows.
    pub fn organization_id(&self) -> &str {
        &self.organization_id
    }

    fn all_repositories(&self) -> BoxStream<'_, Result<types::Repository>> {
        self.client
            .list_repositories()
            .organization_id(self.organization_id.as_str())
            .limit(self.limit)
            .stream()
            .map_err(Error::from)
            .boxed()
    }

    /// The id of the repository named (or with the id) `repository`.
    async fn repository_id(&self, repository: &str) -> Result<String> {
        let mut all = self.all_repositories();
        let mut by_id = None;
        while let Some(repo) = all.try_next().await? {
            if repo.name == repository {
                return Ok(repo.id);
            }
            if repo.id == repository {
                by_id = Some(repo.id);
            }
        }
        by_id.ok_or_else(|| {
            Error::Unexpected(format!(
                "ABEJA organization {} has no repository {repository:?}",
                self.organization_id
            ))
        })
    }
}

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[async_trait::async_trait]
impl RegistryView for AbejaView {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    /// The organization, as the one registry (its name from the first
    /// repository page).
    async fn registries(&self) -> Result<Vec<Registry>> {
        let page = self
            .client
            .list_repositories()
            .organization_id(self.organization_id.as_str())
            .limit(1)
            .send()
            .await?
            .into_inner();
        Ok(vec![Registry {
            id: self.organization_id.clone(),
            name: page.organization_name,
            host: None,
            storage_bytes: None,
        }])
    }

    fn contents(&self) -> Option<&dyn ListContents> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl ListContents for AbejaView {
    fn repositories<'a>(&'a self, _registry: &'a Registry) -> BoxStream<'a, Result<Repository>> {
        self.all_repositories()
            .map_ok(|repo| Repository {
                name: repo.name,
                // The listing carries no tags.
                tag_count: None,
                updated_at: time(&repo.updated_at),
            })
            .boxed()
    }

    fn images<'a>(
        &'a self,
        _registry: &'a Registry,
        repository: &'a str,
    ) -> BoxStream<'a, Result<Image>> {
        stream::once(self.repository_id(repository))
            .map_ok(move |id| {
                self.client
                    .list_repository_tags()
                    .organization_id(self.organization_id.as_str())
                    .repository_id(id)
                    .limit(self.limit)
                    .stream()
                    .map(move |item| {
                        let tag = item?;
                        Ok(Image {
                            repository: repository.to_string(),
                            tag: Some(tag.name),
                            digest: tag.digest,
                            size_bytes: u64::try_from(tag.size).ok(),
                            updated_at: time(&tag.updated_at),
                        })
                    })
            })
            .try_flatten()
            .boxed()
    }
}

/// ABEJA's module: accounts are organizations; [`AbejaView`]; its API mints no registry
/// credentials, so it has no credential source.
pub(crate) struct Abeja;

#[async_trait::async_trait]
impl ProviderKit for Abeja {
    type Client = Client;
    const PROVIDER: regkit_core::Provider = regkit_core::Provider::Abeja;
    const ORG: Option<&'static str> = Some("ORGANIZATION_ID");

    fn view(a: &Opened<Self>) -> Box<dyn RegistryView> {
        Box::new(AbejaView::new(a.client.clone(), a.org.clone()))
    }

    fn credentials(
        _: &Opened<Self>,
        _: &Registry,
        _: Arc<dyn Clock>,
    ) -> Option<Box<dyn CredentialSource>> {
        None
    }

    async fn credential_for_host(
        _: &Opened<Self>,
        _: &str,
        _: Option<&str>,
        _: Lifetime,
        _: bool,
    ) -> Result<Option<DockerCredential>> {
        Err(crate::account::cannot_mint(Self::PROVIDER))
    }
}
