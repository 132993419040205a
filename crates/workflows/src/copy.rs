//! Copying images between registries, whoever hosts them: [`copy`] one
//! image (by tag or digest), [`mirror`] the tags of a repository. Both
//! read and write through [`regkit_oci`], with the credentials of each
//! side's provider ([`crate::graph::GraphSession`]).
//!
//! - **Faithful.** Manifests are copied byte for byte, so digests are kept.
//!   An index goes with every platform, and every manifest with its
//!   referrers (signatures, SBOMs, attestations) and the cosign-style tags
//!   (`sha256-<hex>.sig`, …) that belong to it, unless
//!   [`CopyOptions::referrers`] is off.
//! - **In order.** Blobs first, then each manifest once what it needs is
//!   there (children before their index), and a tag last: a tag at the
//!   destination never names an incomplete image. A source that serves
//!   bytes that do not match their digest fails the copy before anything
//!   is tagged.
//! - **Safe to repeat.** What the destination has is not sent again: a
//!   manifest it has (a `HEAD`) is complete, since a registry accepts a
//!   manifest only once its blobs and children are there; a blob it has is
//!   skipped. A second run copies nothing; an interrupted one resumes.
//! - **Cheap.** Blobs stream from the source into the destination, never
//!   held whole. Within one registry host they are mounted across
//!   repositories instead. Blob copies run [`CopyOptions::concurrency`] at
//!   a time; every request is paced by the servers' rate-limit headers.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use futures::{StreamExt as _, TryStreamExt as _};
use regkit_oci::{Client, Manifest};
use serde::Serialize;

use crate::graph::tag_subject;
use crate::{Error, Result};

/// One end of a copy: a registry host's client and a repository's name
/// there.
#[derive(Clone, Debug)]
pub struct Side {
    /// The client of the registry host (logged in to read at the source,
    /// to push at the destination).
    pub client: Client,
    /// The repository's name on that host.
    pub name: String,
}

impl Side {
    /// A side.
    pub fn new(client: Client, name: impl Into<String>) -> Side {
        Side {
            client,
            name: name.into(),
        }
    }
}

/// How to copy.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Copy each manifest's referrers and cosign-style tags (on by
    /// default).
    pub referrers: bool,
    /// Blob copies in flight at once (4 by default).
    pub concurrency: usize,
    /// Told of blob bytes as they reach the destination (a progress bar's
    /// feed); nothing by default.
    pub on_bytes: Option<OnBytes>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            referrers: true,
            concurrency: 4,
            on_bytes: None,
        }
    }
}

/// A callback given the length of each chunk of blob bytes streamed to
/// the destination (from every blob copy in flight, so it must be cheap
/// and thread-safe: a progress bar's `inc`, an atomic add).
#[derive(Clone)]
pub struct OnBytes(Arc<dyn Fn(u64) + Send + Sync>);

impl OnBytes {
    /// Calls `f` with each chunk's length.
    pub fn new(f: impl Fn(u64) + Send + Sync + 'static) -> Self {
        OnBytes(Arc::new(f))
    }
}

impl std::fmt::Debug for OnBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnBytes(..)")
    }
}

/// What a copy did. Holds no credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    /// Manifests written at the destination, in the order written.
    pub manifests_copied: Vec<String>,
    /// Manifests the destination had already.
    pub manifests_skipped: usize,
    /// Blobs streamed from the source.
    pub blobs_copied: usize,
    /// Blobs mounted from the source repository (one registry host).
    pub blobs_mounted: usize,
    /// Blobs the destination had already.
    pub blobs_skipped: usize,
    /// Bytes streamed.
    pub bytes_copied: u64,
    /// Tags written at the destination.
    pub tags_written: Vec<String>,
    /// Tags the destination had already, naming the same digest.
    pub tags_skipped: Vec<String>,
    /// Tags that could not be copied, and why ([`mirror`] goes on past
    /// them; [`copy`] fails instead).
    pub failed: Vec<(String, String)>,
}

