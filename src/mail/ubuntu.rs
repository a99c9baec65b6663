//! Ubuntu Security Notices (ubuntu-security-announce, USN) read from mail text: the id, the
//! per-release package versions of "Update instructions", the CVEs of "References" and the
//! source packages of "Package Information". Pure over text; knows nothing about MIME or PGP.

use crate::advisories::{Advisory, Affected, PackageKind, Status};
use crate::inventory::Ecosystem;

use super::text::{
    cve_ids, date_after_line, digits_at, inner_subjects, is_deb_package_name, title_after, version_token,
};
use super::SentAt;

const LAUNCHPAD_SOURCE: &str = "https://launchpad.net/ubuntu/+source/";

/// The USN in a message, if it carries one.
///
/// Recognised by the header line `Ubuntu Security Notice USN-6409-1`, a forwarded `Subject:`
/// line or the subject (`[USN-6409-1] GNU C Library vulnerabilities`). Affected entries are
/// fixed, dpkg scheme, release `22.04` from `Ubuntu 22.04 LTS:`. "Package Information" names
/// source packages and versions but not their release; a source version is given the releases
/// whose update list carries a binary of exactly that version, else the release whose number is
/// in the version (`…ubuntu0.22.04.1`), else the only release of the notice. Releases that got a
/// source package this way are reported by source (kind source); the others by the binary
/// packages of their update list (kind binary).
pub fn parse(subject: &str, body: &str, sent: Option<&SentAt>) -> Result<Option<Advisory>, String> {
    let Some((number, header_line)) = find_id(subject, body) else { return Ok(None) };
    let id = format!("USN-{number}");

    let mut advisory = Advisory::new(&id);
    advisory.title = inner_subjects(body).chain(std::iter::once(subject)).find_map(|s| {
        let (n, end) = find_tag(s)?;
        (n == number).then(|| title_after(s, end)).flatten()
    });
    advisory.url = Some(format!("https://ubuntu.com/security/notices/{id}"));
    advisory.published =
        header_line.and_then(|line| date_after_line(body, line, 3)).or(sent.map(|s| s.rfc3339.clone()));
    let references = section(body, "References:");
    advisory.aliases = if references.is_empty() { cve_ids(body) } else { cve_ids(&references.join("\n")) };

    let binaries = update_lists(body);
    let sources = package_information(body);
    let releases: Vec<&str> = binaries.iter().map(|(r, _)| r.as_str()).collect();
    let mut by_source: Vec<(String, String, String)> = Vec::new(); // (release, source, version)
    for (source, version) in &sources {
        let mut matched: Vec<&str> = binaries
            .iter()
            .filter(|(_, bins)| bins.iter().any(|(_, v)| v == version))
            .map(|(r, _)| r.as_str())
            .collect();
        if matched.is_empty() {
            matched = releases.iter().copied().filter(|r| version_names_release(version, r)).collect();
            if matched.len() > 1 {
                matched.clear();
            }
        }
        if matched.is_empty() && releases.len() == 1 {
            matched = releases.clone();
        }
        for release in matched {
            let row = (release.to_owned(), source.clone(), version.clone());
            if !by_source.contains(&row) {
                by_source.push(row);
            }
        }
    }

    for (release, bins) in &binaries {
        let from_source: Vec<&(String, String, String)> = by_source.iter().filter(|(r, _, _)| r == release).collect();
        let rows: Vec<(&str, &str, PackageKind)> = if from_source.is_empty() {
            bins.iter().map(|(p, v)| (p.as_str(), v.as_str(), PackageKind::Binary)).collect()
        } else {
            from_source.iter().map(|(_, p, v)| (p.as_str(), v.as_str(), PackageKind::Source)).collect()
        };
        for (package, version, kind) in rows {
            let entry = Affected {
                distro: "ubuntu".to_owned(),
                release: release.clone(),
                package: package.to_owned(),
                kind,
                status: Status::Fixed,
                fixed_version: Some(version.to_owned()),
                scheme: Ecosystem::Dpkg,
                module: None,
            };
            if !advisory.affected.contains(&entry) {
                advisory.affected.push(entry);
            }
        }
    }
    Ok(Some(advisory))
}

