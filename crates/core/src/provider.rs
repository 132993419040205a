//! The types of the facts about a provider that codegen copies from
//! `specs/providers.toml` (emitted once, into [`crate::providers`]), and
//! what reads them: host matching, credential variables as people read
//! them. The [`Provider`](crate::Provider) enum's names and parsing are
//! in `provider_enum.rs`, above both.

use std::fmt;

/// What regkit-core needs to know about a provider to build its client.
/// Each provider crate exports one as `PROVIDER` (generated).
#[derive(Debug)]
pub struct ProviderInfo {
    /// Short name, e.g. `digitalocean`.
    pub name: &'static str,
    /// Human name used in messages, e.g. `DigitalOcean`.
    pub display_name: &'static str,
    /// Crate name, e.g. `regkit-digitalocean` (first part of the User-Agent).
    pub crate_name: &'static str,
    /// Crate version (second part of the User-Agent).
    pub crate_version: &'static str,
    /// Base URL used when the caller sets none.
    pub default_base_url: &'static str,
    /// Environment variable that overrides the base URL in `from_env()`.
    pub base_url_env: Option<&'static str>,
    /// Credential schemes, in the order `from_env()` tries them.
    pub auth: &'static [AuthScheme],
    /// A rate-limit reset header honoured (after `Retry-After`) on 429.
    pub rate_limit_reset: Option<RateLimitReset>,
    /// Response headers that carry the provider's request id, first found wins.
    pub request_id_headers: &'static [&'static str],
    /// Operations whose success body carries secrets (a `format: password`
    /// field): when such a body fails to decode or comes with an unexpected
    /// status, error text withholds it. Named as the generated code names
    /// operations (the `operationId` in snake case).
    pub secret_responses: &'static [&'static str],
    /// Where the provider serves its registries' images (hosts, login user
    /// rule), or why it serves none.
    pub data_plane: DataPlane,
}

/// A credential scheme a provider accepts, with the environment variables
/// that hold it (first set one wins).
#[derive(Debug, Clone, Copy)]
pub enum AuthScheme {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// Variables holding the token.
        env: &'static [&'static str],
    },
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// Variables holding the user name.
        username_env: &'static [&'static str],
        /// Variables holding the password or personal access token.
        password_env: &'static [&'static str],
        /// Prefix added to the user name when it is missing (ABEJA: `user-`).
        username_prefix: Option<&'static str>,
    },
    /// An API key in a named header, optionally prefixed (`Token <key>`).
    ApiKey {
        /// Header name.
        header: &'static str,
        /// Text put before the key, separated by a space.
        prefix: Option<&'static str>,
        /// Variables holding the key.
        env: &'static [&'static str],
    },
}

/// A provider's rate-limit reset header.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitReset {
    /// Header name, e.g. `ratelimit-reset`.
    pub header: &'static str,
    /// How to read its value.
    pub kind: ResetKind,
}

/// Meaning of a rate-limit reset header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetKind {
    /// A Unix timestamp in seconds.
    EpochSeconds,
    /// Seconds from now.
    DeltaSeconds,
}

/// Where a provider serves its registries' images (the OCI distribution
/// API), from the manifest's `registry` entry.
#[derive(Debug, Clone, Copy)]
pub enum DataPlane {
    /// The provider serves no registry of its own.
    None {
        /// Why, in a sentence for people.
        why: &'static str,
    },
    /// Registries the provider hosts.
    Hosted {
        /// The host (and path) Docker and other clients talk to.
        host: RegistryHost,
        /// The user name a registry login carries.
        login_user: LoginUser,
    },
}

/// The host a provider's registries live on.
#[derive(Debug, Clone, Copy)]
pub enum RegistryHost {
    /// One host for every registry; a registry's repositories live under
    /// `path` (`{registry}`, `{org}` stand for its parts), e.g.
    /// `registry.digitalocean.com` with `{registry}`.
    Shared {
        /// The host.
        host: &'static str,
        /// The path prefix of one registry's repositories.
        path: &'static str,
    },
    /// Each registry has a host of its own, made by `pattern` (every
    /// `{part}` is one DNS label or part of one: letters, digits and `-`),
    /// e.g. `{name}.cr.{location}.ionos.com`.
    PerRegistry {
        /// The host pattern.
        pattern: &'static str,
    },
}

