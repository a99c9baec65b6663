//! The Ubuntu USN database (`https://usn.ubuntu.com/usn-db/database.json`, plain or bzip2) into
//! advisories, one per USN with one fixed entry per (release, source package). Owns the USN
//! wire structs and the decompression cap; does no IO and never builds a JSON tree of the
//! whole document (records are read one at a time from the top-level object).
//!
//! - Shape: `{ "<id>": { "id", "title", "summary", "timestamp", "cves": [...], "releases": {
//!   "<codename>": { "sources": { "<source>": { "version", ... } }, "binaries", ... } } } }`.
//! - Advisory id `USN-<id>`; aliases are the `cves` entries that are CVE ids (Launchpad bug
//!   URLs are not aliases); title `title`, else `summary`; published = `timestamp` (seconds
//!   since the epoch) as RFC 3339 UTC; url `https://ubuntu.com/security/notices/USN-<id>`.
//! - Affected: distro `ubuntu`, release from the codename, package = source name, kind source,
//!   status fixed at the source version, scheme dpkg. Fixes that shipped only through Ubuntu Pro
//!   (ESM) are listed under their release's codename like any other, so they are stated the way
//!   the OSV parser folds plain-Pro entries: fixed at the `+esm` build.
//! - Skipped and counted (each logged): a record that is not an object of the expected shape,
//!   a duplicate or unusable id, a release with an unknown codename or without source packages,
//!   a source without a version. Releases outside the feed's `releases` are dropped without
//!   counting; a USN left with no entries by skips or by that is not emitted, while one that
//!   lists no releases at all still is.
//! - A document that is not a JSON object, not valid bzip2, that decompresses to more than
//!   [`UsnLimits::max_decompressed_bytes`] or holds a record longer than
//!   [`UsnLimits::max_record_bytes`] is a [`FormatError`]. A compressed database is read as a
//!   stream: never more than one record is held.

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead, BufReader, Read};

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer as _};
use serde_json::Value;

use super::osv::is_cve_id;
use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::{Advisory, Affected, PackageKind, Status};
use crate::inventory::os::ubuntu_release_for_codename;
use crate::inventory::Ecosystem;

/// Caps on a bzip2-compressed database, which is read as a stream and never held whole.
struct UsnLimits {
    /// Bytes after decompression (the live database is a few hundred MB).
    max_decompressed_bytes: u64,
    /// Bytes of one record: the JSON value of one USN (the largest live ones are well under
    /// a megabyte), which is the most the streaming read holds at a time.
    max_record_bytes: u64,
}

impl UsnLimits {
    const DEFAULT: UsnLimits = UsnLimits { max_decompressed_bytes: 4 << 30, max_record_bytes: 64 << 20 };
}

const NOTICE_URL: &str = "https://ubuntu.com/security/notices/";

/// Parses the USN database, bzip2-compressed (starts with `BZh`) or not.
pub fn parse(bytes: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    if bytes.starts_with(b"BZh") {
        parse_compressed(bytes, ctx, sink, &UsnLimits::DEFAULT)
    } else {
        parse_json(bytes, ctx, sink)
    }
}

fn format_error(message: impl Into<String>) -> FormatError {
    FormatError::new(Format::UsnDatabase, message)
}

const NOT_AN_OBJECT: &str = "expected a JSON object of USN records";

fn parse_json(bytes: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(format_error(NOT_AN_OBJECT));
    }
    // Nothing reads the record counter of a document that is already in memory.
    read_records(serde_json::Deserializer::from_slice(bytes), ctx, sink, &Cell::new(0))
        .map_err(|e| format_error(format!("not a USN database: {e}")))
}

/// bzip2 (one or more concatenated streams) read as a stream: what is held at a time is one
/// record, bounded by `limits`.
fn parse_compressed(
    bytes: &[u8],
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Advisory),
    limits: &UsnLimits,
) -> Result<ParseSummary, FormatError> {
    let in_record = Cell::new(0);
    let decoder = bzip2::read::MultiBzDecoder::new(bytes);
    let mut input =
        BufReader::with_capacity(64 * 1024, BoundedRead { inner: decoder, n_read: 0, in_record: &in_record, limits });
    let io_error = |e: io::Error| format_error(format!("bzip2: {e}"));
    skip_bom_and_whitespace(&mut input).map_err(io_error)?;
    if input.fill_buf().map_err(io_error)?.first() != Some(&b'{') {
        return Err(format_error(NOT_AN_OBJECT));
    }
    read_records(serde_json::Deserializer::from_reader(input), ctx, sink, &in_record).map_err(|e| match e.is_io() {
        true => format_error(format!("bzip2: {e}")),
        false => format_error(format!("not a USN database: {e}")),
    })
}

