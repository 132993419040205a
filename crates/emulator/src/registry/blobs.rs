//! Content-addressed blob bytes for one registry, and which repositories
//! hold each blob. Bytes are stored once per registry; a repository holds
//! a blob once it was pushed there or mounted from another repository of
//! the registry, and only then does it answer for it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use bytes::Bytes;

use super::digest::Digest;

/// One registry's blobs.
#[derive(Clone, Debug, Default)]
pub struct BlobStore {
    bytes: BTreeMap<Digest, Bytes>,
    /// Repository → the blobs it holds.
    links: BTreeMap<String, BTreeSet<Digest>>,
}

impl BlobStore {
    /// Stores `bytes` (whose digest the caller verified) and links them into
    /// `repository`.
    pub fn put(&mut self, repository: &str, digest: Digest, bytes: Bytes) {
        self.bytes.entry(digest.clone()).or_insert(bytes);
        self.links
            .entry(repository.to_string())
            .or_default()
            .insert(digest);
    }

    /// Links a blob `from` holds into `repository` (a cross-repository
    /// mount); `false` when `from` does not hold it.
    pub fn mount(&mut self, repository: &str, digest: &Digest, from: &str) -> bool {
        if !self.holds(from, digest) {
            return false;
        }
        self.links
            .entry(repository.to_string())
            .or_default()
            .insert(digest.clone());
        true
    }

    /// Whether `repository` holds the blob.
    pub fn holds(&self, repository: &str, digest: &Digest) -> bool {
        self.links
            .get(repository)
            .is_some_and(|held| held.contains(digest))
            && self.bytes.contains_key(digest)
    }

    /// The blob's bytes, as `repository` holds them.
    pub fn get(&self, repository: &str, digest: &Digest) -> Option<Bytes> {
        self.holds(repository, digest)
            .then(|| self.bytes.get(digest).cloned())
            .flatten()
    }

    /// Its size in bytes, as `repository` holds it.
    pub fn size(&self, repository: &str, digest: &Digest) -> Option<u64> {
        self.get(repository, digest).map(|b| b.len() as u64)
    }

    /// The bytes of `range` (inclusive, as HTTP ranges are) of the blob:
    /// `Ok(None)` when the repository does not hold it, `Err(size)` when the
    /// range does not fit in it.
    pub fn range(
        &self,
        repository: &str,
        digest: &Digest,
        range: RangeInclusive<u64>,
    ) -> Result<Option<Bytes>, u64> {
        let Some(bytes) = self.get(repository, digest) else {
            return Ok(None);
        };
        let size = bytes.len() as u64;
        let (start, end) = (*range.start(), *range.end());
        if start > end || end >= size {
            return Err(size);
        }
        Ok(Some(bytes.slice(start as usize..=end as usize)))
    }

    /// Unlinks the blob from `repository` (the bytes stay while another
    /// repository holds them); `false` when it did not hold it.
    pub fn unlink(&mut self, repository: &str, digest: &Digest) -> bool {
        let removed = self
            .links
            .get_mut(repository)
            .is_some_and(|held| held.remove(digest));
        if removed && !self.links.values().any(|held| held.contains(digest)) {
            self.bytes.remove(digest);
        }
        removed
    }

    /// Bytes stored, each blob once.
    pub fn stored_bytes(&self) -> u64 {
        self.bytes.values().map(|b| b.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(text: &str) -> (Digest, Bytes) {
        (
            Digest::sha256(text.as_bytes()),
            Bytes::from(text.to_string()),
        )
    }

    #[test]
    fn a_blob_is_stored_once_and_answers_only_where_it_is_held() {
        let mut store = BlobStore::default();
        let (d, b) = blob("layer");
        store.put("a", d.clone(), b.clone());
        assert_eq!(store.get("a", &d), Some(b.clone()));
        assert_eq!(store.get("b", &d), None, "not pushed to b");
        assert!(!store.mount("c", &d, "b"), "b does not hold it");
        assert!(store.mount("b", &d, "a"));
        assert_eq!(store.get("b", &d), Some(b));
        assert_eq!(store.stored_bytes(), 5, "stored once");

        assert!(store.unlink("a", &d));
        assert!(!store.unlink("a", &d));
        assert_eq!(store.size("b", &d), Some(5), "b still holds it");
        assert!(store.unlink("b", &d));
        assert_eq!(store.stored_bytes(), 0, "no holder left: the bytes go");
    }

    #[test]
    fn ranges_are_inclusive_and_checked() {
        let mut store = BlobStore::default();
        let (d, b) = blob("0123456789");
        store.put("r", d.clone(), b);
        assert_eq!(store.range("r", &d, 2..=4), Ok(Some(Bytes::from("234"))));
        assert_eq!(store.range("r", &d, 9..=9), Ok(Some(Bytes::from("9"))));
        assert_eq!(store.range("r", &d, 5..=10), Err(10));
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 6..=5;
        assert_eq!(store.range("r", &d, backwards), Err(10));
        assert_eq!(store.range("other", &d, 0..=1), Ok(None));
    }
}
