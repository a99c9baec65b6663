//! Helpers shared by the fuzz targets in `fuzz_targets/`: small limits so each input stays
//! fast, the feed parse contexts, and the ways one fuzz input is cut into several values.
//! Test harness code only; nothing here is part of cascade.

use cascade::actions::pkgindex::IndexLimits;
use cascade::advisories::{Advisory, Status};
use cascade::feeds::formats::{self, Format, ParseContext};
use cascade::layers::LayerLimits;

/// Layer caps small enough that one input never costs more than a few MB or a few ms.
pub const LAYER_LIMITS: LayerLimits = LayerLimits {
    max_file_bytes: 1024 * 1024,
    max_kept_bytes: 2 * 1024 * 1024,
    max_layer_bytes: 8 * 1024 * 1024,
    max_entries: 4096,
};

/// Package-index caps of the same spirit.
pub const INDEX_LIMITS: IndexLimits =
    IndexLimits { max_bytes: 8 * 1024 * 1024, max_line_bytes: 64 * 1024, max_stanzas: 4096 };

/// Splits `data` at each `separator` into at most `n` parts (the last part keeps any further
/// separators). Always returns exactly `n` parts; missing ones are empty.
pub fn split_n(data: &[u8], separator: u8, n: usize) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = data.splitn(n, |&b| b == separator).collect();
    while parts.len() < n {
        parts.push(&[]);
    }
    parts
}

/// Splits `data` at the byte string `separator`, as many times as it occurs.
pub fn split_on<'a>(data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = find(rest, separator) {
        parts.push(&rest[..at]);
        rest = &rest[at + separator.len()..];
    }
    parts.push(rest);
    parts
}

/// The first position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The contexts every feed input is parsed with: one that knows nothing (as the `formats`
/// tests use), and one naming a distro and a few releases so the release filters run too.
pub fn feed_contexts(distro: &str, releases: &[&str]) -> [ParseContext; 2] {
    [
        ParseContext { feed: "fuzz".into(), ..ParseContext::default() },
        ParseContext {
            feed: "fuzz".into(),
            distro: Some(distro.into()),
            releases: releases.iter().map(|r| r.to_string()).collect(),
            document_url: Some("https://example.org/fuzz".into()),
        },
    ]
}

/// Checks what `advisories::Affected` promises of every entry: a fixed version only with
/// status `Fixed`; and, when `release_filtered` (the parser documents that it drops releases
/// the context does not name), only releases the context names.
pub fn check_advisory(advisory: &Advisory, ctx: &ParseContext, release_filtered: bool) {
    for a in &advisory.affected {
        assert!(
            a.fixed_version.is_none() || a.status == Status::Fixed,
            "{}: {} {} {} has fixed version {:?} with status {:?}",
            advisory.id,
            a.distro,
            a.release,
            a.package,
            a.fixed_version,
            a.status
        );
        if release_filtered && !ctx.releases.is_empty() {
            assert!(
                ctx.releases.contains(&a.release),
                "{}: {} {} is outside the feed's releases {:?}",
                advisory.id,
                a.package,
                a.release,
                ctx.releases
            );
        }
    }
}

/// Parses `data` as `format` under each of `contexts` through the dispatching
/// `feeds::formats::parse`, checking every advisory with [`check_advisory`].
pub fn fuzz_feed(format: Format, data: &[u8], contexts: &[ParseContext], release_filtered: bool) {
    for ctx in contexts {
        let _ = formats::parse(format, data, ctx, &mut |advisory| check_advisory(&advisory, ctx, release_filtered));
    }
}

/// An NDB file holding `blob` as package 1: file header, one slot page, the blob's blocks.
pub fn ndb_with(blob: &[u8]) -> Vec<u8> {
    const SLOT_PAGE: usize = 4096;
    const BLOCK: usize = 16;
    let blocks = (16 + blob.len() + 12).div_ceil(BLOCK);
    let mut db = Vec::with_capacity(SLOT_PAGE + blocks * BLOCK);
    // File header: magic, version 0, generation 0, 1 slot page, next package index 2.
    db.extend_from_slice(b"RpmP");
    for word in [0u32, 0, 1, 2, 0, 0, 0] {
        db.extend_from_slice(&word.to_le_bytes());
    }
    // Slot 1 is package 1 at the first block after the slot page; the other slots are free.
    let first_block = (SLOT_PAGE / BLOCK) as u32;
    db.extend_from_slice(b"Slot");
    for word in [1u32, first_block, blocks as u32] {
        db.extend_from_slice(&word.to_le_bytes());
    }
    while db.len() < SLOT_PAGE {
        db.extend_from_slice(b"Slot");
        db.extend_from_slice(&[0; 12]);
    }
    // The blob: header, bytes, padding, trailer (checksum unchecked, length, end magic).
    db.extend_from_slice(b"BlbS");
    for word in [1u32, 0, blob.len() as u32] {
        db.extend_from_slice(&word.to_le_bytes());
    }
    db.extend_from_slice(blob);
    db.resize(SLOT_PAGE + blocks * BLOCK - 12, 0);
    db.extend_from_slice(&0u32.to_le_bytes());
    db.extend_from_slice(&(blob.len() as u32).to_le_bytes());
    db.extend_from_slice(b"BlbE");
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The NDB frame is accepted: what fails is the header inside it.
    #[test]
    fn ndb_frame_reaches_the_header() {
        for blob in [&b""[..], b"\x8e\xad\xe8\x01", &[0xff; 40]] {
            let err = cascade::inventory::rpm::read_ndb(&ndb_with(blob)).expect_err("not a header");
            assert!(err.message.contains("header"), "{blob:?}: {}", err.message);
        }
        // An empty header (no index entries, no data) is well-formed but has no NAME tag.
        let err = cascade::inventory::rpm::read_ndb(&ndb_with(&[0u8; 8])).expect_err("no name");
        assert!(err.message.contains("has no"), "{}", err.message);
    }

    #[test]
    fn splits() {
        assert_eq!(split_n(b"a\nb\nc\nd", b'\n', 3), vec![&b"a"[..], b"b", b"c\nd"]);
        assert_eq!(split_n(b"a", b'\n', 3), vec![&b"a"[..], b"", b""]);
        assert_eq!(split_on(b"aXYbXY", b"XY"), vec![&b"a"[..], b"b", b""]);
    }
}
