//! OSV JSON (one record, or an array of records) into advisories for the Debian, Ubuntu, Alpine
//! and Red Hat ecosystems. Owns the OSV wire structs and the ecosystem → (distro, release)
//! mapping; does no IO, never compares versions and never keeps more than one record of an
//! array in memory as a JSON tree.
//!
//! # Advisory
//!
//! - `id` is the record's `id`; `aliases` are `aliases` then `upstream` (not `related`: related
//!   records are other issues), then the CVE ids named by Ubuntu's per-release `cves_map`. An
//!   id of the form `UBUNTU-CVE-…` / `DEBIAN-CVE-…` / `ALPINE-CVE-…` (the record's own or an
//!   alias) also contributes the bare `CVE-…`, so a USN whose `upstream` names only
//!   `UBUNTU-CVE-2023-4911` still links to `CVE-2023-4911`.
//! - `title` is `summary`, else the first line of `details` (cut to [`TITLE_MAX_CHARS`]).
//! - `url` is the first reference of type `ADVISORY`, else the first of type `WEB`.
//! - `severity`: vendor words win over CVSS. Words come from `severity[]` entries of type
//!   `Ubuntu` (top level, per affected entry, and in Ubuntu's `database_specific.cves_map`) and
//!   from `severity` strings in `database_specific` / `ecosystem_specific`; the highest word
//!   counts. Ubuntu's `untriaged` is not a word (it says nothing yet). Without a word, the
//!   highest CVSS v3.0/v3.1 base score computed from a `CVSS_V3` vector gives the band. Severity
//!   data that is neither (CVSS v2 or v4 vectors, unknown words) gives `Unknown`; none at all
//!   gives None.
//!
//! # Affected entries
//!
//! | `package.ecosystem` | distro, release | kind | scheme |
//! |---|---|---|---|
//! | `Debian:12` | `debian`, `12` (a codename becomes its number) | source | dpkg |
//! | `Ubuntu:22.04:LTS`, `Ubuntu:25.10` | `ubuntu`, `22.04` | source | dpkg |
//! | `Ubuntu:Pro:18.04:LTS` | `ubuntu`, `18.04`, see below | source | dpkg |
//! | `Alpine:v3.19` | `alpine`, `3.19` | source | apk |
//! | `Red Hat:enterprise_linux:9::appstream` | `rhel`, `9` | binary | rpm |
//!
//! Anything else is skipped and counted: other ecosystems (PyPI, Rocky Linux, SUSE, ...), the
//! Ubuntu sub-tiers (`Ubuntu:Pro:FIPS…`, `Realtime`, `Nvidia-BlueField`: rebuilt forks whose
//! fixes never resolve a base disclosure) and Red Hat products other than plain
//! `enterprise_linux:<major>` (`rhel_eus:9.2`, `rhel_aus`, `rhel_e4s`, ...: their fixes are for
//! one minor release and would mask the main stream's).
//!
//! Status comes from the `ECOSYSTEM` ranges (other range types are ignored): a range still
//! open after its events (an `introduced` with no later `fixed`) is `Unfixed`; otherwise the
//! range's `fixed` version makes it `Fixed` (`fixed: "0"` means nothing was ever affected:
//! `NotAffected`). Lower bounds (`introduced: "0.9.13"`) are not kept: the model has none, so a
//! version below them counts as affected. `introduced: "0"` is taken first wherever it is
//! listed; other events are read in document order. A range closed only by `last_affected` is
//! skipped and counted (no fixed version to state). An entry without `ECOSYSTEM` ranges whose
//! `versions` list is not empty is `Unfixed`.
//!
//! When one record states the same (distro, release, package, module) more than once (several
//! ranges, `appstream` and `baseos`, `Ubuntu:26.04` and `Ubuntu:26.04:LTS`) the union of what
//! it says is kept: `Unfixed` wins over a fixed version, and of two fixed versions the higher
//! by the entry's version scheme wins (the union of "below A" and "below B").
//!
//! # Ubuntu Pro
//!
//! Canonical omits the base ecosystem when a fix ships only in Ubuntu Pro (ESM), so dropping
//! plain `Ubuntu:Pro:X.YY` entries would hide those disclosures from every X.YY image. A plain
//! Pro entry (also a base-ecosystem entry whose `ecosystem_specific.availability` says it needs
//! Ubuntu Pro) is therefore folded into release X.YY when the record has no base entry for the
//! same package and release: images below the ESM build are affected and the stated fix needs
//! a Pro subscription. When a base entry exists the Pro entry is skipped and counted.
//!
//! # Skips
//!
//! `ParseSummary::n_skipped` counts records (malformed element of an array, duplicate id,
//! withdrawn, rejected by the CVE program) and affected entries (unknown ecosystem or stream,
//! unusable name or range, Pro entry beside a base one), each logged with its reason. A
//! `withdrawn` record is a retraction, except from Canonical (`UBUNTU-`, `USN-`, `LSN-` ids),
//! who set `withdrawn` on records they stop regenerating; their records count as retracted
//! only when `details` opens with the CVE program's rejection text. Entries outside the feed's
//! `distro`/`releases` are dropped without counting, and a record left with no entries by that
//! is not emitted; a record that lists no affected entries at all still is (its aliases link
//! feeds). A single-record document that is not a record is a [`FormatError`].
//!
//! Red Hat module streams come from a `rpmmod=name:stream[:version:context]` purl qualifier or
//! a `name:stream[:…]:package` package name. Red Hat's converter drops both for most records,
//! leaving `module` None (a `.module+el9…` fixed version then shows a modular build whose
//! stream the record does not name).

use std::cmp::Ordering;
use std::collections::HashSet;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer as _};
use serde_json::Value;

use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::{Advisory, Affected, PackageKind, Severity, Status};
use crate::inventory::os::debian_release_for_codename;
use crate::inventory::Ecosystem;
use crate::versions;

/// Longest title taken from the first line of `details` (in characters, before the ellipsis).
pub const TITLE_MAX_CHARS: usize = 200;

