//! Conformance of the rpm database readers: every database under `$CASCADE_SHARED_DATA/pkgdb/
//! rpm-{sqlite,bdb,ndb}` must read to exactly its `.expected.tsv`, and a `-wal` built here must
//! be replayed. Must not write into the shared data; scratch files go to temp dirs only.

use std::fs;
use std::path::Path;

use cascade::inventory::rpm::{self, RpmDbKind, RpmPackage};
use cascade::inventory::DbError;

use crate::support::shared_data;

const TSV_HEADER: &str = "name\tepoch\tversion\trelease\tarch\tsource";
const EXPECTED_SUFFIX: &str = ".expected.tsv";
/// Rows of each side shown when a database does not match.
const DIFF_ROWS: usize = 10;

/// The expected-TSV rendering: header line, then one sorted row per package.
fn render_tsv(packages: &[RpmPackage]) -> String {
    let mut rows: Vec<String> = packages
        .iter()
        .map(|p| {
            let epoch = p.epoch.map(|e| e.to_string()).unwrap_or_default();
            let source = p.source_rpm.as_deref().unwrap_or("");
            format!("{}\t{epoch}\t{}\t{}\t{}\t{source}", p.name, p.version, p.release, p.arch)
        })
        .collect();
    rows.sort();
    let mut out = String::from(TSV_HEADER);
    out.push('\n');
    for row in rows {
        out.push_str(&row);
        out.push('\n');
    }
    out
}

/// A readable account of how `got` differs from `expected`: row counts, then the first rows
/// only one side has.
fn diff(expected: &str, got: &str) -> String {
    let expected_rows: Vec<&str> = expected.lines().collect();
    let got_rows: Vec<&str> = got.lines().collect();
    let missing: Vec<&str> =
        expected_rows.iter().filter(|r| !got_rows.contains(r)).copied().collect();
    let extra: Vec<&str> =
        got_rows.iter().filter(|r| !expected_rows.contains(r)).copied().collect();
    let mut out =
        format!("  expected {} lines, read {} lines\n", expected_rows.len(), got_rows.len());
    for (label, rows) in [("expected, not read", &missing), ("read, not expected", &extra)] {
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!("  {label} ({}):\n", rows.len()));
        for row in rows.iter().take(DIFF_ROWS) {
            out.push_str(&format!("    {row:?}\n"));
        }
    }
    if missing.is_empty() && extra.is_empty() {
        out.push_str("  same rows, different order or duplicates\n");
    }
    out
}

