//! Fuzz target `usn_db`: arbitrary bytes as the Ubuntu USN database (JSON or bzip2)
//! (`feeds::formats::usn_db` through `feeds::formats::parse`), with an empty parse context and
//! one naming a distro and releases. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_feed(Format::UsnDatabase, data, &feed_contexts("ubuntu", &["20.04", "22.04"]), true);
});
