//! Conformance of the OSV, USN database and announcement-feed (RSS) parsers against the real
//! samples in `$CASCADE_SHARED_DATA/feeds/{osv,ubuntu-usn-db,ubuntu-usn-rss}`: every sample
//! parses, with the exact counts below, plus spot checks of fields. Reads the shared data only;
//! never writes to it, and skips (with a message) when the variable is unset.

use std::fs;
use std::path::{Path, PathBuf};

use cascade::advisories::{Advisory, Affected, PackageKind, Severity, Status};
use cascade::feeds::formats::{parse, Format, ParseContext, ParseSummary};
use cascade::inventory::Ecosystem;

use crate::support;

/// Per sample: (path under `feeds/`, advisories, affected entries, skipped).
///
/// Counted by reading the files (a Python pass over the JSON, and the `<item>`s of the RSS):
/// - each OSV file is one record, so one advisory; affected = the `affected[]` elements, each
///   a distinct (ecosystem, package) whose ecosystem cascade maps. The one `Ubuntu:Pro:16.04:LTS`
///   element of UBUNTU-CVE-2021-3782 has no `Ubuntu:16.04:LTS` sibling, so it is folded into
///   16.04 rather than skipped. RHSA-2022:0216 (JBoss EAP) lists no `affected` at all.
///   UBUNTU-CVE-2013-2208 is `withdrawn`, which Canonical uses for "no longer regenerated":
///   it is kept.
/// - the USN database holds one record (763-1) naming one source (xine-lib) in three releases
///   (dapper, hardy, intrepid).
/// - the USN RSS holds three `<item>`s, each titled with a USN id; feeds carry no affected
///   entries.
const SAMPLES: &[(&str, Format, usize, usize, u64)] = &[
    ("osv/alpine/ALPINE-CVE-2025-26519.json", Format::Osv, 1, 9, 0),
    ("osv/debian/DLA-3008-1.json", Format::Osv, 1, 1, 0),
    ("osv/debian/DLA-3022-1.json", Format::Osv, 1, 1, 0),
    ("osv/redhat/RHSA-2022_0216.json", Format::Osv, 1, 0, 0),
    ("osv/ubuntu/UBUNTU-CVE-2013-2208.json", Format::Osv, 1, 1, 0),
    ("osv/ubuntu/UBUNTU-CVE-2021-3782.json", Format::Osv, 1, 4, 0),
    ("osv/ubuntu/USN-5614-1.json", Format::Osv, 1, 3, 0),
    ("osv/ubuntu/USN-6409-1.json", Format::Osv, 1, 1, 0),
    ("ubuntu-usn-db/database-all.json.bz2", Format::UsnDatabase, 1, 3, 0),
    ("ubuntu-usn-rss/ubuntu_notices_rss_2020-09-16.xml", Format::Rss, 3, 0, 0),
];

fn feeds_dir() -> Option<PathBuf> {
    let dir = support::shared_data("feeds");
    if dir.is_none() {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set, so the feed samples are not available");
    }
    dir
}

/// Every file under `dir`, recursively, as paths relative to `root` with `/` separators.
fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
        }
    }
}

fn parse_sample(feeds: &Path, rel: &str, format: Format) -> (Vec<Advisory>, ParseSummary) {
    let path = feeds.join(rel);
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let ctx = ParseContext { feed: rel.to_owned(), ..ParseContext::default() };
    let mut advisories = Vec::new();
    let summary = parse(format, &bytes, &ctx, &mut |a| advisories.push(a))
        .unwrap_or_else(|e| panic!("{rel} does not parse as {format}: {e}"));
    (advisories, summary)
}

fn sample(feeds: &Path, rel: &str) -> Vec<Advisory> {
    let (_, format, ..) = SAMPLES.iter().find(|s| s.0 == rel).unwrap_or_else(|| panic!("{rel} is not in SAMPLES"));
    parse_sample(feeds, rel, *format).0
}

fn advisory<'a>(advisories: &'a [Advisory], id: &str) -> &'a Advisory {
    advisories.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("no advisory {id}"))
}

fn entry<'a>(a: &'a Advisory, release: &str, package: &str) -> &'a Affected {
    a.affected
        .iter()
        .find(|e| e.release == release && e.package == package)
        .unwrap_or_else(|| panic!("{}: no entry for {package} in {release}", a.id))
}

