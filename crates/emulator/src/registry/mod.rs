//! The data plane's state, beneath its routes: what the OCI Distribution
//! Specification (v1.1) has a registry keep and check, with no HTTP in it.
//!
//! - [`digest`]: digests as the spec writes them (`sha256:<hex>`,
//!   `sha512:<hex>`), and hashing bytes as they stream in;
//! - [`blobs`]: blob bytes by digest, in memory or under a data directory,
//!   streamed in and out;
//! - [`manifests`]: what a pushed manifest is and references (blobs, an
//!   index's children, its subject), read from its exact bytes;
//! - [`uploads`]: upload sessions: chunks in order (`Content-Range`), the
//!   range so far, and the digest checked when the session closes;
//! - [`errors`]: the spec's error codes and its `{"errors": [...]}` body;
//! - [`access`]: the actions a credential may take, and bearer grants.

pub mod access;
pub mod blobs;
pub mod digest;
pub mod errors;
pub mod manifests;
pub mod uploads;
