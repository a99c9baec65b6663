//! Watch and rebuild records: watched tags and their digests, what the graph needs to know
//! about indexed images, rebuild causes and requests, and fix installability. SQL only; the
//! decisions are made in `actions::plan`, the orchestration in `watch`.

use rusqlite::{params, OptionalExtension, Transaction};

use super::{notifications, sql, Store, StoreError};
use crate::graph::{Edge, EdgeSource, GraphNode};

/// One watched tag's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchedTag {
    pub reference: String,
    pub digest: Option<String>,
    pub changed_at: Option<i64>,
    pub indexed_digest: Option<String>,
    pub polled_at: Option<i64>,
    pub hinted_at: Option<i64>,
    pub n_failures: i64,
    pub last_error: Option<String>,
}

/// What a poll of one tag found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollResult {
    /// The digest the tag names (None: the registry says the tag does not exist).
    Digest(Option<String>),
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RebuildStatus {
    /// Recorded, not yet accepted by the receiver (first attempt or a retry is due).
    Pending,
    /// The receiver accepted it; waiting for a new digest of the image.
    Requested,
    /// The image's new digest was seen.
    Confirmed,
    /// The receiver refused it, or every attempt failed.
    Failed,
    /// Accepted, but no new digest appeared within the rebuild timeout.
    TimedOut,
}

impl RebuildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RebuildStatus::Pending => "pending",
            RebuildStatus::Requested => "requested",
            RebuildStatus::Confirmed => "confirmed",
            RebuildStatus::Failed => "failed",
            RebuildStatus::TimedOut => "timed-out",
        }
    }

    pub fn parse(s: &str) -> Option<RebuildStatus> {
        Some(match s {
            "pending" => RebuildStatus::Pending,
            "requested" => RebuildStatus::Requested,
            "confirmed" => RebuildStatus::Confirmed,
            "failed" => RebuildStatus::Failed,
            "timed-out" => RebuildStatus::TimedOut,
            _ => return None,
        })
    }

    /// Pending or requested: the image has a rebuild in flight.
    pub fn is_open(self) -> bool {
        matches!(self, RebuildStatus::Pending | RebuildStatus::Requested)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CauseKind {
    ParentDigestChanged,
    AdvisoryFixInstallable,
}

impl CauseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::ParentDigestChanged => "parent-digest-changed",
            CauseKind::AdvisoryFixInstallable => "advisory-fix-installable",
        }
    }

    fn parse(s: &str) -> Option<CauseKind> {
        match s {
            "parent-digest-changed" => Some(CauseKind::ParentDigestChanged),
            "advisory-fix-installable" => Some(CauseKind::AdvisoryFixInstallable),
            _ => None,
        }
    }
}

/// Why an image is (to be) rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub image: String,
    /// `parent:<parent>@<digest>` or `advisory:<id>`: the same key never acts twice.
    pub key: String,
    pub kind: CauseKind,
    pub advisory_id: Option<String>,
    pub severity: Option<String>,
    /// JSON: parent digests, or package and versions.
    pub detail: String,
    pub observed_at: i64,
    pub rebuild_id: Option<i64>,
}

/// One rebuild request and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildRecord {
    pub id: i64,
    pub image: String,
    pub parent: Option<String>,
    pub old_parent_digest: Option<String>,
    pub new_parent_digest: Option<String>,
    pub old_digest: Option<String>,
    pub new_digest: Option<String>,
    pub trigger: String,
    pub status: RebuildStatus,
    pub n_attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub requested_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub response: Option<String>,
    pub error: Option<String>,
    pub causes: Vec<Cause>,
}

/// A new rebuild, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRebuild {
    pub image: String,
    pub parent: Option<String>,
    pub old_parent_digest: Option<String>,
    pub new_parent_digest: Option<String>,
    pub old_digest: Option<String>,
    pub trigger: String,
    pub created_at: i64,
    /// Keys of the waiting causes it acts on.
    pub cause_keys: Vec<String>,
}

/// The outcome of one delivery attempt, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Accepted {
        response: String,
    },
    /// Retry at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: i64,
    },
    Failed {
        error: String,
    },
}

