//! Findings: the write side of correlation. Applies `correlate::affects` to package states
//! (the distinct installed packages of a release, see `schema/0003_findings.sql`) and affected
//! entries that share a (distro, release, package) key, stores the findings per state, and
//! reports what each update added (per state, with its image count) and resolved (per image).
//!
//! Three ways in, all inside the caller's transaction so that findings never lag the data:
//! - an ingest re-evaluates the keys its change set touched ([`update_keys`]);
//! - a saved inventory matches the states no image had before ([`correlate_states`]);
//! - a full rebuild recomputes everything ([`rebuild_all`]); it must equal the sum of the
//!   incremental updates (a test checks this).

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};

use super::{sql, Store, StoreError};
use crate::advisories::{PackageKey, PackageKind, Status};
use crate::correlate::{self, AddedFindings, EntryRef, FindingChange, FindingsDelta, InstalledRef, MatchPolicy};
use crate::inventory::{Ecosystem, Package};

/// Page cache while a full rebuild runs (negative: KiB).
const REBUILD_CACHE_PRAGMA: &str = "PRAGMA cache_size = -65536";

/// The settings key under which the policy of the stored findings is kept.
const POLICY_KEY: &str = "match_policy";

/// An update touching more keys (of releases that have images) than this recomputes every
/// finding instead and reports a new baseline (see `FindingsDelta::rebaselined`): listing the
/// findings of a whole feed's first ingest one by one helps nobody.
const LARGE_UPDATE_KEYS: usize = 5_000;

/// An affected entry that can affect something (not-affected, undetermined and mail entries
/// linked to a feed entry are never loaded).
#[derive(Debug, Clone)]
struct Entry {
    id: i64,
    feed: String,
    advisory_id: String,
    package: String,
    kind: PackageKind,
    status: Status,
    fixed_version: Option<String>,
    scheme: Ecosystem,
    module: Option<String>,
}

impl Entry {
    fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            package: &self.package,
            kind: self.kind,
            status: self.status,
            fixed_version: self.fixed_version.as_deref(),
            scheme: self.scheme,
            module: self.module.as_deref(),
        }
    }
}

const ENTRY_COLUMNS: &str = "id, feed, advisory_id, package, kind, status, fixed_version, scheme, module";
const AFFECTING: &str = "linked_to IS NULL AND status NOT IN ('not-affected', 'undetermined')";

fn entry_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(at)?,
        feed: r.get(at + 1)?,
        advisory_id: r.get(at + 2)?,
        package: r.get(at + 3)?,
        kind: r.get(at + 4)?,
        status: r.get(at + 5)?,
        fixed_version: r.get(at + 6)?,
        scheme: r.get(at + 7)?,
        module: r.get(at + 8)?,
    })
}

/// A package state: one distinct installed package of a release.
#[derive(Debug, Clone)]
struct State {
    id: i64,
    name: String,
    version: String,
    source_name: String,
    source_version: String,
    ecosystem: Ecosystem,
    /// '' in the table when there is none.
    module: String,
}

impl State {
    fn as_ref(&self) -> InstalledRef<'_> {
        InstalledRef {
            name: &self.name,
            version: &self.version,
            source_name: &self.source_name,
            source_version: &self.source_version,
            ecosystem: self.ecosystem,
            module: Some(self.module.as_str()).filter(|m| !m.is_empty()),
        }
    }
}

const STATE_COLUMNS: &str = "s.id, s.name, s.version, s.source_name, s.source_version, s.ecosystem, s.module";

fn state_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<State> {
    Ok(State {
        id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        source_name: r.get(3)?,
        source_version: r.get(4)?,
        ecosystem: r.get(5)?,
        module: r.get(6)?,
    })
}

/// A finding row as stored (and as computed before storing).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    state_id: i64,
    affected_id: i64,
    feed: String,
    advisory_id: String,
    key_package: String,
    status: Status,
    fixed_version: Option<String>,
}

impl Row {
    fn new(state: &State, entry: &Entry) -> Row {
        Row {
            state_id: state.id,
            affected_id: entry.id,
            feed: entry.feed.clone(),
            advisory_id: entry.advisory_id.clone(),
            key_package: entry.package.clone(),
            status: entry.status,
            fixed_version: entry.fixed_version.clone(),
        }
    }

    /// What identifies a finding across updates: the same package state and the same advisory
    /// as stated by the same feed (entry ids change when an entry is withdrawn and re-added).
    fn identity(&self) -> (i64, &str, &str) {
        (self.state_id, &self.feed, &self.advisory_id)
    }
}

/// The findings of `entries` on `state`.
fn matches<'e>(
    state: &'e State,
    entries: impl Iterator<Item = &'e Entry> + 'e,
    policy: &'e MatchPolicy,
) -> impl Iterator<Item = Row> + 'e {
    entries.filter(move |e| correlate::affects(&state.as_ref(), &e.as_ref(), policy)).map(move |e| Row::new(state, e))
}

