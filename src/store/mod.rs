//! The SQLite store: the only module that speaks SQL. Opens the database in WAL mode, applies
//! the numbered migrations from `schema/` on start-up, and offers a narrow API (layer cache,
//! config cache, image inventories here; advisories, change sets and feed health in
//! `advisories.rs`) so that another backend can stand in later.

mod advisories;
mod findings;
pub mod notifications;
pub mod queries;
pub mod watch;

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::correlate::{FindingsDelta, MatchPolicy};
use crate::images::digest::Digest;
use crate::images::ResolvedImage;
use crate::inventory::{InstalledPackage, Inventory, Package};
use crate::layers::{Entry, EntryKind, LayerExtract, EXTRACTOR_VERSION};

pub use advisories::{FeedHealth, IngestError, IngestMeta, IngestScope, SourceKind, StoredAdvisory, StoredAffected};

/// Page cache of a connection (negative: KiB); ingests raise it while they run.
const CACHE_PRAGMA: &str = "PRAGMA cache_size = -8192";

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init.sql", include_str!("../../schema/0001_init.sql")),
    ("0002_advisories.sql", include_str!("../../schema/0002_advisories.sql")),
    ("0003_findings.sql", include_str!("../../schema/0003_findings.sql")),
    ("0004_watch.sql", include_str!("../../schema/0004_watch.sql")),
    ("0005_notifications.sql", include_str!("../../schema/0005_notifications.sql")),
    ("0006_faster_bulk_ingest.sql", include_str!("../../schema/0006_faster_bulk_ingest.sql")),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("database {path} has schema version {found}, newer than this cascade knows ({known}); upgrade cascade")]
    TooNew { path: String, found: i64, known: usize },
    #[error("migration {name} failed: {source}")]
    Migration { name: &'static str, source: rusqlite::Error },
    #[error("database error while {doing}: {source}")]
    Sql { doing: &'static str, source: rusqlite::Error },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Unix seconds now, for the records that schedule work (watch, rebuilds, notifications).
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Unix milliseconds now.
pub(crate) fn unix_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn sql(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sql { doing, source }
}

pub struct Store {
    conn: Connection,
    /// The matching rules findings are computed with; see [`Store::set_match_policy`].
    policy: MatchPolicy,
}

/// What saving an inventory did: the image's id and how its findings changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedInventory {
    pub image_id: i64,
    pub findings: FindingsDelta,
}

/// A stored image inventory, as `images list`/`affected` will read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub id: i64,
    pub reference: String,
    pub platform: String,
    pub manifest_digest: String,
    pub distro: Option<String>,
    pub release: Option<String>,
    pub n_packages: i64,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // A missing data directory is created; any real failure surfaces from open below.
            let _ = std::fs::create_dir_all(dir);
        }
        let label = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: label.clone(), source })?;
        Store::init(conn, &label)
    }

    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn =
            Connection::open_in_memory().map_err(|source| StoreError::Open { path: ":memory:".into(), source })?;
        Store::init(conn, ":memory:")
    }

    fn init(conn: Connection, label: &str) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sql("setting the busy timeout"))?;
        // Applies only when the file is created (an existing store keeps its page size). 16 KiB
        // pages take a full feed ingest about 12% less time than SQLite's 4 KiB default (fewer
        // pages to write, checksum and checkpoint) and cost a one-advisory update 0.2-0.5 ms.
        conn.execute_batch("PRAGMA page_size = 16384").map_err(sql("setting the page size"))?;
        // journal_mode returns a row, so it is read rather than executed.
        let _mode: String =
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(sql("enabling WAL"))?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;").map_err(sql("setting pragmas"))?;
        conn.execute_batch(CACHE_PRAGMA).map_err(sql("setting pragmas"))?;
        let mut store = Store { conn, policy: MatchPolicy::default() };
        store.migrate(label)?;
        Ok(store)
    }

    fn migrate(&mut self, label: &str) -> Result<(), StoreError> {
        let applied: i64 =
            self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql("reading the schema version"))?;
        if applied as usize > MIGRATIONS.len() {
            return Err(StoreError::TooNew { path: label.to_string(), found: applied, known: MIGRATIONS.len() });
        }
        for (i, (name, text)) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            let tx = self.conn.transaction().map_err(|source| StoreError::Migration { name, source })?;
            tx.execute_batch(text).map_err(|source| StoreError::Migration { name, source })?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|source| StoreError::Migration { name, source })?;
            tx.commit().map_err(|source| StoreError::Migration { name, source })?;
            tracing::info!(migration = name, "applied schema migration");
        }
        Ok(())
    }

    /// The cached extract of a layer, read by the current extractor version.
    pub fn layer_extract(&self, digest: &Digest) -> Result<Option<LayerExtract>, StoreError> {
        let key = digest.to_string();
        let head: Option<(u64, u64)> = self
            .conn
            .query_row(
                "SELECT n_entries, n_bytes FROM layer_extracts WHERE digest = ?1 AND extractor_version = ?2",
                params![key, EXTRACTOR_VERSION],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql("reading the layer cache"))?;
        let Some((n_entries, n_bytes)) = head else { return Ok(None) };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path, kind, target, content FROM layer_entries
                 WHERE digest = ?1 AND extractor_version = ?2 ORDER BY seq",
            )
            .map_err(sql("reading the layer cache"))?;
        let rows = stmt
            .query_map(params![key, EXTRACTOR_VERSION], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                ))
            })
            .map_err(sql("reading the layer cache"))?;
        let mut entries = Vec::new();
        for row in rows {
            let (path, kind, target, content) = row.map_err(sql("reading the layer cache"))?;
            let kind = match (kind.as_str(), target, content) {
                ("file", _, Some(c)) => EntryKind::File(c),
                ("dir", _, _) => EntryKind::Dir,
                ("symlink", Some(t), _) => EntryKind::Symlink(t),
                ("hardlink", Some(t), _) => EntryKind::Hardlink(t),
                ("whiteout", _, _) => EntryKind::Whiteout,
                ("opaque", _, _) => EntryKind::Opaque,
                (other, ..) => {
                    return Err(StoreError::Corrupt(format!(
                        "layer {digest}: entry {path} has kind {other} without its data"
                    )))
                }
            };
            entries.push(Entry { path, kind });
        }
        Ok(Some(LayerExtract { entries, n_entries, n_bytes }))
    }

    /// Stores a layer's extract (replacing an older copy by the same extractor version).
    pub fn put_layer_extract(&mut self, digest: &Digest, extract: &LayerExtract) -> Result<(), StoreError> {
        let key = digest.to_string();
        let tx = self.conn.transaction().map_err(sql("caching a layer"))?;
        tx.execute(
            "DELETE FROM layer_extracts WHERE digest = ?1 AND extractor_version = ?2",
            params![key, EXTRACTOR_VERSION],
        )
        .map_err(sql("caching a layer"))?;
        tx.execute(
            "INSERT INTO layer_extracts (digest, extractor_version, n_entries, n_bytes) VALUES (?1, ?2, ?3, ?4)",
            params![key, EXTRACTOR_VERSION, extract.n_entries, extract.n_bytes],
        )
        .map_err(sql("caching a layer"))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO layer_entries (digest, extractor_version, seq, path, kind, target, content)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql("caching a layer"))?;
            for (seq, entry) in extract.entries.iter().enumerate() {
                let (kind, target, content): (&str, Option<&str>, Option<&[u8]>) = match &entry.kind {
                    EntryKind::File(c) => ("file", None, Some(c)),
                    EntryKind::Dir => ("dir", None, None),
                    EntryKind::Symlink(t) => ("symlink", Some(t), None),
                    EntryKind::Hardlink(t) => ("hardlink", Some(t), None),
                    EntryKind::Whiteout => ("whiteout", None, None),
                    EntryKind::Opaque => ("opaque", None, None),
                };
                insert
                    .execute(params![key, EXTRACTOR_VERSION, seq as i64, entry.path, kind, target, content])
                    .map_err(sql("caching a layer"))?;
            }
        }
        tx.commit().map_err(sql("caching a layer"))
    }

    pub fn config_blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row("SELECT content FROM config_blobs WHERE digest = ?1", [digest.to_string()], |r| r.get(0))
            .optional()
            .map_err(sql("reading the config cache"))
    }

    /// Caches a config blob; the caller has verified it against `digest`.
    pub fn put_config_blob(&self, digest: &Digest, content: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO config_blobs (digest, content) VALUES (?1, ?2)",
                params![digest.to_string(), content],
            )
            .map(|_| ())
            .map_err(sql("caching a config"))
    }

    /// Records the latest inventory of an image, replacing the previous one for the same
    /// reference and platform, and matches it against the stored advisories, in one
    /// transaction. Returns the image id and the findings added and resolved since the
    /// previous inventory.
    pub fn save_inventory(
        &mut self,
        image: &ResolvedImage,
        inventory: &Inventory,
    ) -> Result<SavedInventory, StoreError> {
        let policy = self.policy;
        let tx = self.conn.transaction().map_err(sql("saving an inventory"))?;
        let platform = image.platform.to_string();
        let previous: Option<i64> = tx
            .query_row(
                "SELECT id FROM images WHERE reference = ?1 AND platform = ?2",
                params![image.reference, platform],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("saving an inventory"))?;
        let (old_findings, old_states) = match previous {
            Some(id) => (findings::image_changes(&tx, id)?, image_states(&tx, id)?),
            None => (Vec::new(), Vec::new()),
        };
        tx.execute("DELETE FROM images WHERE reference = ?1 AND platform = ?2", params![image.reference, platform])
            .map_err(sql("saving an inventory"))?;
        let os = inventory.os.as_ref();
        // Package states of an image without an identified OS have an empty release: never matched.
        let (distro, release) = os.map_or(("", ""), |o| (o.distro.as_str(), o.release.as_str()));
        let (base_name, base_digest) = image.declared_base();
        tx.execute(
            "INSERT INTO images (reference, platform, index_digest, manifest_digest, config_digest,
                                 distro, release, codename, os_name, base_name, base_digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                image.reference,
                platform,
                image.index_digest.as_ref().map(|d| d.to_string()),
                image.manifest_digest.to_string(),
                image.config_digest.to_string(),
                os.map(|o| o.distro.as_str()),
                os.map(|o| o.release.as_str()),
                os.and_then(|o| o.codename.as_deref()),
                os.and_then(|o| o.pretty_name.as_deref()),
                base_name,
                base_digest,
            ],
        )
        .map_err(sql("saving an inventory"))?;
        let image_id = tx.last_insert_rowid();
        let mut new_states = Vec::new();
        {
            let mut layer = tx
                .prepare_cached(
                    "INSERT INTO image_layers (image_id, position, digest, media_type, size) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql("saving an inventory"))?;
            for (position, d) in image.layers.iter().enumerate() {
                layer
                    .execute(params![image_id, position as i64, d.digest.to_string(), d.media_type, d.size])
                    .map_err(sql("saving an inventory"))?;
            }
            let mut package = tx
                .prepare_cached(
                    "INSERT INTO packages (image_id, name, version, arch, source_name, source_version,
                                           ecosystem, module, layer_digest, state_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sql("saving an inventory"))?;
            for p in &inventory.packages {
                let pkg = &p.package;
                let (state_id, is_new) = findings::state_id(&tx, distro, release, pkg)?;
                if is_new {
                    new_states.push(state_id);
                }
                package
                    .execute(params![
                        image_id,
                        pkg.name,
                        pkg.version,
                        pkg.arch,
                        pkg.source_name,
                        pkg.source_version,
                        pkg.ecosystem.as_str(),
                        pkg.module,
                        p.layer.to_string(),
                        state_id
                    ])
                    .map_err(sql("saving an inventory"))?;
            }
        }
        findings::correlate_states(&tx, distro, release, &new_states, &policy)?;
        findings::drop_orphan_states(&tx, &old_states)?;
        let new_findings = findings::image_changes(&tx, image_id)?;
        let delta = findings::diff_image(old_findings, new_findings);
        notifications::record_findings(&tx, &delta, unix_now())?;
        tx.commit().map_err(sql("saving an inventory"))?;
        Ok(SavedInventory { image_id, findings: delta })
    }

    /// Every stored image, by reference.
    pub fn images(&self) -> Result<Vec<StoredImage>, StoreError> {
        Ok(self.images_page(&queries::ImageFilter::default(), None, queries::NO_LIMIT)?.items)
    }

    /// The stored packages of an image, in name order.
    pub fn packages(&self, image_id: i64) -> Result<Vec<InstalledPackage>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, version, arch, source_name, source_version, ecosystem, module, layer_digest
                 FROM packages WHERE image_id = ?1 ORDER BY name, arch, version",
            )
            .map_err(sql("reading packages"))?;
        let rows = stmt
            .query_map([image_id], |r| {
                Ok(InstalledPackage {
                    package: Package {
                        name: r.get(0)?,
                        version: r.get(1)?,
                        arch: r.get(2)?,
                        source_name: r.get(3)?,
                        source_version: r.get(4)?,
                        ecosystem: r.get(5)?,
                        module: r.get(6)?,
                    },
                    layer: r.get(7)?,
                })
            })
            .map_err(sql("reading packages"))?;
        rows.collect::<Result<_, _>>().map_err(sql("reading packages"))
    }
}

