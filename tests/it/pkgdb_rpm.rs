//! Conformance of the rpm database readers: every database under `$CASCADE_SHARED_DATA/pkgdb/
//! rpm-{sqlite,bdb,ndb}` must read to exactly its `.expected.tsv`, so must a big-endian copy
//! of each Berkeley DB one made here, and a `-wal` built here must be replayed. Must not write
//! into the shared data; scratch files go to temp dirs only.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

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
    let missing: Vec<&str> = expected_rows.iter().filter(|r| !got_rows.contains(r)).copied().collect();
    let extra: Vec<&str> = got_rows.iter().filter(|r| !expected_rows.contains(r)).copied().collect();
    let mut out = format!("  expected {} lines, read {} lines\n", expected_rows.len(), got_rows.len());
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
        .filter(|name| !name.ends_with(EXPECTED_SUFFIX) && !name.ends_with("-wal") && !name.ends_with("-shm"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no databases in {}", path.display());

    let mut failures = Vec::new();
    for name in &names {
        if let Err(failure) = check_database(&path, name, kind) {
            failures.push(format!("{dir}/{name}:\n{failure}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} databases differ:\n{}", failures.len(), names.len(), failures.join("\n"));
}

/// The expected TSV of database `name` in `dir`.
fn expected_tsv(dir: &Path, name: &str) -> Result<String, String> {
    fs::read_to_string(dir.join(format!("{name}{EXPECTED_SUFFIX}")))
        .map_err(|e| format!("  no readable {name}{EXPECTED_SUFFIX}: {e}"))
}

fn check_database(dir: &Path, name: &str, kind: RpmDbKind) -> Result<(), String> {
    let read_file = |file: &str| fs::read(dir.join(file)).map_err(|e| format!("  read {file}: {e}"));
    let bytes = read_file(name)?;
    let expected = expected_tsv(dir, name)?;
    let wal = match kind {
        RpmDbKind::Sqlite => fs::read(dir.join(format!("{name}-wal"))).ok(),
        _ => None,
    };
    check_bytes(name, kind, &bytes, wal.as_deref(), &expected)
}

/// Reads `bytes` (database `name`, with its `wal`) with `kind`'s reader and with `rpm::read`,
/// and compares the packages to the `expected` TSV.
fn check_bytes(name: &str, kind: RpmDbKind, bytes: &[u8], wal: Option<&[u8]>, expected: &str) -> Result<(), String> {
    let read: Result<Vec<RpmPackage>, DbError> = match kind {
        RpmDbKind::Sqlite => rpm::read_sqlite(bytes, wal),
        RpmDbKind::Bdb => rpm::read_bdb(bytes),
        RpmDbKind::Ndb => rpm::read_ndb(bytes),
    };
    let packages = read.map_err(|e| format!("  read failed: {e}"))?;
    let got = render_tsv(&packages);
    if got != expected {
        return Err(diff(expected, &got));
    }

    // The inventory view agrees with the raw fields.
    let inventory = rpm::read(kind, name, bytes, wal).map_err(|e| format!("  rpm::read failed: {e}"))?;
    if inventory.len() != packages.len() {
        return Err(format!("  rpm::read gave {} packages, the reader {}", inventory.len(), packages.len()));
    }
    for (p, raw) in inventory.iter().zip(&packages) {
        let source = raw.source_rpm.as_deref().and_then(rpm::sourcerpm_parts).map(|(n, _, _)| n).unwrap_or(&raw.name);
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

/// Berkeley DB 5.3's utilities (Debian `db5.3-util`), which write the big-endian copies.
const DB_DUMP: &str = "db5.3_dump";
const DB_LOAD: &str = "db5.3_load";
/// The hash metadata magic as a big-endian writer stores it (bytes 12..16 of page 0).
const BIG_ENDIAN_MAGIC: [u8; 4] = [0x00, 0x06, 0x15, 0x61];

/// Fails, naming the fix, unless `db5.3_dump` and `db5.3_load` can be run.
fn require_db_utils() {
    for tool in [DB_DUMP, DB_LOAD] {
        match Command::new(tool).arg("-V").stdin(Stdio::null()).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`{tool} -V` failed ({}): {}; run scripts/test, which installs db5.3-util",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!(
                "{tool} cannot be run ({e}): CASCADE_SHARED_DATA is set, and the big-endian \
                 Berkeley DB test needs db5.3-util; run scripts/test, which installs it"
            ),
        }
    }
}

/// Reverses the byte order of one 4-byte item in `db_dump`'s hex form.
fn swap_hex_u32(hex: &str) -> Option<String> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((0..4).rev().map(|i| &hex[2 * i..2 * i + 2]).collect())
}

/// A `db_dump` (bytevalue format) of an rpm `Packages` with the integers rpm wrote in its own
/// byte order swapped, as a machine of the other order would have written them: every key (a
/// 4-byte record number) and record 0's value (the 4-byte next-instance counter). Header
/// blobs are big-endian in every rpm database and stay as they are.
fn swap_record_numbers(dump: &str) -> Result<String, String> {
    let mut out = String::with_capacity(dump.len());
    let mut lines = dump.lines();
    for line in lines.by_ref() {
        out.push_str(line);
        out.push('\n');
        if line == "HEADER=END" {
            break;
        }
        if line.starts_with("format=") && line != "format=bytevalue" {
            return Err(format!("dump is in {line}, expected bytevalue"));
        }
    }
    let mut items = 0usize;
    let mut previous_key_is_zero = false;
    let mut ended = false;
    for line in lines.by_ref() {
        if line == "DATA=END" {
            out.push_str(line);
            out.push('\n');
            ended = true;
            break;
        }
        let hex = line
            .strip_prefix(' ')
            .ok_or_else(|| format!("dump line {items} of the data is not an item: {line:.40?}"))?;
        let is_key = items % 2 == 0;
        let swapped = if is_key {
            previous_key_is_zero = hex == "00000000";
            Some(
                swap_hex_u32(hex)
                    .ok_or_else(|| format!("key {} is not a 4-byte record number: {hex:.40?}", items / 2))?,
            )
        } else if previous_key_is_zero {
            Some(swap_hex_u32(hex).ok_or_else(|| format!("record 0's value is not a 4-byte counter: {hex:.40?}"))?)
        } else {
            None
        };
        out.push(' ');
        out.push_str(swapped.as_deref().unwrap_or(hex));
        out.push('\n');
        items += 1;
    }
    if !ended {
        return Err(format!("dump has no DATA=END after {items} items"));
    }
    if items % 2 != 0 {
        return Err(format!("dump has {items} items, not key/value pairs"));
    }
    if let Some(extra) = lines.next() {
        return Err(format!("dump continues after DATA=END: {extra:.40?}"));
    }
    Ok(out)
}

/// Runs `command` in `dir`, returning its stdout or an error naming it.
fn run(mut command: Command, dir: &Path, what: &str) -> Result<Vec<u8>, String> {
    let out = command.current_dir(dir).stderr(Stdio::piped()).output().map_err(|e| format!("  {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!("  {what}: {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(out.stdout)
}

/// Writes a big-endian copy of the Berkeley DB database `src` to `scratch/<name>` with
/// Berkeley DB itself, and returns its bytes.
fn big_endian_copy(src: &Path, name: &str, scratch: &Path) -> Result<Vec<u8>, String> {
    let mut dump = Command::new(DB_DUMP);
    dump.arg(src).stdin(Stdio::null());
    let dump = run(dump, scratch, &format!("{DB_DUMP} {}", src.display()))?;
    let dump = String::from_utf8(dump).map_err(|e| format!("  {DB_DUMP} output: {e}"))?;
    let swapped = swap_record_numbers(&dump).map_err(|e| format!("  {DB_DUMP} output: {e}"))?;
    let dump_path = scratch.join(format!("{name}.swapped.dump"));
    fs::write(&dump_path, swapped).map_err(|e| format!("  write {}: {e}", dump_path.display()))?;

    let out = scratch.join(name);
    let stdin = fs::File::open(&dump_path).map_err(|e| format!("  open {}: {e}", dump_path.display()))?;
    let mut load = Command::new(DB_LOAD);
    load.args(["-c", "db_lorder=4321", "-t", "hash"]).arg(&out).stdin(stdin);
    run(load, scratch, &format!("{DB_LOAD} -c db_lorder=4321 -t hash {name}"))?;
    let bytes = fs::read(&out).map_err(|e| format!("  read {}: {e}", out.display()))?;
    if bytes.get(12..16) != Some(&BIG_ENDIAN_MAGIC[..]) {
        return Err(format!("  {DB_LOAD} did not write a big-endian hash database (magic {:02x?})", bytes.get(12..16)));
    }
    Ok(bytes)
}

/// No big-endian rpm database could be collected, so each little-endian one is rewritten
/// big-endian here by Berkeley DB 5.3 and must read to the original's expected TSV. The
/// copies live only in a temp dir: derived copies of the shared data never enter the repository.
#[test]
fn bdb_big_endian_copies_match_expected() {
    let Some(dir) = shared_data("pkgdb/rpm-bdb") else {
        eprintln!("skipping big-endian copies of pkgdb/rpm-bdb: CASCADE_SHARED_DATA is not set");
        return;
    };
    require_db_utils();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".Packages"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no *.Packages in {}", dir.display());

    let scratch = tempfile::TempDir::new().expect("temp dir for the big-endian copies");
    let mut failures = Vec::new();
    for name in &names {
        let checked = big_endian_copy(&dir.join(name), name, scratch.path())
            .and_then(|bytes| check_bytes(name, RpmDbKind::Bdb, &bytes, None, &expected_tsv(&dir, name)?));
        if let Err(failure) = checked {
            failures.push(format!("rpm-bdb/{name}, big-endian copy:\n{failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} big-endian copies differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[test]
fn dump_record_numbers_are_swapped() {
    let dump = "VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n 00000000\n 04000000\n \
                04000000\n 0000003c00000484\nDATA=END\n";
    assert_eq!(
        swap_record_numbers(dump).as_deref(),
        Ok("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n 00000000\n 00000004\n \
            00000004\n 0000003c00000484\nDATA=END\n")
    );
    let empty = "VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\nDATA=END\n";
    assert_eq!(swap_record_numbers(empty).as_deref(), Ok(empty));
    assert!(swap_record_numbers("HEADER=END\n 0001\n 00\nDATA=END\n").is_err());
    assert!(swap_record_numbers("HEADER=END\n 00000001\nDATA=END\n").is_err());
    assert!(swap_record_numbers("HEADER=END\n 00000001\n 00\n").is_err());
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
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).expect("wal mode");
    assert_eq!(mode, "wal");
    conn.execute_batch(
        "PRAGMA wal_autocheckpoint = 0;
         CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
    )
    .expect("schema");
    let insert = |blob: Vec<u8>| conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob]).expect("insert");
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

    let packages = rpm::read(RpmDbKind::Sqlite, "rpmdb.sqlite", &db, Some(&wal)).expect("rpm::read");
    assert_eq!(packages.len(), 3);
    assert_eq!((packages[2].source_name.as_str(), packages[2].source_version.as_str()), ("also-in-wal", "3.0-7"));
    drop(conn);
}
