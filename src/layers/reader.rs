//! The streaming layer reader: one pass over a layer blob (gzip, zstd or plain tar) that keeps
//! only what [`super::wanted::relevance`] asks for, under [`LayerLimits`]. Owns decompression,
//! the tar walk, path normalisation and the limit checks; must not write to disk, parse file
//! contents, or apply whiteouts (the overlay does that), and must not buffer skipped entries.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use super::wanted::{relevance, Relevance};
use super::{Entry, EntryKind, LayerExtract, LayerLimits};

/// Read buffer around the raw (compressed) input. The decompressors read straight out of it
/// (`bufread` decoders), so there is exactly one buffer between the blob and the tar walk.
const RAW_BUFFER_BYTES: usize = 256 * 1024;
/// Room reserved up front for a kept file's content; larger files grow as they arrive.
const PREALLOCATE_BYTES: usize = 1 << 20;

/// Buffer the data of skipped entries is read into and dropped: inflating into a larger buffer
/// costs measurably less per byte than into the tar crate's 32 KiB one.
const SKIP_BUFFER_BYTES: usize = 128 * 1024;

/// Stack buffer for draining what follows the last tar entry.
const DRAIN_BUFFER_BYTES: usize = 32 * 1024;

/// Cap on what the tar crate may read between the end of one entry's data and the start of the
/// next entry's data: headers plus GNU long name / long link and PAX records, which it buffers
/// in memory. Real layers need a few KiB at most (long paths, xattrs).
pub const MAX_HEADER_BYTES: u64 = 1024 * 1024;

const TAR_BLOCK: u64 = 512;

/// How a layer blob is compressed, sniffed from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

impl Compression {
    /// Tells gzip and zstd from their magic numbers; anything else is taken as uncompressed.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "uncompressed",
        })
    }
}

/// Which [`LayerLimits`] cap a layer ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// `max_file_bytes`: one kept file declares more.
    FileBytes,
    /// `max_kept_bytes`: the kept files of the layer add up to more.
    KeptBytes,
    /// `max_layer_bytes`: more decompressed bytes than this (a decompression bomb).
    LayerBytes,
    /// `max_entries`: more tar entries than this.
    Entries,
    /// [`MAX_HEADER_BYTES`]: oversized tar headers or long-name / PAX records.
    HeaderBytes,
}

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("{compression} layer stream is corrupt or truncated at {at}: {source}")]
    Decompress {
        compression: Compression,
        at: String,
        #[source]
        source: io::Error,
    },
    #[error("layer starts with {magic} ({format}), which is not a supported compression (gzip, zstd or none)")]
    UnsupportedCompression { format: &'static str, magic: String },
    #[error("tar stream is corrupt or truncated at {at}: {source}")]
    Tar {
        at: String,
        #[source]
        source: io::Error,
    },
    #[error("entry {index} has an unsafe path {path:?}: {reason}")]
    UnsafePath { index: u64, path: String, reason: &'static str },
    /// `path` is the entry's path, or where in the layer the cap was hit when no path is known.
    #[error("{}", limit_message(*.what, *.limit, *.value, .path))]
    Limit { what: LimitKind, limit: u64, value: u64, path: String },
    #[error("reading the layer blob failed at {at}: {source}")]
    Io {
        at: String,
        #[source]
        source: io::Error,
    },
}

fn limit_message(what: LimitKind, limit: u64, value: u64, path: &str) -> String {
    match what {
        LimitKind::FileBytes => {
            format!("entry {path} declares {value} bytes, over the {limit}-byte cap (max_file_bytes)")
        }
        LimitKind::KeptBytes => {
            format!("kept files reach {value} bytes with entry {path}, over the {limit}-byte cap (max_kept_bytes)")
        }
        LimitKind::LayerBytes => {
            format!("decompressed layer passes the {limit}-byte cap (max_layer_bytes) at {path}")
        }
        LimitKind::Entries => {
            format!("layer has more than {limit} entries (max_entries), at {path}")
        }
        LimitKind::HeaderBytes => format!("tar headers and long-name/pax records at {path} pass the {limit}-byte cap"),
    }
}

/// Reads one layer blob to its end and returns the entries that matter, in tar order.
///
/// The raw `reader` is always read until it returns 0 on success (callers wrap it in a digest
/// verifier that checks on that last read), including trailing tar padding and anything after
/// the compressed stream. Memory is bounded by `limits` plus fixed buffers (256 KiB raw, 128 KiB
/// skip, 32 KiB drain) and the decoder's window (32 KiB for gzip; for zstd what the frame
/// declares, up to libzstd's default cap of 128 MiB).
pub fn read_layer<R: Read>(reader: R, limits: &LayerLimits) -> Result<LayerExtract, LayerError> {
    let meter = Meter::new(limits.max_layer_bytes);
    let mut raw = BufReader::with_capacity(RAW_BUFFER_BYTES, RawInput { inner: reader, meter: &meter });
    let mut head = [0u8; 10];
    let n_head = read_head(&mut raw, &mut head)
        .map_err(|source| LayerError::Io { at: "the start of the blob".into(), source })?;
    let head = &head[..n_head];
    if let Some(format) = unsupported_format(head) {
        return Err(LayerError::UnsupportedCompression { format, magic: hex(head) });
    }
    let compression = Compression::sniff(head);
    let input = head.chain(raw);
    let mut walk = Walk {
        meter: &meter,
        limits,
        compression,
        index: 0,
        last: String::new(),
        phase: Phase::Header,
        skip_buf: vec![0u8; SKIP_BUFFER_BYTES],
    };
    let mut entries = Vec::new();

    let rest =
        match compression {
            Compression::Gzip => {
                let decoder = flate2::bufread::MultiGzDecoder::new(input);
                walk.run(decoder, &mut entries)?.into_inner()
            }
            Compression::Zstd => {
                let decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(|source| {
                    LayerError::Decompress { compression, at: "the start of the blob".into(), source }
                })?;
                walk.run(decoder, &mut entries)?.finish()
            }
            Compression::None => walk.run(input, &mut entries)?,
        };
    // The decoders stop at the end of their input, but make sure the raw reader has returned 0.
    walk.phase = Phase::AfterStream;
    let n_after = drain(rest).map_err(|e| walk.classify(e))?;
    if n_after > 0 {
        tracing::debug!(n_bytes = n_after, "bytes after the compressed layer stream ignored");
    }
    let extract = LayerExtract { entries, n_entries: walk.index, n_bytes: meter.n_bytes.get() };
    tracing::debug!(
        compression = %compression,
        n_entries = extract.n_entries,
        n_bytes = extract.n_bytes,
        n_kept = extract.entries.len(),
        "layer read"
    );
    Ok(extract)
}

/// Fills `buf` from the start of the stream (fewer bytes only at EOF).
fn read_head<B: BufRead>(raw: &mut B, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match raw.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Compressions `docker load` accepts but the OCI spec does not: fail with a clear message
/// instead of a tar checksum error. Full magic numbers (bzip2: header plus the block or
/// end-of-stream magic), so that no tar whose first name starts with `BZh` is mistaken.
fn unsupported_format(head: &[u8]) -> Option<&'static str> {
    const BZIP2_BLOCK: &[u8] = &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const BZIP2_END: &[u8] = &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Some("xz");
    }
    let bzip2 = head.len() == 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..] == *BZIP2_BLOCK || head[4..] == *BZIP2_END);
    bzip2.then_some("bzip2")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// Reads `r` to its end, discarding the bytes; returns how many there were.
