//! ABEJA Platform: container image repositories of organizations
//! (`/organizations/{organization_id}/registry/repositories`) and the image
//! tags pushed to them.
//!
//! Organizations exist as soon as they are named. Repository names are
//! unique within an organization (409). Ids are 13-digit numeric strings;
//! tag ids are 13-digit numbers. Lists page with `offset` and `limit`
//! (default 10), echo both and set `has_next` while items remain after the
//! page. The API cannot push images, so tags are seeded
//! ([`State::add_tag`]) and listed. Timestamps are RFC 3339 with
//! microseconds, as ABEJA sends them.

use std::collections::BTreeMap;

use axum::extract::{Path, State as AxumState};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use regkit_abeja::types;
use serde::{Deserialize, Serialize};

use crate::api::{self, Body, Query, Route};
use crate::content::ContentGen;
use crate::server::Shared;

/// Page size when the request names none.
pub const DEFAULT_LIMIT: i32 = 10;

/// The user the emulator says created every repository and tag.
const CREATOR_ID: &str = "1122334455660";
const CREATOR_EMAIL: &str = "emulator@example.com";

/// What ABEJA remembers: organizations by id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Organizations by id (13-digit numeric strings); any id names one,
    /// and it appears here when first used.
    pub organizations: BTreeMap<String, Organization>,
}

/// One organization.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Organization {
    /// Its name (`organization_name` in list answers).
    pub name: String,
    /// When it was first used.
    pub created_at: Option<DateTime<Utc>>,
    /// Repositories in the order they were created.
    pub repositories: Vec<Repository>,
}

/// A container image repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Repository {
    /// 13-digit numeric id.
    pub id: String,
    /// Name, unique in the organization.
    pub name: String,
    /// Free-text description.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed (a tag was pushed).
    pub updated_at: Option<DateTime<Utc>>,
    /// Image tags in the order they were pushed.
    pub tags: Vec<Tag>,
}

/// An image tag pushed to a repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    /// 13-digit numeric id.
    pub id: i64,
    /// The tag (`0.0.4`).
    pub name: String,
    /// Manifest digest (`sha256:…`).
    pub digest: String,
    /// Manifest media type.
    pub media_type: String,
    /// Image size in bytes.
    pub size: i64,
    /// When it was pushed.
    pub created_at: Option<DateTime<Utc>>,
}

fn new_id(ids: &mut ContentGen) -> u64 {
    ids.u64(1_000_000_000_000..10_000_000_000_000)
}

impl State {
    fn organization(&mut self, organization_id: &str, now: DateTime<Utc>) -> &mut Organization {
        self.organizations
            .entry(organization_id.to_string())
            .or_insert_with(|| Organization {
                name: format!("organization-{organization_id}"),
                created_at: Some(now),
                repositories: Vec::new(),
            })
    }

    /// Adds a repository named `name` to the organization (creating the
    /// organization when new) and returns its id. A name already taken
    /// returns the existing repository's id.
    pub fn add_repository(
        &mut self,
        organization_id: &str,
        name: &str,
        description: Option<&str>,
        ids: &mut ContentGen,
        now: DateTime<Utc>,
    ) -> String {
        let org = self.organization(organization_id, now);
        if let Some(r) = org.repositories.iter().find(|r| r.name == name) {
            return r.id.clone();
        }
        let mut id = new_id(ids).to_string();
        while org.repositories.iter().any(|r| r.id == id) {
            id = new_id(ids).to_string();
        }
        org.repositories.push(Repository {
            id: id.clone(),
            name: name.to_string(),
            description: description.map(str::to_string),
            created_at: Some(now),
            updated_at: Some(now),
            tags: Vec::new(),
        });
        id
    }

    /// Pushes `tag` to the repository `repository_id` (a fresh manifest of
    /// random digest and size); false when there is no such repository.
    pub fn add_tag(
        &mut self,
        organization_id: &str,
        repository_id: &str,
        tag: &str,
        ids: &mut ContentGen,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(repo) = self
            .organizations
            .get_mut(organization_id)
            .and_then(|o| o.repositories.iter_mut().find(|r| r.id == repository_id))
        else {
            return false;
        };
        let id = i64::try_from(new_id(ids)).unwrap_or(i64::MAX);
        let tag = Tag {
            id,
            name: tag.to_string(),
            digest: ids.digest(),
            media_type: "application/vnd.docker.distribution.manifest.v2+json".to_string(),
            size: i64::try_from(ids.u64(1 << 20..512 << 20)).unwrap_or(i64::MAX),
            created_at: Some(now),
        };
        repo.tags.retain(|t| t.name != tag.name);
        repo.tags.push(tag);
        repo.updated_at = Some(now);
        true
    }
}

/// The status of a request that breaks the schema.
pub(crate) const INVALID: StatusCode = StatusCode::BAD_REQUEST;
/// The message of the 401 answer.
pub(crate) const UNAUTHORIZED: &str = "authentication credentials are missing or invalid";

