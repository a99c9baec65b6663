//! Fuzz target `rpm_bdb`: arbitrary bytes as a Berkeley DB hash `Packages`
//! (`inventory::rpm::read_bdb`), both byte orders.
#![no_main]

use cascade::inventory::rpm::read_bdb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_bdb(data);
});
