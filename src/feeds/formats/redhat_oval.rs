//! Red Hat OVAL v2 XML (plain, or bzip2 as Red Hat ships it) → [`Advisory`]: owns the
//! streaming read of definitions, criteria, rpminfo tests, objects and states, and the
//! unpatched-resolution → [`Status`] mapping. Must not build a DOM, must not hold more than
//! [`OvalLimits`] allows, and does no IO beyond reading the given bytes.
//!
//! - `class="patch"` definitions are advisories (`RHSA-2019:3927` from the `RHSA`/`RHBA`/`RHEA`
//!   reference, else the title), with their CVEs as aliases; `class="vulnerability"`
//!   definitions (the unpatched streams) are CVE records.
//! - Each `criterion` names an `rpminfo_test`: its `rpminfo_object` gives the binary package,
//!   its `rpminfo_state` with `evr` `less than` gives the fixed EVR (epoch 0 left out). Tests
//!   whose states are only `signature_keyid` / `arch` are not claims about a package; tests
//!   without a state ("ansible is installed") say the package is affected, with the status
//!   from `advisory/affected/resolution` (`Affected`, `Will not fix`, `Fix deferred`, `Out of
//!   support scope`, `Under investigation`; no resolution at all means Affected).
//! - Module stream from a `Module name:stream is enabled` criterion; it applies to the package
//!   criteria of the same `criteria` element and those nested in it.
//! - Release from the definition's RHEL CPEs (`enterprise_linux:8` → `8`), else its `Red Hat
//!   Enterprise Linux 8 is installed` criterion, else `platform` text (`… for RHEL 8`), else
//!   the context's only release. Layered products shipped as their own OVAL stream (Ansible
//!   Engine for RHEL 8) are kept: the feed definition chose that stream. Releases outside
//!   `ctx.releases` (when it names any) are dropped uncounted.
//! - Several tests for one (release, package, module) merge as in [`super::redhat_csaf`]: a fix
//!   beats no fix, the highest EVR wins.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};

use bzip2::read::MultiBzDecoder;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Decoder, Reader, XmlVersion};

use super::redhat_csaf::{module_stream, rhel_platform, wanted_release, AffectedSet, Evr};
use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::{Advisory, Severity, Status};

const FORMAT: Format = Format::RedhatOval;

/// Caps on one OVAL document.
struct OvalLimits {
    /// Bytes after bzip2 decompression.
    max_decompressed_bytes: u64,
    /// Element nesting.
    max_depth: usize,
    /// Characters kept of one text value (titles, names, EVRs).
    max_text_chars: usize,
    /// Bytes of one XML token (a tag, a text run, a comment): quick-xml holds a token whole
    /// before it is handed over, so this, not `max_text_chars`, bounds what one token costs.
    max_token_bytes: u64,
}

impl OvalLimits {
    const DEFAULT: OvalLimits = OvalLimits {
        max_decompressed_bytes: 2 * 1024 * 1024 * 1024,
        max_depth: 256,
        max_text_chars: 64 * 1024,
        max_token_bytes: 8 * 1024 * 1024,
    };
}

pub fn parse(bytes: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    parse_with_limits(bytes, ctx, sink, &OvalLimits::DEFAULT)
}

fn parse_with_limits(
    bytes: &[u8],
    ctx: &ParseContext,
    sink: &mut dyn FnMut(Advisory),
    limits: &OvalLimits,
) -> Result<ParseSummary, FormatError> {
    let document = if bytes.starts_with(b"BZh") {
        // MultiBzDecoder: a file written by a parallel bzip2 is several concatenated streams.
        let capped =
            CappedReader { inner: MultiBzDecoder::new(bytes), limit: limits.max_decompressed_bytes, n_read: 0 };
        read_document(BufReader::new(capped), limits)?
    } else {
        read_document(bytes, limits)?
    };
    Ok(document.emit(ctx, sink))
}

/// Fails the read once more than `limit` bytes came out of `inner`.
struct CappedReader<R> {
    inner: R,
    limit: u64,
    n_read: u64,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n_read += n as u64;
        if self.n_read > self.limit {
            return Err(io::Error::other(format!("decompressed document exceeds {} bytes", self.limit)));
        }
        Ok(n)
    }
}

/// Hands `inner`'s bytes to quick-xml at most [`TokenBudget::CHUNK`] at a time and fails the
/// read once one token has taken more than `limit` bytes. quick-xml copies a token into its
/// buffer chunk by chunk as it consumes them, so the buffer never outgrows `limit + CHUNK`.
/// [`TokenBudget::next_token`] starts the count again after each event.
struct TokenBudget<R> {
    inner: R,
    limit: u64,
    in_token: u64,
}

impl<R: BufRead> TokenBudget<R> {
    const CHUNK: usize = 64 * 1024;

    fn next_token(&mut self) {
        self.in_token = 0;
    }
}

impl<R: BufRead> Read for TokenBudget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for TokenBudget<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.in_token > self.limit {
            return Err(io::Error::other(format!("one XML token is longer than {} bytes", self.limit)));
        }
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(Self::CHUNK)])
    }

    fn consume(&mut self, n: usize) {
        self.in_token += n as u64;
        self.inner.consume(n);
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

#[derive(Default)]
struct OvalDocument {
    definitions: Vec<Definition>,
    tests: HashMap<String, RpmInfoTest>,
    /// `rpminfo_object` id → package name
    objects: HashMap<String, String>,
    states: HashMap<String, RpmInfoState>,
}

#[derive(Default)]
struct Definition {
    id: String,
    class: String,
    title: Option<String>,
    references: Vec<Reference>,
    severity: Option<String>,
    issued: Option<String>,
    updated: Option<String>,
    cves: Vec<String>,
    /// (resolution state, components)
    resolutions: Vec<(String, Vec<String>)>,
    cpes: Vec<String>,
    platforms: Vec<String>,
    /// Releases named by `Red Hat Enterprise Linux N is installed` criteria.
    release_hints: Vec<String>,
    /// (test ref, module stream) of every criterion, in document order.
    criteria_refs: Vec<(String, Option<String>)>,
}

struct Reference {
    source: String,
    ref_id: String,
    ref_url: Option<String>,
}

#[derive(Default)]
struct RpmInfoTest {
    object_ref: Option<String>,
    state_refs: Vec<String>,
    /// `check_existence="none_exist"`: "is not installed".
    none_exist: bool,
}

#[derive(Default)]
struct RpmInfoState {
    /// (operation, value) of the `evr` element.
    evr: Option<(String, String)>,
}

/// One `criteria` element being read.
#[derive(Default)]
struct CriteriaFrame {
    module: Option<String>,
    negated: bool,
    pending: Vec<(String, Option<String>)>,
}

/// Which value the text being collected is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextTarget {
    Title,
    Severity,
    Cve,
    Cpe,
    Platform,
    Component,
    ObjectName,
    Evr,
}

