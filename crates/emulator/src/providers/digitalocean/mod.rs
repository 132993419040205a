//! DigitalOcean Container Registry: the account's registries (the current
//! multi-registry `/v2/registries…` API and the deprecated single-registry
//! `/v2/registry…` API over the same state), its subscription, Docker
//! credentials, repositories, tags, manifests and garbage collection.
//!
//! - **Account**: registries by name (unique; `validate-name` answers 409
//!   when a name is taken), and one subscription created with the first
//!   registry. The tier limits the account: Starter and Basic hold one
//!   registry, Professional ten; Starter holds one repository, Basic five,
//!   Professional any number; Starter allows no storage beyond its 500 MiB.
//! - **Where the limits bite**: DigitalOcean has no push API, so the
//!   repository limit is enforced where repositories come from, the seeding
//!   helper [`State::seed_repository`]; creating a registry beyond the
//!   registry limit, and moving the subscription to a tier that cannot hold
//!   what the account has (`registries_update_subscription`,
//!   `registry_update_subscription`, or a tier named on create) is DO's
//!   `412 precondition_failed`; `registries_get_options` reports each tier's
//!   `eligible` and `eligibility_reasons` from the account's content.
//! - **Single-registry API**: `/v2/registry` sees the account's only
//!   registry: 404 when there is none, 412 when there are several.
//! - **Paging**: `page`/`per_page` (default 20, at most 200) with
//!   `links.pages` (`first`/`prev` from page 2 on, `next`/`last` before the
//!   last page; absolute URLs) and `meta.total`; the V2 repository lists
//!   also take an opaque `page_token`, which wins over `page`.
//! - **Garbage collection** moves with the virtual clock, computed at read
//!   time: `requested` → `waiting for write JWTs to expire` → `scanning
//!   manifests` → `deleting unreferenced blobs` → `succeeded` (the phase
//!   lengths are the `GC_*` constants). When a run reaches `succeeded` its
//!   collection is applied to the registry's content once
//!   ([`Store::collect`](crate::content::Store::collect)) and its `blobs_deleted` and `freed_bytes` are
//!   recorded; `storage_usage_bytes` shrinks by exactly `freed_bytes`. One
//!   run may be active per registry (a second is `409 conflict`); a
//!   cancelled run frees nothing.
//! - **Docker credentials** are a fresh random secret on every call, never
//!   stored; the state keeps only who asked for what ([`IssuedCredentials`]).
//! - **Errors** are DO's `{id, message, request_id}`; a body or query that
//!   breaks the schema is `422 unprocessable_entity`, a bad `page_token`
//!   `400 bad_request` (the one place the spec lists 400).

mod demo;
pub(crate) mod model;
mod routes;

pub use model::*;

use crate::api::Api;

/// DigitalOcean's entry in the table of emulated APIs.
pub(crate) static API: Api = Api {
    provider: crate::provider::Provider::DigitalOcean,
    info: &regkit_digitalocean::PROVIDER,
    routes: routes::routes,
    error_body: routes::error_body,
    invalid: model::INVALID,
    unauthorized: "Unable to authenticate you.",
    rate_limit: 5000,
    demo: |world, ids, now| demo::demo(&mut world.digitalocean, ids, now),
    demo_org: None,
};
