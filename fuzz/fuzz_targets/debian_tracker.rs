//! Fuzz target `debian_tracker`: arbitrary bytes as the Debian security-tracker JSON
//! (`feeds::formats::debian_tracker` through `feeds::formats::parse`), with an empty parse context and
//! one naming a distro and releases. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_feed(Format::DebianTrackerJson, data, &feed_contexts("debian", &["11", "12"]), true);
});
