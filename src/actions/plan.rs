//! The rebuild planner: from the graph, the watched tags, the open rebuilds and the fixable
//! findings, decide which causes exist, which rebuilds to request, and which requested
//! rebuilds are confirmed or timed out. Pure: a snapshot in, decisions out; the watch round
//! stores them and sends the triggers.
//!
//! The cascade order falls out of two rules:
//! - an intermediate is stale when its layers no longer start with its parent's current
//!   layers, so a child only becomes stale once its parent's *new* digest has been indexed;
//! - nothing is planned for an image while an intermediate above it has a rebuild in flight,
//!   a waiting cause, or is itself stale.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::advisories::Severity;
use crate::graph::{self, Freshness, Graph, GraphNode};
use crate::store::watch::{Cause, CauseKind, FixCandidate, RebuildRecord, RebuildStatus, WatchedTag};
use crate::watch::spec::RebuildPolicy;

/// Everything the planner looks at.
pub struct Snapshot<'a> {
    pub now: i64,
    pub policy: &'a RebuildPolicy,
    pub settle_secs: i64,
    pub rebuild_timeout_secs: i64,
    pub graph: &'a Graph,
    /// Indexed images by reference.
    pub nodes: &'a BTreeMap<String, GraphNode>,
    /// Watched tags by reference.
    pub tags: &'a BTreeMap<String, WatchedTag>,
    /// Watched images that have a trigger, with the trigger's description.
    pub intermediates: &'a BTreeMap<String, String>,
    pub open_rebuilds: &'a [RebuildRecord],
    /// Causes recorded and not yet acted on.
    pub waiting: &'a [Cause],
    /// Per intermediate, its findings with a fixed version and whether the fix is
    /// installable (true also when the policy does not require installability).
    pub fixes: &'a BTreeMap<String, Vec<(FixCandidate, bool)>>,
}

/// What to do with a requested rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Confirm { rebuild_id: i64, new_digest: String },
    TimeOut { rebuild_id: i64, error: String },
}

/// A rebuild to create, or causes to add to one that has not been sent yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Create {
        image: String,
        parent: Option<String>,
        old_parent_digest: Option<String>,
        new_parent_digest: Option<String>,
        old_digest: Option<String>,
        trigger: String,
        cause_keys: Vec<String>,
    },
    Attach {
        rebuild_id: i64,
        image: String,
        cause_keys: Vec<String>,
    },
}

/// Requested rebuilds whose image now has a new, indexed digest are confirmed; those past the
/// timeout are timed out.
pub fn settle(s: &Snapshot<'_>) -> Vec<Settlement> {
    let mut out = Vec::new();
    for r in s.open_rebuilds.iter().filter(|r| r.status == RebuildStatus::Requested) {
        let tag = s.tags.get(&r.image);
        let current = tag.and_then(|t| t.digest.as_deref());
        let indexed = tag.is_some_and(|t| t.digest.is_some() && t.digest == t.indexed_digest);
        match current {
            Some(digest) if indexed && Some(digest) != r.old_digest.as_deref() => {
                out.push(Settlement::Confirm { rebuild_id: r.id, new_digest: digest.to_string() })
            }
            _ => {
                let since = r.requested_at.unwrap_or(r.created_at);
                if s.now - since >= s.rebuild_timeout_secs {
                    out.push(Settlement::TimeOut {
                        rebuild_id: r.id,
                        error: format!(
                            "no new digest of {} within {} s of the request",
                            r.image, s.rebuild_timeout_secs
                        ),
                    });
                }
            }
        }
    }
    out
}

/// The parent change and advisory causes that hold now (the store ignores ones seen before).
pub fn observe(s: &Snapshot<'_>) -> Vec<Cause> {
    let mut causes = Vec::new();
    for image in s.intermediates.keys() {
        if let Some(cause) = parent_cause(s, image) {
            causes.push(cause);
        }
        for (fix, installable) in s.fixes.get(image).map(Vec::as_slice).unwrap_or_default() {
            let severity = fix.severity.as_deref().map_or(Severity::Unknown, Severity::parse);
            if !installable || severity < s.policy.min_severity {
                continue;
            }
            let key = format!("advisory:{}", fix.advisory_id);
            if causes.iter().any(|c: &Cause| c.image == *image && c.key == key) {
                continue;
            }
            causes.push(Cause {
                image: image.clone(),
                key,
                kind: CauseKind::AdvisoryFixInstallable,
                advisory_id: Some(fix.advisory_id.clone()),
                severity: fix.severity.clone(),
                detail: json!({
                    "feed": fix.feed,
                    "package": fix.package,
                    "installed_version": fix.installed_version,
                    "fixed_version": fix.fixed_version,
                })
                .to_string(),
                observed_at: s.now,
                rebuild_id: None,
            });
        }
    }
    causes
}

