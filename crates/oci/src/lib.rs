//! An OCI Distribution client for regkit's workflows: what retention
//! reads to see the image graph (manifests, indexes, tags, referrers) and
//! what a copy writes (blobs, mounts, manifests), with deletes.
//!
//! - **Logins** the way container clients do them: the Docker token flow
//!   for a `Bearer` challenge (pull, push and delete scopes, one token per
//!   scope), the login itself for `Basic` ([`Login`]; its `Debug` shows no
//!   secret).
//! - **Rules** of the API clients, from regkit-core ([`regkit_core::wire`]):
//!   the one retry classifier, jittered backoff within a time budget, the
//!   server's `Retry-After` and rate-limit reset, credentials never over
//!   plain HTTP except to loopback, and never on a redirect to another
//!   origin (a blob served from object storage).
//! - **Bounds**: manifests and listings are read up to 4 MiB
//!   ([`ClientBuilder::max_manifest_bytes`]); manifests are checked
//!   against their digest; blobs are streamed ([`Blob`]) and checked as
//!   the last bytes arrive.
//! - **Types** are oci-spec's ([`oci_spec::image`]); a manifest keeps its
//!   bytes as served ([`Manifest`]).
//!
//! Why not `oci-client` for the transport: it has no manifest delete, asks
//! only for pull and push scopes, and brings its own auth and retry rules;
//! regkit needs delete scopes and the same retry and redaction rules as
//! its API clients.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod client;
pub mod digest;
mod error;
pub mod manifest;

pub use auth::{Access, Login};
pub use client::{Blob, Client, ClientBuilder, Referrers, ReferrersVia, referrers_tag};
pub use error::{Error, Result};
pub use manifest::{Manifest, Parsed};
pub use oci_spec;
