//! The mail import stage: messages from mailboxes, archives or single files (and, with the API,
//! POSTed messages) become advisories of the `mail` feed. A message that is not an advisory is
//! skipped with its reason; nothing a message contains stops the import.

use std::path::PathBuf;

use crate::advisories::{Advisory, ChangeSet};
use crate::clock;
use crate::feeds::formats::ParseSummary;
use crate::store::{IngestMeta, IngestScope, SourceKind, Store};

/// The feed name mail advisories are stored under.
pub const MAIL_FEED: &str = "mail";

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub n_messages: u64,
    /// Messages that carried at least one advisory.
    pub n_advisory_messages: u64,
    /// (message label, reason) of every skipped message.
    pub skipped: Vec<(String, String)>,
    pub changes: ChangeSet,
}

/// Parses messages into advisories; the advisories of one id from several messages are
/// merged (a later message's entries replace an earlier one's for the same id).
pub fn collect(messages: Vec<(String, Vec<u8>)>) -> (Vec<Advisory>, ImportReport) {
    let mut report = ImportReport::default();
    let mut advisories: Vec<Advisory> = Vec::new();
    for (label, raw) in messages {
        report.n_messages += 1;
        match super::parse_message(&raw) {
            Ok(mail) => {
                report.n_advisory_messages += 1;
                for advisory in mail.advisories {
                    match advisories.iter_mut().find(|a| a.id == advisory.id) {
                        Some(existing) => *existing = advisory,
                        None => advisories.push(advisory),
                    }
                }
            }
            Err(skip) => report.skipped.push((label, skip.reason)),
        }
    }
    (advisories, report)
}

/// Stores collected mail advisories in one transaction under the `mail` feed.
pub fn store_advisories(
    store: &mut Store,
    advisories: Vec<Advisory>,
    mut report: ImportReport,
    document_url: Option<&str>,
) -> anyhow::Result<ImportReport> {
    let fetched_at = clock::now_rfc3339();
    let meta = IngestMeta {
        feed: MAIL_FEED,
        format: "mail",
        source: SourceKind::Mail,
        scope: IngestScope::Advisories,
        url: None,
        document_url,
        fetched_at: &fetched_at,
        etag: None,
        last_modified: None,
    };
    report.changes = store.ingest(&meta, |sink| {
        for advisory in advisories {
            sink(advisory);
        }
        Ok(ParseSummary::default())
    })?;
    store.record_feed_success(&meta, &fetched_at)?;
    Ok(report)
}

/// `cascade mail import PATH…`: reads every path (a Maildir, an mbox, a `.gz` archive or one
/// message), then stores all advisories found in one ingest.
pub fn import_paths(store: &mut Store, paths: &[PathBuf]) -> anyhow::Result<ImportReport> {
    let mut messages = Vec::new();
    for path in paths {
        messages.extend(super::messages_from_path(path)?);
    }
    let (advisories, report) = collect(messages);
    for (label, reason) in &report.skipped {
        tracing::info!(message = %label, reason = %reason, "mail skipped");
    }
    store_advisories(store, advisories, report, None)
}
