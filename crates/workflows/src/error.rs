//! The one error type of the workflows, and the capabilities a provider may
//! lack.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use regkit_core::ProvideErrorMetadata;

/// Something a registry view, lease or waiter may be asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Capability {
    /// List the account's registries.
    ListRegistries,
    /// List a registry's repositories.
    ListRepositories,
    /// List a repository's images (tags and manifests).
    ListImages,
    /// Delete one tag, leaving its manifest.
    DeleteTag,
    /// Delete a manifest by digest.
    DeleteManifest,
    /// Start (and watch) a garbage collection.
    GarbageCollection,
    /// Mint short-lived Docker credentials.
    DockerCredentials,
    /// Revoke credentials before they expire.
    RevokeCredentials,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::ListRegistries => "list registries",
            Capability::ListRepositories => "list repositories",
            Capability::ListImages => "list images",
            Capability::DeleteTag => "delete a tag",
            Capability::DeleteManifest => "delete a manifest",
            Capability::GarbageCollection => "run a garbage collection",
            Capability::DockerCredentials => "mint Docker credentials",
            Capability::RevokeCredentials => "revoke credentials",
        })
    }
}

/// What went wrong in a workflow. Never carries a secret: API errors keep
/// regkit-core's redacted text, status and request id.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The provider cannot do this (ask first with `supports`).
    Unsupported {
        /// The provider's short name (`ionos`, …).
        provider: &'static str,
        /// What was asked.
        capability: Capability,
    },
    /// A provider API call failed: regkit-core's error, whole (its text
    /// never shows credentials). Ask it, or this error's own shortcuts
    /// ([`Error::status`], [`Error::request_id`], …), for its facts.
    Api(Box<dyn ProvideErrorMetadata>),
    /// The provider answered, but not with what the workflow needs (a
    /// registry without a host name, say).
    Unexpected(String),
    /// A garbage collection stopped moving.
    GcStalled {
        /// The status it sat in.
        status: String,
        /// For how long (virtual or real time, as the clock says).
        for_secs: u64,
    },
    /// Waiting ran out of its time budget.
    Timeout {
        /// What was being waited for.
        what: String,
        /// The budget, in seconds.
        budget_secs: u64,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file holds something this cannot merge into (e.g. `config.json`
    /// that is not a JSON object).
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A rule or argument is invalid (a bad pattern, say).
    InvalidInput(String),
    /// A garbage collection was not started: it may delete untagged
    /// manifests that kept images still reference
    /// ([`crate::gc::preflight`]). Force it to go ahead.
    GcWouldTakeReferenced {
        /// Untagged platforms of tagged indexes.
        index_children: usize,
        /// Untagged referrers of tagged images.
        referrers: usize,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl<E> From<regkit_core::Error<E>> for Error
where
    E: regkit_core::ErrorMetadata + fmt::Debug + Send + Sync + 'static,
{
    /// A generated client's error, with its provider, operation, status and
    /// request id kept: `?` on a client call.
    fn from(e: regkit_core::Error<E>) -> Self {
        Error::Api(Box::new(e))
    }
}

impl Error {
    /// The API error's facts, when a provider call failed.
    pub fn api(&self) -> Option<&dyn ProvideErrorMetadata> {
        match self {
            Error::Api(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The HTTP status the provider answered with.
    pub fn status(&self) -> Option<u16> {
        self.api()?.status().map(|s| s.as_u16())
    }

    /// The provider's request id.
    pub fn request_id(&self) -> Option<String> {
        self.api()?.request_id()
    }

    /// How long the provider asked to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api()?.retry_after()
    }

    /// The operation that failed, as the generated client names it.
    pub fn operation(&self) -> Option<&'static str> {
        self.api()?.operation()
    }

    /// The provider's short name (`ionos`, …), when the error names one.
    pub fn provider(&self) -> Option<&'static str> {
        match self {
            Error::Unsupported { provider, .. } => Some(provider),
            Error::Api(e) => e.provider().map(|p| p.name),
            _ => None,
        }
    }

    /// Whether the provider said the thing does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.api().is_some_and(|e| e.is_not_found())
    }

    /// Whether the provider refused the credentials (401 or 403).
    pub fn is_unauthorized(&self) -> bool {
        self.api().is_some_and(|e| e.is_unauthorized())
    }

    /// Whether the provider is rate limiting (429).
    pub fn is_rate_limited(&self) -> bool {
        self.api().is_some_and(|e| e.is_rate_limited())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unsupported {
                provider,
                capability,
            } => write!(f, "{provider} cannot {capability}"),
            Error::Api(e) => match (e.provider(), e.operation()) {
                (Some(provider), Some(operation)) => {
                    write!(f, "{} {operation}: {e}", provider.name)
                }
                _ => write!(f, "{e}"),
            },
            Error::Unexpected(why) => write!(f, "unexpected answer: {why}"),
            Error::GcStalled { status, for_secs } => write!(
                f,
                "garbage collection stalled: still `{status}` after {for_secs} s without a change"
            ),
            Error::Timeout { what, budget_secs } => {
                write!(f, "gave up waiting for {what} after {budget_secs} s")
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::InvalidFile { path, why } => write!(f, "{}: {why}", path.display()),
            Error::InvalidInput(why) => f.write_str(why),
            Error::GcWouldTakeReferenced {
                index_children,
                referrers,
            } => write!(
                f,
                "refusing to start a garbage collection of untagged manifests: {index_children} untagged \
                 platforms of tagged indexes and {referrers} untagged referrers of tagged images may be \
                 deleted with them (the provider does not say it spares them); force it to go ahead"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Api(e) => Some(e.as_ref()),
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
