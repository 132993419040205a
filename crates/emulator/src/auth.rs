//! Who may call the emulated APIs: one bearer token per provider, and an
//! HTTP Basic pair as well where the provider crate's `PROVIDER` lists a
//! Basic scheme (IONOS, ABEJA), as the real APIs accept.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use regkit_core::{AuthScheme, ProviderInfo, SecretString};

use crate::content::ContentGen;
use crate::provider::Provider;

/// The credentials the emulator accepts for one provider.
#[derive(Clone, Debug)]
pub struct ProviderCredentials {
    /// The bearer token (`Authorization: Bearer …`).
    pub token: SecretString,
    /// A Basic pair, where the provider accepts Basic (IONOS: user name and
    /// password; ABEJA: `user-<id>` and a personal access token).
    pub basic: Option<(String, SecretString)>,
}

#[derive(Clone, Debug)]
pub(crate) struct Auth {
    by_provider: BTreeMap<Provider, ProviderCredentials>,
}

impl Auth {
    /// Credentials drawn from `seed` for each provider and the schemes its
    /// `PROVIDER` lists: the same seed gives the same tokens, so a state
    /// file and the tokens a script exported stay valid together.
    pub(crate) fn from_seed<'a>(
        seed: u64,
        providers: impl IntoIterator<Item = (Provider, &'a ProviderInfo)>,
    ) -> Self {
        let mut ids = ContentGen::new(seed ^ 0x6175_7468);
        let mut by_provider = BTreeMap::new();
        for (p, info) in providers {
            let token = SecretString::new(format!("emu-{}-{}", p.name(), ids.alphanumeric(24)));
            let basic = info.auth.iter().find_map(|scheme| match scheme {
                AuthScheme::Basic {
                    username_prefix, ..
                } => Some(basic_pair(*username_prefix, &mut ids)),
                _ => None,
            });
            by_provider.insert(p, ProviderCredentials { token, basic });
        }
        Auth { by_provider }
    }

    pub(crate) fn credentials(&self, p: Provider) -> &ProviderCredentials {
        &self.by_provider[&p]
    }

    pub(crate) fn set_token(&mut self, p: Provider, token: SecretString) {
        if let Some(c) = self.by_provider.get_mut(&p) {
            c.token = token;
        }
    }

    /// Whether the request carries one of `p`'s credentials.
    pub(crate) fn allows(&self, p: Provider, headers: &HeaderMap) -> bool {
        let creds = self.credentials(p);
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return !rest.is_empty() && rest == creds.token.expose_secret();
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let Some((user, password)) = &creds.basic else {
                return false;
            };
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
                return false;
            };
            let Ok(text) = String::from_utf8(decoded) else {
                return false;
            };
            return text.split_once(':') == Some((user.as_str(), password.expose_secret()));
        }
        false
    }
}

/// A Basic pair: where the provider prefixes user names (ABEJA's
/// `user-<account id>`), an account id with a personal access token;
/// otherwise an e-mail address with a password (IONOS).
fn basic_pair(prefix: Option<&str>, ids: &mut ContentGen) -> (String, SecretString) {
    match prefix {
        Some(prefix) => (
            format!("{prefix}{}", ids.u64(1_000_000_000_000..9_999_999_999_999)),
            SecretString::new(ids.alphanumeric(40)),
        ),
        None => (
            "emulator@example.com".to_string(),
            SecretString::new(ids.alphanumeric(20)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn from_seed(seed: u64) -> Auth {
        Auth::from_seed(
            seed,
            [
                (Provider::DigitalOcean, &regkit_digitalocean::PROVIDER),
                (Provider::Ionos, &regkit_ionos::PROVIDER),
                (Provider::Humanitec, &regkit_humanitec::PROVIDER),
                (Provider::Buildkite, &regkit_buildkite::PROVIDER),
                (Provider::Abeja, &regkit_abeja::PROVIDER),
            ],
        )
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_the_providers_own_credentials_pass() {
        let auth = from_seed(3);
        let token = auth
            .credentials(Provider::Ionos)
            .token
            .expose_secret()
            .to_string();
        assert!(auth.allows(Provider::Ionos, &with(&format!("Bearer {token}"))));
        assert!(auth.allows(Provider::Ionos, &with(&format!("bearer {token}"))));
        assert!(!auth.allows(Provider::Abeja, &with(&format!("Bearer {token}"))));
        assert!(!auth.allows(Provider::Ionos, &with("Bearer ")));
        assert!(!auth.allows(Provider::Ionos, &HeaderMap::new()));

        let (user, password) = auth.credentials(Provider::Ionos).basic.clone().unwrap();
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{user}:{}", password.expose_secret()));
        assert!(auth.allows(Provider::Ionos, &with(&format!("Basic {basic}"))));
        assert!(!auth.allows(Provider::DigitalOcean, &with(&format!("Basic {basic}"))));
        assert!(!auth.allows(Provider::Ionos, &with("Basic !!!")));
        assert!(auth.credentials(Provider::Abeja).basic.is_some());
        assert!(auth.credentials(Provider::Buildkite).basic.is_none());
    }

    #[test]
    fn the_seed_decides_the_tokens() {
        let a = from_seed(1);
        let b = from_seed(1);
        let c = from_seed(2);
        let t = |x: &Auth| {
            x.credentials(Provider::DigitalOcean)
                .token
                .expose_secret()
                .to_string()
        };
        assert_eq!(t(&a), t(&b));
        assert_ne!(t(&a), t(&c));
    }
}
