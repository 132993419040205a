//! [`Client`]: one registry host, logged in as one user. Every request
//! goes through [`Client::send`]: the login this client holds for the
//! request's scope, a 401's challenge answered once, redirects followed by
//! hand (a hop to another origin, object storage say, never carries the
//! credential), retries and waits by regkit-core's rules
//! ([`regkit_core::classify`], [`RetryPolicy`]), and a pause while the
//! server says its rate limit is spent (`ratelimit-remaining: 0` until
//! `ratelimit-reset`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use regkit_core::{Outcome, RateLimitReset, RetryAction, RetryPolicy, classify, wire};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, LOCATION, RANGE,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::sync::Mutex;

use crate::auth::{Access, Challenge, Login, Token};
use crate::digest::Hasher;
use crate::manifest::{ACCEPTED, DEFAULT_MAX_MANIFEST_BYTES, Manifest};
use crate::{Error, Result};

/// The blob read's operation name.
const BLOB_GET: &str = "blob_get";

/// Builds a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    host: String,
    login: Option<Login>,
    policy: RetryPolicy,
    timeout: Duration,
    connect_timeout: Duration,
    max_manifest_bytes: usize,
    rate_limit_reset: Option<RateLimitReset>,
}

impl ClientBuilder {
    /// The login (`None`: anonymous).
    pub fn login(mut self, login: Option<Login>) -> Self {
        self.login = login;
        self
    }

    /// The retry policy (regkit-core's default: 4 attempts, 60 s budget).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Timeout of one request (30 s by default; a blob's body is read
    /// under it too).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Timeout of a connection (10 s by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest manifest read (4 MiB by default).
    pub fn max_manifest_bytes(mut self, limit: usize) -> Self {
        self.max_manifest_bytes = limit;
        self
    }

    /// The header that says when a spent rate limit resets, as the
    /// provider's manifest names it (`ProviderInfo::rate_limit_reset`);
    /// without it, only `Retry-After` is read.
    pub fn rate_limit_reset(mut self, reset: Option<RateLimitReset>) -> Self {
        self.rate_limit_reset = reset;
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client> {
        let with_scheme = if self.host.starts_with("http://") || self.host.starts_with("https://") {
            self.host.clone()
        } else {
            // Loopback is plain HTTP, as container clients treat it;
            // everything else is HTTPS.
            let probe = Url::parse(&format!("http://{}/", self.host))
                .map_err(|e| Error::Invalid(format!("registry host {:?}: {e}", self.host)))?;
            let scheme = if wire::is_loopback(&probe) {
                "http"
            } else {
                "https"
            };
            format!("{scheme}://{}", self.host)
        };
        let base = Url::parse(&with_scheme)
            .map_err(|e| Error::Invalid(format!("registry host {:?}: {e}", self.host)))?;
        if self.login.is_some() && base.scheme() != "https" && !wire::is_loopback(&base) {
            return Err(Error::Invalid(format!(
                "refusing to send a login over plain HTTP to {}",
                self.host
            )));
        }
        wire::prepare_tls();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("regkit-oci/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Invalid(format!("an HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                login: self.login,
                tokens: Mutex::new(HashMap::new()),
                basic: AtomicBool::new(false),
                policy: self.policy,
                max_manifest_bytes: self.max_manifest_bytes,
                reset: self.rate_limit_reset,
                paused_until: std::sync::Mutex::new(None),
            }),
        })
    }
}

/// A data-plane client of one registry host. Cheap to clone (shared).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    login: Option<Login>,
    /// Bearer tokens by scope.
    tokens: Mutex<HashMap<String, Token>>,
    /// The registry asked for Basic: send the login up front.
    basic: AtomicBool,
    policy: RetryPolicy,
    max_manifest_bytes: usize,
    reset: Option<RateLimitReset>,
    /// No request leaves before this (the server's rate limit is spent).
    paused_until: std::sync::Mutex<Option<Instant>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("login", &self.inner.login)
            .finish_non_exhaustive()
    }
}

