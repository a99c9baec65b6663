//! Advisory storage: one ingest replaces a feed's data (or, for mail, the advisories it
//! carries) in one transaction and records its change set; feed health; mail entries linked
//! to feed entries. SQL stays here; parsing stays in `feeds` and `mail`.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;
use rusqlite::{params, OptionalExtension, Transaction};

use super::{sql, Store, StoreError};
use crate::advisories::{Advisory, Affected, Change, ChangeKind, ChangeSet, PackageKey, PackageKind, Status};
use crate::feeds::formats::{FormatError, ParseSummary};
use crate::inventory::Ecosystem;

/// Which stored entries an ingest replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestScope {
    /// The document is the feed's whole data: entries it no longer carries are withdrawn.
    WholeFeed,
    /// The document adds to the feed (mail): only the advisories it carries are replaced.
    Advisories,
}

/// Where a feed's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Feed,
    Mail,
}

impl SourceKind {
    fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Mail => "mail",
        }
    }
}

/// Provenance and mode of one ingest.
#[derive(Debug, Clone)]
pub struct IngestMeta<'a> {
    pub feed: &'a str,
    pub format: &'a str,
    pub source: SourceKind,
    pub scope: IngestScope,
    pub url: Option<&'a str>,
    pub document_url: Option<&'a str>,
    /// RFC 3339 UTC time the document was fetched (or read).
    pub fetched_at: &'a str,
    /// Conditional-GET validators of the fetched document, kept for the next fetch.
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A document that yields no advisory at all would withdraw a whole feed: far more likely
    /// a broken document than a vendor withdrawing everything.
    #[error(
        "the document holds no advisory ({n_skipped} records skipped) and would withdraw all {n_previous} \
         advisories of the feed; refusing it, the previous data stays"
    )]
    WouldEmptyFeed { n_previous: usize, n_skipped: u64 },
}

/// A feed's health as `feeds list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHealth {
    pub name: String,
    pub format: String,
    pub source: String,
    pub url: Option<String>,
    pub last_attempt: Option<String>,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    pub n_advisories: i64,
    pub n_affected: i64,
}

/// Entry identity and value hashed to 64 bits each, so that diffing a feed of half a million
/// entries keeps ~24 bytes per entry in memory. (A collision between two different keys of one
/// feed, odds around 1e-8 at that size, would show up as a spurious change.) These hashes live
/// only in memory during one ingest, so a fast seeded hash is enough; [`content_hash`], which
/// is stored, keeps std's stable one.
fn key_hash(advisory_id: &str, a: &AffectedRef<'_>) -> u64 {
    IN_MEMORY_HASH.hash_one((advisory_id, a.distro, a.release, a.package, a.kind, a.module))
}

fn id_hash(id: &str) -> u64 {
    IN_MEMORY_HASH.hash_one(id)
}

fn value_hash(status: &str, fixed: Option<&str>, scheme: &str) -> u64 {
    IN_MEMORY_HASH.hash_one((status, fixed, scheme))
}

const IN_MEMORY_HASH: foldhash::quality::FixedState = foldhash::quality::FixedState::with_seed(0x0063_6173_6361_6465);

/// What an advisory row and its aliases hold, hashed (stored in `advisories.content_hash`).
fn content_hash(a: &Advisory) -> u64 {
    let mut h = DefaultHasher::new();
    (&a.title, a.severity.map(|s| s.as_str()), &a.published, &a.modified, &a.url, &a.aliases).hash(&mut h);
    h.finish()
}

/// Maps keyed by the hashes above: the key already is a well-mixed 64-bit hash, so it is its
/// own bucket hash.
type ByHash<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;
type HashesSeen = HashSet<u64, BuildHasherDefault<PassThrough>>;

#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; anything else folds its bytes in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The identity columns of an affected entry, borrowed.
struct AffectedRef<'a> {
    distro: &'a str,
    release: &'a str,
    package: &'a str,
    kind: &'a str,
    module: Option<&'a str>,
}

impl<'a> From<&'a Affected> for AffectedRef<'a> {
    fn from(a: &'a Affected) -> Self {
        AffectedRef {
            distro: &a.distro,
            release: &a.release,
            package: &a.package,
            kind: a.kind.as_str(),
            module: a.module.as_deref(),
        }
    }
}

/// A stored entry as the diff sees it.
#[derive(Clone, Copy)]
struct Previous {
    row_id: i64,
    value: u64,
}

/// New affected entries waiting for their batch insert, and the advisories that hold them
/// (moved here from the parser, not copied).
#[derive(Default)]
struct Pending {
    advisories: Vec<Advisory>,
    /// (row id, index into `advisories`, index into its `affected`). Row ids are consecutive:
    /// they are assigned as rows are added here.
    rows: Vec<(i64, usize, usize)>,
}

impl Pending {
    /// The pending row with this id, when it has not been inserted yet.
    fn row_mut(&mut self, row_id: i64) -> Option<&mut (i64, usize, usize)> {
        let first = self.rows.first()?.0;
        let i = usize::try_from(row_id.checked_sub(first)?).ok()?;
        self.rows.get_mut(i)
    }
}

/// Rows per multi-row INSERT: one statement per batch instead of one per row (10 values a
/// row, well under SQLite's limit on bound parameters).
const INSERT_BATCH: usize = 256;

/// `INSERT INTO affected` of `n_rows` rows: `?1` is the feed and `?2` the ingest in every row,
/// then ten values per row.
fn insert_statement(n_rows: usize) -> &'static str {
    static STATEMENTS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (one, batch) = STATEMENTS.get_or_init(|| {
        // Row i: its id, ?1, its other nine values, ?2 (the column order below).
        let row = |i: usize| {
            let values: Vec<String> = (3 + i * 10..13 + i * 10).map(|n| format!("?{n}")).collect();
            format!("({}, ?1, {}, ?2)", values[0], values[1..].join(", "))
        };
        let rows = |n: usize| (0..n).map(row).collect::<Vec<_>>().join(", ");
        let columns =
            "id, feed, advisory_id, distro, release, package, kind, status, fixed_version, scheme, module, added_in";
        (
            format!("INSERT INTO affected ({columns}) VALUES {}", rows(1)),
            format!("INSERT INTO affected ({columns}) VALUES {}", rows(INSERT_BATCH)),
        )
    });
    if n_rows == INSERT_BATCH {
        batch
    } else {
        one
    }
}

/// The state of one running ingest.
struct Ingest<'t> {
    tx: &'t Transaction<'t>,
    feed: String,
    ingest_id: i64,
    previous: ByHash<Previous>,
    /// Keys stated by this ingest: row id and the value now written (duplicates: the last
    /// statement wins).
    seen: ByHash<Previous>,
    /// Stored rows this ingest has updated, with what they held before (status, fixed version,
    /// changed_in) and their value hash then. The change set is logged from these at the end,
    /// so an entry stated twice with the stored value in the end counts as unchanged.
    originals: HashMap<i64, (String, Option<String>, Option<i64>, u64)>,
    /// Stored advisories this ingest may replace: id hash -> content hash.
    previous_advisories: ByHash<(String, u64)>,
    /// Advisory ids (hashed) this ingest has stated.
    seen_advisories: HashesSeen,
    /// New entries not yet written, flushed once [`INSERT_BATCH`] are waiting; their row ids
    /// are assigned here so that the diff can refer to them before they reach the table.
    pending: Pending,
    next_row_id: i64,
    /// Rows with a lower id were stored before this ingest.
    first_new_row_id: i64,
    /// Advisories this ingest is done with, handed back to the parser's thread to be freed.
    spent: Vec<Advisory>,
    /// Rows added per (distro, release), for `affected_releases` (a feed has a few).
    added_per_release: Vec<((String, String), i64)>,
    changes: ChangeSet,
    failure: Option<StoreError>,
}

