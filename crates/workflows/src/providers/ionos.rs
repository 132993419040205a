//! IONOS Container Registry: registries, repositories and artifacts.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, SubsecRound as _, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use regkit_ionos::{Client, types};

use crate::account::{Opened, ProviderKit};
use crate::clock::{Clock, SystemClock};
use crate::credential::{self, CredentialSource, DockerCredential, Lifetime, expiry_after};
use crate::view::{DataPlaneName, Image, ListContents, Registry, RegistryView, Repository};
use crate::{Error, Result};

const PROVIDER: &str = regkit_ionos::PROVIDER.name;
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

    /// Each registry is its own host (its `hostname`); repositories keep
    /// their names there.
    fn data_plane(&self, registry: &Registry, repository: &str) -> Option<DataPlaneName> {
        Some(DataPlaneName {
            host: registry.host.clone()?,
            name: repository.to_string(),
        })
    }

    fn contents(&self) -> Option<&dyn ListContents> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl ListContents for IonosView {
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
}

/// Process-wide counter that keeps token names unique within a second.
static TOKEN_SEQ: AtomicU64 = AtomicU64::new(0);

/// IONOS: a token on the registry (`registriesTokensPost`) scoped to
/// repositories matching a pattern (`*` by default) with `pull` (and `push`
/// when `write`), expiring after the TTL (no expiry date for
/// [`Lifetime::NeverExpires`]). The user name is the token's,
/// the password comes from the create answer only (IONOS never shows it
/// again), the host is the registry's hostname. Revoking deletes the token
/// (`registriesTokensDelete`).
#[derive(Clone)]
pub struct IonosSource {
    client: regkit_ionos::Client,
    registry_id: String,
    host: Option<String>,
    name_prefix: String,
    scope: String,
    clock: Arc<dyn Clock>,
}

impl IonosSource {
    /// Tokens on the registry with id `registry_id`.
    pub fn new(client: regkit_ionos::Client, registry_id: impl Into<String>) -> Self {
        Self {
            client,
            registry_id: registry_id.into(),
            host: None,
            name_prefix: "regkit".into(),
            scope: "*".into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The host to log in to, instead of asking for the registry's hostname
    /// at each mint.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// How token names start (`regkit` by default); the rest is the time
    /// and a sequence number. Must start with a letter and hold only
    /// letters, digits and `-`.
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = prefix.into();
        self
    }

    /// The repositories the token may reach (a name or glob, `*` by
    /// default).
    pub fn scope(mut self, pattern: impl Into<String>) -> Self {
        self.scope = pattern.into();
        self
    }

    /// The clock that dates the tokens' expiry (the system clock by
    /// default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    async fn hostname(&self) -> Result<String> {
        if let Some(host) = &self.host {
            return Ok(host.clone());
        }
        let registry = self
            .client
            .registries_find_by_id()
            .registry_id(self.registry_id.as_str())
            .send()
            .await?
            .into_inner();
        registry
            .properties
            .and_then(|p| p.hostname)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                Error::Unexpected(format!(
                    "IONOS registry {} has no hostname yet (still provisioning?)",
                    self.registry_id
                ))
            })
    }

    fn token_name(
        &self,
        now: DateTime<Utc>,
    ) -> Result<regkit_ionos::types::PostTokenPropertiesName> {
        let seq = TOKEN_SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}-{}-{}-{seq}",
            self.name_prefix,
            now.format("%Y%m%d%H%M%S"),
            std::process::id()
        );
        name.parse().map_err(|_| {
            Error::InvalidInput(format!(
                "IONOS token name {name:?} is not valid (a letter, then up to 62 letters, digits or `-`); choose another prefix"
            ))
        })
    }
}

impl fmt::Debug for IonosSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IonosSource")
            .field("registry_id", &self.registry_id)
            .field("host", &self.host)
            .field("name_prefix", &self.name_prefix)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialSource for IonosSource {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn supports_revoke(&self) -> bool {
        true
    }

    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential> {
        use regkit_ionos::types;
        lifetime.checked()?;
        let host = self.hostname().await?;
        let now = self.clock.now();
        // IONOS dates expiry to the second; round down so ours is not later.
        let expiry = expiry_after(now, lifetime)?.map(|t| t.trunc_subsecs(0));
        let mut actions = vec!["pull".to_string()];
        if write {
            actions.push("push".into());
        }
        let body = types::PostTokenInput {
            properties: types::PostTokenProperties {
                expiry_date: expiry,
                name: self.token_name(now)?,
                scopes: Some(vec![types::Scope {
                    actions: Some(actions),
                    name: self.scope.clone(),
                    type_: "repository".into(),
                }]),
                status: None,
            },
        };
        let token = self
            .client
            .registries_tokens_post()
            .registry_id(self.registry_id.as_str())
            .body(body)
            .send()
            .await?
            .into_inner();
        let id = token
            .id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::Unexpected("IONOS created a token without an id".into()))?;
        let properties = token.properties.ok_or_else(|| {
            Error::Unexpected(format!("IONOS token {id} was created without properties"))
        })?;
        let credentials = properties
            .credentials
            .filter(|c| !c.password.is_empty() && !c.username.is_empty())
            .ok_or_else(|| {
                Error::Unexpected(format!(
                    "IONOS token {id} was created without its user name and password"
                ))
            })?;
        Ok(DockerCredential {
            host,
            username: credentials.username,
            password: credentials.password,
            expires_at: properties.expiry_date.or(expiry),
            id: Some(id),
        })
    }

    fn narrow_to_repository(&mut self, repository: &str) -> bool {
        self.scope = repository.to_string();
        true
    }

    async fn revoke(&self, credential: &DockerCredential) -> Result<()> {
        let id = credential::token_id(credential, "IONOS")?;
        credential::revoked(
            self.client
                .registries_tokens_delete()
                .registry_id(self.registry_id.as_str())
                .token_id(id)
                .send()
                .await,
        )
    }
}

/// IONOS's module: [`IonosView`] and [`IonosSource`].
pub(crate) struct Ionos;

#[async_trait::async_trait]
impl ProviderKit for Ionos {
    type Client = Client;
    const PROVIDER: regkit_core::Provider = regkit_core::Provider::Ionos;

    fn view(a: &Opened<Self>) -> Box<dyn RegistryView> {
        Box::new(IonosView::new(a.client.clone()))
    }

    fn credentials(
        a: &Opened<Self>,
        registry: &Registry,
        clock: Arc<dyn Clock>,
    ) -> Option<Box<dyn CredentialSource>> {
        let source = IonosSource::new(a.client.clone(), registry.id.clone()).clock(clock);
        Some(Box::new(match &registry.host {
            Some(host) => source.host(host.clone()),
            None => source,
        }))
    }

    /// Each registry is its own host: the registry with the id given,
    /// else the one whose host name is the key's host.
    async fn credential_for_host(
        a: &Opened<Self>,
        key: &str,
        registry: Option<&str>,
        lifetime: Lifetime,
        push: bool,
    ) -> Result<Option<DockerCredential>> {
        let host = crate::account::host_of(key);
        let id = match registry {
            Some(id) => id.to_string(),
            None => {
                let registries = IonosView::new(a.client.clone()).registries().await?;
                let Some(registry) = registries.into_iter().find(|r| {
                    r.host
                        .as_deref()
                        .is_some_and(|h| h.eq_ignore_ascii_case(host))
                }) else {
                    return Ok(None);
                };
                registry.id
            }
        };
        IonosSource::new(a.client.clone(), id)
            .host(host)
            .mint(lifetime, push)
            .await
            .map(Some)
    }
}
