//! `tags REPO --tree`: each tag's image graph as a tree, index →
//! platforms → referrers (signatures, SBOMs, attestations) with sizes, as
//! `oras discover` and `regctl artifact tree` draw it; and the same as
//! JSON, one object per tag.

use std::collections::BTreeSet;

use regkit_workflows::graph::{Node, RepoGraph};
use serde::Serialize;

use crate::output;

/// One manifest of a tag's tree, as JSON.
#[derive(Debug, Serialize)]
pub struct TreeNode {
    /// Its digest.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// Its artifact type, for a referrer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Its platform, for an index's child.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Bytes of the manifest and the blobs it needs.
    pub size: u64,
    /// An index's platforms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<TreeNode>,
    /// Its referrers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<TreeNode>,
}

/// A tag and its tree.
#[derive(Debug, Serialize)]
pub struct TaggedTree {
    /// The tag.
    pub tag: String,
    /// Its manifest's tree.
    #[serde(flatten)]
    pub root: TreeNode,
}

/// The tree under `digest` (a manifest met twice on one path, which
/// content addressing rules out, is not followed again).
pub fn tree(graph: &RepoGraph, digest: &str, platform: Option<String>) -> TreeNode {
    build(graph, digest, platform, &mut BTreeSet::new())
}

fn build(
    graph: &RepoGraph,
    digest: &str,
    platform: Option<String>,
    path: &mut BTreeSet<String>,
) -> TreeNode {
    let node = graph.nodes.get(digest);
    let mut out = TreeNode {
        digest: digest.to_string(),
        media_type: node.map_or_else(|| "unknown".into(), |n| n.media_type.clone()),
        artifact_type: node.and_then(|n| n.artifact_type.clone()),
        platform,
        size: node.map_or(0, |n: &Node| n.size + n.blob_bytes),
        manifests: Vec::new(),
        referrers: Vec::new(),
    };
    if !path.insert(digest.to_string()) {
        return out;
    }
    if let Some(node) = node {
        out.manifests = node
            .children
            .iter()
            .map(|c| build(graph, &c.digest, c.platform.clone(), path))
            .collect();
        out.referrers = node
            .referrers
            .iter()
            .map(|r| build(graph, r, None, path))
            .collect();
    }
    path.remove(digest);
    out
}

/// What a manifest is, in a word.
fn kind(n: &TreeNode) -> String {
    if let Some(t) = &n.artifact_type {
        return t.clone();
    }
    if n.media_type.contains("index") || n.media_type.contains("list") {
        "index".into()
    } else {
        "image".into()
    }
}

/// The trees as text: a line per manifest, drawn with box characters.
pub fn render(trees: &[TaggedTree]) -> String {
    let mut text = String::new();
    for t in trees {
        text.push_str(&format!(
            "{} {} {} {}\n",
            t.tag,
            kind(&t.root),
            output::short_digest(&t.root.digest),
            output::bytes(Some(t.root.size))
        ));
        lines(&t.root, "", &mut text);
    }
    text
}

fn lines(n: &TreeNode, indent: &str, text: &mut String) {
    let items: Vec<&TreeNode> = n.manifests.iter().chain(&n.referrers).collect();
    for (i, child) in items.iter().enumerate() {
        let last = i + 1 == items.len();
        let label = match &child.platform {
            Some(p) => format!("{p} {}", kind(child)),
            None if i >= n.manifests.len() => format!("referrer {}", kind(child)),
            None => kind(child),
        };
        text.push_str(&format!(
            "{indent}{} {label} {} {}\n",
            if last { "└──" } else { "├──" },
            output::short_digest(&child.digest),
            output::bytes(Some(child.size))
        ));
        let deeper = format!("{indent}{}", if last { "    " } else { "│   " });
        lines(child, &deeper, text);
    }
}
