//! ABEJA Platform: container image repositories of organizations
//! (`/organizations/{organization_id}/registry/repositories`) and the image
//! tags pushed to them.
//!
//! Organizations exist as soon as they are named. Repository names are
//! unique within an organization (409). Ids are 13-digit numeric strings;
//! tag ids are 13-digit numbers. Lists page with `offset` and `limit`
//! (default 10), echo both and set `has_next` while items remain after the
//! page. The API cannot push images, so tags are seeded
//! ([`State::add_tag`]) and listed. Timestamps are RFC 3339 with
//! microseconds, as ABEJA sends them.

mod demo;
pub(crate) mod model;
mod routes;

pub use model::*;

use crate::api::Api;

/// ABEJA's entry in the table of emulated APIs.
pub(crate) static API: Api = Api {
    provider: crate::provider::Provider::Abeja,
    info: &regkit_abeja::PROVIDER,
    routes: routes::routes,
    error_body: routes::error_body,
    invalid: model::INVALID,
    unauthorized: "authentication credentials are missing or invalid",
    rate_limit: 0,
    demo: |world, ids, now| demo::demo(&mut world.abeja, ids, now),
    demo_org: Some(demo::ORG),
};
