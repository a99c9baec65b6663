//! rpm's sqlite backend (`rpmdb.sqlite`, rpm >= 4.16): hands out the header blobs of the
//! `Packages` table. Reads from memory; must not write any file except the private temporary
//! copy needed to replay a non-empty `-wal`, and must not trust the database's schema.

use std::io::Read;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, MAIN_DB};

use super::{RpmDbKind, MAX_DB_BYTES};
use crate::inventory::DbError;

const KIND: RpmDbKind = RpmDbKind::Sqlite;
/// The 16 bytes every SQLite 3 database file starts with.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// SQLite's file header is 100 bytes.
const FILE_HEADER_LEN: usize = 100;
/// Offset of the file format write/read version bytes: 1 = rollback journal, 2 = WAL.
const FORMAT_VERSION_AT: usize = 18;

fn error(message: impl Into<String>) -> DbError {
    KIND.error(message)
}

fn sql_error(what: &str) -> impl Fn(rusqlite::Error) -> DbError + '_ {
    move |e| error(format!("sqlite {what}: {e}"))
}

/// Calls `f(hnum, blob)` for every row of `Packages`, in `hnum` order.
pub(super) fn for_each_blob(
    db: &[u8],
    wal: Option<&[u8]>,
    mut f: impl FnMut(i64, &[u8]) -> Result<(), DbError>,
) -> Result<(), DbError> {
    if db.len() > MAX_DB_BYTES {
        return Err(error(format!("sqlite database is {} bytes, more than {MAX_DB_BYTES}", db.len())));
    }
    if db.len() < FILE_HEADER_LEN || !db.starts_with(MAGIC) {
        return Err(error("not a sqlite 3 database"));
    }
    let wal = wal.filter(|w| !w.is_empty());
    if let Some(wal) = wal {
        if wal.len() > MAX_DB_BYTES {
            return Err(error(format!("sqlite wal is {} bytes, more than {MAX_DB_BYTES}", wal.len())));
        }
    }

    // `_replay_dir` is declared before `conn` so it is dropped (and deleted) after it.
    let (_replay_dir, conn) = match wal {
        None => (None, open_in_memory(db)?),
        Some(wal) => {
            let (dir, conn) = open_with_wal(db, wal)?;
            (Some(dir), conn)
        }
    };
    harden(&conn)?;

    // A hostile file could make `Packages` a view over a runaway recursive query; views are
    // disabled by `harden`, and this gives a clear message for the common case.
    let kind: Option<String> = conn
        .query_row("SELECT type FROM sqlite_schema WHERE name = 'Packages' COLLATE NOCASE", [], |r| r.get(0))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(sql_error("schema"))?;
    match kind.as_deref() {
        Some("table") => {}
        Some(other) => return Err(error(format!("sqlite Packages is a {other}, not a table"))),
        None => return Err(error("sqlite database has no Packages table")),
    }

    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum").map_err(sql_error("query"))?;
    let mut rows = stmt.query([]).map_err(sql_error("query"))?;
    while let Some(row) = rows.next().map_err(sql_error("read"))? {
        let hnum: i64 = row.get(0).map_err(sql_error("hnum"))?;
        let blob = row
            .get_ref(1)
            .map_err(sql_error("blob"))?
            .as_blob()
            .map_err(|_| error(format!("sqlite row {hnum}: blob is not a blob")))?;
        f(hnum, blob)?;
    }
    Ok(())
}

/// Opens a copy of `db` held by SQLite in memory, read-only.
fn open_in_memory(db: &[u8]) -> Result<Connection, DbError> {
    let mut conn = Connection::open_in_memory().map_err(sql_error("open"))?;
    // A WAL-mode file (version bytes 2) makes SQLite look for a -wal and its shared-memory
    // index, which an in-memory database cannot have, and reads fail. With no -wal supplied
    // the main file is all there is, so SQLite's copy is marked rollback-mode (1); the
    // caller's bytes are not touched.
    let version = [db[FORMAT_VERSION_AT], db[FORMAT_VERSION_AT + 1]].map(|v| if v == 2 { 1 } else { v });
    let copy = db[..FORMAT_VERSION_AT].chain(&version[..]).chain(&db[FORMAT_VERSION_AT + 2..]);
    conn.deserialize_read_exact(MAIN_DB, copy, db.len(), true).map_err(sql_error("open"))?;
    Ok(conn)
}

