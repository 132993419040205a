//! Who may do what on the data plane, per provider, as each provider logs
//! clients in, and the challenge a refused request gets. Every choice a
//! provider leaves undocumented is made here, once:
//!
//! | provider | challenge | credentials |
//! |---|---|---|
//! | DigitalOcean | `Bearer realm="<emulated API>/digitalocean/v2/registry/auth",service="<host>",scope=…` (DO's) | the token endpoint takes Basic: Docker credentials the API minted (read-only ones pull; registry-scoped ones reach only their registry; expired ones fail) or the API token; it answers a bearer token for 15 minutes of the virtual clock |
//! | IONOS | `Basic realm="<registry host>"` (**our choice**: undocumented) | a token's name and password, with its `scopes` (`repository` patterns with `*`, actions pull, push, delete), expiry and status enforced; a token without scopes may do nothing |
//! | Buildkite | `Basic realm="<host>"` (**our choice**: the token flow is undocumented) | user `buildkite` and a registry token (pull only, that registry) or the API token (everything) |
//!
//! An unknown, expired or disabled credential is 401 `UNAUTHORIZED` with
//! the challenge; a known one without the action is 403 `DENIED`. No
//! message repeats a credential.

use std::collections::BTreeSet;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::paths::{Target, query_values};
use crate::provider::Provider;
use crate::registry::access::{Action, Grant, Scope, glob_matches};
use crate::registry::digest::secret_sha256;
use crate::registry::errors::{OciCode, OciError};
use crate::shared::{HostKey, Shared};
use crate::world::World;

/// How long a bearer token from DigitalOcean's token endpoint lasts: as
/// long as a garbage collection waits for write JWTs to expire (DO speaks of
/// JWTs that live up to 15 minutes), the one place that fact is kept.
pub(crate) const TOKEN_LIFETIME: chrono::TimeDelta =
    crate::providers::digitalocean::GC_WAITING_FOR_JWTS;

/// The path of DigitalOcean's token endpoint on the emulated API.
pub(crate) const TOKEN_REALM_PATH: &str = "/digitalocean/v2/registry/auth";

/// A refusal: the error, and the challenge a 401 carries.
#[derive(Debug)]
pub(crate) struct Refused {
    pub error: OciError,
    pub challenge: Option<String>,
}

/// What a request presented.
enum Presented {
    Basic(String, String),
    Bearer(String),
    Nothing,
}

fn presented(headers: &HeaderMap) -> Presented {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Presented::Nothing;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Presented::Bearer(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((user, password)) = decoded.as_deref().and_then(|t| t.split_once(':')) {
            return Presented::Basic(user.to_string(), password.to_string());
        }
    }
    Presented::Nothing
}

