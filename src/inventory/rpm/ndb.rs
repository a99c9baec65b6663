//! rpm's NDB backend (SUSE `Packages.db`), read from memory: owns the slot and blob layout.
//! Must not follow a slot whose blob it has not bounds-checked, and knows nothing of headers.
//!
//! Layout used (all integers little-endian, in 16-byte blocks):
//!
//! ```text
//! file header, 32 bytes:  "RpmP" | 4 version (0) | 4 generation | 4 slot pages
//!                         | 4 next package index | 12 unused
//! slots, 16 bytes each:   "Slot" | 4 package index (0 = free) | 4 first block | 4 block count
//!                         from byte 32 to the end of the slot pages (4096-byte pages)
//! blob, in its blocks:    "BlbS" | 4 package index | 4 generation | 4 length | the header blob
//!                         ... padding ... | 4 checksum | 4 length | "BlbE" (last 12 bytes)
//! ```

use super::{RpmDbKind, MAX_DB_BYTES};
use crate::inventory::DbError;

const KIND: RpmDbKind = RpmDbKind::Ndb;

const FILE_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_MAGIC: &[u8; 4] = b"BlbS";
const BLOB_END_MAGIC: &[u8; 4] = b"BlbE";
const FILE_HEADER_LEN: usize = 32;
const SLOT_PAGE: usize = 4096;
const SLOT_LEN: usize = 16;
const BLOCK: usize = 16;
const BLOB_HEADER_LEN: usize = 16;
const BLOB_TRAILER_LEN: usize = 12;

fn error(message: impl Into<String>) -> DbError {
    KIND.error(message)
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    if let Some(bytes) = b.get(at..at + 4) {
        word.copy_from_slice(bytes);
    }
    u32::from_le_bytes(word)
}

/// One used slot: where its package's blob lives.
#[derive(Debug, Clone, Copy)]
struct Slot {
    pkgidx: u32,
    start: usize,
    len: usize,
}

/// Calls `f(package index, header blob)` for every used slot, in slot order.
pub(super) fn for_each_blob(db: &[u8], mut f: impl FnMut(u32, &[u8]) -> Result<(), DbError>) -> Result<(), DbError> {
    if db.len() > MAX_DB_BYTES {
        return Err(error(format!("ndb file is {} bytes, more than {MAX_DB_BYTES}", db.len())));
    }
    if db.len() < FILE_HEADER_LEN || &db[..4] != FILE_MAGIC {
        return Err(error("not an ndb package database"));
    }
    let version = le32(db, 4);
    if version != 0 {
        return Err(error(format!("ndb version {version} is not supported")));
    }
    let n_slot_pages = le32(db, 12) as usize;
    let slots_end =
        n_slot_pages.checked_mul(SLOT_PAGE).filter(|&end| end <= db.len() && n_slot_pages > 0).ok_or_else(|| {
            error(format!("ndb declares {n_slot_pages} slot pages, which the {}-byte file cannot hold", db.len()))
        })?;

    let mut slots = Vec::new();
    for at in (FILE_HEADER_LEN..slots_end).step_by(SLOT_LEN) {
        let slot = &db[at..at + SLOT_LEN];
        if &slot[..4] != SLOT_MAGIC {
            return Err(error(format!("ndb slot at offset {at}: bad magic")));
        }
        let pkgidx = le32(slot, 4);
        if pkgidx == 0 {
            continue;
        }
        let (first, count) = (le32(slot, 8), le32(slot, 12));
        let slot_err = |m: &str| error(format!("ndb package {pkgidx}: {m}"));
        // u64: block numbers times 16 may not fit a 32-bit usize.
        let start = u64::from(first) * BLOCK as u64;
        let len = u64::from(count) * BLOCK as u64;
        if start < slots_end as u64 {
            return Err(slot_err("blob starts inside the slot pages"));
        }
        if len < (BLOB_HEADER_LEN + BLOB_TRAILER_LEN) as u64 || start + len > db.len() as u64 {
            return Err(slot_err(&format!("blob of {count} blocks at block {first} lies outside the file")));
        }
        // Lossless: both are within the file length.
        slots.push(Slot { pkgidx, start: start as usize, len: len as usize });
    }

    // Each byte may belong to one blob only: this bounds the work by the file size.
    let mut by_start: Vec<Slot> = slots.clone();
    by_start.sort_by_key(|s| s.start);
    for pair in by_start.windows(2) {
        if pair[0].start + pair[0].len > pair[1].start {
            return Err(error(format!(
                "ndb packages {} and {} have overlapping blobs",
                pair[0].pkgidx, pair[1].pkgidx
            )));
        }
    }

    for slot in slots {
        f(slot.pkgidx, blob(db, slot)?)?;
    }
    Ok(())
}