fn drain<R: Read>(mut r: R) -> io::Result<u64> {
    let mut buf = [0u8; DRAIN_BUFFER_BYTES];
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Shared between the reader wrappers and the walk, so that an `io::Error` coming out of the
/// tar crate can be told apart: raw input failure, decompression failure, a cap, or tar itself.
struct Meter {
    /// Decompressed bytes read so far (the tar crate's position in the stream).
    n_bytes: Cell<u64>,
    layer_limit: u64,
    /// Absolute position the decompressed stream may not pass right now (header budget).
    header_stop: Cell<u64>,
    hit: Cell<Option<LimitKind>>,
    raw_failed: Cell<bool>,
    decoded_failed: Cell<bool>,
}

impl Meter {
    fn new(layer_limit: u64) -> Meter {
        Meter {
            n_bytes: Cell::new(0),
            layer_limit,
            header_stop: Cell::new(u64::MAX),
            hit: Cell::new(None),
            raw_failed: Cell::new(false),
            decoded_failed: Cell::new(false),
        }
    }
}

/// The caller's reader, marking the meter when it fails (and retrying `Interrupted`).
struct RawInput<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<R: Read> Read for RawInput<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.meter.raw_failed.set(true);
                    return Err(e);
                }
                Ok(n) => return Ok(n),
            }
        }
    }
}

/// The decompressed stream as the tar crate sees it: counts bytes and enforces
/// `max_layer_bytes` and the header budget, never reading more than one byte past a cap.
struct Metered<'m, D> {
    inner: D,
    meter: &'m Meter,
}

impl<D: Read> Read for Metered<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let m = self.meter;
        let n = m.n_bytes.get();
        let stop = m.layer_limit.min(m.header_stop.get());
        // One byte past the stop is enough to know the stream goes on beyond it.
        let room = stop.saturating_sub(n).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let got = match self.inner.read(&mut buf[..want]) {
            Ok(got) => got,
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    m.decoded_failed.set(true);
                }
                return Err(e);
            }
        };
        let n = n + got as u64;
        m.n_bytes.set(n);
        if n > stop {
            let what = if n > m.layer_limit { LimitKind::LayerBytes } else { LimitKind::HeaderBytes };
            m.hit.set(Some(what));
            return Err(io::Error::other(format!("{what:?} cap reached")));
        }
        Ok(got)
    }
}

/// Where the walk is, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Inside the tar crate's `next()`: skipping the previous entry's data, reading headers.
    Header,
    /// Reading the content of the current (kept) entry.
    Content,
    /// After the end-of-archive marker: padding and anything up to the end of the stream.
    Trailer,
    /// After the compressed stream ended: draining the raw input.
    AfterStream,
}

struct Walk<'a> {
    meter: &'a Meter,
    limits: &'a LayerLimits,
    compression: Compression,
    /// Entries seen so far (1-based index of the current entry).
    index: u64,
    /// Path of the current entry (buffer reused across entries; empty before the first).
    last: String,
    phase: Phase,
    /// Where skipped entry data is read to and dropped (allocated once per layer).
    skip_buf: Vec<u8>,
}

/// What to keep of an entry, decided before its content is read.
enum Keep {
    Content,
    Kind(EntryKind),
}

