//! The data plane's endpoints over the one store: pulls, pushes, uploads,
//! tag listings, referrers and deletes, as the OCI Distribution
//! Specification v1.1 describes them. Each handler takes the world's lock
//! only between awaits; blob bytes stream through [`BlobStorage`] outside
//! it.
//!
//! [`BlobStorage`]: crate::registry::blobs::BlobStorage

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;

use super::paths::Target;
use super::store::{self, may_create, store_mut};
use crate::content::{Blob, Manifest};
use crate::registry::blobs::BlobRead;
use crate::registry::digest::Digest;
use crate::registry::errors::{OciCode, OciError};
use crate::registry::manifests::{self, MAX_MANIFEST_BYTES, OCI_INDEX};
use crate::registry::uploads::ChunkRange;
use crate::shared::Shared;

/// A handler's answer: a response, or the spec's error.
pub(crate) type Reply = Result<Response, OciError>;

/// Bytes read from a blob file at a time when streaming it out (the
/// default 4 KiB made a pull half as fast as distribution's).
const STREAM_CHUNK: usize = 256 * 1024;

/// Referrers listed per page before a `Link` to the next.
pub(crate) const REFERRERS_PAGE: usize = 100;

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn parse_digest(text: &str) -> Result<Digest, OciError> {
    text.parse::<Digest>()
        .map_err(|e| OciError::new(OciCode::DigestInvalid, format!("{text:?}: {e}")))
}

/// A tag as the spec allows it: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn manifest_unknown(what: &str) -> OciError {
    OciError::new(
        OciCode::ManifestUnknown,
        format!("manifest {what} is unknown"),
    )
}

fn blob_unknown(digest: &str) -> OciError {
    OciError::new(
        OciCode::BlobUnknown,
        format!("blob {digest} is unknown to this repository"),
    )
}

/// `GET`/`HEAD /v2/<name>/manifests/<reference>`.
pub(crate) fn get_manifest(
    shared: &Shared,
    t: &Target,
    reference: &str,
    headers: &HeaderMap,
    head: bool,
) -> Reply {
    let world = shared.world();
    let store = store::store(&world, t)?;
    let repo = store
        .repositories
        .get(&t.repository)
        .ok_or_else(|| OciError::new(OciCode::NameUnknown, format!("no repository {}", t.name)))?;
    let digest = if reference.contains(':') {
        parse_digest(reference)?.to_string()
    } else {
        repo.tags
            .get(reference)
            .cloned()
            .ok_or_else(|| manifest_unknown(reference))?
    };
    let m = repo
        .manifests
        .get(&digest)
        .ok_or_else(|| manifest_unknown(&digest))?;
    let Some(raw) = &m.raw else {
        return Err(OciError::new(
            OciCode::ManifestUnknown,
            format!(
                "manifest {digest} was seeded without content: only pushed manifests can be pulled"
            ),
        ));
    };
    if !accepts(headers, &m.media_type) {
        return Err(OciError::new(
            OciCode::ManifestUnknown,
            format!(
                "manifest {digest} is a {}, which the Accept header does not list",
                m.media_type
            ),
        ));
    }
    let mut r = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(raw.clone()))
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, value(&m.media_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(raw.len()));
    h.insert("docker-content-digest", value(&digest));
    h.insert(header::ETAG, value(&format!("\"{digest}\"")));
    Ok(r)
}

/// Whether the request's `Accept` allows `media_type` (no `Accept`, or
/// one with `*/*`, allows anything).
fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    let listed: Vec<String> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty())
        .collect();
    listed.is_empty()
        || listed
            .iter()
            .any(|t| t == "*/*" || t == "application/*" || t == media_type)
}

