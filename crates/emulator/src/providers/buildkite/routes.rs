//! Buildkite's operations: the route table, handlers that call the model,
//! the generated types they answer with (with the URLs the client used)
//! and Buildkite's error body.

use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use regkit_buildkite::types;
use serde::{Deserialize, Serialize};

use super::model::{
    COPYABLE, ECOSYSTEMS, INVALID, Org, Package, PackageQuery, Paging, Registry, Token, WEB,
    cursor_of, name_and_version, not_found, per_page_of, seq_of, slug_of, validation,
};
use crate::api::{self, Answer, Route};
use crate::error::{ApiError, body_error};
use crate::extract::{Body, Path, Query, RequestUrl, link_header};
use crate::registry::digest::secret_sha256;
use crate::shared::Shared;

pub(crate) fn routes() -> Vec<Route> {
    const REGS: &str = "/v2/packages/organizations/{org_slug}/registries";
    const REG: &str = "/v2/packages/organizations/{org_slug}/registries/{registry_slug}";
    const PKGS: &str = "/v2/packages/organizations/{org_slug}/registries/{registry_slug}/packages";
    const PKG: &str =
        "/v2/packages/organizations/{org_slug}/registries/{registry_slug}/packages/{package_id}";
    const TOKS: &str = "/v2/packages/organizations/{org_slug}/registries/{registry_slug}/tokens";
    const TOK: &str =
        "/v2/packages/organizations/{org_slug}/registries/{registry_slug}/tokens/{token_id}";
    vec![
        Route::new("create_registry", Method::POST, REGS, post(create_registry)),
        Route::new("list_registries", Method::GET, REGS, get(list_registries)),
        Route::new("get_registry", Method::GET, REG, get(get_registry)),
        Route::new("update_registry", Method::POST, REG, post(update_registry)),
        Route::new(
            "delete_registry",
            Method::DELETE,
            REG,
            axum::routing::delete(delete_registry),
        ),
        Route::new("publish_package", Method::POST, PKGS, post(publish_package)),
        Route::new("list_packages", Method::GET, PKGS, get(list_packages)),
        Route::new(
            "create_package_upload",
            Method::POST,
            "/v2/packages/organizations/{org_slug}/registries/{registry_slug}/packages/upload",
            post(create_package_upload),
        ),
        Route::new("get_package", Method::GET, PKG, get(get_package)),
        Route::new(
            "delete_package",
            Method::DELETE,
            PKG,
            axum::routing::delete(delete_package),
        ),
        Route::new(
            "copy_package",
            Method::POST,
            "/v2/packages/organizations/{org_slug}/registries/{registry_slug}/packages/{package_id}/copy",
            post(copy_package),
        ),
        Route::new(
            "create_registry_token",
            Method::POST,
            TOKS,
            post(create_registry_token),
        ),
        Route::new(
            "list_registry_tokens",
            Method::GET,
            TOKS,
            get(list_registry_tokens),
        ),
        Route::new(
            "get_registry_token",
            Method::GET,
            TOK,
            get(get_registry_token),
        ),
        Route::new(
            "update_registry_token",
            Method::POST,
            TOK,
            post(update_registry_token),
        ),
        Route::new(
            "delete_registry_token",
            Method::DELETE,
            TOK,
            axum::routing::delete(delete_registry_token),
        ),
    ]
}

/// Buildkite's `{message, errors}`.
pub(crate) fn error_body(e: &ApiError) -> Response {
    api::json(
        e.status,
        &types::Error {
            current: None,
            errors: e
                .details
                .iter()
                .map(|d| types::ErrorDetail::String(d.message.clone()))
                .collect(),
            limit: None,
            message: e.message.clone(),
            reset: None,
            scope: None,
        },
    )
}

fn graphql_id(kind: &str, id: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{kind}---{id}"))
}

struct Ctx<'a> {
    root: &'a str,
    org_slug: &'a str,
    org: &'a Org,
}

