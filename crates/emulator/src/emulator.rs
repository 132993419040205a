//! The handle a test or the binary holds: start, address, clients, clock,
//! faults, seeding and snapshots.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use regkit_core::SecretString;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::auth::{Auth, ProviderCredentials};
use crate::clock::{Clock, ClockMode};
use crate::faults::FaultRule;
use crate::provider::Provider;
use crate::providers::{self, APIS};
use crate::server;
use crate::shared::Shared;
use crate::world::{Snapshot, World};

/// How to start an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    host: IpAddr,
    port: u16,
    seed: u64,
    clock: ClockMode,
    start: Option<DateTime<Utc>>,
    state: Option<Snapshot>,
    demo: bool,
    tokens: Vec<(Provider, SecretString)>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            seed: 0,
            clock: ClockMode::Running,
            start: None,
            state: None,
            demo: false,
            tokens: Vec::new(),
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (loopback unless you say otherwise).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The seed of every random choice: tokens, ids, digests, secrets and
    /// fault chances. The same seed and the same requests give the same
    /// answers.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether real time passes between [`Emulator::advance`] calls
    /// ([`ClockMode::Running`], the default) or stands still.
    pub fn clock(mut self, mode: ClockMode) -> Self {
        self.clock = mode;
        self
    }

    /// The virtual clock's starting time (default: now, or the snapshot's
    /// time).
    pub fn start_time(mut self, at: DateTime<Utc>) -> Self {
        self.start = Some(at);
        self
    }

    /// Starts from this world (a state file's contents).
    pub fn snapshot(mut self, snapshot: Snapshot) -> Self {
        self.state = Some(snapshot);
        self
    }

    /// Seeds demo content in every provider (registries, repositories and
    /// tags), as the binary's `--demo` does.
    pub fn demo(mut self, demo: bool) -> Self {
        self.demo = demo;
        self
    }

    /// Accepts this bearer token for `provider` instead of the one drawn
    /// from the seed.
    pub fn token(mut self, provider: Provider, token: impl Into<SecretString>) -> Self {
        self.tokens.push((provider, token.into()));
        self
    }

    /// Binds the port and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(SocketAddr::new(self.host, self.port)).await?;
        let addr = listener.local_addr()?;
        let (now, mut world) = match self.state {
            Some(s) => (s.now, s.world),
            None => (Utc::now(), World::default()),
        };
        let now = self.start.unwrap_or(now);
        let clock = Clock::new(now, self.clock);
        let mut auth = Auth::from_seed(self.seed, APIS.iter().map(|a| (a.provider, a.info)));
        for (p, token) in self.tokens {
            auth.set_token(p, token);
        }
        if self.demo {
            let mut ids = crate::content::ContentGen::new(self.seed ^ 0x64656d6f);
            for api in APIS {
                (api.demo)(&mut world, &mut ids, now);
            }
        }
        let shared = Shared::new(world, clock.clone(), self.seed, auth);
        let app = server::router(shared.clone());
        let task = tokio::spawn(server::serve(listener, app));
        Ok(Emulator {
            addr,
            shared,
            clock,
            task,
        })
    }
}

