//! Debian Security Advisories (debian-security-announce, DSA) and Debian LTS Advisories
//! (debian-lts-announce, DLA) read from mail text: the id, the `Package` / `CVE ID` / `Version`
//! fields, and the "For the stable distribution (bookworm), this problem has been fixed in
//! version …" sentences. Pure over text; knows nothing about MIME, PGP or mailboxes.

use crate::advisories::{Advisory, Affected, PackageKind, Status};
use crate::inventory::os::debian_release_for_codename;
use crate::inventory::Ecosystem;

use super::text::{
    cve_ids, date_after_line, digits_at, field, inner_subjects, is_deb_package_name, paragraphs, title_after,
    version_token, year_of,
};
use super::SentAt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dsa,
    Dla,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Dsa => "DSA",
            Kind::Dla => "DLA",
        }
    }
}

/// The DSA or DLA in a message, if it carries one.
///
/// The advisory is recognised by its header line (`Debian Security Advisory DSA-5678-1`,
/// `Debian LTS Advisory DLA-3850-1`), a forwarded `Subject:` line or the message subject
/// (`[DSA 5678-1]`). Returns `Ok(None)` when none is present, and `Err(reason)` when the message
/// names an advisory but the body lacks the `Package` field it needs.
///
/// Every affected entry is a *source* package with status fixed and the dpkg scheme; the release
/// comes from the codename in parentheses (`(bookworm)` → `12`, `(sid)` → `sid`) or from a DLA's
/// `For Debian 11 bullseye,`. When a DLA has no such sentence, a `Version` field carrying a
/// `+debNNu…` suffix gives the release. A sentence may name the package itself ("… in version X
/// of the source package foo"); otherwise the `Package` field does, and when that field lists
/// several packages a sentence that does not say which one is skipped rather than guessed.
pub fn parse(subject: &str, body: &str, sent: Option<&SentAt>) -> Result<Option<Advisory>, String> {
    let Some((kind, number, header_line)) = find_id(subject, body) else { return Ok(None) };
    let id = format!("{}-{number}", kind.prefix());

    let packages: Vec<String> = match field(body, "Package") {
        Some(value) => value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| is_deb_package_name(p))
            .map(str::to_owned)
            .collect(),
        None => return Err(format!("{id}: no Package field in the body")),
    };
    if packages.is_empty() {
        return Err(format!("{id}: the Package field names no package"));
    }

    let mut advisory = Advisory::new(&id);
    advisory.aliases = match field(body, "CVE ID") {
        Some(value) => cve_ids(&value),
        None => cve_ids(body),
    };
    advisory.title = title(kind, &number, subject, body);
    let published = header_line.and_then(|line| date_after_line(body, line, 4));
    let year = published.as_deref().and_then(year_of).or(sent.map(|s| s.year));
    advisory.url = Some(url(kind, &number, year));
    advisory.published = published.or(sent.map(|s| s.rfc3339.clone()));

    let mut fixes = fixed_sentences(body);
    if fixes.is_empty() {
        fixes = version_field_fix(body);
    }
    for fix in fixes {
        let package = match fix.package {
            Some(package) => package,
            None if packages.len() == 1 => packages[0].clone(),
            None => continue,
        };
        let entry = Affected {
            distro: "debian".to_owned(),
            release: fix.release,
            package,
            kind: PackageKind::Source,
            status: Status::Fixed,
            fixed_version: Some(fix.version),
            scheme: Ecosystem::Dpkg,
            module: None,
        };
        if !advisory.affected.contains(&entry) {
            advisory.affected.push(entry);
        }
    }
    Ok(Some(advisory))
}

/// `(kind, "5678-1", header line index)`: from the advisory header in the body when present,
/// else from a `[DSA 5678-1]` tag in a forwarded `Subject:` line or in the subject.
fn find_id(subject: &str, body: &str) -> Option<(Kind, String, Option<usize>)> {
    for (i, line) in body.lines().enumerate() {
        let line = line.trim();
        for (lead, kind) in [("Debian Security Advisory ", Kind::Dsa), ("Debian LTS Advisory ", Kind::Dla)] {
            let Some(rest) = line.strip_prefix(lead) else { continue };
            let Some(rest) = rest.strip_prefix(kind.prefix()) else { continue };
            if let Some((number, _)) = number_after_separator(rest) {
                return Some((kind, number, Some(i)));
            }
        }
    }
    inner_subjects(body)
        .chain(std::iter::once(subject))
        .find_map(|s| find_tag(s).map(|(kind, number, _)| (kind, number, None)))
}

