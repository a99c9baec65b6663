//! Fuzz target `osv`: arbitrary bytes as OSV JSON (one record or an array)
//! (`feeds::formats::osv` through `feeds::formats::parse`), with an empty parse context and
//! one naming a distro and releases. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_feed(Format::Osv, data, &feed_contexts("debian", &["11", "22.04", "3.19"]), true);
});
