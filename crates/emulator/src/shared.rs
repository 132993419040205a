//! What every handler shares: the world, the clock, the fault rules, the
//! accepted credentials, the seeded source of new ids and a cache of
//! derived data. No HTTP here.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use crate::auth::Auth;
use crate::clock::Clock;
use crate::content::ContentGen;
use crate::faults::Faults;
use crate::provider::Provider;
use crate::registry::access::Grant;
use crate::registry::blobs::BlobStorage;
use crate::registry::uploads::Uploads;
use crate::world::World;

/// What every handler shares: the world, the clock, the fault rules, the
/// accepted credentials and the seeded source of new ids.
#[derive(Clone, Debug)]
pub(crate) struct Shared(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    world: Mutex<World>,
    clock: Clock,
    faults: Mutex<Faults>,
    auth: Mutex<Auth>,
    ids: Mutex<ContentGen>,
    /// Bumped by every change to the world (any request but GET and HEAD,
    /// seeding, restoring, a garbage collection taking effect): derived
    /// data cached at an older generation is stale.
    generation: AtomicU64,
    /// Derived data (a listing's sort order, say) by key, with the
    /// generation it was computed at.
    cache: Mutex<HashMap<String, Cached>>,
    /// The data plane's bytes, uploads, bearer grants and hosts.
    data: DataPlane,
    /// Request quotas per provider and token.
    quotas: Mutex<crate::quota::Quotas>,
    /// Requests that arrived, by provider and operation.
    arrived: Mutex<HashMap<(Provider, &'static str), u64>>,
}

/// A host the data plane serves: a provider's shared registry host, or one
/// IONOS registry's own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum HostKey {
    /// DigitalOcean's or Buildkite's one host.
    Shared(Provider),
    /// The IONOS registry with this id.
    Ionos(String),
}

/// Binds a listener for a host and answers its address (set by the
/// handle, which owns the servers).
pub(crate) type Binder =
    Box<dyn Fn(&HostKey) -> std::io::Result<std::net::SocketAddr> + Send + Sync>;

/// What the data plane shares beside the world: blob bytes (not part of
/// the world's JSON), open uploads, the bearer tokens handed out by the
/// token endpoint, whether the referrers API is on, and the listeners.
pub(crate) struct DataPlane {
    pub(crate) blobs: BlobStorage,
    pub(crate) uploads: Uploads,
    grants: Mutex<HashMap<String, Grant>>,
    pub(crate) referrers: bool,
    api: std::net::SocketAddr,
    hosts: Mutex<HashMap<HostKey, std::net::SocketAddr>>,
    binder: Mutex<Option<Binder>>,
}

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlane")
            .field("blobs", &self.blobs)
            .field("uploads", &self.uploads.open())
            .field("grants", &lock(&self.grants).len())
            .field("referrers", &self.referrers)
            .field("hosts", &*lock(&self.hosts))
            .finish_non_exhaustive()
    }
}

impl DataPlane {
    pub(crate) fn new(blobs: BlobStorage, referrers: bool, api: std::net::SocketAddr) -> Self {
        DataPlane {
            blobs,
            uploads: Uploads::default(),
            grants: Mutex::new(HashMap::new()),
            referrers,
            api,
            hosts: Mutex::new(HashMap::new()),
            binder: Mutex::new(None),
        }
    }

    /// The management API's address (where DigitalOcean's token realm is).
    pub(crate) fn api_addr(&self) -> std::net::SocketAddr {
        self.api
    }

    /// The grant a bearer token carries.
    pub(crate) fn grants_get(&self, token: &str) -> Option<Grant> {
        lock(&self.grants).get(token).cloned()
    }

    /// Records a bearer token's grant, dropping the expired ones.
    pub(crate) fn grants_insert(&self, token: String, grant: Grant, now: DateTime<Utc>) {
        let mut grants = lock(&self.grants);
        grants.retain(|_, g| now < g.expires_at);
        grants.insert(token, grant);
    }

    /// Sets what binds new hosts' listeners.
    pub(crate) fn set_binder(&self, binder: Binder) {
        *lock(&self.binder) = Some(binder);
    }

    /// The address serving `key`, binding it on first use; `None` when the
    /// data plane is not served (no binder) or the bind failed.
    pub(crate) fn host(&self, key: &HostKey) -> Option<std::net::SocketAddr> {
        let mut hosts = lock(&self.hosts);
        if let Some(addr) = hosts.get(key) {
            return Some(*addr);
        }
        let binder = lock(&self.binder);
        let addr = (binder.as_ref()?)(key).ok()?;
        hosts.insert(key.clone(), addr);
        Some(addr)
    }
}