/// A running emulator of all five providers' registry APIs, on one port.
/// Dropping it stops accepting connections.
///
/// ```
/// # async fn demo() -> std::io::Result<()> {
/// use regkit_emulator::{Emulator, Provider};
///
/// let emu = Emulator::start().await?;
/// let client = emu.digitalocean(); // base URL and token already set
/// assert!(emu.url(Provider::DigitalOcean).starts_with("http://127.0.0.1:"));
/// # drop(client);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Shared,
    clock: Clock,
    task: JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Emulator {
    /// Starts an empty emulator on a free loopback port.
    pub async fn start() -> std::io::Result<Emulator> {
        Self::builder().start().await
    }

    /// Options: port, seed, clock, starting state, demo content.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of `provider`'s API (`http://127.0.0.1:PORT/<provider>`),
    /// for a client's `base_url`.
    pub fn url(&self, provider: Provider) -> String {
        format!("http://{}/{}", self.addr, provider.name())
    }

    /// The credentials it accepts for `provider`.
    pub fn credentials(&self, provider: Provider) -> ProviderCredentials {
        self.shared.auth().credentials(provider).clone()
    }

    /// The bearer token it accepts for `provider`.
    pub fn token(&self, provider: Provider) -> SecretString {
        self.credentials(provider).token
    }

    /// The virtual clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The emulator's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the virtual clock forward: credentials expire, garbage
    /// collections move through their phases.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Adds a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.faults().add(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// The fault rules in force (spent ones are gone).
    pub fn faults(&self) -> Vec<FaultRule> {
        self.shared.faults().rules().to_vec()
    }

    /// Reads or changes the world directly: seeding content, or checking
    /// what a test did.
    pub fn seed<R>(
        &self,
        f: impl FnOnce(&mut World, &mut crate::content::ContentGen, DateTime<Utc>) -> R,
    ) -> R {
        let now = self.now();
        let mut ids = self.shared.ids();
        let result = f(&mut self.shared.world(), &mut ids, now);
        self.shared.touch();
        result
    }

    /// A copy of the world.
    pub fn world(&self) -> World {
        self.shared.world().clone()
    }

    /// The world and the clock's time, for a state file.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            now: self.now(),
            world: self.world(),
        }
    }

    /// Replaces the world and sets the clock to the snapshot's time.
    pub fn restore(&self, snapshot: Snapshot) {
        *self.shared.world() = snapshot.world;
        self.shared.touch();
        self.clock.set(snapshot.now);
    }

    fn builder_for<C: regkit_core::GeneratedClient>(
        &self,
        p: Provider,
    ) -> regkit_core::ClientBuilder<C> {
        regkit_core::ClientBuilder::<C>::new()
            .base_url(self.url(p))
            .bearer_token(self.token(p))
    }

    /// A DigitalOcean client pointed at the emulator, with its token.
    pub fn digitalocean(&self) -> regkit_digitalocean::Client {
        self.builder_for(Provider::DigitalOcean)
            .build()
            .expect("the emulator's URL and token make a valid client")
    }

    /// An IONOS client pointed at the emulator, with its token.
    pub fn ionos(&self) -> regkit_ionos::Client {
        self.builder_for(Provider::Ionos)
            .build()
            .expect("the emulator's URL and token make a valid client")
    }

    /// A Humanitec client pointed at the emulator, with its token.
    pub fn humanitec(&self) -> regkit_humanitec::Client {
        self.builder_for(Provider::Humanitec)
            .build()
            .expect("the emulator's URL and token make a valid client")
    }

    /// A Buildkite client pointed at the emulator, with its token.
    pub fn buildkite(&self) -> regkit_buildkite::Client {
        self.builder_for(Provider::Buildkite)
            .build()
            .expect("the emulator's URL and token make a valid client")
    }

    /// An ABEJA client pointed at the emulator, with its token.
    pub fn abeja(&self) -> regkit_abeja::Client {
        self.builder_for(Provider::Abeja)
            .build()
            .expect("the emulator's URL and token make a valid client")
    }

    /// A client builder for a provider crate's `Client` with the emulator's
    /// URL and token set, for your own options (retry policy, timeouts,
    /// layers): `emu.client_builder::<regkit_ionos::Client>()`.
    pub fn client_builder<C: regkit_core::GeneratedClient>(&self) -> regkit_core::ClientBuilder<C> {
        let p: Provider = C::PROVIDER
            .name
            .parse()
            .expect("every regkit provider crate is one of the five the emulator serves");
        self.builder_for(p)
    }
}

/// The organization `provider`'s demo content lives in (`--org` of the
/// CLI), for the providers whose API is scoped by one.
pub fn demo_org(provider: Provider) -> Option<&'static str> {
    providers::api(provider).demo_org
}

/// The `operationId`s the emulator serves for `provider`, with method and
/// path as its spec spells them.
pub fn served_operations(provider: Provider) -> Vec<(&'static str, String, &'static str)> {
    (providers::api(provider).routes)()
        .into_iter()
        .map(|r| (r.operation, r.method.to_string(), r.path))
        .collect()
}