pub(crate) fn routes() -> Vec<Route> {
    const LIST: &str = "/organizations/{organization_id}/registry/repositories";
    const ONE: &str = "/organizations/{organization_id}/registry/repositories/{repository_id}";
    vec![
        Route::new(
            "create_repository",
            Method::POST,
            LIST,
            post(create_repository),
        ),
        Route::new(
            "list_repositories",
            Method::GET,
            LIST,
            get(list_repositories),
        ),
        Route::new("get_repository", Method::GET, ONE, get(get_repository)),
        Route::new(
            "delete_repository",
            Method::DELETE,
            ONE,
            delete(delete_repository),
        ),
        Route::new(
            "list_repository_tags",
            Method::GET,
            "/organizations/{organization_id}/registry/repositories/{repository_id}/tags",
            get(list_repository_tags),
        ),
    ]
}

/// ABEJA's short error code for a status (`bad_request`, `not_found`, …).
fn code_of(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
        .replace('\'', "")
}

/// ABEJA's `{error, error_description}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    error_with_detail(status, message, serde_json::Map::new())
}

fn error_with_detail(
    status: StatusCode,
    message: &str,
    error_detail: serde_json::Map<String, serde_json::Value>,
) -> Response {
    api::json(
        status,
        &types::Error {
            error: code_of(status),
            error_description: Some(message.to_string()),
            error_detail,
        },
    )
}

/// A 400 naming the field that is wrong, as ABEJA's `error_detail` does.
fn invalid_field(field: &str, message: &str) -> Response {
    let mut detail = serde_json::Map::new();
    detail.insert(field.to_string(), serde_json::json!([message]));
    error_with_detail(INVALID, "parameters is insufficient or invalid", detail)
}

pub(crate) fn demo(state: &mut State, ids: &mut ContentGen, now: DateTime<Utc>) {
    const ORG: &str = "1410000000000";
    let week = chrono::Duration::days(7);
    let detector = state.add_repository(
        ORG,
        "object-detector",
        Some("Inference image for the shelf object detector"),
        ids,
        now - week,
    );
    let trainer = state.add_repository(ORG, "trainer", None, ids, now - week);
    for (i, tag) in ["0.0.1", "0.0.2", "0.0.3", "latest"].iter().enumerate() {
        let at = now - week + chrono::Duration::days(i as i64);
        state.add_tag(ORG, &detector, tag, ids, at);
    }
    state.add_tag(ORG, &trainer, "1.0.0", ids, now);
    if let Some(org) = state.organizations.get_mut(ORG) {
        org.name = "demo-org".to_string();
    }
}

fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn creator() -> types::User {
    types::User {
        created_at: "2017-05-26T01:38:46Z".to_string(),
        display_name: None,
        email: CREATOR_EMAIL.to_string(),
        id: CREATOR_ID.to_string(),
        is_registered: true,
        role: "admin".to_string(),
        updated_at: "2018-01-04T03:02:12Z".to_string(),
    }
}

fn repository_of(organization_id: &str, r: &Repository) -> types::Repository {
    types::Repository {
        created_at: stamp(r.created_at),
        creator: creator(),
        description: r.description.clone(),
        id: r.id.clone(),
        name: r.name.clone(),
        organization_id: organization_id.to_string(),
        tags: Vec::new(),
        updated_at: stamp(r.updated_at),
    }
}

fn tag_of(t: &Tag) -> types::Tag {
    types::Tag {
        created_at: stamp(t.created_at),
        creator: creator(),
        digest: t.digest.clone(),
        id: t.id,
        media_type: t.media_type.clone(),
        name: t.name.clone(),
        size: t.size,
        updated_at: stamp(t.created_at),
    }
}

fn repository_not_found(repository_id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("repository {repository_id} is not found"),
    )
}

/// `offset` and `limit` as sent; both must be non-negative int32.
#[derive(Deserialize)]
struct Paging {
    offset: Option<i64>,
    limit: Option<i64>,
}

impl Paging {
    /// `(offset, limit)`, or the name of the parameter that is out of range.
    fn resolve(&self) -> Result<(i32, i32), &'static str> {
        let field = |name: &'static str, v: Option<i64>, default: i32| match v {
            None => Ok(default),
            Some(v) => i32::try_from(v).ok().filter(|v| *v >= 0).ok_or(name),
        };
        Ok((
            field("offset", self.offset, 0)?,
            field("limit", self.limit, DEFAULT_LIMIT)?,
        ))
    }
}

fn out_of_range(name: &str) -> Response {
    invalid_field(name, "must be an integer between 0 and 2147483647")
}

/// One page of `items`, and whether items remain after it.
fn page<T>(items: &[T], offset: i32, limit: i32) -> (&[T], bool) {
    let offset = u64::try_from(offset).unwrap_or(0);
    let page = api::slice_of(items, offset, u64::try_from(limit).unwrap_or(0));
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .saturating_add(page.len());
    (page, end < items.len())
}

/// The organization id the way the repository list envelope carries it: a
/// JSON number when it is numeric.
fn envelope_id(organization_id: &str) -> types::StringOrIntegerId {
    match organization_id.parse::<i64>() {
        Ok(n) if !organization_id.starts_with('0') || organization_id == "0" => {
            types::StringOrIntegerId::Int64(n)
        }
        _ => types::StringOrIntegerId::String(organization_id.to_string()),
    }
}