#[test]
fn every_sample_parses_with_the_counted_numbers() {
    let Some(feeds) = feeds_dir() else { return };
    let mut on_disk = Vec::new();
    for dir in ["osv", "ubuntu-usn-db", "ubuntu-usn-rss"] {
        files_under(&feeds, &feeds.join(dir), &mut on_disk);
    }
    on_disk.sort();
    let mut listed: Vec<String> = SAMPLES.iter().map(|s| s.0.to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "the samples on disk and the SAMPLES table differ: count the new files");

    for &(rel, format, n_advisories, n_affected, n_skipped) in SAMPLES {
        let (advisories, summary) = parse_sample(&feeds, rel, format);
        let counts = (advisories.len(), advisories.iter().map(|a| a.affected.len()).sum::<usize>(), summary.n_skipped);
        assert_eq!(counts, (n_advisories, n_affected, n_skipped), "{rel}: (advisories, affected, skipped)");
    }
}

#[test]
fn ubuntu_osv_spot_checks() {
    let Some(feeds) = feeds_dir() else { return };

    let usn = sample(&feeds, "osv/ubuntu/USN-6409-1.json");
    let a = advisory(&usn, "USN-6409-1");
    assert_eq!(a.title.as_deref(), Some("glibc vulnerabilities"));
    assert_eq!(a.url.as_deref(), Some("https://ubuntu.com/security/notices/USN-6409-1"));
    assert_eq!(a.published.as_deref(), Some("2023-10-03T18:04:23.013596Z"));
    assert_eq!(a.aliases, ["UBUNTU-CVE-2023-4527", "CVE-2023-4527", "UBUNTU-CVE-2023-4911", "CVE-2023-4911"]);
    assert_eq!(a.severity, None);
    let glibc = entry(a, "22.04", "glibc");
    assert_eq!(
        (glibc.distro.as_str(), glibc.kind, glibc.status, glibc.fixed_version.as_deref(), glibc.scheme),
        ("ubuntu", PackageKind::Source, Status::Fixed, Some("2.35-0ubuntu3.4"), Ecosystem::Dpkg)
    );

    let cve = sample(&feeds, "osv/ubuntu/UBUNTU-CVE-2021-3782.json");
    let a = advisory(&cve, "UBUNTU-CVE-2021-3782");
    assert_eq!(a.aliases, ["CVE-2021-3782"], "related USNs are not aliases");
    assert_eq!(a.severity, Some(Severity::Medium), "the Ubuntu priority wins over CVSS 6.6");
    assert_eq!(a.url.as_deref(), Some("https://ubuntu.com/security/notices/USN-5614-1"));
    assert!(a.title.as_deref().is_some_and(|t| t.starts_with("An internal reference count") && t.ends_with('…')));
    let releases: Vec<&str> = a.affected.iter().map(|e| e.release.as_str()).collect();
    assert_eq!(releases, ["18.04", "20.04", "22.04", "16.04"], "the Pro-only 16.04 entry comes last");
    assert_eq!(entry(a, "16.04", "wayland").fixed_version.as_deref(), Some("1.12.0-1~ubuntu16.04.3+esm1"));
    assert_eq!(entry(a, "20.04", "wayland").fixed_version.as_deref(), Some("1.18.0-1ubuntu0.1"));

    let notice = sample(&feeds, "osv/ubuntu/USN-5614-1.json");
    let a = advisory(&notice, "USN-5614-1");
    assert_eq!(a.aliases, ["UBUNTU-CVE-2021-3782", "CVE-2021-3782"]);
    assert_eq!(a.severity, Some(Severity::Medium), "from the per-release cves_map");

    let withdrawn = sample(&feeds, "osv/ubuntu/UBUNTU-CVE-2013-2208.json");
    let a = advisory(&withdrawn, "UBUNTU-CVE-2013-2208");
    assert_eq!(a.title.as_deref().map(|t| t.starts_with("tpp 1.3.1 allows remote attackers")), Some(true));
    assert_eq!(a.url, None, "only REPORT references");
    assert_eq!(entry(a, "14.04", "tpp").fixed_version.as_deref(), Some("1.3.1-3"));
}