/// Reads every database in `pkgdb/<dir>` with `kind` and compares it to its expected TSV.
/// All mismatches of the directory are reported together.
fn check_dir(dir: &str, kind: RpmDbKind) {
    let Some(path) = shared_data(&format!("pkgdb/{dir}")) else {
        eprintln!("skipping pkgdb/{dir}: CASCADE_SHARED_DATA is not set");
        return;
    };
    let mut names: Vec<String> = fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !name.ends_with(EXPECTED_SUFFIX) && !name.ends_with("-wal") && !name.ends_with("-shm")
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no databases in {}", path.display());

    let mut failures = Vec::new();
    for name in &names {
        if let Err(failure) = check_database(&path, name, kind) {
            failures.push(format!("{dir}/{name}:\n{failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} databases differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

fn check_database(dir: &Path, name: &str, kind: RpmDbKind) -> Result<(), String> {
    let read_file =
        |file: &str| fs::read(dir.join(file)).map_err(|e| format!("  read {file}: {e}"));
    let bytes = read_file(name)?;
    let expected = fs::read_to_string(dir.join(format!("{name}{EXPECTED_SUFFIX}")))
        .map_err(|e| format!("  no readable {name}{EXPECTED_SUFFIX}: {e}"))?;
    let wal = match kind {
        RpmDbKind::Sqlite => fs::read(dir.join(format!("{name}-wal"))).ok(),
        _ => None,
    };
    let read: Result<Vec<RpmPackage>, DbError> = match kind {
        RpmDbKind::Sqlite => rpm::read_sqlite(&bytes, wal.as_deref()),
        RpmDbKind::Bdb => rpm::read_bdb(&bytes),
        RpmDbKind::Ndb => rpm::read_ndb(&bytes),
    };
    let packages = read.map_err(|e| format!("  read failed: {e}"))?;
    let got = render_tsv(&packages);
    if got != expected {
        return Err(diff(&expected, &got));
    }

    // The inventory view agrees with the raw fields.
    let inventory = rpm::read(kind, name, &bytes, wal.as_deref())
        .map_err(|e| format!("  rpm::read failed: {e}"))?;
    if inventory.len() != packages.len() {
        return Err(format!(
            "  rpm::read gave {} packages, the reader {}",
            inventory.len(),
            packages.len()
        ));
    }
    for (p, raw) in inventory.iter().zip(&packages) {
        let source = raw
            .source_rpm
            .as_deref()
            .and_then(rpm::sourcerpm_parts)
            .map(|(n, _, _)| n)
            .unwrap_or(&raw.name);
        if p.name != raw.name || p.version != raw.evr() || p.source_name != source {
            return Err(format!("  rpm::read disagrees with the reader on {raw:?}: {p:?}"));
        }
    }
    Ok(())
}

#[test]
fn sqlite_databases_match_expected() {
    check_dir("rpm-sqlite", RpmDbKind::Sqlite);
}

#[test]
fn bdb_databases_match_expected() {
    check_dir("rpm-bdb", RpmDbKind::Bdb);
}

#[test]
fn ndb_databases_match_expected() {
    check_dir("rpm-ndb", RpmDbKind::Ndb);
}

/// A minimal rpm header blob (no lead, as sqlite stores it) with NAME, VERSION, RELEASE, ARCH.
fn header_blob(name: &str, version: &str, release: &str) -> Vec<u8> {
    let tags: [(u32, &str); 4] = [(1000, name), (1001, version), (1002, release), (1022, "noarch")];
    let mut index = Vec::new();
    let mut store = Vec::new();
    for (tag, value) in tags {
        for word in [tag, 6, store.len() as u32, 1] {
            index.extend_from_slice(&word.to_be_bytes());
        }
        store.extend_from_slice(value.as_bytes());
        store.push(0);
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&store);
    blob
}

fn names(packages: &[RpmPackage]) -> Vec<String> {
    packages.iter().map(|p| format!("{}-{}", p.name, p.evr())).collect()
}

/// Rows committed only to the `-wal` (no checkpoint yet) are seen when the WAL is supplied,
/// and only the checkpointed rows without it.
#[test]
fn sqlite_wal_rows_are_replayed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rpmdb.sqlite");
    let conn = rusqlite::Connection::open(&path).expect("open");
    let mode: String =
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).expect("wal mode");
    assert_eq!(mode, "wal");
    conn.execute_batch(
        "PRAGMA wal_autocheckpoint = 0;
         CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
    )
    .expect("schema");
    let insert = |blob: Vec<u8>| {
        conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob]).expect("insert")
    };
    insert(header_blob("base", "1.0", "1"));
    // Move everything so far into the main file; what follows stays in the WAL.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
    insert(header_blob("in-wal", "2.0", "1"));
    insert(header_blob("also-in-wal", "3.0", "7"));

    // Read while the writer is still open, so nothing checkpoints the WAL on close.
    let db = fs::read(&path).expect("read db");
    let wal = fs::read(dir.path().join("rpmdb.sqlite-wal")).expect("read wal");
    assert!(!wal.is_empty(), "the inserts must be in the WAL");

    let with_wal = rpm::read_sqlite(&db, Some(&wal)).expect("read with wal");
    assert_eq!(names(&with_wal), ["base-1.0-1", "in-wal-2.0-1", "also-in-wal-3.0-7"]);
    let without_wal = rpm::read_sqlite(&db, None).expect("read without wal");
    assert_eq!(names(&without_wal), ["base-1.0-1"]);
    let empty_wal = rpm::read_sqlite(&db, Some(&[])).expect("read with empty wal");
    assert_eq!(names(&empty_wal), ["base-1.0-1"]);

    let packages =
        rpm::read(RpmDbKind::Sqlite, "rpmdb.sqlite", &db, Some(&wal)).expect("rpm::read");
    assert_eq!(packages.len(), 3);
    assert_eq!(
        (packages[2].source_name.as_str(), packages[2].source_version.as_str()),
        ("also-in-wal", "3.0-7")
    );
    drop(conn);
}
