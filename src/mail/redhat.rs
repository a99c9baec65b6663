//! Red Hat Security Advisories (rhsa-announce, RHSA) read from mail text: id, severity and
//! synopsis, CVEs, issue date, and the binary RPMs of the "Package List" per RHEL major release.
//! Pure over text; knows nothing about MIME or PGP.

use crate::advisories::{Advisory, Affected, PackageKind, Severity, Status};
use crate::inventory::Ecosystem;

use super::text::{cve_ids, digits_at, field, inner_subjects, title_after};
use super::SentAt;

/// The RHSA in a message, if it carries one.
///
/// Recognised by `Advisory ID: RHSA-2024:6163-01` in the body, a forwarded `Subject:` line or
/// the subject (`[RHSA-2024:6163-01] Important: kernel security update`). The id drops the
/// revision (`RHSA-2024:6163`), as Red Hat's CSAF and errata pages name it. Severity is the
/// impact word that starts the synopsis; the title is the synopsis.
///
/// Affected entries come from the `.rpm` file names listed under `Red Hat Enterprise Linux
/// BaseOS (v. 9):`-style headings: binary package name, release `9`, kind binary, rpm scheme,
/// fixed version `version-release`. RPM file names carry no epoch, so the fixed version has
/// none; a package whose real epoch is not 0 compares wrongly against it, and a feed that knows
/// the epoch (CSAF, OVAL) should be preferred for the same advisory. Streams with a minor version
/// (`(v. 8.4)`: EUS, E4S, AUS, TUS) are left out because their fixed versions do not apply to the
/// major release. `-debuginfo`/`-debugsource` packages are left out. `.src.rpm` entries only
/// name the source package; it is reported (kind source) for a heading that lists no binaries.
/// Module streams are not recognised from file names, so `module` stays unset.
pub fn parse(subject: &str, body: &str, sent: Option<&SentAt>) -> Result<Option<Advisory>, String> {
    let Some(id) = find_id(subject, body) else { return Ok(None) };
    let mut advisory = Advisory::new(&id);

    let synopsis = inner_subjects(body)
        .chain(std::iter::once(subject))
        .find_map(|s| {
            let (tag_id, end) = find_tag(s)?;
            (tag_id == id).then(|| title_after(s, end)).flatten()
        })
        .or_else(|| field(body, "Synopsis"));
    if let Some(synopsis) = &synopsis {
        if let Some((word, _)) = synopsis.split_once(':') {
            let severity = Severity::parse(word);
            if severity != Severity::Unknown {
                advisory.severity = Some(severity);
            }
        }
    }
    advisory.title = synopsis;
    advisory.url = Some(format!("https://access.redhat.com/errata/{id}"));
    advisory.published = field(body, "Issue date")
        .and_then(|d| d.split_whitespace().next().map(str::to_owned))
        .filter(|d| d.len() >= 10 && d.as_bytes()[..4].iter().all(u8::is_ascii_digit))
        .or(sent.map(|s| s.rfc3339.clone()));

    let mut aliases = field(body, "CVE Names").map(|v| cve_ids(&v)).unwrap_or_default();
    for cve in cve_ids(&cves_section(body)) {
        if !aliases.contains(&cve) {
            aliases.push(cve);
        }
    }
    advisory.aliases = if aliases.is_empty() { cve_ids(body) } else { aliases };
    advisory.affected = package_list(body);
    Ok(Some(advisory))
}

/// `RHSA-2024:6163` from the `Advisory ID` field, else from a tag in a forwarded `Subject:` line
/// or the subject.
fn find_id(subject: &str, body: &str) -> Option<String> {
    if let Some(id) = field(body, "Advisory ID").and_then(|v| rhsa_at(&v).map(|(id, _)| id)) {
        return Some(id);
    }
    inner_subjects(body).chain(std::iter::once(subject)).find_map(|s| find_tag(s).map(|(id, _)| id))
}

/// `[RHSA-2024:6163-01]` → `("RHSA-2024:6163", offset past "]")`.
fn find_tag(subject: &str) -> Option<(String, usize)> {
    let mut from = 0;
    while let Some(pos) = subject[from..].find("[RHSA-").map(|p| p + from) {
        from = pos + 1;
        let Some((id, used)) = rhsa_at(&subject[from..]) else { continue };
        let end = from + used;
        if subject[end..].starts_with(']') {
            return Some((id, end + 1));
        }
    }
    None
}

