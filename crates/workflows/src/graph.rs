//! The image graph of one repository, read through the registry itself
//! (the OCI Distribution API, [`regkit_oci`]): what no management API
//! shows, and what retention must see before it deletes an "untagged"
//! manifest.
//!
//! Edges, each from the manifest that needs to the manifest needed:
//!
//! - a tag → its manifest;
//! - an index → each manifest it lists (platforms, recursively);
//! - a subject → each referrer (signatures, SBOMs, attestations): from
//!   the referrers API, or where a registry has none from the
//!   `sha256-<hex>` tag schema, and from every read manifest's own
//!   `subject`;
//! - a subject → the manifest of a cosign-style tag
//!   (`sha256-<hex>.sig`, `.att`, `.sbom`): the tag belongs to its subject.
//!
//! [`RepoGraph::reachable`] is everything some roots reach. A graph is
//! read whole or not at all: a failed read (after the client's retries),
//! a manifest of a media type regkit does not read or one over the size
//! bound is a [`GraphError`], and callers fail closed on it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use futures::StreamExt as _;
/// The login a [`GraphSession::with_login`] holds (regkit-oci's).
pub use regkit_oci::Login;
use regkit_oci::{Client, Manifest};
use serde::{Deserialize, Serialize};

use crate::credential::{CredentialSource, DockerCredential, Lifetime};
pub use crate::view::DataPlaneName;
use crate::view::{Image, Registry, RegistryView};

/// Graph reads in flight at once, per repository.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// One manifest of the graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Its digest.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// Bytes of the manifest itself.
    pub size: u64,
    /// Bytes of the blobs it needs (config and layers; 0 for an index).
    pub blob_bytes: u64,
    /// The manifests it lists (an index's platforms), in its order.
    pub children: Vec<Child>,
    /// The manifest it refers to (a referrer's subject).
    pub subject: Option<String>,
    /// Its artifact type (a signature's, an SBOM's), when it has one.
    pub artifact_type: Option<String>,
    /// The manifests that refer to it (referrers API, tag schema, their
    /// `subject`, cosign-style tags), sorted.
    pub referrers: Vec<String>,
}

/// A manifest an index lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Child {
    /// Its digest.
    pub digest: String,
    /// `os/architecture[/variant]`, when the index says.
    pub platform: Option<String>,
}

/// One repository's graph.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoGraph {
    /// The repository, as the management API names it.
    pub repository: String,
    /// Its name on the data plane (`registry/repo`, `org/registry/repo`).
    pub name: String,
    /// Every tag → its digest (the listing's and the registry's own).
    pub tags: BTreeMap<String, String>,
    /// Every manifest read, by digest.
    pub nodes: BTreeMap<String, Node>,
}

/// Why a repository's graph could not be read (the plan deletes nothing
/// there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphError {
    /// The repository.
    pub repository: String,
    /// What failed.
    pub reason: String,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the image graph of {} could not be read: {}",
            self.repository, self.reason
        )
    }
}

impl std::error::Error for GraphError {}

/// The subject a cosign-style or tag-schema tag belongs to:
/// `sha256-<hex>`, `sha256-<hex>.sig`, `.att`, `.sbom` → `sha256:<hex>`.
pub fn tag_subject(tag: &str) -> Option<String> {
    let stem = [".sig", ".att", ".sbom"]
        .iter()
        .find_map(|s| tag.strip_suffix(s))
        .unwrap_or(tag);
    let (algorithm, hex) = stem.split_once('-')?;
    let width = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => return None,
    };
    (hex.len() == width
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then(|| format!("{algorithm}:{hex}"))
}

impl RepoGraph {
    /// Every digest `roots` reach through children and referrers
    /// (the roots included, where they are in the graph).
    pub fn reachable<'a>(&self, roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = roots.into_iter().collect();
        while let Some(d) = stack.pop() {
            if !seen.insert(d.to_string()) {
                continue;
            }
            if let Some(node) = self.nodes.get(d) {
                stack.extend(node.children.iter().map(|c| c.digest.as_str()));
                stack.extend(node.referrers.iter().map(String::as_str));
            }
        }
        seen
    }

    /// The digest `tag` names in this graph.
    pub fn tag(&self, tag: &str) -> Option<&str> {
        self.tags.get(tag).map(String::as_str)
    }
}

