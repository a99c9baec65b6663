//! Alpine secdb JSON (`https://secdb.alpinelinux.org/v3.NN/main.json`) → one [`Advisory`] per
//! advisory id, keyed by origin (source) package; owns the wire shape and the id extraction.
//! Does no IO.
//!
//! Shape: `{ "distroversion": "v3.19", "reponame": "main", "packages": [ { "pkg": { "name":
//! "<origin>", "secfixes": { "<fixed version>": ["CVE-… …", …] } } } ] }`.
//!
//! - Ids: every `CVE-YYYY-N…` of an entry string (the typo `CVE_` is normalised to `CVE-`);
//!   only when a string holds no CVE, its `GHSA-…` / `XSA-…` ids. Other ids in a string that
//!   names a CVE become aliases (`"CVE-2018-7540 XSA-252"` → `CVE-2018-7540`, alias `XSA-252`).
//!   Prose around ids is ignored (`"CVE-2017-2616 (+ regression fix)"`).
//! - Fixed version `0` is a NAK: [`Status::NotAffected`], no fixed version.
//! - Release: `distroversion` without its `v` (`v3.19` → `3.19`, `edge` stays); when the
//!   document has none, the context's release when it names exactly one.
//! - A document for a release outside `ctx.releases` (when it names any) emits nothing.
//! - Merge: one id listed for one package under several versions (an incomplete first fix,
//!   then another) keeps the highest by apk's version order, whatever the document order: an
//!   image between the two versions is still affected. A fix always wins over a NAK.
//! - A malformed value (an object where the id list belongs, a non-string id, a package
//!   without a name) skips that entry and counts it; only a document that is not a secdb
//!   object at all is an error.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::{Advisory, Affected, PackageKind, Status};
use crate::inventory::Ecosystem;
use crate::versions::apk;

const FORMAT: Format = Format::AlpineSecdb;
const DISTRO: &str = "alpine";

pub fn parse(bytes: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    let root: Node =
        serde_json::from_slice(bytes).map_err(|e| FormatError::new(FORMAT, format!("invalid json: {e}")))?;
    let Node::Object(fields) = &root else {
        return Err(FormatError::new(FORMAT, "top level is not an object"));
    };
    let release = release_of(get(fields, "distroversion"), ctx)?;
    let packages = match get(fields, "packages") {
        Some(Node::Array(packages)) => packages,
        Some(_) => return Err(FormatError::new(FORMAT, "`packages` is not a list")),
        None => return Err(FormatError::new(FORMAT, "no `packages` list")),
    };

    let mut summary = ParseSummary::default();
    if !ctx.releases.is_empty() && !ctx.releases.contains(&release) {
        // The other parsers drop releases the feed does not cover; here that is the whole
        // document, which means the feed points at the wrong file.
        tracing::warn!(feed = %ctx.feed, release, "secdb document is for a release the feed does not cover");
        return Ok(summary);
    }
    let mut advisories = AdvisorySet::default();
    for (index, entry) in packages.iter().enumerate() {
        let Some((origin, secfixes)) = package_of(entry) else {
            tracing::debug!(feed = %ctx.feed, index, "skipped secdb package: no name or secfixes object");
            summary.n_skipped += 1;
            continue;
        };
        for (version, value) in secfixes {
            let version = version.trim();
            let Node::Array(items) = value else {
                tracing::debug!(feed = %ctx.feed, origin, version, "skipped secfixes entry: not a list");
                summary.n_skipped += 1;
                continue;
            };
            if version.is_empty() {
                tracing::debug!(feed = %ctx.feed, origin, "skipped secfixes entry: empty version");
                summary.n_skipped += 1;
                continue;
            }
            for item in items {
                let ids = match item {
                    Node::String(text) => EntryIds::parse(text),
                    _ => EntryIds::default(),
                };
                if ids.primary.is_empty() {
                    tracing::debug!(feed = %ctx.feed, origin, version, "skipped secfixes item: no advisory id");
                    summary.n_skipped += 1;
                    continue;
                }
                for id in &ids.primary {
                    advisories.add(id, &ids.others, origin, version, &release);
                }
            }
        }
    }
    for advisory in advisories.list {
        sink(advisory);
    }
    Ok(summary)
}

