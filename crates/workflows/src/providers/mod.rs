//! Each provider in one file: its [`RegistryView`](crate::view::RegistryView)
//! (with the optional interfaces it has), its
//! [`CredentialSource`](crate::credential::CredentialSource) where it mints
//! Docker credentials, and how it is reached as an [`Account`].

mod abeja;
mod buildkite;
mod digitalocean;
mod humanitec;
mod ionos;

pub use abeja::AbejaView;
pub use buildkite::{BuildkiteSource, BuildkiteView, buildkite_host, buildkite_username};
pub use digitalocean::{DigitalOceanSource, DigitalOceanView};
pub use humanitec::{HumanitecSource, HumanitecView};
pub use ionos::{IonosSource, IonosView};

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
/// credential helper) holds a `Box<dyn Account>` from [`account`] and asks
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
    /// name); `None` when the account has no registry there.
    async fn credential_for_host(
        &self,
        key: &str,
        registry: Option<&str>,
        lifetime: Lifetime,
    ) -> Result<Option<DockerCredential>>;
}

/// How a provider's API names the organization its account is scoped to
/// (`--org`'s value), for the providers that have one.
pub fn org_kind(provider: Provider) -> Option<&'static str> {
    match provider {
        Provider::Humanitec => Some("ORG_ID"),
        Provider::Buildkite => Some("ORG_SLUG"),
        Provider::Abeja => Some("ORGANIZATION_ID"),
        Provider::DigitalOcean | Provider::Ionos => None,
    }
}

/// Builds the clients [`account`] opens accounts with (from the
/// environment, a base URL, the emulator…).
pub trait Connect {
    /// Why a client could not be built.
    type Error: From<Error>;

    /// A client of `C`'s provider.
    fn client<C>(&self) -> std::result::Result<C, Self::Error>
    where
        C: GeneratedClient + ClientInfo<Inner> + Clone + Send + Sync + 'static;
}

/// `provider`'s account, its client built by `connect`, scoped to `org`
/// where the provider's API is (see [`org_kind`]); a missing organization
/// is an [`Error::InvalidInput`] naming it.
pub fn account<K: Connect>(
    provider: Provider,
    org: Option<&str>,
    connect: &K,
) -> std::result::Result<Box<dyn Account>, K::Error> {
    let org = || -> Result<String> {
        org.map(str::to_string).ok_or_else(|| {
            Error::InvalidInput(format!(
                "{provider} needs an organization ({})",
                org_kind(provider).unwrap_or("its id")
            ))
        })
    };
    Ok(match provider {
        Provider::DigitalOcean => Box::new(digitalocean::DigitalOceanAccount(connect.client()?)),
        Provider::Ionos => Box::new(ionos::IonosAccount(connect.client()?)),
        Provider::Humanitec => {
            let org = org()?;
            Box::new(humanitec::HumanitecAccount(connect.client()?, org))
        }
        Provider::Buildkite => {
            let org = org()?;
            Box::new(buildkite::BuildkiteAccount(connect.client()?, org))
        }
        Provider::Abeja => {
            let org = org()?;
            Box::new(abeja::AbejaAccount(connect.client()?, org))
        }
    })
}

/// `Error::Unsupported` for minting on `provider`.
fn cannot_mint(provider: Provider) -> Error {
    Error::Unsupported {
        provider: provider.name(),
        capability: Capability::DockerCredentials,
    }
}

/// The host part of a Docker server key (`host/path` → `host`).
fn host_of(key: &str) -> &str {
    key.split('/').next().unwrap_or(key)
}
