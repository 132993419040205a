//! IONOS Container Registry (API 1.2.1): registries with their weekly
//! garbage-collection schedule, features and API allow-list; access tokens
//! whose password is shown once; repositories and artifacts (read and
//! delete) with the vulnerability scanner's findings; locations and the
//! name check.
//!
//! Facts kept from the service:
//!
//! - A new registry is `BUSY` (empty hostname) while it is provisioned, then
//!   `AVAILABLE` with the hostname `<name>.cr.<location with - for />.ionos.com`.
//! - Registry names are unique in the account (a taken name is a 400, the
//!   only client error the create call declares); token names are unique per
//!   registry (409).
//! - Registries page with `limit` and an opaque `pagination.token`; tokens
//!   with `offset`/`limit` and a `total`; repositories, artifacts and
//!   vulnerabilities with `offset`/`limit` and `_links.next` while more follow.
//! - A token's password is only in the response that creates it; the state
//!   never holds it.
//! - Deleting a repository frees no storage by itself: the registry's weekly
//!   garbage collection (off unless scheduled) frees the layers nothing
//!   references, when the virtual clock passes one of its runs.
//! - Errors are `{httpStatus, messages: [{errorCode, message}]}`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::extract::{Path, State as AppState};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, head, patch, post, put};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use regkit_core::Nullable;
use regkit_ionos::types;
use serde::{Deserialize, Serialize};

use crate::api::{self, Body, Query, RequestUrl, Route};
use crate::content::{ContentGen, Manifest, Store};
use crate::server::Shared;

/// What this provider's API remembers: the account's registries (with their
/// tokens and content) and the advisory data the scanner reports from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Registries by id.
    pub registries: BTreeMap<String, Registry>,
    /// Known vulnerabilities by id (`CVE-…`), served by
    /// `vulnerabilitiesFindByID` and referenced by [`Registry::findings`].
    pub vulnerabilities: BTreeMap<String, Advisory>,
}

impl State {
    /// The registry called `name`.
    pub fn registry_named(&self, name: &str) -> Option<&Registry> {
        self.registries.values().find(|r| r.name == name)
    }

    /// The registry called `name`, to change it.
    pub fn registry_named_mut(&mut self, name: &str) -> Option<&mut Registry> {
        self.registries.values_mut().find(|r| r.name == name)
    }

    /// Adds a registry (already provisioned) and returns it, for seeding.
    pub fn add_registry(
        &mut self,
        id: &str,
        name: &str,
        location: &str,
        now: DateTime<Utc>,
    ) -> &mut Registry {
        let registry = Registry::new(
            id,
            name,
            location,
            now - chrono::Duration::seconds(PROVISIONING_SECS),
        );
        self.registries.entry(id.to_string()).or_insert(registry)
    }
}

/// One registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// Id (a UUID when the service picks it; `registriesPut` may choose any).
    pub id: String,
    /// Name, unique in the account; part of the hostname.
    pub name: String,
    /// Location id (`de/fra`, …).
    pub location: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its settings last changed.
    #[serde(default)]
    pub modified_at: Option<DateTime<Utc>>,
    /// When provisioning ends (`BUSY` until then, `AVAILABLE` after; a
    /// state file that leaves it out means long ago).
    #[serde(default)]
    pub ready_at: DateTime<Utc>,
    /// Weekly garbage-collection schedule, if any.
    #[serde(default)]
    pub garbage_collection: Option<Schedule>,
    /// Whether the scanner runs (findings are reported only then).
    #[serde(default = "yes")]
    pub vulnerability_scanning: bool,
    /// Addresses or CIDR ranges allowed to reach the registry API (empty: all).
    #[serde(default)]
    pub api_subnet_allow_list: Vec<String>,
    /// Tokens by id (no passwords: the service shows them once).
    #[serde(default)]
    pub tokens: BTreeMap<String, Token>,
    /// Repositories, manifests (artifacts) and blobs.
    #[serde(default)]
    pub content: Store,
    /// Vulnerability ids the scanner found, by artifact digest.
    #[serde(default)]
    pub findings: BTreeMap<String, Vec<String>>,
    /// When the scheduled garbage collection last ran.
    #[serde(default)]
    pub last_garbage_collection: Option<DateTime<Utc>>,
}

impl Registry {
    /// A registry created at `created_at`, scanning on, nothing stored.
    pub fn new(id: &str, name: &str, location: &str, created_at: DateTime<Utc>) -> Self {
        Registry {
            id: id.to_string(),
            name: name.to_string(),
            location: location.to_string(),
            created_at,
            modified_at: None,
            ready_at: created_at + chrono::Duration::seconds(PROVISIONING_SECS),
            garbage_collection: None,
            vulnerability_scanning: true,
            api_subnet_allow_list: Vec::new(),
            tokens: BTreeMap::new(),
            content: Store::default(),
            findings: BTreeMap::new(),
            last_garbage_collection: None,
        }
    }

    /// The host images are pushed to: `<name>.cr.<de-fra>.ionos.com`.
    pub fn hostname(&self) -> String {
        format!(
            "{}.cr.{}.ionos.com",
            self.name,
            self.location.replace('/', "-")
        )
    }
}

/// When garbage collection runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Days of the week (`Monday` … `Sunday`).
    pub days: Vec<String>,
    /// UTC time of day, `HH:MM:SS+00:00`.
    pub time: String,
}

/// An access token (its password is not kept).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Id.
    pub id: String,
    /// Name, unique in the registry; the login user name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(default)]
    pub modified_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    #[serde(default)]
    pub expiry: Option<DateTime<Utc>>,
    /// `enabled` or `disabled`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Permissions, if any were given.
    #[serde(default)]
    pub scopes: Option<Vec<Scope>>,
}

/// A permission of a token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// Repository name or glob.
    pub name: String,
    /// Kind of resource (`repository`).
    pub kind: String,
    /// Actions (`pull`, `push`, `delete`).
    pub actions: Vec<String>,
}

/// A vulnerability as the scanner's advisory source reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// What it is.
    pub description: String,
    /// What to do about it.
    pub recommendations: Option<String>,
    /// Source id (`nvd`).
    pub source: String,
    /// Source URL.
    pub source_url: Option<String>,
    /// Whether an update of the affected package fixes it.
    pub fixable: bool,
    /// Affected packages: (type, name, version).
    pub affects: Vec<(String, String, String)>,
    /// Published advisories.
    pub references: Vec<String>,
    /// CVSS severity rating (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`).
    pub severity: String,
    /// CVSS score.
    pub score: f32,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// When it was last updated.
    pub updated_at: Option<DateTime<Utc>>,
}

fn yes() -> bool {
    true
}

/// The status of a request that breaks the schema.
pub(crate) const INVALID: StatusCode = StatusCode::BAD_REQUEST;
/// The message of the 401 answer.
pub(crate) const UNAUTHORIZED: &str =
    "Unauthorized, wrong or no api key provided to process this request";