/// `v3.19` → `3.19`; `edge` stays; absent → the context's only release.
fn release_of(value: Option<&Node>, ctx: &ParseContext) -> Result<String, FormatError> {
    match value {
        Some(Node::String(s)) => {
            let s = s.trim();
            let s = match s.strip_prefix('v') {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
                _ => s,
            };
            if s.is_empty() {
                return Err(FormatError::new(FORMAT, "empty `distroversion`"));
            }
            Ok(s.to_owned())
        }
        Some(_) => Err(FormatError::new(FORMAT, "`distroversion` is not a string")),
        None => match ctx.releases.as_slice() {
            [only] => Ok(only.clone()),
            other => Err(FormatError::new(
                FORMAT,
                format!("no `distroversion` and the feed names {} releases, not one", other.len()),
            )),
        },
    }
}

/// `{ "pkg": { "name": …, "secfixes": { … } } }` → (origin, secfixes in document order).
fn package_of(entry: &Node) -> Option<(&str, &[(String, Node)])> {
    let Node::Object(entry) = entry else { return None };
    let Some(Node::Object(pkg)) = get(entry, "pkg") else { return None };
    let Some(Node::String(name)) = get(pkg, "name") else { return None };
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    match get(pkg, "secfixes") {
        Some(Node::Object(secfixes)) => Some((name, secfixes.as_slice())),
        // A package listed without fixes says nothing; not malformed.
        None | Some(Node::Null) => Some((name, &[])),
        Some(_) => None,
    }
}

/// Advisories in order of their id's first appearance, each with one entry per origin.
#[derive(Default)]
struct AdvisorySet {
    list: Vec<Advisory>,
    index: HashMap<String, usize>,
}

impl AdvisorySet {
    fn add(&mut self, id: &str, others: &[String], origin: &str, version: &str, release: &str) {
        let slot = match self.index.get(id) {
            Some(&slot) => slot,
            None => {
                let mut advisory = Advisory::new(id);
                advisory.url = Some(format!("https://security.alpinelinux.org/vuln/{id}"));
                self.list.push(advisory);
                self.index.insert(id.to_owned(), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let advisory = &mut self.list[slot];
        for other in others {
            if other != id && !advisory.aliases.contains(other) {
                advisory.aliases.push(other.clone());
            }
        }
        let (status, fixed_version) =
            if version == "0" { (Status::NotAffected, None) } else { (Status::Fixed, Some(version.to_owned())) };
        let entry = Affected {
            distro: DISTRO.to_owned(),
            release: release.to_owned(),
            package: origin.to_owned(),
            kind: PackageKind::Source,
            status,
            fixed_version,
            scheme: Ecosystem::Apk,
            module: None,
        };
        match advisory.affected.iter_mut().find(|a| a.package == origin) {
            None => advisory.affected.push(entry),
            // The highest fix wins; a NAK never replaces a fix.
            Some(existing) if entry.status == Status::Fixed && is_later_fix(existing, version) => *existing = entry,
            Some(_) => {}
        }
    }
}

/// Whether a fix in `version` supersedes `existing` (a NAK, or a fix in a lower version).
fn is_later_fix(existing: &Affected, version: &str) -> bool {
    match existing.fixed_version.as_deref() {
        None => true,
        Some(fixed) => apk::compare(version, fixed) == Ordering::Greater,
    }
}

/// The ids of one secfixes string: `primary` become advisories, `others` their aliases.
#[derive(Debug, Default, PartialEq, Eq)]
struct EntryIds {
    primary: Vec<String>,
    others: Vec<String>,
}

impl EntryIds {
    fn parse(text: &str) -> EntryIds {
        let mut cves = Vec::new();
        let mut others = Vec::new();
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            if let Some(cve) = cve_id(token) {
                push_unique(&mut cves, cve);
            } else if let Some(other) = ghsa_id(token).or_else(|| xsa_id(token)) {
                push_unique(&mut others, other);
            }
        }
        if cves.is_empty() {
            EntryIds { primary: others, others: Vec::new() }
        } else {
            EntryIds { primary: cves, others }
        }
    }
}

fn push_unique(list: &mut Vec<String>, id: String) {
    if !list.contains(&id) {
        list.push(id);
    }
}

/// `CVE-2021-1234`, or the typo `CVE_2021_1234` / `CVE_2021-1234`, → `CVE-2021-1234`.
fn cve_id(token: &str) -> Option<String> {
    let prefix = token.get(..4)?;
    if !prefix.eq_ignore_ascii_case("cve-") && !prefix.eq_ignore_ascii_case("cve_") {
        return None;
    }
    let rest = &token[4..];
    let (year, number) = rest.split_once(['-', '_'])?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (year.len() == 4 && digits(year) && number.len() >= 4 && digits(number)).then(|| format!("CVE-{year}-{number}"))
}

/// `GHSA-xxxx-xxxx-xxxx` (lowercase alphanumeric groups of four).
fn ghsa_id(token: &str) -> Option<String> {
    let prefix = token.get(..5)?;
    if !prefix.eq_ignore_ascii_case("ghsa-") {
        return None;
    }
    let groups: Vec<&str> = token[5..].split('-').collect();
    let valid =
        groups.len() == 3 && groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_alphanumeric()));
    valid.then(|| format!("GHSA-{}", token[5..].to_ascii_lowercase()))
}

