//! `specs/providers.toml`: everything codegen needs to know about a provider
//! besides its OpenAPI document. Adding a provider is adding an entry here.

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
    /// `epoch-seconds` (a Unix time) or `delta-seconds` (seconds from now).
    pub reset: String,
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
            if let Some(rl) = &p.rate_limit
                && rl.reset != "epoch-seconds"
                && rl.reset != "delta-seconds"
            {
                return Err(format!(
                    "specs/providers.toml: provider `{}`: rate_limit.reset must be \
                     `epoch-seconds` or `delta-seconds`, not `{}`",
                    p.name, rl.reset
                ));
            }
        }
        Ok(manifest)
    }
}
