//! Conformance of the dpkg, status.d and apk parsers and of OS detection against the real
//! package databases in `$CASCADE_SHARED_DATA/pkgdb` and their oracle `.expected.tsv` lists.
//! Reads the shared data only; never writes to it, and skips (with a message) when the
//! variable is unset.

use std::fs;
use std::path::{Path, PathBuf};

use cascade::inventory::{apk, dpkg, os, Package};

use crate::support;

const HEADER: &str = "name\tversion\tarch\tsource\tsource_version";

/// Dpkg states this crate keeps but the oracle (state word == `installed`) leaves out.
const KEPT_BEYOND_ORACLE: &[&str] =
    &["half-configured", "unpacked", "triggers-awaited", "triggers-pending", "half-installed"];

fn data_dir(rel: &str) -> Option<PathBuf> {
    let dir = support::shared_data(rel);
    if dir.is_none() {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set, so {rel} is not available");
    }
    dir
}

/// Files in `dir` whose name ends with `suffix`, sorted by name.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).path())
        .filter(|p| p.is_file() && file_name(p).ends_with(suffix))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn row(p: &Package) -> String {
    format!("{}\t{}\t{}\t{}\t{}", p.name, p.version, p.arch, p.source_name, p.source_version)
}

/// The expected TSV for a database, without its header; rows are in byte order already.
fn expected_rows(tsv: &Path) -> Vec<String> {
    let text = String::from_utf8(read(tsv)).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", tsv.display()));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(HEADER), "{}: header", tsv.display());
    lines.map(str::to_owned).collect()
}

/// Compare sorted actual rows with the expected TSV; on mismatch name the first differing
/// row and list the rows missing and unexpected (up to 10 each).
fn assert_rows(db: &Path, mut actual: Vec<String>, tsv: &Path) {
    actual.sort();
    let expected = expected_rows(tsv);
    if actual == expected {
        return;
    }
    let first = actual.iter().zip(&expected).position(|(a, e)| a != e).unwrap_or(actual.len().min(expected.len()));
    let missing: Vec<&String> = expected.iter().filter(|r| !actual.contains(r)).take(10).collect();
    let unexpected: Vec<&String> = actual.iter().filter(|r| !expected.contains(r)).take(10).collect();
    panic!(
        "{}: {} rows, expected {} ({})\nfirst difference at row {}:\n  actual:   {:?}\n  expected: {:?}\nmissing (first 10): {missing:#?}\nunexpected (first 10): {unexpected:#?}",
        db.display(),
        actual.len(),
        expected.len(),
        tsv.display(),
        first + 1,
        actual.get(first),
        expected.get(first),
    );
}

fn tsv_beside(db: &Path) -> PathBuf {
    let tsv = PathBuf::from(format!("{}.expected.tsv", db.display()));
    assert!(tsv.is_file(), "{} has no {}", db.display(), tsv.display());
    tsv
}

/// Rows of paragraphs the parser keeps by policy but the oracle drops, found by a plain scan
/// of the single-line Package/Version/Architecture/Status/Source fields. None of the current
/// files has such a paragraph; this keeps a future file comparable with its TSV.
fn rows_kept_beyond_oracle(status: &[u8]) -> Vec<(String, String, String)> {
    let text = String::from_utf8_lossy(status).replace("\r\n", "\n");
    let mut out = Vec::new();
    for paragraph in text.split("\n\n") {
        let field = |name: &str| {
            paragraph
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(':')))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let status = field("Status");
        let state = status.split_whitespace().nth(2).unwrap_or("");
        if KEPT_BEYOND_ORACLE.contains(&state) {
            out.push((field("Package"), field("Architecture"), field("Version")));
        }
    }
    out
}

#[test]
fn dpkg_status_files_match_expected() {
    let Some(dir) = data_dir("pkgdb/dpkg") else { return };
    let dbs = files_ending(&dir, ".status");
    assert!(!dbs.is_empty(), "no *.status in {}", dir.display());
    for db in &dbs {
        let bytes = read(db);
        let packages = dpkg::parse_status(&db.display().to_string(), &bytes).unwrap_or_else(|e| panic!("{e}"));
        let beyond = rows_kept_beyond_oracle(&bytes);
        if !beyond.is_empty() {
            eprintln!("{}: leaving out {} non-`installed` packages the oracle drops", db.display(), beyond.len());
        }
        let actual = packages
            .iter()
            .filter(|p| !beyond.contains(&(p.name.clone(), p.arch.clone(), p.version.clone())))
            .map(row)
            .collect();
        assert_rows(db, actual, &tsv_beside(db));
    }
    eprintln!("checked {} dpkg status files", dbs.len());
}