/// A parent change cause for `image`: its parent is indexed at a settled digest and the
/// image is not built on it.
fn parent_cause(s: &Snapshot<'_>, image: &str) -> Option<Cause> {
    let parent = &s.graph.parents.get(image)?.parent;
    let (child_node, parent_node) = (s.nodes.get(image)?, s.nodes.get(parent)?);
    if graph::freshness(child_node, parent_node) != Freshness::Stale {
        return None;
    }
    let parent_digest = match s.tags.get(parent) {
        // A watched parent: act on a digest that has been indexed and has settled.
        Some(tag) => {
            let digest = tag.digest.as_deref()?;
            if tag.indexed_digest.as_deref() != Some(digest) || s.now - tag.changed_at? < s.settle_secs {
                return None;
            }
            digest.to_string()
        }
        None => parent_node.index_digest.clone().or_else(|| parent_node.manifest_digest.clone())?,
    };
    Some(Cause {
        image: image.to_string(),
        key: format!("parent:{parent}@{parent_digest}"),
        kind: CauseKind::ParentDigestChanged,
        advisory_id: None,
        severity: None,
        detail: json!({
            "parent": parent,
            "old_parent_digest": child_node.base_digest,
            "new_parent_digest": parent_digest,
        })
        .to_string(),
        observed_at: s.now,
        rebuild_id: None,
    })
}

/// Whether an intermediate above `image` still has work: a rebuild in flight, a waiting
/// cause, or a stale parent of its own. Its children wait for it.
fn blocked_by_ancestor(s: &Snapshot<'_>, image: &str) -> Option<String> {
    for ancestor in graph::ancestors_of(s.graph, image) {
        if !s.intermediates.contains_key(&ancestor) {
            continue;
        }
        if s.open_rebuilds.iter().any(|r| r.image == ancestor) {
            return Some(format!("{ancestor} is being rebuilt"));
        }
        if s.waiting.iter().any(|c| c.image == ancestor) {
            return Some(format!("{ancestor} has a rebuild waiting"));
        }
        if parent_is_stale(s, &ancestor) {
            return Some(format!("{ancestor} is not built on its parent's current digest"));
        }
    }
    None
}

fn parent_is_stale(s: &Snapshot<'_>, image: &str) -> bool {
    let Some(edge) = s.graph.parents.get(image) else { return false };
    match (s.nodes.get(image), s.nodes.get(&edge.parent)) {
        (Some(child), Some(parent)) => graph::freshness(child, parent) == Freshness::Stale,
        _ => false,
    }
}

