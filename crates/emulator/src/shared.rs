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
}

/// A cached value and the world generation it was computed at.
type Cached = (u64, Arc<dyn Any + Send + Sync>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Handlers never leave the world half-changed across an await, so a
    // poisoned lock still guards consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(world: World, clock: Clock, seed: u64, auth: Auth) -> Self {
        Shared(Arc::new(Inner {
            world: Mutex::new(world),
            clock,
            faults: Mutex::new(Faults::new(seed)),
            auth: Mutex::new(auth),
            ids: Mutex::new(ContentGen::new(seed ^ 0x0069_6473)),
            generation: AtomicU64::new(0),
            cache: Mutex::new(HashMap::new()),
        }))
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

    /// The credentials the emulator accepts, locked.
    pub(crate) fn auth(&self) -> MutexGuard<'_, Auth> {
        lock(&self.0.auth)
    }
}
