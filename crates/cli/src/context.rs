//! Where a command runs: the provider's client (credentials from the
//! environment, a base URL override, or the embedded emulator), its
//! registry view, its credential source, and the registry chosen.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use regkit_core::Provider;
use regkit_core::{ClientBuilder, GeneratedClient};
use regkit_emulator::Emulator;
use regkit_workflows::clock::{Clock, SystemClock};
use regkit_workflows::lease::{
    AbejaSource, BuildkiteSource, CredentialSource, DigitalOceanSource, HumanitecSource,
    IonosSource,
};
use regkit_workflows::view::{
    AbejaView, BuildkiteView, DigitalOceanView, HumanitecView, IonosView, Registry, RegistryView,
};

use crate::fail::{Fail, Result};

/// The user agent product regkit's CLI adds before the crate's own.
pub const USER_AGENT: &str = concat!("regkit-cli/", env!("CARGO_PKG_VERSION"));

/// Where a client's URL and credentials come from.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'a> {
    /// The environment (`from_env()`), with an optional base URL override.
    Env {
        /// Overrides the provider's base URL.
        base_url: Option<&'a str>,
    },
    /// The embedded emulator.
    Emulator(&'a Emulator),
}

/// Builds a provider client for `endpoint`.
pub fn client<C: GeneratedClient>(endpoint: Endpoint<'_>) -> Result<C> {
    let builder = ClientBuilder::<C>::new().user_agent(USER_AGENT);
    let builder = match endpoint {
        Endpoint::Env { base_url } => {
            let b = builder.from_env();
            match base_url {
                Some(url) => b.base_url(url),
                None => b,
            }
        }
        Endpoint::Emulator(emu) => {
            let p = provider_of::<C>()?;
            builder.base_url(emu.url(p)).bearer_token(emu.token(p))
        }
    };
    Ok(builder.build()?)
}

fn provider_of<C: GeneratedClient>() -> Result<Provider> {
    C::PROVIDER
        .name
        .parse()
        .map_err(|_| Fail::error(format!("unknown provider {}", C::PROVIDER.name)))
}

/// One provider's generated client.
#[derive(Clone, Debug)]
pub enum Clients {
    /// DigitalOcean.
    DigitalOcean(regkit_digitalocean::Client),
    /// IONOS.
    Ionos(regkit_ionos::Client),
    /// Humanitec, with the organization.
    Humanitec(regkit_humanitec::Client, String),
    /// Buildkite, with the organization.
    Buildkite(regkit_buildkite::Client, String),
    /// ABEJA.
    Abeja(regkit_abeja::Client),
}

/// A command's surroundings.
pub struct Context {
    /// The provider.
    pub provider: Provider,
    /// Its client.
    pub clients: Clients,
    /// Its registry view.
    pub view: Box<dyn RegistryView>,
    /// `--registry`.
    pub registry: Option<String>,
    /// The clock: the system's, or the emulator's virtual one.
    pub clock: Arc<dyn Clock>,
    /// Whether the embedded emulator answers (`--emulator`).
    pub emulated: bool,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("provider", &self.provider)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// The emulator's virtual clock: waiting advances it.
#[derive(Clone)]
pub struct EmulatorClock(pub regkit_emulator::Clock);

#[async_trait::async_trait]
impl Clock for EmulatorClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    async fn sleep(&self, d: Duration) {
        self.0.advance(d);
        tokio::task::yield_now().await;
    }
}

