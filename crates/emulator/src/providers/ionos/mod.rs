//! IONOS Container Registry (API 1.2.1): registries with their weekly
//! garbage-collection schedule, features and API allow-list; access tokens
//! whose password is shown once; repositories and artifacts (read and
//! delete) with the vulnerability scanner's findings; locations and the
//! name check.
//!
//! Facts kept from the service:
//!
//! - A new registry is `BUSY` (empty hostname) while it is provisioned, then
//!   `AVAILABLE` with the hostname `<name>.cr.<location with - for />.ionos.com`.
//! - Registry names are unique in the account (a taken name is a 400, the
//!   only client error the create call declares); token names are unique per
//!   registry (409).
//! - Registries page with `limit` and an opaque `pagination.token`; tokens
//!   with `offset`/`limit` and a `total`; repositories, artifacts and
//!   vulnerabilities with `offset`/`limit` and `_links.next` while more follow.
//! - A token's password is only in the response that creates it; the state
//!   never holds it.
//! - Deleting a repository frees no storage by itself: the registry's weekly
//!   garbage collection (off unless scheduled) frees the layers nothing
//!   references, when the virtual clock passes one of its runs.
//! - Errors are `{httpStatus, messages: [{errorCode, message}]}`.

mod demo;
pub(crate) mod model;
mod routes;

pub use model::*;

use crate::api::Api;

/// IONOS's entry in the table of emulated APIs.
pub(crate) static API: Api = Api {
    provider: crate::provider::Provider::Ionos,
    info: &regkit_ionos::PROVIDER,
    routes: routes::routes,
    error_body: routes::error_body,
    invalid: model::INVALID,
    unauthorized: "Unauthorized, wrong or no api key provided to process this request",
    rate_limit: 0,
    demo: |world, ids, now| demo::demo(&mut world.ionos, ids, now),
    demo_org: None,
};
