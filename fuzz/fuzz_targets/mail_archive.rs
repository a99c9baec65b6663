//! Fuzz target `mail_archive`: arbitrary bytes as a mailing-list archive (mbox, or gzip)
//! (`feeds::formats::mail_archive` through `feeds::formats::parse`), with an empty parse context and
//! one naming a distro and releases. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::Format;
use cascade_fuzz::{feed_contexts, fuzz_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_feed(Format::MailArchive, data, &feed_contexts("debian", &["12"]), false);
});