/// How long a new registry stays `BUSY`.
const PROVISIONING_SECS: i64 = 60;
/// Who creates and changes things (the emulator has one user).
const USER: &str = "user@example.com";
const USER_ID: &str = "5d3a1f7c-9e2b-4c8d-a6f0-1b2c3d4e5f60";
/// Where registries can be created.
const LOCATIONS: &[&str] = &[
    "de/fra", "de/txl", "es/vit", "fr/par", "gb/lhr", "us/ewr", "us/las", "us/mci",
];
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            "locationsGet",
            Method::GET,
            "/locations",
            get(locations_get),
        ),
        Route::new(
            "namesCheckUsage",
            Method::HEAD,
            "/names/{name}",
            head(names_check_usage),
        ),
        Route::new(
            "registriesGet",
            Method::GET,
            "/registries",
            get(registries_get),
        ),
        Route::new(
            "registriesPost",
            Method::POST,
            "/registries",
            post(registries_post),
        ),
        Route::new(
            "registriesFindById",
            Method::GET,
            "/registries/{registryId}",
            get(registries_find_by_id),
        ),
        Route::new(
            "registriesPatch",
            Method::PATCH,
            "/registries/{registryId}",
            patch(registries_patch),
        ),
        Route::new(
            "registriesPut",
            Method::PUT,
            "/registries/{registryId}",
            put(registries_put),
        ),
        Route::new(
            "registriesDelete",
            Method::DELETE,
            "/registries/{registryId}",
            delete(registries_delete),
        ),
        Route::new(
            "registriesArtifactsGet",
            Method::GET,
            "/registries/{registryId}/artifacts",
            get(registries_artifacts_get),
        ),
        Route::new(
            "registriesRepositoriesGet",
            Method::GET,
            "/registries/{registryId}/repositories",
            get(repositories_get),
        ),
        Route::new(
            "registriesRepositoriesFindByName",
            Method::GET,
            "/registries/{registryId}/repositories/{repositoryName}",
            get(repositories_find_by_name),
        ),
        Route::new(
            "registriesRepositoriesDelete",
            Method::DELETE,
            "/registries/{registryId}/repositories/{repositoryName}",
            delete(repositories_delete),
        ),
        Route::new(
            "registriesRepositoriesArtifactsGet",
            Method::GET,
            "/registries/{registryId}/repositories/{repositoryName}/artifacts",
            get(repository_artifacts_get),
        ),
        Route::new(
            "registriesRepositoriesArtifactsFindByDigest",
            Method::GET,
            "/registries/{registryId}/repositories/{repositoryName}/artifacts/{digest}",
            get(artifact_find_by_digest),
        ),
        Route::new(
            "registriesRepositoriesArtifactsVulnerabilitiesGet",
            Method::GET,
            "/registries/{registryId}/repositories/{repositoryName}/artifacts/{digest}/vulnerabilities",
            get(artifact_vulnerabilities_get),
        ),
        Route::new(
            "registriesTokensGet",
            Method::GET,
            "/registries/{registryId}/tokens",
            get(tokens_get),
        ),
        Route::new(
            "registriesTokensPost",
            Method::POST,
            "/registries/{registryId}/tokens",
            post(tokens_post),
        ),
        Route::new(
            "registriesTokensFindById",
            Method::GET,
            "/registries/{registryId}/tokens/{tokenId}",
            get(tokens_find_by_id),
        ),
        Route::new(
            "registriesTokensPatch",
            Method::PATCH,
            "/registries/{registryId}/tokens/{tokenId}",
            patch(tokens_patch),
        ),
        Route::new(
            "registriesTokensPut",
            Method::PUT,
            "/registries/{registryId}/tokens/{tokenId}",
            put(tokens_put),
        ),
        Route::new(
            "registriesTokensDelete",
            Method::DELETE,
            "/registries/{registryId}/tokens/{tokenId}",
            delete(tokens_delete),
        ),
        Route::new(
            "vulnerabilitiesFindByID",
            Method::GET,
            "/vulnerabilities/{vulnerabilityId}",
            get(vulnerabilities_find_by_id),
        ),
    ]
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = types::ApiErrorResponse {
        http_status: Some(i32::from(status.as_u16())),
        messages: Some(vec![types::ApiErrorMessage {
            error_code: Some(status.as_u16().to_string()),
            message: Some(message.to_string()),
        }]),
    };
    api::json(status, &body)
}

/// One registry "demo" in de/fra with two repositories, a token (no
/// password kept) and a finding of the scanner.
pub(crate) fn demo(state: &mut State, ids: &mut ContentGen, now: DateTime<Utc>) {
    let id = ids.uuid().to_string();
    let registry = state.add_registry(&id, "demo", "de/fra", now - chrono::Duration::days(30));
    registry.garbage_collection = Some(Schedule {
        days: vec!["Saturday".into()],
        time: "02:30:00+00:00".into(),
    });
    ids.repository(&mut registry.content, "web", 3, now);
    ids.repository(&mut registry.content, "api", 2, now);
    let token_id = ids.uuid().to_string();
    registry.tokens.insert(
        token_id.clone(),
        Token {
            id: token_id,
            name: "ci-push".into(),
            created_at: now - chrono::Duration::days(7),
            modified_at: None,
            expiry: Some(now + chrono::Duration::days(365)),
            enabled: true,
            scopes: Some(vec![Scope {
                name: "*".into(),
                kind: "repository".into(),
                actions: vec!["pull".into(), "push".into()],
            }]),
        },
    );
    if let Some(digest) = registry
        .content
        .repositories
        .get("web")
        .and_then(|r| r.tags.get("latest"))
        .cloned()
    {
        registry
            .findings
            .insert(digest, vec!["CVE-2023-44487".into()]);
    }
    state
        .vulnerabilities
        .insert("CVE-2023-44487".into(), demo_advisory(now));
}

fn demo_advisory(now: DateTime<Utc>) -> Advisory {
    Advisory {
        description: "HTTP/2 servers can be made to spend their resources resetting \
                      streams a client cancels right away (rapid reset)."
            .into(),
        recommendations: Some("Upgrade golang.org/x/net to v0.17.0 or later.".into()),
        source: "nvd".into(),
        source_url: Some("https://nvd.nist.gov/vuln/detail/CVE-2023-44487".into()),
        fixable: true,
        affects: vec![("golang".into(), "golang.org/x/net".into(), "v0.15.0".into())],
        references: vec!["https://github.com/advisories/GHSA-qppj-fm5r-hxr3".into()],
        severity: "HIGH".into(),
        score: 7.5,
        published_at: now - chrono::Duration::days(400),
        updated_at: Some(now - chrono::Duration::days(100)),
    }
}

// ---------------------------------------------------------------------------
// Helpers: URLs, errors, paging, conversions.

/// `http://host/ionos`: what every `href` starts with.
fn base_of(url: &RequestUrl) -> String {
    let u = &url.without_query;
    match u.find("/ionos/") {
        Some(i) => u[..i + "/ionos".len()].to_string(),
        None => u.trim_end_matches('/').to_string(),
    }
}

/// Everything but RFC 3986's unreserved characters and `:` is escaped.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':');

fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

fn registry_href(base: &str, id: &str) -> String {
    format!("{base}/registries/{}", seg(id))
}

/// An error answer not rendered yet: its status and message.
struct Fail(StatusCode, String);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

fn not_found(what: &str, id: &str) -> Fail {
    Fail(StatusCode::NOT_FOUND, format!("{what} {id} not found"))
}

fn invalid(message: &str) -> Fail {
    Fail(INVALID, message.to_string())
}