/// The header blob inside a slot's blocks, with its framing checked.
fn blob(db: &[u8], slot: Slot) -> Result<&[u8], DbError> {
    let pkgidx = slot.pkgidx;
    let slot_err = |m: String| error(format!("ndb package {pkgidx}: {m}"));
    // In range: checked against the file length when the slot was read.
    let blocks = &db[slot.start..slot.start + slot.len];
    if &blocks[..4] != BLOB_MAGIC {
        return Err(slot_err("bad blob magic".into()));
    }
    let owner = le32(blocks, 4);
    if owner != pkgidx {
        return Err(slot_err(format!("blob belongs to package {owner}")));
    }
    let len = le32(blocks, 12) as usize;
    if len > blocks.len() - BLOB_HEADER_LEN - BLOB_TRAILER_LEN {
        return Err(slot_err(format!("blob length {len} exceeds its {} blocks", slot.len / BLOCK)));
    }
    let trailer = &blocks[blocks.len() - BLOB_TRAILER_LEN..];
    if &trailer[8..] != BLOB_END_MAGIC || le32(trailer, 4) as usize != len {
        return Err(slot_err("bad blob trailer".into()));
    }
    Ok(&blocks[BLOB_HEADER_LEN..BLOB_HEADER_LEN + len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::rpm::header::testing::package;
    use crate::inventory::rpm::read_ndb;

    /// A tiny NDB writer: one slot page, blobs appended in 16-byte blocks.
    struct Writer {
        slots: Vec<[u32; 3]>,
        blobs: Vec<u8>,
    }

    impl Writer {
        fn new() -> Writer {
            Writer { slots: Vec::new(), blobs: Vec::new() }
        }

        fn add(mut self, pkgidx: u32, header: &[u8]) -> Self {
            let first = (SLOT_PAGE + self.blobs.len()) / BLOCK;
            let mut blob = Vec::new();
            blob.extend_from_slice(BLOB_MAGIC);
            blob.extend_from_slice(&pkgidx.to_le_bytes());
            blob.extend_from_slice(&1u32.to_le_bytes());
            blob.extend_from_slice(&(header.len() as u32).to_le_bytes());
            blob.extend_from_slice(header);
            while (blob.len() + BLOB_TRAILER_LEN) % BLOCK != 0 {
                blob.push(0);
            }
            blob.extend_from_slice(&0u32.to_le_bytes());
            blob.extend_from_slice(&(header.len() as u32).to_le_bytes());
            blob.extend_from_slice(BLOB_END_MAGIC);
            self.slots.push([pkgidx, first as u32, (blob.len() / BLOCK) as u32]);
            self.blobs.extend_from_slice(&blob);
            self
        }

        fn finish(&self) -> Vec<u8> {
            let mut out = vec![0; SLOT_PAGE];
            out[..4].copy_from_slice(FILE_MAGIC);
            out[12..16].copy_from_slice(&1u32.to_le_bytes());
            let mut slots = self.slots.iter();
            for at in (FILE_HEADER_LEN..SLOT_PAGE).step_by(SLOT_LEN) {
                out[at..at + 4].copy_from_slice(SLOT_MAGIC);
                if let Some(slot) = slots.next() {
                    for (i, v) in slot.iter().enumerate() {
                        out[at + 4 + 4 * i..at + 8 + 4 * i].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
            out.extend_from_slice(&self.blobs);
            out
        }
    }

    fn check(bytes: &[u8], expected: Result<&str, &str>) {
        let got = read_ndb(bytes)
            .map(|ps| ps.iter().map(|p| format!("{}-{}", p.name, p.evr())).collect::<Vec<_>>().join(" "))
            .map_err(|e| e.to_string());
        assert_eq!(got.as_deref(), expected.map_err(str::to_owned).as_deref());
    }

    fn two() -> Writer {
        Writer::new()
            .add(1, &package("bash", None, "4.4", "19.6.1", "x86_64").build(true))
            .add(2, &package("hello", Some(1), "0.0.1", "rls", "x86_64").build(true))
    }

    /// Byte offset of slot `i`'s field `field` (0 magic, 1 pkgidx, 2 first block, 3 count).
    fn slot_field(i: usize, field: usize) -> usize {
        FILE_HEADER_LEN + SLOT_LEN * i + 4 * field
    }

    fn set32(bytes: &mut [u8], at: usize, v: u32) {
        bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    #[test]
    fn well_formed() {
        check(&two().finish(), Ok("bash-4.4-19.6.1 hello-1:0.0.1-rls"));
        check(&Writer::new().finish(), Ok(""));
    }

    #[test]
    fn malformed_file() {
        check(b"", Err("Packages.db: not an ndb package database"));
        check(b"RpmQ0000000000000000000000000000", Err("Packages.db: not an ndb package database"));
        let good = two().finish();
        let mut bad = good.clone();
        set32(&mut bad, 4, 3);
        check(&bad, Err("Packages.db: ndb version 3 is not supported"));
        for pages in [0, 2, u32::MAX] {
            let mut bad = good.clone();
            set32(&mut bad, 12, pages);
            let expected =
                format!("Packages.db: ndb declares {pages} slot pages, which the {}-byte file cannot hold", good.len());
            check(&bad, Err(&expected));
        }
        let mut bad = good.clone();
        bad[slot_field(5, 0)] = b's';
        check(&bad, Err("Packages.db: ndb slot at offset 112: bad magic"));
    }

    #[test]
    fn malformed_slots_and_blobs() {
        let good = two().finish();
        let edit = |at: usize, v: u32| {
            let mut bad = good.clone();
            set32(&mut bad, at, v);
            bad
        };
        check(&edit(slot_field(1, 2), 3), Err("Packages.db: ndb package 2: blob starts inside the slot pages"));
        check(
            &edit(slot_field(1, 3), 100_000),
            Err("Packages.db: ndb package 2: blob of 100000 blocks at block 267 lies outside the file"),
        );
        check(
            &edit(slot_field(1, 3), 1),
            Err("Packages.db: ndb package 2: blob of 1 blocks at block 267 lies outside the file"),
        );
        check(
            &edit(slot_field(1, 2), u32::MAX),
            Err("Packages.db: ndb package 2: blob of 12 blocks at block 4294967295 lies outside the file"),
        );
        check(&edit(slot_field(1, 2), 256), Err("Packages.db: ndb packages 1 and 2 have overlapping blobs"));
        let blob_at = 267 * BLOCK;
        check(&edit(blob_at, 0), Err("Packages.db: ndb package 2: bad blob magic"));
        check(&edit(blob_at + 4, 7), Err("Packages.db: ndb package 2: blob belongs to package 7"));
        check(
            &edit(blob_at + 12, 1_000_000),
            Err("Packages.db: ndb package 2: blob length 1000000 exceeds its 12 blocks"),
        );
        check(&edit(blob_at + 12, 4), Err("Packages.db: ndb package 2: bad blob trailer"));
        check(&edit(good.len() - 4, 0), Err("Packages.db: ndb package 2: bad blob trailer"));
    }

    #[test]
    fn corruption_never_panics() {
        let mut bytes = two().finish();
        for at in (0..64).chain(SLOT_PAGE..bytes.len()) {
            let saved = bytes[at];
            for v in [0x00, 0x01, 0x7f, 0xff, saved ^ 0x10] {
                bytes[at] = v;
                let _ = read_ndb(&bytes);
            }
            bytes[at] = saved;
        }
        for len in 0..bytes.len() {
            let _ = read_ndb(&bytes[..len]);
        }
    }
}
