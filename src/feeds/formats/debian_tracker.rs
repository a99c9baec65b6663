//! The Debian security tracker JSON (`https://security-tracker.debian.org/tracker/data/json`):
//! streams the document through serde visitors and hands one [`Advisory`] per (source package,
//! CVE or TEMP id) to the sink as soon as that object ends. Owns the tracker's status and
//! urgency semantics (correctness-checklist §4.1). Must not build a `serde_json::Value` tree,
//! collect the document, or do IO.
//!
//! Document shape:
//!
//! ```text
//! { "<source package>": { "<CVE or TEMP id>": { "description"?, "debianbug"?, "scope"?,
//!     "releases": { "<codename>": { "status", "repositories", "fixed_version"?, "urgency",
//!                                   "nodsa"?, "nodsa_reason"? } } } } }
//! ```
//!
//! Strictness: the top level, each package value and each id value must be objects, otherwise
//! the document is not this format and parsing fails with serde_json's line and column. Below
//! that the parser is lenient: a `releases` value that is not an object skips the whole entry,
//! a release with wrong field types (or an unknown status) skips that release, an unknown
//! codename skips that release; each is counted in [`ParseSummary::n_skipped`] and logged at
//! debug level. Entries left without any release (all filtered out or skipped) emit nothing.
//!
//! Limits: the bytes are already in memory and every emitted value is a slice of them, so
//! output is linear in the input; nesting is bounded by serde_json's recursion limit (128).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::{Advisory, Affected, PackageKind, Severity, Status};
use crate::inventory::os::debian_release_for_codename;
use crate::inventory::Ecosystem;

/// Parses a tracker JSON document; see the module docs for what is an error and what is a
/// counted skip.
pub fn parse(bytes: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    let mut ingest = Ingest { ctx, sink, summary: ParseSummary::default() };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.deserialize_map(DocumentVisitor { ingest: &mut ingest }).map_err(document_error)?;
    de.end().map_err(document_error)?;
    Ok(ingest.summary)
}

fn document_error(e: serde_json::Error) -> FormatError {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "truncated document",
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "not a tracker document",
    };
    FormatError::new(Format::DebianTrackerJson, format!("{what}: {e}"))
}

/// The normalised release for a tracker codename: `bookworm` → `12`, `sid` stays `sid`; None
/// for a codename cascade does not know (`experimental`, a future name).
pub(super) fn release_for_codename(codename: &str) -> Option<&'static str> {
    if codename == "sid" {
        return Some("sid");
    }
    debian_release_for_codename(codename)
}

/// The tracker page of a CVE, TEMP, DSA or DLA id.
pub(super) fn tracker_url(id: &str) -> String {
    const BASE: &str = "https://security-tracker.debian.org/tracker/";
    let mut url = String::with_capacity(BASE.len() + id.len());
    url.push_str(BASE);
    url.push_str(id);
    url
}

/// One affected entry for a Debian source package.
pub(super) fn debian_affected(release: &str, package: &str, status: Status, fixed_version: Option<&str>) -> Affected {
    Affected {
        distro: "debian".to_owned(),
        release: release.to_owned(),
        package: package.to_owned(),
        kind: PackageKind::Source,
        status,
        fixed_version: fixed_version.map(str::to_owned),
        scheme: Ecosystem::Dpkg,
        module: None,
    }
}

/// Whether `release` is one the feed covers (`ctx.releases` empty = all).
pub(super) fn wanted_release(ctx: &ParseContext, release: &str) -> bool {
    ctx.releases.is_empty() || ctx.releases.iter().any(|r| r == release)
}

/// State shared by every level of the walk.
struct Ingest<'a> {
    ctx: &'a ParseContext,
    sink: &'a mut dyn FnMut(Advisory),
    summary: ParseSummary,
}

impl Ingest<'_> {
    fn skip(&mut self, package: &str, id: &str, codename: Option<&str>, reason: &str) {
        self.summary.n_skipped += 1;
        tracing::debug!(
            feed.name = %self.ctx.feed,
            package,
            advisory.id = id,
            codename = codename.unwrap_or("-"),
            reason,
            "skipped debian tracker entry"
        );
    }
}

/// The top-level object: source package → its entries.
struct DocumentVisitor<'i, 'a> {
    ingest: &'i mut Ingest<'a>,
}

