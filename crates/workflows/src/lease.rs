//! Short-lived Docker credentials, one shape for every provider, and a
//! [`Lease`] that keeps one fresh and revokes what can be revoked.
//!
//! | provider | source | expiry | revoke |
//! |---|---|---|---|
//! | DigitalOcean | [`DigitalOceanSource`]: `docker-credentials` with `expiry_seconds` and `read_write` | the [`Lifetime`] asked for | no API |
//! | IONOS | [`IonosSource`]: a scoped registry token with an expiry date | the [`Lifetime`] asked for | token delete |
//! | Humanitec | [`HumanitecSource`]: a registry record's current login | the provider's | no API |
//! | Buildkite | [`BuildkiteSource`]: a registry token (read only) | none | token delete |
//! | ABEJA | [`AbejaSource`]: no credential API | — | — |
//!
//! Every credential is asked for with a [`Lifetime`]: a TTL of more than
//! zero and at most [`MAX_TTL`], or [`Lifetime::NeverExpires`], which must
//! be asked for by name. A zero or longer TTL is an [`Error::InvalidInput`]
//! before anything is sent (DigitalOcean reads `expiry_seconds=0` as "never
//! expires", so a zero must never reach it by accident).
//!
//! What a provider cannot do is an [`Error::Unsupported`]: minting on ABEJA
//! (capability [`Capability::DockerCredentials`]), revoking on DigitalOcean
//! or Humanitec ([`Capability::RevokeCredentials`]); ask first with
//! [`CredentialSource::supports_revoke`].
//!
//! A credential's password is a [`SecretString`]: `Debug`, `Display` and
//! serialisation of [`DockerCredential`], [`Lease`] and the errors never show
//! it; read it with [`SecretString::expose_secret`] where it is needed (a
//! Docker `config.json`, see [`crate::docker_config`]).
//!
//! ```no_run
//! # async fn demo(client: regkit_ionos::Client) -> regkit_workflows::Result<()> {
//! use std::time::Duration;
//! use regkit_workflows::lease::{IonosSource, Lease};
//!
//! let lease = Lease::new(IonosSource::new(client, "8f0c6a2e-…"))
//!     .ttl(Duration::from_secs(3600))
//!     .write(true);
//! let cred = lease.get().await?; // minted now, refreshed 5 min before it expires
//! regkit_workflows::docker_config::merge_credential(
//!     &regkit_workflows::docker_config::DockerConfig::from_env()?.path(),
//!     &cred,
//! )?;
//! lease.revoke().await?; // the IONOS token is deleted; a failure is an error
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, SubsecRound as _, Utc};
use regkit_core::SecretString;
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::{Capability, Error, Result};

/// Docker login for one registry host.
///
/// `Debug` and `Display` show the password as `[REDACTED]`; serialising
/// (for reports) leaves the password out altogether. Where the user name is
/// the secret itself (DigitalOcean logs in with its token as both), the
/// user name is redacted too.
#[derive(Clone, PartialEq, Eq)]
pub struct DockerCredential {
    /// The host Docker logs in to (`registry.digitalocean.com`,
    /// `name.cr.de-fra.ionos.com`, …); Humanitec may add a path
    /// (`host/project`).
    pub host: String,
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: SecretString,
    /// When it stops working; `None` when it does not expire.
    pub expires_at: Option<DateTime<Utc>>,
    /// The provider's id of the credential, when it is a revocable object
    /// (an IONOS or Buildkite token id); not secret.
    pub id: Option<String>,
}

impl DockerCredential {
    /// Base64 of `username:password`, the `auth` value of Docker's
    /// `config.json` (a secret).
    pub fn docker_auth(&self) -> SecretString {
        SecretString::new(base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.username,
            self.password.expose_secret()
        )))
    }

    /// Whether, at `now`, the credential expires within `margin` (or has
    /// expired). A credential without expiry is never due.
    pub fn is_due(&self, now: DateTime<Utc>, margin: Duration) -> bool {
        let Some(expires_at) = self.expires_at else {
            return false;
        };
        let margin = chrono::TimeDelta::from_std(margin).unwrap_or(chrono::TimeDelta::MAX);
        match expires_at.checked_sub_signed(margin) {
            Some(refresh_at) => now >= refresh_at,
            None => true,
        }
    }
}

