//! Rendering of the watch stage's results: the image graph, rebuild records and a watch
//! round's report, as tables and as JSON. The JSON views are the same ones the HTTP API
//! answers with (`GET /v1/rebuilds`, `GET /v1/images/{reference}/graph`).

use serde::Serialize;

use super::table;
use crate::clock::rfc3339_from_unix;
use crate::graph::{EdgeSource, Freshness};
use crate::store::watch::{RebuildRecord, RebuildStatus};
use crate::watch::{GraphEntry, RoundReport};

#[derive(Debug, Clone, Serialize)]
pub struct CauseView {
    pub kind: &'static str,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    pub detail: serde_json::Value,
    pub observed_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RebuildView {
    pub id: i64,
    pub image: String,
    pub status: RebuildStatus,
    pub trigger: String,
    pub causes: Vec<CauseView>,
    pub parent: Option<String>,
    pub old_parent_digest: Option<String>,
    pub new_parent_digest: Option<String>,
    pub old_digest: Option<String>,
    pub new_digest: Option<String>,
    pub n_attempts: i64,
    pub created_at: String,
    pub requested_at: Option<String>,
    pub finished_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub response: Option<String>,
    pub error: Option<String>,
}

impl From<&RebuildRecord> for RebuildView {
    fn from(r: &RebuildRecord) -> RebuildView {
        RebuildView {
            id: r.id,
            image: r.image.clone(),
            status: r.status,
            trigger: r.trigger.clone(),
            causes: r
                .causes
                .iter()
                .map(|c| CauseView {
                    kind: c.kind.as_str(),
                    key: c.key.clone(),
                    advisory_id: c.advisory_id.clone(),
                    severity: c.severity.clone(),
                    detail: serde_json::from_str(&c.detail).unwrap_or(serde_json::Value::Null),
                    observed_at: rfc3339_from_unix(c.observed_at),
                })
                .collect(),
            parent: r.parent.clone(),
            old_parent_digest: r.old_parent_digest.clone(),
            new_parent_digest: r.new_parent_digest.clone(),
            old_digest: r.old_digest.clone(),
            new_digest: r.new_digest.clone(),
            n_attempts: r.n_attempts,
            created_at: rfc3339_from_unix(r.created_at),
            requested_at: r.requested_at.map(rfc3339_from_unix),
            finished_at: r.finished_at.map(rfc3339_from_unix),
            next_attempt_at: r.next_attempt_at.filter(|_| r.status == RebuildStatus::Pending).map(rfc3339_from_unix),
            response: r.response.clone(),
            error: r.error.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GraphEntryView {
    pub reference: String,
    pub digest: Option<String>,
    pub parent: Option<String>,
    /// Where the parent link comes from: config, annotation or inferred.
    pub parent_source: Option<EdgeSource>,
    pub freshness: Option<Freshness>,
    pub watched: bool,
    pub trigger: Option<String>,
    pub children: Vec<String>,
}

impl From<&GraphEntry> for GraphEntryView {
    fn from(e: &GraphEntry) -> GraphEntryView {
        GraphEntryView {
            reference: e.reference.clone(),
            digest: e.digest.clone(),
            parent: e.parent.as_ref().map(|p| p.parent.clone()),
            parent_source: e.parent.as_ref().map(|p| p.source),
            freshness: e.freshness,
            watched: e.watched,
            trigger: e.trigger.clone(),
            children: e.children.clone(),
        }
    }
}

fn short(digest: &Option<String>) -> String {
    match digest {
        Some(d) => d.get(..19).unwrap_or(d).to_string(),
        None => "-".to_string(),
    }
}

/// `rebuilds list`.
pub fn rebuilds_table(records: &[RebuildRecord]) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 7]> = records
        .iter()
        .map(|r| {
            let causes: Vec<&str> = r.causes.iter().map(|c| c.key.as_str()).collect();
            let outcome = match (r.status, &r.new_digest, &r.error, &r.response) {
                (RebuildStatus::Confirmed, Some(d), _, _) => format!("new digest {}", short(&Some(d.clone()))),
                (_, _, Some(e), _) => e.clone(),
                (_, _, None, Some(response)) => response.clone(),
                _ => String::new(),
            };
            [
                r.id.to_string(),
                r.image.clone(),
                r.status.as_str().to_string(),
                r.n_attempts.to_string(),
                rfc3339_from_unix(r.created_at),
                causes.join(", "),
                outcome,
            ]
        })
        .collect();
    table(&mut out, ["ID", "IMAGE", "STATUS", "ATTEMPTS", "CREATED", "CAUSES", "OUTCOME"], &rows);
    out
}

pub fn rebuilds_json(records: &[RebuildRecord]) -> String {
    let views: Vec<RebuildView> = records.iter().map(RebuildView::from).collect();
    serde_json::to_string_pretty(&serde_json::json!({ "items": views })).expect("rebuild views serialize") + "\n"
}

/// `images graph`.
pub fn graph_table(entries: &[GraphEntry]) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let (parent, source) = match &e.parent {
                Some(edge) => (edge.parent.clone(), edge.source.as_str().to_string()),
                None => ("-".to_string(), String::new()),
            };
            let freshness = match e.freshness {
                Some(Freshness::Current) => "current",
                Some(Freshness::Stale) => "stale",
                Some(Freshness::Unknown) => "not indexed",
                None => "",
            };
            let role = match (&e.trigger, e.watched) {
                (Some(trigger), _) => trigger.clone(),
                (None, true) => "watched".to_string(),
                (None, false) => String::new(),
            };
            [e.reference.clone(), short(&e.digest), parent, source, freshness.to_string(), role]
        })
        .collect();
    table(&mut out, ["IMAGE", "DIGEST", "PARENT", "FROM", "BUILT ON PARENT", "TRIGGER"], &rows);
    out
}

pub fn graph_json(entries: &[GraphEntry]) -> String {
    let views: Vec<GraphEntryView> = entries.iter().map(GraphEntryView::from).collect();
    serde_json::to_string_pretty(&serde_json::json!({ "items": views })).expect("graph views serialize") + "\n"
}

/// `watch`: what one round did.
pub fn round_lines(report: &RoundReport) -> String {
    let mut out = format!(
        "polled {} tags ({} failed), {} changed, {} re-indexed; {} new causes, {} rebuilds planned, \
         {} triggers sent ({} failed), {} confirmed, {} timed out in {} ms\n",
        report.n_polled,
        report.n_poll_failures,
        report.n_changed,
        report.n_indexed,
        report.n_new_causes,
        report.n_rebuilds_created,
        report.n_triggers_sent,
        report.n_trigger_failures,
        report.n_confirmed,
        report.n_timed_out,
        report.duration_ms
    );
    for e in &report.index_errors {
        out.push_str(&format!("re-index failed: {e}\n"));
    }
    for e in &report.mirror_errors {
        out.push_str(&format!("mirror failed: {e}\n"));
    }
    for h in &report.held {
        out.push_str(&format!("held: {h}\n"));
    }
    out
}