struct Capture {
    target: TextTarget,
    element: Vec<u8>,
    text: String,
}

struct DocumentReader<'l> {
    limits: &'l OvalLimits,
    doc: OvalDocument,
    /// Local names of the open elements.
    path: Vec<Vec<u8>>,
    seen_root: bool,
    definition: Option<Definition>,
    criteria: Vec<CriteriaFrame>,
    test: Option<(String, RpmInfoTest)>,
    object: Option<(String, Option<String>)>,
    state: Option<(String, RpmInfoState)>,
    evr_operation: Option<String>,
    capture: Option<Capture>,
}

fn read_document<R: BufRead>(input: R, limits: &OvalLimits) -> Result<OvalDocument, FormatError> {
    let mut xml = Reader::from_reader(TokenBudget { inner: input, limit: limits.max_token_bytes, in_token: 0 });
    let mut state = DocumentReader {
        limits,
        doc: OvalDocument::default(),
        path: Vec::new(),
        seen_root: false,
        definition: None,
        criteria: Vec::new(),
        test: None,
        object: None,
        state: None,
        evr_operation: None,
        capture: None,
    };
    let mut buf = Vec::new();
    loop {
        let decoder = xml.decoder();
        let event = match xml.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(quick_xml::Error::Io(e)) => return Err(FormatError::new(FORMAT, format!("reading: {e}"))),
            Err(e) => {
                let at = xml.error_position();
                return Err(FormatError::new(FORMAT, format!("invalid xml at byte {at}: {e}")));
            }
        };
        match event {
            Event::Start(e) => state.open(&e, decoder, false)?,
            Event::Empty(e) => state.open(&e, decoder, true)?,
            Event::End(_) => {
                if let Some(name) = state.path.pop() {
                    state.close(&name);
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| FormatError::new(FORMAT, format!("text encoding: {e}")))?;
                state.push_text(&text);
            }
            Event::CData(t) => {
                let text = t.decode().map_err(|e| FormatError::new(FORMAT, format!("text encoding: {e}")))?;
                state.push_text(&text);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.decode().map_err(|e| FormatError::new(FORMAT, format!("entity: {e}")))?;
                        match name.as_ref() {
                            "lt" => "<".to_owned(),
                            "gt" => ">".to_owned(),
                            "amp" => "&".to_owned(),
                            "apos" => "'".to_owned(),
                            "quot" => "\"".to_owned(),
                            other => format!("&{other};"),
                        }
                    }
                    Err(e) => return Err(FormatError::new(FORMAT, format!("character reference: {e}"))),
                };
                state.push_text(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
        xml.get_mut().next_token();
    }
    if !state.seen_root {
        return Err(FormatError::new(FORMAT, "no <oval_definitions> root element"));
    }
    Ok(state.doc)
}

fn attr(e: &BytesStart<'_>, decoder: Decoder, key: &[u8]) -> Result<Option<String>, FormatError> {
    for a in e.attributes() {
        let a = a.map_err(|err| FormatError::new(FORMAT, format!("attribute: {err}")))?;
        if a.key.local_name().as_ref() == key {
            let value = a
                .decoded_and_normalized_value(XmlVersion::Implicit1_0, decoder)
                .map_err(|err| FormatError::new(FORMAT, format!("attribute value: {err}")))?;
            return Ok(Some(value.trim().to_owned()));
        }
    }
    Ok(None)
}