impl<'de> Visitor<'de> for DocumentVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Debian security tracker object keyed by source package")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(package) = map.next_key_seed(StrSeed)? {
            map.next_value_seed(PackageSeed { ingest: &mut *self.ingest, package: &package })?;
        }
        Ok(())
    }
}

/// One source package's object: id → entry.
struct PackageSeed<'i, 'a, 'p> {
    ingest: &'i mut Ingest<'a>,
    package: &'p str,
}

impl<'de> DeserializeSeed<'de> for PackageSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PackageSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object keyed by CVE or TEMP id")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(id) = map.next_key_seed(StrSeed)? {
            map.next_value_seed(EntrySeed { ingest: &mut *self.ingest, package: self.package, id: &id })?;
        }
        Ok(())
    }
}

/// One (package, id) entry; emits its advisory when the object ends.
struct EntrySeed<'i, 'a, 'p> {
    ingest: &'i mut Ingest<'a>,
    package: &'p str,
    id: &'p str,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tracker entry object with \"releases\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let EntrySeed { ingest, package, id } = self;
        let mut description: Option<Cow<'de, str>> = None;
        let mut releases_seen = false;
        let mut releases_ok = true;
        let mut affected = Vec::new();
        let mut severity: Option<Severity> = None;
        while let Some(field) = map.next_key::<EntryField>()? {
            match field {
                EntryField::Description => {
                    description = match map.next_value_seed(LooseSeed)? {
                        Loose::Str(s) => Some(s),
                        Loose::Null | Loose::Wrong => None,
                    }
                }
                EntryField::Releases => {
                    releases_seen = true;
                    let seed = ReleasesSeed {
                        ingest: &mut *ingest,
                        package,
                        id,
                        affected: &mut affected,
                        severity: &mut severity,
                    };
                    releases_ok &= map.next_value_seed(seed)?;
                }
                EntryField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !releases_seen || !releases_ok {
            let reason = if releases_seen { "\"releases\" is not an object" } else { "no \"releases\"" };
            ingest.skip(package, id, None, reason);
            return Ok(());
        }
        if affected.is_empty() {
            return Ok(());
        }
        let advisory = Advisory {
            id: id.to_owned(),
            aliases: Vec::new(),
            title: description.map(Cow::into_owned),
            severity,
            published: None,
            modified: None,
            url: Some(tracker_url(id)),
            affected,
        };
        (ingest.sink)(advisory);
        Ok(())
    }
}

/// The `releases` object: codename → release. The value is `false` when `releases` is not an
/// object (the entry is then skipped).
struct ReleasesSeed<'i, 'a, 'p, 'o> {
    ingest: &'i mut Ingest<'a>,
    package: &'p str,
    id: &'p str,
    affected: &'o mut Vec<Affected>,
    severity: &'o mut Option<Severity>,
}

impl<'de> DeserializeSeed<'de> for ReleasesSeed<'_, '_, '_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ReleasesSeed<'_, '_, '_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object keyed by release codename")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let ReleasesSeed { ingest, package, id, affected, severity } = self;
        while let Some(codename) = map.next_key_seed(StrSeed)? {
            let Some(release) = release_for_codename(&codename) else {
                map.next_value::<IgnoredAny>()?;
                ingest.skip(package, id, Some(&codename), "unknown release codename");
                continue;
            };
            if !wanted_release(ingest.ctx, release) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let Some(fields) = map.next_value_seed(ReleaseSeed)? else {
                ingest.skip(package, id, Some(&codename), "release is not an object");
                continue;
            };
            match classify(&fields) {
                Ok((status, fixed_version)) => {
                    if let Loose::Str(urgency) = &fields.urgency {
                        let s = Severity::parse(urgency);
                        *severity = Some(severity.map_or(s, |old| old.max(s)));
                    }
                    affected.push(debian_affected(release, package, status, fixed_version));
                }
                Err(reason) => ingest.skip(package, id, Some(&codename), reason),
            }
        }
        Ok(true)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        drain_seq(seq)?;
        Ok(false)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// The fields of one release that decide its status; each kept as found so that a wrong type
/// skips the release instead of failing the document.
#[derive(Debug)]
struct ReleaseFields<'de> {
    status: Loose<'de>,
    fixed_version: Loose<'de>,
    urgency: Loose<'de>,
    nodsa_reason: Loose<'de>,
}

