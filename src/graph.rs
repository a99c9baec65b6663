//! The image graph: which image each known image was built on, and whether it is still built
//! on that parent's current content. Pure: nodes in, edges and verdicts out; no IO, no SQL.
//!
//! A child's parent comes from, in order of trust:
//! 1. the config (`parent = "…"` of a watched image),
//! 2. what the image declares: the OCI annotation or label `org.opencontainers.image.base.name`
//!    (or, without a name, `…base.digest` matching a known image's digest),
//! 3. inference: the known image whose layers are the longest strict prefix of the child's,
//! 4. memory: the parent the graph found last time (the store keeps it), because inference
//!    stops working as soon as the parent is rebuilt, which is when the child must be found.
//!
//! An edge that would close a cycle is dropped with a warning; each image has at most one
//! parent.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::images::reference::ImageRef;

/// What the graph knows about one image (one platform of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphNode {
    /// Canonical reference (`registry/repository:tag`).
    pub reference: String,
    /// The indexed platform's manifest digest, when the image has been indexed.
    pub manifest_digest: Option<String>,
    pub index_digest: Option<String>,
    /// Layer digests, base first; empty when the image has not been indexed.
    pub layers: Vec<String>,
    pub base_name: Option<String>,
    pub base_digest: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeSource {
    Config,
    Annotation,
    Inferred,
}

impl EdgeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeSource::Config => "config",
            EdgeSource::Annotation => "annotation",
            EdgeSource::Inferred => "inferred",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub child: String,
    pub parent: String,
    pub source: EdgeSource,
}

/// Whether a child's layers still start with its parent's current layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Freshness {
    /// The parent's layers are a strict prefix of the child's: built on the current parent.
    Current,
    /// Both are indexed and the child does not start with the parent's layers.
    Stale,
    /// One of the two has not been indexed yet.
    Unknown,
}

/// The graph: edges plus what was dropped and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// child → its edge.
    pub parents: BTreeMap<String, Edge>,
    pub warnings: Vec<String>,
}

/// Canonical form of a reference as written in config or an annotation (`debian` becomes
/// `docker.io/library/debian:latest`); unparsable text is kept as written so that it still
/// shows up (as an unknown parent).
pub fn canonical(reference: &str) -> String {
    match reference.parse::<ImageRef>() {
        Ok(mut r) => {
            if r.tag.is_none() && r.digest.is_none() {
                r.tag = Some(crate::images::reference::DEFAULT_TAG.to_string());
            }
            r.to_string()
        }
        Err(_) => reference.to_string(),
    }
}

/// Builds the graph from the known nodes, the configured `(child, parent)` pairs and the
/// edges remembered from earlier graphs.
pub fn build(nodes: &[GraphNode], configured: &[(String, String)], remembered: &[Edge]) -> Graph {
    let mut graph = Graph::default();
    let mut candidates: Vec<Edge> = configured
        .iter()
        .map(|(child, parent)| Edge { child: canonical(child), parent: canonical(parent), source: EdgeSource::Config })
        .collect();
    for node in nodes {
        if let Some(parent) = declared_parent(node, nodes) {
            candidates.push(Edge { child: node.reference.clone(), parent, source: EdgeSource::Annotation });
        }
        if let Some(parent) = inferred_parent(node, nodes) {
            candidates.push(Edge { child: node.reference.clone(), parent, source: EdgeSource::Inferred });
        }
    }
    // Most trusted first; within a source, by child so that the result is deterministic.
    candidates.sort_by(|a, b| (a.source, &a.child).cmp(&(b.source, &b.child)));
    candidates.extend(remembered.iter().cloned());
    for edge in candidates {
        if graph.parents.contains_key(&edge.child) {
            continue;
        }
        if edge.child == edge.parent || ancestors_of(&graph, &edge.parent).contains(&edge.child) {
            graph.warnings.push(format!(
                "ignoring {} parent {} of {}: it would make a cycle",
                edge.source.as_str(),
                edge.parent,
                edge.child
            ));
            continue;
        }
        graph.parents.insert(edge.child.clone(), edge);
    }
    graph
}