impl Walk<'_> {
    /// Walks every tar entry of the decompressed stream `decoded`, then reads it to its end;
    /// returns the decoder so that the raw input behind it can be drained.
    fn run<D: Read>(&mut self, decoded: D, out: &mut Vec<Entry>) -> Result<D, LayerError> {
        let mut archive = tar::Archive::new(Metered { inner: decoded, meter: self.meter });
        self.walk_entries(&mut archive, out)?;
        self.phase = Phase::Trailer;
        let mut metered = archive.into_inner();
        drain(&mut metered).map_err(|e| self.classify(e))?;
        Ok(metered.inner)
    }

    fn walk_entries<D: Read>(
        &mut self,
        archive: &mut tar::Archive<Metered<'_, D>>,
        out: &mut Vec<Entry>,
    ) -> Result<(), LayerError> {
        let mut entries = archive.entries().map_err(|e| self.classify(e))?;
        let mut next_data_end = 0u64;
        let mut kept_bytes = 0u64;
        loop {
            // Between two entries the tar crate skips the unread data of the previous one and
            // reads (and buffers) headers and extension records: budget the latter.
            self.phase = Phase::Header;
            self.meter.header_stop.set(next_data_end.saturating_add(MAX_HEADER_BYTES));
            let next = entries.next();
            self.meter.header_stop.set(u64::MAX);
            let mut entry = match next {
                None => return Ok(()),
                Some(Ok(entry)) => entry,
                Some(Err(e)) => return Err(self.classify(e)),
            };
            self.index += 1;
            let data_len = entry.size().max(entry.header().entry_size().unwrap_or(0));
            next_data_end =
                entry.raw_file_position().saturating_add(data_len.div_ceil(TAR_BLOCK).saturating_mul(TAR_BLOCK));

            if self.index > self.limits.max_entries {
                let raw_path = entry.path_bytes();
                return Err(LayerError::Limit {
                    what: LimitKind::Entries,
                    limit: self.limits.max_entries,
                    value: self.index,
                    path: format!("entry {} ({})", self.index, String::from_utf8_lossy(&raw_path)),
                });
            }
            let type_byte = entry.header().entry_type().as_byte();
            if matches!(type_byte, b'g' | b'x' | b'V') {
                // PAX global header, a stray PAX header, a GNU volume label: metadata only.
                self.last.clear();
                continue;
            }

            let Some((path, keep)) = self.decide(&entry, type_byte)? else {
                // Read skipped data through one big buffer rather than the tar crate's 32 KiB
                // one (fewer, larger inflate calls). Not for sparse entries: reading those
                // expands holes, which a hostile header can make arbitrarily large.
                if matches!(type_byte, b'0' | b'\0' | b'7') && entry.size() > 0 {
                    self.skip_content(&mut entry)?;
                }
                continue;
            };
            let kind = match keep {
                Keep::Kind(kind) => kind,
                Keep::Content => EntryKind::File(self.read_content(&mut entry, &path, &mut kept_bytes)?),
            };
            out.push(Entry { path, kind });
        }
    }

    /// Decides what to keep of `entry` (tar type `type_byte`), validating its path and, for a
    /// hard link, its target. Allocates only for kept entries.
    fn decide<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        type_byte: u8,
    ) -> Result<Option<(String, Keep)>, LayerError> {
        let raw_path = entry.path_bytes();
        let path = match normalise(&raw_path) {
            Ok(path) => path,
            Err(reason) => {
                return Err(LayerError::UnsafePath {
                    index: self.index,
                    path: String::from_utf8_lossy(&raw_path).into_owned(),
                    reason,
                })
            }
        };
        self.last.clear();
        let Some(path) = path else {
            // Not UTF-8: cannot be a path the inventory wants.
            self.last.push_str(&String::from_utf8_lossy(&raw_path));
            return Ok(None);
        };
        let path: &str = &path;
        self.last.push_str(path);
        // Every hard link target is checked, kept or not: a `..` or absolute target is hostile.
        let raw_link = if type_byte == b'1' { entry.link_name_bytes() } else { None };
        let link = match &raw_link {
            Some(raw) => Some(self.hardlink_target(raw)?),
            None => None,
        };

        let (dir, base) = match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        if let Some(name) = base.strip_prefix(".wh.") {
            if name == ".wh..opq" {
                // `.wh..wh..opq`: everything below `dir` in lower layers is hidden.
                return Ok(
                    (relevance(dir) != Relevance::Skip).then(|| (dir.to_string(), Keep::Kind(EntryKind::Opaque)))
                );
            }
            if name.is_empty() || name.starts_with(".wh.") {
                // A bare `.wh.` names nothing (it must not delete its directory); other
                // `.wh..wh.` names are AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`).
                return Ok(None);
            }
            if name == "." || name == ".." {
                return Err(LayerError::UnsafePath {
                    index: self.index,
                    path: path.to_string(),
                    reason: "a whiteout of `.` or `..`",
                });
            }
            let target = if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") };
            return Ok((relevance(&target) != Relevance::Skip).then_some((target, Keep::Kind(EntryKind::Whiteout))));
        }
        let relevance = relevance(path);
        if relevance == Relevance::Skip || path.is_empty() {
            return Ok(None);
        }
        let keep = match (relevance, type_byte) {
            (_, b'5' | b'D') => Keep::Kind(EntryKind::Dir),
            (_, b'2') => Keep::Kind(EntryKind::Symlink(symlink_target(entry))),
            (Relevance::File, b'0' | b'\0' | b'7' | b'S') => Keep::Content,
            (Relevance::File, b'1') => Keep::Kind(EntryKind::Hardlink(link.map(Cow::into_owned).unwrap_or_default())),
            // A device node or fifo at a wanted path, or a non-directory at an ancestor path:
            // whatever lower layers had there is gone and nothing readable replaces it.
            (_, b'0' | b'\0' | b'7' | b'S' | b'1' | b'3' | b'4' | b'6') => Keep::Kind(EntryKind::Whiteout),
            (_, other) => {
                tracing::debug!(path, entry_type = other, "tar entry of unknown type skipped");
                return Ok(None);
            }
        };
        Ok(Some((path.to_string(), keep)))
    }

    fn hardlink_target<'r>(&self, raw: &'r [u8]) -> Result<Cow<'r, str>, LayerError> {
        match normalise(raw) {
            Ok(Some(target)) => Ok(target),
            Ok(None) => Ok(String::from_utf8_lossy(raw)),
            Err(reason) => Err(LayerError::UnsafePath {
                index: self.index,
                path: String::from_utf8_lossy(raw).into_owned(),
                reason: if reason == ABSOLUTE {
                    "a hard link to an absolute path"
                } else {
                    "a hard link target with a `..` component"
                },
            }),
        }
    }

    /// Reads the data of a skipped entry to its end without keeping it.
    fn skip_content<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), LayerError> {
        self.phase = Phase::Content;
        let result = loop {
            match entry.read(&mut self.skip_buf) {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        result.map_err(|e| self.classify(e))
    }

    fn read_content<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &str,
        kept_bytes: &mut u64,
    ) -> Result<Vec<u8>, LayerError> {
        let declared = entry.size();
        let limits = self.limits;
        let too_big = |what, limit, value| LayerError::Limit { what, limit, value, path: path.to_string() };
        if declared > limits.max_file_bytes {
            return Err(too_big(LimitKind::FileBytes, limits.max_file_bytes, declared));
        }
        let total = kept_bytes.saturating_add(declared);
        if total > limits.max_kept_bytes {
            return Err(too_big(LimitKind::KeptBytes, limits.max_kept_bytes, total));
        }
        let len =
            usize::try_from(declared).map_err(|_| too_big(LimitKind::FileBytes, limits.max_file_bytes, declared))?;
        // The buffer grows with the bytes that arrive, never to what a header claims: a header
        // saying 1 GiB over a 4 KiB body costs 4 KiB. Small files get their room at once.
        let mut content = Vec::with_capacity(len.min(PREALLOCATE_BYTES));
        self.phase = Phase::Content;
        let read = entry.take(declared).read_to_end(&mut content).map_err(|e| self.classify(e))?;
        if read != len {
            // The archive ended inside the entry: the same error a short read_exact gives.
            let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the layer ends inside a file");
            return Err(self.classify(eof));
        }
        *kept_bytes = total;
        Ok(content)
    }

    /// Where the walk is, for messages.
    fn at(&self) -> String {
        match self.phase {
            Phase::Header if self.index == 0 => "entry 1".to_string(),
            Phase::Header if self.last.is_empty() => format!("entry {}", self.index + 1),
            Phase::Header => format!("entry {} (after {})", self.index + 1, self.last),
            Phase::Content => format!("entry {} ({})", self.index, self.last),
            Phase::Trailer => "the end-of-archive padding".to_string(),
            Phase::AfterStream => "the end of the blob".to_string(),
        }
    }

    /// Turns an `io::Error` out of the reader stack into the stage that failed.
    fn classify(&self, source: io::Error) -> LayerError {
        let at = self.at();
        if let Some(what) = self.meter.hit.get() {
            let limit = match what {
                LimitKind::LayerBytes => self.limits.max_layer_bytes,
                _ => MAX_HEADER_BYTES,
            };
            let path = match self.phase {
                Phase::Content => self.last.clone(),
                _ => at,
            };
            return LayerError::Limit { what, limit, value: self.meter.n_bytes.get(), path };
        }
        if self.meter.raw_failed.get() {
            return LayerError::Io { at, source };
        }
        if self.meter.decoded_failed.get() && self.compression != Compression::None {
            return LayerError::Decompress { compression: self.compression, at, source };
        }
        LayerError::Tar { at, source }
    }
}