#[test]
fn distroless_status_d_dirs_match_expected() {
    let Some(dir) = data_dir("pkgdb/distroless") else { return };
    let mut dirs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no distroless directories in {}", dir.display());
    for image in &dirs {
        let status_d = image.join("status.d");
        let contents: Vec<(String, Vec<u8>)> =
            files_ending(&status_d, "").iter().map(|f| (file_name(f), read(f))).collect();
        assert!(!contents.is_empty(), "{} is empty", status_d.display());
        let files: Vec<(String, &[u8])> =
            contents.iter().map(|(name, bytes)| (name.clone(), bytes.as_slice())).collect();
        let packages = dpkg::parse_status_d(&files).unwrap_or_else(|e| panic!("{e}"));
        assert_rows(&status_d, packages.iter().map(row).collect(), &tsv_beside(image));
    }
    eprintln!("checked {} distroless status.d directories", dirs.len());
}

#[test]
fn apk_installed_files_match_expected() {
    let Some(dir) = data_dir("pkgdb/apk") else { return };
    let dbs = files_ending(&dir, ".installed");
    assert!(!dbs.is_empty(), "no *.installed in {}", dir.display());
    for db in &dbs {
        let packages = apk::parse_installed(&db.display().to_string(), &read(db)).unwrap_or_else(|e| panic!("{e}"));
        assert_rows(db, packages.iter().map(row).collect(), &tsv_beside(db));
    }
    eprintln!("checked {} apk databases", dbs.len());
}

/// (file, distro, release, codename), written from reading each file.
const OS_EXPECTED: &[(&str, &str, &str, Option<&str>)] = &[
    ("alpine-2.6.6.alpine-release", "alpine", "2.6", None),
    ("alpine-3.10.2.os-release", "alpine", "3.10", None),
    ("alpine-3.11.5.os-release", "alpine", "3.11", None),
    ("alpine-3.14.9.os-release", "alpine", "3.14", None),
    ("alpine-3.18.4.os-release", "alpine", "3.18", None),
    ("alpine-3.7.0.os-release", "alpine", "3.7", None),
    ("alpine-3.9.4.os-release", "alpine", "3.9", None),
    ("amazonlinux-2.os-release", "amzn", "2", None),
    ("azurelinux-3.0.os-release", "azurelinux", "3.0", None),
    ("cbl-mariner-1.0.os-release", "mariner", "1.0", None),
    ("distroless-debian10.os-release", "debian", "10", Some("buster")),
    ("distroless-static-debian11.os-release", "debian", "11", Some("bullseye")),
    ("fedora-36-container.os-release", "fedora", "36", None),
    ("opensuse-leap-15.2.os-release", "opensuse-leap", "15.2", None),
    ("rhel-8.1.os-release", "rhel", "8", None),
    ("rhel-9.0.os-release", "rhel", "9", None),
    ("rocky-8.4.os-release", "rocky", "8", None),
    ("sles-12.os-release", "sles", "12", None),
    ("sles-15.1.os-release", "sles", "15.1", None),
    ("sles-15.2.os-release", "sles", "15.2", None),
    ("ubuntu-10.04.lsb-release", "ubuntu", "10.04", Some("lucid")),
    ("ubuntu-14.04.6-victim.os-release", "ubuntu", "14.04", Some("trusty")),
    ("ubuntu-18.04.6.os-release", "ubuntu", "18.04", Some("bionic")),
    ("ubuntu-20.04.os-release", "ubuntu", "20.04", Some("focal")),
    ("ubuntu-22.04.os-release", "ubuntu", "22.04", Some("jammy")),
];

/// The path a release file has in an image, from its suffix.
fn image_paths(name: &str) -> &'static [&'static str] {
    if name.ends_with(".os-release") {
        &["etc/os-release", "usr/lib/os-release"]
    } else if name.ends_with(".lsb-release") {
        &["etc/lsb-release"]
    } else if name.ends_with(".alpine-release") {
        &["etc/alpine-release"]
    } else {
        panic!("{name}: unknown release file kind; teach image_paths() its image path")
    }
}

#[test]
fn os_release_files_are_detected() {
    let Some(dir) = data_dir("pkgdb/os-release") else { return };
    let files = files_ending(&dir, "");
    assert!(!files.is_empty(), "no files in {}", dir.display());
    for file in &files {
        let name = file_name(file);
        let bytes = read(file);
        for image_path in image_paths(&name) {
            let read_one = |p: &str| (p == *image_path).then(|| bytes.clone());
            let found = os::detect(&read_one).unwrap_or_else(|| panic!("{name} as {image_path}: no OS detected"));
            let Some((_, distro, release, codename)) = OS_EXPECTED.iter().find(|(f, ..)| *f == name) else {
                panic!("{name}: detected {found:?}; add its expected row to OS_EXPECTED");
            };
            let actual = (found.distro.as_str(), found.release.as_str(), found.codename.as_deref());
            assert_eq!(actual, (*distro, *release, *codename), "{name} as {image_path}: {found:?}");
            assert_eq!(found.source_file, *image_path, "{name}");
        }
    }
    for (name, ..) in OS_EXPECTED {
        assert!(dir.join(name).is_file(), "OS_EXPECTED names {name}, which is not in {}", dir.display());
    }
    eprintln!("checked {} release files", files.len());
}
