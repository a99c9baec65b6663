//! rpm package databases (sqlite, Berkeley DB hash, NDB) read from bytes into packages; owns the
//! EVR and SOURCERPM rules. Must not touch the filesystem: the one exception, a private
//! temporary copy made so SQLite can replay a `-wal`, lives in `sqlite` and says why.
//!
//! Each backend (`sqlite`, `bdb`, `ndb`) only finds the header blobs in its container format
//! and hands them over one at a time; `header` decodes a blob; this module turns headers into
//! [`RpmPackage`]s and those into [`Package`]s.

mod bdb;
mod header;
mod ndb;
mod sqlite;

use std::fmt::Display;

use super::{DbError, Ecosystem, Package};

/// Largest database (or `-wal`) accepted, in bytes. The layer reader already caps one kept
/// file well below this; the cap also keeps sizes handed to SQLite within its `int` range.
pub const MAX_DB_BYTES: usize = 1 << 30;
/// Most header blobs read from one database (a full RHEL image has a few hundred).
pub const MAX_HEADERS: usize = 1_000_000;

/// One installed rpm as its header records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    /// EPOCH; `None` when the header has none, which is not the same as `Some(0)`.
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// ARCH, empty when the header has none.
    pub arch: String,
    /// SOURCERPM (`name-version-release.arch.rpm`); `None` when absent, empty or `(none)`.
    pub source_rpm: Option<String>,
    /// MODULARITYLABEL (`name:stream:version:context`), when set.
    pub modularity_label: Option<String>,
}

impl RpmPackage {
    /// `[epoch:]version-release`, the epoch shown iff the header has one.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// The inventory's view. The source comes from SOURCERPM, which carries no epoch, so the
    /// binary's epoch is put on the source version; with no (parsable) SOURCERPM the source is
    /// the binary itself.
    pub fn to_package(&self) -> Package {
        let (source_name, source_version) = match self.source_rpm.as_deref().and_then(sourcerpm_parts) {
            Some((name, version, release)) => {
                let epoch = self.epoch.map(|e| format!("{e}:")).unwrap_or_default();
                (name.to_owned(), format!("{epoch}{version}-{release}"))
            }
            None => (self.name.clone(), self.evr()),
        };
        Package {
            name: self.name.clone(),
            version: self.evr(),
            arch: self.arch.clone(),
            source_name,
            source_version,
            ecosystem: Ecosystem::Rpm,
            module: self.modularity_label.clone(),
        }
    }
}

/// Splits a SOURCERPM `name-version-release.arch.rpm` into `(name, version, release)`: drop
/// `.rpm`, split off the arch at the last `.`, then the release and the version at the last
/// `-` each. `None` when any part would be empty or missing.
pub fn sourcerpm_parts(s: &str) -> Option<(&str, &str, &str)> {
    let stem = s.strip_suffix(".rpm").unwrap_or(s);
    let (nvr, arch) = stem.rsplit_once('.')?;
    let (nv, release) = nvr.rsplit_once('-')?;
    let (name, version) = nv.rsplit_once('-')?;
    if [name, version, release, arch].iter().any(|part| part.is_empty()) {
        return None;
    }
    Some((name, version, release))
}

/// The three on-disk formats of rpm's package database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpmDbKind {
    /// `rpmdb.sqlite` (rpm >= 4.16: RHEL 9, Fedora >= 33, Amazon Linux 2023, CBL-Mariner 2).
    Sqlite,
    /// Berkeley DB hash `Packages` (RHEL <= 8, CentOS 7, Amazon Linux 2, SLES 12).
    Bdb,
    /// `Packages.db` (SUSE >= 15).
    Ndb,
}

impl RpmDbKind {
    /// The database's file name, used as the path in errors.
    pub fn file_name(self) -> &'static str {
        match self {
            RpmDbKind::Sqlite => "rpmdb.sqlite",
            RpmDbKind::Bdb => "Packages",
            RpmDbKind::Ndb => "Packages.db",
        }
    }

    /// The kind a database file name stands for (`rpmdb.sqlite`, `Packages`, `Packages.db`).
    pub fn from_file_name(name: &str) -> Option<RpmDbKind> {
        [RpmDbKind::Sqlite, RpmDbKind::Bdb, RpmDbKind::Ndb].into_iter().find(|k| k.file_name() == name)
    }

    /// A read error of this kind of database.
    fn error(self, message: impl Into<String>) -> DbError {
        DbError::new(self.file_name(), message)
    }
}

