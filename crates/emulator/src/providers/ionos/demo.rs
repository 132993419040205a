//! IONOS's demo content: one registry with content, a token and a finding.

use chrono::{DateTime, Utc};

use super::model::{Advisory, Schedule, Scope, State, Token};
use crate::content::ContentGen;

/// One registry "demo" in de/fra with two repositories, a token (no
/// password kept) and a finding of the scanner.
pub(crate) fn demo(state: &mut State, ids: &mut ContentGen, now: DateTime<Utc>) {
    let id = ids.uuid().to_string();
    let registry = state.add_registry(&id, "demo", "de/fra", now - chrono::Duration::days(30));
    registry.garbage_collection = Some(Schedule {
        days: vec!["Saturday".into()],
        time: "02:30:00+00:00".into(),
    });
    ids.repository(&mut registry.content, "web", 3, now);
    ids.repository(&mut registry.content, "api", 2, now);
    let token_id = ids.uuid().to_string();
    registry.tokens.insert(
        token_id.clone(),
        Token {
            id: token_id,
            name: "ci-push".into(),
            created_at: now - chrono::Duration::days(7),
            modified_at: None,
            expiry: Some(now + chrono::Duration::days(365)),
            enabled: true,
            scopes: Some(vec![Scope {
                name: "*".into(),
                kind: "repository".into(),
                actions: vec!["pull".into(), "push".into()],
            }]),
            password_sha256: None,
        },
    );
    if let Some(digest) = registry
        .content
        .repositories
        .get("web")
        .and_then(|r| r.tags.get("latest"))
        .cloned()
    {
        registry
            .findings
            .insert(digest, vec!["CVE-2023-44487".into()]);
    }
    state
        .vulnerabilities
        .insert("CVE-2023-44487".into(), demo_advisory(now));
}

fn demo_advisory(now: DateTime<Utc>) -> Advisory {
    Advisory {
        description: "HTTP/2 servers can be made to spend their resources resetting \
                      streams a client cancels right away (rapid reset)."
            .into(),
        recommendations: Some("Upgrade golang.org/x/net to v0.17.0 or later.".into()),
        source: "nvd".into(),
        source_url: Some("https://nvd.nist.gov/vuln/detail/CVE-2023-44487".into()),
        fixable: true,
        affects: vec![("golang".into(), "golang.org/x/net".into(), "v0.15.0".into())],
        references: vec!["https://github.com/advisories/GHSA-qppj-fm5r-hxr3".into()],
        severity: "HIGH".into(),
        score: 7.5,
        published_at: now - chrono::Duration::days(400),
        updated_at: Some(now - chrono::Duration::days(100)),
    }
}
