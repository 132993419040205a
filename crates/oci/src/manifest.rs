//! Manifests as a registry serves them: the bytes, byte for byte, with
//! their digest and media type, and what they point to (an index's
//! children, an image's blobs, a referrer's subject), parsed by oci-spec.
//!
//! Four media types are read: the OCI image manifest and index, and
//! Docker's schema 2 manifest and manifest list. Anything else (Docker
//! schema 1, a type a registry invents) is [`Error::UnknownMediaType`]:
//! a caller that must see a whole graph fails closed on it.

use bytes::Bytes;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::{Error, Result};

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every manifest media type this client reads, as an `Accept` header
/// lists them.
pub const ACCEPTED: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// The largest manifest read by default: 4 MiB, the bound the
/// distribution spec suggests registries accept.
pub const DEFAULT_MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// What a manifest is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Parsed {
    /// An image (or artifact) manifest: a config and layers.
    Image(Box<ImageManifest>),
    /// An index (or Docker manifest list): other manifests.
    Index(Box<ImageIndex>),
}

/// A manifest: its bytes as served, its digest and media type, parsed.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// `sha256:…` of [`bytes`](Self::bytes).
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// The bytes, exactly as served (what the digest is of).
    pub bytes: Bytes,
    /// What it is.
    pub parsed: Parsed,
}

impl Manifest {
    /// Parses `bytes` served as `content_type` (a header may be absent or
    /// generic: then the body's own `mediaType`, then its shape, decide).
    pub fn parse(digest: String, content_type: Option<&str>, bytes: Bytes) -> Result<Manifest> {
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("manifest {digest} is not JSON: {e}")))?;
        let declared = value.get("mediaType").and_then(|m| m.as_str());
        let header = content_type
            .map(|c| c.split(';').next().unwrap_or(c).trim())
            .filter(|c| {
                !c.is_empty() && *c != "application/json" && *c != "application/octet-stream"
            });
        let by_shape = if value.get("manifests").is_some() {
            Some(OCI_INDEX)
        } else if value.get("config").is_some() || value.get("layers").is_some() {
            Some(OCI_MANIFEST)
        } else {
            None
        };
        let media_type = header
            .or(declared)
            .or(by_shape)
            .unwrap_or("unknown")
            .to_string();
        let parsed = match media_type.as_str() {
            OCI_MANIFEST | DOCKER_MANIFEST => Parsed::Image(Box::new(
                serde_json::from_value(value)
                    .map_err(|e| Error::Invalid(format!("manifest {digest}: {e}")))?,
            )),
            OCI_INDEX | DOCKER_MANIFEST_LIST => Parsed::Index(Box::new(
                serde_json::from_value(value)
                    .map_err(|e| Error::Invalid(format!("index {digest}: {e}")))?,
            )),
            _ => return Err(Error::UnknownMediaType { media_type }),
        };
        Ok(Manifest {
            digest,
            media_type,
            bytes,
            parsed,
        })
    }

    /// Whether it is an index.
    pub fn is_index(&self) -> bool {
        matches!(self.parsed, Parsed::Index(_))
    }

    /// The manifests an index lists (none for an image).
    pub fn children(&self) -> &[Descriptor] {
        match &self.parsed {
            Parsed::Index(i) => i.manifests(),
            Parsed::Image(_) => &[],
        }
    }

    /// The blobs an image needs: its config, then its layers (none for an
    /// index).
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match &self.parsed {
            Parsed::Image(m) => std::iter::once(m.config()).chain(m.layers()).collect(),
            Parsed::Index(_) => Vec::new(),
        }
    }

    /// The manifest it refers to (a signature's, an SBOM's subject).
    pub fn subject(&self) -> Option<&Descriptor> {
        match &self.parsed {
            Parsed::Image(m) => m.subject().as_ref(),
            Parsed::Index(i) => i.subject().as_ref(),
        }
    }

    /// Its artifact type: `artifactType`, else (for an image) its
    /// config's media type when that is not an image config's.
    pub fn artifact_type(&self) -> Option<String> {
        match &self.parsed {
            Parsed::Image(m) => m
                .artifact_type()
                .as_ref()
                .map(|t| t.to_string())
                .or_else(|| {
                    let config = m.config().media_type().to_string();
                    (!config.contains("image.config") && !config.contains("container.image"))
                        .then_some(config)
                }),
            Parsed::Index(i) => i.artifact_type().as_ref().map(|t| t.to_string()),
        }
    }

    /// Its size in bytes, and those of the blobs it needs.
    pub fn total_size(&self) -> u64 {
        self.bytes.len() as u64 + self.blobs().iter().map(|b| b.size()).sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(ct: Option<&str>, body: &str) -> Result<Manifest> {
        Manifest::parse("sha256:x".into(), ct, Bytes::from(body.to_string()))
    }

    const IMAGE: &str = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]}"#;

    #[test]
    fn the_header_then_the_body_then_the_shape_name_the_type() {
        assert_eq!(
            parse(Some(OCI_MANIFEST), IMAGE).unwrap().media_type,
            OCI_MANIFEST
        );
        assert_eq!(
            parse(Some("application/json"), IMAGE).unwrap().media_type,
            OCI_MANIFEST
        );
        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        let m = parse(None, index).unwrap();
        assert_eq!(m.media_type, DOCKER_MANIFEST_LIST);
        assert!(m.is_index());
    }

    #[test]
    fn other_media_types_and_broken_bodies_are_refused() {
        let e = parse(
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            IMAGE,
        )
        .unwrap_err();
        assert!(matches!(e, Error::UnknownMediaType { .. }), "{e}");
        assert!(matches!(
            parse(None, "{}").unwrap_err(),
            Error::UnknownMediaType { .. }
        ));
        assert!(matches!(
            parse(None, "not json").unwrap_err(),
            Error::Invalid(_)
        ));
        assert!(matches!(
            parse(Some(OCI_INDEX), r#"{"manifests":"no"}"#).unwrap_err(),
            Error::Invalid(_)
        ));
    }
}
