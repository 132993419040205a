//! Buildkite Package Registries: registries of organizations
//! (`/v2/packages/organizations/{org_slug}/registries`), the packages
//! published to them and the tokens that read them.
//!
//! Organizations exist as soon as they are named. A registry's slug comes
//! from its name (`my registry` → `my-registry`) and stays when it is
//! renamed; names (and slugs) are unique in an organization (422
//! "Validation Failed"). Registry and token lists page with `page` and
//! `per_page` (default 30, at most 100) and a `Link` header; package lists
//! are newest first and page with `before`/`after` cursors in `links` in
//! the body, as the spec says. Publishing takes the multipart `file` part
//! (or a `package_url` from `create_package_upload`) and names the package
//! and version from the file name. Package digests are random, not
//! checksums of the file. A token's secret is shown by its create answer
//! only and never kept.

use std::collections::BTreeMap;

use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use regkit_buildkite::types;
use serde::{Deserialize, Serialize};

use crate::api::{self, Body, Op, Query, RequestUrl, Route};
use crate::content::ContentGen;
use crate::server::Shared;

/// Items per page when the request names none.
pub const DEFAULT_PER_PAGE: u64 = 30;
/// The most items one page holds.
pub const MAX_PER_PAGE: u64 = 100;

/// Ecosystems a registry may serve.
pub const ECOSYSTEMS: &[&str] = &[
    "alpine",
    "container",
    "debian",
    "files",
    "helm",
    "hugging-face",
    "java",
    "javascript",
    "python",
    "red-hat",
    "ruby",
    "terraform",
];

/// Ecosystems whose packages can be copied to another registry.
pub const COPYABLE: &[&str] = &[
    "alpine",
    "debian",
    "files",
    "javascript",
    "python",
    "red-hat",
    "ruby",
];

const WEB: &str = "https://buildkite.com";

/// What Buildkite remembers: organizations by slug.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Organizations by slug; any slug names one, and it appears here when
    /// first used.
    pub orgs: BTreeMap<String, Org>,
}

/// One organization.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Org {
    /// Its id.
    pub id: String,
    /// Registries by slug.
    pub registries: BTreeMap<String, Registry>,
}

/// A package registry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Registry {
    /// Its id (a UUID).
    pub id: String,
    /// URL-safe identifier, from the name it was created with.
    pub slug: String,
    /// Display name, unique in the organization.
    pub name: String,
    /// Package ecosystem (one of [`ECOSYSTEMS`]); fixed at creation.
    pub ecosystem: String,
    /// Description.
    pub description: Option<String>,
    /// Emoji shortcode.
    pub emoji: Option<String>,
    /// Hex colour.
    pub color: Option<String>,
    /// OIDC publishing policy as sent (YAML text or statements).
    pub oidc_policy: Option<serde_json::Value>,
    /// Teams with access.
    pub team_ids: Vec<String>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// Packages in the order they were published (lists show the newest
    /// first).
    pub packages: Vec<Package>,
    /// Access tokens (no secrets).
    pub tokens: Vec<Token>,
    /// Sequence number of the next package published here.
    pub next_seq: u64,
}

/// A package in a registry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Package {
    /// Its id (a UUID).
    pub id: String,
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// The file name it was published as.
    pub filename: String,
    /// Bytes of the file.
    pub size: u64,
    /// SHA-256 digest, hex.
    pub sha256: String,
    /// SHA-512 digest, hex.
    pub sha512: String,
    /// When it was published.
    pub created_at: Option<DateTime<Utc>>,
    /// Publication order within the registry (the paging cursor).
    pub seq: u64,
}

/// A registry access token, without its secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Token {
    /// Its id (a UUID).
    pub id: String,
    /// What it is for.
    pub description: String,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
}

impl State {
    fn org(&mut self, slug: &str, ids: &mut ContentGen) -> &mut Org {
        self.orgs.entry(slug.to_string()).or_insert_with(|| Org {
            id: ids.uuid().to_string(),
            registries: BTreeMap::new(),
        })
    }

    /// Adds a registry named `name` serving `ecosystem` to the organization
    /// and returns its slug (the existing one when the slug is taken).
    pub fn add_registry(
        &mut self,
        org: &str,
        name: &str,
        ecosystem: &str,
        ids: &mut ContentGen,
        now: DateTime<Utc>,
    ) -> String {
        let slug = slug_of(name);
        let id = ids.uuid().to_string();
        let org = self.org(org, ids);
        org.registries
            .entry(slug.clone())
            .or_insert_with(|| Registry {
                id,
                slug: slug.clone(),
                name: name.to_string(),
                ecosystem: ecosystem.to_string(),
                created_at: Some(now),
                ..Registry::default()
            });
        slug
    }

