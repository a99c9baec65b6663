//! Fuzz target `registry_events`: arbitrary bytes as a registry notification envelope
//! (`watch::events::push_hints`). Properties: hints are deduplicated, and each has a
//! non-empty lowercase host and a non-empty repository.
#![no_main]

use cascade::watch::events::push_hints;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(hints) = push_hints(data) else { return };
    for (i, hint) in hints.iter().enumerate() {
        assert!(!hint.host.is_empty() && hint.host == hint.host.to_ascii_lowercase(), "host {:?}", hint.host);
        assert!(!hint.repository.is_empty());
        assert!(hint.tag.as_deref() != Some(""), "an empty tag");
        assert!(!hints[..i].contains(hint), "duplicate hint {hint:?}");
    }
});
