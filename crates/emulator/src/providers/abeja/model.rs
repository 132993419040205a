//! ABEJA's state and what requests do to it: organizations made on first
//! use, repositories with unique names, tags pushed by seeding, and
//! `offset`/`limit` paging.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::content::ContentGen;
use crate::error::{ApiError, StatusCode};

/// Page size when the request names none.
pub const DEFAULT_LIMIT: i32 = 10;

/// The user the emulator says created every repository and tag.
pub(crate) const CREATOR_ID: &str = "1122334455660";
pub(crate) const CREATOR_EMAIL: &str = "emulator@example.com";

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
    /// The organization, made on first use (as ABEJA names any id one).
    pub fn organization(&mut self, organization_id: &str, now: DateTime<Utc>) -> &mut Organization {
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

/// A 400 naming the field that is wrong, as ABEJA's `error_detail` does.
fn invalid_field(field: &str, message: &str) -> ApiError {
    ApiError::new(INVALID, "parameters is insufficient or invalid").detail(Some(field), message)
}

fn repository_not_found(repository_id: &str) -> ApiError {
    ApiError::not_found(format!("repository {repository_id} is not found"))
}

impl State {
    /// Creates a repository from a request: the name must be a valid image
    /// name and free in the organization.
    pub fn create_repository(
        &mut self,
        organization_id: &str,
        name: &str,
        description: Option<&str>,
        ids: &mut ContentGen,
        now: DateTime<Utc>,
    ) -> Result<&Repository, ApiError> {
        if name.is_empty() {
            return Err(invalid_field("name", "this field may not be blank"));
        }
        if name.len() > 255 || !valid_name(name) {
            return Err(invalid_field(
                "name",
                "lowercase letters, digits and single '.', '_' or '-' between them, at most 255 characters",
            ));
        }
        let taken = self
            .organizations
            .get(organization_id)
            .is_some_and(|o| o.repositories.iter().any(|r| r.name == name));
        if taken {
            return Err(ApiError::conflict(format!(
                "repository {name} already exists"
            )));
        }
        let id = self.add_repository(organization_id, name, description, ids, now);
        self.repository(organization_id, &id).map(|(_, r)| r)
    }

    /// The organization and one of its repositories (404 when either is
    /// missing).
    pub fn repository(
        &self,
        organization_id: &str,
        repository_id: &str,
    ) -> Result<(&Organization, &Repository), ApiError> {
        self.organizations
            .get(organization_id)
            .and_then(|o| {
                o.repositories
                    .iter()
                    .find(|r| r.id == repository_id)
                    .map(|r| (o, r))
            })
            .ok_or_else(|| repository_not_found(repository_id))
    }

    /// Deletes a repository and returns it.
    pub fn delete_repository(
        &mut self,
        organization_id: &str,
        repository_id: &str,
    ) -> Result<Repository, ApiError> {
        let org = self
            .organizations
            .get_mut(organization_id)
            .ok_or_else(|| repository_not_found(repository_id))?;
        let at = org
            .repositories
            .iter()
            .position(|r| r.id == repository_id)
            .ok_or_else(|| repository_not_found(repository_id))?;
        Ok(org.repositories.remove(at))
    }
}

/// `offset` and `limit` as sent; both must be non-negative int32.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// The first item.
    pub offset: Option<i64>,
    /// How many items.
    pub limit: Option<i64>,
}

impl Paging {
    /// `(offset, limit)`, or a 400 naming the parameter out of range.
    pub fn resolve(&self) -> Result<(i32, i32), ApiError> {
        let field = |name: &'static str, v: Option<i64>, default: i32| match v {
            None => Ok(default),
            Some(v) => i32::try_from(v)
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| invalid_field(name, "must be an integer between 0 and 2147483647")),
        };
        Ok((
            field("offset", self.offset, 0)?,
            field("limit", self.limit, DEFAULT_LIMIT)?,
        ))
    }
}

/// One page of `items`, and whether items remain after it.
pub fn page<T>(items: &[T], offset: i32, limit: i32) -> (&[T], bool) {
    let offset = u64::try_from(offset).unwrap_or(0);
    let page = crate::paging::slice_of(items, offset, u64::try_from(limit).unwrap_or(0));
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .saturating_add(page.len());
    (page, end < items.len())
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
