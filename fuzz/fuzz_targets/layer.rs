//! Fuzz target `layer`: arbitrary bytes as a layer blob (gzip, zstd or plain tar) through
//! `layers::read_layer` under small limits. Property: a layer that reads stays within its
//! `LayerLimits` (entries, decompressed bytes, each kept file, all kept files).
#![no_main]

use cascade::layers::{read_layer, EntryKind};
use cascade_fuzz::LAYER_LIMITS;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = LAYER_LIMITS;
    let Ok(extract) = read_layer(data, &limits) else { return };
    assert!(extract.n_entries <= limits.max_entries, "{} entries over the cap", extract.n_entries);
    assert!(extract.n_bytes <= limits.max_layer_bytes, "{} bytes over the cap", extract.n_bytes);
    // Normalised as `layers::Entry` documents: relative, no `.`, `..` or empty components
    // (the root, for an opaque marker, is the empty path).
    let normalised = |path: &str| path.is_empty() || path.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    let mut kept = 0u64;
    for entry in &extract.entries {
        assert!(normalised(&entry.path), "path not normalised: {:?}", entry.path);
        match &entry.kind {
            EntryKind::File(content) => {
                assert!(content.len() as u64 <= limits.max_file_bytes, "kept file of {} bytes", content.len());
                kept += content.len() as u64;
            }
            EntryKind::Hardlink(target) => assert!(normalised(target), "link target not normalised: {target:?}"),
            _ => {}
        }
    }
    assert!(kept <= limits.max_kept_bytes, "{kept} kept bytes over the cap");
});
