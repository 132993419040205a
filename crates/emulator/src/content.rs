//! Registry content: repositories, tags, manifests and blobs, the one
//! store behind both planes.
//!
//! Content comes from pushes through the data plane (the OCI Distribution
//! API, [`crate::registry`]) or is seeded (through [`Store`] here, or a
//! state file), and is then listed, untagged, deleted and
//! garbage-collected through the management APIs. One model serves every
//! provider that stores images: a tag names a manifest, a manifest
//! references blobs (and, for an index, child manifests; for a signature or
//! SBOM, a subject), and storage is the size of the blobs still held.
//! Deleting a tag leaves an untagged manifest; deleting a manifest leaves
//! its blobs until garbage collection removes what nothing references.
//!
//! The store keeps sizes and references; the blobs' bytes live in the
//! data plane's blob storage, keyed by digest, and go when no store holds
//! their digest any more.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The OCI image manifest media type, the default for seeded manifests.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A layer or config blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    /// `sha256:<64 hex digits>`.
    pub digest: String,
    /// Bytes the blob takes in the registry.
    pub compressed_size_bytes: u64,
}

/// An image manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `sha256:<64 hex digits>`.
    pub digest: String,
    /// Media type (OCI or Docker manifest).
    pub media_type: String,
    /// Uncompressed size of the image, in bytes.
    pub size_bytes: u64,
    /// When it was pushed (or last tagged).
    pub updated_at: DateTime<Utc>,
    /// The blobs it references.
    pub blobs: Vec<Blob>,
    /// Its exact bytes as pushed (a manifest is JSON, so UTF-8). Seeded
    /// manifests have none, and a pull of one says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// The manifests it lists, where it is an index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// The manifest it refers to (a signature's or an SBOM's image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Its artifact type, as the referrers API reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Manifest {
    /// Bytes of its blobs as stored (compressed).
    pub fn compressed_size_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.compressed_size_bytes).sum()
    }
}

/// A repository: manifests by digest, and tags pointing at them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// Manifests by digest.
    pub manifests: BTreeMap<String, Manifest>,
    /// Tag → manifest digest.
    pub tags: BTreeMap<String, String>,
    /// Blobs pushed to or mounted into this repository through the data
    /// plane (a blob its manifests reference is held as well).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub blobs: BTreeSet<String>,
}

impl Repository {
    /// Tags pointing at `digest`, in order.
    pub fn tags_of(&self, digest: &str) -> Vec<String> {
        self.tags
            .iter()
            .filter(|(_, d)| d.as_str() == digest)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Digests that no tag points at.
    pub fn untagged(&self) -> Vec<String> {
        let tagged: BTreeSet<&String> = self.tags.values().collect();
        self.manifests
            .keys()
            .filter(|d| !tagged.contains(d))
            .cloned()
            .collect()
    }

    /// Whether the repository holds blob `digest`: pushed or mounted here,
    /// or referenced by one of its manifests.
    pub fn holds_blob(&self, digest: &str) -> bool {
        self.blobs.contains(digest)
            || self
                .manifests
                .values()
                .any(|m| m.blobs.iter().any(|b| b.digest == digest))
    }

    /// Manifests whose subject is `digest` (its referrers), in digest order.
    pub fn referrers<'a>(&'a self, digest: &'a str) -> impl Iterator<Item = &'a Manifest> + 'a {
        self.manifests
            .values()
            .filter(move |m| m.subject.as_deref() == Some(digest))
    }

    /// The untagged manifests a collection would delete under `policy`:
    /// every untagged one, or (sparing the image graph) those no tag
    /// reaches through index children and referrers.
    pub fn collectable_manifests(&self, policy: UntaggedCollection) -> Vec<String> {
        let mut keep: BTreeSet<&str> = self.tags.values().map(String::as_str).collect();
        if policy == UntaggedCollection::SpareReferenced {
            loop {
                let before = keep.len();
                for m in self.manifests.values() {
                    let kept = keep.contains(m.digest.as_str());
                    let refers_to_kept = m.subject.as_deref().is_some_and(|s| keep.contains(s));
                    if kept || refers_to_kept {
                        keep.insert(m.digest.as_str());
                        keep.extend(m.children.iter().map(String::as_str));
                    }
                }
                if keep.len() == before {
                    break;
                }
            }
        }
        self.manifests
            .keys()
            .filter(|d| !keep.contains(d.as_str()))
            .cloned()
            .collect()
    }

