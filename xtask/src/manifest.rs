//! `specs/providers.toml`: everything codegen needs to know about a provider
//! besides its OpenAPI document. Adding a provider is adding an entry here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "provider")]
    pub providers: Vec<Provider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Short lowercase name: the crate is `regkit-<name>`, the facade feature `<name>`.
    pub name: String,
    /// The variant of `regkit_core::Provider` ("DigitalOcean").
    pub variant: String,
    /// Human name used in messages ("DigitalOcean").
    pub display_name: String,
    /// Crate directory relative to the workspace root.
    pub crate_dir: PathBuf,
    /// OpenAPI document relative to the workspace root.
    pub spec: PathBuf,
    /// Default base URL the client talks to.
    pub base_url: String,
    /// Environment variable that overrides the base URL, if the provider's tools have one.
    #[serde(default)]
    pub base_url_env: Option<String>,
    /// Credential schemes, in the order `from_env()` tries them.
    pub auth: Vec<AuthScheme>,
    /// Rate-limit reset header the retry policy honours besides `Retry-After`.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Response headers that carry the provider's request id.
    #[serde(default)]
    pub request_id_headers: Vec<String>,
    /// The provider's error body: where its message and request id are.
    pub error: ErrorBody,
    /// Where the provider serves its registries' images, or why it serves none.
    pub registry: Registry,
    /// The provider's API reference, linked from the crate docs.
    pub docs_url: String,
    /// The call the crate docs show (compiled, not run).
    pub example: Example,
    /// The call the `mock` module's docs serve with its documented response
    /// example and read back (compiled and run as a doctest).
    pub mock_example: Example,
}

/// A provider's data plane: a host (shared, with a path per registry, or
/// one per registry from a pattern) and the rule for a login's user name,
/// or `none` with the reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// The one host every registry shares.
    #[serde(default)]
    pub host: Option<String>,
    /// With `host`: the path prefix of one registry (`{registry}`, `{org}/{registry}`).
    #[serde(default)]
    pub path: Option<String>,
    /// A host per registry, from this pattern (`{name}.cr.{location}.ionos.com`).
    #[serde(default)]
    pub host_pattern: Option<String>,
    /// How a registry login's user name is formed.
    #[serde(default)]
    pub login_user: Option<LoginUser>,
    /// The provider serves no registry: why.
    #[serde(default)]
    pub none: Option<String>,
}

/// How a registry login's user name is formed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum LoginUser {
    /// The token itself.
    Token,
    /// The name of the token.
    TokenName,
    /// A fixed name.
    Fixed(String),
}

/// One call of an operation with string arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub operation: String,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

/// What `Error`'s `Display` reads from the provider's error body; codegen
/// emits it as an `ErrorMetadata` impl with plain field access.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The component schema of the error body (`types::<Schema>`).
    pub schema: String,
    /// Where the human message is; the first one present wins.
    pub message: Vec<MessageSource>,
    /// A body field holding the request id.
    #[serde(default)]
    pub request_id_field: Option<String>,
}

/// A message field, or (with `each`) that field of every item of a list,
/// joined with "; ".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSource {
    pub field: String,
    #[serde(default)]
    pub each: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AuthScheme {
    Bearer {
        env: Vec<String>,
    },
    Basic {
        username_env: Vec<String>,
        password_env: Vec<String>,
        #[serde(default)]
        username_prefix: Option<String>,
    },
    ApiKey {
        header: String,
        #[serde(default)]
        prefix: Option<String>,
        env: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub reset_header: String,
    pub reset: ResetKind,
}

/// How a rate-limit reset header counts.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResetKind {
    /// A Unix time.
    EpochSeconds,
    /// Seconds from now.
    DeltaSeconds,
}

impl Manifest {
    pub fn load(root: &Path) -> Result<Self, String> {
        let path = root.join("specs/providers.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for p in &manifest.providers {
            if p.auth.is_empty() {
                return Err(format!(
                    "specs/providers.toml: provider `{}` declares no auth scheme",
                    p.name
                ));
            }
            let r = &p.registry;
            let hosted = r.host.is_some() || r.host_pattern.is_some();
            let valid = match (&r.none, hosted) {
                (Some(_), false) => r.path.is_none() && r.login_user.is_none(),
                (None, true) => {
                    r.login_user.is_some()
                        && (r.host.is_some() != r.host_pattern.is_some())
                        && (r.path.is_none() || r.host.is_some())
                }
                _ => false,
            };
            if !valid {
                return Err(format!(
                    "specs/providers.toml: provider `{}`: registry needs either `none = \"why\"`, or `host` (with an optional `path`) or `host_pattern`, and `login_user`",
                    p.name
                ));
            }
            if p.error.message.is_empty() {
                return Err(format!(
                    "specs/providers.toml: provider `{}`: error.message names no field",
                    p.name
                ));
            }
        }
        Ok(manifest)
    }
}
