//! ABEJA's operations: the route table, handlers that call the model, the
//! generated types they answer with and ABEJA's error body.

use axum::extract::State as AxumState;
use axum::http::Method;
use axum::response::Response;
use axum::routing::{delete, get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use regkit_abeja::types;

use super::model::{CREATOR_EMAIL, CREATOR_ID, Paging, Repository, Tag, page};
use crate::api::{self, Answer, Route};
use crate::error::{ApiError, StatusCode};
use crate::extract::{Body, Path, Query};
use crate::shared::Shared;

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

/// ABEJA's `{error, error_description, error_detail}`: the details by
/// field, each a list of messages.
pub(crate) fn error_body(e: &ApiError) -> Response {
    let mut error_detail = serde_json::Map::new();
    for d in &e.details {
        let field = d
            .field
            .clone()
            .unwrap_or_else(|| "non_field_errors".to_string());
        let entry = error_detail
            .entry(field)
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(list) = entry {
            list.push(serde_json::Value::String(d.message.clone()));
        }
    }
    api::json(
        e.status,
        &types::Error {
            error: code_of(e.status),
            error_description: Some(e.message.clone()),
            error_detail,
        },
    )
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
) -> Answer {
    let now = shared.now();
    // Locks in the order `Emulator::seed` takes them: ids, then the world.
    let mut ids = shared.ids();
    let mut world = shared.world();
    let r = world.abeja.create_repository(
        &organization_id,
        req.name.as_str(),
        req.description.as_deref(),
        &mut ids,
        now,
    )?;
    api::ok(&repository_of(&organization_id, r))
}

async fn list_repositories(
    AxumState(shared): AxumState<Shared>,
    Path(organization_id): Path<String>,
    Query(paging): Query<Paging>,
) -> Answer {
    let (offset, limit) = paging.resolve()?;
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
    api::ok(&types::RepositoryList {
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
    })
}

async fn get_repository(
    AxumState(shared): AxumState<Shared>,
    Path((organization_id, repository_id)): Path<(String, String)>,
) -> Answer {
    let world = shared.world();
    let (_, r) = world.abeja.repository(&organization_id, &repository_id)?;
    api::ok(&repository_of(&organization_id, r))
}

async fn delete_repository(
    AxumState(shared): AxumState<Shared>,
    Path((organization_id, repository_id)): Path<(String, String)>,
) -> Answer {
    let removed = shared
        .world()
        .abeja
        .delete_repository(&organization_id, &repository_id)?;
    api::ok(&repository_of(&organization_id, &removed))
}

async fn list_repository_tags(
    AxumState(shared): AxumState<Shared>,
    Path((organization_id, repository_id)): Path<(String, String)>,
    Query(paging): Query<Paging>,
) -> Answer {
    let (offset, limit) = paging.resolve()?;
    let world = shared.world();
    let (org, repo) = world.abeja.repository(&organization_id, &repository_id)?;
    let (items, has_next) = page(&repo.tags, offset, limit);
    api::ok(&types::TagList {
        created_at: stamp(repo.created_at),
        has_next,
        limit,
        offset,
        organization_id: types::StringOrIntegerId::String(organization_id.clone()),
        organization_name: org.name.clone(),
        registry_repository_id: repo.id.clone(),
        tags: items.iter().map(tag_of).collect(),
        updated_at: stamp(repo.updated_at),
    })
}