/// `PUT /v2/<name>/manifests/<reference>`: the exact bytes are kept, with
/// what they reference; every blob (and an index's every child) must be in
/// the repository already.
pub(crate) async fn put_manifest(
    shared: &Shared,
    t: &Target,
    reference: &str,
    headers: &HeaderMap,
    body: Body,
) -> Reply {
    let bytes = match axum::body::to_bytes(body, MAX_MANIFEST_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => {
            return Err(OciError::new(
                OciCode::ManifestInvalid,
                format!("the manifest is larger than {MAX_MANIFEST_BYTES} bytes"),
            )
            .with_status(413));
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = manifests::parse(&bytes, content_type)?;
    let (tag, digest) = if reference.contains(':') {
        let wanted = parse_digest(reference)?;
        if !wanted.matches(&bytes) {
            return Err(OciError::new(
                OciCode::DigestInvalid,
                format!("the manifest's bytes do not have digest {wanted}"),
            ));
        }
        (None, wanted)
    } else if valid_tag(reference) {
        (Some(reference), Digest::sha256(&bytes))
    } else {
        return Err(OciError::new(
            OciCode::ManifestInvalid,
            format!("invalid tag {reference:?}"),
        ));
    };
    let raw = String::from_utf8(bytes.to_vec())
        .map_err(|_| OciError::new(OciCode::ManifestInvalid, "the manifest is not UTF-8"))?;
    let now = shared.now();
    let sha512 = {
        let mut d = format!("sha512:{}", "0".repeat(128))
            .parse::<Digest>()
            .expect("a well-formed sha512 digest")
            .digester();
        d.update(&bytes);
        d.finish().to_string()
    };
    let mut ids = shared.ids();
    let mut world = shared.world();
    may_create(&world, t)?;
    let store = store_mut(&mut world, t)?;
    let repo = store.repositories.get(&t.repository);
    let mut blobs = Vec::new();
    for d in &parsed.blobs {
        let held = repo.is_some_and(|r| r.holds_blob(d.as_str()));
        match store.blobs.get(d.as_str()) {
            Some(size) if held => blobs.push(Blob {
                digest: d.to_string(),
                compressed_size_bytes: *size,
            }),
            _ => {
                return Err(OciError::new(
                    OciCode::ManifestBlobUnknown,
                    format!("blob {d} is not in {}", t.name),
                )
                .with_detail(json!({"digest": d.to_string()})));
            }
        }
    }
    for child in &parsed.manifests {
        if !repo.is_some_and(|r| r.manifests.contains_key(child.as_str())) {
            return Err(OciError::new(
                OciCode::ManifestBlobUnknown,
                format!("manifest {child} is not in {}", t.name),
            )
            .with_detail(json!({"digest": child.to_string()})));
        }
    }
    let size: u64 = blobs.iter().map(|b| b.compressed_size_bytes).sum();
    let manifest = Manifest {
        digest: digest.to_string(),
        media_type: parsed.media_type.clone(),
        size_bytes: size,
        updated_at: now,
        blobs,
        raw: Some(raw),
        children: parsed.manifests.iter().map(ToString::to_string).collect(),
        subject: parsed.subject.as_ref().map(ToString::to_string),
        artifact_type: parsed.artifact_type.clone(),
    };
    store.push(&t.repository, tag, manifest);
    if let Some(tag) = tag {
        let hex = digest
            .as_str()
            .split_once(':')
            .map_or("", |(_, h)| h)
            .to_string();
        let sha512_hex = sha512.trim_start_matches("sha512:").to_string();
        store::tagged(&mut world, &mut ids, t, tag, (&hex, &sha512_hex), size, now);
    }
    drop(world);
    drop(ids);
    shared.touch();
    let mut r = StatusCode::CREATED.into_response();
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        value(&format!("/v2/{}/manifests/{digest}", t.name)),
    );
    h.insert("docker-content-digest", value(digest.as_str()));
    if let (Some(subject), true) = (&parsed.subject, shared.data().referrers) {
        h.insert("oci-subject", value(subject.as_str()));
    }
    Ok(r)
}

/// `DELETE /v2/<name>/manifests/<reference>`: by digest, the manifest and
/// every tag on it; by tag, the tag alone where the provider deletes tags
/// (else 405 `UNSUPPORTED`).
pub(crate) fn delete_manifest(shared: &Shared, t: &Target, reference: &str) -> Reply {
    let mut world = shared.world();
    if !reference.contains(':') {
        if !store::deletes_tags(t.provider) {
            return Err(OciError::new(
                OciCode::Unsupported,
                format!(
                    "{} does not delete tags through the registry; delete {reference} through the API",
                    t.provider
                ),
            ));
        }
        let repo = store_mut(&mut world, t)?
            .repositories
            .get_mut(&t.repository)
            .ok_or_else(|| manifest_unknown(reference))?;
        repo.tags
            .remove(reference)
            .ok_or_else(|| manifest_unknown(reference))?;
        store::untagged(&mut world, t, reference);
    } else {
        let digest = parse_digest(reference)?;
        let repo = store_mut(&mut world, t)?
            .repositories
            .get_mut(&t.repository)
            .ok_or_else(|| manifest_unknown(reference))?;
        repo.manifests
            .remove(digest.as_str())
            .ok_or_else(|| manifest_unknown(reference))?;
        let tags = repo.tags_of(digest.as_str());
        repo.tags.retain(|_, d| d != digest.as_str());
        for tag in tags {
            store::untagged(&mut world, t, &tag);
        }
    }
    drop(world);
    shared.touch();
    Ok(StatusCode::ACCEPTED.into_response())
}

/// The range a `Range: bytes=<start>-[<end>]` asks of a blob of `size`
/// bytes: `Ok(None)` for the whole blob, `Err` when it cannot be met.
fn byte_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, OciError> {
    let Some(text) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let unsatisfiable = || {
        OciError::new(
            OciCode::BlobUnknown,
            format!("range {text:?} does not fit a blob of {size} bytes"),
        )
        .with_status(416)
    };
    let spec = text
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(unsatisfiable)?;
    let (start, end) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| unsatisfiable())?;
            if n == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            (size.saturating_sub(n), size - 1)
        }
        (s, "") => (
            s.parse().map_err(|_| unsatisfiable())?,
            size.saturating_sub(1),
        ),
        (s, e) => (
            s.parse().map_err(|_| unsatisfiable())?,
            e.parse::<u64>()
                .map_err(|_| unsatisfiable())?
                .min(size.saturating_sub(1)),
        ),
    };
    if start > end || start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end)))
}