impl DockerCredential {
    /// The user name as it may be shown: `[REDACTED]` when it is the
    /// password itself.
    pub fn shown_username(&self) -> &str {
        if self.username == self.password.expose_secret() {
            "[REDACTED]"
        } else {
            &self.username
        }
    }
}

impl fmt::Debug for DockerCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerCredential")
            .field("host", &self.host)
            .field("username", &self.shown_username())
            .field("password", &self.password)
            .field("expires_at", &self.expires_at)
            .field("id", &self.id)
            .finish()
    }
}

/// Host, user name (redacted when it is the secret), expiry and id; never
/// the password.
impl Serialize for DockerCredential {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("DockerCredential", 4)?;
        s.serialize_field("host", &self.host)?;
        s.serialize_field("username", self.shown_username())?;
        s.serialize_field("expires_at", &self.expires_at)?;
        s.serialize_field("id", &self.id)?;
        s.end()
    }
}

impl fmt::Display for DockerCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.shown_username(), self.host)?;
        match self.expires_at {
            Some(t) => write!(f, " (expires {})", t.to_rfc3339()),
            None => f.write_str(" (does not expire)"),
        }
    }
}

/// The longest TTL regkit asks any provider for: a year. Longer is a
/// mistake (a unit typo such as `100000d`) rather than a plan; a credential
/// that is not to expire is asked for as [`Lifetime::NeverExpires`].
pub const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// The shortest TTL: one second (the providers count whole seconds).
pub const MIN_TTL: Duration = Duration::from_secs(1);

/// How long a minted credential is to last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// Expires this long after it is minted, where the provider lets the
    /// caller choose: from [`MIN_TTL`] to [`MAX_TTL`].
    Ttl(Duration),
    /// Never expires, where the provider allows it (DigitalOcean, IONOS).
    /// Only ever used when asked for by name: no TTL value means this.
    NeverExpires,
}

impl Lifetime {
    /// `self`, or an [`Error::InvalidInput`] saying why a TTL cannot be
    /// used: zero, under [`MIN_TTL`] or over [`MAX_TTL`].
    pub fn checked(self) -> Result<Self> {
        let Lifetime::Ttl(ttl) = self else {
            return Ok(self);
        };
        if ttl.is_zero() {
            return Err(Error::InvalidInput(
                "a TTL of zero is refused: it would mint a credential that never expires;                  give a TTL (e.g. 1h), or ask for Lifetime::NeverExpires by name"
                    .into(),
            ));
        }
        if ttl < MIN_TTL {
            return Err(Error::InvalidInput(format!(
                "a TTL of {ttl:?} is shorter than the minimum of 1 s"
            )));
        }
        if ttl > MAX_TTL {
            return Err(Error::InvalidInput(format!(
                "a TTL of {} s is longer than the maximum of {} s (365 days)",
                ttl_secs(ttl),
                MAX_TTL.as_secs()
            )));
        }
        Ok(self)
    }
}

impl From<Duration> for Lifetime {
    /// A TTL (checked when used, so a zero is refused, never read as "no
    /// expiry").
    fn from(ttl: Duration) -> Self {
        Lifetime::Ttl(ttl)
    }
}

/// Where Docker credentials come from: one implementation per provider.
#[async_trait::async_trait]
pub trait CredentialSource: Send + Sync {
    /// The provider's short name (`digitalocean`, `ionos`, …).
    fn provider(&self) -> &'static str;

    /// Whether [`CredentialSource::revoke`] can revoke a credential before
    /// it expires.
    fn supports_revoke(&self) -> bool {
        false
    }

    /// Mints a credential that lasts `lifetime` (where the provider lets
    /// the caller choose), able to push as well as pull when `write`. A
    /// TTL that [`Lifetime::checked`] refuses is an [`Error::InvalidInput`]
    /// and nothing is sent.
    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential>;

    /// Revokes `credential` (which this source minted). A credential the
    /// provider no longer knows counts as revoked.
    async fn revoke(&self, credential: &DockerCredential) -> Result<()> {
        let _ = credential;
        Err(Error::Unsupported {
            provider: self.provider(),
            capability: Capability::RevokeCredentials,
        })
    }
}

#[async_trait::async_trait]
impl<S: CredentialSource + ?Sized> CredentialSource for Box<S> {
    fn provider(&self) -> &'static str {
        (**self).provider()
    }
    fn supports_revoke(&self) -> bool {
        (**self).supports_revoke()
    }
    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential> {
        (**self).mint(lifetime, write).await
    }
    async fn revoke(&self, credential: &DockerCredential) -> Result<()> {
        (**self).revoke(credential).await
    }
}