async fn create_repository(
    AxumState(shared): AxumState<Shared>,
    Path(organization_id): Path<String>,
    Body(req): Body<types::RepositoryCreate>,
) -> Response {
    let name = req.name.as_str();
    if name.is_empty() {
        return invalid_field("name", "this field may not be blank");
    }
    if name.len() > 255 || !valid_name(name) {
        return invalid_field(
            "name",
            "lowercase letters, digits and single '.', '_' or '-' between them, at most 255 characters",
        );
    }
    let now = shared.now();
    // Locks in the order `Emulator::seed` takes them: ids, then the world.
    let mut ids = shared.ids();
    let mut world = shared.world();
    let taken = world
        .abeja
        .organizations
        .get(&organization_id)
        .is_some_and(|o| o.repositories.iter().any(|r| r.name == name));
    if taken {
        return error(
            StatusCode::CONFLICT,
            &format!("repository {name} already exists"),
        );
    }
    let id = world.abeja.add_repository(
        &organization_id,
        name,
        req.description.as_deref(),
        &mut ids,
        now,
    );
    let org = world.abeja.organization(&organization_id, now);
    match org.repositories.iter().find(|r| r.id == id) {
        Some(r) => api::json(StatusCode::OK, &repository_of(&organization_id, r)),
        None => repository_not_found(&id),
    }
}

/// Docker repository naming: lowercase alphanumeric runs joined by single
/// `.`, `_` or `-`.
fn valid_name(name: &str) -> bool {
    let mut previous_separator = true;
    for c in name.chars() {
        let separator = matches!(c, '.' | '_' | '-');
        if separator && previous_separator {
            return false;
        }
        if !(separator || c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return false;
        }
        previous_separator = separator;
    }
    !previous_separator
}

async fn list_repositories(
    AxumState(shared): AxumState<Shared>,
    Path(organization_id): Path<String>,
    Query(paging): Query<Paging>,
) -> Response {
    let (offset, limit) = match paging.resolve() {
        Ok(p) => p,
        Err(name) => return out_of_range(name),
    };
    let now = shared.now();
    let mut world = shared.world();
    let org = world.abeja.organization(&organization_id, now);
    let (items, has_next) = page(&org.repositories, offset, limit);
    let updated = org
        .repositories
        .iter()
        .filter_map(|r| r.updated_at)
        .max()
        .or(org.created_at);
    let body = types::RepositoryList {
        created_at: stamp(org.created_at),
        has_next,
        limit,
        offset,
        organization_id: envelope_id(&organization_id),
        organization_name: org.name.clone(),
        registry_repositories: items
            .iter()
            .map(|r| repository_of(&organization_id, r))
            .collect(),
        updated_at: stamp(updated),
    };
    api::json(StatusCode::OK, &body)
}

async fn get_repository(
    AxumState(shared): AxumState<Shared>,
    Path((organization_id, repository_id)): Path<(String, String)>,
) -> Response {
    let world = shared.world();
    match world
        .abeja
        .organizations
        .get(&organization_id)
        .and_then(|o| o.repositories.iter().find(|r| r.id == repository_id))
    {
        Some(r) => api::json(StatusCode::OK, &repository_of(&organization_id, r)),
        None => repository_not_found(&repository_id),
    }
}

async fn delete_repository(
    AxumState(shared): AxumState<Shared>,
    Path((organization_id, repository_id)): Path<(String, String)>,
) -> Response {
    let mut world = shared.world();
    let Some(org) = world.abeja.organizations.get_mut(&organization_id) else {
        return repository_not_found(&repository_id);
    };
    let Some(at) = org.repositories.iter().position(|r| r.id == repository_id) else {
        return repository_not_found(&repository_id);
    };
    let removed = org.repositories.remove(at);
    api::json(StatusCode::OK, &repository_of(&organization_id, &removed))
}

async fn list_repository_tags(
    AxumState(shared): AxumState<Shared>,
    Path((organization_id, repository_id)): Path<(String, String)>,
    Query(paging): Query<Paging>,
) -> Response {
    let (offset, limit) = match paging.resolve() {
        Ok(p) => p,
        Err(name) => return out_of_range(name),
    };
    let world = shared.world();
    let Some(org) = world.abeja.organizations.get(&organization_id) else {
        return repository_not_found(&repository_id);
    };
    let Some(repo) = org.repositories.iter().find(|r| r.id == repository_id) else {
        return repository_not_found(&repository_id);
    };
    let (items, has_next) = page(&repo.tags, offset, limit);
    let body = types::TagList {
        created_at: stamp(repo.created_at),
        has_next,
        limit,
        offset,
        organization_id: types::StringOrIntegerId::String(organization_id.clone()),
        organization_name: org.name.clone(),
        registry_repository_id: repo.id.clone(),
        tags: items.iter().map(tag_of).collect(),
        updated_at: stamp(repo.updated_at),
    };
    api::json(StatusCode::OK, &body)
}