fn symlink_target<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    match entry.link_name_bytes() {
        Some(raw) => match raw {
            Cow::Borrowed(b) => String::from_utf8_lossy(b).into_owned(),
            Cow::Owned(v) => {
                String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            }
        },
        None => String::new(),
    }
}

const ABSOLUTE: &str = "absolute path";
const DOTDOT: &str = "`..` component";

/// Normalises a tar path: drops leading `./`, `.` and empty components and a trailing `/`.
/// Absolute paths and `..` components are refused. `Ok(None)` when the result is not UTF-8.
/// Borrows when the normalised path is a contiguous part of `raw` (almost always).
fn normalise(raw: &[u8]) -> Result<Option<Cow<'_, str>>, &'static str> {
    if raw.first() == Some(&b'/') {
        return Err(ABSOLUTE);
    }
    let mut first: Option<usize> = None;
    let mut end = 0;
    let mut dropped_inside = false;
    let mut gap = false;
    let mut start = 0;
    loop {
        let stop = raw[start..].iter().position(|&b| b == b'/').map_or(raw.len(), |i| start + i);
        match &raw[start..stop] {
            b"" | b"." => dropped_inside |= first.is_some(),
            b".." => return Err(DOTDOT),
            _ => {
                if first.is_none() {
                    first = Some(start);
                }
                gap |= dropped_inside;
                end = stop;
            }
        }
        if stop == raw.len() {
            break;
        }
        start = stop + 1;
    }
    let Some(first) = first else {
        return Ok(Some(Cow::Borrowed("")));
    };
    if !gap {
        return Ok(std::str::from_utf8(&raw[first..end]).ok().map(Cow::Borrowed));
    }
    let mut joined = Vec::with_capacity(end - first);
    for component in raw[first..end].split(|&b| b == b'/') {
        if component.is_empty() || component == b"." {
            continue;
        }
        if !joined.is_empty() {
            joined.push(b'/');
        }
        joined.extend_from_slice(component);
    }
    Ok(String::from_utf8(joined).ok().map(Cow::Owned))
}