    /// When the repository last changed: its newest manifest.
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.manifests.values().map(|m| m.updated_at).max()
    }
}

/// What a collection of untagged manifests does to manifests that no tag
/// names but a tagged manifest still needs: an index's platform manifests
/// and the referrers (signatures, SBOMs) of a tagged image.
///
/// DigitalOcean documents neither way. The default spares them, as Harbor
/// and ECR refuse to delete a referenced child and as distribution has done
/// since its `--delete-untagged` fix; [`UntaggedCollection::DeleteAll`]
/// is the worst case a cleanup tool must survive (distribution before the
/// fix), for tests that want it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UntaggedCollection {
    /// Deletes only untagged manifests nothing tagged reaches.
    #[default]
    SpareReferenced,
    /// Deletes every untagged manifest, children and referrers included.
    DeleteAll,
}

/// What one garbage collection removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collected {
    /// Untagged manifests deleted.
    pub manifests: u64,
    /// Blobs deleted.
    pub blobs: u64,
    /// Bytes those blobs took.
    pub freed_bytes: u64,
}

/// One registry's content: repositories by name, and every blob it holds
/// (blobs stay, and count as storage, until garbage collection).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    /// Repositories by name (`team/api`: names may hold slashes).
    pub repositories: BTreeMap<String, Repository>,
    /// Every blob held, by digest, with its stored size.
    pub blobs: BTreeMap<String, u64>,
}

impl Store {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty() && self.blobs.is_empty()
    }

    /// Adds (or moves) `tag` of `repository` to `manifest`, creating the
    /// repository and storing the manifest's blobs.
    pub fn push(&mut self, repository: &str, tag: Option<&str>, manifest: Manifest) {
        for blob in &manifest.blobs {
            self.blobs
                .insert(blob.digest.clone(), blob.compressed_size_bytes);
        }
        let repo = self.repositories.entry(repository.to_string()).or_default();
        if let Some(tag) = tag {
            repo.tags.insert(tag.to_string(), manifest.digest.clone());
        }
        repo.manifests.insert(manifest.digest.clone(), manifest);
    }

    /// Bytes of every blob held.
    pub fn storage_bytes(&self) -> u64 {
        self.blobs.values().sum()
    }

    /// Blobs referenced by some manifest of some repository.
    fn referenced_blobs(&self) -> BTreeSet<&str> {
        self.repositories
            .values()
            .flat_map(|r| r.manifests.values())
            .flat_map(|m| m.blobs.iter().map(|b| b.digest.as_str()))
            .collect()
    }

    /// Bytes garbage collection of this kind would free now, and what it
    /// would delete, without changing anything.
    pub fn collectable(
        &self,
        untagged_manifests: bool,
        unreferenced_blobs: bool,
        policy: UntaggedCollection,
    ) -> Collected {
        let mut copy = self.clone();
        copy.collect(untagged_manifests, unreferenced_blobs, policy)
    }

    /// Garbage collection: deletes untagged manifests (as `policy` says)
    /// and/or blobs that no manifest references, unlinking them from every
    /// repository.
    pub fn collect(
        &mut self,
        untagged_manifests: bool,
        unreferenced_blobs: bool,
        policy: UntaggedCollection,
    ) -> Collected {
        let mut done = Collected::default();
        if untagged_manifests {
            for repo in self.repositories.values_mut() {
                for digest in repo.collectable_manifests(policy) {
                    repo.manifests.remove(&digest);
                    done.manifests += 1;
                }
            }
        }
        if unreferenced_blobs {
            let referenced: BTreeSet<String> = self
                .referenced_blobs()
                .into_iter()
                .map(str::to_string)
                .collect();
            let before = self.blobs.len() as u64;
            let freed: u64 = self
                .blobs
                .iter()
                .filter(|(d, _)| !referenced.contains(*d))
                .map(|(_, size)| *size)
                .sum();
            self.blobs.retain(|d, _| referenced.contains(d));
            for repo in self.repositories.values_mut() {
                repo.blobs.retain(|d| referenced.contains(d));
            }
            done.blobs = before - self.blobs.len() as u64;
            done.freed_bytes = freed;
        }
        done
    }
}

