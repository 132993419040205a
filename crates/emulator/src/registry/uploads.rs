//! Blob upload sessions: a session opened by a `POST`, chunks appended in
//! order (`PATCH`, with or without `Content-Range`), its range asked for
//! (`GET`), and closed by a `PUT` with the digest of the whole blob, which
//! is checked against what arrived.
//!
//! A session's bytes go to an [`UploadSink`] as they arrive (a file under
//! the data directory, or memory), hashed with SHA-256 on the way; each
//! session has its own lock, so one slow upload holds up no other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Mutex as AsyncMutex;
use uuid::Uuid;

use super::blobs::UploadSink;
use super::digest::{Digest, Digester};
use super::errors::{OciCode, OciError};

/// One open upload.
#[derive(Debug)]
pub struct Session {
    /// The registry and repository it belongs to (`<store>/<repository>`).
    scope: String,
    sink: Option<UploadSink>,
    received: u64,
    /// SHA-256 of what was received, as it arrived.
    digester: Digester,
}

/// A session shared between the requests that touch it.
pub type SharedSession = Arc<AsyncMutex<Session>>;

/// The open uploads of every registry, by session id.
#[derive(Debug, Default)]
pub struct Uploads {
    sessions: Mutex<HashMap<Uuid, SharedSession>>,
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
    /// (`^[0-9]+-[0-9]+$`), end not before start. A `bytes=` or `bytes `
    /// prefix, which some clients send, is accepted.
    pub fn parse(text: &str) -> Option<ChunkRange> {
        let text = text.trim();
        let text = text
            .strip_prefix("bytes=")
            .or_else(|| text.strip_prefix("bytes "))
            .unwrap_or(text);
        let (start, end) = text.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(start) || !digits(end) {
            return None;
        }
        let (start, end) = (start.parse().ok()?, end.parse().ok()?);
        (start <= end).then_some(ChunkRange { start, end })
    }

    /// Bytes in the chunk (never none: a range names at least one byte).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> u64 {
        self.end - self.start + 1
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unknown(id: &Uuid) -> OciError {
    OciError::new(OciCode::BlobUploadUnknown, format!("no upload {id}"))
}

impl Uploads {
    /// Opens a session for `scope` writing to `sink`.
    pub fn start(&self, scope: &str, sink: UploadSink) -> Uuid {
        let id = Uuid::new_v4();
        let session = Session {
            scope: scope.to_string(),
            sink: Some(sink),
            received: 0,
            digester: Digest::sha256(b"").digester(),
        };
        lock(&self.sessions).insert(id, Arc::new(AsyncMutex::new(session)));
        id
    }

    /// The session `id` of `scope` (404 `BLOB_UPLOAD_UNKNOWN` when there is
    /// none there). Lock it to use it; check [`Session::is_open`] first.
    pub fn get(&self, scope: &str, id: &Uuid) -> Result<SharedSession, OciError> {
        let session = lock(&self.sessions)
            .get(id)
            .cloned()
            .ok_or_else(|| unknown(id))?;
        let matches = session.try_lock().map(|s| s.scope == scope).unwrap_or(true);
        if matches {
            Ok(session)
        } else {
            Err(unknown(id))
        }
    }

    /// Forgets the session (closed or cancelled).
    pub fn forget(&self, id: &Uuid) {
        lock(&self.sessions).remove(id);
    }

    /// Open sessions.
    pub fn open(&self) -> usize {
        lock(&self.sessions).len()
    }
}

impl Session {
    /// Whether it still takes bytes (a closed or cancelled session that a
    /// racing request still held does not).
    pub fn is_open(&self, scope: &str) -> bool {
        self.sink.is_some() && self.scope == scope
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Checks a chunk before any of it is read: with a range, it must
    /// start where the upload stands (else 416 `BLOB_UPLOAD_INVALID`), and
    /// its length, where announced, must match the range (else 400
    /// `SIZE_INVALID`).
    pub fn check(&self, range: Option<ChunkRange>, length: Option<u64>) -> Result<(), OciError> {
        let Some(range) = range else {
            return Ok(());
        };
        if range.start != self.received {
            return Err(OciError::new(
                OciCode::BlobUploadInvalid,
                format!(
                    "chunk {}-{} out of order: the upload has {} bytes",
                    range.start, range.end, self.received
                ),
            )
            .with_status(416));
        }
        match length {
            Some(n) if n != range.len() => Err(size_mismatch(range, n)),
            _ => Ok(()),
        }
    }

    /// Appends bytes of the chunk being read.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), OciError> {
        let sink = self
            .sink
            .as_mut()
            .ok_or_else(|| OciError::new(OciCode::BlobUploadUnknown, "the upload was closed"))?;
        sink.write(bytes).await.map_err(storage)?;
        self.digester.update(bytes);
        self.received += bytes.len() as u64;
        Ok(())
    }

    /// Ends a chunk that began at `start`: with a range, what arrived must
    /// be as long as it said, else the chunk is taken back and the answer
    /// is 400 `SIZE_INVALID`.
    pub async fn end_chunk(
        &mut self,
        start: u64,
        range: Option<ChunkRange>,
    ) -> Result<(), OciError> {
        let got = self.received - start;
        match range {
            Some(range) if range.len() != got => {
                self.rewind(start).await?;
                Err(size_mismatch(range, got))
            }
            _ => Ok(()),
        }
    }