/// `("6409-1", header line index)` from `Ubuntu Security Notice USN-6409-1`, else from a
/// `[USN-6409-1]` tag in a forwarded `Subject:` line or the subject.
fn find_id(subject: &str, body: &str) -> Option<(String, Option<usize>)> {
    for (i, line) in body.lines().enumerate() {
        if let Some(rest) = line.trim().strip_prefix("Ubuntu Security Notice USN-") {
            if let Some(number) = usn_number(rest) {
                return Some((number.to_owned(), Some(i)));
            }
        }
    }
    inner_subjects(body).chain(std::iter::once(subject)).find_map(|s| find_tag(s).map(|(n, _)| (n, None)))
}

/// `[USN-6409-1]` → `("6409-1", offset past "]")`.
fn find_tag(subject: &str) -> Option<(String, usize)> {
    let mut from = 0;
    while let Some(pos) = subject[from..].find("[USN-").map(|p| p + from) {
        from = pos + "[USN-".len();
        let Some(number) = usn_number(&subject[from..]) else { continue };
        let end = from + number.len();
        if subject[end..].starts_with(']') {
            return Some((number.to_owned(), end + 1));
        }
    }
    None
}

/// The `6409-1` at the start of `s`.
fn usn_number(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let n = digits_at(bytes, 0);
    if n == 0 || bytes.get(n) != Some(&b'-') {
        return None;
    }
    let r = digits_at(bytes, n + 1);
    if r == 0 || bytes.get(n + 1 + r).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(&s[..n + 1 + r])
}

/// The non-blank lines after a line reading exactly `heading`, up to the next blank line.
fn section<'a>(body: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = body.lines().skip_while(|l| l.trim() != heading);
    if lines.next().is_none() {
        return Vec::new();
    }
    lines.skip_while(|l| l.trim().is_empty()).take_while(|l| !l.trim().is_empty()).collect()
}

