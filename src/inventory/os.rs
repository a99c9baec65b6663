//! OS identification from an image's final files (os-release and the older release files),
//! plus the Debian and Ubuntu codename tables. Pure: files come in through a `read` callback,
//! no IO here; never panics on any input. When nothing identifies the OS the answer is None:
//! this module never guesses a distro or a release.

use std::collections::HashMap;

use serde::Serialize;

/// The OS an image identifies itself as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsRelease {
    /// The os-release `ID` (lowercase): debian, ubuntu, alpine, rhel, centos, rocky, almalinux,
    /// ol, fedora, amzn, sles, opensuse-leap, mariner, azurelinux, ... CentOS Stream is
    /// `centos` too; only `pretty_name` ("CentOS Stream 9") tells it apart.
    pub distro: String,
    /// Normalised release: Debian major ("12", or the codename such as "trixie" for
    /// testing/sid), Ubuntu "22.04", Alpine major.minor ("3.19") or "edge" (also for the
    /// `_alpha` snapshots edge images carry), RHEL, CentOS, Rocky, Alma and Oracle major
    /// ("9"), otherwise `VERSION_ID` as written. Empty when the files name the distro but no
    /// release (rolling distros); never match advisories on an empty release.
    pub release: String,
    /// Debian or Ubuntu codename (`bookworm`, `jammy`) from the files or the tables below.
    pub codename: Option<String>,
    pub pretty_name: Option<String>,
    /// The file that gave the release (or the distro, when there is no release).
    pub source_file: String,
}

const OS_RELEASE_FILES: &[&str] = &["etc/os-release", "usr/lib/os-release"];

/// Identify the OS. `read(path)` returns the final content of a file in the image, with
/// `path` relative to the root (`etc/os-release`).
///
/// Order: `etc/os-release`, `usr/lib/os-release`, then `etc/lsb-release`,
/// `etc/alpine-release`, `etc/debian_version`, `etc/system-release`, `etc/redhat-release`.
/// `system-release` comes before `redhat-release` because Oracle Linux writes a Red Hat name
/// into `redhat-release` and its own into `system-release`. When an os-release names a
/// distro without a usable release, the first older file naming the same distro supplies it.
pub fn detect(read: &dyn Fn(&str) -> Option<Vec<u8>>) -> Option<OsRelease> {
    let primary = OS_RELEASE_FILES.iter().find_map(|path| {
        let bytes = read(path)?;
        from_os_release(path, &parse_env(&text(&bytes)))
    });
    if let Some(os) = &primary {
        if !os.release.is_empty() {
            return Some(os.clone());
        }
    }
    let fallback = |wanted: Option<&str>| -> Option<OsRelease> {
        FALLBACK_FILES.iter().find_map(|(path, parse)| {
            let bytes = read(path)?;
            let os = parse(path, &text(&bytes))?;
            (wanted.is_none_or(|d| d == os.distro) && !os.release.is_empty()).then_some(os)
        })
    };
    match primary {
        None => fallback(None),
        Some(os) => match fallback(Some(&os.distro)) {
            Some(found) => Some(OsRelease {
                codename: os.codename.or(found.codename),
                pretty_name: os.pretty_name.or(found.pretty_name),
                ..found
            }),
            None => Some(os),
        },
    }
}

type FallbackParser = fn(&str, &str) -> Option<OsRelease>;