/// Layer fixtures built in code, shared with the overlay tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::io::Write;

    /// One tar entry to build.
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Item<'a> {
        File(&'a str, &'a [u8]),
        Dir(&'a str),
        Symlink(&'a str, &'a str),
        Hardlink(&'a str, &'a str),
        Fifo(&'a str),
    }

    /// A GNU tar of `items`, with long names as GNU `L`/`K` records (what `tar::Builder` does).
    pub(crate) fn tar(items: &[Item<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for item in items {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_mtime(0);
            let result = match *item {
                Item::File(path, content) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(content.len() as u64);
                    builder.append_data(&mut header, path, content)
                }
                Item::Dir(path) => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder.append_data(&mut header, path, &[][..])
                }
                Item::Fifo(path) => {
                    header.set_entry_type(tar::EntryType::Fifo);
                    header.set_size(0);
                    builder.append_data(&mut header, path, &[][..])
                }
                Item::Symlink(path, target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target)
                }
                Item::Hardlink(path, target) => {
                    header.set_entry_type(tar::EntryType::Link);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target)
                }
            };
            result.expect("building a test tar");
        }
        builder.into_inner().expect("finishing a test tar")
    }

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("gzip in memory");
        encoder.finish().expect("gzip in memory")
    }

    pub(crate) fn zstd(bytes: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(bytes, 3).expect("zstd in memory")
    }

    /// A hand-written 512-byte ustar header (for what `tar::Builder` refuses to write):
    /// sizes of 8 GiB and more in base-256, everything else in octal, correct checksum.
    pub(crate) fn raw_header(path: &[u8], type_byte: u8, size: u64, link: &[u8]) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..path.len()].copy_from_slice(path);
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        if size < 0o77777777777 {
            h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        } else {
            h[124] = 0x80;
            h[128..136].copy_from_slice(&size.to_be_bytes());
        }
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = type_byte;
        h[157..157 + link.len()].copy_from_slice(link);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    /// A tar from raw headers and contents (content padded to 512), plus the end marker.
    pub(crate) fn raw_tar(members: &[([u8; 512], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (header, content) in members {
            out.extend_from_slice(header);
            out.extend_from_slice(content);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{gzip, raw_header, raw_tar, tar, zstd, Item};
    use super::*;

    fn file(path: &str, content: &[u8]) -> Entry {
        Entry { path: path.into(), kind: EntryKind::File(content.to_vec()) }
    }
    fn kind(path: &str, kind: EntryKind) -> Entry {
        Entry { path: path.into(), kind }
    }

    fn read(bytes: &[u8]) -> Result<LayerExtract, LayerError> {
        read_layer(bytes, &LayerLimits::default())
    }

    fn kept(bytes: &[u8]) -> Vec<Entry> {
        match read(bytes) {
            Ok(extract) => extract.entries,
            Err(e) => panic!("layer failed: {e}"),
        }
    }

    /// Asserts the error matches and its message mentions every one of `needles`.
    fn check_err(result: Result<LayerExtract, LayerError>, matches: fn(&LayerError) -> bool, needles: &[&str]) {
        let err = match result {
            Ok(extract) => panic!("expected an error, got {} kept entries", extract.entries.len()),
            Err(e) => e,
        };
        assert!(matches(&err), "unexpected error kind: {err:?}");
        let message = err.to_string();
        for needle in needles {
            assert!(message.contains(needle), "message {message:?} does not mention {needle:?}");
        }
    }

    fn sample_items() -> Vec<Item<'static>> {
        vec![
            Item::Dir("etc/"),
            Item::File("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
            Item::File("etc/os-release", b"ID=debian\n"),
            Item::Dir("usr/"),
            Item::Dir("usr/bin/"),
            Item::File("usr/bin/big", &[7u8; 100_000]),
            Item::Symlink("usr/bin/sh", "dash"),
            Item::Dir("var/lib/dpkg/status.d/"),
            Item::File("var/lib/dpkg/status.d/libc6", b"Package: libc6\n"),
            Item::File("var/lib/dpkg/status.d/libc6.md5sums", b"abc  lib/x\n"),
            Item::Symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm"),
            Item::Hardlink("usr/lib/os-release", "etc/os-release"),
            Item::Hardlink("usr/bin/big2", "usr/bin/big"),
            Item::Fifo("etc/debian_version"),
            Item::File("var/lib/dpkg", b"a file where a directory was"),
        ]
    }

    fn sample_expected() -> Vec<Entry> {
        vec![
            kind("etc", EntryKind::Dir),
            file("etc/os-release", b"ID=debian\n"),
            kind("usr", EntryKind::Dir),
            kind("var/lib/dpkg/status.d", EntryKind::Dir),
            file("var/lib/dpkg/status.d/libc6", b"Package: libc6\n"),
            kind("var/lib/rpm", EntryKind::Symlink("../../usr/lib/sysimage/rpm".into())),
            kind("usr/lib/os-release", EntryKind::Hardlink("etc/os-release".into())),
            kind("etc/debian_version", EntryKind::Whiteout),
            kind("var/lib/dpkg", EntryKind::Whiteout),
        ]
    }

    #[test]
    fn reads_plain_gzip_and_zstd_alike() {
        let plain = tar(&sample_items());
        for (name, blob) in [("plain", plain.clone()), ("gzip", gzip(&plain)), ("zstd", zstd(&plain))] {
            let extract = read(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(extract.entries, sample_expected(), "{name}");
            assert_eq!(extract.n_entries, 15, "{name}");
            assert_eq!(extract.n_bytes, plain.len() as u64, "{name}");
        }
    }

    #[test]
    fn reads_concatenated_gzip_members() {
        let plain = tar(&sample_items());
        let (a, b) = plain.split_at(3000);
        let mut blob = gzip(a);
        blob.extend_from_slice(&gzip(b));
        assert_eq!(kept(&blob), sample_expected());
    }

    #[test]
    fn empty_blob_is_an_empty_layer() {
        let extract = read(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(extract, LayerExtract::default());
    }

    /// Records whether the reader was read until it returned 0, like the digest verifier.
    struct EofProbe<'a> {
        inner: &'a [u8],
        saw_eof: &'a Cell<bool>,
    }
    impl Read for EofProbe<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            if n == 0 && !buf.is_empty() {
                self.saw_eof.set(true);
            }
            Ok(n)
        }
    }

    #[test]
    fn reads_raw_input_to_eof() {
        let mut plain = tar(&[Item::File("etc/os-release", b"ID=alpine\n")]);
        // Extra zero blocks after the end-of-archive marker, as some writers pad to 10 KiB.
        plain.extend_from_slice(&[0u8; 8192]);
        for (name, blob) in [("plain", plain.clone()), ("gzip", gzip(&plain)), ("zstd", zstd(&plain))] {
            let saw_eof = Cell::new(false);
            let extract = read_layer(EofProbe { inner: &blob, saw_eof: &saw_eof }, &LayerLimits::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(saw_eof.get(), "{name}: raw input not read to EOF");
            assert_eq!(extract.n_bytes, plain.len() as u64, "{name}: trailing padding not drained");
        }
    }

    /// A reader failing at its end, like the digest verifier on a mismatch.
    struct FailsAtEof<'a>(&'a [u8]);
    impl Read for FailsAtEof<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 if !buf.is_empty() => Err(io::Error::new(io::ErrorKind::InvalidData, "digest mismatch")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn raw_input_failure_is_io() {
        let plain = tar(&[Item::File("etc/os-release", b"ID=alpine\n")]);
        for blob in [plain.clone(), gzip(&plain), zstd(&plain)] {
            let result = read_layer(FailsAtEof(&blob), &LayerLimits::default());
            check_err(result, |e| matches!(e, LayerError::Io { .. }), &["digest mismatch"]);
        }
    }

    #[test]
    fn handles_gnu_long_names_and_pax_paths() {
        let long_pkg = format!("var/lib/dpkg/status.d/{}", "x".repeat(150));
        let long_target = format!("../../{}", "t/".repeat(80));
        let long_skipped = format!("usr/share/{}/file", "d".repeat(200));
        let gnu = tar(&[
            Item::File(&long_skipped, b"skipped"),
            Item::File(&long_pkg, b"Package: x\n"),
            Item::Symlink("etc/os-release", &long_target),
        ]);
        // PAX: an `x` record naming the next entry.
        let pax_path = format!("./{}", "var/lib/dpkg/status.d/pax-".to_string() + &"p".repeat(120));
        let record_body = format!(" path={pax_path}\n");
        let mut len = record_body.len() + 1;
        while format!("{len}{record_body}").len() != len {
            len += 1;
        }
        let record = format!("{len}{record_body}");
        let mut pax = raw_tar(&[
            (raw_header(b"PaxHeaders/x", b'x', record.len() as u64, b""), record.as_bytes()),
            (raw_header(b"short-name-ignored", b'0', 4, b""), b"pax\n"),
        ]);
        pax.truncate(pax.len() - 1024);
        pax.extend_from_slice(&gnu);
        assert_eq!(
            kept(&pax),
            vec![
                file(&pax_path[2..], b"pax\n"),
                file(&long_pkg, b"Package: x\n"),
                kind("etc/os-release", EntryKind::Symlink(long_target.clone())),
            ]
        );
    }

    #[test]
    fn keeps_whiteouts_that_matter() {
        let blob = tar(&[
            Item::File("etc/.wh.os-release", b""),
            Item::File("usr/share/.wh.doc", b""),
            Item::File("var/lib/dpkg/status.d/.wh.libc6", b""),
            Item::File("var/lib/dpkg/status.d/.wh.libc6.md5sums", b""),
            Item::File("var/lib/.wh.dpkg", b""),
            Item::File(".wh.var", b""),
            Item::File(".wh.opt", b""),
            Item::File("var/.wh..wh..opq", b""),
            Item::File("opt/.wh..wh..opq", b""),
            Item::File(".wh..wh..opq", b""),
            Item::File("etc/.wh.", b""),
            Item::File("etc/.wh..wh.plnk", b""),
            Item::Fifo("usr/lib/.wh.os-release"),
        ]);
        assert_eq!(
            kept(&blob),
            vec![
                kind("etc/os-release", EntryKind::Whiteout),
                kind("var/lib/dpkg/status.d/libc6", EntryKind::Whiteout),
                kind("var/lib/dpkg", EntryKind::Whiteout),
                kind("var", EntryKind::Whiteout),
                kind("var", EntryKind::Opaque),
                kind("", EntryKind::Opaque),
                kind("usr/lib/os-release", EntryKind::Whiteout),
            ]
        );
    }

    #[test]
    fn normalises_paths() {
        type Expected = Result<Option<&'static str>, &'static str>;
        let cases: &[(&[u8], Expected)] = &[
            (b"etc/os-release", Ok(Some("etc/os-release"))),
            (b"./etc/os-release", Ok(Some("etc/os-release"))),
            (b"././etc/os-release", Ok(Some("etc/os-release"))),
            (b"etc//os-release", Ok(Some("etc/os-release"))),
            (b"etc/./os-release", Ok(Some("etc/os-release"))),
            (b"./var/lib/dpkg/", Ok(Some("var/lib/dpkg"))),
            (b"var/lib/dpkg//", Ok(Some("var/lib/dpkg"))),
            (b"./", Ok(Some(""))),
            (b".", Ok(Some(""))),
            (b"", Ok(Some(""))),
            (b"/etc/os-release", Err(ABSOLUTE)),
            (b"/", Err(ABSOLUTE)),
            (b"../etc/os-release", Err(DOTDOT)),
            (b"etc/../../os-release", Err(DOTDOT)),
            (b"etc/..", Err(DOTDOT)),
            (b"./..", Err(DOTDOT)),
            (b"etc/\xff", Ok(None)),
            (b"..etc/x..", Ok(Some("..etc/x.."))),
        ];
        for (raw, expected) in cases {
            let got = normalise(raw);
            assert_eq!(
                got.as_ref().map(|p| p.as_deref()),
                expected.as_ref().map(|p| *p),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        // The common shapes borrow.
        assert!(matches!(normalise(b"./usr/bin/x/"), Ok(Some(Cow::Borrowed("usr/bin/x")))));
    }

    #[test]
    fn normalises_entry_paths() {
        let blob = raw_tar(&[
            (raw_header(b"./etc/os-release", b'0', 3, b""), b"one"),
            (raw_header(b"etc//lsb-release", b'0', 3, b""), b"two"),
            (raw_header(b"./var/lib/dpkg/", b'5', 0, b""), b""),
            (raw_header(b"./", b'5', 0, b""), b""),
            (raw_header(b"usr/lib/os-release", b'1', 0, b"./etc//os-release"), b""),
        ]);
        assert_eq!(
            kept(&blob),
            vec![
                file("etc/os-release", b"one"),
                file("etc/lsb-release", b"two"),
                kind("var/lib/dpkg", EntryKind::Dir),
                kind("usr/lib/os-release", EntryKind::Hardlink("etc/os-release".into())),
            ]
        );
    }

    #[test]
    fn refuses_unsafe_paths() {
        let cases: &[(&[u8], u8, &[u8], &str)] = &[
            (b"../etc/os-release", b'0', b"", "../etc/os-release"),
            (b"usr/share/../../x", b'0', b"", "usr/share/../../x"),
            (b"/etc/os-release", b'0', b"", "/etc/os-release"),
            (b"/usr/bin/unwanted", b'0', b"", "/usr/bin/unwanted"),
            (b"usr/bin/x", b'1', b"../../etc/shadow", "../../etc/shadow"),
            (b"usr/lib/os-release", b'1', b"/etc/os-release", "/etc/os-release"),
            (b"etc/.wh..", b'0', b"", "etc/.wh.."),
            (b"etc/.wh...", b'0', b"", "etc/.wh..."),
        ];
        for (path, type_byte, link, needle) in cases {
            let blob = raw_tar(&[
                (raw_header(b"etc/os-release", b'0', 2, b""), b"ok"),
                (raw_header(path, *type_byte, 0, link), b""),
            ]);
            check_err(read(&blob), |e| matches!(e, LayerError::UnsafePath { index: 2, .. }), &[needle, "entry 2"]);
        }
    }

    #[test]
    fn refuses_huge_declared_sizes_before_allocating() {
        // Octal (just under 8 GiB) and base-256 (100 GB) size fields; no content follows.
        for size in [0o77777777776u64, 100_000_000_000] {
            let mut blob = raw_header(b"var/lib/dpkg/status", b'0', size, b"").to_vec();
            blob.extend_from_slice(&[0u8; 4096]);
            check_err(
                read(&blob),
                |e| matches!(e, LayerError::Limit { what: LimitKind::FileBytes, .. }),
                &["var/lib/dpkg/status", &size.to_string(), "268435456-byte cap"],
            );
        }
        // An unwanted huge entry is skipped (and then found truncated), never buffered.
        let mut blob = raw_header(b"usr/bin/huge", b'0', 100_000_000_000, b"").to_vec();
        blob.extend_from_slice(&[0u8; 4096]);
        check_err(read(&blob), |e| matches!(e, LayerError::Tar { .. }), &["entry 2 (after usr/bin/huge)"]);
    }

    #[test]
    fn caps_kept_bytes() {
        let blob = tar(&[
            Item::File("var/lib/rpm/Packages", &[1u8; 600]),
            Item::File("usr/lib/sysimage/rpm/Packages", &[2u8; 600]),
        ]);
        let limits = LayerLimits { max_kept_bytes: 1000, ..LayerLimits::default() };
        check_err(
            read_layer(&blob[..], &limits),
            |e| matches!(e, LayerError::Limit { what: LimitKind::KeptBytes, value: 1200, .. }),
            &["usr/lib/sysimage/rpm/Packages", "1000-byte cap"],
        );
    }

    #[test]
    fn stops_a_gzip_bomb() {
        let zeros = vec![0u8; 64 * 1024 * 1024];
        let mut plain = tar(&[Item::File("usr/share/zeros", &zeros)]);
        drop(zeros);
        let blob = gzip(&plain);
        plain.clear();
        assert!(blob.len() < 1024 * 1024);
        let limits = LayerLimits { max_layer_bytes: 8 * 1024 * 1024, ..LayerLimits::default() };
        check_err(
            read_layer(&blob[..], &limits),
            |e| matches!(e, LayerError::Limit { what: LimitKind::LayerBytes, value: 8_388_609, .. }),
            &["8388608-byte cap", "usr/share/zeros"],
        );
        // The same bomb as bare padding after the end-of-archive marker.
        let blob = gzip(&vec![0u8; 64 * 1024 * 1024]);
        check_err(
            read_layer(&blob[..], &limits),
            |e| matches!(e, LayerError::Limit { what: LimitKind::LayerBytes, .. }),
            &["8388608-byte cap", "end-of-archive padding"],
        );
    }

    #[test]
    fn caps_entries() {
        let names: Vec<String> = (0..20).map(|i| format!("usr/bin/tool{i}")).collect();
        let items: Vec<Item<'_>> = names.iter().map(|n| Item::File(n, b"x")).collect();
        let blob = gzip(&tar(&items));
        let limits = LayerLimits { max_entries: 10, ..LayerLimits::default() };
        check_err(
            read_layer(&blob[..], &limits),
            |e| matches!(e, LayerError::Limit { what: LimitKind::Entries, value: 11, .. }),
            &["more than 10 entries", "usr/bin/tool10"],
        );
        assert!(read_layer(&blob[..], &LayerLimits { max_entries: 20, ..limits }).is_ok());
    }

    #[test]
    fn caps_long_name_records() {
        let name = format!("usr/{}", "n/".repeat(1024 * 1024));
        let blob = tar(&[Item::File("etc/os-release", b"ok"), Item::File(&name, b"x")]);
        check_err(
            read(&blob),
            |e| matches!(e, LayerError::Limit { what: LimitKind::HeaderBytes, .. }),
            &["entry 2 (after etc/os-release)", "1048576-byte cap"],
        );
    }

    #[test]
    fn reports_truncated_streams() {
        let plain = tar(&[
            Item::File("usr/bin/tool", &[3u8; 20_000]),
            Item::File("var/lib/dpkg/status", &[b'x'; 50_000]),
            Item::File("usr/bin/after", b"x"),
        ]);
        // Plain tar cut inside the kept file.
        check_err(read(&plain[..30_000]), |e| matches!(e, LayerError::Tar { .. }), &["entry 2 (var/lib/dpkg/status)"]);
        // Plain tar cut inside a skipped file's data.
        check_err(read(&plain[..10_000]), |e| matches!(e, LayerError::Tar { .. }), &["entry 2 (after usr/bin/tool)"]);
        // Truncated gzip: cut in the middle of the deflate stream, and just before the trailer.
        let blob = gzip(&plain);
        for cut in [blob.len() / 2, blob.len() - 4] {
            check_err(read(&blob[..cut]), |e| matches!(e, LayerError::Decompress { .. }), &["gzip"]);
        }
        let blob = zstd(&plain);
        check_err(read(&blob[..blob.len() - 3]), |e| matches!(e, LayerError::Decompress { .. }), &["zstd"]);
        // Garbage after the gzip stream is a corrupt second member.
        let mut blob = gzip(&plain);
        blob.extend_from_slice(b"garbage");
        check_err(read(&blob), |e| matches!(e, LayerError::Decompress { .. }), &["gzip"]);
    }

    #[test]
    fn refuses_other_compressions() {
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0x00, 0, 0];
        check_err(read(&xz), |e| matches!(e, LayerError::UnsupportedCompression { .. }), &["xz"]);
        check_err(read(b"BZh91AY&SY..."), |e| matches!(e, LayerError::UnsupportedCompression { .. }), &["bzip2"]);
        // A plain tar whose first entry happens to be named like a bzip2 header is a tar.
        let blob = tar(&[Item::File("BZh9", b""), Item::File("etc/os-release", b"ID=x")]);
        assert_eq!(kept(&blob), vec![file("etc/os-release", b"ID=x")]);
        check_err(read(&[1u8; 1024]), |e| matches!(e, LayerError::Tar { .. }), &["entry 1"]);
    }
}
