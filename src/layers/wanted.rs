//! Which paths of an image the inventory needs: the OS release files, the package databases,
//! and the directories above them. Owns the path lists and the per-entry relevance test; must
//! not read, parse or buffer anything, and must not allocate (it runs on every tar entry).

/// Regular files whose content the inventory reads, as normalised paths (relative to the image
/// root, no leading `/`, no `.` or empty components, no trailing `/`).
pub const WANTED_FILES: &[&str] = &[
    // OS identification
    "etc/os-release",
    "usr/lib/os-release",
    "etc/lsb-release",
    "etc/debian_version",
    "etc/alpine-release",
    "etc/redhat-release",
    "etc/system-release",
    "etc/system-release-cpe",
    // What etc/redhat-release and etc/system-release are symlinks to on the RHEL family
    "etc/centos-release",
    "etc/rocky-release",
    "etc/almalinux-release",
    "etc/oracle-release",
    "etc/fedora-release",
    "etc/apk/repositories",
    // dpkg (the distroless `status.d/` directory is in WANTED_DIRS)
    "var/lib/dpkg/status",
    // apk
    "lib/apk/db/installed",
    "usr/lib/apk/db/installed",
    // rpm: BDB, NDB and sqlite databases at the classic and the sysimage location
    "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/rpmdb.sqlite-wal",
    "usr/lib/sysimage/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages.db",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite-wal",
    // rpm-ostree / bootc images keep only the sqlite database here
    "usr/share/rpm/rpmdb.sqlite",
    "usr/share/rpm/rpmdb.sqlite-wal",
];

/// Directories whose direct children are all wanted files, except names ending in
/// [`SKIPPED_SUFFIX`] (distroless Debian: one control paragraph per package, plus file lists).
pub const WANTED_DIRS: &[&str] = &["var/lib/dpkg/status.d"];

/// Children of a [`WANTED_DIRS`] directory with this suffix are not wanted (dpkg file lists).
pub const SKIPPED_SUFFIX: &str = ".md5sums";

/// The root, every proper ancestor directory of a wanted path, and the wanted directories
/// themselves: symlinks, directories, whiteouts and opaque markers here decide where the
/// wanted files end up. A unit test checks this list against `WANTED_FILES` and `WANTED_DIRS`.
const STRUCTURE_PATHS: &[&str] = &[
    "",
    "etc",
    "etc/apk",
    "lib",
    "lib/apk",
    "lib/apk/db",
    "usr",
    "usr/lib",
    "usr/lib/apk",
    "usr/lib/apk/db",
    "usr/lib/sysimage",
    "usr/lib/sysimage/rpm",
    "usr/share",
    "usr/share/rpm",
    "var",
    "var/lib",
    "var/lib/dpkg",
    "var/lib/dpkg/status.d",
    "var/lib/rpm",
];

/// The one wanted directory, spelt with its trailing slash for the prefix test below.
const STATUS_D_PREFIX: &str = "var/lib/dpkg/status.d/";

/// Longest path in `WANTED_FILES` and `STRUCTURE_PATHS`: anything longer can only be a child
/// of a wanted directory.
const MAX_LISTED_LEN: usize = max_len(WANTED_FILES, max_len(STRUCTURE_PATHS, 0));

const fn max_len(list: &[&str], mut max: usize) -> usize {
    let mut i = 0;
    while i < list.len() {
        if list[i].len() > max {
            max = list[i].len();
        }
        i += 1;
    }
    max
}

/// What the layer reader keeps of an entry at a given (normalised) path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relevance {
    /// A wanted file: keep its content (or the link it is).
    File,
    /// The root, an ancestor directory of a wanted path, or a wanted directory: keep
    /// directories, symlinks, whiteouts and opaque markers at it, never file content.
    Structure,
    /// Nothing the inventory needs.
    Skip,
}

/// Classifies a normalised path. Allocation-free; a handful of length and byte comparisons.
pub fn relevance(path: &str) -> Relevance {
    if path.len() > MAX_LISTED_LEN {
        return if is_wanted_dir_child(path) { Relevance::File } else { Relevance::Skip };
    }
    // Every listed path (other than the root) starts with one of these letters; most entries
    // of a layer (`bin/`, `opt/`, `sbin/`, `home/`...) stop here.
    match path.as_bytes().first() {
        None => return Relevance::Structure,
        Some(b'e' | b'l' | b'u' | b'v') => {}
        Some(_) => return Relevance::Skip,
    }
    if WANTED_FILES.contains(&path) {
        Relevance::File
    } else if STRUCTURE_PATHS.contains(&path) {
        Relevance::Structure
    } else if is_wanted_dir_child(path) {
        Relevance::File
    } else {
        Relevance::Skip
    }
}

/// True when `path` is a file whose content the inventory reads.
pub fn is_wanted_file(path: &str) -> bool {
    relevance(path) == Relevance::File
}