impl rusqlite::types::FromSql for Digest {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = v.as_str()?;
        text.parse().map_err(|e: crate::images::digest::DigestError| rusqlite::types::FromSqlError::Other(e.into()))
    }
}

/// The package states an image's packages point at.
fn image_states(conn: &Connection, image_id: i64) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT DISTINCT state_id FROM packages WHERE image_id = ?1")
        .map_err(sql("reading package states"))?;
    let rows = stmt.query_map([image_id], |r| r.get(0)).map_err(sql("reading package states"))?;
    rows.collect::<Result<_, _>>().map_err(sql("reading package states"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_extract_round_trips() {
        let mut store = Store::open_in_memory().unwrap();
        let digest = Digest::sha256_of(b"layer");
        assert_eq!(store.layer_extract(&digest).unwrap(), None);
        let extract = LayerExtract {
            entries: vec![
                Entry { path: "etc".into(), kind: EntryKind::Dir },
                Entry { path: "etc/os-release".into(), kind: EntryKind::Symlink("../usr/lib/os-release".into()) },
                Entry { path: "usr/lib/os-release".into(), kind: EntryKind::File(b"ID=debian\n".to_vec()) },
                Entry {
                    path: "var/lib/dpkg/status".into(),
                    kind: EntryKind::Hardlink("var/lib/dpkg/status-old".into()),
                },
                Entry { path: "var/lib/apk".into(), kind: EntryKind::Whiteout },
                Entry { path: "var/lib/rpm".into(), kind: EntryKind::Opaque },
                Entry { path: "empty".into(), kind: EntryKind::File(Vec::new()) },
            ],
            n_entries: 1234,
            n_bytes: 99,
        };
        store.put_layer_extract(&digest, &extract).unwrap();
        assert_eq!(store.layer_extract(&digest).unwrap(), Some(extract.clone()));
        // Storing again replaces, it does not duplicate.
        store.put_layer_extract(&digest, &extract).unwrap();
        assert_eq!(store.layer_extract(&digest).unwrap().unwrap().entries.len(), extract.entries.len());
    }

    #[test]
    fn inventories_round_trip_and_replace_the_previous_one() {
        use crate::images::manifest::{ImageConfig, Platform};
        use crate::inventory::Ecosystem;
        let mut store = Store::open_in_memory().unwrap();
        let layer = Digest::sha256_of(b"layer");
        let image = ResolvedImage {
            reference: "registry.example/app:1".into(),
            index_digest: None,
            manifest_digest: Digest::sha256_of(b"manifest"),
            platform: Platform::parse("linux/amd64").unwrap(),
            config_digest: Digest::sha256_of(b"config"),
            config: ImageConfig::default(),
            layers: vec![],
            annotations: Default::default(),
        };
        let package = |name: &str, ecosystem| InstalledPackage {
            package: Package {
                name: name.into(),
                version: "1.0-1".into(),
                arch: "amd64".into(),
                source_name: "src".into(),
                source_version: "1.0-1".into(),
                ecosystem,
                module: None,
            },
            layer: layer.clone(),
        };
        let inventory = Inventory {
            os: None,
            packages: vec![package("a", Ecosystem::Dpkg), package("b", Ecosystem::Rpm)],
            warnings: vec![],
        };
        store.save_inventory(&image, &inventory).unwrap();
        let id = store.save_inventory(&image, &inventory).unwrap().image_id;
        assert_eq!(store.images().unwrap().len(), 1, "a rescan replaces the inventory");
        assert_eq!(store.packages(id).unwrap(), inventory.packages);
    }

    #[test]
    fn migrations_are_idempotent_and_refuse_newer_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cascade.db");
        drop(Store::open(&path).unwrap());
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open(&path).err().unwrap();
        assert!(err.to_string().contains("newer than this cascade knows"), "{err}");
    }

    #[test]
    fn a_new_store_has_16_kib_pages_and_an_existing_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |path: &std::path::Path| -> i64 {
            Connection::open(path).unwrap().query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
        };
        let new = dir.path().join("new.db");
        drop(Store::open(&new).unwrap());
        assert_eq!(page_size(&new), 16384);

        let old = dir.path().join("old.db");
        Connection::open(&old).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        assert_eq!(page_size(&old), 4096);
        drop(Store::open(&old).unwrap());
        assert_eq!(page_size(&old), 4096);
    }
}