/// `GET`/`HEAD /v2/<name>/blobs/<digest>`, whole or a range (206).
pub(crate) async fn get_blob(
    shared: &Shared,
    t: &Target,
    digest: &str,
    headers: &HeaderMap,
    head: bool,
) -> Reply {
    let digest = parse_digest(digest)?;
    let size = {
        let world = shared.world();
        let store = store::store(&world, t)?;
        let held = store
            .repositories
            .get(&t.repository)
            .is_some_and(|r| r.holds_blob(digest.as_str()));
        match store.blobs.get(digest.as_str()) {
            Some(size) if held => *size,
            _ => return Err(blob_unknown(digest.as_str())),
        }
    };
    if shared.data().blobs.size(digest.as_str()).is_none() {
        return Err(OciError::new(
            OciCode::BlobUnknown,
            format!("blob {digest} was seeded without content: only pushed blobs can be pulled"),
        ));
    }
    let range = byte_range(headers, size)?;
    let (status, length) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, end - start + 1),
        None => (StatusCode::OK, size),
    };
    let body = if head {
        Body::empty()
    } else {
        match shared.data().blobs.read(digest.as_str(), range).await {
            Ok(Some(BlobRead::Bytes(b))) => Body::from(b),
            Ok(Some(BlobRead::File(f, len))) => Body::from_stream(
                tokio_util::io::ReaderStream::with_capacity(f.take(len), STREAM_CHUNK),
            ),
            Ok(None) => return Err(blob_unknown(digest.as_str())),
            Err(e) => {
                return Err(OciError::new(
                    OciCode::BlobUnknown,
                    format!("cannot read blob {digest}: {e}"),
                )
                .with_status(500));
            }
        }
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert("docker-content-digest", value(digest.as_str()));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, value(&format!("\"{digest}\"")));
    if let Some((start, end)) = range {
        h.insert(
            header::CONTENT_RANGE,
            value(&format!("bytes {start}-{end}/{size}")),
        );
    }
    Ok(r)
}

