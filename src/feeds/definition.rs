//! Feed definitions: the defaults shipped in `feeds/*.toml` (compiled in, so the binary runs
//! anywhere) merged with the `[feeds.NAME]` tables of the user's config, which override fields
//! of a default, disable it (`enabled = false`) or add a new feed. Pure: no IO.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::formats::Format;

/// The repository's `feeds/*.toml`, one default subscription per file. A unit test checks that
/// this list and the directory agree.
pub const DEFAULT_FEED_FILES: &[(&str, &str)] = &[
    ("alpine-3.21-community.toml", include_str!("../../feeds/alpine-3.21-community.toml")),
    ("alpine-3.21-main.toml", include_str!("../../feeds/alpine-3.21-main.toml")),
    ("alpine-3.22-community.toml", include_str!("../../feeds/alpine-3.22-community.toml")),
    ("alpine-3.22-main.toml", include_str!("../../feeds/alpine-3.22-main.toml")),
    ("alpine-3.23-community.toml", include_str!("../../feeds/alpine-3.23-community.toml")),
    ("alpine-3.23-main.toml", include_str!("../../feeds/alpine-3.23-main.toml")),
    ("alpine-3.24-community.toml", include_str!("../../feeds/alpine-3.24-community.toml")),
    ("alpine-3.24-main.toml", include_str!("../../feeds/alpine-3.24-main.toml")),
    ("debian-dla-list.toml", include_str!("../../feeds/debian-dla-list.toml")),
    ("debian-dsa-list.toml", include_str!("../../feeds/debian-dsa-list.toml")),
    ("debian-dsa-rss.toml", include_str!("../../feeds/debian-dsa-rss.toml")),
    ("debian-security-announce.toml", include_str!("../../feeds/debian-security-announce.toml")),
    ("debian-tracker.toml", include_str!("../../feeds/debian-tracker.toml")),
    ("redhat-csaf-vex.toml", include_str!("../../feeds/redhat-csaf-vex.toml")),
    ("redhat-oval-rhel8.toml", include_str!("../../feeds/redhat-oval-rhel8.toml")),
    ("redhat-oval-rhel9.toml", include_str!("../../feeds/redhat-oval-rhel9.toml")),
    ("ubuntu-security-announce.toml", include_str!("../../feeds/ubuntu-security-announce.toml")),
    ("ubuntu-usn-db.toml", include_str!("../../feeds/ubuntu-usn-db.toml")),
    ("ubuntu-usn-rss.toml", include_str!("../../feeds/ubuntu-usn-rss.toml")),
];

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);
/// Largest document fetched, unless a feed sets `max_bytes`.
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How a fetched document wraps the documents to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    /// The document itself (the default).
    None,
    /// A tar archive (optionally gzip or zstd compressed) of documents, each parsed.
    Tar,
}

/// One feed, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedDef {
    pub name: String,
    /// Document URL. `{year}`, `{month}` (01-12) and `{Month}` (January) are replaced with the
    /// current UTC date (pipermail archives). With `index_url`, the base the index's file name
    /// is resolved against.
    pub url: String,
    /// A small text document whose first line names the document to fetch (Red Hat's
    /// `archive_latest.txt`).
    pub index_url: Option<String>,
    pub format: Format,
    pub container: Container,
    pub distro: Option<String>,
    /// Releases the feed covers (normalised); empty = whatever the document holds.
    pub releases: Vec<String>,
    pub interval: Duration,
    pub enabled: bool,
    pub max_bytes: u64,
    pub timeout: Duration,
}

/// A `feeds/*.toml` file or a `[feeds.NAME]` config table: every field optional so that a
/// table can override just one; a new feed must give at least `url` and `format`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    pub name: Option<String>,
    pub url: Option<String>,
    pub index_url: Option<String>,
    pub format: Option<Format>,
    pub container: Option<Container>,
    pub distro: Option<String>,
    pub releases: Option<Vec<String>>,
    /// `30s`, `15m`, `1h`, `1d`, or a number of seconds.
    pub interval: Option<String>,
    pub enabled: Option<bool>,
    pub max_bytes: Option<u64>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DefinitionError {
    #[error("feed definition {file} is invalid: {message}")]
    Invalid { file: String, message: String },
    #[error("feed {name}: {message}")]
    Feed { name: String, message: String },
}