impl Store {
    /// Runs `parse` and stores what it emits as the feed's new data, in one transaction.
    /// A parse or store failure rolls everything back: the previous data stays as it was.
    /// Health is not touched here; see [`Store::record_feed_success`] and
    /// [`Store::record_feed_failure`].
    pub fn ingest(
        &mut self,
        meta: &IngestMeta<'_>,
        parse: impl FnOnce(&mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> + Send,
    ) -> Result<ChangeSet, IngestError> {
        let started = std::time::Instant::now();
        // A bigger page cache while the ingest runs keeps its pages from spilling into the WAL
        // before the commit; the normal size is restored afterwards.
        self.conn.execute_batch(INGEST_CACHE_PRAGMA).map_err(sql("starting an ingest"))?;
        let result = self.ingest_in_transaction(meta, parse, started);
        self.conn.execute_batch(super::CACHE_PRAGMA).map_err(sql("finishing an ingest"))?;
        result
    }

    fn ingest_in_transaction(
        &mut self,
        meta: &IngestMeta<'_>,
        parse: impl FnOnce(&mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> + Send,
        started: std::time::Instant,
    ) -> Result<ChangeSet, IngestError> {
        let policy = self.policy;
        let tx = self.conn.transaction().map_err(sql("starting an ingest"))?;
        ensure_feed(&tx, meta)?;
        tx.execute(
            "INSERT INTO ingests (feed, document_url, fetched_at, n_advisories, n_added, n_changed, n_withdrawn)
             VALUES (?1, ?2, ?3, 0, 0, 0, 0)",
            params![meta.feed, meta.document_url, meta.fetched_at],
        )
        .map_err(sql("starting an ingest"))?;
        let ingest_id = tx.last_insert_rowid();
        let next_row_id: i64 = tx
            .query_row("SELECT coalesce(max(id), 0) + 1 FROM affected", [], |r| r.get(0))
            .map_err(sql("starting an ingest"))?;
        let mut ingest = Ingest {
            tx: &tx,
            feed: meta.feed.to_string(),
            ingest_id,
            previous: ByHash::default(),
            seen: ByHash::default(),
            originals: HashMap::new(),
            previous_advisories: ByHash::default(),
            seen_advisories: HashesSeen::default(),
            pending: Pending::default(),
            spent: Vec::new(),
            added_per_release: Vec::new(),
            next_row_id,
            first_new_row_id: next_row_id,
            changes: ChangeSet { feed: meta.feed.to_string(), ingest_id: Some(ingest_id), ..ChangeSet::default() },
            failure: None,
        };
        let mut bulk = false;
        let summary = match meta.scope {
            IngestScope::WholeFeed => {
                ingest.load_previous(None)?;
                // The first ingest into an empty store: its indexes are cheaper to build once
                // from the finished table than to grow row by row. (A new feed next to others
                // keeps the indexes: rebuilding them would cost the whole table.)
                bulk = ingest.previous.is_empty()
                    && ingest.previous_advisories.is_empty()
                    && !tx
                        .query_row("SELECT EXISTS (SELECT 1 FROM affected)", [], |r| r.get::<_, bool>(0))
                        .map_err(sql("starting an ingest"))?;
                if bulk {
                    drop_bulk_indexes(&tx)?;
                }
                let summary = parse_pipelined(parse, |batch| ingest.write_batch(batch))?;
                if let Some(e) = ingest.failure.take() {
                    return Err(e.into());
                }
                if ingest.seen_advisories.is_empty() && !ingest.previous_advisories.is_empty() {
                    return Err(IngestError::WouldEmptyFeed {
                        n_previous: ingest.previous_advisories.len(),
                        n_skipped: summary.n_skipped,
                    });
                }
                summary
            }
            IngestScope::Advisories => {
                let mut advisories = Vec::new();
                let summary = parse(&mut |a| advisories.push(a))?;
                let ids: HashSet<&str> = advisories.iter().map(|a| a.id.as_str()).collect();
                ingest.load_previous(Some(&ids))?;
                let mut batch = HashedBatch::new();
                advisories.into_iter().for_each(|a| batch.push(a));
                ingest.write_batch(batch);
                if let Some(e) = ingest.failure.take() {
                    return Err(e.into());
                }
                summary
            }
        };
        let written_at = std::time::Instant::now();
        ingest.withdraw_unseen()?;
        let mut changes = ingest.finish(summary)?;
        let indexed_at = std::time::Instant::now();
        if bulk {
            create_bulk_indexes(&tx)?;
        }
        let linked_at = std::time::Instant::now();
        link_mail_entries(&tx)?;
        let correlate_at = std::time::Instant::now();
        // With no image stored there is nothing to correlate (a first ingest, a benchmark).
        let touched = if super::findings::has_images(&tx)? {
            touched_keys_since(&tx, ingest_id, next_row_id)?
        } else {
            Vec::new()
        };
        changes.findings = super::findings::update_keys(&tx, &touched, &policy)?;
        super::notifications::record_findings(&tx, &changes.findings, super::unix_now())?;
        let commit_at = std::time::Instant::now();
        tx.commit().map_err(sql("committing an ingest"))?;
        tracing::debug!(
            feed.name = meta.feed,
            bulk,
            parse_and_write_ms = millis(written_at - started),
            withdraw_ms = millis(indexed_at - written_at),
            index_ms = millis(linked_at - indexed_at),
            link_ms = millis(correlate_at - linked_at),
            correlate_ms = millis(commit_at - correlate_at),
            commit_ms = millis(commit_at.elapsed()),
            "ingest phases"
        );
        changes.ingest_id = Some(ingest_id);
        Ok(changes)
    }

    /// The changes of one ingest: added entries (still present), changed and withdrawn ones.
    pub fn changes(&self, ingest_id: i64) -> Result<Vec<Change>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT 'added', advisory_id, distro, release, package, kind, module,
                        NULL, NULL, status, fixed_version
                 FROM affected WHERE added_in = ?1
                 UNION ALL
                 SELECT change, advisory_id, distro, release, package, kind, module,
                        old_status, old_fixed, new_status, new_fixed
                 FROM affected_changes WHERE ingest_id = ?1",
            )
            .map_err(sql("reading a change set"))?;
        let rows = stmt
            .query_map([ingest_id], |r| {
                let state = |status: usize, fixed: usize| -> rusqlite::Result<Option<(Status, Option<String>)>> {
                    let status: Option<Status> = r.get(status)?;
                    let fixed: Option<String> = r.get(fixed)?;
                    Ok(status.map(|s| (s, fixed)))
                };
                Ok(Change {
                    change: match r.get_ref(0)?.as_str()? {
                        "added" => ChangeKind::Added,
                        "changed" => ChangeKind::Changed,
                        _ => ChangeKind::Withdrawn,
                    },
                    advisory_id: r.get(1)?,
                    key: PackageKey { distro: r.get(2)?, release: r.get(3)?, package: r.get(4)? },
                    kind: r.get(5)?,
                    module: r.get(6)?,
                    before: state(7, 8)?,
                    after: state(9, 10)?,
                })
            })
            .map_err(sql("reading a change set"))?;
        let mut out: Vec<Change> = rows.collect::<Result<_, _>>().map_err(sql("reading a change set"))?;
        out.sort_by(|a, b| (&a.advisory_id, &a.key).cmp(&(&b.advisory_id, &b.key)));
        Ok(out)
    }

    /// The (distro, release, package) keys an ingest's added, changed and withdrawn entries
    /// touch: what correlation re-evaluates.
    pub fn touched_keys(&self, ingest_id: i64) -> Result<Vec<PackageKey>, StoreError> {
        touched_keys(&self.conn, ingest_id)
    }

