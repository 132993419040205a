//! DigitalOcean Container Registry: the account's registries (the current
//! multi-registry `/v2/registries…` API and the deprecated single-registry
//! `/v2/registry…` API over the same state), its subscription, Docker
//! credentials, repositories, tags, manifests and garbage collection.
//!
//! - **Account**: registries by name (unique; `validate-name` answers 409
//!   when a name is taken), and one subscription created with the first
//!   registry. The tier limits the account: Starter and Basic hold one
//!   registry, Professional ten; Starter holds one repository, Basic five,
//!   Professional any number; Starter allows no storage beyond its 500 MiB.
//! - **Where the limits bite**: DigitalOcean has no push API, so the
//!   repository limit is enforced where repositories come from, the seeding
//!   helper [`State::seed_repository`]; creating a registry beyond the
//!   registry limit, and moving the subscription to a tier that cannot hold
//!   what the account has (`registries_update_subscription`,
//!   `registry_update_subscription`, or a tier named on create) is DO's
//!   `412 precondition_failed`; `registries_get_options` reports each tier's
//!   `eligible` and `eligibility_reasons` from the account's content.
//! - **Single-registry API**: `/v2/registry` sees the account's only
//!   registry: 404 when there is none, 412 when there are several.
//! - **Paging**: `page`/`per_page` (default 20, at most 200) with
//!   `links.pages` (`first`/`prev` from page 2 on, `next`/`last` before the
//!   last page; absolute URLs) and `meta.total`; the V2 repository lists
//!   also take an opaque `page_token`, which wins over `page`.
//! - **Garbage collection** moves with the virtual clock, computed at read
//!   time: `requested` → `waiting for write JWTs to expire` → `scanning
//!   manifests` → `deleting unreferenced blobs` → `succeeded` (the phase
//!   lengths are the `GC_*` constants). When a run reaches `succeeded` its
//!   collection is applied to the registry's content once
//!   ([`Store::collect`]) and its `blobs_deleted` and `freed_bytes` are
//!   recorded; `storage_usage_bytes` shrinks by exactly `freed_bytes`. One
//!   run may be active per registry (a second is `409 conflict`); a
//!   cancelled run frees nothing.
//! - **Docker credentials** are a fresh random secret on every call, never
//!   stored; the state keeps only who asked for what ([`IssuedCredentials`]).
//! - **Errors** are DO's `{id, message, request_id}`; a body or query that
//!   breaks the schema is `422 unprocessable_entity`, a bad `page_token`
//!   `400 bad_request` (the one place the spec lists 400).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{FromRequestParts, Path, State as AxumState};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use regkit_digitalocean::types;
use serde::{Deserialize, Serialize};

use crate::api::{self, Body, OptionalBody, Query, RequestUrl, Route};
use crate::content::{Collected, ContentGen, Manifest, Store};
use crate::server::Shared;

/// The status of a request that breaks the schema.
pub(crate) const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
/// The message of the 401 answer.
pub(crate) const UNAUTHORIZED: &str = "Unable to authenticate you.";

/// How long a garbage collection stays `requested` before it starts.
pub const GC_REQUESTED: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// How long it waits for write JWTs to expire (DO: up to 15 minutes).
pub const GC_WAITING_FOR_JWTS: chrono::TimeDelta = chrono::TimeDelta::minutes(15);
/// How long it scans manifests.
pub const GC_SCANNING: chrono::TimeDelta = chrono::TimeDelta::minutes(1);
/// How long it deletes unreferenced blobs before it has succeeded.
pub const GC_DELETING: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Registries the Professional tier allows (Starter and Basic: one).
pub const PROFESSIONAL_REGISTRIES: usize = 10;
/// Regions a registry can be created in (the spec's `registry_region`).
pub const REGIONS: &[&str] = &[
    "nyc3", "sfo3", "sfo2", "ams3", "sgp1", "fra1", "blr1", "syd1",
];
/// Regions the deprecated `registry_create` accepts.
const LEGACY_REGIONS: &[&str] = &["nyc3", "sfo3", "ams3", "sgp1", "fra1"];
/// The region picked when a create names none.
const DEFAULT_REGION: &str = "nyc3";
/// The host Docker credentials are for.
pub const DOCKER_HOST: &str = "registry.digitalocean.com";
/// Issued-credential records kept (the oldest are dropped).
const ISSUED_KEPT: usize = 100;
const DEFAULT_PER_PAGE: u64 = 20;
const MAX_PER_PAGE: u64 = 200;

/// What this provider's API remembers: one account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// The account's registries, by name.
    pub registries: BTreeMap<String, Registry>,
    /// The account's subscription (made with the first registry).
    pub subscription: Option<Subscription>,
    /// Docker credentials handed out, newest last, without their secrets.
    pub issued_credentials: Vec<IssuedCredentials>,
}

/// A container registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// Region slug.
    pub region: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its repositories, tags, manifests and blobs.
    pub store: Store,
    /// Its garbage collections, oldest first.
    pub garbage_collections: Vec<GarbageCollection>,
}

/// A subscription tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Free: one repository, 500 MiB, no overage.
    Starter,
    /// Five repositories, 5 GiB.
    Basic,
    /// Unlimited repositories, 100 GiB, up to ten registries.
    Professional,
}

impl Tier {
    /// Every tier, cheapest first.
    pub const ALL: [Tier; 3] = [Tier::Starter, Tier::Basic, Tier::Professional];

    /// The tier's slug.
    pub fn slug(self) -> &'static str {
        match self {
            Tier::Starter => "starter",
            Tier::Basic => "basic",
            Tier::Professional => "professional",
        }
    }

    fn from_slug(slug: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.slug() == slug)
    }

    fn name(self) -> &'static str {
        match self {
            Tier::Starter => "Starter",
            Tier::Basic => "Basic",
            Tier::Professional => "Professional",
        }
    }

    /// Repositories included; 0 means unlimited.
    pub fn included_repositories(self) -> u64 {
        match self {
            Tier::Starter => 1,
            Tier::Basic => 5,
            Tier::Professional => 0,
        }
    }

    /// Storage (and monthly transfer) included, in bytes.
    pub fn included_storage_bytes(self) -> u64 {
        match self {
            Tier::Starter => 500 << 20,
            Tier::Basic => 5 << 30,
            Tier::Professional => 100 << 30,
        }
    }

    /// Whether storage beyond the included amount is allowed.
    pub fn allow_storage_overage(self) -> bool {
        self != Tier::Starter
    }

    /// Registries the tier allows.
    pub fn registries(self) -> usize {
        match self {
            Tier::Professional => PROFESSIONAL_REGISTRIES,
            _ => 1,
        }
    }

    fn monthly_price_in_cents(self) -> i64 {
        match self {
            Tier::Starter => 0,
            Tier::Basic => 500,
            Tier::Professional => 2000,
        }
    }

    fn storage_overage_price_in_cents(self) -> i64 {
        match self {
            Tier::Starter => 0,
            _ => 2,
        }
    }

    fn body(self) -> types::SubscriptionTier {
        types::SubscriptionTier {
            allow_storage_overage: Some(self.allow_storage_overage()),
            included_bandwidth_bytes: Some(int(self.included_storage_bytes())),
            included_repositories: Some(int(self.included_repositories())),
            included_storage_bytes: Some(int(self.included_storage_bytes())),
            monthly_price_in_cents: Some(self.monthly_price_in_cents()),
            name: Some(self.name().to_string()),
            slug: Some(self.slug().to_string()),
            storage_overage_price_in_cents: Some(self.storage_overage_price_in_cents()),
        }
    }
}

