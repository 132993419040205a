//! Where blob bytes live: in memory (the default, for tests) or as files
//! under a data directory (`--data-dir`), keyed by digest and stored once
//! however many registries and repositories hold them. Which repository
//! holds which blob, and what a blob weighs in a registry's storage, is
//! the content store's business ([`crate::content`]); this module only
//! keeps, streams and forgets bytes.
//!
//! Large blobs are never held whole in memory on disk-backed storage: an
//! upload is written to a file as it arrives and renamed into place once
//! its digest checks out, and a pull streams the file.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

use super::digest::{Digest, Digester};

/// Blob bytes by digest.
#[derive(Debug)]
pub enum BlobStorage {
    /// Held in memory.
    Memory(Mutex<HashMap<String, Bytes>>),
    /// Files under `<dir>/blobs/<algorithm>/<hex>`, uploads under
    /// `<dir>/uploads/`.
    Dir(PathBuf),
}

/// A blob to send: its bytes, or an open file positioned at the first byte
/// to send, with how many bytes to send.
#[derive(Debug)]
pub enum BlobRead {
    /// Bytes in memory.
    Bytes(Bytes),
    /// `len` bytes of an open file, from its current position.
    File(tokio::fs::File, u64),
}

/// Where an upload's bytes go until its digest is checked.
#[derive(Debug)]
pub enum UploadSink {
    /// A growing buffer.
    Memory(BytesMut),
    /// A file of its own under the data directory, written through a
    /// buffer (request bodies arrive in frames of a few KiB).
    File(tokio::io::BufWriter<tokio::fs::File>, PathBuf),
}

/// Bytes an upload to disk gathers before writing.
const WRITE_BUFFER: usize = 1 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for BlobStorage {
    fn default() -> Self {
        BlobStorage::Memory(Mutex::new(HashMap::new()))
    }
}

impl BlobStorage {
    /// Storage under `dir` (created if missing). Uploads left by an
    /// earlier run are dropped: sessions do not outlive the process, and a
    /// client starts a lost one again.
    pub fn dir(dir: &Path) -> io::Result<BlobStorage> {
        std::fs::create_dir_all(dir.join("blobs"))?;
        match std::fs::remove_dir_all(dir.join("uploads")) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(dir.join("uploads"))?;
        Ok(BlobStorage::Dir(dir.to_path_buf()))
    }

    fn path(dir: &Path, digest: &str) -> PathBuf {
        let (algorithm, hex) = digest.split_once(':').unwrap_or(("unknown", digest));
        dir.join("blobs").join(algorithm).join(hex)
    }

    /// Its size, when the bytes are here.
    pub fn size(&self, digest: &str) -> Option<u64> {
        match self {
            BlobStorage::Memory(m) => lock(m).get(digest).map(|b| b.len() as u64),
            BlobStorage::Dir(dir) => std::fs::metadata(Self::path(dir, digest))
                .ok()
                .map(|m| m.len()),
        }
    }

    /// Bytes `start..=end` of the blob (the whole blob for `None`), or
    /// `None` when the bytes are not here. The range must fit: the caller
    /// checked it against [`BlobStorage::size`].
    pub async fn read(
        &self,
        digest: &str,
        range: Option<(u64, u64)>,
    ) -> io::Result<Option<BlobRead>> {
        match self {
            BlobStorage::Memory(m) => {
                let Some(bytes) = lock(m).get(digest).cloned() else {
                    return Ok(None);
                };
                Ok(Some(BlobRead::Bytes(match range {
                    Some((start, end)) => bytes.slice(start as usize..=end as usize),
                    None => bytes,
                })))
            }
            BlobStorage::Dir(dir) => {
                let mut file = match tokio::fs::File::open(Self::path(dir, digest)).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                let len = file.metadata().await?.len();
                let (start, count) = match range {
                    Some((start, end)) => (start, end - start + 1),
                    None => (0, len),
                };
                file.seek(io::SeekFrom::Start(start)).await?;
                Ok(Some(BlobRead::File(file, count)))
            }
        }
    }

