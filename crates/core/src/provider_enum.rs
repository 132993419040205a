//! What the generated [`Provider`] enum answers about itself: its names,
//! parsing and printing, and which provider serves a registry host. Above
//! the facts' types (`provider.rs`) and the generated table
//! ([`crate::providers`]).

use std::fmt;
use std::str::FromStr;

use crate::providers::Provider;

impl Provider {
    /// The provider's name as the manifest, the specs, the CLI and the
    /// emulator's URL prefix spell it (`digitalocean`, `ionos`, …).
    pub const fn name(self) -> &'static str {
        self.info().name
    }

    /// The first variable that holds the provider's bearer token
    /// (`DIGITALOCEAN_TOKEN`, …), as its crate's `from_env()` reads it.
    pub fn token_env(self) -> &'static str {
        self.info().token_env().unwrap_or_default()
    }

    /// The provider whose registry host `host` is (as Docker sends it), if
    /// any: each provider with a data plane is asked in turn.
    pub fn serving_host(host: &str) -> Option<Provider> {
        Provider::ALL
            .into_iter()
            .find(|p| p.info().data_plane.serves(host))
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not one of the providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProvider(pub String);

impl fmt::Display for UnknownProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
        write!(
            f,
            "unknown provider `{}` (expected one of: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownProvider {}

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownProvider(s.to_string()))
    }
}