fn with_location(mut response: Response, href: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(href) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `offset`/`limit` as the offset-paged lists take them.
#[derive(Deserialize)]
struct OffsetQuery {
    offset: Option<i64>,
    limit: Option<i64>,
}

/// Checks `offset >= 0` and `1 <= limit <= max`.
fn offset_limit(q: &OffsetQuery, max: i64) -> Result<(usize, usize), Fail> {
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if offset < 0 || offset > i64::from(i32::MAX) {
        return Err(invalid("offset: must be 0 or more"));
    }
    if !(1..=max).contains(&limit) {
        return Err(invalid(&format!("limit: must be between 1 and {max}")));
    }
    Ok((offset as usize, limit as usize))
}

/// `self`, `prev` (when offset > 0) and `next` (while items follow) for an
/// offset-paged list of `total` items.
fn offset_links(url: &RequestUrl, offset: usize, limit: usize, total: usize) -> types::Links {
    let at = |o: usize| url.with(&[("offset", o.to_string()), ("limit", limit.to_string())]);
    types::Links {
        self_: Some(at(offset)),
        prev: (offset > 0).then(|| at(offset.saturating_sub(limit))),
        next: (offset.saturating_add(limit) < total).then(|| at(offset + limit)),
    }
}

fn page<T: Clone>(items: &[T], offset: usize, limit: usize) -> Vec<T> {
    api::slice_of(items, offset as u64, limit as u64).to_vec()
}

/// `-field` → (field, descending).
fn order_by(value: Option<&str>, default: &str, known: &[&str]) -> Result<(String, bool), Fail> {
    let value = value.filter(|v| !v.is_empty()).unwrap_or(default);
    let (field, desc) = match value.strip_prefix('-') {
        Some(f) => (f, true),
        None => (value.strip_prefix('+').unwrap_or(value), false),
    };
    if known.contains(&field) {
        Ok((field.to_string(), desc))
    } else {
        Err(invalid(&format!(
            "orderBy: unknown field {field:?} (one of {})",
            known.join(", ")
        )))
    }
}

fn severity_rank(s: &str) -> u8 {
    match s.to_ascii_uppercase().as_str() {
        "CRITICAL" => 5,
        "HIGH" => 4,
        "MEDIUM" => 3,
        "LOW" => 2,
        "NONE" => 1,
        _ => 0,
    }
}

/// A weekly schedule as the client sent it, checked and with its time
/// normalised to `HH:MM:SS+00:00` (UTC).
fn schedule_from(s: &types::WeeklySchedule) -> Result<Schedule, Fail> {
    let days = s.days.clone().unwrap_or_default();
    if let Some(bad) = days.iter().find(|d| !d.is_known()) {
        return Err(invalid(&format!(
            "garbageCollectionSchedule.days: {:?} is not a day of the week",
            bad.as_str()
        )));
    }
    let text = s.time.trim();
    let time = DateTime::parse_from_rfc3339(&format!("1970-01-01T{text}"))
        .map(|t| t.with_timezone(&Utc).time())
        .or_else(|_| chrono::NaiveTime::parse_from_str(text, "%H:%M:%S"))
        .or_else(|_| chrono::NaiveTime::parse_from_str(text, "%H:%M"))
        .map_err(|_| {
            invalid(&format!(
                "garbageCollectionSchedule.time: {text:?} is not a time of day like 02:30:00+00:00"
            ))
        })?;
    let mut unique: Vec<String> = Vec::new();
    for d in &days {
        let d = d.as_str().to_string();
        if !unique.contains(&d) {
            unique.push(d);
        }
    }
    Ok(Schedule {
        days: unique,
        time: format!("{}+00:00", time.format("%H:%M:%S")),
    })
}

fn schedule_json(s: &Schedule) -> types::WeeklySchedule {
    types::WeeklySchedule {
        days: Some(
            s.days
                .iter()
                .map(|d| types::Day::from(d.as_str()))
                .collect(),
        ),
        time: s.time.clone(),
    }
}

/// Each entry is an IPv4/IPv6 address, optionally with a prefix length.
fn check_allow_list(list: &[String]) -> Result<(), Fail> {
    if list.len() > 25 {
        return Err(invalid("apiSubnetAllowList: at most 25 entries"));
    }
    for entry in list {
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry.as_str(), None),
        };
        let ok = match addr.parse::<IpAddr>() {
            Ok(ip) => {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|p| p <= max))
            }
            Err(_) => false,
        };
        if !ok {
            return Err(invalid(&format!(
                "apiSubnetAllowList: {entry:?} is not an IP address or CIDR range"
            )));
        }
    }
    Ok(())
}

fn scopes_from(scopes: &Option<Vec<types::Scope>>) -> Option<Vec<Scope>> {
    scopes.as_ref().map(|list| {
        list.iter()
            .map(|s| Scope {
                name: s.name.clone(),
                kind: s.type_.clone(),
                actions: s.actions.clone().unwrap_or_default(),
            })
            .collect()
    })
}

fn status_enabled(status: &Option<types::TokenStatus>) -> Result<Option<bool>, Fail> {
    match status {
        None => Ok(None),
        Some(types::TokenStatus::Enabled) => Ok(Some(true)),
        Some(types::TokenStatus::Disabled) => Ok(Some(false)),
        Some(other) => Err(invalid(&format!(
            "status: {:?} is not one of enabled, disabled",
            other.as_str()
        ))),
    }
}

fn check_expiry(expiry: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), Fail> {
    match expiry {
        Some(t) if t <= now => Err(invalid("expiryDate: must be in the future")),
        _ => Ok(()),
    }
}

/// A JSON body as a value and as the generated type (the value tells an
/// explicit `null` from an absent field).
fn decode<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, Fail> {
    if !value.is_object() {
        return Err(invalid("the request body must be a JSON object"));
    }
    serde_json::from_value(value.clone()).map_err(|e| invalid(&crate::api::body_error(&e)))
}

fn is_null(value: &serde_json::Value, field: &str) -> bool {
    value.get(field).is_some_and(serde_json::Value::is_null)
}

// ---------------------------------------------------------------------------
// Scheduled garbage collection, on the virtual clock.

/// The latest run of `schedule` in `(after, upto]`, if any.
fn latest_run(
    schedule: &Schedule,
    after: DateTime<Utc>,
    upto: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if upto <= after || schedule.days.is_empty() {
        return None;
    }
    let time = chrono::NaiveTime::parse_from_str(schedule.time.get(..8)?, "%H:%M:%S").ok()?;
    let first = after.date_naive();
    let mut date = upto.date_naive();
    // A weekly schedule runs within any eight days that hold one of its days.
    for _ in 0..8 {
        if date < first {
            break;
        }
        let at = date.and_time(time).and_utc();
        let day = date.format("%A").to_string();
        if schedule.days.contains(&day) && at > after && at <= upto {
            return Some(at);
        }
        date = date.pred_opt()?;
    }
    None
}

/// Runs every garbage collection that fell due up to `now`: layers that no
/// artifact references any more are freed.
fn collect_due(state: &mut State, now: DateTime<Utc>) {
    for r in state.registries.values_mut() {
        let Some(schedule) = &r.garbage_collection else {
            continue;
        };
        let since = r.last_garbage_collection.unwrap_or(r.created_at);
        if let Some(at) = latest_run(schedule, since, now) {
            r.content.collect(false, true);
            r.last_garbage_collection = Some(at);
        }
    }
}

/// The world, with IONOS's scheduled garbage collections brought up to now.
fn settled(shared: &Shared) -> std::sync::MutexGuard<'_, crate::world::World> {
    let now = shared.now();
    let mut world = shared.world();
    collect_due(&mut world.ionos, now);
    world
}

// ---------------------------------------------------------------------------
// Registries.

fn registry_json(r: &Registry, base: &str, now: DateTime<Utc>) -> types::RegistryResponse {
    let ready = now >= r.ready_at;
    let storage = r.content.storage_bytes();
    let content_time = r
        .content
        .repositories
        .values()
        .filter_map(|repo| repo.updated_at())
        .max();
    types::RegistryResponse {
        href: Some(registry_href(base, &r.id)),
        id: Some(r.id.clone()),
        type_: Some("registry".into()),
        metadata: Some(types::ApiResourceMetadata {
            created_by: USER.into(),
            created_by_user_id: USER_ID.into(),
            created_date: r.created_at,
            last_modified_by: r.modified_at.map(|_| USER.into()),
            last_modified_by_user_id: r.modified_at.map(|_| USER_ID.into()),
            last_modified_date: r.modified_at,
            state: if ready { "AVAILABLE" } else { "BUSY" }.into(),
        }),
        properties: Some(types::RegistryProperties {
            api_subnet_allow_list: (!r.api_subnet_allow_list.is_empty())
                .then(|| r.api_subnet_allow_list.clone()),
            features: Some(types::RegistryFeatures {
                vulnerability_scanning: Some(types::FeatureVulnerabilityScanning {
                    enabled: r.vulnerability_scanning,
                    properties: serde_json::Map::new(),
                }),
            }),
            garbage_collection_schedule: r.garbage_collection.as_ref().map(schedule_json),
            hostname: Some(if ready { r.hostname() } else { String::new() }),
            location: r.location.clone(),
            name: r.name.clone(),
            storage_usage: Some(types::StorageUsage {
                bytes: Some(i64::try_from(storage).unwrap_or(i64::MAX)),
                updated_at: content_time
                    .into_iter()
                    .chain(r.last_garbage_collection)
                    .max()
                    .map(|t| t.max(r.created_at)),
            }),
        }),
    }
}