/// Which rebuilds to request now from the waiting causes: causes past the grace period,
/// outside quiet hours, parents first, at most `max_concurrent_rebuilds` in flight. Causes of
/// an image whose rebuild has not been sent yet join it.
pub fn decide(s: &Snapshot<'_>) -> (Vec<Decision>, Vec<String>) {
    let mut decisions = Vec::new();
    let mut held = Vec::new();
    if let Some(quiet) = s.policy.quiet_hours {
        if quiet.contains(s.now) {
            if !s.waiting.is_empty() {
                held.push("quiet hours: no rebuild is requested now".to_string());
            }
            return (decisions, held);
        }
    }
    let grace = s.policy.grace.as_secs() as i64;
    let mut by_image: BTreeMap<&str, Vec<&Cause>> = BTreeMap::new();
    for cause in s.waiting {
        if s.intermediates.contains_key(&cause.image) && s.now - cause.observed_at >= grace {
            by_image.entry(cause.image.as_str()).or_default().push(cause);
        }
    }
    let mut images: Vec<&str> = by_image.keys().copied().collect();
    images.sort_by_key(|image| (graph::depth(s.graph, image), image.to_string()));
    let mut in_flight = s.open_rebuilds.len();
    let mut started: BTreeSet<&str> = BTreeSet::new();
    for image in images {
        let causes = &by_image[image];
        let keys: Vec<String> = causes.iter().map(|c| c.key.clone()).collect();
        let open = s.open_rebuilds.iter().find(|r| r.image == image);
        match open {
            Some(r) if r.status == RebuildStatus::Pending && r.n_attempts == 0 => {
                decisions.push(Decision::Attach { rebuild_id: r.id, image: image.to_string(), cause_keys: keys });
                continue;
            }
            Some(_) => {
                held.push(format!("{image}: waiting for its rebuild in flight"));
                continue;
            }
            None => {}
        }
        if let Some(reason) = blocked_by_ancestor(s, image) {
            held.push(format!("{image}: {reason}"));
            continue;
        }
        if started.iter().any(|other| graph::ancestors_of(s.graph, image).iter().any(|a| a == other)) {
            held.push(format!("{image}: an image above it is being rebuilt"));
            continue;
        }
        if in_flight >= s.policy.max_concurrent_rebuilds {
            held.push(format!("{image}: {in_flight} rebuilds in flight (max_concurrent_rebuilds)"));
            continue;
        }
        let parent_cause = causes.iter().find(|c| c.kind == CauseKind::ParentDigestChanged);
        let detail = parent_cause.and_then(|c| serde_json::from_str::<serde_json::Value>(&c.detail).ok());
        let field = |name: &str| detail.as_ref().and_then(|d| d[name].as_str()).map(str::to_string);
        decisions.push(Decision::Create {
            image: image.to_string(),
            parent: s.graph.parents.get(image).map(|e| e.parent.clone()),
            old_parent_digest: field("old_parent_digest"),
            new_parent_digest: field("new_parent_digest"),
            old_digest: s.tags.get(image).and_then(|t| t.digest.clone()),
            trigger: s.intermediates[image].clone(),
            cause_keys: keys,
        });
        started.insert(image);
        in_flight += 1;
    }
    (decisions, held)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::graph::{Edge, EdgeSource};

    const P: &str = "r/vendor:1";
    const I: &str = "r/base:1";
    const C: &str = "r/app:1";

    struct World {
        policy: RebuildPolicy,
        graph: Graph,
        nodes: BTreeMap<String, GraphNode>,
        tags: BTreeMap<String, WatchedTag>,
        intermediates: BTreeMap<String, String>,
        open: Vec<RebuildRecord>,
        waiting: Vec<Cause>,
        /// Every (image, cause key) ever recorded: the store acts on a key once.
        seen: Vec<(String, String)>,
        fixes: BTreeMap<String, Vec<(FixCandidate, bool)>>,
    }

    impl World {
        /// vendor P (no trigger) ← intermediate I ← child C (also an intermediate), all fresh.
        fn new() -> World {
            let mut w = World {
                policy: RebuildPolicy {
                    min_severity: Severity::Unknown,
                    fixable_only: true,
                    grace: Duration::ZERO,
                    max_concurrent_rebuilds: 4,
                    quiet_hours: None,
                },
                graph: Graph::default(),
                nodes: BTreeMap::new(),
                tags: BTreeMap::new(),
                intermediates: [(I.to_string(), "webhook i".to_string()), (C.to_string(), "webhook c".to_string())]
                    .into(),
                open: Vec::new(),
                waiting: Vec::new(),
                seen: Vec::new(),
                fixes: BTreeMap::new(),
            };
            for (child, parent) in [(I, P), (C, I)] {
                w.graph.parents.insert(
                    child.into(),
                    Edge { child: child.into(), parent: parent.into(), source: EdgeSource::Config },
                );
            }
            w.set(P, "p1", &["a"]);
            w.set(I, "i1", &["a", "b"]);
            w.set(C, "c1", &["a", "b", "c"]);
            w
        }

        /// The tag names `digest`, indexed, changed at time 0, with these layers.
        fn set(&mut self, reference: &str, digest: &str, layers: &[&str]) {
            self.nodes.insert(
                reference.into(),
                GraphNode {
                    reference: reference.into(),
                    manifest_digest: Some(digest.into()),
                    layers: layers.iter().map(|l| l.to_string()).collect(),
                    ..Default::default()
                },
            );
            self.tags.insert(
                reference.into(),
                WatchedTag {
                    reference: reference.into(),
                    digest: Some(digest.into()),
                    indexed_digest: Some(digest.into()),
                    changed_at: Some(0),
                    ..Default::default()
                },
            );
        }

        fn snapshot(&self, now: i64) -> Snapshot<'_> {
            Snapshot {
                now,
                policy: &self.policy,
                settle_secs: 60,
                rebuild_timeout_secs: 3600,
                graph: &self.graph,
                nodes: &self.nodes,
                tags: &self.tags,
                intermediates: &self.intermediates,
                open_rebuilds: &self.open,
                waiting: &self.waiting,
                fixes: &self.fixes,
            }
        }

        /// Records the observed causes as waiting (as the store would, once per key).
        fn observe(&mut self, now: i64) -> Vec<Cause> {
            let new: Vec<Cause> = observe(&self.snapshot(now))
                .into_iter()
                .filter(|c| !self.seen.contains(&(c.image.clone(), c.key.clone())))
                .collect();
            self.seen.extend(new.iter().map(|c| (c.image.clone(), c.key.clone())));
            self.waiting.extend(new.clone());
            new
        }

        fn request(&mut self, id: i64, image: &str, now: i64) {
            self.waiting.retain(|c| c.image != image);
            self.open.push(RebuildRecord {
                id,
                image: image.into(),
                parent: None,
                old_parent_digest: None,
                new_parent_digest: None,
                old_digest: self.tags[image].digest.clone(),
                new_digest: None,
                trigger: "webhook".into(),
                status: RebuildStatus::Requested,
                n_attempts: 1,
                next_attempt_at: None,
                created_at: now,
                requested_at: Some(now),
                finished_at: None,
                response: None,
                error: None,
                causes: vec![],
            });
        }
    }

    fn created(decisions: &[Decision]) -> Vec<&str> {
        decisions
            .iter()
            .filter_map(|d| match d {
                Decision::Create { image, .. } => Some(image.as_str()),
                Decision::Attach { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_new_parent_digest_rebuilds_the_intermediate_then_the_child() {
        let mut w = World::new();
        assert!(w.observe(100).is_empty(), "everything is fresh");
        // The vendor pushes a new digest: I is stale, C (built on the unchanged I) is not.
        w.set(P, "p2", &["a2"]);
        w.tags.get_mut(P).unwrap().changed_at = Some(100);
        assert!(w.observe(130).is_empty(), "not settled yet");
        let causes = w.observe(160);
        assert_eq!(causes.len(), 1);
        assert_eq!((causes[0].image.as_str(), causes[0].key.as_str()), (I, "parent:r/vendor:1@p2"));
        let (decisions, _) = decide(&w.snapshot(160));
        assert_eq!(created(&decisions), vec![I]);
        match &decisions[0] {
            Decision::Create { new_parent_digest, old_digest, .. } => {
                assert_eq!(new_parent_digest.as_deref(), Some("p2"));
                assert_eq!(old_digest.as_deref(), Some("i1"));
            }
            other => panic!("{other:?}"),
        }
        w.request(1, I, 160);
        assert!(settle(&w.snapshot(200)).is_empty(), "no new digest yet");
        assert!(w.observe(200).is_empty(), "C is still built on the old I");

        // The rebuilt I appears (new digest, indexed): confirmed, and only now C is stale.
        w.set(I, "i2", &["a2", "b2"]);
        w.tags.get_mut(I).unwrap().changed_at = Some(300);
        assert_eq!(settle(&w.snapshot(300)), vec![Settlement::Confirm { rebuild_id: 1, new_digest: "i2".into() }]);
        w.open.clear();
        assert!(w.observe(330).is_empty(), "I's new digest has not settled");
        let causes = w.observe(360);
        assert_eq!(causes.iter().map(|c| c.image.as_str()).collect::<Vec<_>>(), vec![C]);
        assert_eq!(created(&decide(&w.snapshot(360)).0), vec![C]);
    }

    #[test]
    fn children_wait_while_a_parent_is_stale_rebuilding_or_waiting() {
        let mut w = World::new();
        // Both I and C have an installable fix; I also has a stale parent.
        let fix = |id: &str| FixCandidate {
            feed: "debian-tracker".into(),
            advisory_id: id.into(),
            severity: Some("high".into()),
            distro: "debian".into(),
            release: "12".into(),
            package: "openssl".into(),
            fixed_version: "3.0.2".into(),
            installed_version: "3.0.1".into(),
        };
        w.fixes.insert(I.into(), vec![(fix("DSA-1"), true)]);
        w.fixes.insert(C.into(), vec![(fix("DSA-1"), true)]);
        w.observe(100);
        assert_eq!(w.waiting.len(), 2);
        let (decisions, held) = decide(&w.snapshot(100));
        assert_eq!(created(&decisions), vec![I], "parents first; {held:?}");
        assert!(held.iter().any(|h| h.starts_with(C)), "{held:?}");
        w.request(1, I, 100);
        let (decisions, held) = decide(&w.snapshot(110));
        assert!(decisions.is_empty());
        assert!(held.iter().any(|h| h.contains("being rebuilt")), "{held:?}");
        // I's rebuild produces no new digest: it times out. I's parent did not change, so I is
        // not stale and C's own advisory may go ahead.
        let settled = settle(&w.snapshot(100 + 3600));
        assert!(matches!(settled[0], Settlement::TimeOut { rebuild_id: 1, .. }), "{settled:?}");
        w.open.clear();
        assert_eq!(created(&decide(&w.snapshot(4000)).0), vec![C]);
    }

    #[test]
    fn policy_knobs_hold_causes() {
        let mut w = World::new();
        let fix = FixCandidate {
            feed: "f".into(),
            advisory_id: "DSA-2".into(),
            severity: Some("low".into()),
            distro: "debian".into(),
            release: "12".into(),
            package: "zlib".into(),
            fixed_version: "2".into(),
            installed_version: "1".into(),
        };
        w.fixes.insert(I.into(), vec![(fix.clone(), false)]);
        assert!(w.observe(10).is_empty(), "not installable");
        w.fixes.insert(I.into(), vec![(fix, true)]);
        w.policy.min_severity = Severity::High;
        assert!(w.observe(10).is_empty(), "below the minimum severity");
        w.policy.min_severity = Severity::Low;
        assert_eq!(w.observe(10).len(), 1);
        w.policy.grace = Duration::from_secs(100);
        assert!(created(&decide(&w.snapshot(50)).0).is_empty(), "grace period");
        assert_eq!(created(&decide(&w.snapshot(110)).0), vec![I]);
        w.policy.quiet_hours = Some(crate::watch::spec::QuietHours::parse("00:00-23:59").unwrap());
        assert!(decide(&w.snapshot(110)).0.is_empty(), "quiet hours");
        w.policy.quiet_hours = None;
        w.policy.max_concurrent_rebuilds = 1;
        w.request(7, C, 0);
        let (decisions, held) = decide(&w.snapshot(110));
        assert!(decisions.is_empty());
        assert!(held.iter().any(|h| h.contains("max_concurrent_rebuilds")), "{held:?}");
    }

    #[test]
    fn new_causes_join_a_rebuild_that_has_not_been_sent() {
        let mut w = World::new();
        w.request(5, I, 0);
        w.open[0].status = RebuildStatus::Pending;
        w.open[0].n_attempts = 0;
        w.waiting.push(Cause {
            image: I.into(),
            key: "advisory:DSA-4".into(),
            kind: CauseKind::AdvisoryFixInstallable,
            advisory_id: Some("DSA-4".into()),
            severity: None,
            detail: "{}".into(),
            observed_at: 0,
            rebuild_id: None,
        });
        let (decisions, _) = decide(&w.snapshot(10));
        assert_eq!(
            decisions,
            vec![Decision::Attach { rebuild_id: 5, image: I.into(), cause_keys: vec!["advisory:DSA-4".into()] }]
        );
        // Once a delivery was attempted, new causes wait for the next rebuild.
        w.open[0].n_attempts = 1;
        let (decisions, held) = decide(&w.snapshot(10));
        assert!(decisions.is_empty());
        assert!(held[0].contains("in flight"), "{held:?}");
    }
}