/// How the user name of a registry login is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginUser {
    /// The token itself (DigitalOcean's registry logins).
    Token,
    /// The name of the token the login is made from (IONOS).
    TokenName,
    /// A fixed name (Buildkite: `buildkite`).
    Fixed(&'static str),
}

impl DataPlane {
    /// The registry host, or `None` when the provider serves no registry.
    pub fn host(&self) -> Option<&RegistryHost> {
        match self {
            DataPlane::None { .. } => None,
            DataPlane::Hosted { host, .. } => Some(host),
        }
    }

    /// The login user rule, or `None` when the provider serves no registry.
    pub fn login_user(&self) -> Option<LoginUser> {
        match self {
            DataPlane::None { .. } => None,
            DataPlane::Hosted { login_user, .. } => Some(*login_user),
        }
    }

    /// Whether `host` (as Docker sends it: no scheme, any case, an optional
    /// port or path after it) is one of this provider's registry hosts.
    pub fn serves(&self, host: &str) -> bool {
        self.host().is_some_and(|h| h.serves(host))
    }
}

impl RegistryHost {
    /// The one host every registry shares, when there is one.
    pub fn shared(&self) -> Option<&'static str> {
        match self {
            RegistryHost::Shared { host, .. } => Some(host),
            RegistryHost::PerRegistry { .. } => None,
        }
    }

    /// The host of one registry: the shared host, or the pattern with each
    /// `{part}` replaced by its value from `parts` (`[("name", "demo"),
    /// ("location", "de-fra")]`). A part left unfilled stays as written.
    pub fn host_of(&self, parts: &[(&str, &str)]) -> String {
        match self {
            RegistryHost::Shared { host, .. } => host.to_string(),
            RegistryHost::PerRegistry { pattern } => parts
                .iter()
                .fold(pattern.to_string(), |host, (part, value)| {
                    host.replace(&format!("{{{part}}}"), value)
                }),
        }
    }

    /// The registry parts a repository path names on a shared host, by the
    /// host's path template: `demo/images/web` under `{org}/{registry}`
    /// gives `[("org", "demo"), ("registry", "images")]`. Segments the path
    /// lacks are left out; a per-registry host names none.
    pub fn path_parts<'p>(&self, path: &'p str) -> Vec<(&'static str, &'p str)> {
        let RegistryHost::Shared { path: template, .. } = self else {
            return Vec::new();
        };
        let segments = path.split('/').filter(|s| !s.is_empty());
        template
            .split('/')
            .filter_map(|t| t.strip_prefix('{')?.strip_suffix('}'))
            .zip(segments)
            .collect()
    }

    /// Whether `host` is this provider's: the shared host, or a host the
    /// pattern makes. A scheme, a port and a path are ignored.
    pub fn serves(&self, host: &str) -> bool {
        let host = bare_host(host);
        match self {
            RegistryHost::Shared { host: h, .. } => host.eq_ignore_ascii_case(h),
            RegistryHost::PerRegistry { pattern } => matches_pattern(pattern, &host),
        }
    }
}

impl fmt::Display for RegistryHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryHost::Shared { host, path: "" } => f.write_str(host),
            RegistryHost::Shared { host, path } => write!(f, "{host}/{path}"),
            RegistryHost::PerRegistry { pattern } => f.write_str(pattern),
        }
    }
}

/// `https://Host:443/path` → `host`.
fn bare_host(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.split('/').next().unwrap_or_default();
    let s = s.rsplit_once(':').map_or(s, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            s
        }
    });
    s.to_ascii_lowercase()
}

