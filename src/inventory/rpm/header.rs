//! One rpm header blob: the index/data-store layout, its bounds, and the handful of tags the
//! inventory reads. Pure over a byte slice; must not know which database the blob came from,
//! and must never allocate or index by a size the blob declares without checking it first.
//!
//! Layout (all integers big-endian, whatever the database's byte order):
//!
//! ```text
//! [8e ad e8 01 00 00 00 00]   optional lead: present in Berkeley DB / NDB blobs, absent in sqlite
//! il: u32                     number of index entries
//! dl: u32                     size of the data store in bytes
//! il x { tag: u32, type: u32, offset: u32, count: u32 }
//! dl bytes of data store      entries point into it by offset
//! ```

use std::borrow::Cow;

use super::RpmPackage;

/// The 8-byte header lead: magic `8e ad e8`, header version 1, four reserved bytes.
pub const LEAD: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
/// Most index entries a header may declare (rpm's own cap).
pub const MAX_INDEX_ENTRIES: u32 = 0x10000;
/// Largest data store a header may declare, in bytes (rpm's own cap, 256 MiB).
pub const MAX_DATA_BYTES: u32 = 0x1000_0000;

pub const TAG_NAME: u32 = 1000;
pub const TAG_VERSION: u32 = 1001;
pub const TAG_RELEASE: u32 = 1002;
pub const TAG_EPOCH: u32 = 1003;
pub const TAG_ARCH: u32 = 1022;
pub const TAG_SOURCERPM: u32 = 1044;
pub const TAG_MODULARITYLABEL: u32 = 5096;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// Why a header blob could not be read. Every variant names the offending tag or size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("header truncated: {need} bytes needed, {len} present")]
    Truncated { need: u64, len: usize },
    #[error("header declares {0} index entries, more than {MAX_INDEX_ENTRIES}")]
    TooManyEntries(u32),
    #[error("header declares a {0}-byte data store, more than {MAX_DATA_BYTES}")]
    DataTooLarge(u32),
    #[error("header tag {tag}: offset {offset} with count {count} lies outside the {dl}-byte data store")]
    OutOfBounds { tag: u32, offset: u32, count: u32, dl: u32 },
    #[error("header tag {tag}: type {found}, expected {expected}")]
    BadType { tag: u32, found: u32, expected: &'static str },
    #[error("header tag {tag}: count is 0")]
    ZeroCount { tag: u32 },
    #[error("header tag {tag}: string not terminated within the data store")]
    Unterminated { tag: u32 },
    #[error("header has no {name} tag ({tag})")]
    Missing { tag: u32, name: &'static str },
}

/// A header whose preamble and sizes have been checked; tags are read on demand.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    index: &'a [u8],
    store: &'a [u8],
}

/// One 16-byte index entry, as declared (not yet checked against the data store).
#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    tag: u32,
    kind: u32,
    offset: u32,
    count: u32,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

impl<'a> Header<'a> {
    /// Checks the preamble (optional lead, `il`, `dl`) and that the index and data store fit
    /// in `blob`. Bytes after the data store are ignored.
    pub fn parse(blob: &'a [u8]) -> Result<Header<'a>, HeaderError> {
        // A lead-less blob cannot start with the magic: il would be 0x8eade801, over the cap.
        let (lead_len, body) = match blob.starts_with(&LEAD[..4]) {
            false => (0, blob),
            true => match blob.get(LEAD.len()..) {
                Some(body) => (LEAD.len(), body),
                None => return Err(HeaderError::Truncated { need: 16, len: blob.len() }),
            },
        };
        let truncated = |need: u64| HeaderError::Truncated { need: need + lead_len as u64, len: blob.len() };
        let (Some(il), Some(dl)) = (be32(body, 0), be32(body, 4)) else {
            return Err(truncated(8));
        };
        if il > MAX_INDEX_ENTRIES {
            return Err(HeaderError::TooManyEntries(il));
        }
        if dl > MAX_DATA_BYTES {
            return Err(HeaderError::DataTooLarge(dl));
        }
        // Both caps keep this far below u64 (and 64-bit usize) overflow.
        let index_end = 8 + 16 * u64::from(il);
        let store_end = index_end + u64::from(dl);
        if (body.len() as u64) < store_end {
            return Err(truncated(store_end));
        }
        // Lossless: store_end <= body.len().
        let (index_end, store_end) = (index_end as usize, store_end as usize);
        Ok(Header { index: &body[8..index_end], store: &body[index_end..store_end] })
    }

    fn entries(&self) -> impl Iterator<Item = IndexEntry> + 'a {
        self.index.chunks_exact(16).filter_map(|e| {
            Some(IndexEntry { tag: be32(e, 0)?, kind: be32(e, 4)?, offset: be32(e, 8)?, count: be32(e, 12)? })
        })
    }