/// The account's registry subscription.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its tier.
    pub tier: Tier,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What a garbage collection removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GcType {
    /// `untagged manifests only`.
    #[serde(rename = "untagged manifests only")]
    UntaggedManifestsOnly,
    /// `unreferenced blobs only` (the default).
    #[serde(rename = "unreferenced blobs only")]
    UnreferencedBlobsOnly,
    /// `untagged manifests and unreferenced blobs`.
    #[serde(rename = "untagged manifests and unreferenced blobs")]
    UntaggedManifestsAndUnreferencedBlobs,
}

impl GcType {
    fn as_str(self) -> &'static str {
        match self {
            GcType::UntaggedManifestsOnly => "untagged manifests only",
            GcType::UnreferencedBlobsOnly => "unreferenced blobs only",
            GcType::UntaggedManifestsAndUnreferencedBlobs => {
                "untagged manifests and unreferenced blobs"
            }
        }
    }

    fn parse(s: &str) -> Option<GcType> {
        [
            GcType::UntaggedManifestsOnly,
            GcType::UnreferencedBlobsOnly,
            GcType::UntaggedManifestsAndUnreferencedBlobs,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// (untagged manifests, unreferenced blobs) for [`Store::collect`].
    fn collects(self) -> (bool, bool) {
        match self {
            GcType::UntaggedManifestsOnly => (true, false),
            GcType::UnreferencedBlobsOnly => (false, true),
            GcType::UntaggedManifestsAndUnreferencedBlobs => (true, true),
        }
    }
}

/// A garbage collection run. Its status is computed from the clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GarbageCollection {
    /// Its id.
    pub uuid: String,
    /// What it removes.
    #[serde(rename = "type")]
    pub kind: GcType,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// What it removed, once it has succeeded and been applied.
    pub collected: Option<Collected>,
}

/// A garbage collection's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcStatus {
    /// `requested`.
    Requested,
    /// `waiting for write JWTs to expire`.
    WaitingForJwts,
    /// `scanning manifests`.
    Scanning,
    /// `deleting unreferenced blobs`.
    Deleting,
    /// `succeeded`.
    Succeeded,
    /// `cancelled`.
    Cancelled,
}

impl GcStatus {
    /// The status as DO spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            GcStatus::Requested => "requested",
            GcStatus::WaitingForJwts => "waiting for write JWTs to expire",
            GcStatus::Scanning => "scanning manifests",
            GcStatus::Deleting => "deleting unreferenced blobs",
            GcStatus::Succeeded => "succeeded",
            GcStatus::Cancelled => "cancelled",
        }
    }

    fn active(self) -> bool {
        !matches!(self, GcStatus::Succeeded | GcStatus::Cancelled)
    }
}

impl GarbageCollection {
    /// Its status at `now`, and when it last changed.
    pub fn status_at(&self, now: DateTime<Utc>) -> (GcStatus, DateTime<Utc>) {
        if let Some(at) = self.cancelled_at {
            return (GcStatus::Cancelled, at);
        }
        let mut at = self.created_at;
        for (status, length) in [
            (GcStatus::Requested, GC_REQUESTED),
            (GcStatus::WaitingForJwts, GC_WAITING_FOR_JWTS),
            (GcStatus::Scanning, GC_SCANNING),
            (GcStatus::Deleting, GC_DELETING),
        ] {
            if now < at + length {
                return (status, at);
            }
            at += length;
        }
        (GcStatus::Succeeded, at)
    }

    fn body(&self, registry: &str, now: DateTime<Utc>) -> types::GarbageCollection {
        let (status, updated_at) = self.status_at(now);
        let done = self.collected.unwrap_or_default();
        types::GarbageCollection {
            blobs_deleted: Some(int(done.blobs)),
            created_at: Some(self.created_at),
            freed_bytes: Some(int(done.freed_bytes)),
            registry_name: Some(registry.to_string()),
            status: Some(types::GarbageCollectionStatus::from(status.as_str())),
            type_: Some(types::GarbageCollectionType::from(self.kind.as_str())),
            updated_at: Some(updated_at),
            uuid: Some(self.uuid.clone()),
        }
    }
}

/// A record of Docker credentials handed out (the secret is not kept).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedCredentials {
    /// The registry asked for (`None`: the deprecated account-wide call).
    pub registry: Option<String>,
    /// Whether they can push.
    pub read_write: bool,
    /// When they stop working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// When they were issued.
    pub issued_at: DateTime<Utc>,
}

/// Why DO refuses a request: its status and message (what
/// [`State`]'s helpers return, and what handlers send as DO's error body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: StatusCode,
    /// The error body's `message`.
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
        }
    }

    fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The resource you requested could not be found.",
        )
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(INVALID, message)
    }

    fn into_response(self) -> Response {
        error(self.status, &self.message)
    }
}

type Answer = Result<Response, Refusal>;

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Registry {
    fn new(region: &str, now: DateTime<Utc>) -> Self {
        Registry {
            region: region.to_string(),
            created_at: now,
            store: Store::default(),
            garbage_collections: Vec::new(),
        }
    }

    /// The garbage collection running now, if any.
    pub fn active_gc(&self, now: DateTime<Utc>) -> Option<&GarbageCollection> {
        self.garbage_collections
            .iter()
            .find(|gc| gc.status_at(now).0.active())
    }

    /// Applies every run that has reached `succeeded` and not been applied;
    /// whether any was.
    fn settle(&mut self, now: DateTime<Utc>) -> bool {
        let mut changed = false;
        for gc in &mut self.garbage_collections {
            if gc.collected.is_none() && gc.status_at(now).0 == GcStatus::Succeeded {
                let (manifests, blobs) = gc.kind.collects();
                gc.collected = Some(self.store.collect(manifests, blobs));
                changed = true;
            }
        }
        changed
    }

    /// Repositories holding at least one manifest (an emptied repository
    /// is gone from DO's listings).
    fn repositories(&self) -> impl Iterator<Item = (&String, &crate::content::Repository)> {
        self.store
            .repositories
            .iter()
            .filter(|(_, r)| !r.manifests.is_empty())
    }
}