fn find_registry<'a>(state: &'a State, id: &str) -> Result<&'a Registry, Fail> {
    state
        .registries
        .get(id)
        .ok_or_else(|| not_found("registry", id))
}

fn find_registry_mut<'a>(state: &'a mut State, id: &str) -> Result<&'a mut Registry, Fail> {
    state
        .registries
        .get_mut(id)
        .ok_or_else(|| not_found("registry", id))
}

async fn locations_get(url: RequestUrl) -> Response {
    let body = types::LocationsResponse {
        href: Some(format!("{}/locations", base_of(&url))),
        id: Some("locations".into()),
        type_: Some("collection".into()),
        items: Some(
            LOCATIONS
                .iter()
                .map(|l| types::Location {
                    id: Some((*l).to_string()),
                })
                .collect(),
        ),
    };
    api::json(StatusCode::OK, &body)
}

/// 400 malformed, 200 taken, 404 free; no body (it is a HEAD).
async fn names_check_usage(
    AppState(shared): AppState<Shared>,
    Path(name): Path<String>,
) -> Response {
    if types::PostRegistryPropertiesName::try_from(name.as_str()).is_err() {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let taken = settled(&shared).ionos.registry_named(&name).is_some();
    if taken {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
    .into_response()
}

#[derive(Deserialize)]
struct RegistriesQuery {
    #[serde(rename = "filter.name")]
    filter_name: Option<String>,
    limit: Option<i64>,
    #[serde(rename = "pagination.token")]
    token: Option<String>,
}

/// The opaque cursor: base64url of `{"start":"<name>"}`.
fn cursor_for(name: &str) -> String {
    let json = serde_json::json!({ "start": name }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn cursor_start(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("start")?.as_str().map(str::to_string)
}

async fn registries_get(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Query(q): Query<RegistriesQuery>,
) -> Result<Response, Fail> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid(&format!(
            "limit: must be between 1 and {MAX_LIMIT}"
        )));
    }
    let limit = limit as usize;
    let start = match q.token.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match cursor_start(t) {
            Some(s) => Some(s),
            None => return Err(invalid("pagination.token: not a token this service issued")),
        },
    };
    let now = shared.now();
    let base = base_of(&url);
    let world = settled(&shared);
    let mut all: Vec<&Registry> = world
        .ionos
        .registries
        .values()
        .filter(|r| q.filter_name.as_deref().is_none_or(|f| r.name.contains(f)))
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let from = start
        .as_deref()
        .map(|s| {
            all.iter()
                .position(|r| r.name.as_str() >= s)
                .unwrap_or(all.len())
        })
        .unwrap_or(0);
    let end = from.saturating_add(limit).min(all.len());
    let items: Vec<types::RegistryResponse> = all[from..end]
        .iter()
        .map(|r| registry_json(r, &base, now))
        .collect();
    let next_token = all
        .get(end)
        .map(|r| cursor_for(&r.name))
        .unwrap_or_default();
    let at = |token: Option<String>| {
        let mut set = vec![("limit", limit.to_string())];
        if let Some(t) = token {
            set.push(("pagination.token", t));
        }
        let mut u = RequestUrl {
            without_query: url.without_query.clone(),
            query: url.query.clone(),
        };
        u.query.retain(|(k, _)| k != "pagination.token");
        u.with(&set)
    };
    let previous = if from > 0 {
        let p = from.saturating_sub(limit);
        at((p > 0).then(|| cursor_for(&all[p].name)))
    } else {
        String::new()
    };
    let body = types::RegistriesResponse {
        href: Some(format!("{base}/registries")),
        id: Some("registries".into()),
        type_: Some("collection".into()),
        items: Some(items),
        links: types::PaginationLinks {
            self_: at(q.token.clone().filter(|t| !t.is_empty())),
            previous,
            next: if next_token.is_empty() {
                String::new()
            } else {
                at(Some(next_token.clone()))
            },
        },
        pagination: types::Pagination {
            limit: limit as i32,
            token: next_token,
        },
    };
    Ok(api::json(StatusCode::OK, &body))
}

/// Checks a create or replace body: the name's pattern is the type's; the
/// location must exist; the schedule and allow-list must make sense.
struct RegistrySettings {
    garbage_collection: Option<Schedule>,
    scanning: Option<bool>,
    allow_list: Vec<String>,
}

fn registry_settings(p: &types::PostRegistryProperties) -> Result<RegistrySettings, Fail> {
    if !LOCATIONS.contains(&p.location.as_str()) {
        return Err(invalid(&format!(
            "properties.location: {:?} is not one of the available locations ({})",
            p.location,
            LOCATIONS.join(", ")
        )));
    }
    let garbage_collection = match &p.garbage_collection_schedule {
        Some(s) => Some(schedule_from(s)?),
        None => None,
    };
    let allow_list = p.api_subnet_allow_list.clone().unwrap_or_default();
    check_allow_list(&allow_list)?;
    Ok(RegistrySettings {
        garbage_collection,
        scanning: p
            .features
            .as_ref()
            .and_then(|f| f.vulnerability_scanning.as_ref())
            .map(|v| v.enabled),
        allow_list,
    })
}

fn create_registry<'a>(
    state: &'a mut State,
    id: String,
    p: &types::PostRegistryProperties,
    now: DateTime<Utc>,
) -> Result<&'a Registry, Fail> {
    let settings = registry_settings(p)?;
    if state.registry_named(&p.name).is_some() {
        return Err(invalid(&format!(
            "properties.name: the registry name {:?} is already in use",
            p.name.as_str()
        )));
    }
    let mut registry = Registry::new(&id, &p.name, &p.location, now);
    registry.garbage_collection = settings.garbage_collection;
    registry.vulnerability_scanning = settings.scanning.unwrap_or(true);
    registry.api_subnet_allow_list = settings.allow_list;
    Ok(state.registries.entry(id).or_insert(registry))
}

async fn registries_post(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Body(input): Body<types::PostRegistryInput>,
) -> Result<Response, Fail> {
    let now = shared.now();
    let id = shared.ids().uuid().to_string();
    let base = base_of(&url);
    let mut world = settled(&shared);
    let r = create_registry(&mut world.ionos, id, &input.properties, now)?;
    let body = registry_json(r, &base, now);
    let href = registry_href(&base, &r.id);
    Ok(with_location(api::json(StatusCode::CREATED, &body), &href))
}

async fn registries_find_by_id(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let now = shared.now();
    let world = settled(&shared);
    match find_registry(&world.ionos, &id) {
        Ok(r) => Ok(api::json(
            StatusCode::OK,
            &registry_json(r, &base_of(&url), now),
        )),
        Err(e) => Err(e),
    }
}

