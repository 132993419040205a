//! Humanitec: registry records of organizations (`/orgs/{orgId}/registries`)
//! and the login each one hands out (`…/creds`).
//!
//! Organizations exist as soon as they are named. A record's id is unique
//! within its organization (409 otherwise); the built-in `humanitec`
//! record cannot be changed or deleted (403). Passwords sent with a record
//! are never kept: only the user name and expiry the record carries. The
//! credentials endpoint hands out a fresh password each call, valid for
//! [`CREDS_TTL`] of virtual time (or until the record's own expiry, when
//! that comes first), with millisecond precision as Humanitec sends it.

use std::collections::BTreeMap;

use axum::extract::{Path, State as AxumState};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use regkit_humanitec::types;
use serde::{Deserialize, Serialize};

use crate::api::{self, Body, Op, Route};
use crate::content::ContentGen;
use crate::server::Shared;

/// How long a login from `get_registry_credentials` stays valid.
pub const CREDS_TTL: Duration = Duration::hours(1);

/// The id of the registry record every organization has built in, which
/// cannot be modified or deleted.
pub const BUILT_IN: &str = "humanitec";

/// Who the emulator says created a record.
const CREATED_BY: &str = "emulator@example.com";

/// What Humanitec remembers: organizations by id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Organizations by id (any id names one; an organization appears here
    /// when a record is first created in it).
    pub orgs: BTreeMap<String, Org>,
}

/// One organization.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Org {
    /// Registry records by id.
    pub registries: BTreeMap<String, Registry>,
}

/// A registry record as Humanitec stores it (no password).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Registry {
    /// The record's id, unique in its organization.
    pub id: String,
    /// Registry host, optionally with a path.
    pub registry: String,
    /// `public`, `basic`, `google_gcr`, `amazon_ecr` or `secret_ref`.
    pub kind: String,
    /// Whether CI agents may read the credentials.
    pub enable_ci: bool,
    /// Kubernetes secret references by cluster id (`*` for every cluster).
    pub secrets: Option<BTreeMap<String, SecretRef>>,
    /// The account name of the stored login, if one was sent.
    pub username: Option<String>,
    /// When the stored login stops working, if it was given.
    pub expires: Option<DateTime<Utc>>,
    /// When the record was created.
    pub created_at: Option<DateTime<Utc>>,
    /// Who created it.
    pub created_by: Option<String>,
}

/// A reference to a Kubernetes secret (a name, not secret material).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecretRef {
    /// Namespace holding the secret.
    pub namespace: String,
    /// The secret's name.
    pub secret: String,
}

/// The status of a request that breaks the schema.
pub(crate) const INVALID: StatusCode = StatusCode::BAD_REQUEST;
/// The message of the 401 answer.
pub(crate) const UNAUTHORIZED: &str = "Authentication token is missing or invalid.";

pub(crate) fn routes() -> Vec<Route> {
    const LIST: &str = "/orgs/{orgId}/registries";
    const ONE: &str = "/orgs/{orgId}/registries/{regId}";
    vec![
        Route::new("list_registries", Method::GET, LIST, get(list_registries)),
        Route::new("create_registry", Method::POST, LIST, post(create_registry)),
        Route::new("get_registry", Method::GET, ONE, get(get_registry)),
        Route::new(
            "update_registry",
            Method::PATCH,
            ONE,
            patch(update_registry),
        ),
        Route::new(
            "delete_registry",
            Method::DELETE,
            ONE,
            delete(delete_registry),
        ),
        Route::new(
            "get_registry_credentials",
            Method::GET,
            "/orgs/{orgId}/registries/{regId}/creds",
            get(get_registry_credentials),
        ),
    ]
}

/// Humanitec's `ErrorInfoResponse`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    api::json(
        status,
        &types::ErrorInfoResponse {
            error: message.to_string(),
        },
    )
}