/// Reads `rpmdb.sqlite` from memory. A non-empty `wal` (the `rpmdb.sqlite-wal` next to it)
/// holds committed transactions that are not yet in the main file and is replayed.
pub fn read_sqlite(db: &[u8], wal: Option<&[u8]>) -> Result<Vec<RpmPackage>, DbError> {
    let mut headers = Headers::new(RpmDbKind::Sqlite);
    sqlite::for_each_blob(db, wal, |hnum, blob| headers.add(format_args!("sqlite row {hnum}"), blob))?;
    Ok(headers.packages)
}

/// Reads a Berkeley DB hash `Packages` file (either byte order) from memory.
pub fn read_bdb(db: &[u8]) -> Result<Vec<RpmPackage>, DbError> {
    let mut headers = Headers::new(RpmDbKind::Bdb);
    bdb::for_each_blob(db, |recno, blob| headers.add(format_args!("bdb record {recno}"), blob))?;
    Ok(headers.packages)
}

/// Reads a SUSE NDB `Packages.db` from memory.
pub fn read_ndb(db: &[u8]) -> Result<Vec<RpmPackage>, DbError> {
    let mut headers = Headers::new(RpmDbKind::Ndb);
    ndb::for_each_blob(db, |pkgidx, blob| headers.add(format_args!("ndb package {pkgidx}"), blob))?;
    Ok(headers.packages)
}

/// Reads a database of `kind` into inventory packages; errors carry `path` (the database's
/// path in the image) instead of the bare file name. `wal` is used only for sqlite (the other
/// formats have no write-ahead log) and ignored otherwise.
pub fn read(kind: RpmDbKind, path: &str, bytes: &[u8], wal: Option<&[u8]>) -> Result<Vec<Package>, DbError> {
    let packages = match kind {
        RpmDbKind::Sqlite => read_sqlite(bytes, wal),
        RpmDbKind::Bdb => read_bdb(bytes),
        RpmDbKind::Ndb => read_ndb(bytes),
    }
    .map_err(|e| DbError::new(path, e.message))?;
    Ok(packages.iter().map(RpmPackage::to_package).collect())
}

/// Collects the packages of one database, header by header, in database order.
struct Headers {
    kind: RpmDbKind,
    n_headers: usize,
    packages: Vec<RpmPackage>,
}

impl Headers {
    fn new(kind: RpmDbKind) -> Headers {
        Headers { kind, n_headers: 0, packages: Vec::new() }
    }

