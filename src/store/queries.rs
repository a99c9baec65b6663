//! Read-only queries behind the HTTP API and the CLI (advisories, images, packages, findings,
//! counts for metrics), and [`ReadPool`], the read-only connections the API runs them on.
//! Nothing here writes; every statement goes through the connection's prepared-statement cache.
//!
//! Readers never block the writer and the writer never blocks readers: the database is in WAL
//! mode, so each read sees the last commit made before it started. [`ReadPool::data_version`]
//! tells whether any connection, of this process or another, committed since the last look
//! (SQLite's `PRAGMA data_version`); the API's response cache is keyed on it.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OpenFlags};

use super::{sql, StoreError, StoredAdvisory, StoredAffected, StoredImage, MIGRATIONS};
use super::{Store, CACHE_PRAGMA};
use crate::advisories::{Severity, Status};
use crate::inventory::Ecosystem;

/// Prepared statements kept per read connection (rusqlite's default is 16; the API uses about
/// 20 distinct statements, more with the findings filter combinations).
const STATEMENT_CACHE: usize = 64;
/// How long a reader waits on a lock. In WAL mode readers wait only while another connection
/// recovers the WAL index after a crash.
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Beyond this many idle connections a returned one is closed (the API bounds concurrent
/// readers by its blocking-thread count; this is the backstop).
const MAX_IDLE: usize = 32;

/// "No limit" for the page queries (SQLite's LIMIT is a signed 64-bit integer).
pub(super) const NO_LIMIT: usize = (i64::MAX - 1) as usize;

const ADVISORY_COLUMNS: &str = "a.feed, a.id, a.title, a.severity, a.published, a.modified, a.url";

/// One page of a keyset-paginated listing: `next` is the key to pass as `after` for the
/// following page, None on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

impl<T, K> Page<T, K> {
    /// Cuts `rows` (fetched with `limit + 1`) to `limit`, keyed by the last row kept.
    fn from_rows(mut rows: Vec<T>, limit: usize, key: impl Fn(&T) -> K) -> Page<T, K> {
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(key)
        } else {
            None
        };
        Page { items: rows, next }
    }
}

/// Keyset of the advisory listing: (feed, id).
pub type AdvisoryKey = (String, String);
/// Keyset of image listings: (reference, platform).
pub type ImageKey = (String, String);
/// Keyset of the findings listing: (package state id, affected entry id, image id, package
/// id). Findings are stored per package state, so the listing walks them in their key order and
/// each one's packages in the order of the `packages_by_state` index: no sort, and a page reads
/// only the findings it returns (plus those a filter drops).
pub type FindingKey = (i64, i64, i64, i64);

/// An advisory as one feed states it, without aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisorySummary {
    pub feed: String,
    pub id: String,
    pub title: Option<String>,
    pub severity: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvisoryFilter {
    pub feed: Option<String>,
    /// Only ids starting with this (case-sensitive: ids are stored as their sources spell them).
    pub id_prefix: Option<String>,
}

/// Everything stored about one advisory id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryDetail {
    /// The id's own records, one per feed that states it, with their aliases.
    pub records: Vec<StoredAdvisory>,
    /// (feed, advisory id) of the advisories that name the id as an alias.
    pub named_by: Vec<(String, String)>,
    /// Affected entries of the id and of the advisories that name it as an alias.
    pub affected: Vec<StoredAffected>,
}

/// An image's identity, as findings and package matches report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub id: i64,
    pub reference: String,
    pub platform: String,
    pub manifest_digest: String,
    pub distro: Option<String>,
    pub release: Option<String>,
}

/// An installed package of an image that an advisory entry affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedPackage {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub source_name: String,
    pub source_version: String,
    pub status: Status,
    pub fixed_version: Option<String>,
    pub feed: String,
    pub advisory_id: String,
}

/// One image an advisory affects, with the packages that make it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedImage {
    pub image: ImageSummary,
    pub packages: Vec<AffectedPackage>,
}

/// An installed package with its stable id and the layer that introduced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRow {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub arch: String,
    pub source_name: String,
    pub source_version: String,
    pub ecosystem: Ecosystem,
    pub module: Option<String>,
    pub layer: String,
}

/// Which name of a package matched a by-name lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The binary package name (its `version` is the one compared).
    Binary,
    /// Only the source package name (its `source_version` is the one compared).
    Source,
}

/// One image holding a package, with the matching packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePackages {
    pub image: ImageSummary,
    pub packages: Vec<(PackageRow, MatchedBy)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFilter {
    pub distro: Option<String>,
    pub release: Option<String>,
}

/// One stored finding, with what a report needs: image, package, advisory metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    pub package_id: i64,
    pub affected_id: i64,
    /// The package state the finding is stored for (see `schema/0003_findings.sql`).
    pub state_id: i64,
    pub image: ImageSummary,
    pub package: PackageRow,
    pub feed: String,
    pub advisory_id: String,
    /// The advisory's other names, as its feed states them, sorted.
    pub aliases: Vec<String>,
    /// `Unknown` when the feed states none.
    pub severity: Severity,
    pub status: Status,
    pub fixed_version: Option<String>,
    /// Whether the fixed version is in the configured package mirrors, as the watcher last
    /// checked (None: never checked).
    pub fix: Option<FixState>,
}

/// `installable`, `not-yet` (the mirrors do not carry the fixed version yet) or `unknown`
/// (no mirror for the release), with the newest version the mirrors carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixState {
    pub state: String,
    pub available_version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    /// Only findings at least this severe (an unknown severity ranks below every other).
    pub min_severity: Option<Severity>,
    /// Only findings with a fixed version.
    pub fixable: bool,
    /// Only findings of this image id.
    pub image_id: Option<i64>,
    /// Only findings of images of this distribution.
    pub distro: Option<String>,
}

