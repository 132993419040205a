//! ABEJA's demo content: one organization with two repositories and tags.

use super::model::State;
use crate::content::ContentGen;
use chrono::{DateTime, Utc};

/// The demo organization's id.
pub(crate) const ORG: &str = "1410000000000";

/// Seeds the demo organization.
pub(crate) fn demo(state: &mut State, ids: &mut ContentGen, now: DateTime<Utc>) {
    let week = chrono::Duration::days(7);
    let detector = state.add_repository(
        ORG,
        "object-detector",
        Some("Inference image for the shelf object detector"),
        ids,
        now - week,
    );
    let trainer = state.add_repository(ORG, "trainer", None, ids, now - week);
    for (i, tag) in ["0.0.1", "0.0.2", "0.0.3", "latest"].iter().enumerate() {
        let at = now - week + chrono::Duration::days(i as i64);
        state.add_tag(ORG, &detector, tag, ids, at);
    }
    state.add_tag(ORG, &trainer, "1.0.0", ids, now);
    if let Some(org) = state.organizations.get_mut(ORG) {
        org.name = "demo-org".to_string();
    }
}
