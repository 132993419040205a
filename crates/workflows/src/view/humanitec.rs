//! Humanitec registry records.

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use regkit_humanitec::Client;

use super::{GcKind, GcStatus, Image, Registry, RegistryView, Repository, unsupported};
use crate::{Capability, Error, Result};

const PROVIDER: &str = "humanitec";

/// [`RegistryView`] over a Humanitec client, for one organization.
///
/// Humanitec holds records of registries hosted elsewhere (where to pull
/// from, and the login to use), not their content. So the view lists the
/// organization's registry records — `id` and `name` are the record's id,
/// `host` its `registry` value as stored (a host, optionally with a path
/// such as `host/project`) — and everything about content (repositories,
/// images, deletion, garbage collection) is unsupported: ask the registry's
/// own provider.
#[derive(Clone, Debug)]
pub struct HumanitecView {
    client: Client,
    org_id: String,
}

impl HumanitecView {
    /// A view of organization `org_id` over `client`.
    pub fn new(client: Client, org_id: impl Into<String>) -> Self {
        HumanitecView {
            client,
            org_id: org_id.into(),
        }
    }

    /// The client this view calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The organization this view shows.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }
}

#[async_trait::async_trait]
impl RegistryView for HumanitecView {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn supports(&self, capability: Capability) -> bool {
        capability == Capability::ListRegistries
    }

    async fn registries(&self) -> Result<Vec<Registry>> {
        self.client
            .list_registries()
            .org_id(self.org_id.as_str())
            .stream()
            .map_err(Error::from)
            .map_ok(|r| Registry {
                name: r.id.clone(),
                id: r.id,
                host: Some(r.registry),
                storage_bytes: None,
            })
            .try_collect()
            .await
    }

    fn repositories<'a>(&'a self, _: &'a Registry) -> BoxStream<'a, Result<Repository>> {
        futures::stream::once(std::future::ready(unsupported(
            PROVIDER,
            Capability::ListRepositories,
        )))
        .boxed()
    }

    fn images<'a>(&'a self, _: &'a Registry, _: &'a str) -> BoxStream<'a, Result<Image>> {
        futures::stream::once(std::future::ready(unsupported(
            PROVIDER,
            Capability::ListImages,
        )))
        .boxed()
    }

    async fn delete_tag(&self, _: &Registry, _: &str, _: &str) -> Result<()> {
        unsupported(PROVIDER, Capability::DeleteTag)
    }

    async fn delete_manifest(&self, _: &Registry, _: &str, _: &str) -> Result<()> {
        unsupported(PROVIDER, Capability::DeleteManifest)
    }

    async fn start_gc(&self, _: &Registry, _: GcKind) -> Result<GcStatus> {
        unsupported(PROVIDER, Capability::GarbageCollection)
    }

    async fn gc_status(&self, _: &Registry, _: &str) -> Result<Option<GcStatus>> {
        unsupported(PROVIDER, Capability::GarbageCollection)
    }
}
