//! What a pushed manifest is and references, read from its exact bytes:
//! its media type (from `Content-Type`, checked against its `mediaType`
//! field), the blobs it names (config and layers), the manifests it names
//! (an index's children) and its `subject`, with its `artifactType`.
//! The bytes themselves are stored as they came; only these facts are
//! read, liberally: unknown fields are ignored.

use serde_json::Value;

use super::digest::Digest;
use super::errors::{OciCode, OciError};

/// The largest manifest accepted: 4 MiB, the size the spec says clients
/// and registries should expect to handle. Larger is 413.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The manifest media types this registry stores.
pub const MEDIA_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Whether `media_type` lists other manifests (an index or manifest list).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// What a manifest references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Its media type.
    pub media_type: String,
    /// Blobs it names: its config and layers (an index names none).
    pub blobs: Vec<Digest>,
    /// Manifests it names: an index's children.
    pub manifests: Vec<Digest>,
    /// The manifest it refers to (a signature's or SBOM's subject).
    pub subject: Option<Digest>,
    /// Its artifact type: `artifactType`, else (for an image manifest) its
    /// config's media type, as the referrers API reports it.
    pub artifact_type: Option<String>,
}

/// Reads `bytes` pushed with `content_type` (its parameters ignored).
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, OciError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(OciError::new(
            OciCode::ManifestInvalid,
            format!(
                "the manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                bytes.len()
            ),
        )
        .with_status(413));
    }
    let invalid = |why: String| OciError::new(OciCode::ManifestInvalid, why);
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("the manifest is not JSON: {e}")))?;
    let Some(object) = doc.as_object() else {
        return Err(invalid("the manifest is not a JSON object".into()));
    };
    let declared = object.get("mediaType").and_then(Value::as_str);
    let header = content_type
        .map(|t| t.split(';').next().unwrap_or_default().trim())
        .filter(|t| !t.is_empty());
    let media_type = match (header, declared) {
        (Some(h), Some(d)) if !h.eq_ignore_ascii_case(d) => {
            return Err(invalid(format!(
                "Content-Type {h} does not match the manifest's mediaType {d}"
            )));
        }
        (Some(h), _) => h.to_ascii_lowercase(),
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(invalid(
                "no Content-Type and no mediaType: the manifest's type is unknown".into(),
            ));
        }
    };
    if !MEDIA_TYPES.contains(&media_type.as_str()) {
        return Err(invalid(format!(
            "manifests of type {media_type} are not stored (one of: {})",
            MEDIA_TYPES.join(", ")
        )));
    }
    let digest_of = |descriptor: &Value, field: &str| -> Result<Digest, OciError> {
        descriptor
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("a descriptor in `{field}` has no digest")))?
            .parse()
            .map_err(|e| invalid(format!("`{field}`: {e}")))
    };
    let list = |field: &str| -> Result<Vec<Digest>, OciError> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(|d| digest_of(d, field)).collect(),
            Some(_) => Err(invalid(format!("`{field}` is not a list"))),
        }
    };
    let (blobs, manifests) = if is_index(&media_type) {
        (Vec::new(), list("manifests")?)
    } else {
        let mut blobs = Vec::new();
        if let Some(config) = object.get("config") {
            blobs.push(digest_of(config, "config")?);
        } else {
            return Err(invalid("an image manifest needs a config".into()));
        }
        blobs.extend(list("layers")?);
        (blobs, Vec::new())
    };
    let subject = object
        .get("subject")
        .filter(|s| !s.is_null())
        .map(|s| digest_of(s, "subject"))
        .transpose()?;
    let artifact_type = object
        .get("artifactType")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            (media_type == OCI_MANIFEST)
                .then(|| {
                    object
                        .get("config")?
                        .get("mediaType")?
                        .as_str()
                        .map(str::to_string)
                })
                .flatten()
        });
    Ok(Parsed {
        media_type,
        blobs,
        manifests,
        subject,
        artifact_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    #[test]
    fn an_image_manifest_names_its_config_and_layers_and_its_subject() {
        let body = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.dev.cosign.artifact.sig.v1+json", "digest": d(1), "size": 2},
            "layers": [{"digest": d(2), "size": 3}, {"digest": d(3), "size": 4}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": d(9), "size": 5},
            "annotations": {"x": "y"},
        });
        let p = parse(
            body.to_string().as_bytes(),
            Some(&format!("{OCI_MANIFEST}; charset=utf-8")),
        )
        .unwrap();
        assert_eq!(p.media_type, OCI_MANIFEST);
        let blobs: Vec<String> = p.blobs.iter().map(ToString::to_string).collect();
        assert_eq!(blobs, [d(1), d(2), d(3)]);
        assert!(p.manifests.is_empty());
        assert_eq!(p.subject.map(|s| s.to_string()), Some(d(9)));
        assert_eq!(
            p.artifact_type.as_deref(),
            Some("application/vnd.dev.cosign.artifact.sig.v1+json"),
            "no artifactType: the config's media type"
        );
    }

    #[test]
    fn an_index_names_its_children() {
        for media_type in [OCI_INDEX, DOCKER_MANIFEST_LIST] {
            let body = json!({"schemaVersion": 2, "mediaType": media_type,
                "manifests": [{"digest": d(4), "platform": {"os": "linux"}}, {"digest": d(5)}],
                "artifactType": "application/example"});
            let p = parse(body.to_string().as_bytes(), None).unwrap();
            let children: Vec<String> = p.manifests.iter().map(ToString::to_string).collect();
            assert_eq!(children, [d(4), d(5)], "{media_type}");
            assert!(p.blobs.is_empty());
            assert_eq!(p.artifact_type.as_deref(), Some("application/example"));
        }
    }

    #[test]
    fn what_cannot_be_stored_is_manifest_invalid_and_too_large_is_413() {
        let ok = json!({"mediaType": DOCKER_MANIFEST, "config": {"digest": d(1)}, "layers": []});
        assert!(parse(ok.to_string().as_bytes(), Some(DOCKER_MANIFEST)).is_ok());
        let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
            (b"not json".to_vec(), Some(OCI_MANIFEST)),
            (b"[]".to_vec(), Some(OCI_MANIFEST)),
            (ok.to_string().into_bytes(), Some(OCI_MANIFEST)),
            (
                json!({"config": {"digest": d(1)}}).to_string().into_bytes(),
                None,
            ),
            (
                json!({"mediaType": "text/plain"}).to_string().into_bytes(),
                None,
            ),
            (
                json!({"mediaType": OCI_MANIFEST}).to_string().into_bytes(),
                None,
            ),
            (
                json!({"mediaType": OCI_MANIFEST, "config": {"digest": "sha256:x"}})
                    .to_string()
                    .into_bytes(),
                None,
            ),
            (
                json!({"mediaType": OCI_INDEX, "manifests": {}})
                    .to_string()
                    .into_bytes(),
                None,
            ),
        ];
        for (body, content_type) in cases {
            let e = parse(&body, content_type).unwrap_err();
            assert_eq!(
                (e.code, e.status),
                (OciCode::ManifestInvalid, 400),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
        let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert_eq!(parse(&big, Some(OCI_MANIFEST)).unwrap_err().status, 413);
        let mut at_limit = json!({"mediaType": OCI_INDEX, "manifests": []})
            .to_string()
            .into_bytes();
        at_limit.resize(MAX_MANIFEST_BYTES, b' ');
        assert!(parse(&at_limit, None).is_ok(), "4 MiB is accepted");
    }
}