const FALLBACK_FILES: &[(&str, FallbackParser)] = &[
    ("etc/lsb-release", from_lsb_release),
    ("etc/alpine-release", from_alpine_release),
    ("etc/debian_version", from_debian_version),
    ("etc/system-release", from_redhat_release),
    ("etc/redhat-release", from_redhat_release),
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// os-release fields into an `OsRelease`; None when there is no `ID`.
fn from_os_release(path: &str, fields: &HashMap<String, String>) -> Option<OsRelease> {
    let distro = non_empty(fields.get("ID"))?.to_ascii_lowercase();
    let version_id = non_empty(fields.get("VERSION_ID"));
    let codename = non_empty(fields.get("VERSION_CODENAME"))
        .or_else(|| non_empty(fields.get("UBUNTU_CODENAME")))
        .map(str::to_ascii_lowercase);
    let pretty_name = non_empty(fields.get("PRETTY_NAME")).map(str::to_owned);
    let (release, codename) = match (distro.as_str(), version_id) {
        // alpine:edge says `VERSION_ID=3.21.0_alpha20240606`, `PRETTY_NAME="Alpine Linux edge"`.
        ("alpine", _) if pretty_name.as_deref().is_some_and(|p| p.ends_with(" edge")) => ("edge".to_owned(), None),
        (_, Some(v)) => {
            let release = normalise_release(&distro, v);
            let codename = codename.or_else(|| table_codename(&distro, &release));
            (release, codename)
        }
        // Debian testing/sid leaves VERSION_ID out on purpose: the codename is the release
        // the security tracker knows it by.
        ("debian", None) => match codename {
            Some(c) => (c.clone(), Some(c)),
            None => (String::new(), None),
        },
        ("ubuntu", None) => {
            let release = codename.as_deref().and_then(ubuntu_release_for_codename).unwrap_or_default().to_owned();
            (release, codename)
        }
        (_, None) => (String::new(), codename),
    };
    Some(OsRelease { distro, release, codename, pretty_name, source_file: path.to_owned() })
}

/// `etc/lsb-release` (Ubuntu before os-release, e.g. 10.04): `DISTRIB_ID`, `DISTRIB_RELEASE`.
fn from_lsb_release(path: &str, text: &str) -> Option<OsRelease> {
    let fields = parse_env(text);
    let distro = non_empty(fields.get("DISTRIB_ID"))?.to_ascii_lowercase();
    let release = normalise_release(&distro, non_empty(fields.get("DISTRIB_RELEASE"))?);
    let codename = non_empty(fields.get("DISTRIB_CODENAME"))
        .map(str::to_ascii_lowercase)
        .or_else(|| table_codename(&distro, &release));
    Some(OsRelease {
        distro,
        release,
        codename,
        pretty_name: non_empty(fields.get("DISTRIB_DESCRIPTION")).map(str::to_owned),
        source_file: path.to_owned(),
    })
}

/// `etc/alpine-release`: one line such as `3.18.4` or `edge`.
fn from_alpine_release(path: &str, text: &str) -> Option<OsRelease> {
    let line = text.lines().next()?.trim();
    if !(line == "edge" || line.starts_with(|c: char| c.is_ascii_digit())) {
        return None;
    }
    Some(OsRelease {
        distro: "alpine".to_owned(),
        release: normalise_release("alpine", line),
        codename: None,
        pretty_name: None,
        source_file: path.to_owned(),
    })
}

/// `etc/debian_version`: `12.5` (release 12), or `trixie/sid` during testing (release and
/// codename `trixie`). Anything else identifies nothing.
fn from_debian_version(path: &str, text: &str) -> Option<OsRelease> {
    let line = text.lines().next()?.trim();
    let is_number = !line.is_empty() && line.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let (release, codename) = if is_number {
        let release = normalise_release("debian", line);
        let codename = debian_codename(&release).map(str::to_owned);
        (release, codename)
    } else {
        let name = line.strip_suffix("/sid").unwrap_or(line);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase()) {
            return None;
        }
        (name.to_owned(), Some(name.to_owned()))
    };
    Some(OsRelease { distro: "debian".to_owned(), release, codename, pretty_name: None, source_file: path.to_owned() })
}

/// Product names in `etc/system-release` / `etc/redhat-release` and the os-release ID each
/// stands for. Longest prefix first where one name starts another.
const REDHAT_RELEASE_NAMES: &[(&str, &str)] = &[
    ("Red Hat Enterprise Linux", "rhel"),
    ("CentOS", "centos"),
    ("Rocky Linux", "rocky"),
    ("AlmaLinux", "almalinux"),
    ("Oracle Linux", "ol"),
    ("Fedora", "fedora"),
    ("Amazon Linux", "amzn"),
];