impl State {
    /// Brings every garbage collection up to `now`; whether that changed
    /// any content.
    pub fn settle(&mut self, now: DateTime<Utc>) -> bool {
        let mut changed = false;
        for r in self.registries.values_mut() {
            changed |= r.settle(now);
        }
        changed
    }

    /// The subscription tier in force (Basic before any registry exists).
    pub fn tier(&self) -> Tier {
        self.subscription.as_ref().map_or(Tier::Basic, |s| s.tier)
    }

    /// Repositories across the account.
    pub fn repository_count(&self) -> usize {
        self.registries
            .values()
            .map(|r| r.repositories().count())
            .sum()
    }

    /// Storage across the account, in bytes.
    pub fn storage_bytes(&self) -> u64 {
        self.registries
            .values()
            .map(|r| r.store.storage_bytes())
            .sum()
    }

    /// Why the account cannot hold `tier` now, if it cannot: (spec reasons,
    /// whether it has too many registries).
    fn ineligibility(&self, tier: Tier, registries: usize) -> (Vec<&'static str>, bool) {
        let mut reasons = Vec::new();
        let included = tier.included_repositories();
        if included > 0 && self.repository_count() as u64 > included {
            reasons.push("OverRepositoryLimit");
        }
        if !tier.allow_storage_overage() && self.storage_bytes() > tier.included_storage_bytes() {
            reasons.push("OverStorageLimit");
        }
        (reasons, registries > tier.registries())
    }

    fn check_tier(&self, tier: Tier, registries: usize) -> Result<(), Refusal> {
        let (mut reasons, over_registries) = self.ineligibility(tier, registries);
        if over_registries {
            reasons.insert(0, "OverRegistryLimit");
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(Refusal::new(
                StatusCode::PRECONDITION_FAILED,
                format!(
                    "registry is not eligible for tier because: [{}]",
                    reasons.join(" ")
                ),
            ))
        }
    }

    /// Moves the subscription to `tier` (making it if there is none),
    /// refused with DO's 412 when the account's content does not fit.
    pub fn set_tier(&mut self, tier: Tier, now: DateTime<Utc>) -> Result<&Subscription, Refusal> {
        self.check_tier(tier, self.registries.len())?;
        let sub = self.subscription.get_or_insert(Subscription {
            tier,
            created_at: now,
            updated_at: now,
        });
        if sub.tier != tier {
            sub.tier = tier;
            sub.updated_at = now;
        }
        Ok(sub)
    }

    /// Creates a registry (as `registries_create` does): the name must be
    /// free, the region known, and the tier (the one named, else the
    /// account's) must allow one more registry.
    pub fn create_registry(
        &mut self,
        name: &str,
        region: Option<&str>,
        tier: Option<Tier>,
        now: DateTime<Utc>,
    ) -> Result<&mut Registry, Refusal> {
        if self.registries.contains_key(name) {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                format!("registry name {name:?} is already in use"),
            ));
        }
        let region = region.unwrap_or(DEFAULT_REGION);
        if !REGIONS.contains(&region) {
            return Err(Refusal::invalid(format!("invalid region {region:?}")));
        }
        let tier = tier.unwrap_or(self.tier());
        self.check_tier(tier, self.registries.len() + 1)?;
        self.set_tier(tier, now)?;
        Ok(self
            .registries
            .entry(name.to_string())
            .or_insert_with(|| Registry::new(region, now)))
    }

    /// Seeds `repository` of `registry` with `tags` tags
    /// ([`ContentGen::repository`]). DO has no push API, so this is where
    /// the tier's repository limit is enforced: a new repository beyond it
    /// is refused with DO's 412.
    pub fn seed_repository(
        &mut self,
        registry: &str,
        repository: &str,
        tags: usize,
        ids: &mut ContentGen,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let included = self.tier().included_repositories();
        let count = self.repository_count() as u64;
        let reg = self
            .registries
            .get_mut(registry)
            .ok_or_else(Refusal::not_found)?;
        let new = !reg.repositories().any(|(name, _)| name == repository);
        if new && included > 0 && count >= included {
            return Err(Refusal::new(
                StatusCode::PRECONDITION_FAILED,
                format!(
                    "the {} tier includes {included} repositories: [OverRepositoryLimit]",
                    self.tier().slug()
                ),
            ));
        }
        ids.repository(&mut reg.store, repository, tags, now);
        Ok(())
    }

    fn registry(&self, name: &str) -> Result<&Registry, Refusal> {
        self.registries.get(name).ok_or_else(Refusal::not_found)
    }

    fn registry_mut(&mut self, name: &str) -> Result<&mut Registry, Refusal> {
        self.registries.get_mut(name).ok_or_else(Refusal::not_found)
    }

    /// The only registry, as the single-registry API sees it.
    fn only_registry(&self) -> Result<&String, Refusal> {
        let mut names = self.registries.keys();
        match (names.next(), names.next()) {
            (None, _) => Err(Refusal::not_found()),
            (Some(name), None) => Ok(name),
            (Some(_), Some(_)) => Err(Refusal::new(
                StatusCode::PRECONDITION_FAILED,
                "This API is not supported if you have created multiple registries. Please use \
                 /v2/registries/{registry_name} instead.",
            )),
        }
    }

    fn subscription_body(&self) -> Option<types::Subscription> {
        self.subscription.as_ref().map(|s| types::Subscription {
            created_at: Some(s.created_at),
            tier: Some(s.tier.body()),
            updated_at: Some(s.updated_at),
        })
    }

    fn registry_body(&self, name: &str, r: &Registry, now: DateTime<Utc>) -> types::Registry {
        types::Registry {
            created_at: Some(r.created_at),
            name: Some(name.to_string()),
            region: Some(r.region.clone()),
            storage_usage_bytes: Some(int(r.store.storage_bytes())),
            storage_usage_bytes_updated_at: Some(now),
            subscription: self.subscription_body(),
        }
    }
}

fn multiregistry_body(name: &str, r: &Registry, now: DateTime<Utc>) -> types::Multiregistry {
    types::Multiregistry {
        created_at: Some(r.created_at),
        name: Some(name.to_string()),
        region: Some(r.region.clone()),
        storage_usage_bytes: Some(int(r.store.storage_bytes())),
        storage_usage_bytes_updated_at: Some(now),
    }
}