pub(crate) fn demo(state: &mut State, _ids: &mut ContentGen, now: DateTime<Utc>) {
    let org = state.orgs.entry("demo-org".to_string()).or_default();
    let mut secrets = BTreeMap::new();
    secrets.insert(
        "*".to_string(),
        SecretRef {
            namespace: "dev-secrets".to_string(),
            secret: "ghcr-regcred".to_string(),
        },
    );
    for record in [
        Registry {
            id: "ecr-prod".to_string(),
            registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com".to_string(),
            kind: "amazon_ecr".to_string(),
            enable_ci: true,
            username: Some("AWS".to_string()),
            created_at: Some(now - Duration::days(30)),
            created_by: Some(CREATED_BY.to_string()),
            ..Registry::default()
        },
        Registry {
            id: "team-pull-secret".to_string(),
            registry: "ghcr.io/example-org".to_string(),
            kind: "secret_ref".to_string(),
            secrets: Some(secrets),
            created_at: Some(now - Duration::days(2)),
            created_by: Some(CREATED_BY.to_string()),
            ..Registry::default()
        },
    ] {
        org.registries.insert(record.id.clone(), record);
    }
}

fn not_found(op: &Op, reg_id: &str) -> Response {
    op.error(
        StatusCode::NOT_FOUND,
        &format!("Registry with id '{reg_id}' not found."),
    )
}

fn response_of(r: &Registry) -> types::RegistryResponse {
    types::RegistryResponse {
        created_at: r.created_at,
        created_by: r.created_by.clone(),
        enable_ci: r.enable_ci,
        id: r.id.clone(),
        registry: r.registry.clone(),
        secrets: r.secrets.as_ref().map(|s| {
            types::ClusterSecretsMap(
                s.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            types::ClusterSecret {
                                namespace: v.namespace.clone(),
                                secret: v.secret.clone(),
                            },
                        )
                    })
                    .collect(),
            )
        }),
        type_: types::RegistryType::from(r.kind.as_str()),
    }
}

fn secrets_of(map: &types::ClusterSecretsMap) -> BTreeMap<String, SecretRef> {
    map.0
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                SecretRef {
                    namespace: v.namespace.clone(),
                    secret: v.secret.clone(),
                },
            )
        })
        .collect()
}

/// The schema checks serde cannot do: an open enum's unknown value, and
/// the expiry's form (UTC, at most millisecond precision).
fn check(req: &types::RegistryRequest) -> Result<(), String> {
    if !req.type_.is_known() {
        return Err(format!(
            "Invalid registry type '{}': expected one of {}.",
            req.type_,
            types::RegistryType::KNOWN.join(", ")
        ));
    }
    if req.registry.trim().is_empty() {
        return Err("Property 'registry' must not be empty.".to_string());
    }
    if let Some(expires) = req.creds.as_ref().and_then(|c| c.expires.as_ref())
        && expires.0.timestamp_subsec_nanos() % 1_000_000 != 0
    {
        return Err(
            "Property 'creds.expires' must have at most millisecond precision.".to_string(),
        );
    }
    Ok(())
}

async fn list_registries(
    AxumState(shared): AxumState<Shared>,
    Path(org): Path<String>,
) -> Response {
    let world = shared.world();
    let list: Vec<types::RegistryResponse> = world
        .humanitec
        .orgs
        .get(&org)
        .map(|o| o.registries.values().map(response_of).collect())
        .unwrap_or_default();
    api::json(StatusCode::OK, &list)
}

async fn create_registry(
    AxumState(shared): AxumState<Shared>,
    op: Op,
    Path(org): Path<String>,
    Body(req): Body<types::RegistryRequest>,
) -> Response {
    if let Err(why) = check(&req) {
        return op.invalid(&why);
    }
    let now = shared.now();
    let mut world = shared.world();
    let org = world.humanitec.orgs.entry(org).or_default();
    let id = req.id.to_string();
    if org.registries.contains_key(&id) {
        return op.error(
            StatusCode::CONFLICT,
            &format!("Registry with id '{id}' already exists."),
        );
    }
    let record = Registry {
        id: id.clone(),
        registry: req.registry.clone(),
        kind: req.type_.to_string(),
        enable_ci: req.enable_ci.unwrap_or(false),
        secrets: req.secrets.as_ref().map(secrets_of),
        username: req.creds.as_ref().map(|c| c.username.clone()),
        expires: req
            .creds
            .as_ref()
            .and_then(|c| c.expires.as_ref().map(|e| e.0)),
        created_at: Some(now),
        created_by: Some(CREATED_BY.to_string()),
    };
    let body = response_of(&record);
    org.registries.insert(id, record);
    api::json(StatusCode::CREATED, &body)
}