/// Parses an OSV document: one record (a JSON object) or an array of records.
pub fn parse(bytes: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut run = Run { ctx, sink, seen: HashSet::new(), summary: ParseSummary::default() };
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {
            let record: Record =
                serde_json::from_slice(bytes).map_err(|e| format_error(format!("not an OSV record: {e}")))?;
            run.record(record);
        }
        Some(b'[') => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            de.deserialize_seq(RecordsVisitor { run: &mut run })
                .and_then(|()| de.end())
                .map_err(|e| format_error(format!("not an array of OSV records: {e}")))?;
        }
        _ => return Err(format_error("expected an OSV record (a JSON object) or an array of records")),
    }
    Ok(run.summary)
}

fn format_error(message: impl Into<String>) -> FormatError {
    FormatError::new(Format::Osv, message)
}

// ---------------------------------------------------------------------------------------------
// Wire structs: only the fields cascade reads; unknown fields are ignored.

#[derive(Debug, Deserialize)]
struct Record {
    id: String,
    summary: Option<String>,
    details: Option<String>,
    aliases: Option<Vec<String>>,
    upstream: Option<Vec<String>>,
    published: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    severity: Option<Vec<SeverityEntry>>,
    affected: Option<Vec<AffectedEntry>>,
    references: Option<Vec<Reference>>,
    database_specific: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct SeverityEntry {
    #[serde(rename = "type")]
    kind: Option<String>,
    score: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AffectedEntry {
    package: Option<Package>,
    severity: Option<Vec<SeverityEntry>>,
    ranges: Option<Vec<Range>>,
    versions: Option<Vec<String>>,
    ecosystem_specific: Option<Value>,
    database_specific: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Package {
    ecosystem: Option<String>,
    name: Option<String>,
    purl: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Range {
    #[serde(rename = "type")]
    kind: Option<String>,
    events: Option<Vec<Event>>,
}

#[derive(Debug, Deserialize)]
struct Event {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
}

/// Hands each element of the top-level array to [`Run::value`] as it is read.
struct RecordsVisitor<'r, 'a> {
    run: &'r mut Run<'a>,
}

impl<'de> Visitor<'de> for RecordsVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of OSV records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(value) = seq.next_element::<Value>()? {
            self.run.value(index, value);
            index += 1;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

struct Run<'a> {
    ctx: &'a ParseContext,
    sink: &'a mut dyn FnMut(Advisory),
    seen: HashSet<String>,
    summary: ParseSummary,
}

/// One affected entry mapped onto the model, before merging.
struct Mapped {
    affected: Affected,
    /// From an Ubuntu Pro stream (folded into the base release only when the base is absent).
    pro: bool,
}

impl Run<'_> {
    fn skip(&mut self, id: &str, reason: &str) {
        self.summary.n_skipped += 1;
        tracing::debug!(feed.name = %self.ctx.feed, advisory.id = %id, reason, "osv: skipped");
    }

    fn value(&mut self, index: usize, value: Value) {
        match serde_json::from_value::<Record>(value) {
            Ok(record) => self.record(record),
            Err(e) => {
                self.summary.n_skipped += 1;
                tracing::warn!(feed.name = %self.ctx.feed, index, error = %e, "osv: skipped a malformed record");
            }
        }
    }

    fn record(&mut self, record: Record) {
        let id = record.id.trim().to_owned();
        if id.is_empty() {
            return self.skip("", "record has an empty id");
        }
        if !self.seen.insert(id.clone()) {
            return self.skip(&id, "duplicate id in the document");
        }
        if record.details.as_deref().is_some_and(is_cve_rejection) {
            return self.skip(&id, "rejected by the CVE program");
        }
        if record.withdrawn.is_some() && !is_canonical(&id) {
            return self.skip(&id, "withdrawn");
        }

        let mut base: Vec<Affected> = Vec::new();
        let mut pro: Vec<Affected> = Vec::new();
        let n_listed = record.affected.as_ref().map_or(0, Vec::len);
        for entry in record.affected.iter().flatten() {
            match map_entry(entry) {
                Err(reason) => self.skip(&id, &reason),
                Ok(mapped) if !self.in_scope(&mapped.affected) => {}
                Ok(Mapped { affected, pro: false }) => merge_into(&mut base, affected),
                Ok(Mapped { affected, pro: true }) => merge_into(&mut pro, affected),
            }
        }
        let mut affected = base;
        for entry in pro {
            if affected.iter().any(|a| same_key(a, &entry)) {
                self.skip(&id, "ubuntu pro entry beside a base entry for the same release and package");
            } else {
                affected.push(entry);
            }
        }
        if n_listed > 0 && affected.is_empty() {
            tracing::debug!(feed.name = %self.ctx.feed, advisory.id = %id, "osv: no affected entry left, not emitted");
            return;
        }

        let advisory = Advisory {
            aliases: aliases(&id, &record),
            title: title(&record),
            severity: severity(&record),
            published: non_empty(record.published.as_deref()),
            modified: non_empty(record.modified.as_deref()),
            url: url(&record),
            affected,
            id,
        };
        (self.sink)(advisory);
    }

    fn in_scope(&self, a: &Affected) -> bool {
        self.ctx.distro.as_deref().is_none_or(|d| d.eq_ignore_ascii_case(&a.distro))
            && (self.ctx.releases.is_empty() || self.ctx.releases.contains(&a.release))
    }
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Canonical's record ids; they use `withdrawn` for "no longer regenerated", not "retracted".
fn is_canonical(id: &str) -> bool {
    ["UBUNTU-", "USN-", "LSN-"].iter().any(|p| id.starts_with(p))
}

/// `details` as the CVE program words a rejected record (Canonical copies it verbatim).
fn is_cve_rejection(details: &str) -> bool {
    let d = details.trim_start().to_ascii_lowercase();
    d.starts_with("** reject **") || d.starts_with("rejected reason:")
}

/// `CVE-YYYY-NNNN…`: four year digits, then at least four digits.
pub(super) fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else { return false };
    let Some((year, number)) = rest.split_once('-') else { return false };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `CVE-2021-3782` from a distro-prefixed id such as `UBUNTU-CVE-2021-3782`.
fn embedded_cve(id: &str) -> Option<&str> {
    let (prefix, _) = id.split_once("-CVE-")?;
    let cve = &id[prefix.len() + 1..];
    (!prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_uppercase()) && is_cve_id(cve)).then_some(cve)
}

fn aliases(id: &str, record: &Record) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |alias: &str| {
        let alias = alias.trim();
        if !alias.is_empty() && alias != id && !out.iter().any(|a| a == alias) {
            out.push(alias.to_owned());
        }
    };
    if let Some(cve) = embedded_cve(id) {
        push(cve);
    }
    for alias in record.aliases.iter().flatten().chain(record.upstream.iter().flatten()) {
        push(alias);
        if let Some(cve) = embedded_cve(alias.trim()) {
            push(cve);
        }
    }
    for entry in record.affected.iter().flatten() {
        let cves = entry.database_specific.as_ref().and_then(|d| d.pointer("/cves_map/cves")).and_then(Value::as_array);
        for cve in cves.into_iter().flatten() {
            if let Some(cve) = cve.get("id").and_then(Value::as_str).filter(|c| is_cve_id(c.trim())) {
                push(cve);
            }
        }
    }
    out
}

fn title(record: &Record) -> Option<String> {
    if let Some(summary) = non_empty(record.summary.as_deref()) {
        return Some(summary);
    }
    let line = record.details.as_deref()?.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(truncate_title(line))
}

/// Cuts `line` to at most [`TITLE_MAX_CHARS`] characters, at a space when one is near the end.
fn truncate_title(line: &str) -> String {
    let Some((cut, _)) = line.char_indices().nth(TITLE_MAX_CHARS) else {
        return line.to_owned();
    };
    let head = &line[..cut];
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if space >= cut / 2 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

fn url(record: &Record) -> Option<String> {
    let refs = record.references.as_deref().unwrap_or_default();
    let first = |kind: &str| {
        refs.iter()
            .filter(|r| r.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(kind)))
            .find_map(|r| non_empty(r.url.as_deref()))
    };
    first("ADVISORY").or_else(|| first("WEB"))
}

// ---------------------------------------------------------------------------------------------
// Severity

#[derive(Default)]
struct SeverityVotes {
    words: Option<Severity>,
    cvss: Option<Severity>,
    seen: bool,
}

impl SeverityVotes {
    fn word(&mut self, word: &str) {
        self.seen = true;
        if word.trim().eq_ignore_ascii_case("untriaged") {
            return;
        }
        let s = Severity::parse(word);
        if s != Severity::Unknown {
            self.words = self.words.max(Some(s));
        }
    }

    fn entry(&mut self, kind: &str, score: &str) {
        match kind {
            "Ubuntu" => self.word(score),
            "CVSS_V3" => {
                self.seen = true;
                if let Some(s) = cvss3_severity(score) {
                    self.cvss = self.cvss.max(Some(s));
                }
            }
            _ => self.seen = true,
        }
    }

    fn entries(&mut self, entries: Option<&Vec<SeverityEntry>>) {
        for e in entries.into_iter().flatten() {
            if let (Some(kind), Some(score)) = (&e.kind, &e.score) {
                self.entry(kind, score);
            }
        }
    }

    /// `severity` (a string) in a `database_specific` / `ecosystem_specific` object.
    fn specific(&mut self, specific: Option<&Value>) {
        if let Some(word) = specific.and_then(|v| v.get("severity")).and_then(Value::as_str) {
            self.word(word);
        }
    }

    fn result(&self) -> Option<Severity> {
        self.words.or(self.cvss).or(self.seen.then_some(Severity::Unknown))
    }
}

fn severity(record: &Record) -> Option<Severity> {
    let mut votes = SeverityVotes::default();
    votes.entries(record.severity.as_ref());
    votes.specific(record.database_specific.as_ref());
    for entry in record.affected.iter().flatten() {
        votes.entries(entry.severity.as_ref());
        votes.specific(entry.database_specific.as_ref());
        votes.specific(entry.ecosystem_specific.as_ref());
        let cves = entry.database_specific.as_ref().and_then(|d| d.pointer("/cves_map/cves")).and_then(Value::as_array);
        for cve in cves.into_iter().flatten() {
            for s in cve.get("severity").and_then(Value::as_array).into_iter().flatten() {
                if let (Some(kind), Some(score)) =
                    (s.get("type").and_then(Value::as_str), s.get("score").and_then(Value::as_str))
                {
                    votes.entry(kind, score);
                }
            }
        }
    }
    votes.result()
}

/// The qualitative band of a CVSS v3.0/v3.1 base score computed from its vector (FIRST CVSS
/// v3.1 specification §7); None when a base metric is missing, repeated or unknown.
fn cvss3_severity(vector: &str) -> Option<Severity> {
    let mut parts = vector.trim().split('/');
    let v31 = match parts.next()? {
        "CVSS:3.1" => true,
        "CVSS:3.0" => false,
        _ => return None,
    };
    const NAMES: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    let mut metrics: [Option<&str>; 8] = [None; 8];
    for part in parts {
        let (name, value) = part.split_once(':')?;
        // Temporal and environmental metrics do not change the base score.
        if let Some(i) = NAMES.iter().position(|n| *n == name) {
            if metrics[i].replace(value).is_some() {
                return None;
            }
        }
    }
    let [av, ac, pr, ui, s, c, i, a] = metrics;
    let changed = match s? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match av? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match ac? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (pr?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match ui? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |m: Option<&str>| match m? {
        "H" => Some(0.56),
        "L" => Some(0.22),
        "N" => Some(0.0),
        _ => None,
    };
    let (c, i, a) = (cia(c)?, cia(i)?, cia(a)?);

    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact: f64 = if changed { 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02_f64).powi(15) } else { 6.42 * iss };
    let exploitability = 8.22 * av * ac * pr * ui;
    let round_up = |x: f64| -> f64 {
        if v31 {
            // v3.1 Roundup: avoids floating-point artefacts such as 4.000000001 → 4.1.
            let n = (x * 100_000.0).round() as i64;
            if n % 10_000 == 0 {
                n as f64 / 100_000.0
            } else {
                (n / 10_000 + 1) as f64 / 10.0
            }
        } else {
            (x * 10.0).ceil() / 10.0
        }
    };
    let score = if impact <= 0.0 {
        0.0
    } else if changed {
        round_up((1.08 * (impact + exploitability)).min(10.0))
    } else {
        round_up((impact + exploitability).min(10.0))
    };
    Some(match score {
        s if s <= 0.0 => Severity::Negligible,
        s if s < 4.0 => Severity::Low,
        s if s < 7.0 => Severity::Medium,
        s if s < 9.0 => Severity::High,
        _ => Severity::Critical,
    })
}

// ---------------------------------------------------------------------------------------------
// Affected entries

/// Where an ecosystem string points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    distro: &'static str,
    release: String,
    kind: PackageKind,
    scheme: Ecosystem,
    pro: bool,
}

/// Maps `package.ecosystem` (see the table in the module docs); Err names why it is skipped.
fn target(ecosystem: &str) -> Result<Target, String> {
    let parts: Vec<&str> = ecosystem.split(':').collect();
    let unsupported = || format!("ecosystem {ecosystem:?} is not one cascade matches");
    let source = |distro, release, scheme, pro| Target { distro, release, kind: PackageKind::Source, scheme, pro };
    match parts.as_slice() {
        ["Debian", release] => {
            let release = release.trim();
            if !release.is_empty() && release.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                Ok(source("debian", release.to_owned(), Ecosystem::Dpkg, false))
            } else {
                debian_release_for_codename(release)
                    .map(|r| source("debian", r.to_owned(), Ecosystem::Dpkg, false))
                    .ok_or_else(unsupported)
            }
        }
        ["Ubuntu", rest @ ..] => {
            let (pro, rest) = match rest {
                ["Pro", rest @ ..] => (true, rest),
                _ => (false, rest),
            };
            match rest {
                [version] | [version, "LTS"] if is_major_minor(version) => {
                    Ok(source("ubuntu", (*version).to_owned(), Ecosystem::Dpkg, pro))
                }
                _ => Err(format!("ecosystem {ecosystem:?} is an Ubuntu stream other than a release or plain Pro")),
            }
        }
        ["Alpine", release] => {
            let release = release.strip_prefix('v').unwrap_or(release);
            if release == "edge" {
                return Ok(source("alpine", "edge".to_owned(), Ecosystem::Apk, false));
            }
            let mut numbers = release.split('.');
            match (numbers.next(), numbers.next()) {
                (Some(major), Some(minor)) if is_major_minor(&format!("{major}.{minor}")) => {
                    Ok(source("alpine", format!("{major}.{minor}"), Ecosystem::Apk, false))
                }
                _ => Err(unsupported()),
            }
        }
        ["Red Hat", "enterprise_linux", major, ..]
            if !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(Target {
                distro: "rhel",
                release: (*major).to_owned(),
                kind: PackageKind::Binary,
                scheme: Ecosystem::Rpm,
                pro: false,
            })
        }
        ["Red Hat", ..] => Err(format!("ecosystem {ecosystem:?} is a Red Hat product other than plain RHEL")),
        _ => Err(unsupported()),
    }
}

