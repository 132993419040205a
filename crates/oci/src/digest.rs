//! Digests: parsed by oci-spec, hashed by ring, sha256 and sha512.

use std::str::FromStr as _;

use oci_spec::image::{Digest, DigestAlgorithm};

use crate::{Error, Result};

/// A running hash of content asked for by one digest.
pub(crate) struct Hasher {
    expected: String,
    algorithm: &'static str,
    context: ring::digest::Context,
}

impl Hasher {
    /// A hash for content that must match `digest` (`sha256:…`,
    /// `sha512:…`).
    pub(crate) fn new(digest: &str) -> Result<Self> {
        let parsed = Digest::from_str(digest)
            .map_err(|e| Error::Invalid(format!("{digest:?} is not a digest: {e}")))?;
        let (algorithm, ring_algorithm) = match parsed.algorithm() {
            DigestAlgorithm::Sha256 => ("sha256", &ring::digest::SHA256),
            DigestAlgorithm::Sha512 => ("sha512", &ring::digest::SHA512),
            other => {
                return Err(Error::Invalid(format!(
                    "{digest}: digests of {other} are not supported (sha256 and sha512 are)"
                )));
            }
        };
        Ok(Hasher {
            expected: digest.to_string(),
            algorithm,
            context: ring::digest::Context::new(ring_algorithm),
        })
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }

    /// Checks what was hashed against the digest.
    pub(crate) fn verify(self) -> Result<()> {
        let hex: String = self
            .context
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let actual = format!("{}:{hex}", self.algorithm);
        if actual == self.expected {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                expected: self.expected,
                actual,
            })
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Checks that `bytes` hash to `digest`.
pub fn verify(digest: &str, bytes: &[u8]) -> Result<()> {
    let mut h = Hasher::new(digest)?;
    h.update(bytes);
    h.verify()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_sha256_and_sha512_and_names_a_mismatch() {
        assert!(verify(&sha256(b"abc"), b"abc").is_ok());
        let e = verify(&sha256(b"abc"), b"abd").unwrap_err();
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
        let sha512 = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
        assert!(verify(sha512, b"abc").is_ok());
        assert!(matches!(
            verify("md5:00", b"").unwrap_err(),
            Error::Invalid(_)
        ));
    }
}