/// Whether any feed covers a distribution release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// At least one affected entry names the image's (distro, release).
    Covered,
    /// No feed has an entry for the release: the image's findings say nothing.
    Uncovered,
    /// The image's OS was not identified.
    UnknownOs,
}

/// A feed's health in the numbers metrics and the scheduler need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    pub name: String,
    /// Unix seconds of the last attempt and the last success.
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    /// Whether the last attempt succeeded.
    pub ok: bool,
    pub n_advisories: i64,
    pub n_affected: i64,
}

/// Row counts for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    pub n_images: i64,
    pub n_packages: i64,
    pub n_findings: i64,
}

/// Read-only connections to one database, handed out one at a time and returned on drop, plus
/// a probe connection for [`ReadPool::data_version`].
pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
    probe: Mutex<Connection>,
}

/// A connection checked out of a [`ReadPool`]; goes back when dropped.
pub struct PooledStore<'a> {
    pool: &'a ReadPool,
    store: Option<Store>,
}

impl std::ops::Deref for PooledStore<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store.as_ref().expect("a pooled store is present until drop")
    }
}

impl Drop for PooledStore<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(store);
            }
        }
    }
}

impl ReadPool {
    /// Opens the probe connection of the database at `path`, which must exist and be migrated
    /// (open it with [`Store::open`] first).
    pub fn open(path: &Path) -> Result<ReadPool, StoreError> {
        let probe = open_read_only(path)?;
        Ok(ReadPool { path: path.to_path_buf(), idle: Mutex::new(Vec::new()), probe: Mutex::new(probe) })
    }

    /// An idle read-only connection, or a new one.
    pub fn get(&self) -> Result<PooledStore<'_>, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let store = match idle {
            Some(store) => store,
            None => Store::open_read_only(&self.path)?,
        };
        Ok(PooledStore { pool: self, store: Some(store) })
    }

    /// SQLite's data version as the probe connection sees it: it changes whenever a commit was
    /// made since the last call, by any connection in any process, and never otherwise (the
    /// probe itself never writes). Each call starts a fresh read, so it reflects every commit
    /// finished before the call.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        let probe = self.probe.lock().unwrap_or_else(|e| e.into_inner());
        probe
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(sql("reading the data version"))
    }
}

fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let label = path.display().to_string();
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn =
        Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open { path: label.clone(), source })?;
    conn.busy_timeout(READ_BUSY_TIMEOUT).map_err(sql("setting the busy timeout"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(CACHE_PRAGMA).map_err(sql("setting pragmas"))?;
    let version: i64 =
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql("reading the schema version"))?;
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::TooNew { path: label, found: version, known: MIGRATIONS.len() });
    }
    if version as usize != MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database {label} has schema version {version}, expected {}: open it for writing once to migrate it",
            MIGRATIONS.len()
        )));
    }
    Ok(conn)
}

/// Severity words at least as severe as `min`, as stored (`Severity::as_str`).
fn severities_from(min: Severity) -> Vec<&'static str> {
    [Severity::Negligible, Severity::Low, Severity::Medium, Severity::High, Severity::Critical]
        .into_iter()
        .filter(|s| *s >= min)
        .map(Severity::as_str)
        .collect()
}

/// The LIMIT of a page query: one row more than the page, to tell whether another follows.
fn sql_limit(limit: usize) -> Value {
    Value::Integer(limit.min(NO_LIMIT) as i64 + 1)
}

/// A paged listing's SQL and its arguments: filters are appended as clauses with `?` marks,
/// numbered here in the order their values come, so that no call site counts arguments.
struct PagedQuery {
    text: String,
    args: Vec<Value>,
}

impl PagedQuery {
    /// `select` ends in a WHERE clause that the filters extend (`WHERE 1` when it has none).
    fn new(select: String) -> PagedQuery {
        PagedQuery { text: select, args: Vec::new() }
    }

    /// Appends ` AND clause`, its `?` marks bound to `values` in order (a mark per value).
    fn and(&mut self, clause: &str, values: impl IntoIterator<Item = Value>) {
        let mut values = values.into_iter();
        self.text.push_str(" AND ");
        for (i, part) in clause.split('?').enumerate() {
            if i > 0 {
                let value = values.next().unwrap_or_else(|| panic!("no value for a mark of {clause:?}"));
                self.args.push(value);
                self.text.push_str(&format!("?{}", self.args.len()));
            }
            self.text.push_str(part);
        }
        assert!(values.next().is_none(), "more values than marks in {clause:?}");
    }

    /// Runs the query in `order_by` order, one row more than `limit` (whether a next page
    /// exists: see `Page::from_rows`).
    fn rows<T>(
        mut self,
        conn: &rusqlite::Connection,
        doing: &'static str,
        order_by: &str,
        limit: usize,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.args.push(sql_limit(limit));
        self.text.push_str(&format!(" ORDER BY {order_by} LIMIT ?{}", self.args.len()));
        let mut stmt = conn.prepare_cached(&self.text).map_err(sql(doing))?;
        let rows = stmt.query_map(params_from_iter(self.args.iter()), row).map_err(sql(doing))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql(doing))
    }
}