    /// The stored entries of an advisory id across feeds (tests and `affected` use this).
    pub fn affected_entries(&self, advisory_id: &str) -> Result<Vec<StoredAffected>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.feed, a.advisory_id, a.distro, a.release, a.package, a.kind, a.status, a.fixed_version,
                        a.scheme, a.module, l.feed, l.advisory_id
                 FROM affected a LEFT JOIN affected l ON l.id = a.linked_to
                 WHERE a.advisory_id = ?1
                    OR a.advisory_id IN (SELECT advisory_id FROM advisory_aliases WHERE alias = ?1)
                 ORDER BY a.feed, a.advisory_id, a.distro, a.release, a.package",
            )
            .map_err(sql("reading affected entries"))?;
        let rows = stmt.query_map([advisory_id], stored_affected_from_row).map_err(sql("reading affected entries"))?;
        rows.collect::<Result<_, _>>().map_err(sql("reading affected entries"))
    }

    /// The stored metadata of an advisory from one feed, with its aliases.
    pub fn advisory(&self, feed: &str, id: &str) -> Result<Option<StoredAdvisory>, StoreError> {
        let head = self
            .conn
            .query_row(
                "SELECT a.title, a.severity, a.published, a.modified, a.url, i.document_url, i.fetched_at
                 FROM advisories a JOIN ingests i ON i.id = a.ingest_id WHERE a.feed = ?1 AND a.id = ?2",
                params![feed, id],
                |r| {
                    Ok(StoredAdvisory {
                        feed: feed.to_string(),
                        id: id.to_string(),
                        aliases: Vec::new(),
                        title: r.get(0)?,
                        severity: r.get(1)?,
                        published: r.get(2)?,
                        modified: r.get(3)?,
                        url: r.get(4)?,
                        document_url: r.get(5)?,
                        fetched_at: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(sql("reading an advisory"))?;
        let Some(mut advisory) = head else { return Ok(None) };
        let mut stmt = self
            .conn
            .prepare("SELECT alias FROM advisory_aliases WHERE feed = ?1 AND advisory_id = ?2 ORDER BY alias")
            .map_err(sql("reading an advisory"))?;
        advisory.aliases = stmt
            .query_map(params![feed, id], |r| r.get(0))
            .map_err(sql("reading an advisory"))?
            .collect::<Result<_, _>>()
            .map_err(sql("reading an advisory"))?;
        Ok(Some(advisory))
    }

    /// Conditional-GET validators (ETag, Last-Modified) to send for `url`: those of the feed's
    /// last fetch when it was of the same URL and the feed's last attempt succeeded, else none.
    pub fn feed_validators(&self, feed: &str, url: &str) -> Result<(Option<String>, Option<String>), StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT etag, last_modified FROM feeds WHERE name = ?1 AND url = ?2 AND last_error IS NULL",
                params![feed, url],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql("reading feed validators"))?
            .unwrap_or((None, None)))
    }

    /// Records a successful sync (an ingest or a 304), with the validators for the next one.
    pub fn record_feed_success(&self, meta: &IngestMeta<'_>, at: &str) -> Result<(), StoreError> {
        ensure_feed(&self.conn, meta)?;
        let n_advisories: i64 = self
            .conn
            .query_row("SELECT count(*) FROM advisories WHERE feed = ?1", [meta.feed], |r| r.get(0))
            .map_err(sql("recording feed health"))?;
        // About one entry per advisory or more: enough to pick how to count the entries.
        let count_entries = format!("SELECT count(*) FROM affected WHERE {}", feed_rows(n_advisories));
        self.conn
            .execute(
                &format!(
                    "UPDATE feeds SET last_attempt = ?2, last_success = ?2, last_error = NULL, url = ?3,
                            etag = coalesce(?4, etag), last_modified = coalesce(?5, last_modified),
                            n_advisories = ?6, n_affected = ({count_entries})
                     WHERE name = ?1"
                ),
                params![meta.feed, at, meta.url, meta.etag, meta.last_modified, n_advisories],
            )
            .map(|_| ())
            .map_err(sql("recording feed health"))
    }

    /// Records a failed sync; the feed's data is untouched.
    pub fn record_feed_failure(&self, meta: &IngestMeta<'_>, at: &str, error: &str) -> Result<(), StoreError> {
        ensure_feed(&self.conn, meta)?;
        self.conn
            .execute(
                "UPDATE feeds SET last_attempt = ?2, last_error = ?3, url = coalesce(?4, url) WHERE name = ?1",
                params![meta.feed, at, error, meta.url],
            )
            .map(|_| ())
            .map_err(sql("recording feed health"))
    }

    pub fn feed_health(&self) -> Result<Vec<FeedHealth>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, format, source, url, last_attempt, last_success, last_error, n_advisories, n_affected
                 FROM feeds ORDER BY name",
            )
            .map_err(sql("reading feed health"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FeedHealth {
                    name: r.get(0)?,
                    format: r.get(1)?,
                    source: r.get(2)?,
                    url: r.get(3)?,
                    last_attempt: r.get(4)?,
                    last_success: r.get(5)?,
                    last_error: r.get(6)?,
                    n_advisories: r.get(7)?,
                    n_affected: r.get(8)?,
                })
            })
            .map_err(sql("reading feed health"))?;
        rows.collect::<Result<_, _>>().map_err(sql("reading feed health"))
    }
}

/// Reads a [`StoredAffected`] from columns feed, advisory_id, distro, release, package, kind,
/// status, fixed_version, scheme, module, linked feed, linked advisory id (in that order).
pub(super) fn stored_affected_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAffected> {
    let linked_feed: Option<String> = r.get(10)?;
    Ok(StoredAffected {
        feed: r.get(0)?,
        advisory_id: r.get(1)?,
        affected: Affected {
            distro: r.get(2)?,
            release: r.get(3)?,
            package: r.get(4)?,
            kind: r.get(5)?,
            status: r.get(6)?,
            fixed_version: r.get(7)?,
            scheme: r.get(8)?,
            module: r.get(9)?,
        },
        linked_to: linked_feed.zip(r.get(11)?),
    })
}

/// An affected entry as stored, with the feed entry it is linked to (mail entries only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAffected {
    pub feed: String,
    pub advisory_id: String,
    pub affected: Affected,
    /// (feed, advisory id) of the feed entry that carries the same issue and package.
    pub linked_to: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAdvisory {
    pub feed: String,
    pub id: String,
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub severity: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub url: Option<String>,
    pub document_url: Option<String>,
    pub fetched_at: String,
}

/// Reads a column written from an enum's `as_str`; anything else is a corrupt database.
fn from_text<T>(v: ValueRef<'_>, what: &str, parse: impl Fn(&str) -> Option<T>) -> FromSqlResult<T> {
    let text = v.as_str()?;
    parse(text).ok_or_else(|| FromSqlError::Other(format!("stored {what} {text:?} is not one cascade writes").into()))
}

/// Stored as the text of `as_str`.
macro_rules! text_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.as_str().as_bytes())))
            }
        }
    )*};
}
text_to_sql!(Status, PackageKind, Ecosystem);

impl FromSql for Status {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        from_text(v, "status", Status::parse)
    }
}

impl FromSql for PackageKind {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        from_text(v, "package kind", PackageKind::parse)
    }
}

impl FromSql for Ecosystem {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        from_text(v, "version scheme", Ecosystem::parse)
    }
}