// ---------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------

/// DO's `id` for a status.
fn error_id(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        412 => "precondition_failed",
        422 => "unprocessable_entity",
        429 => "too_many_requests",
        503 => "service_unavailable",
        s if s >= 500 => "server_error",
        _ => "bad_request",
    }
}

/// A request id for an error body: unique per process, shaped as a UUID.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff)
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    api::json(
        status,
        &types::Error {
            id: error_id(status).to_string(),
            message: message.to_string(),
            request_id: Some(request_id()),
        },
    )
}

/// Path parameters (percent-decoded by axum); a parameter that does not
/// decode (say, `%FF`) is DO's `400 bad_request`, not axum's plain text.
struct PathOf<T>(T);

impl<T, S> FromRequestParts<S> for PathOf<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathOf(value)),
            Err(e) => Err(error(
                StatusCode::BAD_REQUEST,
                &format!("invalid path parameter: {}", e.body_text()),
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

pub(crate) fn routes() -> Vec<Route> {
    use Method as M;
    vec![
        Route::new(
            "registries_list",
            M::GET,
            "/v2/registries",
            get(registries_list),
        ),
        Route::new(
            "registries_create",
            M::POST,
            "/v2/registries",
            post(registries_create),
        ),
        Route::new(
            "registries_get",
            M::GET,
            "/v2/registries/{registry_name}",
            get(registries_get),
        ),
        Route::new(
            "registries_delete",
            M::DELETE,
            "/v2/registries/{registry_name}",
            delete(registries_delete),
        ),
        Route::new(
            "registries_get_dockerCredentials",
            M::GET,
            "/v2/registries/{registry_name}/docker-credentials",
            get(registries_docker_credentials),
        ),
        Route::new(
            "registries_get_subscription",
            M::GET,
            "/v2/registries/subscription",
            get(get_subscription),
        ),
        Route::new(
            "registries_update_subscription",
            M::POST,
            "/v2/registries/subscription",
            post(update_subscription),
        ),
        Route::new(
            "registries_get_options",
            M::GET,
            "/v2/registries/options",
            get(get_options),
        ),
        Route::new(
            "registries_get_garbageCollection",
            M::GET,
            "/v2/registries/{registry_name}/garbage-collection",
            get(get_gc),
        ),
        Route::new(
            "registries_run_garbageCollection",
            M::POST,
            "/v2/registries/{registry_name}/garbage-collection",
            post(run_gc),
        ),
        Route::new(
            "registries_list_garbageCollections",
            M::GET,
            "/v2/registries/{registry_name}/garbage-collections",
            get(list_gcs),
        ),
        Route::new(
            "registries_update_garbageCollection",
            M::PUT,
            "/v2/registries/{registry_name}/garbage-collection/{garbage_collection_uuid}",
            put(update_gc),
        ),
        Route::new(
            "registries_list_repositoriesV2",
            M::GET,
            "/v2/registries/{registry_name}/repositoriesV2",
            get(list_repositories_v2),
        ),
        Route::new(
            "registries_delete_repository",
            M::DELETE,
            "/v2/registries/{registry_name}/repositories/{repository_name}",
            delete(delete_repository),
        ),
        Route::new(
            "registries_list_repositoryTags",
            M::GET,
            "/v2/registries/{registry_name}/repositories/{repository_name}/tags",
            get(list_tags),
        ),
        Route::new(
            "registries_delete_repositoryTag",
            M::DELETE,
            "/v2/registries/{registry_name}/repositories/{repository_name}/tags/{repository_tag}",
            delete(delete_tag),
        ),
        Route::new(
            "registries_list_repositoryManifests",
            M::GET,
            "/v2/registries/{registry_name}/repositories/{repository_name}/digests",
            get(list_manifests),
        ),
        Route::new(
            "registries_delete_repositoryManifest",
            M::DELETE,
            "/v2/registries/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
            delete(delete_manifest),
        ),
        Route::new(
            "registries_validate_name",
            M::POST,
            "/v2/registries/validate-name",
            post(validate_name),
        ),
        // The deprecated single-registry API.
        Route::new("registry_get", M::GET, "/v2/registry", get(registry_get)),
        Route::new(
            "registry_create",
            M::POST,
            "/v2/registry",
            post(registry_create),
        ),
        Route::new(
            "registry_delete",
            M::DELETE,
            "/v2/registry",
            delete(registry_delete),
        ),
        Route::new(
            "registry_get_subscription",
            M::GET,
            "/v2/registry/subscription",
            get(get_subscription),
        ),
        Route::new(
            "registry_update_subscription",
            M::POST,
            "/v2/registry/subscription",
            post(update_subscription),
        ),
        Route::new(
            "registry_get_dockerCredentials",
            M::GET,
            "/v2/registry/docker-credentials",
            get(registry_docker_credentials),
        ),
        Route::new(
            "registry_validate_name",
            M::POST,
            "/v2/registry/validate-name",
            post(validate_name),
        ),
        Route::new(
            "registry_list_repositories",
            M::GET,
            "/v2/registry/{registry_name}/repositories",
            get(list_repositories_v1),
        ),
        Route::new(
            "registry_list_repositoriesV2",
            M::GET,
            "/v2/registry/{registry_name}/repositoriesV2",
            get(list_repositories_v2),
        ),
        Route::new(
            "registry_list_repositoryTags",
            M::GET,
            "/v2/registry/{registry_name}/repositories/{repository_name}/tags",
            get(list_tags),
        ),
        Route::new(
            "registry_delete_repositoryTag",
            M::DELETE,
            "/v2/registry/{registry_name}/repositories/{repository_name}/tags/{repository_tag}",
            delete(delete_tag),
        ),
        Route::new(
            "registry_list_repositoryManifests",
            M::GET,
            "/v2/registry/{registry_name}/repositories/{repository_name}/digests",
            get(list_manifests),
        ),
        Route::new(
            "registry_delete_repositoryManifest",
            M::DELETE,
            "/v2/registry/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
            delete(delete_manifest),
        ),
        Route::new(
            "registry_run_garbageCollection",
            M::POST,
            "/v2/registry/{registry_name}/garbage-collection",
            post(run_gc),
        ),
        Route::new(
            "registry_get_garbageCollection",
            M::GET,
            "/v2/registry/{registry_name}/garbage-collection",
            get(get_gc),
        ),
        Route::new(
            "registry_list_garbageCollections",
            M::GET,
            "/v2/registry/{registry_name}/garbage-collections",
            get(list_gcs),
        ),
        Route::new(
            "registry_update_garbageCollection",
            M::PUT,
            "/v2/registry/{registry_name}/garbage-collection/{garbage_collection_uuid}",
            put(update_gc),
        ),
        Route::new(
            "registry_get_options",
            M::GET,
            "/v2/registry/options",
            get(get_options),
        ),
    ]
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// Runs `f` on the settled account state, turning a refusal into DO's
/// error body.
fn with_state(shared: &Shared, f: impl FnOnce(&mut State, DateTime<Utc>) -> Answer) -> Response {
    let now = shared.now();
    let mut world = shared.world();
    let state = &mut world.digitalocean;
    if state.settle(now) {
        shared.touch();
    }
    f(state, now).unwrap_or_else(Refusal::into_response)
}

fn ok<T: Serialize>(body: &T) -> Answer {
    Ok(api::json(StatusCode::OK, body))
}

async fn registries_list(AxumState(shared): AxumState<Shared>) -> Response {
    with_state(&shared, |st, now| {
        let registries = st
            .registries
            .iter()
            .map(|(name, r)| st.registry_body(name, r, now))
            .collect();
        ok(&types::AllRegistriesInfo {
            registries,
            total_storage_usage_bytes: Some(int(st.storage_bytes())),
        })
    })
}

fn tier_of(slug: Option<&types::SubscriptionTierSlug>) -> Result<Option<Tier>, Refusal> {
    match slug {
        None => Ok(None),
        Some(s) => Tier::from_slug(s.as_str()).map(Some).ok_or_else(|| {
            Refusal::invalid(format!("invalid subscription_tier_slug {:?}", s.as_str()))
        }),
    }
}

async fn registries_create(
    AxumState(shared): AxumState<Shared>,
    Body(body): Body<types::MultiregistryCreate>,
) -> Response {
    with_state(&shared, |st, now| {
        let tier = tier_of(body.subscription_tier_slug.as_ref())?;
        let region = body.region.as_ref().map(|r| r.as_str().to_string());
        st.create_registry(&body.name, region.as_deref(), tier, now)?;
        let r = st.registry(&body.name)?;
        Ok(api::json(
            StatusCode::CREATED,
            &types::MultiregistryInfo {
                registry: Some(multiregistry_body(&body.name, r, now)),
            },
        ))
    })
}

async fn registries_get(
    AxumState(shared): AxumState<Shared>,
    PathOf(name): PathOf<String>,
) -> Response {
    with_state(&shared, |st, now| {
        let r = st.registry(&name)?;
        ok(&types::MultiregistryInfo {
            registry: Some(multiregistry_body(&name, r, now)),
        })
    })
}

async fn registries_delete(
    AxumState(shared): AxumState<Shared>,
    PathOf(name): PathOf<String>,
) -> Response {
    with_state(&shared, |st, _| {
        st.registries.remove(&name).ok_or_else(Refusal::not_found)?;
        Ok(api::no_content())
    })
}

async fn registry_get(AxumState(shared): AxumState<Shared>) -> Response {
    with_state(&shared, |st, now| {
        let name = st.only_registry()?;
        let r = st.registry(name)?;
        ok(&types::RegistryInfo {
            registry: Some(st.registry_body(name, r, now)),
        })
    })
}

async fn registry_create(
    AxumState(shared): AxumState<Shared>,
    Body(body): Body<types::RegistryCreate>,
) -> Response {
    with_state(&shared, |st, now| {
        if !st.registries.is_empty() {
            if st.registries.contains_key(body.name.as_str()) {
                return Err(Refusal::new(
                    StatusCode::CONFLICT,
                    format!("registry name {:?} is already in use", body.name.as_str()),
                ));
            }
            return Err(Refusal::new(
                StatusCode::PRECONDITION_FAILED,
                "the account already has a registry; use /v2/registries to create more",
            ));
        }
        let tier = tier_of(Some(&body.subscription_tier_slug))?;
        let region = body.region.as_ref().map(|r| r.as_str().to_string());
        if let Some(r) = &region
            && !LEGACY_REGIONS.contains(&r.as_str())
        {
            return Err(Refusal::invalid(format!("invalid region {r:?}")));
        }
        st.create_registry(&body.name, region.as_deref(), tier, now)?;
        let r = st.registry(&body.name)?;
        Ok(api::json(
            StatusCode::CREATED,
            &types::RegistryInfo {
                registry: Some(st.registry_body(&body.name, r, now)),
            },
        ))
    })
}

async fn registry_delete(AxumState(shared): AxumState<Shared>) -> Response {
    with_state(&shared, |st, _| {
        let name = st.only_registry()?.clone();
        st.registries.remove(&name);
        Ok(api::no_content())
    })
}

async fn validate_name(
    AxumState(shared): AxumState<Shared>,
    Body(body): Body<types::ValidateRegistry>,
) -> Response {
    with_state(&shared, |st, _| {
        if st.registries.contains_key(body.name.as_str()) {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                format!("registry name {:?} is already in use", body.name.as_str()),
            ));
        }
        Ok(api::no_content())
    })
}

async fn get_subscription(AxumState(shared): AxumState<Shared>) -> Response {
    with_state(&shared, |st, _| {
        let subscription = st.subscription_body().ok_or_else(Refusal::not_found)?;
        ok(&types::SubscriptionInfo {
            subscription: Some(subscription),
        })
    })
}

async fn update_subscription(
    AxumState(shared): AxumState<Shared>,
    OptionalBody(body): OptionalBody<types::SubscriptionUpdate>,
) -> Response {
    with_state(&shared, |st, now| {
        let slug = body.and_then(|b| b.tier_slug);
        let tier =
            tier_of(slug.as_ref())?.ok_or_else(|| Refusal::invalid("tier_slug is required"))?;
        if st.subscription.is_none() {
            return Err(Refusal::not_found());
        }
        st.set_tier(tier, now)?;
        ok(&types::SubscriptionInfo {
            subscription: st.subscription_body(),
        })
    })
}

async fn get_options(AxumState(shared): AxumState<Shared>) -> Response {
    with_state(&shared, |st, _| {
        let registries = st.registries.len();
        let subscription_tiers = Tier::ALL
            .into_iter()
            .map(|tier| {
                let (reasons, over_registries) = st.ineligibility(tier, registries);
                let t = tier.body();
                types::SubscriptionTierOption {
                    allow_storage_overage: t.allow_storage_overage,
                    eligibility_reasons: reasons
                        .iter()
                        .map(|r| types::SubscriptionTierEligibilityReason::from(*r))
                        .collect(),
                    eligible: Some(reasons.is_empty() && !over_registries),
                    included_bandwidth_bytes: t.included_bandwidth_bytes,
                    included_repositories: t.included_repositories,
                    included_storage_bytes: t.included_storage_bytes,
                    monthly_price_in_cents: t.monthly_price_in_cents,
                    name: t.name,
                    slug: t.slug,
                    storage_overage_price_in_cents: t.storage_overage_price_in_cents,
                }
            })
            .collect();
        ok(&types::RegistryOptionsInfo {
            options: Some(types::RegistryOptions {
                available_regions: REGIONS.iter().map(|r| r.to_string()).collect(),
                subscription_tiers,
            }),
        })
    })
}

// --- Docker credentials ----------------------------------------------------

#[derive(Deserialize)]
struct CredentialsQuery {
    expiry_seconds: Option<u64>,
    read_write: Option<bool>,
}

/// A fresh secret (never stored) as Docker's `config.json`.
fn docker_credentials(shared: &Shared, registry: Option<String>, q: CredentialsQuery) -> Response {
    let secret = {
        let mut ids = shared.ids();
        format!("dop_v1_{}", ids.alphanumeric(64))
    };
    with_state(shared, |st, now| {
        if let Some(name) = &registry {
            st.registry(name)?;
        }
        let expires_at = match q.expiry_seconds {
            None | Some(0) => None,
            Some(s) => {
                let secs = i64::try_from(s)
                    .ok()
                    .and_then(chrono::TimeDelta::try_seconds)
                    .ok_or_else(|| Refusal::invalid("expiry_seconds is too large"))?;
                Some(
                    now.checked_add_signed(secs)
                        .ok_or_else(|| Refusal::invalid("expiry_seconds is too large"))?,
                )
            }
        };
        st.issued_credentials.push(IssuedCredentials {
            registry,
            read_write: q.read_write.unwrap_or(false),
            expires_at,
            issued_at: now,
        });
        if st.issued_credentials.len() > ISSUED_KEPT {
            let extra = st.issued_credentials.len() - ISSUED_KEPT;
            st.issued_credentials.drain(..extra);
        }
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{secret}:{secret}"));
        let mut auths = std::collections::HashMap::new();
        auths.insert(
            DOCKER_HOST.to_string(),
            types::DockerCredentialsAuth {
                auth: Some(auth.into()),
            },
        );
        ok(&types::DockerCredentials { auths })
    })
}

async fn registries_docker_credentials(
    AxumState(shared): AxumState<Shared>,
    PathOf(name): PathOf<String>,
    Query(q): Query<CredentialsQuery>,
) -> Response {
    docker_credentials(&shared, Some(name), q)
}

async fn registry_docker_credentials(
    AxumState(shared): AxumState<Shared>,
    Query(q): Query<CredentialsQuery>,
) -> Response {
    docker_credentials(&shared, None, q)
}

// --- paging -----------------------------------------------------------------

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    page_token: Option<String>,
}

