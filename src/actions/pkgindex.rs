//! Distribution package indexes: parse Debian/Ubuntu `Packages`/`Sources` and Alpine `APKINDEX`
//! into the source versions they carry, and answer "is this advisory's fix installable yet".
//! The parsers are pure (a reader in, a [`PackageIndex`] out, every input capped); the only IO is
//! [`Mirrors::refresh`], which fetches through [`crate::feeds::fetch`]. This module never touches
//! the store and never decides findings.
//!
//! Advisories name *source* packages (Debian/Ubuntu source names, Alpine origins) and source
//! versions, so an index maps source name → the source versions present:
//!
//! - `Packages`: `Package`, `Version`, `Source` (`name` or `name (version)`); without `Source`
//!   the source is the binary itself, and `Source: name` keeps the binary `Version`.
//! - `Sources`: `Package` (the source name) and `Version`; stanzas marked
//!   `Extra-Source-Only: yes` are kept in the archive only for `Built-Using` and are skipped,
//!   because nothing installable is built from them.
//! - `APKINDEX.tar.gz`: concatenated gzip members (signature tar, then the tar holding
//!   `DESCRIPTION` and `APKINDEX`); `P:` name, `V:` version, `o:` origin (else `P:`). A plain
//!   `APKINDEX` text is accepted too.
//!
//! Compression is recognised by magic bytes: gzip (including multi-member) or none. xz, bzip2
//! and zstd are refused with an error that names the `.gz` index to use instead.
//!
//! Malformed input is an error, never a silently empty index: a NUL byte means "not a text
//! index" ([`IndexError::NotText`]) and a line that is neither a field nor a continuation is
//! [`IndexError::Malformed`]. An empty document is an empty index (an empty component is
//! legitimate). Stanzas without a name or a version are skipped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use serde::Deserialize;

use crate::feeds::fetch::{fetch, FetchError, FetchOptions, Fetched, Validators};
use crate::inventory::Ecosystem;
use crate::versions;

/// Default cap on the decompressed bytes of one index (Debian main `Packages` is ~100 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;
/// Default cap on one line (the longest real lines are `Binary:` lists of kernel sources).
pub const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;
/// Default cap on stanzas (APKINDEX blocks) in one index (Ubuntu universe has ~70 000).
pub const DEFAULT_MAX_STANZAS: usize = 1_000_000;

/// Read buffer for the line reader.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Caps applied to every index while it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexLimits {
    /// Decompressed bytes (for an APKINDEX archive: the whole tar stream).
    pub max_bytes: u64,
    /// Bytes in one line, without its line ending.
    pub max_line_bytes: usize,
    /// Stanzas (APKINDEX blocks), including skipped ones.
    pub max_stanzas: usize,
}

impl Default for IndexLimits {
    fn default() -> Self {
        IndexLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_stanzas: DEFAULT_MAX_STANZAS,
        }
    }
}

/// Reading, parsing or configuring a package index failed. `label` is the document's URL (or
/// whatever name the caller gave it).
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{url}: cannot tell the index format from the file name; expected Packages, Sources or APKINDEX")]
    UnknownFormat { url: String },
    #[error(
        "{label}: {compression} indexes are not supported; use Packages.gz or Sources.gz (or the uncompressed index)"
    )]
    UnsupportedCompression { label: String, compression: &'static str },
    #[error("{label}: the decompressed index is larger than the {limit}-byte cap")]
    TooLarge { label: String, limit: u64 },
    #[error("{label}: line {line} is longer than the {limit}-byte cap")]
    LineTooLong { label: String, line: usize, limit: usize },
    #[error("{label}: the index has more than {limit} stanzas")]
    TooManyStanzas { label: String, limit: usize },
    #[error("{label}: line {line} holds a NUL byte; this is not a text index (or uses an unsupported compression)")]
    NotText { label: String, line: usize },
    #[error("{label}: line {line}: {message}")]
    Malformed { label: String, line: usize, message: &'static str },
    #[error("{label}: the archive holds no APKINDEX entry")]
    MissingApkIndex { label: String },
    #[error("{label}: reading the index failed: {source}")]
    Read { label: String, source: io::Error },
    #[error("mirror {distro} {release}: {reason}")]
    InvalidMirror { distro: String, release: String, reason: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// The kind of index a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexFormat {
    /// Debian/Ubuntu binary `Packages`.
    DebPackages,
    /// Debian/Ubuntu `Sources`.
    DebSources,
    /// Alpine `APKINDEX.tar.gz` (or a plain `APKINDEX`).
    ApkIndex,
}

impl IndexFormat {
    /// The format named by the last path segment of `url` (`.../Sources.gz` → `DebSources`).
    /// Compressions this module cannot read (`.xz`, `.bz2`, `.zst`, `.lz4`) are refused here.
    pub fn from_url(url: &str) -> Result<IndexFormat, IndexError> {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let name = path.rsplit('/').next().unwrap_or(path);
        if let Some(ext) = [".xz", ".bz2", ".zst", ".lz4", ".lzma"].into_iter().find(|ext| name.ends_with(ext)) {
            return Err(IndexError::UnsupportedCompression { label: url.to_owned(), compression: ext });
        }
        if name.contains("Packages") {
            Ok(IndexFormat::DebPackages)
        } else if name.contains("Sources") {
            Ok(IndexFormat::DebSources)
        } else if name.contains("APKINDEX") {
            Ok(IndexFormat::ApkIndex)
        } else {
            Err(IndexError::UnknownFormat { url: url.to_owned() })
        }
    }

    /// The version scheme of the packages this format lists.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            IndexFormat::DebPackages | IndexFormat::DebSources => Ecosystem::Dpkg,
            IndexFormat::ApkIndex => Ecosystem::Apk,
        }
    }
}

/// Source name → the source versions present in one or more indexes of one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageIndex {
    ecosystem: Ecosystem,
    /// Each list is deduplicated (by string) and sorted oldest first by the ecosystem's order.
    sources: HashMap<String, Vec<String>>,
}

impl PackageIndex {
    pub fn new(ecosystem: Ecosystem) -> PackageIndex {
        PackageIndex { ecosystem, sources: HashMap::new() }
    }

    pub fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    pub fn n_sources(&self) -> usize {
        self.sources.len()
    }

    /// The versions of `source` present, oldest first; empty when the source is absent.
    pub fn versions(&self, source: &str) -> &[String] {
        self.sources.get(source).map_or(&[], Vec::as_slice)
    }

    /// The highest version of `source` that is at least `fixed_version`, if any.
    pub fn fix_available(&self, source: &str, fixed_version: &str) -> Option<&str> {
        let newest = self.versions(source).last()?;
        (versions::compare(self.ecosystem, newest, fixed_version).is_ge()).then_some(newest.as_str())
    }

