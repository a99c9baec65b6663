//! Correlation: does an advisory entry affect an installed package? Pure rules, no IO; the
//! store applies them to every (package, entry) pair that shares a (distro, release, name) key
//! and keeps the resulting findings current (`store::findings`).
//!
//! # Matching rules (correctness-checklist §4–§6)
//!
//! - The image's distro and normalised release must equal the entry's (`bookworm` ≡ `12` is
//!   settled when both sides are normalised); the store looks entries up by that key.
//! - A *source* entry (Debian, Ubuntu, Alpine) matches installed packages whose source name
//!   (dpkg `Source:`, apk origin) is the entry's package, and compares the *source* version,
//!   so that `libssl3` is found by an `openssl` advisory. A *binary* entry (Red Hat family)
//!   matches the binary name and compares the binary EVR.
//! - Module streams: an entry restricted to a stream (`nodejs:18`) matches only packages built
//!   in that stream; an entry without a stream matches only packages outside any module
//!   (policy, so that a non-modular fix never resolves or flags a modular build).
//! - Statuses: `fixed` affects while installed < fixed; `unfixed`, `will-not-fix`, `deferred`
//!   and `end-of-life` always affect (no fix); `not-affected` and `undetermined` never do.
//! - The comparator is the entry's scheme, which must be the package's ecosystem; an entry of
//!   another scheme never matches (no cross-ecosystem or fuzzy comparison).
//! - Kernel header packages (`linux-libc-dev`, `linux-headers-*`, `linux-kbuild-*`,
//!   `kernel-headers`) carry kernel CVEs that do not apply to a container; they are not
//!   matched unless [`MatchPolicy::match_kernel_headers`] is set.

use serde::Serialize;

use crate::advisories::{PackageKind, Status};
use crate::inventory::Ecosystem;
use crate::versions;

/// Switches of the matching rules. Stored with the findings: when it changes, the store
/// rebuilds every finding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchPolicy {
    /// Match kernel header packages against kernel advisories (off by default).
    #[serde(default)]
    pub match_kernel_headers: bool,
}

impl MatchPolicy {
    /// A stable text form, stored to notice a policy change.
    pub fn fingerprint(&self) -> String {
        format!("v1;kernel_headers={}", self.match_kernel_headers)
    }
}

/// The fields of an installed package that matching reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstalledRef<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub source_name: &'a str,
    pub source_version: &'a str,
    pub ecosystem: Ecosystem,
    /// rpm `MODULARITYLABEL` (`name:stream:version:context`).
    pub module: Option<&'a str>,
}

/// The fields of an affected entry that matching reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    pub package: &'a str,
    pub kind: PackageKind,
    pub status: Status,
    pub fixed_version: Option<&'a str>,
    pub scheme: Ecosystem,
    /// Module stream (`nodejs:18`).
    pub module: Option<&'a str>,
}

/// One finding as an update reports it: which package of which image an advisory affects,
/// and what the advisory says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingChange {
    pub image: String,
    pub platform: String,
    pub package: String,
    pub version: String,
    pub source_name: String,
    pub feed: String,
    pub advisory_id: String,
    pub status: Status,
    pub fixed_version: Option<String>,
}

/// Findings an update added for one installed package (a package at one version in one
/// release), counted rather than listed per image: an advisory for a package that thousands
/// of images hold is one of these, not thousands. Which images they are is the store's
/// current answer (`affected_images`); resolved findings are listed per image, because once
/// resolved the store no longer holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddedFindings {
    pub package: String,
    pub version: String,
    pub source_name: String,
    pub feed: String,
    pub advisory_id: String,
    pub status: Status,
    pub fixed_version: Option<String>,
    /// Images holding the package at that version (1 for a scan: the scanned image).
    pub n_images: usize,
}

impl AddedFindings {
    /// The package-level part of `change`, for `n_images` images.
    pub fn new(change: FindingChange, n_images: usize) -> AddedFindings {
        let FindingChange { package, version, source_name, feed, advisory_id, status, fixed_version, .. } = change;
        AddedFindings { package, version, source_name, feed, advisory_id, status, fixed_version, n_images }
    }
}