#[async_trait::async_trait]
impl<S: CredentialSource + ?Sized> CredentialSource for Arc<S> {
    fn provider(&self) -> &'static str {
        (**self).provider()
    }
    fn supports_revoke(&self) -> bool {
        (**self).supports_revoke()
    }
    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential> {
        (**self).mint(lifetime, write).await
    }
    async fn revoke(&self, credential: &DockerCredential) -> Result<()> {
        (**self).revoke(credential).await
    }
}

/// `now + ttl`, or `None` for a credential that never expires; a TTL
/// [`Lifetime::checked`] refuses is an error.
fn expiry_after(now: DateTime<Utc>, lifetime: Lifetime) -> Result<Option<DateTime<Utc>>> {
    let Lifetime::Ttl(ttl) = lifetime.checked()? else {
        return Ok(None);
    };
    chrono::TimeDelta::from_std(ttl)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .map(Some)
        .ok_or_else(|| Error::InvalidInput(format!("a TTL of {} s is too long", ttl.as_secs())))
}

/// Whole seconds of `ttl`, rounded up.
fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}

// ------------------------------------------------------------ DigitalOcean

/// DigitalOcean: `registries_get_docker_credentials` for a named registry,
/// or the account's registry (`registry_get_docker_credentials`) when none
/// is named. The TTL becomes `expiry_seconds` (rounded up to whole
/// seconds; [`Lifetime::NeverExpires`] is `0`, DigitalOcean's "never"),
/// `write` becomes `read_write`. DigitalOcean cannot revoke them:
/// keep the TTL short.
#[derive(Clone)]
pub struct DigitalOceanSource {
    client: regkit_digitalocean::Client,
    registry: Option<String>,
    clock: Arc<dyn Clock>,
}

impl DigitalOceanSource {
    /// Credentials for the account's registry.
    pub fn new(client: regkit_digitalocean::Client) -> Self {
        Self {
            client,
            registry: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Credentials for the named registry (multi-registry API).
    pub fn registry(mut self, name: impl Into<String>) -> Self {
        self.registry = Some(name.into());
        self
    }

    /// The clock that dates the credentials' expiry (the system clock by
    /// default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl fmt::Debug for DigitalOceanSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigitalOceanSource")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// The one login in a DigitalOcean `DockerCredentials` answer (the first
/// host in name order when there are several).
fn from_docker_config(
    auths: &std::collections::HashMap<String, regkit_digitalocean::types::DockerCredentialsAuth>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<DockerCredential> {
    let mut hosts: Vec<&String> = auths.keys().collect();
    hosts.sort();
    let host = hosts.first().ok_or_else(|| {
        Error::Unexpected("docker-credentials answered without a registry host".into())
    })?;
    let auth = auths[*host]
        .auth
        .as_ref()
        .ok_or_else(|| Error::Unexpected(format!("docker-credentials for {host} has no `auth`")))?;
    let (username, password) = split_auth(auth).ok_or_else(|| {
        Error::Unexpected(format!(
            "docker-credentials for {host}: `auth` is not base64 of user:password"
        ))
    })?;
    Ok(DockerCredential {
        host: (*host).clone(),
        username,
        password,
        expires_at,
        id: None,
    })
}

/// Decodes a Docker `auth` value into user name and password. `None` (and
/// nothing of the value in any message) when it is malformed.
pub(crate) fn split_auth(auth: &SecretString) -> Option<(String, SecretString)> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let raw = engines
        .iter()
        .find_map(|e| e.decode(auth.expose_secret().trim()).ok())?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    if user.is_empty() {
        return None;
    }
    Some((user.to_string(), SecretString::new(password)))
}

#[async_trait::async_trait]
impl CredentialSource for DigitalOceanSource {
    fn provider(&self) -> &'static str {
        "digitalocean"
    }

    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential> {
        // Dated from before the request: never later than DigitalOcean's.
        let expires_at = expiry_after(self.clock.now(), lifetime)?;
        let secs = match lifetime {
            Lifetime::Ttl(ttl) => ttl_secs(ttl),
            Lifetime::NeverExpires => 0,
        };
        let answer = match &self.registry {
            Some(name) => {
                self.client
                    .registries_get_docker_credentials()
                    .registry_name(name.as_str())
                    .expiry_seconds(secs)
                    .read_write(write)
                    .send()
                    .await?
            }
            None => {
                self.client
                    .registry_get_docker_credentials()
                    .expiry_seconds(secs)
                    .read_write(write)
                    .send()
                    .await?
            }
        };
        from_docker_config(&answer.into_inner().auths, expires_at)
    }
}

// ------------------------------------------------------------------ IONOS

/// Process-wide counter that keeps token names unique within a second.
static TOKEN_SEQ: AtomicU64 = AtomicU64::new(0);

/// IONOS: a token on the registry (`registriesTokensPost`) scoped to
/// repositories matching a pattern (`*` by default) with `pull` (and `push`
/// when `write`), expiring after the TTL (no expiry date for
/// [`Lifetime::NeverExpires`]). The user name is the token's,
/// the password comes from the create answer only (IONOS never shows it
/// again), the host is the registry's hostname. Revoking deletes the token
/// (`registriesTokensDelete`).
#[derive(Clone)]
pub struct IonosSource {
    client: regkit_ionos::Client,
    registry_id: String,
    host: Option<String>,
    name_prefix: String,
    scope: String,
    clock: Arc<dyn Clock>,
}

impl IonosSource {
    /// Tokens on the registry with id `registry_id`.
    pub fn new(client: regkit_ionos::Client, registry_id: impl Into<String>) -> Self {
        Self {
            client,
            registry_id: registry_id.into(),
            host: None,
            name_prefix: "regkit".into(),
            scope: "*".into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The host to log in to, instead of asking for the registry's hostname
    /// at each mint.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// How token names start (`regkit` by default); the rest is the time
    /// and a sequence number. Must start with a letter and hold only
    /// letters, digits and `-`.
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = prefix.into();
        self
    }

    /// The repositories the token may reach (a name or glob, `*` by
    /// default).
    pub fn scope(mut self, pattern: impl Into<String>) -> Self {
        self.scope = pattern.into();
        self
    }

    /// The clock that dates the tokens' expiry (the system clock by
    /// default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    async fn hostname(&self) -> Result<String> {
        if let Some(host) = &self.host {
            return Ok(host.clone());
        }
        let registry = self
            .client
            .registries_find_by_id()
            .registry_id(self.registry_id.as_str())
            .send()
            .await?
            .into_inner();
        registry
            .properties
            .and_then(|p| p.hostname)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                Error::Unexpected(format!(
                    "IONOS registry {} has no hostname yet (still provisioning?)",
                    self.registry_id
                ))
            })
    }

