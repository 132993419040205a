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

use regkit_core::Provider;

use crate::Error;
pub use crate::account::{Account, Connect};
use crate::account::{Opened, ProviderKit};

/// Something done with a provider's module, whichever it is.
pub(crate) trait WithKit {
    /// What it gives.
    type Output;
    /// Does it with provider `P`'s module.
    fn with<P: ProviderKit>(self) -> Self::Output;
}

/// Runs `job` with `provider`'s module: the table of provider modules.
pub(crate) fn with_kit<W: WithKit>(provider: Provider, job: W) -> W::Output {
    match provider {
        Provider::DigitalOcean => job.with::<digitalocean::DigitalOcean>(),
        Provider::Ionos => job.with::<ionos::Ionos>(),
        Provider::Humanitec => job.with::<humanitec::Humanitec>(),
        Provider::Buildkite => job.with::<buildkite::Buildkite>(),
        Provider::Abeja => job.with::<abeja::Abeja>(),
    }
}

/// How a provider's API names the organization its account is scoped to
/// (`--org`'s value), for the providers that have one.
pub fn org_kind(provider: Provider) -> Option<&'static str> {
    struct OrgKind;
    impl WithKit for OrgKind {
        type Output = Option<&'static str>;
        fn with<P: ProviderKit>(self) -> Self::Output {
            P::ORG
        }
    }
    with_kit(provider, OrgKind)
}

/// `provider`'s account, its client built by `connect`, scoped to `org`
/// where the provider's API is (see [`org_kind`]); a missing organization
/// is an [`Error::InvalidInput`] naming it.
pub fn account<K: Connect>(
    provider: Provider,
    org: Option<&str>,
    connect: &K,
) -> std::result::Result<Box<dyn Account>, K::Error> {
    struct Open<'a, K>(Option<&'a str>, &'a K);
    impl<K: Connect> WithKit for Open<'_, K> {
        type Output = std::result::Result<Box<dyn Account>, K::Error>;
        fn with<P: ProviderKit>(self) -> Self::Output {
            let Open(org, connect) = self;
            let org = match (P::ORG, org) {
                (Some(kind), None) => {
                    return Err(Error::InvalidInput(format!(
                        "{} needs an organization ({kind})",
                        P::PROVIDER
                    ))
                    .into());
                }
                (Some(_), Some(org)) => org.to_string(),
                (None, _) => String::new(),
            };
            Ok(Box::new(Opened::<P> {
                client: connect.client()?,
                org,
                registry_host: connect.registry_host(P::PROVIDER),
            }))
        }
    }
    with_kit(provider, Open(org, connect))
}