/// A finding of an image that names a fixed version: a candidate advisory cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixCandidate {
    pub feed: String,
    pub advisory_id: String,
    pub severity: Option<String>,
    pub distro: String,
    pub release: String,
    /// The advisory's package (a source name for Debian, Ubuntu and Alpine).
    pub package: String,
    pub fixed_version: String,
    pub installed_version: String,
}

/// Whether a fixed version is in the configured package indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixAvailability {
    pub distro: String,
    pub release: String,
    pub package: String,
    pub fixed_version: String,
    /// `installable`, `not-yet` or `unknown`.
    pub state: String,
    pub available_version: Option<String>,
    pub reason: Option<String>,
}

const REBUILD_COLUMNS: &str = "id, image, parent, old_parent_digest, new_parent_digest, old_digest, new_digest,
     trigger, status, n_attempts, next_attempt_at, created_at, requested_at, finished_at, response, error";

fn rebuild_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RebuildRecord> {
    let status: String = r.get(8)?;
    Ok(RebuildRecord {
        id: r.get(0)?,
        image: r.get(1)?,
        parent: r.get(2)?,
        old_parent_digest: r.get(3)?,
        new_parent_digest: r.get(4)?,
        old_digest: r.get(5)?,
        new_digest: r.get(6)?,
        trigger: r.get(7)?,
        status: RebuildStatus::parse(&status).unwrap_or(RebuildStatus::Failed),
        n_attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        created_at: r.get(11)?,
        requested_at: r.get(12)?,
        finished_at: r.get(13)?,
        response: r.get(14)?,
        error: r.get(15)?,
        causes: Vec::new(),
    })
}

fn cause_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Cause> {
    let kind: String = r.get(2)?;
    Ok(Cause {
        image: r.get(0)?,
        key: r.get(1)?,
        kind: CauseKind::parse(&kind).unwrap_or(CauseKind::ParentDigestChanged),
        advisory_id: r.get(3)?,
        severity: r.get(4)?,
        detail: r.get(5)?,
        observed_at: r.get(6)?,
        rebuild_id: r.get(7)?,
    })
}

const CAUSE_COLUMNS: &str = "image, cause_key, kind, advisory_id, severity, detail, observed_at, rebuild_id";