impl CopyReport {
    /// Whether nothing failed.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// Whether the run changed nothing at the destination.
    pub fn copied_nothing(&self) -> bool {
        self.manifests_copied.is_empty()
            && self.blobs_copied == 0
            && self.blobs_mounted == 0
            && self.tags_written.is_empty()
    }
}

impl std::fmt::Display for CopyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} manifests copied ({} there already), {} blobs copied ({} bytes), {} mounted, {} there already; {} tags written, {} there already",
            self.manifests_copied.len(),
            self.manifests_skipped,
            self.blobs_copied,
            self.bytes_copied,
            self.blobs_mounted,
            self.blobs_skipped,
            self.tags_written.len(),
            self.tags_skipped.len()
        )?;
        if !self.failed.is_empty() {
            write!(f, "; {} failed", self.failed.len())?;
        }
        Ok(())
    }
}

fn oci(e: regkit_oci::Error) -> Error {
    Error::Unexpected(e.to_string())
}

/// Copies the image `reference` (a tag or a digest) of `src` to `dst`,
/// tagged `tag` there (the source's tag when `reference` is one and `tag`
/// is `None`), with everything it needs; returns its digest. Fails at the
/// first error, before the tag is written.
pub async fn copy(
    src: &Side,
    dst: &Side,
    reference: &str,
    tag: Option<&str>,
    options: &CopyOptions,
    report: &mut CopyReport,
) -> Result<String> {
    let source_tags = if options.referrers {
        src.client.tags(&src.name).await.map_err(oci)?
    } else {
        Vec::new()
    };
    let run = Run {
        src,
        dst,
        options,
        source_tags: &source_tags,
        done: Mutex::new(BTreeSet::new()),
        report: Mutex::new(std::mem::take(report)),
    };
    let result = run.image(reference, tag).await;
    *report = run.report.into_inner().unwrap_or_else(|p| p.into_inner());
    result
}

/// Copies every tag of `tags` from `src` to `dst` (each with its graph),
/// going on past a tag that fails (it is in [`CopyReport::failed`]).
pub async fn mirror(
    src: &Side,
    dst: &Side,
    tags: &[String],
    options: &CopyOptions,
) -> Result<CopyReport> {
    let source_tags = src.client.tags(&src.name).await.map_err(oci)?;
    let run = Run {
        src,
        dst,
        options,
        source_tags: &source_tags,
        done: Mutex::new(BTreeSet::new()),
        report: Mutex::new(CopyReport::default()),
    };
    for tag in tags {
        // Cosign-style tags travel with their subject.
        if options.referrers && tag_subject(tag).is_some() {
            continue;
        }
        if let Err(e) = run.image(tag, Some(tag)).await {
            run.lock().failed.push((tag.clone(), e.to_string()));
        }
    }
    Ok(run.report.into_inner().unwrap_or_else(|p| p.into_inner()))
}

struct Run<'a> {
    src: &'a Side,
    dst: &'a Side,
    options: &'a CopyOptions,
    source_tags: &'a [String],
    /// Manifests known complete at the destination in this run.
    done: Mutex<BTreeSet<String>>,
    report: Mutex<CopyReport>,
}

impl Run<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, CopyReport> {
        self.report.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The source's manifest `reference`.
    async fn source(&self, reference: &str) -> Result<Manifest> {
        self.src
            .client
            .manifest(&self.src.name, reference)
            .await
            .map_err(oci)
    }

    async fn image(&self, reference: &str, tag: Option<&str>) -> Result<String> {
        let top = self.source(reference).await?;
        self.manifest(&top).await?;
        let tag = tag.or((!reference.contains(':')).then_some(reference));
        if let Some(tag) = tag {
            self.tag(tag, &top).await?;
        }
        Ok(top.digest)
    }

    /// Writes `tag` → `m` at the destination, unless it names it already.
    async fn tag(&self, tag: &str, m: &Manifest) -> Result<()> {
        let now = self
            .dst
            .client
            .manifest_digest(&self.dst.name, tag)
            .await
            .map_err(oci)?;
        if now.as_deref() == Some(m.digest.as_str()) {
            self.lock().tags_skipped.push(tag.to_string());
            return Ok(());
        }
        self.dst
            .client
            .put_manifest(&self.dst.name, tag, &m.media_type, m.bytes.clone())
            .await
            .map_err(oci)?;
        self.lock().tags_written.push(tag.to_string());
        Ok(())
    }