/// How long the pull credential a [`GraphSession`] mints lasts (it is
/// revoked at [`GraphSession::close`] where the provider can revoke).
pub const SESSION_CREDENTIAL_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// A [`GraphReader`] logged in with a pull credential minted from the
/// provider's credential source (no `docker login` needed), and that
/// credential, revoked by [`close`](Self::close).
pub struct GraphSession {
    reader: GraphReader,
    minted: Option<(Box<dyn CredentialSource>, DockerCredential)>,
}

impl fmt::Debug for GraphSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphSession")
            .field("reader", &self.reader)
            .field("credential", &self.minted.as_ref().map(|(_, c)| c))
            .finish()
    }
}

impl GraphSession {
    /// Opens a session on `registry`'s data plane, where `view` says it
    /// has one (`Ok(None)` where it has none): a pull credential from
    /// `source` (a read-only one where the provider mints those), and an
    /// OCI client of the registry host logged in with it.
    pub async fn open(
        view: &dyn RegistryView,
        registry: &Registry,
        source: Option<Box<dyn CredentialSource>>,
    ) -> crate::Result<Option<GraphSession>> {
        Self::open_with(view, registry, source, false).await
    }

    /// [`open`](Self::open), with a credential that pushes as well when
    /// `push` (the destination of a copy).
    pub async fn open_with(
        view: &dyn RegistryView,
        registry: &Registry,
        source: Option<Box<dyn CredentialSource>>,
        push: bool,
    ) -> crate::Result<Option<GraphSession>> {
        let Some(place) = view.data_plane(registry, "_") else {
            return Ok(None);
        };
        let (login, minted) = match source {
            Some(source) => {
                let credential = source
                    .mint(Lifetime::Ttl(SESSION_CREDENTIAL_TTL), push)
                    .await?;
                let login = regkit_oci::Login::new(
                    credential.username.clone(),
                    credential.password.clone(),
                );
                (Some(login), Some((source, credential)))
            }
            None => (None, None),
        };
        Self::build(view, place.host, login, minted).map(Some)
    }

    /// A session on `registry`'s data plane logged in with `login`, a
    /// credential the caller holds (nothing is minted, and
    /// [`close`](Self::close) revokes nothing): Buildkite's API access
    /// token where a copy pushes, since its registry tokens only read.
    /// `Ok(None)` where the registry has no data plane.
    pub fn with_login(
        view: &dyn RegistryView,
        registry: &Registry,
        login: Option<Login>,
    ) -> crate::Result<Option<GraphSession>> {
        let Some(place) = view.data_plane(registry, "_") else {
            return Ok(None);
        };
        Self::build(view, place.host, login, None).map(Some)
    }

    fn build(
        view: &dyn RegistryView,
        host: String,
        login: Option<Login>,
        minted: Option<(Box<dyn CredentialSource>, DockerCredential)>,
    ) -> crate::Result<GraphSession> {
        let reset = view
            .provider()
            .parse::<regkit_core::Provider>()
            .ok()
            .and_then(|p| p.info().rate_limit_reset);
        let client = Client::builder(host)
            .login(login)
            .rate_limit_reset(reset)
            .build()
            .map_err(|e| crate::Error::InvalidInput(e.to_string()))?;
        Ok(GraphSession {
            reader: GraphReader::new(client),
            minted,
        })
    }

    /// The reader.
    pub fn reader(&self) -> &GraphReader {
        &self.reader
    }

    /// Revokes the minted credential where the provider can; a failure is
    /// logged, never hidden as success (it returns it).
    pub async fn close(self) -> crate::Result<()> {
        if let Some((source, credential)) = self.minted
            && source.supports_revoke()
        {
            source.revoke(&credential).await?;
        }
        Ok(())
    }
}

/// Reads graphs through one registry host's OCI client.
#[derive(Clone, Debug)]
pub struct GraphReader {
    client: Client,
    concurrency: usize,
}