impl DocumentReader<'_> {
    fn open(&mut self, e: &BytesStart<'_>, decoder: Decoder, empty: bool) -> Result<(), FormatError> {
        let name = e.local_name().as_ref().to_vec();
        let parent = self.path.last().cloned().unwrap_or_default();
        if !self.seen_root {
            if name != b"oval_definitions" {
                return Err(FormatError::new(FORMAT, "root element is not <oval_definitions>"));
            }
            self.seen_root = true;
        }
        if !empty {
            self.path.push(name.clone());
            if self.path.len() > self.limits.max_depth {
                return Err(FormatError::new(FORMAT, format!("elements nested deeper than {}", self.limits.max_depth)));
            }
        }
        let mut capture = None;
        match name.as_slice() {
            b"definition" if parent == b"definitions" => {
                self.criteria.clear();
                self.definition = Some(Definition {
                    id: attr(e, decoder, b"id")?.unwrap_or_default(),
                    class: attr(e, decoder, b"class")?.unwrap_or_default(),
                    ..Definition::default()
                });
            }
            b"title" if parent == b"metadata" => capture = Some(TextTarget::Title),
            b"reference" if parent == b"metadata" => {
                if let (Some(def), Some(source), Some(ref_id)) =
                    (self.definition.as_mut(), attr(e, decoder, b"source")?, attr(e, decoder, b"ref_id")?)
                {
                    def.references.push(Reference { source, ref_id, ref_url: attr(e, decoder, b"ref_url")? });
                }
            }
            b"severity" if parent == b"advisory" => capture = Some(TextTarget::Severity),
            b"cve" if parent == b"advisory" => capture = Some(TextTarget::Cve),
            b"issued" | b"updated" if parent == b"advisory" => {
                let date = attr(e, decoder, b"date")?;
                if let Some(def) = self.definition.as_mut() {
                    match name.as_slice() {
                        b"issued" => def.issued = date,
                        _ => def.updated = date,
                    }
                }
            }
            b"resolution" if parent == b"affected" => {
                let state = attr(e, decoder, b"state")?.unwrap_or_default();
                if let Some(def) = self.definition.as_mut() {
                    def.resolutions.push((state, Vec::new()));
                }
            }
            b"component" if parent == b"resolution" => capture = Some(TextTarget::Component),
            b"cpe" if parent == b"affected_cpe_list" => capture = Some(TextTarget::Cpe),
            b"platform" if parent == b"affected" => capture = Some(TextTarget::Platform),
            b"criteria" if self.definition.is_some() && !empty => {
                let negated = attr(e, decoder, b"negate")?.is_some_and(|v| v == "true");
                self.criteria.push(CriteriaFrame { negated, ..CriteriaFrame::default() });
            }
            b"criterion" if self.definition.is_some() => self.criterion(e, decoder)?,
            b"rpminfo_test" => {
                let id = attr(e, decoder, b"id")?.unwrap_or_default();
                let none_exist = attr(e, decoder, b"check_existence")?.is_some_and(|v| v == "none_exist");
                self.test = Some((id, RpmInfoTest { none_exist, ..RpmInfoTest::default() }));
            }
            b"object" if parent == b"rpminfo_test" => {
                if let Some((_, test)) = self.test.as_mut() {
                    test.object_ref = attr(e, decoder, b"object_ref")?;
                }
            }
            b"state" if parent == b"rpminfo_test" => {
                if let (Some((_, test)), Some(state_ref)) = (self.test.as_mut(), attr(e, decoder, b"state_ref")?) {
                    test.state_refs.push(state_ref);
                }
            }
            b"rpminfo_object" => self.object = Some((attr(e, decoder, b"id")?.unwrap_or_default(), None)),
            b"name" if parent == b"rpminfo_object" => capture = Some(TextTarget::ObjectName),
            b"rpminfo_state" => {
                self.state = Some((attr(e, decoder, b"id")?.unwrap_or_default(), RpmInfoState::default()))
            }
            b"evr" if parent == b"rpminfo_state" => {
                self.evr_operation = Some(attr(e, decoder, b"operation")?.unwrap_or_else(|| "equals".to_owned()));
                capture = Some(TextTarget::Evr);
            }
            _ => {}
        }
        if let Some(target) = capture {
            self.capture = Some(Capture { target, element: name.clone(), text: String::new() });
        }
        if empty {
            self.close(&name);
        }
        Ok(())
    }

    fn criterion(&mut self, e: &BytesStart<'_>, decoder: Decoder) -> Result<(), FormatError> {
        if attr(e, decoder, b"negate")?.is_some_and(|v| v == "true") {
            return Ok(());
        }
        let comment = attr(e, decoder, b"comment")?.unwrap_or_default();
        if let Some(module) = module_from_comment(&comment) {
            if let Some(frame) = self.criteria.last_mut() {
                frame.module = Some(module);
            }
            return Ok(());
        }
        let Some(def) = self.definition.as_mut() else { return Ok(()) };
        if let Some(release) = release_from_comment(&comment) {
            if !def.release_hints.contains(&release) {
                def.release_hints.push(release);
            }
        }
        if let Some(test_ref) = attr(e, decoder, b"test_ref")? {
            match self.criteria.last_mut() {
                Some(frame) => frame.pending.push((test_ref, None)),
                None => def.criteria_refs.push((test_ref, None)),
            }
        }
        Ok(())
    }

    fn push_text(&mut self, text: &str) {
        if let Some(capture) = self.capture.as_mut() {
            let room = self.limits.max_text_chars.saturating_sub(capture.text.len());
            capture.text.extend(text.chars().take(room));
        }
    }

    fn close(&mut self, name: &[u8]) {
        if let Some(capture) = self.capture.take_if(|c| c.element == name) {
            self.store_text(capture.target, capture.text.trim().to_owned());
        }
        match name {
            b"definition" => {
                if let Some(mut def) = self.definition.take() {
                    // Unclosed criteria cannot happen in well-formed XML; keep their refs anyway.
                    while let Some(frame) = self.criteria.pop() {
                        def.criteria_refs.extend(frame.pending);
                    }
                    self.doc.definitions.push(def);
                }
            }
            b"criteria" => {
                let Some(frame) = self.criteria.pop() else { return };
                if frame.negated {
                    return;
                }
                let module = frame.module;
                let items = frame.pending.into_iter().map(|(test_ref, m)| (test_ref, m.or_else(|| module.clone())));
                match (self.criteria.last_mut(), self.definition.as_mut()) {
                    (Some(parent), _) => parent.pending.extend(items),
                    (None, Some(def)) => def.criteria_refs.extend(items),
                    (None, None) => {}
                }
            }
            b"rpminfo_test" => {
                if let Some((id, test)) = self.test.take() {
                    self.doc.tests.insert(id, test);
                }
            }
            b"rpminfo_object" => {
                if let Some((id, Some(name))) = self.object.take() {
                    self.doc.objects.insert(id, name);
                }
            }
            b"rpminfo_state" => {
                if let Some((id, state)) = self.state.take() {
                    self.doc.states.insert(id, state);
                }
            }
            _ => {}
        }
    }

    fn store_text(&mut self, target: TextTarget, text: String) {
        if text.is_empty() {
            return;
        }
        match target {
            TextTarget::ObjectName => {
                if let Some((_, name)) = self.object.as_mut() {
                    *name = Some(text);
                }
            }
            TextTarget::Evr => {
                if let (Some((_, state)), Some(operation)) = (self.state.as_mut(), self.evr_operation.take()) {
                    state.evr = Some((operation, text));
                }
            }
            _ => {
                let Some(def) = self.definition.as_mut() else { return };
                match target {
                    TextTarget::Title => def.title = Some(text),
                    TextTarget::Severity => def.severity = Some(text),
                    TextTarget::Cve => def.cves.push(text),
                    TextTarget::Cpe => def.cpes.push(text),
                    TextTarget::Platform => def.platforms.push(text),
                    TextTarget::Component => {
                        if let Some((_, components)) = def.resolutions.last_mut() {
                            components.push(text);
                        }
                    }
                    TextTarget::ObjectName | TextTarget::Evr => {}
                }
            }
        }
    }
}

