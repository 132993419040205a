//! Which provider an emulated API belongs to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the five providers the emulator serves, each under its own path
/// prefix (`/digitalocean`, `/ionos`, …) of one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// DigitalOcean Container Registry (`/v2/registry`, `/v2/registries`).
    DigitalOcean,
    /// IONOS Cloud Container Registry (API 1.2.1).
    Ionos,
    /// Humanitec registry records and their credentials.
    Humanitec,
    /// Buildkite Package Registries.
    Buildkite,
    /// ABEJA Platform container registry.
    Abeja,
}

impl Provider {
    /// Every provider, in a fixed order.
    pub const ALL: [Provider; 5] = [
        Provider::DigitalOcean,
        Provider::Ionos,
        Provider::Humanitec,
        Provider::Buildkite,
        Provider::Abeja,
    ];

    /// The provider's name as the manifest, the specs and the URL prefix
    /// spell it (`digitalocean`, `ionos`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Provider::DigitalOcean => "digitalocean",
            Provider::Ionos => "ionos",
            Provider::Humanitec => "humanitec",
            Provider::Buildkite => "buildkite",
            Provider::Abeja => "abeja",
        }
    }

    /// The environment variable holding the provider's bearer token, as the
    /// provider crate's `from_env()` reads it.
    pub const fn token_env(self) -> &'static str {
        match self {
            Provider::DigitalOcean => "DIGITALOCEAN_TOKEN",
            Provider::Ionos => "IONOS_TOKEN",
            Provider::Humanitec => "HUMANITEC_TOKEN",
            Provider::Buildkite => "BUILDKITE_API_TOKEN",
            Provider::Abeja => "PLATFORM_AUTH_TOKEN",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not one of the five providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProvider(pub String);

impl fmt::Display for UnknownProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown provider `{}` (expected one of: digitalocean, ionos, humanitec, buildkite, abeja)",
            self.0
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