/// Writes `db` and `wal` into a fresh private directory and opens the database read-only.
///
/// Why a file: the WAL holds committed transactions that rpm has not checkpointed into the
/// main file yet (a container build often stops right after `rpm -i`), so reading only the
/// main file would miss or mis-state packages. Only SQLite's own WAL code knows how to pick
/// the valid frames (salts, checksums, commit markers), and it only runs for an on-disk
/// database with a `-wal` file beside it; the in-memory (deserialize) path has no WAL. The
/// directory is created with owner-only permissions by `tempfile` and removed when the returned
/// [`tempfile::TempDir`] is dropped.
fn open_with_wal(db: &[u8], wal: &[u8]) -> Result<(tempfile::TempDir, Connection), DbError> {
    let io = |what: &'static str| move |e: std::io::Error| error(format!("sqlite wal replay: {what}: {e}"));
    let dir = tempfile::Builder::new().prefix("cascade-rpmdb-").tempdir().map_err(io("create temporary directory"))?;
    let path = dir.path().join("rpmdb.sqlite");
    std::fs::write(&path, db).map_err(io("write database copy"))?;
    std::fs::write(dir.path().join("rpmdb.sqlite-wal"), wal).map_err(io("write wal copy"))?;
    // Read-only on the database file; SQLite still builds the -shm index in the private
    // directory, and reads the WAL frames through it.
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&path, flags).map_err(sql_error("open"))?;
    Ok((dir, conn))
}

/// Turns off what a hostile schema could use: views, triggers, functions in the schema, and
/// writes to `sqlite_schema`.
fn harden(conn: &Connection) -> Result<(), DbError> {
    for (option, on) in [
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
    ] {
        conn.set_db_config(option, on).map_err(sql_error("configure"))?;
    }
    conn.pragma_update(None, "query_only", true).map_err(sql_error("configure"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_error(db: &[u8], expected: &str) {
        let err = for_each_blob(db, None, |_, _| Ok(())).expect_err("must fail");
        assert_eq!(err.to_string(), expected);
    }

    /// A database built in memory with `sql`, as bytes.
    fn database(sql: &str) -> Vec<u8> {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(sql).expect("sql");
        conn.serialize(MAIN_DB).expect("serialize").to_vec()
    }

    #[test]
    fn not_sqlite() {
        check_error(b"", "rpmdb.sqlite: not a sqlite 3 database");
        check_error(&[0u8; 4096], "rpmdb.sqlite: not a sqlite 3 database");
        check_error(&MAGIC[..], "rpmdb.sqlite: not a sqlite 3 database");
    }

    #[test]
    fn schema_checked() {
        check_error(&database("CREATE TABLE Other (x)"), "rpmdb.sqlite: sqlite database has no Packages table");
        check_error(
            &database("CREATE TABLE t (hnum, blob); CREATE VIEW Packages AS SELECT * FROM t"),
            "rpmdb.sqlite: sqlite Packages is a view, not a table",
        );
        let db =
            database("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob); INSERT INTO Packages VALUES (1, 'text')");
        check_error(&db, "rpmdb.sqlite: sqlite row 1: blob is not a blob");
    }

    #[test]
    fn rows_in_hnum_order() {
        let db = database(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             INSERT INTO Packages VALUES (3, x'03'), (1, x'01'), (2, x'0202');",
        );
        let mut seen = Vec::new();
        for_each_blob(&db, Some(&[]), |hnum, blob| {
            seen.push((hnum, blob.to_vec()));
            Ok(())
        })
        .expect("read");
        assert_eq!(seen, vec![(1, vec![1]), (2, vec![2, 2]), (3, vec![3])]);
    }

    #[test]
    fn corrupt_pages_are_an_error() {
        let mut db = database(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             INSERT INTO Packages (blob) VALUES (zeroblob(20000));",
        );
        // Overwrite everything after the first page (schema) with garbage.
        for b in db.iter_mut().skip(4096) {
            *b = 0xa5;
        }
        let err = for_each_blob(&db, None, |_, _| Ok(())).expect_err("corrupt");
        assert!(err.to_string().starts_with("rpmdb.sqlite: sqlite "), "{err}");
    }
}
