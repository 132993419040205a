//! Facts about a provider that codegen copies from `specs/providers.toml`.

/// What regkit-core needs to know about a provider to build its client.
/// Each provider crate exports one as `PROVIDER` (generated).
#[derive(Debug)]
pub struct ProviderInfo {
    /// Short name, e.g. `digitalocean`.
    pub name: &'static str,
    /// Human name used in messages, e.g. `DigitalOcean`.
    pub display_name: &'static str,
    /// Crate name, e.g. `regkit-digitalocean` (first part of the User-Agent).
    pub crate_name: &'static str,
    /// Crate version (second part of the User-Agent).
    pub crate_version: &'static str,
    /// Base URL used when the caller sets none.
    pub default_base_url: &'static str,
    /// Environment variable that overrides the base URL in `from_env()`.
    pub base_url_env: Option<&'static str>,
    /// Credential schemes, in the order `from_env()` tries them.
    pub auth: &'static [AuthScheme],
    /// A rate-limit reset header honoured (after `Retry-After`) on 429.
    pub rate_limit_reset: Option<RateLimitReset>,
    /// Response headers that carry the provider's request id, first found wins.
    pub request_id_headers: &'static [&'static str],
    /// Operations whose success body carries secrets (a `format: password`
    /// field): when such a body fails to decode or comes with an unexpected
    /// status, error text withholds it. Named as the generated code names
    /// operations (the `operationId` in snake case).
    pub secret_responses: &'static [&'static str],
}

/// A credential scheme a provider accepts, with the environment variables
/// that hold it (first set one wins).
#[derive(Debug, Clone, Copy)]
pub enum AuthScheme {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// Variables holding the token.
        env: &'static [&'static str],
    },
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// Variables holding the user name.
        username_env: &'static [&'static str],
        /// Variables holding the password or personal access token.
        password_env: &'static [&'static str],
        /// Prefix added to the user name when it is missing (ABEJA: `user-`).
        username_prefix: Option<&'static str>,
    },
    /// An API key in a named header, optionally prefixed (`Token <key>`).
    ApiKey {
        /// Header name.
        header: &'static str,
        /// Text put before the key, separated by a space.
        prefix: Option<&'static str>,
        /// Variables holding the key.
        env: &'static [&'static str],
    },
}

/// A provider's rate-limit reset header.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitReset {
    /// Header name, e.g. `ratelimit-reset`.
    pub header: &'static str,
    /// How to read its value.
    pub kind: ResetKind,
}

/// Meaning of a rate-limit reset header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetKind {
    /// A Unix timestamp in seconds.
    EpochSeconds,
    /// Seconds from now.
    DeltaSeconds,
}
