//! What every registry user writes by hand, once, for every provider:
//!
//! - [`view`]: one view of a container registry — registries,
//!   repositories, and images (repository, tag, digest, size, updated
//!   time) as one stream — over DigitalOcean, IONOS, ABEJA, Buildkite and
//!   Humanitec, with what a provider cannot do reported as
//!   [`Error::Unsupported`] and askable first ([`view::RegistryView::supports`]).
//! - [`providers`]: each provider's view, credential source and account in
//!   one file, and [`providers::account`], the one table code over every
//!   provider opens an [`providers::Account`] through.
//! - [`credential`] and [`lease`]: short-lived Docker credentials (one
//!   [`credential::DockerCredential`] type), kept fresh by a
//!   [`lease::Lease`] and revoked where the provider can revoke;
//!   [`docker_config`] merges them into Docker's `config.json`
//!   (atomically, mode 0600, keeping everything else) and renders a
//!   Kubernetes `dockerconfigjson` Secret.
//! - [`gc`]: start a garbage collection or join the one running, wait for
//!   it with backoff within a budget, report progress, detect a stall.
//! - [`copy`]: images copied between registries byte for byte, with their
//!   platforms and referrers, tags written last, safe to repeat.
//! - [`graph`]: one repository's image graph (tags, index children,
//!   referrers) read through the registry itself, whole or not at all.
//! - [`retention`]: rules (keep the newest N, delete older than, include or
//!   exclude by pattern, protect tags and what they point to) turned into a
//!   deterministic plan that deletes nothing, and an `apply` that reports
//!   exactly what was and was not done.
//!
//! Everything here goes through the generated clients; time comes from a
//! [`clock::Clock`] so tests (and the emulator's virtual clock) decide it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![allow(clippy::result_large_err)]

mod account;
pub mod clock;
pub mod copy;
pub mod credential;
pub mod docker_config;
mod error;
pub mod gc;
pub mod graph;
pub mod lease;
pub mod providers;
pub mod retention;
pub mod view;

pub use error::{Capability, Error, Result};