/// `<product> release <version> (<name>)`, e.g. `CentOS Linux release 7.9.2009 (Core)`.
fn from_redhat_release(path: &str, text: &str) -> Option<OsRelease> {
    let line = text.lines().next()?.trim();
    let (product, after) = line.split_once(" release ")?;
    let distro = REDHAT_RELEASE_NAMES.iter().find(|(prefix, _)| product.starts_with(prefix)).map(|(_, id)| *id)?;
    let version = after.split_whitespace().next()?;
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(OsRelease {
        distro: distro.to_owned(),
        release: normalise_release(distro, version),
        codename: None,
        pretty_name: Some(line.to_owned()),
        source_file: path.to_owned(),
    })
}

/// The release as advisory feeds name it (see [`OsRelease::release`]).
fn normalise_release(distro: &str, raw: &str) -> String {
    let raw = raw.trim();
    match distro {
        // Debian before 4.0 numbered releases major.minor (3.0 woody, 3.1 sarge).
        "debian" => match leading_number(raw) {
            Some(major) if major.parse::<u32>().is_ok_and(|m| m >= 4) => major.to_owned(),
            Some(_) => major_minor(raw).unwrap_or(raw).to_owned(),
            None => raw.to_owned(),
        },
        // Edge snapshots are numbered after the next release: `3.21.0_alpha20240606`.
        "alpine" if raw.contains("_alpha") => "edge".to_owned(),
        "ubuntu" | "alpine" => major_minor(raw).unwrap_or(raw).to_owned(),
        "rhel" | "centos" | "rocky" | "almalinux" | "ol" => leading_number(raw).unwrap_or(raw).to_owned(),
        _ => raw.to_owned(),
    }
}

/// The leading digits of `s`, when it starts with one.
fn leading_number(s: &str) -> Option<&str> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// `3.18` from `3.18.4` or `3.19.0_rc1`; None unless `major.minor` digits lead.
fn major_minor(s: &str) -> Option<&str> {
    let major = leading_number(s)?;
    let rest = s[major.len()..].strip_prefix('.')?;
    let minor = leading_number(rest)?;
    Some(&s[..major.len() + 1 + minor.len()])
}

fn table_codename(distro: &str, release: &str) -> Option<String> {
    match distro {
        "debian" => debian_codename(release),
        "ubuntu" => ubuntu_codename(release),
        _ => None,
    }
    .map(str::to_owned)
}

/// Debian releases and codenames (debian.org "Debian Releases"; 13 trixie and 14 forky were
/// named before release). Releases before 4.0 keep their minor number.
const DEBIAN_CODENAMES: &[(&str, &str)] = &[
    ("1.1", "buzz"),
    ("1.2", "rex"),
    ("1.3", "bo"),
    ("2.0", "hamm"),
    ("2.1", "slink"),
    ("2.2", "potato"),
    ("3.0", "woody"),
    ("3.1", "sarge"),
    ("4", "etch"),
    ("5", "lenny"),
    ("6", "squeeze"),
    ("7", "wheezy"),
    ("8", "jessie"),
    ("9", "stretch"),
    ("10", "buster"),
    ("11", "bullseye"),
    ("12", "bookworm"),
    ("13", "trixie"),
    ("14", "forky"),
];

/// Ubuntu releases and codenames (wiki.ubuntu.com "Releases").
const UBUNTU_CODENAMES: &[(&str, &str)] = &[
    ("4.10", "warty"),
    ("5.04", "hoary"),
    ("5.10", "breezy"),
    ("6.06", "dapper"),
    ("6.10", "edgy"),
    ("7.04", "feisty"),
    ("7.10", "gutsy"),
    ("8.04", "hardy"),
    ("8.10", "intrepid"),
    ("9.04", "jaunty"),
    ("9.10", "karmic"),
    ("10.04", "lucid"),
    ("10.10", "maverick"),
    ("11.04", "natty"),
    ("11.10", "oneiric"),
    ("12.04", "precise"),
    ("12.10", "quantal"),
    ("13.04", "raring"),
    ("13.10", "saucy"),
    ("14.04", "trusty"),
    ("14.10", "utopic"),
    ("15.04", "vivid"),
    ("15.10", "wily"),
    ("16.04", "xenial"),
    ("16.10", "yakkety"),
    ("17.04", "zesty"),
    ("17.10", "artful"),
    ("18.04", "bionic"),
    ("18.10", "cosmic"),
    ("19.04", "disco"),
    ("19.10", "eoan"),
    ("20.04", "focal"),
    ("20.10", "groovy"),
    ("21.04", "hirsute"),
    ("21.10", "impish"),
    ("22.04", "jammy"),
    ("22.10", "kinetic"),
    ("23.04", "lunar"),
    ("23.10", "mantic"),
    ("24.04", "noble"),
    ("24.10", "oracular"),
    ("25.04", "plucky"),
    ("25.10", "questing"),
];

