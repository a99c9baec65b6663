//! Announcement feeds (RSS 1.0/RDF, RSS 2.0, Atom, read with feed-rs) into advisories that
//! carry no affected entries: Debian's DSA RDF (`DSA-5678-1 glibc - security update`) and
//! Ubuntu's USN RSS (`USN-4512-1: util-linux vulnerability`). Owns only the mapping from feed
//! items; does no IO and never guesses affected packages.
//!
//! These feeds are early signals: an item says that an advisory exists and points to its page,
//! but names neither releases nor fixed versions. The full advisory arrives through the
//! tracker, OSV or USN database feeds and is linked by its id and CVE aliases. Each item
//! becomes an [`Advisory`] with:
//! - `id` = the first `DSA-…`, `DLA-…` or `USN-…` id in the item title (`DSA-1278`, without a
//!   revision, as in old DSA items, is accepted as written);
//! - `title` = the rest of the title after the id (`glibc - security update`), else None;
//! - `published` = the item date (`pubDate`, `dc:date`, Atom `published`, else `updated`) as
//!   RFC 3339 UTC; `url` = the item link;
//! - `aliases` = the CVE ids found in the title, summary and content, in order of appearance;
//! - no severity and no affected entries.
//!
//! Items whose title holds no advisory id, and repeats of an id already seen in the document,
//! are skipped and counted. A document feed-rs cannot read as RSS or Atom (JSON Feed included)
//! is a [`FormatError`].

use std::collections::HashSet;

use feed_rs::model::{Entry, FeedType};

use super::osv::is_cve_id;
use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::Advisory;

/// Advisory id prefixes recognised in item titles.
const ID_PREFIXES: [&str; 3] = ["DSA-", "DLA-", "USN-"];

/// Parses an RSS or Atom announcement feed.
pub fn parse(bytes: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    let feed = feed_rs::parser::parse(bytes)
        .map_err(|e| FormatError::new(Format::Rss, format!("not an RSS or Atom feed: {e}")))?;
    if feed.feed_type == FeedType::JSON {
        return Err(FormatError::new(Format::Rss, "a JSON Feed, not RSS or Atom"));
    }
    let mut summary = ParseSummary::default();
    let mut seen = HashSet::new();
    for entry in &feed.entries {
        let title = entry.title.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
        let Some((id, rest)) = advisory_id(title) else {
            summary.n_skipped += 1;
            tracing::debug!(feed.name = %ctx.feed, item.title = %title, "rss: item title holds no advisory id");
            continue;
        };
        if !seen.insert(id.to_owned()) {
            summary.n_skipped += 1;
            tracing::debug!(feed.name = %ctx.feed, advisory.id = %id, "rss: repeated item");
            continue;
        }
        sink(advisory(id, rest, entry));
    }
    Ok(summary)
}

fn advisory(id: &str, rest: &str, entry: &Entry) -> Advisory {
    let title = rest.trim_start_matches(|c: char| c == ':' || c.is_whitespace()).trim();
    let texts = [
        entry.title.as_ref().map(|t| t.content.as_str()),
        entry.summary.as_ref().map(|t| t.content.as_str()),
        entry.content.as_ref().and_then(|c| c.body.as_deref()),
    ];
    let mut aliases: Vec<String> = Vec::new();
    for text in texts.into_iter().flatten() {
        for cve in cve_ids_in(text) {
            if !aliases.iter().any(|a| a == cve) {
                aliases.push(cve.to_owned());
            }
        }
    }
    let mut advisory = Advisory::new(id);
    advisory.aliases = aliases;
    advisory.title = (!title.is_empty()).then(|| title.to_owned());
    advisory.published = entry.published.or(entry.updated).map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    advisory.url = entry.links.iter().map(|l| l.href.trim()).find(|h| !h.is_empty()).map(str::to_owned);
    advisory
}

/// The first advisory id in `title` and the text after it: `DSA-5678-1 glibc` →
/// (`DSA-5678-1`, ` glibc`). The id must stand alone (no letter or digit on either side).
fn advisory_id(title: &str) -> Option<(&str, &str)> {
    let bytes = title.as_bytes();
    for (start, _) in title.char_indices() {
        if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let Some(prefix) = ID_PREFIXES.iter().find(|p| title[start..].starts_with(*p)) else { continue };
        let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
        let mut end = start + prefix.len();
        let n = digits(end);
        if n == 0 {
            continue;
        }
        end += n;
        if bytes.get(end) == Some(&b'-') && digits(end + 1) > 0 {
            end += 1 + digits(end + 1);
        }
        if bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        return Some((&title[start..end], &title[end..]));
    }
    None
}

