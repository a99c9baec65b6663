//! The normalised advisory model every feed and mail parser produces: advisories with their
//! aliases and metadata, and per (distro, release, package) affected entries with a status and
//! a fixed version. Pure types and the vocabulary that maps vendor terms onto them; no IO and
//! no wire formats here (each parser keeps its own wire structs).

use serde::Serialize;

use crate::inventory::Ecosystem;

/// One advisory as a source states it: a CVE record (tracker, OSV, CSAF VEX) or a vendor
/// advisory (DSA, DLA, USN, RHSA) that names CVEs as aliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advisory {
    /// `CVE-2024-1234`, `DSA-5678-1`, `DLA-3850-1`, `USN-6409-1`, `RHSA-2024:6163`, ...
    pub id: String,
    /// Other identifiers of the same issue (the CVEs a DSA fixes, the DSA a CVE was fixed in).
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub severity: Option<Severity>,
    /// Dates as RFC 3339 or `YYYY-MM-DD`, as precise as the source gives them.
    pub published: Option<String>,
    pub modified: Option<String>,
    /// The human-readable page of the advisory.
    pub url: Option<String>,
    pub affected: Vec<Affected>,
}

impl Advisory {
    pub fn new(id: impl Into<String>) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: Vec::new(),
            title: None,
            severity: None,
            published: None,
            modified: None,
            url: None,
            affected: Vec::new(),
        }
    }
}

/// What an advisory says about one package in one distribution release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affected {
    /// Lowercase os-release ID: `debian`, `ubuntu`, `alpine`, `rhel`, ...
    pub distro: String,
    /// Normalised like the inventory does: Debian `12`, Ubuntu `22.04`, Alpine `3.19`, RHEL `9`.
    /// Releases without a number keep their name (`sid`, `edge`).
    pub release: String,
    pub package: String,
    /// Whether `package` names a source package (Debian, Ubuntu, Alpine origin) or a binary one
    /// (Red Hat).
    pub kind: PackageKind,
    pub status: Status,
    /// The first version that is not affected; set only when `status` is `Fixed`.
    pub fixed_version: Option<String>,
    /// How versions of this package compare.
    pub scheme: Ecosystem,
    /// Red Hat module stream (`nodejs:18`) the entry is restricted to, when any.
    pub module: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    Source,
    Binary,
}

impl PackageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Source => "source",
            PackageKind::Binary => "binary",
        }
    }

    pub fn parse(s: &str) -> Option<PackageKind> {
        match s {
            "source" => Some(PackageKind::Source),
            "binary" => Some(PackageKind::Binary),
            _ => None,
        }
    }
}

/// Status of a package with respect to an advisory, per correctness-checklist §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Affected while the installed version is below `fixed_version`.
    Fixed,
    /// Affected, no fix yet (Debian open/unfixed/no-dsa, Ubuntu needed/pending/needs-triage,
    /// Red Hat "Affected").
    Unfixed,
    /// Never affected (Debian `<not-affected>` / fixed version `0`, Alpine `0`, Ubuntu
    /// `not-affected` / DNE, Red Hat "Not affected").
    NotAffected,
    /// Affected and the vendor will not fix it (Debian `ignored`, Red Hat "Will not fix").
    WillNotFix,
    /// Affected, fix postponed (Debian `postponed`, Ubuntu `deferred`, Red Hat "Deferred").
    Deferred,
    /// Affected, the package or release is out of support (Debian `end-of-life`, Red Hat "Out
    /// of support scope", Ubuntu `ignored` with an end-of-life note).
    EndOfLife,
    /// Not yet triaged by the vendor (Debian `undetermined`); not reported by default.
    Undetermined,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Fixed,
        Status::Unfixed,
        Status::NotAffected,
        Status::WillNotFix,
        Status::Deferred,
        Status::EndOfLife,
        Status::Undetermined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fixed => "fixed",
            Status::Unfixed => "unfixed",
            Status::NotAffected => "not-affected",
            Status::WillNotFix => "will-not-fix",
            Status::Deferred => "deferred",
            Status::EndOfLife => "end-of-life",
            Status::Undetermined => "undetermined",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Severity on one scale for every source. Vendor words map onto it in [`Severity::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Negligible => "negligible",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Maps vendor terms (case-insensitive; Debian's `*` markers ignored): Debian urgencies
    /// (`unimportant`, `low`, `medium`, `high`, `not yet assigned`, `end-of-life`), Ubuntu
    /// priorities (`negligible`, `low`, `medium`, `high`, `critical`), Red Hat impacts
    /// (`Low`, `Moderate`, `Important`, `Critical`), CVSS qualitative ratings.
    pub fn parse(s: &str) -> Severity {
        let s = s.trim().trim_end_matches('*').trim().to_ascii_lowercase();
        match s.as_str() {
            "unimportant" | "negligible" | "none" | "untriaged" => Severity::Negligible,
            "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" | "important" => Severity::High,
            "critical" => Severity::Critical,
            _ => Severity::Unknown,
        }
    }
}

/// What one ingest changed in the store, for correlation and notifications to act on.
/// The full list of changes is read back with `Store::changes(ingest_id)`, the package keys it
/// touched with `Store::touched_keys(ingest_id)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSet {
    pub feed: String,
    /// None when nothing was ingested (the document was not modified).
    pub ingest_id: Option<i64>,
    pub n_advisories: u64,
    pub n_added: u64,
    pub n_changed: u64,
    pub n_withdrawn: u64,
    /// Records the parser skipped (logged with their reasons).
    pub n_skipped: u64,
    /// Findings the ingest added and resolved (computed in the same transaction).
    pub findings: crate::correlate::FindingsDelta,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.n_added == 0 && self.n_changed == 0 && self.n_withdrawn == 0
    }
}

/// Where an affected entry applies: the index correlation looks images up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PackageKey {
    pub distro: String,
    pub release: String,
    pub package: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Changed,
    Withdrawn,
}

/// One entry of a change set: the entry's identity and its state before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub change: ChangeKind,
    pub advisory_id: String,
    pub key: PackageKey,
    pub kind: PackageKind,
    pub module: Option<String>,
    /// (status, fixed version) before; None for added entries.
    pub before: Option<(Status, Option<String>)>,
    /// (status, fixed version) after; None for withdrawn entries.
    pub after: Option<(Status, Option<String>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("open"), None);
    }

    #[test]
    fn severities_from_vendor_words() {
        for (word, expected) in [
            ("unimportant", Severity::Negligible),
            ("low**", Severity::Low),
            ("Moderate", Severity::Medium),
            ("Important", Severity::High),
            ("critical", Severity::Critical),
            ("not yet assigned", Severity::Unknown),
            ("end-of-life", Severity::Unknown),
        ] {
            assert_eq!(Severity::parse(word), expected, "{word}");
        }
    }
}
