//! Digests as the OCI specifications write them, and hashing bytes into
//! one. Parsing is oci-spec's ([`oci_spec::image::Digest`]); hashing is
//! ring's, for the algorithms a registry must verify: SHA-256 and
//! SHA-512 (SHA-384 too, which the image spec lists).

use std::fmt;
use std::str::FromStr;

use oci_spec::image::DigestAlgorithm;

/// A digest whose algorithm this registry can verify.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// Why a digest cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestError {
    /// Not `algorithm:encoded`, or an encoded part that is not the
    /// algorithm's length in lowercase hex.
    Invalid(String),
    /// A well-formed digest of an algorithm this registry does not verify.
    Unsupported(String),
}

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestError::Invalid(why) => write!(f, "invalid digest: {why}"),
            DigestError::Unsupported(alg) => {
                write!(
                    f,
                    "digest algorithm {alg} is not supported (use sha256 or sha512)"
                )
            }
        }
    }
}

impl std::error::Error for DigestError {}

fn algorithm_of(
    digest: &oci_spec::image::Digest,
) -> Result<&'static ring::digest::Algorithm, DigestError> {
    match digest.algorithm() {
        DigestAlgorithm::Sha256 => Ok(&ring::digest::SHA256),
        DigestAlgorithm::Sha384 => Ok(&ring::digest::SHA384),
        DigestAlgorithm::Sha512 => Ok(&ring::digest::SHA512),
        other => Err(DigestError::Unsupported(other.to_string())),
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, DigestError> {
        let parsed = oci_spec::image::Digest::from_str(s)
            .map_err(|e| DigestError::Invalid(e.to_string()))?;
        algorithm_of(&parsed)?;
        Ok(Digest(parsed.to_string()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Digest {
    /// The SHA-256 digest of `bytes`, the registry's default.
    pub fn sha256(bytes: &[u8]) -> Digest {
        let mut d = Digester::new(&ring::digest::SHA256, "sha256");
        d.update(bytes);
        d.finish()
    }

    /// `algorithm:encoded`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A hasher of this digest's algorithm, to check bytes against it.
    pub fn digester(&self) -> Digester {
        let parsed = oci_spec::image::Digest::from_str(&self.0)
            .expect("a Digest was parsed when it was made");
        let algorithm = algorithm_of(&parsed).expect("a Digest's algorithm is supported");
        Digester::new(algorithm, algorithm_name(parsed.algorithm()))
    }

    /// Whether `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let mut d = self.digester();
        d.update(bytes);
        &d.finish() == self
    }
}

/// The SHA-256 of a secret, in hex: what the emulator keeps of a
/// credential it handed out, to recognize it at login without keeping it.
pub fn secret_sha256(secret: &str) -> String {
    let digest = Digest::sha256(secret.as_bytes());
    digest.as_str().trim_start_matches("sha256:").to_string()
}

fn algorithm_name(algorithm: &DigestAlgorithm) -> &'static str {
    match algorithm {
        DigestAlgorithm::Sha384 => "sha384",
        DigestAlgorithm::Sha512 => "sha512",
        _ => "sha256",
    }
}

/// Bytes hashed as they arrive (an upload's chunks, one after another).
#[derive(Clone)]
pub struct Digester {
    context: ring::digest::Context,
    name: &'static str,
}

impl Digester {
    fn new(algorithm: &'static ring::digest::Algorithm, name: &'static str) -> Self {
        Digester {
            context: ring::digest::Context::new(algorithm),
            name,
        }
    }

    /// Hashes more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }

    /// The digest of everything hashed.
    pub fn finish(self) -> Digest {
        let hex: String = self
            .context
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Digest(format!("{}:{hex}", self.name))
    }
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Digester")
            .field("algorithm", &self.name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_as_the_spec_writes_them() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d: Digest = empty.parse().unwrap();
        assert_eq!(d.as_str(), empty);
        assert_eq!(Digest::sha256(b""), d);
        assert!(d.matches(b""));
        assert!(!d.matches(b"x"));

        let sha512 = format!("sha512:{}", "ab".repeat(64));
        assert!(sha512.parse::<Digest>().is_ok());
        for bad in [
            "",
            "sha256",
            "sha256:",
            "sha256:abc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha512:{}", "ab".repeat(32)),
        ] {
            assert!(
                matches!(bad.parse::<Digest>(), Err(DigestError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8".parse::<Digest>(),
            Err(DigestError::Unsupported(_))
        ));
    }

    #[test]
    fn streaming_and_whole_hashing_agree_for_every_algorithm() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        for alg in ["sha256", "sha384", "sha512"] {
            let whole = {
                let seed: Digest = match alg {
                    "sha256" => Digest::sha256(b""),
                    "sha384" => format!("sha384:{}", "0".repeat(96)).parse().unwrap(),
                    _ => format!("sha512:{}", "0".repeat(128)).parse().unwrap(),
                };
                let mut d = seed.digester();
                d.update(&bytes);
                d.finish()
            };
            assert!(whole.as_str().starts_with(alg), "{whole}");
            assert!(whole.matches(&bytes));
            let mut chunked = whole.digester();
            for chunk in bytes.chunks(333) {
                chunked.update(chunk);
            }
            assert_eq!(chunked.finish(), whole);
        }
    }
}