async fn get_registry(
    AxumState(shared): AxumState<Shared>,
    op: Op,
    Path((org, reg_id)): Path<(String, String)>,
) -> Response {
    let world = shared.world();
    match world
        .humanitec
        .orgs
        .get(&org)
        .and_then(|o| o.registries.get(&reg_id))
    {
        Some(r) => api::json(StatusCode::OK, &response_of(r)),
        None => not_found(&op, &reg_id),
    }
}

async fn update_registry(
    AxumState(shared): AxumState<Shared>,
    op: Op,
    Path((org, reg_id)): Path<(String, String)>,
    Body(req): Body<types::RegistryRequest>,
) -> Response {
    if let Err(why) = check(&req) {
        return op.invalid(&why);
    }
    let mut world = shared.world();
    let Some(org) = world.humanitec.orgs.get_mut(&org) else {
        return not_found(&op, &reg_id);
    };
    if !org.registries.contains_key(&reg_id) {
        return not_found(&op, &reg_id);
    }
    if reg_id == BUILT_IN {
        return op.error(
            StatusCode::FORBIDDEN,
            &format!("Registry '{BUILT_IN}' is built in and cannot be modified."),
        );
    }
    let new_id = req.id.to_string();
    if new_id != reg_id && org.registries.contains_key(&new_id) {
        return op.error(
            StatusCode::CONFLICT,
            &format!("Registry with id '{new_id}' already exists."),
        );
    }
    let Some(mut record) = org.registries.remove(&reg_id) else {
        return not_found(&op, &reg_id);
    };
    record.id = new_id.clone();
    record.registry = req.registry.clone();
    record.kind = req.type_.to_string();
    if let Some(enable_ci) = req.enable_ci {
        record.enable_ci = enable_ci;
    }
    if let Some(secrets) = &req.secrets {
        record.secrets = Some(secrets_of(secrets));
    }
    if let Some(creds) = &req.creds {
        record.username = Some(creds.username.clone());
        record.expires = creds.expires.as_ref().map(|e| e.0);
    }
    let body = response_of(&record);
    org.registries.insert(new_id, record);
    api::json(StatusCode::OK, &body)
}

async fn delete_registry(
    AxumState(shared): AxumState<Shared>,
    op: Op,
    Path((org, reg_id)): Path<(String, String)>,
) -> Response {
    let mut world = shared.world();
    let Some(org) = world.humanitec.orgs.get_mut(&org) else {
        return not_found(&op, &reg_id);
    };
    if !org.registries.contains_key(&reg_id) {
        return not_found(&op, &reg_id);
    }
    if reg_id == BUILT_IN {
        return op.error(
            StatusCode::FORBIDDEN,
            &format!("Registry '{BUILT_IN}' is built in and cannot be deleted."),
        );
    }
    org.registries.remove(&reg_id);
    api::no_content()
}

async fn get_registry_credentials(
    AxumState(shared): AxumState<Shared>,
    op: Op,
    Path((org, reg_id)): Path<(String, String)>,
) -> Response {
    let now = shared.now();
    let record = {
        let world = shared.world();
        match world
            .humanitec
            .orgs
            .get(&org)
            .and_then(|o| o.registries.get(&reg_id))
        {
            Some(r) => r.clone(),
            None => return not_found(&op, &reg_id),
        }
    };
    let mut body = types::RegistryCredsResponse {
        expires: None,
        password: None,
        registry: record.registry.clone(),
        secrets: None,
        username: None,
    };
    match record.kind.as_str() {
        "secret_ref" => body.secrets = response_of(&record).secrets,
        "public" => {}
        kind => {
            let username = record.username.clone().unwrap_or_else(|| {
                match kind {
                    "amazon_ecr" => "AWS",
                    "google_gcr" => "_json_key",
                    _ => "emulator",
                }
                .to_string()
            });
            let fresh = now + CREDS_TTL;
            let expires = match record.expires {
                Some(e) if e < fresh => e,
                _ => fresh,
            };
            body.username = Some(username);
            body.password = Some(regkit_core::SecretString::new(
                shared.ids().alphanumeric(40),
            ));
            body.expires = Some(expires.trunc_subsecs(3));
        }
    }
    api::json(StatusCode::OK, &body)
}