fn is_major_minor(s: &str) -> bool {
    match s.split_once('.') {
        Some((major, minor)) => {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn map_entry(entry: &AffectedEntry) -> Result<Mapped, String> {
    let package = entry.package.as_ref().ok_or("affected entry without a package")?;
    let ecosystem = package.ecosystem.as_deref().map(str::trim).unwrap_or_default();
    let target = target(ecosystem)?;
    let name = package.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).ok_or("package without a name")?;
    let (name, module) = if target.distro == "rhel" {
        let (name, name_module) = split_module_name(name)?;
        (name, package.purl.as_deref().and_then(purl_module).or(name_module))
    } else {
        (name, None)
    };
    let (status, fixed_version) = status(entry, target.scheme)?;
    let pro = target.pro
        || (target.distro == "ubuntu"
            && entry
                .ecosystem_specific
                .as_ref()
                .and_then(|e| e.get("availability"))
                .and_then(Value::as_str)
                .is_some_and(|a| a.contains("Ubuntu Pro")));
    Ok(Mapped {
        affected: Affected {
            distro: target.distro.to_owned(),
            release: target.release,
            package: name.to_owned(),
            kind: target.kind,
            status,
            fixed_version,
            scheme: target.scheme,
            module,
        },
        pro,
    })
}

/// `nodejs:18::nodejs` or `nodejs:18:8060020220523091807:ad008a3a:nodejs` → (`nodejs`,
/// `nodejs:18`); a name without `:` is returned as is.
fn split_module_name(name: &str) -> Result<(&str, Option<String>), String> {
    if !name.contains(':') {
        return Ok((name, None));
    }
    let parts: Vec<&str> = name.split(':').collect();
    match parts.as_slice() {
        [module, stream, .., package] if parts.len() >= 3 && !module.is_empty() && !stream.is_empty() => {
            if package.is_empty() {
                return Err(format!("package name {name:?} ends without a package"));
            }
            Ok((package, Some(format!("{module}:{stream}"))))
        }
        _ => Err(format!("package name {name:?} is not `module:stream[:…]:package`")),
    }
}

/// The `name:stream` of a `rpmmod=name:stream[:version:context]` purl qualifier.
fn purl_module(purl: &str) -> Option<String> {
    let purl = purl.split_once('#').map_or(purl, |(p, _)| p);
    let (_, qualifiers) = purl.split_once('?')?;
    let value = qualifiers.split('&').find_map(|q| q.strip_prefix("rpmmod="))?;
    let value = percent_decode(value);
    let mut parts = value.split(':');
    match (parts.next(), parts.next()) {
        (Some(module), Some(stream)) if !module.is_empty() && !stream.is_empty() => Some(format!("{module}:{stream}")),
        _ => None,
    }
}

/// `%XX` escapes of a purl component; a malformed escape is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What one range (or a merge of several) says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Unfixed,
    Fixed(String),
    NotAffected,
}

impl Outcome {
    /// Union of the affected versions of `self` and `other`; of two fixed versions the
    /// higher by `scheme` wins.
    fn union(self, other: Outcome, scheme: Ecosystem) -> Outcome {
        match (self, other) {
            (Outcome::Unfixed, _) | (_, Outcome::Unfixed) => Outcome::Unfixed,
            (Outcome::NotAffected, o) | (o, Outcome::NotAffected) => o,
            (Outcome::Fixed(a), Outcome::Fixed(b)) => {
                Outcome::Fixed(if versions::compare(scheme, &b, &a) == Ordering::Greater { b } else { a })
            }
        }
    }
}

/// The status and fixed version an entry's ranges state, versions compared by `scheme`.
fn status(entry: &AffectedEntry, scheme: Ecosystem) -> Result<(Status, Option<String>), String> {
    let mut outcome: Option<Outcome> = None;
    let mut saw_range = false;
    for range in entry.ranges.iter().flatten() {
        if range.kind.as_deref() != Some("ECOSYSTEM") {
            continue;
        }
        saw_range = true;
        let this = range_outcome(range.events.as_deref().unwrap_or_default())?;
        outcome = Some(match outcome {
            Some(before) => before.union(this, scheme),
            None => this,
        });
    }
    let outcome = match outcome {
        Some(o) => o,
        None if !saw_range && entry.versions.as_ref().is_some_and(|v| !v.is_empty()) => Outcome::Unfixed,
        None => return Err("no ECOSYSTEM range and no versions".to_owned()),
    };
    Ok(match outcome {
        Outcome::Unfixed => (Status::Unfixed, None),
        Outcome::NotAffected => (Status::NotAffected, None),
        Outcome::Fixed(v) => (Status::Fixed, Some(v)),
    })
}

fn range_outcome(events: &[Event]) -> Result<Outcome, String> {
    let is_zero = |e: &&Event| e.introduced.as_deref().map(str::trim) == Some("0");
    // `introduced: "0"` is below every version: read it first wherever it is listed.
    let ordered = events.iter().filter(is_zero).chain(events.iter().filter(|e| !is_zero(e)));
    let (mut open, mut fixed, mut last_affected) = (false, None::<&str>, false);
    for event in ordered {
        if event.introduced.is_some() {
            open = true;
        }
        if let Some(v) = event.fixed.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            open = false;
            fixed = Some(v);
        }
        if event.last_affected.is_some() {
            open = false;
            last_affected = true;
        }
    }
    match fixed {
        _ if open => Ok(Outcome::Unfixed),
        Some("0") => Ok(Outcome::NotAffected),
        Some(v) => Ok(Outcome::Fixed(v.to_owned())),
        None if last_affected => Err("range closed by last_affected only: no fixed version to state".to_owned()),
        None => Err("ECOSYSTEM range without an introduced or fixed event".to_owned()),
    }
}