    /// Adds `other`'s versions (a release index plus its security suite, say). Both indexes
    /// must be of the same ecosystem; `other`'s versions are ordered by `self`'s.
    pub fn merge(&mut self, other: PackageIndex) {
        let mut touched = Vec::new();
        for (source, versions) in other.sources {
            match self.sources.get_mut(&source) {
                Some(mine) => {
                    let before = mine.len();
                    for version in versions {
                        if !mine.contains(&version) {
                            mine.push(version);
                        }
                    }
                    if mine.len() != before {
                        touched.push(source);
                    }
                }
                None => {
                    self.sources.insert(source.clone(), versions);
                    touched.push(source);
                }
            }
        }
        for source in touched {
            if let Some(versions) = self.sources.get_mut(&source) {
                sort_versions(self.ecosystem, versions);
            }
        }
    }

    /// Records one (source, version) pair; versions are sorted by [`PackageIndex::sort`].
    fn insert(&mut self, source: &str, version: &str) {
        match self.sources.get_mut(source) {
            Some(versions) if versions.iter().any(|v| v == version) => {}
            Some(versions) => versions.push(version.to_owned()),
            None => {
                self.sources.insert(source.to_owned(), vec![version.to_owned()]);
            }
        }
    }

    fn sort(&mut self) {
        for versions in self.sources.values_mut() {
            sort_versions(self.ecosystem, versions);
        }
    }
}

/// Oldest first; versions that compare equal (`1.0`, `1.00`) are ordered by their text so the
/// order does not depend on the input's.
fn sort_versions(ecosystem: Ecosystem, versions: &mut [String]) {
    versions.sort_by(|a, b| versions::compare(ecosystem, a, b).then_with(|| a.cmp(b)));
}

/// Parse one index document of `format`, gzip-compressed or plain. `label` (the URL) only
/// names the document in errors.
pub fn parse(
    format: IndexFormat,
    label: &str,
    input: impl Read,
    limits: &IndexLimits,
) -> Result<PackageIndex, IndexError> {
    let mut input = input;
    let head = read_head(&mut input, 6).map_err(|source| read_error(label, source))?;
    let raw = Cursor::new(head).chain(input);
    let decoded = match sniff(raw.get_ref().0.get_ref()) {
        Compression::Gzip => Decoded::Gzip(Box::new(MultiGzDecoder::new(raw))),
        Compression::None => Decoded::Plain(raw),
        Compression::Unsupported(compression) => {
            return Err(IndexError::UnsupportedCompression { label: label.to_owned(), compression })
        }
    };
    let mut capped = CappedReader { inner: decoded, remaining: limits.max_bytes, over: false };
    let result = match format {
        IndexFormat::DebPackages | IndexFormat::DebSources => parse_deb822(format, label, &mut capped, limits),
        IndexFormat::ApkIndex => parse_apk_document(label, &mut capped, limits),
    };
    // Whatever error a reader above the cap reported (tar rewraps them), the cap is the cause.
    match result {
        Err(_) if capped.over => Err(IndexError::TooLarge { label: label.to_owned(), limit: limits.max_bytes }),
        other => other,
    }
}

/// Parse a Debian/Ubuntu `Packages` document (see [`parse`]).
pub fn parse_packages(label: &str, input: impl Read, limits: &IndexLimits) -> Result<PackageIndex, IndexError> {
    parse(IndexFormat::DebPackages, label, input, limits)
}

/// Parse a Debian/Ubuntu `Sources` document (see [`parse`]).
pub fn parse_sources(label: &str, input: impl Read, limits: &IndexLimits) -> Result<PackageIndex, IndexError> {
    parse(IndexFormat::DebSources, label, input, limits)
}

/// Parse an Alpine `APKINDEX.tar.gz` or plain `APKINDEX` (see [`parse`]).
pub fn parse_apkindex(label: &str, input: impl Read, limits: &IndexLimits) -> Result<PackageIndex, IndexError> {
    parse(IndexFormat::ApkIndex, label, input, limits)
}

enum Compression {
    None,
    Gzip,
    Unsupported(&'static str),
}

fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Unsupported(".xz")
    } else if head.starts_with(b"BZh") {
        Compression::Unsupported(".bz2")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Unsupported(".zst")
    } else {
        Compression::None
    }
}

enum Decoded<R: Read> {
    Plain(R),
    // Boxed: the decoder's state is ~300 bytes and this enum is built once per document.
    Gzip(Box<MultiGzDecoder<R>>),
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Gzip(r) => r.read(buf),
        }
    }
}

/// Passes at most `remaining` bytes through; one more sets `over` and fails the read.
struct CappedReader<R> {
    inner: R,
    remaining: u64,
    over: bool,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.over = true;
            return Err(io::Error::other("the decompressed index is over the byte cap"));
        }
        let max = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Up to `n` bytes from the start of `reader` (fewer only at the end of the input).
fn read_head(reader: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

fn read_error(label: &str, source: io::Error) -> IndexError {
    IndexError::Read { label: label.to_owned(), source }
}

/// Lines with their 1-based numbers; line endings (`\n`, `\r\n`) removed, length capped.
struct Lines<'l, R> {
    reader: R,
    label: &'l str,
    max: usize,
    buf: Vec<u8>,
    n: usize,
}

impl<'l, R: BufRead> Lines<'l, R> {
    fn new(reader: R, label: &'l str, max: usize) -> Self {
        Lines { reader, label, max, buf: Vec::new(), n: 0 }
    }

    fn next_line(&mut self) -> Result<Option<(usize, Cow<'_, str>)>, IndexError> {
        self.buf.clear();
        let read = (&mut self.reader)
            .take(self.max as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| read_error(self.label, source))?;
        if read == 0 {
            return Ok(None);
        }
        self.n += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        if self.buf.len() > self.max {
            return Err(IndexError::LineTooLong { label: self.label.to_owned(), line: self.n, limit: self.max });
        }
        if self.buf.contains(&0) {
            return Err(IndexError::NotText { label: self.label.to_owned(), line: self.n });
        }
        Ok(Some((self.n, String::from_utf8_lossy(&self.buf))))
    }
}

/// Counts stanzas against the cap.
struct StanzaCount<'l> {
    label: &'l str,
    n: usize,
    limit: usize,
}

impl StanzaCount<'_> {
    fn add(&mut self) -> Result<(), IndexError> {
        self.n += 1;
        if self.n > self.limit {
            return Err(IndexError::TooManyStanzas { label: self.label.to_owned(), limit: self.limit });
        }
        Ok(())
    }
}

/// The fields of one deb822 stanza this module reads.
#[derive(Default)]
struct DebStanza {
    started: bool,
    package: Option<String>,
    version: Option<String>,
    source: Option<String>,
    extra_source_only: bool,
}

