//! Everything the emulator remembers, and its JSON snapshot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::providers::abeja::model as abeja;
use crate::providers::buildkite::model as buildkite;
use crate::providers::digitalocean::model as digitalocean;
use crate::providers::humanitec::model as humanitec;
use crate::providers::ionos::model as ionos;

/// The state of all five emulated APIs. Public so tests can seed it
/// ([`crate::Emulator::seed`]) and read it back; its JSON form is the state
/// file's `world`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct World {
    /// DigitalOcean's account: registries, subscription, garbage collections.
    pub digitalocean: digitalocean::State,
    /// IONOS: registries, tokens, repositories and artifacts.
    pub ionos: ionos::State,
    /// Humanitec: organizations' registry records and credentials.
    pub humanitec: humanitec::State,
    /// Buildkite: organizations' package registries, packages and tokens.
    pub buildkite: buildkite::State,
    /// ABEJA: organizations' repositories and tags.
    pub abeja: abeja::State,
}

impl World {
    /// The stores of every provider that holds images.
    pub fn stores(&self) -> impl Iterator<Item = &crate::content::Store> {
        let digitalocean = self.digitalocean.registries.values().map(|r| &r.store);
        let ionos = self.ionos.registries.values().map(|r| &r.content);
        let buildkite = self
            .buildkite
            .orgs
            .values()
            .flat_map(|o| o.registries.values())
            .map(|r| &r.content);
        digitalocean.chain(ionos).chain(buildkite)
    }

    /// Digests of every blob some store holds.
    pub fn held_blobs(&self) -> std::collections::HashSet<String> {
        self.stores()
            .flat_map(|s| s.blobs.keys().cloned())
            .collect()
    }
}

/// A world at a moment: what [`crate::Emulator::snapshot`] returns and a
/// state file (`--state FILE`) holds. Secrets the APIs show once (IONOS
/// token passwords, Docker credentials) are not kept, as the providers do
/// not keep them either.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The virtual clock's time when it was taken.
    pub now: DateTime<Utc>,
    /// The state of every API.
    pub world: World,
    /// The bytes of pushed blobs, base64, by digest: an emulator that keeps
    /// blobs in memory puts them here; one with a data directory keeps
    /// them there and leaves this empty.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub blobs: std::collections::BTreeMap<String, String>,
}

impl Snapshot {
    /// Reads a snapshot from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The snapshot as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a snapshot is plain data and always encodes")
    }
}
