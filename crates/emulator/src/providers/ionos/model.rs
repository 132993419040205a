//! IONOS's state and what requests do to it: registries provisioned over
//! time, tokens without passwords, content and scanner findings, weekly
//! garbage collections on the virtual clock, and the checks the service
//! makes of settings, schedules, allow-lists and paging.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use regkit_ionos::types;
use serde::{Deserialize, Serialize};

use crate::content::Store;
use crate::error::{ApiError, StatusCode};

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

    /// The host images are pushed to, from the manifest's host pattern
    /// (`<name>.cr.<location>.ionos.com`, the location's `/` as `-`).
    pub fn hostname(&self) -> String {
        let location = self.location.replace('/', "-");
        regkit_ionos::PROVIDER
            .data_plane
            .host()
            .map(|h| h.host_of(&[("name", &self.name), ("location", &location)]))
            .unwrap_or_default()
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
    /// SHA-256 of the password (hex), so the data plane can check a login;
    /// the password itself is not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_sha256: Option<String>,
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

/// How long a new registry stays `BUSY`.
const PROVISIONING_SECS: i64 = 60;
/// Who creates and changes things (the emulator has one user).
pub(crate) const USER: &str = "user@example.com";
pub(crate) const USER_ID: &str = "5d3a1f7c-9e2b-4c8d-a6f0-1b2c3d4e5f60";
/// Where registries can be created.
pub(crate) const LOCATIONS: &[&str] = &[
    "de/fra", "de/txl", "es/vit", "fr/par", "gb/lhr", "us/ewr", "us/las", "us/mci",
];
pub(crate) const DEFAULT_LIMIT: i64 = 100;
pub(crate) const MAX_LIMIT: i64 = 1000;
/// An error with IONOS's "invalid request" status.
pub(crate) fn invalid(message: &str) -> ApiError {
    ApiError::new(INVALID, message)
}

/// IONOS's 404 for a thing of a kind.
pub(crate) fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("{what} {id} not found"))
}

#[derive(Deserialize)]
pub(crate) struct OffsetQuery {
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// Checks `offset >= 0` and `1 <= limit <= max`.
pub(crate) fn offset_limit(
    offset: Option<i64>,
    limit: Option<i64>,
    max: i64,
) -> Result<(usize, usize), ApiError> {
    let offset = offset.unwrap_or(0);
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
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
pub(crate) fn order_by(
    value: Option<&str>,
    default: &str,
    known: &[&str],
) -> Result<(String, bool), ApiError> {
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

pub(crate) fn severity_rank(s: &str) -> u8 {
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
pub(crate) fn schedule_from(s: &types::WeeklySchedule) -> Result<Schedule, ApiError> {
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

pub(crate) fn check_allow_list(list: &[String]) -> Result<(), ApiError> {
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

pub(crate) fn scopes_from(scopes: &Option<Vec<types::Scope>>) -> Option<Vec<Scope>> {
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

pub(crate) fn status_enabled(
    status: &Option<types::TokenStatus>,
) -> Result<Option<bool>, ApiError> {
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

pub(crate) fn check_expiry(
    expiry: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    match expiry {
        Some(t) if t <= now => Err(invalid("expiryDate: must be in the future")),
        _ => Ok(()),
    }
}

/// A JSON body as a value and as the generated type (the value tells an
/// explicit `null` from an absent field).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(invalid("the request body must be a JSON object"));
    }
    serde_json::from_value(value.clone()).map_err(|e| invalid(&crate::error::body_error(&e)))
}

pub(crate) fn is_null(value: &serde_json::Value, field: &str) -> bool {
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

impl State {
    /// Runs every garbage collection that fell due up to `now`: layers that
    /// no artifact references any more are freed.
    pub fn collect_due(&mut self, now: DateTime<Utc>) -> bool {
        let mut collected = false;
        for r in self.registries.values_mut() {
            let Some(schedule) = &r.garbage_collection else {
                continue;
            };
            let since = r.last_garbage_collection.unwrap_or(r.created_at);
            if let Some(at) = latest_run(schedule, since, now) {
                r.content.collect(
                    false,
                    true,
                    crate::content::UntaggedCollection::SpareReferenced,
                );
                r.last_garbage_collection = Some(at);
                collected = true;
            }
        }
        collected
    }
}

pub(crate) fn find_registry<'a>(state: &'a State, id: &str) -> Result<&'a Registry, ApiError> {
    state
        .registries
        .get(id)
        .ok_or_else(|| not_found("registry", id))
}

pub(crate) fn find_registry_mut<'a>(
    state: &'a mut State,
    id: &str,
) -> Result<&'a mut Registry, ApiError> {
    state
        .registries
        .get_mut(id)
        .ok_or_else(|| not_found("registry", id))
}

pub(crate) fn cursor_for(name: &str) -> String {
    let json = serde_json::json!({ "start": name }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

pub(crate) fn cursor_start(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("start")?.as_str().map(str::to_string)
}

pub(crate) struct RegistrySettings {
    pub garbage_collection: Option<Schedule>,
    pub scanning: Option<bool>,
    pub allow_list: Vec<String>,
}

pub(crate) fn registry_settings(
    p: &types::PostRegistryProperties,
) -> Result<RegistrySettings, ApiError> {
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

pub(crate) fn create_registry<'a>(
    state: &'a mut State,
    id: String,
    p: &types::PostRegistryProperties,
    now: DateTime<Utc>,
) -> Result<&'a Registry, ApiError> {
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

pub(crate) fn repository_id(registry: &str, name: &str) -> String {
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
pub(crate) fn new_token(
    r: &Registry,
    id: String,
    p: &types::PostTokenProperties,
    now: DateTime<Utc>,
) -> Result<Token, ApiError> {
    let enabled = status_enabled(&p.status)?.unwrap_or(true);
    check_expiry(p.expiry_date, now)?;
    if r.tokens.values().any(|t| t.name == p.name.as_str()) {
        return Err(ApiError::new(
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
        password_sha256: None,
    })
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