/// `Module container-tools:rhel8 is enabled` → `container-tools:rhel8`.
fn module_from_comment(comment: &str) -> Option<String> {
    module_stream(comment.trim().strip_prefix("Module ")?.strip_suffix(" is enabled")?)
}

/// `Red Hat Enterprise Linux 8 is installed` (also `… 7 Client is installed`) → `8`.
fn release_from_comment(comment: &str) -> Option<String> {
    let rest = comment.trim().strip_prefix("Red Hat Enterprise Linux ")?;
    rest.ends_with(" is installed").then_some(())?;
    let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty()).then_some(major)
}

/// `Red Hat Enterprise Linux 8`, `Red Hat Ansible Engine 2.9 for RHEL 8` → `8`.
fn release_from_platform(platform: &str) -> Option<String> {
    for marker in ["Red Hat Enterprise Linux ", "RHEL "] {
        if let Some(at) = platform.find(marker) {
            let major: String = platform[at + marker.len()..].chars().take_while(char::is_ascii_digit).collect();
            if !major.is_empty() {
                return Some(major);
            }
        }
    }
    None
}

/// An unpatched definition's resolution state → status; None for a state not known here.
fn status_from_resolution(state: &str) -> Option<Status> {
    match state.trim().to_ascii_lowercase().as_str() {
        "affected" => Some(Status::Unfixed),
        "will not fix" => Some(Status::WillNotFix),
        "fix deferred" | "deferred" => Some(Status::Deferred),
        "out of support scope" => Some(Status::EndOfLife),
        "under investigation" => Some(Status::Undetermined),
        "not affected" => Some(Status::NotAffected),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Definitions → advisories

/// What one criterion says about a package.
enum Claim {
    /// Affected below this EVR.
    Fixed(String, Evr),
    /// Affected when installed (unpatched definitions).
    Installed(String),
    /// Not a package claim (release, signature, arch, "is not installed" tests).
    None,
    Malformed(&'static str),
}

impl OvalDocument {
    fn emit(self, ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> ParseSummary {
        let mut summary = ParseSummary::default();
        for def in &self.definitions {
            if def.class != "patch" && def.class != "vulnerability" {
                continue; // inventory / compliance definitions are not advisories
            }
            match self.advisory(def, ctx, &mut summary) {
                Ok(Some(advisory)) => sink(advisory),
                Ok(None) => {}
                Err(reason) => {
                    tracing::debug!(feed = %ctx.feed, definition = %def.id, reason, "skipped oval definition");
                    summary.n_skipped += 1;
                }
            }
        }
        summary
    }

    /// None when every release of the definition is outside the feed's releases.
    fn advisory(
        &self,
        def: &Definition,
        ctx: &ParseContext,
        summary: &mut ParseSummary,
    ) -> Result<Option<Advisory>, &'static str> {
        let patch = def.class == "patch";
        let is_errata = |r: &&Reference| matches!(r.source.as_str(), "RHSA" | "RHBA" | "RHEA");
        let is_cve = |r: &&Reference| r.source == "CVE";
        // `RHSA-2019:3927: ansible …` → `RHSA-2019:3927`; `CVE-2020-1734 ansible: …` → `CVE-2020-1734`
        let title_id = def.title.as_deref().and_then(|t| {
            if patch {
                t.split(": ").next().filter(|id| id.starts_with("RH") && id.contains('-'))
            } else {
                t.split_whitespace().next().filter(|id| id.starts_with("CVE-"))
            }
        });
        let primary = if patch { def.references.iter().find(is_errata) } else { def.references.iter().find(is_cve) };
        let id = primary.map(|r| r.ref_id.as_str()).or(title_id).ok_or("no advisory id")?;

        let mut advisory = Advisory::new(id);
        let alias_refs = def.references.iter().filter(|r| is_cve(r) || is_errata(r)).map(|r| r.ref_id.clone());
        for alias in alias_refs.chain(def.cves.iter().cloned()) {
            if alias != id && !advisory.aliases.contains(&alias) {
                advisory.aliases.push(alias);
            }
        }
        advisory.title = def.title.clone();
        advisory.severity = def.severity.as_deref().map(Severity::parse);
        advisory.published = def.issued.clone();
        advisory.modified = def.updated.clone();
        advisory.url = primary.and_then(|r| r.ref_url.clone()).or_else(|| {
            Some(if patch {
                format!("https://access.redhat.com/errata/{id}")
            } else {
                format!("https://access.redhat.com/security/cve/{id}")
            })
        });

        let mut releases = releases_of(def, ctx);
        if releases.is_empty() {
            return Err("no rhel release");
        }
        releases.retain(|r| wanted_release(ctx, r));
        if releases.is_empty() {
            return Ok(None);
        }
        let mut entries = AffectedSet::default();
        for (test_ref, module) in &def.criteria_refs {
            let (name, status, fixed) = match self.claim(test_ref) {
                Claim::Fixed(name, evr) => (name, Status::Fixed, Some(evr)),
                Claim::Installed(name) if !patch => match resolution_status(def, &name) {
                    Some(status) => (name, status, None),
                    None => {
                        tracing::debug!(feed = %ctx.feed, definition = %def.id, "skipped unknown resolution state");
                        summary.n_skipped += 1;
                        continue;
                    }
                },
                Claim::Installed(_) | Claim::None => continue,
                Claim::Malformed(reason) => {
                    tracing::debug!(feed = %ctx.feed, definition = %def.id, test_ref, reason, "skipped oval test");
                    summary.n_skipped += 1;
                    continue;
                }
            };
            for release in &releases {
                entries.add(release.clone(), true, name.clone(), module.clone(), status, fixed.clone());
            }
        }
        advisory.affected = entries.into_affected();
        if advisory.affected.is_empty() {
            return Err("no package criteria");
        }
        Ok(Some(advisory))
    }

    fn claim(&self, test_ref: &str) -> Claim {
        let Some(test) = self.tests.get(test_ref) else { return Claim::None };
        if test.none_exist {
            return Claim::None;
        }
        let Some(name) = test.object_ref.as_ref().and_then(|o| self.objects.get(o)) else {
            return Claim::Malformed("rpminfo test without a named object");
        };
        if test.state_refs.is_empty() {
            return Claim::Installed(name.clone());
        }
        for state_ref in &test.state_refs {
            let Some(state) = self.states.get(state_ref) else { continue };
            if let Some((operation, value)) = &state.evr {
                if operation == "less than" {
                    return match Evr::parse(value) {
                        Some(evr) => Claim::Fixed(name.clone(), evr),
                        None => Claim::Malformed("malformed evr"),
                    };
                }
            }
        }
        Claim::None
    }
}

/// The RHEL releases a definition applies to, per the module docs.
fn releases_of(def: &Definition, ctx: &ParseContext) -> Vec<String> {
    let mut releases: Vec<String> = Vec::new();
    for (release, _) in def.cpes.iter().filter_map(|cpe| rhel_platform(cpe)) {
        if !releases.contains(&release) {
            releases.push(release);
        }
    }
    if releases.is_empty() {
        releases = def.release_hints.clone();
    }
    if releases.is_empty() {
        for release in def.platforms.iter().filter_map(|p| release_from_platform(p)) {
            if !releases.contains(&release) {
                releases.push(release);
            }
        }
    }
    if releases.is_empty() {
        if let [only] = ctx.releases.as_slice() {
            releases.push(only.clone());
        }
    }
    releases
}

/// The status of an installed-package claim in an unpatched definition: the resolution that
/// names the package, else the only resolution, else Affected.
fn resolution_status(def: &Definition, package: &str) -> Option<Status> {
    let named = def.resolutions.iter().find(|(_, components)| components.iter().any(|c| c == package));
    match named.or(if def.resolutions.len() == 1 { def.resolutions.first() } else { None }) {
        Some((state, _)) => status_from_resolution(state),
        None => Some(Status::Unfixed),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::feeds::formats::redhat_csaf::render_for_tests;

    fn ctx(releases: &[&str]) -> ParseContext {
        ParseContext {
            feed: "redhat-oval-test".into(),
            releases: releases.iter().map(|r| r.to_string()).collect(),
            ..ParseContext::default()
        }
    }

    fn run(bytes: &[u8], releases: &[&str], limits: &OvalLimits) -> Result<(Vec<Advisory>, ParseSummary), FormatError> {
        let mut out = Vec::new();
        let summary = parse_with_limits(bytes, &ctx(releases), &mut |a| out.push(a), limits)?;
        Ok((out, summary))
    }

    fn check_with(definitions: &str, tail: &str, releases: &[&str], expected: &str) {
        let doc = document(definitions, tail);
        let (advisories, summary) =
            run(doc.as_bytes(), releases, &OvalLimits::DEFAULT).unwrap_or_else(|e| panic!("parse failed: {e}"));
        let actual = render_for_tests(&advisories, &summary);
        assert_eq!(actual.trim(), expected.trim(), "\nactual:\n{actual}\n");
    }

    fn check(definitions: &str, expected: &str) {
        check_with(definitions, "", &[], expected);
    }

    /// Shared tests, objects and states: openssl (epoch 1) and nodejs, their fixes, a
    /// signature state and an arch state.
    const TESTS: &str = r#"
 <tests>
  <red-def:rpminfo_test check="at least one" comment="openssl is installed" id="tst:1" version="1">
   <red-def:object object_ref="obj:openssl"/>
  </red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="openssl is signed" id="tst:2" version="1">
   <red-def:object object_ref="obj:openssl"/>
   <red-def:state state_ref="ste:sig"/>
  </red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="openssl is earlier than 1:3.0.7-27.el9" id="tst:3" version="1">
   <red-def:object object_ref="obj:openssl"/>
   <red-def:state state_ref="ste:arch"/>
   <red-def:state state_ref="ste:openssl-27"/>
  </red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="openssl is earlier than 1:3.0.7-28.el9" id="tst:4" version="1">
   <red-def:object object_ref="obj:openssl"/>
   <red-def:state state_ref="ste:openssl-28"/>
  </red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="nodejs is earlier than 1:18.17.1-1.module+el9" id="tst:5" version="1">
   <red-def:object object_ref="obj:nodejs"/>
   <red-def:state state_ref="ste:nodejs-18"/>
  </red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="nodejs is earlier than 1:16.20.2-1.module+el9" id="tst:6" version="1">
   <red-def:object object_ref="obj:nodejs"/>
   <red-def:state state_ref="ste:nodejs-16"/>
  </red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="nodejs is installed" id="tst:7" version="1">
   <red-def:object object_ref="obj:nodejs"/>
  </red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" check_existence="none_exist" comment="nodejs is not installed" id="tst:8" version="1">
   <red-def:object object_ref="obj:nodejs"/>
  </red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="openssl is earlier than garbage" id="tst:9" version="1">
   <red-def:object object_ref="obj:openssl"/>
   <red-def:state state_ref="ste:bad"/>
  </red-def:rpminfo_test>
  <red-def:rpmverifyfile_test check="at least one" comment="Red Hat Enterprise Linux 9 is installed" id="tst:rhel9" version="1">
   <red-def:object object_ref="obj:release"/>
  </red-def:rpmverifyfile_test>
 </tests>
 <objects>
  <red-def:rpminfo_object id="obj:openssl" version="1"><red-def:name>openssl</red-def:name></red-def:rpminfo_object>
  <red-def:rpminfo_object id="obj:nodejs" version="1"><red-def:name>nodejs</red-def:name></red-def:rpminfo_object>
  <red-def:rpmverifyfile_object id="obj:release" version="1"><red-def:name operation="pattern match"/></red-def:rpmverifyfile_object>
 </objects>
 <states>
  <red-def:rpminfo_state id="ste:sig" version="1"><red-def:signature_keyid operation="equals">199e2f91fd431d51</red-def:signature_keyid></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:arch" version="1"><red-def:arch datatype="string" operation="pattern match">aarch64|x86_64</red-def:arch></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:openssl-27" version="1"><red-def:evr datatype="evr_string" operation="less than">1:3.0.7-27.el9</red-def:evr></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:openssl-28" version="1"><red-def:evr datatype="evr_string" operation="less than">1:3.0.7-28.el9</red-def:evr></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:nodejs-18" version="1"><red-def:evr datatype="evr_string" operation="less than">1:18.17.1-1.module+el9</red-def:evr></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:nodejs-16" version="1"><red-def:evr datatype="evr_string" operation="less than">1:16.20.2-1.module+el9</red-def:evr></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:bad" version="1"><red-def:evr datatype="evr_string" operation="less than">x:1</red-def:evr></red-def:rpminfo_state>
 </states>"#;

    const OVAL_ROOT_OPEN: &str = r#"<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5">"#;

    fn document(definitions: &str, tail: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:red-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
 <definitions>{definitions}</definitions>{TESTS}{tail}
</oval_definitions>"#
        )
    }

    fn patch(id: &str, extra_metadata: &str, criteria: &str) -> String {
        format!(
            r#"
  <definition class="patch" id="oval:com.redhat.rhsa:def:{id}" version="1">
   <metadata>
    <title>{id}: openssl security update (Important)</title>
    <reference ref_id="{id}" ref_url="https://access.redhat.com/errata/{id}" source="RHSA"/>
    <reference ref_id="CVE-2024-0001" ref_url="https://access.redhat.com/security/cve/CVE-2024-0001" source="CVE"/>
    <advisory from="secalert@redhat.com">
     <severity>Important</severity>
     <issued date="2024-05-01"/>
     <updated date="2024-05-02"/>
     <cve href="https://access.redhat.com/security/cve/CVE-2024-0002">CVE-2024-0002</cve>
     {extra_metadata}
    </advisory>
   </metadata>
   {criteria}
  </definition>"#
        )
    }

    const RHEL9_CPES: &str = "<affected_cpe_list><cpe>cpe:/o:redhat:enterprise_linux:9::baseos</cpe>\
        <cpe>cpe:/a:redhat:enterprise_linux:9::appstream</cpe></affected_cpe_list>";

    #[test]
    fn patch_definition_fixes_with_epoch_and_highest_wins() {
        let criteria = r#"<criteria operator="AND">
     <criterion comment="Red Hat Enterprise Linux must be installed" test_ref="tst:rhel9"/>
     <criteria operator="OR">
      <criteria operator="AND">
       <criterion comment="openssl is earlier than 1:3.0.7-27.el9" test_ref="tst:3"/>
       <criterion comment="openssl is signed" test_ref="tst:2"/>
      </criteria>
      <criterion comment="openssl is earlier than 1:3.0.7-28.el9" test_ref="tst:4"/>
      <criterion comment="nodejs is not installed" test_ref="tst:8"/>
      <criterion comment="openssl is installed" test_ref="tst:1"/>
     </criteria>
    </criteria>"#;
        check(
            &patch("RHSA-2024:0001", RHEL9_CPES, criteria),
            "
RHSA-2024:0001 severity=high aliases=CVE-2024-0001,CVE-2024-0002
  rhel/9 openssl fixed 1:3.0.7-28.el9
skipped 0",
        );
    }

    #[test]
    fn advisory_metadata() {
        let doc = document(&patch("RHSA-2024:0001", RHEL9_CPES, r#"<criterion comment="x" test_ref="tst:3"/>"#), "");
        let (advisories, _) = run(doc.as_bytes(), &[], &OvalLimits::DEFAULT).unwrap_or_else(|e| panic!("{e}"));
        let a = &advisories[0];
        assert_eq!(a.title.as_deref(), Some("RHSA-2024:0001: openssl security update (Important)"));
        assert_eq!(a.url.as_deref(), Some("https://access.redhat.com/errata/RHSA-2024:0001"));
        assert_eq!(a.published.as_deref(), Some("2024-05-01"));
        assert_eq!(a.modified.as_deref(), Some("2024-05-02"));
        assert_eq!(a.affected[0].kind, crate::advisories::PackageKind::Binary);
        assert_eq!(a.affected[0].scheme, crate::inventory::Ecosystem::Rpm);
    }

    /// Each module criterion applies to the packages in its own criteria branch.
    #[test]
    fn module_streams_scope_to_their_criteria() {
        let criteria = r#"<criteria operator="OR">
     <criteria operator="AND">
      <criterion comment="Module nodejs:18 is enabled" test_ref="tst:mod18"/>
      <criteria operator="OR"><criterion comment="nodejs is earlier than 1:18.17.1-1.module+el9" test_ref="tst:5"/></criteria>
     </criteria>
     <criteria operator="AND">
      <criterion comment="nodejs is earlier than 1:16.20.2-1.module+el9" test_ref="tst:6"/>
      <criterion comment="Module nodejs:16 is enabled" test_ref="tst:mod16"/>
     </criteria>
     <criterion comment="openssl is earlier than 1:3.0.7-27.el9" test_ref="tst:3"/>
    </criteria>"#;
        check(
            &patch("RHSA-2024:0002", RHEL9_CPES, criteria),
            "
RHSA-2024:0002 severity=high aliases=CVE-2024-0001,CVE-2024-0002
  rhel/9 nodejs module=nodejs:18 fixed 1:18.17.1-1.module+el9
  rhel/9 nodejs module=nodejs:16 fixed 1:16.20.2-1.module+el9
  rhel/9 openssl fixed 1:3.0.7-27.el9
skipped 0",
        );
    }

    fn unpatched(cve: &str, resolutions: &str, criteria: &str) -> String {
        format!(
            r#"
  <definition class="vulnerability" id="oval:com.redhat.cve:def:{cve}" version="1">
   <metadata>
    <title>{cve} openssl: a flaw &amp; another (low)</title>
    <reference ref_id="{cve}" ref_url="https://access.redhat.com/security/cve/{cve}" source="CVE"/>
    <advisory from="secalert@redhat.com">
     <severity>Low</severity>
     {resolutions}
     <affected_cpe_list><cpe>cpe:/o:redhat:enterprise_linux:9</cpe></affected_cpe_list>
    </advisory>
   </metadata>
   <criteria operator="AND">
    <criterion comment="Red Hat Enterprise Linux 9 is installed" test_ref="tst:rhel9"/>
    {criteria}
   </criteria>
  </definition>"#
        )
    }

    #[test]
    fn unpatched_resolution_states() {
        let openssl = r#"<criteria operator="AND"><criterion comment="openssl is installed" test_ref="tst:1"/>
            <criterion comment="openssl is signed" test_ref="tst:2"/></criteria>"#;
        let both = r#"<criteria operator="OR"><criterion comment="openssl is installed" test_ref="tst:1"/>
            <criterion comment="nodejs is installed" test_ref="tst:7"/></criteria>"#;
        let one = |state: &str| {
            format!("<affected><resolution state=\"{state}\"><component>openssl</component></resolution></affected>")
        };
        let defs = [
            unpatched("CVE-2024-1001", &one("Affected"), openssl),
            unpatched("CVE-2024-1002", &one("Will not fix"), openssl),
            unpatched("CVE-2024-1003", &one("Fix deferred"), openssl),
            unpatched("CVE-2024-1004", &one("Out of support scope"), openssl),
            unpatched("CVE-2024-1005", &one("Under investigation"), openssl),
            unpatched("CVE-2024-1006", "", openssl),
            unpatched(
                "CVE-2024-1007",
                "<affected><resolution state=\"Will not fix\"><component>openssl</component></resolution>\
                 <resolution state=\"Fix deferred\"><component>compat-openssl</component></resolution></affected>",
                both,
            ),
            unpatched("CVE-2024-1008", &one("Something new"), openssl),
        ]
        .concat();
        check(
            &defs,
            "
CVE-2024-1001 severity=low
  rhel/9 openssl unfixed -
CVE-2024-1002 severity=low
  rhel/9 openssl will-not-fix -
CVE-2024-1003 severity=low
  rhel/9 openssl deferred -
CVE-2024-1004 severity=low
  rhel/9 openssl end-of-life -
CVE-2024-1005 severity=low
  rhel/9 openssl undetermined -
CVE-2024-1006 severity=low
  rhel/9 openssl unfixed -
CVE-2024-1007 severity=low
  rhel/9 openssl will-not-fix -
  rhel/9 nodejs unfixed -
skipped 2",
        );
    }

    #[test]
    fn entities_in_text_are_resolved() {
        let doc = document(
            &unpatched("CVE-2024-1001", "", r#"<criterion comment="openssl is installed" test_ref="tst:1"/>"#),
            "",
        );
        let (advisories, _) = run(doc.as_bytes(), &[], &OvalLimits::DEFAULT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(advisories[0].title.as_deref(), Some("CVE-2024-1001 openssl: a flaw & another (low)"));
    }

    #[test]
    fn release_sources_and_skips() {
        let def = |id: &str, metadata: &str, criteria: &str| {
            format!(
                r#"<definition class="patch" id="d:{id}" version="1"><metadata><title>{id}: update</title>{metadata}</metadata>
                   <criteria operator="AND">{criteria}<criterion comment="openssl is earlier than 1:3.0.7-27.el9" test_ref="tst:3"/></criteria></definition>"#
            )
        };
        let defs = [
            def("RHSA-2024:0010", "", r#"<criterion comment="Red Hat Enterprise Linux 8 is installed" test_ref="tst:x"/>"#),
            def("RHSA-2024:0011", "<affected family=\"unix\"><platform>Red Hat Ansible Engine 2.9 for RHEL 8</platform></affected>", ""),
            def("RHSA-2024:0012", "", ""),
            def("RHSA-2024:0013", "<advisory><affected_cpe_list><cpe>cpe:/a:redhat:rhel_eus:9.2::appstream</cpe></affected_cpe_list></advisory>", ""),
            r#"<definition class="patch" id="d:noid" version="1"><metadata><title>no id here</title></metadata>
               <criterion comment="openssl is earlier than 1:3.0.7-27.el9" test_ref="tst:3"/></definition>"#.to_owned(),
            r#"<definition class="inventory" id="d:inv" version="1"><metadata><title>Red Hat Enterprise Linux 9</title></metadata></definition>"#.to_owned(),
            def("RHSA-2024:0014", "<advisory><affected_cpe_list><cpe>cpe:/o:redhat:enterprise_linux:9</cpe></affected_cpe_list></advisory>",
                r#"<criterion comment="openssl is earlier than garbage" test_ref="tst:9"/>"#)
                .replace(r#"<criterion comment="openssl is earlier than 1:3.0.7-27.el9" test_ref="tst:3"/>"#, ""),
        ]
        .concat();
        check(
            &defs,
            "
RHSA-2024:0010 severity=-
  rhel/8 openssl fixed 1:3.0.7-27.el9
RHSA-2024:0011 severity=-
  rhel/8 openssl fixed 1:3.0.7-27.el9
RHSA-2024:0013 severity=-
  rhel/9 openssl fixed 1:3.0.7-27.el9
skipped 4",
        );
        // The context names the release when the document does not.
        check_with(
            &def("RHSA-2024:0012", "", ""),
            "",
            &["7"],
            "
RHSA-2024:0012 severity=-
  rhel/7 openssl fixed 1:3.0.7-27.el9
skipped 0",
        );
    }

    #[test]
    fn releases_outside_the_feed_are_dropped() {
        let def = patch("RHSA-2024:0001", RHEL9_CPES, r#"<criterion comment="x" test_ref="tst:4"/>"#);
        check_with(&def, "", &["8"], "skipped 0");
        check_with(
            &def,
            "",
            &["9"],
            "
RHSA-2024:0001 severity=high aliases=CVE-2024-0001,CVE-2024-0002
  rhel/9 openssl fixed 1:3.0.7-28.el9
skipped 0",
        );
    }

    fn bzip2(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = bzip2::read::BzEncoder::new(data, bzip2::Compression::fast());
        encoder.read_to_end(&mut out).unwrap_or_else(|e| panic!("bzip2: {e}"));
        out
    }

    #[test]
    fn bzip2_input_matches_plain_input() {
        let doc = document(&patch("RHSA-2024:0001", RHEL9_CPES, r#"<criterion comment="x" test_ref="tst:4"/>"#), "");
        let compressed = bzip2(doc.as_bytes());
        assert!(compressed.starts_with(b"BZh"));
        let plain = run(doc.as_bytes(), &[], &OvalLimits::DEFAULT).unwrap_or_else(|e| panic!("{e}"));
        let unpacked = run(&compressed, &[], &OvalLimits::DEFAULT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.0, unpacked.0);
        assert_eq!(plain.0.len(), 1);
    }

    #[test]
    fn bzip2_size_cap_and_corruption_are_errors() {
        let doc = document(&patch("RHSA-2024:0001", RHEL9_CPES, ""), "");
        let compressed = bzip2(doc.as_bytes());
        let small = OvalLimits { max_decompressed_bytes: 1024, ..OvalLimits::DEFAULT };
        let err = run(&compressed, &[], &small).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("decompressed document exceeds 1024 bytes"), "{err}");

        let truncated = &compressed[..compressed.len() / 2];
        assert!(run(truncated, &[], &OvalLimits::DEFAULT).is_err());
    }

    /// A bzip2 document whose `<title>` text runs on for `n_streams` × 1 MiB of `a`: each MiB
    /// is its own bzip2 stream, so the bomb stays a few kilobytes.
    fn endless_title_bomb(n_streams: usize) -> Vec<u8> {
        let mut bomb = bzip2(format!("{OVAL_ROOT_OPEN}<definitions><definition><metadata><title>").as_bytes());
        let megabyte = bzip2(&vec![b'a'; 1024 * 1024]);
        for _ in 0..n_streams {
            bomb.extend_from_slice(&megabyte);
        }
        bomb
    }

    #[test]
    fn one_endless_token_stops_at_the_token_cap() {
        // 64 MiB in one text token against an 8 MiB cap: refused long before the whole text is
        // held (fuzz/regressions/redhat_oval holds the 540 MB version that once took 1 GiB).
        let bomb = endless_title_bomb(64);
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let err = run(&bomb, &[], &OvalLimits::DEFAULT).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("one XML token is longer than 8388608 bytes"), "{err}");

        // The same cap applies to a document that is not compressed.
        let plain = format!("{}<!--{}-->", OVAL_ROOT_OPEN, "x".repeat(2 * 1024 * 1024));
        let small = OvalLimits { max_token_bytes: 1024 * 1024, ..OvalLimits::DEFAULT };
        let err = run(plain.as_bytes(), &[], &small).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("one XML token is longer than 1048576 bytes"), "{err}");
        // A token under the cap is fine.
        let fine = format!("{}<!--{}--></oval_definitions>", OVAL_ROOT_OPEN, "x".repeat(512 * 1024));
        assert!(run(fine.as_bytes(), &[], &small).is_ok());
    }

    #[test]
    fn documents_that_are_not_oval_are_errors() {
        for (input, message) in [
            ("{\"json\": true}", "no <oval_definitions> root element"),
            ("<feed><entry/></feed>", "root element is not <oval_definitions>"),
            ("<oval_definitions><definitions></oval_definitions>", "invalid xml"),
            ("", "no <oval_definitions> root element"),
        ] {
            let err = run(input.as_bytes(), &[], &OvalLimits::DEFAULT).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(message), "{input}: {err}");
        }
        let deep = format!("<oval_definitions>{}{}</oval_definitions>", "<a>".repeat(20), "</a>".repeat(20));
        let shallow = OvalLimits { max_depth: 10, ..OvalLimits::DEFAULT };
        let err = run(deep.as_bytes(), &[], &shallow).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("nested deeper than 10"), "{err}");
    }

    #[test]
    fn comments() {
        assert_eq!(
            module_from_comment("Module container-tools:rhel8 is enabled").as_deref(),
            Some("container-tools:rhel8")
        );
        assert_eq!(module_from_comment("Module is enabled"), None);
        assert_eq!(release_from_comment("Red Hat Enterprise Linux 7 Client is installed").as_deref(), Some("7"));
        assert_eq!(release_from_comment("Red Hat Enterprise Linux must be installed"), None);
        assert_eq!(release_from_platform("Red Hat Enterprise Linux 8").as_deref(), Some("8"));
        assert_eq!(release_from_platform("Red Hat Ansible Engine 2.9 for RHEL 8").as_deref(), Some("8"));
        assert_eq!(release_from_platform("Red Hat Ansible Engine 2.9"), None);
    }
}
