//! Humanitec's state and what requests do to it: records created, changed
//! and deleted by the rules of the service, and the logins they hand out.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use regkit_humanitec::types;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, StatusCode};

/// How long a login from `get_registry_credentials` stays valid.
pub const CREDS_TTL: Duration = Duration::hours(1);

/// The id of the registry record every organization has built in, which
/// cannot be modified or deleted.
pub const BUILT_IN: &str = "humanitec";

/// Who the emulator says created a record.
pub(crate) const CREATED_BY: &str = "emulator@example.com";

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

fn not_found(reg_id: &str) -> ApiError {
    ApiError::not_found(format!("Registry with id '{reg_id}' not found."))
}

fn taken(id: &str) -> ApiError {
    ApiError::conflict(format!("Registry with id '{id}' already exists."))
}

fn built_in(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("Registry '{BUILT_IN}' is built in and cannot be {what}."),
    )
}

/// The schema checks serde cannot do: an open enum's unknown value, and
/// the expiry's form (UTC, at most millisecond precision).
fn check(req: &types::RegistryRequest) -> Result<(), ApiError> {
    let invalid = |m: String| Err(ApiError::new(INVALID, m));
    if !req.type_.is_known() {
        return invalid(format!(
            "Invalid registry type '{}': expected one of {}.",
            req.type_,
            types::RegistryType::KNOWN.join(", ")
        ));
    }
    if req.registry.trim().is_empty() {
        return invalid("Property 'registry' must not be empty.".to_string());
    }
    if let Some(expires) = req.creds.as_ref().and_then(|c| c.expires.as_ref())
        && expires.0.timestamp_subsec_nanos() % 1_000_000 != 0
    {
        return invalid(
            "Property 'creds.expires' must have at most millisecond precision.".to_string(),
        );
    }
    Ok(())
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

impl State {
    /// The organization's records, by id.
    pub fn records(&self, org: &str) -> Vec<&Registry> {
        self.orgs
            .get(org)
            .map(|o| o.registries.values().collect())
            .unwrap_or_default()
    }

    /// One record (404 when there is none).
    pub fn record(&self, org: &str, reg_id: &str) -> Result<&Registry, ApiError> {
        self.orgs
            .get(org)
            .and_then(|o| o.registries.get(reg_id))
            .ok_or_else(|| not_found(reg_id))
    }

    /// Creates a record from a request (its password is not kept).
    pub fn create(
        &mut self,
        org: &str,
        req: &types::RegistryRequest,
        now: DateTime<Utc>,
    ) -> Result<&Registry, ApiError> {
        check(req)?;
        let org = self.orgs.entry(org.to_string()).or_default();
        let id = req.id.to_string();
        if org.registries.contains_key(&id) {
            return Err(taken(&id));
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
        Ok(org.registries.entry(id).or_insert(record))
    }

    /// Replaces a record's settings (and maybe its id) from a request.
    pub fn update(
        &mut self,
        org: &str,
        reg_id: &str,
        req: &types::RegistryRequest,
    ) -> Result<&Registry, ApiError> {
        check(req)?;
        let org = self.orgs.get_mut(org).ok_or_else(|| not_found(reg_id))?;
        if !org.registries.contains_key(reg_id) {
            return Err(not_found(reg_id));
        }
        if reg_id == BUILT_IN {
            return Err(built_in("modified"));
        }
        let new_id = req.id.to_string();
        if new_id != reg_id && org.registries.contains_key(&new_id) {
            return Err(taken(&new_id));
        }
        let mut record = org
            .registries
            .remove(reg_id)
            .ok_or_else(|| not_found(reg_id))?;
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
        Ok(org.registries.entry(new_id).or_insert(record))
    }

    /// Deletes a record (the built-in one cannot be).
    pub fn delete(&mut self, org: &str, reg_id: &str) -> Result<(), ApiError> {
        let org = self.orgs.get_mut(org).ok_or_else(|| not_found(reg_id))?;
        if !org.registries.contains_key(reg_id) {
            return Err(not_found(reg_id));
        }
        if reg_id == BUILT_IN {
            return Err(built_in("deleted"));
        }
        org.registries.remove(reg_id);
        Ok(())
    }
}

/// The login a record hands out at a moment.
#[derive(Clone, Debug, PartialEq)]
pub enum Login {
    /// Public registries need none.
    Public,
    /// A reference to Kubernetes secrets, not a login.
    Secrets,
    /// A user name and a fresh password valid until `expires`.
    Password {
        /// The account name.
        username: String,
        /// When it stops working (millisecond precision).
        expires: DateTime<Utc>,
    },
}

impl Registry {
    /// What `get_registry_credentials` hands out at `now`: valid for
    /// [`CREDS_TTL`], or until the record's own expiry when that is sooner.
    pub fn login(&self, now: DateTime<Utc>) -> Login {
        match self.kind.as_str() {
            "secret_ref" => Login::Secrets,
            "public" => Login::Public,
            kind => {
                let username = self.username.clone().unwrap_or_else(|| {
                    match kind {
                        "amazon_ecr" => "AWS",
                        "google_gcr" => "_json_key",
                        _ => "emulator",
                    }
                    .to_string()
                });
                let fresh = now + CREDS_TTL;
                let expires = match self.expires {
                    Some(e) if e < fresh => e,
                    _ => fresh,
                };
                Login::Password {
                    username,
                    expires: expires.trunc_subsecs(3),
                }
            }
        }
    }
}
