//! `docker-credential-regkit`: Docker's credential-helper protocol over
//! regkit's credential leases.
//!
//! Docker (and containerd) run `docker-credential-regkit <action>` with the
//! request on stdin:
//!
//! | action | stdin | stdout |
//! |---|---|---|
//! | `get` | a server URL | `{"ServerURL","Username","Secret"}` |
//! | `store` | `{"ServerURL","Username","Secret"}` | nothing (accepted and ignored: regkit mints its own) |
//! | `erase` | a server URL | nothing (the cached credential is dropped) |
//! | `list` | nothing | `{"<server URL>": "<user name>"}` of the cache |
//!
//! `get` maps the host to a provider and mints a short-lived credential
//! with the provider's credentials from the environment (the variables
//! `regkit` reads):
//!
//! | host | provider | registry |
//! |---|---|---|
//! | `registry.digitalocean.com` | DigitalOcean | `REGKIT_DIGITALOCEAN_REGISTRY`, else the account's only (or first) registry |
//! | `<name>.cr.<location>.ionos.com` | IONOS | the registry with that host name |
//! | `packages.buildkite.com/<org>/<registry>` | Buildkite | from the path, else `REGKIT_BUILDKITE_ORG` and `REGKIT_BUILDKITE_REGISTRY` |
//! | any other host, when `REGKIT_HUMANITEC_ORG` is set | Humanitec | the organization's registry record with that host |
//!
//! An unknown host answers `credentials not found in native keychain` (exit
//! 1), as Docker expects, and Docker falls back to its other sources.
//!
//! Minted credentials are cached in
//! `$XDG_CACHE_HOME/regkit/docker-credentials.json` (else
//! `~/.cache/regkit/…`), mode 0600, replaced atomically, and reused until 5
//! minutes before they expire. Other environment variables:
//! `REGKIT_CREDENTIAL_TTL` (how long minted credentials last, `1h` by
//! default) and `REGKIT_<PROVIDER>_BASE_URL` (`REGKIT_DIGITALOCEAN_BASE_URL`,
//! `REGKIT_IONOS_BASE_URL`, `REGKIT_HUMANITEC_BASE_URL`,
//! `REGKIT_BUILDKITE_BASE_URL`: talk to another API endpoint, such as the
//! emulator).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use regkit_core::GeneratedClient;
use regkit_emulator::Provider;
use regkit_workflows::lease::{
    BuildkiteSource, CredentialSource, DigitalOceanSource, DockerCredential, HumanitecSource,
    IonosSource,
};
use regkit_workflows::view::{IonosView, RegistryView as _};
use serde::{Deserialize, Serialize};

use crate::context::{self, Endpoint};

/// What Docker expects when a helper has nothing for a server.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// How long before expiry a cached credential is replaced.
pub const MARGIN: Duration = Duration::from_secs(300);

/// How long minted credentials last unless `REGKIT_CREDENTIAL_TTL` says.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

const DO_HOST: &str = "registry.digitalocean.com";
const BUILDKITE_HOST: &str = "packages.buildkite.com";

const USAGE: &str = "usage: docker-credential-regkit <get|store|erase|list|version>\n\
A Docker credential helper: Docker runs it with the request on stdin.";