/// [`touched_keys`] inside the ingest's transaction, where the added rows are known to have ids
/// from `first_new_row_id` on (a range on the primary key instead of a table scan).
fn touched_keys_since(
    conn: &rusqlite::Connection,
    ingest_id: i64,
    first_new_row_id: i64,
) -> Result<Vec<PackageKey>, StoreError> {
    let doing = "reading touched package keys";
    let key = |r: &rusqlite::Row<'_>| Ok(PackageKey { distro: r.get(0)?, release: r.get(1)?, package: r.get(2)? });
    // Two plain queries, merged here: with a UNION and an ORDER BY, SQLite would rather walk
    // a whole index in key order than take the id range.
    let mut keys = std::collections::BTreeSet::new();
    let mut added = conn
        .prepare_cached("SELECT distro, release, package FROM affected WHERE id >= ?2 AND added_in = ?1")
        .map_err(sql(doing))?;
    for k in added.query_map([ingest_id, first_new_row_id], key).map_err(sql(doing))? {
        keys.insert(k.map_err(sql(doing))?);
    }
    let mut changed = conn
        .prepare_cached("SELECT distro, release, package FROM affected_changes WHERE ingest_id = ?1")
        .map_err(sql(doing))?;
    for k in changed.query_map([ingest_id], key).map_err(sql(doing))? {
        keys.insert(k.map_err(sql(doing))?);
    }
    Ok(keys.into_iter().collect())
}

/// See [`Store::touched_keys`].
fn touched_keys(conn: &rusqlite::Connection, ingest_id: i64) -> Result<Vec<PackageKey>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT distro, release, package FROM affected WHERE added_in = ?1
             UNION SELECT distro, release, package FROM affected_changes WHERE ingest_id = ?1
             ORDER BY 1, 2, 3",
        )
        .map_err(sql("reading touched package keys"))?;
    let rows = stmt
        .query_map([ingest_id], |r| Ok(PackageKey { distro: r.get(0)?, release: r.get(1)?, package: r.get(2)? }))
        .map_err(sql("reading touched package keys"))?;
    rows.collect::<Result<_, _>>().map_err(sql("reading touched package keys"))
}

fn ensure_feed(conn: &rusqlite::Connection, meta: &IngestMeta<'_>) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO feeds (name, format, source, url) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET format = excluded.format, source = excluded.source",
        params![meta.feed, meta.format, meta.source.as_str(), meta.url],
    )
    .map(|_| ())
    .map_err(sql("registering a feed"))
}

/// Points every mail entry at a feed entry for the same (distro, release, package) whose
/// advisory shares an identifier with the mail's (its own id or an alias), or clears it.
fn link_mail_entries(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE affected SET linked_to = (
             SELECT f.id FROM affected f JOIN feeds ff ON ff.name = f.feed AND ff.source = 'feed'
             WHERE f.distro = affected.distro AND f.release = affected.release AND f.package = affected.package
               AND (f.advisory_id = affected.advisory_id
                    OR f.advisory_id IN (SELECT alias FROM advisory_aliases
                                         WHERE feed = affected.feed AND advisory_id = affected.advisory_id)
                    OR EXISTS (SELECT 1 FROM advisory_aliases fa
                               WHERE fa.feed = f.feed AND fa.advisory_id = f.advisory_id
                                 AND (fa.alias = affected.advisory_id
                                      OR fa.alias IN (SELECT alias FROM advisory_aliases
                                                      WHERE feed = affected.feed AND advisory_id = affected.advisory_id))))
             ORDER BY f.id LIMIT 1)
         WHERE advisory_id IN (SELECT a.id FROM advisories a JOIN feeds m ON m.name = a.feed AND m.source = 'mail')
           AND feed IN (SELECT name FROM feeds WHERE source = 'mail')",
        [],
    )
    .map(|_| ())
    .map_err(sql("linking mail entries to feed entries"))
}

/// Advisories per batch handed from the parser thread to the writer, and batches in flight:
/// enough to keep both cores busy, little enough to keep memory flat.
const PIPELINE_BATCH: usize = 1024;
const PIPELINE_DEPTH: usize = 2;

/// Appends the (key hash, value hash) of each of `a`'s entries to `out`.
fn entry_hashes(a: &Advisory, out: &mut Vec<(u64, u64)>) {
    for e in &a.affected {
        let value = value_hash(e.status.as_str(), e.fixed_version.as_deref(), e.scheme.as_str());
        out.push((key_hash(&a.id, &AffectedRef::from(e)), value));
    }
}

/// What the parser thread hands to the writer: advisories with the hashes the diff needs,
/// computed on the parser's thread, which has time to spare (the writer is the slower side).
struct HashedBatch {
    advisories: Vec<Advisory>,
    /// Content hash of each advisory.
    contents: Vec<u64>,
    /// (key hash, value hash) of every affected entry of the batch, in order.
    entries: Vec<(u64, u64)>,
}

impl HashedBatch {
    fn new() -> HashedBatch {
        HashedBatch {
            advisories: Vec::with_capacity(PIPELINE_BATCH),
            contents: Vec::with_capacity(PIPELINE_BATCH),
            entries: Vec::new(),
        }
    }

    fn push(&mut self, a: Advisory) {
        self.contents.push(content_hash(&a));
        entry_hashes(&a, &mut self.entries);
        self.advisories.push(a);
    }
}

