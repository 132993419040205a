//! DigitalOcean's operations: the route table (the multi-registry API and
//! the deprecated single-registry one over the same state), handlers that
//! call the model, the generated types they answer with and DO's error
//! body.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State as AxumState;
use axum::http::Method;
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use regkit_digitalocean::types;
use serde::Deserialize;

use super::model::*;
use crate::api::{self, Answer, Route, ok};
use crate::content::Manifest;
use crate::error::{ApiError, StatusCode};
use crate::extract::{Body, OptionalBody, Path, Query, RequestUrl};
use crate::registry::digest::secret_sha256;
use crate::shared::{HostKey, Shared};

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

/// DO's `{id, message, request_id}`.
pub(crate) fn error_body(e: &ApiError) -> Response {
    api::json(
        e.status,
        &types::Error {
            id: error_id(e.status).to_string(),
            message: e.message.clone(),
            request_id: Some(request_id()),
        },
    )
}

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

/// Runs `f` on the account state with its garbage collections brought up
/// to now.
fn with_state(shared: &Shared, f: impl FnOnce(&mut State, DateTime<Utc>) -> Answer) -> Answer {
    let now = shared.now();
    let mut world = shared.world();
    if world.digitalocean.settle(now) {
        shared.sweep_blobs(&world);
        shared.touch();
    }
    f(&mut world.digitalocean, now)
}

async fn registries_list(AxumState(shared): AxumState<Shared>) -> Answer {
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
        Some(s) => Tier::from_slug(s.as_str())
            .map(Some)
            .ok_or_else(|| invalid(format!("invalid subscription_tier_slug {:?}", s.as_str()))),
    }
}

async fn registries_create(
    AxumState(shared): AxumState<Shared>,
    Body(body): Body<types::MultiregistryCreate>,
) -> Answer {
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

async fn registries_get(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Answer {
    with_state(&shared, |st, now| {
        let r = st.registry(&name)?;
        ok(&types::MultiregistryInfo {
            registry: Some(multiregistry_body(&name, r, now)),
        })
    })
}

async fn registries_delete(
    AxumState(shared): AxumState<Shared>,
    Path(name): Path<String>,
) -> Answer {
    with_state(&shared, |st, _| {
        st.registries.remove(&name).ok_or_else(not_found)?;
        Ok(api::no_content())
    })
}

async fn registry_get(AxumState(shared): AxumState<Shared>) -> Answer {
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
) -> Answer {
    with_state(&shared, |st, now| {
        if !st.registries.is_empty() {
            if st.registries.contains_key(body.name.as_str()) {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("registry name {:?} is already in use", body.name.as_str()),
                ));
            }
            return Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "the account already has a registry; use /v2/registries to create more",
            ));
        }
        let tier = tier_of(Some(&body.subscription_tier_slug))?;
        let region = body.region.as_ref().map(|r| r.as_str().to_string());
        if let Some(r) = &region
            && !LEGACY_REGIONS.contains(&r.as_str())
        {
            return Err(invalid(format!("invalid region {r:?}")));
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

async fn registry_delete(AxumState(shared): AxumState<Shared>) -> Answer {
    with_state(&shared, |st, _| {
        let name = st.only_registry()?.clone();
        st.registries.remove(&name);
        Ok(api::no_content())
    })
}

async fn validate_name(
    AxumState(shared): AxumState<Shared>,
    Body(body): Body<types::ValidateRegistry>,
) -> Answer {
    with_state(&shared, |st, _| {
        if st.registries.contains_key(body.name.as_str()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("registry name {:?} is already in use", body.name.as_str()),
            ));
        }
        Ok(api::no_content())
    })
}

async fn get_subscription(AxumState(shared): AxumState<Shared>) -> Answer {
    with_state(&shared, |st, _| {
        let subscription = st.subscription_body().ok_or_else(not_found)?;
        ok(&types::SubscriptionInfo {
            subscription: Some(subscription),
        })
    })
}

async fn update_subscription(
    AxumState(shared): AxumState<Shared>,
    OptionalBody(body): OptionalBody<types::SubscriptionUpdate>,
) -> Answer {
    with_state(&shared, |st, now| {
        let slug = body.and_then(|b| b.tier_slug);
        let tier = tier_of(slug.as_ref())?.ok_or_else(|| invalid("tier_slug is required"))?;
        if st.subscription.is_none() {
            return Err(not_found());
        }
        st.set_tier(tier, now)?;
        ok(&types::SubscriptionInfo {
            subscription: st.subscription_body(),
        })
    })
}

