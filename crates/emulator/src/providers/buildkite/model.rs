//! Buildkite's state and what requests do to it: organizations made on
//! first use, registries by slug, packages in publication order, tokens
//! without secrets; paging by page and by cursor; names and versions read
//! from package file names.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::content::ContentGen;
use crate::error::{ApiError, StatusCode};

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

pub(crate) const WEB: &str = "https://buildkite.com";

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
    /// The images of a `container` registry, pushed through the data
    /// plane; each tag is also a package (name: the image, version: the
    /// tag).
    #[serde(skip_serializing_if = "crate::content::Store::is_empty")]
    pub content: crate::content::Store,
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
    /// SHA-256 of the secret (hex), so the data plane can check a login;
    /// the secret itself is not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_sha256: Option<String>,
}

impl State {
    /// The organization, made on first use (any slug names one).
    pub fn org(&mut self, slug: &str, ids: &mut ContentGen) -> &mut Org {
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
    /// Records a tag pushed through the data plane as a package version
    /// (`name` the image, `version` the tag), replacing the version's
    /// package when the tag moved.
    pub fn publish_tag(
        &mut self,
        ids: &mut ContentGen,
        name: &str,
        tag: &str,
        digests: (&str, &str),
        size: u64,
        now: DateTime<Utc>,
    ) {
        self.packages
            .retain(|p| !(p.name == name && p.version == tag));
        let package = Package {
            id: ids.uuid().to_string(),
            name: name.to_string(),
            version: tag.to_string(),
            filename: format!("{name}-{tag}{}", extension_of(&self.ecosystem)),
            size,
            sha256: digests.0.to_string(),
            sha512: digests.1.to_string(),
            created_at: Some(now),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.packages.push(package);
    }

    /// Publishes a package (random digests) and returns it.
    pub fn push(
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

/// Buildkite's 404.
pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("Not Found")
}

/// 422 "Validation Failed" with what was wrong.
pub(crate) fn validation(errors: &[&str]) -> ApiError {
    errors
        .iter()
        .fold(ApiError::new(INVALID, "Validation Failed"), |e, m| {
            e.detail(None, *m)
        })
}

impl State {
    /// An organization and one of its registries (404 when either is missing).
    pub fn registry(&self, org: &str, slug: &str) -> Result<(&Org, &Registry), ApiError> {
        let org = self.orgs.get(org).ok_or_else(not_found)?;
        let r = org.registries.get(slug).ok_or_else(not_found)?;
        Ok((org, r))
    }

    /// One registry, to change it.
    pub fn registry_mut(&mut self, org: &str, slug: &str) -> Result<&mut Registry, ApiError> {
        self.orgs
            .get_mut(org)
            .and_then(|o| o.registries.get_mut(slug))
            .ok_or_else(not_found)
    }

    /// Deletes a package.
    pub fn delete_package(&mut self, org: &str, slug: &str, id: &str) -> Result<(), ApiError> {
        let r = self.registry_mut(org, slug)?;
        let Some(at) = r.packages.iter().position(|p| p.id == id) else {
            return Err(not_found());
        };
        let package = r.packages.remove(at);
        // An image's tag is a package version: the tag goes with it, and
        // the manifest with its last tag.
        if let Some(repo) = r.content.repositories.get_mut(&package.name)
            && let Some(digest) = repo.tags.remove(&package.version)
            && repo.tags_of(&digest).is_empty()
        {
            repo.manifests.remove(&digest);
        }
        Ok(())
    }

    /// Deletes a token.
    pub fn delete_token(&mut self, org: &str, slug: &str, id: &str) -> Result<(), ApiError> {
        let r = self.registry_mut(org, slug)?;
        let before = r.tokens.len();
        r.tokens.retain(|t| t.id != id);
        if r.tokens.len() == before {
            return Err(not_found());
        }
        Ok(())
    }
}

/// `my registry` → `my-registry`.
pub fn slug_of(name: &str) -> String {
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

/// The file extension of an ecosystem's packages.
pub fn extension_of(ecosystem: &str) -> &'static str {
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
pub fn name_and_version(filename: &str, ecosystem: &str) -> (String, String) {
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

/// `page` and `per_page` of Buildkite's generic REST paging.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// 1-based page.
    pub page: Option<i64>,
    /// Items per page.
    pub per_page: Option<i64>,
}

impl Paging {
    /// `(page, per_page)`, or `None` when `per_page` is below 1.
    pub fn resolve(&self) -> Option<(u64, u64)> {
        let page = u64::try_from(self.page.unwrap_or(1).max(1)).unwrap_or(1);
        Some((page, per_page_of(self.per_page)?))
    }
}

/// `per_page` as sent, at most [`MAX_PER_PAGE`]; `None` when below 1.
pub fn per_page_of(per_page: Option<i64>) -> Option<u64> {
    match per_page {
        None => Some(DEFAULT_PER_PAGE),
        Some(n) if n < 1 => None,
        Some(n) => Some(u64::try_from(n).unwrap_or(MAX_PER_PAGE).min(MAX_PER_PAGE)),
    }
}

/// The filters and cursors of a package list.
#[derive(Debug, Deserialize)]
pub struct PackageQuery {
    /// Only packages of this name.
    pub name: Option<String>,
    /// Items per page.
    pub per_page: Option<i64>,
    /// Items before this cursor.
    pub before: Option<String>,
    /// Items after this cursor.
    pub after: Option<String>,
}

/// The opaque paging cursor of a package.
pub fn cursor_of(p: &Package) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{}", p.seq))
}

/// The publication order a cursor names.
pub fn seq_of(cursor: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("seq:")?
        .parse()
        .ok()
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
}