impl Ctx<'_> {
    fn registry_url(&self, slug: &str) -> String {
        format!(
            "{}/v2/packages/organizations/{}/registries/{slug}",
            self.root, self.org_slug
        )
    }

    fn registry(&self, r: &Registry) -> types::Registry {
        types::Registry {
            color: r.color.clone(),
            description: r.description.clone(),
            ecosystem: r.ecosystem.clone(),
            emoji: r.emoji.clone(),
            graphql_id: graphql_id("Registry", &r.id),
            id: r.id.clone(),
            name: r.name.clone(),
            oidc_policy: r
                .oidc_policy
                .as_ref()
                .and_then(|p| serde_json::from_value(p.clone()).ok()),
            public: false,
            slug: r.slug.clone(),
            team_ids: r.team_ids.clone(),
            url: self.registry_url(&r.slug),
            web_url: format!(
                "{WEB}/organizations/{}/packages/registries/{}",
                self.org_slug, r.slug
            ),
        }
    }

    fn organization(&self) -> types::OrganizationSummary {
        types::OrganizationSummary {
            id: self.org.id.clone(),
            slug: self.org_slug.to_string(),
            url: format!("{}/v2/organizations/{}", self.root, self.org_slug),
            web_url: format!("{WEB}/{}", self.org_slug),
        }
    }

    fn registry_summary(&self, r: &Registry) -> types::RegistrySummary {
        types::RegistrySummary {
            graphql_id: graphql_id("Registry", &r.id),
            id: r.id.clone(),
            slug: r.slug.clone(),
            url: self.registry_url(&r.slug),
            web_url: format!(
                "{WEB}/organizations/{}/packages/registries/{}",
                self.org_slug, r.slug
            ),
        }
    }

    fn package_urls(&self, r: &Registry, p: &Package) -> (String, String) {
        (
            format!("{}/packages/{}", self.registry_url(&r.slug), p.id),
            format!(
                "{WEB}/organizations/{}/packages/registries/{}/packages/{}",
                self.org_slug, r.slug, p.id
            ),
        )
    }

    fn package(&self, r: &Registry, p: &Package) -> types::Package {
        let (url, web_url) = self.package_urls(r, p);
        types::Package {
            digests: Some(digests(p)),
            id: p.id.clone(),
            metadata: serde_json::Map::new(),
            name: p.name.clone(),
            organization: self.organization(),
            registry: self.registry_summary(r),
            url,
            variant: None,
            version: Some(p.version.clone()),
            web_url,
        }
    }

    fn package_item(&self, r: &Registry, p: &Package) -> types::PackageListItem {
        let (url, web_url) = self.package_urls(r, p);
        types::PackageListItem {
            created_at: p.created_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            digests: Some(digests(p)),
            id: p.id.clone(),
            name: p.name.clone(),
            url,
            version: p.version.clone(),
            web_url,
        }
    }

    fn token(&self, r: &Registry, t: &Token) -> types::RegistryToken {
        types::RegistryToken {
            created_at: t.created_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            created_by: creator(),
            description: t.description.clone(),
            graphql_id: graphql_id("RegistryToken", &t.id),
            id: t.id.clone(),
            organization: self.organization(),
            registry: self.registry_summary(r),
            token: None,
            url: format!("{}/tokens/{}", self.registry_url(&r.slug), t.id),
        }
    }
}

fn digests(p: &Package) -> types::PackageDigests {
    types::PackageDigests {
        sha256: p.sha256.clone(),
        sha512: p.sha512.clone(),
    }
}

fn creator() -> types::UserSummary {
    types::UserSummary {
        avatar_url: None,
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        email: "emulator@example.com".to_string(),
        graphql_id: graphql_id("User", "00000000-0000-4000-8000-000000000001"),
        id: "00000000-0000-4000-8000-000000000001".to_string(),
        name: "Emulator User".to_string(),
    }
}

/// One page of `items` as a JSON array with its `Link` header.
fn paged<T: Serialize>(items: &[T], paging: &Paging, url: &RequestUrl) -> Answer {
    let Some((page, per_page)) = paging.resolve() else {
        return Err(validation(&["per_page must be at least 1"]));
    };
    let (slice, pages) = crate::paging::page_of(items, page, per_page);
    let links = link_header(url, page, pages, per_page);
    Ok((links, api::json(StatusCode::OK, &slice)).into_response())
}

// ---------------------------------------------------------------- registries