    /// Publishes `name` at `version` into a registry (with random digests
    /// and size) and returns the package's id, or `None` when there is no
    /// such registry.
    pub fn add_package(
        &mut self,
        org: &str,
        registry: &str,
        name: &str,
        version: &str,
        ids: &mut ContentGen,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let reg = self.orgs.get_mut(org)?.registries.get_mut(registry)?;
        let filename = format!("{name}-{version}{}", extension_of(&reg.ecosystem));
        let size = ids.u64(1024..8 << 20);
        Some(
            reg.push(ids, name, version, &filename, size, now)
                .id
                .clone(),
        )
    }
}

impl Registry {
    fn push(
        &mut self,
        ids: &mut ContentGen,
        name: &str,
        version: &str,
        filename: &str,
        size: u64,
        now: DateTime<Utc>,
    ) -> &Package {
        let hex = |d: String| d.trim_start_matches("sha256:").to_string();
        let package = Package {
            id: ids.uuid().to_string(),
            name: name.to_string(),
            version: version.to_string(),
            filename: filename.to_string(),
            size,
            sha256: hex(ids.digest()),
            sha512: format!("{}{}", hex(ids.digest()), hex(ids.digest())),
            created_at: Some(now),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.packages.push(package);
        let last = self.packages.len() - 1;
        &self.packages[last]
    }
}

/// The status of a request that breaks the schema.
pub(crate) const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
/// The message of the 401 answer.
pub(crate) const UNAUTHORIZED: &str =
    "Authentication required. Please supply a valid API Access Token";

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

/// Buildkite's `{message}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    api::json(status, &error_body(message, Vec::new()))
}

fn error_body(message: &str, errors: Vec<String>) -> types::Error {
    types::Error {
        current: None,
        errors: errors.into_iter().map(types::ErrorDetail::String).collect(),
        limit: None,
        message: message.to_string(),
        reset: None,
        scope: None,
    }
}

/// 422 "Validation Failed" with what was wrong.
fn validation(errors: &[&str]) -> Response {
    api::json(
        INVALID,
        &error_body(
            "Validation Failed",
            errors.iter().map(|e| e.to_string()).collect(),
        ),
    )
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

pub(crate) fn demo(state: &mut State, ids: &mut ContentGen, now: DateTime<Utc>) {
    let images = state.add_registry("demo", "Container images", "container", ids, now);
    for (i, (name, version)) in [("api", "1.4.0"), ("api", "1.5.0"), ("worker", "2.0.1")]
        .iter()
        .enumerate()
    {
        let at = now - chrono::Duration::days(3 - i as i64);
        state.add_package("demo", &images, name, version, ids, at);
    }
    let gems = state.add_registry("demo", "Ruby gems", "ruby", ids, now);
    state.add_package("demo", &gems, "banana", "1.0.0", ids, now);
}

/// `my registry` → `my-registry`.
fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

fn extension_of(ecosystem: &str) -> &'static str {
    match ecosystem {
        "ruby" => ".gem",
        "python" => ".tar.gz",
        "javascript" | "helm" => ".tgz",
        "debian" => ".deb",
        "red-hat" => ".rpm",
        "alpine" => ".apk",
        "java" => ".jar",
        "terraform" => ".zip",
        _ => ".tar",
    }
}

/// Name and version from a package file name (`banana-1.0.0.gem`,
/// `pkg-1.2.0-py3-none-any.whl`, `tool_2.1_amd64.deb`).
fn name_and_version(filename: &str, ecosystem: &str) -> (String, String) {
    let base = filename.rsplit('/').next().unwrap_or(filename);
    let mut stem = base;
    for ext in [
        ".tar.gz", ".tgz", ".gem", ".whl", ".deb", ".rpm", ".apk", ".jar", ".zip", ".tar", ".gz",
    ] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    let bytes = stem.as_bytes();
    let split = (1..bytes.len())
        .find(|&i| matches!(bytes[i - 1], b'-' | b'_') && bytes[i].is_ascii_digit());
    match split {
        Some(i) => {
            let name = &stem[..i - 1];
            let rest = &stem[i..];
            let version = match ecosystem {
                "python" | "debian" | "red-hat" | "alpine" => {
                    rest.split(['-', '_']).next().unwrap_or(rest)
                }
                _ => rest,
            };
            (name.to_string(), version.to_string())
        }
        None => (stem.to_string(), "0.0.0".to_string()),
    }
}