/// The Debian codename for a release: `12`, `12.5` → `bookworm`; `3.1` → `sarge`.
pub fn debian_codename(release: &str) -> Option<&'static str> {
    let release = normalise_release("debian", release);
    DEBIAN_CODENAMES.iter().find(|(r, _)| *r == release).map(|(_, c)| *c)
}

/// The Debian release number for a codename: `bookworm` → `12`. None for `sid`.
pub fn debian_release_for_codename(codename: &str) -> Option<&'static str> {
    let codename = codename.trim();
    DEBIAN_CODENAMES.iter().find(|(_, c)| c.eq_ignore_ascii_case(codename)).map(|(r, _)| *r)
}

/// The Ubuntu codename for a release: `22.04`, `22.04.3` → `jammy`.
pub fn ubuntu_codename(release: &str) -> Option<&'static str> {
    let release = normalise_release("ubuntu", release);
    UBUNTU_CODENAMES.iter().find(|(r, _)| *r == release).map(|(_, c)| *c)
}

/// The Ubuntu release for a codename: `jammy` → `22.04`.
pub fn ubuntu_release_for_codename(codename: &str) -> Option<&'static str> {
    let codename = codename.trim();
    UBUNTU_CODENAMES.iter().find(|(_, c)| c.eq_ignore_ascii_case(codename)).map(|(r, _)| *r)
}

/// Parse os-release / lsb-release `KEY=value` lines (the later of two equal keys wins).
///
/// Values may be unquoted, `"double"` or `'single'` quoted, or mixed (`a"b c"`); a backslash
/// outside single quotes takes the next character literally. Blank lines, `#` and `;` comment
/// lines, lines without `=` and keys that are not `[A-Za-z0-9_]` are ignored. Unquoted
/// whitespace at either end of a value is dropped.
fn parse_env(text: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        fields.insert(key.to_owned(), unquote(value.trim()));
    }
    fields
}