/// Runs the helper with this process's arguments and standard streams.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let action = match args.as_slice() {
        [a] => a.as_str(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match action {
        "version" | "--version" => {
            println!("docker-credential-regkit {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        "--help" | "-h" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "get" | "store" | "erase" | "list" => {}
        other => {
            eprintln!("docker-credential-regkit: unknown action {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut input = String::new();
    if action != "list"
        && let Err(e) = std::io::stdin().read_to_string(&mut input)
    {
        return fail(&format!("reading stdin: {e}"));
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = match action {
        "get" => runtime.block_on(get(input.trim())),
        "store" => Ok(None),
        "erase" => erase(input.trim()).map(|()| None),
        _ => list().map(Some),
    };
    match result {
        Ok(Some(out)) => {
            let mut stdout = std::io::stdout().lock();
            if writeln!(stdout, "{out}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

/// Docker reads a helper's error from its stdout.
fn fail(message: &str) -> ExitCode {
    println!("{message}");
    ExitCode::FAILURE
}

/// One cached credential.
#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    provider: String,
    username: String,
    secret: String,
    expires_at: Option<DateTime<Utc>>,
}

/// The cache file.
#[derive(Default, Serialize, Deserialize)]
struct Cache {
    #[serde(default)]
    credentials: BTreeMap<String, Entry>,
}

/// The server URL as the cache keys it: no scheme, no trailing `/`.
fn server_key(server_url: &str) -> String {
    let s = server_url.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.trim_end_matches('/').to_ascii_lowercase()
}

/// Where the cache lives.
pub fn cache_path() -> Result<PathBuf, String> {
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
        None => Err("cannot find a cache directory: set XDG_CACHE_HOME or HOME".into()),
    }
}

fn read_cache(path: &Path) -> Cache {
    // A missing, unreadable or damaged cache is an empty one: credentials
    // are minted again.
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Replaces the cache file atomically: a new 0600 file beside it, synced,
/// renamed over the old one.
fn write_cache(path: &Path, cache: &Cache) -> Result<(), String> {
    let dir = path
        .parent()
        .ok_or_else(|| format!("{}: no parent directory", path.display()))?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let bytes = serde_json::to_vec_pretty(cache).map_err(|e| format!("encoding the cache: {e}"))?;
    let tmp = dir.join(format!(
        ".docker-credentials.json.{}.{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(&bytes)?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(())
}

#[derive(Serialize)]
struct GetAnswer<'a> {
    #[serde(rename = "ServerURL")]
    server_url: &'a str,
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Secret")]
    secret: &'a str,
}

async fn get(server_url: &str) -> Result<Option<String>, String> {
    if server_url.is_empty() {
        return Err("no server URL on stdin".into());
    }
    let key = server_key(server_url);
    let path = cache_path()?;
    let mut cache = read_cache(&path);
    let now = Utc::now();
    let fresh = |e: &Entry| {
        e.expires_at.is_none_or(|at| {
            chrono::TimeDelta::from_std(MARGIN)
                .ok()
                .and_then(|m| at.checked_sub_signed(m))
                .is_some_and(|refresh_at| now < refresh_at)
        })
    };
    let entry = match cache.credentials.get(&key).filter(|e| fresh(e)) {
        Some(entry) => entry.clone(),
        None => {
            let Some((provider, credential)) = mint_for(&key).await? else {
                return Err(NOT_FOUND.into());
            };
            let entry = Entry {
                provider: provider.name().to_string(),
                username: credential.username.clone(),
                secret: credential.password.expose_secret().to_string(),
                expires_at: credential.expires_at,
            };
            cache.credentials.insert(key.clone(), entry.clone());
            write_cache(&path, &cache)?;
            entry
        }
    };
    serde_json::to_string(&GetAnswer {
        server_url,
        username: &entry.username,
        secret: &entry.secret,
    })
    .map(Some)
    .map_err(|e| format!("encoding the answer: {e}"))
}

fn erase(server_url: &str) -> Result<(), String> {
    let key = server_key(server_url);
    let path = cache_path()?;
    let mut cache = read_cache(&path);
    if cache.credentials.remove(&key).is_some() {
        write_cache(&path, &cache)?;
    }
    Ok(())
}

fn list() -> Result<String, String> {
    let cache = read_cache(&cache_path()?);
    let listed: BTreeMap<&str, &str> = cache
        .credentials
        .iter()
        .map(|(k, e)| {
            // DigitalOcean's user name is the token itself.
            let user = if e.username == e.secret {
                "[REDACTED]"
            } else {
                e.username.as_str()
            };
            (k.as_str(), user)
        })
        .collect();
    serde_json::to_string(&listed).map_err(|e| format!("encoding the list: {e}"))
}

/// The base URL override variable of `provider`.
pub fn base_url_env(provider: Provider) -> String {
    format!("REGKIT_{}_BASE_URL", provider.name().to_ascii_uppercase())
}

fn client<C: GeneratedClient>(provider: Provider) -> Result<C, String> {
    let base = std::env::var(base_url_env(provider))
        .ok()
        .filter(|u| !u.trim().is_empty());
    context::client::<C>(Endpoint::Env {
        base_url: base.as_deref().map(str::trim),
    })
    .map_err(|f| f.message)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn ttl() -> Result<Duration, String> {
    match env("REGKIT_CREDENTIAL_TTL") {
        Some(t) => {
            crate::cli::parse_duration(&t).map_err(|e| format!("REGKIT_CREDENTIAL_TTL: {e}"))
        }
        None => Ok(DEFAULT_TTL),
    }
}

/// Mints a credential for the server `key`, or `None` when no provider
/// serves that host.
async fn mint_for(key: &str) -> Result<Option<(Provider, DockerCredential)>, String> {
    let (host, path) = key.split_once('/').unwrap_or((key, ""));
    let ttl = ttl()?;
    let err = |e: regkit_workflows::Error| e.to_string();
    if host == DO_HOST {
        let c: regkit_digitalocean::Client = client(Provider::DigitalOcean)?;
        let registry = match env("REGKIT_DIGITALOCEAN_REGISTRY") {
            Some(r) => r,
            None => {
                let view = regkit_workflows::view::DigitalOceanView::new(c.clone());
                let mut names: Vec<String> = view
                    .registries()
                    .await
                    .map_err(err)?
                    .into_iter()
                    .map(|r| r.name)
                    .collect();
                names.sort();
                names
                    .into_iter()
                    .next()
                    .ok_or("the DigitalOcean account has no registry")?
            }
        };
        let cred = DigitalOceanSource::new(c)
            .registry(registry)
            .mint(ttl, false)
            .await
            .map_err(err)?;
        return Ok(Some((Provider::DigitalOcean, cred)));
    }
    if host.ends_with(".ionos.com") && host.contains(".cr.") {
        let c: regkit_ionos::Client = client(Provider::Ionos)?;
        let registries = IonosView::new(c.clone()).registries().await.map_err(err)?;
        let Some(registry) = registries.into_iter().find(|r| {
            r.host
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(host))
        }) else {
            return Ok(None);
        };
        let cred = IonosSource::new(c, registry.id)
            .host(host)
            .mint(ttl, false)
            .await
            .map_err(err)?;
        return Ok(Some((Provider::Ionos, cred)));
    }
    if host == BUILDKITE_HOST {
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        let (org, registry) = match (parts.next(), parts.next()) {
            (Some(o), Some(r)) => (o.to_string(), r.to_string()),
            _ => match (
                env("REGKIT_BUILDKITE_ORG"),
                env("REGKIT_BUILDKITE_REGISTRY"),
            ) {
                (Some(o), Some(r)) => (o, r),
                _ => return Ok(None),
            },
        };
        let c: regkit_buildkite::Client = client(Provider::Buildkite)?;
        let cred = BuildkiteSource::new(c, org, registry)
            .host(key)
            .mint(ttl, false)
            .await
            .map_err(err)?;
        return Ok(Some((Provider::Buildkite, cred)));
    }
    if let Some(org) = env("REGKIT_HUMANITEC_ORG") {
        let c: regkit_humanitec::Client = client(Provider::Humanitec)?;
        let records: Vec<regkit_humanitec::types::RegistryResponse> = c
            .list_registries()
            .org_id(org.as_str())
            .stream()
            .try_collect()
            .await
            .map_err(|e| format!("humanitec list_registries: {e}"))?;
        let Some(record) = records
            .into_iter()
            .find(|r| server_key(&r.registry) == key || server_key(&r.registry) == host)
        else {
            return Ok(None);
        };
        let cred = HumanitecSource::new(c, org, record.id)
            .mint(ttl, false)
            .await
            .map_err(err)?;
        return Ok(Some((Provider::Humanitec, cred)));
    }
    Ok(None)
}