/// The parent an image declares, resolved to a known reference when it names one.
fn declared_parent(node: &GraphNode, nodes: &[GraphNode]) -> Option<String> {
    if let Some(name) = &node.base_name {
        // A name with a digest (`debian@sha256:…`) still names the repository's tag family;
        // keep it as written when no known image matches.
        return Some(canonical(name));
    }
    let digest = node.base_digest.as_deref()?;
    nodes
        .iter()
        .filter(|n| n.reference != node.reference)
        .find(|n| n.manifest_digest.as_deref() == Some(digest) || n.index_digest.as_deref() == Some(digest))
        .map(|n| n.reference.clone())
}

/// The known image whose layers are the longest strict prefix of `node`'s layers; ties go to
/// the smallest reference (two tags of one image).
fn inferred_parent(node: &GraphNode, nodes: &[GraphNode]) -> Option<String> {
    nodes
        .iter()
        .filter(|n| n.reference != node.reference && is_strict_prefix(&n.layers, &node.layers))
        .max_by(|a, b| a.layers.len().cmp(&b.layers.len()).then_with(|| b.reference.cmp(&a.reference)))
        .map(|n| n.reference.clone())
}

fn is_strict_prefix(prefix: &[String], of: &[String]) -> bool {
    !prefix.is_empty() && prefix.len() < of.len() && of.starts_with(prefix)
}

/// Whether `child` is built on `parent`'s current layers.
pub fn freshness(child: &GraphNode, parent: &GraphNode) -> Freshness {
    if child.layers.is_empty() || parent.layers.is_empty() {
        return Freshness::Unknown;
    }
    if is_strict_prefix(&parent.layers, &child.layers) {
        Freshness::Current
    } else {
        Freshness::Stale
    }
}

/// The chain of parents above `reference`, nearest first.
pub fn ancestors_of(graph: &Graph, reference: &str) -> Vec<String> {
    let mut chain = Vec::new();
    let mut seen = BTreeSet::new();
    let mut current = reference;
    while let Some(edge) = graph.parents.get(current) {
        if !seen.insert(edge.parent.clone()) {
            break;
        }
        chain.push(edge.parent.clone());
        current = &edge.parent;
    }
    chain
}

/// The images built directly on `reference`.
pub fn children_of<'g>(graph: &'g Graph, reference: &str) -> Vec<&'g str> {
    graph.parents.values().filter(|e| e.parent == reference).map(|e| e.child.as_str()).collect()
}