/// Status per correctness-checklist §4.1, first match wins: resolved with fixed version `0` →
/// not affected; resolved → fixed; `nodsa_reason` ignored → will not fix; `nodsa_reason`
/// postponed → deferred; urgency end-of-life → end of life; undetermined → undetermined;
/// open (including a plain `nodsa`) → unfixed. Errors name why the release is skipped.
fn classify<'f>(fields: &'f ReleaseFields<'_>) -> Result<(Status, Option<&'f str>), &'static str> {
    let status = match &fields.status {
        Loose::Str(s) => s.as_ref(),
        Loose::Null => return Err("no status"),
        Loose::Wrong => return Err("status is not a string"),
    };
    let fixed_version = fields.fixed_version.as_str().map_err(|()| "fixed_version is not a string")?;
    let urgency = fields.urgency.as_str().map_err(|()| "urgency is not a string")?;
    let nodsa_reason = fields.nodsa_reason.as_str().map_err(|()| "nodsa_reason is not a string")?;
    match status {
        "resolved" => match fixed_version {
            Some("0") => Ok((Status::NotAffected, None)),
            Some(v) if !v.is_empty() => Ok((Status::Fixed, Some(v))),
            _ => Err("resolved without fixed_version"),
        },
        "open" | "undetermined" => {
            let urgency = urgency.map(|u| u.trim_end_matches('*'));
            let status = if nodsa_reason == Some("ignored") {
                Status::WillNotFix
            } else if nodsa_reason == Some("postponed") {
                Status::Deferred
            } else if urgency == Some("end-of-life") {
                Status::EndOfLife
            } else if status == "undetermined" {
                Status::Undetermined
            } else {
                Status::Unfixed
            };
            Ok((status, None))
        }
        _ => Err("unknown status"),
    }
}

struct ReleaseSeed;

impl<'de> DeserializeSeed<'de> for ReleaseSeed {
    /// None when the release value is not an object.
    type Value = Option<ReleaseFields<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ReleaseSeed {
    type Value = Option<ReleaseFields<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a release object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = ReleaseFields {
            status: Loose::Null,
            fixed_version: Loose::Null,
            urgency: Loose::Null,
            nodsa_reason: Loose::Null,
        };
        while let Some(field) = map.next_key::<ReleaseField>()? {
            let slot = match field {
                ReleaseField::Status => &mut fields.status,
                ReleaseField::FixedVersion => &mut fields.fixed_version,
                ReleaseField::Urgency => &mut fields.urgency,
                ReleaseField::NodsaReason => &mut fields.nodsa_reason,
                ReleaseField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value_seed(LooseSeed)?;
        }
        Ok(Some(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Keys of an entry object that matter; everything else is skipped unread.
enum EntryField {
    Description,
    Releases,
    Other,
}

impl<'de> de::Deserialize<'de> for EntryField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(FieldVisitor(|key: &str| match key {
            "description" => EntryField::Description,
            "releases" => EntryField::Releases,
            _ => EntryField::Other,
        }))
    }
}

/// Keys of a release object that matter; `repositories` and `nodsa` are skipped unread (a
/// plain `nodsa` leaves the release open, so its text is not needed).
enum ReleaseField {
    Status,
    FixedVersion,
    Urgency,
    NodsaReason,
    Other,
}

impl<'de> de::Deserialize<'de> for ReleaseField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(FieldVisitor(|key: &str| match key {
            "status" => ReleaseField::Status,
            "fixed_version" => ReleaseField::FixedVersion,
            "urgency" => ReleaseField::Urgency,
            "nodsa_reason" => ReleaseField::NodsaReason,
            _ => ReleaseField::Other,
        }))
    }
}

/// Maps an object key to a field enum without allocating.
struct FieldVisitor<F>(F);

impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for FieldVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok((self.0)(v))
    }
}

/// A string borrowed from the input when it has no escapes, owned otherwise.
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A value expected to be a string, accepted whatever it is so that a wrong type can be
/// skipped as a record instead of failing the document.
#[derive(Debug)]
enum Loose<'de> {
    Str(Cow<'de, str>),
    Null,
    Wrong,
}

