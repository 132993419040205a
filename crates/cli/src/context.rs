//! Where a command runs: the provider's client (credentials from the
//! environment, a base URL override, or the embedded emulator), its
//! registry view, its credential source, and the registry chosen.

use std::sync::Arc;

use regkit_core::Provider;
use regkit_core::{ClientBuilder, GeneratedClient};
#[cfg(feature = "emulator")]
use regkit_emulator::Emulator;
use regkit_workflows::clock::{Clock, SystemClock};
use regkit_workflows::graph::GraphSession;
use regkit_workflows::lease::CredentialSource;
use regkit_workflows::providers::{self, Account};
use regkit_workflows::view::{Registry, RegistryView};

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
    #[cfg(feature = "emulator")]
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
        #[cfg(feature = "emulator")]
        Endpoint::Emulator(emu) => {
            let p = provider_of::<C>()?;
            builder.base_url(emu.url(p)).bearer_token(emu.token(p))
        }
    };
    Ok(builder.build()?)
}

impl Endpoint<'_> {
    /// Whether the embedded emulator answers.
    pub fn is_emulator(&self) -> bool {
        match self {
            Endpoint::Env { .. } => false,
            #[cfg(feature = "emulator")]
            Endpoint::Emulator(_) => true,
        }
    }
}

#[cfg(feature = "emulator")]
fn provider_of<C: GeneratedClient>() -> Result<Provider> {
    C::PROVIDER
        .name
        .parse()
        .map_err(|_| Fail::error(format!("unknown provider {}", C::PROVIDER.name)))
}

/// A command's surroundings.
pub struct Context {
    /// The provider.
    pub provider: Provider,
    /// Its account: client, organization, credential sources.
    pub account: Box<dyn Account>,
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
            #[cfg(feature = "emulator")]
            (None, Endpoint::Emulator(_)) => {
                regkit_emulator::demo_org(provider).map(str::to_string)
            }
            (None, Endpoint::Env { .. }) => None,
        };
        if org.is_none()
            && let Some(kind) = providers::org_kind(provider)
        {
            return Err(Fail::usage(format!(
                "{provider} needs an organization: pass --org {kind} (or set REGKIT_ORG)"
            )));
        }
        let account = providers::account(provider, org.as_deref(), &endpoint)?;
        let view = account.view();
        let clock: Arc<dyn Clock> = match endpoint {
            #[cfg(feature = "emulator")]
            Endpoint::Emulator(emu) => Arc::new(emu.clock().clone()),
            Endpoint::Env { .. } => Arc::new(SystemClock),
        };
        Ok(Context {
            provider,
            account,
            view,
            registry,
            clock,
            emulated: endpoint.is_emulator(),
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

    /// A session on `registry`'s data plane (the image graph), logged in
    /// with a pull credential minted for it; `None` where the provider
    /// has no data plane, and under `--emulator`, whose registries are
    /// not served (its content has no bytes). Close it when done: it
    /// revokes what it minted.
    pub async fn graph(&self, registry: &Registry) -> Result<Option<GraphSession>> {
        if self.emulated {
            return Ok(None);
        }
        let source = self.account.credentials(registry, self.clock.clone());
        Ok(GraphSession::open(self.view.as_ref(), registry, source).await?)
    }

    /// The credential source for `registry`; a provider that mints none
    /// says so (`abeja cannot mint Docker credentials`).
    pub fn source(&self, registry: &Registry) -> Result<Box<dyn CredentialSource>> {
        self.account
            .credentials(registry, self.clock.clone())
            .ok_or_else(|| {
                Fail::from(regkit_workflows::Error::Unsupported {
                    provider: self.provider.name(),
                    capability: regkit_workflows::Capability::DockerCredentials,
                })
            })
    }
}

impl providers::Connect for Endpoint<'_> {
    type Error = Fail;

    fn client<C>(&self) -> Result<C>
    where
        C: GeneratedClient
            + regkit_core::runtime::ClientInfo<regkit_core::Inner>
            + Clone
            + Send
            + Sync
            + 'static,
    {
        client(*self)
    }

    fn registry_host(&self, provider: Provider) -> Option<String> {
        match self {
            Endpoint::Env { .. } => registry_host_env(provider),
            #[cfg(feature = "emulator")]
            Endpoint::Emulator(emu) => emu.registry_host(provider),
        }
    }
}

/// `REGKIT_<PROVIDER>_REGISTRY_HOST`: the host `provider`'s registries are
/// served on when it is not the documented one (an emulator's, say), for
/// the providers whose registries share one host.
pub fn registry_host_env(provider: Provider) -> Option<String> {
    let name = format!(
        "REGKIT_{}_REGISTRY_HOST",
        provider.name().to_ascii_uppercase()
    );
    std::env::var(name)
        .ok()
        .map(|h| h.trim().trim_end_matches('/').to_string())
        .filter(|h| !h.is_empty())
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

/// Ends a graph session after `result`: what it minted is revoked
/// whether the run succeeded or not, and a failed revoke is reported.
pub async fn close_graph(session: Option<GraphSession>, result: Result<()>) -> Result<()> {
    let Some(session) = session else {
        return result;
    };
    let revoked = session.close().await;
    match (result, revoked) {
        (Ok(()), Err(e)) => Err(Fail::error(format!(
            "the pull credential minted to read the image graph could not be revoked: {e}"
        ))),
        (Err(f), Err(e)) => {
            crate::output::note(&format!(
                "warning: the pull credential minted to read the image graph could not be revoked: {e}"
            ));
            Err(f)
        }
        (result, Ok(())) => result,
    }
}
