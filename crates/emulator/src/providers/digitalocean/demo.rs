//! DigitalOcean's demo content: a Professional registry with two
//! repositories.

use chrono::{DateTime, Utc};

use super::model::{State, Tier};
use crate::content::ContentGen;

/// Seeds the demo registry.
pub(crate) fn demo(state: &mut State, ids: &mut ContentGen, now: DateTime<Utc>) {
    // A fresh state always takes these; a snapshot that already has a
    // registry called "demo" keeps its own.
    if state
        .create_registry("demo", Some("fra1"), Some(Tier::Professional), now)
        .is_err()
    {
        return;
    }
    for (repository, tags) in [("web", 12), ("api/server", 5)] {
        let _ = state.seed_repository("demo", repository, tags, ids, now);
    }
}
