//! Humanitec's demo content: one organization with two registry records.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::model::{CREATED_BY, Registry, SecretRef, State};
use crate::content::ContentGen;

/// The demo organization's id.
pub(crate) const ORG: &str = "demo-org";

/// Seeds the demo organization.
pub(crate) fn demo(state: &mut State, _ids: &mut ContentGen, now: DateTime<Utc>) {
    let org = state.orgs.entry(ORG.to_string()).or_default();
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
