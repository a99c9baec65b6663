//! The Debian security-tracker text lists `data/DSA/list`, `data/DLA/list` and `data/CVE/list`:
//! one [`Advisory`] per record, its per-release package annotations mapped to [`Status`] per
//! correctness-checklist §4.1. Owns the list syntax only; must not do IO, and must not infer a
//! release's state from another release (a line without `[codename]` is sid, nothing more).
//!
//! Record syntax (the tracker's `lib/python/bugs.py` is the authority):
//!
//! ```text
//! [31 Dec 2022] DSA-5310-1 ruby-image-processing - security update     (DSA/DLA header)
//! CVE-2024-33601 (nscd: netgroup cache may terminate daemon ...)        (CVE header, or [..])
//! <tab or spaces>{CVE-2022-24720 DSA-5678-1}                             (cross references)
//! <tab or spaces>[bullseye] - pkg 1.10.3-1+deb11u1                        (fixed in a release)
//! <tab or spaces>- pkg 2.37-19 (low; bug #1053115)                        (sid, with notes)
//! <tab or spaces>[bookworm] - pkg <no-dsa> (Minor issue)                  (a state with a reason)
//! <tab or spaces>NOTE: ... / TODO: ... / RESERVED / REJECTED / NOT-FOR-US: ...
//! ```
//!
//! Choices:
//! - DSA/DLA: the header id is the advisory id, `{..}` ids are aliases, the header date is
//!   `published`, the rest of the header is the title. A record is emitted even without
//!   package lines (a DSA that names none, a key-change notice), unless it had package lines
//!   and all of them were filtered out or skipped.
//! - CVE: `{..}` DSA/DLA ids are aliases; a record is emitted only when at least one package
//!   line survives (NOT-FOR-US, RESERVED, REJECTED and untriaged records name no package and
//!   are passed over silently: they are not malformed). `CVE-YYYY-XXXX` placeholders get the
//!   tracker's own `TEMP-<bug>-<md5>` name, so ids agree with the tracker JSON.
//! - A header that is not a record header skips that record (its indented lines too) and is
//!   counted; so are package lines that do not parse, unknown `<kinds>`, `<itp>` lines and
//!   unknown codenames (`[experimental]`). A document with no record header at all is an error.
//! - Several lines for the same (package, release) are kept as they are, in file order.
//!
//! Limits: the bytes are already in memory and output is linear in them; there is no nesting.

use super::debian_tracker::{debian_affected, release_for_codename, tracker_url, wanted_release};
use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::{Advisory, Affected, Severity, Status};

/// Which of the three list files a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Dsa,
    Dla,
    Cve,
}

impl ListKind {
    pub fn format(self) -> Format {
        match self {
            ListKind::Dsa => Format::DebianDsaList,
            ListKind::Dla => Format::DebianDlaList,
            ListKind::Cve => Format::DebianCveList,
        }
    }

    fn record_name(self) -> &'static str {
        match self {
            ListKind::Dsa => "DSA",
            ListKind::Dla => "DLA",
            ListKind::Cve => "CVE",
        }
    }
}

/// Parses one list document, handing each record's advisory to `sink` as soon as the record
/// ends; see the module docs for what is skipped and what is an error.
pub fn parse(
    kind: ListKind,
    bytes: &[u8],
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Advisory),
) -> Result<ParseSummary, FormatError> {
    let text = String::from_utf8_lossy(bytes);
    let mut summary = ParseSummary::default();
    let mut n_records = 0u64;
    let mut first_bad: Option<(usize, &str)> = None;
    let mut current: Option<Record> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let lineno = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.starts_with("--") {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Lines before the first header, or under a skipped header, belong to no record.
            if let Some(record) = current.as_mut() {
                record.annotate(kind, ctx, line.trim(), lineno, &mut summary);
            }
            continue;
        }
        if let Some(record) = current.take() {
            record.finish(kind, sink);
        }
        match parse_header(kind, line) {
            Header::Record(record) => {
                n_records += 1;
                current = Some(record);
            }
            Header::NotARecord => {}
            Header::Malformed => {
                summary.n_skipped += 1;
                first_bad.get_or_insert((lineno, line));
                tracing::debug!(
                    feed.name = %ctx.feed,
                    line = lineno,
                    header = line,
                    "skipped debian list record with a malformed header"
                );
            }
        }
    }
    if let Some(record) = current.take() {
        record.finish(kind, sink);
    }
    if n_records == 0 {
        let message = match first_bad {
            Some((lineno, line)) => {
                let shown: String = line.chars().take(80).collect();
                format!("no {} record found; line {lineno} is not a record header: {shown:?}", kind.record_name())
            }
            None => format!("no {} record found: the document has no record header", kind.record_name()),
        };
        return Err(FormatError::new(kind.format(), message));
    }
    Ok(summary)
}