    /// `m` and everything it needs, then (with referrers) what refers to
    /// it.
    fn manifest<'s>(
        &'s self,
        m: &'s Manifest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 's>> {
        Box::pin(async move {
            if !self
                .done
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(m.digest.clone())
            {
                return Ok(());
            }
            let there = self
                .dst
                .client
                .manifest_digest(&self.dst.name, &m.digest)
                .await
                .map_err(oci)?
                .is_some();
            if there {
                self.lock().manifests_skipped += 1;
            } else {
                for child in m.children() {
                    let child = self.source(child.digest().as_ref()).await?;
                    self.manifest(&child).await?;
                }
                let blobs: Vec<(String, u64)> = m
                    .blobs()
                    .iter()
                    .map(|b| (b.digest().to_string(), b.size()))
                    .collect();
                futures::stream::iter(blobs)
                    .map(|(digest, size)| async move { self.blob(&digest, size).await })
                    .buffer_unordered(self.options.concurrency.max(1))
                    .try_collect::<Vec<()>>()
                    .await?;
                self.dst
                    .client
                    .put_manifest(&self.dst.name, &m.digest, &m.media_type, m.bytes.clone())
                    .await
                    .map_err(oci)?;
                self.lock().manifests_copied.push(m.digest.clone());
            }
            if self.options.referrers {
                self.referrers(m).await?;
            }
            Ok(())
        })
    }

    async fn referrers(&self, m: &Manifest) -> Result<()> {
        let found = self
            .src
            .client
            .referrers(&self.src.name, &m.digest)
            .await
            .map_err(oci)?;
        for d in &found.descriptors {
            let r = self.source(d.digest().as_ref()).await?;
            self.manifest(&r).await?;
        }
        // Cosign-style tags of this manifest, with their content.
        for tag in self.source_tags {
            if tag_subject(tag).as_deref() == Some(m.digest.as_str()) {
                let owned = self.source(tag).await?;
                self.manifest(&owned).await?;
                self.tag(tag, &owned).await?;
            }
        }
        Ok(())
    }

    /// One blob: skipped when there, mounted within one host, else
    /// streamed.
    async fn blob(&self, digest: &str, size: u64) -> Result<()> {
        let dst = &self.dst;
        if dst
            .client
            .blob_size(&dst.name, digest)
            .await
            .map_err(oci)?
            .is_some()
        {
            self.lock().blobs_skipped += 1;
            return Ok(());
        }
        if self.src.client.base() == dst.client.base()
            && dst
                .client
                .mount(&dst.name, &self.src.name, digest)
                .await
                .map_err(oci)?
        {
            self.lock().blobs_mounted += 1;
            return Ok(());
        }
        let blob = self
            .src
            .client
            .blob(&self.src.name, digest)
            .await
            .map_err(oci)?;
        // The source's own failure (a digest mismatch) is the one to
        // report, not the upload it aborted.
        let seen: Arc<Mutex<Option<regkit_oci::Error>>> = Arc::default();
        let keep = seen.clone();
        let on_bytes = self.options.on_bytes.clone();
        let stream = blob.stream.map(move |item| {
            item.inspect(|chunk| {
                if let Some(f) = &on_bytes {
                    (f.0)(chunk.len() as u64);
                }
            })
            .inspect_err(|e| {
                *keep.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(regkit_oci::Error::Invalid(e.to_string()));
            })
        });
        let pushed = dst
            .client
            .push_blob_stream(&dst.name, digest, Some(size), Box::pin(stream))
            .await;
        if let Some(e) = seen.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(Error::Unexpected(format!(
                "blob {digest} from the source: {e}"
            )));
        }
        pushed.map_err(oci)?;
        let mut r = self.lock();
        r.blobs_copied += 1;
        r.bytes_copied += size;
        Ok(())
    }
}
