//! Fuzz target `debian_list`: arbitrary bytes as each of the Debian security-tracker text lists
//! (`data/DSA/list`, `data/DLA/list`, `data/CVE/list`; `feeds::formats::debian_list` through
//! `feeds::formats::parse`), with an empty parse context and one naming releases.
//! Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let contexts = feed_contexts("debian", &["11", "12"]);
    for format in [Format::DebianDsaList, Format::DebianDlaList, Format::DebianCveList] {
        fuzz_feed(format, data, &contexts, true);
    }
});