/// The CVE ids in `text`, in order (repeats included), each standing alone.
fn cve_ids_in(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    text.match_indices("CVE-").filter_map(move |(start, _)| {
        // `UBUNTU-CVE-2023-4911` holds one; `XCVE-2023-4911` does not.
        if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            return None;
        }
        let year_end = start + 8;
        let number_len = bytes.get(year_end + 1..)?.iter().take_while(|b| b.is_ascii_digit()).count();
        let end = year_end + 1 + number_len;
        let candidate = text.get(start..end)?;
        (is_cve_id(candidate) && !bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric())).then_some(candidate)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per advisory: `id | title | published | url | aliases`, then `skipped N`.
    fn check(input: &str, expected: &str) {
        let mut out = String::new();
        let summary = parse(input.as_bytes(), &ParseContext::default(), &mut |a| {
            assert!(a.affected.is_empty() && a.severity.is_none());
            out.push_str(&format!(
                "{} | {} | {} | {} | {}\n",
                a.id,
                a.title.as_deref().unwrap_or("-"),
                a.published.as_deref().unwrap_or("-"),
                a.url.as_deref().unwrap_or("-"),
                a.aliases.join(","),
            ));
        })
        .unwrap_or_else(|e| panic!("parse failed: {e}"));
        out.push_str(&format!("skipped {}", summary.n_skipped));
        let actual: Vec<&str> = out.lines().map(str::trim_end).collect();
        let expected: Vec<&str> = expected.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn debian_dsa_rdf() {
        check(
            r#"<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://www.debian.org/security/dsa">
    <title>Debian Security</title><link>https://www.debian.org/security/dsa</link>
    <description>Debian Security Advisories</description>
  </channel>
  <item rdf:about="https://www.debian.org/security/2024/dsa-5678">
    <title>DSA-5678-1 glibc - security update</title>
    <link>https://www.debian.org/security/2024/dsa-5678</link>
    <description>Several vulnerabilities were discovered in nscd (CVE-2024-33599, CVE-2024-33600).</description>
    <dc:date>2024-05-06</dc:date>
  </item>
  <item rdf:about="https://www.debian.org/security/2007/dsa-1278">
    <title>DSA-1278 man-db</title>
    <link>https://www.debian.org/security/2007/dsa-1278</link>
    <description>buffer overflow</description>
    <dc:date>2007-04-06T10:00:00+02:00</dc:date>
  </item>
  <item rdf:about="https://www.debian.org/News/2024/x">
    <title>Updated Debian 12: 12.5 released</title>
    <link>https://www.debian.org/News/2024/x</link>
  </item>
</rdf:RDF>"#,
            "
            DSA-5678-1 | glibc - security update | 2024-05-06T00:00:00Z | https://www.debian.org/security/2024/dsa-5678 | CVE-2024-33599,CVE-2024-33600
            DSA-1278 | man-db | 2007-04-06T08:00:00Z | https://www.debian.org/security/2007/dsa-1278 |
            skipped 1
            ",
        );
    }

    #[test]
    fn ubuntu_usn_rss() {
        check(
            r#"<?xml version='1.0' encoding='UTF-8'?>
<rss version="2.0"><channel><title>Ubuntu security notices</title><link>https://ubuntu.com/security/notices/rss.xml</link>
<description>Recent content</description>
<item><title>USN-4512-1: util-linux vulnerability</title><link>https://ubuntu.com/security/notices/USN-4512-1</link>
<description>Gaoning Pan discovered ... (CVE-2020-14145) and CVE-2020-14145 again, not XCVE-2020-1111 nor CVE-2020-12.</description>
<pubDate>Wed, 16 Sep 2020 13:58:04 +0000</pubDate></item>
<item><title>USN-4512-1: util-linux vulnerability</title><link>https://ubuntu.com/security/notices/USN-4512-1</link></item>
<item><title>LSN-0071-1: Kernel Live Patch Security Notice</title><link>https://ubuntu.com/security/notices/LSN-0071-1</link></item>
<item><title>USN-4513-1</title><link>https://ubuntu.com/security/notices/USN-4513-1</link></item>
</channel></rss>"#,
            "
            USN-4512-1 | util-linux vulnerability | 2020-09-16T13:58:04Z | https://ubuntu.com/security/notices/USN-4512-1 | CVE-2020-14145
            USN-4513-1 | - | - | https://ubuntu.com/security/notices/USN-4513-1 |
            skipped 2
            ",
        );
    }

    #[test]
    fn atom_feed() {
        check(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><updated>2024-01-02T00:00:00Z</updated>
<entry><title>DLA-3850-1 glibc security update</title><id>urn:dla-3850-1</id><link href="https://www.debian.org/lts/security/2024/dla-3850"/>
<updated>2024-01-02T03:04:05Z</updated><content type="html">fixes &lt;b&gt;CVE-2024-2961&lt;/b&gt;</content></entry></feed>"#,
            "
            DLA-3850-1 | glibc security update | 2024-01-02T03:04:05Z | https://www.debian.org/lts/security/2024/dla-3850 | CVE-2024-2961
            skipped 0
            ",
        );
    }

    #[test]
    fn not_a_feed_is_an_error() {
        for input in [
            "",
            "hello",
            "<html><body/></html>",
            r#"{"version": "https://jsonfeed.org/version/1", "title": "t", "items": []}"#,
        ] {
            assert!(parse(input.as_bytes(), &ParseContext::default(), &mut |_| {}).is_err(), "{input:?}");
        }
    }

    #[test]
    fn ids_in_titles() {
        for (title, expected) in [
            ("DSA-5678-1 glibc - security update", Some(("DSA-5678-1", " glibc - security update"))),
            ("USN-4512-1: util-linux vulnerability", Some(("USN-4512-1", ": util-linux vulnerability"))),
            ("[SECURITY] DLA-3850-1", Some(("DLA-3850-1", ""))),
            ("DSA-12 x", Some(("DSA-12", " x"))),
            ("DSA-12- x", Some(("DSA-12", "- x"))),
            ("XDSA-1 x", None),
            ("DSA-1a x", None),
            ("DSA- x", None),
            ("RHSA-2024:1 x", None),
            ("", None),
        ] {
            assert_eq!(advisory_id(title), expected, "{title}");
        }
        let found: Vec<&str> =
            cve_ids_in("CVE-2024-1234,UBUNTU-CVE-2023-4911 CVE-2024-12345x CVE-202-1234 CVE-2024-").collect();
        assert_eq!(found, ["CVE-2024-1234", "CVE-2023-4911"]);
    }
}
