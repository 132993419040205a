//! The handle a test or the binary holds: start, address, clients, clock,
//! faults, seeding and snapshots.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use regkit_core::SecretString;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use crate::auth::{Auth, ProviderCredentials};
use crate::clock::{Clock, ClockMode};
use crate::content::UntaggedCollection;
use crate::faults::FaultRule;
use crate::oci;
use crate::provider::Provider;
use crate::providers::{self, APIS};
use crate::registry::blobs::BlobStorage;
use crate::registry::digest::Digest;
use crate::server;
use crate::shared::{DataPlane, HostKey, Shared};
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
    data_dir: Option<PathBuf>,
    data_plane: bool,
    referrers: bool,
    untagged_collection: Option<UntaggedCollection>,
    registry_port: Option<u16>,
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
            data_dir: None,
            data_plane: true,
            referrers: true,
            untagged_collection: None,
            registry_port: None,
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

    /// Keeps blob bytes as files under `dir` (created if missing) instead
    /// of in memory, as the binary's `--data-dir` does: large blobs are
    /// then streamed to and from disk, and survive a restart with the
    /// state file.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Whether the registries themselves are served (the OCI Distribution
    /// API on listeners of their own; on by default). Off, the management
    /// APIs report the providers' real registry hosts.
    pub fn data_plane(mut self, on: bool) -> Self {
        self.data_plane = on;
        self
    }

    /// Serves DigitalOcean's registry host on `port` and Buildkite's on
    /// `port + 1` (default: ports the system picks). IONOS registries'
    /// hosts always get picked ports, one each.
    pub fn registry_port(mut self, port: u16) -> Self {
        self.registry_port = Some(port);
        self
    }

    /// Whether the data plane serves the referrers API (on by default).
    /// Off, `GET /v2/<name>/referrers/<digest>` is a 404, so clients fall
    /// back to the `sha256-<hex>` tag schema.
    pub fn referrers(mut self, on: bool) -> Self {
        self.referrers = on;
        self
    }

    /// What DigitalOcean's collection of untagged manifests does to an
    /// index's children and a tagged image's referrers (default: spares
    /// them; see [`UntaggedCollection`]).
    pub fn untagged_collection(mut self, policy: UntaggedCollection) -> Self {
        self.untagged_collection = Some(policy);
        self
    }

    /// Binds the port and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(SocketAddr::new(self.host, self.port)).await?;
        let addr = listener.local_addr()?;
        let (now, mut world, blobs) = match self.state {
            Some(s) => (s.now, s.world, s.blobs),
            None => (Utc::now(), World::default(), Default::default()),
        };
        if let Some(policy) = self.untagged_collection {
            world.digitalocean.untagged_collection = policy;
        }
        let storage = match &self.data_dir {
            Some(dir) => BlobStorage::dir(dir)?,
            None => BlobStorage::default(),
        };
        import_blobs(&storage, &blobs)?;
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
        let data = DataPlane::new(storage, self.referrers, addr);
        let shared = Shared::new(world, clock.clone(), self.seed, auth, data);
        let app = server::router(shared.clone()).merge(oci::api_routes(shared.clone()));
        let task = tokio::spawn(server::serve(listener, app));
        let planes: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        if self.data_plane {
            let (weak, ip, tasks) = (shared.downgrade(), self.host, planes.clone());
            let runtime = tokio::runtime::Handle::current();
            let first = self.registry_port;
            shared.data().set_binder(Box::new(move |key: &HostKey| {
                let shared = weak
                    .upgrade()
                    .ok_or_else(|| std::io::Error::other("the emulator stopped"))?;
                let port = match (first, key) {
                    (Some(first), HostKey::Shared(p)) => oci::SHARED_HOSTS
                        .iter()
                        .position(|s| s == p)
                        .and_then(|i| first.checked_add(i as u16))
                        .unwrap_or(0),
                    _ => 0,
                };
                let (addr, task) = oci::bind(&shared, &runtime, SocketAddr::new(ip, port), key)?;
                tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
                Ok(addr)
            }));
            for p in oci::SHARED_HOSTS {
                if shared.data().host(&HostKey::Shared(p)).is_none() {
                    return Err(std::io::Error::other(format!(
                        "cannot listen for {p}'s registry host (--registry-port taken?)"
                    )));
                }
            }
        }
        Ok(Emulator {
            addr,
            shared,
            clock,
            task,
            planes,
        })
    }
}