/// Whether `host` fits `pattern`, where each `{part}` stands for one or
/// more letters, digits or `-`.
fn matches_pattern(pattern: &str, host: &str) -> bool {
    fn go(pattern: &[u8], host: &[u8]) -> bool {
        match pattern.first() {
            None => host.is_empty(),
            Some(b'{') => {
                let Some(close) = pattern.iter().position(|&c| c == b'}') else {
                    return false;
                };
                let rest = &pattern[close + 1..];
                let run = host
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
                    .count();
                (1..=run).any(|n| go(rest, &host[n..]))
            }
            Some(c) => host
                .first()
                .is_some_and(|h| h.eq_ignore_ascii_case(c) && go(&pattern[1..], &host[1..])),
        }
    }
    go(pattern.as_bytes(), host.as_bytes())
}

impl ProviderInfo {
    /// The one registry host all of the provider's registries share
    /// (`registry.digitalocean.com`), when it has one.
    pub fn shared_registry_host(&self) -> Option<&'static str> {
        self.data_plane.host()?.shared()
    }

    /// The variables a caller may set to give this provider credentials, in
    /// the order `from_env()` tries them, each scheme's variables together
    /// (`[["DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN"]]`).
    pub fn credential_env(&self) -> Vec<Vec<&'static str>> {
        self.auth
            .iter()
            .map(|scheme| match scheme {
                AuthScheme::Bearer { env } | AuthScheme::ApiKey { env, .. } => env.to_vec(),
                AuthScheme::Basic {
                    username_env,
                    password_env,
                    ..
                } => username_env.iter().chain(*password_env).copied().collect(),
            })
            .collect()
    }

    /// The first variable of the first bearer (or API-key) scheme: where a
    /// single token goes.
    pub fn token_env(&self) -> Option<&'static str> {
        self.auth.iter().find_map(|scheme| match scheme {
            AuthScheme::Bearer { env } | AuthScheme::ApiKey { env, .. } => env.first().copied(),
            AuthScheme::Basic { .. } => None,
        })
    }

    /// The credential variables as people read them:
    /// `DIGITALOCEAN_TOKEN or DIGITALOCEAN_ACCESS_TOKEN`, schemes joined by
    /// `, or `, a Basic scheme's variables by `and`.
    pub fn credential_env_text(&self) -> String {
        self.auth
            .iter()
            .map(|scheme| match scheme {
                AuthScheme::Bearer { env } | AuthScheme::ApiKey { env, .. } => env.join(" or "),
                AuthScheme::Basic {
                    username_env,
                    password_env,
                    ..
                } => format!(
                    "{} and {}",
                    username_env.join(" or "),
                    password_env.join(" or ")
                ),
            })
            .collect::<Vec<_>>()
            .join(", or ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_host_path_names_its_registry_parts() {
        let shared = RegistryHost::Shared {
            host: "packages.example.com",
            path: "{org}/{registry}",
        };
        assert_eq!(
            shared.path_parts("/acme/images/web"),
            [("org", "acme"), ("registry", "images")]
        );
        assert_eq!(shared.path_parts("acme"), [("org", "acme")]);
        assert!(shared.path_parts("").is_empty());
        let per = RegistryHost::PerRegistry {
            pattern: "{name}.cr.example.com",
        };
        assert!(per.path_parts("a/b").is_empty());
    }

    #[test]
    fn hosts_match_as_docker_sends_them() {
        let per_registry = RegistryHost::PerRegistry {
            pattern: "{name}.cr.{location}.example.net",
        };
        for yes in [
            "demo.cr.de-fra.example.net",
            "https://Demo.CR.de-fra.example.net/",
            "a-b.cr.es-vit.example.net:443",
        ] {
            assert!(per_registry.serves(yes), "{yes}");
        }
        for no in [
            "cr.de-fra.example.net",
            "demo.cr.de-fra.example.net.evil.example",
            "x.y.cr.de-fra.example.net",
            "demo.de-fra.example.net",
            "",
        ] {
            assert!(!per_registry.serves(no), "{no}");
        }
        let shared = RegistryHost::Shared {
            host: "registry.example.com",
            path: "{registry}",
        };
        assert!(shared.serves("registry.example.com"));
        assert!(shared.serves("https://REGISTRY.example.com/acme"));
        assert!(!shared.serves("registry.example.com.evil"));
        assert_eq!(shared.to_string(), "registry.example.com/{registry}");
    }
}