async fn get_options(AxumState(shared): AxumState<Shared>) -> Answer {
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
fn docker_credentials(shared: &Shared, registry: Option<String>, q: CredentialsQuery) -> Answer {
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
                    .ok_or_else(|| invalid("expiry_seconds is too large"))?;
                Some(
                    now.checked_add_signed(secs)
                        .ok_or_else(|| invalid("expiry_seconds is too large"))?,
                )
            }
        };
        st.issued_credentials.push(IssuedCredentials {
            registry,
            read_write: q.read_write.unwrap_or(false),
            expires_at,
            issued_at: now,
            secret_sha256: Some(secret_sha256(&secret)),
        });
        if st.issued_credentials.len() > ISSUED_KEPT {
            let extra = st.issued_credentials.len() - ISSUED_KEPT;
            st.issued_credentials.drain(..extra);
        }
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{secret}:{secret}"));
        let mut auths = std::collections::HashMap::new();
        auths.insert(
            shared
                .data()
                .host(&HostKey::Shared(crate::provider::Provider::DigitalOcean))
                .map_or_else(|| docker_host().to_string(), |addr| addr.to_string()),
            types::DockerCredentialsAuth {
                auth: Some(auth.into()),
            },
        );
        ok(&types::DockerCredentials { auths })
    })
}

async fn registries_docker_credentials(
    AxumState(shared): AxumState<Shared>,
    Path(name): Path<String>,
    Query(q): Query<CredentialsQuery>,
) -> Answer {
    docker_credentials(&shared, Some(name), q)
}

async fn registry_docker_credentials(
    AxumState(shared): AxumState<Shared>,
    Query(q): Query<CredentialsQuery>,
) -> Answer {
    docker_credentials(&shared, None, q)
}

/// This request's URL with the paging parameters replaced.
fn page_url(url: &RequestUrl, set: &[(&str, String)]) -> String {
    url.replacing(&["page", "per_page", "page_token"], set)
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
    let page: Vec<T> = crate::paging::slice_of(items, p.offset, p.per_page).to_vec();
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

async fn list_repositories_v1(
    AxumState(shared): AxumState<Shared>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Answer {
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
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Answer {
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
    Path((name, repository)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Answer {
    with_state(&shared, |st, _| {
        let p = q.paging(false)?;
        let r = st.registry(&name)?;
        let repo = r.repository(&repository)?;
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
    Path((name, repository)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Answer {
    with_state(&shared, |st, _| {
        let p = q.paging(false)?;
        let r = st.registry(&name)?;
        let repo = r.repository(&repository)?;
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
    Path((name, repository)): Path<(String, String)>,
) -> Answer {
    with_state(&shared, |st, _| {
        let r = st.registry_mut(&name)?;
        r.store
            .repositories
            .remove(&repository)
            .ok_or_else(not_found)?;
        Ok(api::no_content())
    })
}

async fn delete_tag(
    AxumState(shared): AxumState<Shared>,
    Path((name, repository, tag)): Path<(String, String, String)>,
) -> Answer {
    with_state(&shared, |st, _| {
        let r = st.registry_mut(&name)?;
        let repo = r.repository_mut(&repository)?;
        // The manifest stays, untagged, until garbage collection.
        repo.tags.remove(&tag).ok_or_else(not_found)?;
        Ok(api::no_content())
    })
}

async fn delete_manifest(
    AxumState(shared): AxumState<Shared>,
    Path((name, repository, digest)): Path<(String, String, String)>,
) -> Answer {
    with_state(&shared, |st, _| {
        let r = st.registry_mut(&name)?;
        let repo = r.repository_mut(&repository)?;
        repo.manifests.remove(&digest).ok_or_else(not_found)?;
        // Its tags go with it; its blobs stay until garbage collection.
        repo.tags.retain(|_, d| *d != digest);
        Ok(api::no_content())
    })
}

// --- garbage collection ----------------------------------------------------------

async fn run_gc(
    AxumState(shared): AxumState<Shared>,
    Path(name): Path<String>,
    OptionalBody(body): OptionalBody<types::RegistryRunGc>,
) -> Answer {
    let uuid = shared.ids().uuid().to_string();
    with_state(&shared, |st, now| {
        let kind = match body.and_then(|b| b.type_) {
            None => GcType::UnreferencedBlobsOnly,
            Some(t) => GcType::parse(t.as_str()).ok_or_else(|| {
                invalid(format!("invalid garbage collection type {:?}", t.as_str()))
            })?,
        };
        let r = st.registry_mut(&name)?;
        if r.active_gc(now).is_some() {
            return Err(ApiError::new(
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

async fn get_gc(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Answer {
    with_state(&shared, |st, now| {
        let r = st.registry(&name)?;
        let gc = r.active_gc(now).ok_or_else(not_found)?;
        ok(&types::GarbageCollectionInfo {
            garbage_collection: Some(gc.body(&name, now)),
        })
    })
}

async fn list_gcs(
    AxumState(shared): AxumState<Shared>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    url: RequestUrl,
) -> Answer {
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
    Path((name, uuid)): Path<(String, String)>,
    Body(body): Body<types::UpdateGarbageCollection>,
) -> Answer {
    with_state(&shared, |st, now| {
        let r = st.registry_mut(&name)?;
        let gc = r
            .garbage_collections
            .iter_mut()
            .find(|gc| gc.uuid == uuid)
            .ok_or_else(not_found)?;
        if body.cancel == Some(true) {
            if !gc.status_at(now).0.active() {
                return Err(ApiError::new(
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