/// `DELETE /v2/<name>/blobs/<digest>`: the repository's link goes; the
/// bytes stay (and count as storage) until garbage collection.
pub(crate) fn delete_blob(shared: &Shared, t: &Target, digest: &str) -> Reply {
    let digest = parse_digest(digest)?;
    let mut world = shared.world();
    let repo = store_mut(&mut world, t)?
        .repositories
        .get_mut(&t.repository)
        .ok_or_else(|| blob_unknown(digest.as_str()))?;
    if !repo.blobs.remove(digest.as_str()) {
        return Err(blob_unknown(digest.as_str()));
    }
    drop(world);
    shared.touch();
    Ok(StatusCode::ACCEPTED.into_response())
}

fn upload_location(t: &Target, id: &uuid::Uuid) -> String {
    format!("/v2/{}/blobs/uploads/{id}", t.name)
}

fn upload_answer(status: StatusCode, t: &Target, id: &uuid::Uuid, received: u64) -> Response {
    let mut r = status.into_response();
    let h = r.headers_mut();
    h.insert(header::LOCATION, value(&upload_location(t, id)));
    h.insert(header::RANGE, value(&format!("0-{}", received.max(1) - 1)));
    h.insert("docker-upload-uuid", value(&id.to_string()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    r
}

fn blob_created(t: &Target, digest: &Digest) -> Response {
    let mut r = StatusCode::CREATED.into_response();
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        value(&format!("/v2/{}/blobs/{digest}", t.name)),
    );
    h.insert("docker-content-digest", value(digest.as_str()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    r
}

fn query_value(query: &str, name: &str) -> Option<String> {
    super::paths::query_values(query, name).into_iter().next()
}

fn storage_error(e: std::io::Error) -> OciError {
    OciError::new(OciCode::BlobUploadInvalid, format!("storage failed: {e}")).with_status(500)
}

/// `POST /v2/<name>/blobs/uploads/`: a mount (`mount` and `from`: 201, or
/// an upload session when the source does not hold the blob), a
/// monolithic upload (`digest`: 201), or a new session (202).
pub(crate) async fn start_upload(
    shared: &Shared,
    t: &Target,
    query: &str,
    headers: &HeaderMap,
    body: Body,
    may_read: impl Fn(&Target) -> bool,
) -> Reply {
    if let (Some(mount), Some(from)) = (query_value(query, "mount"), query_value(query, "from")) {
        let digest = parse_digest(&mount)?;
        let ionos = (t.provider == crate::provider::Provider::Ionos).then_some(t.registry.as_str());
        let source = Target::of(t.provider, ionos, &from).ok();
        if let Some(source) = source.filter(|s| s.registry == t.registry && may_read(s)) {
            let mut world = shared.world();
            may_create(&world, t)?;
            let store = store_mut(&mut world, t)?;
            let held = store
                .repositories
                .get(&source.repository)
                .is_some_and(|r| r.holds_blob(digest.as_str()))
                && store.blobs.contains_key(digest.as_str());
            if held {
                store
                    .repositories
                    .entry(t.repository.clone())
                    .or_default()
                    .blobs
                    .insert(digest.to_string());
                drop(world);
                shared.touch();
                return Ok(blob_created(t, &digest));
            }
        }
    } else if let Some(digest) = query_value(query, "digest") {
        let digest = parse_digest(&digest)?;
        {
            let world = shared.world();
            may_create(&world, t)?;
            store::store(&world, t)?;
        }
        let sink = shared.data().blobs.sink().await.map_err(storage_error)?;
        let id = shared.data().uploads.start(&t.name, sink);
        let session = shared.data().uploads.get(&t.name, &id)?;
        let mut s = session.lock().await;
        let result = async {
            stream_into(&mut s, None, headers, body).await?;
            finish(shared, t, &mut s, &digest).await
        }
        .await;
        s.cancel();
        drop(s);
        shared.data().uploads.forget(&id);
        result?;
        return Ok(blob_created(t, &digest));
    }
    {
        let world = shared.world();
        may_create(&world, t)?;
        store::store(&world, t)?;
    }
    let sink = shared.data().blobs.sink().await.map_err(storage_error)?;
    let id = shared.data().uploads.start(&t.name, sink);
    Ok(upload_answer(StatusCode::ACCEPTED, t, &id, 0))
}

fn parse_id(id: &str) -> Result<uuid::Uuid, OciError> {
    id.parse::<uuid::Uuid>()
        .map_err(|_| OciError::new(OciCode::BlobUploadUnknown, format!("no upload {id:?}")))
}

fn chunk_range(headers: &HeaderMap) -> Result<Option<ChunkRange>, OciError> {
    match headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
    {
        None => Ok(None),
        Some(text) => ChunkRange::parse(text).map(Some).ok_or_else(|| {
            OciError::new(
                OciCode::BlobUploadInvalid,
                format!("Content-Range {text:?} is not <start>-<end>"),
            )
            .with_status(416)
        }),
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Streams a request body into the session: checked first against its
/// `Content-Range`, and taken back whole when it fails half way (a client
/// that dropped the connection leaves the upload where it was).
async fn stream_into(
    s: &mut crate::registry::uploads::Session,
    range: Option<ChunkRange>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), OciError> {
    s.check(range, content_length(headers))?;
    let start = s.received();
    let mut frames = body.into_data_stream();
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(bytes) => s.write(&bytes).await?,
            Err(e) => {
                s.rewind(start).await?;
                return Err(OciError::new(
                    OciCode::BlobUploadInvalid,
                    format!("the chunk was cut off: {e}"),
                ));
            }
        }
    }
    s.end_chunk(start, range).await
}

/// Closes a session whose bytes have all arrived: the digest is checked,
/// the bytes kept and the blob linked into the repository.
async fn finish(
    shared: &Shared,
    t: &Target,
    s: &mut crate::registry::uploads::Session,
    digest: &Digest,
) -> Result<(), OciError> {
    let size = s.received();
    let mut sink = s.finish(digest).await?;
    sink.seal().await.map_err(storage_error)?;
    // The bytes and their record land together, under the world's lock: a
    // collection's sweep in between would forget bytes the store lists.
    let mut world = shared.world();
    let store = store_mut(&mut world, t)?;
    shared
        .data()
        .blobs
        .commit(sink, digest)
        .map_err(storage_error)?;
    store.blobs.insert(digest.to_string(), size);
    store
        .repositories
        .entry(t.repository.clone())
        .or_default()
        .blobs
        .insert(digest.to_string());
    drop(world);
    shared.touch();
    Ok(())
}

/// `PATCH`, `PUT`, `GET` and `DELETE /v2/<name>/blobs/uploads/<id>`.
pub(crate) async fn upload(
    shared: &Shared,
    t: &Target,
    id: &str,
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    body: Body,
) -> Reply {
    let id = parse_id(id)?;
    let session = shared.data().uploads.get(&t.name, &id)?;
    let mut s = session.lock().await;
    if !s.is_open(&t.name) {
        return Err(OciError::new(
            OciCode::BlobUploadUnknown,
            format!("no upload {id}"),
        ));
    }
    match *method {
        Method::PATCH => {
            stream_into(&mut s, chunk_range(headers)?, headers, body).await?;
            Ok(upload_answer(StatusCode::ACCEPTED, t, &id, s.received()))
        }
        Method::PUT => {
            let digest = query_value(query, "digest").ok_or_else(|| {
                OciError::new(
                    OciCode::DigestInvalid,
                    "a PUT that closes an upload needs ?digest=",
                )
            })?;
            let digest = parse_digest(&digest)?;
            stream_into(&mut s, chunk_range(headers)?, headers, body).await?;
            finish(shared, t, &mut s, &digest).await?;
            drop(s);
            shared.data().uploads.forget(&id);
            Ok(blob_created(t, &digest))
        }
        Method::DELETE => {
            s.cancel();
            drop(s);
            shared.data().uploads.forget(&id);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Ok(upload_answer(StatusCode::NO_CONTENT, t, &id, s.received())),
    }
}

/// `GET /v2/<name>/tags/list[?n=<n>&last=<tag>]`: tags in lexical order,
/// `n` at a time after `last`, with a `Link` to the next page while more
/// remain.
pub(crate) fn list_tags(shared: &Shared, t: &Target, query: &str) -> Reply {
    let n = match query_value(query, "n") {
        None => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            OciError::new(OciCode::Unsupported, format!("n={v:?} is not a number")).with_status(400)
        })?),
    };
    let last = query_value(query, "last");
    let world = shared.world();
    let store = store::store(&world, t)?;
    let repo = store
        .repositories
        .get(&t.repository)
        .filter(|r| !r.manifests.is_empty() || !r.blobs.is_empty())
        .ok_or_else(|| OciError::new(OciCode::NameUnknown, format!("no repository {}", t.name)))?;
    let after = repo
        .tags
        .keys()
        .filter(|tag| last.as_deref().is_none_or(|l| tag.as_str() > l));
    let page: Vec<&String> = match n {
        Some(n) => after.take(n).collect(),
        None => after.collect(),
    };
    let more = match (n, page.last()) {
        (Some(n), Some(end)) if n > 0 => repo.tags.keys().any(|tag| tag > *end),
        _ => false,
    };
    let body = json!({"name": t.name, "tags": page});
    let mut r = axum::Json(body).into_response();
    if let (true, Some(end), Some(n)) = (more, page.last(), n) {
        let link = format!(
            "</v2/{}/tags/list?n={n}&last={}>; rel=\"next\"",
            t.name,
            percent_encoding::utf8_percent_encode(end, percent_encoding::NON_ALPHANUMERIC)
        );
        r.headers_mut().insert(header::LINK, value(&link));
    }
    Ok(r)
}

/// `GET /v2/<name>/referrers/<digest>[?artifactType=<type>]`: the
/// manifests whose subject is the digest, as an OCI index, a page of
/// [`REFERRERS_PAGE`] at a time. An unknown subject has none (200, empty).
pub(crate) fn list_referrers(shared: &Shared, t: &Target, digest: &str, query: &str) -> Reply {
    let digest = parse_digest(digest)?;
    let filter = query_value(query, "artifactType");
    let after = query_value(query, "last");
    let world = shared.world();
    let store = store::store(&world, t)?;
    let mut all: Vec<Value> = store
        .repositories
        .get(&t.repository)
        .map(|repo| {
            repo.referrers(digest.as_str())
                .filter(|m| filter.is_none() || m.artifact_type == filter)
                .map(descriptor)
                .collect()
        })
        .unwrap_or_default();
    all.retain(|d| {
        after
            .as_deref()
            .is_none_or(|a| d["digest"].as_str().unwrap_or_default() > a)
    });
    let more = all.len() > REFERRERS_PAGE;
    all.truncate(REFERRERS_PAGE);
    let next = more
        .then(|| {
            all.last()
                .and_then(|d| d["digest"].as_str())
                .map(str::to_string)
        })
        .flatten();
    let body = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": all});
    let mut r = Response::new(Body::from(body.to_string()));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(OCI_INDEX));
    if filter.is_some() {
        h.insert(
            "oci-filters-applied",
            HeaderValue::from_static("artifactType"),
        );
    }
    if let Some(next) = next {
        let mut link = format!("</v2/{}/referrers/{digest}?last={next}", t.name);
        if let Some(f) = &filter {
            link.push_str(&format!(
                "&artifactType={}",
                percent_encoding::utf8_percent_encode(f, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        link.push_str(">; rel=\"next\"");
        h.insert(header::LINK, value(&link));
    }
    Ok(r)
}

/// A referrer as the referrers API lists it.
fn descriptor(m: &Manifest) -> Value {
    let raw = m.raw.as_deref().unwrap_or_default();
    let mut d = json!({
        "mediaType": m.media_type,
        "digest": m.digest,
        "size": raw.len(),
    });
    if let Some(a) = &m.artifact_type {
        d["artifactType"] = json!(a);
    }
    if let Some(annotations) = serde_json::from_str::<Value>(raw)
        .ok()
        .and_then(|v| v.get("annotations").cloned())
        .filter(|a| a.is_object())
    {
        d["annotations"] = annotations;
    }
    d
}
