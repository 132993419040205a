//! Hand-written additions to the generated Buildkite client.
//!
//! `publish_package`: its body is `multipart/form-data`, which codegen does
//! not produce. It is built and sent like a generated operation, through
//! the same request pipeline, with its URL built by generated code.

use std::fmt;

use bytes::{Bytes, BytesMut};
use futures::TryStreamExt as _;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::multipart::{Form, Part};

use crate::{Client, Error, ResponseValue, types};

/// A package file to upload with [`Client::publish_package`]: its file name
/// (which Buildkite uses when indexing the package) and its contents.
///
/// The contents are held in memory; `Vec<u8>`, `bytes::Bytes`, `String` and
/// `&'static [u8]` all convert without ceremony.
#[derive(Clone)]
pub struct PackageFile {
    filename: String,
    contents: Bytes,
}

impl PackageFile {
    /// A file called `filename` (for example `banana-1.0.0.gem`) holding
    /// `contents`.
    pub fn new(filename: impl Into<String>, contents: impl Into<Bytes>) -> Self {
        Self {
            filename: filename.into(),
            contents: contents.into(),
        }
    }

    /// The file name sent with the upload.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The file's contents.
    pub fn contents(&self) -> &Bytes {
        &self.contents
    }
}

impl fmt::Debug for PackageFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageFile")
            .field("filename", &self.filename)
            .field("len", &self.contents.len())
            .finish()
    }
}

impl Client {
    /// Publish a package
    ///
    /// Uploads a package into a registry, either as the file itself
    /// ([`PublishPackage::file`]) or as the URL of a file already uploaded
    /// through [`Client::create_package_upload`]
    /// ([`PublishPackage::package_url`]); exactly one of the two is required.
    /// Requires the `write_packages` scope.
    ///
    /// Sends a `POST` request with a `multipart/form-data` body to
    /// `/v2/packages/organizations/{org_slug}/registries/{registry_slug}/packages`.
    ///
    /// ```no_run
    /// # async fn demo(client: regkit_buildkite::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use regkit_buildkite::PackageFile;
    ///
    /// let gem = std::fs::read("banana-1.0.0.gem")?;
    /// let package = client
    ///     .publish_package()
    ///     .org_slug("acme")
    ///     .registry_slug("gems")
    ///     .file(PackageFile::new("banana-1.0.0.gem", gem))
    ///     .send()
    ///     .await?;
    /// println!("published {}", package.web_url);
    /// # Ok(()) }
    /// ```
    pub fn publish_package(&self) -> PublishPackage<'_> {
        PublishPackage {
            client: self,
            org_slug: None,
            registry_slug: None,
            file: None,
            package_url: None,
        }
    }
}

/// Builder for [`Client::publish_package`]; finish with
/// [`send`](PublishPackage::send).
#[derive(Debug)]
pub struct PublishPackage<'a> {
    client: &'a Client,
    org_slug: Option<String>,
    registry_slug: Option<String>,
    file: Option<PackageFile>,
    package_url: Option<String>,
}

impl PublishPackage<'_> {
    /// Slug of the organization that owns the registry (required).
    pub fn org_slug(mut self, value: impl Into<String>) -> Self {
        self.org_slug = Some(value.into());
        self
    }

    /// Slug of the registry (required).
    pub fn registry_slug(mut self, value: impl Into<String>) -> Self {
        self.registry_slug = Some(value.into());
        self
    }

    /// Uploads this file, sent as the `file` part. Not together with
    /// [`package_url`](Self::package_url).
    pub fn file(mut self, file: PackageFile) -> Self {
        self.file = Some(file);
        self
    }

    /// Publishes a file already uploaded with the form from
    /// `create_package_upload`, sent as the `package_url` part. Not
    /// together with [`file`](Self::file).
    pub fn package_url(mut self, url: impl Into<String>) -> Self {
        self.package_url = Some(url.into());
        self
    }

    /// Sends the request.
    ///
    /// Fails with [`Error::InvalidRequest`], sending nothing, when a slug is
    /// missing, empty, `.` or `..`, or when not exactly one of `file` and
    /// `package_url` was given.
    pub async fn send(self) -> Result<ResponseValue<types::Package>, Error<types::Error>> {
        let Self {
            client,
            org_slug,
            registry_slug,
            file,
            package_url,
        } = self;
        let org_slug = org_slug.ok_or_else(|| missing("org_slug"))?;
        let registry_slug = registry_slug.ok_or_else(|| missing("registry_slug"))?;
        let form = match (file, package_url) {
            (Some(file), None) => {
                let len = file.contents.len() as u64;
                let part = Part::stream_with_length(file.contents, len)
                    .file_name(file.filename)
                    .mime_str("application/octet-stream")?;
                Form::new().part("file", part)
            }
            (None, Some(url)) => Form::new().text("package_url", url),
            (None, None) => {
                return Err(Error::InvalidRequest(
                    "publish_package needs a package: set `file` or `package_url`".into(),
                ));
            }
            (Some(_), Some(_)) => {
                return Err(Error::InvalidRequest(
                    "publish_package takes `file` or `package_url`, not both".into(),
                ));
            }
        };
        let url = crate::generated::handwritten::publish_package_url(
            &client.baseurl,
            &org_slug,
            &registry_slug,
        )?;
        let (content_type, body) = buffer(form).await?;
        let request = client
            .client
            .post(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .build()?;
        regkit_core::runtime::send(&client.inner, request, "publish_package").await
    }
}

fn missing(name: &str) -> Error<types::Error> {
    Error::InvalidRequest(format!("{name} was not initialized"))
}

/// Encodes the form into one in-memory body. reqwest would send a form as
/// a stream, which cannot be cloned; bytes can, so the retry layer may send
/// the request again (for a POST: only when it cannot have been processed).
async fn buffer(form: Form) -> Result<(String, Bytes), Error<types::Error>> {
    let content_type = format!("multipart/form-data; boundary={}", form.boundary());
    let body = form
        .into_stream()
        .try_fold(BytesMut::new(), |mut body, chunk| async move {
            body.extend_from_slice(&chunk);
            Ok(body)
        })
        .await?;
    Ok((content_type, body.freeze()))
}
