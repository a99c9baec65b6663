//! dpkg databases: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*` control
//! paragraphs into [`Package`]s. Pure over bytes: no IO, no size caps (the layer reader caps),
//! and no panics on any input.
//!
//! Policy, decided on the Status *state* word (the third word), not on want or error flag:
//! `installed`, `half-configured`, `unpacked`, `triggers-awaited`, `triggers-pending` and
//! `half-installed` are kept, because their files are (at least partly) on disk;
//! `not-installed` and `config-files` are dropped. So `deinstall ok installed` is kept and
//! `install ok config-files` is dropped; a kept `half-installed` package is logged. A Status
//! that is not three words or has an unknown state is dropped with a warning. A paragraph
//! without Status is dropped from `status` but kept from `status.d`, where distroless writes
//! no Status field at all. The shared oracle lists keep only `installed`; the conformance test
//! accounts for the difference.

use std::borrow::Cow;

use super::{DbError, Ecosystem, Package};

/// States whose packages have files in the image.
const KEPT_STATES: &[&str] =
    &["installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending", "half-installed"];

/// States whose packages have no files left but configuration (or nothing at all).
const DROPPED_STATES: &[&str] = &["not-installed", "config-files"];

/// Parse `var/lib/dpkg/status`. `path` only names the database in logs.
///
/// Never returns `Err` today: bad paragraphs are skipped with a warning and a file that is
/// not text yields an empty list. The `Result` keeps the signature of every database parser.
pub fn parse_status(path: &str, bytes: &[u8]) -> Result<Vec<Package>, DbError> {
    let mut packages = Vec::new();
    push_packages(path, bytes, MissingStatus::Drop, &mut packages);
    Ok(packages)
}

/// Parse a distroless `var/lib/dpkg/status.d/` directory given as (file name, contents) pairs.
/// Files whose name ends in `.md5sums` are file lists, not control files, and are skipped.
/// Packages come out in the order of `files`. Never returns `Err` today (see [`parse_status`]).
pub fn parse_status_d(files: &[(String, &[u8])]) -> Result<Vec<Package>, DbError> {
    let mut packages = Vec::new();
    for (name, bytes) in files {
        if name.ends_with(".md5sums") {
            continue;
        }
        push_packages(name, bytes, MissingStatus::Installed, &mut packages);
    }
    Ok(packages)
}

/// What a paragraph without a `Status:` field means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MissingStatus {
    /// `status`: dpkg always writes Status, so a paragraph without one is not installed.
    Drop,
    /// `status.d`: distroless writes no Status; every paragraph is an installed package.
    Installed,
}

fn push_packages(path: &str, bytes: &[u8], missing: MissingStatus, out: &mut Vec<Package>) {
    if bytes.contains(&0) {
        tracing::warn!(db.path = path, "dpkg database is not a text file; no packages read");
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    let mut n_paragraphs = 0usize;
    for paragraph in paragraphs(&text) {
        n_paragraphs += 1;
        if let Some(package) = package_from(path, &paragraph, missing) {
            out.push(package);
        }
    }
    if n_paragraphs == 0 {
        tracing::debug!(db.path = path, "dpkg database has no paragraphs");
    }
}

fn package_from(path: &str, p: &Paragraph<'_>, missing: MissingStatus) -> Option<Package> {
    let label = p.get("Package").unwrap_or("<no Package>");
    match p.get("Status") {
        None if missing == MissingStatus::Drop => {
            tracing::warn!(db.path = path, line = p.line, package = label, "dpkg paragraph has no Status; skipped");
            return None;
        }
        None => {}
        Some(status) => match state_word(status) {
            Some(state) if KEPT_STATES.contains(&state) => {
                if state == "half-installed" {
                    tracing::warn!(db.path = path, package = label, status, "dpkg package is half-installed; kept");
                }
            }
            Some(state) if DROPPED_STATES.contains(&state) => return None,
            _ => {
                tracing::warn!(
                    db.path = path,
                    line = p.line,
                    package = label,
                    status,
                    "dpkg Status has no known state word; skipped"
                );
                return None;
            }
        },
    }

    let Some(name) = p.get("Package") else {
        tracing::warn!(db.path = path, line = p.line, "dpkg paragraph has no Package; skipped");
        return None;
    };
    let Some(version) = p.get("Version") else {
        tracing::warn!(db.path = path, line = p.line, package = name, "dpkg paragraph has no Version; skipped");
        return None;
    };
    let arch = p.get("Architecture").unwrap_or("");

    let (source_name, source_version) = match p.get("Source").map(parse_source) {
        Some(Ok((source, Some(source_version)))) => (source, source_version),
        Some(Ok((source, None))) => (source, version),
        Some(Err(())) => {
            tracing::warn!(
                db.path = path,
                package = name,
                source = p.get("Source").unwrap_or(""),
                "dpkg Source is not `name` or `name (version)`; using Package and Version"
            );
            (name, version)
        }
        None => (name, version),
    };

    Some(Package {
        name: name.to_owned(),
        version: version.to_owned(),
        arch: arch.to_owned(),
        source_name: source_name.to_owned(),
        source_version: source_version.to_owned(),
        ecosystem: Ecosystem::Dpkg,
        module: None,
    })
}

/// The third word of `Status: want flag state`; None unless there are exactly three words.
fn state_word(status: &str) -> Option<&str> {
    let mut words = status.split_ascii_whitespace();
    let (_want, _flag, state) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    Some(state)
}

/// `name` or `name (version)`, as dpkg writes the binary's Source field.
fn parse_source(field: &str) -> Result<(&str, Option<&str>), ()> {
    let field = field.trim();
    let (name, rest) = match field.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((name, rest)) => (name, rest.trim()),
        None => (field, ""),
    };
    if name.is_empty() || name.contains('(') {
        return Err(());
    }
    if rest.is_empty() {
        return Ok((name, None));
    }
    let inner = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or(())?.trim();
    if inner.is_empty() || inner.contains(char::is_whitespace) {
        return Err(());
    }
    Ok((name, Some(inner)))
}