/// What one update (an ingest, an image scan) did to the findings: those that appeared and
/// those that went away. A finding whose status or fixed version changed while it still
/// affects the package is in neither list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingsDelta {
    pub added: Vec<AddedFindings>,
    pub resolved: Vec<FindingChange>,
    /// Set when the update touched too many package keys to list its findings one by one
    /// (a feed's first ingest into a store that already holds images): every finding was
    /// recomputed, `added` and `resolved` are empty, and what is stored is a new baseline.
    pub rebaselined: bool,
}

impl FindingsDelta {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.resolved.is_empty() && !self.rebaselined
    }
}

/// Whether `entry` says `installed` is affected.
pub fn affects(installed: &InstalledRef<'_>, entry: &EntryRef<'_>, policy: &MatchPolicy) -> bool {
    if entry.scheme != installed.ecosystem {
        return false;
    }
    let version = match entry.kind {
        PackageKind::Source if installed.source_name == entry.package => installed.source_version,
        PackageKind::Binary if installed.name == entry.package => installed.version,
        _ => return false,
    };
    if !policy.match_kernel_headers && is_kernel_headers(installed.name) {
        return false;
    }
    if module_stream(installed.module) != entry.module.filter(|m| !m.is_empty()) {
        return false;
    }
    match entry.status {
        Status::Fixed => match entry.fixed_version {
            Some(fixed) => versions::compare(entry.scheme, version, fixed).is_lt(),
            // A fixed status without a version cannot be compared; the parsers never emit it.
            None => false,
        },
        Status::Unfixed | Status::WillNotFix | Status::Deferred | Status::EndOfLife => true,
        Status::NotAffected | Status::Undetermined => false,
    }
}

/// Whether an entry with this status can ever affect a package (the others are not loaded).
pub fn status_can_affect(status: Status) -> bool {
    !matches!(status, Status::NotAffected | Status::Undetermined)
}

/// `name:stream` of a `MODULARITYLABEL` (`nodejs:18:8090020230721:abc` → `nodejs:18`).
pub fn module_stream(label: Option<&str>) -> Option<&str> {
    let label = label.filter(|l| !l.is_empty())?;
    let mut colons = label.match_indices(':').map(|(i, _)| i);
    let first = colons.next();
    match (first, colons.next()) {
        (Some(_), Some(second)) => Some(&label[..second]),
        _ => Some(label),
    }
}