    /// Stores bytes whose digest the caller checked (a manifest's blobs
    /// seeded with content, a snapshot's blobs).
    pub fn put(&self, digest: &str, bytes: Bytes) -> io::Result<()> {
        match self {
            BlobStorage::Memory(m) => {
                lock(m).entry(digest.to_string()).or_insert(bytes);
                Ok(())
            }
            BlobStorage::Dir(dir) => {
                let path = Self::path(dir, digest);
                if path.exists() {
                    return Ok(());
                }
                let temp = dir.join("uploads").join(uuid::Uuid::new_v4().to_string());
                std::fs::write(&temp, &bytes)?;
                Self::place(&temp, &path)
            }
        }
    }

    fn place(temp: &Path, path: &Path) -> io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Content-addressed: a blob already there is the same bytes.
        std::fs::rename(temp, path)
    }

    /// Forgets every blob whose digest `keep` does not name.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        match self {
            BlobStorage::Memory(m) => lock(m).retain(|d, _| keep(d)),
            BlobStorage::Dir(dir) => {
                for digest in self.digests() {
                    if !keep(&digest) {
                        let _ = std::fs::remove_file(Self::path(dir, &digest));
                    }
                }
            }
        }
    }

    /// The digests held.
    pub fn digests(&self) -> Vec<String> {
        match self {
            BlobStorage::Memory(m) => lock(m).keys().cloned().collect(),
            BlobStorage::Dir(dir) => {
                let mut all = Vec::new();
                let Ok(algorithms) = std::fs::read_dir(dir.join("blobs")) else {
                    return all;
                };
                for algorithm in algorithms.flatten() {
                    let name = algorithm.file_name().to_string_lossy().into_owned();
                    let Ok(files) = std::fs::read_dir(algorithm.path()) else {
                        continue;
                    };
                    for file in files.flatten() {
                        all.push(format!("{name}:{}", file.file_name().to_string_lossy()));
                    }
                }
                all
            }
        }
    }

    /// Every blob held in memory, for a snapshot (disk-backed storage keeps
    /// its files and gives none).
    pub fn export(&self) -> BTreeMap<String, Bytes> {
        match self {
            BlobStorage::Memory(m) => lock(m)
                .iter()
                .map(|(d, b)| (d.clone(), b.clone()))
                .collect(),
            BlobStorage::Dir(_) => BTreeMap::new(),
        }
    }

    /// A place for a new upload's bytes.
    pub async fn sink(&self) -> io::Result<UploadSink> {
        match self {
            BlobStorage::Memory(_) => Ok(UploadSink::Memory(BytesMut::new())),
            BlobStorage::Dir(dir) => {
                let path = dir.join("uploads").join(uuid::Uuid::new_v4().to_string());
                let file = tokio::fs::OpenOptions::new()
                    .create_new(true)
                    .read(true)
                    .write(true)
                    .open(&path)
                    .await?;
                Ok(UploadSink::File(
                    tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file),
                    path,
                ))
            }
        }
    }

    /// Keeps a finished, [sealed](UploadSink::seal) upload's bytes as blob
    /// `digest`. Synchronous (a rename, or a move into the map), so the
    /// caller can do it under the world's lock together with recording the
    /// blob: a collection's sweep then never sees the bytes without the
    /// record.
    pub fn commit(&self, sink: UploadSink, digest: &Digest) -> io::Result<()> {
        match (self, sink) {
            (BlobStorage::Memory(m), UploadSink::Memory(bytes)) => {
                lock(m).entry(digest.to_string()).or_insert(bytes.freeze());
                Ok(())
            }
            (BlobStorage::Dir(dir), UploadSink::File(file, temp)) => {
                drop(file);
                Self::place(&temp, &Self::path(dir, digest.as_str()))
            }
            (_, sink) => {
                sink.discard();
                Err(io::Error::other("the upload was made for other storage"))
            }
        }
    }
}

