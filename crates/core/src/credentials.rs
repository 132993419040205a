//! Credentials: explicit or from the provider's environment variables.

use std::fmt;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::{AuthScheme, ConfigError, ProviderInfo, SecretString};

/// How a client authenticates. Build one explicitly or with
/// [`Credentials::from_env`]; construction validates the value, so a token
/// with a line break is an error here, never a malformed or truncated header.
#[derive(Clone)]
pub struct Credentials {
    kind: Kind,
    header: HeaderName,
    value: HeaderValue,
    /// What error text must never repeat: the secret, and the header value
    /// it travels in (for Basic, also its base64 part).
    secrets: Vec<SecretString>,
}

#[derive(Clone)]
enum Kind {
    Bearer,
    Basic { username: String },
    ApiKey,
}

impl Credentials {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: impl Into<SecretString>) -> Result<Self, ConfigError> {
        let token = non_empty("bearer token", token.into())?;
        let value = header_value("bearer token", &format!("Bearer {}", token.expose_secret()))?;
        Ok(Self {
            kind: Kind::Bearer,
            header: AUTHORIZATION,
            value,
            secrets: vec![token],
        })
    }

    /// HTTP Basic with a user name and a password or access token.
    pub fn basic(
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Result<Self, ConfigError> {
        let username = username.into();
        if username.is_empty() {
            return Err(ConfigError::InvalidCredential(
                "the user name is empty".into(),
            ));
        }
        if username.contains(':') {
            return Err(ConfigError::InvalidCredential(
                "a Basic auth user name cannot contain ':'".into(),
            ));
        }
        let password = non_empty("password", password.into())?;
        // Validate the raw parts too: base64 would hide a CR/LF that the
        // server would then receive inside the credentials.
        header_value("user name", &username)?;
        header_value("password", password.expose_secret())?;
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose_secret()));
        let value = header_value("password", &format!("Basic {encoded}"))?;
        Ok(Self {
            kind: Kind::Basic { username },
            header: AUTHORIZATION,
            value,
            secrets: vec![password, SecretString::new(encoded)],
        })
    }

    /// An API key sent in `header`, as `<prefix> <key>` when a prefix is given.
    pub fn api_key(
        header: &str,
        prefix: Option<&str>,
        key: impl Into<SecretString>,
    ) -> Result<Self, ConfigError> {
        let header = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
            ConfigError::InvalidCredential(format!("`{header}` is not a valid header name"))
        })?;
        let key = non_empty("API key", key.into())?;
        let text = match prefix {
            Some(p) => format!("{p} {}", key.expose_secret()),
            None => key.expose_secret().to_owned(),
        };
        let value = header_value("API key", &text)?;
        Ok(Self {
            kind: Kind::ApiKey,
            header,
            value,
            secrets: vec![key],
        })
    }

    /// Reads the credentials of `provider` from the process environment,
    /// trying its schemes in order. The error names the variables to set.
    pub fn from_env(provider: &ProviderInfo) -> Result<Self, ConfigError> {
        Self::from_lookup(provider, |name| std::env::var(name).ok())
    }

    /// Like [`Credentials::from_env`], reading variables through `lookup`
    /// (a config file, a secret store, a test's map).
    pub fn from_lookup(
        provider: &ProviderInfo,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| lookup(n).filter(|v| !v.trim().is_empty()))
        };
        for scheme in provider.auth {
            match *scheme {
                AuthScheme::Bearer { env } => {
                    if let Some(token) = get(env) {
                        return Self::bearer(token.trim());
                    }
                }
                AuthScheme::Basic {
                    username_env,
                    password_env,
                    username_prefix,
                } => match (get(username_env), get(password_env)) {
                    (Some(user), Some(password)) => {
                        let user = user.trim();
                        let user = match username_prefix {
                            Some(p) if !user.starts_with(p) => format!("{p}{user}"),
                            _ => user.to_owned(),
                        };
                        return Self::basic(user, password.trim());
                    }
                    (Some(_), None) | (None, Some(_)) => {
                        return Err(ConfigError::MissingCredentials {
                            provider: provider.display_name,
                            hint: format!(
                                "Basic auth needs both {} and {}",
                                any_of(username_env),
                                any_of(password_env)
                            ),
                        });
                    }
                    (None, None) => {}
                },
                AuthScheme::ApiKey {
                    header,
                    prefix,
                    env,
                } => {
                    if let Some(key) = get(env) {
                        return Self::api_key(header, prefix, key.trim());
                    }
                }
            }
        }
        Err(ConfigError::MissingCredentials {
            provider: provider.display_name,
            hint: env_hint(provider.auth),
        })
    }

    pub(crate) fn header(&self) -> (&HeaderName, &HeaderValue) {
        (&self.header, &self.value)
    }

    /// The texts error messages must never show.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(SecretString::expose_secret)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Bearer => f.write_str("Credentials::Bearer([REDACTED])"),
            Kind::Basic { username } => f
                .debug_struct("Credentials::Basic")
                .field("username", username)
                .field("password", &"[REDACTED]")
                .finish(),
            Kind::ApiKey => write!(f, "Credentials::ApiKey({}: [REDACTED])", self.header),
        }
    }
}

fn non_empty(what: &str, secret: SecretString) -> Result<SecretString, ConfigError> {
    if secret.expose_secret().trim().is_empty() {
        Err(ConfigError::InvalidCredential(format!(
            "the {what} is empty"
        )))
    } else {
        Ok(secret)
    }
}

fn header_value(what: &str, text: &str) -> Result<HeaderValue, ConfigError> {
    if text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(ConfigError::InvalidCredential(format!(
            "the {what} contains a line break or NUL, which cannot be sent in a header"
        )));
    }
    let mut value = HeaderValue::from_str(text).map_err(|_| {
        ConfigError::InvalidCredential(format!(
            "the {what} contains characters that cannot be sent in a header"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn any_of(names: &[&str]) -> String {
    match names {
        [] => "(no variable)".into(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (or {})", rest.join(", ")),
    }
}

/// "set DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN)", joined with
/// ", or " across schemes.
pub(crate) fn env_hint(schemes: &[AuthScheme]) -> String {
    let options: Vec<String> = schemes
        .iter()
        .map(|s| match *s {
            AuthScheme::Bearer { env } | AuthScheme::ApiKey { env, .. } => any_of(env),
            AuthScheme::Basic {
                username_env,
                password_env,
                ..
            } => format!("{} and {}", any_of(username_env), any_of(password_env)),
        })
        .collect();
    format!("set {}", options.join(", or "))
}
