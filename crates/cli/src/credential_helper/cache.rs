//! The helper's cache of minted credentials:
//! `$XDG_CACHE_HOME/regkit/docker-credentials.json` (else
//! `~/.cache/regkit/…`), mode 0600.
//!
//! Each entry is keyed by the host Docker asked about *and* the provider,
//! the API endpoint, the account (a SHA-256 fingerprint of the provider
//! credentials in the environment, never the credentials themselves) and
//! the registry scope it was minted for, so a credential is only served to
//! the account and registry that minted it: after `DIGITALOCEAN_TOKEN` or
//! the base URL change, the next `get` mints anew.
//!
//! An entry is reused until five minutes before `fresh_until`: the
//! credential's expiry, or for one that does not expire (a Buildkite
//! registry token) the helper's TTL after it was minted. No entry is
//! reused for ever.
//!
//! Every change happens under the file's advisory lock ([`LockedFile`]):
//! concurrent `get`s for different hosts all land, and concurrent `get`s
//! for one host mint once. Entries this version cannot read are dropped
//! (they are minted again), never fatal.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use regkit_workflows::docker_config::LockedFile;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fail::{Fail, Result};

/// The cache format this version writes.
const VERSION: u32 = 2;

/// Which credential an entry is: the host and who minted it, where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The server as Docker names it (no scheme, no trailing `/`).
    pub host: String,
    /// The provider's short name.
    pub provider: String,
    /// The API base URL the credential was minted through.
    pub endpoint: String,
    /// Fingerprint of the provider credentials that minted it.
    pub account: String,
    /// The organization and registry it was minted for, where known
    /// before minting (`org/registry`, empty otherwise).
    pub scope: String,
}

/// One cached credential.
#[derive(Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Which credential this is.
    #[serde(flatten)]
    pub key: Key,
    /// The user name.
    pub username: String,
    /// The password or token (the file is 0600).
    pub secret: String,
    /// When the credential expires, `None` when it does not.
    pub expires_at: Option<DateTime<Utc>>,
    /// Until when the helper reuses it.
    pub fresh_until: DateTime<Utc>,
}

impl Entry {
    /// Whether the entry may be served at `now`: before `fresh_until`
    /// minus `margin`.
    pub fn is_fresh(&self, now: DateTime<Utc>, margin: Duration) -> bool {
        chrono::TimeDelta::from_std(margin)
            .ok()
            .and_then(|m| self.fresh_until.checked_sub_signed(m))
            .is_some_and(|refresh_at| now < refresh_at)
    }
}

#[derive(Serialize)]
struct File<'a> {
    version: u32,
    entries: &'a [Entry],
}

/// Where the cache lives.
pub fn path() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir)
            .join("regkit")
            .join("docker-credentials.json"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home)
            .join(".cache")
            .join("regkit")
            .join("docker-credentials.json")),
        None => Err(Fail::error(
            "cannot find a cache directory: set XDG_CACHE_HOME or HOME",
        )),
    }
}

/// The entries of the cache file's content (a missing, damaged or older
/// file has none; an unreadable entry is skipped).
pub fn parse(bytes: Option<&[u8]>) -> Vec<Entry> {
    let Some(doc) = bytes.and_then(|b| serde_json::from_slice::<Value>(b).ok()) else {
        return Vec::new();
    };
    doc.get("entries")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| serde_json::from_value(e.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The cache, locked for a read-change-write.
pub struct Cache {
    file: LockedFile,
    /// Its entries.
    pub entries: Vec<Entry>,
}

impl Cache {
    /// Waits for the cache's lock and reads it.
    pub fn open() -> Result<Self> {
        let path = path()?;
        let file = LockedFile::open(&path)?;
        let entries = parse(file.read()?.as_deref());
        Ok(Self { file, entries })
    }

    /// The entry for exactly `key`.
    pub fn get(&self, key: &Key) -> Option<&Entry> {
        self.entries.iter().find(|e| &e.key == key)
    }

    /// Puts `entry` in, replacing the one with its key.
    pub fn insert(&mut self, entry: Entry) {
        self.entries.retain(|e| e.key != entry.key);
        self.entries.push(entry);
    }

    /// Writes the entries back (atomically, mode 0600).
    pub fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&File {
            version: VERSION,
            entries: &self.entries,
        })
        .map_err(|e| Fail::error(format!("encoding the cache: {e}")))?;
        Ok(self.file.replace(&bytes)?)
    }
}

/// Reads the cache without its lock (a rename never leaves half a file).
pub fn read_unlocked() -> Result<Vec<Entry>> {
    let bytes = std::fs::read(path()?).ok();
    Ok(parse(bytes.as_deref()))
}