/// Runs `parse` on a thread of its own and hands what it emits, hashed, to `write` on this
/// one, in order, so that parsing a big document overlaps with writing it. `write` returns
/// the advisories it is done with; they go back to the parser's thread to be freed there
/// (where they were allocated). A panic in the parser is resumed here.
fn parse_pipelined(
    parse: impl FnOnce(&mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> + Send,
    mut write: impl FnMut(HashedBatch) -> Vec<Advisory>,
) -> Result<ParseSummary, FormatError> {
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<HashedBatch>(PIPELINE_DEPTH);
        let (spent_sender, spent) = std::sync::mpsc::channel::<Vec<Advisory>>();
        let span = tracing::Span::current();
        let parser = scope.spawn(move || {
            let _entered = span.enter();
            let mut batch = HashedBatch::new();
            let result = parse(&mut |advisory| {
                batch.push(advisory);
                if batch.advisories.len() == PIPELINE_BATCH {
                    // The receiver lives until this thread is joined: sending cannot fail.
                    let _ = sender.send(std::mem::replace(&mut batch, HashedBatch::new()));
                    spent.try_iter().for_each(drop);
                }
            });
            let _ = sender.send(batch);
            result
        });
        for batch in receiver {
            // The parser's thread ends before the last of these: those are freed here.
            let _ = spent_sender.send(write(batch));
        }
        parser.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Feeds with more stored entries than this are read by a table scan; smaller ones through
/// their advisories' ids (see [`feed_rows`]).
const SCAN_FEEDS_ABOVE: i64 = 20_000;

/// The WHERE condition selecting feed `?1`'s rows of `affected`, for a feed of about `n_rows`
/// entries: a big feed is a good part of the table, read by scanning it (`+feed` keeps SQLite
/// off any index, which would cost a random lookup per row); a small one is found through its
/// advisory ids (`advisories_by_id`, then `affected_by_advisory`), without an index of its own
/// that every first ingest would have to build.
fn feed_rows(n_rows: i64) -> &'static str {
    if n_rows > SCAN_FEEDS_ABOVE {
        "+feed = ?1"
    } else {
        "advisory_id IN (SELECT id FROM advisories WHERE feed = ?1) AND feed = ?1"
    }
}

/// Page cache while an ingest runs (negative: KiB).
const INGEST_CACHE_PRAGMA: &str = "PRAGMA cache_size = -16384";

/// Secondary indexes that a first ingest of a large feed drops and rebuilds afterwards:
/// building an index from sorted rows is several times faster than half a million random
/// inserts into it. They must match the schema (`schema/0002_advisories.sql`, with
/// `affected_by_package` as `0006_faster_bulk_ingest.sql` redefined it; a test checks).
const BULK_INDEXES: &[(&str, &str)] = &[
    ("advisories_by_id", "CREATE UNIQUE INDEX advisories_by_id ON advisories (feed, id)"),
    ("affected_by_advisory", "CREATE INDEX affected_by_advisory ON affected (advisory_id)"),
    ("affected_by_package", "CREATE INDEX affected_by_package ON affected (package, release, distro)"),
    ("advisory_aliases_by_alias", "CREATE INDEX advisory_aliases_by_alias ON advisory_aliases (alias)"),
];

fn drop_bulk_indexes(tx: &Transaction<'_>) -> Result<(), StoreError> {
    for (name, _) in BULK_INDEXES {
        tx.execute_batch(&format!("DROP INDEX IF EXISTS {name}")).map_err(sql("preparing a bulk ingest"))?;
    }
    Ok(())
}

fn create_bulk_indexes(tx: &Transaction<'_>) -> Result<(), StoreError> {
    // One helper thread for SQLite's sorter: index builds sort in parallel on two cores.
    tx.execute_batch("PRAGMA threads = 1; PRAGMA cache_size = -65536")
        .map_err(sql("rebuilding indexes after a bulk ingest"))?;
    for (_, create) in BULK_INDEXES {
        tx.execute_batch(create).map_err(sql("rebuilding indexes after a bulk ingest"))?;
    }
    tx.execute_batch("PRAGMA threads = 0").map_err(sql("rebuilding indexes after a bulk ingest"))?;
    Ok(())
}

impl Ingest<'_> {
    /// Loads the stored entries this ingest may replace: the whole feed, or the given
    /// advisories.
    fn load_previous(&mut self, advisories: Option<&HashSet<&str>>) -> Result<(), StoreError> {
        let n_stored: i64 = self
            .tx
            .query_row("SELECT coalesce((SELECT n_affected FROM feeds WHERE name = ?1), 0)", [&self.feed], |r| r.get(0))
            .map_err(sql("reading a feed's entries"))?;
        let mut stmt = self
            .tx
            .prepare(&format!(
                "SELECT id, advisory_id, distro, release, package, kind, module, status, fixed_version, scheme
                 FROM affected WHERE {}",
                feed_rows(n_stored)
            ))
            .map_err(sql("reading a feed's entries"))?;
        let mut rows = stmt.query([&self.feed]).map_err(sql("reading a feed's entries"))?;
        while let Some(r) = rows.next().map_err(sql("reading a feed's entries"))? {
            let advisory_id: String = r.get(1).map_err(sql("reading a feed's entries"))?;
            if advisories.is_some_and(|set| !set.contains(advisory_id.as_str())) {
                continue;
            }
            let get = |i| r.get::<_, String>(i).map_err(sql("reading a feed's entries"));
            let module: Option<String> = r.get(6).map_err(sql("reading a feed's entries"))?;
            let fixed: Option<String> = r.get(8).map_err(sql("reading a feed's entries"))?;
            let (distro, release, package, kind, status, scheme) =
                (get(2)?, get(3)?, get(4)?, get(5)?, get(7)?, get(9)?);
            let key = key_hash(
                &advisory_id,
                &AffectedRef {
                    distro: &distro,
                    release: &release,
                    package: &package,
                    kind: &kind,
                    module: module.as_deref(),
                },
            );
            let row_id: i64 = r.get(0).map_err(sql("reading a feed's entries"))?;
            self.previous.insert(key, Previous { row_id, value: value_hash(&status, fixed.as_deref(), &scheme) });
        }
        drop(rows);
        let mut stmt = self
            .tx
            .prepare("SELECT id, content_hash FROM advisories WHERE feed = ?1")
            .map_err(sql("reading a feed's advisories"))?;
        let mut rows = stmt.query([&self.feed]).map_err(sql("reading a feed's advisories"))?;
        while let Some(r) = rows.next().map_err(sql("reading a feed's advisories"))? {
            let id: String = r.get(0).map_err(sql("reading a feed's advisories"))?;
            if advisories.is_some_and(|set| !set.contains(id.as_str())) {
                continue;
            }
            let hash: i64 = r.get(1).map_err(sql("reading a feed's advisories"))?;
            self.previous_advisories.insert(id_hash(&id), (id, hash as u64));
        }
        Ok(())
    }

    /// Writes a batch from the parser; returns the advisories it is done with.
    fn write_batch(&mut self, batch: HashedBatch) -> Vec<Advisory> {
        let HashedBatch { advisories, contents, entries } = batch;
        let mut entries = entries.as_slice();
        for (advisory, content) in advisories.into_iter().zip(contents) {
            let (these, rest) = entries.split_at(advisory.affected.len());
            entries = rest;
            self.write(advisory, content, these);
        }
        std::mem::take(&mut self.spent)
    }

    /// The sink: records the first failure and ignores what follows it. `content` and
    /// `entries` are the advisory's [`content_hash`] and [`entry_hashes`].
    fn write(&mut self, advisory: Advisory, content: u64, entries: &[(u64, u64)]) {
        if self.failure.is_some() {
            self.spent.push(advisory);
            return;
        }
        if let Err(e) = self.write_advisory(advisory, content, entries) {
            self.failure = Some(e);
        }
    }

    fn write_advisory(&mut self, a: Advisory, content: u64, entries: &[(u64, u64)]) -> Result<(), StoreError> {
        self.changes.n_advisories += 1;
        let id = id_hash(&a.id);
        if !self.seen_advisories.insert(id) {
            // Stated again (the tracker lists a CVE under each package): keep the first
            // statement's metadata, add any new aliases.
            self.insert_aliases(&a)?;
        } else {
            match self.previous_advisories.remove(&id) {
                Some((_, stored)) if stored == content => {} // unchanged: nothing to write
                stored => self.store_advisory(&a, content, stored.is_some())?,
            }
        }
        let at = self.pending.advisories.len();
        let mut referenced = false;
        for (i, (entry, (key, value))) in a.affected.iter().zip(entries).enumerate() {
            referenced |= self.write_affected(entry, *key, *value, (at, i))?;
        }
        if referenced {
            self.pending.advisories.push(a);
        } else {
            self.spent.push(a);
        }
        if self.pending.rows.len() >= INSERT_BATCH {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Writes an advisory's row and aliases; `replaces` when an older version is stored.
    fn store_advisory(&self, a: &Advisory, hash: u64, replaces: bool) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO advisories
                     (feed, id, title, severity, published, modified, url, ingest_id, content_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    self.feed,
                    a.id,
                    a.title,
                    a.severity.map(|s| s.as_str()),
                    a.published,
                    a.modified,
                    a.url,
                    self.ingest_id,
                    hash as i64
                ])
            })
            .map_err(sql("storing an advisory"))?;
        if replaces {
            self.tx
                .prepare_cached("DELETE FROM advisory_aliases WHERE feed = ?1 AND advisory_id = ?2")
                .and_then(|mut s| s.execute(params![self.feed, a.id]))
                .map_err(sql("storing an advisory"))?;
        }
        self.insert_aliases(a)
    }

    fn insert_aliases(&self, a: &Advisory) -> Result<(), StoreError> {
        if a.aliases.iter().all(|name| *name == a.id) {
            return Ok(());
        }
        let mut alias = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO advisory_aliases (feed, advisory_id, alias) VALUES (?1, ?2, ?3)")
            .map_err(sql("storing an advisory"))?;
        for name in a.aliases.iter().filter(|name| **name != a.id) {
            alias.execute(params![self.feed, a.id, name]).map_err(sql("storing an advisory"))?;
        }
        Ok(())
    }

    /// Diffs one entry (with its key and value hashes) against the stored and already stated
    /// ones. `at` is where the entry will sit in [`Pending`] (its advisory's index there, the
    /// entry's index in it); returns whether a pending row now refers to it.
    fn write_affected(&mut self, e: &Affected, key: u64, value: u64, at: (usize, usize)) -> Result<bool, StoreError> {
        if let Some(written) = self.seen.get(&key).copied() {
            // The document states the same entry again: the last statement wins.
            if written.value == value {
                return Ok(false);
            }
            self.seen.insert(key, Previous { row_id: written.row_id, value });
            if let Some(row) = self.pending.row_mut(written.row_id) {
                // Not inserted yet: the row takes this statement instead.
                *row = (written.row_id, at.0, at.1);
                return Ok(true);
            }
            if written.row_id < self.first_new_row_id {
                self.remember_original(written.row_id, written.value)?;
            }
            self.update_row(written.row_id, e)?;
            return Ok(false);
        }
        match self.previous.remove(&key) {
            Some(prev) => {
                if prev.value != value {
                    self.remember_original(prev.row_id, prev.value)?;
                    self.update_row(prev.row_id, e)?;
                }
                self.seen.insert(key, Previous { row_id: prev.row_id, value });
                Ok(false)
            }
            None => {
                let row_id = self.next_row_id;
                self.next_row_id += 1;
                self.pending.rows.push((row_id, at.0, at.1));
                self.changes.n_added += 1;
                self.seen.insert(key, Previous { row_id, value });
                Ok(true)
            }
        }
    }

    /// Keeps what a stored row held before this ingest first changes it.
    fn remember_original(&mut self, row_id: i64, stored_value: u64) -> Result<(), StoreError> {
        if self.originals.contains_key(&row_id) {
            return Ok(());
        }
        let (status, fixed, changed_in): (String, Option<String>, Option<i64>) = self
            .tx
            .prepare_cached("SELECT status, fixed_version, changed_in FROM affected WHERE id = ?1")
            .and_then(|mut s| s.query_row([row_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .map_err(sql("storing an affected entry"))?;
        self.originals.insert(row_id, (status, fixed, changed_in, stored_value));
        Ok(())
    }

    fn update_row(&self, row_id: i64, e: &Affected) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE affected SET status = ?2, fixed_version = ?3, scheme = ?4, changed_in = ?5 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![row_id, e.status, e.fixed_version, e.scheme, self.ingest_id]))
            .map(|_| ())
            .map_err(sql("storing an affected entry"))
    }

    /// Logs every stored entry whose value this ingest changed, comparing the final statement
    /// with what was stored; entries that ended where they started are restored as unchanged.
    fn log_changes(&mut self) -> Result<(), StoreError> {
        if self.originals.is_empty() {
            return Ok(());
        }
        let final_values: HashMap<i64, u64> = self.seen.values().map(|p| (p.row_id, p.value)).collect();
        let mut originals: Vec<_> = std::mem::take(&mut self.originals).into_iter().collect();
        originals.sort_by_key(|(row_id, _)| *row_id);
        for (row_id, (old_status, old_fixed, old_changed_in, old_value)) in originals {
            if final_values.get(&row_id) == Some(&old_value) {
                self.tx
                    .prepare_cached("UPDATE affected SET changed_in = ?2 WHERE id = ?1")
                    .and_then(|mut s| s.execute(params![row_id, old_changed_in]))
                    .map_err(sql("logging changes"))?;
                continue;
            }
            self.tx
                .prepare_cached(
                    "INSERT INTO affected_changes (ingest_id, change, advisory_id, distro, release, package, kind,
                                                   module, old_status, old_fixed, new_status, new_fixed)
                     SELECT ?1, 'changed', advisory_id, distro, release, package, kind, module, ?3, ?4,
                            status, fixed_version
                     FROM affected WHERE id = ?2",
                )
                .and_then(|mut s| s.execute(params![self.ingest_id, row_id, old_status, old_fixed]))
                .map_err(sql("logging changes"))?;
            self.changes.n_changed += 1;
        }
        Ok(())
    }

    /// Writes the pending new entries: [`INSERT_BATCH`] rows per statement, the rest one by
    /// one. Called when a batch is full and at the end of the document.
    fn flush_pending(&mut self) -> Result<(), StoreError> {
        let Pending { advisories, rows } = &mut self.pending;
        let n_batched = rows.len() - rows.len() % INSERT_BATCH;
        for (statement, group_len, rows) in [
            (insert_statement(INSERT_BATCH), INSERT_BATCH, &rows[..n_batched]),
            (insert_statement(1), 1, &rows[n_batched..]),
        ] {
            if rows.is_empty() {
                continue;
            }
            let mut stmt = self.tx.prepare_cached(statement).map_err(sql("storing affected entries"))?;
            for group in rows.chunks(group_len) {
                // ?1 and ?2 (feed and ingest) are bound once; each row binds the rest.
                let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(2 + group.len() * 10);
                values.extend_from_slice(&[&self.feed, &self.ingest_id]);
                for (row_id, advisory, entry) in group {
                    let a = &advisories[*advisory];
                    let e = &a.affected[*entry];
                    count_release(&mut self.added_per_release, &e.distro, &e.release, 1);
                    values.extend_from_slice(&[
                        row_id,
                        &a.id,
                        &e.distro,
                        &e.release,
                        &e.package,
                        &e.kind,
                        &e.status,
                        &e.fixed_version,
                        &e.scheme,
                        &e.module,
                    ]);
                }
                stmt.execute(rusqlite::params_from_iter(values)).map_err(sql("storing affected entries"))?;
            }
        }
        rows.clear();
        self.spent.append(advisories);
        Ok(())
    }

    /// Entries the previous data had and this ingest did not carry are withdrawn.
    fn withdraw_unseen(&mut self) -> Result<(), StoreError> {
        self.flush_pending()?;
        self.log_changes()?;
        let mut row_ids: Vec<i64> = self.previous.values().map(|p| p.row_id).collect();
        row_ids.sort_unstable();
        for row_id in row_ids {
            let n = self
                .tx
                .prepare_cached(
                    "INSERT INTO affected_changes (ingest_id, change, advisory_id, distro, release, package, kind,
                                                   module, old_status, old_fixed)
                     SELECT ?1, 'withdrawn', advisory_id, distro, release, package, kind, module, status, fixed_version
                     FROM affected WHERE id = ?2",
                )
                .and_then(|mut s| s.execute(params![self.ingest_id, row_id]))
                .map_err(sql("withdrawing an entry"))?;
            self.tx
                .prepare_cached("DELETE FROM affected WHERE id = ?1")
                .and_then(|mut s| s.execute([row_id]))
                .map_err(sql("withdrawing an entry"))?;
            self.changes.n_withdrawn += n as u64;
        }
        self.previous.clear();
        for (_, (id, _)) in std::mem::take(&mut self.previous_advisories) {
            self.tx
                .prepare_cached("DELETE FROM advisories WHERE feed = ?1 AND id = ?2")
                .and_then(|mut s| s.execute(params![self.feed, id]))
                .map_err(sql("withdrawing an advisory"))?;
            self.tx
                .prepare_cached("DELETE FROM advisory_aliases WHERE feed = ?1 AND advisory_id = ?2")
                .and_then(|mut s| s.execute(params![self.feed, id]))
                .map_err(sql("withdrawing an advisory"))?;
        }
        Ok(())
    }

    fn finish(self, summary: ParseSummary) -> Result<ChangeSet, StoreError> {
        let Ingest { tx, ingest_id, mut changes, added_per_release, .. } = self;
        changes.n_skipped = summary.n_skipped;
        update_release_counts(tx, ingest_id, added_per_release)?;
        tx.execute(
            "UPDATE ingests SET n_advisories = ?2, n_added = ?3, n_changed = ?4, n_withdrawn = ?5 WHERE id = ?1",
            params![ingest_id, changes.n_advisories, changes.n_added, changes.n_changed, changes.n_withdrawn],
        )
        .map_err(sql("finishing an ingest"))?;
        Ok(changes)
    }
}

