//! The OCI Distribution Specification's error codes and body,
//! `{"errors": [{"code", "message", "detail"}]}`, each code with the status
//! a registry answers it with unless an endpoint says otherwise.

use serde_json::{Value, json};

/// An error code of the spec's table (code-1 … code-14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OciCode {
    /// Blob unknown to registry.
    BlobUnknown,
    /// Blob upload invalid.
    BlobUploadInvalid,
    /// Blob upload unknown to registry.
    BlobUploadUnknown,
    /// Provided digest did not match uploaded content.
    DigestInvalid,
    /// Manifest references a manifest or blob unknown to registry.
    ManifestBlobUnknown,
    /// Manifest invalid.
    ManifestInvalid,
    /// Manifest unknown to registry.
    ManifestUnknown,
    /// Invalid repository name.
    NameInvalid,
    /// Repository name not known to registry.
    NameUnknown,
    /// Provided length did not match content length.
    SizeInvalid,
    /// Authentication required.
    Unauthorized,
    /// Requested access to the resource is denied.
    Denied,
    /// The operation is unsupported.
    Unsupported,
    /// Too many requests.
    TooManyRequests,
}

impl OciCode {
    /// Every code, in the spec's order.
    pub const ALL: [OciCode; 14] = [
        OciCode::BlobUnknown,
        OciCode::BlobUploadInvalid,
        OciCode::BlobUploadUnknown,
        OciCode::DigestInvalid,
        OciCode::ManifestBlobUnknown,
        OciCode::ManifestInvalid,
        OciCode::ManifestUnknown,
        OciCode::NameInvalid,
        OciCode::NameUnknown,
        OciCode::SizeInvalid,
        OciCode::Unauthorized,
        OciCode::Denied,
        OciCode::Unsupported,
        OciCode::TooManyRequests,
    ];

    /// The code as the body spells it (`BLOB_UNKNOWN`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            OciCode::BlobUnknown => "BLOB_UNKNOWN",
            OciCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            OciCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            OciCode::DigestInvalid => "DIGEST_INVALID",
            OciCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            OciCode::ManifestInvalid => "MANIFEST_INVALID",
            OciCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            OciCode::NameInvalid => "NAME_INVALID",
            OciCode::NameUnknown => "NAME_UNKNOWN",
            OciCode::SizeInvalid => "SIZE_INVALID",
            OciCode::Unauthorized => "UNAUTHORIZED",
            OciCode::Denied => "DENIED",
            OciCode::Unsupported => "UNSUPPORTED",
            OciCode::TooManyRequests => "TOOMANYREQUESTS",
        }
    }

    /// The spec's description of the code, the default message.
    pub fn description(self) -> &'static str {
        match self {
            OciCode::BlobUnknown => "blob unknown to registry",
            OciCode::BlobUploadInvalid => "blob upload invalid",
            OciCode::BlobUploadUnknown => "blob upload unknown to registry",
            OciCode::DigestInvalid => "provided digest did not match uploaded content",
            OciCode::ManifestBlobUnknown => {
                "manifest references a manifest or blob unknown to registry"
            }
            OciCode::ManifestInvalid => "manifest invalid",
            OciCode::ManifestUnknown => "manifest unknown to registry",
            OciCode::NameInvalid => "invalid repository name",
            OciCode::NameUnknown => "repository name not known to registry",
            OciCode::SizeInvalid => "provided length did not match content length",
            OciCode::Unauthorized => "authentication required",
            OciCode::Denied => "requested access to the resource is denied",
            OciCode::Unsupported => "the operation is unsupported",
            OciCode::TooManyRequests => "too many requests",
        }
    }

    /// The status it is answered with where the endpoint says nothing
    /// more precise (an out-of-order chunk is a 416, say).
    pub fn status(self) -> u16 {
        match self {
            OciCode::BlobUnknown
            | OciCode::BlobUploadUnknown
            | OciCode::ManifestUnknown
            | OciCode::NameUnknown => 404,
            OciCode::Unauthorized => 401,
            OciCode::Denied => 403,
            OciCode::Unsupported => 405,
            OciCode::TooManyRequests => 429,
            OciCode::BlobUploadInvalid
            | OciCode::DigestInvalid
            | OciCode::ManifestBlobUnknown
            | OciCode::ManifestInvalid
            | OciCode::NameInvalid
            | OciCode::SizeInvalid => 400,
        }
    }
}

/// One data-plane error: its code, the status it is answered with, a
/// message and optional detail.
#[derive(Clone, Debug, PartialEq)]
pub struct OciError {
    /// The spec's code.
    pub code: OciCode,
    /// The HTTP status.
    pub status: u16,
    /// What happened, for people (never a credential).
    pub message: String,
    /// Structured detail for clients, when there is some.
    pub detail: Option<Value>,
}

impl OciError {
    /// `code` with its default status and `message`.
    pub fn new(code: OciCode, message: impl Into<String>) -> Self {
        OciError {
            code,
            status: code.status(),
            message: message.into(),
            detail: None,
        }
    }

    /// The same error answered with another status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The same error with structured detail.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// The spec's JSON body.
    pub fn body(&self) -> Value {
        let mut error = json!({"code": self.code.as_str(), "message": self.message});
        if let Some(detail) = &self.detail {
            error["detail"] = detail.clone();
        }
        json!({"errors": [error]})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_upper_case_with_underscores_and_has_a_status() {
        for code in OciCode::ALL {
            let text = code.as_str();
            assert!(
                !text.is_empty() && text.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{text}"
            );
            assert!((400..500).contains(&code.status()), "{text}");
            assert!(!code.description().is_empty());
        }
    }

    #[test]
    fn the_body_is_the_spec_envelope() {
        let e = OciError::new(OciCode::BlobUploadInvalid, "chunk out of order")
            .with_status(416)
            .with_detail(json!({"range": "0-9"}));
        assert_eq!(e.status, 416);
        assert_eq!(
            e.body(),
            json!({"errors": [{"code": "BLOB_UPLOAD_INVALID", "message": "chunk out of order",
                "detail": {"range": "0-9"}}]})
        );
        let plain = OciError::new(OciCode::ManifestUnknown, "no such tag");
        assert_eq!(plain.status, 404);
        assert!(plain.body()["errors"][0].get("detail").is_none());
    }
}