/// What a line that does not start with whitespace is.
enum Header {
    Record(Record),
    /// `STOP:` and `begin/end claimed by` lines of the CVE list: markers, not records.
    NotARecord,
    Malformed,
}

fn parse_header(kind: ListKind, line: &str) -> Header {
    match kind {
        ListKind::Dsa | ListKind::Dla => parse_advisory_header(kind, line).map_or(Header::Malformed, Header::Record),
        ListKind::Cve => {
            if line.starts_with("STOP:") || line.starts_with("begin claimed by ") || line.starts_with("end claimed by ")
            {
                return Header::NotARecord;
            }
            parse_cve_header(line).map_or(Header::Malformed, Header::Record)
        }
    }
}

/// `[DD Mon YYYY] DSA-1234-1 package - description`.
fn parse_advisory_header(kind: ListKind, line: &str) -> Option<Record> {
    let rest = line.strip_prefix('[')?;
    let (date, rest) = rest.split_once(']')?;
    let published = parse_date(date)?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let (id, title) = split_word(rest.trim_start());
    let number = id.strip_prefix(kind.record_name())?.strip_prefix('-')?;
    let (major, revision) = match number.split_once('-') {
        Some((major, revision)) => (major, Some(revision)),
        None => (number, None),
    };
    if !all_digits(major) || !revision.is_none_or(all_digits) {
        return None;
    }
    let mut record = Record::new(id, title);
    record.published = Some(published);
    Some(record)
}

/// `DD Mon YYYY` → `YYYY-MM-DD`.
fn parse_date(date: &str) -> Option<String> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut parts = date.split_whitespace();
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || day.len() > 2 || !all_digits(day) || year.len() != 4 || !all_digits(year) {
        return None;
    }
    let day: u8 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    (1..=31).contains(&day).then(|| format!("{year}-{month:02}-{day:02}"))
}

/// `CVE-2024-1234 (description ...)`, `CVE-2024-XXXX [description]`, or the id alone.
fn parse_cve_header(line: &str) -> Option<Record> {
    let (id, description) = split_word(line);
    let valid = if let Some(rest) = id.strip_prefix("CVE-") {
        let (year, number) = rest.split_once('-')?;
        year.len() == 4 && all_digits(year) && ((number.len() >= 4 && all_digits(number)) || number == "XXXX")
    } else if let Some(rest) = id.strip_prefix("TEMP-") {
        rest.split_once('-').is_some_and(|(bug, hash)| all_digits(bug) && !hash.is_empty())
    } else {
        false
    };
    if !valid {
        return None;
    }
    let description = description
        .strip_prefix('(')
        .and_then(|d| d.strip_suffix(')'))
        .or_else(|| description.strip_prefix('[').and_then(|d| d.strip_suffix(']')))
        .unwrap_or(description);
    Some(Record::new(id, description))
}

/// One record being read.
struct Record {
    id: String,
    /// The header's description as written (brackets removed); empty when there is none.
    description: String,
    published: Option<String>,
    aliases: Vec<String>,
    affected: Vec<Affected>,
    severity: Option<Severity>,
    n_package_lines: usize,
    /// The first `bug #N` of a package note, for the TEMP name of a `CVE-YYYY-XXXX` record.
    first_bug: Option<u64>,
}

impl Record {
    fn new(id: &str, description: &str) -> Record {
        Record {
            id: id.to_owned(),
            description: description.trim().to_owned(),
            published: None,
            aliases: Vec::new(),
            affected: Vec::new(),
            severity: None,
            n_package_lines: 0,
            first_bug: None,
        }
    }