/// Rows per multi-row INSERT: one statement per 64 findings instead of one per finding.
const INSERT_BATCH: usize = 64;
const FINDING_COLUMNS: &str = "state_id, affected_id, feed, advisory_id, key_package, status, fixed_version";
const N_FINDING_COLUMNS: usize = 7;

/// Stores new rows (callers never insert a key that is stored).
fn insert_rows(conn: &Connection, rows: &[Row]) -> Result<(), StoreError> {
    fn statement(n: usize) -> String {
        let one = "(?, ?, ?, ?, ?, ?, ?)";
        format!("INSERT INTO state_findings ({FINDING_COLUMNS}) VALUES {}", vec![one; n].join(", "))
    }
    let mut chunks = rows.chunks_exact(INSERT_BATCH);
    for chunk in chunks.by_ref() {
        let mut stmt = conn.prepare_cached(&statement(INSERT_BATCH)).map_err(sql("storing findings"))?;
        bind_rows(&mut stmt, chunk).map_err(sql("storing findings"))?;
        stmt.raw_execute().map_err(sql("storing findings"))?;
    }
    for row in chunks.remainder() {
        let mut stmt = conn.prepare_cached(&statement(1)).map_err(sql("storing findings"))?;
        bind_rows(&mut stmt, std::slice::from_ref(row)).map_err(sql("storing findings"))?;
        stmt.raw_execute().map_err(sql("storing findings"))?;
    }
    Ok(())
}

fn bind_rows(stmt: &mut rusqlite::CachedStatement<'_>, rows: &[Row]) -> rusqlite::Result<()> {
    for (i, r) in rows.iter().enumerate() {
        let at = i * N_FINDING_COLUMNS;
        stmt.raw_bind_parameter(at + 1, r.state_id)?;
        stmt.raw_bind_parameter(at + 2, r.affected_id)?;
        stmt.raw_bind_parameter(at + 3, &r.feed)?;
        stmt.raw_bind_parameter(at + 4, &r.advisory_id)?;
        stmt.raw_bind_parameter(at + 5, &r.key_package)?;
        stmt.raw_bind_parameter(at + 6, r.status)?;
        stmt.raw_bind_parameter(at + 7, &r.fixed_version)?;
    }
    Ok(())
}

/// Whether any image is stored.
pub(super) fn has_images(conn: &Connection) -> Result<bool, StoreError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM images)", [], |r| r.get(0)).map_err(sql("looking for images"))
}

/// The (distro, release) pairs of stored images: keys outside them need no work.
fn image_releases(conn: &Connection) -> Result<HashSet<(String, String)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT distro, release FROM images
             WHERE distro IS NOT NULL AND release IS NOT NULL AND release <> ''",
        )
        .map_err(sql("listing image releases"))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql("listing image releases"))?;
    rows.collect::<Result<_, _>>().map_err(sql("listing image releases"))
}

/// Whether any stored image is of `distro`/`release` (a release that is empty never is).
fn release_has_images(conn: &Connection, distro: &str, release: &str) -> Result<bool, StoreError> {
    if release.is_empty() {
        return Ok(false);
    }
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM images WHERE distro = ?1 AND release = ?2)")
        .and_then(|mut s| s.query_row([distro, release], |r| r.get(0)))
        .map_err(sql("looking for images of a release"))
}

fn entries_for_key(conn: &Connection, distro: &str, release: &str, package: &str) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM affected
             WHERE distro = ?1 AND release = ?2 AND package = ?3 AND {AFFECTING}"
        ))
        .map_err(sql("reading affected entries"))?;
    let rows = stmt
        .query_map(params![distro, release, package], |r| entry_from_row(r, 0))
        .map_err(sql("reading affected entries"))?;
    rows.collect::<Result<_, _>>().map_err(sql("reading affected entries"))
}

/// Package states of this release whose source or binary name is `package` (`+` keeps SQLite
/// on the name indexes rather than walking every state of the release).
fn states_for_key(conn: &Connection, distro: &str, release: &str, package: &str) -> Result<Vec<State>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM package_states s WHERE s.source_name = ?3 AND +s.distro = ?1 AND +s.release = ?2
             UNION
             SELECT {STATE_COLUMNS} FROM package_states s WHERE s.name = ?3 AND +s.distro = ?1 AND +s.release = ?2"
        ))
        .map_err(sql("reading package states"))?;
    let rows =
        stmt.query_map(params![distro, release, package], state_from_row).map_err(sql("reading package states"))?;
    rows.collect::<Result<_, _>>().map_err(sql("reading package states"))
}

