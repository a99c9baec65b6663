//! Feed document formats: each parser takes the document's bytes and hands normalised
//! [`Advisory`] values to a sink, one at a time, so that a large document is never held twice.
//! No IO here.

pub mod alpine;
pub mod debian_list;
pub mod debian_tracker;
pub mod mail_archive;
pub mod osv;
pub mod redhat_csaf;
pub mod redhat_oval;
pub mod rss;
pub mod usn_db;

use serde::{Deserialize, Serialize};

use crate::advisories::Advisory;

/// The document formats cascade reads. Names are the `format` values of `feeds/*.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `https://security-tracker.debian.org/tracker/data/json`
    DebianTrackerJson,
    /// security-tracker `data/DSA/list`
    DebianDsaList,
    /// security-tracker `data/DLA/list`
    DebianDlaList,
    /// security-tracker `data/CVE/list`
    DebianCveList,
    /// RSS 1.0 (RDF) / RSS 2.0 / Atom announcement feeds (Debian DSA, Ubuntu USN)
    Rss,
    /// OSV JSON: one record, or an array of records (Ubuntu, Debian, Alpine, Red Hat, ...)
    Osv,
    /// Ubuntu USN database JSON (`database.json`, optionally bzip2-compressed)
    UsnDatabase,
    /// Alpine secdb JSON (`https://secdb.alpinelinux.org/v3.NN/main.json`)
    AlpineSecdb,
    /// Red Hat CSAF (VEX per CVE, or advisory per RHSA)
    RedhatCsaf,
    /// Red Hat OVAL XML (optionally bzip2-compressed)
    RedhatOval,
    /// A mailing list's archive: mbox text, optionally gzip-compressed (pipermail
    /// `YYYY-Month.txt.gz`); each advisory mail becomes advisories
    MailArchive,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DebianTrackerJson => "debian-tracker-json",
            Format::DebianDsaList => "debian-dsa-list",
            Format::DebianDlaList => "debian-dla-list",
            Format::DebianCveList => "debian-cve-list",
            Format::Rss => "rss",
            Format::Osv => "osv",
            Format::UsnDatabase => "usn-database",
            Format::AlpineSecdb => "alpine-secdb",
            Format::RedhatCsaf => "redhat-csaf",
            Format::RedhatOval => "redhat-oval",
            Format::MailArchive => "mail-archive",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a parser knows besides the bytes: which feed, and (for formats that do not say it
/// themselves) which distro and releases the document covers.
#[derive(Debug, Clone, Default)]
pub struct ParseContext {
    pub feed: String,
    /// Distro of the document, from the feed definition (`debian`, `ubuntu`, `alpine`, `rhel`).
    pub distro: Option<String>,
    /// Releases the feed covers, normalised (`12`, `22.04`, `3.19`, `9`); empty = all.
    pub releases: Vec<String>,
    pub document_url: Option<String>,
}

/// A document that could not be read as its format; names the format and where it failed.
#[derive(Debug, thiserror::Error)]
#[error("{format} document: {message}")]
pub struct FormatError {
    pub format: Format,
    pub message: String,
}

impl FormatError {
    pub fn new(format: Format, message: impl Into<String>) -> FormatError {
        FormatError { format, message: message.into() }
    }
}

/// Counts a parser reports besides the advisories it emitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseSummary {
    /// Records the parser skipped (unknown release, malformed record in an otherwise good
    /// document), each logged with its reason.
    pub n_skipped: u64,
}

/// Parses `bytes` as `format`, handing each advisory to `sink`. A document that is not in the
/// format at all is an error; a bad record inside a good document is skipped and counted.
pub fn parse(
    format: Format,
    bytes: &[u8],
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Advisory),
) -> Result<ParseSummary, FormatError> {
    match format {
        Format::DebianTrackerJson => debian_tracker::parse(bytes, ctx, sink),
        Format::DebianDsaList => debian_list::parse(debian_list::ListKind::Dsa, bytes, ctx, sink),
        Format::DebianDlaList => debian_list::parse(debian_list::ListKind::Dla, bytes, ctx, sink),
        Format::DebianCveList => debian_list::parse(debian_list::ListKind::Cve, bytes, ctx, sink),
        Format::Rss => rss::parse(bytes, ctx, sink),
        Format::Osv => osv::parse(bytes, ctx, sink),
        Format::UsnDatabase => usn_db::parse(bytes, ctx, sink),
        Format::AlpineSecdb => alpine::parse(bytes, ctx, sink),
        Format::RedhatCsaf => redhat_csaf::parse(bytes, ctx, sink),
        Format::RedhatOval => redhat_oval::parse(bytes, ctx, sink),
        Format::MailArchive => mail_archive::parse(bytes, ctx, sink),
    }
}