impl GraphReader {
    /// A reader over `client` (logged in for pulls, at least).
    pub fn new(client: Client) -> Self {
        GraphReader {
            client,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Reads in flight at once (at least 1; 8 by default).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The OCI client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Reads `repository`'s graph: the manifests `listed` names, the
    /// registry's own tags, and everything they reach. `Err` when any
    /// part cannot be read.
    pub async fn repository(
        &self,
        view: &dyn RegistryView,
        registry: &Registry,
        repository: &str,
        listed: &[Image],
    ) -> Result<RepoGraph, GraphError> {
        let fail = |reason: String| GraphError {
            repository: repository.to_string(),
            reason,
        };
        let name = view
            .data_plane(registry, repository)
            .ok_or_else(|| fail(format!("{} has no data plane", view.provider())))?
            .name;
        let mut graph = RepoGraph {
            repository: repository.to_string(),
            name: name.clone(),
            ..RepoGraph::default()
        };
        for image in listed {
            if let Some(tag) = &image.tag {
                graph
                    .tags
                    .entry(tag.clone())
                    .or_insert_with(|| image.digest.clone());
            }
        }
        // Tags the registry has and the listing did not show yet.
        let served = self
            .client
            .tags(&name)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let unseen: Vec<String> = served
            .into_iter()
            .filter(|t| !graph.tags.contains_key(t))
            .collect();
        let resolved: Vec<(String, Result<Option<String>, regkit_oci::Error>)> =
            futures::stream::iter(unseen)
                .map(|t| async {
                    let d = self.client.manifest_digest(&name, &t).await;
                    (t, d)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        for (tag, digest) in resolved {
            match digest {
                Ok(Some(d)) => {
                    graph.tags.insert(tag, d);
                }
                // Deleted since the tag list: nothing to keep.
                Ok(None) => {}
                Err(e) => return Err(fail(format!("tag {tag}: {e}"))),
            }
        }
        let mut wanted: BTreeSet<String> = listed.iter().map(|i| i.digest.clone()).collect();
        wanted.extend(graph.tags.values().cloned());
        let subjects: BTreeSet<String> = graph.tags.keys().filter_map(|t| tag_subject(t)).collect();
        self.read(&name, &mut graph.nodes, wanted, subjects)
            .await
            .map_err(fail)?;
        // Cosign-style tags belong to their subject.
        let owned: Vec<(String, String)> = graph
            .tags
            .iter()
            .filter_map(|(t, d)| Some((tag_subject(t)?, d.clone())))
            .collect();
        for (subject, digest) in owned {
            if let Some(node) = graph.nodes.get_mut(&subject) {
                node.referrers.push(digest);
            }
        }
        finish(&mut graph.nodes);
        Ok(graph)
    }

    /// Reads everything `roots` reach in `name` (manifests, children,
    /// referrers): the part of a graph [`crate::retention::apply`]
    /// re-reads before it deletes.
    pub async fn closure(
        &self,
        name: &str,
        roots: BTreeSet<String>,
    ) -> Result<BTreeMap<String, Node>, String> {
        let mut nodes = BTreeMap::new();
        self.read(name, &mut nodes, roots, BTreeSet::new()).await?;
        finish(&mut nodes);
        Ok(nodes)
    }

    /// Reads `wanted` and everything it reaches into `nodes`, level by
    /// level, `concurrency` reads at a time. `optional` digests (a
    /// referrer's subject, a cosign tag's) may be absent.
    async fn read(
        &self,
        name: &str,
        nodes: &mut BTreeMap<String, Node>,
        wanted: BTreeSet<String>,
        optional: BTreeSet<String>,
    ) -> Result<(), String> {
        let mut absent: BTreeSet<String> = BTreeSet::new();
        let mut frontier: Vec<(String, bool)> = wanted
            .into_iter()
            .map(|d| (d, false))
            .chain(optional.into_iter().map(|d| (d, true)))
            .collect();
        while !frontier.is_empty() {
            let read: Vec<(String, bool, Result<Option<Node>, String>)> =
                futures::stream::iter(std::mem::take(&mut frontier))
                    .filter(|(d, _)| {
                        std::future::ready(!nodes.contains_key(d) && !absent.contains(d))
                    })
                    .map(|(d, optional)| async move {
                        let node = self.node(name, &d, optional).await;
                        (d, optional, node)
                    })
                    .buffer_unordered(self.concurrency)
                    .collect()
                    .await;
            let mut next = BTreeSet::new();
            for (digest, _, node) in read {
                match node? {
                    None => {
                        absent.insert(digest);
                    }
                    Some(node) => {
                        for c in &node.children {
                            next.insert((c.digest.clone(), false));
                        }
                        for r in &node.referrers {
                            next.insert((r.clone(), false));
                        }
                        if let Some(s) = &node.subject {
                            next.insert((s.clone(), true));
                        }
                        nodes.insert(digest, node);
                    }
                }
            }
            frontier = next
                .into_iter()
                .filter(|(d, _)| !nodes.contains_key(d) && !absent.contains(d))
                .collect();
            frontier.dedup_by(|a, b| a.0 == b.0);
        }
        Ok(())
    }

    /// One manifest and its referrers. `Ok(None)`: an optional digest the
    /// registry does not have.
    async fn node(&self, name: &str, digest: &str, optional: bool) -> Result<Option<Node>, String> {
        let manifest = match self.client.manifest(name, digest).await {
            Ok(m) => m,
            Err(e) if optional && e.is_not_found() => return Ok(None),
            Err(e) => return Err(format!("manifest {digest}: {e}")),
        };
        let referrers = self
            .client
            .referrers(name, digest)
            .await
            .map_err(|e| format!("referrers of {digest}: {e}"))?;
        let mut node = node_of(&manifest);
        node.referrers = referrers
            .descriptors
            .iter()
            .map(|d| d.digest().to_string())
            .collect();
        Ok(Some(node))
    }
}

/// A manifest as a node (its referrers not yet known).
pub fn node_of(m: &Manifest) -> Node {
    Node {
        digest: m.digest.clone(),
        media_type: m.media_type.clone(),
        size: m.bytes.len() as u64,
        blob_bytes: m.blobs().iter().map(|b| b.size()).sum(),
        children: m
            .children()
            .iter()
            .map(|c| Child {
                digest: c.digest().to_string(),
                platform: c.platform().as_ref().map(|p| {
                    let mut s = format!("{}/{}", p.os(), p.architecture());
                    if let Some(v) = p.variant() {
                        s.push('/');
                        s.push_str(v);
                    }
                    s
                }),
            })
            .collect(),
        subject: m.subject().map(|s| s.digest().to_string()),
        artifact_type: m.artifact_type(),
        referrers: Vec::new(),
    }
}

/// Every manifest naming a subject read here is among its referrers;
/// referrer lists are sorted and unique.
fn finish(nodes: &mut BTreeMap<String, Node>) {
    let edges: Vec<(String, String)> = nodes
        .values()
        .filter_map(|n| Some((n.subject.clone()?, n.digest.clone())))
        .collect();
    for (subject, referrer) in edges {
        if let Some(s) = nodes.get_mut(&subject) {
            s.referrers.push(referrer);
        }
    }
    for n in nodes.values_mut() {
        n.referrers.sort();
        n.referrers.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosign_and_tag_schema_tags_name_their_subject() {
        let hex = "a".repeat(64);
        for tag in [
            format!("sha256-{hex}"),
            format!("sha256-{hex}.sig"),
            format!("sha256-{hex}.att"),
            format!("sha256-{hex}.sbom"),
        ] {
            assert_eq!(tag_subject(&tag), Some(format!("sha256:{hex}")), "{tag}");
        }
        for tag in [
            "latest".to_string(),
            format!("sha256-{}", "a".repeat(63)),
            format!("sha256-{}", "A".repeat(64)),
            format!("md5-{hex}"),
            format!("sha256-{hex}.other"),
        ] {
            assert_eq!(tag_subject(&tag), None, "{tag}");
        }
    }

    fn node(d: &str, children: &[&str], referrers: &[&str]) -> Node {
        Node {
            digest: d.into(),
            media_type: "m".into(),
            size: 1,
            blob_bytes: 0,
            children: children
                .iter()
                .map(|c| Child {
                    digest: c.to_string(),
                    platform: None,
                })
                .collect(),
            subject: None,
            artifact_type: None,
            referrers: referrers.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn reachability_follows_children_and_referrers_through_cycles() {
        let mut g = RepoGraph::default();
        for n in [
            node("i", &["a", "b"], &["sig"]),
            node("a", &[], &[]),
            node("b", &[], &["sbom"]),
            node("sig", &[], &[]),
            node("sbom", &[], &["i"]),
            node("lone", &[], &[]),
        ] {
            g.nodes.insert(n.digest.clone(), n);
        }
        let r = g.reachable(["i"]);
        assert_eq!(
            r.into_iter().collect::<Vec<_>>(),
            ["a", "b", "i", "sbom", "sig"]
        );
        assert!(g.reachable(["lone"]).len() == 1);
    }
}