#[test]
fn debian_alpine_and_red_hat_osv_spot_checks() {
    let Some(feeds) = feeds_dir() else { return };

    let dla = sample(&feeds, "osv/debian/DLA-3008-1.json");
    let a = advisory(&dla, "DLA-3008-1");
    assert_eq!(a.aliases, ["CVE-2022-1292", "DEBIAN-CVE-2022-1292"]);
    assert_eq!(a.title.as_deref(), Some("openssl - security update"));
    let openssl = entry(a, "9", "openssl");
    assert_eq!(
        (openssl.distro.as_str(), openssl.kind, openssl.status, openssl.fixed_version.as_deref()),
        ("debian", PackageKind::Source, Status::Fixed, Some("1.1.0l-1~deb9u6"))
    );

    let alpine = sample(&feeds, "osv/alpine/ALPINE-CVE-2025-26519.json");
    let a = advisory(&alpine, "ALPINE-CVE-2025-26519");
    assert_eq!(a.aliases, ["CVE-2025-26519"]);
    assert_eq!(a.severity, Some(Severity::High), "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H is 7.0");
    assert_eq!(a.url.as_deref(), Some("https://security.alpinelinux.org/vuln/CVE-2025-26519"));
    let musl = entry(a, "3.19", "musl");
    assert_eq!(
        (musl.distro.as_str(), musl.kind, musl.fixed_version.as_deref(), musl.scheme),
        ("alpine", PackageKind::Source, Some("1.2.4_git20230717-r5"), Ecosystem::Apk)
    );
    assert_eq!(entry(a, "3.24", "musl").fixed_version.as_deref(), Some("1.2.5-r10"));

    let rhsa = sample(&feeds, "osv/redhat/RHSA-2022_0216.json");
    let a = advisory(&rhsa, "RHSA-2022:0216");
    assert_eq!(a.url.as_deref(), Some("https://access.redhat.com/errata/RHSA-2022:0216"));
    assert_eq!(a.severity, Some(Severity::High), "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H is 8.1");
    assert!(a.aliases.is_empty(), "its CVEs are only `related`");
    assert!(a.affected.is_empty());
}

#[test]
fn usn_database_spot_checks() {
    let Some(feeds) = feeds_dir() else { return };
    let db = sample(&feeds, "ubuntu-usn-db/database-all.json.bz2");
    let a = advisory(&db, "USN-763-1");
    assert_eq!(a.aliases, ["CVE-2009-0698", "CVE-2009-1274"]);
    assert_eq!(a.title.as_deref(), Some("xine-lib vulnerabilities"));
    assert_eq!(a.published.as_deref(), Some("2009-04-20T21:34:50Z"));
    assert_eq!(a.url.as_deref(), Some("https://ubuntu.com/security/notices/USN-763-1"));
    for (release, version) in
        [("6.06", "1.1.1+ubuntu2-7.12"), ("8.04", "1.1.11.1-1ubuntu3.4"), ("8.10", "1.1.15-0ubuntu3.3")]
    {
        let e = entry(a, release, "xine-lib");
        assert_eq!(
            (e.distro.as_str(), e.kind, e.status, e.fixed_version.as_deref(), e.scheme),
            ("ubuntu", PackageKind::Source, Status::Fixed, Some(version), Ecosystem::Dpkg),
            "{release}"
        );
    }
}

#[test]
fn usn_rss_spot_checks() {
    let Some(feeds) = feeds_dir() else { return };
    let rss = sample(&feeds, "ubuntu-usn-rss/ubuntu_notices_rss_2020-09-16.xml");
    let ids: Vec<&str> = rss.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["USN-4504-1", "USN-4498-1", "USN-4499-1"]);
    let a = advisory(&rss, "USN-4504-1");
    assert_eq!(a.title.as_deref(), Some("OpenSSL vulnerabilities"));
    assert_eq!(a.published.as_deref(), Some("2020-09-16T13:58:04Z"));
    assert_eq!(a.url.as_deref(), Some("https://ubuntu.com/security/notices/USN-4504-1"));
    assert_eq!(a.aliases, ["CVE-2020-1968", "CVE-2019-1547", "CVE-2019-1551", "CVE-2019-1563"]);
    assert_eq!(advisory(&rss, "USN-4498-1").aliases, ["CVE-2019-15587"]);
    assert!(advisory(&rss, "USN-4499-1").aliases.is_empty());
}