async fn create_registry(
    AxumState(shared): AxumState<Shared>,
    Path(org_slug): Path<String>,
    url: RequestUrl,
    Body(req): Body<types::RegistryCreate>,
) -> Answer {
    let name = req.name.trim();
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push("Name can't be blank");
    }
    if req.ecosystem.trim().is_empty() {
        problems.push("Ecosystem can't be blank");
    } else if !ECOSYSTEMS.contains(&req.ecosystem.as_str()) {
        problems.push("Ecosystem is not included in the list");
    }
    let slug = slug_of(name);
    if !name.is_empty() && slug.is_empty() {
        problems.push("Slug can't be blank");
    }
    if !problems.is_empty() {
        return Err(validation(&problems));
    }
    let now = shared.now();
    // Locks in the order `Emulator::seed` takes them: ids, then the world.
    let mut ids = shared.ids();
    let mut world = shared.world();
    let org = world.buildkite.org(&org_slug, &mut ids);
    if org.registries.contains_key(&slug) || org.registries.values().any(|r| r.name == name) {
        return Err(validation(&["Name has already been taken"]));
    }
    let registry = Registry {
        id: ids.uuid().to_string(),
        slug: slug.clone(),
        name: name.to_string(),
        ecosystem: req.ecosystem.clone(),
        description: req.description.clone(),
        emoji: req.emoji.clone(),
        color: req.color.clone(),
        oidc_policy: req
            .oidc_policy
            .as_ref()
            .and_then(|p| serde_json::to_value(p).ok()),
        team_ids: req.team_ids.clone(),
        created_at: Some(now),
        ..Registry::default()
    };
    org.registries.insert(slug.clone(), registry);
    let root = url.api_root();
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    match org.registries.get(&slug) {
        Some(r) => api::ok(&ctx.registry(r)),
        None => Err(not_found()),
    }
}

async fn list_registries(
    AxumState(shared): AxumState<Shared>,
    Path(org_slug): Path<String>,
    Query(paging): Query<Paging>,
    url: RequestUrl,
) -> Answer {
    let world = shared.world();
    let root = url.api_root();
    let empty = Org::default();
    let org = world.buildkite.orgs.get(&org_slug).unwrap_or(&empty);
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    let all: Vec<types::Registry> = org.registries.values().map(|r| ctx.registry(r)).collect();
    paged(&all, &paging, &url)
}

async fn get_registry(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    url: RequestUrl,
) -> Answer {
    let world = shared.world();
    let (org, r) = world.buildkite.registry(&org_slug, &slug)?;
    let root = url.api_root();
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    api::ok(&ctx.registry(r))
}

async fn update_registry(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    url: RequestUrl,
    Body(raw): Body<serde_json::Map<String, serde_json::Value>>,
) -> Answer {
    // Decoded twice: into the generated type (which checks the schema), and
    // as plain JSON to tell `null` (clear the field) from leaving it out.
    let req: types::RegistryUpdate = match serde_json::from_value(raw.clone().into()) {
        Ok(r) => r,
        Err(e) => return Err(ApiError::new(INVALID, body_error(&e))),
    };
    let cleared = |key: &str| raw.get(key).is_some_and(serde_json::Value::is_null);
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return Err(not_found());
    };
    if !org.registries.contains_key(&slug) {
        return Err(not_found());
    }
    if let Some(name) = &req.name {
        let name = name.trim();
        if name.is_empty() {
            return Err(validation(&["Name can't be blank"]));
        }
        if org
            .registries
            .values()
            .any(|r| r.name == name && r.slug != slug)
        {
            return Err(validation(&["Name has already been taken"]));
        }
    }
    let Some(r) = org.registries.get_mut(&slug) else {
        return Err(not_found());
    };
    if let Some(name) = &req.name {
        r.name = name.trim().to_string();
    }
    if let Some(description) = &req.description {
        r.description = description.clone().into_option();
    } else if cleared("description") {
        r.description = None;
    }
    if let Some(emoji) = &req.emoji {
        r.emoji = Some(emoji.clone());
    }
    if let Some(color) = &req.color {
        r.color = Some(color.clone());
    }
    if let Some(policy) = &req.oidc_policy {
        r.oidc_policy = policy
            .clone()
            .into_option()
            .and_then(|p| serde_json::to_value(p).ok());
    } else if cleared("oidc_policy") {
        r.oidc_policy = None;
    }
    let root = url.api_root();
    let org = &*org;
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    match org.registries.get(&slug) {
        Some(r) => api::ok(&ctx.registry(r)),
        None => Err(not_found()),
    }
}

async fn delete_registry(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
) -> Answer {
    let mut world = shared.world();
    match world
        .buildkite
        .orgs
        .get_mut(&org_slug)
        .and_then(|o| o.registries.remove(&slug))
    {
        Some(_) => Ok(api::no_content()),
        None => Err(not_found()),
    }
}