impl Store {
    /// Makes the watched tags exactly `references`: new ones are added (never polled yet),
    /// ones no longer configured are forgotten. Rebuild records are kept.
    pub fn set_watched(&mut self, references: &[String]) -> Result<(), StoreError> {
        let doing = "updating the watched tags";
        let tx = self.conn.transaction().map_err(sql(doing))?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS wanted_tags (reference TEXT PRIMARY KEY); DELETE FROM wanted_tags;",
        )
        .map_err(sql(doing))?;
        {
            let mut insert =
                tx.prepare("INSERT OR IGNORE INTO wanted_tags (reference) VALUES (?1)").map_err(sql(doing))?;
            let mut watch =
                tx.prepare("INSERT OR IGNORE INTO watched_tags (reference) VALUES (?1)").map_err(sql(doing))?;
            for reference in references {
                insert.execute([reference]).map_err(sql(doing))?;
                watch.execute([reference]).map_err(sql(doing))?;
            }
        }
        tx.execute("DELETE FROM watched_tags WHERE reference NOT IN (SELECT reference FROM wanted_tags)", [])
            .map_err(sql(doing))?;
        tx.commit().map_err(sql(doing))
    }

    pub fn watched_tags(&self) -> Result<Vec<WatchedTag>, StoreError> {
        let doing = "reading the watched tags";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT reference, digest, changed_at, indexed_digest, polled_at, hinted_at, n_failures, last_error
                 FROM watched_tags ORDER BY reference",
            )
            .map_err(sql(doing))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(WatchedTag {
                    reference: r.get(0)?,
                    digest: r.get(1)?,
                    changed_at: r.get(2)?,
                    indexed_digest: r.get(3)?,
                    polled_at: r.get(4)?,
                    hinted_at: r.get(5)?,
                    n_failures: r.get(6)?,
                    last_error: r.get(7)?,
                })
            })
            .map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// Records a poll round's results in one transaction. A changed digest restarts the
    /// settle clock; a failure keeps the last known digest.
    pub fn record_polls(&mut self, results: &[(String, PollResult)], now: i64) -> Result<(), StoreError> {
        let doing = "recording poll results";
        let tx = self.conn.transaction().map_err(sql(doing))?;
        {
            let mut seen = tx
                .prepare_cached(
                    "UPDATE watched_tags SET
                         changed_at = CASE WHEN digest IS ?2 THEN changed_at ELSE ?3 END,
                         digest = ?2, polled_at = ?3, hinted_at = NULL, n_failures = 0, last_error = NULL
                     WHERE reference = ?1",
                )
                .map_err(sql(doing))?;
            let mut failed = tx
                .prepare_cached(
                    "UPDATE watched_tags SET polled_at = ?3, n_failures = n_failures + 1, last_error = ?2
                     WHERE reference = ?1",
                )
                .map_err(sql(doing))?;
            for (reference, result) in results {
                match result {
                    PollResult::Digest(digest) => seen.execute(params![reference, digest, now]),
                    PollResult::Failed(error) => failed.execute(params![reference, error, now]),
                }
                .map_err(sql(doing))?;
            }
        }
        tx.commit().map_err(sql(doing))
    }

    /// Records that the stored inventory of `reference` was read from `digest`.
    pub fn mark_indexed(&self, reference: &str, digest: &str) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE watched_tags SET indexed_digest = ?2 WHERE reference = ?1", params![reference, digest])
            .map(|_| ())
            .map_err(sql("recording an indexed digest"))
    }

    /// A registry event names `repository` (with `tag` when it has one) on `host`: the
    /// matching watched tags are polled first in the next round. Returns how many matched.
    pub fn hint_watched(&self, host: &str, repository: &str, tag: Option<&str>, now: i64) -> Result<usize, StoreError> {
        let doing = "recording a registry event";
        let prefix = format!("{host}/{repository}:");
        match tag {
            Some(tag) => self.conn.execute(
                "UPDATE watched_tags SET hinted_at = ?2 WHERE reference = ?1",
                params![format!("{prefix}{tag}"), now],
            ),
            None => {
                let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
                self.conn.execute(
                    "UPDATE watched_tags SET hinted_at = ?2 WHERE reference LIKE ?1 ESCAPE '\\'",
                    params![pattern, now],
                )
            }
        }
        .map_err(sql(doing))
    }

    /// What the graph needs about every indexed image: one node per reference, for the
    /// platform `platform` when the image has it, else its first platform.
    pub fn graph_nodes(&self, platform: &str) -> Result<Vec<GraphNode>, StoreError> {
        let doing = "reading the image graph";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.reference, i.platform, i.manifest_digest, i.index_digest, i.base_name, i.base_digest,
                        (SELECT group_concat(digest, ' ') FROM
                           (SELECT l.digest FROM image_layers l WHERE l.image_id = i.id ORDER BY l.position))
                 FROM images i ORDER BY i.reference, i.platform != ?1, i.platform",
            )
            .map_err(sql(doing))?;
        let rows = stmt
            .query_map([platform], |r| {
                let layers: Option<String> = r.get(6)?;
                Ok(GraphNode {
                    reference: r.get(0)?,
                    manifest_digest: r.get(2)?,
                    index_digest: r.get(3)?,
                    layers: layers.map(|l| l.split(' ').map(str::to_string).collect()).unwrap_or_default(),
                    base_name: r.get(4)?,
                    base_digest: r.get(5)?,
                })
            })
            .map_err(sql(doing))?;
        let mut nodes: Vec<GraphNode> = Vec::new();
        for row in rows {
            let node = row.map_err(sql(doing))?;
            // Sorted by reference with the wanted platform first: keep the first of each.
            if nodes.last().is_none_or(|last| last.reference != node.reference) {
                nodes.push(node);
            }
        }
        Ok(nodes)
    }

    /// The parents the graph found before (see `graph::build`).
    pub fn remembered_edges(&self) -> Result<Vec<Edge>, StoreError> {
        let doing = "reading remembered graph edges";
        let mut stmt =
            self.conn.prepare("SELECT child, parent, source FROM image_edges ORDER BY child").map_err(sql(doing))?;
        let rows = stmt
            .query_map([], |r| {
                let source: String = r.get(2)?;
                Ok(Edge {
                    child: r.get(0)?,
                    parent: r.get(1)?,
                    source: match source.as_str() {
                        "config" => EdgeSource::Config,
                        "annotation" => EdgeSource::Annotation,
                        _ => EdgeSource::Inferred,
                    },
                })
            })
            .map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// Remembers the current graph's edges (replacing an image's previous parent).
    pub fn remember_edges(&mut self, edges: &[Edge], now: i64) -> Result<(), StoreError> {
        let doing = "remembering graph edges";
        let tx = self.conn.transaction().map_err(sql(doing))?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO image_edges (child, parent, source, seen_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (child) DO UPDATE SET parent = excluded.parent, source = excluded.source,
                                                       seen_at = excluded.seen_at",
                )
                .map_err(sql(doing))?;
            for e in edges {
                upsert.execute(params![e.child, e.parent, e.source.as_str(), now]).map_err(sql(doing))?;
            }
        }
        tx.commit().map_err(sql(doing))
    }

    /// Findings of the image `reference` (any platform) that name a fixed version.
    pub fn fix_candidates(&self, reference: &str) -> Result<Vec<FixCandidate>, StoreError> {
        let doing = "reading fixable findings";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT f.feed, f.advisory_id, a.severity, i.distro, i.release, f.key_package,
                        f.fixed_version, CASE WHEN p.ecosystem = 'rpm' THEN p.version ELSE p.source_version END
                 FROM images i
                 JOIN packages p ON p.image_id = i.id
                 JOIN state_findings f ON f.state_id = p.state_id
                 LEFT JOIN advisories a ON a.feed = f.feed AND a.id = f.advisory_id
                 WHERE i.reference = ?1 AND f.fixed_version IS NOT NULL
                 ORDER BY f.advisory_id, f.key_package",
            )
            .map_err(sql(doing))?;
        let rows = stmt
            .query_map([reference], |r| {
                Ok(FixCandidate {
                    feed: r.get(0)?,
                    advisory_id: r.get(1)?,
                    severity: r.get(2)?,
                    distro: r.get(3)?,
                    release: r.get(4)?,
                    package: r.get(5)?,
                    fixed_version: r.get(6)?,
                    installed_version: r.get(7)?,
                })
            })
            .map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// Stores what the mirrors said about fixed versions.
    pub fn record_fix_availability(&mut self, rows: &[FixAvailability], now: i64) -> Result<(), StoreError> {
        let doing = "recording fix availability";
        // One row per key (several images may wait for the same fix).
        let mut seen = std::collections::HashSet::new();
        let rows: Vec<&FixAvailability> = rows
            .iter()
            .filter(|a| {
                seen.insert((a.distro.as_str(), a.release.as_str(), a.package.as_str(), a.fixed_version.as_str()))
            })
            .collect();
        let tx = self.conn.transaction().map_err(sql(doing))?;
        {
            let mut previous = tx
                .prepare_cached(
                    "SELECT state FROM fix_availability
                     WHERE distro = ?1 AND release = ?2 AND package = ?3 AND fixed_version = ?4",
                )
                .map_err(sql(doing))?;
            for a in rows.iter().filter(|a| a.state == "installable") {
                let before: Option<String> = previous
                    .query_row(params![a.distro, a.release, a.package, a.fixed_version], |r| r.get(0))
                    .optional()
                    .map_err(sql(doing))?;
                // A fix first seen installable is part of the first announcement; one that
                // becomes installable later is news.
                if before.is_some_and(|b| b != "installable") {
                    notifications::record_fix_installable(
                        &tx,
                        &a.distro,
                        &a.release,
                        &a.package,
                        &a.fixed_version,
                        a.available_version.as_deref(),
                        now,
                    )?;
                }
            }
        }
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO fix_availability
                         (distro, release, package, fixed_version, state, available_version, reason, checked_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (distro, release, package, fixed_version) DO UPDATE SET
                         state = excluded.state, available_version = excluded.available_version,
                         reason = excluded.reason, checked_at = excluded.checked_at",
                )
                .map_err(sql(doing))?;
            for a in rows {
                upsert
                    .execute(params![
                        a.distro,
                        a.release,
                        a.package,
                        a.fixed_version,
                        a.state,
                        a.available_version,
                        a.reason,
                        now
                    ])
                    .map_err(sql(doing))?;
            }
        }
        tx.commit().map_err(sql(doing))
    }

    /// What was last recorded about one fixed version.
    pub fn fix_availability(
        &self,
        distro: &str,
        release: &str,
        package: &str,
        fixed_version: &str,
    ) -> Result<Option<FixAvailability>, StoreError> {
        self.conn
            .query_row(
                "SELECT state, available_version, reason FROM fix_availability
                 WHERE distro = ?1 AND release = ?2 AND package = ?3 AND fixed_version = ?4",
                params![distro, release, package, fixed_version],
                |r| {
                    Ok(FixAvailability {
                        distro: distro.to_string(),
                        release: release.to_string(),
                        package: package.to_string(),
                        fixed_version: fixed_version.to_string(),
                        state: r.get(0)?,
                        available_version: r.get(1)?,
                        reason: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(sql("reading fix availability"))
    }

    /// Records a cause unless its key was recorded before for the image. Returns whether it
    /// is new.
    pub fn record_cause(&self, cause: &Cause) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO rebuild_causes
                     (image, cause_key, kind, advisory_id, severity, detail, observed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    cause.image,
                    cause.key,
                    cause.kind.as_str(),
                    cause.advisory_id,
                    cause.severity,
                    cause.detail,
                    cause.observed_at
                ],
            )
            .map_err(sql("recording a rebuild cause"))?;
        Ok(n == 1)
    }

    /// Causes not yet acted on, by image.
    pub fn waiting_causes(&self) -> Result<Vec<Cause>, StoreError> {
        let doing = "reading waiting rebuild causes";
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {CAUSE_COLUMNS} FROM rebuild_causes WHERE rebuild_id IS NULL ORDER BY image, observed_at, cause_key"
            ))
            .map_err(sql(doing))?;
        let rows = stmt.query_map([], cause_row).map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// Creates a pending rebuild acting on the given waiting causes, in one transaction.
    pub fn create_rebuild(&mut self, new: &NewRebuild) -> Result<i64, StoreError> {
        let doing = "recording a rebuild";
        let tx = self.conn.transaction().map_err(sql(doing))?;
        tx.execute(
            "INSERT INTO rebuilds (image, parent, old_parent_digest, new_parent_digest, old_digest, trigger,
                                   status, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)",
            params![
                new.image,
                new.parent,
                new.old_parent_digest,
                new.new_parent_digest,
                new.old_digest,
                new.trigger,
                new.created_at
            ],
        )
        .map_err(sql(doing))?;
        let id = tx.last_insert_rowid();
        attach_causes(&tx, id, &new.image, &new.cause_keys)?;
        tx.commit().map_err(sql(doing))?;
        Ok(id)
    }

    /// Attaches waiting causes to a rebuild that has not been sent yet (duplicate causes
    /// within one window collapse into one rebuild).
    pub fn add_causes(&mut self, rebuild_id: i64, image: &str, cause_keys: &[String]) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(sql("adding rebuild causes"))?;
        attach_causes(&tx, rebuild_id, image, cause_keys)?;
        tx.commit().map_err(sql("adding rebuild causes"))
    }

    /// Rebuilds by id, newest first, with their causes; `image` filters, `limit` caps.
    pub fn rebuilds(&self, image: Option<&str>, limit: usize) -> Result<Vec<RebuildRecord>, StoreError> {
        let doing = "listing rebuilds";
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {REBUILD_COLUMNS} FROM rebuilds WHERE ?1 IS NULL OR image = ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(sql(doing))?;
        let rows =
            stmt.query_map(params![image, limit.min(i64::MAX as usize) as i64], rebuild_row).map_err(sql(doing))?;
        let mut records: Vec<RebuildRecord> = rows.collect::<Result<_, _>>().map_err(sql(doing))?;
        self.fill_causes(&mut records)?;
        Ok(records)
    }

    /// Rebuilds still in flight (pending or requested), oldest first.
    pub fn open_rebuilds(&self) -> Result<Vec<RebuildRecord>, StoreError> {
        let doing = "listing open rebuilds";
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {REBUILD_COLUMNS} FROM rebuilds WHERE status IN ('pending', 'requested') ORDER BY id"
            ))
            .map_err(sql(doing))?;
        let rows = stmt.query_map([], rebuild_row).map_err(sql(doing))?;
        let mut records: Vec<RebuildRecord> = rows.collect::<Result<_, _>>().map_err(sql(doing))?;
        self.fill_causes(&mut records)?;
        Ok(records)
    }

    /// Requests a finished rebuild (failed or timed out) again: a new pending rebuild takes
    /// over its causes. Returns the new rebuild's id, or None when `id` is not a failed or
    /// timed-out rebuild, or the image has a rebuild in flight.
    pub fn retry_rebuild(&mut self, id: i64, now: i64) -> Result<Option<i64>, StoreError> {
        let doing = "retrying a rebuild";
        let tx = self.conn.transaction().map_err(sql(doing))?;
        let inserted = tx
            .execute(
                "INSERT INTO rebuilds (image, parent, old_parent_digest, new_parent_digest, old_digest, trigger,
                                       status, created_at, next_attempt_at)
                 SELECT r.image, r.parent, r.old_parent_digest, r.new_parent_digest,
                        (SELECT w.digest FROM watched_tags w WHERE w.reference = r.image), r.trigger,
                        'pending', ?2, ?2
                 FROM rebuilds r
                 WHERE r.id = ?1 AND r.status IN ('failed', 'timed-out')
                   AND NOT EXISTS (SELECT 1 FROM rebuilds o WHERE o.image = r.image
                                   AND o.status IN ('pending', 'requested'))",
                params![id, now],
            )
            .map_err(sql(doing))?;
        if inserted == 0 {
            return Ok(None);
        }
        let new_id = tx.last_insert_rowid();
        tx.execute("UPDATE rebuild_causes SET rebuild_id = ?2 WHERE rebuild_id = ?1", params![id, new_id])
            .map_err(sql(doing))?;
        tx.commit().map_err(sql(doing))?;
        Ok(Some(new_id))
    }

    /// One rebuild by id, with its causes.
    pub fn rebuild(&self, id: i64) -> Result<Option<RebuildRecord>, StoreError> {
        let doing = "reading a rebuild";
        let record = self
            .conn
            .query_row(&format!("SELECT {REBUILD_COLUMNS} FROM rebuilds WHERE id = ?1"), [id], rebuild_row)
            .optional()
            .map_err(sql(doing))?;
        let mut records: Vec<RebuildRecord> = record.into_iter().collect();
        self.fill_causes(&mut records)?;
        Ok(records.pop())
    }

    /// `(image, status)` of the rebuilds an advisory caused, oldest first.
    pub fn rebuilds_for_advisory(&self, advisory_id: &str) -> Result<Vec<(String, RebuildStatus)>, StoreError> {
        let doing = "reading an advisory's rebuilds";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.image, r.status FROM rebuild_causes c JOIN rebuilds r ON r.id = c.rebuild_id
                 WHERE c.advisory_id = ?1 ORDER BY r.id",
            )
            .map_err(sql(doing))?;
        let rows = stmt
            .query_map([advisory_id], |r| {
                let status: String = r.get(1)?;
                Ok((r.get(0)?, RebuildStatus::parse(&status).unwrap_or(RebuildStatus::Failed)))
            })
            .map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// The latest rebuild of an image, whatever its status.
    pub fn last_rebuild(&self, image: &str) -> Result<Option<RebuildRecord>, StoreError> {
        Ok(self.rebuilds(Some(image), 1)?.into_iter().next())
    }

    fn fill_causes(&self, records: &mut [RebuildRecord]) -> Result<(), StoreError> {
        let doing = "reading rebuild causes";
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {CAUSE_COLUMNS} FROM rebuild_causes WHERE rebuild_id = ?1 ORDER BY observed_at, cause_key"
            ))
            .map_err(sql(doing))?;
        for record in records {
            let rows = stmt.query_map([record.id], cause_row).map_err(sql(doing))?;
            record.causes = rows.collect::<Result<_, _>>().map_err(sql(doing))?;
        }
        Ok(())
    }

    /// Records one delivery attempt of a pending rebuild; an accepted or a final failure is
    /// a notification event in the same transaction.
    pub fn record_attempt(&mut self, id: i64, outcome: &AttemptOutcome, now: i64) -> Result<(), StoreError> {
        let doing = "recording a rebuild attempt";
        let tx = self.conn.transaction().map_err(sql(doing))?;
        let (n, event) = match outcome {
            AttemptOutcome::Accepted { response } => (
                tx.execute(
                    "UPDATE rebuilds SET status = 'requested', n_attempts = n_attempts + 1, requested_at = ?2,
                                         next_attempt_at = NULL, response = ?3, error = NULL
                     WHERE id = ?1 AND status = 'pending'",
                    params![id, now, response],
                ),
                Some("requested"),
            ),
            AttemptOutcome::Retry { error, next_attempt_at } => (
                tx.execute(
                    "UPDATE rebuilds SET n_attempts = n_attempts + 1, next_attempt_at = ?3, error = ?2
                     WHERE id = ?1 AND status = 'pending'",
                    params![id, error, next_attempt_at],
                ),
                None,
            ),
            AttemptOutcome::Failed { error } => (
                tx.execute(
                    "UPDATE rebuilds SET status = 'failed', n_attempts = n_attempts + 1, next_attempt_at = NULL,
                                         finished_at = ?2, error = ?3
                     WHERE id = ?1 AND status = 'pending'",
                    params![id, now, error],
                ),
                Some("failed"),
            ),
        };
        if n.map_err(sql(doing))? == 1 {
            if let Some(status) = event {
                notifications::record_rebuild(&tx, id, status, now)?;
            }
        }
        tx.commit().map_err(sql(doing))
    }

    /// A requested rebuild produced `new_digest`.
    pub fn confirm_rebuild(&mut self, id: i64, new_digest: &str, now: i64) -> Result<(), StoreError> {
        self.finish_rebuild(
            id,
            "confirmed",
            "UPDATE rebuilds SET status = 'confirmed', new_digest = ?2, finished_at = ?3
             WHERE id = ?1 AND status = 'requested'",
            new_digest,
            now,
        )
    }

    /// A requested rebuild produced no new digest in time.
    pub fn time_out_rebuild(&mut self, id: i64, now: i64, error: &str) -> Result<(), StoreError> {
        self.finish_rebuild(
            id,
            "timed-out",
            "UPDATE rebuilds SET status = 'timed-out', error = ?2, finished_at = ?3
             WHERE id = ?1 AND status = 'requested'",
            error,
            now,
        )
    }

    /// Moves a requested rebuild to its final state with its notification event.
    fn finish_rebuild(&mut self, id: i64, status: &str, update: &str, text: &str, now: i64) -> Result<(), StoreError> {
        let doing = "finishing a rebuild";
        let tx = self.conn.transaction().map_err(sql(doing))?;
        if tx.execute(update, params![id, text, now]).map_err(sql(doing))? == 1 {
            notifications::record_rebuild(&tx, id, status, now)?;
        }
        tx.commit().map_err(sql(doing))
    }
}