/// The update lists: `Ubuntu 22.04 LTS:` headings, each followed by indented `name version`
/// lines, read from the "corrected by updating" sentence up to "References:".
fn update_lists(body: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut started = false;
    for line in body.lines() {
        let trimmed = line.trim();
        if !started {
            started = trimmed.contains("can be corrected by updating") || trimmed == "Update instructions:";
            continue;
        }
        if trimmed == "References:" || trimmed == "Package Information:" {
            break;
        }
        if let Some(release) = release_heading(trimmed) {
            out.push((release, Vec::new()));
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        let (Some(current), [name, version]) = (out.last_mut(), words.as_slice()) else { continue };
        let Some(version) = version_token(version) else { continue };
        if is_deb_package_name(name) && !current.1.iter().any(|(n, v)| n == name && v == version) {
            current.1.push(((*name).to_owned(), version.to_owned()));
        }
    }
    out
}

/// `Ubuntu 22.04 LTS:` / `Ubuntu 16.04 ESM:` / `Ubuntu 23.10:` → `22.04`.
fn release_heading(line: &str) -> Option<String> {
    let rest = line.strip_suffix(':')?.strip_prefix("Ubuntu ")?;
    let number = rest.split_whitespace().next()?;
    let (major, minor) = number.split_once('.')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (all_digits(major) && all_digits(minor)).then(|| number.to_owned())
}

/// `(source, version)` from `https://launchpad.net/ubuntu/+source/glibc/2.35-0ubuntu3.4` lines
/// of "Package Information".
fn package_information(body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in section(body, "Package Information:") {
        let Some(rest) = line.trim().strip_prefix(LAUNCHPAD_SOURCE) else { continue };
        let Some((source, version)) = rest.split_once('/') else { continue };
        let Some(version) = version_token(version.trim_end_matches('/')) else { continue };
        let row = (source.to_owned(), version.to_owned());
        if is_deb_package_name(source) && !out.contains(&row) {
            out.push(row);
        }
    }
    out
}

/// Whether a version was built for a release: `1:68.2.1+build1-0ubuntu0.18.04.1` names `18.04`,
/// `2.9.4+dfsg1-3ubuntu0.1~esm2`'s does not.
fn version_names_release(version: &str, release: &str) -> bool {
    version.match_indices(release).any(|(at, _)| {
        let before = version[..at].chars().next_back();
        let after = version[at + release.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "{} {} {} {} {} {}\n",
                a.distro,
                a.release,
                a.package,
                a.kind.as_str(),
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

    fn usn(update: &str, package_information: &str) -> String {
        format!(
            "\
==========================================================================
Ubuntu Security Notice USN-6409-1
October 04, 2023

glibc vulnerabilities
==========================================================================

A security issue affects these releases of Ubuntu and its derivatives:

- Ubuntu 23.04
- Ubuntu 22.04 LTS

Details:

It was discovered that the GNU C Library incorrectly handled memory
(CVE-2023-4806)

Update instructions:

The problem can be corrected by updating your system to the following
package versions:

{update}
In general, a standard system update will make all the necessary changes.

References:
  https://ubuntu.com/security/notices/USN-6409-1
  CVE-2023-4806, CVE-2023-4813, CVE-2023-4911

{package_information}"
        )
    }

    const UPDATE: &str = "\
Ubuntu 23.04:
  libc6                           2.37-0ubuntu2.1
  libc-bin                        2.37-0ubuntu2.1

Ubuntu 22.04 LTS:
  libc6                           2.35-0ubuntu3.4
";

    #[test]
    fn usn_with_package_information_for_two_releases() {
        let body = usn(
            UPDATE,
            "Package Information:\n  https://launchpad.net/ubuntu/+source/glibc/2.37-0ubuntu2.1\n  \
             https://launchpad.net/ubuntu/+source/glibc/2.35-0ubuntu3.4\n",
        );
        check(
            "[USN-6409-1] GNU C Library vulnerabilities",
            &body,
            "
USN-6409-1 title=GNU C Library vulnerabilities url=https://ubuntu.com/security/notices/USN-6409-1 \
published=2023-10-04 aliases=CVE-2023-4806,CVE-2023-4813,CVE-2023-4911
ubuntu 23.04 glibc source 2.37-0ubuntu2.1 dpkg
ubuntu 22.04 glibc source 2.35-0ubuntu3.4 dpkg
",
        );
    }

    #[test]
    fn usn_without_package_information_reports_binaries() {
        check(
            "[USN-6409-1] GNU C Library vulnerabilities",
            &usn(UPDATE, ""),
            "
USN-6409-1 title=GNU C Library vulnerabilities url=https://ubuntu.com/security/notices/USN-6409-1 \
published=2023-10-04 aliases=CVE-2023-4806,CVE-2023-4813,CVE-2023-4911
ubuntu 23.04 libc6 binary 2.37-0ubuntu2.1 dpkg
ubuntu 23.04 libc-bin binary 2.37-0ubuntu2.1 dpkg
ubuntu 22.04 libc6 binary 2.35-0ubuntu3.4 dpkg
",
        );
    }

    #[test]
    fn source_versions_without_a_binary_match_use_the_release_in_the_version() {
        let update = "Ubuntu 19.10:\n  thunderbird  1:68.2.1+build1-0ubuntu0.19.10.1\n\n\
                      Ubuntu 18.04 LTS:\n  thunderbird  1:68.2.1+build1-0ubuntu0.18.04.1\n  Available with Ubuntu Pro\n";
        let info = "Package Information:\n  https://launchpad.net/ubuntu/+source/thunderbird/1:68.2.1+build1-0ubuntu0.18.04.2\n";
        let got = parse("", &usn(update, info), None).expect("ok").expect("some");
        let rendered = render(&got);
        let rows: Vec<&str> = rendered.lines().skip(1).collect();
        assert_eq!(
            rows,
            [
                "ubuntu 19.10 thunderbird binary 1:68.2.1+build1-0ubuntu0.19.10.1 dpkg",
                "ubuntu 18.04 thunderbird source 1:68.2.1+build1-0ubuntu0.18.04.2 dpkg",
            ]
        );
    }

    #[test]
    fn not_a_usn() {
        assert_eq!(parse("[USN-abc] x", "USN-6409-1 fixed it", None), Ok(None));
    }
}
