//! Fuzz target `rss`: arbitrary bytes as an RSS 1.0 / RSS 2.0 / Atom announcement feed
//! (`feeds::formats::rss` through `feeds::formats::parse`), with an empty parse context and
//! one naming a distro and releases. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_feed(Format::Rss, data, &feed_contexts("debian", &["12"]), false);
});