/// (CROSS JOIN: SQLite must start from the key's findings, not from every state of the release.)
fn stored_for_key(conn: &Connection, distro: &str, release: &str, package: &str) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT f.state_id, f.affected_id, f.feed, f.advisory_id, f.key_package, f.status, f.fixed_version
             FROM state_findings f CROSS JOIN package_states s ON s.id = f.state_id
             WHERE f.key_package = ?3 AND s.distro = ?1 AND s.release = ?2",
        )
        .map_err(sql("reading findings"))?;
    let rows = stmt
        .query_map(params![distro, release, package], |r| {
            Ok(Row {
                state_id: r.get(0)?,
                affected_id: r.get(1)?,
                feed: r.get(2)?,
                advisory_id: r.get(3)?,
                key_package: r.get(4)?,
                status: r.get(5)?,
                fixed_version: r.get(6)?,
            })
        })
        .map_err(sql("reading findings"))?;
    rows.collect::<Result<_, _>>().map_err(sql("reading findings"))
}

/// The state a finding row is about: from `states` (the states of the key being updated),
/// else read from the table. None when the state is gone (it goes only with the last image
/// that held it, which reports its own findings).
fn state_of(conn: &Connection, row: &Row, states: &[State], doing: &'static str) -> Result<Option<State>, StoreError> {
    if let Some(s) = states.iter().find(|s| s.id == row.state_id) {
        return Ok(Some(s.clone()));
    }
    conn.prepare_cached(&format!("SELECT {STATE_COLUMNS} FROM package_states s WHERE s.id = ?1"))
        .and_then(|mut s| s.query_row([row.state_id], state_from_row).optional())
        .map_err(sql(doing))
}

/// Turns new state-level rows into the added findings an update reports: one per state, with
/// the number of images holding it (an image holding it for two architectures counts once).
fn count_added(conn: &Connection, rows: &[&Row], states: &[State]) -> Result<Vec<AddedFindings>, StoreError> {
    let doing = "counting added findings";
    let mut out = Vec::new();
    for row in rows {
        let Some(state) = state_of(conn, row, states, doing)? else { continue };
        let n_images: i64 = conn
            .prepare_cached("SELECT count(DISTINCT image_id) FROM packages WHERE state_id = ?1")
            .and_then(|mut s| s.query_row([row.state_id], |r| r.get(0)))
            .map_err(sql(doing))?;
        if n_images == 0 {
            continue;
        }
        out.push(AddedFindings {
            package: state.name,
            version: state.version,
            source_name: state.source_name,
            feed: row.feed.clone(),
            advisory_id: row.advisory_id.clone(),
            status: row.status,
            fixed_version: row.fixed_version.clone(),
            n_images: n_images as usize,
        });
    }
    Ok(out)
}

/// Turns resolved state-level rows into the per-image changes an update reports: one per
/// image that holds the state (an image holding it for two architectures reports it once).
fn describe_resolved(conn: &Connection, rows: &[&Row], states: &[State]) -> Result<Vec<FindingChange>, StoreError> {
    let doing = "describing resolved findings";
    let mut out = Vec::new();
    for row in rows {
        let Some(state) = state_of(conn, row, states, doing)? else { continue };
        let images: Vec<(String, String)> = conn
            .prepare_cached(
                "SELECT i.reference, i.platform FROM images i
                 WHERE i.id IN (SELECT image_id FROM packages WHERE state_id = ?1)",
            )
            .and_then(|mut s| s.query_map([row.state_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(sql(doing))?;
        for (image, platform) in images {
            out.push(FindingChange {
                image,
                platform,
                package: state.name.clone(),
                version: state.version.clone(),
                source_name: state.source_name.clone(),
                feed: row.feed.clone(),
                advisory_id: row.advisory_id.clone(),
                status: row.status,
                fixed_version: row.fixed_version.clone(),
            });
        }
    }
    Ok(out)
}

/// Added and resolved findings between two sets of rows for the same scope. One advisory may
/// hold two entries for one package (two module streams): each finding is reported once.
fn diff<'a>(old: &'a [Row], new: &'a [Row]) -> (Vec<&'a Row>, Vec<&'a Row>) {
    fn only_in<'a>(rows: &'a [Row], other: &[Row]) -> Vec<&'a Row> {
        let other: HashSet<_> = other.iter().map(Row::identity).collect();
        let mut seen = HashSet::new();
        rows.iter().filter(|r| !other.contains(&r.identity()) && seen.insert(r.identity())).collect()
    }
    (only_in(new, old), only_in(old, new))
}

