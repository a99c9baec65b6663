//! Fuzz target `image_reference`: the first line of the input (UTF-8 only) as an image
//! reference (`images::reference::ImageRef`), a digest (`images::digest::Digest`), a scan
//! source (`images::SourceRef::parse`), a parent reference (`graph::canonical`) and a registry
//! host (`images::registry::is_loopback`); the second line as a notify image pattern
//! (`notify::spec::matches`). Properties: a parsed reference or digest prints to a string
//! that parses to an equal value; a parsed tag is a valid tag; `canonical` is idempotent;
//! `a*b` matches every text made of `a`, anything, `b`.
#![no_main]

use cascade::images::digest::Digest;
use cascade::images::reference::{is_valid_tag, ImageRef};
use cascade::images::registry::is_loopback;
use cascade::images::SourceRef;
use cascade::{graph, notify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (line, rest) = text.split_once('\n').unwrap_or((text, ""));

    if let Ok(reference) = line.parse::<ImageRef>() {
        let printed = reference.to_string();
        let again = printed.parse::<ImageRef>().unwrap_or_else(|e| panic!("{line:?} printed as {printed:?}: {e}"));
        assert_eq!(again, reference, "{line:?} printed as {printed:?} parses to another reference");
        if let Some(tag) = &reference.tag {
            assert!(is_valid_tag(tag), "{line:?} parsed with the invalid tag {tag:?}");
        }
        let _ = (reference.reference(), reference.api_host(), reference.name());
        let _ = is_loopback(&reference.registry);
    }
    if let Ok(digest) = line.parse::<Digest>() {
        let printed = digest.to_string();
        let again = printed.parse::<Digest>().unwrap_or_else(|e| panic!("{line:?} printed as {printed:?}: {e}"));
        assert_eq!(again, digest);
        let _ = digest.ensure_verifiable();
        let _ = digest.matches(rest.as_bytes());
    }
    let _ = SourceRef::parse(line).map(|s| s.to_string());
    let canonical = graph::canonical(line);
    assert_eq!(graph::canonical(&canonical), canonical, "canonical({line:?}) is not canonical");
    let _ = is_loopback(line);

    let pattern = rest.split('\n').next().unwrap_or_default();
    let _ = notify::spec::matches(pattern, line);
    if let Some((a, b)) = pattern.split_once('*') {
        if !a.contains('*') && !b.contains('*') {
            let text = format!("{a}{line}{b}");
            assert!(notify::spec::matches(pattern, &text), "{pattern:?} does not match {text:?}");
        }
    }
});