/// `RHSA-2024:6163-01…` at the start of `s` → `("RHSA-2024:6163", bytes used incl. revision)`.
fn rhsa_at(s: &str) -> Option<(String, usize)> {
    let rest = s.strip_prefix("RHSA-")?;
    let bytes = rest.as_bytes();
    let year = digits_at(bytes, 0);
    if year != 4 || bytes.get(4) != Some(&b':') {
        return None;
    }
    let n = digits_at(bytes, 5);
    if n == 0 {
        return None;
    }
    let mut used = 5 + n;
    if bytes.get(used) == Some(&b'-') {
        let rev = digits_at(bytes, used + 1);
        if rev > 0 {
            used += 1 + rev;
        }
    }
    if bytes.get(used).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some((format!("RHSA-{}", &rest[..5 + n]), "RHSA-".len() + used))
}

/// The lines of the `CVEs:` section (newer advisories list one CVE per line there).
fn cves_section(body: &str) -> String {
    let mut lines = body.lines().skip_while(|l| l.trim() != "CVEs:");
    if lines.next().is_none() {
        return String::new();
    }
    let lines: Vec<&str> = lines.skip_while(|l| l.trim().is_empty()).take_while(|l| !l.trim().is_empty()).collect();
    lines.join("\n")
}

/// Affected entries from the package list. See [`parse`].
fn package_list(body: &str) -> Vec<Affected> {
    let mut out: Vec<Affected> = Vec::new();
    // (release, source names, whether a binary was listed) of the heading being read.
    let mut current: Option<(String, Vec<String>, bool)> = None;
    let flush = |current: &mut Option<(String, Vec<String>, bool)>, out: &mut Vec<Affected>| {
        if let Some((release, sources, false)) = current.take() {
            for (name, version) in sources.iter().filter_map(|s| split_nvr(s)) {
                push_unique(out, affected(&release, name, version, PackageKind::Source));
            }
        }
    };
    for line in body.lines() {
        let trimmed = line.trim();
        if let Some(heading) = trimmed.strip_suffix(':').filter(|h| h.contains("(v.")) {
            flush(&mut current, &mut out);
            current = major_release(heading).map(|r| (r, Vec::new(), false));
            continue;
        }
        let Some((release, sources, has_binary)) = current.as_mut() else { continue };
        let Some(file) = trimmed.split_whitespace().last().map(|w| w.rsplit('/').next().unwrap_or(w)) else {
            continue;
        };
        let Some(stem) = file.strip_suffix(".rpm") else { continue };
        if let Some(source) = stem.strip_suffix(".src") {
            sources.push(source.to_owned());
            continue;
        }
        let Some((nvr, _arch)) = stem.rsplit_once('.') else { continue };
        let Some((name, version)) = split_nvr(nvr) else { continue };
        if name.ends_with("-debuginfo") || name.ends_with("-debugsource") || name.contains("-debuginfo-") {
            continue;
        }
        *has_binary = true;
        push_unique(&mut out, affected(release, name, version, PackageKind::Binary));
    }
    flush(&mut current, &mut out);
    out
}

/// `openssl-libs-3.0.7-27.el9` → `("openssl-libs", "3.0.7-27.el9")`.
fn split_nvr(nvr: &str) -> Option<(&str, String)> {
    let (name_version, release) = nvr.rsplit_once('-')?;
    let (name, version) = name_version.rsplit_once('-')?;
    let plausible = !name.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()) && !release.is_empty();
    plausible.then(|| (name, format!("{version}-{release}")))
}

/// `Red Hat Enterprise Linux BaseOS (v. 9)` → `9`; `(v. 5 server)` → `5`; `(v. 8.4)` → None.
fn major_release(heading: &str) -> Option<String> {
    let after = &heading[heading.find("(v.")? + 3..];
    let after = after.trim_start();
    let bytes = after.as_bytes();
    let n = digits_at(bytes, 0);
    if n == 0 || bytes.get(n) == Some(&b'.') {
        return None;
    }
    Some(after[..n].to_owned())
}