async fn registries_patch(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Body(raw): Body<serde_json::Value>,
) -> Result<Response, Fail> {
    let input: types::PatchRegistryInput = decode(&raw)?;
    let now = shared.now();
    let mut world = settled(&shared);
    let r = find_registry_mut(&mut world.ionos, &id)?;
    let schedule = match &input.garbage_collection_schedule {
        Some(s) => match schedule_from(s) {
            Ok(s) => Some(Some(s)),
            Err(e) => return Err(e),
        },
        None if is_null(&raw, "garbageCollectionSchedule") => Some(None),
        None => None,
    };
    if let Some(list) = &input.api_subnet_allow_list {
        check_allow_list(list)?;
    }
    if let Some(s) = schedule {
        r.garbage_collection = s;
    }
    if let Some(list) = input.api_subnet_allow_list {
        r.api_subnet_allow_list = list;
    } else if is_null(&raw, "apiSubnetAllowList") {
        r.api_subnet_allow_list.clear();
    }
    if let Some(v) = input.features.and_then(|f| f.vulnerability_scanning) {
        r.vulnerability_scanning = v.enabled;
    }
    r.modified_at = Some(now);
    Ok(api::json(
        StatusCode::OK,
        &registry_json(r, &base_of(&url), now),
    ))
}

async fn registries_put(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Body(input): Body<types::PutRegistryInput>,
) -> Result<Response, Fail> {
    let now = shared.now();
    let base = base_of(&url);
    let href = registry_href(&base, &id);
    let p = &input.properties;
    let mut world = settled(&shared);
    let state = &mut world.ionos;
    let Some(existing) = state.registries.get_mut(&id) else {
        let r = create_registry(state, id, p, now)?;
        let body = registry_json(r, &base, now);
        return Ok(with_location(api::json(StatusCode::CREATED, &body), &href));
    };
    if existing.name != p.name.as_str() {
        return Err(invalid("properties.name: cannot be changed"));
    }
    if existing.location != p.location {
        return Err(invalid("properties.location: cannot be changed"));
    }
    let settings = registry_settings(p)?;
    existing.garbage_collection = settings.garbage_collection;
    existing.vulnerability_scanning = settings.scanning.unwrap_or(true);
    existing.api_subnet_allow_list = settings.allow_list;
    existing.modified_at = Some(now);
    let body = registry_json(existing, &base, now);
    Ok(with_location(api::json(StatusCode::CREATED, &body), &href))
}

async fn registries_delete(
    AppState(shared): AppState<Shared>,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    match settled(&shared).ionos.registries.remove(&id) {
        Some(_) => Ok(api::no_content()),
        None => Err(not_found("registry", &id)),
    }
}

// ---------------------------------------------------------------------------
// Repositories and artifacts.

/// A stable UUID for a repository, from its registry and name.
fn repository_id(registry: &str, name: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in registry.bytes().chain([0]).chain(name.bytes()) {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(byte))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(7);
    }
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The scanner's summary of one artifact (nothing when scanning is off).
struct Scan {
    max_severity: Option<String>,
    total_score: f32,
    total: i64,
    fixable: i64,
}

fn scan_of(state: &State, r: &Registry, digest: &str) -> Option<Scan> {
    if !r.vulnerability_scanning {
        return None;
    }
    let found: Vec<&Advisory> = r
        .findings
        .get(digest)
        .map(|ids| {
            ids.iter()
                .filter_map(|id| state.vulnerabilities.get(id))
                .collect()
        })
        .unwrap_or_default();
    Some(Scan {
        max_severity: found
            .iter()
            .max_by_key(|a| severity_rank(&a.severity))
            .map(|a| a.severity.clone()),
        total_score: found.iter().map(|a| a.score).sum(),
        total: found.len() as i64,
        fixable: found.iter().filter(|a| a.fixable).count() as i64,
    })
}

fn artifact_json(
    state: &State,
    r: &Registry,
    repo: &str,
    m: &Manifest,
    tags: Vec<String>,
    base: &str,
) -> types::ArtifactRead {
    let scan = scan_of(state, r, &m.digest);
    let pushed = rfc3339(m.updated_at);
    types::ArtifactRead {
        href: format!(
            "{}/repositories/{}/artifacts/{}",
            registry_href(base, &r.id),
            seg(repo),
            seg(&m.digest)
        ),
        id: m.digest.clone(),
        type_: "artifact".into(),
        metadata: types::ArtifactMetadata {
            created_by: Some(USER.into()),
            created_by_user_id: Some(USER_ID.into()),
            created_date: Some(pushed.clone()),
            last_modified_by: None,
            last_modified_by_user_id: None,
            last_modified_date: None,
            last_pulled_at: None,
            last_pushed_at: pushed.clone(),
            last_scanned_at: scan.as_ref().map(|_| pushed.clone()),
            pull_count: 0,
            push_count: tags.len().max(1) as i64,
            resource_urn: None,
            vuln_fixable_count: scan.as_ref().map(|s| s.fixable),
            vuln_max_severity: scan.as_ref().and_then(|s| s.max_severity.clone()),
            vuln_total_count: scan.as_ref().map(|s| s.total),
            vuln_total_score: scan.as_ref().map(|s| s.total_score),
        },
        properties: types::Artifact {
            digest: m.digest.clone(),
            media_type: m.media_type.clone(),
            repository_name: repo.to_string(),
            tags,
        },
    }
}

/// Every artifact of `repos` of `r`, as the API shows them.
fn artifacts_of(
    state: &State,
    r: &Registry,
    only: Option<&str>,
    base: &str,
) -> Vec<types::ArtifactRead> {
    r.content
        .repositories
        .iter()
        .filter(|(name, _)| only.is_none_or(|o| o == name.as_str()))
        .flat_map(|(name, repo)| {
            repo.manifests
                .values()
                .map(|m| artifact_json(state, r, name, m, repo.tags_of(&m.digest), base))
                .collect::<Vec<_>>()
        })
        .collect()
}

const ARTIFACT_ORDER: &[&str] = &[
    "pullCount",
    "pushCount",
    "lastPush",
    "lastPull",
    "lastScan",
    "vulnTotalCount",
    "vulnTotalScore",
    "vulnMaxSeverity",
    "digest",
];

fn sort_artifacts(items: &mut [types::ArtifactRead], field: &str, desc: bool) {
    items.sort_by(|a, b| {
        let (ma, mb) = (&a.metadata, &b.metadata);
        let primary = match field {
            "pullCount" => ma.pull_count.cmp(&mb.pull_count),
            "pushCount" => ma.push_count.cmp(&mb.push_count),
            "lastPush" => ma.last_pushed_at.cmp(&mb.last_pushed_at),
            "lastPull" => ma.last_pulled_at.cmp(&mb.last_pulled_at),
            "lastScan" => ma.last_scanned_at.cmp(&mb.last_scanned_at),
            "vulnTotalCount" => ma.vuln_total_count.cmp(&mb.vuln_total_count),
            "vulnTotalScore" => ma
                .vuln_total_score
                .unwrap_or(0.0)
                .total_cmp(&mb.vuln_total_score.unwrap_or(0.0)),
            "vulnMaxSeverity" => severity_rank(ma.vuln_max_severity.as_deref().unwrap_or("")).cmp(
                &severity_rank(mb.vuln_max_severity.as_deref().unwrap_or("")),
            ),
            _ => a.id.cmp(&b.id),
        };
        let primary = if desc { primary.reverse() } else { primary };
        primary
            .then_with(|| {
                a.properties
                    .repository_name
                    .cmp(&b.properties.repository_name)
            })
            .then_with(|| a.id.cmp(&b.id))
    });
}