// ------------------------------------------------------------------ packages

/// The file (or package URL) a multipart publish carries.
enum Upload {
    File { filename: String, size: u64 },
    Url(String),
}

/// Reads the `file` or `package_url` part of a `multipart/form-data` body.
fn parse_multipart(headers: &HeaderMap, body: &[u8]) -> Result<Upload, &'static str> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or("the body must be multipart/form-data")?;
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err("the body must be multipart/form-data");
    }
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|b| !b.is_empty() && b.len() <= 200)
        .ok_or("the multipart body has no boundary")?;
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut rest = body;
    let mut found = None;
    // Skip the preamble up to the first delimiter.
    let Some(start) = find(rest, delimiter) else {
        return Err("the multipart body is malformed");
    };
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            return Err("the multipart body is malformed");
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let content = &rest[head_end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let Some(end) = find(content, &closing) else {
            return Err("the multipart body is malformed");
        };
        let data = &content[..end];
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or("");
        let name = param(disposition, "name");
        match name.as_deref() {
            Some("file") => {
                let filename = param(disposition, "filename").unwrap_or_default();
                found = Some(Upload::File {
                    filename,
                    size: data.len() as u64,
                });
            }
            Some("package_url") if found.is_none() => {
                found = Some(Upload::Url(
                    String::from_utf8_lossy(data).trim().to_string(),
                ));
            }
            _ => {}
        }
        rest = &content[end + closing.len()..];
    }
    found.ok_or("File can't be blank")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `name="value"` out of a `Content-Disposition` line.
fn param(line: &str, key: &str) -> Option<String> {
    line.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

async fn publish_package(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    url: RequestUrl,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let upload = match parse_multipart(&headers, &body) {
        Ok(u) => u,
        Err(why) => return Err(validation(&[why])),
    };
    let (filename, size) = match upload {
        Upload::File { filename, size } => (filename, size),
        Upload::Url(u) => {
            let last = u
                .split(['?', '#'])
                .next()
                .and_then(|p| p.rsplit('/').next())
                .unwrap_or("")
                .to_string();
            (last, 0)
        }
    };
    if filename.trim().is_empty() {
        return Err(validation(&["File name can't be blank"]));
    }
    let now = shared.now();
    let mut ids = shared.ids();
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return Err(not_found());
    };
    let Some(r) = org.registries.get_mut(&slug) else {
        return Err(not_found());
    };
    let (name, version) = name_and_version(&filename, &r.ecosystem);
    if r.packages
        .iter()
        .any(|p| p.name == name && p.version == version)
    {
        return Err(validation(&["Version has already been taken"]));
    }
    let id = r
        .push(&mut ids, &name, &version, &filename, size, now)
        .id
        .clone();
    package_answer(&url, &org_slug, org, &slug, &id)
}

fn package_answer(url: &RequestUrl, org_slug: &str, org: &Org, slug: &str, id: &str) -> Answer {
    let root = url.api_root();
    let ctx = Ctx {
        root: &root,
        org_slug,
        org,
    };
    match org
        .registries
        .get(slug)
        .and_then(|r| r.packages.iter().find(|p| p.id == id).map(|p| (r, p)))
    {
        Some((r, p)) => api::ok(&ctx.package(r, p)),
        None => Err(not_found()),
    }
}

/// The request URL with `set` in place of the paging parameters.
fn page_link(url: &RequestUrl, set: &[(&str, String)]) -> String {
    url.replacing(&["before", "after", "per_page"], set)
}

