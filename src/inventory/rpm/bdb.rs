//! rpm's Berkeley DB backend: the hash database `Packages`, in either byte order, read from
//! memory. Owns the page layout (metadata page, hash pages, overflow chains); must not follow
//! a page number, length or chain it has not bounds-checked, and knows nothing of headers.
//!
//! Layout used (Berkeley DB `db_page.h`, hash access method, versions 8 and 9):
//!
//! ```text
//! page 0, metadata: 8 lsn | 4 pgno | 4 magic 0x061561 | 4 version | 4 pagesize
//!                   | 1 encrypt_alg | 1 type (8) | 1 metaflags | 1 unused | 4 free
//!                   | 4 last_pgno ...
//! other pages:      8 lsn | 4 pgno | 4 prev_pgno | 4 next_pgno | 2 entries | 2 hf_offset
//!                   | 1 level | 1 type | entries x 2-byte item offsets ...  items at the page end
//! hash item:        1 type (1 keydata, 2 duplicate, 3 offpage, 4 offpage duplicates) ...
//!                   keydata: the bytes follow; its length runs to the previous item's offset
//!                   offpage: 3 unused | 4 first overflow pgno | 4 total length
//! overflow page:    the page header (hf_offset = bytes used), then the bytes; next_pgno chains
//! ```
//!
//! Integers are in the byte order of the machine that wrote the file; the magic tells which.
//! Items come in key/data pairs; rpm's keys are 4-byte record numbers, record 0 holds rpm's
//! next-instance counter and is not a header.

use super::{RpmDbKind, MAX_DB_BYTES};
use crate::inventory::DbError;

const KIND: RpmDbKind = RpmDbKind::Bdb;

const HASH_MAGIC: u32 = 0x0006_1561;
const META_LEN: usize = 72;
const PAGE_HEADER_LEN: usize = 26;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

const H_KEYDATA: u8 = 1;
const H_DUPLICATE: u8 = 2;
const H_OFFPAGE: u8 = 3;
const H_OFFDUP: u8 = 4;
const OFFPAGE_LEN: usize = 12;

/// `metaflags` bit for per-page checksums, which move the item index; rpm never sets it.
const DBMETA_CHKSUM: u8 = 0x01;

fn error(message: impl Into<String>) -> DbError {
    KIND.error(message)
}

/// Reads fixed-width integers in the file's byte order.
#[derive(Debug, Clone, Copy)]
struct Order {
    big: bool,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big { u16::from_be_bytes(bytes) } else { u16::from_le_bytes(bytes) })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) })
    }
}

/// The checked geometry of one database.
struct Db<'a> {
    bytes: &'a [u8],
    order: Order,
    page_size: usize,
    last_pgno: u32,
}

impl<'a> Db<'a> {
    fn open(bytes: &'a [u8]) -> Result<Db<'a>, DbError> {
        if bytes.len() > MAX_DB_BYTES {
            return Err(error(format!("bdb file is {} bytes, more than {MAX_DB_BYTES}", bytes.len())));
        }
        if bytes.len() < META_LEN {
            return Err(error(format!("bdb file is {} bytes, too short for a metadata page", bytes.len())));
        }
        let order = match bytes[12..16].try_into().map(u32::from_le_bytes) {
            Ok(HASH_MAGIC) => Order { big: false },
            _ if bytes[12..16] == HASH_MAGIC.to_be_bytes() => Order { big: true },
            _ => return Err(error(format!("not a berkeley db hash database (magic {:02x?})", &bytes[12..16]))),
        };
        let field = |at: usize| order.u32(bytes, at).unwrap_or(0);
        let version = field(16);
        if !(8..=10).contains(&version) {
            return Err(error(format!("bdb hash version {version} is not supported")));
        }
        let page_size = field(20) as usize;
        if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
            return Err(error(format!("bdb page size {page_size} is invalid")));
        }
        let (encrypt_alg, page_type, metaflags) = (bytes[24], bytes[25], bytes[26]);
        if page_type != P_HASHMETA {
            return Err(error(format!("bdb page 0: type {page_type}, expected a hash metadata page")));
        }
        if encrypt_alg != 0 {
            return Err(error("bdb database is encrypted"));
        }
        if metaflags & DBMETA_CHKSUM != 0 {
            return Err(error("bdb pages carry checksums, which are not supported"));
        }
        let last_pgno = field(32);
        let n_pages = bytes.len() / page_size;
        if last_pgno as usize >= n_pages {
            return Err(error(format!(
                "bdb file truncated: last page is {last_pgno} but the file holds {n_pages} pages of {page_size} bytes"
            )));
        }
        Ok(Db { bytes, order, page_size, last_pgno })
    }