impl Loose<'_> {
    /// The string, None for null or absent, Err for a wrong type.
    fn as_str(&self) -> Result<Option<&str>, ()> {
        match self {
            Loose::Str(s) => Ok(Some(s)),
            Loose::Null => Ok(None),
            Loose::Wrong => Err(()),
        }
    }
}

struct LooseSeed;

impl<'de> DeserializeSeed<'de> for LooseSeed {
    type Value = Loose<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LooseSeed {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose::Wrong)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Loose::Wrong)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Loose::Wrong)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Loose::Wrong)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(Loose::Wrong)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Wrong)
    }
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    /// Renders what the parser emitted, one advisory per line with its affected entries
    /// indented below, then the skip count; constant fields are asserted here instead.
    fn render(ctx: &ParseContext, input: &str) -> String {
        let mut out = String::new();
        let summary = parse(input.as_bytes(), ctx, &mut |a| {
            assert_eq!(a.url.as_deref(), Some(tracker_url(&a.id).as_str()));
            assert!(a.aliases.is_empty() && a.published.is_none() && a.modified.is_none());
            let severity = a.severity.map_or("-", Severity::as_str);
            let _ = writeln!(out, "{} severity={severity} title={:?}", a.id, a.title.as_deref().unwrap_or("-"));
            for e in &a.affected {
                assert_eq!(
                    (e.distro.as_str(), e.kind, e.scheme, &e.module),
                    ("debian", PackageKind::Source, Ecosystem::Dpkg, &None)
                );
                assert_eq!(e.fixed_version.is_some(), e.status == Status::Fixed, "{e:?}");
                let fixed = e.fixed_version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
                let _ = writeln!(out, "  {} {} {}{fixed}", e.release, e.package, e.status.as_str());
            }
        });
        match summary {
            Ok(s) => {
                let _ = write!(out, "skipped {}", s.n_skipped);
            }
            Err(e) => {
                let _ = write!(out, "error: {e}");
            }
        }
        out
    }

    fn check(input: &str, expected: &str) {
        check_with(&ParseContext::default(), input, expected);
    }

    fn check_with(ctx: &ParseContext, input: &str, expected: &str) {
        let got = render(ctx, input);
        assert_eq!(got.trim(), expected.trim(), "\n--- got ---\n{got}\n");
    }

    #[test]
    fn every_status_kind() {
        check(
            r#"{"openssl": {"CVE-2024-0001": {"description": "buffer \"overflow\"", "scope": "remote",
                 "debianbug": 1,
                 "releases": {
                   "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.11-1"},
                                "fixed_version": "3.0.11-1~deb12u2", "urgency": "high**"},
                   "bullseye": {"status": "resolved", "repositories": {}, "fixed_version": "0", "urgency": "unimportant"},
                   "buster": {"status": "open", "repositories": {}, "urgency": "end-of-life"},
                   "trixie": {"status": "open", "repositories": {}, "urgency": "low", "nodsa": "Minor issue",
                              "nodsa_reason": ""},
                   "forky": {"status": "open", "repositories": {}, "urgency": "low", "nodsa": "x",
                             "nodsa_reason": "ignored"},
                   "stretch": {"status": "open", "repositories": {}, "urgency": "medium", "nodsa": "x",
                               "nodsa_reason": "postponed"},
                   "sid": {"status": "undetermined", "repositories": {}, "urgency": "not yet assigned"},
                   "jessie": {"status": "open", "repositories": {}, "urgency": "medium"}
                 }}}}"#,
            r#"
CVE-2024-0001 severity=high title="buffer \"overflow\""
  12 openssl fixed 3.0.11-1~deb12u2
  11 openssl not-affected
  10 openssl end-of-life
  13 openssl unfixed
  14 openssl will-not-fix
  9 openssl deferred
  sid openssl undetermined
  8 openssl unfixed
skipped 0
"#,
        );
    }

    #[test]
    fn precedence_follows_the_checklist() {
        // nodsa_reason beats end-of-life, end-of-life beats undetermined, resolved beats all.
        check(
            r#"{"p": {"CVE-2024-0002": {"releases": {
                 "bookworm": {"status": "open", "urgency": "end-of-life", "nodsa_reason": "postponed"},
                 "bullseye": {"status": "undetermined", "urgency": "end-of-life"},
                 "buster": {"status": "resolved", "fixed_version": "1.2-3", "urgency": "end-of-life",
                            "nodsa_reason": "ignored"},
                 "sid": {"status": "undetermined", "urgency": "low", "nodsa_reason": "ignored"}
               }}}}"#,
            r#"