/// `http://host:port/buildkite`: the API root the client used, for the
/// `url` fields.
fn api_root(url: &RequestUrl) -> String {
    match url.without_query.find("/v2/") {
        Some(i) => url.without_query[..i].to_string(),
        None => url.without_query.clone(),
    }
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

/// `page` and `per_page` of Buildkite's generic REST paging.
#[derive(Deserialize)]
struct Paging {
    page: Option<i64>,
    per_page: Option<i64>,
}

impl Paging {
    /// `(page, per_page)`, or `None` when `per_page` is below 1.
    fn resolve(&self) -> Option<(u64, u64)> {
        let page = u64::try_from(self.page.unwrap_or(1).max(1)).unwrap_or(1);
        Some((page, per_page_of(self.per_page)?))
    }
}

/// `per_page` as sent, at most [`MAX_PER_PAGE`]; `None` when below 1.
fn per_page_of(per_page: Option<i64>) -> Option<u64> {
    match per_page {
        None => Some(DEFAULT_PER_PAGE),
        Some(n) if n < 1 => None,
        Some(n) => Some(u64::try_from(n).unwrap_or(MAX_PER_PAGE).min(MAX_PER_PAGE)),
    }
}

/// One page of `items` as a JSON array with its `Link` header.
fn paged<T: Serialize>(items: &[T], paging: &Paging, url: &RequestUrl) -> Response {
    let Some((page, per_page)) = paging.resolve() else {
        return validation(&["per_page must be at least 1"]);
    };
    let (slice, pages) = api::page_of(items, page, per_page);
    let links = api::link_header(url, page, pages, per_page);
    (links, api::json(StatusCode::OK, &slice)).into_response()
}

// ---------------------------------------------------------------- registries

async fn create_registry(
    AxumState(shared): AxumState<Shared>,
    Path(org_slug): Path<String>,
    url: RequestUrl,
    Body(req): Body<types::RegistryCreate>,
) -> Response {
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
        return validation(&problems);
    }
    let now = shared.now();
    // Locks in the order `Emulator::seed` takes them: ids, then the world.
    let mut ids = shared.ids();
    let mut world = shared.world();
    let org = world.buildkite.org(&org_slug, &mut ids);
    if org.registries.contains_key(&slug) || org.registries.values().any(|r| r.name == name) {
        return validation(&["Name has already been taken"]);
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
    let root = api_root(&url);
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    match org.registries.get(&slug) {
        Some(r) => api::json(StatusCode::OK, &ctx.registry(r)),
        None => not_found(),
    }
}

async fn list_registries(
    AxumState(shared): AxumState<Shared>,
    Path(org_slug): Path<String>,
    Query(paging): Query<Paging>,
    url: RequestUrl,
) -> Response {
    let world = shared.world();
    let root = api_root(&url);
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
) -> Response {
    let world = shared.world();
    let Some(org) = world.buildkite.orgs.get(&org_slug) else {
        return not_found();
    };
    let Some(r) = org.registries.get(&slug) else {
        return not_found();
    };
    let root = api_root(&url);
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    api::json(StatusCode::OK, &ctx.registry(r))
}

async fn update_registry(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    url: RequestUrl,
    Body(raw): Body<serde_json::Map<String, serde_json::Value>>,
) -> Response {
    // Decoded twice: into the generated type (which checks the schema), and
    // as plain JSON to tell `null` (clear the field) from leaving it out.
    let req: types::RegistryUpdate = match serde_json::from_value(raw.clone().into()) {
        Ok(r) => r,
        Err(e) => return error(INVALID, &crate::api::body_error(&e)),
    };
    let cleared = |key: &str| raw.get(key).is_some_and(serde_json::Value::is_null);
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return not_found();
    };
    if !org.registries.contains_key(&slug) {
        return not_found();
    }
    if let Some(name) = &req.name {
        let name = name.trim();
        if name.is_empty() {
            return validation(&["Name can't be blank"]);
        }
        if org
            .registries
            .values()
            .any(|r| r.name == name && r.slug != slug)
        {
            return validation(&["Name has already been taken"]);
        }
    }
    let Some(r) = org.registries.get_mut(&slug) else {
        return not_found();
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
    let root = api_root(&url);
    let org = &*org;
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    match org.registries.get(&slug) {
        Some(r) => api::json(StatusCode::OK, &ctx.registry(r)),
        None => not_found(),
    }
}

async fn delete_registry(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
) -> Response {
    let mut world = shared.world();
    match world
        .buildkite
        .orgs
        .get_mut(&org_slug)
        .and_then(|o| o.registries.remove(&slug))
    {
        Some(_) => api::no_content(),
        None => not_found(),
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
) -> Response {
    let upload = match parse_multipart(&headers, &body) {
        Ok(u) => u,
        Err(why) => return validation(&[why]),
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
        return validation(&["File name can't be blank"]);
    }
    let now = shared.now();
    let mut ids = shared.ids();
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return not_found();
    };
    let Some(r) = org.registries.get_mut(&slug) else {
        return not_found();
    };
    let (name, version) = name_and_version(&filename, &r.ecosystem);
    if r.packages
        .iter()
        .any(|p| p.name == name && p.version == version)
    {
        return validation(&["Version has already been taken"]);
    }
    let id = r
        .push(&mut ids, &name, &version, &filename, size, now)
        .id
        .clone();
    package_answer(&url, &org_slug, org, &slug, &id)
}

fn package_answer(url: &RequestUrl, org_slug: &str, org: &Org, slug: &str, id: &str) -> Response {
    let root = api_root(url);
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
        Some((r, p)) => api::json(StatusCode::OK, &ctx.package(r, p)),
        None => not_found(),
    }
}

