//! Blob upload sessions: a session opened by a `POST`, chunks appended in
//! order (`PATCH`, with or without `Content-Range`), its range asked for
//! (`GET`), and closed by a `PUT` with the digest of the whole blob, which
//! is checked against what arrived.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use uuid::Uuid;

use super::digest::{Digest, Digester};
use super::errors::{OciCode, OciError};

/// One open upload.
#[derive(Debug)]
struct Session {
    repository: String,
    received: BytesMut,
    /// SHA-256 of what was received, as it arrived.
    digester: Digester,
}

/// The open uploads of one registry, by session id.
#[derive(Debug, Default)]
pub struct Uploads {
    sessions: BTreeMap<Uuid, Session>,
}

/// A chunk's place in the blob, from `Content-Range: <start>-<end>`
/// (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRange {
    /// The chunk's first byte.
    pub start: u64,
    /// Its last byte.
    pub end: u64,
}

impl ChunkRange {
    /// `<start>-<end>` as the spec writes a chunk's range
    /// (`^[0-9]+-[0-9]+$`), end not before start.
    pub fn parse(text: &str) -> Option<ChunkRange> {
        let (start, end) = text.trim().split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(start) || !digits(end) {
            return None;
        }
        let (start, end) = (start.parse().ok()?, end.parse().ok()?);
        (start <= end).then_some(ChunkRange { start, end })
    }
}

impl Uploads {
    /// Opens a session for `repository`.
    pub fn start(&mut self, repository: &str) -> Uuid {
        let id = Uuid::new_v4();
        self.sessions.insert(
            id,
            Session {
                repository: repository.to_string(),
                received: BytesMut::new(),
                digester: Digest::sha256(b"").digester(),
            },
        );
        id
    }

    fn session(&mut self, repository: &str, id: &Uuid) -> Result<&mut Session, OciError> {
        self.sessions
            .get_mut(id)
            .filter(|s| s.repository == repository)
            .ok_or_else(|| OciError::new(OciCode::BlobUploadUnknown, format!("no upload {id}")))
    }

    /// Bytes received so far, or `None` for no such session in `repository`.
    pub fn received(&self, repository: &str, id: &Uuid) -> Option<u64> {
        self.sessions
            .get(id)
            .filter(|s| s.repository == repository)
            .map(|s| s.received.len() as u64)
    }

    /// Appends a chunk. With a range, it must start where the upload stands
    /// (else 416, `BLOB_UPLOAD_INVALID`) and be as long as the chunk (else
    /// 400 `SIZE_INVALID`). Returns the bytes received so far.
    pub fn append(
        &mut self,
        repository: &str,
        id: &Uuid,
        range: Option<ChunkRange>,
        chunk: &[u8],
    ) -> Result<u64, OciError> {
        let session = self.session(repository, id)?;
        let at = session.received.len() as u64;
        if let Some(range) = range {
            if range.start != at {
                return Err(OciError::new(
                    OciCode::BlobUploadInvalid,
                    format!(
                        "chunk {}-{} out of order: the upload has {at} bytes",
                        range.start, range.end
                    ),
                )
                .with_status(416));
            }
            if range.end - range.start + 1 != chunk.len() as u64 {
                return Err(OciError::new(
                    OciCode::SizeInvalid,
                    format!(
                        "Content-Range {}-{} does not match a chunk of {} bytes",
                        range.start,
                        range.end,
                        chunk.len()
                    ),
                ));
            }
        }
        session.received.extend_from_slice(chunk);
        session.digester.update(chunk);
        Ok(session.received.len() as u64)
    }