/// Characters escaped in a path segment (a tag or digest never needs it;
/// a hostile reference must not change the path).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b':')
    .remove(b'~');

/// Which referrers were found, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferrersVia {
    /// The referrers API.
    Api,
    /// The `sha256-<hex>` tag schema (the registry has no referrers API).
    TagSchema,
}

/// A subject's referrers.
#[derive(Debug, Clone)]
pub struct Referrers {
    /// How they were found.
    pub via: ReferrersVia,
    /// Their descriptors (digest, media type, artifact type, size).
    pub descriptors: Vec<oci_spec::image::Descriptor>,
}

/// A blob being read: its size when the registry says, and its bytes,
/// whose last item is an [`Error::DigestMismatch`] when they do not hash
/// to the digest asked for.
pub struct Blob {
    /// `Content-Length`, when sent.
    pub size: Option<u64>,
    /// The bytes.
    pub stream: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The `sha256-<hex>` tag the referrers tag schema keeps a subject's
/// referrers under (`None` for a string that is not `algorithm:hex`).
pub fn referrers_tag(digest: &str) -> Option<String> {
    let (algorithm, hex) = digest.split_once(':')?;
    (!algorithm.is_empty() && !hex.is_empty()).then(|| format!("{algorithm}-{hex}"))
}

impl Client {
    /// A builder for the registry at `host` (`registry.example.com`,
    /// `127.0.0.1:5000`, or a URL with its scheme).
    pub fn builder(host: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            host: host.into(),
            login: None,
            policy: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_manifest_bytes: DEFAULT_MAX_MANIFEST_BYTES,
            rate_limit_reset: None,
        }
    }

    /// The registry's base URL.
    pub fn base(&self) -> &Url {
        &self.inner.base
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.inner
            .base
            .join(path)
            .map_err(|e| Error::Invalid(format!("{path}: {e}")))
    }