CVE-2024-0002 severity=low title="-"
  12 p deferred
  11 p end-of-life
  10 p fixed 1.2-3
  sid p will-not-fix
skipped 0
"#,
        );
    }

    #[test]
    fn codenames_temp_ids_and_packages() {
        // Unknown codenames are skipped and counted; TEMP ids are kept as they are; one
        // advisory per (package, id), in document order.
        check(
            r#"{"a": {"TEMP-0000000-1F2E3D": {"description": "temp", "releases": {
                        "experimental": {"status": "open", "urgency": "low"},
                        "sid": {"status": "open", "urgency": "low"}}},
                      "CVE-2024-0003": {"releases": {"bookworm": {"status": "open", "urgency": "medium*"}}}},
                "b": {"CVE-2024-0003": {"releases": {"woody": {"status": "resolved", "fixed_version": "1",
                                                                "urgency": "unimportant"}}}}}"#,
            r#"
TEMP-0000000-1F2E3D severity=low title="temp"
  sid a unfixed
CVE-2024-0003 severity=medium title="-"
  12 a unfixed
CVE-2024-0003 severity=negligible title="-"
  3.0 b fixed 1
skipped 1
"#,
        );
    }

    #[test]
    fn release_filter() {
        let ctx = ParseContext { releases: vec!["12".into(), "sid".into()], ..ParseContext::default() };
        check_with(
            &ctx,
            r#"{"p": {"CVE-1": {"releases": {
                       "bookworm": {"status": "open", "urgency": "low"},
                       "bullseye": {"status": "open", "urgency": "high"},
                       "sid": {"status": "resolved", "fixed_version": "2", "urgency": "low"}}},
                     "CVE-2": {"releases": {"bullseye": {"status": "open", "urgency": "high"}}}}}"#,
            r#"
CVE-1 severity=low title="-"
  12 p unfixed
  sid p fixed 2
skipped 0
"#,
        );
    }

    #[test]
    fn malformed_releases_are_counted_skips() {
        check(
            r#"{"p": {"CVE-1": {"releases": []},
                     "CVE-2": {"description": null, "releases": {
                       "bookworm": {"status": 1, "urgency": "low"},
                       "bullseye": {"status": "open", "urgency": ["low"]},
                       "buster": {"status": "resolved", "urgency": "low"},
                       "stretch": {"status": "fixed", "urgency": "low"},
                       "jessie": "open",
                       "trixie": {"urgency": "low"},
                       "sid": {"status": "resolved", "fixed_version": "1.0-1", "urgency": "low",
                               "repositories": {"sid": "1.0-1"}, "extra": [1, {"a": null}]}}},
                     "CVE-3": {"scope": "local"},
                     "CVE-4": {"releases": {}}}}"#,
            r#"
CVE-2 severity=low title="-"
  sid p fixed 1.0-1
skipped 8
"#,
        );
    }

    #[test]
    fn documents_that_are_not_the_format() {
        check(
            "[]",
            "error: debian-tracker-json document: not a tracker document: invalid type: sequence, expected a Debian \
             security tracker object keyed by source package at line 1 column 0",
        );
        check(
            "<!DOCTYPE html>\n<html>",
            "error: debian-tracker-json document: not JSON: expected value at line 1 column 1",
        );
        check(
            r#"{"p": {"CVE-1": {"releases": {"sid": {"status": "open""#,
            "error: debian-tracker-json document: truncated document: EOF while parsing an object at line 1 column 54",
        );
        check(
            "",
            "error: debian-tracker-json document: truncated document: EOF while parsing a value at line 1 column 0",
        );
        check(
            r#"{"p": "x"}"#,
            "error: debian-tracker-json document: not a tracker document: invalid type: string \"x\", expected an \
             object keyed by CVE or TEMP id at line 1 column 9",
        );
        check(
            r#"{"p": {"CVE-1": 5}}"#,
            "error: debian-tracker-json document: not a tracker document: invalid type: integer `5`, expected a \
             tracker entry object with \"releases\" at line 1 column 17",
        );
        check("{} x", "error: debian-tracker-json document: not JSON: trailing characters at line 1 column 4");
        check("{}", "skipped 0");
    }

    #[test]
    fn escaped_keys_and_values() {
        check(
            r#"{"p\u002bq": {"CVE-2024-\u0030001": {"description": "caf\u00e9", "releases": {"s\u0069d":
                {"status": "resolved", "fixed_version": "1:2.0\u007e1", "urgency": "h\u0069gh"}}}}}"#,
            r#"
