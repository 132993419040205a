//! Which provider an emulated API belongs to: regkit-core's [`Provider`],
//! the one provider type every crate shares (generated from
//! `specs/providers.toml`), each served under its own path prefix
//! (`/digitalocean`, `/ionos`, …) of one port.

pub use regkit_core::{Provider, UnknownProvider};