/// Userspace kernel header packages: `linux-libc-dev`, `linux-headers-*`, `linux-*-headers-*`,
/// `linux-kbuild-*` (Debian, Ubuntu), `kernel-headers` (rpm).
pub fn is_kernel_headers(name: &str) -> bool {
    if name == "linux-libc-dev" || name == "kernel-headers" || name.starts_with("linux-kbuild-") {
        return true;
    }
    name.strip_prefix("linux-").is_some_and(|rest| rest.starts_with("headers-") || rest.contains("-headers-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deb<'a>(name: &'a str, version: &'a str, source: &'a str, source_version: &'a str) -> InstalledRef<'a> {
        InstalledRef { name, version, source_name: source, source_version, ecosystem: Ecosystem::Dpkg, module: None }
    }

    fn entry<'a>(package: &'a str, kind: PackageKind, status: Status, fixed: Option<&'a str>) -> EntryRef<'a> {
        let scheme = if kind == PackageKind::Binary { Ecosystem::Rpm } else { Ecosystem::Dpkg };
        EntryRef { package, kind, status, fixed_version: fixed, scheme, module: None }
    }

    const DEFAULT: MatchPolicy = MatchPolicy { match_kernel_headers: false };

    #[test]
    fn source_entry_matches_binary_package_by_source_name_and_version() {
        let libssl = deb("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2");
        let fixed = entry("openssl", PackageKind::Source, Status::Fixed, Some("3.0.13-1~deb12u1"));
        assert!(affects(&libssl, &fixed, &DEFAULT));
        let already = entry("openssl", PackageKind::Source, Status::Fixed, Some("3.0.11-1~deb12u2"));
        assert!(!affects(&libssl, &already, &DEFAULT));
        // The binary name is not a source name: no match on it.
        let by_binary = entry("libssl3", PackageKind::Source, Status::Fixed, Some("9"));
        assert!(!affects(&libssl, &by_binary, &DEFAULT));
    }

    #[test]
    fn source_version_is_compared_not_the_binary_version() {
        // binNMU: the binary carries +b1, the source does not (checklist §6 #2).
        let pkg = deb("cpp", "4:12.2.0-3", "gcc-defaults", "1.203");
        let e = entry("gcc-defaults", PackageKind::Source, Status::Fixed, Some("1.204"));
        assert!(affects(&pkg, &e, &DEFAULT));
        let e = entry("gcc-defaults", PackageKind::Source, Status::Fixed, Some("1.203"));
        assert!(!affects(&pkg, &e, &DEFAULT));
    }

    #[test]
    fn statuses() {
        let pkg = deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1");
        for (status, expected) in [
            (Status::Unfixed, true),
            (Status::WillNotFix, true),
            (Status::Deferred, true),
            (Status::EndOfLife, true),
            (Status::NotAffected, false),
            (Status::Undetermined, false),
        ] {
            assert_eq!(
                affects(&pkg, &entry("zlib", PackageKind::Source, status, None), &DEFAULT),
                expected,
                "{status:?}"
            );
            assert_eq!(status_can_affect(status), expected);
        }
        // A fixed status with no version never matches.
        assert!(!affects(&pkg, &entry("zlib", PackageKind::Source, Status::Fixed, None), &DEFAULT));
    }

    #[test]
    fn binary_entry_compares_binary_evr_and_module_streams() {
        let plain = InstalledRef {
            name: "vim-minimal",
            version: "2:8.2.2637-20.el9_1",
            source_name: "vim",
            source_version: "2:8.2.2637-20.el9_1",
            ecosystem: Ecosystem::Rpm,
            module: None,
        };
        let e = entry("vim-minimal", PackageKind::Binary, Status::Fixed, Some("2:8.2.2637-21.el9"));
        assert!(affects(&plain, &e, &DEFAULT));
        assert!(!affects(&plain, &entry("vim", PackageKind::Binary, Status::Fixed, Some("3:0")), &DEFAULT));

        let modular = InstalledRef {
            name: "nodejs",
            version: "1:18.19.0-1.module+el9.3.0+21000+abc",
            source_name: "nodejs",
            source_version: "1:18.19.0-1.module+el9.3.0+21000+abc",
            ecosystem: Ecosystem::Rpm,
            module: Some("nodejs:18:9030020231120:abc"),
        };
        let stream18 = EntryRef {
            module: Some("nodejs:18"),
            ..entry("nodejs", PackageKind::Binary, Status::Fixed, Some("1:18.20.2-1.module+el9.4.0"))
        };
        let stream20 = EntryRef { module: Some("nodejs:20"), ..stream18 };
        let no_stream = EntryRef { module: None, ..stream18 };
        assert!(affects(&modular, &stream18, &DEFAULT));
        assert!(!affects(&modular, &stream20, &DEFAULT));
        assert!(!affects(&modular, &no_stream, &DEFAULT));
    }

    #[test]
    fn scheme_must_be_the_package_ecosystem() {
        let pkg = deb("openssl", "3.0.11-1", "openssl", "3.0.11-1");
        let apk = EntryRef { scheme: Ecosystem::Apk, ..entry("openssl", PackageKind::Source, Status::Unfixed, None) };
        assert!(!affects(&pkg, &apk, &DEFAULT));
    }

    #[test]
    fn kernel_headers_are_skipped_unless_asked_for() {
        let pkg = deb("linux-libc-dev", "6.1.76-1", "linux", "6.1.76-1");
        let e = entry("linux", PackageKind::Source, Status::Unfixed, None);
        assert!(!affects(&pkg, &e, &DEFAULT));
        assert!(affects(&pkg, &e, &MatchPolicy { match_kernel_headers: true }));
        for name in
            ["linux-headers-6.1.0-18-amd64", "linux-hwe-6.8-headers-6.8.0-50", "linux-kbuild-6.1", "kernel-headers"]
        {
            assert!(is_kernel_headers(name), "{name}");
        }
        for name in ["linux-base", "libselinux1", "linux-image-6.1.0-18-amd64", "kernel-core"] {
            assert!(!is_kernel_headers(name), "{name}");
        }
    }

    #[test]
    fn module_streams_from_labels() {
        assert_eq!(module_stream(Some("nodejs:18:9030020231120:abc")), Some("nodejs:18"));
        assert_eq!(module_stream(Some("nodejs:18")), Some("nodejs:18"));
        assert_eq!(module_stream(Some("")), None);
        assert_eq!(module_stream(None), None);
    }
}
