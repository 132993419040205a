//! A stateful local twin of the container-registry APIs of DigitalOcean,
//! IONOS, Humanitec, Buildkite and ABEJA, for tests, demos and development
//! without an account or a network.
//!
//! One server on one loopback port serves every provider under its own
//! prefix (`/digitalocean`, `/ionos`, …), at the real paths, with the real
//! status codes and the providers' own error bodies:
//!
//! - **State**: what is created can be read, listed, changed and deleted;
//!   names are unique where the provider says so.
//! - **Bodies** are the provider crates' generated types, so the emulator
//!   cannot drift from the clients; a request that does not decode into its
//!   schema gets the provider's 400/422 answer.
//! - **Auth**: each provider's scheme and a token the emulator knows
//!   ([`Emulator::token`]); anything else is the provider's 401.
//! - **Paging** the way each provider pages.
//! - **Time** is a virtual [`Clock`]: [`Emulator::advance`] expires
//!   credentials and moves garbage collections along without sleeping.
//! - **Faults** ([`FaultRule`]): 429 with `Retry-After`, 5xx bursts,
//!   latency, connection resets and truncated bodies, per operation or for
//!   all, deterministic from the seed.
//! - **Snapshots** ([`Emulator::snapshot`], [`Snapshot`]) to and from JSON.
//! - **Registries**: DigitalOcean's, IONOS's and Buildkite's registries
//!   themselves (the OCI Distribution API v1.1) on listeners of their own
//!   ([`Emulator::registry_host`], [`Emulator::ionos_registry_host`]), over
//!   the same content the APIs list, so skopeo, podman and the credential
//!   helper push and pull real images; blobs in memory or under
//!   [`EmulatorBuilder::data_dir`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_emulator::Emulator;
//!
//! let emu = Emulator::start().await?;
//! let digitalocean = emu.digitalocean();
//! let registries = digitalocean.registries_list().send().await?;
//! assert!(registries.registries.is_empty());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Layers, each importing only those above it in this list:
// the plain values (provider, clock, content, faults, error, paging, and
// the data plane's state in `registry`), the providers' models, the world
// they make up, credentials, the shared state, the HTTP vocabulary (api,
// extract), the providers' routes and their table, the server, the data
// plane's routes (`oci`), and the public handle.
mod api;
mod auth;
mod clock;
pub mod content;
mod emulator;
mod error;
mod extract;
mod faults;
mod oci;
mod paging;
mod provider;
pub mod providers;
mod quota;
pub mod registry;
mod server;
mod shared;
mod world;

pub use auth::ProviderCredentials;
pub use clock::{Clock, ClockMode};
pub use content::UntaggedCollection;
pub use emulator::{Emulator, EmulatorBuilder, demo_org, served_operations};
pub use error::{ApiError, Detail};
pub use faults::{Fault, FaultRule};
pub use oci::paths::OPERATIONS as DATA_PLANE_OPERATIONS;
pub use provider::{Provider, UnknownProvider};
pub use quota::Quota;
pub use world::{Snapshot, World};
