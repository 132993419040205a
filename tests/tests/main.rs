//! regkit's workspace integration tests, one binary with a module per
//! concern (linking the whole stack once instead of once per file):
//!
//! - `<provider>`: every operation of each generated client against
//!   httpmock, exact on the wire;
//! - `middleware`, `pagination`, `wire_rules`, `hardening`,
//!   `success_bodies`: regkit-core's shared rules through the clients;
//! - `conformance`: every spec served by Prism, and `redocly lint`;
//! - `emulator` and `emulator_<provider>`: the emulator's management APIs;
//! - `data_plane`: the emulator's registries, the image graph and copy.
//!
//! Run one module with `cargo test -p regkit-tests -- <module>::`.

mod abeja;
mod buildkite;
mod conformance;
mod data_plane;
mod digitalocean;
mod emulator;
mod emulator_abeja;
mod emulator_buildkite;
mod emulator_digitalocean;
mod emulator_humanitec;
mod emulator_ionos;
mod hardening;
mod humanitec;
mod ionos;
mod middleware;
mod pagination;
mod success_bodies;
mod wire_rules;