/// Puts a snapshot's blobs (base64 by digest) into storage, each checked
/// against its digest.
fn import_blobs(
    storage: &BlobStorage,
    blobs: &std::collections::BTreeMap<String, String>,
) -> std::io::Result<()> {
    for (digest, text) in blobs {
        let bad = |why: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("snapshot blob {digest}: {why}"),
            )
        };
        let parsed: Digest = digest.parse().map_err(|_| bad("not a digest"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| bad("not base64"))?;
        if !parsed.matches(&bytes) {
            return Err(bad("the bytes do not match the digest"));
        }
        storage.put(digest, bytes.into())?;
    }
    Ok(())
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
    /// The data plane's listeners.
    planes: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
        for task in self.planes.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            task.abort();
        }
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

    /// The registry host `provider`'s data plane is served on
    /// (`127.0.0.1:<port>`), for DigitalOcean and Buildkite, whose
    /// registries share one host; `None` for the others, or with the data
    /// plane off. An IONOS registry's host is its `hostname` in the API
    /// ([`Emulator::ionos_registry_host`]).
    pub fn registry_host(&self, provider: Provider) -> Option<String> {
        if !oci::SHARED_HOSTS.contains(&provider) {
            return None;
        }
        self.shared
            .data()
            .host(&HostKey::Shared(provider))
            .map(|a| a.to_string())
    }

    /// The host the IONOS registry with this id is served on (what its
    /// `hostname` reads in the API), bound on first use.
    pub fn ionos_registry_host(&self, registry_id: &str) -> Option<String> {
        self.shared
            .data()
            .host(&HostKey::Ionos(registry_id.to_string()))
            .map(|a| a.to_string())
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

    /// Enforces `quota` on `provider`'s API, per token (`None` lifts it).
    pub fn quota(&self, provider: Provider, quota: Option<crate::Quota>) {
        self.shared.quotas().set(provider, quota);
    }

    /// Requests the quotas refused (answered 429) so far.
    pub fn quota_refusals(&self) -> u64 {
        self.shared.quotas().refused()
    }

    /// Requests `provider`'s API and registry hosts received so far, by
    /// operation (the spec's `operationId`, or a data-plane operation of
    /// [`DATA_PLANE_OPERATIONS`](crate::DATA_PLANE_OPERATIONS)): what a test counts
    /// to show a second run sends nothing it need not.
    pub fn requests(&self, provider: Provider) -> std::collections::BTreeMap<&'static str, u64> {
        self.shared.arrived(provider)
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

    /// The world and the clock's time, for a state file, with the bytes of
    /// pushed blobs when they are held in memory (with a data directory
    /// they stay there).
    pub fn snapshot(&self) -> Snapshot {
        let world = self.world();
        let held = world.held_blobs();
        let blobs = self
            .shared
            .data()
            .blobs
            .export()
            .into_iter()
            .filter(|(d, _)| held.contains(d))
            .map(|(d, b)| (d, base64::engine::general_purpose::STANDARD.encode(b)))
            .collect();
        Snapshot {
            now: self.now(),
            world,
            blobs,
        }
    }

    /// Replaces the world (and the blobs it holds) and sets the clock to
    /// the snapshot's time. A blob that does not match its digest is
    /// refused, and nothing changes.
    pub fn restore(&self, snapshot: Snapshot) -> std::io::Result<()> {
        import_blobs(&self.shared.data().blobs, &snapshot.blobs)?;
        let mut world = self.shared.world();
        *world = snapshot.world;
        self.shared.sweep_blobs(&world);
        drop(world);
        self.shared.touch();
        self.clock.set(snapshot.now);
        Ok(())
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