/// Re-evaluates the findings of the given keys: what an ingest calls with the keys its
/// change set touched.
pub(super) fn update_keys(
    conn: &Connection,
    keys: &[PackageKey],
    policy: &MatchPolicy,
) -> Result<FindingsDelta, StoreError> {
    // Whether each release has images, looked up once per release: an index probe, where
    // listing every image's release costs a walk over the whole images index.
    let mut has_images: HashMap<(&str, &str), bool> = HashMap::new();
    let mut relevant: Vec<&PackageKey> = Vec::new();
    for k in keys {
        let release = (k.distro.as_str(), k.release.as_str());
        let yes = match has_images.get(&release) {
            Some(&yes) => yes,
            None => {
                let yes = release_has_images(conn, release.0, release.1)?;
                has_images.insert(release, yes);
                yes
            }
        };
        if yes {
            relevant.push(k);
        }
    }
    if relevant.len() > LARGE_UPDATE_KEYS {
        let n = rebuild_all(conn, policy)?;
        tracing::info!(n_keys = relevant.len(), n_findings = n, "large update: findings recomputed as a new baseline");
        return Ok(FindingsDelta { rebaselined: true, ..FindingsDelta::default() });
    }
    let mut delta = FindingsDelta::default();
    let mut delete = conn
        .prepare_cached("DELETE FROM state_findings WHERE state_id = ?1 AND affected_id = ?2")
        .map_err(sql("updating findings"))?;
    for key in relevant {
        let old = stored_for_key(conn, &key.distro, &key.release, &key.package)?;
        let entries = entries_for_key(conn, &key.distro, &key.release, &key.package)?;
        let states = if entries.is_empty() {
            Vec::new()
        } else {
            states_for_key(conn, &key.distro, &key.release, &key.package)?
        };
        let new: Vec<Row> = states.iter().flat_map(|s| matches(s, entries.iter(), policy)).collect();
        if old.is_empty() && new.is_empty() {
            continue;
        }
        for r in &old {
            delete.execute(params![r.state_id, r.affected_id]).map_err(sql("updating findings"))?;
        }
        insert_rows(conn, &new)?;
        let (added, resolved) = diff(&old, &new);
        delta.added.extend(count_added(conn, &added, &states)?);
        delta.resolved.extend(describe_resolved(conn, &resolved, &states)?);
    }
    Ok(delta)
}