fn same_key(a: &Affected, b: &Affected) -> bool {
    a.distro == b.distro && a.release == b.release && a.package == b.package && a.kind == b.kind && a.module == b.module
}

/// Adds `new` to `entries`, or unites it with the entry of the same key.
fn merge_into(entries: &mut Vec<Affected>, new: Affected) {
    let Some(existing) = entries.iter_mut().find(|a| same_key(a, &new)) else {
        entries.push(new);
        return;
    };
    let outcome = |a: &Affected| match (a.status, &a.fixed_version) {
        (Status::Fixed, Some(v)) => Outcome::Fixed(v.clone()),
        (Status::NotAffected, _) => Outcome::NotAffected,
        _ => Outcome::Unfixed,
    };
    let (status, fixed) = match outcome(existing).union(outcome(&new), existing.scheme) {
        Outcome::Unfixed => (Status::Unfixed, None),
        Outcome::NotAffected => (Status::NotAffected, None),
        Outcome::Fixed(v) => (Status::Fixed, Some(v)),
    };
    existing.status = status;
    existing.fixed_version = fixed;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per advisory (`id aliases=… sev=… title=… url=… published=…`), then one
    /// indented line per affected entry (`distro release package kind status fixed scheme
    /// module`), then `skipped N`; `-` for None.
    fn render(advisories: &[Advisory], summary: &ParseSummary) -> String {
        let mut out = String::new();
        for a in advisories {
            out.push_str(&format!(
                "{} aliases={} sev={} title={} url={} published={}\n",
                a.id,
                a.aliases.join(","),
                a.severity.map_or("-", Severity::as_str),
                a.title.as_deref().unwrap_or("-"),
                a.url.as_deref().unwrap_or("-"),
                a.published.as_deref().unwrap_or("-"),
            ));
            for e in &a.affected {
                out.push_str(&format!(
                    "  {} {} {} {} {} {} {} {}\n",
                    e.distro,
                    e.release,
                    e.package,
                    e.kind.as_str(),
                    e.status.as_str(),
                    e.fixed_version.as_deref().unwrap_or("-"),
                    e.scheme.as_str(),
                    e.module.as_deref().unwrap_or("-"),
                ));
            }
        }
        out.push_str(&format!("skipped {}\n", summary.n_skipped));
        out
    }

    fn run(input: &str, ctx: &ParseContext) -> Result<String, FormatError> {
        let mut advisories = Vec::new();
        let summary = parse(input.as_bytes(), ctx, &mut |a| advisories.push(a))?;
        Ok(render(&advisories, &summary))
    }

    fn check(input: &str, expected: &str) {
        check_ctx(input, &ParseContext::default(), expected);
    }

    fn check_ctx(input: &str, ctx: &ParseContext, expected: &str) {
        let actual = run(input, ctx).unwrap_or_else(|e| panic!("parse failed: {e}"));
        assert_eq!(actual.trim(), unindent(expected), "input: {input}");
    }

    /// Strips the common indentation of a raw-string expectation.
    fn unindent(s: &str) -> String {
        let lines: Vec<&str> = s.lines().skip_while(|l| l.trim().is_empty()).collect();
        let indent = lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min();
        let indent = indent.unwrap_or(0);
        lines.iter().map(|l| l.get(indent..).unwrap_or("")).collect::<Vec<_>>().join("\n").trim_end().to_owned()
    }

    fn one(id: &str, affected: &str) -> String {
        format!(r#"{{"id": "{id}", "summary": "s", "affected": [{affected}]}}"#)
    }

    fn entry(ecosystem: &str, name: &str, events: &str) -> String {
        format!(
            r#"{{"package": {{"ecosystem": "{ecosystem}", "name": "{name}"}},
                "ranges": [{{"type": "ECOSYSTEM", "events": [{events}]}}]}}"#
        )
    }

    const FIXED: &str = r#"{"introduced": "0"}, {"fixed": "1.2-3"}"#;
    const OPEN: &str = r#"{"introduced": "0"}"#;

    #[test]
    fn debian_record_with_fix() {
        check(
            r#"{
              "id": "DLA-3022-1", "published": "2022-05-25T00:00:00Z", "modified": "2026-03-09T01:23:37Z",
              "upstream": ["CVE-2022-1664", "DEBIAN-CVE-2022-1664"], "summary": "dpkg - security update",
              "affected": [{"package": {"name": "dpkg", "ecosystem": "Debian:9"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.18.26"}]}],
                "versions": ["1.18.24", "1.18.25"]}]
            }"#,
            "
            DLA-3022-1 aliases=CVE-2022-1664,DEBIAN-CVE-2022-1664 sev=- title=dpkg - security update url=- published=2022-05-25T00:00:00Z
              debian 9 dpkg source fixed 1.18.26 dpkg -
            skipped 0
            ",
        );
    }

    #[test]
    fn ecosystems_map_to_distro_release_kind_and_scheme() {
        let entries = [
            entry("Debian:12", "a", FIXED),
            entry("Debian:bookworm", "b", FIXED),
            entry("Ubuntu:22.04:LTS", "c", FIXED),
            entry("Ubuntu:25.10", "d", FIXED),
            entry("Alpine:v3.19", "e", FIXED),
            entry("Alpine:v3.20.1", "f", FIXED),
            entry("Red Hat:enterprise_linux:9::appstream", "g", FIXED),
            entry("Red Hat:enterprise_linux:8::baseos", "h", FIXED),
        ];
        check(
            &one("X-1", &entries.join(",")),
            "
            X-1 aliases= sev=- title=s url=- published=-
              debian 12 a source fixed 1.2-3 dpkg -
              debian 12 b source fixed 1.2-3 dpkg -
              ubuntu 22.04 c source fixed 1.2-3 dpkg -
              ubuntu 25.10 d source fixed 1.2-3 dpkg -
              alpine 3.19 e source fixed 1.2-3 apk -
              alpine 3.20 f source fixed 1.2-3 apk -
              rhel 9 g binary fixed 1.2-3 rpm -
              rhel 8 h binary fixed 1.2-3 rpm -
            skipped 0
            ",
        );
    }

    #[test]
    fn unknown_ecosystems_and_streams_are_skipped_and_counted() {
        let entries = [
            entry("PyPI", "requests", FIXED),
            entry("Rocky Linux:9", "openssl", FIXED),
            entry("Ubuntu:Pro:FIPS-updates:22.04:LTS", "openssl", FIXED),
            entry("Ubuntu:Nvidia-BlueField:22.04:LTS", "openssl", FIXED),
            entry("Red Hat:rhel_eus:9.2::appstream", "openssl", FIXED),
            entry("Red Hat:enterprise_linux:8.6::appstream", "openssl", FIXED),
            entry("Debian", "openssl", FIXED),
            entry("Alpine:v3", "openssl", FIXED),
            entry("Debian:12", "kept", FIXED),
        ];
        check(
            &one("X-1", &entries.join(",")),
            "
            X-1 aliases= sev=- title=s url=- published=-
              debian 12 kept source fixed 1.2-3 dpkg -
            skipped 8
            ",
        );
        // Nothing usable left: the record is not emitted, the entries are counted.
        check(&one("GHSA-xxxx", &entry("PyPI", "requests", FIXED)), "skipped 1");
    }

    #[test]
    fn status_from_ranges() {
        let entries = [
            entry("Debian:12", "fixed", FIXED),
            entry("Debian:12", "open", OPEN),
            entry("Debian:12", "zero-listed-last", r#"{"fixed": "2.0-1"}, {"introduced": "0"}"#),
            entry("Debian:12", "reintroduced", r#"{"introduced": "0"}, {"fixed": "1.0"}, {"introduced": "1.5"}"#),
            entry("Debian:12", "never", r#"{"introduced": "0"}, {"fixed": "0"}"#),
            entry("Debian:12", "lower-bound", r#"{"introduced": "0.9.13"}, {"fixed": "1.2.3-r4"}"#),
            entry("Debian:12", "last-affected", r#"{"introduced": "0"}, {"last_affected": "1.0"}"#),
            entry("Debian:12", "no-events", ""),
        ];
        check(
            &one("X-1", &entries.join(",")),
            "
            X-1 aliases= sev=- title=s url=- published=-
              debian 12 fixed source fixed 1.2-3 dpkg -
              debian 12 open source unfixed - dpkg -
              debian 12 zero-listed-last source fixed 2.0-1 dpkg -
              debian 12 reintroduced source unfixed - dpkg -
              debian 12 never source not-affected - dpkg -
              debian 12 lower-bound source fixed 1.2.3-r4 dpkg -
            skipped 2
            ",
        );
    }

    #[test]
    fn versions_without_ranges_are_unfixed() {
        check(
            &one(
                "X-1",
                r#"{"package": {"ecosystem": "Debian:11", "name": "a"}, "versions": ["1.0-1"]},
                   {"package": {"ecosystem": "Debian:11", "name": "b"}, "versions": []},
                   {"package": {"ecosystem": "Debian:11", "name": "c"},
                    "ranges": [{"type": "GIT", "repo": "https://example.org/c.git", "events": [{"introduced": "0"}]}]}"#,
            ),
            "
            X-1 aliases= sev=- title=s url=- published=-
              debian 11 a source unfixed - dpkg -
            skipped 2
            ",
        );
    }

    #[test]
    fn repeated_keys_are_united() {
        let entries = [
            entry(
                "Red Hat:enterprise_linux:9::appstream",
                "sudo",
                r#"{"introduced": "0"}, {"fixed": "0:1.9.5p2-10.el9_6.1"}"#,
            ),
            entry(
                "Red Hat:enterprise_linux:9::baseos",
                "sudo",
                r#"{"introduced": "0"}, {"fixed": "0:1.9.5p2-10.el9_6.1"}"#,
            ),
            entry("Ubuntu:26.04", "curl", FIXED),
            entry("Ubuntu:26.04:LTS", "curl", r#"{"introduced": "0"}, {"fixed": "1.2-4"}"#),
            entry("Debian:12", "x", FIXED),
            entry("Debian:12", "x", OPEN),
            entry("Debian:12", "x", FIXED),
            // The higher fix by each scheme's order, wherever it is listed.
            entry("Debian:12", "y", r#"{"introduced": "0"}, {"fixed": "1.10-1"}"#),
            entry("Debian:12", "y", r#"{"introduced": "0"}, {"fixed": "1.9-1"}"#),
            entry("Debian:12", "y", r#"{"introduced": "0"}, {"fixed": "1.10~rc1-1"}"#),
            entry("Alpine:v3.19", "z", r#"{"introduced": "0"}, {"fixed": "2.0_rc1-r0"}"#),
            entry("Alpine:v3.19", "z", r#"{"introduced": "0"}, {"fixed": "2.0-r0"}"#),
        ];
        check(
            &one("X-1", &entries.join(",")),
            "
            X-1 aliases= sev=- title=s url=- published=-
              rhel 9 sudo binary fixed 0:1.9.5p2-10.el9_6.1 rpm -
              ubuntu 26.04 curl source fixed 1.2-4 dpkg -
              debian 12 x source unfixed - dpkg -
              debian 12 y source fixed 1.10-1 dpkg -
              alpine 3.19 z source fixed 2.0-r0 apk -
            skipped 0
            ",
        );
    }

    #[test]
    fn ubuntu_pro_folds_into_the_base_release_only_without_a_base_entry() {
        let pro_only = r#"{"package": {"ecosystem": "Ubuntu:Pro:16.04:LTS", "name": "wayland"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.12.0-1~ubuntu16.04.3+esm1"}]}],
            "ecosystem_specific": {"availability": "Available with Ubuntu Pro (Infra-only): https://ubuntu.com/pro"}}"#;
        let entries = [
            pro_only.to_owned(),
            entry("Ubuntu:Pro:20.04:LTS", "wayland", r#"{"introduced": "0"}, {"fixed": "1.18.0-1ubuntu0.1+esm1"}"#),
            entry("Ubuntu:20.04:LTS", "wayland", r#"{"introduced": "0"}, {"fixed": "1.18.0-1ubuntu0.1"}"#),
            // Base ecosystem, but the fix needs Pro: treated as a Pro entry.
            r#"{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "wayland"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.20.0-1ubuntu0.1+esm1"}]}],
                "ecosystem_specific": {"availability": "Available with Ubuntu Pro: https://ubuntu.com/pro"}}"#
                .to_owned(),
            entry("Ubuntu:22.04:LTS", "wayland", OPEN),
        ];
        check(
            &one("UBUNTU-CVE-2021-3782", &entries.join(",")),
            "
            UBUNTU-CVE-2021-3782 aliases=CVE-2021-3782 sev=- title=s url=- published=-
              ubuntu 20.04 wayland source fixed 1.18.0-1ubuntu0.1 dpkg -
              ubuntu 22.04 wayland source unfixed - dpkg -
              ubuntu 16.04 wayland source fixed 1.12.0-1~ubuntu16.04.3+esm1 dpkg -
            skipped 2
            ",
        );
    }

    #[test]
    fn red_hat_modules_from_names_and_purls() {
        check(
            &one(
                "RHSA-2024:1",
                r#"{"package": {"ecosystem": "Red Hat:enterprise_linux:8::appstream", "name": "nodejs",
                     "purl": "pkg:rpm/redhat/nodejs?arch=src&rpmmod=nodejs%3A18%3A8060020220523091807%3Aad008a3a"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:18.1-1.module+el8"}]}]},
                   {"package": {"ecosystem": "Red Hat:enterprise_linux:8::appstream", "name": "postgresql:12::postgresql"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "12.1-1"}]}]},
                   {"package": {"ecosystem": "Red Hat:enterprise_linux:8::appstream",
                     "name": "perl:5.32:8100020240613122040:25e700aa:perl-libs"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4:5.32.1-473"}]}]},
                   {"package": {"ecosystem": "Red Hat:enterprise_linux:8::appstream", "name": "nodejs:18"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1"}]}]},
                   {"package": {"ecosystem": "Red Hat:enterprise_linux:8::appstream", "name": "bash",
                     "purl": "pkg:rpm/redhat/bash?rpmmod=rhel10"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.1-1"}]}]}"#,
            ),
            "
            RHSA-2024:1 aliases= sev=- title=s url=- published=-
              rhel 8 nodejs binary fixed 1:18.1-1.module+el8 rpm nodejs:18
              rhel 8 postgresql binary fixed 12.1-1 rpm postgresql:12
              rhel 8 perl-libs binary fixed 4:5.32.1-473 rpm perl:5.32
              rhel 8 bash binary fixed 5.1-1 rpm -
            skipped 1
            ",
        );
    }

    #[test]
    fn metadata_title_url_and_aliases() {
        check(
            r#"{"id": "USN-6409-1", "summary": "  ", "details": "\n\nIt was discovered that glibc...\nmore\n",
                "aliases": [], "upstream": ["UBUNTU-CVE-2023-4527", "UBUNTU-CVE-2023-4911"],
                "related": ["CVE-2099-0001"],
                "references": [{"type": "REPORT", "url": "https://ubuntu.com/security/CVE-2023-4527"},
                               {"type": "WEB", "url": "https://example.org/web"},
                               {"type": "ADVISORY", "url": "https://ubuntu.com/security/notices/USN-6409-1"}]}"#,
            "
            USN-6409-1 aliases=UBUNTU-CVE-2023-4527,CVE-2023-4527,UBUNTU-CVE-2023-4911,CVE-2023-4911 sev=- title=It was discovered that glibc... url=https://ubuntu.com/security/notices/USN-6409-1 published=-
            skipped 0
            ",
        );
        check(
            r#"{"id": "X-1", "references": [{"type": "REPORT", "url": "https://r"}, {"type": "WEB", "url": "https://w"}]}"#,
            "
            X-1 aliases= sev=- title=- url=https://w published=-
            skipped 0
            ",
        );
        let long = "word ".repeat(100);
        let mut advisories = Vec::new();
        let input = format!(r#"{{"id": "X-2", "details": "{long}"}}"#);
        parse(input.as_bytes(), &ParseContext::default(), &mut |a| advisories.push(a)).expect("parses");
        let title = advisories[0].title.clone().unwrap_or_default();
        assert!(title.ends_with("word…") && title.chars().count() <= TITLE_MAX_CHARS + 1, "{title}");
    }

    #[test]
    fn aliases_from_ubuntu_cves_map() {
        check(
            &one(
                "USN-5614-1",
                r#"{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "wayland"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.20.0-1ubuntu0.1"}]}],
                    "database_specific": {"cves_map": {"ecosystem": "Ubuntu:22.04:LTS", "cves": [
                      {"id": "CVE-2021-3782", "severity": [{"type": "Ubuntu", "score": "medium"}]},
                      {"id": "https://launchpad.net/bugs/1", "severity": []}]}}}"#,
            ),
            "
            USN-5614-1 aliases=CVE-2021-3782 sev=medium title=s url=- published=-
              ubuntu 22.04 wayland source fixed 1.20.0-1ubuntu0.1 dpkg -
            skipped 0
            ",
        );
    }

    fn severity_of(json: &str) -> Option<Severity> {
        let record: Record = serde_json::from_str(json).expect("test record");
        severity(&record)
    }

    #[test]
    fn severity_words_win_over_cvss() {
        let cvss_critical = r#"{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}"#;
        for (severity, expected) in [
            (format!(r#"[{cvss_critical}, {{"type": "Ubuntu", "score": "low"}}]"#), Some(Severity::Low)),
            (format!(r#"[{cvss_critical}]"#), Some(Severity::Critical)),
            (format!(r#"[{cvss_critical}, {{"type": "Ubuntu", "score": "untriaged"}}]"#), Some(Severity::Critical)),
            (
                r#"[{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]"#
                    .to_owned(),
                Some(Severity::Unknown),
            ),
            ("[]".to_owned(), None),
        ] {
            let json = format!(r#"{{"id": "X", "severity": {severity}}}"#);
            assert_eq!(severity_of(&json), expected, "{severity}");
        }
        assert_eq!(
            severity_of(r#"{"id": "GHSA-1", "database_specific": {"severity": "MODERATE"}}"#),
            Some(Severity::Medium)
        );
        assert_eq!(
            severity_of(
                r#"{"id": "X", "affected": [{"ecosystem_specific": {"severity": "high"}},
                                            {"database_specific": {"severity": "low"}}]}"#
            ),
            Some(Severity::High)
        );
    }

    #[test]
    fn cvss3_base_score_bands() {
        for (vector, expected) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Some(Severity::Critical)), // 9.8
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", Some(Severity::Critical)), // 10.0
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", Some(Severity::High)),     // 8.1
            ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", Some(Severity::High)),     // 7.0
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Some(Severity::High)),     // 7.5
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:H", Some(Severity::Medium)),   // 6.6
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", Some(Severity::Medium)),   // 6.1
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N", Some(Severity::Low)),      // 3.3
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", Some(Severity::Low)),      // 1.6
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", Some(Severity::Negligible)), // 0.0
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O", Some(Severity::Critical)),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", None),
            ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None),
            ("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", None),
            ("", None),
        ] {
            assert_eq!(cvss3_severity(vector), expected, "{vector}");
        }
    }

    #[test]
    fn withdrawn_and_rejected_records() {
        let input = r#"[
          {"id": "GHSA-gone", "withdrawn": "2024-01-01T00:00:00Z",
           "affected": [{"package": {"ecosystem": "Debian:12", "name": "a"}, "versions": ["1"]}]},
          {"id": "UBUNTU-CVE-2013-2208", "withdrawn": "2025-07-18T16:42:51Z", "upstream": ["CVE-2013-2208"],
           "affected": [{"package": {"ecosystem": "Ubuntu:14.04:LTS", "name": "tpp"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.3.1-3"}]}]}]},
          {"id": "UBUNTU-CVE-2020-0001", "details": "** REJECT ** DO NOT USE THIS CANDIDATE NUMBER."}
        ]"#;
        check(
            input,
            "
            UBUNTU-CVE-2013-2208 aliases=CVE-2013-2208 sev=- title=- url=- published=-
              ubuntu 14.04 tpp source fixed 1.3.1-3 dpkg -
            skipped 2
            ",
        );
    }

    #[test]
    fn arrays_skip_malformed_and_duplicate_records() {
        check(
            r#"[ {"id": "A-1"}, {"summary": "no id"}, 7, {"id": "A-1"}, {"id": "B-1", "aliases": "CVE-1"}, {"id": "C-1"} ]"#,
            "
            A-1 aliases= sev=- title=- url=- published=-
            C-1 aliases= sev=- title=- url=- published=-
            skipped 4
            ",
        );
        check("[]", "skipped 0");
        check("\u{feff} [ ]\n", "skipped 0");
    }

    #[test]
    fn not_osv_is_an_error() {
        for input in [
            "",
            "   ",
            "null",
            "\"x\"",
            "{\"summary\": \"no id\"}",
            "{\"id\": 5}",
            "[{\"id\": \"A\"}",
            "[] []",
            "<rss/>",
        ] {
            let result = run(input, &ParseContext::default());
            assert!(result.is_err(), "{input:?} parsed: {result:?}");
        }
    }

    #[test]
    fn scope_filters_entries_without_counting() {
        let entries = [
            entry("Ubuntu:22.04:LTS", "a", FIXED),
            entry("Ubuntu:20.04:LTS", "a", FIXED),
            entry("Debian:12", "b", FIXED),
        ];
        let ctx = ParseContext {
            distro: Some("ubuntu".to_owned()),
            releases: vec!["22.04".to_owned()],
            ..Default::default()
        };
        check_ctx(
            &format!("[{}, {}]", one("X-1", &entries.join(",")), one("X-2", &entry("Ubuntu:18.04:LTS", "a", FIXED))),
            &ctx,
            "
            X-1 aliases= sev=- title=s url=- published=-
              ubuntu 22.04 a source fixed 1.2-3 dpkg -
            skipped 0
            ",
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(embedded_cve("UBUNTU-CVE-2021-3782"), Some("CVE-2021-3782"));
        assert_eq!(embedded_cve("DEBIAN-CVE-2022-1664"), Some("CVE-2022-1664"));
        assert_eq!(embedded_cve("CVE-2022-1664"), None);
        assert_eq!(embedded_cve("GHSA-CVE-12"), None);
        assert!(is_cve_id("CVE-2024-123456") && !is_cve_id("CVE-24-1234") && !is_cve_id("CVE-2024-12a4"));
        assert_eq!(percent_decode("a%3Ab%2B%zz%4"), "a:b+%zz%4");
        assert_eq!(
            purl_module("pkg:rpm/redhat/x?rpmmod=virt-devel:rhel:8100020240704072441:489197e6#sub"),
            Some("virt-devel:rhel".to_owned())
        );
        assert_eq!(purl_module("pkg:rpm/redhat/x?arch=src"), None);
    }
}