/// `[DSA 5678-1]` / `[DLA-3850-1]` in a subject: `(kind, "5678-1", offset past the "]")`.
fn find_tag(subject: &str) -> Option<(Kind, String, usize)> {
    for kind in [Kind::Dsa, Kind::Dla] {
        let open = format!("[{}", kind.prefix());
        let mut from = 0;
        while let Some(pos) = subject[from..].find(&open).map(|p| p + from) {
            from = pos + open.len();
            let Some((number, used)) = number_after_separator(&subject[from..]) else { continue };
            let close = from + used;
            if subject[close..].starts_with(']') {
                return Some((kind, number, close + 1));
            }
        }
    }
    None
}

/// `" 5678-1…"` or `"-5678-1…"` → `("5678-1", bytes used)`.
fn number_after_separator(s: &str) -> Option<(String, usize)> {
    let rest = s.strip_prefix(' ').or_else(|| s.strip_prefix('-'))?;
    let bytes = rest.as_bytes();
    let n = digits_at(bytes, 0);
    if n == 0 || bytes.get(n) != Some(&b'-') {
        return None;
    }
    let r = digits_at(bytes, n + 1);
    if r == 0 || bytes.get(n + 1 + r).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some((rest[..n + 1 + r].to_owned(), 1 + n + 1 + r))
}

/// The subject text after the tag, preferring a forwarded `Subject:` line that carries the same
/// advisory over the (possibly mangled) outer subject.
fn title(kind: Kind, number: &str, subject: &str, body: &str) -> Option<String> {
    inner_subjects(body).chain(std::iter::once(subject)).find_map(|s| {
        let (k, n, end) = find_tag(s)?;
        (k == kind && n == number).then(|| title_after(s, end)).flatten()
    })
}

/// The advisory page: `https://www.debian.org/security/<year>/dsa-<n>` for a first-revision DSA
/// whose year is known; the security tracker page otherwise (DLAs, later revisions, no year).
fn url(kind: Kind, number: &str, year: Option<u16>) -> String {
    if let (Kind::Dsa, Some(year), Some(n)) = (kind, year, number.strip_suffix("-1")) {
        return format!("https://www.debian.org/security/{year}/dsa-{n}");
    }
    format!("https://security-tracker.debian.org/tracker/{}-{number}", kind.prefix())
}

struct Fix {
    release: String,
    version: String,
    package: Option<String>,
}

const FIXED_IN: &str = "fixed in version ";

/// The "… has been fixed in version X." statements, each paired with the releases named between
/// it and the previous statement of the same paragraph. Paragraphs are whitespace-normalised, so
/// sentences wrapped across lines read the same as unwrapped ones.
fn fixed_sentences(body: &str) -> Vec<Fix> {
    let mut out = Vec::new();
    for para in paragraphs(body) {
        let mut rest = para.as_str();
        while let Some(pos) = rest.find(FIXED_IN) {
            let releases = releases_in(&rest[..pos]);
            let after = &rest[pos + FIXED_IN.len()..];
            let mut words = after.split_whitespace();
            let Some(version) = words.next().and_then(version_token) else {
                rest = after;
                continue;
            };
            let package = package_named(words.take(6).collect());
            for release in releases {
                out.push(Fix { release, version: version.to_owned(), package: package.clone() });
            }
            rest = after;
        }
    }
    out
}

/// Releases named in a clause: `distribution (bookworm)` → `12`, `(sid)` → `sid`; or a DLA's
/// `Debian 11 bullseye` / `Debian 8 'Jessie'` / `Debian 6.0 "Squeeze"` → the number.
fn releases_in(clause: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = clause[from..].find("distribution (").map(|p| p + from) {
        let start = pos + "distribution (".len();
        let Some(len) = clause[start..].find(')') else { break };
        from = start + len;
        let codename = clause[start..start + len].trim().to_ascii_lowercase();
        if let Some(release) = release_for_codename(&codename) {
            if !out.contains(&release) {
                out.push(release);
            }
        }
    }
    if !out.is_empty() {
        return out;
    }
    let mut from = 0;
    while let Some(pos) = clause[from..].find("Debian ").map(|p| p + from) {
        let start = pos + "Debian ".len();
        from = start;
        let bytes = clause.as_bytes();
        let major = digits_at(bytes, start);
        if major == 0 || bytes.get(start + major).is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let number = &clause[start..start + major];
        let release = match number.parse::<u32>() {
            Ok(n) if n >= 4 => number.to_owned(),
            // Releases before 4.0 were numbered major.minor (3.1 sarge).
            _ => {
                let minor =
                    if bytes.get(start + major) == Some(&b'.') { digits_at(bytes, start + major + 1) } else { 0 };
                if minor == 0 {
                    continue;
                }
                clause[start..start + major + 1 + minor].to_owned()
            }
        };
        if !out.contains(&release) {
            out.push(release);
        }
    }
    out
}