/// Makes seeded content: digests, sizes and ages drawn from a seeded
/// random source, so the same seed makes the same world.
#[derive(Debug)]
pub struct ContentGen {
    rng: fastrand::Rng,
}

impl ContentGen {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        ContentGen {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// A random `sha256:` digest.
    pub fn digest(&mut self) -> String {
        let mut hex = String::with_capacity(71);
        hex.push_str("sha256:");
        for _ in 0..4 {
            hex.push_str(&format!("{:016x}", self.rng.u64(..)));
        }
        hex
    }

    /// A manifest of one config blob and `layers` layer blobs (each between
    /// 1 KiB and 32 MiB), pushed at `updated_at`.
    pub fn manifest(&mut self, layers: usize, updated_at: DateTime<Utc>) -> Manifest {
        let mut blobs = vec![Blob {
            digest: self.digest(),
            compressed_size_bytes: self.rng.u64(512..4096),
        }];
        for _ in 0..layers {
            blobs.push(Blob {
                digest: self.digest(),
                compressed_size_bytes: self.rng.u64(1024..32 << 20),
            });
        }
        let compressed: u64 = blobs.iter().map(|b| b.compressed_size_bytes).sum();
        Manifest {
            digest: self.digest(),
            media_type: OCI_MANIFEST.to_string(),
            size_bytes: compressed + compressed / 2,
            updated_at,
            blobs,
            ..Manifest::default()
        }
    }

    /// Seeds `repository` in `store` with `tags` tags (`v1`, `v2`, … and
    /// `latest` on the newest), one a day going back from `now`, each on a
    /// manifest of its own that shares its base layer with the others.
    pub fn repository(
        &mut self,
        store: &mut Store,
        repository: &str,
        tags: usize,
        now: DateTime<Utc>,
    ) {
        let base = Blob {
            digest: self.digest(),
            compressed_size_bytes: self.rng.u64(1 << 20..8 << 20),
        };
        for i in 0..tags {
            let age = chrono::Duration::days((tags - 1 - i) as i64)
                + chrono::Duration::seconds(self.rng.i64(0..3600));
            let mut manifest = self.manifest(1, now - age);
            manifest.blobs.insert(0, base.clone());
            let tag = format!("v{}", i + 1);
            let newest = i + 1 == tags;
            let digest = manifest.digest.clone();
            store.push(repository, Some(&tag), manifest);
            if let Some(repo) = store.repositories.get_mut(repository).filter(|_| newest) {
                repo.tags.insert("latest".to_string(), digest);
            }
        }
    }

    /// A number in `range`, for ids and sizes.
    pub fn u64(&mut self, range: std::ops::Range<u64>) -> u64 {
        self.rng.u64(range)
    }

    /// A random version-4 UUID.
    pub fn uuid(&mut self) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.rng.u64(..).to_le_bytes());
        bytes[8..].copy_from_slice(&self.rng.u64(..).to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// `len` random lowercase letters and digits (token secrets, ids).
    pub fn alphanumeric(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| self.rng.alphanumeric())
            .collect::<String>()
            .to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn untagging_then_collecting_frees_only_the_unshared_blobs() {
        let mut ids = ContentGen::new(7);
        let mut store = Store::default();
        ids.repository(&mut store, "team/api", 3, now());
        let before = store.storage_bytes();
        let repo = &store.repositories["team/api"];
        let v1 = repo.tags["v1"].clone();
        let own: u64 = repo.manifests[&v1].blobs[1..]
            .iter()
            .map(|b| b.compressed_size_bytes)
            .sum();

        store
            .repositories
            .get_mut("team/api")
            .unwrap()
            .tags
            .remove("v1");
        assert_eq!(store.repositories["team/api"].untagged(), vec![v1.clone()]);
        // Blobs only: the untagged manifest still references its blobs.
        let spare = UntaggedCollection::SpareReferenced;
        assert_eq!(store.collect(false, true, spare).freed_bytes, 0);
        let done = store.collect(true, true, spare);
        assert_eq!(done.manifests, 1);
        assert_eq!(done.freed_bytes, own, "the shared base layer stays");
        assert_eq!(store.storage_bytes(), before - own);
    }

    #[test]
    fn the_same_seed_makes_the_same_content() {
        let make = || {
            let mut store = Store::default();
            ContentGen::new(42).repository(&mut store, "r", 10, now());
            store
        };
        assert_eq!(make(), make());
    }
}
