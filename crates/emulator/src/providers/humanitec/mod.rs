//! Humanitec: registry records of organizations (`/orgs/{orgId}/registries`)
//! and the login each one hands out (`…/creds`).
//!
//! Organizations exist as soon as they are named. A record's id is unique
//! within its organization (409 otherwise); the built-in `humanitec`
//! record cannot be changed or deleted (403). Passwords sent with a record
//! are never kept: only the user name and expiry the record carries. The
//! credentials endpoint hands out a fresh password each call, valid for
//! [`CREDS_TTL`] of virtual time (or until the record's own expiry, when
//! that comes first), with millisecond precision as Humanitec sends it.

mod demo;
pub(crate) mod model;
mod routes;

pub use model::*;

use crate::api::Api;

/// Humanitec's entry in the table of emulated APIs.
pub(crate) static API: Api = Api {
    provider: crate::provider::Provider::Humanitec,
    info: &regkit_humanitec::PROVIDER,
    routes: routes::routes,
    error_body: routes::error_body,
    invalid: model::INVALID,
    unauthorized: "Authentication token is missing or invalid.",
    rate_limit: 0,
    demo: |world, ids, now| demo::demo(&mut world.humanitec, ids, now),
    demo_org: Some(demo::ORG),
};
