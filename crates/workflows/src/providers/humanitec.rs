//! Humanitec registry records.

use std::fmt;
use std::sync::Arc;

use futures::stream::TryStreamExt;
use regkit_humanitec::Client;

use crate::account::{Opened, ProviderKit};
use crate::clock::Clock;
use crate::credential::{CredentialSource, DockerCredential, Lifetime};
use crate::view::{Registry, RegistryView};
use crate::{Error, Result};

const PROVIDER: &str = regkit_humanitec::PROVIDER.name;

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
}

/// Humanitec: the current login of a registry record
/// (`get_registry_credentials`). Humanitec chooses the expiry (the TTL is
/// checked, then not sent) and cannot revoke; a record of type `public` or `secret_ref`
/// hands out no login, which is an [`Error::Unexpected`].
#[derive(Clone)]
pub struct HumanitecSource {
    client: regkit_humanitec::Client,
    org_id: String,
    registry_id: String,
}

impl HumanitecSource {
    /// The login of registry record `registry_id` of organization `org_id`.
    pub fn new(
        client: regkit_humanitec::Client,
        org_id: impl Into<String>,
        registry_id: impl Into<String>,
    ) -> Self {
        Self {
            client,
            org_id: org_id.into(),
            registry_id: registry_id.into(),
        }
    }
}

impl fmt::Debug for HumanitecSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HumanitecSource")
            .field("org_id", &self.org_id)
            .field("registry_id", &self.registry_id)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialSource for HumanitecSource {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn mint(&self, lifetime: Lifetime, _write: bool) -> Result<DockerCredential> {
        lifetime.checked()?;
        let creds = self
            .client
            .get_registry_credentials()
            .org_id(self.org_id.as_str())
            .reg_id(self.registry_id.as_str())
            .send()
            .await?
            .into_inner();
        let no_login = || {
            Error::Unexpected(format!(
                "Humanitec registry record {} hands out no login (a public or secret_ref record?)",
                self.registry_id
            ))
        };
        let username = creds
            .username
            .filter(|u| !u.is_empty())
            .ok_or_else(no_login)?;
        let password = creds
            .password
            .filter(|p| !p.is_empty())
            .ok_or_else(no_login)?;
        if creds.registry.is_empty() {
            return Err(Error::Unexpected(format!(
                "Humanitec registry record {} has no registry host",
                self.registry_id
            )));
        }
        Ok(DockerCredential {
            host: creds.registry,
            username,
            password,
            expires_at: creds.expires,
            id: None,
        })
    }
}

/// Humanitec's module: accounts are organizations; [`HumanitecView`] and
/// [`HumanitecSource`].
pub(crate) struct Humanitec;

#[async_trait::async_trait]
impl ProviderKit for Humanitec {
    type Client = Client;
    const PROVIDER: regkit_core::Provider = regkit_core::Provider::Humanitec;
    const ORG: Option<&'static str> = Some("ORG_ID");

    fn view(a: &Opened<Self>) -> Box<dyn RegistryView> {
        Box::new(HumanitecView::new(a.client.clone(), a.org.clone()))
    }

    fn credentials(
        a: &Opened<Self>,
        registry: &Registry,
        _clock: Arc<dyn Clock>,
    ) -> Option<Box<dyn CredentialSource>> {
        Some(Box::new(HumanitecSource::new(
            a.client.clone(),
            a.org.clone(),
            registry.id.clone(),
        )))
    }

    /// Records name other providers' hosts: the record given, else the
    /// one whose `registry` is the key (or its host).
    async fn credential_for_host(
        a: &Opened<Self>,
        key: &str,
        registry: Option<&str>,
        lifetime: Lifetime,
        push: bool,
    ) -> Result<Option<DockerCredential>> {
        let record = match registry {
            Some(id) => id.to_string(),
            None => {
                let wanted =
                    |r: &Registry| r.host.as_deref().is_some_and(|h| record_serves(h, key));
                let records = HumanitecView::new(a.client.clone(), a.org.clone())
                    .registries()
                    .await?;
                let Some(record) = records.into_iter().find(wanted) else {
                    return Ok(None);
                };
                record.id
            }
        };
        HumanitecSource::new(a.client.clone(), a.org.clone(), record)
            .mint(lifetime, push)
            .await
            .map(Some)
    }
}

/// Whether a record whose `registry` is `record` (a host, maybe with a
/// scheme, a path or a trailing `/`, as stored) is for the Docker server
/// `key` (no scheme, lower case): the whole value, or its host.
fn record_serves(record: &str, key: &str) -> bool {
    let record = record.trim().to_ascii_lowercase();
    let record = record
        .strip_prefix("https://")
        .or_else(|| record.strip_prefix("http://"))
        .unwrap_or(&record)
        .trim_end_matches('/');
    record == key || record == crate::account::host_of(key)
}

#[cfg(test)]
mod tests {
    use super::record_serves;

    #[test]
    fn a_record_serves_its_host_with_or_without_scheme_path_or_slash() {
        let ecr = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
        for stored in [
            ecr.to_string(),
            format!("https://{ecr}/"),
            format!("HTTP://{}", ecr.to_uppercase()),
        ] {
            assert!(record_serves(&stored, ecr), "{stored}");
        }
        assert!(record_serves("ghcr.io/acme", "ghcr.io/acme"));
        assert!(record_serves("ghcr.io", "ghcr.io/acme"), "the key's host");
        assert!(!record_serves("ghcr.io/other", "ghcr.io/acme"));
        assert!(!record_serves("evil.example", ecr));
    }
}