async fn list_packages(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    Query(q): Query<PackageQuery>,
    url: RequestUrl,
) -> Answer {
    let Some(per_page) = per_page_of(q.per_page) else {
        return Err(validation(&["per_page must be at least 1"]));
    };
    let cursor = |c: &Option<String>| match c {
        None => Ok(None),
        Some(c) => seq_of(c).map(Some).ok_or(()),
    };
    let (Ok(after), Ok(before)) = (cursor(&q.after), cursor(&q.before)) else {
        return Err(validation(&["The paging cursor is invalid"]));
    };
    let world = shared.world();
    let (org, r) = world.buildkite.registry(&org_slug, &slug)?;
    // Newest first.
    let all: Vec<&Package> = r
        .packages
        .iter()
        .rev()
        .filter(|p| q.name.as_ref().is_none_or(|n| &p.name == n))
        .collect();
    let per = usize::try_from(per_page).unwrap_or(usize::MAX);
    let (start, end) = match (after, before) {
        (Some(a), _) => {
            let start = all.iter().position(|p| p.seq < a).unwrap_or(all.len());
            (start, start.saturating_add(per).min(all.len()))
        }
        (None, Some(b)) => {
            let end = all.iter().position(|p| p.seq <= b).unwrap_or(all.len());
            (end.saturating_sub(per), end)
        }
        (None, None) => (0, per.min(all.len())),
    };
    let page = &all[start..end];
    let root = url.api_root();
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    let per_page_s = per_page.to_string();
    let links = types::PackageListLinks {
        first: Some(page_link(&url, &[("per_page", per_page_s.clone())])),
        next: (end < all.len()).then(|| page.last()).flatten().map(|p| {
            page_link(
                &url,
                &[("after", cursor_of(p)), ("per_page", per_page_s.clone())],
            )
        }),
        prev: (start > 0).then(|| page.first()).flatten().map(|p| {
            page_link(
                &url,
                &[("before", cursor_of(p)), ("per_page", per_page_s.clone())],
            )
        }),
        self_: match url.query.is_empty() {
            true => url.without_query.clone(),
            false => url.with(&[]),
        },
    };
    let body = types::PackageList {
        items: page.iter().map(|p| ctx.package_item(r, p)).collect(),
        links,
    };
    api::ok(&body)
}

async fn create_package_upload(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
) -> Answer {
    let exists = shared
        .world()
        .buildkite
        .orgs
        .get(&org_slug)
        .is_some_and(|o| o.registries.contains_key(&slug));
    if !exists {
        return Err(not_found());
    }
    let (upload, signature) = {
        let mut ids = shared.ids();
        (ids.uuid().to_string(), ids.digest())
    };
    let now = shared.now();
    let key = format!("{org_slug}/{slug}/{upload}");
    let mut data = std::collections::HashMap::new();
    data.insert("key".to_string(), format!("{key}/${{filename}}"));
    data.insert("acl".to_string(), "private".to_string());
    data.insert(
        "x-amz-algorithm".to_string(),
        "AWS4-HMAC-SHA256".to_string(),
    );
    data.insert(
        "x-amz-date".to_string(),
        now.format("%Y%m%dT%H%M%SZ").to_string(),
    );
    data.insert(
        "x-amz-signature".to_string(),
        signature.trim_start_matches("sha256:").to_string(),
    );
    let body = types::PresignedUpload {
        form: types::PresignedUploadForm {
            data,
            file_input: "file".to_string(),
            method: "POST".to_string(),
            url: "https://buildkite-packages-uploads.s3.amazonaws.com".to_string(),
        },
        uri: format!("s3://buildkite-packages-uploads/{key}"),
    };
    api::ok(&body)
}

async fn get_package(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
    url: RequestUrl,
) -> Answer {
    let world = shared.world();
    match world.buildkite.orgs.get(&org_slug) {
        Some(org) => package_answer(&url, &org_slug, org, &slug, &id),
        None => Err(not_found()),
    }
}

async fn delete_package(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
) -> Answer {
    shared
        .world()
        .buildkite
        .delete_package(&org_slug, &slug, &id)?;
    Ok(api::no_content())
}

#[derive(Deserialize)]
struct CopyQuery {
    to: String,
}

async fn copy_package(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
    Query(q): Query<CopyQuery>,
    url: RequestUrl,
) -> Answer {
    let now = shared.now();
    let mut ids = shared.ids();
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return Err(not_found());
    };
    let Some((source, ecosystem)) = org.registries.get(&slug).and_then(|r| {
        r.packages
            .iter()
            .find(|p| p.id == id)
            .map(|p| (p.clone(), r.ecosystem.clone()))
    }) else {
        return Err(not_found());
    };
    let Some(target) = org.registries.get_mut(&q.to) else {
        return Err(ApiError::not_found(format!(
            "No registry named '{}' was found",
            q.to
        )));
    };
    if !COPYABLE.contains(&ecosystem.as_str()) {
        return Err(validation(&["Packages of this ecosystem cannot be copied"]));
    }
    if target.ecosystem != ecosystem {
        return Err(validation(&[
            "The target registry serves another ecosystem",
        ]));
    }
    if target.slug == slug {
        return Err(validation(&[
            "A package cannot be copied into its own registry",
        ]));
    }
    if target
        .packages
        .iter()
        .any(|p| p.name == source.name && p.version == source.version)
    {
        return Err(validation(&["Version has already been taken"]));
    }
    let new_id = {
        let copy = target.push(
            &mut ids,
            &source.name,
            &source.version,
            &source.filename,
            source.size,
            now,
        );
        copy.id.clone()
    };
    if let Some(copy) = target.packages.iter_mut().find(|p| p.id == new_id) {
        copy.sha256 = source.sha256.clone();
        copy.sha512 = source.sha512.clone();
    }
    let to = q.to.clone();
    package_answer(&url, &org_slug, org, &to, &new_id)
}