/// Everything but RFC 3986's unreserved characters is escaped.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A page the client asked for: 1-based page, size and first item.
struct Paging {
    page: u64,
    per_page: u64,
    offset: u64,
}

impl PageQuery {
    /// `page`/`per_page` (and, where `tokens`, `page_token`), checked.
    fn paging(&self, tokens: bool) -> Result<Paging, Refusal> {
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(Refusal::invalid(format!(
                "per_page must be between 1 and {MAX_PER_PAGE}"
            )));
        }
        if let (true, Some(token)) = (tokens, &self.page_token) {
            let offset = decode_token(token)
                .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "invalid page_token"))?;
            return Ok(Paging {
                page: offset / per_page + 1,
                per_page,
                offset,
            });
        }
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(Refusal::invalid("page must be at least 1"));
        }
        Ok(Paging {
            page,
            per_page,
            offset: (page - 1).saturating_mul(per_page),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Token {
    offset: u64,
}

fn encode_token(offset: u64) -> String {
    let json = serde_json::to_vec(&Token { offset }).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_token(token: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Token>(&bytes)
        .ok()
        .map(|t| t.offset)
}

/// This request's URL with the paging parameters replaced.
fn page_url(url: &RequestUrl, set: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "page" | "per_page" | "page_token"))
        .cloned()
        .collect();
    pairs.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, QUERY_VALUE),
                percent_encoding::utf8_percent_encode(v, QUERY_VALUE)
            )
        })
        .collect();
    format!("{}?{}", url.without_query, query.join("&"))
}