/// A [`Shared`] that does not keep the state alive.
pub(crate) struct WeakShared(std::sync::Weak<Inner>);

impl WeakShared {
    pub(crate) fn upgrade(&self) -> Option<Shared> {
        self.0.upgrade().map(Shared)
    }
}

/// A cached value and the world generation it was computed at.
type Cached = (u64, Arc<dyn Any + Send + Sync>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Handlers never leave the world half-changed across an await, so a
    // poisoned lock still guards consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(world: World, clock: Clock, seed: u64, auth: Auth, data: DataPlane) -> Self {
        Shared(Arc::new(Inner {
            world: Mutex::new(world),
            clock,
            faults: Mutex::new(Faults::new(seed)),
            auth: Mutex::new(auth),
            ids: Mutex::new(ContentGen::new(seed ^ 0x0069_6473)),
            generation: AtomicU64::new(0),
            cache: Mutex::new(HashMap::new()),
            data,
            quotas: Mutex::new(Default::default()),
            arrived: Mutex::new(HashMap::new()),
        }))
    }

    /// A handle that does not keep the state alive (for the listeners'
    /// binder, which the state itself holds).
    pub(crate) fn downgrade(&self) -> WeakShared {
        WeakShared(Arc::downgrade(&self.0))
    }

    /// The data plane's shared parts.
    pub(crate) fn data(&self) -> &DataPlane {
        &self.0.data
    }

    /// Forgets the bytes of every blob no store of the world holds any
    /// more (after a garbage collection or a restore). Called with the
    /// world locked.
    pub(crate) fn sweep_blobs(&self, world: &World) {
        let held = world.held_blobs();
        self.0.data.blobs.retain(|d| held.contains(d));
    }

    /// The whole emulated world, locked. Take it, change it, drop it: never
    /// hold it across an `.await`.
    ///
    /// Lock order: `ids()` before `world()` when both are needed (as
    /// [`crate::Emulator::seed`] takes them), never the other way round.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.0.world)
    }

    /// The seeded source of new ids, digests and secrets.
    pub(crate) fn ids(&self) -> MutexGuard<'_, ContentGen> {
        lock(&self.0.ids)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }

    /// Marks the world changed: cached derived data is recomputed.
    pub(crate) fn touch(&self) {
        self.0.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// `compute()`'s value for `key`, computed once per generation of the
    /// world (a 100 000-tag listing is sorted once, not once per page).
    /// Called with the world locked, so no change can slip in between.
    pub(crate) fn cached<T: Send + Sync + 'static>(
        &self,
        key: &str,
        compute: impl FnOnce() -> T,
    ) -> Arc<T> {
        let generation = self.0.generation.load(Ordering::Relaxed);
        let mut cache = lock(&self.0.cache);
        let fresh = cache
            .get(key)
            .filter(|(at, _)| *at == generation)
            .and_then(|(_, value)| Arc::clone(value).downcast::<T>().ok());
        if let Some(value) = fresh {
            return value;
        }
        let value = Arc::new(compute());
        cache.insert(
            key.to_string(),
            (generation, value.clone() as Arc<dyn Any + Send + Sync>),
        );
        value
    }

    /// The fault rules and their seeded chances, locked.
    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.0.faults)
    }

    /// Counts a request of `operation` to `provider`, then draws the
    /// faults that hit it: every request passes here once.
    pub(crate) fn arrive(
        &self,
        provider: Provider,
        operation: &'static str,
    ) -> Vec<crate::faults::Fault> {
        *lock(&self.0.arrived)
            .entry((provider, operation))
            .or_default() += 1;
        self.faults().draw(provider, operation)
    }

    /// Requests that arrived for `provider` so far, by operation.
    pub(crate) fn arrived(
        &self,
        provider: Provider,
    ) -> std::collections::BTreeMap<&'static str, u64> {
        lock(&self.0.arrived)
            .iter()
            .filter(|((p, _), _)| *p == provider)
            .map(|((_, op), n)| (*op, *n))
            .collect()
    }

    /// The request quotas, locked.
    pub(crate) fn quotas(&self) -> MutexGuard<'_, crate::quota::Quotas> {
        lock(&self.0.quotas)
    }

    /// The credentials the emulator accepts, locked.
    pub(crate) fn auth(&self) -> MutexGuard<'_, Auth> {
        lock(&self.0.auth)
    }
}