impl UploadSink {
    /// Writes out what is buffered and syncs it, before a commit.
    pub async fn seal(&mut self) -> io::Result<()> {
        if let UploadSink::File(f, _) = self {
            f.flush().await?;
            f.get_mut().sync_data().await?;
        }
        Ok(())
    }

    /// Appends bytes.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        match self {
            UploadSink::Memory(b) => {
                b.extend_from_slice(chunk);
                Ok(())
            }
            UploadSink::File(f, _) => f.write_all(chunk).await,
        }
    }

    /// Cuts it back to its first `len` bytes (a chunk that turned out bad).
    pub async fn truncate(&mut self, len: u64) -> io::Result<()> {
        match self {
            UploadSink::Memory(b) => {
                b.truncate(len as usize);
                Ok(())
            }
            UploadSink::File(f, _) => {
                f.flush().await?;
                let file = f.get_mut();
                file.set_len(len).await?;
                file.seek(io::SeekFrom::Start(len)).await?;
                Ok(())
            }
        }
    }

    /// Hashes everything written with `digester`'s algorithm (for a
    /// digest other than the SHA-256 hashed on the way in).
    pub async fn hash(&mut self, mut digester: Digester) -> io::Result<Digest> {
        self.hash_into(&mut digester).await?;
        Ok(digester.finish())
    }

    /// Feeds everything written to `digester`.
    pub async fn hash_into(&mut self, digester: &mut Digester) -> io::Result<()> {
        match self {
            UploadSink::Memory(b) => {
                digester.update(b);
                Ok(())
            }
            UploadSink::File(f, path) => {
                f.flush().await?;
                let mut reader = tokio::fs::File::open(&*path).await?;
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = reader.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    digester.update(&buf[..n]);
                }
            }
        }
    }

    /// Drops the bytes (a cancelled upload).
    pub fn discard(self) {
        if let UploadSink::File(file, path) = self {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip(storage: BlobStorage) {
        let blob = b"0123456789";
        let digest = Digest::sha256(blob);
        let mut sink = storage.sink().await.unwrap();
        sink.write(&blob[..4]).await.unwrap();
        sink.write(b"xx").await.unwrap();
        sink.truncate(4).await.unwrap();
        sink.write(&blob[4..]).await.unwrap();
        assert_eq!(
            sink.hash(Digest::sha256(b"").digester()).await.unwrap(),
            digest
        );
        sink.seal().await.unwrap();
        storage.commit(sink, &digest).unwrap();
        assert_eq!(storage.size(digest.as_str()), Some(10));
        let read = |r: BlobRead| async move {
            match r {
                BlobRead::Bytes(b) => b.to_vec(),
                BlobRead::File(f, len) => {
                    let mut out = Vec::new();
                    f.take(len).read_to_end(&mut out).await.unwrap();
                    out
                }
            }
        };
        let part = storage
            .read(digest.as_str(), Some((2, 4)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read(part).await, b"234");
        let all = storage.read(digest.as_str(), None).await.unwrap().unwrap();
        assert_eq!(read(all).await, blob);
        assert_eq!(storage.digests(), vec![digest.to_string()]);
        storage.retain(|_| false);
        assert_eq!(storage.size(digest.as_str()), None);
        assert!(storage.read(digest.as_str(), None).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn memory_and_disk_keep_the_same_bytes() {
        round_trip(BlobStorage::default()).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("uploads")).unwrap();
        std::fs::write(dir.path().join("uploads/left-over"), b"x").unwrap();
        round_trip(BlobStorage::dir(dir.path()).unwrap()).await;
        assert!(
            !dir.path().join("uploads/left-over").exists(),
            "an earlier run's upload is dropped"
        );
    }
}