/// The exclusive upper bound of the ids starting with `prefix` (binary collation): no valid
/// UTF-8 continuation sorts after U+10FFFF.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn image_summary(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ImageSummary> {
    Ok(ImageSummary {
        id: r.get(at)?,
        reference: r.get(at + 1)?,
        platform: r.get(at + 2)?,
        manifest_digest: r.get(at + 3)?,
        distro: r.get(at + 4)?,
        release: r.get(at + 5)?,
    })
}

const IMAGE_SUMMARY_COLUMNS: &str = "i.id, i.reference, i.platform, i.manifest_digest, i.distro, i.release";
const PACKAGE_COLUMNS: &str =
    "p.id, p.name, p.version, p.arch, p.source_name, p.source_version, p.ecosystem, p.module, p.layer_digest";

fn package_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<PackageRow> {
    Ok(PackageRow {
        id: r.get(at)?,
        name: r.get(at + 1)?,
        version: r.get(at + 2)?,
        arch: r.get(at + 3)?,
        source_name: r.get(at + 4)?,
        source_version: r.get(at + 5)?,
        ecosystem: r.get(at + 6)?,
        module: r.get(at + 7)?,
        layer: r.get(at + 8)?,
    })
}

impl Store {
    /// Opens an existing, migrated database read-only (the API's readers).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        Ok(Store { conn: open_read_only(path)?, policy: crate::correlate::MatchPolicy::default() })
    }

    /// Advisories by (feed, id), after `after`, at most `limit`.
    pub fn advisories_page(
        &self,
        filter: &AdvisoryFilter,
        after: Option<&AdvisoryKey>,
        limit: usize,
    ) -> Result<Page<AdvisorySummary, AdvisoryKey>, StoreError> {
        let doing = "listing advisories";
        let mut query = PagedQuery::new(format!("SELECT {ADVISORY_COLUMNS} FROM advisories a WHERE 1"));
        if let Some(feed) = &filter.feed {
            query.and("a.feed = ?", [feed.clone().into()]);
        }
        if let Some(prefix) = filter.id_prefix.as_ref().filter(|p| !p.is_empty()) {
            query.and("a.id >= ? AND a.id < ?", [prefix.clone().into(), prefix_end(prefix).into()]);
        }
        if let Some((feed, id)) = after {
            query.and("(a.feed, a.id) > (?, ?)", [feed.clone().into(), id.clone().into()]);
        }
        let rows = query.rows(&self.conn, doing, "a.feed, a.id", limit, |r| {
            Ok(AdvisorySummary {
                feed: r.get(0)?,
                id: r.get(1)?,
                title: r.get(2)?,
                severity: r.get(3)?,
                published: r.get(4)?,
                modified: r.get(5)?,
                url: r.get(6)?,
            })
        })?;
        Ok(Page::from_rows(rows, limit, |a| (a.feed.clone(), a.id.clone())))
    }

    /// Everything stored about an advisory id; None when no feed knows it, neither as an id
    /// nor as an alias.
    pub fn advisory_detail(&self, id: &str) -> Result<Option<AdvisoryDetail>, StoreError> {
        let doing = "reading an advisory";
        // The unique index is on (feed, id): probing it once per known feed beats a scan.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.feed, a.title, a.severity, a.published, a.modified, a.url, i.document_url, i.fetched_at
                 FROM advisories a JOIN ingests i ON i.id = a.ingest_id
                 WHERE a.feed IN (SELECT name FROM feeds) AND a.id = ?1 ORDER BY a.feed",
            )
            .map_err(sql(doing))?;
        let mut records: Vec<StoredAdvisory> = stmt
            .query_map([id], |r| {
                Ok(StoredAdvisory {
                    feed: r.get(0)?,
                    id: id.to_string(),
                    aliases: Vec::new(),
                    title: r.get(1)?,
                    severity: r.get(2)?,
                    published: r.get(3)?,
                    modified: r.get(4)?,
                    url: r.get(5)?,
                    document_url: r.get(6)?,
                    fetched_at: r.get(7)?,
                })
            })
            .map_err(sql(doing))?
            .collect::<Result<_, _>>()
            .map_err(sql(doing))?;
        let mut aliases = self
            .conn
            .prepare_cached("SELECT alias FROM advisory_aliases WHERE feed = ?1 AND advisory_id = ?2 ORDER BY alias")
            .map_err(sql(doing))?;
        for record in &mut records {
            record.aliases = aliases
                .query_map(params![record.feed, id], |r| r.get(0))
                .map_err(sql(doing))?
                .collect::<Result<_, _>>()
                .map_err(sql(doing))?;
        }
        let named_by: Vec<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT feed, advisory_id FROM advisory_aliases WHERE alias = ?1 ORDER BY feed, advisory_id",
            )
            .map_err(sql(doing))?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql(doing))?
            .collect::<Result<_, _>>()
            .map_err(sql(doing))?;
        let affected: Vec<StoredAffected> = self
            .conn
            .prepare_cached(
                "SELECT a.feed, a.advisory_id, a.distro, a.release, a.package, a.kind, a.status, a.fixed_version,
                        a.scheme, a.module, l.feed, l.advisory_id
                 FROM affected a LEFT JOIN affected l ON l.id = a.linked_to
                 WHERE a.advisory_id = ?1
                    OR a.advisory_id IN (SELECT advisory_id FROM advisory_aliases WHERE alias = ?1)
                 ORDER BY a.feed, a.advisory_id, a.distro, a.release, a.package, a.module",
            )
            .map_err(sql(doing))?
            .query_map([id], super::advisories::stored_affected_from_row)
            .map_err(sql(doing))?
            .collect::<Result<_, _>>()
            .map_err(sql(doing))?;
        if records.is_empty() && named_by.is_empty() && affected.is_empty() {
            return Ok(None);
        }
        Ok(Some(AdvisoryDetail { records, named_by, affected }))
    }

    /// Whether any feed knows an advisory id, as an id, an alias or by an affected entry.
    pub fn advisory_known(&self, id: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM advisories WHERE feed IN (SELECT name FROM feeds) AND id = ?1)
                     OR EXISTS (SELECT 1 FROM advisory_aliases WHERE alias = ?1)
                     OR EXISTS (SELECT 1 FROM affected WHERE advisory_id = ?1)",
            )
            .and_then(|mut s| s.query_row([id], |r| r.get(0)))
            .map_err(sql("looking an advisory up"))
    }

    /// The images an advisory affects, by the advisory's own id or by an alias of it (a query
    /// for CVE-2024-1234 also answers with the findings of DSA-5678-1 when the DSA names that
    /// CVE), by reference and platform, each with the affected packages. None when no feed
    /// knows the id; an empty list when it is known and affects no stored image.
    pub fn affected_images(&self, advisory: &str) -> Result<Option<Vec<AffectedImage>>, StoreError> {
        let doing = "reading affected images";
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {IMAGE_SUMMARY_COLUMNS},
                        p.name, p.version, p.arch, p.source_name, p.source_version,
                        f.status, f.fixed_version, f.feed, f.advisory_id
                 FROM state_findings f
                 JOIN packages p ON p.state_id = f.state_id
                 JOIN images i ON i.id = p.image_id
                 WHERE f.advisory_id = ?1
                    OR f.advisory_id IN (SELECT advisory_id FROM advisory_aliases WHERE alias = ?1)
                 ORDER BY i.reference, i.platform, p.name, p.arch, p.version, f.feed, f.advisory_id"
            ))
            .map_err(sql(doing))?;
        let mut rows = stmt.query([advisory]).map_err(sql(doing))?;
        let mut images: Vec<AffectedImage> = Vec::new();
        while let Some(r) = rows.next().map_err(sql(doing))? {
            let image_id: i64 = r.get(0).map_err(sql(doing))?;
            let package = (|| {
                Ok(AffectedPackage {
                    name: r.get(6)?,
                    version: r.get(7)?,
                    arch: r.get(8)?,
                    source_name: r.get(9)?,
                    source_version: r.get(10)?,
                    status: r.get(11)?,
                    fixed_version: r.get(12)?,
                    feed: r.get(13)?,
                    advisory_id: r.get(14)?,
                })
            })()
            .map_err(sql(doing))?;
            match images.last_mut() {
                Some(last) if last.image.id == image_id => last.packages.push(package),
                _ => {
                    let image = image_summary(r, 0).map_err(sql(doing))?;
                    images.push(AffectedImage { image, packages: vec![package] });
                }
            }
        }
        if images.is_empty() && !self.advisory_known(advisory)? {
            return Ok(None);
        }
        Ok(Some(images))
    }

    /// Images by (reference, platform), after `after`, at most `limit`.
    pub fn images_page(
        &self,
        filter: &ImageFilter,
        after: Option<&ImageKey>,
        limit: usize,
    ) -> Result<Page<StoredImage, ImageKey>, StoreError> {
        let doing = "listing images";
        let mut query = PagedQuery::new(String::from(
            "SELECT i.id, i.reference, i.platform, i.manifest_digest, i.distro, i.release,
                    (SELECT count(*) FROM packages p WHERE p.image_id = i.id)
             FROM images i WHERE 1",
        ));
        if let Some(distro) = &filter.distro {
            query.and("i.distro = ?", [distro.clone().into()]);
        }
        if let Some(release) = &filter.release {
            query.and("i.release = ?", [release.clone().into()]);
        }
        if let Some((reference, platform)) = after {
            query.and("(i.reference, i.platform) > (?, ?)", [reference.clone().into(), platform.clone().into()]);
        }
        let rows = query.rows(&self.conn, doing, "i.reference, i.platform", limit, |r| {
            Ok(StoredImage {
                id: r.get(0)?,
                reference: r.get(1)?,
                platform: r.get(2)?,
                manifest_digest: r.get(3)?,
                distro: r.get(4)?,
                release: r.get(5)?,
                n_packages: r.get(6)?,
            })
        })?;
        Ok(Page::from_rows(rows, limit, |i| (i.reference.clone(), i.platform.clone())))
    }

    /// The stored images of a reference (exactly as stored, e.g.
    /// `docker.io/library/debian:bookworm`), one per platform, or only `platform`'s.
    pub fn images_by_reference(&self, reference: &str, platform: Option<&str>) -> Result<Vec<StoredImage>, StoreError> {
        let doing = "looking an image up";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.id, i.reference, i.platform, i.manifest_digest, i.distro, i.release,
                        (SELECT count(*) FROM packages p WHERE p.image_id = i.id)
                 FROM images i WHERE i.reference = ?1 AND (?2 IS NULL OR i.platform = ?2) ORDER BY i.platform",
            )
            .map_err(sql(doing))?;
        let rows = stmt
            .query_map(params![reference, platform], |r| {
                Ok(StoredImage {
                    id: r.get(0)?,
                    reference: r.get(1)?,
                    platform: r.get(2)?,
                    manifest_digest: r.get(3)?,
                    distro: r.get(4)?,
                    release: r.get(5)?,
                    n_packages: r.get(6)?,
                })
            })
            .map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// An image's packages with their ids and layers, by name, arch and version.
    pub fn image_packages(&self, image_id: i64) -> Result<Vec<PackageRow>, StoreError> {
        let doing = "reading packages";
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PACKAGE_COLUMNS} FROM packages p WHERE p.image_id = ?1 ORDER BY p.name, p.arch, p.version"
            ))
            .map_err(sql(doing))?;
        let rows = stmt.query_map([image_id], |r| package_row(r, 0)).map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// The images holding a package named `name`, as a binary or a source package, by
    /// (reference, platform), after `after`, at most `limit` images. With `version_below`,
    /// only packages whose version compares below it with their ecosystem's comparator count:
    /// the binary version when the binary name matched, else the source version.
    pub fn images_with_package(
        &self,
        name: &str,
        version_below: Option<&str>,
        after: Option<&ImageKey>,
        limit: usize,
    ) -> Result<Page<ImagePackages, ImageKey>, StoreError> {
        let doing = "finding images by package";
        let (after_reference, after_platform) = match after {
            Some((r, p)) => (Some(r.as_str()), Some(p.as_str())),
            None => (None, None),
        };
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {IMAGE_SUMMARY_COLUMNS}, {PACKAGE_COLUMNS}
                 FROM packages p JOIN images i ON i.id = p.image_id
                 WHERE (p.name = ?1 OR p.source_name = ?1)
                   AND (?2 IS NULL OR (i.reference, i.platform) > (?2, ?3))
                 ORDER BY i.reference, i.platform, p.name, p.arch, p.version"
            ))
            .map_err(sql(doing))?;
        let mut rows = stmt.query(params![name, after_reference, after_platform]).map_err(sql(doing))?;
        let mut images: Vec<ImagePackages> = Vec::new();
        while let Some(r) = rows.next().map_err(sql(doing))? {
            let package = package_row(r, 6).map_err(sql(doing))?;
            let matched = if package.name == name { MatchedBy::Binary } else { MatchedBy::Source };
            if let Some(bound) = version_below {
                let installed = match matched {
                    MatchedBy::Binary => &package.version,
                    MatchedBy::Source => &package.source_version,
                };
                if crate::versions::compare(package.ecosystem, installed, bound) != Ordering::Less {
                    continue;
                }
            }
            let image_id: i64 = r.get(0).map_err(sql(doing))?;
            match images.last_mut() {
                Some(last) if last.image.id == image_id => last.packages.push((package, matched)),
                _ => {
                    if images.len() > limit {
                        break;
                    }
                    let image = image_summary(r, 0).map_err(sql(doing))?;
                    images.push(ImagePackages { image, packages: vec![(package, matched)] });
                }
            }
        }
        Ok(Page::from_rows(images, limit, |i| (i.image.reference.clone(), i.image.platform.clone())))
    }

    /// Whether any feed has an entry for the release of an image with this OS.
    pub fn coverage(&self, distro: Option<&str>, release: Option<&str>) -> Result<Coverage, StoreError> {
        let (Some(distro), Some(release)) = (distro, release) else { return Ok(Coverage::UnknownOs) };
        let covered: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM affected_releases WHERE distro = ?1 AND release = ?2)")
            .and_then(|mut s| s.query_row([distro, release], |r| r.get(0)))
            .map_err(sql("checking release coverage"))?;
        Ok(if covered { Coverage::Covered } else { Coverage::Uncovered })
    }

    /// Findings by (package id, affected entry id), after `after`, at most `limit`.
    pub fn findings_page(
        &self,
        filter: &FindingFilter,
        after: Option<&FindingKey>,
        limit: usize,
    ) -> Result<Page<FindingRow, FindingKey>, StoreError> {
        let doing = "listing findings";
        // One image's findings are few: from its packages, sorted. Otherwise the state findings
        // drive the walk (CROSS JOIN fixes the loop order whatever the statistics say).
        let join = if filter.image_id.is_some() { "JOIN" } else { "CROSS JOIN" };
        let mut query = PagedQuery::new(format!(
            "SELECT p.id, f.affected_id, f.state_id, {IMAGE_SUMMARY_COLUMNS}, {PACKAGE_COLUMNS},
                    f.feed, f.advisory_id, a.severity, f.status, f.fixed_version,
                    (SELECT group_concat(x.alias, char(10)) FROM advisory_aliases x
                     WHERE x.feed = f.feed AND x.advisory_id = f.advisory_id),
                    fa.state, fa.available_version
             FROM state_findings f
             {join} packages p ON p.state_id = f.state_id
             JOIN images i ON i.id = p.image_id
             LEFT JOIN advisories a ON a.feed = f.feed AND a.id = f.advisory_id
             LEFT JOIN fix_availability fa ON fa.distro = i.distro AND fa.release = i.release
                  AND fa.package = f.key_package AND fa.fixed_version = f.fixed_version
             WHERE 1"
        ));
        if let Some(image_id) = filter.image_id {
            query.and("p.image_id = ?", [image_id.into()]);
        }
        if let Some(distro) = &filter.distro {
            query.and("i.distro = ?", [distro.clone().into()]);
        }
        if filter.fixable {
            query.and("f.fixed_version IS NOT NULL", []);
        }
        if let Some(min) = filter.min_severity {
            let words = severities_from(min);
            let marks = vec!["?"; words.len()].join(", ");
            query.and(&format!("a.severity IN ({marks})"), words.iter().map(|w| Value::from(w.to_string())));
        }
        if let Some(&(state_id, affected_id, image_id, package_id)) = after {
            // Spelled out rather than as one row value, so that the state id bounds the scan.
            query.and(
                "f.state_id >= ? AND (f.state_id > ? OR f.affected_id > ?
                   OR (f.affected_id = ? AND (p.image_id, p.id) > (?, ?)))",
                [state_id, state_id, affected_id, affected_id, image_id, package_id].map(Value::from),
            );
        }
        let rows = query.rows(&self.conn, doing, "f.state_id, f.affected_id, p.image_id, p.id", limit, finding_row)?;
        Ok(Page::from_rows(rows, limit, |f| (f.state_id, f.affected_id, f.image.id, f.package_id)))
    }

    /// Every finding of one image, by package name and advisory id.
    pub fn image_findings(&self, image_id: i64, filter: &FindingFilter) -> Result<Vec<FindingRow>, StoreError> {
        let filter = FindingFilter { image_id: Some(image_id), ..filter.clone() };
        let mut findings = self.findings_page(&filter, None, NO_LIMIT)?.items;
        findings.sort_by(|a, b| {
            (&a.package.name, &a.package.arch, &a.advisory_id, &a.feed).cmp(&(
                &b.package.name,
                &b.package.arch,
                &b.advisory_id,
                &b.feed,
            ))
        });
        Ok(findings)
    }

    /// Every feed's health as unix times and counts.
    pub fn feed_statuses(&self) -> Result<Vec<FeedStatus>, StoreError> {
        let doing = "reading feed health";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, CAST(strftime('%s', last_attempt) AS INTEGER), CAST(strftime('%s', last_success) AS INTEGER),
                        last_error IS NULL AND last_attempt IS NOT NULL, n_advisories, n_affected
                 FROM feeds ORDER BY name",
            )
            .map_err(sql(doing))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FeedStatus {
                    name: r.get(0)?,
                    last_attempt: r.get(1)?,
                    last_success: r.get(2)?,
                    ok: r.get(3)?,
                    n_advisories: r.get(4)?,
                    n_affected: r.get(5)?,
                })
            })
            .map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// How many images, packages and findings are stored.
    pub fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM packages), (SELECT count(*) FROM state_findings f JOIN packages p ON p.state_id = f.state_id)",
            )
            .and_then(|mut s| {
                s.query_row([], |r| Ok(StoreCounts { n_images: r.get(0)?, n_packages: r.get(1)?, n_findings: r.get(2)? }))
            })
            .map_err(sql("counting rows"))
    }

    /// Whether the database answers a trivial query (readiness).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("SELECT count(*) FROM feeds")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .map(|_| ())
            .map_err(sql("checking the database"))
    }
}

