//! IONOS's operations: the route table, handlers that call the model, the
//! generated types they answer with (`href`s from the URL the client
//! used) and IONOS's error body.

use axum::extract::State as AppState;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, head, patch, post, put};
use chrono::{DateTime, Utc};
use regkit_core::Nullable;
use regkit_ionos::types;
use serde::Deserialize;

use super::model::*;
use crate::api::{self, Answer, Route, with_location};
use crate::content::Manifest;
use crate::error::ApiError;
use crate::extract::{Body, Path, Query, RequestUrl};
use crate::registry::digest::secret_sha256;
use crate::shared::{HostKey, Shared};

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

/// IONOS's `{httpStatus, messages: [{errorCode, message}]}`.
pub(crate) fn error_body(e: &ApiError) -> Response {
    let body = types::ApiErrorResponse {
        http_status: Some(i32::from(e.status.as_u16())),
        messages: Some(vec![types::ApiErrorMessage {
            error_code: Some(e.status.as_u16().to_string()),
            message: Some(e.message.clone()),
        }]),
    };
    api::json(e.status, &body)
}

// ---------------------------------------------------------------------------
// Helpers: URLs, errors, paging, conversions.

/// `http://host/ionos`: what every `href` starts with.
fn base_of(url: &RequestUrl) -> String {
    url.api_root()
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
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `offset`/`limit` as the offset-paged lists take them.
fn offset_links(url: &RequestUrl, offset: usize, limit: usize, total: usize) -> types::Links {
    let at = |o: usize| url.with(&[("offset", o.to_string()), ("limit", limit.to_string())]);
    types::Links {
        self_: Some(at(offset)),
        prev: (offset > 0).then(|| at(offset.saturating_sub(limit))),
        next: (offset.saturating_add(limit) < total).then(|| at(offset + limit)),
    }
}

fn page<T: Clone>(items: &[T], offset: usize, limit: usize) -> Vec<T> {
    crate::paging::slice_of(items, offset as u64, limit as u64).to_vec()
}

/// `-field` → (field, descending).
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
/// The world, with IONOS's scheduled garbage collections brought up to now.
fn settled(shared: &Shared) -> std::sync::MutexGuard<'_, crate::world::World> {
    let now = shared.now();
    let mut world = shared.world();
    if world.ionos.collect_due(now) {
        shared.sweep_blobs(&world);
    }
    world
}

// Registries.

/// The host an IONOS registry is served on: its own data-plane listener,
/// or (with the data plane off) the host name IONOS would give it.
fn hostname(shared: &Shared, r: &Registry) -> String {
    shared
        .data()
        .host(&HostKey::Ionos(r.id.clone()))
        .map_or_else(|| r.hostname(), |addr| addr.to_string())
}

fn registry_json(
    shared: &Shared,
    r: &Registry,
    base: &str,
    now: DateTime<Utc>,
) -> types::RegistryResponse {
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
            hostname: Some(if ready {
                hostname(shared, r)
            } else {
                String::new()
            }),
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
async fn registries_get(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Query(q): Query<RegistriesQuery>,
) -> Answer {
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
        .map(|r| registry_json(&shared, r, &base, now))
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
async fn registries_post(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Body(input): Body<types::PostRegistryInput>,
) -> Answer {
    let now = shared.now();
    let id = shared.ids().uuid().to_string();
    let base = base_of(&url);
    let mut world = settled(&shared);
    let r = create_registry(&mut world.ionos, id, &input.properties, now)?;
    let body = registry_json(&shared, r, &base, now);
    let href = registry_href(&base, &r.id);
    Ok(with_location(api::json(StatusCode::CREATED, &body), &href))
}

async fn registries_find_by_id(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
) -> Answer {
    let now = shared.now();
    let world = settled(&shared);
    match find_registry(&world.ionos, &id) {
        Ok(r) => Ok(api::json(
            StatusCode::OK,
            &registry_json(&shared, r, &base_of(&url), now),
        )),
        Err(e) => Err(e),
    }
}

async fn registries_patch(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Body(raw): Body<serde_json::Value>,
) -> Answer {
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
        &registry_json(&shared, r, &base_of(&url), now),
    ))
}

async fn registries_put(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Body(input): Body<types::PutRegistryInput>,
) -> Answer {
    let now = shared.now();
    let base = base_of(&url);
    let href = registry_href(&base, &id);
    let p = &input.properties;
    let mut world = settled(&shared);
    let state = &mut world.ionos;
    let Some(existing) = state.registries.get_mut(&id) else {
        let r = create_registry(state, id, p, now)?;
        let body = registry_json(&shared, r, &base, now);
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
    let body = registry_json(&shared, existing, &base, now);
    Ok(with_location(api::json(StatusCode::CREATED, &body), &href))
}

async fn registries_delete(AppState(shared): AppState<Shared>, Path(id): Path<String>) -> Answer {
    match settled(&shared).ionos.registries.remove(&id) {
        Some(_) => Ok(api::no_content()),
        None => Err(not_found("registry", &id)),
    }
}

// ---------------------------------------------------------------------------
// Repositories and artifacts.

/// A stable UUID for a repository, from its registry and name.
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
) -> Answer {
    let (offset, limit) = offset_limit(q.offset, q.limit, MAX_LIMIT)?;
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
) -> Answer {
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
) -> Answer {
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
) -> Answer {
    let (offset, limit) = offset_limit(q.offset, q.limit, MAX_LIMIT)?;
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
) -> Answer {
    let (offset, limit) = offset_limit(q.offset, q.limit, MAX_LIMIT)?;
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
) -> Answer {
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
) -> Answer {
    let (offset, limit) = offset_limit(q.offset, q.limit, MAX_LIMIT)?;
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
) -> Answer {
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
) -> Answer {
    let (offset, limit) = offset_limit(q.offset, q.limit, i64::from(i32::MAX))?;
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
fn new_password(shared: &Shared) -> String {
    shared.ids().alphanumeric(32)
}

async fn tokens_post(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path(id): Path<String>,
    Body(input): Body<types::PostTokenInput>,
) -> Answer {
    let now = shared.now();
    let token_id = shared.ids().uuid().to_string();
    let password = new_password(&shared);
    let base = base_of(&url);
    let mut world = settled(&shared);
    let r = find_registry_mut(&mut world.ionos, &id)?;
    let mut token = new_token(r, token_id.clone(), &input.properties, now)?;
    token.password_sha256 = Some(secret_sha256(&password));
    let body = token_json(&r.id, &token, &base, Some(&password));
    let href = body.href.clone().unwrap_or_default();
    r.tokens.insert(token_id, token);
    Ok(with_location(api::json(StatusCode::CREATED, &body), &href))
}

async fn tokens_find_by_id(
    AppState(shared): AppState<Shared>,
    url: RequestUrl,
    Path((id, token_id)): Path<(String, String)>,
) -> Answer {
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
) -> Answer {
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
) -> Answer {
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
        None => Token {
            password_sha256: password.as_deref().map(secret_sha256),
            ..new_token(r, token_id.clone(), p, now)?
        },
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
) -> Answer {
    let mut world = settled(&shared);
    let r = find_registry_mut(&mut world.ionos, &id)?;
    match r.tokens.remove(&token_id) {
        Some(_) => Ok(api::no_content()),
        None => Err(not_found("token", &token_id)),
    }
}