fn repository_json(
    state: &State,
    r: &Registry,
    name: &str,
    base: &str,
) -> Option<types::RepositoryRead> {
    let repo = r.content.repositories.get(name)?;
    let first = repo.manifests.values().map(|m| m.updated_at).min();
    let last = repo.updated_at();
    let severity = repo
        .manifests
        .keys()
        .filter_map(|d| scan_of(state, r, d).and_then(|s| s.max_severity))
        .max_by_key(|s| severity_rank(s));
    Some(types::RepositoryRead {
        href: format!("{}/repositories/{}", registry_href(base, &r.id), seg(name)),
        id: repository_id(&r.id, name),
        type_: "repository".into(),
        metadata: types::RepositoryMetadata {
            artifact_count: repo.manifests.len() as i64,
            created_by: Some(USER.into()),
            created_by_user_id: Some(USER_ID.into()),
            created_date: first.map(rfc3339),
            last_modified_by: None,
            last_modified_by_user_id: None,
            last_modified_date: last.map(rfc3339),
            last_pulled_at: None,
            last_pushed_at: last.map(rfc3339),
            last_severity: severity,
            pull_count: 0,
            push_count: repo.manifests.len() as i64,
            resource_urn: None,
        },
        properties: types::Repository {
            name: name.to_string(),
        },
    })
}

#[derive(Deserialize)]
struct RepositoriesQuery {
    offset: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "filter.name")]
    filter_name: Option<String>,
    #[serde(rename = "filter.vulnerabilitySeverity")]
    filter_severity: Option<String>,
    #[serde(rename = "orderBy")]
    order_by: Option<String>,
}

async fn repositories_get(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Query(q): Query<RepositoriesQuery>,
) -> Result<Response, Fail> {
    let (offset, limit) = offset_limit(
        &OffsetQuery {
            offset: q.offset,
            limit: q.limit,
        },
        MAX_LIMIT,
    )?;
    let (field, desc) = order_by(
        q.order_by.as_deref(),
        "-lastPush",
        &[
            "lastPush",
            "name",
            "artifactCount",
            "pullCount",
            "pushCount",
            "lastPull",
        ],
    )?;
    let base = base_of(&url);
    let world = settled(&shared);
    let state = &world.ionos;
    let r = find_registry(state, &id)?;
    let mut all: Vec<types::RepositoryRead> = r
        .content
        .repositories
        .keys()
        .filter(|n| q.filter_name.as_deref().is_none_or(|f| n.contains(f)))
        .filter_map(|n| repository_json(state, r, n, &base))
        .filter(|repo| {
            q.filter_severity.as_deref().is_none_or(|s| {
                repo.metadata
                    .last_severity
                    .as_deref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(s))
            })
        })
        .collect();
    all.sort_by(|a, b| {
        let (ma, mb) = (&a.metadata, &b.metadata);
        let primary = match field.as_str() {
            "lastPush" => ma.last_pushed_at.cmp(&mb.last_pushed_at),
            "lastPull" => ma.last_pulled_at.cmp(&mb.last_pulled_at),
            "artifactCount" => ma.artifact_count.cmp(&mb.artifact_count),
            "pullCount" => ma.pull_count.cmp(&mb.pull_count),
            "pushCount" => ma.push_count.cmp(&mb.push_count),
            _ => a.properties.name.cmp(&b.properties.name),
        };
        let primary = if desc { primary.reverse() } else { primary };
        primary.then_with(|| a.properties.name.cmp(&b.properties.name))
    });
    let body = types::RepositoryReadList {
        href: format!("{}/repositories", registry_href(&base, &r.id)),
        id: "repositories".into(),
        type_: "collection".into(),
        items: page(&all, offset, limit),
        offset: offset as i32,
        limit: limit as i32,
        links: offset_links(&url, offset, limit, all.len()),
    };
    Ok(api::json(StatusCode::OK, &body))
}

async fn repositories_find_by_name(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, Fail> {
    let world = settled(&shared);
    let state = &world.ionos;
    let r = find_registry(state, &id)?;
    match repository_json(state, r, &name, &base_of(&url)) {
        Some(body) => Ok(api::json(StatusCode::OK, &body)),
        None => Err(not_found("repository", &name)),
    }
}

async fn repositories_delete(
    AppState(shared): AppState<Shared>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, Fail> {
    let mut world = settled(&shared);
    let r = find_registry_mut(&mut world.ionos, &id)?;
    let Some(repo) = r.content.repositories.remove(&name) else {
        return Err(not_found("repository", &name));
    };
    // Its artifacts go; their layers keep taking storage until the next
    // scheduled garbage collection frees what nothing references.
    for digest in repo.manifests.keys() {
        let elsewhere = r
            .content
            .repositories
            .values()
            .any(|other| other.manifests.contains_key(digest));
        if !elsewhere {
            r.findings.remove(digest);
        }
    }
    Ok(api::no_content())
}

#[derive(Deserialize)]
struct RegistryArtifactsQuery {
    offset: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "filter.vulnerabilityId")]
    filter_vulnerability: Option<String>,
    #[serde(rename = "orderBy")]
    order_by: Option<String>,
}

async fn registries_artifacts_get(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Query(q): Query<RegistryArtifactsQuery>,
) -> Result<Response, Fail> {
    let (offset, limit) = offset_limit(
        &OffsetQuery {
            offset: q.offset,
            limit: q.limit,
        },
        MAX_LIMIT,
    )?;
    let (field, desc) = order_by(q.order_by.as_deref(), "-pullCount", ARTIFACT_ORDER)?;
    let base = base_of(&url);
    let world = settled(&shared);
    let state = &world.ionos;
    let r = find_registry(state, &id)?;
    let mut all = artifacts_of(state, r, None, &base);
    if let Some(v) = q.filter_vulnerability.as_deref() {
        all.retain(|a| {
            r.vulnerability_scanning
                && r.findings
                    .get(&a.id)
                    .is_some_and(|ids| ids.iter().any(|i| i == v))
        });
    }
    sort_artifacts(&mut all, &field, desc);
    let body = types::RegistryArtifactsReadList {
        href: format!("{}/artifacts", registry_href(&base, &r.id)),
        id: "artifacts".into(),
        type_: "collection".into(),
        items: page(&all, offset, limit),
        offset: offset as i32,
        limit: limit as i32,
        links: offset_links(&url, offset, limit, all.len()),
    };
    Ok(api::json(StatusCode::OK, &body))
}

#[derive(Deserialize)]
struct ArtifactsQuery {
    offset: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "orderBy")]
    order_by: Option<String>,
}

async fn repository_artifacts_get(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path((id, name)): Path<(String, String)>,
    Query(q): Query<ArtifactsQuery>,
) -> Result<Response, Fail> {
    let (offset, limit) = offset_limit(
        &OffsetQuery {
            offset: q.offset,
            limit: q.limit,
        },
        MAX_LIMIT,
    )?;
    let (field, desc) = order_by(q.order_by.as_deref(), "-lastPush", ARTIFACT_ORDER)?;
    let base = base_of(&url);
    let world = settled(&shared);
    let state = &world.ionos;
    let r = find_registry(state, &id)?;
    if !r.content.repositories.contains_key(&name) {
        return Err(not_found("repository", &name));
    }
    let mut all = artifacts_of(state, r, Some(&name), &base);
    sort_artifacts(&mut all, &field, desc);
    let body = types::ArtifactReadList {
        href: format!(
            "{}/repositories/{}/artifacts",
            registry_href(&base, &r.id),
            seg(&name)
        ),
        id: "artifacts".into(),
        type_: "collection".into(),
        items: page(&all, offset, limit),
        offset: offset as i32,
        limit: limit as i32,
        links: offset_links(&url, offset, limit, all.len()),
    };
    Ok(api::json(StatusCode::OK, &body))
}

async fn artifact_find_by_digest(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path((id, name, digest)): Path<(String, String, String)>,
) -> Result<Response, Fail> {
    let world = settled(&shared);
    let state = &world.ionos;
    let r = find_registry(state, &id)?;
    let Some(repo) = r.content.repositories.get(&name) else {
        return Err(not_found("repository", &name));
    };
    let Some(m) = repo.manifests.get(&digest) else {
        return Err(not_found("artifact", &digest));
    };
    let body = artifact_json(state, r, &name, m, repo.tags_of(&digest), &base_of(&url));
    Ok(api::json(StatusCode::OK, &body))
}