/// The state of an installed package in an image of `distro`/`release` (created when no image
/// had it before). Returns its id and whether it is new.
pub(super) fn state_id(conn: &Connection, distro: &str, release: &str, p: &Package) -> Result<(i64, bool), StoreError> {
    let module = p.module.as_deref().unwrap_or("");
    let values =
        params![distro, release, p.name, p.version, p.source_name, p.source_version, p.ecosystem.as_str(), module];
    let found = conn
        .prepare_cached(
            "SELECT id FROM package_states WHERE distro = ?1 AND release = ?2 AND name = ?3 AND version = ?4
               AND source_name = ?5 AND source_version = ?6 AND ecosystem = ?7 AND module = ?8",
        )
        .and_then(|mut s| s.query_row(values, |r| r.get(0)).optional())
        .map_err(sql("recording package states"))?;
    if let Some(id) = found {
        return Ok((id, false));
    }
    conn.prepare_cached(
        "INSERT INTO package_states (distro, release, name, version, source_name, source_version, ecosystem, module)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| s.execute(values))
    .map_err(sql("recording package states"))?;
    Ok((conn.last_insert_rowid(), true))
}

/// Matches package states no image had before against every entry of their release.
pub(super) fn correlate_states(
    conn: &Connection,
    distro: &str,
    release: &str,
    state_ids: &[i64],
    policy: &MatchPolicy,
) -> Result<usize, StoreError> {
    if release.is_empty() || state_ids.is_empty() {
        return Ok(0);
    }
    let mut by_name: HashMap<String, Vec<Entry>> = HashMap::new();
    let mut rows = Vec::new();
    let mut read = conn
        .prepare_cached(&format!("SELECT {STATE_COLUMNS} FROM package_states s WHERE s.id = ?1"))
        .map_err(sql("correlating package states"))?;
    for &id in state_ids {
        let state = read.query_row([id], state_from_row).map_err(sql("correlating package states"))?;
        for name in [&state.source_name, &state.name] {
            if !by_name.contains_key(name.as_str()) {
                by_name.insert(name.clone(), entries_for_key(conn, distro, release, name)?);
            }
        }
        let binary = (state.name != state.source_name).then(|| &by_name[state.name.as_str()]);
        let entries = by_name[state.source_name.as_str()].iter().chain(binary.into_iter().flatten());
        rows.extend(matches(&state, entries, policy));
    }
    insert_rows(conn, &rows)?;
    Ok(rows.len())
}

/// Removes states no package points at any more, with their findings.
pub(super) fn drop_orphan_states(conn: &Connection, candidates: &[i64]) -> Result<(), StoreError> {
    let doing = "removing unused package states";
    let mut unused =
        conn.prepare_cached("SELECT NOT EXISTS (SELECT 1 FROM packages WHERE state_id = ?1)").map_err(sql(doing))?;
    for id in candidates {
        if unused.query_row([id], |r| r.get::<_, bool>(0)).map_err(sql(doing))? {
            conn.prepare_cached("DELETE FROM state_findings WHERE state_id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(sql(doing))?;
            conn.prepare_cached("DELETE FROM package_states WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(sql(doing))?;
        }
    }
    Ok(())
}

/// A finding of an image keyed by (binary name, arch), with the change it would report.
pub(super) type ImageFinding = ((String, String), FindingChange);

/// Entries of one release by package name.
type EntriesByName = HashMap<String, Vec<Entry>>;

/// The findings of an image identified across rescans (package ids change with each save):
/// (binary name, arch, feed, advisory) with the change it would report.
pub(super) fn image_changes(conn: &Connection, image_id: i64) -> Result<Vec<ImageFinding>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT i.reference, i.platform, p.name, p.version, p.source_name, f.feed, f.advisory_id, f.status,
                    f.fixed_version, p.arch
             FROM packages p JOIN state_findings f ON f.state_id = p.state_id JOIN images i ON i.id = p.image_id
             WHERE p.image_id = ?1",
        )
        .map_err(sql("reading an image's findings"))?;
    let rows = stmt
        .query_map([image_id], |r| {
            let change = FindingChange {
                image: r.get(0)?,
                platform: r.get(1)?,
                package: r.get(2)?,
                version: r.get(3)?,
                source_name: r.get(4)?,
                feed: r.get(5)?,
                advisory_id: r.get(6)?,
                status: r.get(7)?,
                fixed_version: r.get(8)?,
            };
            let arch: String = r.get(9)?;
            Ok(((change.package.clone(), arch), change))
        })
        .map_err(sql("reading an image's findings"))?;
    rows.collect::<Result<_, _>>().map_err(sql("reading an image's findings"))
}

/// Added and resolved between an image's findings before and after a rescan.
pub(super) fn diff_image(old: Vec<ImageFinding>, new: Vec<ImageFinding>) -> FindingsDelta {
    fn id(k: &(String, String), c: &FindingChange) -> (String, String, String, String) {
        (k.0.clone(), k.1.clone(), c.feed.clone(), c.advisory_id.clone())
    }
    let old_ids: HashSet<_> = old.iter().map(|(k, c)| id(k, c)).collect();
    let new_ids: HashSet<_> = new.iter().map(|(k, c)| id(k, c)).collect();
    let mut delta = FindingsDelta::default();
    // Added findings are per package (one image: a package held for two architectures is
    // one); resolved ones per package and architecture.
    let mut seen = HashSet::new();
    for (k, c) in new {
        if !old_ids.contains(&id(&k, &c)) && seen.insert((k.0, c.feed.clone(), c.advisory_id.clone())) {
            delta.added.push(AddedFindings::new(c, 1));
        }
    }
    let mut seen = HashSet::new();
    for (k, c) in old {
        let i = id(&k, &c);
        if !new_ids.contains(&i) && seen.insert(i) {
            delta.resolved.push(c);
        }
    }
    delta
}

/// Indexes dropped while a full rebuild inserts, and recreated after.
const REBUILD_INDEXES: &[(&str, &str)] = &[
    ("state_findings_by_advisory", "CREATE INDEX state_findings_by_advisory ON state_findings (advisory_id)"),
    ("state_findings_by_key", "CREATE INDEX state_findings_by_key ON state_findings (key_package)"),
];

/// Recomputes every finding from scratch (and drops states no package uses). Returns how
/// many state findings there are.
pub(super) fn rebuild_all(conn: &Connection, policy: &MatchPolicy) -> Result<u64, StoreError> {
    let started = std::time::Instant::now();
    let doing = "rebuilding findings";
    let releases = image_releases(conn)?;
    for (name, _) in REBUILD_INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}")).map_err(sql(doing))?;
    }
    conn.execute("DELETE FROM state_findings", []).map_err(sql(doing))?;
    conn.execute(
        "DELETE FROM package_states WHERE NOT EXISTS (SELECT 1 FROM packages p WHERE p.state_id = package_states.id)",
        [],
    )
    .map_err(sql(doing))?;
    let deleted_at = std::time::Instant::now();
    // Every entry that can affect something, for releases that have images, by package name.
    let mut by_release: HashMap<(String, String), EntriesByName> = HashMap::new();
    {
        let mut stmt = conn
            .prepare(&format!("SELECT distro, release, {ENTRY_COLUMNS} FROM affected WHERE {AFFECTING}"))
            .map_err(sql(doing))?;
        let mut rows = stmt.query([]).map_err(sql(doing))?;
        while let Some(r) = rows.next().map_err(sql(doing))? {
            let release_key: (String, String) = (r.get(0).map_err(sql(doing))?, r.get(1).map_err(sql(doing))?);
            if !releases.contains(&release_key) {
                continue;
            }
            let entry = entry_from_row(r, 2).map_err(sql(doing))?;
            by_release.entry(release_key).or_default().entry(entry.package.clone()).or_default().push(entry);
        }
    }
    let loaded_at = std::time::Instant::now();
    let mut n = 0u64;
    {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {STATE_COLUMNS}, s.distro, s.release FROM package_states s ORDER BY s.distro, s.release"
            ))
            .map_err(sql(doing))?;
        let mut rows = stmt.query([]).map_err(sql(doing))?;
        let mut batch = Vec::new();
        let mut current: Option<((String, String), Option<&EntriesByName>)> = None;
        while let Some(r) = rows.next().map_err(sql(doing))? {
            let distro: String = r.get(7).map_err(sql(doing))?;
            let release: String = r.get(8).map_err(sql(doing))?;
            if current.as_ref().is_none_or(|(k, _)| k.0 != distro || k.1 != release) {
                let key = (distro, release);
                let entries = by_release.get(&key);
                current = Some((key, entries));
            }
            let Some((_, Some(entries))) = &current else { continue };
            let state = state_from_row(r).map_err(sql(doing))?;
            let source = entries.get(state.source_name.as_str());
            let binary = if state.name != state.source_name { entries.get(state.name.as_str()) } else { None };
            batch.extend(matches(&state, source.into_iter().flatten().chain(binary.into_iter().flatten()), policy));
            if batch.len() >= 4096 {
                n += flush_sorted(conn, &mut batch)?;
            }
        }
        n += flush_sorted(conn, &mut batch)?;
    }
    let matched_at = std::time::Instant::now();
    for (_, create) in REBUILD_INDEXES {
        conn.execute_batch(create).map_err(sql(doing))?;
    }
    tracing::debug!(
        n_findings = n,
        delete_ms = (deleted_at - started).as_millis() as u64,
        load_ms = (loaded_at - deleted_at).as_millis() as u64,
        match_and_insert_ms = (matched_at - loaded_at).as_millis() as u64,
        index_ms = matched_at.elapsed().as_millis() as u64,
        "findings rebuilt"
    );
    Ok(n)
}