/// One page of `items`, with DO's `links.pages` and `meta`.
fn paged<T: Clone>(
    items: &[T],
    p: &Paging,
    url: &RequestUrl,
    tokens: bool,
) -> (Vec<T>, Option<types::PageLinks>, types::MetaProperties) {
    let total = items.len() as u64;
    let pages = total.div_ceil(p.per_page).max(1);
    let page: Vec<T> = api::slice_of(items, p.offset, p.per_page).to_vec();
    let at = |n: u64, token: Option<u64>| {
        let mut set = vec![
            ("page", n.to_string()),
            ("per_page", p.per_page.to_string()),
        ];
        if let (true, Some(offset)) = (tokens, token) {
            set.push(("page_token", encode_token(offset)));
        }
        page_url(url, &set)
    };
    let mut links = types::Pages::default();
    if p.page > 1 {
        links.first = Some(at(1, None));
        let prev = p.offset.saturating_sub(p.per_page);
        links.prev = Some(at(p.page - 1, Some(prev)));
    }
    let next = p.offset.saturating_add(p.per_page);
    if next < total {
        links.next = Some(at(p.page + 1, Some(next)));
        links.last = Some(at(pages, None));
    }
    let links = if links.first.is_none() && links.next.is_none() {
        None
    } else {
        Some(types::PageLinks { pages: Some(links) })
    };
    (page, links, types::MetaProperties { total: int(total) })
}

// --- repositories, tags, manifests --------------------------------------------

fn tag_body(registry: &str, repository: &str, tag: &str, m: &Manifest) -> types::RepositoryTag {
    types::RepositoryTag {
        compressed_size_bytes: Some(int(m.compressed_size_bytes())),
        manifest_digest: Some(m.digest.clone()),
        registry_name: Some(registry.to_string()),
        repository: Some(repository.to_string()),
        size_bytes: Some(int(m.size_bytes)),
        tag: Some(tag.to_string()),
        updated_at: Some(m.updated_at),
    }
}

