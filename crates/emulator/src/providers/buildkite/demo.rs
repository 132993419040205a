//! Buildkite's demo content: a container registry and a Ruby registry with
//! a few packages.

use chrono::{DateTime, Utc};

use super::model::State;
use crate::content::ContentGen;

/// The demo organization's slug.
pub(crate) const ORG: &str = "demo";

/// Seeds the demo organization.
pub(crate) fn demo(state: &mut State, ids: &mut ContentGen, now: DateTime<Utc>) {
    let images = state.add_registry(ORG, "Container images", "container", ids, now);
    for (i, (name, version)) in [("api", "1.4.0"), ("api", "1.5.0"), ("worker", "2.0.1")]
        .iter()
        .enumerate()
    {
        let at = now - chrono::Duration::days(3 - i as i64);
        state.add_package(ORG, &images, name, version, ids, at);
    }
    let gems = state.add_registry(ORG, "Ruby gems", "ruby", ids, now);
    state.add_package(ORG, &gems, "banana", "1.0.0", ids, now);
}
