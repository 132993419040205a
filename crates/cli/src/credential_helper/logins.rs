//! What `regkit <provider> login --helper` tells the credential helper: for
//! each host Docker will ask about, the provider, registry, organization
//! and API address the login was given, so `docker-credential-regkit get`
//! mints for that registry later, in a shell where none of regkit's
//! variables are set. Only the provider's token must be in the
//! environment; no secret is stored here.
//!
//! The file is `$XDG_CONFIG_HOME/regkit/credential-helper.json` (else
//! `~/.config/regkit/credential-helper.json`):
//!
//! ```json
//! {"logins": {"packages.buildkite.com": {"provider": "buildkite", "org": "acme", "registry": "images"}}}
//! ```
//!
//! It is changed under the same advisory lock, atomic rename and mode 0600
//! as Docker's `config.json` ([`LockedFile`]); entries and keys this
//! version does not know are kept.

use std::path::PathBuf;

use regkit_core::Provider;
use regkit_workflows::docker_config::LockedFile;
use regkit_workflows::view::Registry;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::context::Context;
use crate::fail::{Fail, Result};

/// One `login --helper`: how to mint for a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperLogin {
    /// The provider's short name (`digitalocean`, `ionos`, …).
    pub provider: String,
    /// The registry's id, as the provider's credential source takes it.
    pub registry: String,
    /// The organization (Humanitec's org id, Buildkite's org slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The API address, when it is not the provider's own (`--base-url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The registry's host as the provider names it (it may carry a path,
    /// such as Humanitec's `host/project`).
    pub host: String,
    /// Whether the helper mints credentials that push (`login --helper
    /// --push`); read-only otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub push: bool,
}

impl HelperLogin {
    /// The provider.
    pub fn provider(&self) -> Option<Provider> {
        self.provider.parse().ok()
    }
}

/// The host Docker sends to `get` for `host` (and the `credHelpers` key):
/// the host alone, without a path, in lower case.
pub fn docker_host(host: &str) -> String {
    let host = host.trim();
    let host = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host);
    host.split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Where the logins are kept.
pub fn path() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home).join(".config"),
            None => {
                return Err(Fail::error(
                    "cannot find a configuration directory: set XDG_CONFIG_HOME or HOME",
                ));
            }
        },
    };
    Ok(base.join("regkit").join("credential-helper.json"))
}

/// What `login --helper` records for `registry` in `ctx`.
pub fn for_registry(ctx: &Context, registry: &Registry, host: &str, push: bool) -> HelperLogin {
    let url = ctx.account.base_url();
    let default = ctx.provider.info().default_base_url;
    let base_url =
        (url.trim_end_matches('/') != default.trim_end_matches('/')).then(|| url.to_string());
    let org = ctx.account.org().map(str::to_string);
    HelperLogin {
        provider: ctx.provider.name().to_string(),
        registry: registry.id.clone(),
        org,
        base_url,
        host: host.to_string(),
        push,
    }
}

/// Records `login` for the host Docker sends (`docker_host`), replacing
/// what an earlier login recorded for it and keeping every other entry.
/// Returns the file.
pub fn record(docker_host: &str, login: &HelperLogin) -> Result<PathBuf> {
    let path = path()?;
    let file = LockedFile::open(&path)?;
    let mut doc = match file.read()? {
        Some(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(Fail::error(format!(
                    "{}: not a JSON object; fix or remove it (it holds only what `login --helper` recorded)",
                    path.display()
                )));
            }
        },
        None => Map::new(),
    };
    let logins = doc
        .entry("logins")
        .or_insert_with(|| Value::Object(Map::new()));
    if !logins.is_object() {
        *logins = Value::Object(Map::new());
    }
    let entry = serde_json::to_value(login).map_err(|e| Fail::error(format!("encoding: {e}")))?;
    if let Some(map) = logins.as_object_mut() {
        map.insert(docker_host.to_string(), entry);
    }
    let mut bytes =
        serde_json::to_vec_pretty(&doc).map_err(|e| Fail::error(format!("encoding: {e}")))?;
    bytes.push(b'\n');
    file.replace(&bytes)?;
    Ok(file.path().to_path_buf())
}

/// The login recorded for `host` (the host Docker sent, with or without a
/// path), if any. A missing, unreadable or damaged file, or an entry this
/// version cannot read, is no login.
pub fn lookup(host: &str) -> Option<HelperLogin> {
    let bytes = std::fs::read(path().ok()?).ok()?;
    let doc: Value = serde_json::from_slice(&bytes).ok()?;
    let logins = doc.get("logins")?.as_object()?;
    let key = docker_host(host);
    serde_json::from_value(logins.get(&key)?.clone()).ok()
}
