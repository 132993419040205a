//! What a data-plane credential may do: the three actions the
//! distribution token scopes name, and a grant of them per repository
//! (what a bearer token from DigitalOcean's token endpoint carries).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

/// An action on a repository, as a token scope spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Read manifests, blobs, tags and referrers.
    Pull,
    /// Upload blobs, put manifests and tags.
    Push,
    /// Delete manifests, tags and blobs.
    Delete,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 3] = [Action::Pull, Action::Push, Action::Delete];

    /// As a scope spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    /// From a scope's spelling (`*` is every action, as distribution reads it).
    pub fn parse_list(text: &str) -> BTreeSet<Action> {
        text.split(',')
            .flat_map(|a| match a.trim() {
                "*" => Action::ALL.to_vec(),
                a => Action::ALL
                    .into_iter()
                    .filter(|x| x.as_str() == a)
                    .collect(),
            })
            .collect()
    }
}

/// A `repository:<name>:<actions>` scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The repository, as the data plane's paths name it.
    pub name: String,
    /// What may be done to it.
    pub actions: BTreeSet<Action>,
}

impl Scope {
    /// `repository:<name>:<actions>` (the name may hold colons only in a
    /// port, which repository names never have); other resource types are
    /// ignored.
    pub fn parse(text: &str) -> Option<Scope> {
        let rest = text.strip_prefix("repository:")?;
        let (name, actions) = rest.rsplit_once(':')?;
        (!name.is_empty()).then(|| Scope {
            name: name.to_string(),
            actions: Action::parse_list(actions),
        })
    }
}

/// What a bearer token from a token endpoint allows, until when, and what
/// the credential it was minted with could have had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The repositories and actions granted.
    pub scopes: Vec<Scope>,
    /// When the token stops working (virtual clock).
    pub expires_at: DateTime<Utc>,
    /// The credential's reach: the actions it allows, and the registry it
    /// is limited to (`<registry>/` prefixes every name it reaches).
    pub ceiling: (BTreeSet<Action>, Option<String>),
}

impl Grant {
    /// Whether the credential behind the token could be granted `action`
    /// on `name` (a token for other scopes gets a 401 that sends the client
    /// back to the token endpoint, rather than a 403).
    pub fn could(&self, name: &str, action: Action, now: DateTime<Utc>) -> bool {
        let (actions, registry) = &self.ceiling;
        now < self.expires_at
            && actions.contains(&action)
            && registry.as_deref().is_none_or(|r| {
                name.strip_prefix(r)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }

    /// Whether it allows `action` on `name` at `now`.
    pub fn allows(&self, name: &str, action: Action, now: DateTime<Utc>) -> bool {
        now < self.expires_at
            && self
                .scopes
                .iter()
                .any(|s| s.name == name && s.actions.contains(&action))
    }
}

/// Whether a name matches a pattern where `*` stands for any run of
/// characters (IONOS token scopes: `team/*`, `*`).
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    // Classic two-pointer wildcard match, backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if i < p.len() && p[i] == n[j] {
            i += 1;
            j += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_as_the_token_flow_sends_them() {
        let s = Scope::parse("repository:reg/team/app:pull,push").unwrap();
        assert_eq!(s.name, "reg/team/app");
        assert_eq!(s.actions, [Action::Pull, Action::Push].into());
        assert_eq!(Scope::parse("repository:r:*").unwrap().actions.len(), 3);
        assert_eq!(Scope::parse("registry:catalog:*"), None);
        assert_eq!(Scope::parse("repository::pull"), None);
        assert!(
            Scope::parse("repository:r:bogus")
                .unwrap()
                .actions
                .is_empty()
        );
    }

    #[test]
    fn globs_match_runs_of_anything() {
        for (p, n, want) in [
            ("*", "a/b", true),
            ("team/*", "team/app", true),
            ("team/*", "other/app", false),
            ("*-cache", "x-cache", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(glob_matches(p, n), want, "{p} ~ {n}");
        }
    }

    #[test]
    fn a_grant_allows_its_scopes_until_it_expires() {
        let now = Utc::now();
        let g = Grant {
            scopes: vec![Scope::parse("repository:r/a:pull").unwrap()],
            expires_at: now + chrono::Duration::minutes(15),
            ceiling: ([Action::Pull].into(), Some("r".into())),
        };
        assert!(g.could("r/b", Action::Pull, now));
        assert!(!g.could("r/b", Action::Push, now));
        assert!(!g.could("rr/b", Action::Pull, now));
        assert!(g.allows("r/a", Action::Pull, now));
        assert!(!g.allows("r/a", Action::Push, now));
        assert!(!g.allows("r/b", Action::Pull, now));
        assert!(!g.allows("r/a", Action::Pull, now + chrono::Duration::minutes(15)));
    }
}