    /// Closes the session with its last chunk (possibly empty) and the
    /// digest of the whole blob. On a digest that does not match, the
    /// session stays open (nothing received is lost) and the error is 400
    /// `DIGEST_INVALID`.
    pub fn finish(
        &mut self,
        repository: &str,
        id: &Uuid,
        range: Option<ChunkRange>,
        last: &[u8],
        digest: &Digest,
    ) -> Result<Bytes, OciError> {
        if !last.is_empty() || range.is_some() {
            self.append(repository, id, range, last)?;
        }
        let session = self.session(repository, id)?;
        // SHA-256 was hashed as the chunks came; another algorithm hashes
        // what was received now.
        let got = if digest.as_str().starts_with("sha256:") {
            session.digester.clone().finish()
        } else {
            let mut check = digest.digester();
            check.update(&session.received);
            check.finish()
        };
        if &got != digest {
            return Err(OciError::new(
                OciCode::DigestInvalid,
                format!("the upload's content has digest {got}, not {digest}"),
            ));
        }
        let session = self.sessions.remove(id).expect("looked up above");
        Ok(session.received.freeze())
    }

    /// Cancels the session; `false` when there was none.
    pub fn cancel(&mut self, repository: &str, id: &Uuid) -> bool {
        if self.received(repository, id).is_none() {
            return false;
        }
        self.sessions.remove(id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ranges_parse_as_the_spec_writes_them() {
        assert_eq!(
            ChunkRange::parse("0-9"),
            Some(ChunkRange { start: 0, end: 9 })
        );
        for bad in [
            "",
            "-",
            "0-",
            "-9",
            "9-0",
            "a-b",
            "0-9-",
            "+0-9",
            "0 - 9x",
            "bytes=0-9",
        ] {
            assert_eq!(ChunkRange::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn chunks_in_order_then_a_checked_close() {
        let mut up = Uploads::default();
        let blob = b"hello, registry";
        let id = up.start("r");
        assert_eq!(
            up.append("r", &id, ChunkRange::parse("0-4"), &blob[..5]),
            Ok(5)
        );
        // Out of order: 416, and nothing taken.
        let e = up
            .append("r", &id, ChunkRange::parse("6-7"), &blob[6..8])
            .unwrap_err();
        assert_eq!((e.code, e.status), (OciCode::BlobUploadInvalid, 416));
        assert_eq!(up.received("r", &id), Some(5));
        // A range that is not the chunk's length.
        let e = up
            .append("r", &id, ChunkRange::parse("5-9"), &blob[5..8])
            .unwrap_err();
        assert_eq!(e.code, OciCode::SizeInvalid);
        // A streamed chunk (no range) goes at the end.
        assert_eq!(up.append("r", &id, None, &blob[5..10]), Ok(10));
        // Another repository does not see the session.
        assert!(up.append("s", &id, None, b"x").is_err());
        // A wrong digest keeps the session; the right one closes it.
        let wrong = Digest::sha256(b"something else");
        let e = up.finish("r", &id, None, &blob[10..], &wrong).unwrap_err();
        assert_eq!((e.code, e.status), (OciCode::DigestInvalid, 400));
        assert_eq!(up.received("r", &id), Some(15));
        let done = up
            .finish("r", &id, None, &[], &Digest::sha256(blob))
            .unwrap();
        assert_eq!(&done[..], blob);
        assert_eq!(up.received("r", &id), None, "closed");
    }

    #[test]
    fn a_sha512_digest_is_checked_with_sha512() {
        let mut up = Uploads::default();
        let id = up.start("r");
        let blob = b"512";
        let mut d = format!("sha512:{}", "0".repeat(128))
            .parse::<Digest>()
            .unwrap()
            .digester();
        d.update(blob);
        let sha512 = d.finish();
        assert!(up.finish("r", &id, None, blob, &sha512).is_ok());
    }

    #[test]
    fn cancel_forgets_the_session() {
        let mut up = Uploads::default();
        let id = up.start("r");
        assert!(!up.cancel("other", &id));
        assert!(up.cancel("r", &id));
        assert!(!up.cancel("r", &id));
        let e = up.append("r", &id, None, b"x").unwrap_err();
        assert_eq!((e.code, e.status), (OciCode::BlobUploadUnknown, 404));
    }
}
