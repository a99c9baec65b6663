//! Fuzz target `rpm_header`: arbitrary bytes as one rpm header blob. The header decoder
//! (`inventory::rpm::header`) is private, so the blob is framed in a minimal, valid NDB
//! `Packages.db` and read with the public `inventory::rpm::read_ndb`: every input reaches
//! `Header::parse` and the tag readers.
#![no_main]

use cascade::inventory::rpm::read_ndb;
use cascade_fuzz::ndb_with;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packages) = read_ndb(&ndb_with(data)) {
        for package in &packages {
            // Reading RpmPackage's fields and the inventory view must not panic either.
            let _ = package.to_package();
        }
    }
});
