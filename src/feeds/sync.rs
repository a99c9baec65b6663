//! The feed sync stage: for one feed, resolve the document URL, fetch it conditionally, parse
//! it and ingest it as the feed's new data, recording the feed's health either way. The CLI's
//! `feeds sync` calls this once per feed; `serve` will call it on each feed's interval.

use std::io::Read;
use std::time::Instant;

use super::definition::{expand_url, Container, FeedDef};
use super::fetch::{self, FetchError, FetchOptions, Fetched, Validators};
use super::formats::{self, Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::{Advisory, ChangeSet};
use crate::clock::{self, Utc};
use crate::layers::Compression;
use crate::store::{IngestError, IngestMeta, IngestScope, SourceKind, Store, StoreError};

/// Largest member of a tar container (one CSAF document is well under a megabyte).
const MAX_MEMBER_BYTES: u64 = 64 * 1024 * 1024;
/// Largest index document (`archive_latest.txt`).
const MAX_INDEX_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    // The causes are part of the message (and of the feed's recorded health), not a source
    // chain, so that `{:#}` does not print them twice.
    #[error("feed {feed}: {error}")]
    Fetch { feed: String, error: FetchError },
    #[error("feed {feed}: index {url} names no document")]
    EmptyIndex { feed: String, url: String },
    #[error("feed {feed}: {error}")]
    Parse { feed: String, error: FormatError },
    #[error("feed {feed}: {error}")]
    Store { feed: String, error: StoreError },
    #[error("feed {feed}: {reason}")]
    Refused { feed: String, reason: String },
}

/// How one sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// The server answered 304: nothing to ingest.
    NotModified,
    Ingested {
        changes: ChangeSet,
        n_bytes: u64,
    },
}

fn source_of(def: &FeedDef) -> (SourceKind, IngestScope) {
    match def.format {
        // A list archive holds one month: it adds to what earlier months brought.
        Format::MailArchive => (SourceKind::Mail, IngestScope::Advisories),
        _ => (SourceKind::Feed, IngestScope::WholeFeed),
    }
}

fn meta<'a>(def: &'a FeedDef, document_url: Option<&'a str>, fetched_at: &'a str, v: &'a Validators) -> IngestMeta<'a> {
    let (source, scope) = source_of(def);
    IngestMeta {
        feed: &def.name,
        format: def.format.as_str(),
        source,
        scope,
        url: document_url,
        document_url,
        fetched_at,
        etag: v.etag.as_deref(),
        last_modified: v.last_modified.as_deref(),
    }
}

/// Fetches and ingests one feed. Failures are recorded in the feed's health and returned; the
/// feed's previous data stays as it was.
pub fn sync_feed(store: &mut Store, def: &FeedDef) -> Result<Synced, SyncError> {
    let started = Instant::now();
    let span = tracing::info_span!("feed_sync", feed.name = %def.name);
    let _enter = span.enter();
    let attempt_at = clock::now_rfc3339();
    let result = fetch_and_ingest(store, def, &attempt_at);
    let no_validators = Validators::default();
    match &result {
        Ok(synced) => {
            let (changes, n_bytes) = match synced {
                Synced::NotModified => (None, 0),
                Synced::Ingested { changes, n_bytes } => (Some(changes), *n_bytes),
            };
            tracing::info!(
                n_bytes,
                not_modified = changes.is_none(),
                n_added = changes.map_or(0, |c| c.n_added),
                n_changed = changes.map_or(0, |c| c.n_changed),
                n_withdrawn = changes.map_or(0, |c| c.n_withdrawn),
                duration_ms = started.elapsed().as_millis() as u64,
                "feed synced"
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "feed sync failed; previous data kept");
            let m = meta(def, None, &attempt_at, &no_validators);
            store
                .record_feed_failure(&m, &attempt_at, &e.to_string())
                .map_err(|error| SyncError::Store { feed: def.name.clone(), error })?;
        }
    }
    result
}

fn fetch_and_ingest(store: &mut Store, def: &FeedDef, attempt_at: &str) -> Result<Synced, SyncError> {
    let feed = || def.name.clone();
    let options = FetchOptions { timeout: def.timeout, max_bytes: def.max_bytes, ..FetchOptions::default() };
    let document_url = document_url(def, &options)?;
    let (etag, last_modified) =
        store.feed_validators(&def.name, &document_url).map_err(|error| SyncError::Store { feed: feed(), error })?;
    let validators = Validators { etag, last_modified };
    match fetch::fetch(&document_url, &validators, &options)
        .map_err(|error| SyncError::Fetch { feed: feed(), error })?
    {
        Fetched::NotModified => {
            let m = meta(def, Some(&document_url), attempt_at, &validators);
            store.record_feed_success(&m, attempt_at).map_err(|error| SyncError::Store { feed: feed(), error })?;
            Ok(Synced::NotModified)
        }
        Fetched::Document { bytes, validators } => {
            let n_bytes = bytes.len() as u64;
            let changes = ingest_document(store, def, bytes, Some(&document_url), attempt_at, &validators)?;
            Ok(Synced::Ingested { changes, n_bytes })
        }
    }
}