/// A duration in milliseconds to two decimals, for the phase timings in the debug log.
fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// Adds `n` to the count of (distro, release) in `counts`.
fn count_release(counts: &mut Vec<((String, String), i64)>, distro: &str, release: &str, n: i64) {
    match counts.iter_mut().find(|((d, r), _)| d == distro && r == release) {
        Some((_, count)) => *count += n,
        None => counts.push(((distro.to_owned(), release.to_owned()), n)),
    }
}

/// Brings `affected_releases` up to date with an ingest: `added` rows per (distro, release),
/// less the ingest's withdrawn ones (read from its change log).
fn update_release_counts(
    tx: &Transaction<'_>,
    ingest_id: i64,
    mut counts: Vec<((String, String), i64)>,
) -> Result<(), StoreError> {
    let mut withdrawn = tx
        .prepare_cached(
            "SELECT distro, release, count(*) FROM affected_changes
             WHERE ingest_id = ?1 AND change = 'withdrawn' GROUP BY distro, release",
        )
        .map_err(sql("counting entries per release"))?;
    let rows = withdrawn
        .query_map([ingest_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
        .map_err(sql("counting entries per release"))?;
    for row in rows {
        let (distro, release, n) = row.map_err(sql("counting entries per release"))?;
        count_release(&mut counts, &distro, &release, -n);
    }
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO affected_releases (distro, release, n_entries) VALUES (?1, ?2, ?3)
             ON CONFLICT (distro, release) DO UPDATE SET n_entries = n_entries + excluded.n_entries",
        )
        .map_err(sql("counting entries per release"))?;
    for ((distro, release), n) in counts.iter().filter(|(_, n)| *n != 0) {
        upsert.execute(params![distro, release, n]).map_err(sql("counting entries per release"))?;
    }
    tx.execute("DELETE FROM affected_releases WHERE n_entries <= 0", [])
        .map_err(sql("counting entries per release"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::formats::Format;

    fn affected(release: &str, package: &str, status: Status, fixed: Option<&str>) -> Affected {
        Affected {
            distro: "debian".into(),
            release: release.into(),
            package: package.into(),
            kind: PackageKind::Source,
            status,
            fixed_version: fixed.map(str::to_string),
            scheme: Ecosystem::Dpkg,
            module: None,
        }
    }

    fn advisory(id: &str, aliases: &[&str], entries: Vec<Affected>) -> Advisory {
        Advisory { aliases: aliases.iter().map(|a| a.to_string()).collect(), affected: entries, ..Advisory::new(id) }
    }

    fn meta<'a>(feed: &'a str, source: SourceKind, scope: IngestScope) -> IngestMeta<'a> {
        IngestMeta {
            feed,
            format: "test",
            source,
            scope,
            url: None,
            document_url: Some("https://example.org/doc"),
            fetched_at: "2026-12-03T00:00:00Z",
            etag: None,
            last_modified: None,
        }
    }

    fn ingest(store: &mut Store, m: &IngestMeta<'_>, docs: Vec<Advisory>) -> Result<ChangeSet, IngestError> {
        store.ingest(m, |sink| {
            for a in docs {
                sink(a);
            }
            Ok(ParseSummary::default())
        })
    }

    fn summary(changes: &[Change]) -> Vec<String> {
        let mut out: Vec<String> = changes
            .iter()
            .map(|c| {
                let state = |s: &Option<(Status, Option<String>)>| match s {
                    Some((st, f)) => format!("{}:{}", st.as_str(), f.as_deref().unwrap_or("-")),
                    None => "none".into(),
                };
                format!(
                    "{:?} {} {}/{}/{} {} -> {}",
                    c.change,
                    c.advisory_id,
                    c.key.distro,
                    c.key.release,
                    c.key.package,
                    state(&c.before),
                    state(&c.after)
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_document_without_advisories_never_empties_a_feed() {
        let mut store = Store::open_in_memory().unwrap();
        let m = meta("debian-tracker", SourceKind::Feed, IngestScope::WholeFeed);
        let openssl = || advisory("CVE-2024-1", &[], vec![affected("12", "openssl", Status::Fixed, Some("3.0.13-1"))]);
        // The first ingest of an empty document is fine: there is nothing to lose.
        ingest(&mut store, &m, vec![]).unwrap();
        ingest(&mut store, &m, vec![openssl()]).unwrap();
        let err = store
            .ingest(&m, |_sink| Ok(ParseSummary { n_skipped: 1 }))
            .expect_err("a document whose only record was malformed");
        assert!(matches!(err, IngestError::WouldEmptyFeed { n_previous: 1, n_skipped: 1 }), "{err}");
        assert!(err.to_string().contains("previous data stays"), "{err}");
        assert_eq!(store.affected_entries("CVE-2024-1").unwrap().len(), 1, "the previous data stays");
        // Withdrawing some advisories is normal.
        let curl = advisory("CVE-2024-2", &[], vec![affected("12", "curl", Status::Unfixed, None)]);
        ingest(&mut store, &m, vec![openssl(), curl.clone()]).unwrap();
        let changes = ingest(&mut store, &m, vec![curl]).unwrap();
        assert_eq!(changes.n_withdrawn, 1);
    }

    /// (distro, release, n) rows: as `affected_releases` keeps them, or counted afresh.
    fn per_release(store: &Store, counted: bool) -> Vec<(String, String, i64)> {
        let query = if counted {
            "SELECT distro, release, count(*) FROM affected GROUP BY distro, release ORDER BY 1, 2"
        } else {
            "SELECT distro, release, n_entries FROM affected_releases ORDER BY 1, 2"
        };
        let mut stmt = store.conn.prepare(query).unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    fn release_counts(store: &Store) -> Vec<(String, String, i64)> {
        per_release(store, false)
    }

    fn recounted(store: &Store) -> Vec<(String, String, i64)> {
        per_release(store, true)
    }

    #[test]
    fn entries_per_release_follow_every_ingest() {
        let mut store = Store::open_in_memory().unwrap();
        let m = meta("debian-tracker", SourceKind::Feed, IngestScope::WholeFeed);
        let curl = |releases: &[&str]| {
            let entries = releases.iter().map(|r| affected(r, "curl", Status::Unfixed, None)).collect();
            advisory("CVE-2024-2", &[], entries)
        };
        // The same entry stated twice is one row.
        let openssl = advisory(
            "CVE-2024-1",
            &[],
            vec![affected("12", "openssl", Status::Unfixed, None), affected("12", "openssl", Status::Fixed, Some("3"))],
        );
        ingest(&mut store, &m, vec![openssl.clone(), curl(&["11", "12"])]).unwrap();
        let expected = vec![("debian".to_string(), "11".to_string(), 1), ("debian".to_string(), "12".to_string(), 2)];
        assert_eq!(release_counts(&store), expected);
        assert_eq!(recounted(&store), expected);

        // Release 11 withdrawn: no longer covered.
        ingest(&mut store, &m, vec![openssl, curl(&["12", "13"])]).unwrap();
        let expected = vec![("debian".to_string(), "12".to_string(), 2), ("debian".to_string(), "13".to_string(), 1)];
        assert_eq!(release_counts(&store), expected);
        assert_eq!(recounted(&store), expected);

        // Mail adds to what feeds hold.
        let mail = meta("debian-security-announce", SourceKind::Mail, IngestScope::Advisories);
        ingest(
            &mut store,
            &mail,
            vec![advisory("DSA-1-1", &[], vec![affected("11", "curl", Status::Fixed, Some("2"))])],
        )
        .unwrap();
        assert_eq!(release_counts(&store), recounted(&store));
        assert_eq!(release_counts(&store).len(), 3);
    }

    #[test]
    fn second_ingest_reports_changed_and_withdrawn_entries() {
        let mut store = Store::open_in_memory().unwrap();
        let m = meta("debian-tracker", SourceKind::Feed, IngestScope::WholeFeed);
        let first = ingest(
            &mut store,
            &m,
            vec![
                advisory("CVE-2024-1", &[], vec![affected("12", "openssl", Status::Fixed, Some("3.0.13-1"))]),
                advisory(
                    "CVE-2024-2",
                    &[],
                    vec![affected("12", "curl", Status::Unfixed, None), affected("11", "curl", Status::Unfixed, None)],
                ),
            ],
        )
        .unwrap();
        assert_eq!((first.n_advisories, first.n_added, first.n_changed, first.n_withdrawn), (2, 3, 0, 0));
        assert_eq!(store.touched_keys(first.ingest_id.unwrap()).unwrap().len(), 3);

        // Unchanged data: an empty change set.
        let again = ingest(
            &mut store,
            &m,
            vec![
                advisory("CVE-2024-1", &[], vec![affected("12", "openssl", Status::Fixed, Some("3.0.13-1"))]),
                advisory(
                    "CVE-2024-2",
                    &[],
                    vec![affected("12", "curl", Status::Unfixed, None), affected("11", "curl", Status::Unfixed, None)],
                ),
            ],
        )
        .unwrap();
        assert!(again.is_empty(), "{again:?}");

        // One fixed version changed, one advisory disappeared.
        let second = ingest(
            &mut store,
            &m,
            vec![advisory("CVE-2024-1", &[], vec![affected("12", "openssl", Status::Fixed, Some("3.0.14-1"))])],
        )
        .unwrap();
        assert_eq!((second.n_added, second.n_changed, second.n_withdrawn), (0, 1, 2));
        let touched: Vec<String> = store
            .touched_keys(second.ingest_id.unwrap())
            .unwrap()
            .into_iter()
            .map(|k| format!("{}/{}/{}", k.distro, k.release, k.package))
            .collect();
        assert_eq!(touched, vec!["debian/11/curl", "debian/12/curl", "debian/12/openssl"]);
        assert_eq!(
            summary(&store.changes(second.ingest_id.unwrap()).unwrap()),
            vec![
                "Changed CVE-2024-1 debian/12/openssl fixed:3.0.13-1 -> fixed:3.0.14-1",
                "Withdrawn CVE-2024-2 debian/11/curl unfixed:- -> none",
                "Withdrawn CVE-2024-2 debian/12/curl unfixed:- -> none",
            ]
        );
        assert_eq!(
            summary(&store.changes(first.ingest_id.unwrap()).unwrap()),
            vec!["Added CVE-2024-1 debian/12/openssl none -> fixed:3.0.14-1"],
            "added entries still present are listed under the ingest that added them"
        );
        assert!(store.advisory("debian-tracker", "CVE-2024-2").unwrap().is_none());
    }

    #[test]
    fn a_failed_parse_leaves_the_previous_data_intact() {
        let mut store = Store::open_in_memory().unwrap();
        let m = meta("alpine", SourceKind::Feed, IngestScope::WholeFeed);
        ingest(&mut store, &m, vec![advisory("CVE-1", &[], vec![affected("3.19", "musl", Status::Fixed, Some("1"))])])
            .unwrap();
        let err = store
            .ingest(&m, |sink| {
                sink(advisory("CVE-2", &[], vec![affected("3.19", "zlib", Status::Fixed, Some("2"))]));
                Err(FormatError::new(Format::AlpineSecdb, "unexpected end of input at line 7"))
            })
            .unwrap_err();
        assert!(err.to_string().contains("unexpected end of input"), "{err}");
        assert_eq!(store.affected_entries("CVE-1").unwrap().len(), 1);
        assert!(store.affected_entries("CVE-2").unwrap().is_empty());
        store.record_feed_failure(&m, "2026-12-03T01:00:00Z", &err.to_string()).unwrap();
        let health = store.feed_health().unwrap();
        assert_eq!(health[0].n_affected, 0, "counts are only refreshed on success");
        assert!(health[0].last_error.as_deref().unwrap().contains("unexpected end"));
    }

    #[test]
    fn batched_inserts_and_duplicate_statements() {
        let mut store = Store::open_in_memory().unwrap();
        let m = meta("big", SourceKind::Feed, IngestScope::WholeFeed);
        // One full batch and a remainder: CVE-2024-3's row is inserted by the time it is
        // stated again (the row is updated), the last one's is still pending (it is replaced).
        let n = INSERT_BATCH + 50;
        let last = format!("CVE-2024-{}", n - 1);
        let many = |fixed: &str| -> Vec<Advisory> {
            let mut docs: Vec<Advisory> = (0..n)
                .map(|i| advisory(&format!("CVE-2024-{i}"), &[], vec![affected("12", "pkg", Status::Fixed, Some("1"))]))
                .collect();
            // The same entries again later in the document, with another fixed version: they win.
            docs.push(advisory("CVE-2024-3", &[], vec![affected("12", "pkg", Status::Fixed, Some(fixed))]));
            docs.push(advisory(&last, &[], vec![affected("12", "pkg", Status::Fixed, Some(fixed))]));
            docs
        };
        let first = ingest(&mut store, &m, many("2")).unwrap();
        assert_eq!((first.n_added, first.n_changed), (n as u64, 0));
        for id in ["CVE-2024-3", last.as_str()] {
            let entry = store.affected_entries(id).unwrap();
            assert_eq!(entry.len(), 1, "{id}");
            assert_eq!(entry[0].affected.fixed_version.as_deref(), Some("2"), "{id}");
        }
        assert_eq!(store.affected_entries("CVE-2024-149").unwrap().len(), 1);
        let again = ingest(&mut store, &m, many("2")).unwrap();
        assert!(again.is_empty(), "{again:?}");
        // First statement keeps the stored value, the second changes it: one change.
        let mut docs = many("3");
        docs[3] = advisory("CVE-2024-3", &[], vec![affected("12", "pkg", Status::Fixed, Some("2"))]);
        docs[n - 1] = advisory(&last, &[], vec![affected("12", "pkg", Status::Fixed, Some("2"))]);
        docs[n + 1] = advisory(&last, &[], vec![affected("12", "pkg", Status::Fixed, Some("2"))]);
        let third = ingest(&mut store, &m, docs).unwrap();
        assert_eq!((third.n_added, third.n_changed, third.n_withdrawn), (0, 1, 0));
        assert_eq!(
            summary(&store.changes(third.ingest_id.unwrap()).unwrap()),
            vec!["Changed CVE-2024-3 debian/12/pkg fixed:2 -> fixed:3"]
        );
    }

    #[test]
    fn bulk_indexes_match_the_schema() {
        let store = Store::open_in_memory().unwrap();
        for (name, create) in BULK_INDEXES {
            let stored: String = store
                .conn
                .query_row("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1", [name], |r| r.get(0))
                .unwrap();
            assert_eq!(&stored, create);
        }
    }

    #[test]
    fn mail_entries_are_linked_to_feed_entries_not_duplicated() {
        let mut store = Store::open_in_memory().unwrap();
        let mail = meta("mail", SourceKind::Mail, IngestScope::Advisories);
        ingest(
            &mut store,
            &mail,
            vec![advisory(
                "DSA-5678-1",
                &["CVE-2024-2961"],
                vec![affected("12", "glibc", Status::Fixed, Some("2.36-9+deb12u7"))],
            )],
        )
        .unwrap();
        let entries = store.affected_entries("CVE-2024-2961").unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].linked_to, None);

        // A second mail import adds, it does not replace the first one's advisories.
        ingest(&mut store, &mail, vec![advisory("DSA-5679-1", &["CVE-2024-9"], vec![])]).unwrap();
        assert_eq!(store.affected_entries("DSA-5678-1").unwrap().len(), 1);

        let feed = meta("debian-tracker", SourceKind::Feed, IngestScope::WholeFeed);
        ingest(
            &mut store,
            &feed,
            vec![advisory("CVE-2024-2961", &[], vec![affected("12", "glibc", Status::Fixed, Some("2.36-9+deb12u7"))])],
        )
        .unwrap();
        let entries = store.affected_entries("CVE-2024-2961").unwrap();
        let mail_entry = entries.iter().find(|e| e.feed == "mail").unwrap();
        assert_eq!(mail_entry.linked_to, Some(("debian-tracker".to_string(), "CVE-2024-2961".to_string())));
    }
}