    /// One indented line, trimmed. A package line that is skipped is counted and logged.
    fn annotate(&mut self, kind: ListKind, ctx: &ParseContext, line: &str, lineno: usize, summary: &mut ParseSummary) {
        if let Some(refs) = line.strip_prefix('{') {
            let refs = refs.strip_suffix('}').unwrap_or(refs);
            for id in refs.split_whitespace() {
                if id != self.id && !self.aliases.iter().any(|a| a == id) {
                    self.aliases.push(id.to_owned());
                }
            }
        } else if line.starts_with('-') || line.starts_with('[') {
            self.n_package_lines += 1;
            if let Err(reason) = self.add_package_line(kind, ctx, line) {
                summary.n_skipped += 1;
                tracing::debug!(
                    feed.name = %ctx.feed,
                    advisory.id = %self.id,
                    line = lineno,
                    reason,
                    "skipped debian list entry"
                );
            }
        }
        // NOTE:, TODO:, RESERVED, REJECTED, NOT-FOR-US: and anything else say nothing about a
        // package's state.
    }

    /// `[codename] - package ...`: one affected entry, unless filtered out by `ctx.releases`.
    fn add_package_line(&mut self, kind: ListKind, ctx: &ParseContext, line: &str) -> Result<(), &'static str> {
        let note = PackageNote::parse(line).ok_or("package line does not parse")?;
        if matches!(note.kind, None | Some("unfixed" | "removed" | "itp" | "undetermined")) {
            // The tracker reads urgency and bug numbers only from these notes; the others'
            // parentheses hold free text (`<no-dsa> (Minor issue)`).
            if kind == ListKind::Cve && self.first_bug.is_none() {
                self.first_bug = note.notes().find_map(|n| n.strip_prefix("bug #")?.parse().ok());
            }
            for severity in note.notes().filter(|n| is_urgency(n)).map(Severity::parse) {
                self.severity = Some(self.severity.map_or(severity, |old| old.max(severity)));
            }
        }
        let status = match (note.kind, note.version) {
            (Some("unfixed" | "no-dsa" | "removed"), _) | (None, None) => Status::Unfixed,
            (Some("not-affected"), _) | (None, Some("0")) => Status::NotAffected,
            (Some("end-of-life"), _) => Status::EndOfLife,
            (Some("ignored"), _) => Status::WillNotFix,
            (Some("postponed"), _) => Status::Deferred,
            (Some("undetermined"), _) => Status::Undetermined,
            (Some("itp"), _) => return Err("<itp>: the package is not in Debian"),
            (Some(_), _) => return Err("unknown <kind>"),
            (None, Some(_)) => Status::Fixed,
        };
        let release = release_for_codename(note.codename.unwrap_or("sid")).ok_or("unknown release codename")?;
        if wanted_release(ctx, release) {
            let fixed_version = if status == Status::Fixed { note.version } else { None };
            self.affected.push(debian_affected(release, note.package, status, fixed_version));
        }
        Ok(())
    }

    fn finish(mut self, kind: ListKind, sink: &mut dyn FnMut(Advisory)) {
        let emit = match kind {
            ListKind::Dsa | ListKind::Dla => self.n_package_lines == 0 || !self.affected.is_empty(),
            ListKind::Cve => !self.affected.is_empty(),
        };
        if !emit {
            return;
        }
        if kind == ListKind::Cve && self.id.ends_with("-XXXX") {
            self.id = temp_bug_name(self.first_bug.unwrap_or(0), &self.description);
        }
        let url = tracker_url(&self.id);
        let title = (!self.description.is_empty()).then_some(self.description);
        sink(Advisory {
            id: self.id,
            aliases: self.aliases,
            title,
            severity: self.severity,
            published: self.published,
            modified: None,
            url: Some(url),
            affected: self.affected,
        });
    }
}

/// `[codename] - package version-or-<kind> (notes)`, each part but the package optional.
#[derive(Debug, PartialEq, Eq)]
struct PackageNote<'l> {
    codename: Option<&'l str>,
    package: &'l str,
    version: Option<&'l str>,
    kind: Option<&'l str>,
    notes: Option<&'l str>,
}