/// `XSA-252` (Xen security advisories).
fn xsa_id(token: &str) -> Option<String> {
    let prefix = token.get(..4)?;
    if !prefix.eq_ignore_ascii_case("xsa-") {
        return None;
    }
    let number = &token[4..];
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then(|| format!("XSA-{number}"))
}

/// A JSON value that keeps object members in document order (serde_json's `Value` sorts
/// them), so "last version seen" means the document's order. Wire type of this parser only.
#[derive(Debug)]
enum Node {
    Null,
    Scalar,
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// The member `key`; the last one when the object repeats it, as serde_json does.
fn get<'a>(fields: &'a [(String, Node)], key: &str) -> Option<&'a Node> {
    fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            fields.push((key, value));
        }
        Ok(Node::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn ctx(releases: &[&str]) -> ParseContext {
        ParseContext {
            feed: "alpine-test".into(),
            distro: Some("alpine".into()),
            releases: releases.iter().map(|r| r.to_string()).collect(),
            document_url: None,
        }
    }

    /// One line per advisory (`id [aliases]`), one indented line per affected entry, then the
    /// skip count.
    fn render(advisories: &[Advisory], summary: &ParseSummary) -> String {
        let mut out = String::new();
        for a in advisories {
            let _ = write!(out, "{}", a.id);
            if !a.aliases.is_empty() {
                let _ = write!(out, " aliases={}", a.aliases.join(","));
            }
            out.push('\n');
            for e in &a.affected {
                let _ = writeln!(
                    out,
                    "  {}/{} {} {} {} {}",
                    e.distro,
                    e.release,
                    e.package,
                    e.kind.as_str(),
                    e.status.as_str(),
                    e.fixed_version.as_deref().unwrap_or("-")
                );
            }
        }
        let _ = write!(out, "skipped {}", summary.n_skipped);
        out
    }

    fn run(input: &str, releases: &[&str]) -> Result<(Vec<Advisory>, ParseSummary), FormatError> {
        let mut out = Vec::new();
        let summary = parse(input.as_bytes(), &ctx(releases), &mut |a| out.push(a))?;
        Ok((out, summary))
    }

    fn check(input: &str, expected: &str) {
        let (advisories, summary) = run(input, &[]).unwrap_or_else(|e| panic!("parse failed: {e}"));
        let actual = render(&advisories, &summary);
        assert_eq!(actual.trim(), expected.trim(), "\nactual:\n{actual}\n");
    }

    fn check_error(input: &str, releases: &[&str], message: &str) {
        match run(input, releases) {
            Ok((advisories, _)) => panic!("expected an error, got {} advisories", advisories.len()),
            Err(e) => assert!(e.to_string().contains(message), "{e}"),
        }
    }

    #[test]
    fn fixed_versions_and_nak() {
        check(
            r#"{"distroversion": "v3.19", "reponame": "main", "packages": [
                {"pkg": {"name": "openssl", "secfixes": {
                    "3.1.4-r1": ["CVE-2023-5678"],
                    "0": ["CVE-2022-1234"]
                }}}
            ]}"#,
            "
CVE-2023-5678
  alpine/3.19 openssl source fixed 3.1.4-r1
CVE-2022-1234
  alpine/3.19 openssl source not-affected -
skipped 0",
        );
    }

    #[test]
    fn url_points_at_the_security_tracker() {
        let (advisories, _) =
            run(r#"{"distroversion":"v3.19","packages":[{"pkg":{"name":"musl","secfixes":{"1.2.5-r1":["CVE-2025-26519"]}}}]}"#, &[])
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(advisories[0].url.as_deref(), Some("https://security.alpinelinux.org/vuln/CVE-2025-26519"));
        assert_eq!(advisories[0].affected[0].scheme, Ecosystem::Apk);
        assert_eq!(advisories[0].affected[0].module, None);
    }

    #[test]
    fn ids_with_prose_typos_and_non_cve_ids() {
        check(
            r#"{"distroversion": "v3.18", "packages": [
                {"pkg": {"name": "xen", "secfixes": {
                    "4.10.0-r1": ["XSA-248"],
                    "4.10.0-r2": ["CVE-2018-7540 XSA-252"],
                    "4.10.0-r3": ["CVE-2017-2616 (+ regression fix)", "CVE_2019_1010 CVE-2019-1011, CVE-2019-1011"]
                }}},
                {"pkg": {"name": "py3-jinja2", "secfixes": {
                    "3.1.3-r0": ["GHSA-h5c8-rqwp-cp95"]
                }}}
            ]}"#,
            "
XSA-248
  alpine/3.18 xen source fixed 4.10.0-r1
CVE-2018-7540 aliases=XSA-252
  alpine/3.18 xen source fixed 4.10.0-r2
CVE-2017-2616
  alpine/3.18 xen source fixed 4.10.0-r3
CVE-2019-1010
  alpine/3.18 xen source fixed 4.10.0-r3
CVE-2019-1011
  alpine/3.18 xen source fixed 4.10.0-r3
GHSA-h5c8-rqwp-cp95
  alpine/3.18 py3-jinja2 source fixed 3.1.3-r0
skipped 0",
        );
    }

    #[test]
    fn one_advisory_per_id_across_packages() {
        check(
            r#"{"distroversion": "v3.19", "packages": [
                {"pkg": {"name": "curl", "secfixes": {"8.4.0-r0": ["CVE-2023-38545"]}}},
                {"pkg": {"name": "curl-static", "secfixes": {"8.4.0-r0": ["CVE-2023-38545"]}}}
            ]}"#,
            "