impl DebStanza {
    /// The (source name, source version) this stanza contributes, if any.
    fn source_version(&self, format: IndexFormat) -> Option<(&str, &str)> {
        let package = self.package.as_deref().filter(|p| !p.is_empty())?;
        let version = self.version.as_deref().filter(|v| !v.is_empty())?;
        if format == IndexFormat::DebSources {
            return (!self.extra_source_only).then_some((package, version));
        }
        match self.source.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Some((package, version)),
            Some(source) => match source.split_once('(') {
                None => Some((source, version)),
                Some((name, rest)) => {
                    let name = name.trim();
                    let source_version = rest.split(')').next().unwrap_or(rest).trim();
                    let source_version = if source_version.is_empty() { version } else { source_version };
                    Some((if name.is_empty() { package } else { name }, source_version))
                }
            },
        }
    }
}

fn parse_deb822(
    format: IndexFormat,
    label: &str,
    reader: impl Read,
    limits: &IndexLimits,
) -> Result<PackageIndex, IndexError> {
    let mut index = PackageIndex::new(Ecosystem::Dpkg);
    let mut lines = Lines::new(BufReader::with_capacity(READ_BUFFER_BYTES, reader), label, limits.max_line_bytes);
    let mut count = StanzaCount { label, n: 0, limit: limits.max_stanzas };
    let mut stanza = DebStanza::default();
    let mut finish = |stanza: &mut DebStanza, index: &mut PackageIndex| -> Result<(), IndexError> {
        if std::mem::take(&mut stanza.started) {
            count.add()?;
            if let Some((source, version)) = stanza.source_version(format) {
                index.insert(source, version);
            }
        }
        *stanza = DebStanza::default();
        Ok(())
    };
    while let Some((n, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            finish(&mut stanza, &mut index)?;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // A continuation of a multi-line field (Description, Files, Checksums-*).
            if !stanza.started {
                return Err(malformed(label, n, "a continuation line starts a stanza"));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed(label, n, "expected `Field: value`"));
        };
        stanza.started = true;
        let value = value.trim();
        let name = name.trim_end();
        if name.eq_ignore_ascii_case("Package") {
            stanza.package = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("Version") {
            stanza.version = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("Source") {
            stanza.source = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("Extra-Source-Only") {
            stanza.extra_source_only = value.eq_ignore_ascii_case("yes");
        }
    }
    finish(&mut stanza, &mut index)?;
    index.sort();
    Ok(index)
}

fn malformed(label: &str, line: usize, message: &'static str) -> IndexError {
    IndexError::Malformed { label: label.to_owned(), line, message }
}

/// An APKINDEX document: the (decompressed) tar stream, or the plain text.
fn parse_apk_document(label: &str, reader: &mut impl Read, limits: &IndexLimits) -> Result<PackageIndex, IndexError> {
    let head = read_head(reader, 512).map_err(|source| read_error(label, source))?;
    let is_tar = head.get(257..262) == Some(b"ustar".as_slice());
    let stream = Cursor::new(head).chain(reader);
    if !is_tar {
        return parse_apk_text(label, stream, limits);
    }
    let mut archive = tar::Archive::new(stream);
    // The signature segment is cut before its end-of-archive blocks; skip zeros regardless.
    archive.set_ignore_zeros(true);
    for entry in archive.entries().map_err(|source| read_error(label, source))? {
        let entry = entry.map_err(|source| read_error(label, source))?;
        if entry.path_bytes().as_ref() == b"APKINDEX" {
            return parse_apk_text(label, entry, limits);
        }
    }
    Err(IndexError::MissingApkIndex { label: label.to_owned() })
}

/// APKINDEX text: blocks of `X:value` lines separated by blank lines. Field letters are
/// case-sensitive (`P` is the name, `p` the provides).
fn parse_apk_text(label: &str, reader: impl Read, limits: &IndexLimits) -> Result<PackageIndex, IndexError> {
    let mut index = PackageIndex::new(Ecosystem::Apk);
    let mut lines = Lines::new(BufReader::with_capacity(READ_BUFFER_BYTES, reader), label, limits.max_line_bytes);
    let mut count = StanzaCount { label, n: 0, limit: limits.max_stanzas };
    let (mut started, mut name, mut version, mut origin) = (false, None::<String>, None::<String>, None::<String>);
    loop {
        let line = lines.next_line()?;
        let blank = line.as_ref().is_none_or(|(_, l)| l.trim().is_empty());
        if blank {
            if std::mem::take(&mut started) {
                count.add()?;
                let source = origin.as_deref().filter(|o| !o.is_empty()).or(name.as_deref());
                if let (Some(source), Some(version)) = (source.filter(|s| !s.is_empty()), version.as_deref()) {
                    if !version.is_empty() {
                        index.insert(source, version);
                    }
                }
            }
            (name, version, origin) = (None, None, None);
            match line {
                None => break,
                Some(_) => continue,
            }
        }
        let Some((n, line)) = line else { break };
        let Some((field, value)) = line.split_once(':') else {
            return Err(malformed(label, n, "expected `X:value`"));
        };
        started = true;
        match field {
            "P" => name = Some(value.trim().to_owned()),
            "V" => version = Some(value.trim().to_owned()),
            "o" => origin = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    index.sort();
    Ok(index)
}

/// One distro release's package indexes, as configured.
///
/// `distro` is the lowercase os-release ID cascade stores on images: `debian`, `ubuntu` or
/// `alpine`. `release` is the release as cascade normalises it: Debian's major version (`12`),
/// Ubuntu's `22.04`, Alpine's `3.20` (or `edge`). `indexes` lists the index URLs to combine,
/// typically the release and its security suite:
///
/// ```toml
/// [[mirrors]]
/// distro = "debian"
/// release = "12"
/// indexes = [
///   "https://deb.debian.org/debian/dists/bookworm/main/source/Sources.gz",
///   "https://security.debian.org/debian-security/dists/bookworm-security/main/source/Sources.gz",
/// ]
///
/// [[mirrors]]
/// distro = "alpine"
/// release = "3.20"
/// indexes = ["https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/APKINDEX.tar.gz"]
/// ```
///
/// The format of each index comes from its file name ([`IndexFormat::from_url`]); `.xz` and
/// `.bz2` indexes are not supported, use the `.gz` ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorSpec {
    pub distro: String,
    pub release: String,
    pub indexes: Vec<String>,
}

/// Is an advisory's fix installable from the configured mirrors?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installability {
    /// The highest version present that is at least the fixed version.
    Installable { version: String },
    /// Every index is loaded and none carries the fix; `best` is the highest version present.
    NotYet { best: Option<String> },
    /// No mirror is configured, or the indexes that could carry the fix have not been fetched.
    Unknown { reason: String },
}

/// What one index's refresh did.
#[derive(Debug)]
pub struct RefreshReport {
    pub distro: String,
    pub release: String,
    pub url: String,
    pub duration_ms: u64,
    pub outcome: RefreshOutcome,
}

#[derive(Debug)]
pub enum RefreshOutcome {
    /// A new document was fetched and parsed.
    Updated { n_sources: usize },
    /// 304: the previous index stays.
    NotModified,
    /// The fetch or the parse failed; the previous index (if any) stays.
    Failed(IndexError),
}

/// The configured mirrors with, per index URL, the last validators and parsed index.
#[derive(Debug)]
pub struct Mirrors {
    mirrors: Vec<Mirror>,
    limits: IndexLimits,
}

#[derive(Debug)]
struct Mirror {
    spec: MirrorSpec,
    ecosystem: Ecosystem,
    indexes: Vec<IndexState>,
}

#[derive(Debug)]
struct IndexState {
    url: String,
    format: IndexFormat,
    /// From the fetch that produced `index`; only set together with it.
    validators: Validators,
    index: Option<PackageIndex>,
}

/// The version scheme of a distro's packages, for the distros this module knows.
fn distro_ecosystem(distro: &str) -> Option<Ecosystem> {
    match distro {
        "debian" | "ubuntu" => Some(Ecosystem::Dpkg),
        "alpine" => Some(Ecosystem::Apk),
        _ => None,
    }
}

impl Mirrors {
    /// Checks the specs: a known distro, a release, at least one index, formats that match the
    /// distro and no distro release configured twice. Nothing is fetched.
    pub fn new(specs: Vec<MirrorSpec>) -> Result<Mirrors, IndexError> {
        let mut mirrors: Vec<Mirror> = Vec::with_capacity(specs.len());
        for spec in specs {
            let invalid = |reason: String| IndexError::InvalidMirror {
                distro: spec.distro.clone(),
                release: spec.release.clone(),
                reason,
            };
            let Some(ecosystem) = distro_ecosystem(&spec.distro) else {
                return Err(invalid("unknown distro; expected debian, ubuntu or alpine".to_owned()));
            };
            if spec.release.trim().is_empty() {
                return Err(invalid("the release is empty".to_owned()));
            }
            if spec.indexes.is_empty() {
                return Err(invalid("no indexes are listed".to_owned()));
            }
            if mirrors.iter().any(|m| m.spec.distro == spec.distro && m.spec.release == spec.release) {
                return Err(invalid("configured twice".to_owned()));
            }
            let mut indexes = Vec::with_capacity(spec.indexes.len());
            for url in &spec.indexes {
                let format = IndexFormat::from_url(url)?;
                if format.ecosystem() != ecosystem {
                    return Err(invalid(format!("{url} is an index of {} packages", format.ecosystem().as_str())));
                }
                indexes.push(IndexState { url: url.clone(), format, validators: Validators::default(), index: None });
            }
            mirrors.push(Mirror { spec, ecosystem, indexes });
        }
        Ok(Mirrors { mirrors, limits: IndexLimits::default() })
    }

    pub fn with_limits(mut self, limits: IndexLimits) -> Mirrors {
        self.limits = limits;
        self
    }

    pub fn specs(&self) -> impl Iterator<Item = &MirrorSpec> {
        self.mirrors.iter().map(|m| &m.spec)
    }

    /// Fetches every index conditionally, in configuration order. `options.max_bytes` caps the
    /// compressed download, [`IndexLimits`] the parse. A 304 keeps the previous index; a failed
    /// fetch or parse keeps the previous index and validators and is reported.
    pub fn refresh(&mut self, options: &FetchOptions) -> Vec<RefreshReport> {
        let mut reports = Vec::new();
        for mirror in &mut self.mirrors {
            for state in &mut mirror.indexes {
                let span = tracing::info_span!("pkgindex_refresh", mirror.url = %state.url);
                let _entered = span.enter();
                let started = Instant::now();
                let outcome = refresh_one(state, options, &self.limits);
                let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                match &outcome {
                    RefreshOutcome::Updated { n_sources } => {
                        tracing::info!(n_sources, duration_ms, "package index updated")
                    }
                    RefreshOutcome::NotModified => tracing::debug!(duration_ms, "package index not modified"),
                    RefreshOutcome::Failed(error) => {
                        tracing::warn!(duration_ms, error = %error, "package index refresh failed; keeping the previous index")
                    }
                }
                reports.push(RefreshReport {
                    distro: mirror.spec.distro.clone(),
                    release: mirror.spec.release.clone(),
                    url: state.url.clone(),
                    duration_ms,
                    outcome,
                });
            }
        }
        reports
    }

    /// Is `source_name` at `fixed_version` or later in the indexes of `distro` `release`?
    ///
    /// Indexes that have not been fetched yet do not count as "the fix is absent": when the
    /// fix is in none of the loaded indexes but some index was never fetched, the answer is
    /// `Unknown`, since the missing one (often the security suite) may carry it.
    pub fn installable(&self, distro: &str, release: &str, source_name: &str, fixed_version: &str) -> Installability {
        let Some(mirror) = self.mirrors.iter().find(|m| m.spec.distro == distro && m.spec.release == release) else {
            return Installability::Unknown {
                reason: format!("no package index mirror is configured for {distro} {release}"),
            };
        };
        let newest = |a, b| newer(mirror.ecosystem, a, b);
        let (mut fix, mut best, mut n_loaded) = (None, None, 0usize);
        for index in mirror.indexes.iter().filter_map(|s| s.index.as_ref()) {
            n_loaded += 1;
            fix = newest(fix, index.fix_available(source_name, fixed_version));
            best = newest(best, index.versions(source_name).last().map(String::as_str));
        }
        if n_loaded == 0 {
            return Installability::Unknown {
                reason: format!("no package index of {distro} {release} has been fetched yet"),
            };
        }
        if let Some(version) = fix {
            return Installability::Installable { version: version.to_owned() };
        }
        if let Some(missing) = mirror.indexes.iter().find(|s| s.index.is_none()) {
            return Installability::Unknown {
                reason: format!(
                    "{source_name} {fixed_version} is not in the fetched indexes of {distro} {release}, and {} has not been fetched yet",
                    missing.url
                ),
            };
        }
        Installability::NotYet { best: best.map(str::to_owned) }
    }
}

/// The newer of two optional versions (`a` when they compare equal).
fn newer<'v>(ecosystem: Ecosystem, a: Option<&'v str>, b: Option<&'v str>) -> Option<&'v str> {
    match (a, b) {
        (Some(x), Some(y)) if versions::compare(ecosystem, y, x).is_gt() => Some(y),
        (None, y) => y,
        (x, _) => x,
    }
}

fn refresh_one(state: &mut IndexState, options: &FetchOptions, limits: &IndexLimits) -> RefreshOutcome {
    // Without a parsed index, a 304 would leave nothing: fetch unconditionally.
    let validators = if state.index.is_some() { state.validators.clone() } else { Validators::default() };
    match fetch(&state.url, &validators, options) {
        Ok(Fetched::NotModified) => RefreshOutcome::NotModified,
        Ok(Fetched::Document { bytes, validators }) => {
            match parse(state.format, &state.url, bytes.as_slice(), limits) {
                Ok(index) => {
                    let n_sources = index.n_sources();
                    state.index = Some(index);
                    state.validators = validators;
                    RefreshOutcome::Updated { n_sources }
                }
                Err(error) => RefreshOutcome::Failed(error),
            }
        }
        Err(error) => RefreshOutcome::Failed(IndexError::Fetch(error)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;

    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// A tar of `entries`; `cut` drops the end-of-archive blocks the way `abuild-tar --cut` does.
    fn tar_of(entries: &[(&str, &[u8])], cut: bool) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, *data).unwrap();
        }
        let mut bytes = builder.into_inner().unwrap();
        if cut {
            bytes.truncate(bytes.len() - 1024);
        }
        bytes
    }

    /// An `APKINDEX.tar.gz` as Alpine publishes it: a gzipped signature tar without its end
    /// blocks, then a gzipped tar holding DESCRIPTION and APKINDEX.
    fn apkindex_tar_gz(text: &str) -> Vec<u8> {
        let signature = tar_of(&[(".SIGN.RSA.alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub", &[7u8; 256])], true);
        let index = tar_of(&[("DESCRIPTION", b"v3.20.3-100-g0123456789"), ("APKINDEX", text.as_bytes())], false);
        [gzip(&signature), gzip(&index)].concat()
    }

    fn parse_default(format: IndexFormat, input: &[u8]) -> Result<PackageIndex, IndexError> {
        parse(format, "https://mirror.test/index", input, &IndexLimits::default())
    }

    /// Parse `input` as `format`; the index is exactly `expected` (versions oldest first).
    #[track_caller]
    fn check(format: IndexFormat, input: &[u8], expected: &[(&str, &[&str])]) {
        let index = parse_default(format, input).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(index.ecosystem(), format.ecosystem());
        let mut got: Vec<(&str, Vec<&str>)> =
            index.sources.iter().map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect())).collect();
        got.sort();
        let mut want: Vec<(&str, Vec<&str>)> = expected.iter().map(|(k, v)| (*k, v.to_vec())).collect();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(index.n_sources(), expected.len());
    }

    /// Parsing `input` as `format` with `limits` fails with a message holding every fragment.
    #[track_caller]
    fn check_error(format: IndexFormat, input: &[u8], limits: IndexLimits, fragments: &[&str]) {
        let error = parse(format, "https://mirror.test/index", input, &limits).expect_err("parse should fail");
        let message = error.to_string();
        let rest = message.strip_prefix("https://mirror.test/index: ").unwrap_or_else(|| panic!("no label: {message}"));
        assert!(rest.starts_with(|c: char| !c.is_uppercase()) && !rest.ends_with('.'), "{message}");
        for fragment in fragments {
            assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
        }
    }

    const PACKAGES: &str = "\
Package: libssl3
Source: openssl
Version: 3.0.15-1~deb12u1
Architecture: amd64
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.
 .
 It contains the shared libraries.

Package: openssl
Version: 3.0.15-1~deb12u1
Architecture: amd64

package: libc6
source: glibc (2.36-9+deb12u8)
VERSION: 2.36-9+deb12u8+b1
X-Unknown-Field: yes

Package: libc-bin
Source: glibc (2.36-9+deb12u8)
Version: 2.36-9+deb12u8+b1

Package: libssl-dev
Source: openssl
Version: 3.0.14-1~deb12u2

Package: no-version
Architecture: all
";

    #[test]
    fn packages_map_binaries_to_source_versions() {
        check(
            IndexFormat::DebPackages,
            PACKAGES.as_bytes(),
            &[("openssl", &["3.0.14-1~deb12u2", "3.0.15-1~deb12u1"]), ("glibc", &["2.36-9+deb12u8"])],
        );
        // CRLF line endings, whitespace-only separators, comments and no final newline.
        check(
            IndexFormat::DebPackages,
            b"Package: zlib1g\r\nSource: zlib\r\nVersion: 1:1.2.13.dfsg-1\r\n \t \r\n# comment\r\nPackage: curl\r\nVersion: 7.88.1-10+deb12u8",
            &[("zlib", &["1:1.2.13.dfsg-1"]), ("curl", &["7.88.1-10+deb12u8"])],
        );
        check(IndexFormat::DebPackages, b"", &[]);
        check(IndexFormat::DebPackages, b"\n\n\n", &[]);
        // `Source: name ()` falls back to the binary version.
        check(IndexFormat::DebPackages, b"Package: a\nSource: b ()\nVersion: 1.0\n", &[("b", &["1.0"])]);
    }

    #[test]
    fn sources_list_source_versions_and_skip_extra_source_only() {
        let sources = "\
Package: openssl
Binary: openssl, libssl3, libssl-dev
Version: 3.0.15-1~deb12u1
Files:
 0123456789abcdef0123456789abcdef 2428 openssl_3.0.15-1~deb12u1.dsc
Checksums-Sha256:
 00 2428 openssl_3.0.15-1~deb12u1.dsc

Package: openssl
Version: 3.0.11-1~deb12u2

Package: gcc-12
Version: 12.2.0-13
Extra-Source-Only: yes

Package: gcc-12
Version: 12.2.0-14
";
        check(
            IndexFormat::DebSources,
            sources.as_bytes(),
            &[("openssl", &["3.0.11-1~deb12u2", "3.0.15-1~deb12u1"]), ("gcc-12", &["12.2.0-14"])],
        );
        // The Source field means nothing in Sources.
        check(IndexFormat::DebSources, b"Package: a\nSource: b\nVersion: 1\n", &[("a", &["1"])]);
    }

    const APKINDEX: &str = "\
C:Q1abcdefghijklmnopqrstuvwxyz0123=
P:libcrypto3
V:3.3.2-r1
A:x86_64
o:openssl
p:so:libcrypto.so.3=3

C:Q1bcdefghijklmnopqrstuvwxyz01234=
P:openssl
V:3.3.2-r1
o:openssl

P:musl
V:1.2.5-r0

P:musl-utils
V:1.2.5-r1
o:musl
";

    #[test]
    fn apkindex_reads_origins_from_the_archive_and_from_text() {
        let expected: &[(&str, &[&str])] = &[("openssl", &["3.3.2-r1"]), ("musl", &["1.2.5-r0", "1.2.5-r1"])];
        check(IndexFormat::ApkIndex, &apkindex_tar_gz(APKINDEX), expected);
        check(IndexFormat::ApkIndex, APKINDEX.as_bytes(), expected);
        check(IndexFormat::ApkIndex, &gzip(APKINDEX.as_bytes()), expected);
        // A signature tar that kept its end blocks is read too.
        let uncut = tar_of(&[(".SIGN.RSA.key.rsa.pub", b"sig")], false);
        let index = tar_of(&[("DESCRIPTION", b"d"), ("APKINDEX", APKINDEX.as_bytes())], false);
        check(IndexFormat::ApkIndex, &[gzip(&uncut), gzip(&index)].concat(), expected);
        // An uncompressed tar.
        check(IndexFormat::ApkIndex, &index, expected);
        check(IndexFormat::ApkIndex, b"", &[]);
    }

    #[test]
    fn gzipped_and_multi_member_packages_are_decompressed() {
        let expected: &[(&str, &[&str])] =
            &[("openssl", &["3.0.14-1~deb12u2", "3.0.15-1~deb12u1"]), ("glibc", &["2.36-9+deb12u8"])];
        check(IndexFormat::DebPackages, &gzip(PACKAGES.as_bytes()), expected);
        let (first, second) = PACKAGES.split_at(PACKAGES.find("\n\n").unwrap() + 2);
        check(IndexFormat::DebPackages, &[gzip(first.as_bytes()), gzip(second.as_bytes())].concat(), expected);
    }

    #[test]
    fn format_comes_from_the_file_name() {
        for (url, expected) in [
            ("https://deb.debian.org/debian/dists/bookworm/main/source/Sources.gz", Some(IndexFormat::DebSources)),
            (
                "https://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.gz",
                Some(IndexFormat::DebPackages),
            ),
            (
                "http://archive.ubuntu.com/ubuntu/dists/jammy-security/main/binary-amd64/Packages",
                Some(IndexFormat::DebPackages),
            ),
            ("https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/APKINDEX.tar.gz", Some(IndexFormat::ApkIndex)),
            ("https://mirror.test/Sources.gz?token=1#frag", Some(IndexFormat::DebSources)),
            ("https://mirror.test/Packages/", None),
            ("https://mirror.test/index.json", None),
        ] {
            assert_eq!(IndexFormat::from_url(url).ok(), expected, "{url}");
        }
        let message = IndexFormat::from_url("https://mirror.test/index.json").unwrap_err().to_string();
        assert!(message.starts_with("https://mirror.test/index.json: cannot tell the index format"), "{message}");
        let message = IndexFormat::from_url("https://deb.debian.org/x/Sources.xz").unwrap_err().to_string();
        assert!(
            message.contains("Sources.xz: .xz indexes are not supported; use Packages.gz or Sources.gz"),
            "{message}"
        );
    }

    #[test]
    fn fix_available_is_the_highest_version_at_least_the_fix() {
        let deb = parse_default(
            IndexFormat::DebSources,
            b"Package: a\nVersion: 1:1.0-1\n\nPackage: a\nVersion: 2.0-1\n\nPackage: b\nVersion: 1.2~rc1-1\n\nPackage: c\nVersion: 1.0-1+deb12u1\n\nPackage: c\nVersion: 1.0-1\n",
        )
        .unwrap();
        let apk =
            parse_default(IndexFormat::ApkIndex, b"P:x\nV:1.2.3_rc1-r0\n\nP:y\nV:1.2.3-r1\n\nP:y\nV:1.2.3_p1-r0\n")
                .unwrap();
        for (index, source, fixed, expected) in [
            // The epoch wins over a higher upstream version.
            (&deb, "a", "2.0-1", Some("1:1.0-1")),
            (&deb, "a", "1:1.0-1", Some("1:1.0-1")),
            (&deb, "a", "1:1.0-2", None),
            // `~` sorts before the release.
            (&deb, "b", "1.2-1", None),
            (&deb, "b", "1.2~rc1-1", Some("1.2~rc1-1")),
            (&deb, "b", "1.2~beta-1", Some("1.2~rc1-1")),
            (&deb, "c", "1.0-1+deb12u1", Some("1.0-1+deb12u1")),
            (&deb, "missing", "0", None),
            // apk: `_rc` before the release, `_p` after it.
            (&apk, "x", "1.2.3-r0", None),
            (&apk, "x", "1.2.3_rc1-r0", Some("1.2.3_rc1-r0")),
            (&apk, "y", "1.2.3-r2", Some("1.2.3_p1-r0")),
            (&apk, "y", "1.2.3_p2-r0", None),
        ] {
            assert_eq!(index.fix_available(source, fixed), expected, "{source} {fixed}");
        }
        assert_eq!(deb.versions("a"), ["2.0-1", "1:1.0-1"]);
        assert_eq!(deb.versions("missing"), [] as [String; 0]);
    }

    #[test]
    fn merge_combines_and_deduplicates() {
        let mut release = parse_default(
            IndexFormat::DebSources,
            b"Package: openssl\nVersion: 3.0.11-1~deb12u2\n\nPackage: curl\nVersion: 7.88.1-10\n",
        )
        .unwrap();
        let security = parse_default(
            IndexFormat::DebSources,
            b"Package: openssl\nVersion: 3.0.15-1~deb12u1\n\nPackage: curl\nVersion: 7.88.1-10\n\nPackage: glibc\nVersion: 2.36-9+deb12u8\n",
        )
        .unwrap();
        release.merge(security);
        assert_eq!(release.n_sources(), 3);
        assert_eq!(release.versions("openssl"), ["3.0.11-1~deb12u2", "3.0.15-1~deb12u1"]);
        assert_eq!(release.versions("curl"), ["7.88.1-10"]);
        assert_eq!(release.fix_available("glibc", "2.36-9+deb12u7"), Some("2.36-9+deb12u8"));
        // Order-independent.
        let mut a = PackageIndex::new(Ecosystem::Dpkg);
        a.insert("s", "2");
        let mut b = PackageIndex::new(Ecosystem::Dpkg);
        b.insert("s", "10");
        b.insert("s", "1");
        b.sort();
        a.merge(b);
        assert_eq!(a.versions("s"), ["1", "2", "10"]);
    }

    #[test]
    fn caps_refuse_oversized_input() {
        let limits = IndexLimits { max_bytes: 100, ..IndexLimits::default() };
        let big = PACKAGES.repeat(10);
        check_error(IndexFormat::DebPackages, big.as_bytes(), limits, &["larger than the 100-byte cap"]);
        // Measured after decompression: a small gzip that inflates past the cap.
        let bomb = gzip(format!("Package: a\nVersion: 1\nDescription: x\n {}\n", "y".repeat(1 << 20)).as_bytes());
        assert!(bomb.len() < 4096);
        let limits = IndexLimits { max_bytes: 64 * 1024, ..IndexLimits::default() };
        check_error(IndexFormat::DebPackages, &bomb, limits, &["larger than the 65536-byte cap"]);
        check_error(
            IndexFormat::ApkIndex,
            &apkindex_tar_gz(&APKINDEX.repeat(100)),
            IndexLimits { max_bytes: 4096, ..IndexLimits::default() },
            &["4096-byte cap"],
        );
        // Exactly at the cap is fine.
        let exact = IndexLimits { max_bytes: PACKAGES.len() as u64, ..IndexLimits::default() };
        assert!(parse(IndexFormat::DebPackages, "x", PACKAGES.as_bytes(), &exact).is_ok());

        let limits = IndexLimits { max_line_bytes: 32, ..IndexLimits::default() };
        check_error(IndexFormat::DebPackages, PACKAGES.as_bytes(), limits, &["line 5 is longer than the 32-byte cap"]);
        let limits = IndexLimits { max_stanzas: 3, ..IndexLimits::default() };
        check_error(IndexFormat::DebPackages, PACKAGES.as_bytes(), limits, &["more than 3 stanzas"]);
        check_error(IndexFormat::ApkIndex, APKINDEX.as_bytes(), limits, &["more than 3 stanzas"]);
    }

    #[test]
    fn malformed_input_is_a_clear_error() {
        // Deterministic binary garbage with NUL bytes: not a text index.
        let garbage: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        assert!(garbage.contains(&0) && !garbage.starts_with(&[0x1f, 0x8b]));
        check_error(IndexFormat::DebPackages, &garbage, IndexLimits::default(), &["is not a text index"]);
        check_error(IndexFormat::ApkIndex, &garbage, IndexLimits::default(), &["is not a text index"]);
        // A truncated gzip stream.
        let truncated = &gzip(PACKAGES.as_bytes())[..40];
        check_error(IndexFormat::DebPackages, truncated, IndexLimits::default(), &["reading the index failed"]);
        check_error(
            IndexFormat::DebPackages,
            b"\x1f\x8bnot gzip at all",
            IndexLimits::default(),
            &["reading the index failed"],
        );
        // Text that is not deb822 / APKINDEX.
        check_error(
            IndexFormat::DebPackages,
            b"Package: a\nnot a field\n",
            IndexLimits::default(),
            &["line 2: expected `Field: value`"],
        );
        check_error(
            IndexFormat::DebSources,
            b" leading continuation\n",
            IndexLimits::default(),
            &["line 1: a continuation line starts a stanza"],
        );
        check_error(
            IndexFormat::ApkIndex,
            b"P:a\nV:1\nnonsense\n",
            IndexLimits::default(),
            &["line 3: expected `X:value`"],
        );
        // Unsupported compressions, recognised by their magic bytes.
        check_error(
            IndexFormat::DebSources,
            b"\xfd7zXZ\x00\x00\x04",
            IndexLimits::default(),
            &[".xz indexes are not supported; use Packages.gz or Sources.gz"],
        );
        check_error(
            IndexFormat::DebSources,
            b"BZh91AY&SY",
            IndexLimits::default(),
            &[".bz2 indexes are not supported"],
        );
        // An archive without APKINDEX.
        let no_index = gzip(&tar_of(&[("DESCRIPTION", b"d")], false));
        check_error(IndexFormat::ApkIndex, &no_index, IndexLimits::default(), &["the archive holds no APKINDEX entry"]);
    }

    /// Mirrors for debian 12 (two Sources indexes) and alpine 3.20, on `base`.
    fn mirrors(base: &str) -> Mirrors {
        let specs: Vec<MirrorSpec> = toml::from_str::<HashMap<String, Vec<MirrorSpec>>>(&format!(
            r#"
            [[mirrors]]
            distro = "debian"
            release = "12"
            indexes = ["{base}/debian/dists/bookworm/main/source/Sources", "{base}/debian-security/dists/bookworm-security/main/source/Sources.gz"]

            [[mirrors]]
            distro = "alpine"
            release = "3.20"
            indexes = ["{base}/alpine/v3.20/main/x86_64/APKINDEX.tar.gz"]
            "#
        ))
        .unwrap()
        .remove("mirrors")
        .unwrap();
        Mirrors::new(specs).unwrap()
    }

    fn load(mirrors: &mut Mirrors, distro: &str, position: usize, format: IndexFormat, text: &str) {
        let mirror = mirrors.mirrors.iter_mut().find(|m| m.spec.distro == distro).unwrap();
        mirror.indexes[position].index = Some(parse_default(format, text.as_bytes()).unwrap());
    }

    #[test]
    fn installable_answers_all_three_outcomes() {
        let mut m = mirrors("https://mirror.test");
        let unknown = |i: Installability, fragment: &str| match i {
            Installability::Unknown { reason } => assert!(reason.contains(fragment), "{reason}"),
            other => panic!("expected Unknown, got {other:?}"),
        };
        unknown(m.installable("debian", "11", "openssl", "1"), "no package index mirror is configured for debian 11");
        unknown(
            m.installable("ubuntu", "22.04", "openssl", "1"),
            "no package index mirror is configured for ubuntu 22.04",
        );
        unknown(m.installable("debian", "12", "openssl", "1"), "no package index of debian 12 has been fetched yet");

        load(&mut m, "debian", 0, IndexFormat::DebSources, "Package: openssl\nVersion: 3.0.11-1~deb12u2\n");
        // Only the release index is loaded: the fix may be in the security suite.
        unknown(
            m.installable("debian", "12", "openssl", "3.0.15-1~deb12u1"),
            "and https://mirror.test/debian-security/dists/bookworm-security/main/source/Sources.gz has not been fetched yet",
        );
        assert_eq!(
            m.installable("debian", "12", "openssl", "3.0.11-1~deb12u1"),
            Installability::Installable { version: "3.0.11-1~deb12u2".into() }
        );

        load(&mut m, "debian", 1, IndexFormat::DebSources, "Package: openssl\nVersion: 3.0.13-1~deb12u1\n");
        assert_eq!(
            m.installable("debian", "12", "openssl", "3.0.15-1~deb12u1"),
            Installability::NotYet { best: Some("3.0.13-1~deb12u1".into()) }
        );
        assert_eq!(m.installable("debian", "12", "curl", "7.88.1-10"), Installability::NotYet { best: None });
        assert_eq!(
            m.installable("debian", "12", "openssl", "3.0.12-1"),
            Installability::Installable { version: "3.0.13-1~deb12u1".into() }
        );

        load(&mut m, "alpine", 0, IndexFormat::ApkIndex, APKINDEX);
        assert_eq!(
            m.installable("alpine", "3.20", "musl", "1.2.5-r1"),
            Installability::Installable { version: "1.2.5-r1".into() }
        );
        assert_eq!(
            m.installable("alpine", "3.20", "musl", "1.2.6-r0"),
            Installability::NotYet { best: Some("1.2.5-r1".into()) }
        );
    }

    #[test]
    fn mirror_specs_are_checked() {
        let spec = |distro: &str, release: &str, indexes: &[&str]| MirrorSpec {
            distro: distro.into(),
            release: release.into(),
            indexes: indexes.iter().map(|s| s.to_string()).collect(),
        };
        let sources = "https://deb.debian.org/debian/dists/bookworm/main/source/Sources.gz";
        let apk = "https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/APKINDEX.tar.gz";
        for (specs, fragment) in [
            (
                vec![spec("Debian", "12", &[sources])],
                "mirror Debian 12: unknown distro; expected debian, ubuntu or alpine",
            ),
            (vec![spec("debian", "", &[sources])], "the release is empty"),
            (vec![spec("debian", "12", &[])], "mirror debian 12: no indexes are listed"),
            (vec![spec("debian", "12", &[apk])], "APKINDEX.tar.gz is an index of apk packages"),
            (vec![spec("alpine", "3.20", &[sources])], "Sources.gz is an index of dpkg packages"),
            (vec![spec("debian", "12", &[sources]), spec("debian", "12", &[sources])], "configured twice"),
            (vec![spec("debian", "12", &["https://deb.debian.org/x/Sources.xz"])], ".xz indexes are not supported"),
        ] {
            let message = Mirrors::new(specs).unwrap_err().to_string();
            assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
        }
        assert!(toml::from_str::<MirrorSpec>("distro = \"debian\"\nrelease = \"12\"\nindexes = []\nmirror = \"x\"\n")
            .unwrap_err()
            .to_string()
            .contains("unknown field `mirror`"));
        let ok = Mirrors::new(vec![spec(
            "ubuntu",
            "22.04",
            &["http://archive.ubuntu.com/ubuntu/dists/jammy/main/source/Sources.gz"],
        )])
        .unwrap();
        assert_eq!(ok.specs().count(), 1);
    }

    /// A stub response: status, headers, body.
    type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>);
    /// The requests a stub server saw: (path, If-None-Match).
    type Seen = Vec<(String, Option<String>)>;

    /// A one-thread HTTP server answering `n` requests in order, one per connection. Each
    /// request is recorded as (path, If-None-Match); `respond` gets the request number too.
    fn serve(
        n: usize,
        respond: impl Fn(usize, &str, Option<&str>) -> Reply + Send + 'static,
    ) -> (String, std::thread::JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (i, stream) in listener.incoming().take(n).enumerate() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                let mut if_none_match = None;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("if-none-match") {
                            if_none_match = Some(value.trim().to_owned());
                        }
                    }
                }
                let (status, headers, body) = respond(i, &path, if_none_match.as_deref());
                let mut response =
                    format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
                for (name, value) in headers {
                    response.push_str(&format!("{name}: {value}\r\n"));
                }
                response.push_str("\r\n");
                stream.write_all(response.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
                seen.push((path, if_none_match));
            }
            seen
        });
        (base, handle)
    }

    #[test]
    fn refresh_uses_validators_and_keeps_the_previous_index_on_failure() {
        let release = "Package: openssl\nVersion: 3.0.11-1~deb12u2\n";
        let security = gzip(b"Package: openssl\nVersion: 3.0.15-1~deb12u1\n");
        // Requests in order: round 1 (release, security, alpine), round 2, round 3.
        let (base, server) = serve(9, move |i, path, etag| {
            let ok = |etag: &str, body: Vec<u8>| (200, vec![("ETag", etag.to_owned())], body);
            match (i / 3, path.contains("security"), path.contains("alpine")) {
                (_, false, false) if etag == Some("\"r1\"") => (304, vec![], vec![]),
                (_, false, false) => ok("\"r1\"", release.as_bytes().to_vec()),
                (0, true, _) => (404, vec![], vec![]),
                (1, true, _) => ok("\"s1\"", security.clone()),
                (_, true, _) => ok("\"s2\"", b"\x00garbage".to_vec()),
                (_, _, true) => (500, vec![], vec![]),
            }
        });
        let mut m = mirrors(&base);
        let options = FetchOptions { max_attempts: 1, ..FetchOptions::default() };
        let outcomes = |reports: Vec<RefreshReport>| -> Vec<String> {
            reports
                .into_iter()
                .map(|r| match r.outcome {
                    RefreshOutcome::Updated { n_sources } => format!("updated {n_sources}"),
                    RefreshOutcome::NotModified => "not modified".to_owned(),
                    RefreshOutcome::Failed(e) => format!("failed: {e}"),
                })
                .collect()
        };

        let round1 = outcomes(m.refresh(&options));
        assert_eq!(round1[0], "updated 1");
        assert!(round1[1].starts_with("failed: GET ") && round1[1].ends_with("HTTP 404"), "{}", round1[1]);
        assert!(round1[2].ends_with("HTTP 500"), "{}", round1[2]);
        assert!(matches!(m.installable("debian", "12", "openssl", "3.0.15-1~deb12u1"), Installability::Unknown { .. }));
        assert!(matches!(m.installable("alpine", "3.20", "musl", "1"), Installability::Unknown { .. }));

        let round2 = outcomes(m.refresh(&options));
        assert_eq!(round2[..2], ["not modified", "updated 1"]);
        assert_eq!(
            m.installable("debian", "12", "openssl", "3.0.15-1~deb12u1"),
            Installability::Installable { version: "3.0.15-1~deb12u1".into() }
        );

        // A new security document that does not parse keeps the previous one.
        let round3 = outcomes(m.refresh(&options));
        assert_eq!(round3[0], "not modified");
        assert!(round3[1].contains("Sources.gz: line 1 holds a NUL byte"), "{}", round3[1]);
        assert_eq!(
            m.installable("debian", "12", "openssl", "3.0.15-1~deb12u1"),
            Installability::Installable { version: "3.0.15-1~deb12u1".into() }
        );

        let seen = server.join().unwrap();
        let etags: Vec<Option<&str>> = seen.iter().map(|(_, e)| e.as_deref()).collect();
        // Release: unconditional, then conditional; security: conditional only once it parsed.
        assert_eq!(etags, [None, None, None, Some("\"r1\""), None, None, Some("\"r1\""), Some("\"s1\""), None]);
    }
}