impl<'l> PackageNote<'l> {
    fn parse(line: &'l str) -> Option<PackageNote<'l>> {
        let (codename, rest) = match line.strip_prefix('[') {
            Some(rest) => {
                let (codename, rest) = rest.split_once(']')?;
                if codename.is_empty() || !codename.bytes().all(|b| b.is_ascii_lowercase()) {
                    return None;
                }
                (Some(codename), rest.trim_start())
            }
            None => (None, line),
        };
        let rest = rest.strip_prefix('-')?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let (package, rest) = split_word(rest.trim_start());
        if package.is_empty() || !package.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.:".contains(&b)) {
            return None;
        }
        let (version, kind, rest) = if let Some(after) = rest.strip_prefix('<') {
            let (kind, after) = after.split_once('>')?;
            if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                return None;
            }
            (None, Some(kind), after.trim_start())
        } else if rest.is_empty() || rest.starts_with('(') {
            (None, None, rest)
        } else {
            let (version, after) = split_word(rest);
            if !version.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.:~".contains(&b)) {
                return None;
            }
            (Some(version), None, after)
        };
        let notes = if rest.is_empty() { None } else { Some(rest.strip_prefix('(')?.strip_suffix(')')?.trim()) };
        Some(PackageNote { codename, package, version, kind, notes })
    }

    /// The `;`-separated parts of the parenthesised notes.
    fn notes(&self) -> impl Iterator<Item = &'l str> {
        self.notes.into_iter().flat_map(|n| n.split(';')).map(str::trim)
    }
}

fn is_urgency(note: &str) -> bool {
    matches!(note, "unimportant" | "low" | "medium" | "high")
}

