//! Buildkite Package Registries: registries of organizations
//! (`/v2/packages/organizations/{org_slug}/registries`), the packages
//! published to them and the tokens that read them.
//!
//! Organizations exist as soon as they are named. A registry's slug comes
//! from its name (`my registry` → `my-registry`) and stays when it is
//! renamed; names (and slugs) are unique in an organization (422
//! "Validation Failed"). Registry and token lists page with `page` and
//! `per_page` (default 30, at most 100) and a `Link` header; package lists
//! are newest first and page with `before`/`after` cursors in `links` in
//! the body, as the spec says. Publishing takes the multipart `file` part
//! (or a `package_url` from `create_package_upload`) and names the package
//! and version from the file name. Package digests are random, not
//! checksums of the file. A token's secret is shown by its create answer
//! only and never kept.

mod demo;
pub(crate) mod model;
mod routes;

pub use model::*;

use crate::api::Api;

/// Buildkite's entry in the table of emulated APIs.
pub(crate) static API: Api = Api {
    provider: crate::provider::Provider::Buildkite,
    info: &regkit_buildkite::PROVIDER,
    routes: routes::routes,
    error_body: routes::error_body,
    invalid: model::INVALID,
    unauthorized: "Authentication required. Please supply a valid API Access Token",
    rate_limit: 200,
    demo: |world, ids, now| demo::demo(&mut world.buildkite, ids, now),
    demo_org: Some(demo::ORG),
};