    /// Page `pgno`, which the caller has checked is at most `last_pgno`.
    fn page(&self, pgno: u32) -> &'a [u8] {
        let start = pgno as usize * self.page_size;
        // In range: last_pgno < bytes.len() / page_size was checked in `open`.
        &self.bytes[start..start + self.page_size]
    }
}

/// Which overflow pages already belong to a chain: each may be used once, which bounds the
/// total reassembled bytes by the file size and catches loops.
struct Claims {
    owner: Vec<u32>,
    n_chains: u32,
}

/// Calls `f(record number, header blob)` for every data item of the hash pages, in page
/// order, skipping record 0. Overflow chains are reassembled.
pub(super) fn for_each_blob(bytes: &[u8], mut f: impl FnMut(u32, &[u8]) -> Result<(), DbError>) -> Result<(), DbError> {
    let db = Db::open(bytes)?;
    let mut claims = Claims { owner: vec![0; db.last_pgno as usize + 1], n_chains: 0 };
    for pgno in 1..=db.last_pgno {
        let page = db.page(pgno);
        if !matches!(page[25], P_HASH | P_HASH_UNSORTED) {
            continue;
        }
        let page_err = |m: String| error(format!("bdb page {pgno}: {m}"));
        let declared = db.order.u32(page, 8).unwrap_or(0);
        if declared != pgno {
            return Err(page_err(format!("page header says page {declared}")));
        }
        let n_items = usize::from(db.order.u16(page, 20).unwrap_or(0));
        let index_end = PAGE_HEADER_LEN + 2 * n_items;
        if index_end > db.page_size {
            return Err(page_err(format!("{n_items} items do not fit in the page")));
        }
        if n_items % 2 != 0 {
            return Err(page_err(format!("{n_items} items, not key/data pairs")));
        }
        // Items are stacked down from the page end in index order, so each item ends where
        // the previous one starts.
        let mut end = db.page_size;
        let mut recno = 0;
        for i in 0..n_items {
            let start = usize::from(db.order.u16(page, PAGE_HEADER_LEN + 2 * i).unwrap_or(0));
            if start < index_end || start >= end {
                return Err(page_err(format!("item {i} at offset {start} overlaps the index or the item before it")));
            }
            let item = &page[start..end];
            end = start;
            if i % 2 == 0 {
                // Key: rpm's record number, inline.
                recno = match (item[0], item.len()) {
                    (H_KEYDATA, 5) => db.order.u32(item, 1).unwrap_or(0),
                    _ => return Err(page_err(format!("item {i}: key is not a 4-byte record number"))),
                };
                continue;
            }
            if recno == 0 {
                continue;
            }
            match item[0] {
                H_KEYDATA => f(recno, &item[1..])?,
                H_OFFPAGE => {
                    if item.len() < OFFPAGE_LEN {
                        return Err(page_err(format!("item {i}: off-page item is {} bytes", item.len())));
                    }
                    let first = db.order.u32(item, 4).unwrap_or(0);
                    let total = db.order.u32(item, 8).unwrap_or(0) as usize;
                    let blob = read_overflow(&db, &mut claims, recno, first, total)?;
                    f(recno, &blob)?;
                }
                H_DUPLICATE | H_OFFDUP => {
                    return Err(page_err(format!("item {i}: duplicate data items are not supported")))
                }
                other => return Err(page_err(format!("item {i}: unknown item type {other}"))),
            }
        }
    }
    Ok(())
}