/// The first word and the trimmed rest.
fn split_word(s: &str) -> (&str, &str) {
    match s.find([' ', '\t']) {
        Some(at) => (&s[..at], s[at..].trim()),
        None => (s, ""),
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The tracker's name for a `CVE-YYYY-XXXX` record: `TEMP-<first bug, 7 digits>-<first six
/// hex digits of the MD5 of the description, uppercase>` (security-tracker `bugs.py`
/// `temp_bug_name`).
fn temp_bug_name(bug: u64, description: &str) -> String {
    let digest = md5(description.as_bytes());
    format!("TEMP-{bug:07}-{:02X}{:02X}{:02X}", digest[0], digest[1], digest[2])
}

/// MD5 (RFC 1321), only for [`temp_bug_name`]: the tracker's naming needs it and no crate in
/// the tree provides it. Not used for anything security-relevant.
fn md5(data: &[u8]) -> [u8; 16] {
    const SHIFTS: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    // floor(abs(sin(i + 1)) * 2^32)
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
        0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
        0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
        0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
        0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
        0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
        0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64).wrapping_mul(8).to_le_bytes());
    let mut state: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    for block in message.chunks_exact(64) {
        let words: [u32; 16] = std::array::from_fn(|i| {
            u32::from_le_bytes([block[4 * i], block[4 * i + 1], block[4 * i + 2], block[4 * i + 3]])
        });
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(K[i]).wrapping_add(words[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(SHIFTS[(i / 16) * 4 + i % 4]));
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    let mut digest = [0u8; 16];
    for (chunk, word) in digest.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    digest
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::advisories::PackageKind;
    use crate::inventory::Ecosystem;

    /// Renders what the parser emitted: one advisory per line (id, published, aliases,
    /// severity, title), its affected entries indented below, then the skip count or the
    /// error. Constant fields are asserted here instead.
    fn render(kind: ListKind, ctx: &ParseContext, input: &str) -> String {
        let mut out = String::new();
        let result = parse(kind, input.as_bytes(), ctx, &mut |a| {
            assert_eq!(a.url.as_deref(), Some(tracker_url(&a.id).as_str()));
            assert!(a.modified.is_none());
            let _ = writeln!(
                out,
                "{} published={} aliases={} severity={} title={:?}",
                a.id,
                a.published.as_deref().unwrap_or("-"),
                if a.aliases.is_empty() { "-".to_owned() } else { a.aliases.join(",") },
                a.severity.map_or("-", Severity::as_str),
                a.title.as_deref().unwrap_or("-"),
            );
            for e in &a.affected {
                assert_eq!(
                    (e.distro.as_str(), e.kind, e.scheme, &e.module),
                    ("debian", PackageKind::Source, Ecosystem::Dpkg, &None)
                );
                assert_eq!(e.fixed_version.is_some(), e.status == Status::Fixed, "{e:?}");
                let fixed = e.fixed_version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
                let _ = writeln!(out, "  {} {} {}{fixed}", e.release, e.package, e.status.as_str());
            }
        });
        match result {
            Ok(s) => {
                let _ = write!(out, "skipped {}", s.n_skipped);
            }
            Err(e) => {
                let _ = write!(out, "error: {e}");
            }
        }
        out
    }

    fn check(kind: ListKind, input: &str, expected: &str) {
        check_with(kind, &ParseContext::default(), input, expected);
    }

    fn check_with(kind: ListKind, ctx: &ParseContext, input: &str, expected: &str) {
        let got = render(kind, ctx, input);
        assert_eq!(got.trim(), expected.trim(), "\n--- got ---\n{got}\n");
    }

    #[test]
    fn dsa_records() {
        check(
            ListKind::Dsa,
            "[31 Dec 2022] DSA-5310-1 ruby-image-processing - security update\n\
             \t{CVE-2022-24720}\n\
             \t[bullseye] - ruby-image-processing 1.10.3-1+deb11u1\n\
             [5 Aug 2002] DSA-140 libpng - buffer overflow\n\
             \x20       {CVE-2002-0660 CVE-2002-0728}\n\
             \x20       [woody] - libpng 1.0.12-3.woody.2\n\
             \x20       [woody] - libpng3 1.2.1-1.1.woody.2\n\
             \x20       NOTE: a note\n\
             [16 Dec 2013] DSA-2819-1 iceape - several\n\
             [07 Jun 2015] DSA-3281-1 Debian Security Team PGP/GPG key change notice\n",
            r#"
DSA-5310-1 published=2022-12-31 aliases=CVE-2022-24720 severity=- title="ruby-image-processing - security update"
  11 ruby-image-processing fixed 1.10.3-1+deb11u1
DSA-140 published=2002-08-05 aliases=CVE-2002-0660,CVE-2002-0728 severity=- title="libpng - buffer overflow"
  3.0 libpng fixed 1.0.12-3.woody.2
  3.0 libpng3 fixed 1.2.1-1.1.woody.2
DSA-2819-1 published=2013-12-16 aliases=- severity=- title="iceape - several"
DSA-3281-1 published=2015-06-07 aliases=- severity=- title="Debian Security Team PGP/GPG key change notice"
skipped 0
"#,
        );
    }

    #[test]
    fn every_kind_in_a_list_record() {
        check(
            ListKind::Dla,
            "[01 Jul 2022] DLA-3066-1 isync - security update\n\
             \t{CVE-2021-3578}\n\
             \t[stretch] - isync 1.2.1-2+deb9u1\n\
             \t[buster] - isync <not-affected> (Vulnerable code not present)\n\
             \t[bullseye] - isync <end-of-life> (Unsupported)\n\
             \t[bookworm] - isync <ignored> (Minor issue)\n\
             \t[trixie] - isync <postponed> (Revisit when fixed upstream)\n\
             \t[forky] - isync <no-dsa> (Minor issue)\n\
             \t[jessie] - isync <unfixed>\n\
             \t[wheezy] - isync <removed>\n\
             \t[squeeze] - isync <undetermined>\n\
             \t[lenny] - isync <itp> (bug #1)\n\
             \t[etch] - isync <frobbed>\n\
             \t[sarge] - isync 0\n\
             \t- isync\n",
            r#"
DLA-3066-1 published=2022-07-01 aliases=CVE-2021-3578 severity=- title="isync - security update"
  9 isync fixed 1.2.1-2+deb9u1
  10 isync not-affected
  11 isync end-of-life
  12 isync will-not-fix
  13 isync deferred
  14 isync unfixed
  8 isync unfixed
  7 isync unfixed
  6 isync undetermined
  3.1 isync not-affected
  sid isync unfixed
skipped 2
"#,
        );
    }

    #[test]
    fn cve_records() {
        check(
            ListKind::Cve,
            "CVE-2024-33601 (nscd: netgroup cache may terminate daemon ...)\n\
             \t{DSA-5678-1 DLA-3850-1}\n\
             \t- glibc 2.37-19\n\
             \tNOTE: https://sourceware.org/bugzilla/show_bug.cgi?id=31679\n\
             CVE-2021-36367 (PuTTY through 0.75 ...)\n\
             \x20       - putty 0.75-3 (low; bug #990901)\n\
             \x20       [bullseye] - putty <no-dsa> (Minor issue)\n\
             \x20       [experimental] - putty 0.76-1\n\
             \n\
             CVE-2021-36373 (When reading a specially crafted TAR archive ...)\n\
             \x20       - ant <unfixed> (unimportant)\n\
             \x20       - ant2 1.0-1 (high; bug #1)\n\
             CVE-2021-36383 (Xen Orchestra ...)\n\
             \tNOT-FOR-US: Xen Orchestra\n\
             CVE-2022-0001\n\
             \tRESERVED\n\
             CVE-2023-5341 (A heap use-after-free flaw was found in coders/bmp.c in ImageMagick.)\n\
             CVE-2023-0002 [an itp]\n\
             \t- newpkg <itp> (bug #123)\n",
            r#"
CVE-2024-33601 published=- aliases=DSA-5678-1,DLA-3850-1 severity=- title="nscd: netgroup cache may terminate daemon ..."
  sid glibc fixed 2.37-19
CVE-2021-36367 published=- aliases=- severity=low title="PuTTY through 0.75 ..."
  sid putty fixed 0.75-3
  11 putty unfixed
CVE-2021-36373 published=- aliases=- severity=high title="When reading a specially crafted TAR archive ..."
  sid ant unfixed
  sid ant2 fixed 1.0-1
skipped 2
"#,
        );
    }

    #[test]
    fn placeholder_ids_get_the_trackers_temp_names() {
        // md5("code execution via malformed XTGETTCAP") = 9454e38b..., md5("Other security
        // issues from wordpress 6.3.2") = 556898c5... (Python hashlib).
        check(
            ListKind::Cve,
            "CVE-2023-XXXX [code execution via malformed XTGETTCAP]\n\
             \t- foot 1.15.3-2 (bug #1053115)\n\
             \t[bookworm] - foot 1.13.1-2+deb12u1\n\
             CVE-2023-XXXX [Other security issues from wordpress 6.3.2]\n\
             \t[bookworm] - wordpress <no-dsa> (Minor issue; bug #7)\n\
             \t- wordpress <unfixed>\n\
             TEMP-0000000-ABCDEF [kept as written]\n\
             \t- x <unfixed>\n",
            r#"
TEMP-1053115-9454E3 published=- aliases=- severity=- title="code execution via malformed XTGETTCAP"
  sid foot fixed 1.15.3-2
  12 foot fixed 1.13.1-2+deb12u1
TEMP-0000000-556898 published=- aliases=- severity=- title="Other security issues from wordpress 6.3.2"
  12 wordpress unfixed
  sid wordpress unfixed
TEMP-0000000-ABCDEF published=- aliases=- severity=- title="kept as written"
  sid x unfixed
skipped 0
"#,
        );
    }

    #[test]
    fn release_filter() {
        let ctx = ParseContext { releases: vec!["12".into()], ..ParseContext::default() };
        check_with(
            ListKind::Dsa,
            &ctx,
            "[31 Jul 2025] DSA-5970-1 sope - security update\n\
             \t{CVE-2025-53603}\n\
             \t[bookworm] - sope 5.8.0-1+deb12u1\n\
             \t[bullseye] - sope 5.0.1-2+deb11u1\n\
             [31 Jul 2025] DSA-5971-1 old - security update\n\
             \t[bullseye] - old 1.0-1+deb11u1\n\
             [31 Jul 2025] DSA-5972-1 none - no packages\n",
            r#"
DSA-5970-1 published=2025-07-31 aliases=CVE-2025-53603 severity=- title="sope - security update"
  12 sope fixed 5.8.0-1+deb12u1
DSA-5972-1 published=2025-07-31 aliases=- severity=- title="none - no packages"
skipped 0
"#,
        );
    }

    #[test]
    fn malformed_records_are_counted_skips() {
        check(
            ListKind::Dla,
            "\t[stretch] - orphan 1.0\n\
             [19 Jul 2021] DLA-2711-1 thunderbird - security update\n\
             \t{CVE-2021-29969 CVE-2021-29970}\n\
             \t[stretch] - thunderbird 1:78.12.0-1~deb9u1\n\
             \t[stretch] thunderbird 1.0\n\
             \t[Stretch] - thunderbird 1.0\n\
             \t[stretch] - thunder_bird 1.0\n\
             \t[stretch] - thunderbird 1.0 trailing\n\
             \t[stretch] - thunderbird <no-dsa (x)\n\
             [19 Jul 2021] MALFORMED HEADER\n\
             \t{CVE-2021-29969}\n\
             \t[stretch] - thunderbird 2.0\n\
             [19 Foo 2021] DLA-1-1 x - y\n\
             [19 Jul 2021] DSA-1-1 x - y\n\
             [19 Jul 2021]DLA-1-1 x - y\n\
             [19 Jul 2021] DLA-1-x x - y\n\
             -- a comment line\n\
             [20 Jul 2021] DLA-2712-1 x - y\r\n\
             \t[stretch] - x 1.0\r\n",
            r#"
DLA-2711-1 published=2021-07-19 aliases=CVE-2021-29969,CVE-2021-29970 severity=- title="thunderbird - security update"
  9 thunderbird fixed 1:78.12.0-1~deb9u1
DLA-2712-1 published=2021-07-20 aliases=- severity=- title="x - y"
  9 x fixed 1.0
skipped 10
"#,
        );
    }

    #[test]
    fn documents_without_records_are_errors() {
        check(
            ListKind::Dsa,
            "",
            "error: debian-dsa-list document: no DSA record found: the document has no record header",
        );
        check(
            ListKind::Dsa,
            "<!DOCTYPE html>\n<html><body>Not Found</body></html>\n",
            r#"error: debian-dsa-list document: no DSA record found; line 1 is not a record header: "<!DOCTYPE html>""#,
        );
        check(
            ListKind::Dla,
            "[31 Dec 2022] DSA-5310-1 ruby-image-processing - security update\n",
            r#"error: debian-dla-list document: no DLA record found; line 1 is not a record header: "[31 Dec 2022] DSA-5310-1 ruby-image-processing - security update""#,
        );
        check(
            ListKind::Cve,
            "STOP: nothing below\n\tNOTE: x\n",
            "error: debian-cve-list document: no CVE record found: the document has no record header",
        );
        check(ListKind::Cve, "CVE-2022-0001\n\tRESERVED\n", "skipped 0");
    }

    #[test]
    fn package_lines() {
        let note = |line| PackageNote::parse(line);
        assert_eq!(
            note("[bookworm] - vim 2:9.0.1378-2+deb12u1 (bug #1; low)"),
            Some(PackageNote {
                codename: Some("bookworm"),
                package: "vim",
                version: Some("2:9.0.1378-2+deb12u1"),
                kind: None,
                notes: Some("bug #1; low")
            })
        );
        assert_eq!(
            note("- vim <unfixed>"),
            Some(PackageNote { codename: None, package: "vim", version: None, kind: Some("unfixed"), notes: None })
        );
        assert_eq!(
            note("[buster]\t-\tvim\t<postponed>  (Minor issue, 1-byte overflow)"),
            Some(PackageNote {
                codename: Some("buster"),
                package: "vim",
                version: None,
                kind: Some("postponed"),
                notes: Some("Minor issue, 1-byte overflow")
            })
        );
        assert_eq!(
            note("- linux (unimportant)"),
            Some(PackageNote {
                codename: None,
                package: "linux",
                version: None,
                kind: None,
                notes: Some("unimportant")
            })
        );
        for bad in ["-vim 1.0", "[] - vim 1.0", "- vim 1.0 (x", "- vim <x", "- ", "[sid - vim 1.0", "- vim 1;0"] {
            assert_eq!(note(bad), None, "{bad}");
        }
    }

    #[test]
    fn md5_matches_python_hashlib() {
        let hex = |d: [u8; 16]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex(md5(&[b'a'; 200])), "887f30b43b2867f4a9accceee7d16e6c");
        assert_eq!(temp_bug_name(0, "Other security issues from wordpress 6.3.2"), "TEMP-0000000-556898");
        assert_eq!(temp_bug_name(123_456_789, ""), "TEMP-123456789-D41D8C");
    }
}