    fn token_name(
        &self,
        now: DateTime<Utc>,
    ) -> Result<regkit_ionos::types::PostTokenPropertiesName> {
        let seq = TOKEN_SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}-{}-{}-{seq}",
            self.name_prefix,
            now.format("%Y%m%d%H%M%S"),
            std::process::id()
        );
        name.parse().map_err(|_| {
            Error::InvalidInput(format!(
                "IONOS token name {name:?} is not valid (a letter, then up to 62 letters, digits or `-`); choose another prefix"
            ))
        })
    }
}

impl fmt::Debug for IonosSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IonosSource")
            .field("registry_id", &self.registry_id)
            .field("host", &self.host)
            .field("name_prefix", &self.name_prefix)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialSource for IonosSource {
    fn provider(&self) -> &'static str {
        "ionos"
    }

    fn supports_revoke(&self) -> bool {
        true
    }

    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential> {
        use regkit_ionos::types;
        lifetime.checked()?;
        let host = self.hostname().await?;
        let now = self.clock.now();
        // IONOS dates expiry to the second; round down so ours is not later.
        let expiry = expiry_after(now, lifetime)?.map(|t| t.trunc_subsecs(0));
        let mut actions = vec!["pull".to_string()];
        if write {
            actions.push("push".into());
        }
        let body = types::PostTokenInput {
            properties: types::PostTokenProperties {
                expiry_date: expiry,
                name: self.token_name(now)?,
                scopes: Some(vec![types::Scope {
                    actions: Some(actions),
                    name: self.scope.clone(),
                    type_: "repository".into(),
                }]),
                status: None,
            },
        };
        let token = self
            .client
            .registries_tokens_post()
            .registry_id(self.registry_id.as_str())
            .body(body)
            .send()
            .await?
            .into_inner();
        let id = token
            .id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::Unexpected("IONOS created a token without an id".into()))?;
        let properties = token.properties.ok_or_else(|| {
            Error::Unexpected(format!("IONOS token {id} was created without properties"))
        })?;
        let credentials = properties
            .credentials
            .filter(|c| !c.password.is_empty() && !c.username.is_empty())
            .ok_or_else(|| {
                Error::Unexpected(format!(
                    "IONOS token {id} was created without its user name and password"
                ))
            })?;
        Ok(DockerCredential {
            host,
            username: credentials.username,
            password: credentials.password,
            expires_at: properties.expiry_date.or(expiry),
            id: Some(id),
        })
    }

    async fn revoke(&self, credential: &DockerCredential) -> Result<()> {
        let id = credential.id.as_deref().ok_or_else(|| {
            Error::InvalidInput("this credential has no IONOS token id to revoke".into())
        })?;
        match self
            .client
            .registries_tokens_delete()
            .registry_id(self.registry_id.as_str())
            .token_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(gone) if gone.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

// -------------------------------------------------------------- Humanitec

/// Humanitec: the current login of a registry record
/// (`get_registry_credentials`). Humanitec chooses the expiry (the TTL is
/// checked, then not sent) and cannot revoke; a record of type `public` or `secret_ref`
/// hands out no login, which is an [`Error::Unexpected`].
#[derive(Clone)]
pub struct HumanitecSource {
    client: regkit_humanitec::Client,
    org_id: String,
    registry_id: String,
}

impl HumanitecSource {
    /// The login of registry record `registry_id` of organization `org_id`.
    pub fn new(
        client: regkit_humanitec::Client,
        org_id: impl Into<String>,
        registry_id: impl Into<String>,
    ) -> Self {
        Self {
            client,
            org_id: org_id.into(),
            registry_id: registry_id.into(),
        }
    }
}

impl fmt::Debug for HumanitecSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HumanitecSource")
            .field("org_id", &self.org_id)
            .field("registry_id", &self.registry_id)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialSource for HumanitecSource {
    fn provider(&self) -> &'static str {
        "humanitec"
    }

    async fn mint(&self, lifetime: Lifetime, _write: bool) -> Result<DockerCredential> {
        lifetime.checked()?;
        let creds = self
            .client
            .get_registry_credentials()
            .org_id(self.org_id.as_str())
            .reg_id(self.registry_id.as_str())
            .send()
            .await?
            .into_inner();
        let no_login = || {
            Error::Unexpected(format!(
                "Humanitec registry record {} hands out no login (a public or secret_ref record?)",
                self.registry_id
            ))
        };
        let username = creds
            .username
            .filter(|u| !u.is_empty())
            .ok_or_else(no_login)?;
        let password = creds
            .password
            .filter(|p| !p.is_empty())
            .ok_or_else(no_login)?;
        if creds.registry.is_empty() {
            return Err(Error::Unexpected(format!(
                "Humanitec registry record {} has no registry host",
                self.registry_id
            )));
        }
        Ok(DockerCredential {
            host: creds.registry,
            username,
            password,
            expires_at: creds.expires,
            id: None,
        })
    }
}