/// Reads the top-level object record by record, resetting `in_record` after each.
fn read_records<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Advisory),
    in_record: &Cell<u64>,
) -> Result<ParseSummary, serde_json::Error> {
    let mut run = Run { ctx, sink, seen: HashSet::new(), summary: ParseSummary::default() };
    de.deserialize_map(RecordsVisitor { run: &mut run, in_record })?;
    de.end()?;
    Ok(run.summary)
}

fn skip_bom_and_whitespace(input: &mut impl BufRead) -> io::Result<()> {
    if input.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    loop {
        let available = input.fill_buf()?;
        let n_space = available.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if n_space == 0 {
            return Ok(());
        }
        input.consume(n_space);
    }
}

/// Fails the read once more than the document cap came out of `inner`, or more than the
/// record cap since [`RecordsVisitor`] last finished a record (it resets `in_record`).
struct BoundedRead<'a, R> {
    inner: R,
    n_read: u64,
    in_record: &'a Cell<u64>,
    limits: &'a UsnLimits,
}

impl<R: Read> Read for BoundedRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n_read += n as u64;
        self.in_record.set(self.in_record.get() + n as u64);
        if self.n_read > self.limits.max_decompressed_bytes {
            let limit = self.limits.max_decompressed_bytes;
            return Err(io::Error::other(format!("decompresses to more than {limit} bytes")));
        }
        if self.in_record.get() > self.limits.max_record_bytes {
            let limit = self.limits.max_record_bytes;
            return Err(io::Error::other(format!("one record is longer than {limit} bytes")));
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Wire structs: only the fields cascade reads.

#[derive(Debug, Deserialize)]
struct Record {
    id: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    /// Seconds since the epoch, usually with a fraction.
    timestamp: Option<Value>,
    cves: Option<Vec<String>>,
    releases: Option<BTreeMap<String, Release>>,
}

#[derive(Debug, Deserialize)]
struct Release {
    sources: Option<BTreeMap<String, Source>>,
}

#[derive(Debug, Deserialize)]
struct Source {
    version: Option<String>,
}

/// Hands each (key, record) of the top-level object to [`Run::record`] as it is read.
struct RecordsVisitor<'r, 'a> {
    run: &'r mut Run<'a>,
    /// Bytes read since the last record ended (see [`BoundedRead`]).
    in_record: &'r Cell<u64>,
}

impl<'de> Visitor<'de> for RecordsVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of USN records")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            self.in_record.set(0);
            self.run.record(&key, value);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

struct Run<'a> {
    ctx: &'a ParseContext,
    sink: &'a mut dyn FnMut(Advisory),
    seen: HashSet<String>,
    summary: ParseSummary,
}

