//! Fuzz target `apk_installed`: arbitrary bytes as `lib/apk/db/installed`
//! (`inventory::apk::parse_installed`).
#![no_main]

use cascade::inventory::apk::parse_installed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_installed("lib/apk/db/installed", data);
});