/// The URL to fetch now: the index's named document, or the URL with its date placeholders
/// filled in.
fn document_url(def: &FeedDef, options: &FetchOptions) -> Result<String, SyncError> {
    let now = Utc::now();
    let base = expand_url(&def.url, now.year, now.month);
    let Some(index_url) = &def.index_url else { return Ok(base) };
    let index_options = FetchOptions { max_bytes: MAX_INDEX_BYTES, ..options.clone() };
    let fetched = fetch::fetch(index_url, &Validators::default(), &index_options)
        .map_err(|error| SyncError::Fetch { feed: def.name.clone(), error })?;
    let Fetched::Document { bytes, .. } = fetched else {
        return Err(SyncError::EmptyIndex { feed: def.name.clone(), url: index_url.clone() });
    };
    let text = String::from_utf8_lossy(&bytes);
    let name = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
    let name = name.ok_or_else(|| SyncError::EmptyIndex { feed: def.name.clone(), url: index_url.clone() })?;
    if name.contains("://") {
        return Ok(name.to_string());
    }
    Ok(format!("{}/{}", base.trim_end_matches('/'), name.trim_start_matches('/')))
}

/// Parses `bytes` as the feed's format (through its container) and ingests the result as the
/// feed's new data; records the feed's health on success. `feeds sync --from-file` and the
/// sync stage both end here. The document is freed as soon as it is parsed, before the
/// ingest rebuilds indexes and commits.
pub fn ingest_document(
    store: &mut Store,
    def: &FeedDef,
    bytes: Vec<u8>,
    document_url: Option<&str>,
    fetched_at: &str,
    validators: &Validators,
) -> Result<ChangeSet, SyncError> {
    let ctx = ParseContext {
        feed: def.name.clone(),
        distro: def.distro.clone(),
        releases: def.releases.clone(),
        document_url: document_url.map(str::to_string),
    };
    let m = meta(def, document_url, fetched_at, validators);
    let result = store.ingest(&m, move |sink| match def.container {
        Container::None => formats::parse(def.format, &bytes, &ctx, sink),
        Container::Tar => parse_tar(def.format, &bytes, &ctx, sink),
    });
    let changes = result.map_err(|e| match e {
        IngestError::Format(error) => SyncError::Parse { feed: def.name.clone(), error },
        IngestError::Store(error) => SyncError::Store { feed: def.name.clone(), error },
        e @ IngestError::WouldEmptyFeed { .. } => SyncError::Refused { feed: def.name.clone(), reason: e.to_string() },
    })?;
    store.record_feed_success(&m, fetched_at).map_err(|error| SyncError::Store { feed: def.name.clone(), error })?;
    Ok(changes)
}

/// Parses every regular file of a tar (optionally gzip or zstd compressed) as `format`. A
/// member that fails to parse is skipped and counted; an archive where every member fails is
/// an error.
fn parse_tar(
    format: Format,
    bytes: &[u8],
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Advisory),
) -> Result<ParseSummary, FormatError> {
    let tar_error = |e: std::io::Error| FormatError::new(format, format!("archive: {e}"));
    let reader: Box<dyn Read + '_> = match Compression::sniff(bytes) {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(bytes).map_err(tar_error)?),
        Compression::None => Box::new(bytes),
    };
    let mut archive = tar::Archive::new(reader);
    let mut summary = ParseSummary::default();
    let (mut n_ok, mut first_error) = (0u64, None);
    for entry in archive.entries().map_err(tar_error)? {
        let entry = entry.map_err(tar_error)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map(|p| p.display().to_string()).unwrap_or_default();
        if entry.size() > MAX_MEMBER_BYTES {
            tracing::warn!(member = %name, size = entry.size(), "archive member over the size cap skipped");
            summary.n_skipped += 1;
            continue;
        }
        let mut member = Vec::with_capacity(entry.size() as usize);
        entry.take(MAX_MEMBER_BYTES).read_to_end(&mut member).map_err(tar_error)?;
        match formats::parse(format, &member, ctx, sink) {
            Ok(s) => {
                n_ok += 1;
                summary.n_skipped += s.n_skipped;
            }
            Err(e) => {
                tracing::warn!(member = %name, error = %e, "archive member skipped");
                summary.n_skipped += 1;
                first_error.get_or_insert(format!("{name}: {e}"));
            }
        }
    }
    match (n_ok, first_error) {
        (0, Some(e)) => Err(FormatError::new(format, format!("no member of the archive could be read; first: {e}"))),
        _ => Ok(summary),
    }
}
