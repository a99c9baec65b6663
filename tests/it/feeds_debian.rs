//! Conformance of the Debian feed parsers (tracker JSON, DSA/DLA/CVE lists) over the shared
//! samples in `$CASCADE_SHARED_DATA/feeds/`, through the public `feeds::formats::parse`. Reads
//! the samples only; must not write, fetch, or edit them.

use std::path::Path;

use cascade::advisories::{Advisory, Severity, Status};
use cascade::feeds::formats::{parse, Format, ParseContext, ParseSummary};

use crate::support;

/// Every Debian sample with what parsing it must give: advisories, affected entries (summed
/// over advisories) and counted skips. Every sample parses, `fixture-edited/` ones included:
/// the re-indented and mixed tab/space files are valid list syntax, the DLA fixture's
/// deliberately "MALFORMED HEADER" record is one counted skip, and the tracker fixture's
/// `"releases": []` (chromium-browser) is one counted skip.
///
/// How the numbers were counted, from the files and not from the parser:
/// - tracker JSON: Python `json.load`, one advisory per (package, id) whose `releases` is a
///   non-empty object, affected = number of release keys (all codenames are known ones).
/// - DSA/DLA lists: `grep -c '^\['` for the headers (each one checked against
///   `^\[\d\d? [A-Z][a-z]{2} \d{4}\] D[SL]A-\d+(-\d+)?\s`, so advisories = valid headers);
///   affected = `grep -cP '^\s+(\[[a-z]+\]\s+)?-\s'` (package lines; every codename is a known
///   one, none is an `<itp>`). Records without package lines are advisories too (1 in the
///   DLA sample: DLA-3067-1 stretch-lts end-of-life; in the vunnel fixture DSA-2819-1,
///   DSA-3281-1 and DSA-4205-1).
/// - CVE lists: by reading each record: only records naming a package are advisories
///   (vuln-list-update: foot 3 lines, wordpress 1, ant 1, putty 3; openvswitch is TODO-only,
///   xen-orchestra NOT-FOR-US. gardenlinux: glibc 1, vim 3; ImageMagick is header-only).
const SAMPLES: &[(&str, Format, usize, usize, u64)] = &[
    // (path under feeds/, format, advisories, affected, skipped)
    ("debian-tracker-json/vunnel_debian.json", Format::DebianTrackerJson, 6, 25, 1),
    ("debian-dsa-list/DSA_list_2022.txt", Format::DebianDsaList, 281, 381, 0),
    ("debian-dsa-list/fixture-edited/vulnlistupdate_happy_DSA_list.txt", Format::DebianDsaList, 1, 2, 0),
    ("debian-dsa-list/fixture-edited/vunnel_DSA_fixture.txt", Format::DebianDsaList, 10, 9, 0),
    ("debian-dla-list/DLA_list_2022.txt", Format::DebianDlaList, 394, 393, 0),
    ("debian-dla-list/fixture-edited/vulnlistupdate_happy_DLA_list.txt", Format::DebianDlaList, 1, 1, 1),
    ("debian-cve-list/gardenlinux_debsec-cve-list.txt", Format::DebianCveList, 2, 4, 0),
    ("debian-cve-list/fixture-edited/vulnlistupdate_happy_CVE_list.txt", Format::DebianCveList, 4, 8, 0),
];

const FOLDERS: &[&str] = &["debian-tracker-json", "debian-cve-list", "debian-dla-list", "debian-dsa-list"];

fn parse_sample(path: &Path, format: Format, ctx: &ParseContext) -> (Vec<Advisory>, ParseSummary) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut advisories = Vec::new();
    let summary = parse(format, &bytes, ctx, &mut |a| advisories.push(a))
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    (advisories, summary)
}

/// Parses one sample by its path under `feeds/`; None (skip) when the shared data is not set.
fn sample(rel: &str, format: Format) -> Option<Vec<Advisory>> {
    let path = support::shared_data(&format!("feeds/{rel}"))?;
    Some(parse_sample(&path, format, &ParseContext::default()).0)
}

