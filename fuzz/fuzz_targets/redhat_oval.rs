//! Fuzz target `redhat_oval`: arbitrary bytes as Red Hat OVAL XML (plain or bzip2)
//! (`feeds::formats::redhat_oval` through `feeds::formats::parse`), with an empty parse context and
//! one naming a distro and releases. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_feed(Format::RedhatOval, data, &feed_contexts("rhel", &["8"]), false);
});