fn manifest_body(
    registry: &str,
    repository: &str,
    repo: &crate::content::Repository,
    m: &Manifest,
) -> types::RepositoryManifest {
    types::RepositoryManifest {
        blobs: m
            .blobs
            .iter()
            .map(|b| types::RepositoryBlob {
                compressed_size_bytes: Some(int(b.compressed_size_bytes)),
                digest: Some(b.digest.clone()),
            })
            .collect(),
        compressed_size_bytes: Some(int(m.compressed_size_bytes())),
        digest: Some(m.digest.clone()),
        registry_name: Some(registry.to_string()),
        repository: Some(repository.to_string()),
        size_bytes: Some(int(m.size_bytes)),
        tags: repo.tags_of(&m.digest),
        updated_at: Some(m.updated_at),
    }
}

/// Tags of a repository, newest first (ties by name): (tag, manifest).
fn tags_newest_first(repo: &crate::content::Repository) -> Vec<(&String, &Manifest)> {
    let mut tags: Vec<(&String, &Manifest)> = repo
        .tags
        .iter()
        .filter_map(|(t, d)| repo.manifests.get(d).map(|m| (t, m)))
        .collect();
    tags.sort_by(|a, b| {
        b.1.updated_at
            .cmp(&a.1.updated_at)
            .then_with(|| a.0.cmp(b.0))
    });
    tags
}

/// Manifests of a repository, newest first (ties by digest).
fn manifests_newest_first(repo: &crate::content::Repository) -> Vec<&Manifest> {
    let mut manifests: Vec<&Manifest> = repo.manifests.values().collect();
    manifests.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.digest.cmp(&b.digest))
    });
    manifests
}