fn affected(release: &str, name: &str, version: String, kind: PackageKind) -> Affected {
    Affected {
        distro: "rhel".to_owned(),
        release: release.to_owned(),
        package: name.to_owned(),
        kind,
        status: Status::Fixed,
        fixed_version: Some(version),
        scheme: Ecosystem::Rpm,
        module: None,
    }
}

fn push_unique(out: &mut Vec<Affected>, entry: Affected) {
    if !out.contains(&entry) {
        out.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(advisory: &Advisory) -> String {
        let mut out = format!(
            "{} severity={} title={} url={} published={} aliases={}\n",
            advisory.id,
            advisory.severity.map_or("-", |s| s.as_str()),
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

    const RHSA: &str = "\
=====================================================================
                   Red Hat Security Advisory

Synopsis:          Important: openssl security update
Advisory ID:       RHSA-2024:6163-01
Product:           Red Hat Enterprise Linux
Advisory URL:      https://access.redhat.com/errata/RHSA-2024:6163
Issue date:        2024-09-03
Revision:          01
CVE Names:         CVE-2024-5535 CVE-2024-6119
=====================================================================

Summary:

An update for openssl is now available for Red Hat Enterprise Linux 9.

CVEs:

CVE-2024-5535
CVE-2024-6119
CVE-2024-2511

Package List:

Red Hat Enterprise Linux BaseOS (v. 9):

Source:
openssl-3.0.7-28.el9_4.src.rpm

aarch64:
openssl-3.0.7-28.el9_4.aarch64.rpm
openssl-libs-3.0.7-28.el9_4.aarch64.rpm
openssl-debuginfo-3.0.7-28.el9_4.aarch64.rpm

x86_64:
openssl-3.0.7-28.el9_4.x86_64.rpm
openssl-libs-3.0.7-28.el9_4.i686.rpm
openssl-libs-3.0.7-28.el9_4.x86_64.rpm

Red Hat Enterprise Linux BaseOS EUS (v. 9.2):

x86_64:
openssl-3.0.7-20.el9_2.x86_64.rpm

Red Hat Enterprise Linux Server (v. 7):

Source:
openssl-1.0.2k-26.el7_9.src.rpm

These packages are GPG signed by Red Hat for security.
";

    #[test]
    fn rhsa_with_two_arches_and_a_source_rpm() {
        check(
            "[RHSA-2024:6163-01] Important: openssl security update",
            RHSA,
            "
RHSA-2024:6163 severity=high title=Important: openssl security update \
url=https://access.redhat.com/errata/RHSA-2024:6163 published=2024-09-03 \
aliases=CVE-2024-5535,CVE-2024-6119,CVE-2024-2511
rhel 9 openssl binary 3.0.7-28.el9_4 rpm
rhel 9 openssl-libs binary 3.0.7-28.el9_4 rpm
rhel 7 openssl source 1.0.2k-26.el7_9 rpm
",
        );
    }

    #[test]
    fn old_style_list_with_urls_and_checksums() {
        let body = "Advisory ID: RHSA-2010:0001-02\n\n6. Package List:\n\n\
                    Red Hat Enterprise Linux (v. 5 server):\n\nSource:\n\
                    ftp://ftp.redhat.com/pub/redhat/linux/enterprise/5Server/en/os/SRPMS/dbus-1.1.2-12.el5_4.1.src.rpm\n\n\
                    i386:\n0123abcd  dbus-1.1.2-12.el5_4.1.i386.rpm\n";
        check(
            "[RHSA-2010:0001-02] Moderate: dbus security update",
            body,
            "
RHSA-2010:0001 severity=medium title=Moderate: dbus security update \
url=https://access.redhat.com/errata/RHSA-2010:0001 published=- aliases=
rhel 5 dbus binary 1.1.2-12.el5_4.1 rpm
",
        );
    }

    #[test]
    fn not_an_rhsa() {
        assert_eq!(parse("[RHBA-2024:1-01] bug fix", "", None), Ok(None));
        assert_eq!(parse("[RHSA-24:1-01] x", "", None), Ok(None));
    }
}