/// The host a client addresses for `key` (`127.0.0.1:<port>`).
fn host_of(shared: &Shared, key: &HostKey) -> String {
    shared
        .data()
        .host(key)
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// The challenge `provider`'s registry answers a request without (or with
/// unknown) credentials; `scope` names what the request needed.
pub(crate) fn challenge(
    shared: &Shared,
    key: &HostKey,
    provider: Provider,
    scope: Option<(&str, Action)>,
) -> String {
    match provider {
        Provider::DigitalOcean => {
            let realm = format!("http://{}{TOKEN_REALM_PATH}", shared.data().api_addr());
            let mut c = format!(
                "Bearer realm=\"{realm}\",service=\"{}\"",
                host_of(shared, key)
            );
            if let Some((name, action)) = scope {
                let actions = match action {
                    Action::Pull => "pull",
                    Action::Push => "pull,push",
                    Action::Delete => "delete",
                };
                c.push_str(&format!(",scope=\"repository:{name}:{actions}\""));
            }
            c
        }
        _ => format!("Basic realm=\"{}\"", host_of(shared, key)),
    }
}

fn unauthorized(
    shared: &Shared,
    key: &HostKey,
    provider: Provider,
    scope: Option<(&str, Action)>,
    why: &str,
) -> Refused {
    Refused {
        error: OciError::new(OciCode::Unauthorized, why.to_string()),
        challenge: Some(challenge(shared, key, provider, scope)),
    }
}

fn denied(action: Action, name: &str) -> Refused {
    Refused {
        error: OciError::new(
            OciCode::Denied,
            format!("the credential may not {} {name}", action.as_str()),
        ),
        challenge: None,
    }
}

/// Whether the request's credential reaches `action` on `target`, granted
/// already or grantable (for a mount's source, which a client's token may
/// not name).
pub(crate) fn reaches(
    shared: &Shared,
    key: &HostKey,
    provider: Provider,
    target: &Target,
    action: Action,
    headers: &HeaderMap,
) -> bool {
    if let (Provider::DigitalOcean, Presented::Bearer(token)) = (provider, presented(headers)) {
        return shared.data().grants_get(&token).is_some_and(|g| {
            g.allows(&target.name, action, shared.now())
                || g.could(&target.name, action, shared.now())
        });
    }
    authorize(shared, key, provider, Some((target, action)), headers).is_ok()
}

/// Whether the request may take `action` on `target` (`None`: the base
/// endpoint, which any valid credential of the provider passes).
pub(crate) fn authorize(
    shared: &Shared,
    key: &HostKey,
    provider: Provider,
    target: Option<(&Target, Action)>,
    headers: &HeaderMap,
) -> Result<(), Refused> {
    let now = shared.now();
    let scope = target.map(|(t, a)| (t.name.as_str(), a));
    let refuse = |why: &str| unauthorized(shared, key, provider, scope, why);
    let presented = presented(headers);
    let allowed: Option<Allowed> = match (provider, presented) {
        (_, Presented::Nothing) => return Err(refuse("authentication required")),
        (Provider::DigitalOcean, Presented::Bearer(token)) => {
            match shared.data().grants_get(&token) {
                Some(g) if now < g.expires_at => {
                    if let Some((t, action)) = target
                        && !g.allows(&t.name, action, now)
                        && g.could(&t.name, action, now)
                    {
                        // The token lacks a scope its credential may
                        // have: back to the token endpoint, as
                        // distribution's `insufficient_scope`.
                        let mut r = refuse("the token does not cover this request");
                        r.challenge = r.challenge.map(|c| c + ",error=\"insufficient_scope\"");
                        return Err(r);
                    }
                    Some(Box::new(move |name, action| g.allows(name, action, now)))
                }
                _ => None,
            }
        }
        (Provider::Ionos, Presented::Basic(user, password)) => {
            let HostKey::Ionos(id) = key else {
                return Err(refuse("unknown registry host"));
            };
            let world = shared.world();
            ionos_allowed(&world, id, &user, &password, now)
        }
        (Provider::Buildkite, Presented::Basic(user, password)) => {
            let api = shared
                .auth()
                .credentials(Provider::Buildkite)
                .token
                .expose_secret()
                == password;
            let world = shared.world();
            buildkite_allowed(&world, api, &user, &password, target.map(|(t, _)| t))
        }
        _ => None,
    };
    let Some(allowed) = allowed else {
        return Err(refuse("unknown or expired credentials"));
    };
    match target {
        None => Ok(()),
        Some((t, action)) if allowed(&t.name, action) => Ok(()),
        Some((t, action)) => Err(denied(action, &t.name)),
    }
}

type Allowed = Box<dyn Fn(&str, Action) -> bool>;

fn ionos_allowed(
    world: &World,
    registry: &str,
    user: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Option<Allowed> {
    let r = world.ionos.registries.get(registry)?;
    let token = r.tokens.values().find(|t| t.name == user)?;
    let hash = secret_sha256(password);
    let usable = token.password_sha256.as_deref() == Some(hash.as_str())
        && token.enabled
        && token.expiry.is_none_or(|at| now < at);
    if !usable {
        return None;
    }
    let scopes = token.scopes.clone().unwrap_or_default();
    Some(Box::new(move |name, action| {
        scopes.iter().any(|s| {
            s.kind == "repository"
                && glob_matches(&s.name, name)
                && s.actions.iter().any(|a| a == action.as_str())
        })
    }))
}

fn buildkite_allowed(
    world: &World,
    api: bool,
    user: &str,
    password: &str,
    target: Option<&Target>,
) -> Option<Allowed> {
    // The manifest names the user; without one, nobody logs in.
    let Some(regkit_core::LoginUser::Fixed(login)) =
        regkit_buildkite::PROVIDER.data_plane.login_user()
    else {
        return None;
    };
    if user != login {
        return None;
    }
    if api {
        return Some(Box::new(|_, _| true));
    }
    let hash = secret_sha256(password);
    let holds = |org: &str, slug: &str| {
        world
            .buildkite
            .orgs
            .get(org)
            .and_then(|o| o.registries.get(slug))
            .is_some_and(|r| {
                r.tokens
                    .iter()
                    .any(|t| t.secret_sha256.as_deref() == Some(hash.as_str()))
            })
    };
    let known = match target {
        Some(t) => {
            let (org, slug) = t.registry.split_once('/').unwrap_or_default();
            holds(org, slug)
        }
        None => world
            .buildkite
            .orgs
            .iter()
            .any(|(org, o)| o.registries.keys().any(|s| holds(org, s))),
    };
    // A registry token reads its registry and nothing else.
    known.then(|| Box::new(|_: &str, action| action == Action::Pull) as Allowed)
}

/// DigitalOcean's token endpoint: Basic credentials in, a bearer token for
/// the requested scopes (as far as the credential allows) out.
pub(crate) fn digitalocean_token(
    shared: &Shared,
    headers: &HeaderMap,
    query: &str,
) -> Result<serde_json::Value, Refused> {
    let now = shared.now();
    let key = HostKey::Shared(Provider::DigitalOcean);
    let refuse = || {
        unauthorized(
            shared,
            &key,
            Provider::DigitalOcean,
            None,
            "unknown or expired credentials",
        )
    };
    let Presented::Basic(_, password) = presented(headers) else {
        return Err(refuse());
    };
    let all: BTreeSet<Action> = Action::ALL.into();
    let (registry, actions) = if shared
        .auth()
        .credentials(Provider::DigitalOcean)
        .token
        .expose_secret()
        == password
    {
        (None, all)
    } else {
        let hash = secret_sha256(&password);
        let world = shared.world();
        let issued = world
            .digitalocean
            .issued_credentials
            .iter()
            .rev()
            .find(|c| c.secret_sha256.as_deref() == Some(hash.as_str()))
            .filter(|c| c.valid_at(now))
            .ok_or_else(refuse)?;
        let actions = if issued.read_write {
            all
        } else {
            [Action::Pull].into()
        };
        (issued.registry.clone(), actions)
    };
    let scopes: Vec<Scope> = query_values(query, "scope")
        .iter()
        .flat_map(|s| s.split(' ').filter_map(Scope::parse).collect::<Vec<_>>())
        .filter(|s| {
            registry
                .as_deref()
                .is_none_or(|r| s.name.starts_with(&format!("{r}/")))
        })
        .map(|s| Scope {
            actions: s.actions.intersection(&actions).copied().collect(),
            name: s.name,
        })
        .collect();
    let token = format!("emu-jwt-{}", shared.ids().alphanumeric(40));
    let expires_at = now + TOKEN_LIFETIME;
    let grant = Grant {
        scopes,
        expires_at,
        ceiling: (actions, registry),
    };
    shared.data().grants_insert(token.clone(), grant, now);
    Ok(serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_LIFETIME.num_seconds(),
        "issued_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
}
