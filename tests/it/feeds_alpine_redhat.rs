//! Conformance of the Alpine secdb JSON, Red Hat CSAF (VEX and advisory) and Red Hat OVAL
//! parsers against the real samples in `$CASCADE_SHARED_DATA/feeds`, through the public
//! `formats::parse` entry point. Reads the shared data only; never writes to it, and skips
//! (with a message) when the variable is unset. The secdb YAML samples are out of scope.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use cascade::advisories::{Advisory, PackageKind, Severity, Status};
use cascade::feeds::formats::{self, Format, ParseContext, ParseSummary};
use cascade::inventory::Ecosystem;

use crate::support;

/// What one sample must yield: advisories emitted, affected entries over all of them, and
/// records skipped.
struct Expected {
    file: &'static str,
    n_advisories: usize,
    n_affected: usize,
    n_skipped: u64,
}

const fn expected(file: &'static str, n_advisories: usize, n_affected: usize, n_skipped: u64) -> Expected {
    Expected { file, n_advisories, n_affected, n_skipped }
}

/// Counted by reading each file: one advisory per distinct id over all secfixes lists (a
/// string naming a CVE yields only its CVEs), one entry per (id, origin).
/// - v3.11 main: xen has XSA-248, XSA-252, "CVE-2018-7540 XSA-252" (→ CVE-2018-7540);
///   apk-tools has CVE-2017-9669, CVE-2017-9671: 5 advisories, 5 entries.
/// - v3.3 community: `"packages": []`.
/// - fixture-edited 311-main: apache2 with 2 CVEs. 312-main: ansible CVE-2018-16876 plus
///   `"2.8.0-r0": {}` (an object where the list belongs): parses, that entry skipped.
///   edge-main: apk-tools with 2 CVEs, release `edge`.
const ALPINE: &[Expected] = &[
    expected("fixture-edited/vulnlistupdate_311-main.json", 2, 2, 0),
    expected("fixture-edited/vulnlistupdate_312-main.json", 1, 1, 1),
    expected("fixture-edited/vulnlistupdate_edge-main.json", 2, 2, 0),
    expected("vulnerablecode_v3.11_main.json", 5, 5, 0),
    expected("vulnerablecode_v3.3_community.json", 0, 0, 0),
];

/// Counted by reading each file (and cross-checked with a throwaway script): resolve every
/// `product_status` id through `relationships` to its platform CPE; keep `enterprise_linux`
/// / `rhel_*` update-stream platforms; drop `arch=src` products; count distinct (major
/// release, binary name).
/// - cve-2021-0084: 8 `known_not_affected` kernel products on RHEL 5–9 → 8 entries.
/// - cve-2024-22047: only Red Hat Satellite 6 → 1 skipped, nothing emitted.
/// - rhsa-2003_315: 26 fixed (quagga, quagga-debuginfo × 6 arches × AS/ES, 2 src) → 2.
/// - rhsa-2022-0011: 15 fixed on 7.6 AUS/E4S/TUS (telnet, -debuginfo, -server; 3 src) → 3.
/// - rhsa-2024_6163: the fixture keeps only the `python3.9 … .src` products → nothing.
const CSAF_VEX: &[Expected] = &[expected("cve-2021-0084.json", 1, 8, 0), expected("cve-2024-22047.json", 0, 0, 1)];

const CSAF_ADVISORIES: &[Expected] = &[
    expected("rhsa-2003_315.json", 1, 2, 0),
    expected("rhsa-2022-0011.json", 1, 3, 0),
    expected("rhsa-2024_6163.json", 0, 0, 0),
];

/// Counted by reading the decompressed file: 5 definitions. 3 unpatched CVE definitions
/// (`ansible is installed`, `ansible-test is installed`, no resolution) and 2 RHSA patch
/// definitions (`evr less than` for ansible and ansible-test), each 2 entries on RHEL 8.
const OVAL: &[Expected] = &[expected("rhel-8-ansible-2-including-unpatched.oval.xml.bz2", 5, 10, 0)];

fn data_dir(rel: &str) -> Option<PathBuf> {
    let dir = support::shared_data(rel);
    if dir.is_none() {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set, so {rel} is not available");
    }
    dir
}

fn ctx(feed: &str) -> ParseContext {
    ParseContext { feed: feed.to_owned(), ..ParseContext::default() }
}

fn parse(format: Format, bytes: &[u8]) -> (Vec<Advisory>, ParseSummary) {
    let mut advisories = Vec::new();
    let summary = formats::parse(format, bytes, &ctx(format.as_str()), &mut |a| advisories.push(a))
        .unwrap_or_else(|e| panic!("{format}: {e}"));
    (advisories, summary)
}

