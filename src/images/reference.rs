//! Image references (`[registry/]repository[:tag][@digest]`) parsed once, Docker-style, into
//! [`ImageRef`]. Pure: no IO, no registry knowledge beyond Docker Hub's aliases.
//!
//! Grammar (distribution `reference` package and the OCI distribution spec):
//! - the first `/`-separated component is a registry iff it contains `.` or `:` or is
//!   `localhost`; otherwise the registry is `docker.io`. (Docker also treats an uppercase first
//!   component as a registry; we do not, so `Foo/bar` is an uppercase error rather than a
//!   registry called `Foo`.)
//! - `index.docker.io` is an alias of `docker.io`; single-component Docker Hub names get
//!   `library/`.
//! - repository components match `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, joined by `/`.
//! - a tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) follows the last `:` after the last `/`.
//! - a digest follows `@`; a tag and a digest may both be given, and the digest wins.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use super::digest::Digest;

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves the Docker Hub registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest `registry/repository` name the distribution reference grammar allows.
pub const MAX_NAME_LEN: usize = 255;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// `host[:port]`, lowercase; `docker.io` for Docker Hub.
    pub registry: String,
    /// `a/b/c`, lowercase; Docker Hub official images carry `library/`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// Why a reference was rejected: names the input and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {input:?}: {problem}")]
pub struct ReferenceError {
    pub input: String,
    pub problem: String,
}

impl ImageRef {
    /// What to fetch: the digest when set, else the tag, else `latest`.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The host serving the registry API (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |problem: String| ReferenceError { input: input.to_string(), problem };
        if input.is_empty() {
            return Err(fail("it is empty".to_string()));
        }
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail(format!("it contains {c:?}")));
        }

        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest.parse::<Digest>().map_err(|e| fail(e.to_string()))?;
                (rest, Some(digest))
            }
            None => (input, None),
        };

        // The tag is after the last ':' that follows the last '/', so that `host:5000/a`
        // keeps its port and `host:5000/a:1` has tag `1`.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&rest[..at], Some(&rest[at + 1..]))
            }
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if !is_valid_tag(tag) {
                return Err(fail(format!("tag {tag:?} must match [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}")));
            }
        }
        if name.is_empty() {
            return Err(fail("the repository name is empty".to_string()));
        }

        let (registry, remainder) = match name.split_once('/') {
            Some((first, remainder)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_ascii_lowercase(), remainder)
            }
            _ => (DOCKER_HUB.to_string(), name),
        };
        if let Err(problem) = check_registry(&registry) {
            return Err(fail(problem));
        }
        let registry = if registry == "index.docker.io" { DOCKER_HUB.to_string() } else { registry };

        let repository = if registry == DOCKER_HUB && !remainder.contains('/') {
            format!("library/{remainder}")
        } else {
            remainder.to_string()
        };
        check_repository(&repository).map_err(fail)?;
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(fail(format!("the name is longer than {MAX_NAME_LEN} characters")));
        }

        Ok(ImageRef { registry, repository, tag: tag.map(str::to_string), digest })
    }
}

impl fmt::Display for ImageRef {
    /// The canonical form: `registry/repository[:tag][@digest]`. A reference that named
    /// neither prints neither (it round-trips through `FromStr`); [`ImageRef::reference`]
    /// supplies `latest` when fetching.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// True when `tag` matches `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    match bytes.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphanumeric() || *first == b'_')
                && rest.len() <= 127
                && rest.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        None => false,
    }
}

/// Checks `host[:port]`: DNS labels separated by dots, or a bracketed IPv6 address, then an
/// optional numeric port.
fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = split_host_port(registry);
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
            return Err(format!("registry {registry:?} has an invalid port"));
        }
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match inner.parse::<Ipv6Addr>() {
            Ok(_) => Ok(()),
            Err(_) => Err(format!("registry {registry:?} is not a valid IPv6 address")),
        };
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.is_empty() || !host.split('.').all(label_ok) {
        return Err(format!("registry {registry:?} is not a valid host name"));
    }
    Ok(())
}

