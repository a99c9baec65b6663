//! Fuzz target `redhat_csaf`: arbitrary bytes as a Red Hat CSAF (VEX or RHSA) document
//! (`feeds::formats::redhat_csaf` through `feeds::formats::parse`), with an empty parse context and
//! one naming a distro and releases. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_feed(Format::RedhatCsaf, data, &feed_contexts("rhel", &["8", "9"]), true);
});