// -------------------------------------------------------------- Buildkite

/// The user name Buildkite Package Registries take with a registry token
/// (the manifest's login user, `buildkite`).
pub fn buildkite_username() -> &'static str {
    match regkit_buildkite::PROVIDER.data_plane.login_user() {
        Some(regkit_core::LoginUser::Fixed(name)) => name,
        _ => "",
    }
}

/// The host of Buildkite Package Registries (the manifest's shared host,
/// `packages.buildkite.com`).
pub fn buildkite_host() -> &'static str {
    regkit_buildkite::PROVIDER
        .shared_registry_host()
        .unwrap_or_default()
}

/// Buildkite: a registry token (`create_registry_token`), used as the
/// password with user name [`buildkite_username`] on [`buildkite_host`].
/// Registry tokens only read (`write` is [`Error::Unsupported`]) and do not
/// expire (the TTL is checked, then not sent); revoking deletes the token
/// (`delete_registry_token`).
#[derive(Clone)]
pub struct BuildkiteSource {
    client: regkit_buildkite::Client,
    org: String,
    registry: String,
    host: String,
    description: String,
}

impl BuildkiteSource {
    /// Tokens of registry `registry_slug` of organization `org_slug`.
    pub fn new(
        client: regkit_buildkite::Client,
        org_slug: impl Into<String>,
        registry_slug: impl Into<String>,
    ) -> Self {
        Self {
            client,
            org: org_slug.into(),
            registry: registry_slug.into(),
            host: buildkite_host().into(),
            description: "regkit credential lease".into(),
        }
    }