/// Splits `host[:port]`, understanding bracketed IPv6 hosts (`[::1]:5000`).
pub(crate) fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => {
                let (host, rest) = authority.split_at(end + 1);
                (host, rest.strip_prefix(':'))
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

fn check_repository(repository: &str) -> Result<(), String> {
    for component in repository.split('/') {
        if component.is_empty() {
            return Err(format!("repository {repository:?} has an empty path component"));
        }
        if component.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!("repository {repository:?} must be lowercase"));
        }
        if !is_valid_path_component(component) {
            return Err(format!("repository component {component:?} must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*"));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`: alphanumeric runs joined by one `.`, one or two `_`,
/// or any number of `-`.
fn is_valid_path_component(component: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let sep_start = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        debug_assert!(i > sep_start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// `(input, registry, repository, tag, digest, canonical display)`
    fn check(input: &str, registry: &str, repository: &str, tag: Option<&str>, digest: Option<&str>, display: &str) {
        let r: ImageRef = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.registry, registry, "registry of {input}");
        assert_eq!(r.repository, repository, "repository of {input}");
        assert_eq!(r.tag.as_deref(), tag, "tag of {input}");
        assert_eq!(r.digest.as_ref().map(|d| d.to_string()).as_deref(), digest, "digest of {input}");
        assert_eq!(r.to_string(), display, "display of {input}");
        // The canonical form parses back to the same reference.
        assert_eq!(display.parse::<ImageRef>().unwrap(), r, "round trip of {input}");
    }

    #[test]
    fn parses_valid_references() {
        let with_digest = format!("debian@{D}");
        let tag_and_digest = format!("host:5000/a/b:v1@{D}");
        let by_digest = format!("host:5000/a/b@{D}");
        type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>, String);
        let cases: &[Case] = &[
            ("debian", "docker.io", "library/debian", None, None, "docker.io/library/debian".into()),
            (
                "debian:bookworm",
                "docker.io",
                "library/debian",
                Some("bookworm"),
                None,
                "docker.io/library/debian:bookworm".into(),
            ),
            (
                "library/debian:12",
                "docker.io",
                "library/debian",
                Some("12"),
                None,
                "docker.io/library/debian:12".into(),
            ),
            ("docker.io/debian", "docker.io", "library/debian", None, None, "docker.io/library/debian".into()),
            (
                "index.docker.io/debian:12",
                "docker.io",
                "library/debian",
                Some("12"),
                None,
                "docker.io/library/debian:12".into(),
            ),
            (
                "bitnami/redis:7.2",
                "docker.io",
                "bitnami/redis",
                Some("7.2"),
                None,
                "docker.io/bitnami/redis:7.2".into(),
            ),
            (
                "ghcr.io/org/team/app:1.0.0-rc.1",
                "ghcr.io",
                "org/team/app",
                Some("1.0.0-rc.1"),
                None,
                "ghcr.io/org/team/app:1.0.0-rc.1".into(),
            ),
            ("localhost/app", "localhost", "app", None, None, "localhost/app".into()),
            ("localhost:5000/app:dev", "localhost:5000", "app", Some("dev"), None, "localhost:5000/app:dev".into()),
            // A single component with a colon is a name and a tag, not a registry.
            (
                "localhost:5000",
                "docker.io",
                "library/localhost",
                Some("5000"),
                None,
                "docker.io/library/localhost:5000".into(),
            ),
            ("Registry.Example.COM/a", "registry.example.com", "a", None, None, "registry.example.com/a".into()),
            ("[::1]:5000/a/b:c", "[::1]:5000", "a/b", Some("c"), None, "[::1]:5000/a/b:c".into()),
            ("127.0.0.1:5000/a", "127.0.0.1:5000", "a", None, None, "127.0.0.1:5000/a".into()),
            (
                "host:5000/a.b/c__d/e---f:_T.9-x",
                "host:5000",
                "a.b/c__d/e---f",
                Some("_T.9-x"),
                None,
                "host:5000/a.b/c__d/e---f:_T.9-x".into(),
            ),
            (&with_digest, "docker.io", "library/debian", None, Some(D), format!("docker.io/library/debian@{D}")),
            (&by_digest, "host:5000", "a/b", None, Some(D), format!("host:5000/a/b@{D}")),
            (&tag_and_digest, "host:5000", "a/b", Some("v1"), Some(D), format!("host:5000/a/b:v1@{D}")),
        ];
        for (input, registry, repository, tag, digest, display) in cases {
            check(input, registry, repository, *tag, *digest, display);
        }
    }

    #[test]
    fn rejects_invalid_references() {
        let long_tag = format!("a:{}", "t".repeat(129));
        let long_name = format!("example.com/{}", "a".repeat(250));
        let cases: &[(&str, &str)] = &[
            ("", "it is empty"),
            ("Debian", "must be lowercase"),
            ("example.com/Org/app", "must be lowercase"),
            ("Foo/bar", "must be lowercase"),
            ("a b", "contains ' '"),
            ("a:", "tag \"\""),
            ("a:-x", "tag \"-x\""),
            ("a:x@y", "not of the form algorithm:encoded"),
            (&long_tag, "must match [A-Za-z0-9_]"),
            ("example.com/a//b", "empty path component"),
            ("example.com/", "empty path component"),
            ("example.com/a..b", "must match [a-z0-9]+"),
            ("example.com/a___b", "must match [a-z0-9]+"),
            ("example.com/-a", "must match [a-z0-9]+"),
            ("example.com/a-", "must match [a-z0-9]+"),
            ("example.com/a_", "must match [a-z0-9]+"),
            ("exa_mple.com/a", "not a valid host name"),
            ("host:99999/a", "invalid port"),
            ("host:/a", "invalid port"),
            ("[zz]:5000/a", "not a valid IPv6"),
            ("a@sha256:abc", "invalid sha256 value"),
            ("a@nocolon", "not of the form algorithm:encoded"),
            (":tag", "repository name is empty"),
            (&long_name, "longer than 255"),
        ];
        for (input, wanted) in cases {
            let err = input.parse::<ImageRef>().expect_err(input);
            let text = err.to_string();
            assert!(text.starts_with(&format!("invalid image reference {input:?}: ")), "{text}");
            assert!(text.contains(wanted), "{input:?}: {text:?} does not mention {wanted:?}");
        }
    }

    #[test]
    fn reference_and_api_host() {
        let cases = [
            ("debian", "latest", "registry-1.docker.io"),
            ("debian:12", "12", "registry-1.docker.io"),
            ("quay.io/a/b:1", "1", "quay.io"),
            ("localhost:5000/a", "latest", "localhost:5000"),
        ];
        for (input, reference, host) in cases {
            let r: ImageRef = input.parse().unwrap();
            assert_eq!(r.reference(), reference, "{input}");
            assert_eq!(r.api_host(), host, "{input}");
        }
        let r: ImageRef = format!("host.example/a:1@{D}").parse().unwrap();
        assert_eq!(r.reference(), D, "the digest wins over the tag");
        assert_eq!(r.name(), "host.example/a");
    }

    #[test]
    fn tags_and_components() {
        for (tag, ok) in
            [("a", true), ("_", true), ("A.b-c_d", true), (".a", false), ("-a", false), ("a/b", false), ("", false)]
        {
            assert_eq!(is_valid_tag(tag), ok, "{tag:?}");
        }
        assert!(is_valid_tag(&"a".repeat(128)));
        assert!(!is_valid_tag(&"a".repeat(129)));
        for (c, ok) in [
            ("a", true),
            ("a.b", true),
            ("a_b", true),
            ("a__b", true),
            ("a-----b", true),
            ("a._b", false),
            ("a.", false),
            ("_a", false),
        ] {
            assert_eq!(is_valid_path_component(c), ok, "{c:?}");
        }
        assert_eq!(split_host_port("[::1]:5000"), ("[::1]", Some("5000")));
        assert_eq!(split_host_port("[::1]"), ("[::1]", None));
        assert_eq!(split_host_port("h:1"), ("h", Some("1")));
        assert_eq!(split_host_port("h"), ("h", None));
    }
}
