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
//! `regkit` reads). What `regkit <provider> login --helper` recorded for the
//! host comes first (see [`logins`]): the provider, registry, organization
//! and API address the login was given, so only the provider's token need
//! be set. Without a recorded login:
//!
//! | host | provider | registry |
//! |---|---|---|
//! | `registry.digitalocean.com` | DigitalOcean | `REGKIT_DIGITALOCEAN_REGISTRY`, else the account's only (or first) registry |
//! | `<name>.cr.<location>.ionos.com` | IONOS | the registry with that host name |
//! | `packages.buildkite.com/<org>/<registry>` | Buildkite | from the path, else `REGKIT_BUILDKITE_ORG` and `REGKIT_BUILDKITE_REGISTRY` |
//! | any other host, when `REGKIT_HUMANITEC_ORG` is set | Humanitec | the organization's registry record with that host |
//!
//! `REGKIT_<PROVIDER>_REGISTRY_HOST` (`REGKIT_DIGITALOCEAN_REGISTRY_HOST`,
//! `REGKIT_BUILDKITE_REGISTRY_HOST`) names a host the provider's registries
//! are served on besides the documented one, such as the emulator's.
//!
//! An unknown host answers `credentials not found in native keychain` (exit
//! 1), as Docker expects, and Docker falls back to its other sources.
//!
//! Minted credentials are cached in
//! `$XDG_CACHE_HOME/regkit/docker-credentials.json` (else `~/.cache/…`),
//! mode 0600, under an advisory lock, per host, provider, API endpoint,
//! account (a SHA-256 fingerprint of the provider credentials) and
//! registry, and reused until 5 minutes before they
//! expire (one that does not expire, until 5 minutes before the TTL has
//! passed). Other environment variables: `REGKIT_CREDENTIAL_TTL` (how long
//! minted credentials last, `1h` by default, from `1s` to `365d`; zero is
//! refused) and `REGKIT_<PROVIDER>_BASE_URL` (`REGKIT_DIGITALOCEAN_BASE_URL`,
//! `REGKIT_IONOS_BASE_URL`, `REGKIT_HUMANITEC_BASE_URL`,
//! `REGKIT_BUILDKITE_BASE_URL`: talk to another API endpoint, such as the
//! emulator; it wins over the address `login --helper` recorded).

mod cache;
pub mod logins;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use regkit_core::runtime::ClientInfo;
use regkit_core::{GeneratedClient, Provider};
use regkit_workflows::lease::Lifetime;
use regkit_workflows::providers::{self, Account, Connect};
use serde::Serialize;

use self::cache::{Cache, Entry, Key};
use crate::context::{self, Endpoint};
use crate::fail::{EXIT_ERROR, Fail, Result};

/// What Docker expects when a helper has nothing for a server.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// How long before expiry a cached credential is replaced.
pub const MARGIN: Duration = Duration::from_secs(300);

/// How long minted credentials last unless `REGKIT_CREDENTIAL_TTL` says.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

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
        return fail(Fail::error(format!("reading stdin: {e}")));
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(Fail::error(format!("cannot start the runtime: {e}"))),
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
        Err(failed) => fail(failed),
    }
}

/// Docker reads a helper's error from its stdout; the exit code is the
/// class's (see `regkit`'s), any of them a failure to Docker.
fn fail(failed: Fail) -> ExitCode {
    println!("{}", failed.message);
    ExitCode::from(failed.code)
}