/// Depth of every image that appears in the graph (roots are 0), for ordering a cascade.
pub fn depth(graph: &Graph, reference: &str) -> usize {
    ancestors_of(graph, reference).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(reference: &str, layers: &[&str]) -> GraphNode {
        GraphNode {
            reference: canonical(reference),
            manifest_digest: Some(format!("sha256:{reference}")),
            layers: layers.iter().map(|l| l.to_string()).collect(),
            ..Default::default()
        }
    }

    fn parent_of(graph: &Graph, child: &str) -> Option<(String, EdgeSource)> {
        graph.parents.get(&canonical(child)).map(|e| (e.parent.clone(), e.source))
    }

    #[test]
    fn parents_are_inferred_from_the_longest_layer_prefix() {
        let nodes = [
            node("vendor/debian:12", &["a"]),
            node("acme/base:1", &["a", "b"]),
            node("acme/app:1", &["a", "b", "c"]),
            node("acme/other:1", &["x", "y"]),
        ];
        let graph = build(&nodes, &[], &[]);
        assert_eq!(parent_of(&graph, "acme/base:1"), Some((canonical("vendor/debian:12"), EdgeSource::Inferred)));
        assert_eq!(parent_of(&graph, "acme/app:1"), Some((canonical("acme/base:1"), EdgeSource::Inferred)));
        assert_eq!(parent_of(&graph, "vendor/debian:12"), None);
        assert_eq!(parent_of(&graph, "acme/other:1"), None);
        assert_eq!(depth(&graph, &canonical("acme/app:1")), 2);
        assert_eq!(children_of(&graph, &canonical("acme/base:1")), vec![canonical("acme/app:1")]);
    }

    #[test]
    fn identical_images_are_not_each_others_parent_and_ties_are_deterministic() {
        let nodes =
            [node("vendor/debian:12", &["a"]), node("vendor/debian:bookworm", &["a"]), node("app:1", &["a", "b"])];
        let graph = build(&nodes, &[], &[]);
        assert_eq!(parent_of(&graph, "vendor/debian:12"), None);
        assert_eq!(parent_of(&graph, "vendor/debian:bookworm"), None);
        assert_eq!(parent_of(&graph, "app:1").unwrap().0, canonical("vendor/debian:12"));
    }

    #[test]
    fn config_beats_annotation_beats_inference() {
        let mut annotated = node("acme/app:1", &["a", "b", "c"]);
        annotated.base_name = Some("docker.io/acme/base:1".into());
        let nodes = [node("acme/base:1", &["a", "b"]), node("acme/base:2", &["a"]), annotated];
        let graph = build(&nodes, &[], &[]);
        assert_eq!(parent_of(&graph, "acme/app:1"), Some((canonical("acme/base:1"), EdgeSource::Annotation)));
        let graph = build(&nodes, &[("acme/app:1".into(), "acme/base:2".into())], &[]);
        assert_eq!(parent_of(&graph, "acme/app:1"), Some((canonical("acme/base:2"), EdgeSource::Config)));
    }

    #[test]
    fn a_base_digest_without_a_name_resolves_to_the_known_image() {
        let mut child = node("acme/app:1", &[]);
        child.base_digest = Some("sha256:acme/base:1".into());
        let graph = build(&[node("acme/base:1", &[]), child], &[], &[]);
        assert_eq!(parent_of(&graph, "acme/app:1"), Some((canonical("acme/base:1"), EdgeSource::Annotation)));
    }

    #[test]
    fn cycles_are_refused_with_a_warning() {
        let configured = [("a:1".to_string(), "b:1".to_string()), ("b:1".to_string(), "a:1".to_string())];
        let graph = build(&[], &configured, &[]);
        assert_eq!(graph.parents.len(), 1);
        assert_eq!(graph.warnings.len(), 1);
        assert!(graph.warnings[0].contains("cycle"), "{:?}", graph.warnings);
        let graph = build(&[], &[("a:1".to_string(), "a:1".to_string())], &[]);
        assert!(graph.parents.is_empty());
    }

    #[test]
    fn a_remembered_parent_is_kept_once_the_parent_was_rebuilt() {
        let before = build(&[node("base:1", &["a", "b"]), node("app:1", &["a", "b", "c"])], &[], &[]);
        let remembered: Vec<Edge> = before.parents.values().cloned().collect();
        // base:1 was rebuilt: app:1 no longer starts with its layers.
        let nodes = [node("base:1", &["a2", "b2"]), node("app:1", &["a", "b", "c"])];
        assert!(build(&nodes, &[], &[]).parents.is_empty());
        let graph = build(&nodes, &[], &remembered);
        assert_eq!(parent_of(&graph, "app:1"), Some((canonical("base:1"), EdgeSource::Inferred)));
        assert_eq!(freshness(&nodes[1], &nodes[0]), Freshness::Stale);
    }

    #[test]
    fn freshness_follows_the_parents_current_layers() {
        let parent = node("p:1", &["a"]);
        assert_eq!(freshness(&node("c:1", &["a", "b"]), &parent), Freshness::Current);
        assert_eq!(freshness(&node("c:1", &["z", "b"]), &parent), Freshness::Stale);
        assert_eq!(freshness(&node("c:1", &["a"]), &parent), Freshness::Stale);
        assert_eq!(freshness(&node("c:1", &[]), &parent), Freshness::Unknown);
        assert_eq!(freshness(&node("c:1", &["a", "b"]), &node("p:1", &[])), Freshness::Unknown);
    }
}
