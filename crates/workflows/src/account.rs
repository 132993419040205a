//! What an account of any provider is to code over every provider:
//! [`Account`] (a provider's client and organization, its view, its
//! credential sources), built from the [`ProviderKit`] each provider's
//! module implements, and [`Connect`], which builds the clients. The
//! table that picks a provider's module is [`crate::providers`].

use std::fmt;
use std::sync::Arc;

use regkit_core::runtime::ClientInfo;
use regkit_core::{GeneratedClient, Inner, Provider};

use crate::clock::Clock;
use crate::credential::{CredentialSource, DockerCredential, Lifetime};
use crate::view::{Registry, RegistryView};
use crate::{Capability, Error, Result};

/// One provider's account as the workflows reach it: its client (and
/// organization, where the API is scoped by one), its view, and where its
/// Docker credentials come from. Code over every provider (the CLI, the
/// credential helper) holds a `Box<dyn Account>` from [`crate::providers::account`] and asks
/// it, instead of matching on the provider.
#[async_trait::async_trait]
pub trait Account: Send + Sync + fmt::Debug {
    /// The provider.
    fn provider(&self) -> Provider;

    /// The organization the account is scoped to, where the API has one.
    fn org(&self) -> Option<&str> {
        None
    }

    /// The base URL its client talks to.
    fn base_url(&self) -> &str;

    /// Its registry view.
    fn view(&self) -> Box<dyn RegistryView>;

    /// The credential source for `registry`, waiting on `clock`; `None`
    /// where the provider mints no Docker credentials (ABEJA).
    fn credentials(
        &self,
        registry: &Registry,
        clock: Arc<dyn Clock>,
    ) -> Option<Box<dyn CredentialSource>>;

    /// A credential for the registry host `key` as Docker names it (a host,
    /// with a path where the provider's hosts have one), for the registry
    /// `registry` where it is known (else the one the host and account
    /// name); `None` when the account has no registry there. `push` asks
    /// for one that pushes as well as pulls.
    async fn credential_for_host(
        &self,
        key: &str,
        registry: Option<&str>,
        lifetime: Lifetime,
        push: bool,
    ) -> Result<Option<DockerCredential>>;
}

/// What each provider's module implements once: its client, whether its
/// accounts are scoped to an organization, and what its account does.
/// [`Account`] follows for every provider from this ([`Opened`]), and
/// [`crate::providers`] is the one place a provider picks its module.
#[async_trait::async_trait]
pub(crate) trait ProviderKit: Sized + Send + Sync + 'static {
    /// The provider's generated client.
    type Client: GeneratedClient + ClientInfo<Inner> + Clone + Send + Sync + fmt::Debug + 'static;
    /// The provider.
    const PROVIDER: Provider;
    /// How its API names the organization its accounts are scoped to,
    /// where it has one (`--org`'s value).
    const ORG: Option<&'static str> = None;

    /// The account's view.
    fn view(account: &Opened<Self>) -> Box<dyn RegistryView>;

    /// See [`Account::credentials`].
    fn credentials(
        account: &Opened<Self>,
        registry: &Registry,
        clock: Arc<dyn Clock>,
    ) -> Option<Box<dyn CredentialSource>>;

    /// See [`Account::credential_for_host`].
    async fn credential_for_host(
        account: &Opened<Self>,
        key: &str,
        registry: Option<&str>,
        lifetime: Lifetime,
        push: bool,
    ) -> Result<Option<DockerCredential>>;
}

/// An opened account of provider `P`: its client, and its organization
/// (empty where the provider has none).
pub(crate) struct Opened<P: ProviderKit> {
    pub(crate) client: P::Client,
    pub(crate) org: String,
    /// The shared registry host, where not the documented one
    /// ([`Connect::registry_host`]).
    pub(crate) registry_host: Option<String>,
}

impl<P: ProviderKit> fmt::Debug for Opened<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("provider", &P::PROVIDER)
            .field("org", &self.org)
            .field("client", &self.client)
            .finish()
    }
}

#[async_trait::async_trait]
impl<P: ProviderKit> Account for Opened<P> {
    fn provider(&self) -> Provider {
        P::PROVIDER
    }

    fn org(&self) -> Option<&str> {
        P::ORG.map(|_| self.org.as_str())
    }

    fn base_url(&self) -> &str {
        self.client.baseurl()
    }

    fn view(&self) -> Box<dyn RegistryView> {
        P::view(self)
    }

    fn credentials(
        &self,
        registry: &Registry,
        clock: Arc<dyn Clock>,
    ) -> Option<Box<dyn CredentialSource>> {
        P::credentials(self, registry, clock)
    }

    async fn credential_for_host(
        &self,
        key: &str,
        registry: Option<&str>,
        lifetime: Lifetime,
        push: bool,
    ) -> Result<Option<DockerCredential>> {
        P::credential_for_host(self, key, registry, lifetime, push).await
    }
}

/// Builds the clients [`crate::providers::account`] opens accounts with (from the
/// environment, a base URL, the emulator…).
pub trait Connect {
    /// Why a client could not be built.
    type Error: From<Error>;

    /// A client of `C`'s provider.
    fn client<C>(&self) -> std::result::Result<C, Self::Error>
    where
        C: GeneratedClient + ClientInfo<Inner> + Clone + Send + Sync + 'static;

    /// The registry host `provider`'s registries are served on, where it
    /// is not the one the provider documents (an emulator's, a mirror's);
    /// `None` keeps the documented host. Only providers whose registries
    /// share one host (DigitalOcean, Buildkite) read it: the others' APIs
    /// name each registry's host.
    fn registry_host(&self, provider: Provider) -> Option<String> {
        let _ = provider;
        None
    }
}

/// `Error::Unsupported` for minting on `provider`.
pub(crate) fn cannot_mint(provider: Provider) -> Error {
    Error::Unsupported {
        provider: provider.name(),
        capability: Capability::DockerCredentials,
    }
}

/// The host part of a Docker server key (`host/path` → `host`).
pub(crate) fn host_of(key: &str) -> &str {
    key.split('/').next().unwrap_or(key)
}