fn release_for_codename(codename: &str) -> Option<String> {
    match codename {
        "sid" | "unstable" => Some("sid".to_owned()),
        _ => debian_release_for_codename(codename).map(str::to_owned),
    }
}

/// The package a fix statement names after its version: `of the source package foo`,
/// `of the foo source package`, `of foo`.
fn package_named(words: Vec<&str>) -> Option<String> {
    let mut words = words.into_iter().map(|w| w.trim_end_matches(['.', ',', ';', ':']).trim_matches(['"', '\'']));
    if words.next()? != "of" {
        return None;
    }
    let mut candidate = words.next()?;
    if candidate == "the" {
        candidate = words.next()?;
    }
    if candidate == "source" {
        if !words.next()?.starts_with("package") {
            return None;
        }
        candidate = words.next()?;
    }
    let noise = ["package", "packages", "source", "the", "version"];
    (is_deb_package_name(candidate) && !noise.contains(&candidate)).then(|| candidate.to_owned())
}

/// A DLA's `Version : 2.31-13+deb11u11` field when no sentence names the release: the
/// `debNNu` marker in the version says which release it was built for.
fn version_field_fix(body: &str) -> Vec<Fix> {
    let Some(value) = field(body, "Version") else { return Vec::new() };
    value
        .split_whitespace()
        .filter_map(version_token)
        .filter_map(|version| {
            let at = version.find("deb")? + 3;
            let bytes = version.as_bytes();
            let n = digits_at(bytes, at);
            (n > 0 && bytes.get(at + n) == Some(&b'u')).then(|| Fix {
                release: version[at..at + n].to_owned(),
                version: version.to_owned(),
                package: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders an advisory as one line of metadata and one line per affected entry.
    fn render(advisory: &Advisory) -> String {
        let mut out = format!(
            "{} title={} url={} published={} aliases={}\n",
            advisory.id,
            advisory.title.as_deref().unwrap_or("-"),
            advisory.url.as_deref().unwrap_or("-"),
            advisory.published.as_deref().unwrap_or("-"),
            advisory.aliases.join(","),
        );
        for a in &advisory.affected {
            out.push_str(&format!(
                "{} {} {} {} {} {} {}\n",
                a.distro,
                a.release,
                a.package,
                a.kind.as_str(),
                a.status.as_str(),
                a.fixed_version.as_deref().unwrap_or("-"),
                a.scheme.as_str()
            ));
        }
        out
    }

    fn check(subject: &str, body: &str, expected: &str) {
        let got = parse(subject, body, None).expect("advisory").expect("recognised");
        assert_eq!(render(&got), expected.trim_start(), "body:\n{body}");
    }

    const DSA: &str = "\
-------------------------------------------------------------------------
Debian Security Advisory DSA-5678-1                   security@debian.org
https://www.debian.org/security/                       Salvatore Bonaccorso
May 06, 2024                          https://www.debian.org/security/faq
-------------------------------------------------------------------------

Package        : glibc
CVE ID         : CVE-2024-2961 CVE-2024-33599 CVE-2024-33600 CVE-2024-33601
                 CVE-2024-33602
Debian Bug     : 1069191

Several vulnerabilities were discovered in the GNU C library.

For the oldstable distribution (bullseye), these problems have been fixed
in version 2.31-13+deb11u10.

For the stable distribution (bookworm), these problems have been fixed in
version 2.36-9+deb12u7.

We recommend that you upgrade your glibc packages.
";

    #[test]
    fn dsa_with_wrapped_cves_and_two_releases() {
        check(
            "[SECURITY] [DSA 5678-1] glibc security update",
            DSA,
            "
DSA-5678-1 title=glibc security update url=https://www.debian.org/security/2024/dsa-5678 published=2024-05-06 \
aliases=CVE-2024-2961,CVE-2024-33599,CVE-2024-33600,CVE-2024-33601,CVE-2024-33602
debian 11 glibc source fixed 2.31-13+deb11u10 dpkg
debian 12 glibc source fixed 2.36-9+deb12u7 dpkg
",
        );
    }

    #[test]
    fn dla_with_debian_number_sentence() {
        check(
            "[SECURITY] [DLA 3850-1] glibc security update",
            "\
-------------------------------------------------------------------------
Debian LTS Advisory DLA-3850-1                debian-lts@lists.debian.org
https://www.debian.org/lts/security/                      Aurelien Jarno
July 25, 2024                                 https://wiki.debian.org/LTS
-------------------------------------------------------------------------

Package        : glibc
Version        : 2.31-13+deb11u11
CVE ID         : CVE-2024-33599 CVE-2024-33600

For Debian 11 bullseye, these problems have been fixed in version
2.31-13+deb11u11.
",
            "
DLA-3850-1 title=glibc security update url=https://security-tracker.debian.org/tracker/DLA-3850-1 \
published=2024-07-25 aliases=CVE-2024-33599,CVE-2024-33600
debian 11 glibc source fixed 2.31-13+deb11u11 dpkg
",
        );
    }

    #[test]
    fn sentence_variants() {
        let cases: &[(&str, &str)] = &[
            (
                "For Debian 8 'Jessie', this problem has been fixed in version\n1.0.8.2-5+deb8u2.",
                "debian 8 foo source fixed 1.0.8.2-5+deb8u2 dpkg\n",
            ),
            (
                "For Debian 6.0 \"Squeeze\", these problems have been fixed in version 1:2.0-1.",
                "debian 6 foo source fixed 1:2.0-1 dpkg\n",
            ),
            (
                "For the stable distribution (bookworm), this problem has been fixed in version 1.2-3+deb12u1 of \
                 the source package foo-bar.",
                "debian 12 foo-bar source fixed 1.2-3+deb12u1 dpkg\n",
            ),
            (
                "For the testing distribution (squeeze) and the unstable distribution (sid), this problem has been \
                 fixed in version 2.0-1.",
                "debian 6 foo source fixed 2.0-1 dpkg\ndebian sid foo source fixed 2.0-1 dpkg\n",
            ),
            ("For the unstable distribution (sid), this problem will be fixed soon.", ""),
            ("This issue has been fixed in version 2.0 upstream.", ""),
        ];
        for (sentence, entries) in cases {
            let body = format!("Package        : foo\n\n{sentence}\n");
            let got = parse("[DSA 1-1] foo", &body, None).expect("ok").expect("some");
            let rendered = render(&got);
            let entries_only = rendered.split_once('\n').map_or("", |(_, rest)| rest);
            assert_eq!(entries_only, *entries, "{sentence}");
        }
    }

    #[test]
    fn dla_version_field_gives_the_release_when_no_sentence_does() {
        let body = "Debian LTS Advisory DLA-1-1\n\nPackage : foo\nVersion : 1.0-1+deb10u3\n\nUpdate now.\n";
        let got = parse("", body, None).expect("ok").expect("some");
        assert_eq!(render(&got).lines().nth(1), Some("debian 10 foo source fixed 1.0-1+deb10u3 dpkg"));
    }

    #[test]
    fn year_falls_back_to_the_message_date_and_later_revisions_use_the_tracker() {
        let sent = SentAt { year: 2023, rfc3339: "2023-02-01T10:00:00Z".to_owned() };
        let got = parse("[DSA 5300-1] xz security update", "Package : xz\n", Some(&sent)).expect("ok").expect("some");
        assert_eq!(got.url.as_deref(), Some("https://www.debian.org/security/2023/dsa-5300"));
        assert_eq!(got.published.as_deref(), Some("2023-02-01T10:00:00Z"));
        let got = parse("[DSA 5300-2] xz regression update", "Package : xz\n", None).expect("ok").expect("some");
        assert_eq!(got.url.as_deref(), Some("https://security-tracker.debian.org/tracker/DSA-5300-2"));
        assert_eq!(got.title.as_deref(), Some("xz regression update"));
    }

    #[test]
    fn not_debian_or_incomplete() {
        assert_eq!(parse("Hello", "Package : x\n", None), Ok(None));
        assert_eq!(parse("[DSAx 1-1]", "", None), Ok(None));
        assert_eq!(
            parse("Re: [DSA 5678-1] glibc", "I disagree.\n", None),
            Err("DSA-5678-1: no Package field in the body".to_owned())
        );
    }
}
