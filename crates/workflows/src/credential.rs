//! Short-lived Docker credentials, one shape for every provider: the
//! [`DockerCredential`], the [`Lifetime`] it is asked for with, and the
//! [`CredentialSource`] each provider implements beside its view (in
//! [`crate::providers`]). [`crate::lease`] keeps one fresh.
//!
//! | provider | source | expiry | revoke |
//! |---|---|---|---|
//! | DigitalOcean | [`DigitalOceanSource`](crate::providers::DigitalOceanSource): `docker-credentials` with `expiry_seconds` and `read_write` | the [`Lifetime`] asked for | no API |
//! | IONOS | [`IonosSource`](crate::providers::IonosSource): a scoped registry token with an expiry date | the [`Lifetime`] asked for | token delete |
//! | Humanitec | [`HumanitecSource`](crate::providers::HumanitecSource): a registry record's current login | the provider's | no API |
//! | Buildkite | [`BuildkiteSource`](crate::providers::BuildkiteSource): a registry token (read only) | none | token delete |
//! | ABEJA | none: its API mints no registry credentials | — | — |
//!
//! Every credential is asked for with a [`Lifetime`]: a TTL of more than
//! zero and at most [`MAX_TTL`], or [`Lifetime::NeverExpires`], which must
//! be asked for by name. A zero or longer TTL is an [`Error::InvalidInput`]
//! before anything is sent (DigitalOcean reads `expiry_seconds=0` as "never
//! expires", so a zero must never reach it by accident).
//!
//! What a provider cannot do is said once: a provider without a source has
//! none in [`crate::providers`]' table (minting on ABEJA is
//! [`Capability::DockerCredentials`] unsupported), and a source that cannot
//! revoke (DigitalOcean, Humanitec) says so in
//! [`CredentialSource::supports_revoke`] ([`Capability::RevokeCredentials`]).
//!
//! A credential's password is a [`SecretString`]: `Debug`, `Display` and
//! serialisation of [`DockerCredential`], the lease and the errors never
//! show it; read it with [`SecretString::expose_secret`] where it is needed
//! (a Docker `config.json`, see [`crate::docker_config`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use regkit_core::SecretString;
use serde::Serialize;

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
                "a TTL of zero is refused: it would mint a credential that never expires; \
                 give a TTL (e.g. 1h), or ask for Lifetime::NeverExpires by name"
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

    /// Narrows what later mints reach to the one repository `repository`
    /// (its name on the registry host), where the provider scopes
    /// credentials by repository (IONOS); answers whether it could. Where
    /// it cannot (a DigitalOcean or Buildkite credential reaches the whole
    /// registry), nothing changes.
    fn narrow_to_repository(&mut self, repository: &str) -> bool {
        let _ = repository;
        false
    }

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
    fn narrow_to_repository(&mut self, repository: &str) -> bool {
        (**self).narrow_to_repository(repository)
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
    /// Narrows only a source this `Arc` alone holds (a shared one is
    /// others' too).
    fn narrow_to_repository(&mut self, repository: &str) -> bool {
        Arc::get_mut(self).is_some_and(|s| s.narrow_to_repository(repository))
    }
    async fn revoke(&self, credential: &DockerCredential) -> Result<()> {
        (**self).revoke(credential).await
    }
}

/// `now + ttl`, or `None` for a credential that never expires; a TTL
/// [`Lifetime::checked`] refuses is an error.
pub(crate) fn expiry_after(
    now: DateTime<Utc>,
    lifetime: Lifetime,
) -> Result<Option<DateTime<Utc>>> {
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
pub(crate) fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}

/// The provider's token id `credential` carries, which revoking it needs.
pub(crate) fn token_id<'c>(credential: &'c DockerCredential, provider: &str) -> Result<&'c str> {
    credential.id.as_deref().ok_or_else(|| {
        Error::InvalidInput(format!(
            "this credential has no {provider} token id to revoke"
        ))
    })
}

/// A revoke's answer as the lease needs it: a token the provider no
/// longer knows (404) counts as revoked.
pub(crate) fn revoked<T, E>(answer: std::result::Result<T, regkit_core::Error<E>>) -> Result<()>
where
    E: regkit_core::ErrorMetadata + fmt::Debug + Send + Sync + 'static,
{
    match answer {
        Ok(_) => Ok(()),
        Err(gone) if gone.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