fn vulnerability_json(id: &str, a: &Advisory, base: &str) -> types::VulnerabilityRead {
    types::VulnerabilityRead {
        href: format!("{base}/vulnerabilities/{}", seg(id)),
        id: id.to_string(),
        type_: "vulnerability".into(),
        metadata: types::VulnerabilityMetadata {
            published_at: rfc3339(a.published_at),
            updated_at: a.updated_at.map(rfc3339),
        },
        properties: types::Vulnerability {
            affects: a
                .affects
                .iter()
                .map(|(t, n, v)| types::Purl {
                    type_: t.clone(),
                    name: n.clone(),
                    version: v.clone(),
                })
                .collect(),
            data_source: types::VulnerabilityDataSource {
                id: Some(a.source.clone()),
                url: a.source_url.clone(),
            },
            description: a.description.clone(),
            fixable: a.fixable,
            recommendations: a.recommendations.clone(),
            references: a.references.clone(),
            score: a.score,
            severity: a.severity.clone(),
        },
    }
}

#[derive(Deserialize)]
struct VulnerabilitiesQuery {
    offset: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "filter.severity")]
    filter_severity: Option<String>,
    #[serde(rename = "filter.fixable")]
    filter_fixable: Option<bool>,
    #[serde(rename = "orderBy")]
    order_by: Option<String>,
}

async fn artifact_vulnerabilities_get(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path((id, name, digest)): Path<(String, String, String)>,
    Query(q): Query<VulnerabilitiesQuery>,
) -> Result<Response, Fail> {
    let (offset, limit) = offset_limit(
        &OffsetQuery {
            offset: q.offset,
            limit: q.limit,
        },
        MAX_LIMIT,
    )?;
    let (field, desc) = order_by(
        q.order_by.as_deref(),
        "-score",
        &["score", "severity", "publishedAt", "id"],
    )?;
    let base = base_of(&url);
    let world = settled(&shared);
    let state = &world.ionos;
    let r = find_registry(state, &id)?;
    let Some(repo) = r.content.repositories.get(&name) else {
        return Err(not_found("repository", &name));
    };
    if !repo.manifests.contains_key(&digest) {
        return Err(not_found("artifact", &digest));
    }
    let mut found: Vec<(&String, &Advisory)> = if r.vulnerability_scanning {
        r.findings
            .get(&digest)
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| state.vulnerabilities.get_key_value(i))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    found.retain(|(_, a)| {
        q.filter_severity
            .as_deref()
            .is_none_or(|s| a.severity.eq_ignore_ascii_case(s))
            && q.filter_fixable.is_none_or(|f| a.fixable == f)
    });
    found.sort_by(|(ia, a), (ib, b)| {
        let primary = match field.as_str() {
            "score" => a.score.total_cmp(&b.score),
            "severity" => severity_rank(&a.severity).cmp(&severity_rank(&b.severity)),
            "publishedAt" => a.published_at.cmp(&b.published_at),
            _ => ia.cmp(ib),
        };
        let primary = if desc { primary.reverse() } else { primary };
        primary.then_with(|| ia.cmp(ib))
    });
    let all: Vec<types::VulnerabilityRead> = found
        .iter()
        .map(|(i, a)| vulnerability_json(i, a, &base))
        .collect();
    let body = types::ArtifactVulnerabilityReadList {
        href: format!(
            "{}/repositories/{}/artifacts/{}/vulnerabilities",
            registry_href(&base, &r.id),
            seg(&name),
            seg(&digest)
        ),
        id: "vulnerabilities".into(),
        type_: "collection".into(),
        items: page(&all, offset, limit),
        offset: offset as i32,
        limit: limit as i32,
        links: offset_links(&url, offset, limit, all.len()),
    };
    Ok(api::json(StatusCode::OK, &body))
}

async fn vulnerabilities_find_by_id(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let world = settled(&shared);
    match world.ionos.vulnerabilities.get(&id) {
        Some(a) => Ok(api::json(
            StatusCode::OK,
            &vulnerability_json(&id, a, &base_of(&url)),
        )),
        None => Err(not_found("vulnerability", &id)),
    }
}

// ---------------------------------------------------------------------------
// Tokens.

/// A token as the API shows it; `password` only in the answer that creates it.
fn token_json(
    registry: &str,
    t: &Token,
    base: &str,
    password: Option<&str>,
) -> types::TokenResponse {
    types::TokenResponse {
        href: Some(format!(
            "{}/tokens/{}",
            registry_href(base, registry),
            seg(&t.id)
        )),
        id: Some(t.id.clone()),
        type_: Some("token".into()),
        metadata: Some(types::ApiResourceMetadata {
            created_by: USER.into(),
            created_by_user_id: USER_ID.into(),
            created_date: t.created_at,
            last_modified_by: t.modified_at.map(|_| USER.into()),
            last_modified_by_user_id: t.modified_at.map(|_| USER_ID.into()),
            last_modified_date: t.modified_at,
            state: "AVAILABLE".into(),
        }),
        properties: Some(types::TokenProperties {
            credentials: Some(types::Credentials {
                username: t.name.clone(),
                password: regkit_core::SecretString::new(password.unwrap_or_default()),
            }),
            expiry_date: t.expiry,
            name: t.name.clone(),
            scopes: t.scopes.as_ref().map(|list| {
                list.iter()
                    .map(|s| types::Scope {
                        actions: Some(s.actions.clone()),
                        name: s.name.clone(),
                        type_: s.kind.clone(),
                    })
                    .collect()
            }),
            status: Some(if t.enabled {
                types::TokenStatus::Enabled
            } else {
                types::TokenStatus::Disabled
            }),
        }),
    }
}

fn tokens_sorted(r: &Registry) -> Vec<&Token> {
    let mut all: Vec<&Token> = r.tokens.values().collect();
    all.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    all
}

async fn tokens_get(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Query(q): Query<OffsetQuery>,
) -> Result<Response, Fail> {
    let (offset, limit) = offset_limit(&q, i64::from(i32::MAX))?;
    let base = base_of(&url);
    let world = settled(&shared);
    let r = find_registry(&world.ionos, &id)?;
    let all = tokens_sorted(r);
    let items: Vec<types::TokenResponse> = page(&all, offset, limit)
        .into_iter()
        .map(|t| token_json(&r.id, t, &base, None))
        .collect();
    let links = offset_links(&url, offset, limit, all.len());
    let body = types::TokensResponse {
        href: Some(format!("{}/tokens", registry_href(&base, &r.id))),
        id: Some("tokens".into()),
        type_: Some("collection".into()),
        count: items.len() as i32,
        items: Some(items),
        offset: i32::try_from(offset).unwrap_or(i32::MAX),
        limit: i32::try_from(limit).unwrap_or(i32::MAX),
        total: i32::try_from(all.len()).unwrap_or(i32::MAX),
        links: types::PaginationLinks {
            self_: links.self_.unwrap_or_default(),
            previous: links.prev.unwrap_or_default(),
            next: links.next.unwrap_or_default(),
        },
    };
    Ok(api::json(StatusCode::OK, &body))
}

/// A new token from a create (or create-by-PUT) body, checked.
fn new_token(
    r: &Registry,
    id: String,
    p: &types::PostTokenProperties,
    now: DateTime<Utc>,
) -> Result<Token, Fail> {
    let enabled = status_enabled(&p.status)?.unwrap_or(true);
    check_expiry(p.expiry_date, now)?;
    if r.tokens.values().any(|t| t.name == p.name.as_str()) {
        return Err(Fail(
            StatusCode::CONFLICT,
            format!(
                "a token named {:?} already exists in this registry",
                p.name.as_str()
            ),
        ));
    }
    Ok(Token {
        id,
        name: p.name.to_string(),
        created_at: now,
        modified_at: None,
        expiry: p.expiry_date,
        enabled,
        scopes: scopes_from(&p.scopes),
    })
}