    /// The first index entry for `tag`; rpm headers carry each tag once.
    fn find(&self, tag: u32) -> Option<IndexEntry> {
        self.entries().find(|e| e.tag == tag)
    }

    fn out_of_bounds(&self, e: IndexEntry) -> HeaderError {
        HeaderError::OutOfBounds { tag: e.tag, offset: e.offset, count: e.count, dl: self.store.len() as u32 }
    }

    /// The first string of a STRING, STRING_ARRAY or I18NSTRING tag, without its NUL.
    /// Non-UTF-8 bytes are replaced (rpm itself does not promise an encoding).
    pub fn string(&self, tag: u32) -> Result<Option<Cow<'a, str>>, HeaderError> {
        let Some(e) = self.find(tag) else { return Ok(None) };
        if !matches!(e.kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(HeaderError::BadType { tag, found: e.kind, expected: "a string" });
        }
        if e.count == 0 {
            return Err(HeaderError::ZeroCount { tag });
        }
        let store: &'a [u8] = self.store;
        let rest = store.get(e.offset as usize..).filter(|r| !r.is_empty()).ok_or_else(|| self.out_of_bounds(e))?;
        let nul = rest.iter().position(|&b| b == 0).ok_or(HeaderError::Unterminated { tag })?;
        Ok(Some(String::from_utf8_lossy(&rest[..nul])))
    }

    /// The first value of an INT32 tag.
    pub fn int32(&self, tag: u32) -> Result<Option<u32>, HeaderError> {
        let Some(e) = self.find(tag) else { return Ok(None) };
        if e.kind != TYPE_INT32 {
            return Err(HeaderError::BadType { tag, found: e.kind, expected: "int32" });
        }
        if e.count == 0 {
            return Err(HeaderError::ZeroCount { tag });
        }
        // The whole array must lie in the store, not just the value we read.
        let need = u64::from(e.count) * 4 + u64::from(e.offset);
        if need > self.store.len() as u64 {
            return Err(self.out_of_bounds(e));
        }
        be32(self.store, e.offset as usize).map(Some).ok_or_else(|| self.out_of_bounds(e))
    }

    fn required(&self, tag: u32, name: &'static str) -> Result<String, HeaderError> {
        self.string(tag)?.map(Cow::into_owned).ok_or(HeaderError::Missing { tag, name })
    }

    fn optional(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        Ok(self.string(tag)?.filter(|s| !s.is_empty() && s != "(none)").map(Cow::into_owned))
    }

    /// The NAME tag, required of every header.
    pub fn name(&self) -> Result<String, HeaderError> {
        self.required(TAG_NAME, "NAME")
    }

    /// The package fields the inventory needs. NAME, VERSION and RELEASE are required; ARCH
    /// is empty when absent; an empty or `(none)` SOURCERPM or MODULARITYLABEL is `None`.
    pub fn package(&self) -> Result<RpmPackage, HeaderError> {
        Ok(RpmPackage {
            name: self.name()?,
            epoch: self.int32(TAG_EPOCH)?,
            version: self.required(TAG_VERSION, "VERSION")?,
            release: self.required(TAG_RELEASE, "RELEASE")?,
            arch: self.string(TAG_ARCH)?.map(Cow::into_owned).unwrap_or_default(),
            source_rpm: self.optional(TAG_SOURCERPM)?,
            modularity_label: self.optional(TAG_MODULARITYLABEL)?,
        })
    }
}