fn find<'a>(advisories: &'a [Advisory], id: &str) -> &'a Advisory {
    advisories.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id} not emitted"))
}

/// `release package status [fixed]` per affected entry, in order.
fn affected_lines(advisory: &Advisory) -> Vec<String> {
    advisory
        .affected
        .iter()
        .map(|e| {
            assert_eq!((e.distro.as_str(), e.kind.as_str(), e.scheme.as_str()), ("debian", "source", "dpkg"));
            let fixed = e.fixed_version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
            format!("{} {} {}{fixed}", e.release, e.package, e.status.as_str())
        })
        .collect()
}

#[test]
fn every_sample_parses_with_exact_counts() {
    let Some(root) = support::shared_data("feeds") else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    // The table must cover every sample in the Debian folders, so a new sample cannot go
    // untested.
    let mut on_disk = Vec::new();
    for folder in FOLDERS {
        collect_files(&root.join(folder), &mut on_disk);
    }
    let mut in_table: Vec<_> = SAMPLES.iter().map(|(rel, ..)| root.join(rel)).collect();
    on_disk.sort();
    in_table.sort();
    assert_eq!(on_disk, in_table, "SAMPLES must list every Debian sample");

    for &(rel, format, n_advisories, n_affected, n_skipped) in SAMPLES {
        let (advisories, summary) = parse_sample(&root.join(rel), format, &ParseContext::default());
        let got_affected: usize = advisories.iter().map(|a| a.affected.len()).sum();
        assert_eq!(
            (advisories.len(), got_affected, summary.n_skipped),
            (n_advisories, n_affected, n_skipped),
            "{rel}: (advisories, affected, skipped)"
        );
        for a in &advisories {
            assert_eq!(a.url, Some(format!("https://security-tracker.debian.org/tracker/{}", a.id)), "{rel}");
            for e in &a.affected {
                assert_eq!(e.fixed_version.is_some(), e.status == Status::Fixed, "{rel} {}: {e:?}", a.id);
            }
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn dsa_list_entries() {
    let Some(advisories) = sample("debian-dsa-list/DSA_list_2022.txt", Format::DebianDsaList) else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    let dsa = find(&advisories, "DSA-5196-1");
    assert_eq!(dsa.published.as_deref(), Some("2022-07-31"));
    assert_eq!(dsa.title.as_deref(), Some("libpgjava - security update"));
    assert_eq!(dsa.aliases, ["CVE-2022-21724", "CVE-2022-26520"]);
    assert_eq!(dsa.severity, None);
    assert_eq!(affected_lines(dsa), ["10 libpgjava fixed 42.2.5-2+deb10u1", "11 libpgjava fixed 42.2.15-1+deb11u1"]);

    let linux = find(&advisories, "DSA-5173-1");
    assert_eq!(linux.aliases.len(), 37);
    assert_eq!(linux.aliases.first().map(String::as_str), Some("CVE-2021-4197"));
    assert_eq!(linux.aliases.last().map(String::as_str), Some("CVE-2022-33981"));
    assert_eq!(affected_lines(linux), ["10 linux fixed 4.19.249-2"]);

    // The file is newest first; the first record is the last DSA of 2022.
    assert_eq!(advisories.first().map(|a| a.id.as_str()), Some("DSA-5310-1"));
    assert_eq!(affected_lines(&advisories[0]), ["11 ruby-image-processing fixed 1.10.3-1+deb11u1"]);
}

#[test]
fn dsa_list_release_filter() {
    let Some(path) = support::shared_data("feeds/debian-dsa-list/DSA_list_2022.txt") else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    // 272 records carry a [bullseye] line, one each (awk over the file); buster-only records
    // are about no release this feed covers and are not emitted.
    let ctx = ParseContext { releases: vec!["11".to_owned()], ..ParseContext::default() };
    let (advisories, summary) = parse_sample(&path, Format::DebianDsaList, &ctx);
    let n_affected: usize = advisories.iter().map(|a| a.affected.len()).sum();
    assert_eq!((advisories.len(), n_affected, summary.n_skipped), (272, 272, 0));
    assert!(advisories.iter().flat_map(|a| &a.affected).all(|e| e.release == "11"));
    assert_eq!(affected_lines(find(&advisories, "DSA-5196-1")), ["11 libpgjava fixed 42.2.15-1+deb11u1"]);
}

#[test]
fn dla_list_entries() {
    let Some(advisories) = sample("debian-dla-list/DLA_list_2022.txt", Format::DebianDlaList) else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    let dla = find(&advisories, "DLA-3000-1");
    assert_eq!(dla.published.as_deref(), Some("2022-05-12"));
    assert_eq!(dla.aliases.len(), 5);
    assert_eq!(affected_lines(dla), ["9 waitress fixed 1.0.1-1+deb9u1"]);
    let eol = find(&advisories, "DLA-3067-1");
    assert_eq!(eol.title.as_deref(), Some("stretch-lts - end-of-life"));
    assert!(eol.affected.is_empty() && eol.aliases.is_empty());
    let regression = find(&advisories, "DLA-2480-2");
    assert_eq!(affected_lines(regression), ["9 salt fixed 2016.11.2+ds-1+deb9u10"]);
}

#[test]
fn fixture_edited_lists() {
    let Some(dla) = sample("debian-dla-list/fixture-edited/vulnlistupdate_happy_DLA_list.txt", Format::DebianDlaList)
    else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    // The synthetic "MALFORMED HEADER" record and its lines are skipped; the real one stays.
    assert_eq!(dla.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["DLA-2711-1"]);
    assert_eq!(affected_lines(&dla[0]), ["9 thunderbird fixed 1:78.12.0-1~deb9u1"]);
    assert_eq!(dla[0].aliases.len(), 4);

    let Some(redis) = sample("debian-dsa-list/fixture-edited/vulnlistupdate_happy_DSA_list.txt", Format::DebianDsaList)
    else {
        return;
    };
    // 8-space indentation and no trailing newline.
    assert_eq!(affected_lines(&redis[0]), ["9 redis fixed 3:3.2.6-3+deb9u3", "10 redis fixed 5:5.0.3-4+deb10u1"]);
    assert_eq!(redis[0].aliases, ["CVE-2019-10192", "CVE-2019-10193"]);

    let Some(vunnel) = sample("debian-dsa-list/fixture-edited/vunnel_DSA_fixture.txt", Format::DebianDsaList) else {
        return;
    };
    let libpng = find(&vunnel, "DSA-140");
    assert_eq!(libpng.published.as_deref(), Some("2002-08-05"));
    assert_eq!(affected_lines(libpng), ["3.0 libpng fixed 1.0.12-3.woody.2", "3.0 libpng3 fixed 1.2.1-1.1.woody.2"]);
    assert_eq!(affected_lines(find(&vunnel, "DSA-5970-1")), ["12 sope fixed 5.8.0-1+deb12u1"]);
    assert!(find(&vunnel, "DSA-3281-1").affected.is_empty());
}

#[test]
fn cve_list_entries() {
    let Some(glvd) = sample("debian-cve-list/gardenlinux_debsec-cve-list.txt", Format::DebianCveList) else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    let glibc = find(&glvd, "CVE-2024-33601");
    assert_eq!(glibc.aliases, ["DSA-5678-1", "DLA-3850-1"]);
    assert_eq!(affected_lines(glibc), ["sid glibc fixed 2.37-19"]);
    let vim = find(&glvd, "CVE-2023-5344");
    assert_eq!(vim.aliases, ["DLA-4097-1"]);
    assert_eq!(
        affected_lines(vim),
        ["sid vim fixed 2:9.0.2018-1", "12 vim fixed 2:9.0.1378-2+deb12u1", "10 vim deferred"]
    );
    assert!(glvd.iter().all(|a| a.id != "CVE-2023-5341"), "a header-only record names no package");

    let Some(happy) = sample("debian-cve-list/fixture-edited/vulnlistupdate_happy_CVE_list.txt", Format::DebianCveList)
    else {
        return;
    };
    // CVE-2023-XXXX placeholders get the tracker's TEMP names: first bug number and the MD5
    // of the description (md5("code execution via malformed XTGETTCAP") = 9454e3...).
    let foot = find(&happy, "TEMP-1053115-9454E3");
    assert_eq!(affected_lines(foot), ["sid foot fixed 1.15.3-2", "12 foot fixed 1.13.1-2+deb12u1", "11 foot unfixed"]);
    let putty = find(&happy, "CVE-2021-36367");
    assert_eq!(putty.severity, Some(Severity::Low));
    assert_eq!(affected_lines(putty), ["sid putty fixed 0.75-3", "11 putty unfixed", "10 putty unfixed"]);
    let ant = find(&happy, "CVE-2021-36373");
    assert_eq!(ant.severity, Some(Severity::Negligible));
    assert_eq!(affected_lines(ant), ["sid ant unfixed"]);
}

#[test]
fn tracker_json_entries() {
    let Some(advisories) = sample("debian-tracker-json/vunnel_debian.json", Format::DebianTrackerJson) else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    let ids: Vec<_> = advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["CVE-2008-7220", "CVE-2007-2383", "CVE-2013-1444", "CVE-2005-3111", "CVE-2022-0456", "CVE-2025-53603"]
    );
    let prototype = find(&advisories, "CVE-2007-2383");
    assert_eq!(prototype.severity, Some(Severity::Negligible));
    assert!(prototype.affected.iter().all(|e| e.status == Status::NotAffected && e.package == "prototypejs"));
    assert_eq!(find(&advisories, "CVE-2008-7220").severity, Some(Severity::High));
    let chromium = find(&advisories, "CVE-2022-0456");
    assert_eq!(chromium.title, None);
    assert_eq!(
        affected_lines(chromium),
        [
            "12 chromium fixed 98.0.4758.80-1",
            "11 chromium fixed 98.0.4758.80-1~deb11u1",
            "10 chromium end-of-life",
            "sid chromium fixed 98.0.4758.80-1",
            "9 chromium end-of-life",
        ]
    );
    let sope = find(&advisories, "CVE-2025-53603");
    assert!(sope.title.as_deref().is_some_and(|t| t.starts_with("In Alinto SOPE SOGo 2.0.2 through 5.12.2")));
    assert_eq!(
        affected_lines(sope),
        [
            "12 sope fixed 5.8.0-1+deb12u1",
            "11 sope fixed 5.0.1-2+deb11u1",
            "sid sope fixed 5.12.1-2",
            "13 sope fixed 5.12.1-2"
        ]
    );
}

#[test]
fn tracker_json_release_filter() {
    let Some(path) = support::shared_data("feeds/debian-tracker-json/vunnel_debian.json") else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    // bookworm appears only under chromium and sope.
    let ctx = ParseContext { releases: vec!["12".to_owned()], ..ParseContext::default() };
    let (advisories, summary) = parse_sample(&path, Format::DebianTrackerJson, &ctx);
    let ids: Vec<_> = advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["CVE-2022-0456", "CVE-2025-53603"]);
    assert_eq!(summary.n_skipped, 1, "chromium-browser's \"releases\": [] is still counted");
    assert!(advisories.iter().all(|a| a.affected.len() == 1 && a.affected[0].release == "12"));
}

#[test]
fn truncated_tracker_json_is_an_error_naming_the_position() {
    let Some(path) = support::shared_data("feeds/debian-tracker-json/vunnel_debian.json") else {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set");
        return;
    };
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cut = &bytes[..bytes.len() / 2];
    let mut n = 0;
    let err = parse(Format::DebianTrackerJson, cut, &ParseContext::default(), &mut |_| n += 1)
        .expect_err("half a document must not parse");
    let message = err.to_string();
    assert!(message.starts_with("debian-tracker-json document: truncated document: EOF"), "{message}");
    assert!(message.contains(" at line "), "{message}");
}
