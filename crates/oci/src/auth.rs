//! Logging in the way container clients do: a request goes out with what
//! this client already holds for its scope; a 401's challenge decides the
//! rest. `Bearer realm=…,service=…` is the Docker token flow: the login
//! goes to the realm (HTTPS, or loopback) as Basic, and the token that
//! comes back is kept per scope until shortly before it expires. `Basic`
//! sends the login itself, to the registry's own origin only.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use regkit_core::SecretString;

/// A user name and password (or token) for a registry. `Debug` shows
/// the user name only.
#[derive(Clone)]
pub struct Login {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: SecretString,
}

impl Login {
    /// A login.
    pub fn new(username: impl Into<String>, password: impl Into<SecretString>) -> Login {
        Login {
            username: username.into(),
            password: password.into(),
        }
    }

    /// `Basic <base64(user:password)>`.
    pub(crate) fn basic_header(&self) -> String {
        use base64::Engine as _;
        let pair = format!("{}:{}", self.username, self.password.expose_secret());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = if self.username == self.password.expose_secret() {
            "[REDACTED]"
        } else {
            &self.username
        };
        f.debug_struct("Login")
            .field("username", &user)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// What a repository request needs: `repository:<name>:<actions>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read manifests, tags, referrers and blobs.
    Pull,
    /// Pull, and push blobs and manifests.
    Push,
    /// Delete manifests, tags and blobs.
    Delete,
}

impl Access {
    /// The scope's action list.
    pub(crate) fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
            Access::Delete => "delete",
        }
    }

    /// The scope string for repository `name`.
    pub(crate) fn scope(self, name: &str) -> String {
        format!("repository:{name}:{}", self.actions())
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
    },
    Basic,
}

impl Challenge {
    /// Parses one challenge (`Bearer realm="…",service="…",scope="…"`);
    /// `None` for a scheme this client does not speak.
    pub(crate) fn parse(text: &str) -> Option<Challenge> {
        let text = text.trim();
        let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = params(rest);
        let realm = params.get("realm")?.clone();
        Some(Challenge::Bearer {
            realm,
            service: params.get("service").cloned(),
        })
    }
}

/// `k="v",k2="v2"` (values may hold commas inside quotes).
fn params(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        out.insert(key, value.to_string());
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// A bearer token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: SecretString,
    pub(crate) fresh_until: Instant,
}

impl Token {
    /// A token the realm says lasts `expires_in` seconds (the spec's
    /// default, 60, when it does not say), used until 10 s before then.
    pub(crate) fn new(value: String, expires_in: Option<u64>) -> Token {
        let life = Duration::from_secs(expires_in.unwrap_or(60).max(1));
        Token {
            value: SecretString::new(value),
            fresh_until: Instant::now() + life.saturating_sub(Duration::from_secs(10)),
        }
    }

    pub(crate) fn is_fresh(&self) -> bool {
        Instant::now() < self.fresh_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_commas_in_quotes_and_any_case() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"basic realm="x""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate abc"), None);
        assert_eq!(Challenge::parse("Bearer service=\"x\""), None);
    }

    #[test]
    fn a_login_shows_no_secret_in_debug() {
        let l = Login::new("user", "hunter2");
        assert!(!format!("{l:?}").contains("hunter2"));
        let same = Login::new("tok", "tok");
        assert!(!format!("{same:?}").contains("tok\""));
    }
}