fn parse_file(format: Format, path: &Path) -> (Vec<Advisory>, ParseSummary) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut advisories = Vec::new();
    let summary = formats::parse(format, &bytes, &ctx(format.as_str()), &mut |a| advisories.push(a))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (advisories, summary)
}

/// Files directly in `dir` (and in `dir/fixture-edited`) whose name ends with `suffix`, as
/// paths relative to `dir`, sorted.
fn samples(dir: &Path, suffix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (sub, prefix) in [(dir.to_path_buf(), ""), (dir.join("fixture-edited"), "fixture-edited/")] {
        let Ok(entries) = fs::read_dir(&sub) else { continue };
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("read {}: {e}", sub.display())).path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_file() && name.ends_with(suffix) {
                found.push(format!("{prefix}{name}"));
            }
        }
    }
    found.sort();
    found
}

/// Every sample in `rel` parses and yields exactly what the table says; the table names every
/// sample, so a new sample needs a counted row.
fn check_dir(rel: &str, suffix: &str, format: Format, table: &[Expected]) -> Option<PathBuf> {
    let dir = data_dir(rel)?;
    let mut listed: Vec<&str> = table.iter().map(|e| e.file).collect();
    listed.sort();
    assert_eq!(samples(&dir, suffix), listed, "samples in {rel} vs the table");
    for expected in table {
        let (advisories, summary) = parse_file(format, &dir.join(expected.file));
        let n_affected: usize = advisories.iter().map(|a| a.affected.len()).sum();
        assert_eq!(
            (advisories.len(), n_affected, summary.n_skipped),
            (expected.n_advisories, expected.n_affected, expected.n_skipped),
            "{rel}/{}: (advisories, affected entries, skipped)",
            expected.file
        );
    }
    Some(dir)
}

fn find<'a>(advisories: &'a [Advisory], id: &str) -> &'a Advisory {
    advisories.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("no advisory {id}"))
}

#[test]
fn alpine_secdb_samples() {
    let Some(dir) = check_dir("feeds/alpine-secdb-json", ".json", Format::AlpineSecdb, ALPINE) else { return };

    let (advisories, _) = parse_file(Format::AlpineSecdb, &dir.join("vulnerablecode_v3.11_main.json"));
    let cve = find(&advisories, "CVE-2018-7540");
    assert_eq!(cve.aliases, ["XSA-252"]);
    let entry = &cve.affected[0];
    assert_eq!(
        (entry.distro.as_str(), entry.release.as_str(), entry.package.as_str(), entry.kind, entry.scheme),
        ("alpine", "3.11", "xen", PackageKind::Source, Ecosystem::Apk)
    );
    assert_eq!((entry.status, entry.fixed_version.as_deref()), (Status::Fixed, Some("4.10.0-r2")));
    assert_eq!(find(&advisories, "XSA-252").affected[0].fixed_version.as_deref(), Some("4.10-1-r1"));
    assert_eq!(find(&advisories, "CVE-2017-9671").affected[0].package, "apk-tools");

    let (advisories, _) = parse_file(Format::AlpineSecdb, &dir.join("fixture-edited/vulnlistupdate_edge-main.json"));
    let entry = &find(&advisories, "CVE-2021-36159").affected[0];
    assert_eq!((entry.release.as_str(), entry.fixed_version.as_deref()), ("edge", Some("2.12.6-r0")));
}

#[test]
fn redhat_csaf_vex_samples() {
    let Some(dir) = check_dir("feeds/redhat-csaf-vex", ".json", Format::RedhatCsaf, CSAF_VEX) else { return };

    let (advisories, _) = parse_file(Format::RedhatCsaf, &dir.join("cve-2021-0084.json"));
    let cve = find(&advisories, "CVE-2021-0084");
    assert_eq!(cve.severity, Some(Severity::High));
    assert_eq!(cve.url.as_deref(), Some("https://access.redhat.com/security/cve/CVE-2021-0084"));
    assert!(cve.affected.iter().all(|e| e.status == Status::NotAffected && e.fixed_version.is_none()));
    let rhel7: Vec<&str> = cve.affected.iter().filter(|e| e.release == "7").map(|e| e.package.as_str()).collect();
    assert_eq!(rhel7, ["kernel", "kernel-alt", "kernel-rt"]);
}

