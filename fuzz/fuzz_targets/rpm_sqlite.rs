//! Fuzz target `rpm_sqlite`: arbitrary bytes as `rpmdb.sqlite` (`inventory::rpm::read_sqlite`,
//! no `-wal`: the wal replay writes a temporary directory per input, too slow to fuzz).
//! Inputs that do not start with SQLite's magic are given it, so every input reaches SQLite.
#![no_main]

use cascade::inventory::rpm::read_sqlite;
use libfuzzer_sys::fuzz_target;

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

fuzz_target!(|data: &[u8]| {
    if data.starts_with(MAGIC) {
        let _ = read_sqlite(data, None);
    } else {
        let mut db = MAGIC.to_vec();
        db.extend_from_slice(data);
        let _ = read_sqlite(&db, None);
    }
});
