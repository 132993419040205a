//! Humanitec's operations: the route table, handlers that call the model,
//! the generated types they answer with and Humanitec's error body.

use axum::extract::State as AxumState;
use axum::http::Method;
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use regkit_humanitec::types;

use super::model::{Login, Registry};
use crate::api::{self, Answer, Route};
use crate::error::{ApiError, StatusCode};
use crate::extract::{Body, Path};
use crate::shared::Shared;

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
pub(crate) fn error_body(e: &ApiError) -> Response {
    api::json(
        e.status,
        &types::ErrorInfoResponse {
            error: e.message.clone(),
        },
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

async fn list_registries(AxumState(shared): AxumState<Shared>, Path(org): Path<String>) -> Answer {
    let world = shared.world();
    let list: Vec<types::RegistryResponse> = world
        .humanitec
        .records(&org)
        .into_iter()
        .map(response_of)
        .collect();
    api::ok(&list)
}

async fn create_registry(
    AxumState(shared): AxumState<Shared>,
    Path(org): Path<String>,
    Body(req): Body<types::RegistryRequest>,
) -> Answer {
    let now = shared.now();
    let mut world = shared.world();
    let record = world.humanitec.create(&org, &req, now)?;
    Ok(api::json(StatusCode::CREATED, &response_of(record)))
}

async fn get_registry(
    AxumState(shared): AxumState<Shared>,
    Path((org, reg_id)): Path<(String, String)>,
) -> Answer {
    api::ok(&response_of(
        shared.world().humanitec.record(&org, &reg_id)?,
    ))
}

async fn update_registry(
    AxumState(shared): AxumState<Shared>,
    Path((org, reg_id)): Path<(String, String)>,
    Body(req): Body<types::RegistryRequest>,
) -> Answer {
    let mut world = shared.world();
    api::ok(&response_of(world.humanitec.update(&org, &reg_id, &req)?))
}

async fn delete_registry(
    AxumState(shared): AxumState<Shared>,
    Path((org, reg_id)): Path<(String, String)>,
) -> Answer {
    shared.world().humanitec.delete(&org, &reg_id)?;
    Ok(api::no_content())
}

async fn get_registry_credentials(
    AxumState(shared): AxumState<Shared>,
    Path((org, reg_id)): Path<(String, String)>,
) -> Answer {
    let now = shared.now();
    let record = shared.world().humanitec.record(&org, &reg_id)?.clone();
    let mut body = types::RegistryCredsResponse {
        expires: None,
        password: None,
        registry: record.registry.clone(),
        secrets: None,
        username: None,
    };
    match record.login(now) {
        Login::Secrets => body.secrets = response_of(&record).secrets,
        Login::Public => {}
        Login::Password { username, expires } => {
            body.username = Some(username);
            body.password = Some(regkit_core::SecretString::new(
                shared.ids().alphanumeric(40),
            ));
            body.expires = Some(expires);
        }
    }
    api::ok(&body)
}