fn attach_causes(tx: &Transaction<'_>, rebuild_id: i64, image: &str, cause_keys: &[String]) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "UPDATE rebuild_causes SET rebuild_id = ?1 WHERE image = ?2 AND cause_key = ?3 AND rebuild_id IS NULL",
        )
        .map_err(sql("attaching rebuild causes"))?;
    for key in cause_keys {
        stmt.execute(params![rebuild_id, image, key]).map_err(sql("attaching rebuild causes"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(image: &str, key: &str, at: i64) -> Cause {
        Cause {
            image: image.into(),
            key: key.into(),
            kind: CauseKind::ParentDigestChanged,
            advisory_id: None,
            severity: None,
            detail: "{}".into(),
            observed_at: at,
            rebuild_id: None,
        }
    }

    #[test]
    fn polls_restart_the_settle_clock_only_on_a_change() {
        let mut store = Store::open_in_memory().unwrap();
        store.set_watched(&["r/a:1".into(), "r/b:1".into()]).unwrap();
        store.record_polls(&[("r/a:1".into(), PollResult::Digest(Some("sha256:1".into())))], 100).unwrap();
        store.record_polls(&[("r/a:1".into(), PollResult::Digest(Some("sha256:1".into())))], 200).unwrap();
        let a = &store.watched_tags().unwrap()[0];
        assert_eq!((a.digest.as_deref(), a.changed_at, a.polled_at), (Some("sha256:1"), Some(100), Some(200)));
        store.record_polls(&[("r/a:1".into(), PollResult::Failed("HTTP 503".into()))], 300).unwrap();
        store.record_polls(&[("r/a:1".into(), PollResult::Digest(Some("sha256:2".into())))], 400).unwrap();
        let a = &store.watched_tags().unwrap()[0];
        assert_eq!((a.digest.as_deref(), a.changed_at, a.n_failures), (Some("sha256:2"), Some(400), 0));
        assert_eq!(store.hint_watched("r", "b", Some("1"), 500).unwrap(), 1);
        assert_eq!(store.hint_watched("r", "b", None, 500).unwrap(), 1);
        assert_eq!(store.hint_watched("other", "b", None, 500).unwrap(), 0, "the host is part of the match");
        assert_eq!(store.watched_tags().unwrap()[1].hinted_at, Some(500));
        store.set_watched(&["r/b:1".into()]).unwrap();
        assert_eq!(store.watched_tags().unwrap().len(), 1);
    }

    #[test]
    fn a_cause_acts_once_and_rebuilds_move_through_their_states() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(store.record_cause(&cause("img", "parent:p@sha256:1", 10)).unwrap());
        assert!(!store.record_cause(&cause("img", "parent:p@sha256:1", 20)).unwrap());
        assert!(store.record_cause(&cause("img", "advisory:DSA-1", 30)).unwrap());
        assert_eq!(store.waiting_causes().unwrap().len(), 2);
        let id = store
            .create_rebuild(&NewRebuild {
                image: "img".into(),
                parent: Some("p".into()),
                old_parent_digest: Some("sha256:0".into()),
                new_parent_digest: Some("sha256:1".into()),
                old_digest: Some("sha256:c0".into()),
                trigger: "webhook http://127.0.0.1/".into(),
                created_at: 40,
                cause_keys: vec!["parent:p@sha256:1".into()],
            })
            .unwrap();
        store.add_causes(id, "img", &["advisory:DSA-1".into()]).unwrap();
        assert!(store.waiting_causes().unwrap().is_empty());
        store.record_attempt(id, &AttemptOutcome::Retry { error: "HTTP 500".into(), next_attempt_at: 70 }, 50).unwrap();
        let open = store.open_rebuilds().unwrap();
        assert_eq!(
            (open[0].status, open[0].n_attempts, open[0].next_attempt_at),
            (RebuildStatus::Pending, 1, Some(70))
        );
        assert_eq!(open[0].causes.len(), 2);
        store.record_attempt(id, &AttemptOutcome::Accepted { response: "HTTP 204".into() }, 70).unwrap();
        store.confirm_rebuild(id, "sha256:c1", 90).unwrap();
        let record = store.last_rebuild("img").unwrap().unwrap();
        assert_eq!(record.status, RebuildStatus::Confirmed);
        assert_eq!(record.new_digest.as_deref(), Some("sha256:c1"));
        assert_eq!((record.requested_at, record.finished_at), (Some(70), Some(90)));
        // A confirmed rebuild is final: a late timeout does not change it, nor can it be retried.
        store.time_out_rebuild(id, 100, "late").unwrap();
        assert_eq!(store.last_rebuild("img").unwrap().unwrap().status, RebuildStatus::Confirmed);
        assert!(store.open_rebuilds().unwrap().is_empty());
        assert_eq!(store.retry_rebuild(id, 110).unwrap(), None);

        // A failed one is requested again, with its causes.
        assert!(store.record_cause(&cause("img", "parent:p@sha256:2", 120)).unwrap());
        let failed = store
            .create_rebuild(&NewRebuild {
                image: "img".into(),
                parent: None,
                old_parent_digest: None,
                new_parent_digest: None,
                old_digest: None,
                trigger: "webhook".into(),
                created_at: 120,
                cause_keys: vec!["parent:p@sha256:2".into()],
            })
            .unwrap();
        store.record_attempt(failed, &AttemptOutcome::Failed { error: "http 401".into() }, 130).unwrap();
        let again = store.retry_rebuild(failed, 140).unwrap().expect("a new rebuild");
        assert_eq!(store.retry_rebuild(failed, 141).unwrap(), None, "the causes moved on");
        let record = store.rebuild(again).unwrap().unwrap();
        assert_eq!((record.status, record.causes.len()), (RebuildStatus::Pending, 1));
        assert!(store.rebuild(failed).unwrap().unwrap().causes.is_empty());
    }
}