async fn list_repositories_v1(
    AxumState(shared): AxumState<Shared>,
    PathOf(name): PathOf<String>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Response {
    with_state(&shared, |st, _| {
        let p = q.paging(false)?;
        let r = st.registry(&name)?;
        let all: Vec<types::Repository> = r
            .repositories()
            .map(|(repo_name, repo)| types::Repository {
                latest_tag: tags_newest_first(repo)
                    .first()
                    .map(|(t, m)| tag_body(&name, repo_name, t, m)),
                name: Some(repo_name.clone()),
                registry_name: Some(name.clone()),
                tag_count: Some(int(repo.tags.len() as u64)),
            })
            .collect();
        let (repositories, links, meta) = paged(&all, &p, &url, false);
        ok(&types::RepositoryList {
            links,
            meta,
            repositories,
        })
    })
}

async fn list_repositories_v2(
    AxumState(shared): AxumState<Shared>,
    PathOf(name): PathOf<String>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Response {
    with_state(&shared, |st, _| {
        let p = q.paging(true)?;
        let r = st.registry(&name)?;
        let all: Vec<types::RepositoryV2> = r
            .repositories()
            .map(|(repo_name, repo)| types::RepositoryV2 {
                latest_manifest: manifests_newest_first(repo)
                    .first()
                    .map(|m| manifest_body(&name, repo_name, repo, m)),
                manifest_count: Some(int(repo.manifests.len() as u64)),
                name: Some(repo_name.clone()),
                registry_name: Some(name.clone()),
                tag_count: Some(int(repo.tags.len() as u64)),
            })
            .collect();
        let (repositories, links, meta) = paged(&all, &p, &url, true);
        ok(&types::RepositoryV2List {
            links,
            meta,
            repositories,
        })
    })
}

async fn list_tags(
    AxumState(shared): AxumState<Shared>,
    PathOf((name, repository)): PathOf<(String, String)>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Response {
    with_state(&shared, |st, _| {
        let p = q.paging(false)?;
        let r = st.registry(&name)?;
        let repo = r
            .store
            .repositories
            .get(&repository)
            .ok_or_else(Refusal::not_found)?;
        // Sorted once per change of the world, not once per page.
        let order = shared.cached(&format!("digitalocean/tags/{name}/{repository}"), || {
            tags_newest_first(repo)
                .into_iter()
                .map(|(t, m)| (t.clone(), m.digest.clone()))
                .collect::<Vec<_>>()
        });
        let (page, links, meta) = paged(&order, &p, &url, false);
        let tags = page
            .iter()
            .filter_map(|(t, d)| Some(tag_body(&name, &repository, t, repo.manifests.get(d)?)))
            .collect();
        ok(&types::RepositoryTagList { links, meta, tags })
    })
}

async fn list_manifests(
    AxumState(shared): AxumState<Shared>,
    PathOf((name, repository)): PathOf<(String, String)>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Response {
    with_state(&shared, |st, _| {
        let p = q.paging(false)?;
        let r = st.registry(&name)?;
        let repo = r
            .store
            .repositories
            .get(&repository)
            .ok_or_else(Refusal::not_found)?;
        let order = shared.cached(
            &format!("digitalocean/manifests/{name}/{repository}"),
            || {
                manifests_newest_first(repo)
                    .into_iter()
                    .map(|m| m.digest.clone())
                    .collect::<Vec<_>>()
            },
        );
        let (page, links, meta) = paged(&order, &p, &url, false);
        let manifests = page
            .iter()
            .filter_map(|d| {
                Some(manifest_body(
                    &name,
                    &repository,
                    repo,
                    repo.manifests.get(d)?,
                ))
            })
            .collect();
        ok(&types::RepositoryManifestList {
            links,
            manifests,
            meta,
        })
    })
}

async fn delete_repository(
    AxumState(shared): AxumState<Shared>,
    PathOf((name, repository)): PathOf<(String, String)>,
) -> Response {
    with_state(&shared, |st, _| {
        let r = st.registry_mut(&name)?;
        r.store
            .repositories
            .remove(&repository)
            .ok_or_else(Refusal::not_found)?;
        Ok(api::no_content())
    })
}

async fn delete_tag(
    AxumState(shared): AxumState<Shared>,
    PathOf((name, repository, tag)): PathOf<(String, String, String)>,
) -> Response {
    with_state(&shared, |st, _| {
        let r = st.registry_mut(&name)?;
        let repo = r
            .store
            .repositories
            .get_mut(&repository)
            .ok_or_else(Refusal::not_found)?;
        // The manifest stays, untagged, until garbage collection.
        repo.tags.remove(&tag).ok_or_else(Refusal::not_found)?;
        Ok(api::no_content())
    })
}

async fn delete_manifest(
    AxumState(shared): AxumState<Shared>,
    PathOf((name, repository, digest)): PathOf<(String, String, String)>,
) -> Response {
    with_state(&shared, |st, _| {
        let r = st.registry_mut(&name)?;
        let repo = r
            .store
            .repositories
            .get_mut(&repository)
            .ok_or_else(Refusal::not_found)?;
        repo.manifests
            .remove(&digest)
            .ok_or_else(Refusal::not_found)?;
        // Its tags go with it; its blobs stay until garbage collection.
        repo.tags.retain(|_, d| *d != digest);
        Ok(api::no_content())
    })
}

// --- garbage collection ----------------------------------------------------------

async fn run_gc(
    AxumState(shared): AxumState<Shared>,
    PathOf(name): PathOf<String>,
    OptionalBody(body): OptionalBody<types::RegistryRunGc>,
) -> Response {
    let uuid = shared.ids().uuid().to_string();
    with_state(&shared, |st, now| {
        let kind = match body.and_then(|b| b.type_) {
            None => GcType::UnreferencedBlobsOnly,
            Some(t) => GcType::parse(t.as_str()).ok_or_else(|| {
                Refusal::invalid(format!("invalid garbage collection type {:?}", t.as_str()))
            })?,
        };
        let r = st.registry_mut(&name)?;
        if r.active_gc(now).is_some() {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                "a garbage collection is already active on this registry",
            ));
        }
        let gc = GarbageCollection {
            uuid,
            kind,
            created_at: now,
            cancelled_at: None,
            collected: None,
        };
        let body = gc.body(&name, now);
        r.garbage_collections.push(gc);
        Ok(api::json(
            StatusCode::CREATED,
            &types::GarbageCollectionInfo {
                garbage_collection: Some(body),
            },
        ))
    })
}

async fn get_gc(AxumState(shared): AxumState<Shared>, PathOf(name): PathOf<String>) -> Response {
    with_state(&shared, |st, now| {
        let r = st.registry(&name)?;
        let gc = r.active_gc(now).ok_or_else(Refusal::not_found)?;
        ok(&types::GarbageCollectionInfo {
            garbage_collection: Some(gc.body(&name, now)),
        })
    })
}

async fn list_gcs(
    AxumState(shared): AxumState<Shared>,
    PathOf(name): PathOf<String>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Response {
    with_state(&shared, |st, now| {
        let p = q.paging(false)?;
        let r = st.registry(&name)?;
        // Newest first.
        let all: Vec<types::GarbageCollection> = r
            .garbage_collections
            .iter()
            .rev()
            .map(|gc| gc.body(&name, now))
            .collect();
        let (garbage_collections, links, meta) = paged(&all, &p, &url, false);
        ok(&types::GarbageCollectionList {
            garbage_collections,
            links,
            meta: Some(meta),
        })
    })
}

async fn update_gc(
    AxumState(shared): AxumState<Shared>,
    PathOf((name, uuid)): PathOf<(String, String)>,
    Body(body): Body<types::UpdateGarbageCollection>,
) -> Response {
    with_state(&shared, |st, now| {
        let r = st.registry_mut(&name)?;
        let gc = r
            .garbage_collections
            .iter_mut()
            .find(|gc| gc.uuid == uuid)
            .ok_or_else(Refusal::not_found)?;
        if body.cancel == Some(true) {
            if !gc.status_at(now).0.active() {
                return Err(Refusal::new(
                    StatusCode::CONFLICT,
                    "the garbage collection is no longer active",
                ));
            }
            gc.cancelled_at = Some(now);
        }
        ok(&types::GarbageCollectionInfo {
            garbage_collection: Some(gc.body(&name, now)),
        })
    })
}

// ---------------------------------------------------------------------------
// Demo
// ---------------------------------------------------------------------------

pub(crate) fn demo(state: &mut State, ids: &mut ContentGen, now: DateTime<Utc>) {
    // A fresh state always takes these; a snapshot that already has a
    // registry called "demo" keeps its own.
    if state
        .create_registry("demo", Some("fra1"), Some(Tier::Professional), now)
        .is_err()
    {
        return;
    }
    for (repository, tags) in [("web", 12), ("api/server", 5)] {
        let _ = state.seed_repository("demo", repository, tags, ids, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn a_gc_walks_its_phases_and_is_applied_once() {
        let mut st = State::default();
        let mut ids = ContentGen::new(1);
        st.create_registry("r", None, Some(Tier::Basic), t0())
            .unwrap();
        st.seed_repository("r", "app", 3, &mut ids, t0()).unwrap();
        let repo = st
            .registries
            .get_mut("r")
            .unwrap()
            .store
            .repositories
            .get_mut("app")
            .unwrap();
        repo.tags.remove("v1");
        let before = st.storage_bytes();
        let gc = GarbageCollection {
            uuid: "u".into(),
            kind: GcType::UntaggedManifestsAndUnreferencedBlobs,
            created_at: t0(),
            cancelled_at: None,
            collected: None,
        };
        st.registries
            .get_mut("r")
            .unwrap()
            .garbage_collections
            .push(gc.clone());
        let mut at = t0();
        for (status, length) in [
            (GcStatus::Requested, GC_REQUESTED),
            (GcStatus::WaitingForJwts, GC_WAITING_FOR_JWTS),
            (GcStatus::Scanning, GC_SCANNING),
            (GcStatus::Deleting, GC_DELETING),
        ] {
            assert_eq!(gc.status_at(at).0, status);
            st.settle(at);
            assert_eq!(st.storage_bytes(), before);
            at += length;
        }
        assert_eq!(gc.status_at(at), (GcStatus::Succeeded, at));
        st.settle(at);
        st.settle(at + GC_DELETING);
        let done = st.registries["r"].garbage_collections[0].collected.unwrap();
        assert!(done.freed_bytes > 0);
        assert_eq!(st.storage_bytes(), before - done.freed_bytes);
    }

    #[test]
    fn the_starter_tier_holds_one_repository() {
        let mut st = State::default();
        let mut ids = ContentGen::new(2);
        st.create_registry("r", None, Some(Tier::Starter), t0())
            .unwrap();
        st.seed_repository("r", "one", 1, &mut ids, t0()).unwrap();
        st.seed_repository("r", "one", 2, &mut ids, t0()).unwrap();
        let err = st
            .seed_repository("r", "two", 1, &mut ids, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::PRECONDITION_FAILED);
        st.set_tier(Tier::Basic, t0()).unwrap();
        st.seed_repository("r", "two", 1, &mut ids, t0()).unwrap();
        let err = st.set_tier(Tier::Starter, t0()).unwrap_err();
        assert!(err.message.contains("OverRepositoryLimit"), "{err}");
    }

    #[test]
    fn page_tokens_round_trip() {
        assert_eq!(decode_token(&encode_token(20)), Some(20));
        assert_eq!(encode_token(20), "eyJvZmZzZXQiOjIwfQ");
        assert_eq!(decode_token("not a token"), None);
    }
}