/// A direct child of `var/lib/dpkg/status.d` that is not a `*.md5sums` file list.
fn is_wanted_dir_child(path: &str) -> bool {
    match path.strip_prefix(STATUS_D_PREFIX) {
        Some(name) => !name.is_empty() && !name.contains('/') && !name.ends_with(SKIPPED_SUFFIX),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn check(path: &str, expected: Relevance) {
        assert_eq!(relevance(path), expected, "relevance({path:?})");
        assert_eq!(is_wanted_file(path), expected == Relevance::File, "is_wanted_file({path:?})");
    }

    #[test]
    fn classifies_paths() {
        use Relevance::*;
        let cases: &[(&str, Relevance)] = &[
            ("etc/os-release", File),
            ("usr/lib/os-release", File),
            ("etc/lsb-release", File),
            ("etc/debian_version", File),
            ("etc/alpine-release", File),
            ("etc/redhat-release", File),
            ("etc/system-release", File),
            ("etc/apk/repositories", File),
            ("var/lib/dpkg/status", File),
            ("var/lib/dpkg/status.d/base-files", File),
            ("var/lib/dpkg/status.d/libc6", File),
            ("var/lib/dpkg/status.d/a-very-long-package-name-that-is-longer-than-any-listed-path", File),
            ("var/lib/dpkg/status.d/libc6.md5sums", Skip),
            ("var/lib/dpkg/status.d/sub/libc6", Skip),
            ("var/lib/dpkg/status.d", Structure),
            ("var/lib/dpkg/status-old", Skip),
            ("var/lib/dpkg/available", Skip),
            ("var/lib/dpkg/info/libc6.list", Skip),
            ("lib/apk/db/installed", File),
            ("usr/lib/apk/db/installed", File),
            ("lib/apk/db/lock", Skip),
            ("var/lib/rpm/Packages", File),
            ("var/lib/rpm/Packages.db", File),
            ("var/lib/rpm/rpmdb.sqlite", File),
            ("var/lib/rpm/rpmdb.sqlite-wal", File),
            ("var/lib/rpm/rpmdb.sqlite-shm", Skip),
            ("var/lib/rpm/Name", Skip),
            ("usr/lib/sysimage/rpm/Packages", File),
            ("usr/lib/sysimage/rpm/Packages.db", File),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite", File),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite-wal", File),
            ("usr/share/rpm/rpmdb.sqlite", File),
            ("usr/share/rpm/rpmdb.sqlite-wal", File),
            ("usr/share/rpm/Packages", Skip),
            ("usr/share/rpm/Packages.db", Skip),
            ("", Structure),
            ("etc", Structure),
            ("etc/apk", Structure),
            ("usr", Structure),
            ("usr/lib", Structure),
            ("usr/lib/sysimage", Structure),
            ("usr/lib/sysimage/rpm", Structure),
            ("usr/share", Structure),
            ("usr/share/rpm", Structure),
            ("var", Structure),
            ("var/lib", Structure),
            ("var/lib/dpkg", Structure),
            ("var/lib/rpm", Structure),
            ("lib", Structure),
            ("lib/apk", Structure),
            ("lib/apk/db", Structure),
            ("usr/lib/apk/db", Structure),
            ("usr/bin", Skip),
            ("usr/share/doc/libc6/copyright", Skip),
            ("etc/passwd", Skip),
            ("etc/os-release.d", Skip),
            ("bin/sh", Skip),
            ("opt", Skip),
            ("var/lib/dpkg/status.d/", Skip),
        ];
        for (path, expected) in cases {
            check(path, *expected);
        }
    }

    /// `STRUCTURE_PATHS` is exactly the root, the proper ancestors of every wanted path, and
    /// the wanted directories; and every listed file classifies as `File`.
    #[test]
    fn structure_list_matches_wanted_lists() {
        let mut expected: BTreeSet<&str> = BTreeSet::from([""]);
        for path in WANTED_FILES.iter().chain(WANTED_DIRS) {
            let mut end = 0;
            while let Some(i) = path[end..].find('/') {
                expected.insert(&path[..end + i]);
                end += i + 1;
            }
        }
        expected.extend(WANTED_DIRS.iter().copied());
        let listed: BTreeSet<&str> = STRUCTURE_PATHS.iter().copied().collect();
        assert_eq!(listed, expected);
        assert_eq!(listed.len(), STRUCTURE_PATHS.len(), "duplicate in STRUCTURE_PATHS");
        for path in WANTED_FILES {
            check(path, Relevance::File);
        }
        for path in WANTED_DIRS {
            assert_eq!(format!("{path}/"), STATUS_D_PREFIX);
        }
        for path in WANTED_FILES.iter().chain(STRUCTURE_PATHS) {
            assert!(path.len() <= MAX_LISTED_LEN);
            assert!(path.is_empty() || matches!(path.as_bytes()[0], b'e' | b'l' | b'u' | b'v'), "{path}");
        }
    }
}