impl Run<'_> {
    fn skip(&mut self, id: &str, reason: &str) {
        self.summary.n_skipped += 1;
        tracing::debug!(feed.name = %self.ctx.feed, advisory.id = %id, reason, "usn database: skipped");
    }

    fn record(&mut self, key: &str, value: Value) {
        let record = match serde_json::from_value::<Record>(value) {
            Ok(record) => record,
            Err(e) => {
                self.summary.n_skipped += 1;
                tracing::warn!(feed.name = %self.ctx.feed, key, error = %e, "usn database: skipped a malformed record");
                return;
            }
        };
        let Some(id) = advisory_id(record.id.as_deref().unwrap_or(key)) else {
            return self.skip(key, "not a USN id");
        };
        if !self.seen.insert(id.clone()) {
            return self.skip(&id, "duplicate id in the document");
        }

        let mut affected = Vec::new();
        for (codename, release) in record.releases.iter().flatten() {
            let Some(number) = ubuntu_release_for_codename(codename) else {
                self.skip(&id, &format!("unknown release codename {codename:?}"));
                continue;
            };
            if !self.ctx.releases.is_empty() && !self.ctx.releases.iter().any(|r| r == number) {
                continue;
            }
            let sources = release.sources.as_ref().filter(|s| !s.is_empty());
            let Some(sources) = sources else {
                self.skip(&id, &format!("release {codename} lists no source packages"));
                continue;
            };
            for (name, source) in sources {
                let version = source.version.as_deref().map(str::trim).filter(|v| !v.is_empty());
                match (name.trim(), version) {
                    ("", _) => self.skip(&id, "source package without a name"),
                    (name, None) => self.skip(&id, &format!("source {name} in {codename} has no version")),
                    (name, Some(version)) => affected.push(Affected {
                        distro: "ubuntu".to_owned(),
                        release: number.to_owned(),
                        package: name.to_owned(),
                        kind: PackageKind::Source,
                        status: Status::Fixed,
                        fixed_version: Some(version.to_owned()),
                        scheme: Ecosystem::Dpkg,
                        module: None,
                    }),
                }
            }
        }
        let n_releases = record.releases.as_ref().map_or(0, BTreeMap::len);
        if n_releases > 0 && affected.is_empty() {
            tracing::debug!(feed.name = %self.ctx.feed, advisory.id = %id, "usn database: no affected entry left, not emitted");
            return;
        }

        let mut aliases: Vec<String> = Vec::new();
        for cve in record.cves.iter().flatten().map(|c| c.trim()) {
            if is_cve_id(cve) && !aliases.iter().any(|a| a == cve) {
                aliases.push(cve.to_owned());
            }
        }
        let text = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let advisory = Advisory {
            aliases,
            title: text(record.title.as_deref()).or_else(|| text(record.summary.as_deref())),
            severity: None,
            published: record.timestamp.as_ref().and_then(timestamp).map(rfc3339_utc),
            modified: None,
            url: Some(format!("{NOTICE_URL}{id}")),
            affected,
            id,
        };
        (self.sink)(advisory);
    }
}

/// `USN-763-1` from `763-1` or `USN-763-1`; None unless digits and dashes follow.
fn advisory_id(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let number = raw.strip_prefix("USN-").unwrap_or(raw);
    let ok = number.starts_with(|c: char| c.is_ascii_digit())
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && !number.ends_with('-');
    ok.then(|| format!("USN-{number}"))
}