/// Inserts rows in key order and empties the batch.
fn flush_sorted(conn: &Connection, batch: &mut Vec<Row>) -> Result<u64, StoreError> {
    batch.sort_unstable_by_key(|r| (r.state_id, r.affected_id));
    insert_rows(conn, batch)?;
    let n = batch.len() as u64;
    batch.clear();
    Ok(n)
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path` for writing with the
    /// given matching policy: what every writer (CLI commands, the API, the feed scheduler)
    /// opens, so that all of them keep the findings by the same rules.
    pub fn open_with_policy(path: &std::path::Path, policy: MatchPolicy) -> Result<Store, StoreError> {
        let mut store = Store::open(path)?;
        store.set_match_policy(policy)?;
        Ok(store)
    }

    /// Sets the matching policy. When the stored findings were computed with another policy
    /// (or never computed, as after the upgrade that introduced them), rebuilds them all.
    /// Returns whether a rebuild ran.
    pub fn set_match_policy(&mut self, policy: MatchPolicy) -> Result<bool, StoreError> {
        self.policy = policy;
        let stored: Option<String> = self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [POLICY_KEY], |r| r.get(0))
            .optional()
            .map_err(sql("reading the match policy"))?;
        if stored.as_deref() == Some(policy.fingerprint().as_str()) {
            return Ok(false);
        }
        let n = self.rebuild_findings()?;
        tracing::info!(n_findings = n, policy = %policy.fingerprint(), "findings rebuilt for the match policy");
        Ok(true)
    }

    /// Recomputes every finding with the current policy, in one transaction. Returns the
    /// number of findings per package state.
    pub fn rebuild_findings(&mut self) -> Result<u64, StoreError> {
        // Like an ingest, a bigger page cache keeps the rebuild from spilling pages into the WAL
        // before it commits.
        self.conn.execute_batch(REBUILD_CACHE_PRAGMA).map_err(sql("rebuilding findings"))?;
        let result = self.rebuild_in_transaction();
        self.conn.execute_batch(super::CACHE_PRAGMA).map_err(sql("rebuilding findings"))?;
        result
    }

    fn rebuild_in_transaction(&mut self) -> Result<u64, StoreError> {
        let policy = self.policy;
        let tx = self.conn.transaction().map_err(sql("rebuilding findings"))?;
        let n = rebuild_all(&tx, &policy)?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![POLICY_KEY, policy.fingerprint()],
        )
        .map_err(sql("recording the match policy"))?;
        tx.commit().map_err(sql("rebuilding findings"))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::{Advisory, Affected, ChangeSet};
    use crate::feeds::formats::ParseSummary;
    use crate::images::digest::Digest;
    use crate::images::manifest::{ImageConfig, Platform};
    use crate::images::ResolvedImage;
    use crate::inventory::os::OsRelease;
    use crate::inventory::{InstalledPackage, Inventory, Package};
    use crate::store::{IngestMeta, IngestScope, SourceKind};

    fn image(reference: &str) -> ResolvedImage {
        ResolvedImage {
            reference: reference.into(),
            index_digest: None,
            manifest_digest: Digest::sha256_of(reference.as_bytes()),
            platform: Platform::parse("linux/amd64").unwrap(),
            config_digest: Digest::sha256_of(b"config"),
            config: ImageConfig::default(),
            layers: vec![],
            annotations: Default::default(),
        }
    }

    fn inventory(release: &str, packages: &[(&str, &str, &str, &str)]) -> Inventory {
        Inventory {
            os: Some(OsRelease {
                distro: "debian".into(),
                release: release.into(),
                codename: None,
                pretty_name: None,
                source_file: "etc/os-release".into(),
            }),
            packages: packages
                .iter()
                .map(|(name, version, source, source_version)| InstalledPackage {
                    package: Package {
                        name: name.to_string(),
                        version: version.to_string(),
                        arch: "amd64".into(),
                        source_name: source.to_string(),
                        source_version: source_version.to_string(),
                        ecosystem: Ecosystem::Dpkg,
                        module: None,
                    },
                    layer: Digest::sha256_of(b"layer"),
                })
                .collect(),
            warnings: vec![],
        }
    }

    fn entry(package: &str, status: Status, fixed: Option<&str>) -> Affected {
        Affected {
            distro: "debian".into(),
            release: "12".into(),
            package: package.into(),
            kind: PackageKind::Source,
            status,
            fixed_version: fixed.map(str::to_string),
            scheme: Ecosystem::Dpkg,
            module: None,
        }
    }

    fn ingest(store: &mut Store, advisories: Vec<Advisory>) -> ChangeSet {
        let meta = IngestMeta {
            feed: "tracker",
            format: "test",
            source: SourceKind::Feed,
            scope: IngestScope::WholeFeed,
            url: None,
            document_url: None,
            fetched_at: "2026-12-03T00:00:00Z",
            etag: None,
            last_modified: None,
        };
        store
            .ingest(&meta, |sink| {
                for a in advisories {
                    sink(a);
                }
                Ok(ParseSummary::default())
            })
            .unwrap()
    }

    fn advisory(id: &str, entries: Vec<Affected>) -> Advisory {
        Advisory { affected: entries, ..Advisory::new(id) }
    }

    fn names(changes: &[FindingChange]) -> Vec<String> {
        let mut out: Vec<String> =
            changes.iter().map(|c| format!("{} {} {}", c.image, c.package, c.advisory_id)).collect();
        out.sort();
        out
    }

    fn added(added: &[AddedFindings]) -> Vec<String> {
        let mut out: Vec<String> =
            added.iter().map(|a| format!("{} {} {} in {}", a.package, a.version, a.advisory_id, a.n_images)).collect();
        out.sort();
        out
    }

    fn all_rows(store: &Store) -> Vec<(i64, i64, String, String, Option<String>)> {
        let mut stmt = store
            .conn
            .prepare(
                "SELECT package_id, affected_id, advisory_id, status, fixed_version FROM findings
                 ORDER BY package_id, affected_id",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    const BASE: &[(&str, &str, &str, &str)] = &[
        ("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2"),
        ("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1"),
        ("linux-libc-dev", "6.1.76-1", "linux", "6.1.76-1"),
    ];

    #[test]
    fn ingests_and_scans_keep_findings_current_and_report_deltas() {
        let mut store = Store::open_in_memory().unwrap();
        store.set_match_policy(MatchPolicy::default()).unwrap();
        let saved = store.save_inventory(&image("base:12"), &inventory("12", BASE)).unwrap();
        assert!(saved.findings.is_empty());
        store.save_inventory(&image("old:11"), &inventory("11", BASE)).unwrap();
        // A second image of release 12 holding libssl3 only: the same package state as base's.
        store.save_inventory(&image("tls:12"), &inventory("12", &BASE[..1])).unwrap();

        let first = vec![
            advisory("CVE-2024-0001", vec![entry("openssl", Status::Fixed, Some("3.0.13-1~deb12u1"))]),
            advisory("CVE-2024-0002", vec![entry("zlib", Status::Unfixed, None)]),
            advisory("CVE-2024-0003", vec![entry("zlib", Status::NotAffected, None)]),
            advisory("CVE-2024-0004", vec![entry("linux", Status::Unfixed, None)]),
        ];
        let changes = ingest(&mut store, first.clone());
        // libssl3 is found through its source, in both release-12 images (one state); the
        // release-11 image is not matched by 12's data; not-affected and kernel-header entries
        // give nothing.
        assert_eq!(
            added(&changes.findings.added),
            ["libssl3 3.0.11-1~deb12u2 CVE-2024-0001 in 2", "zlib1g 1:1.2.13.dfsg-1 CVE-2024-0002 in 1"]
        );
        assert!(changes.findings.resolved.is_empty());

        // The same document again changes nothing.
        assert!(ingest(&mut store, first).findings.is_empty());

        // The fix moves below the installed version, zlib's advisory is withdrawn.
        let second = vec![
            advisory("CVE-2024-0001", vec![entry("openssl", Status::Fixed, Some("3.0.11-1~deb12u1"))]),
            advisory("CVE-2024-0003", vec![entry("zlib", Status::NotAffected, None)]),
            advisory("CVE-2024-0004", vec![entry("linux", Status::Unfixed, None)]),
            advisory("CVE-2024-0005", vec![entry("openssl", Status::Unfixed, None)]),
        ];
        let changes = ingest(&mut store, second);
        assert_eq!(added(&changes.findings.added), ["libssl3 3.0.11-1~deb12u2 CVE-2024-0005 in 2"]);
        assert_eq!(
            names(&changes.findings.resolved),
            ["base:12 libssl3 CVE-2024-0001", "base:12 zlib1g CVE-2024-0002", "tls:12 libssl3 CVE-2024-0001"]
        );

        // A rescan with an upgraded libssl3 resolves the unfixed one only if its version moved
        // past a fix; an unfixed advisory stays. A new image is matched on its own.
        let rescan = store.save_inventory(&image("base:12"), &inventory("12", BASE)).unwrap();
        assert!(rescan.findings.is_empty(), "{rescan:?}");
        let app = store.save_inventory(&image("app:1"), &inventory("12", &BASE[..1])).unwrap();
        assert_eq!(added(&app.findings.added), ["libssl3 3.0.11-1~deb12u2 CVE-2024-0005 in 1"]);
        let gone = store.save_inventory(&image("app:1"), &inventory("12", &BASE[1..2])).unwrap();
        assert_eq!(names(&gone.findings.resolved), ["app:1 libssl3 CVE-2024-0005"]);
        assert!(gone.findings.added.is_empty());
    }

    #[test]
    fn full_rebuild_equals_incremental_updates_and_follows_the_policy() {
        let mut store = Store::open_in_memory().unwrap();
        store.set_match_policy(MatchPolicy::default()).unwrap();
        store.save_inventory(&image("base:12"), &inventory("12", BASE)).unwrap();
        ingest(
            &mut store,
            vec![
                advisory("CVE-2024-0001", vec![entry("openssl", Status::Fixed, Some("3.0.13-1~deb12u1"))]),
                advisory("CVE-2024-0004", vec![entry("linux", Status::Unfixed, None)]),
            ],
        );
        store.save_inventory(&image("app:1"), &inventory("12", BASE)).unwrap();
        let incremental = all_rows(&store);
        assert_eq!(incremental.len(), 2);
        // Both images hold the same packages: one finding per package state.
        assert_eq!(store.rebuild_findings().unwrap(), 1);
        assert_eq!(all_rows(&store), incremental);

        // Same policy: no rebuild. Kernel headers on: rebuilt, linux-libc-dev now matched.
        assert!(!store.set_match_policy(MatchPolicy::default()).unwrap());
        assert!(store.set_match_policy(MatchPolicy { match_kernel_headers: true }).unwrap());
        assert_eq!(all_rows(&store).len(), 4);
    }

    #[test]
    fn keys_of_releases_without_images_do_not_make_an_update_large() {
        let mut store = Store::open_in_memory().unwrap();
        store.set_match_policy(MatchPolicy::default()).unwrap();
        store.save_inventory(&image("base:12"), &inventory("12", BASE)).unwrap();
        // More keys than the threshold, all for a release no image is of, and one that matters.
        let mut entries: Vec<Affected> = (0..=LARGE_UPDATE_KEYS)
            .map(|i| Affected { release: "11".into(), ..entry(&format!("pkg{i}"), Status::Unfixed, None) })
            .collect();
        entries.push(entry("openssl", Status::Fixed, Some("3.0.13-1~deb12u1")));
        let changes = ingest(&mut store, vec![advisory("CVE-2024-0009", entries)]);
        assert!(!changes.findings.rebaselined);
        assert_eq!(added(&changes.findings.added), ["libssl3 3.0.11-1~deb12u2 CVE-2024-0009 in 1"]);
        assert!(release_has_images(&store.conn, "debian", "12").unwrap());
        assert!(!release_has_images(&store.conn, "debian", "11").unwrap());
        assert!(!release_has_images(&store.conn, "debian", "").unwrap());
    }
}
