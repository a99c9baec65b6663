//! Fuzz target `rpm_ndb`: arbitrary bytes as a SUSE NDB `Packages.db`
//! (`inventory::rpm::read_ndb`), and through the dispatching `inventory::rpm::read`.
//! Property: both agree on whether the database reads.
#![no_main]

use cascade::inventory::rpm::{read, read_ndb, RpmDbKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let direct = read_ndb(data);
    let dispatched = read(RpmDbKind::Ndb, "usr/lib/sysimage/rpm/Packages.db", data, None);
    assert_eq!(direct.is_ok(), dispatched.is_ok(), "read_ndb and rpm::read disagree");
});