    /// The host to write into Docker's configuration instead of
    /// [`buildkite_host`] (say `packages.buildkite.com/org/registry`, the
    /// form `docker login` is shown with).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The description given to each token (says what it is for).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }
}

impl fmt::Debug for BuildkiteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildkiteSource")
            .field("org", &self.org)
            .field("registry", &self.registry)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialSource for BuildkiteSource {
    fn provider(&self) -> &'static str {
        "buildkite"
    }

    fn supports_revoke(&self) -> bool {
        true
    }

    async fn mint(&self, lifetime: Lifetime, write: bool) -> Result<DockerCredential> {
        lifetime.checked()?;
        if write {
            return Err(Error::Unsupported {
                provider: "buildkite",
                capability: Capability::DockerCredentials,
            });
        }
        let token = self
            .client
            .create_registry_token()
            .org_slug(self.org.as_str())
            .registry_slug(self.registry.as_str())
            .body(regkit_buildkite::types::RegistryTokenRequest {
                description: self.description.clone(),
            })
            .send()
            .await?
            .into_inner();
        let password = token.token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::Unexpected(format!(
                "Buildkite created registry token {} without its secret",
                token.id
            ))
        })?;
        Ok(DockerCredential {
            host: self.host.clone(),
            username: buildkite_username().into(),
            password,
            expires_at: None,
            id: Some(token.id),
        })
    }

    async fn revoke(&self, credential: &DockerCredential) -> Result<()> {
        let id = credential.id.as_deref().ok_or_else(|| {
            Error::InvalidInput("this credential has no Buildkite token id to revoke".into())
        })?;
        match self
            .client
            .delete_registry_token()
            .org_slug(self.org.as_str())
            .registry_slug(self.registry.as_str())
            .token_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(gone) if gone.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

// ------------------------------------------------------------------ ABEJA

/// ABEJA: its API has no way to mint registry credentials (the platform's
/// own token or user credentials are the login); every mint is
/// [`Error::Unsupported`] with [`Capability::DockerCredentials`]. It exists
/// so that code over all providers can hold one source per provider.
#[derive(Clone)]
pub struct AbejaSource {
    _client: regkit_abeja::Client,
}

impl AbejaSource {
    /// A source that cannot mint.
    pub fn new(client: regkit_abeja::Client) -> Self {
        Self { _client: client }
    }
}

impl fmt::Debug for AbejaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbejaSource").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialSource for AbejaSource {
    fn provider(&self) -> &'static str {
        "abeja"
    }

    async fn mint(&self, _lifetime: Lifetime, _write: bool) -> Result<DockerCredential> {
        Err(Error::Unsupported {
            provider: "abeja",
            capability: Capability::DockerCredentials,
        })
    }
}

// ------------------------------------------------------------------ Lease

/// What a lease has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LeaseStats {
    /// Credentials minted (the first one included).
    pub minted: u64,
    /// Credentials minted to replace one about to expire.
    pub refreshed: u64,
    /// Credentials revoked.
    pub revoked: u64,
    /// Credentials whose revoke failed, kept to be retried by
    /// [`Lease::revoke`].
    pub pending_revoke: usize,
}

#[derive(Default)]
struct LeaseState {
    current: Option<DockerCredential>,
    /// Replaced credentials whose revoke failed.
    pending: Vec<DockerCredential>,
    stats: LeaseStats,
}

/// Keeps one Docker credential fresh: [`Lease::get`] mints the first one,
/// hands it out while it is valid, and mints a new one once
/// `now >= expires_at - margin` (the margin is 5 minutes by default); the
/// replaced one is revoked where the provider can. [`Lease::revoke`]
/// revokes what the lease holds.
///
/// A failed revoke is never dropped: the error is returned and the
/// credential kept, so [`Lease::revoke`] retries it.
pub struct Lease<S> {
    source: S,
    clock: Arc<dyn Clock>,
    lifetime: Lifetime,
    margin: Duration,
    write: bool,
    state: tokio::sync::Mutex<LeaseState>,
}

/// The default lifetime of a minted credential.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// The default time before expiry at which a lease refreshes.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(300);

