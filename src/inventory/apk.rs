//! The Alpine package database (`lib/apk/db/installed`, also `usr/lib/apk/db/installed`)
//! into [`Package`]s. Pure over bytes: no IO, no size caps (the layer reader caps), and no
//! panics on any input.
//!
//! The database is `X:value` lines in paragraphs separated by blank lines (apk-tools
//! `src/database.c`). Only `P` (name), `V` (version), `A` (arch) and `o` (origin, the source
//! package that Alpine's secdb is keyed by) are read; every other field is ignored.

use std::collections::HashSet;

use super::{DbError, Ecosystem, Package};

/// Parse an apk `installed` database. `path` only names the database in logs.
///
/// The source name is the origin `o:`, or `P:` when there is none; the source version is `V:`
/// (subpackages share their origin's version). A paragraph without `P:` or `V:` is skipped with
/// a warning; a repeated `P:` keeps the first paragraph. Never returns `Err` today: a file that
/// is not text yields an empty list. The `Result` keeps the signature of every database parser.
pub fn parse_installed(path: &str, bytes: &[u8]) -> Result<Vec<Package>, DbError> {
    if bytes.contains(&0) {
        tracing::warn!(db.path = path, "apk database is not a text file; no packages read");
        return Ok(Vec::new());
    }
    let text = String::from_utf8_lossy(bytes);
    let mut packages: Vec<Package> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut current = Fields::default();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            finish(path, std::mem::take(&mut current), &mut seen, &mut packages);
            continue;
        }
        if current.line == 0 {
            current.line = index + 1;
        }
        let mut chars = line.chars();
        let (Some(key), Some(':')) = (chars.next(), chars.next()) else {
            continue;
        };
        let value = chars.as_str().trim();
        let slot = match key {
            'P' => &mut current.name,
            'V' => &mut current.version,
            'A' => &mut current.arch,
            'o' => &mut current.origin,
            _ => continue,
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.to_owned());
        }
    }
    finish(path, current, &mut seen, &mut packages);
    Ok(packages)
}

/// The fields read from one paragraph; `line` is its 1-based first line (0: nothing yet).
#[derive(Debug, Default)]
struct Fields {
    line: usize,
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    origin: Option<String>,
}

fn finish(path: &str, fields: Fields, seen: &mut HashSet<String>, out: &mut Vec<Package>) {
    if fields.line == 0 {
        return;
    }
    let Some(name) = fields.name else {
        tracing::warn!(db.path = path, line = fields.line, "apk paragraph has no P:; skipped");
        return;
    };
    let Some(version) = fields.version else {
        tracing::warn!(db.path = path, line = fields.line, package = name, "apk paragraph has no V:; skipped");
        return;
    };
    if !seen.insert(name.clone()) {
        tracing::warn!(
            db.path = path,
            line = fields.line,
            package = name,
            version,
            "apk package listed twice; kept the first"
        );
        return;
    }
    out.push(Package {
        source_name: fields.origin.unwrap_or_else(|| name.clone()),
        source_version: version.clone(),
        name,
        version,
        arch: fields.arch.unwrap_or_default(),
        ecosystem: Ecosystem::Apk,
        module: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `installed` text in, expected rows `name version arch source source_version` out.
    fn check(installed: &str, rows: &str) {
        let packages = parse_installed("lib/apk/db/installed", installed.as_bytes()).expect("parse");
        let actual = packages
            .iter()
            .map(|p| {
                assert_eq!(p.ecosystem, Ecosystem::Apk);
                assert_eq!(p.module, None);
                format!("{} {} {} {} {}", p.name, p.version, p.arch, p.source_name, p.source_version)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let expected = rows.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
        assert_eq!(actual, expected, "installed input:\n{installed}");
    }

    #[test]
    fn origin_differs_from_name() {
        check(
            "C:Q1abc=\nP:libssl3\nV:3.1.4-r0\nA:x86_64\nS:1\nI:2\nT:SSL shared libraries\n\
o:openssl\nm:Someone <x@example.org>\nt:1700000000\nc:abcdef\nD:so:libc.musl-x86_64.so.1\n\
F:usr/lib\nR:libssl.so.3\na:0:0:755\nZ:Q1zzz=\n\n\
P:sqlite-libs\nV:3.41.2-r2\nA:aarch64\no:sqlite\n",
            "libssl3 3.1.4-r0 x86_64 openssl 3.1.4-r0
             sqlite-libs 3.41.2-r2 aarch64 sqlite 3.41.2-r2",
        );
    }

    #[test]
    fn missing_origin_falls_back_to_name() {
        check("P:musl\nV:1.2.4-r2\nA:x86_64\n", "musl 1.2.4-r2 x86_64 musl 1.2.4-r2");
        check("P:musl\nV:1.2.4-r2\nA:x86_64\no:\n", "musl 1.2.4-r2 x86_64 musl 1.2.4-r2");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        // `k` and `g` are real but unread; `y`, `*` and a long key are unknown.
        check(
            "P:busybox\ny:future field\nk:100\ng:tag\n*:star\nlongkey:x\nV:1.36.1-r15\nA:x86_64\no:busybox\n",
            "busybox 1.36.1-r15 x86_64 busybox 1.36.1-r15",
        );
    }

    #[test]
    fn duplicate_name_keeps_first() {
        check(
            "P:zlib\nV:1.3-r1\nA:x86_64\no:zlib\n\nP:zlib\nV:1.3-r2\nA:x86_64\no:zlib\n",
            "zlib 1.3-r1 x86_64 zlib 1.3-r1",
        );
    }

    #[test]
    fn paragraphs_without_p_or_v_are_skipped() {
        check("V:1\nA:x86_64\n\nP:nover\nA:x86_64\n\nP:ok\nV:1-r0\n", "ok 1-r0  ok 1-r0");
    }

    #[test]
    fn layout_crlf_blank_runs_and_no_final_newline() {
        check(
            "\r\n\r\nP:a\r\nV:1-r0\r\nA:x86_64\r\no:a-src\r\n\r\n\r\n \r\nP:b\nV:2-r0\nA:noarch",
            "a 1-r0 x86_64 a-src 1-r0
             b 2-r0 noarch b 2-r0",
        );
    }

    #[test]
    fn junk_yields_nothing() {
        check("", "");
        check("not an apk db\nat all\n", "");
        check("é:x\n:\nP\n", "");
        let binary = [0x1f, 0x8b, 0, 0, b'P', b':', b'x', b'\n'];
        assert_eq!(parse_installed("x", &binary).expect("parse"), vec![]);
    }
}