CVE-2024-0001 severity=high title="café"
  sid p+q fixed 1:2.0~1
skipped 0
"#,
        );
    }

    /// A document shaped like the live feed (compact, ~8 MB): every entry comes out, and the
    /// throughput is printed (meaningful in a release build:
    /// `cargo test --release --lib debian_tracker::tests::synthetic -- --nocapture`).
    #[test]
    fn synthetic_document_streams_every_entry() {
        let (doc, n_entries, n_releases) = synthetic_document(2_000, 8);
        let mut n_advisories = 0usize;
        let mut n_affected = 0usize;
        let started = std::time::Instant::now();
        let summary = parse(doc.as_bytes(), &ParseContext::default(), &mut |a| {
            n_advisories += 1;
            n_affected += a.affected.len();
        });
        let elapsed = started.elapsed();
        assert_eq!(summary.map(|s| s.n_skipped).ok(), Some(0));
        assert_eq!((n_advisories, n_affected), (n_entries, n_releases));
        let mb = doc.len() as f64 / 1e6;
        eprintln!("debian tracker: {mb:.1} MB in {elapsed:?} = {:.0} MB/s", mb / elapsed.as_secs_f64());
    }

    /// `n_packages` packages with `cves_per_package` entries each, five releases per entry,
    /// written like the live feed (compact, repositories, nodsa on some).
    fn synthetic_document(n_packages: usize, cves_per_package: usize) -> (String, usize, usize) {
        let mut doc = String::from("{");
        let mut n_releases = 0;
        for p in 0..n_packages {
            if p > 0 {
                doc.push(',');
            }
            let _ = write!(doc, "\"package-{p}\":{{");
            for c in 0..cves_per_package {
                if c > 0 {
                    doc.push(',');
                }
                let _ = write!(
                    doc,
                    "\"CVE-20{:02}-{:05}\":{{\"description\":\"A \\\"crafted\\\" input to package-{p} in versions \
                     before 1.{c} allows remote attackers to cause a denial of service via unknown vectors.\",\
                     \"scope\":\"remote\",\"debianbug\":{},\"releases\":{{",
                    p % 25,
                    p * 10 + c,
                    1_000_000 + p
                );
                for (i, codename) in ["bookworm", "bullseye", "sid", "trixie", "forky"].iter().enumerate() {
                    if i > 0 {
                        doc.push(',');
                    }
                    n_releases += 1;
                    let release = match (p + c + i) % 4 {
                        0 => format!(
                            "{{\"status\":\"resolved\",\"repositories\":{{\"{codename}\":\"1.{c}-{i}\",\
                             \"{codename}-security\":\"1.{c}-{i}+deb1u1\"}},\"fixed_version\":\"1.{c}-{i}+deb1u1\",\
                             \"urgency\":\"medium\"}}"
                        ),
                        1 => format!(
                            "{{\"status\":\"open\",\"repositories\":{{\"{codename}\":\"1.{c}-{i}\"}},\
                             \"urgency\":\"low\",\"nodsa\":\"Minor issue\",\"nodsa_reason\":\"\"}}"
                        ),
                        2 => format!(
                            "{{\"status\":\"resolved\",\"repositories\":{{\"{codename}\":\"1.{c}-{i}\"}},\
                             \"fixed_version\":\"0\",\"urgency\":\"unimportant\"}}"
                        ),
                        _ => format!(
                            "{{\"status\":\"open\",\"repositories\":{{\"{codename}\":\"1.{c}-{i}\"}},\
                             \"urgency\":\"not yet assigned\"}}"
                        ),
                    };
                    let _ = write!(doc, "\"{codename}\":{release}");
                }
                doc.push_str("}}");
            }
            doc.push('}');
        }
        doc.push('}');
        (doc, n_packages * cves_per_package, n_releases)
    }
}