impl<S: CredentialSource> Lease<S> {
    /// A lease over `source`: a TTL of [`DEFAULT_TTL`], a margin of
    /// [`DEFAULT_MARGIN`], pull-only, the system clock. Nothing is minted
    /// until [`Lease::get`].
    pub fn new(source: S) -> Self {
        Self {
            source,
            clock: Arc::new(SystemClock),
            lifetime: Lifetime::Ttl(DEFAULT_TTL),
            margin: DEFAULT_MARGIN,
            write: false,
            state: tokio::sync::Mutex::new(LeaseState::default()),
        }
    }

    /// How long each minted credential is asked to last (from [`MIN_TTL`]
    /// to [`MAX_TTL`]; [`Lease::get`] refuses anything else, zero
    /// included).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.lifetime = Lifetime::Ttl(ttl);
        self
    }

    /// Mint credentials that never expire, where the provider allows it
    /// (replaces [`Lease::ttl`]). The lease then never refreshes.
    pub fn never_expire(mut self) -> Self {
        self.lifetime = Lifetime::NeverExpires;
        self
    }

    /// How long before expiry the credential is replaced.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Whether the credentials may push as well as pull.
    pub fn write(mut self, write: bool) -> Self {
        self.write = write;
        self
    }

    /// The clock that decides when a credential is due (the system clock by
    /// default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The current credential, minted when there is none and replaced when
    /// it expires within the margin. When the replaced credential's revoke
    /// fails, that error is returned: the new credential is kept (the next
    /// call returns it) and the old one waits for [`Lease::revoke`].
    pub async fn get(&self) -> Result<DockerCredential> {
        if let Lifetime::Ttl(ttl) = self.lifetime.checked()?
            && self.margin >= ttl
        {
            return Err(Error::InvalidInput(format!(
                "the refresh margin ({} s) must be shorter than the TTL ({} s)",
                self.margin.as_secs(),
                ttl.as_secs()
            )));
        }
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        if let Some(current) = &state.current
            && !current.is_due(now, self.margin)
        {
            return Ok(current.clone());
        }
        let fresh = self.source.mint(self.lifetime, self.write).await?;
        state.stats.minted += 1;
        let replaced = state.current.replace(fresh.clone());
        let Some(old) = replaced else {
            return Ok(fresh);
        };
        state.stats.refreshed += 1;
        tracing::debug!(
            provider = self.source.provider(),
            host = %fresh.host,
            "refreshed a Docker credential"
        );
        if !self.source.supports_revoke() {
            return Ok(fresh);
        }
        match self.source.revoke(&old).await {
            Ok(()) => {
                state.stats.revoked += 1;
                Ok(fresh)
            }
            Err(e) => {
                tracing::warn!(
                    provider = self.source.provider(),
                    error = %e,
                    "revoking the replaced credential failed; kept for Lease::revoke"
                );
                state.pending.push(old);
                Err(e)
            }
        }
    }

    /// Revokes every credential the lease holds: replaced ones whose revoke
    /// failed, then the current one. The first failure is returned and the
    /// credentials not revoked stay, to be retried; after success the next
    /// [`Lease::get`] mints anew. A provider that cannot revoke answers
    /// [`Error::Unsupported`] ([`Capability::RevokeCredentials`]) and the
    /// lease keeps its credential.
    pub async fn revoke(&self) -> Result<()> {
        if !self.source.supports_revoke() {
            return Err(Error::Unsupported {
                provider: self.source.provider(),
                capability: Capability::RevokeCredentials,
            });
        }
        let mut state = self.state.lock().await;
        while let Some(old) = state.pending.first() {
            self.source.revoke(old).await?;
            state.pending.remove(0);
            state.stats.revoked += 1;
        }
        if let Some(current) = &state.current {
            self.source.revoke(current).await?;
            state.current = None;
            state.stats.revoked += 1;
        }
        Ok(())
    }

    /// What the lease has done so far.
    pub async fn stats(&self) -> LeaseStats {
        let state = self.state.lock().await;
        LeaseStats {
            pending_revoke: state.pending.len(),
            ..state.stats
        }
    }
}

impl<S: CredentialSource> fmt::Debug for Lease<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Lease");
        d.field("provider", &self.source.provider())
            .field("lifetime", &self.lifetime)
            .field("margin", &self.margin)
            .field("write", &self.write);
        match self.state.try_lock() {
            Ok(state) => d
                .field("current", &state.current)
                .field("stats", &state.stats)
                .field("pending_revoke", &state.pending.len()),
            Err(_) => d.field("current", &"<in use>"),
        };
        d.finish()
    }
}