/// Parses `30s`, `15m`, `1h`, `2d` or plain seconds.
pub fn parse_interval(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

fn resolve(name: &str, spec: &FeedSpec) -> Result<FeedDef, DefinitionError> {
    let err = |message: String| DefinitionError::Feed { name: name.to_string(), message };
    let url = spec.url.clone().ok_or_else(|| err("has no url".into()))?;
    let format = spec.format.ok_or_else(|| err("has no format".into()))?;
    let interval = match &spec.interval {
        Some(text) => {
            parse_interval(text).ok_or_else(|| err(format!("interval {text:?} is not like 30s, 15m, 1h or 1d")))?
        }
        None => DEFAULT_INTERVAL,
    };
    Ok(FeedDef {
        name: name.to_string(),
        url,
        index_url: spec.index_url.clone(),
        format,
        container: spec.container.unwrap_or(Container::None),
        distro: spec.distro.clone(),
        releases: spec.releases.clone().unwrap_or_default(),
        interval,
        enabled: spec.enabled.unwrap_or(true),
        max_bytes: spec.max_bytes.unwrap_or(DEFAULT_MAX_BYTES),
        timeout: spec.timeout_secs.map(Duration::from_secs).unwrap_or(DEFAULT_TIMEOUT),
    })
}

fn merge(base: &FeedSpec, over: &FeedSpec) -> FeedSpec {
    FeedSpec {
        name: base.name.clone(),
        url: over.url.clone().or_else(|| base.url.clone()),
        index_url: over.index_url.clone().or_else(|| base.index_url.clone()),
        format: over.format.or(base.format),
        container: over.container.or(base.container),
        distro: over.distro.clone().or_else(|| base.distro.clone()),
        releases: over.releases.clone().or_else(|| base.releases.clone()),
        interval: over.interval.clone().or_else(|| base.interval.clone()),
        enabled: over.enabled.or(base.enabled),
        max_bytes: over.max_bytes.or(base.max_bytes),
        timeout_secs: over.timeout_secs.or(base.timeout_secs),
    }
}

/// The default feeds with the user's overrides and additions applied, by name.
pub fn feeds(overrides: &BTreeMap<String, FeedSpec>) -> Result<Vec<FeedDef>, DefinitionError> {
    let mut specs: BTreeMap<String, FeedSpec> = BTreeMap::new();
    for (file, text) in DEFAULT_FEED_FILES {
        let spec: FeedSpec = toml::from_str(text)
            .map_err(|e| DefinitionError::Invalid { file: file.to_string(), message: e.to_string() })?;
        let name = spec
            .name
            .clone()
            .ok_or_else(|| DefinitionError::Invalid { file: file.to_string(), message: "has no name".into() })?;
        specs.insert(name, spec);
    }
    for (name, over) in overrides {
        let merged = match specs.get(name) {
            Some(base) => merge(base, over),
            None => FeedSpec { name: Some(name.clone()), ..over.clone() },
        };
        specs.insert(name.clone(), merged);
    }
    specs.iter().map(|(name, spec)| resolve(name, spec)).collect()
}

/// Substitutes `{year}`, `{month}` and `{Month}` in a feed URL.
pub fn expand_url(url: &str, year: i64, month: u32) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let name = MONTHS.get(month.saturating_sub(1) as usize).copied().unwrap_or("January");
    url.replace("{year}", &year.to_string()).replace("{month}", &format!("{month:02}")).replace("{Month}", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_feeds_is_compiled_in_and_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = DEFAULT_FEED_FILES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(listed, on_disk, "DEFAULT_FEED_FILES must list feeds/*.toml exactly, sorted");
        let defs = feeds(&BTreeMap::new()).unwrap();
        assert_eq!(defs.len(), DEFAULT_FEED_FILES.len(), "feed names are unique");
        for (file, _) in DEFAULT_FEED_FILES {
            let stem = file.trim_end_matches(".toml");
            assert!(defs.iter().any(|d| d.name == stem), "{file}: the name matches the file name");
        }
        let tracker = defs.iter().find(|d| d.name == "debian-tracker").unwrap();
        assert_eq!(tracker.format, Format::DebianTrackerJson);
        assert!(defs.iter().any(|d| d.format == Format::AlpineSecdb && d.releases == ["3.22"]));
    }

    #[test]
    fn config_overrides_disables_and_adds_feeds() {
        let overrides: BTreeMap<String, FeedSpec> = toml::from_str(
            r#"
            [debian-tracker]
            url = "http://mirror.internal/tracker.json"
            interval = "15m"
            [ubuntu-usn-rss]
            enabled = false
            [internal-osv]
            url = "https://osv.internal/all.json"
            format = "osv"
            "#,
        )
        .unwrap();
        let defs = feeds(&overrides).unwrap();
        let tracker = defs.iter().find(|d| d.name == "debian-tracker").unwrap();
        assert_eq!(tracker.url, "http://mirror.internal/tracker.json");
        assert_eq!(tracker.interval, Duration::from_secs(900));
        assert_eq!(tracker.format, Format::DebianTrackerJson, "fields not overridden stay");
        assert!(!defs.iter().find(|d| d.name == "ubuntu-usn-rss").unwrap().enabled);
        assert_eq!(defs.iter().find(|d| d.name == "internal-osv").unwrap().format, Format::Osv);

        let missing: BTreeMap<String, FeedSpec> = toml::from_str("[new-feed]\nformat = \"osv\"\n").unwrap();
        assert_eq!(
            feeds(&missing).unwrap_err(),
            DefinitionError::Feed { name: "new-feed".into(), message: "has no url".into() }
        );
    }

    #[test]
    fn intervals_and_url_templates() {
        assert_eq!(parse_interval("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_interval("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_interval("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_interval("0"), None);
        assert_eq!(parse_interval("1w"), None);
        assert_eq!(
            expand_url("https://lists.example.org/archives/{year}-{Month}.txt.gz", 2026, 12),
            "https://lists.example.org/archives/2026-December.txt.gz"
        );
    }
}