fn unquote(value: &str) -> String {
    #[derive(PartialEq)]
    enum State {
        Plain,
        Double,
        Single,
    }
    let mut out = String::with_capacity(value.len());
    let mut state = State::Plain;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (&state, c) {
            (State::Single, '\'') | (State::Double, '"') => state = State::Plain,
            (State::Single, c) => out.push(c),
            (State::Plain, '\'') => state = State::Single,
            (State::Plain, '"') => state = State::Double,
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Image files in; `distro release codename source_file` out (`-` for no codename, an
    /// empty string for no OS).
    fn check(files: &[(&str, &str)], expected: &str) {
        let read = |path: &str| files.iter().find(|(p, _)| *p == path).map(|(_, c)| c.as_bytes().to_vec());
        let actual = detect(&read).map_or_else(String::new, |os| {
            format!("{} {} {} {}", os.distro, os.release, os.codename.as_deref().unwrap_or("-"), os.source_file)
        });
        assert_eq!(actual, expected, "files: {files:?}");
    }

    const OS: &str = "etc/os-release";

    #[test]
    fn debian() {
        check(
            &[(OS, "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n")],
            "debian 12 bookworm etc/os-release",
        );
        // Testing/sid: no VERSION_ID; the codename is the release.
        check(
            &[
                (OS, "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nNAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=trixie\nID=debian\n"),
                ("etc/debian_version", "trixie/sid\n"),
            ],
            "debian trixie trixie etc/os-release",
        );
        // Distroless: PRETTY_NAME says nothing, ID and VERSION_ID do; codename from the table.
        check(
            &[(OS, "PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"11\"\n")],
            "debian 11 bullseye etc/os-release",
        );
        // Neither VERSION_ID nor codename: debian_version supplies the release.
        check(&[(OS, "ID=debian\n"), ("etc/debian_version", "12.5\n")], "debian 12 bookworm etc/debian_version");
        check(&[(OS, "ID=debian\n")], "debian  - etc/os-release");
    }

    #[test]
    fn debian_version_fallback() {
        let dv = "etc/debian_version";
        check(&[(dv, "12.5\n")], "debian 12 bookworm etc/debian_version");
        check(&[(dv, "10.13")], "debian 10 buster etc/debian_version");
        check(&[(dv, "7.11\n")], "debian 7 wheezy etc/debian_version");
        check(&[(dv, "3.1\n")], "debian 3.1 sarge etc/debian_version");
        check(&[(dv, "trixie/sid\n")], "debian trixie trixie etc/debian_version");
        check(&[(dv, "forky/sid\n")], "debian forky forky etc/debian_version");
        check(&[(dv, "sid\n")], "debian sid sid etc/debian_version");
        check(&[(dv, "\n")], "");
        check(&[(dv, "not a release\n")], "");
        check(&[(dv, "1..2\n")], "");
    }

    #[test]
    fn ubuntu() {
        check(
            &[(OS, "NAME=\"Ubuntu\"\nVERSION=\"14.04.6 LTS, Trusty Tahr\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"14.04\"\n")],
            "ubuntu 14.04 trusty etc/os-release",
        );
        check(
            &[(OS, "ID=ubuntu\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\nUBUNTU_CODENAME=noble\n")],
            "ubuntu 24.04 noble etc/os-release",
        );
        check(&[(OS, "ID=ubuntu\nUBUNTU_CODENAME=jammy\n")], "ubuntu 22.04 jammy etc/os-release");
        // Ubuntu also ships debian_version; lsb-release comes first.
        check(
            &[
                ("etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.04\nDISTRIB_CODENAME=lucid\nDISTRIB_DESCRIPTION=\"Ubuntu 10.04 LTS\"\n"),
                ("etc/debian_version", "squeeze/sid\n"),
            ],
            "ubuntu 10.04 lucid etc/lsb-release",
        );
        check(
            &[("etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\n")],
            "ubuntu 12.04 precise etc/lsb-release",
        );
        // os-release names ubuntu without a release: only an Ubuntu file may supply one.
        check(&[(OS, "ID=ubuntu\n"), ("etc/debian_version", "bookworm/sid\n")], "ubuntu  - etc/os-release");
    }

    #[test]
    fn alpine() {
        check(&[(OS, "ID=alpine\nVERSION_ID=3.18.4\n")], "alpine 3.18 - etc/os-release");
        check(&[(OS, "ID=alpine\nVERSION_ID=3.7.0\n")], "alpine 3.7 - etc/os-release");
        check(&[(OS, "ID=alpine\nVERSION_ID=edge\n")], "alpine edge - etc/os-release");
        check(
            &[(OS, "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.21.0_alpha20240606\nPRETTY_NAME=\"Alpine Linux edge\"\n")],
            "alpine edge - etc/os-release",
        );
        check(&[(OS, "ID=alpine\nVERSION_ID=3.21.0_alpha20240606\n")], "alpine edge - etc/os-release");
        check(&[(OS, "ID=alpine\nVERSION_ID=3.19.0_rc1\n")], "alpine 3.19 - etc/os-release");
        check(&[("etc/alpine-release", "2.6.6\n")], "alpine 2.6 - etc/alpine-release");
        check(&[("etc/alpine-release", "edge\n")], "alpine edge - etc/alpine-release");
        check(&[("etc/alpine-release", "3.21.0_alpha20240923\n")], "alpine edge - etc/alpine-release");
        check(&[("etc/alpine-release", "hello\n")], "");
        check(&[(OS, "ID=alpine\n"), ("etc/alpine-release", "3.19.1\n")], "alpine 3.19 - etc/alpine-release");
    }

    #[test]
    fn rpm_family() {
        let cases: &[(&str, &str)] = &[
            ("ID=\"rhel\"\nVERSION_ID=\"9.0\"\n", "rhel 9 - etc/os-release"),
            ("ID=\"rhel\"\nVERSION_ID=\"8.10\"\n", "rhel 8 - etc/os-release"),
            ("ID=\"centos\"\nVERSION_ID=\"7\"\nNAME=\"CentOS Linux\"\n", "centos 7 - etc/os-release"),
            ("ID=\"centos\"\nVERSION_ID=\"9\"\nNAME=\"CentOS Stream\"\n", "centos 9 - etc/os-release"),
            ("ID=\"rocky\"\nVERSION_ID=\"8.4\"\n", "rocky 8 - etc/os-release"),
            ("ID=\"almalinux\"\nVERSION_ID=\"9.3\"\n", "almalinux 9 - etc/os-release"),
            ("ID=\"ol\"\nVERSION_ID=\"8.9\"\n", "ol 8 - etc/os-release"),
            ("ID=fedora\nVERSION_ID=39\n", "fedora 39 - etc/os-release"),
            ("ID=\"amzn\"\nVERSION_ID=\"2023\"\n", "amzn 2023 - etc/os-release"),
            ("ID=\"amzn\"\nVERSION_ID=\"2\"\n", "amzn 2 - etc/os-release"),
            ("ID=\"sles\"\nVERSION_ID=\"15.5\"\n", "sles 15.5 - etc/os-release"),
            ("ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\n", "opensuse-leap 15.5 - etc/os-release"),
            ("ID=mariner\nVERSION_ID=\"2.0\"\n", "mariner 2.0 - etc/os-release"),
            ("ID=azurelinux\nVERSION_ID=\"3.0\"\n", "azurelinux 3.0 - etc/os-release"),
        ];
        for (content, expected) in cases {
            check(&[(OS, content)], expected);
        }
    }

    #[test]
    fn redhat_release_fallbacks() {
        let cases: &[(&str, &str)] = &[
            ("Red Hat Enterprise Linux Server release 7.9 (Maipo)\n", "rhel 7"),
            ("CentOS Linux release 7.9.2009 (Core)\n", "centos 7"),
            ("CentOS release 6.10 (Final)\n", "centos 6"),
            ("CentOS Stream release 8\n", "centos 8"),
            ("Rocky Linux release 8.4 (Green Obsidian)\n", "rocky 8"),
            ("AlmaLinux release 9.3 (Shamrock Pampas Cat)\n", "almalinux 9"),
            ("Oracle Linux Server release 7.9\n", "ol 7"),
            ("Fedora release 36 (Thirty Six)\n", "fedora 36"),
            ("Amazon Linux release 2 (Karoo)\n", "amzn 2"),
            ("Amazon Linux AMI release 2018.03\n", "amzn 2018.03"),
        ];
        for (content, expected) in cases {
            check(&[("etc/redhat-release", content)], &format!("{expected} - etc/redhat-release"));
            check(&[("etc/system-release", content)], &format!("{expected} - etc/system-release"));
        }
        // Oracle Linux writes a Red Hat name into redhat-release; system-release wins.
        check(
            &[
                ("etc/redhat-release", "Red Hat Enterprise Linux release 8.9 (Ootpa)\n"),
                ("etc/system-release", "Oracle Linux Server release 8.9\n"),
            ],
            "ol 8 - etc/system-release",
        );
        check(&[("etc/redhat-release", "Scientific Linux release 7.9 (Nitrogen)\n")], "");
        check(&[("etc/redhat-release", "Fedora release rawhide\n")], "");
    }

    #[test]
    fn order_and_nothing() {
        check(&[], "");
        check(&[(OS, "")], "");
        check(&[(OS, "NAME=Linux\n# no ID\n")], "");
        // usr/lib/os-release when etc/os-release is missing or names nothing.
        check(&[("usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n")], "debian 12 bookworm usr/lib/os-release");
        check(
            &[(OS, "NAME=x\n"), ("usr/lib/os-release", "ID=fedora\nVERSION_ID=40\n")],
            "fedora 40 - usr/lib/os-release",
        );
        // etc/os-release wins over usr/lib/os-release and over the older files.
        check(
            &[
                (OS, "ID=alpine\nVERSION_ID=3.19.0\n"),
                ("usr/lib/os-release", "ID=debian\nVERSION_ID=12\n"),
                ("etc/debian_version", "12.5\n"),
            ],
            "alpine 3.19 - etc/os-release",
        );
        // A rolling distro: named, but without a release.
        check(&[(OS, "ID=arch\nNAME=\"Arch Linux\"\n")], "arch  - etc/os-release");
        // Binary junk identifies nothing and does not panic.
        let junk = [0xff_u8, 0xfe, 0, b'=', b'"', b'\\'];
        assert_eq!(detect(&|_| Some(junk.to_vec())), None);
    }

    #[test]
    fn os_release_value_syntax() {
        let fields = parse_env(
            "# comment\n; comment\n\nA=plain\nB=\"double quoted\"\nC='single \"quoted\"'\n\
D=\"esc \\\"q\\\" \\$x \\\\ \\`\"\nE=un\\ quoted\r\nF = spaced \nG=\"mixed\"'parts'\nbad key=x\nnoequals\nH=\nA=later\n",
        );
        let get = |k: &str| fields.get(k).map(String::as_str);
        assert_eq!(get("A"), Some("later"));
        assert_eq!(get("B"), Some("double quoted"));
        assert_eq!(get("C"), Some("single \"quoted\""));
        assert_eq!(get("D"), Some("esc \"q\" $x \\ `"));
        assert_eq!(get("E"), Some("un quoted"));
        assert_eq!(get("F"), Some("spaced"));
        assert_eq!(get("G"), Some("mixedparts"));
        assert_eq!(get("H"), Some(""));
        assert_eq!(get("bad key"), None);
        assert_eq!(fields.len(), 8);
    }

    #[test]
    fn codename_tables() {
        let debian: &[(&str, Option<&str>)] = &[
            ("10", Some("buster")),
            ("11", Some("bullseye")),
            ("12", Some("bookworm")),
            ("12.5", Some("bookworm")),
            ("13", Some("trixie")),
            ("14", Some("forky")),
            ("1.1", Some("buzz")),
            ("3.0", Some("woody")),
            ("3", None),
            ("99", None),
            ("", None),
        ];
        for (release, codename) in debian {
            assert_eq!(debian_codename(release), *codename, "debian {release}");
        }
        assert_eq!(debian_release_for_codename("bookworm"), Some("12"));
        assert_eq!(debian_release_for_codename("Trixie"), Some("13"));
        assert_eq!(debian_release_for_codename("forky"), Some("14"));
        assert_eq!(debian_release_for_codename("sid"), None);
        for (release, codename) in DEBIAN_CODENAMES {
            assert_eq!(debian_codename(release), Some(*codename));
            assert_eq!(debian_release_for_codename(codename), Some(*release));
        }

        let ubuntu: &[(&str, Option<&str>)] = &[
            ("10.04", Some("lucid")),
            ("22.04", Some("jammy")),
            ("22.04.3", Some("jammy")),
            ("24.04", Some("noble")),
            ("24.10", Some("oracular")),
            ("25.04", Some("plucky")),
            ("25.10", Some("questing")),
            ("22", None),
            ("", None),
        ];
        for (release, codename) in ubuntu {
            assert_eq!(ubuntu_codename(release), *codename, "ubuntu {release}");
        }
        assert_eq!(ubuntu_release_for_codename("lucid"), Some("10.04"));
        assert_eq!(ubuntu_release_for_codename("noble"), Some("24.04"));
        assert_eq!(ubuntu_release_for_codename("bookworm"), None);
        for (release, codename) in UBUNTU_CODENAMES {
            assert_eq!(ubuntu_codename(release), Some(*codename));
            assert_eq!(ubuntu_release_for_codename(codename), Some(*release));
        }
    }
}