/// What Docker takes for "nothing here; ask elsewhere" (exit 1).
fn not_found() -> Fail {
    Fail {
        code: EXIT_ERROR,
        message: NOT_FOUND.to_string(),
    }
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
pub fn cache_path() -> Result<PathBuf> {
    cache::path()
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

async fn get(server_url: &str) -> Result<Option<String>> {
    if server_url.is_empty() {
        return Err(Fail::error("no server URL on stdin"));
    }
    let host = server_key(server_url);
    let ttl = ttl()?;
    let Some(route) = route(&host)? else {
        return Err(not_found());
    };
    let key = Key {
        host,
        provider: route.provider.name().to_string(),
        endpoint: route.endpoint.clone(),
        account: route.fingerprint.clone(),
        // A read-only credential is never served for a login that pushes.
        scope: if route.push {
            format!("{}:push", route.scope)
        } else {
            route.scope.clone()
        },
    };
    // Held until the new entry is written: concurrent `get`s wait, so none
    // is lost and one host is minted once.
    let mut cache = Cache::open()?;
    let now = Utc::now();
    let entry = match cache.get(&key).filter(|e| e.is_fresh(now, MARGIN)) {
        Some(entry) => entry.clone(),
        None => {
            let Some(credential) = route
                .account
                .credential_for_host(
                    &key.host,
                    route.registry.as_deref(),
                    Lifetime::Ttl(ttl),
                    route.push,
                )
                .await?
            else {
                return Err(not_found());
            };
            let fresh_until = match credential.expires_at {
                Some(at) => at,
                // Never reused for ever: at most the TTL, as if it expired.
                None => chrono::TimeDelta::from_std(ttl)
                    .ok()
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(now),
            };
            let entry = Entry {
                key,
                username: credential.username.clone(),
                secret: credential.password.expose_secret().to_string(),
                expires_at: credential.expires_at,
                fresh_until,
            };
            cache.insert(entry.clone());
            cache.save()?;
            entry
        }
    };
    drop(cache);
    serde_json::to_string(&GetAnswer {
        server_url,
        username: &entry.username,
        secret: &entry.secret,
    })
    .map(Some)
    .map_err(|e| Fail::error(format!("encoding the answer: {e}")))
}

/// Drops every cached credential of the server, whichever account minted it.
fn erase(server_url: &str) -> Result<()> {
    let host = server_key(server_url);
    let mut cache = Cache::open()?;
    let before = cache.entries.len();
    cache.entries.retain(|e| e.key.host != host);
    if cache.entries.len() != before {
        cache.save()?;
    }
    Ok(())
}

fn list() -> Result<String> {
    let entries = cache::read_unlocked()?;
    let listed: BTreeMap<&str, &str> = entries
        .iter()
        .map(|e| {
            // DigitalOcean's user name is the token itself.
            let user = if e.username == e.secret {
                "[REDACTED]"
            } else {
                e.username.as_str()
            };
            (e.key.host.as_str(), user)
        })
        .collect();
    serde_json::to_string(&listed).map_err(|e| Fail::error(format!("encoding the list: {e}")))
}

/// The base URL override variable of `provider`.
pub fn base_url_env(provider: Provider) -> String {
    format!("REGKIT_{}_BASE_URL", provider.name().to_ascii_uppercase())
}

/// How the helper reaches a provider's API: `REGKIT_<PROVIDER>_BASE_URL`,
/// else `recorded` (what `login --helper` was given), else the provider's
/// API, with the credentials from the environment.
struct HelperEndpoint<'a> {
    provider: Provider,
    recorded: Option<&'a str>,
}

impl Connect for HelperEndpoint<'_> {
    type Error = Fail;

    fn client<C>(&self) -> Result<C>
    where
        C: GeneratedClient + ClientInfo<regkit_core::Inner> + Clone + Send + Sync + 'static,
    {
        let from_env = env(&base_url_env(self.provider));
        let base = from_env.as_deref().or(self.recorded).map(str::trim);
        context::client::<C>(Endpoint::Env { base_url: base })
    }

    fn registry_host(&self, provider: Provider) -> Option<String> {
        context::registry_host_env(provider)
    }
}