CVE-2023-38545
  alpine/3.19 curl source fixed 8.4.0-r0
  alpine/3.19 curl-static source fixed 8.4.0-r0
skipped 0",
        );
    }

    #[test]
    fn same_id_same_package_keeps_the_highest_fix_and_a_fix_beats_a_nak() {
        // Document order is not version order: 1.36.1-r10 > 1.36.1-r2 only by apk's rules,
        // and the lower fixes come after the higher ones.
        check(
            r#"{"distroversion": "v3.19", "packages": [
                {"pkg": {"name": "busybox", "secfixes": {
                    "1.36.1-r10": ["CVE-2022-48174"],
                    "1.36.1-r2": ["CVE-2022-48174"],
                    "0": ["CVE-2022-48174", "CVE-2021-0001"],
                    "1.30.0-r0": ["CVE-2021-0001"],
                    "1.29.3_p1-r0": ["CVE-2021-0001"]
                }}}
            ]}"#,
            "
CVE-2022-48174
  alpine/3.19 busybox source fixed 1.36.1-r10
CVE-2021-0001
  alpine/3.19 busybox source fixed 1.30.0-r0
skipped 0",
        );
    }

    #[test]
    fn malformed_entries_are_skipped_and_counted() {
        check(
            r#"{"distroversion": "v3.12", "packages": [
                {"pkg": {"name": "ansible", "secfixes": {
                    "2.7.9-r0": ["CVE-2018-16876"],
                    "2.8.0-r0": {},
                    "2.8.1-r0": [42, "no id here", "CVE-2019-10156"],
                    "": ["CVE-2019-0001"]
                }}},
                {"pkg": {"secfixes": {"1.0-r0": ["CVE-2020-0001"]}}},
                {"pkg": {"name": "zlib", "secfixes": ["CVE-2020-0002"]}},
                "not a package",
                {"pkg": {"name": "nothing-fixed"}}
            ]}"#,
            "