/// Test-only writer of header blobs, shared with the database readers' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Builds a header: entries are appended in call order, values packed into the store.
    #[derive(Default)]
    pub(crate) struct HeaderWriter {
        index: Vec<[u32; 4]>,
        store: Vec<u8>,
    }

    impl HeaderWriter {
        pub(crate) fn new() -> HeaderWriter {
            HeaderWriter::default()
        }

        /// An index entry with arbitrary values (for malformed headers).
        pub(crate) fn raw(mut self, tag: u32, kind: u32, offset: u32, count: u32) -> Self {
            self.index.push([tag, kind, offset, count]);
            self
        }

        pub(crate) fn string(mut self, tag: u32, s: &str) -> Self {
            let offset = self.store.len() as u32;
            self.store.extend_from_slice(s.as_bytes());
            self.store.push(0);
            self.raw(tag, TYPE_STRING, offset, 1)
        }

        pub(crate) fn int32(mut self, tag: u32, v: u32) -> Self {
            while self.store.len() % 4 != 0 {
                self.store.push(0);
            }
            let offset = self.store.len() as u32;
            self.store.extend_from_slice(&v.to_be_bytes());
            self.raw(tag, TYPE_INT32, offset, 1)
        }

        /// Raw bytes appended to the data store (for unterminated strings).
        pub(crate) fn store_bytes(mut self, b: &[u8]) -> Self {
            self.store.extend_from_slice(b);
            self
        }

        pub(crate) fn build(&self, lead: bool) -> Vec<u8> {
            let mut out = Vec::new();
            if lead {
                out.extend_from_slice(&LEAD);
            }
            out.extend_from_slice(&(self.index.len() as u32).to_be_bytes());
            out.extend_from_slice(&(self.store.len() as u32).to_be_bytes());
            for entry in &self.index {
                for v in entry {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            out.extend_from_slice(&self.store);
            out
        }
    }

    /// A complete, well-formed header for `name-[epoch:]version-release.arch`.
    pub(crate) fn package(name: &str, epoch: Option<u32>, version: &str, release: &str, arch: &str) -> HeaderWriter {
        let w = HeaderWriter::new().string(TAG_NAME, name).string(TAG_VERSION, version).string(TAG_RELEASE, release);
        let w = match epoch {
            Some(e) => w.int32(TAG_EPOCH, e),
            None => w,
        };
        w.string(TAG_ARCH, arch).string(TAG_SOURCERPM, &format!("{name}-{version}-{release}.src.rpm"))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{package, HeaderWriter};
    use super::*;

    /// Decodes `blob` and renders the package (or the error) as one line.
    fn render(blob: &[u8]) -> String {
        match Header::parse(blob).and_then(|h| h.package()) {
            Ok(p) => format!(
                "{} {}{}-{} {} src={} module={}",
                p.name,
                p.epoch.map(|e| format!("{e}:")).unwrap_or_default(),
                p.version,
                p.release,
                p.arch,
                p.source_rpm.as_deref().unwrap_or("-"),
                p.modularity_label.as_deref().unwrap_or("-"),
            ),
            Err(e) => format!("error: {e}"),
        }
    }

    fn check(blob: &[u8], expected: &str) {
        assert_eq!(render(blob), expected, "blob: {blob:02x?}");
    }

    fn bash() -> HeaderWriter {
        package("bash", None, "4.4", "19.6.1", "x86_64")
    }

    #[test]
    fn well_formed() {
        check(&bash().build(false), "bash 4.4-19.6.1 x86_64 src=bash-4.4-19.6.1.src.rpm module=-");
        check(&bash().build(true), "bash 4.4-19.6.1 x86_64 src=bash-4.4-19.6.1.src.rpm module=-");
        check(
            &package("hello", Some(1), "0.0.1", "rls", "x86_64").build(true),
            "hello 1:0.0.1-rls x86_64 src=hello-0.0.1-rls.src.rpm module=-",
        );
        check(
            &package("zero", Some(0), "1", "1", "noarch").build(false),
            "zero 0:1-1 noarch src=zero-1-1.src.rpm module=-",
        );
        check(
            &bash().string(TAG_MODULARITYLABEL, "nodejs:18:8090020230810:a75119d5").build(false),
            "bash 4.4-19.6.1 x86_64 src=bash-4.4-19.6.1.src.rpm module=nodejs:18:8090020230810:a75119d5",
        );
        // Trailing bytes after the data store are ignored.
        let mut blob = bash().build(false);
        blob.extend_from_slice(b"trailing");
        check(&blob, "bash 4.4-19.6.1 x86_64 src=bash-4.4-19.6.1.src.rpm module=-");
    }

    #[test]
    fn optional_fields() {
        let base = || {
            HeaderWriter::new()
                .string(TAG_NAME, "gpg-pubkey")
                .string(TAG_VERSION, "fd431d51")
                .string(TAG_RELEASE, "4ae0493b")
        };
        check(&base().build(false), "gpg-pubkey fd431d51-4ae0493b  src=- module=-");
        check(&base().string(TAG_SOURCERPM, "(none)").build(false), "gpg-pubkey fd431d51-4ae0493b  src=- module=-");
        check(
            &base().string(TAG_SOURCERPM, "").string(TAG_MODULARITYLABEL, "").build(false),
            "gpg-pubkey fd431d51-4ae0493b  src=- module=-",
        );
    }

    #[test]
    fn truncated() {
        let blob = bash().build(false);
        check(&[], "error: header truncated: 8 bytes needed, 0 present");
        check(&blob[..5], "error: header truncated: 8 bytes needed, 5 present");
        let need = blob.len();
        check(&blob[..need - 1], &format!("error: header truncated: {need} bytes needed, {} present", need - 1));
        // Only the lead.
        check(&LEAD, "error: header truncated: 16 bytes needed, 8 present");
        check(&LEAD[..3], "error: header truncated: 8 bytes needed, 3 present");
        let with_lead = bash().build(true);
        check(&with_lead[..20], &format!("error: header truncated: {} bytes needed, 20 present", with_lead.len()));
    }

    #[test]
    fn declared_sizes_capped() {
        let mut blob = vec![0, 1, 0, 1, 0, 0, 0, 0];
        check(&blob, "error: header declares 65537 index entries, more than 65536");
        blob = vec![0, 0, 0, 1, 0x10, 0, 0, 1];
        check(&blob, "error: header declares a 268435457-byte data store, more than 268435456");
        blob = vec![0xff; 8];
        check(&blob, "error: header declares 4294967295 index entries, more than 65536");
        // Within the caps but far larger than the blob: an error, no allocation.
        blob = vec![0, 1, 0, 0, 0x10, 0, 0, 0];
        check(&blob, "error: header truncated: 269484040 bytes needed, 8 present");
    }

    /// The data-store size of what `w` builds.
    fn dl(w: &HeaderWriter) -> u32 {
        let blob = w.build(false);
        u32::from_be_bytes([blob[4], blob[5], blob[6], blob[7]])
    }

    #[test]
    fn offsets_past_data_store() {
        let dl = dl(&bash());
        let oob = |tag: u32, offset: u32, count: u32| {
            format!("error: header tag {tag}: offset {offset} with count {count} lies outside the {dl}-byte data store")
        };
        check(&bash().raw(TAG_EPOCH, TYPE_INT32, 1000, 1).build(false), &oob(TAG_EPOCH, 1000, 1));
        check(&bash().raw(TAG_EPOCH, TYPE_INT32, dl - 3, 1).build(false), &oob(TAG_EPOCH, dl - 3, 1));
        // The value fits but the declared array runs past the store.
        check(&bash().raw(TAG_EPOCH, TYPE_INT32, dl - 4, 2).build(false), &oob(TAG_EPOCH, dl - 4, 2));
        check(&bash().raw(TAG_EPOCH, TYPE_INT32, 0, u32::MAX).build(false), &oob(TAG_EPOCH, 0, u32::MAX));
        check(&bash().raw(TAG_EPOCH, TYPE_INT32, u32::MAX, 1).build(false), &oob(TAG_EPOCH, u32::MAX, 1));
        // A string starting exactly at, or far past, the end of the store.
        check(&bash().raw(TAG_MODULARITYLABEL, TYPE_STRING, dl, 1).build(false), &oob(TAG_MODULARITYLABEL, dl, 1));
        let w = HeaderWriter::new().raw(TAG_NAME, TYPE_STRING, u32::MAX, 1).store_bytes(b"x\0");
        check(
            &w.build(false),
            "error: header tag 1000: offset 4294967295 with count 1 lies outside the 2-byte data store",
        );
    }

    #[test]
    fn unterminated_string() {
        // Offset 0 is "bash\0": terminated.
        let w = bash().store_bytes(b"abc").raw(TAG_MODULARITYLABEL, TYPE_STRING, 0, 1);
        check(&w.build(false), "bash 4.4-19.6.1 x86_64 src=bash-4.4-19.6.1.src.rpm module=bash");
        // The tail "abc" runs to the end of the store with no NUL.
        let w = bash().store_bytes(b"abc").raw(TAG_MODULARITYLABEL, TYPE_STRING, dl(&bash()), 1);
        check(&w.build(false), "error: header tag 5096: string not terminated within the data store");
    }

    #[test]
    fn bad_type_and_count() {
        let w = HeaderWriter::new().int32(TAG_NAME, 5).string(TAG_VERSION, "1").string(TAG_RELEASE, "1");
        check(&w.build(false), "error: header tag 1000: type 4, expected a string");
        let w = bash().string(TAG_EPOCH, "1");
        check(&w.build(false), "error: header tag 1003: type 6, expected int32");
        let w = bash().raw(TAG_EPOCH, TYPE_INT32, 0, 0);
        check(&w.build(false), "error: header tag 1003: count is 0");
        let w = HeaderWriter::new().raw(TAG_NAME, TYPE_STRING, 0, 0).store_bytes(b"x\0");
        check(&w.build(false), "error: header tag 1000: count is 0");
        // I18NSTRING and STRING_ARRAY give their first string.
        let w = HeaderWriter::new()
            .store_bytes(b"n\0second\0")
            .raw(TAG_NAME, TYPE_I18NSTRING, 0, 2)
            .raw(TAG_VERSION, TYPE_STRING_ARRAY, 2, 1)
            .string(TAG_RELEASE, "r");
        check(&w.build(false), "n second-r  src=- module=-");
    }

    #[test]
    fn missing_required_tags() {
        check(&HeaderWriter::new().build(false), "error: header has no NAME tag (1000)");
        check(&HeaderWriter::new().build(true), "error: header has no NAME tag (1000)");
        check(&HeaderWriter::new().string(TAG_NAME, "x").build(false), "error: header has no VERSION tag (1001)");
        check(
            &HeaderWriter::new().string(TAG_NAME, "x").string(TAG_VERSION, "1").build(false),
            "error: header has no RELEASE tag (1002)",
        );
    }

    #[test]
    fn lead_is_optional_but_must_be_whole() {
        // A blob starting with the lead magic but cut inside the lead.
        check(&[0x8e, 0xad, 0xe8, 0x01, 0, 0], "error: header truncated: 16 bytes needed, 6 present");
        // Without a lead, a first byte of 0x8e means il is far beyond the cap.
        check(
            &[0x8e, 0xad, 0xe8, 0x02, 0, 0, 0, 0],
            "error: header declares 2393761794 index entries, more than 65536",
        );
    }
}