fn new_password(shared: &Shared) -> String {
    shared.ids().alphanumeric(32)
}

async fn tokens_post(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Body(input): Body<types::PostTokenInput>,
) -> Result<Response, Fail> {
    let now = shared.now();
    let token_id = shared.ids().uuid().to_string();
    let password = new_password(&shared);
    let base = base_of(&url);
    let mut world = settled(&shared);
    let r = find_registry_mut(&mut world.ionos, &id)?;
    let token = new_token(r, token_id.clone(), &input.properties, now)?;
    let body = token_json(&r.id, &token, &base, Some(&password));
    let href = body.href.clone().unwrap_or_default();
    r.tokens.insert(token_id, token);
    Ok(with_location(api::json(StatusCode::CREATED, &body), &href))
}

async fn tokens_find_by_id(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<Response, Fail> {
    let world = settled(&shared);
    let r = find_registry(&world.ionos, &id)?;
    match r.tokens.get(&token_id) {
        Some(t) => Ok(api::json(
            StatusCode::OK,
            &token_json(&r.id, t, &base_of(&url), None),
        )),
        None => Err(not_found("token", &token_id)),
    }
}

async fn tokens_patch(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path((id, token_id)): Path<(String, String)>,
    Body(raw): Body<serde_json::Value>,
) -> Result<Response, Fail> {
    let input: types::PatchTokenInput = decode(&raw)?;
    let now = shared.now();
    let enabled = status_enabled(&input.status)?;
    // `null` clears the expiry; serde reads it as absent, so look at the body.
    let expiry = match input.expiry_date {
        Some(Nullable::Value(t)) => Some(Some(t)),
        Some(Nullable::Null) => Some(None),
        None if is_null(&raw, "expiryDate") => Some(None),
        None => None,
    };
    if let Some(Some(t)) = expiry {
        check_expiry(Some(t), now)?;
    }
    let mut world = settled(&shared);
    let r = find_registry_mut(&mut world.ionos, &id)?;
    let registry_id = r.id.clone();
    let Some(t) = r.tokens.get_mut(&token_id) else {
        return Err(not_found("token", &token_id));
    };
    if let Some(e) = expiry {
        t.expiry = e;
    }
    if let Some(e) = enabled {
        t.enabled = e;
    }
    if input.scopes.is_some() {
        t.scopes = scopes_from(&input.scopes);
    } else if is_null(&raw, "scopes") {
        t.scopes = None;
    }
    t.modified_at = Some(now);
    let body = token_json(&registry_id, t, &base_of(&url), None);
    Ok(api::json(StatusCode::OK, &body))
}

async fn tokens_put(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path((id, token_id)): Path<(String, String)>,
    Body(input): Body<types::PutTokenInput>,
) -> Result<Response, Fail> {
    let now = shared.now();
    let base = base_of(&url);
    let p = &input.properties;
    let exists = {
        let world = settled(&shared);
        match find_registry(&world.ionos, &id) {
            Ok(r) => r.tokens.contains_key(&token_id),
            Err(e) => return Err(e),
        }
    };
    let password = (!exists).then(|| new_password(&shared));
    let mut world = settled(&shared);
    let r = find_registry_mut(&mut world.ionos, &id)?;
    let registry_id = r.id.clone();
    let token = match r.tokens.get(&token_id) {
        None => new_token(r, token_id.clone(), p, now)?,
        Some(old) => {
            if old.name != p.name.as_str() {
                return Err(invalid("properties.name: cannot be changed"));
            }
            let enabled = status_enabled(&p.status)?.unwrap_or(true);
            check_expiry(p.expiry_date, now)?;
            Token {
                expiry: p.expiry_date,
                enabled,
                scopes: scopes_from(&p.scopes),
                modified_at: Some(now),
                ..old.clone()
            }
        }
    };
    let body = token_json(&registry_id, &token, &base, password.as_deref());
    let href = body.href.clone().unwrap_or_default();
    r.tokens.insert(token_id, token);
    Ok(with_location(api::json(StatusCode::CREATED, &body), &href))
}

async fn tokens_delete(
    AppState(shared): AppState<Shared>,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<Response, Fail> {
    let mut world = settled(&shared);
    let r = find_registry_mut(&mut world.ionos, &id)?;
    match r.tokens.remove(&token_id) {
        Some(_) => Ok(api::no_content()),
        None => Err(not_found("token", &token_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(
            cursor_start(&cursor_for("my-registry")).as_deref(),
            Some("my-registry")
        );
        assert_eq!(cursor_start("!!!"), None);
        assert_eq!(cursor_start("eyJ4IjoxfQ"), None);
    }

    #[test]
    fn schedules_are_normalised_to_utc() {
        let s = schedule_from(&types::WeeklySchedule {
            days: Some(vec![types::Day::Monday, types::Day::Monday]),
            time: "03:30:00+01:00".into(),
        })
        .ok()
        .map(|s| (s.days, s.time));
        assert_eq!(
            s,
            Some((vec!["Monday".to_string()], "02:30:00+00:00".to_string()))
        );
        assert!(
            schedule_from(&types::WeeklySchedule {
                days: Some(vec![types::Day::from("Someday")]),
                time: "02:30:00Z".into(),
            })
            .is_err()
        );
    }

    #[test]
    fn a_weekly_schedule_runs_on_its_days_at_its_time() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .unwrap()
        };
        let saturdays = Schedule {
            days: vec!["Saturday".into()],
            time: "02:30:00+00:00".into(),
        };
        // 2026-01-03 and 2026-01-31 are Saturdays.
        let friday = at("2026-01-02T00:00:00Z");
        assert_eq!(
            latest_run(&saturdays, friday, at("2026-01-03T03:00:00Z")),
            Some(at("2026-01-03T02:30:00Z"))
        );
        assert_eq!(
            latest_run(&saturdays, friday, at("2026-01-03T02:00:00Z")),
            None
        );
        assert_eq!(
            latest_run(
                &saturdays,
                at("2026-01-03T02:30:00Z"),
                at("2026-01-10T02:30:00Z")
            ),
            Some(at("2026-01-10T02:30:00Z"))
        );
        assert_eq!(
            latest_run(&saturdays, friday, at("2026-02-01T00:00:00Z")),
            Some(at("2026-01-31T02:30:00Z"))
        );
        let never = Schedule {
            days: Vec::new(),
            ..saturdays
        };
        assert_eq!(latest_run(&never, friday, at("2026-02-01T00:00:00Z")), None);
    }

    #[test]
    fn a_hand_written_state_needs_only_the_essentials() {
        let state: State = serde_json::from_value(serde_json::json!({
            "registries": {"r1": {"id": "r1", "name": "hand", "location": "de/fra",
                                  "created_at": "2026-01-01T00:00:00Z",
                                  "tokens": {"t1": {"id": "t1", "name": "ci",
                                                    "created_at": "2026-01-01T00:00:00Z"}}}}
        }))
        .unwrap();
        let r = &state.registries["r1"];
        assert!(r.vulnerability_scanning && r.tokens["t1"].enabled);
        assert!(r.ready_at < r.created_at, "provisioned long ago");
    }

    #[test]
    fn allow_lists_take_addresses_and_ranges_only() {
        assert!(
            check_allow_list(&[
                "203.0.113.0/24".into(),
                "2001:db8::/48".into(),
                "10.0.0.1".into()
            ])
            .is_ok()
        );
        assert!(check_allow_list(&["10.0.0.0/33".into()]).is_err());
        assert!(check_allow_list(&["example.com".into()]).is_err());
    }
}
