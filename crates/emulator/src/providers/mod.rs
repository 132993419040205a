//! One module per provider: its state, its route table (every operation of
//! its spec), its error body and its behaviour. Everything shared lives in
//! the crate root's modules; a provider module holds only what is that
//! provider's own.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::Provider;
use crate::api::Route;
use crate::content::ContentGen;
use crate::world::World;

pub mod abeja;
pub mod buildkite;
pub mod digitalocean;
pub mod humanitec;
pub mod ionos;

/// Every operation `p` serves.
pub(crate) fn routes(p: Provider) -> Vec<Route> {
    match p {
        Provider::DigitalOcean => digitalocean::routes(),
        Provider::Ionos => ionos::routes(),
        Provider::Humanitec => humanitec::routes(),
        Provider::Buildkite => buildkite::routes(),
        Provider::Abeja => abeja::routes(),
    }
}

/// `p`'s error body with this status and message.
pub(crate) fn error(p: Provider, status: StatusCode, message: &str) -> Response {
    match p {
        Provider::DigitalOcean => digitalocean::error(status, message),
        Provider::Ionos => ionos::error(status, message),
        Provider::Humanitec => humanitec::error(status, message),
        Provider::Buildkite => buildkite::error(status, message),
        Provider::Abeja => abeja::error(status, message),
    }
}

/// `p`'s answer to a request that breaks its schema (400 or 422).
pub(crate) fn invalid(p: Provider, message: &str) -> Response {
    let status = match p {
        Provider::DigitalOcean => digitalocean::INVALID,
        Provider::Ionos => ionos::INVALID,
        Provider::Humanitec => humanitec::INVALID,
        Provider::Buildkite => buildkite::INVALID,
        Provider::Abeja => abeja::INVALID,
    };
    error(p, status, message)
}

/// `p`'s answer to missing or unknown credentials.
pub(crate) fn unauthorized(p: Provider) -> Response {
    let message = match p {
        Provider::DigitalOcean => digitalocean::UNAUTHORIZED,
        Provider::Ionos => ionos::UNAUTHORIZED,
        Provider::Humanitec => humanitec::UNAUTHORIZED,
        Provider::Buildkite => buildkite::UNAUTHORIZED,
        Provider::Abeja => abeja::UNAUTHORIZED,
    };
    error(p, StatusCode::UNAUTHORIZED, message)
}

/// Demo content for every provider (the binary's `--demo`, the CLI's
/// `--emulator`): a few registries with repositories and tags.
pub(crate) fn demo(world: &mut World, ids: &mut ContentGen, now: DateTime<Utc>) {
    digitalocean::demo(&mut world.digitalocean, ids, now);
    ionos::demo(&mut world.ionos, ids, now);
    humanitec::demo(&mut world.humanitec, ids, now);
    buildkite::demo(&mut world.buildkite, ids, now);
    abeja::demo(&mut world.abeja, ids, now);
}