#[derive(Deserialize)]
struct PackageQuery {
    name: Option<String>,
    per_page: Option<i64>,
    before: Option<String>,
    after: Option<String>,
}

fn cursor_of(p: &Package) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{}", p.seq))
}

fn seq_of(cursor: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("seq:")?
        .parse()
        .ok()
}

/// The request URL with `set` in place of the paging parameters.
fn page_link(url: &RequestUrl, set: &[(&str, String)]) -> String {
    const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, VALUE).to_string();
    let pairs: Vec<String> = url
        .query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "before" | "after" | "per_page"))
        .map(|(k, v)| (k.as_str(), v.clone()))
        .chain(set.iter().map(|(k, v)| (*k, v.clone())))
        .map(|(k, v)| format!("{}={}", enc(k), enc(&v)))
        .collect();
    if pairs.is_empty() {
        url.without_query.clone()
    } else {
        format!("{}?{}", url.without_query, pairs.join("&"))
    }
}

async fn list_packages(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    Query(q): Query<PackageQuery>,
    url: RequestUrl,
) -> Response {
    let Some(per_page) = per_page_of(q.per_page) else {
        return validation(&["per_page must be at least 1"]);
    };
    let cursor = |c: &Option<String>| match c {
        None => Ok(None),
        Some(c) => seq_of(c).map(Some).ok_or(()),
    };
    let (Ok(after), Ok(before)) = (cursor(&q.after), cursor(&q.before)) else {
        return validation(&["The paging cursor is invalid"]);
    };
    let world = shared.world();
    let Some(org) = world.buildkite.orgs.get(&org_slug) else {
        return not_found();
    };
    let Some(r) = org.registries.get(&slug) else {
        return not_found();
    };
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
    let root = api_root(&url);
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
    api::json(StatusCode::OK, &body)
}