// -------------------------------------------------------------------- tokens

async fn create_registry_token(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    url: RequestUrl,
    Body(req): Body<types::RegistryTokenRequest>,
) -> Answer {
    if req.description.trim().is_empty() {
        return Err(validation(&["Description can't be blank"]));
    }
    let now = shared.now();
    let (id, secret) = {
        let mut ids = shared.ids();
        (
            ids.uuid().to_string(),
            format!("bkpt_{}", ids.alphanumeric(40)),
        )
    };
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return Err(not_found());
    };
    let Some(r) = org.registries.get_mut(&slug) else {
        return Err(not_found());
    };
    let token = Token {
        id,
        description: req.description.clone(),
        created_at: Some(now),
        secret_sha256: Some(secret_sha256(&secret)),
    };
    r.tokens.push(token.clone());
    let root = url.api_root();
    let org = &*org;
    let Some(r) = org.registries.get(&slug) else {
        return Err(not_found());
    };
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    let mut body = ctx.token(r, &token);
    body.token = Some(regkit_core::SecretString::new(secret));
    api::ok(&body)
}

async fn list_registry_tokens(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    Query(paging): Query<Paging>,
    url: RequestUrl,
) -> Answer {
    let world = shared.world();
    let (org, r) = world.buildkite.registry(&org_slug, &slug)?;
    let root = url.api_root();
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    let all: Vec<types::RegistryToken> = r.tokens.iter().map(|t| ctx.token(r, t)).collect();
    paged(&all, &paging, &url)
}

async fn get_registry_token(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
    url: RequestUrl,
) -> Answer {
    let world = shared.world();
    let Some(org) = world.buildkite.orgs.get(&org_slug) else {
        return Err(not_found());
    };
    let Some((r, t)) = org
        .registries
        .get(&slug)
        .and_then(|r| r.tokens.iter().find(|t| t.id == id).map(|t| (r, t)))
    else {
        return Err(not_found());
    };
    let root = url.api_root();
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    api::ok(&ctx.token(r, t))
}

async fn update_registry_token(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
    url: RequestUrl,
    Body(req): Body<types::RegistryTokenRequest>,
) -> Answer {
    if req.description.trim().is_empty() {
        return Err(validation(&["Description can't be blank"]));
    }
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return Err(not_found());
    };
    let Some(t) = org
        .registries
        .get_mut(&slug)
        .and_then(|r| r.tokens.iter_mut().find(|t| t.id == id))
    else {
        return Err(not_found());
    };
    t.description = req.description.clone();
    let token = t.clone();
    let org = &*org;
    let Some(r) = org.registries.get(&slug) else {
        return Err(not_found());
    };
    let root = url.api_root();
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    api::ok(&ctx.token(r, &token))
}

async fn delete_registry_token(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
) -> Answer {
    shared
        .world()
        .buildkite
        .delete_token(&org_slug, &slug, &id)?;
    Ok(api::no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_file_parts_are_found_and_garbage_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=XyZ".parse().unwrap(),
        );
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a-1.0.gem\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n--XyZ--\r\n";
        match parse_multipart(&headers, body) {
            Ok(Upload::File { filename, size }) => {
                assert_eq!((filename.as_str(), size), ("a-1.0.gem", 5))
            }
            _ => panic!("the file part is found"),
        }
        for garbage in [
            &b""[..],
            b"--XyZ",
            b"--XyZ\r\n\r\n",
            b"no delimiter",
            b"--XyZ--",
        ] {
            assert!(parse_multipart(&headers, garbage).is_err());
        }
        assert!(parse_multipart(&HeaderMap::new(), body).is_err());
    }
}