fn finding_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FindingRow> {
    let severity: Option<String> = r.get(20)?;
    let aliases: Option<String> = r.get(23)?;
    let mut aliases: Vec<String> = aliases.map(|a| a.split('\n').map(str::to_owned).collect()).unwrap_or_default();
    aliases.sort();
    Ok(FindingRow {
        package_id: r.get(0)?,
        affected_id: r.get(1)?,
        state_id: r.get(2)?,
        image: image_summary(r, 3)?,
        package: package_row(r, 9)?,
        feed: r.get(18)?,
        advisory_id: r.get(19)?,
        aliases,
        severity: severity.as_deref().map_or(Severity::Unknown, Severity::parse),
        status: r.get(21)?,
        fixed_version: r.get(22)?,
        fix: r.get::<_, Option<String>>(24)?.map(|state| FixState { state, available_version: None }),
    })
    .and_then(|mut row| {
        if let Some(fix) = &mut row.fix {
            fix.available_version = r.get(25)?;
        }
        Ok(row)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paged_query_numbers_its_marks_in_the_order_of_their_values() {
        let mut query = PagedQuery::new("SELECT x FROM t WHERE 1".into());
        query.and("a = ?", [Value::from(1)]);
        query.and("b IS NOT NULL", []);
        query.and("(c > ? OR (c = ? AND d > ?))", [2, 2, 3].map(Value::from));
        assert_eq!(
            query.text,
            "SELECT x FROM t WHERE 1 AND a = ?1 AND b IS NOT NULL AND (c > ?2 OR (c = ?3 AND d > ?4))"
        );
        assert_eq!(query.args, [1, 2, 2, 3].map(Value::from));
    }

    #[test]
    #[should_panic(expected = "no value for a mark")]
    fn a_mark_without_a_value_is_a_bug_caught_at_once() {
        PagedQuery::new("SELECT 1 WHERE 1".into()).and("a = ? AND b = ?", [Value::from(1)]);
    }

    /// Test rows: two images of Debian 12 and one of Alpine 3.19 (uncovered), an advisory
    /// DSA-5678-1 (dsa-list, alias CVE-2024-1234) and CVE-2024-1234 (debian-tracker).
    fn seeded() -> Store {
        let store = Store::open_in_memory().unwrap();
        store.conn.execute_batch(SEED).unwrap();
        store
    }

    const SEED: &str = include_str!("../../tests/fixtures/api_seed.sql");

    fn refs(images: &[AffectedImage]) -> Vec<String> {
        images.iter().map(|i| format!("{} {}", i.image.reference, i.image.platform)).collect()
    }

    #[test]
    fn affected_images_by_id_and_by_alias() {
        let store = seeded();
        let by_dsa = store.affected_images("DSA-5678-1").unwrap().unwrap();
        assert_eq!(
            refs(&by_dsa),
            [
                "registry.test/app:1 linux/amd64",
                "registry:5000/team/base:1 linux/amd64",
                "registry:5000/team/base:1 linux/arm64"
            ]
        );
        // The tracker's CVE names the DSA as an alias, so its finding answers for the DSA too.
        assert_eq!(by_dsa[0].packages.len(), 2);
        let base = &by_dsa[1].packages[0];
        assert_eq!((base.name.as_str(), base.source_name.as_str()), ("openssl", "openssl"));
        assert_eq!(base.status, Status::Fixed);
        assert_eq!(base.fixed_version.as_deref(), Some("3.0.13-1~deb12u1"));

        let by_cve = store.affected_images("CVE-2024-1234").unwrap().unwrap();
        assert_eq!(refs(&by_cve), refs(&by_dsa), "the DSA names the CVE as an alias");
        let app: Vec<(&str, &str)> =
            by_cve[0].packages.iter().map(|p| (p.feed.as_str(), p.advisory_id.as_str())).collect();
        assert_eq!(app, [("debian-tracker", "CVE-2024-1234"), ("dsa-list", "DSA-5678-1")]);

        assert_eq!(store.affected_images("CVE-2000-0001").unwrap(), None, "unknown id");
        // Known, affects nothing stored.
        store.conn.execute("DELETE FROM state_findings WHERE advisory_id = 'CVE-2024-9999'", []).unwrap();
        assert_eq!(store.affected_images("CVE-2024-9999").unwrap(), Some(vec![]));
    }

    #[test]
    fn advisory_pages_follow_the_key_and_filters() {
        let store = seeded();
        let all = AdvisoryFilter::default();
        let first = store.advisories_page(&all, None, 2).unwrap();
        let ids: Vec<&str> = first.items.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2024-1234", "CVE-2024-9999"]);
        let next = first.next.clone().unwrap();
        let second = store.advisories_page(&all, Some(&next), 2).unwrap();
        assert_eq!(second.items.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["DSA-5678-1"]);
        assert_eq!(second.next, None);

        let cve = AdvisoryFilter { feed: None, id_prefix: Some("CVE-2024-9".into()) };
        let page = store.advisories_page(&cve, None, 10).unwrap();
        assert_eq!(page.items.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["CVE-2024-9999"]);
        let dsa = AdvisoryFilter { feed: Some("dsa-list".into()), id_prefix: None };
        assert_eq!(store.advisories_page(&dsa, None, 10).unwrap().items.len(), 1);
    }

    #[test]
    fn advisory_detail_gathers_records_aliases_and_entries() {
        let store = seeded();
        let detail = store.advisory_detail("CVE-2024-1234").unwrap().unwrap();
        assert_eq!(detail.records.len(), 1);
        assert_eq!(detail.records[0].aliases, ["DSA-5678-1"]);
        assert_eq!(detail.records[0].document_url.as_deref(), Some("https://example.test/tracker.json"));
        assert_eq!(detail.named_by, [("dsa-list".to_string(), "DSA-5678-1".to_string())]);
        let entries: Vec<&str> = detail.affected.iter().map(|a| a.advisory_id.as_str()).collect();
        assert_eq!(entries, ["CVE-2024-1234", "DSA-5678-1"]);
        assert_eq!(store.advisory_detail("nope").unwrap(), None);
    }

    #[test]
    fn images_by_package_with_a_version_bound() {
        let store = seeded();
        let page = store.images_with_package("openssl", None, None, 10).unwrap();
        let found: Vec<(String, usize)> = page
            .items
            .iter()
            .map(|i| (format!("{} {}", i.image.reference, i.image.platform), i.packages.len()))
            .collect();
        assert_eq!(
            found,
            [
                ("registry.test/alpine:1 linux/amd64".to_string(), 1),
                ("registry.test/app:1 linux/amd64".to_string(), 1),
                ("registry:5000/team/base:1 linux/amd64".to_string(), 2),
                ("registry:5000/team/base:1 linux/arm64".to_string(), 1),
            ]
        );
        let base = &page.items[2].packages;
        assert_eq!((base[0].0.name.as_str(), base[0].1), ("libssl3", MatchedBy::Source));
        assert_eq!((base[1].0.name.as_str(), base[1].1), ("openssl", MatchedBy::Binary));

        // Below 3.0.13-1~deb12u1: base:1/amd64 keeps only its openssl 3.0.11 binary, the Alpine
        // image's 3.1.4-r0 is not below (each package compares with its own ecosystem's rules).
        let below = store.images_with_package("openssl", Some("3.0.13-1~deb12u1"), None, 10).unwrap();
        let kept: Vec<String> = below
            .items
            .iter()
            .map(|i| {
                let names: Vec<&str> = i.packages.iter().map(|(p, _)| p.name.as_str()).collect();
                format!("{} {} {}", i.image.reference, i.image.platform, names.join(","))
            })
            .collect();
        assert_eq!(
            kept,
            [
                "registry.test/app:1 linux/amd64 libssl3",
                "registry:5000/team/base:1 linux/amd64 openssl",
                "registry:5000/team/base:1 linux/arm64 libssl3",
            ]
        );
        let apk = store.images_with_package("openssl", Some("3.1.4-r1"), None, 10).unwrap();
        assert_eq!(apk.items.len(), 4, "apk: 3.1.4-r0 < 3.1.4-r1; dpkg: 3.0.x < 3.1.4-r1");
        let apk = store.images_with_package("libcrypto3", Some("3.1.4-r0"), None, 10).unwrap();
        assert!(apk.items.is_empty(), "not below itself");

        // Pages of two images, then the rest.
        let first = store.images_with_package("openssl", None, None, 2).unwrap();
        assert_eq!(first.items.len(), 2);
        let next = first.next.clone().unwrap();
        assert_eq!(next, ("registry.test/app:1".to_string(), "linux/amd64".to_string()));
        let second = store.images_with_package("openssl", None, Some(&next), 2).unwrap();
        assert_eq!(second.items.len(), 2);
        assert_eq!(second.items[0].image.reference, "registry:5000/team/base:1");
        assert_eq!(second.next, None);
    }

    #[test]
    fn images_pages_and_lookups() {
        let store = seeded();
        let first = store.images_page(&ImageFilter::default(), None, 3).unwrap();
        assert_eq!(first.items.len(), 3);
        let second = store.images_page(&ImageFilter::default(), first.next.as_ref(), 3).unwrap();
        assert_eq!(second.items.len(), 2);
        assert_eq!(second.next, None);
        let alpine = ImageFilter { distro: Some("alpine".into()), release: None };
        assert_eq!(store.images_page(&alpine, None, 10).unwrap().items.len(), 1);

        assert_eq!(store.images_by_reference("registry:5000/team/base:1", None).unwrap().len(), 2);
        let arm = store.images_by_reference("registry:5000/team/base:1", Some("linux/arm64")).unwrap();
        assert_eq!(arm.len(), 1);
        assert_eq!(arm[0].n_packages, 1);
        assert_eq!(store.image_packages(2).unwrap().len(), 2);
    }

    #[test]
    fn coverage_of_releases() {
        let store = seeded();
        assert_eq!(store.coverage(Some("debian"), Some("12")).unwrap(), Coverage::Covered);
        assert_eq!(store.coverage(Some("alpine"), Some("3.19")).unwrap(), Coverage::Uncovered);
        assert_eq!(store.coverage(None, None).unwrap(), Coverage::UnknownOs);
    }

    #[test]
    fn findings_filters_and_pages() {
        let store = seeded();
        let all = store.findings_page(&FindingFilter::default(), None, 100).unwrap();
        let keys: Vec<(i64, i64)> = all.items.iter().map(|f| (f.package_id, f.affected_id)).collect();
        assert_eq!(
            keys,
            [(10, 100), (30, 100), (10, 200), (30, 200), (11, 201), (21, 100)],
            "by state, entry, image, package"
        );
        let first = &all.items[0];
        assert_eq!((first.package_id, first.affected_id), (10, 100));
        assert_eq!(first.aliases, ["CVE-2024-1234"]);
        assert_eq!(first.severity, Severity::Unknown);
        assert_eq!(first.package.layer, "sha256:l1");
        assert_eq!(all.items[2].severity, Severity::High);

        let high = FindingFilter { min_severity: Some(Severity::High), ..Default::default() };
        assert_eq!(store.findings_page(&high, None, 100).unwrap().items.len(), 2);
        let low = FindingFilter { min_severity: Some(Severity::Low), ..Default::default() };
        assert_eq!(store.findings_page(&low, None, 100).unwrap().items.len(), 3);
        let fixable = FindingFilter { fixable: true, ..Default::default() };
        assert_eq!(store.findings_page(&fixable, None, 100).unwrap().items.len(), 5);
        let image = FindingFilter { image_id: Some(1), ..Default::default() };
        assert_eq!(store.findings_page(&image, None, 100).unwrap().items.len(), 3);
        let alpine = FindingFilter { distro: Some("alpine".into()), ..Default::default() };
        assert_eq!(store.findings_page(&alpine, None, 100).unwrap().items.len(), 0);

        // Keyset pages of two cover everything once, in order.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.findings_page(&FindingFilter::default(), after.as_ref(), 2).unwrap();
            seen.extend(page.items.iter().map(|f| (f.package_id, f.affected_id)));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, all.items.iter().map(|f| (f.package_id, f.affected_id)).collect::<Vec<_>>());

        let of_app = store.image_findings(1, &FindingFilter::default()).unwrap();
        let names: Vec<(&str, &str)> =
            of_app.iter().map(|f| (f.package.name.as_str(), f.advisory_id.as_str())).collect();
        assert_eq!(names, [("libssl3", "CVE-2024-1234"), ("libssl3", "DSA-5678-1"), ("zlib1g", "CVE-2024-9999")]);
    }

    #[test]
    fn feed_statuses_and_counts() {
        let store = seeded();
        let feeds = store.feed_statuses().unwrap();
        assert_eq!(feeds[0].name, "debian-tracker");
        assert!(!feeds[0].ok);
        assert_eq!(feeds[0].last_success, Some(1_796_122_800));
        assert_eq!(feeds[1].last_attempt, Some(1_796_119_200));
        assert!(feeds[1].ok);
        assert_eq!(store.counts().unwrap(), StoreCounts { n_images: 5, n_packages: 6, n_findings: 6 });
        store.ping().unwrap();
    }

    #[test]
    fn the_read_pool_sees_other_connections_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cascade.db");
        let writer = Store::open(&path).unwrap();
        let pool = ReadPool::open(&path).unwrap();
        let before = pool.data_version().unwrap();
        assert_eq!(pool.data_version().unwrap(), before, "no commit, no change");
        {
            let reader = pool.get().unwrap();
            assert_eq!(reader.counts().unwrap().n_images, 0);
        }
        writer.conn.execute_batch(SEED).unwrap();
        let after = pool.data_version().unwrap();
        assert_ne!(after, before, "a commit by another connection changes the data version");
        // The same connection comes back from the pool and sees the commit.
        let reader = pool.get().unwrap();
        assert_eq!(reader.counts().unwrap().n_images, 5);
        assert!(reader.conn.execute("DELETE FROM images", []).is_err(), "read-only");
    }
}