    /// Takes back everything after the first `len` bytes (a chunk cut
    /// short by the client or refused). The running SHA-256 cannot be
    /// rewound, so the bytes kept are hashed again.
    pub async fn rewind(&mut self, len: u64) -> Result<(), OciError> {
        let Some(sink) = self.sink.as_mut() else {
            return Ok(());
        };
        sink.truncate(len).await.map_err(storage)?;
        let mut digester = Digest::sha256(b"").digester();
        sink.hash_into(&mut digester).await.map_err(storage)?;
        self.digester = digester;
        self.received = len;
        Ok(())
    }

    /// Checks what arrived against `digest` and hands back its bytes; on a
    /// mismatch the session stays open (nothing received is lost) and the
    /// error is 400 `DIGEST_INVALID`.
    pub async fn finish(&mut self, digest: &Digest) -> Result<UploadSink, OciError> {
        let sink = self
            .sink
            .as_mut()
            .ok_or_else(|| OciError::new(OciCode::BlobUploadUnknown, "the upload was closed"))?;
        // SHA-256 was hashed as the chunks came; another algorithm hashes
        // what was received now.
        let got = if digest.as_str().starts_with("sha256:") {
            self.digester.clone().finish()
        } else {
            sink.hash(digest.digester()).await.map_err(storage)?
        };
        if &got != digest {
            return Err(OciError::new(
                OciCode::DigestInvalid,
                format!("the upload's content has digest {got}, not {digest}"),
            ));
        }
        Ok(self.sink.take().expect("checked above"))
    }

    /// Closes it without keeping anything.
    pub fn cancel(&mut self) {
        if let Some(sink) = self.sink.take() {
            sink.discard();
        }
    }
}

fn size_mismatch(range: ChunkRange, got: u64) -> OciError {
    OciError::new(
        OciCode::SizeInvalid,
        format!(
            "Content-Range {}-{} does not match a chunk of {got} bytes",
            range.start, range.end
        ),
    )
}

fn storage(e: std::io::Error) -> OciError {
    OciError::new(OciCode::BlobUploadInvalid, format!("storage failed: {e}")).with_status(500)
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
        assert_eq!(
            ChunkRange::parse("bytes=0-9"),
            Some(ChunkRange { start: 0, end: 9 })
        );
        for bad in ["", "-", "0-", "-9", "9-0", "a-b", "0-9-", "+0-9", "0 - 9x"] {
            assert_eq!(ChunkRange::parse(bad), None, "{bad:?}");
        }
    }

    async fn chunk(s: &mut Session, range: Option<&str>, bytes: &[u8]) -> Result<u64, OciError> {
        let range = range.and_then(ChunkRange::parse);
        s.check(range, None)?;
        let start = s.received();
        s.write(bytes).await?;
        s.end_chunk(start, range).await?;
        Ok(s.received())
    }

    #[tokio::test]
    async fn chunks_in_order_then_a_checked_close() {
        let up = Uploads::default();
        let blob = b"hello, registry";
        let id = up.start("r", UploadSink::Memory(Default::default()));
        let session = up.get("r", &id).unwrap();
        let mut s = session.lock().await;
        assert_eq!(chunk(&mut s, Some("0-4"), &blob[..5]).await, Ok(5));
        // Out of order: 416, and nothing taken.
        let e = chunk(&mut s, Some("6-7"), &blob[6..8]).await.unwrap_err();
        assert_eq!((e.code, e.status), (OciCode::BlobUploadInvalid, 416));
        assert_eq!(s.received(), 5);
        // A range that is not the chunk's length: taken back.
        let e = chunk(&mut s, Some("5-9"), &blob[5..8]).await.unwrap_err();
        assert_eq!(e.code, OciCode::SizeInvalid);
        assert_eq!(s.received(), 5);
        // A streamed chunk (no range) goes at the end.
        assert_eq!(chunk(&mut s, None, &blob[5..]).await, Ok(15));
        // A wrong digest keeps the session; the right one closes it.
        let wrong = Digest::sha256(b"something else");
        let e = s.finish(&wrong).await.unwrap_err();
        assert_eq!((e.code, e.status), (OciCode::DigestInvalid, 400));
        assert!(s.is_open("r"));
        let UploadSink::Memory(done) = s.finish(&Digest::sha256(blob)).await.unwrap() else {
            panic!("a memory sink")
        };
        assert_eq!(&done[..], blob);
        assert!(!s.is_open("r"), "closed");
        drop(s);
        up.forget(&id);
        assert!(up.get("r", &id).is_err());
    }

    #[tokio::test]
    async fn another_repository_does_not_see_the_session() {
        let up = Uploads::default();
        let id = up.start("r", UploadSink::Memory(Default::default()));
        let e = up.get("s", &id).unwrap_err();
        assert_eq!((e.code, e.status), (OciCode::BlobUploadUnknown, 404));
    }

    #[tokio::test]
    async fn a_sha512_digest_is_checked_with_sha512() {
        let up = Uploads::default();
        let id = up.start("r", UploadSink::Memory(Default::default()));
        let session = up.get("r", &id).unwrap();
        let mut s = session.lock().await;
        s.write(b"512").await.unwrap();
        let mut d = format!("sha512:{}", "0".repeat(128))
            .parse::<Digest>()
            .unwrap()
            .digester();
        d.update(b"512");
        assert!(s.finish(&d.finish()).await.is_ok());
    }
}