/// Whole seconds since the epoch from a number or a numeric string.
fn timestamp(value: &Value) -> Option<i64> {
    let secs = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    // 0001-01-01 .. 9999-12-31: anything else is not a USN date.
    (secs.is_finite() && (-62_135_596_800.0..253_402_300_800.0).contains(&secs)).then(|| secs.floor() as i64)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (proleptic Gregorian calendar).
fn rfc3339_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let time = secs.rem_euclid(86_400);
    // Civil date from a day count (days since 1970-01-01), by 400-year eras starting on March 1.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", time / 3600, time % 3600 / 60, time % 60)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// One line per advisory (`id aliases=… title=… published=… url=…`), one indented line per
    /// affected entry (`release package status fixed`), then `skipped N`.
    fn run(bytes: &[u8], ctx: &ParseContext) -> Result<String, FormatError> {
        let mut out = String::new();
        let summary = parse(bytes, ctx, &mut |a| {
            out.push_str(&format!(
                "{} aliases={} title={} published={} url={}\n",
                a.id,
                a.aliases.join(","),
                a.title.as_deref().unwrap_or("-"),
                a.published.as_deref().unwrap_or("-"),
                a.url.as_deref().unwrap_or("-"),
            ));
            for e in &a.affected {
                assert_eq!(
                    (e.distro.as_str(), e.kind, e.scheme, &e.module),
                    ("ubuntu", PackageKind::Source, Ecosystem::Dpkg, &None)
                );
                out.push_str(&format!(
                    "  {} {} {} {}\n",
                    e.release,
                    e.package,
                    e.status.as_str(),
                    e.fixed_version.as_deref().unwrap_or("-")
                ));
            }
        })?;
        out.push_str(&format!("skipped {}\n", summary.n_skipped));
        Ok(out)
    }

    fn check(input: &[u8], expected: &str) {
        check_ctx(input, &ParseContext::default(), expected);
    }

    fn check_ctx(input: &[u8], ctx: &ParseContext, expected: &str) {
        let actual = run(input, ctx).unwrap_or_else(|e| panic!("parse failed: {e}"));
        let expected: Vec<&str> = expected.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
        let indent = expected.iter().map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
        let expected: Vec<&str> = expected.iter().map(|l| &l[indent..]).collect();
        assert_eq!(actual.trim_end(), expected.join("\n"));
    }

    const DB: &str = r#"{
      "6409-1": {
        "id": "6409-1", "title": "GNU C Library vulnerabilities", "summary": "glibc vulnerabilities",
        "timestamp": 1696356263.013596,
        "cves": ["CVE-2023-4527", "CVE-2023-4911", "https://launchpad.net/bugs/2031111", "CVE-2023-4911"],
        "releases": {
          "jammy": {"sources": {"glibc": {"version": "2.35-0ubuntu3.4", "description": "GNU C Library"}},
                    "binaries": {"libc6": {"version": "2.35-0ubuntu3.4", "pocket": "security"}}},
          "lunar": {"sources": {"glibc": {"version": "2.37-0ubuntu2.1"}}}
        }
      },
      "763-1": {
        "id": "763-1", "summary": "xine-lib vulnerabilities", "timestamp": "1240263290.175942",
        "cves": ["CVE-2009-0698"], "releases": {"hardy": {"sources": {"xine-lib": {"version": "1.1.11.1-1ubuntu3.4"}}}}
      }
    }"#;

    #[test]
    fn records_to_advisories() {
        check(
            DB.as_bytes(),
            "
            USN-6409-1 aliases=CVE-2023-4527,CVE-2023-4911 title=GNU C Library vulnerabilities published=2023-10-03T18:04:23Z url=https://ubuntu.com/security/notices/USN-6409-1
              22.04 glibc fixed 2.35-0ubuntu3.4
              23.04 glibc fixed 2.37-0ubuntu2.1
            USN-763-1 aliases=CVE-2009-0698 title=xine-lib vulnerabilities published=2009-04-20T21:34:50Z url=https://ubuntu.com/security/notices/USN-763-1
              8.04 xine-lib fixed 1.1.11.1-1ubuntu3.4
            skipped 0
            ",
        );
    }

    #[test]
    fn bzip2_input() {
        let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        encoder.write_all(DB.as_bytes()).expect("compress");
        let compressed = encoder.finish().expect("compress");
        assert!(compressed.starts_with(b"BZh"));
        assert_eq!(run(&compressed, &ParseContext::default()).ok(), run(DB.as_bytes(), &ParseContext::default()).ok());

        // Two concatenated streams (pbzip2 writes these) read as one document.
        let half = DB.len() / 2;
        let mut two = Vec::new();
        for part in [&DB[..half], &DB[half..]] {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(part.as_bytes()).expect("compress");
            two.extend(e.finish().expect("compress"));
        }
        assert_eq!(run(&two, &ParseContext::default()).ok(), run(DB.as_bytes(), &ParseContext::default()).ok());

        let ctx = ParseContext::default();
        let exact = UsnLimits { max_decompressed_bytes: DB.len() as u64, ..UsnLimits::DEFAULT };
        assert!(parse_compressed(&compressed, &ctx, &mut |_| {}, &exact).is_ok());
        let under = UsnLimits { max_decompressed_bytes: DB.len() as u64 - 1, ..UsnLimits::DEFAULT };
        let over = parse_compressed(&compressed, &ctx, &mut |_| {}, &under);
        assert!(over.is_err_and(|e| e.message.contains(&format!("decompresses to more than {} bytes", DB.len() - 1))));
        let truncated = &compressed[..compressed.len() / 2];
        assert!(parse(truncated, &ParseContext::default(), &mut |_| {}).is_err());
        assert!(parse(b"BZh91AY&SYgarbage", &ParseContext::default(), &mut |_| {}).is_err());
    }

    fn bzip2(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(data).expect("compress");
        e.finish().expect("compress")
    }

    #[test]
    fn one_endless_record_stops_at_the_record_cap() {
        // A title that runs on for 24 MiB, each MiB its own bzip2 stream: a few kilobytes that
        // would need all of it in memory at once (the default cap is 64 MiB; 8 MiB here keeps
        // the test quick).
        let mut bomb = bzip2(br#"{"1-1": {"releases": {}}, "2-1": {"title": ""#);
        let megabyte = bzip2(&vec![b'a'; 1024 * 1024]);
        for _ in 0..24 {
            bomb.extend_from_slice(&megabyte);
        }
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let mut n_advisories = 0;
        let limits = UsnLimits { max_record_bytes: 8 << 20, ..UsnLimits::DEFAULT };
        let err = parse_compressed(&bomb, &ParseContext::default(), &mut |_| n_advisories += 1, &limits)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("bzip2: one record is longer than 8388608 bytes"), "{err}");
        assert_eq!(n_advisories, 1, "the record before it was read");

        // Many records of a few bytes each pass a small record cap: it is per record.
        let records: Vec<String> = (1..=2000).map(|i| format!("\"{i}-1\": {{\"releases\": {{}}}}")).collect();
        let many = bzip2(format!("{{{}}}", records.join(",")).as_bytes());
        let small = UsnLimits { max_record_bytes: 128 * 1024, ..UsnLimits::DEFAULT };
        let summary = parse_compressed(&many, &ParseContext::default(), &mut |_| {}, &small).expect("small records");
        assert_eq!(summary.n_skipped, 0);
    }

    #[test]
    fn compressed_documents_that_are_not_objects_are_errors() {
        for input in [&b""[..], b"[]", b"  null", b"\xEF\xBB\xBF {\"1-1\": {}", b"{} {}", b"<rss/>"] {
            let err = parse(&bzip2(input), &ParseContext::default(), &mut |_| {}).err().map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("usn-database")), "{:?}", String::from_utf8_lossy(input));
        }
        let with_bom = bzip2(b"\xEF\xBB\xBF\n {}");
        assert!(parse(&with_bom, &ParseContext::default(), &mut |_| {}).is_ok());
    }

    #[test]
    fn skips_are_counted() {
        check(
            br#"{
              "1-1": {"releases": {"atlantis": {"sources": {"a": {"version": "1"}}},
                                   "focal": {"binaries": {"a": {"version": "1"}}},
                                   "jammy": {"sources": {"a": {}, "b": {"version": " "}, "c": {"version": "3"}}}}},
              "2-1": "not an object",
              "3-1": {"releases": {"noble": {"sources": {"x": {"version": 5}}}}},
              "bogus": {"releases": {}},
              "4-1": {"releases": {"trusty": {"sources": {}}}},
              "USN-1-1": {"id": "1-1", "releases": {}},
              "5-1": {"id": "USN-5-1"}
            }"#,
            "
            USN-1-1 aliases= title=- published=- url=https://ubuntu.com/security/notices/USN-1-1
              22.04 c fixed 3
            USN-5-1 aliases= title=- published=- url=https://ubuntu.com/security/notices/USN-5-1
            skipped 9
            ",
        );
    }

    #[test]
    fn releases_outside_the_feed_are_dropped_without_counting() {
        let ctx = ParseContext { releases: vec!["8.04".to_owned()], ..Default::default() };
        check_ctx(
            DB.as_bytes(),
            &ctx,
            "
            USN-763-1 aliases=CVE-2009-0698 title=xine-lib vulnerabilities published=2009-04-20T21:34:50Z url=https://ubuntu.com/security/notices/USN-763-1
              8.04 xine-lib fixed 1.1.11.1-1ubuntu3.4
            skipped 0
            ",
        );
    }

    #[test]
    fn not_a_usn_database_is_an_error() {
        for input in [&b""[..], b"[]", b"null", b"{\"1-1\": {}", b"{} {}", b"<rss/>"] {
            assert!(run(input, &ParseContext::default()).is_err(), "{:?}", String::from_utf8_lossy(input));
        }
        check(b"{}", "skipped 0");
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_utc(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(timestamp(&Value::from(1e300)), None);
        assert_eq!(timestamp(&Value::from("x")), None);
        assert_eq!(advisory_id("USN-6409-1").as_deref(), Some("USN-6409-1"));
        assert_eq!(advisory_id("6409-1").as_deref(), Some("USN-6409-1"));
        assert_eq!(advisory_id("6409-"), None);
        assert_eq!(advisory_id("USN-"), None);
    }
}