#[test]
fn redhat_csaf_advisory_samples() {
    let Some(dir) = check_dir("feeds/redhat-csaf", ".json", Format::RedhatCsaf, CSAF_ADVISORIES) else { return };

    // A fixed EVR with its epoch, from an RHSA on the 7.6 AUS/E4S/TUS streams.
    let (advisories, _) = parse_file(Format::RedhatCsaf, &dir.join("rhsa-2022-0011.json"));
    let rhsa = find(&advisories, "RHSA-2022:0011");
    assert_eq!(rhsa.aliases, ["CVE-2020-10188"]);
    assert_eq!(rhsa.severity, Some(Severity::High));
    let telnet = rhsa.affected.iter().find(|e| e.package == "telnet").unwrap_or_else(|| panic!("no telnet entry"));
    assert_eq!(
        (telnet.distro.as_str(), telnet.release.as_str(), telnet.kind, telnet.scheme, telnet.module.as_deref()),
        ("rhel", "7", PackageKind::Binary, Ecosystem::Rpm, None)
    );
    assert_eq!((telnet.status, telnet.fixed_version.as_deref()), (Status::Fixed, Some("1:0.17-65.el7_6")));

    // Epoch 0 is left out of the fixed version.
    let (advisories, _) = parse_file(Format::RedhatCsaf, &dir.join("rhsa-2003_315.json"));
    let quagga = &find(&advisories, "RHSA-2003:315").affected[0];
    assert_eq!((quagga.release.as_str(), quagga.package.as_str()), ("3", "quagga"));
    assert_eq!(quagga.fixed_version.as_deref(), Some("0.96.2-8.3E"));
}

/// No shared sample carries a module stream or a "Will not fix" remediation, so this takes the
/// real cve-2024-22047 VEX and moves its one product onto RHEL 8 inside the `ruby:3.1`
/// module, with Red Hat's `no_fix_planned` / "Will not fix" remediation.
#[test]
fn redhat_csaf_vex_module_stream_and_will_not_fix() {
    let Some(dir) = data_dir("feeds/redhat-csaf-vex") else { return };
    let bytes = fs::read(dir.join("cve-2024-22047.json")).unwrap_or_else(|e| panic!("read sample: {e}"));
    let mut doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("sample json: {e}"));
    let products = &mut doc["product_tree"]["branches"][0]["branches"];
    products[0]["product"]["product_identification_helper"]["cpe"] =
        "cpe:/a:redhat:enterprise_linux:8::appstream".into();
    products[1]["product"]["product_identification_helper"] =
        serde_json::json!({"purl": "pkg:rpm/redhat/rubygem-audited?rpmmod=ruby:3.1"});
    let remediation = &mut doc["vulnerabilities"][0]["remediations"][0];
    remediation["category"] = "no_fix_planned".into();
    remediation["details"] = "Will not fix".into();
    let bytes = serde_json::to_vec(&doc).unwrap_or_else(|e| panic!("json: {e}"));

    let (advisories, summary) = parse(Format::RedhatCsaf, &bytes);
    assert_eq!(summary.n_skipped, 0);
    let cve = find(&advisories, "CVE-2024-22047");
    assert_eq!(cve.affected.len(), 1);
    let entry = &cve.affected[0];
    assert_eq!(
        (
            entry.release.as_str(),
            entry.package.as_str(),
            entry.module.as_deref(),
            entry.status,
            entry.fixed_version.as_deref()
        ),
        ("8", "rubygem-audited", Some("ruby:3.1"), Status::WillNotFix, None)
    );
}

#[test]
fn redhat_oval_samples() {
    let Some(dir) = check_dir("feeds/redhat-oval", ".oval.xml.bz2", Format::RedhatOval, OVAL) else { return };
    let path = dir.join("rhel-8-ansible-2-including-unpatched.oval.xml.bz2");
    let (advisories, _) = parse_file(Format::RedhatOval, &path);

    let rhsa = find(&advisories, "RHSA-2019:3927");
    assert_eq!(rhsa.aliases, ["CVE-2019-14864"]);
    assert_eq!(rhsa.severity, Some(Severity::Medium));
    assert_eq!(rhsa.published.as_deref(), Some("2019-11-20"));
    let ansible = &rhsa.affected[0];
    assert_eq!(
        (ansible.release.as_str(), ansible.package.as_str(), ansible.status, ansible.fixed_version.as_deref()),
        ("8", "ansible", Status::Fixed, Some("2.9.1-1.el8"))
    );
    assert_eq!(find(&advisories, "RHSA-2020:0215").aliases, ["CVE-2019-14904", "CVE-2019-14905"]);

    let unpatched = find(&advisories, "CVE-2020-10744");
    let statuses: Vec<(&str, Status)> = unpatched.affected.iter().map(|e| (e.package.as_str(), e.status)).collect();
    assert_eq!(statuses, [("ansible", Status::Unfixed), ("ansible-test", Status::Unfixed)]);

    // The same document uncompressed parses to the same advisories.
    let compressed = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut plain = Vec::new();
    bzip2::read::BzDecoder::new(compressed.as_slice())
        .read_to_end(&mut plain)
        .unwrap_or_else(|e| panic!("bunzip2 {}: {e}", path.display()));
    assert_eq!(parse(Format::RedhatOval, &plain).0, advisories);
}