/// One deb822 paragraph: fields in file order with continuation lines joined by `\n`.
#[derive(Debug)]
struct Paragraph<'a> {
    fields: Vec<(&'a str, Cow<'a, str>)>,
    /// 1-based line of the paragraph's first line, for logs.
    line: usize,
}

impl Paragraph<'_> {
    /// The first field called `name` (field names are case-insensitive), when not empty.
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }
}

/// Split deb822 text into paragraphs. Paragraphs are separated by one or more blank (or
/// whitespace-only) lines; CRLF line ends and a missing final newline are fine. A line that
/// starts with a space or tab continues the previous field. Lines that are neither a field
/// nor a continuation are ignored, as is a continuation with no field before it.
fn paragraphs(text: &str) -> Vec<Paragraph<'_>> {
    let mut out = Vec::new();
    let mut current: Option<Paragraph<'_>> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if let Some(p) = current.take() {
                if !p.fields.is_empty() {
                    out.push(p);
                }
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.as_mut().and_then(|p| p.fields.last_mut()) {
                let value = value.to_mut();
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        let p = current.get_or_insert_with(|| Paragraph { fields: Vec::new(), line: index + 1 });
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() {
                p.fields.push((name, Cow::Borrowed(value.trim())));
            }
        }
    }
    if let Some(p) = current {
        if !p.fields.is_empty() {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per package: `name version arch source source_version`, in output order.
    fn render(packages: &[Package]) -> String {
        packages
            .iter()
            .map(|p| {
                assert_eq!(p.ecosystem, Ecosystem::Dpkg);
                assert_eq!(p.module, None);
                format!("{} {} {} {} {}", p.name, p.version, p.arch, p.source_name, p.source_version)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn expected(rows: &str) -> String {
        rows.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
    }

    /// `status` text in, expected rows out.
    fn check(status: &str, rows: &str) {
        let packages = parse_status("var/lib/dpkg/status", status.as_bytes()).expect("parse");
        assert_eq!(render(&packages), expected(rows), "status input:\n{status}");
    }

    /// `status.d` files in, expected rows out.
    fn check_d(files: &[(&str, &str)], rows: &str) {
        let files: Vec<(String, &[u8])> = files.iter().map(|(n, c)| (n.to_string(), c.as_bytes())).collect();
        let packages = parse_status_d(&files).expect("parse");
        assert_eq!(render(&packages), expected(rows));
    }

    fn para(name: &str, status: &str, extra: &str) -> String {
        format!("Package: {name}\nStatus: {status}\nArchitecture: amd64\nVersion: 1.0-1\n{extra}\n")
    }

    #[test]
    fn status_state_word_decides() {
        let cases: &[(&str, bool)] = &[
            ("install ok installed", true),
            ("deinstall ok installed", true),
            ("purge ok installed", true),
            ("hold ok installed", true),
            ("install reinstreq half-installed", true),
            ("install ok half-installed", true),
            ("install ok half-configured", true),
            ("install ok unpacked", true),
            ("install ok triggers-awaited", true),
            ("install ok triggers-pending", true),
            ("install ok config-files", false),
            ("deinstall ok config-files", false),
            ("purge ok not-installed", false),
            ("install ok not-installed", false),
            ("install ok", false),
            ("install ok installed extra", false),
            ("install ok exploded", false),
        ];
        for (status, kept) in cases {
            let rows = if *kept { "p 1.0-1 amd64 p 1.0-1" } else { "" };
            check(&para("p", status, ""), rows);
        }
    }

    #[test]
    fn missing_status_dropped_from_status_kept_in_status_d() {
        let text = "Package: p\nVersion: 1.0-1\nArchitecture: amd64\n";
        check(text, "");
        check_d(&[("p", text)], "p 1.0-1 amd64 p 1.0-1");
    }

    #[test]
    fn status_d_skips_md5sums_and_applies_a_present_status() {
        check_d(
            &[
                ("base", "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"),
                ("base.md5sums", "d41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n"),
                ("libc6:amd64.md5sums", "d41d8cd98f00b204e9800998ecf8427e  lib/x.so\n"),
                ("gone", "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n"),
                ("empty", ""),
                ("libssl3", "Package: libssl3\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: arm64\n"),
            ],
            "base-files 12.4+deb12u5 amd64 base-files 12.4+deb12u5
             libssl3 3.0.11-1~deb12u2 arm64 openssl 3.0.11-1~deb12u2",
        );
    }

    #[test]
    fn source_field_forms() {
        let cases: &[(&str, &str, &str)] = &[
            // (Version, Source, expected source name and version)
            ("1:2.31.1-0.4ubuntu3.1", "util-linux (2.31.1-0.4ubuntu3.1)", "util-linux 2.31.1-0.4ubuntu3.1"),
            ("1:8-20180414-1ubuntu2", "gcc-8 (8-20180414-1ubuntu2)", "gcc-8 8-20180414-1ubuntu2"),
            ("5.1.1alpha+20120614-2+b3", "xz-utils (5.1.1alpha+20120614-2)", "xz-utils 5.1.1alpha+20120614-2"),
            ("4:12.2.0-3", "gcc-defaults (1.203)", "gcc-defaults 1.203"),
            ("3.34.1-3", "sqlite3", "sqlite3 3.34.1-3"),
            ("1:2.38.1-5", "util-linux", "util-linux 1:2.38.1-5"),
            ("1.0-1", "name  (  2.0-1 )", "name 2.0-1"),
            ("1.0-1", "name ()", "p 1.0-1"),
            ("1.0-1", "name (2.0-1", "p 1.0-1"),
            ("1.0-1", "name junk", "p 1.0-1"),
        ];
        for (version, source, src) in cases {
            let text = format!(
                "Package: p\nStatus: install ok installed\nSource: {source}\nVersion: {version}\nArchitecture: amd64\n"
            );
            check(&text, &format!("p {version} amd64 {src}"));
        }
        check(
            "Package: p\nStatus: install ok installed\nVersion: 1:1.0-1\nArchitecture: all\n",
            "p 1:1.0-1 all p 1:1.0-1",
        );
    }

    #[test]
    fn multi_arch_duplicates_are_both_kept() {
        let text = "\
Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4

Package: libc6
Status: install ok installed
Architecture: i386
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
";
        check(
            text,
            "libc6 2.36-9+deb12u4 amd64 glibc 2.36-9+deb12u4
             libc6 2.36-9+deb12u4 i386 glibc 2.36-9+deb12u4",
        );
    }

    #[test]
    fn paragraph_layout() {
        // Continuation lines (space and tab), a field that looks like a field inside a
        // continuation, CRLF, several blank lines, whitespace-only separators, no final newline.
        let text = "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\nDescription: first\r\n second\r\n\tVersion: 9\r\n .\r\n\r\n\r\n  \r\n\
Package: b\nStatus: install ok installed\nConffiles:\n /etc/b 0123\nVersion: 2\nArchitecture: all";
        check(text, "a 1  a 1\nb 2 all b 2");
        let p = paragraphs("Description: x\n y\n\tz\n");
        assert_eq!(p[0].get("description"), Some("x\ny\nz"));
    }

    #[test]
    fn missing_package_or_version_is_skipped() {
        check(
            "Status: install ok installed\nVersion: 1\n\n\
Package: nover\nStatus: install ok installed\n\n\
Package: emptyver\nStatus: install ok installed\nVersion:\n\n\
Package: ok\nStatus: install ok installed\nVersion: 1\n",
            "ok 1  ok 1",
        );
    }

    #[test]
    fn junk_yields_nothing() {
        check("", "");
        check("\n\n\r\n", "");
        check(" stray continuation\nno colon here\n", "");
        let binary = [0x7f, b'E', b'L', b'F', 0, 1, 2, b'\n', b'P', b':'];
        assert_eq!(parse_status("s", &binary).expect("parse"), vec![]);
        let lossy = b"Package: caf\xe9\nStatus: install ok installed\nVersion: 1\n";
        let packages = parse_status("s", lossy).expect("parse");
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].name, "caf\u{fffd}");
    }
}