impl Context {
    /// The context for `provider` at `endpoint`, with `org` where the
    /// provider needs one.
    pub fn new(
        provider: Provider,
        endpoint: Endpoint<'_>,
        org: Option<String>,
        registry: Option<String>,
    ) -> Result<Self> {
        let org = match (org, endpoint) {
            (Some(org), _) => Some(org),
            (None, Endpoint::Emulator(_)) => {
                regkit_emulator::demo_org(provider).map(str::to_string)
            }
            (None, Endpoint::Env { .. }) => None,
        };
        let need_org = || {
            org.clone().ok_or_else(|| {
                Fail::usage(format!(
                    "{provider} needs an organization: pass --org {} (or set REGKIT_ORG)",
                    match provider {
                        Provider::Humanitec => "ORG_ID",
                        Provider::Buildkite => "ORG_SLUG",
                        _ => "ORGANIZATION_ID",
                    }
                ))
            })
        };
        let (clients, view): (Clients, Box<dyn RegistryView>) = match provider {
            Provider::DigitalOcean => {
                let c: regkit_digitalocean::Client = client(endpoint)?;
                (
                    Clients::DigitalOcean(c.clone()),
                    Box::new(DigitalOceanView::new(c)),
                )
            }
            Provider::Ionos => {
                let c: regkit_ionos::Client = client(endpoint)?;
                (Clients::Ionos(c.clone()), Box::new(IonosView::new(c)))
            }
            Provider::Humanitec => {
                let org = need_org()?;
                let c: regkit_humanitec::Client = client(endpoint)?;
                (
                    Clients::Humanitec(c.clone(), org.clone()),
                    Box::new(HumanitecView::new(c, org)),
                )
            }
            Provider::Buildkite => {
                let org = need_org()?;
                let c: regkit_buildkite::Client = client(endpoint)?;
                (
                    Clients::Buildkite(c.clone(), org.clone()),
                    Box::new(BuildkiteView::new(c, org)),
                )
            }
            Provider::Abeja => {
                let org = need_org()?;
                let c: regkit_abeja::Client = client(endpoint)?;
                (Clients::Abeja(c.clone()), Box::new(AbejaView::new(c, org)))
            }
        };
        let clock: Arc<dyn Clock> = match endpoint {
            Endpoint::Emulator(emu) => Arc::new(EmulatorClock(emu.clock().clone())),
            Endpoint::Env { .. } => Arc::new(SystemClock),
        };
        Ok(Context {
            provider,
            clients,
            view,
            registry,
            clock,
            emulated: matches!(endpoint, Endpoint::Emulator(_)),
        })
    }

    /// Fails with "`provider` cannot `capability`" when the view cannot.
    pub fn require(&self, capability: regkit_workflows::Capability) -> Result<()> {
        if self.view.supports(capability) {
            Ok(())
        } else {
            Err(Fail::error(regkit_workflows::Error::Unsupported {
                provider: self.view.provider(),
                capability,
            }))
        }
    }

    /// The registry named by `wanted` (else `--registry`), or the only one;
    /// with several and none named, an error listing them.
    pub async fn pick_registry(&self, wanted: Option<&str>) -> Result<Registry> {
        self.require(regkit_workflows::Capability::ListRegistries)?;
        let registries = self.view.registries().await?;
        choose(
            self.provider,
            registries,
            wanted.or(self.registry.as_deref()),
        )
    }

    /// The credential source for `registry`.
    pub fn source(&self, registry: &Registry) -> Box<dyn CredentialSource> {
        match &self.clients {
            Clients::DigitalOcean(c) => Box::new(
                DigitalOceanSource::new(c.clone())
                    .registry(registry.id.clone())
                    .clock(self.clock.clone()),
            ),
            Clients::Ionos(c) => {
                let source =
                    IonosSource::new(c.clone(), registry.id.clone()).clock(self.clock.clone());
                Box::new(match &registry.host {
                    Some(host) => source.host(host.clone()),
                    None => source,
                })
            }
            Clients::Humanitec(c, org) => Box::new(HumanitecSource::new(
                c.clone(),
                org.clone(),
                registry.id.clone(),
            )),
            Clients::Buildkite(c, org) => Box::new(BuildkiteSource::new(
                c.clone(),
                org.clone(),
                registry.id.clone(),
            )),
            Clients::Abeja(c) => Box::new(AbejaSource::new(c.clone())),
        }
    }
}

/// Picks the registry `wanted` (by id or name) out of `registries`.
pub fn choose(
    provider: Provider,
    registries: Vec<Registry>,
    wanted: Option<&str>,
) -> Result<Registry> {
    let names = |rs: &[Registry]| {
        rs.iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => {
            let known = names(&registries);
            registries
                .into_iter()
                .find(|r| r.id == w || r.name == w)
                .ok_or_else(|| {
                    Fail::error(format!(
                        "{provider} has no registry `{w}` (registries: {})",
                        if known.is_empty() { "none" } else { &known }
                    ))
                })
        }
        None if registries.len() > 1 => Err(Fail::usage(format!(
            "{provider} has several registries ({}); pick one with --registry",
            names(&registries)
        ))),
        None => registries
            .into_iter()
            .next()
            .ok_or_else(|| Fail::error(format!("{provider} has no registry"))),
    }
}