/// A fingerprint of the account: SHA-256 over the provider, the endpoint
/// and every credential variable the provider's client reads (so any
/// change of token, user or password is another account). Only the first
/// 16 bytes, in hex; the credentials cannot be recovered from it.
fn fingerprint(provider: Provider, endpoint: &str) -> String {
    use regkit_core::AuthScheme;
    let info = provider.info();
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    digest.update(info.name.as_bytes());
    digest.update(b"\0");
    digest.update(endpoint.as_bytes());
    for scheme in info.auth {
        let (first, second): (&[&str], &[&str]) = match scheme {
            AuthScheme::Bearer { env } | AuthScheme::ApiKey { env, .. } => (env, &[]),
            AuthScheme::Basic {
                username_env,
                password_env,
                ..
            } => (username_env, password_env),
        };
        for name in first.iter().chain(second) {
            digest.update(b"\0");
            digest.update(name.as_bytes());
            digest.update(b"=");
            digest.update(env(name).unwrap_or_default().trim().as_bytes());
        }
    }
    digest
        .finish()
        .as_ref()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn ttl() -> Result<Duration> {
    match env("REGKIT_CREDENTIAL_TTL") {
        Some(t) => crate::cli::parse_ttl(&t)
            .map_err(|e| Fail::error(format!("REGKIT_CREDENTIAL_TTL: {e}"))),
        None => Ok(DEFAULT_TTL),
    }
}

/// Where a host's credentials come from, known before anything is sent.
struct Route {
    provider: Provider,
    endpoint: String,
    /// The account's fingerprint.
    fingerprint: String,
    /// `org/registry` where known before minting.
    scope: String,
    account: Box<dyn Account>,
    /// The registry, where known before minting.
    registry: Option<String>,
    /// Whether to mint credentials that push (`login --helper --push`).
    push: bool,
}

impl Route {
    /// Opens `provider`'s account scoped to `org` (where its API has one),
    /// for `registry` where known.
    fn open(
        provider: Provider,
        org: Option<String>,
        registry: Option<String>,
        recorded: Option<&str>,
    ) -> Result<Route> {
        let account = providers::account(
            provider,
            org.as_deref(),
            &HelperEndpoint { provider, recorded },
        )?;
        let endpoint = account.base_url().trim_end_matches('/').to_string();
        let scope = [org.as_deref(), registry.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
        Ok(Route {
            provider,
            fingerprint: fingerprint(provider, &endpoint),
            endpoint,
            scope,
            account,
            registry,
            push: false,
        })
    }
}

/// `REGKIT_<PROVIDER>_<PART>` (`REGKIT_BUILDKITE_ORG`,
/// `REGKIT_DIGITALOCEAN_REGISTRY`, …).
fn part_env(provider: Provider, part: &str) -> Option<String> {
    env(&format!(
        "REGKIT_{}_{}",
        provider.name().to_ascii_uppercase(),
        part.to_ascii_uppercase()
    ))
}

/// The route for the server `key` (host, maybe with a path), or `None`
/// when no provider serves it.
fn route(key: &str) -> Result<Option<Route>> {
    if let Some(login) = logins::lookup(key) {
        return route_from_login(&login).map(Some);
    }
    let (host, path) = key.split_once('/').unwrap_or((key, ""));
    // Each provider that hosts registries says whether the host is one of
    // its registry hosts (the manifest's host rules) and which registry
    // parts its path names; what the path lacks comes from the
    // environment. Humanitec, whose records name other providers' hosts,
    // answers last, for any host, once its organization is set.
    let overridden = Provider::ALL
        .into_iter()
        .find(|p| context::registry_host_env(*p).is_some_and(|h| h.eq_ignore_ascii_case(host)));
    if let Some(provider) = overridden.or_else(|| Provider::serving_host(host)) {
        let parts = provider
            .info()
            .data_plane
            .host()
            .map(|h| h.path_parts(path))
            .unwrap_or_default();
        let part = |name: &str| {
            parts
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| part_env(provider, name))
        };
        let org = part("org");
        if org.is_none() && providers::org_kind(provider).is_some() {
            return Ok(None);
        }
        return Route::open(provider, org, part("registry"), None).map(Some);
    }
    match part_env(Provider::Humanitec, "org") {
        Some(org) => Route::open(Provider::Humanitec, Some(org), None, None).map(Some),
        None => Ok(None),
    }
}

/// The route `login --helper` recorded.
fn route_from_login(login: &logins::HelperLogin) -> Result<Route> {
    let provider = login.provider().ok_or_else(|| {
        Fail::error(format!(
            "`login --helper` recorded an unknown provider {:?}; run it again",
            login.provider
        ))
    })?;
    if login.org.is_none() && providers::org_kind(provider).is_some() {
        return Err(Fail::error(format!(
            "`login --helper` recorded no organization for {provider}; run it again"
        )));
    }
    let mut route = Route::open(
        provider,
        login.org.clone(),
        Some(login.registry.clone()),
        login.base_url.as_deref(),
    )?;
    route.push = login.push;
    Ok(route)
}