    /// Decodes one header blob; `gpg-pubkey` pseudo-packages (imported signing keys) are
    /// skipped before their other tags are required.
    fn add(&mut self, record: impl Display, blob: &[u8]) -> Result<(), DbError> {
        self.n_headers += 1;
        if self.n_headers > MAX_HEADERS {
            return Err(self.kind.error(format!("more than {MAX_HEADERS} headers")));
        }
        let decoded = header::Header::parse(blob).and_then(|h| match h.name()?.as_str() {
            "gpg-pubkey" => Ok(None),
            _ => h.package().map(Some),
        });
        match decoded {
            Ok(Some(package)) => self.packages.push(package),
            Ok(None) => {}
            Err(e) => return Err(self.kind.error(format!("{record}: {e}"))),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::header::testing::package;
    use super::*;

    fn check_parts(input: &str, expected: Option<(&str, &str, &str)>) {
        assert_eq!(sourcerpm_parts(input), expected, "input: {input:?}");
    }

    #[test]
    fn sourcerpm() {
        check_parts("glibc-2.31-9.3.2.src.rpm", Some(("glibc", "2.31", "9.3.2")));
        check_parts("util-linux-2.32.1-42.el8_8.src.rpm", Some(("util-linux", "2.32.1", "42.el8_8")));
        check_parts(
            "aaa_base-13.2+git20140911.61c1681-38.22.1.src.rpm",
            Some(("aaa_base", "13.2+git20140911.61c1681", "38.22.1")),
        );
        check_parts("python3-3.11.6-1.amzn2023.0.1.nosrc.rpm", Some(("python3", "3.11.6", "1.amzn2023.0.1")));
        check_parts("kernel-5.14.0-362.8.1.el9_3.src.rpm", Some(("kernel", "5.14.0", "362.8.1.el9_3")));
        check_parts("a-b-c-1-2.src.rpm", Some(("a-b-c", "1", "2")));
        // Without the .rpm suffix the arch is still split off.
        check_parts("bash-4.4-19.6.1.src", Some(("bash", "4.4", "19.6.1")));
        check_parts("", None);
        check_parts("(none)", None);
        check_parts(".rpm", None);
        check_parts("bash.src.rpm", None);
        check_parts("bash-4.4.src.rpm", None);
        check_parts("bash-4.4-.src.rpm", None);
        check_parts("-4.4-1.src.rpm", None);
        check_parts("bash--1.src.rpm", None);
        check_parts("bash-4-1.rpm", None);
        check_parts("bash-4-1.", None);
    }

    fn rpm(name: &str, epoch: Option<u32>, version: &str, release: &str, source: Option<&str>) -> RpmPackage {
        RpmPackage {
            name: name.into(),
            epoch,
            version: version.into(),
            release: release.into(),
            arch: "x86_64".into(),
            source_rpm: source.map(Into::into),
            modularity_label: None,
        }
    }

    /// `expected` is `name version source_name source_version`.
    fn check_package(input: RpmPackage, expected: &str) {
        let p = input.to_package();
        assert_eq!(p.ecosystem, Ecosystem::Rpm);
        assert_eq!(p.arch, input.arch);
        assert_eq!(p.module, input.modularity_label);
        assert_eq!(
            format!("{} {} {} {}", p.name, p.version, p.source_name, p.source_version),
            expected,
            "input: {input:?}"
        );
    }

    #[test]
    fn to_package() {
        check_package(
            rpm("libuuid", None, "2.32.1", "42.el8_8", Some("util-linux-2.32.1-42.el8_8.src.rpm")),
            "libuuid 2.32.1-42.el8_8 util-linux 2.32.1-42.el8_8",
        );
        check_package(
            rpm("hello", Some(1), "0.0.1", "rls", Some("hello-0.0.1-rls.src.rpm")),
            "hello 1:0.0.1-rls hello 1:0.0.1-rls",
        );
        check_package(rpm("zero", Some(0), "1.0", "1", Some("zero-1.0-1.src.rpm")), "zero 0:1.0-1 zero 0:1.0-1");
        // A subpackage whose version differs from its source's: the source keeps its own.
        check_package(
            rpm("alternatives", None, "1.15", "2.amzn2023.0.2", Some("chkconfig-1.15-2.amzn2023.0.2.src.rpm")),
            "alternatives 1.15-2.amzn2023.0.2 chkconfig 1.15-2.amzn2023.0.2",
        );
        check_package(rpm("sub", Some(2), "9", "1", Some("top-3.0-7.src.rpm")), "sub 2:9-1 top 2:3.0-7");
        // No or unparsable SOURCERPM: the binary is its own source.
        check_package(rpm("orphan", Some(3), "1", "2", None), "orphan 3:1-2 orphan 3:1-2");
        check_package(rpm("odd", None, "1", "2", Some("garbage")), "odd 1-2 odd 1-2");
        let mut modular = rpm(
            "nodejs",
            Some(1),
            "18.17.1",
            "1.module+el8.8.0+19757+8ca87034",
            Some("nodejs-18.17.1-1.module+el8.8.0+19757+8ca87034.src.rpm"),
        );
        modular.modularity_label = Some("nodejs:18:8080020230810:63b34585".into());
        check_package(
            modular,
            "nodejs 1:18.17.1-1.module+el8.8.0+19757+8ca87034 nodejs 1:18.17.1-1.module+el8.8.0+19757+8ca87034",
        );
    }

    #[test]
    fn headers_skip_gpg_pubkey_and_name_the_record() {
        let mut headers = Headers::new(RpmDbKind::Sqlite);
        let key = header::testing::HeaderWriter::new().string(header::TAG_NAME, "gpg-pubkey").build(false);
        headers.add("row 1", &key).expect("gpg-pubkey is skipped, not decoded");
        headers.add("row 2", &package("bash", None, "4.4", "1", "x86_64").build(false)).expect("bash");
        assert_eq!(headers.packages.len(), 1);
        let err = headers.add("row 3", b"\0\0").expect_err("truncated");
        assert_eq!(err.to_string(), "rpmdb.sqlite: row 3: header truncated: 8 bytes needed, 2 present");
    }

    #[test]
    fn read_names_the_path() {
        let err = read(RpmDbKind::Ndb, "usr/lib/sysimage/rpm/Packages.db", b"", None).expect_err("empty");
        assert_eq!(err.to_string(), "usr/lib/sysimage/rpm/Packages.db: not an ndb package database");
    }

    #[test]
    fn kind_file_names() {
        for kind in [RpmDbKind::Sqlite, RpmDbKind::Bdb, RpmDbKind::Ndb] {
            assert_eq!(RpmDbKind::from_file_name(kind.file_name()), Some(kind));
        }
        assert_eq!(RpmDbKind::from_file_name("Packages.sqlite"), None);
    }
}
