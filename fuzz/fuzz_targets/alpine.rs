//! Fuzz target `alpine`: arbitrary bytes as an Alpine secdb JSON document
//! (`feeds::formats::alpine` through `feeds::formats::parse`), with an empty parse context and
//! one naming a distro and releases. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_feed(Format::AlpineSecdb, data, &feed_contexts("alpine", &["3.19"]), true);
});
