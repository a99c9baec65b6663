//! Fuzz target `mail`: arbitrary bytes as one raw message (`mail::parse_message`: MIME, PGP
//! clear-signing, quoting, all body parsers), and as a subject line plus body text (lossy UTF-8,
//! cut at the first newline) for each body parser (`mail::{debian,ubuntu,redhat}::parse`),
//! without and with a sending date. Properties: `cascade_fuzz::check_advisory`.
#![no_main]

use cascade::feeds::formats::ParseContext;
use cascade::mail::{self, SentAt};
use cascade_fuzz::check_advisory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::default();
    if let Ok(found) = mail::parse_message(data) {
        assert!(!found.advisories.is_empty(), "a parsed message with no advisory");
        for advisory in &found.advisories {
            check_advisory(advisory, &ctx, false);
        }
    }

    let text = String::from_utf8_lossy(data);
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    let sent = SentAt { year: 2024, rfc3339: "2024-05-06T12:00:00Z".into() };
    for parse in [mail::debian::parse, mail::ubuntu::parse, mail::redhat::parse] {
        for sent in [None, Some(&sent)] {
            if let Ok(Some(advisory)) = parse(subject, body, sent) {
                check_advisory(&advisory, &ctx, false);
            }
        }
    }
});
