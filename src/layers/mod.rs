//! Streaming layer reader: one pass over a layer blob (gzip, zstd or plain tar), keeping only
//! the entries that matter for the inventory (package databases, OS identification, and the
//! symlinks, directories and whiteouts that decide where those files end up). Pure over a
//! `Read`: never writes to disk, never holds more than [`LayerLimits`] allows.

mod reader;
mod wanted;

pub use reader::{read_layer, Compression, LayerError, LimitKind, MAX_HEADER_BYTES};
pub use wanted::{is_wanted_file, relevance, Relevance, SKIPPED_SUFFIX, WANTED_DIRS, WANTED_FILES};

/// Tar and layer fixtures built in code, for the tests of this module and the overlay.
#[cfg(test)]
pub(crate) use reader::fixtures;

use serde::{Deserialize, Serialize};

/// Bumped whenever what a layer extract contains changes (new wanted paths, new entry
/// kinds): cached extracts of an older version are ignored and the layer is read again.
pub const EXTRACTOR_VERSION: u32 = 1;

/// Caps on one layer. A layer that exceeds any of them fails with [`LayerError::Limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerLimits {
    /// Largest single file kept in memory (a package database), in bytes.
    pub max_file_bytes: u64,
    /// Sum of the kept files of one layer, in bytes.
    pub max_kept_bytes: u64,
    /// Decompressed bytes read from one layer (catches decompression bombs).
    pub max_layer_bytes: u64,
    /// Tar entries in one layer.
    pub max_entries: u64,
}

impl Default for LayerLimits {
    fn default() -> Self {
        LayerLimits {
            max_file_bytes: 256 * 1024 * 1024,
            max_kept_bytes: 512 * 1024 * 1024,
            max_layer_bytes: 32 * 1024 * 1024 * 1024,
            max_entries: 2_000_000,
        }
    }
}

/// What one layer contributes to the files that matter, in tar order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerExtract {
    pub entries: Vec<Entry>,
    /// Tar entries seen in the whole layer.
    pub n_entries: u64,
    /// Decompressed tar bytes read.
    pub n_bytes: u64,
}

/// One kept tar entry. `path` is relative to the image root, normalised: no leading `/`,
/// no `.` or empty components, no trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file with its full content (only at wanted file paths).
    File(Vec<u8>),
    Dir,
    /// A symbolic link and its target exactly as stored (may be absolute or relative).
    Symlink(String),
    /// A hard link (tar type `1`) at a wanted file path to another path of the image
    /// (normalised like `path`); the overlay copies the target's content when applying it.
    Hardlink(String),
    /// `.wh.<name>`: `path` (the name without the prefix) is deleted from lower layers.
    /// Also recorded for an entry that replaces `path` with nothing the inventory can read:
    /// a device node or fifo at a wanted file path, or a non-directory at an ancestor path.
    Whiteout,
    /// `.wh..wh..opq`: everything below the directory `path` in lower layers is hidden
    /// (`path` is empty for the root).
    Opaque,
}