    fn repo_url(&self, name: &str, rest: &str) -> Result<Url> {
        if name.is_empty()
            || name
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(Error::Invalid(format!("{name:?} is not a repository name")));
        }
        self.url(&format!("/v2/{name}/{rest}"))
    }

    /// Reads manifest `reference` (a tag or a digest) of repository
    /// `name`, at most the client's bound in bytes, checked against its
    /// digest (the reference's, else the registry's `Docker-Content-Digest`).
    pub async fn manifest(&self, name: &str, reference: &str) -> Result<Manifest> {
        const OP: &str = "manifest_get";
        let url = self.repo_url(name, &format!("manifests/{}", segment(reference)))?;
        let accept = ACCEPTED.join(", ");
        let response = self
            .send(OP, &[Access::Pull.scope(name)], Method::GET, url, |r| {
                r.header(ACCEPT, accept.as_str())
            })
            .await?;
        let response = self.ok(OP, response).await?;
        let content_type = header(response.headers(), CONTENT_TYPE.as_str());
        let served = header(response.headers(), "docker-content-digest");
        let bytes = read_bounded(OP, response, self.inner.max_manifest_bytes).await?;
        let digest = if reference.contains(':') {
            reference.to_string()
        } else {
            served.unwrap_or_else(|| crate::digest::sha256(&bytes))
        };
        crate::digest::verify(&digest, &bytes)?;
        Manifest::parse(digest, content_type.as_deref(), bytes)
    }

    /// The digest manifest `reference` of `name` has now (a `HEAD`), or
    /// `None` when there is none.
    pub async fn manifest_digest(&self, name: &str, reference: &str) -> Result<Option<String>> {
        const OP: &str = "manifest_head";
        let url = self.repo_url(name, &format!("manifests/{}", segment(reference)))?;
        let accept = ACCEPTED.join(", ");
        let response = self
            .send(OP, &[Access::Pull.scope(name)], Method::HEAD, url, |r| {
                r.header(ACCEPT, accept.as_str())
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self.ok(OP, response).await?;
        match header(response.headers(), "docker-content-digest") {
            Some(d) => Ok(Some(d)),
            // Without the header the digest needs the bytes.
            None => self.manifest(name, reference).await.map(|m| Some(m.digest)),
        }
    }

    /// Every tag of `name`, in the registry's order, following `Link`
    /// pages.
    pub async fn tags(&self, name: &str) -> Result<Vec<String>> {
        const OP: &str = "tags_list";
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = self.repo_url(name, "tags/list?n=1000")?;
        let mut tags = Vec::new();
        for _ in 0..100_000 {
            let response = self
                .send(
                    OP,
                    &[Access::Pull.scope(name)],
                    Method::GET,
                    url.clone(),
                    |r| r,
                )
                .await?;
            let response = self.ok(OP, response).await?;
            let next = next_link(&url, response.headers());
            let bytes = read_bounded(OP, response, self.inner.max_manifest_bytes).await?;
            let page: Page = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Invalid(format!("{OP}: the tag list does not parse: {e}")))?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) if n != url => url = n,
                _ => return Ok(tags),
            }
        }
        Err(Error::Invalid(format!("{OP}: more than 100 000 pages")))
    }

    /// The referrers of `digest` in `name`: from the referrers API, or
    /// where the registry has none (it answers 404) from the
    /// `sha256-<hex>` tag schema.
    pub async fn referrers(&self, name: &str, digest: &str) -> Result<Referrers> {
        const OP: &str = "referrers_get";
        let mut url = self.repo_url(name, &format!("referrers/{}", segment(digest)))?;
        let mut descriptors = Vec::new();
        for page in 0..10_000 {
            let response = self
                .send(
                    OP,
                    &[Access::Pull.scope(name)],
                    Method::GET,
                    url.clone(),
                    |r| r.header(ACCEPT, crate::manifest::OCI_INDEX),
                )
                .await?;
            if page == 0 && response.status() == StatusCode::NOT_FOUND {
                return self.referrers_by_tag(name, digest).await;
            }
            let response = self.ok(OP, response).await?;
            let next = next_link(&url, response.headers());
            let bytes = read_bounded(OP, response, self.inner.max_manifest_bytes).await?;
            let index: oci_spec::image::ImageIndex =
                serde_json::from_slice(&bytes).map_err(|e| {
                    Error::Invalid(format!("{OP}: the referrers index does not parse: {e}"))
                })?;
            descriptors.extend(index.manifests().iter().cloned());
            match next {
                Some(n) if n != url => url = n,
                _ => break,
            }
        }
        Ok(Referrers {
            via: ReferrersVia::Api,
            descriptors,
        })
    }

    async fn referrers_by_tag(&self, name: &str, digest: &str) -> Result<Referrers> {
        let tag = referrers_tag(digest)
            .ok_or_else(|| Error::Invalid(format!("{digest:?} is not a digest")))?;
        let descriptors = match self.manifest(name, &tag).await {
            Ok(m) => m.children().to_vec(),
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Referrers {
            via: ReferrersVia::TagSchema,
            descriptors,
        })
    }

    /// Reads blob `digest` of `name` as a stream checked against the
    /// digest. A connection that breaks partway is picked up where it
    /// broke (`Range: bytes=<received>-`, up to the retry policy's attempts,
    /// with its backoff between): a registry that answers the range (206)
    /// sends only the rest; one that ignores it (200) sends the whole blob
    /// again and the bytes already given are dropped. Either way the
    /// stream's bytes are the blob's once, and hashed as one.
    pub async fn blob(&self, name: &str, digest: &str) -> Result<Blob> {
        let mut hasher = Hasher::new(digest)?;
        let url = self.repo_url(name, &format!("blobs/{}", segment(digest)))?;
        let response = self.blob_from(name, &url, 0).await?.0;
        let size = response.content_length();
        let client = self.clone();
        let name = name.to_string();
        let stream = async_stream(move |tx| async move {
            let mut response = response;
            let mut received: u64 = 0;
            let mut drop_first: u64 = 0;
            let mut resumed = 1;
            loop {
                match response.chunk().await {
                    Ok(Some(mut chunk)) => {
                        if drop_first > 0 {
                            let n = drop_first.min(chunk.len() as u64);
                            drop_first -= n;
                            chunk = chunk.slice(n as usize..);
                            if chunk.is_empty() {
                                continue;
                            }
                        }
                        hasher.update(&chunk);
                        received += chunk.len() as u64;
                        if tx.send(Ok(chunk)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        if let Err(e) = hasher.verify() {
                            let _ = tx.send(Err(e)).await;
                        }
                        return;
                    }
                    Err(source) => {
                        let policy = &client.inner.policy;
                        let resume = if resumed < policy.attempts() {
                            tokio::time::sleep(policy.backoff_before(resumed)).await;
                            resumed += 1;
                            tracing::debug!(received, "regkit-oci: a blob broke off; resuming");
                            Some(client.blob_from(&name, &url, received).await)
                        } else {
                            None
                        };
                        match resume {
                            Some(Ok((next, skip))) => {
                                response = next;
                                drop_first = skip;
                            }
                            Some(Err(e)) => {
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                            None => {
                                let _ = tx
                                    .send(Err(Error::Transport {
                                        operation: BLOB_GET,
                                        source,
                                    }))
                                    .await;
                                return;
                            }
                        }
                    }
                }
            }
        });
        Ok(Blob { size, stream })
    }

    /// The answer to a blob `GET` of `url` from byte `from` on, and how
    /// many of its first bytes to drop (a registry that ignored the range
    /// sends the blob from its start).
    async fn blob_from(&self, name: &str, url: &Url, from: u64) -> Result<(Response, u64)> {
        let range = format!("bytes={from}-");
        let response = self
            .send(
                BLOB_GET,
                &[Access::Pull.scope(name)],
                Method::GET,
                url.clone(),
                |r| {
                    if from > 0 {
                        r.header(RANGE, range.as_str())
                    } else {
                        r
                    }
                },
            )
            .await?;
        let response = self.ok(BLOB_GET, response).await?;
        if from == 0 || response.status() != StatusCode::PARTIAL_CONTENT {
            return Ok((response, from));
        }
        let starts = header(response.headers(), CONTENT_RANGE.as_str()).and_then(|v| {
            let v = v.trim().strip_prefix("bytes")?.trim_start();
            v.split('-').next()?.trim().parse::<u64>().ok()
        });
        if starts != Some(from) {
            return Err(Error::Invalid(format!(
                "{BLOB_GET}: asked for the blob from byte {from}, the registry answered {}",
                header(response.headers(), CONTENT_RANGE.as_str())
                    .unwrap_or_else(|| "a range without Content-Range".into())
            )));
        }
        Ok((response, 0))
    }

    /// Whether blob `digest` is in `name` (a `HEAD`), with its size.
    pub async fn blob_size(&self, name: &str, digest: &str) -> Result<Option<u64>> {
        const OP: &str = "blob_head";
        let url = self.repo_url(name, &format!("blobs/{}", segment(digest)))?;
        let response = self
            .send(OP, &[Access::Pull.scope(name)], Method::HEAD, url, |r| r)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self.ok(OP, response).await?;
        Ok(Some(response.content_length().unwrap_or(0)))
    }

    /// Uploads `bytes` as a blob of `name` (a session, then one `PUT`),
    /// and returns its digest.
    pub async fn push_blob(&self, name: &str, bytes: Bytes) -> Result<String> {
        const OP: &str = "blob_upload";
        let digest = crate::digest::sha256(&bytes);
        let scope = [Access::Push.scope(name)];
        let url = self.repo_url(name, "blobs/uploads/")?;
        let started = self.send(OP, &scope, Method::POST, url, |r| r).await?;
        let started = self.ok(OP, started).await?;
        let location = self.location(OP, started.headers())?;
        let mut put = location;
        put.query_pairs_mut().append_pair("digest", &digest);
        let body = bytes.clone();
        let done = self
            .send(OP, &scope, Method::PUT, put, move |r| {
                r.header(CONTENT_TYPE, "application/octet-stream")
                    .body(body.clone())
            })
            .await?;
        self.ok(OP, done).await?;
        Ok(digest)
    }

    /// Uploads a blob of `name` from `stream` (a session, then one `PUT`
    /// streaming the bytes; nothing is held whole), checked by the
    /// registry against `digest`. A stream that ends in an error (a source
    /// whose bytes do not match their digest) aborts the upload: the blob
    /// is never committed.
    pub async fn push_blob_stream(
        &self,
        name: &str,
        digest: &str,
        size: Option<u64>,
        stream: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
    ) -> Result<()> {
        const OP: &str = "blob_upload";
        let scope = [Access::Push.scope(name)];
        let url = self.repo_url(name, "blobs/uploads/")?;
        let started = self.send(OP, &scope, Method::POST, url, |r| r).await?;
        let started = self.ok(OP, started).await?;
        let mut put = self.location(OP, started.headers())?;
        put.query_pairs_mut().append_pair("digest", digest);
        // A stream is sent once: the session's login is the POST's.
        self.pace().await;
        let mut request = self
            .inner
            .http
            .put(put)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream));
        if let Some(size) = size {
            request = request.header(reqwest::header::CONTENT_LENGTH, size);
        }
        if let Some(auth) = self.auth_for(&scope.join(" ")).await {
            request = request.header(AUTHORIZATION, auth);
        }
        let done = request.send().await.map_err(|source| Error::Transport {
            operation: OP,
            source,
        })?;
        self.note_rate_limit(done.headers());
        self.ok(OP, done).await.map(|_| ())
    }

    /// Mounts blob `digest` from repository `from` into `name` (one
    /// registry, no bytes moved): `true` when mounted, `false` when the
    /// registry could not (the session it opened instead is cancelled).
    pub async fn mount(&self, name: &str, from: &str, digest: &str) -> Result<bool> {
        const OP: &str = "blob_mount";
        let mut url = self.repo_url(name, "blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", from);
        let scopes = [Access::Push.scope(name), Access::Pull.scope(from)];
        let response = self.send(OP, &scopes, Method::POST, url, |r| r).await?;
        match response.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Ok(session) = self.location(OP, response.headers()) {
                    let _ = self
                        .send(
                            "blob_upload_cancel",
                            &scopes,
                            Method::DELETE,
                            session,
                            |r| r,
                        )
                        .await;
                }
                Ok(false)
            }
            _ => self.ok(OP, response).await.map(|_| false),
        }
    }

    /// Puts `bytes` as manifest `reference` (a tag or its digest) of
    /// `name`, served as `media_type`, and returns its digest.
    pub async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<String> {
        const OP: &str = "manifest_put";
        let digest = crate::digest::sha256(&bytes);
        if reference.contains(':') && reference != digest {
            crate::digest::verify(reference, &bytes)?;
        }
        let url = self.repo_url(name, &format!("manifests/{}", segment(reference)))?;
        let media_type = media_type.to_string();
        let response = self
            .send(
                OP,
                &[Access::Push.scope(name)],
                Method::PUT,
                url,
                move |r| {
                    r.header(CONTENT_TYPE, media_type.as_str())
                        .body(bytes.clone())
                },
            )
            .await?;
        self.ok(OP, response).await?;
        Ok(digest)
    }

    /// Deletes manifest `digest` of `name` (its tags go with it).
    pub async fn delete_manifest(&self, name: &str, digest: &str) -> Result<()> {
        const OP: &str = "manifest_delete";
        if !digest.contains(':') {
            return Err(Error::Invalid(format!(
                "{digest:?}: manifests are deleted by digest"
            )));
        }
        let url = self.repo_url(name, &format!("manifests/{}", segment(digest)))?;
        let response = self
            .send(
                OP,
                &[Access::Delete.scope(name)],
                Method::DELETE,
                url,
                |r| r,
            )
            .await?;
        self.ok(OP, response).await.map(|_| ())
    }

    fn location(&self, op: &'static str, headers: &HeaderMap) -> Result<Url> {
        let location = header(headers, LOCATION.as_str())
            .ok_or_else(|| Error::Invalid(format!("{op}: the registry sent no Location")))?;
        let url = self
            .inner
            .base
            .join(&location)
            .map_err(|e| Error::Invalid(format!("{op}: Location {location:?}: {e}")))?;
        if !wire::same_origin(&self.inner.base, &url) {
            return Err(Error::Invalid(format!(
                "{op}: the registry sent an upload to another origin ({})",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// `response` when it is a success, else its error.
    async fn ok(&self, operation: &'static str, response: Response) -> Result<Response> {
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.status_error(operation, response).await)
    }

    async fn status_error(&self, operation: &'static str, response: Response) -> Error {
        let status = response.status();
        let retry_after = wire::server_wait(status, response.headers(), self.inner.reset.as_ref());
        let body = read_bounded(operation, response, 64 * 1024)
            .await
            .unwrap_or_default();
        let first = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("errors")?.get(0).cloned());
        let code = first
            .as_ref()
            .and_then(|e| e.get("code")?.as_str().map(str::to_string));
        let message = first
            .as_ref()
            .and_then(|e| e.get("message")?.as_str().map(|m| self.scrub(m)));
        let message = match message {
            Some(m) => Some(self.scrub_tokens(m).await),
            None => None,
        };
        Error::Status {
            operation,
            status,
            code,
            message,
            retry_after,
        }
    }

    /// `text` without the login's password.
    fn scrub(&self, text: &str) -> String {
        let mut text: String = text.chars().take(500).collect();
        if let Some(login) = &self.inner.login {
            let secret = login.password.expose_secret();
            if !secret.is_empty() {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        text
    }

    /// `text` without any bearer token this client holds.
    async fn scrub_tokens(&self, mut text: String) -> String {
        for t in self.inner.tokens.lock().await.values() {
            let secret = t.value.expose_secret();
            if !secret.is_empty() {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        text
    }

    /// The one request path: `build` adds what the request carries
    /// (headers, a body it can give again) to a request of `method` to
    /// `url`; the login, the challenge, redirects, retries and pacing are
    /// this function's. Answers with any status; an `Err` only when no
    /// answer came.
    async fn send(
        &self,
        operation: &'static str,
        scopes: &[String],
        method: Method,
        url: Url,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response> {
        let policy = &self.inner.policy;
        let started = Instant::now();
        let key = scopes.join(" ");
        let mut attempt = 1;
        let mut answered_challenge = false;
        loop {
            self.pace().await;
            let auth = self.auth_for(&key).await;
            let result = self
                .follow(&method, url.clone(), auth.as_deref(), &build)
                .await;
            let outcome = match &result {
                Ok(r) => Outcome::Status(r.status()),
                Err(e) => Outcome::Transport(e),
            };
            if let Ok(r) = &result {
                self.note_rate_limit(r.headers());
                if r.status() == StatusCode::UNAUTHORIZED && !answered_challenge {
                    answered_challenge = true;
                    if self
                        .answer_challenge(operation, &key, scopes, r.headers())
                        .await?
                    {
                        continue;
                    }
                }
            }
            let retry =
                classify(&method, outcome) == RetryAction::Retry && attempt < policy.attempts();
            if !retry {
                return result.map_err(|source| Error::Transport { operation, source });
            }
            let hint = result.as_ref().ok().and_then(|r| {
                wire::server_wait(r.status(), r.headers(), self.inner.reset.as_ref())
            });
            let wait = hint.unwrap_or_else(|| policy.backoff_before(attempt));
            if !policy.fits(started.elapsed(), wait) {
                return result.map_err(|source| Error::Transport { operation, source });
            }
            tracing::debug!(operation, attempt, ?wait, "regkit-oci: trying again");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Sends one request and follows its redirects (GET and HEAD only),
    /// with `auth` only while the hop stays on the registry's origin.
    async fn follow(
        &self,
        method: &Method,
        mut url: Url,
        auth: Option<&str>,
        build: &impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> reqwest::Result<Response> {
        for _ in 0..=wire::MAX_REDIRECTS {
            let mut request = build(self.inner.http.request(method.clone(), url.clone()));
            if let Some(auth) = auth
                && wire::same_origin(&self.inner.base, &url)
            {
                request = request.header(AUTHORIZATION, auth);
            }
            let response = request.send().await?;
            let follows =
                matches!(*method, Method::GET | Method::HEAD) && response.status().is_redirection();
            let target = header(response.headers(), LOCATION.as_str())
                .and_then(|l| url.join(&l).ok())
                .filter(|t| matches!(t.scheme(), "http" | "https"));
            match target {
                Some(t) if follows => url = t,
                _ => return Ok(response),
            }
        }
        // Too many hops: the last redirect is answered as it is.
        build(self.inner.http.request(method.clone(), url))
            .send()
            .await
    }

    /// What to send for `key` now: a fresh token, or the login where the
    /// registry speaks Basic.
    async fn auth_for(&self, key: &str) -> Option<String> {
        if self.inner.basic.load(Ordering::Relaxed) {
            return self.inner.login.as_ref().map(Login::basic_header);
        }
        let tokens = self.inner.tokens.lock().await;
        tokens
            .get(key)
            .filter(|t| t.is_fresh())
            .map(|t| format!("Bearer {}", t.value.expose_secret()))
    }

    /// Answers a 401's challenge: `Ok(true)` when there is something new
    /// to try.
    async fn answer_challenge(
        &self,
        operation: &'static str,
        key: &str,
        scopes: &[String],
        headers: &HeaderMap,
    ) -> Result<bool> {
        let Some(challenge) = headers
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(Challenge::parse)
        else {
            return Ok(false);
        };
        match challenge {
            Challenge::Basic => {
                let had = self.inner.basic.swap(true, Ordering::Relaxed);
                Ok(!had && self.inner.login.is_some())
            }
            Challenge::Bearer { realm, service } => {
                let token = self
                    .fetch_token(operation, &realm, service.as_deref(), scopes)
                    .await?;
                self.inner
                    .tokens
                    .lock()
                    .await
                    .insert(key.to_string(), token);
                Ok(true)
            }
        }
    }

    async fn fetch_token(
        &self,
        operation: &'static str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<Token> {
        let login_failed = |reason: String| Error::Login { operation, reason };
        let mut url = Url::parse(realm)
            .map_err(|e| login_failed(format!("the realm {realm:?} is not a URL: {e}")))?;
        if self.inner.login.is_some() && url.scheme() != "https" && !wire::is_loopback(&url) {
            return Err(login_failed(format!(
                "refusing to send the login over plain HTTP to {}",
                url.origin().ascii_serialization()
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for s in scopes {
                q.append_pair("scope", s);
            }
        }
        let mut request = self.inner.http.get(url);
        if let Some(login) = &self.inner.login {
            request = request.header(AUTHORIZATION, login.basic_header());
        }
        let response = request
            .send()
            .await
            .map_err(|source| Error::Transport { operation, source })?;
        if !response.status().is_success() {
            let status = response.status();
            return Err(match self.status_error(operation, response).await {
                Error::Status { code, message, .. } => login_failed(format!(
                    "the token endpoint answered {status}{}{}",
                    code.map(|c| format!(" {c}")).unwrap_or_default(),
                    message.map(|m| format!(": {m}")).unwrap_or_default()
                )),
                other => other,
            });
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let bytes = read_bounded(operation, response, 64 * 1024).await?;
        let answer: Answer = serde_json::from_slice(&bytes)
            .map_err(|_| login_failed("the token endpoint's answer does not parse".into()))?;
        let value = answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| login_failed("the token endpoint answered no token".into()))?;
        Ok(Token::new(value, answer.expires_in))
    }

    /// Waits while the server's rate limit is spent.
    async fn pace(&self) {
        let until = *self
            .inner
            .paused_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until {
            let now = Instant::now();
            if until > now {
                tokio::time::sleep(until - now).await;
            }
        }
    }

    /// Notes a spent rate limit ([`wire::spent_rate_limit`]): no request
    /// leaves before its reset (at most a minute: a hostile header must
    /// not stall the client for ever).
    fn note_rate_limit(&self, headers: &HeaderMap) {
        let Some(wait) = self
            .inner
            .reset
            .as_ref()
            .and_then(|r| wire::spent_rate_limit(headers, r, Duration::from_secs(60)))
        else {
            return;
        };
        let until = Instant::now() + wait;
        let mut paused = self
            .inner
            .paused_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }
}

fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The `Link: <…>; rel="next"` of a page, resolved against its URL.
fn next_link(from: &Url, headers: &HeaderMap) -> Option<Url> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|l| l.contains("rel=\"next\"") || l.contains("rel=next"))
        .and_then(|l| {
            let start = l.find('<')? + 1;
            let end = l[start..].find('>')? + start;
            from.join(&l[start..end]).ok()
        })
}

/// A response's body, refusing one larger than `limit` (before reading it
/// when `Content-Length` says so, else as it arrives).
async fn read_bounded(
    operation: &'static str,
    mut response: Response,
    limit: usize,
) -> Result<Bytes> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Error::TooLarge { operation, limit });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| Error::Transport { operation, source })?
    {
        if body.len() + chunk.len() > limit {
            return Err(Error::TooLarge { operation, limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A stream fed by a task through a small channel (one chunk in flight:
/// memory stays flat however large the blob).
fn async_stream<F, Fut>(produce: F) -> std::pin::Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Bytes>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(produce(tx));
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_tags_follow_the_tag_schema() {
        assert_eq!(referrers_tag("sha256:abc").as_deref(), Some("sha256-abc"));
        assert_eq!(referrers_tag("abc"), None);
    }

    #[test]
    fn next_links_resolve_against_the_page() {
        let from = Url::parse("http://127.0.0.1:1/v2/a/tags/list?n=2").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            "</v2/a/tags/list?n=2&last=b>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&from, &h).unwrap().as_str(),
            "http://127.0.0.1:1/v2/a/tags/list?n=2&last=b"
        );
    }

    #[test]
    fn hostile_references_stay_one_segment_and_names_are_checked() {
        let c = Client::builder("127.0.0.1:1").build().unwrap();
        assert!(c.repo_url("../x", "tags/list").is_err());
        assert!(c.repo_url("a//b", "tags/list").is_err());
        assert_eq!(segment("v1/../../x?y"), "v1%2F..%2F..%2Fx%3Fy");
    }

    #[test]
    fn a_login_never_goes_over_plain_http_to_a_remote_host() {
        let e = Client::builder("http://registry.example")
            .login(Some(Login::new("u", "p")))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("plain HTTP"), "{e}");
        let c = Client::builder("registry.example").build().unwrap();
        assert_eq!(c.base().scheme(), "https");
        let c = Client::builder("127.0.0.1:5000").build().unwrap();
        assert_eq!(c.base().scheme(), "http");
    }
}
