//! DigitalOcean's state and what requests do to it: the account's
//! registries and subscription with the tier's limits, garbage collections
//! that move with the virtual clock, issued credentials, and paging by page
//! and by token.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use regkit_digitalocean::types;
use serde::{Deserialize, Serialize};

use crate::content::{Collected, ContentGen, Manifest, Store, UntaggedCollection};
use crate::error::{ApiError, StatusCode};

/// The status of a request that breaks the schema.
pub(crate) const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

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
pub(crate) const LEGACY_REGIONS: &[&str] = &["nyc3", "sfo3", "ams3", "sgp1", "fra1"];
/// The region picked when a create names none.
pub(crate) const DEFAULT_REGION: &str = "nyc3";
/// The host Docker credentials are for (the manifest's shared registry host).
pub fn docker_host() -> &'static str {
    regkit_digitalocean::PROVIDER
        .shared_registry_host()
        .unwrap_or_default()
}
/// Issued-credential records kept (the oldest are dropped).
pub(crate) const ISSUED_KEPT: usize = 100;
pub(crate) const DEFAULT_PER_PAGE: u64 = 20;
pub(crate) const MAX_PER_PAGE: u64 = 200;

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
    /// What a collection of untagged manifests does to an index's
    /// children and a tagged image's referrers (an emulator option:
    /// DigitalOcean documents neither).
    pub untagged_collection: UntaggedCollection,
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

    pub(crate) fn from_slug(slug: &str) -> Option<Tier> {
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

    pub(crate) fn body(self) -> types::SubscriptionTier {
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
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GcType::UntaggedManifestsOnly => "untagged manifests only",
            GcType::UnreferencedBlobsOnly => "unreferenced blobs only",
            GcType::UntaggedManifestsAndUnreferencedBlobs => {
                "untagged manifests and unreferenced blobs"
            }
        }
    }

    pub(crate) fn parse(s: &str) -> Option<GcType> {
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

    pub(crate) fn active(self) -> bool {
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

    pub(crate) fn body(&self, registry: &str, now: DateTime<Utc>) -> types::GarbageCollection {
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
    /// SHA-256 of the secret (hex), so the data plane can recognize it;
    /// the secret itself is not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_sha256: Option<String>,
}

impl IssuedCredentials {
    /// Whether they still work at `now`.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

/// Why DO refuses a request: its status and message (what [`State`]'s
/// helpers return, and what handlers send as DO's error body).
pub type Refusal = ApiError;

/// DO's 404.
pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("The resource you requested could not be found.")
}

/// DO's 422 for a request that breaks the schema.
pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(INVALID, message)
}

pub(crate) fn int(n: u64) -> i64 {
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

    /// One repository, to change it (404 when there is none).
    pub fn repository_mut(
        &mut self,
        name: &str,
    ) -> Result<&mut crate::content::Repository, ApiError> {
        self.store.repositories.get_mut(name).ok_or_else(not_found)
    }

    /// One repository (404 when there is none).
    pub fn repository(&self, name: &str) -> Result<&crate::content::Repository, ApiError> {
        self.store.repositories.get(name).ok_or_else(not_found)
    }

    /// The garbage collection running now, if any.
    pub fn active_gc(&self, now: DateTime<Utc>) -> Option<&GarbageCollection> {
        self.garbage_collections
            .iter()
            .find(|gc| gc.status_at(now).0.active())
    }

    /// Applies every run that has reached `succeeded` and not been applied;
    /// whether any was.
    pub(crate) fn settle(&mut self, now: DateTime<Utc>, policy: UntaggedCollection) -> bool {
        let mut changed = false;
        for gc in &mut self.garbage_collections {
            if gc.collected.is_none() && gc.status_at(now).0 == GcStatus::Succeeded {
                let (manifests, blobs) = gc.kind.collects();
                gc.collected = Some(self.store.collect(manifests, blobs, policy));
                changed = true;
            }
        }
        changed
    }

    /// Repositories holding at least one manifest (an emptied repository
    /// is gone from DO's listings).
    pub(crate) fn repositories(
        &self,
    ) -> impl Iterator<Item = (&String, &crate::content::Repository)> {
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
        let policy = self.untagged_collection;
        for r in self.registries.values_mut() {
            changed |= r.settle(now, policy);
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
    pub(crate) fn ineligibility(&self, tier: Tier, registries: usize) -> (Vec<&'static str>, bool) {
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

    fn check_tier(&self, tier: Tier, registries: usize) -> Result<(), ApiError> {
        let (mut reasons, over_registries) = self.ineligibility(tier, registries);
        if over_registries {
            reasons.insert(0, "OverRegistryLimit");
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(ApiError::new(
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
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("registry name {name:?} is already in use"),
            ));
        }
        let region = region.unwrap_or(DEFAULT_REGION);
        if !REGIONS.contains(&region) {
            return Err(invalid(format!("invalid region {region:?}")));
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
    ) -> Result<(), ApiError> {
        let included = self.tier().included_repositories();
        let count = self.repository_count() as u64;
        let reg = self.registries.get_mut(registry).ok_or_else(not_found)?;
        let new = !reg.repositories().any(|(name, _)| name == repository);
        if new && included > 0 && count >= included {
            return Err(ApiError::new(
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

    pub(crate) fn registry(&self, name: &str) -> Result<&Registry, Refusal> {
        self.registries.get(name).ok_or_else(not_found)
    }

    pub(crate) fn registry_mut(&mut self, name: &str) -> Result<&mut Registry, Refusal> {
        self.registries.get_mut(name).ok_or_else(not_found)
    }

    /// The only registry, as the single-registry API sees it.
    pub(crate) fn only_registry(&self) -> Result<&String, Refusal> {
        let mut names = self.registries.keys();
        match (names.next(), names.next()) {
            (None, _) => Err(not_found()),
            (Some(name), None) => Ok(name),
            (Some(_), Some(_)) => Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "This API is not supported if you have created multiple registries. Please use \
                 /v2/registries/{registry_name} instead.",
            )),
        }
    }

    pub(crate) fn subscription_body(&self) -> Option<types::Subscription> {
        self.subscription.as_ref().map(|s| types::Subscription {
            created_at: Some(s.created_at),
            tier: Some(s.tier.body()),
            updated_at: Some(s.updated_at),
        })
    }

    pub(crate) fn registry_body(
        &self,
        name: &str,
        r: &Registry,
        now: DateTime<Utc>,
    ) -> types::Registry {
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

pub(crate) fn multiregistry_body(
    name: &str,
    r: &Registry,
    now: DateTime<Utc>,
) -> types::Multiregistry {
    types::Multiregistry {
        created_at: Some(r.created_at),
        name: Some(name.to_string()),
        region: Some(r.region.clone()),
        storage_usage_bytes: Some(int(r.store.storage_bytes())),
        storage_usage_bytes_updated_at: Some(now),
    }
}

/// `page`, `per_page` and `page_token` as sent.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// 1-based page.
    pub page: Option<u64>,
    /// Items per page.
    pub per_page: Option<u64>,
    /// An opaque offset (V2 repository lists).
    pub page_token: Option<String>,
}

/// A page the client asked for: 1-based page, size and first item.
#[derive(Debug)]
pub struct Paging {
    /// 1-based page.
    pub page: u64,
    /// Items per page.
    pub per_page: u64,
    /// The first item.
    pub offset: u64,
}

impl PageQuery {
    /// `page`/`per_page` (and, where `tokens`, `page_token`), checked.
    pub fn paging(&self, tokens: bool) -> Result<Paging, Refusal> {
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(invalid(format!(
                "per_page must be between 1 and {MAX_PER_PAGE}"
            )));
        }
        if let (true, Some(token)) = (tokens, &self.page_token) {
            let offset = decode_token(token)
                .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid page_token"))?;
            return Ok(Paging {
                page: offset / per_page + 1,
                per_page,
                offset,
            });
        }
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(invalid("page must be at least 1"));
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

/// The `page_token` for an offset.
pub fn encode_token(offset: u64) -> String {
    let json = serde_json::to_vec(&Token { offset }).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// The offset a `page_token` names.
pub fn decode_token(token: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Token>(&bytes)
        .ok()
        .map(|t| t.offset)
}

/// Tags of a repository, newest first (ties by name): (tag, manifest).
pub fn tags_newest_first(repo: &crate::content::Repository) -> Vec<(&String, &Manifest)> {
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
pub fn manifests_newest_first(repo: &crate::content::Repository) -> Vec<&Manifest> {
    let mut manifests: Vec<&Manifest> = repo.manifests.values().collect();
    manifests.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.digest.cmp(&b.digest))
    });
    manifests
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