CVE-2018-16876
  alpine/3.12 ansible source fixed 2.7.9-r0
CVE-2019-10156
  alpine/3.12 ansible source fixed 2.8.1-r0
skipped 7",
        );
    }

    #[test]
    fn edge_and_release_from_context() {
        check(
            r#"{"distroversion": "edge", "packages": [{"pkg": {"name": "apk-tools", "secfixes": {"2.12.6-r0": ["CVE-2021-36159"]}}}]}"#,
            "
CVE-2021-36159
  alpine/edge apk-tools source fixed 2.12.6-r0
skipped 0",
        );
        let (advisories, _) = run(
            r#"{"packages": [{"pkg": {"name": "zlib", "secfixes": {"1.2.12-r0": ["CVE-2018-25032"]}}}]}"#,
            &["3.16"],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(advisories[0].affected[0].release, "3.16");
    }

    #[test]
    fn document_for_a_release_the_feed_does_not_cover_emits_nothing() {
        let doc = r#"{"distroversion": "v3.19", "packages": [{"pkg": {"name": "zlib", "secfixes": {"1.3.1-r0": ["CVE-2023-45853"]}}}]}"#;
        let (advisories, summary) = run(doc, &["3.18"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(advisories.is_empty());
        assert_eq!(summary.n_skipped, 0);
        let (advisories, _) = run(doc, &["3.19"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(advisories.len(), 1);
    }

    #[test]
    fn documents_that_are_not_secdb_are_errors() {
        check_error("[]", &[], "top level is not an object");
        check_error("{\"distroversion\": \"v3.19\"}", &[], "no `packages` list");
        check_error("{\"distroversion\": \"v3.19\", \"packages\": {}}", &[], "`packages` is not a list");
        check_error("{\"packages\": []}", &["3.18", "3.19"], "no `distroversion`");
        check_error("{\"distroversion\": 3.19, \"packages\": []}", &[], "not a string");
        check_error("not json", &[], "invalid json");
    }

    #[test]
    fn empty_packages_list() {
        check(r#"{"distroversion":"v3.3","reponame":"community","packages":[]}"#, "skipped 0");
    }

    #[test]
    fn id_extraction() {
        for (text, primary, others) in [
            ("CVE-2017-2616 (+ regression fix)", vec!["CVE-2017-2616"], vec![]),
            ("CVE_2019-14697", vec!["CVE-2019-14697"], vec![]),
            ("cve-2021-12345", vec!["CVE-2021-12345"], vec![]),
            ("CVE-2018-7540 XSA-252", vec!["CVE-2018-7540"], vec!["XSA-252"]),
            ("XSA-248", vec!["XSA-248"], vec![]),
            ("GHSA-H5C8-RQWP-CP95", vec!["GHSA-h5c8-rqwp-cp95"], vec![]),
            ("CVE-2018-123 is too short", vec![], vec![]),
            ("regression fix", vec![], vec![]),
        ] {
            let ids = EntryIds::parse(text);
            assert_eq!(ids.primary, primary, "{text}");
            assert_eq!(ids.others, others, "{text}");
        }
    }
}