/// Reassembles record `recno`'s overflow chain starting at `first` into exactly `total` bytes.
fn read_overflow(db: &Db<'_>, claims: &mut Claims, recno: u32, first: u32, total: usize) -> Result<Vec<u8>, DbError> {
    let record_err = |m: String| error(format!("bdb record {recno}: {m}"));
    let page_err = |pgno: u32, m: String| error(format!("bdb page {pgno}: {m} (record {recno})"));
    if total > db.bytes.len() {
        return Err(record_err(format!("overflow length {total} exceeds the file size")));
    }
    claims.n_chains += 1;
    let chain = claims.n_chains;
    let mut out = Vec::with_capacity(total);
    let mut pgno = first;
    loop {
        if pgno == 0 || pgno > db.last_pgno {
            return Err(record_err(format!("overflow chain points to page {pgno}, outside 1..={}", db.last_pgno)));
        }
        let owner = &mut claims.owner[pgno as usize];
        if *owner == chain {
            return Err(page_err(pgno, "overflow chain loops".into()));
        }
        if *owner != 0 {
            return Err(page_err(pgno, "overflow page already belongs to another chain".into()));
        }
        *owner = chain;
        let page = db.page(pgno);
        if page[25] != P_OVERFLOW {
            return Err(page_err(pgno, format!("type {}, expected an overflow page", page[25])));
        }
        let used = usize::from(db.order.u16(page, 22).unwrap_or(0));
        if used > db.page_size - PAGE_HEADER_LEN {
            return Err(page_err(pgno, format!("overflow page claims {used} bytes")));
        }
        if out.len() + used > total {
            return Err(page_err(pgno, format!("overflow chain is longer than its {total} bytes")));
        }
        out.extend_from_slice(&page[PAGE_HEADER_LEN..PAGE_HEADER_LEN + used]);
        pgno = db.order.u32(page, 16).unwrap_or(0);
        if pgno == 0 {
            break;
        }
    }
    if out.len() != total {
        return Err(record_err(format!("overflow chain holds {} bytes, expected {total}", out.len())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::rpm::header::testing::package;
    use crate::inventory::rpm::read_bdb;

    /// Page size of the small synthetic databases.
    const PAGE: usize = 512;
    /// Page size Berkeley DB chose for rpm's `Packages` in the real databases.
    const DB_PAGE: usize = 4096;

    /// A tiny hash database writer: page 0 metadata, then the given pages. Every page gets
    /// the non-zero LSN and the metadata page the hash fields Berkeley DB writes, which the
    /// reader must skip.
    struct Writer {
        big: bool,
        page_size: usize,
        pages: Vec<Vec<u8>>,
    }

    impl Writer {
        fn new(big: bool) -> Writer {
            Writer::with_page_size(big, PAGE)
        }

        fn with_page_size(big: bool, page_size: usize) -> Writer {
            Writer { big, page_size, pages: vec![vec![0; page_size]] }
        }

        /// A page with the common header: LSN (file 0, offset 1), its own number, type.
        fn blank_page(&self, page_type: u8) -> (u32, Vec<u8>) {
            let pgno = self.pages.len() as u32;
            let mut page = vec![0; self.page_size];
            self.put32(&mut page, 4, 1);
            self.put32(&mut page, 8, pgno);
            page[25] = page_type;
            (pgno, page)
        }

        fn put16(&self, page: &mut [u8], at: usize, v: u16) {
            let b = if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
            page[at..at + 2].copy_from_slice(&b);
        }

        fn put32(&self, page: &mut [u8], at: usize, v: u32) {
            let b = if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
            page[at..at + 4].copy_from_slice(&b);
        }

        fn u32(&self, v: u32) -> [u8; 4] {
            if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        /// A hash page holding `items` (each with its type byte) in index order.
        fn hash_page(&mut self, items: &[Vec<u8>]) -> u32 {
            let (pgno, mut page) = self.blank_page(P_HASH);
            self.put16(&mut page, 20, items.len() as u16);
            let mut end = self.page_size;
            for (i, item) in items.iter().enumerate() {
                let start = end - item.len();
                page[start..end].copy_from_slice(item);
                self.put16(&mut page, PAGE_HEADER_LEN + 2 * i, start as u16);
                end = start;
            }
            // hf_offset: the lowest item offset, as Berkeley DB keeps it.
            self.put16(&mut page, 22, end as u16);
            self.pages.push(page);
            pgno
        }

        /// An overflow page with `data`, chained to `next`.
        fn overflow_page(&mut self, data: &[u8], next: u32) -> u32 {
            let (pgno, mut page) = self.blank_page(P_OVERFLOW);
            self.put32(&mut page, 16, next);
            self.put16(&mut page, 22, data.len() as u16);
            page[PAGE_HEADER_LEN..PAGE_HEADER_LEN + data.len()].copy_from_slice(data);
            self.pages.push(page);
            pgno
        }

        /// `data` over as many consecutive overflow pages as it needs, filled as Berkeley
        /// DB fills them: doubly linked, one entry each. Returns the first page number.
        fn overflow_chain(&mut self, data: &[u8]) -> u32 {
            let first = self.pages.len() as u32;
            let chunks: Vec<&[u8]> = data.chunks(self.page_size - PAGE_HEADER_LEN).collect();
            let last = first + chunks.len() as u32 - 1;
            for chunk in chunks {
                let pgno = self.pages.len() as u32;
                self.overflow_page(chunk, if pgno == last { 0 } else { pgno + 1 });
                let mut page = self.pages.pop().expect("the page just written");
                self.put32(&mut page, 12, if pgno == first { 0 } else { pgno - 1 });
                self.put16(&mut page, 20, 1);
                self.pages.push(page);
            }
            first
        }

        fn key(&self, recno: u32) -> Vec<u8> {
            [&[H_KEYDATA][..], &self.u32(recno)].concat()
        }

        fn offpage(&self, first: u32, total: u32) -> Vec<u8> {
            [&[H_OFFPAGE, 0, 0, 0][..], &self.u32(first), &self.u32(total)].concat()
        }

        /// An inline data item.
        fn data(&self, bytes: &[u8]) -> Vec<u8> {
            [&[H_KEYDATA][..], bytes].concat()
        }

        fn finish(mut self) -> Vec<u8> {
            let (_, mut meta) = self.blank_page(P_HASHMETA);
            self.put32(&mut meta, 8, 0);
            self.put32(&mut meta, 12, HASH_MAGIC);
            self.put32(&mut meta, 16, 9);
            self.put32(&mut meta, 20, self.page_size as u32);
            self.put32(&mut meta, 32, self.pages.len() as u32 - 1);
            // A file id (`uid`), then the hash fields: max_bucket, high_mask, low_mask,
            // ffactor, nelem, h_charkey, spares[0..2].
            meta[52..72].copy_from_slice(&[
                0xa3, 0xc0, 0x98, 0, 0, 0xfe, 0, 0, 0x42, 0x7a, 0xe0, 0xc8, 0x86, 0x1f, 0, 0, 0, 0, 0, 0,
            ]);
            for (i, v) in [1, 1, 0, 0, 4, 0x5e68_8dd1, 1, 1].into_iter().enumerate() {
                self.put32(&mut meta, 72 + 4 * i, v);
            }
            self.pages[0] = meta;
            self.pages.concat()
        }
    }

    fn names(bytes: &[u8]) -> Result<String, String> {
        let packages = read_bdb(bytes).map_err(|e| e.to_string())?;
        Ok(packages.iter().map(|p| format!("{}-{}.{}", p.name, p.evr(), p.arch)).collect::<Vec<_>>().join(" "))
    }

    fn check(bytes: &[u8], expected: Result<&str, &str>) {
        assert_eq!(names(bytes).as_deref(), expected.map_err(str::to_owned).as_deref());
    }

    /// Record 0 inline, one header inline, one header over a two-page overflow chain.
    fn sample(big: bool) -> Vec<u8> {
        let mut w = Writer::new(big);
        let long = package("long", Some(2), &"9".repeat(300), "1", "noarch").build(true);
        let (a, b) = long.split_at(400);
        // Pages 1 (hash), 2 and 3 (overflow).
        let short = package("short", None, "1.0", "1", "x86_64").build(true);
        let items = vec![
            w.key(0),
            [&[H_KEYDATA][..], &w.u32(3)].concat(),
            w.key(1),
            [&[H_KEYDATA][..], &short].concat(),
            w.key(2),
            w.offpage(2, long.len() as u32),
        ];
        w.hash_page(&items);
        w.overflow_page(a, 3);
        w.overflow_page(b, 0);
        w.finish()
    }

    #[test]
    fn both_byte_orders() {
        let expected = format!("short-1.0-1.x86_64 long-2:{}-1.noarch", "9".repeat(300));
        check(&sample(false), Ok(&expected));
        check(&sample(true), Ok(&expected));
    }

    /// A lead-less header blob (as rpm stores it) of exactly `len` bytes: padded in the data
    /// store, as file lists and scripts fill a real one.
    fn header_of_len(name: &str, epoch: Option<u32>, version: &str, release: &str, len: usize) -> Vec<u8> {
        let header = package(name, epoch, version, release, "x86_64");
        let pad = len - header.build(false).len();
        let blob = header.store_bytes(&vec![0x5a; pad]).build(false);
        assert_eq!(blob.len(), len);
        blob
    }

    /// The layout Berkeley DB 5.3 (`db_load -t hash`) gives a one-package rpm database with
    /// 4096-byte pages: two buckets, record 0 (rpm's next-instance counter) and the package's
    /// key beside it in bucket 1 with the header off-page, bucket 2 empty, the header on one
    /// overflow page. The off-page item's three unused bytes hold junk, as they do there.
    fn one_overflow_page_db(big: bool) -> Vec<u8> {
        let mut w = Writer::with_page_size(big, DB_PAGE);
        let blob = header_of_len("hello", Some(1), "0.0.1", "rls", 2124);
        let mut offpage = w.offpage(3, blob.len() as u32);
        offpage[1..4].copy_from_slice(&[0x2d, 0xb9, 0x89]);
        let items = vec![w.key(0), w.data(&w.u32(4)), w.key(4), offpage];
        w.hash_page(&items);
        w.hash_page(&[]);
        assert_eq!(w.overflow_chain(&blob), 3);
        let bytes = w.finish();
        assert_eq!(bytes.len(), 4 * DB_PAGE);
        bytes
    }

    /// As Berkeley DB 5.3 lays out a one-package database whose header takes 80880 bytes:
    /// record 0 in bucket 1, the package in bucket 2, its header over a 20-page chain
    /// (19 full pages of 4070 bytes and one of 3550).
    fn long_chain_db(big: bool) -> Vec<u8> {
        let mut w = Writer::with_page_size(big, DB_PAGE);
        let blob = header_of_len("libuuid", None, "2.32.1", "42.el8_8", 80880);
        let mut offpage = w.offpage(3, blob.len() as u32);
        offpage[1..4].copy_from_slice(&[0x51, 0xc8, 0xac]);
        let items = vec![w.key(0), w.data(&w.u32(1))];
        w.hash_page(&items);
        let items = vec![w.key(1), offpage];
        w.hash_page(&items);
        assert_eq!(w.overflow_chain(&blob), 3);
        let bytes = w.finish();
        assert_eq!(bytes.len(), 23 * DB_PAGE);
        bytes
    }

    /// Databases laid out as Berkeley DB writes them, in both byte orders; the converted real
    /// databases are checked against their expected packages by `tests/it/pkgdb_rpm.rs`.
    #[test]
    fn berkeley_db_layouts() {
        for big in [false, true] {
            check(&one_overflow_page_db(big), Ok("hello-1:0.0.1-rls.x86_64"));
            check(&long_chain_db(big), Ok("libuuid-2.32.1-42.el8_8.x86_64"));
        }
        // The byte order is the writer's: the same database differs between the two.
        assert_ne!(long_chain_db(false), long_chain_db(true));
        let be = long_chain_db(true);
        assert_eq!(be[12..16], [0x00, 0x06, 0x15, 0x61]);
        assert_eq!(be[DB_PAGE * 3 + 16..DB_PAGE * 3 + 20], [0, 0, 0, 4], "next page, big-endian");
    }

    /// Record 0 is rpm's counter, whatever its length; the package that follows still reads.
    #[test]
    fn record_zero_is_skipped() {
        for big in [false, true] {
            let mut w = Writer::new(big);
            let short = package("short", None, "1.0", "1", "x86_64").build(false);
            let items = vec![w.key(0), w.data(b"not a header"), w.key(9), w.data(&short)];
            w.hash_page(&items);
            check(&w.finish(), Ok("short-1.0-1.x86_64"));
        }
    }

    /// Older Berkeley DB writes P_HASH_UNSORTED hash pages; they read like P_HASH ones.
    #[test]
    fn unsorted_hash_pages() {
        let expected = format!("short-1.0-1.x86_64 long-2:{}-1.noarch", "9".repeat(300));
        for big in [false, true] {
            let mut bytes = sample(big);
            bytes[PAGE + 25] = P_HASH_UNSORTED;
            check(&bytes, Ok(&expected));
        }
    }

    #[test]
    fn empty_database() {
        let mut w = Writer::new(false);
        w.hash_page(&[]);
        check(&w.finish(), Ok(""));
        // As Berkeley DB leaves an rpm database with no packages: two empty buckets.
        for big in [false, true] {
            let mut w = Writer::with_page_size(big, DB_PAGE);
            w.hash_page(&[]);
            w.hash_page(&[]);
            check(&w.finish(), Ok(""));
        }
    }

    #[test]
    fn overflow_chain_loops() {
        let mut w = Writer::new(false);
        let items = vec![w.key(1), w.offpage(2, 2000)];
        w.hash_page(&items);
        w.overflow_page(&[0; 100], 3);
        w.overflow_page(&[0; 100], 2);
        check(&w.finish(), Err("Packages: bdb page 2: overflow chain loops (record 1)"));
    }

    #[test]
    fn overflow_page_shared_by_two_chains() {
        let mut w = Writer::new(false);
        let items = vec![w.key(1), w.offpage(2, 8), w.key(2), w.offpage(2, 8)];
        w.hash_page(&items);
        w.overflow_page(&[0; 8], 0);
        let err = for_each_blob(&w.finish(), |_, _| Ok(())).expect_err("shared page");
        assert_eq!(err.to_string(), "Packages: bdb page 2: overflow page already belongs to another chain (record 2)");
    }

    #[test]
    fn overflow_chain_bounds() {
        let with_chain = |first: u32, total: u32, used: usize, next: u32| {
            let mut w = Writer::new(false);
            let items = vec![w.key(7), w.offpage(first, total)];
            w.hash_page(&items);
            w.overflow_page(&vec![0; used], next);
            w.finish()
        };
        check(&with_chain(9, 10, 10, 0), Err("Packages: bdb record 7: overflow chain points to page 9, outside 1..=2"));
        check(&with_chain(0, 10, 10, 0), Err("Packages: bdb record 7: overflow chain points to page 0, outside 1..=2"));
        check(&with_chain(1, 10, 10, 0), Err("Packages: bdb page 1: type 13, expected an overflow page (record 7)"));
        check(
            &with_chain(2, 10, 20, 0),
            Err("Packages: bdb page 2: overflow chain is longer than its 10 bytes (record 7)"),
        );
        check(&with_chain(2, 30, 20, 0), Err("Packages: bdb record 7: overflow chain holds 20 bytes, expected 30"));
        check(
            &with_chain(2, u32::MAX, 20, 0),
            Err("Packages: bdb record 7: overflow length 4294967295 exceeds the file size"),
        );
        check(
            &with_chain(2, 20, 20, 77),
            Err("Packages: bdb record 7: overflow chain points to page 77, outside 1..=2"),
        );
        // An overflow page whose used-bytes field runs past the page.
        let mut bytes = with_chain(2, 20, 20, 0);
        bytes[2 * PAGE + 22..2 * PAGE + 24].copy_from_slice(&(PAGE as u16).to_le_bytes());
        check(&bytes, Err("Packages: bdb page 2: overflow page claims 512 bytes (record 7)"));
    }

    #[test]
    fn malformed_pages() {
        let one_page = |items: &[Vec<u8>]| {
            let mut w = Writer::new(false);
            w.hash_page(items);
            w.finish()
        };
        let w = Writer::new(false);
        check(&one_page(&[w.key(1)]), Err("Packages: bdb page 1: 1 items, not key/data pairs"));
        check(
            &one_page(&[vec![H_KEYDATA, 1, 0], vec![H_KEYDATA]]),
            Err("Packages: bdb page 1: item 0: key is not a 4-byte record number"),
        );
        check(
            &one_page(&[w.key(1), vec![H_DUPLICATE, 0, 0]]),
            Err("Packages: bdb page 1: item 1: duplicate data items are not supported"),
        );
        check(&one_page(&[w.key(1), vec![9, 0, 0]]), Err("Packages: bdb page 1: item 1: unknown item type 9"));
        check(
            &one_page(&[w.key(1), vec![H_OFFPAGE, 0, 0]]),
            Err("Packages: bdb page 1: item 1: off-page item is 3 bytes"),
        );
        check(
            &one_page(&[w.key(1), vec![H_KEYDATA, 0, 0]]),
            Err("Packages: bdb record 1: header truncated: 8 bytes needed, 2 present"),
        );

        let mut bytes = one_page(&[w.key(1), w.key(2)]);
        // Item 1 pointing above item 0.
        bytes[PAGE + PAGE_HEADER_LEN + 2..PAGE + PAGE_HEADER_LEN + 4].copy_from_slice(&(PAGE as u16 - 2).to_le_bytes());
        check(&bytes, Err("Packages: bdb page 1: item 1 at offset 510 overlaps the index or the item before it"));
        // More items than the page can index.
        let mut bytes = one_page(&[]);
        bytes[PAGE + 20..PAGE + 22].copy_from_slice(&300u16.to_le_bytes());
        check(&bytes, Err("Packages: bdb page 1: 300 items do not fit in the page"));
        // A hash page whose own page number is wrong.
        let mut bytes = one_page(&[]);
        bytes[PAGE + 8] = 5;
        check(&bytes, Err("Packages: bdb page 1: page header says page 5"));
    }

    #[test]
    fn malformed_metadata() {
        let good = sample(false);
        check(&[], Err("Packages: bdb file is 0 bytes, too short for a metadata page"));
        check(
            &good[..PAGE * 3],
            Err("Packages: bdb file truncated: last page is 3 but the file holds 3 pages of 512 bytes"),
        );
        let mut bad = good.clone();
        bad[12] = 0x62;
        check(&bad, Err("Packages: not a berkeley db hash database (magic [62, 15, 06, 00])"));
        let mut bad = good.clone();
        bad[16] = 7;
        check(&bad, Err("Packages: bdb hash version 7 is not supported"));
        let mut bad = good.clone();
        bad[20..24].copy_from_slice(&1000u32.to_le_bytes());
        check(&bad, Err("Packages: bdb page size 1000 is invalid"));
        let mut bad = good.clone();
        bad[24] = 1;
        check(&bad, Err("Packages: bdb database is encrypted"));
        let mut bad = good.clone();
        bad[26] = DBMETA_CHKSUM;
        check(&bad, Err("Packages: bdb pages carry checksums, which are not supported"));
        let mut bad = good;
        bad[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        check(
            &bad,
            Err("Packages: bdb file truncated: last page is 4294967295 but the file holds 4 pages of 512 bytes"),
        );
    }

    /// Prefixes of a database with a long overflow chain and every single-byte corruption of
    /// a small one: errors are fine, panics are not.
    #[test]
    fn corruption_never_panics() {
        for big in [false, true] {
            let long = long_chain_db(big);
            for len in (0..long.len()).step_by(509) {
                let _ = read_bdb(&long[..len]);
            }
        }
        let mut bytes = sample(true);
        for at in 0..bytes.len() {
            let saved = bytes[at];
            for v in [0x00, 0x01, 0x7f, 0xff, saved ^ 0x10] {
                bytes[at] = v;
                let _ = read_bdb(&bytes);
            }
            bytes[at] = saved;
        }
    }
}