async fn create_package_upload(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
) -> Response {
    let exists = shared
        .world()
        .buildkite
        .orgs
        .get(&org_slug)
        .is_some_and(|o| o.registries.contains_key(&slug));
    if !exists {
        return not_found();
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
    api::json(StatusCode::OK, &body)
}

async fn get_package(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
    url: RequestUrl,
) -> Response {
    let world = shared.world();
    match world.buildkite.orgs.get(&org_slug) {
        Some(org) => package_answer(&url, &org_slug, org, &slug, &id),
        None => not_found(),
    }
}

async fn delete_package(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
) -> Response {
    let mut world = shared.world();
    let Some(r) = world
        .buildkite
        .orgs
        .get_mut(&org_slug)
        .and_then(|o| o.registries.get_mut(&slug))
    else {
        return not_found();
    };
    let before = r.packages.len();
    r.packages.retain(|p| p.id != id);
    if r.packages.len() == before {
        return not_found();
    }
    api::no_content()
}

#[derive(Deserialize)]
struct CopyQuery {
    to: String,
}

async fn copy_package(
    AxumState(shared): AxumState<Shared>,
    op: Op,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
    Query(q): Query<CopyQuery>,
    url: RequestUrl,
) -> Response {
    let now = shared.now();
    let mut ids = shared.ids();
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return not_found();
    };
    let Some((source, ecosystem)) = org.registries.get(&slug).and_then(|r| {
        r.packages
            .iter()
            .find(|p| p.id == id)
            .map(|p| (p.clone(), r.ecosystem.clone()))
    }) else {
        return not_found();
    };
    let Some(target) = org.registries.get_mut(&q.to) else {
        return op.error(
            StatusCode::NOT_FOUND,
            &format!("No registry named '{}' was found", q.to),
        );
    };
    if !COPYABLE.contains(&ecosystem.as_str()) {
        return validation(&["Packages of this ecosystem cannot be copied"]);
    }
    if target.ecosystem != ecosystem {
        return validation(&["The target registry serves another ecosystem"]);
    }
    if target.slug == slug {
        return validation(&["A package cannot be copied into its own registry"]);
    }
    if target
        .packages
        .iter()
        .any(|p| p.name == source.name && p.version == source.version)
    {
        return validation(&["Version has already been taken"]);
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
) -> Response {
    if req.description.trim().is_empty() {
        return validation(&["Description can't be blank"]);
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
        return not_found();
    };
    let Some(r) = org.registries.get_mut(&slug) else {
        return not_found();
    };
    let token = Token {
        id,
        description: req.description.clone(),
        created_at: Some(now),
    };
    r.tokens.push(token.clone());
    let root = api_root(&url);
    let org = &*org;
    let Some(r) = org.registries.get(&slug) else {
        return not_found();
    };
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    let mut body = ctx.token(r, &token);
    body.token = Some(regkit_core::SecretString::new(secret));
    api::json(StatusCode::OK, &body)
}

async fn list_registry_tokens(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug)): Path<(String, String)>,
    Query(paging): Query<Paging>,
    url: RequestUrl,
) -> Response {
    let world = shared.world();
    let Some(org) = world.buildkite.orgs.get(&org_slug) else {
        return not_found();
    };
    let Some(r) = org.registries.get(&slug) else {
        return not_found();
    };
    let root = api_root(&url);
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
) -> Response {
    let world = shared.world();
    let Some(org) = world.buildkite.orgs.get(&org_slug) else {
        return not_found();
    };
    let Some((r, t)) = org
        .registries
        .get(&slug)
        .and_then(|r| r.tokens.iter().find(|t| t.id == id).map(|t| (r, t)))
    else {
        return not_found();
    };
    let root = api_root(&url);
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    api::json(StatusCode::OK, &ctx.token(r, t))
}

async fn update_registry_token(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
    url: RequestUrl,
    Body(req): Body<types::RegistryTokenRequest>,
) -> Response {
    if req.description.trim().is_empty() {
        return validation(&["Description can't be blank"]);
    }
    let mut world = shared.world();
    let Some(org) = world.buildkite.orgs.get_mut(&org_slug) else {
        return not_found();
    };
    let Some(t) = org
        .registries
        .get_mut(&slug)
        .and_then(|r| r.tokens.iter_mut().find(|t| t.id == id))
    else {
        return not_found();
    };
    t.description = req.description.clone();
    let token = t.clone();
    let org = &*org;
    let Some(r) = org.registries.get(&slug) else {
        return not_found();
    };
    let root = api_root(&url);
    let ctx = Ctx {
        root: &root,
        org_slug: &org_slug,
        org,
    };
    api::json(StatusCode::OK, &ctx.token(r, &token))
}

async fn delete_registry_token(
    AxumState(shared): AxumState<Shared>,
    Path((org_slug, slug, id)): Path<(String, String, String)>,
) -> Response {
    let mut world = shared.world();
    let Some(r) = world
        .buildkite
        .orgs
        .get_mut(&org_slug)
        .and_then(|o| o.registries.get_mut(&slug))
    else {
        return not_found();
    };
    let before = r.tokens.len();
    r.tokens.retain(|t| t.id != id);
    if r.tokens.len() == before {
        return not_found();
    }
    api::no_content()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_come_from_file_names() {
        let nv = |f: &str, e: &str| name_and_version(f, e);
        assert_eq!(
            nv("banana-1.0.0.gem", "ruby"),
            ("banana".into(), "1.0.0".into())
        );
        assert_eq!(
            nv("my_pkg-1.2.0-py3-none-any.whl", "python"),
            ("my_pkg".into(), "1.2.0".into())
        );
        assert_eq!(
            nv("tool_2.1_amd64.deb", "debian"),
            ("tool".into(), "2.1".into())
        );
        assert_eq!(
            nv("left-pad-1.3.0.tgz", "javascript"),
            ("left-pad".into(), "1.3.0".into())
        );
        assert_eq!(nv("README", "files"), ("README".into(), "0.0.0".into()));
        assert_eq!(slug_of("My  Registry!"), "my-registry");
    }

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
