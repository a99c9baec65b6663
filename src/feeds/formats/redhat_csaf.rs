//! Red Hat CSAF 2.0 JSON → [`Advisory`]: VEX files (`csaf_vex`, one CVE each) and advisory
//! files (`csaf_security_advisory`, one RHSA each). Owns the CSAF wire structs, the product
//! tree index, the remediation → [`Status`] mapping, and the small rpm EVR comparison that
//! [`super::redhat_oval`] shares. Must not do IO, and must not report non-RHEL products.
//!
//! - Every `product_status` id is resolved through `product_tree.relationships`
//!   (`default_component_of`, followed through a module product when the package sits in one)
//!   to a platform with a CPE and a package product. Platform CPE `enterprise_linux:N` and the
//!   update streams `rhel_eus` / `rhel_aus` / `rhel_tus` / `rhel_e4s` / `rhel_els` map to
//!   release `N`; every other platform (OpenShift, Satellite, …) is skipped and counted.
//! - Package: binary name, `[epoch:]version-release` and arch from the PURL
//!   (`pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1`), else from the product
//!   name (`openssl-libs-1:3.0.7-27.el9.x86_64`, or a bare `kernel` in VEX files). Module
//!   stream (`nodejs:18`) from the `rpmmod` qualifier, the legacy `pkg:rpmmod/redhat/
//!   nodejs:18/nodejs` form, or the `name:stream:version:context` module product the package
//!   is a component of. `arch=src` products are skipped: the binaries are listed too.
//! - Status: `fixed` → Fixed at the product's EVR; `known_affected` → by remediation
//!   (`none_available` "Affected" → Unfixed, "Deferred" → Deferred; `no_fix_planned` "Will
//!   not fix" → WillNotFix, "Out of support scope" → EndOfLife); `known_not_affected` →
//!   NotAffected; `under_investigation` → Undetermined.
//! - Several products for one (release, package, module) collapse into one entry: a mainline
//!   (`enterprise_linux`) platform outranks an update stream (EUS/AUS/…), because the entry
//!   is keyed by major release only; within a rank a fix beats no fix and the highest fixed
//!   EVR wins; among unfixed statuses the most affected one wins.
//! - Entries for releases outside `ctx.releases` (when it names any) are dropped uncounted; an
//!   advisory with no entry left is not emitted.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Deserialize;

use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::{Advisory, Affected, PackageKind, Severity, Status};
use crate::inventory::Ecosystem;
use crate::versions::rpm;

const FORMAT: Format = Format::RedhatCsaf;
const DISTRO: &str = "rhel";
/// Relationship hops from a package to its platform: package → module → platform is two.
const MAX_RELATIONSHIP_HOPS: usize = 4;

pub fn parse(bytes: &[u8], ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    let doc: WireCsaf =
        serde_json::from_slice(bytes).map_err(|e| FormatError::new(FORMAT, format!("invalid csaf json: {e}")))?;
    let index = ProductIndex::build(doc.product_tree.as_ref());
    let tracking = doc.document.tracking.as_ref();
    let published = tracking.and_then(|t| t.initial_release_date.clone());
    let modified = tracking.and_then(|t| t.current_release_date.clone());
    let aggregate = doc.document.aggregate_severity.as_ref().and_then(|s| s.text.as_deref()).map(Severity::parse);
    let mut summary = ParseSummary::default();

    match doc.document.category.as_str() {
        "csaf_vex" => {
            for vuln in &doc.vulnerabilities {
                let Some(cve) = vuln.cve.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
                    tracing::debug!(feed = %ctx.feed, "skipped csaf vulnerability without a cve");
                    summary.n_skipped += 1;
                    continue;
                };
                let mut advisory = Advisory::new(cve);
                for remediation in &vuln.remediations {
                    for id in remediation.url.as_deref().map(rhsa_ids).unwrap_or_default() {
                        push_unique(&mut advisory.aliases, id);
                    }
                }
                advisory.title = vuln.title.clone().or_else(|| doc.document.title.clone());
                advisory.severity = aggregate.or_else(|| threat_severity(std::slice::from_ref(vuln)));
                advisory.published = published.clone();
                advisory.modified = modified.clone();
                advisory.url = Some(format!("https://access.redhat.com/security/cve/{cve}"));
                let mut entries = AffectedSet::default();
                collect(vuln, &index, ctx, &mut entries, &mut summary);
                advisory.affected = entries.into_affected();
                if !advisory.affected.is_empty() {
                    sink(advisory);
                }
            }
        }
        "csaf_security_advisory" => {
            let id = tracking.and_then(|t| t.id.as_deref()).map(str::trim).filter(|id| !id.is_empty());
            let Some(id) = id else {
                return Err(FormatError::new(FORMAT, "advisory without `document.tracking.id`"));
            };
            let mut advisory = Advisory::new(id);
            for vuln in &doc.vulnerabilities {
                if let Some(cve) = vuln.cve.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                    push_unique(&mut advisory.aliases, cve.to_owned());
                }
            }
            advisory.title = doc.document.title.clone();
            advisory.severity = aggregate.or_else(|| threat_severity(&doc.vulnerabilities));
            advisory.published = published;
            advisory.modified = modified;
            advisory.url = Some(format!("https://access.redhat.com/errata/{id}"));
            let mut entries = AffectedSet::default();
            for vuln in &doc.vulnerabilities {
                collect(vuln, &index, ctx, &mut entries, &mut summary);
            }
            advisory.affected = entries.into_affected();
            if !advisory.affected.is_empty() {
                sink(advisory);
            }
        }
        other => return Err(FormatError::new(FORMAT, format!("unsupported document category `{other}`"))),
    }
    Ok(summary)
}

/// Adds one entry per product of `vuln.product_status` that resolves to an RHEL package.
fn collect(
    vuln: &WireVulnerability,
    index: &ProductIndex<'_>,
    ctx: &ParseContext,
    entries: &mut AffectedSet,
    summary: &mut ParseSummary,
) {
    let statuses = &vuln.product_status;
    let groups: [(&[String], Option<Status>); 5] = [
        (&statuses.fixed, Some(Status::Fixed)),
        (&statuses.first_fixed, Some(Status::Fixed)),
        (&statuses.known_affected, None),
        (&statuses.known_not_affected, Some(Status::NotAffected)),
        (&statuses.under_investigation, Some(Status::Undetermined)),
    ];
    for (ids, status) in groups {
        for product_id in ids {
            let package = match index.resolve(product_id) {
                Ok(Resolved::Package(package)) => package,
                Ok(Resolved::Source | Resolved::Module) => continue,
                Err(reason) => {
                    tracing::debug!(feed = %ctx.feed, product_id, reason, "skipped csaf product");
                    summary.n_skipped += 1;
                    continue;
                }
            };
            if !wanted_release(ctx, &package.release) {
                continue;
            }
            let status = status.unwrap_or_else(|| affected_status(vuln, product_id));
            let fixed = match (status, &package.evr) {
                (Status::Fixed, Some(evr)) => Some(evr.clone()),
                (Status::Fixed, None) => {
                    tracing::debug!(feed = %ctx.feed, product_id, "skipped fixed csaf product without a version");
                    summary.n_skipped += 1;
                    continue;
                }
                _ => None,
            };
            entries.add(package.release, package.mainline, package.name, package.module, status, fixed);
        }
    }
}

/// Whether the feed covers `release` (`ctx.releases` empty = every release). Entries outside
/// it are dropped without counting, as the other parsers do.
pub(super) fn wanted_release(ctx: &ParseContext, release: &str) -> bool {
    ctx.releases.is_empty() || ctx.releases.iter().any(|r| r == release)
}

/// The status of a `known_affected` product, from the remediation that names it.
fn affected_status(vuln: &WireVulnerability, product_id: &str) -> Status {
    for remediation in &vuln.remediations {
        if !remediation.product_ids.iter().any(|p| p == product_id) {
            continue;
        }
        let details = remediation.details.as_deref().unwrap_or("").trim().to_ascii_lowercase();
        match remediation.category.as_str() {
            "none_available" => {
                return match details.as_str() {
                    "deferred" | "fix deferred" => Status::Deferred,
                    "out of support scope" => Status::EndOfLife,
                    _ => Status::Unfixed,
                };
            }
            "no_fix_planned" => {
                return match details.as_str() {
                    "out of support scope" => Status::EndOfLife,
                    "deferred" | "fix deferred" => Status::Deferred,
                    _ => Status::WillNotFix,
                };
            }
            _ => {}
        }
    }
    Status::Unfixed
}

/// The highest `impact` threat of the given vulnerabilities.
fn threat_severity(vulns: &[WireVulnerability]) -> Option<Severity> {
    vulns
        .iter()
        .flat_map(|v| &v.threats)
        .filter(|t| t.category == "impact")
        .filter_map(|t| t.details.as_deref())
        .map(Severity::parse)
        .filter(|s| *s != Severity::Unknown)
        .max()
}

/// `RHSA-2024:6163` ids in a text such as `https://access.redhat.com/errata/RHSA-2024:6163`.
fn rhsa_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("RHSA-") {
        let candidate = &rest[at + 5..];
        let year_len = candidate.bytes().take_while(u8::is_ascii_digit).count();
        let after_year = &candidate[year_len..];
        if year_len == 4 && after_year.starts_with(':') {
            let number_len = after_year[1..].bytes().take_while(u8::is_ascii_digit).count();
            if number_len > 0 {
                push_unique(&mut ids, format!("RHSA-{}:{}", &candidate[..4], &after_year[1..1 + number_len]));
            }
        }
        rest = candidate;
    }
    ids
}

fn push_unique(list: &mut Vec<String>, id: String) {
    if !list.contains(&id) {
        list.push(id);
    }
}

// ---------------------------------------------------------------------------------------------
// Product tree

/// What a `product_status` id stands for.
enum Resolved {
    Package(PackageOnPlatform),
    /// An `arch=src` product: skipped, the binary products are listed too.
    Source,
    /// A module itself (`nodejs:18:…` as a component of AppStream), not a package.
    Module,
}

struct PackageOnPlatform {
    release: String,
    /// The platform is mainline RHEL, not an update stream (EUS, AUS, …).
    mainline: bool,
    name: String,
    evr: Option<Evr>,
    module: Option<String>,
}

struct ProductIndex<'a> {
    products: HashMap<&'a str, &'a WireProduct>,
    /// full product id → (product_reference, relates_to_product_reference)
    relationships: HashMap<&'a str, (&'a str, &'a str)>,
}

impl<'a> ProductIndex<'a> {
    fn build(tree: Option<&'a WireProductTree>) -> ProductIndex<'a> {
        let mut index = ProductIndex { products: HashMap::new(), relationships: HashMap::new() };
        let Some(tree) = tree else { return index };
        let mut stack: Vec<&WireBranch> = tree.branches.iter().collect();
        while let Some(branch) = stack.pop() {
            if let Some(product) = &branch.product {
                index.products.insert(product.product_id.as_str(), product);
            }
            stack.extend(branch.branches.iter());
        }
        for product in &tree.full_product_names {
            index.products.insert(product.product_id.as_str(), product);
        }
        for rel in &tree.relationships {
            if rel.category == "default_component_of" {
                index.relationships.insert(
                    rel.full_product_name.product_id.as_str(),
                    (rel.product_reference.as_str(), rel.relates_to_product_reference.as_str()),
                );
            }
        }
        index
    }

    fn resolve(&self, product_id: &str) -> Result<Resolved, &'static str> {
        let &(component, mut target) = self.relationships.get(product_id).ok_or("not a component of a platform")?;
        let component = self.products.get(component).ok_or("unknown component product")?;
        let mut chain_module = None;
        let mut platform = None;
        for _ in 0..MAX_RELATIONSHIP_HOPS {
            if let Some(cpe) = self.products.get(target).and_then(|p| p.helper_cpe()) {
                platform = Some(cpe);
                break;
            }
            let &(inner, outer) = self.relationships.get(target).ok_or("platform without a cpe")?;
            if let Some(module) = self.products.get(inner).and_then(|p| module_product(p)) {
                chain_module = Some(module);
            }
            target = outer;
        }
        let cpe = platform.ok_or("relationship chain too long")?;
        let (release, mainline) = rhel_platform(cpe).ok_or("not an rhel platform")?;
        let package = match component_package(component) {
            Component::Package(package) => package,
            Component::Source => return Ok(Resolved::Source),
            Component::Module => return Ok(Resolved::Module),
            Component::Unusable(reason) => return Err(reason),
        };
        Ok(Resolved::Package(PackageOnPlatform {
            release,
            mainline,
            name: package.name,
            evr: package.evr,
            module: package.module.or(chain_module),
        }))
    }
}

impl WireProduct {
    fn helper_cpe(&self) -> Option<&str> {
        self.product_identification_helper.as_ref()?.cpe.as_deref()
    }

    fn helper_purl(&self) -> Option<&str> {
        self.product_identification_helper.as_ref()?.purl.as_deref()
    }
}

/// The release and mainline flag of an RHEL platform CPE (`cpe:/o:redhat:enterprise_linux:9`,
/// `cpe:/a:redhat:rhel_eus:9.2::appstream`, CPE 2.3 `cpe:2.3:o:redhat:enterprise_linux:9:…`);
/// None for other products.
pub(super) fn rhel_platform(cpe: &str) -> Option<(String, bool)> {
    let parts: Vec<&str> = cpe.trim().split(':').collect();
    let vendor_at = match parts.get(1) {
        Some(part) if part.starts_with('/') => 2,
        Some(&"2.3") => 3,
        _ => return None,
    };
    if parts.first() != Some(&"cpe") || parts.get(vendor_at) != Some(&"redhat") {
        return None;
    }
    let mainline = match *parts.get(vendor_at + 1)? {
        "enterprise_linux" => true,
        "rhel_eus" | "rhel_aus" | "rhel_tus" | "rhel_e4s" | "rhel_els" => false,
        _ => return None,
    };
    let version = parts.get(vendor_at + 2)?;
    let major: String = version.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty()).then_some((major, mainline))
}

struct PackageRef {
    name: String,
    evr: Option<Evr>,
    module: Option<String>,
}

enum Component {
    Package(PackageRef),
    Source,
    Module,
    Unusable(&'static str),
}

/// The package a component product names, from its PURL or else its name.
fn component_package(product: &WireProduct) -> Component {
    if let Some(purl) = product.helper_purl() {
        return package_from_purl(purl);
    }
    match product.name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => package_from_name(name),
        _ => Component::Unusable("component without purl or name"),
    }
}

fn package_from_purl(purl: &str) -> Component {
    let Some(purl) = Purl::parse(purl) else { return Component::Unusable("malformed purl") };
    match purl.kind.as_str() {
        "rpm" => {
            let name = purl.name.clone();
            if name.is_empty() {
                return Component::Unusable("purl without a name");
            }
            if purl.qualifier("arch") == Some("src") {
                return Component::Source;
            }
            let evr = match &purl.version {
                Some(version) => match Evr::from_parts(purl.qualifier("epoch"), version) {
                    Some(evr) => Some(evr),
                    None => return Component::Unusable("malformed rpm version in purl"),
                },
                None => None,
            };
            Component::Package(PackageRef { name, evr, module: purl.qualifier("rpmmod").and_then(module_stream) })
        }
        "rpmmod" => match (&purl.version, purl.namespace.last()) {
            // pkg:rpmmod/redhat/nodejs@18:8080020231011130044:63b34585: the module itself
            (Some(_), _) => Component::Module,
            // legacy VEX: pkg:rpmmod/redhat/nodejs:18/nodejs
            (None, Some(module)) if module.contains(':') && !purl.name.is_empty() => {
                Component::Package(PackageRef { name: purl.name, evr: None, module: module_stream(module) })
            }
            _ => Component::Module,
        },
        _ => Component::Unusable("not an rpm purl"),
    }
}

/// `openssl-libs-1:3.0.7-27.el9.x86_64` (advisory files), `kernel` (VEX files),
/// `nodejs:18/nodejs` (legacy VEX module package).
fn package_from_name(name: &str) -> Component {
    let (module, name) = match name.split_once('/') {
        Some((module, rest)) if module.contains(':') => (module_stream(module), rest),
        Some(_) => return Component::Unusable("product name is not an rpm"),
        None => (None, name),
    };
    if let Some((name, evr, arch)) = split_nevra(name) {
        if arch == "src" {
            return Component::Source;
        }
        return Component::Package(PackageRef { name: name.to_owned(), evr: Some(evr), module });
    }
    if name.contains(':') || name.contains(char::is_whitespace) {
        return Component::Unusable("product name is not an rpm");
    }
    Component::Package(PackageRef { name: name.to_owned(), evr: None, module })
}

/// `name-epoch:version-release.arch` → (name, evr, arch). Red Hat product names always carry
/// the epoch, which tells a NEVRA from a plain name with dashes.
fn split_nevra(s: &str) -> Option<(&str, Evr, &str)> {
    let (rest, arch) = s.rsplit_once('.')?;
    let (rest, release) = rest.rsplit_once('-')?;
    let (name, epoch_version) = rest.rsplit_once('-')?;
    let (epoch, version) = epoch_version.split_once(':')?;
    let valid = !name.is_empty() && !arch.is_empty() && !arch.contains('-') && !release.is_empty();
    if !valid {
        return None;
    }
    let evr = Evr::from_parts(Some(epoch), &format!("{version}-{release}"))?;
    Some((name, evr, arch))
}

/// A module product (`gimp:2.8:8080020250623120629:0621e4ee`, or its `pkg:rpmmod` purl) →
/// `gimp:2.8`.
fn module_product(product: &WireProduct) -> Option<String> {
    if let Some(purl) = product.helper_purl().and_then(Purl::parse) {
        if purl.kind == "rpmmod" {
            let version = purl.version.as_deref()?;
            let stream = version.split(':').next().filter(|s| !s.is_empty())?;
            return Some(format!("{}:{stream}", purl.name));
        }
        return None;
    }
    module_stream(product.name.as_deref()?)
}

/// `nodejs:18:8080020231011130044:63b34585` or `nodejs:18` → `nodejs:18`.
pub(super) fn module_stream(spec: &str) -> Option<String> {
    let mut parts = spec.trim().splitn(3, ':');
    let name = parts.next().filter(|s| !s.is_empty())?;
    let stream = parts.next().filter(|s| !s.is_empty())?;
    if name.contains(['/', ' ']) || stream.contains(['/', ' ']) {
        return None;
    }
    Some(format!("{name}:{stream}"))
}

/// The parts of a package URL this parser reads: `pkg:type/namespace…/name@version?qualifiers`.
struct Purl {
    kind: String,
    namespace: Vec<String>,
    name: String,
    version: Option<String>,
    qualifiers: Vec<(String, String)>,
}

impl Purl {
    fn parse(s: &str) -> Option<Purl> {
        let rest = s.trim().strip_prefix("pkg:")?;
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (kind, path) = path.split_once('/')?;
        let (path, version) = match path.rsplit_once('@') {
            Some((path, version)) if !path.contains('@') => (path, Some(percent_decode(version))),
            Some(_) => return None,
            None => (path, None),
        };
        let mut segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
        let name = segments.pop()?;
        let qualifiers = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), percent_decode(v)))
            .collect();
        Some(Purl { kind: kind.to_ascii_lowercase(), namespace: segments, name, version, qualifiers })
    }

    fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// `%2B` → `+`; a malformed escape is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// rpm versions and merging

/// An rpm `[epoch:]version[-release]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Evr {
    epoch: u64,
    version: String,
    release: Option<String>,
}

impl Evr {
    /// `1:3.0.7-27.el9`, `0:2.9.1-1.el8`, `3.0.7-27.el9`.
    pub(super) fn parse(s: &str) -> Option<Evr> {
        let s = s.trim();
        match s.split_once(':') {
            Some((epoch, rest)) => Evr::from_parts(Some(epoch), rest),
            None => Evr::from_parts(None, s),
        }
    }

    /// A version-release (`3.0.7-27.el9`) with an optional separate epoch.
    fn from_parts(epoch: Option<&str>, version_release: &str) -> Option<Evr> {
        let epoch = match epoch.map(str::trim) {
            None | Some("") => 0,
            Some(e) if e.bytes().all(|b| b.is_ascii_digit()) => e.parse().ok()?,
            Some(_) => return None,
        };
        let (version, release) = match version_release.rsplit_once('-') {
            Some((v, r)) => (v, Some(r.to_owned())),
            None => (version_release, None),
        };
        if version.is_empty() || version.contains([':', ' ']) || release.as_deref() == Some("") {
            return None;
        }
        Some(Evr { epoch, version: version.to_owned(), release })
    }

    pub(super) fn cmp_rpm(&self, other: &Evr) -> Ordering {
        self.epoch.cmp(&other.epoch).then_with(|| rpm::vercmp(&self.version, &other.version)).then_with(|| {
            match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpm::vercmp(a, b),
                _ => Ordering::Equal,
            }
        })
    }
}

impl std::fmt::Display for Evr {
    /// `[epoch:]version-release`, the epoch left out when it is 0.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.version)?;
        if let Some(release) = &self.release {
            write!(f, "-{release}")?;
        }
        Ok(())
    }
}

/// How strongly an unfixed status claims "affected", for merging conflicting products.
fn affectedness(status: Status) -> u8 {
    match status {
        Status::Unfixed => 6,
        Status::Deferred => 5,
        Status::WillNotFix => 4,
        Status::EndOfLife => 3,
        Status::Undetermined => 2,
        Status::NotAffected => 1,
        Status::Fixed => 0,
    }
}

/// Affected entries of one advisory keyed by (release, package, module), merged by the rules
/// in the module docs.
#[derive(Default)]
pub(super) struct AffectedSet {
    entries: Vec<Candidate>,
    index: HashMap<(String, String, Option<String>), usize>,
}

struct Candidate {
    release: String,
    package: String,
    module: Option<String>,
    mainline: bool,
    status: Status,
    fixed: Option<Evr>,
}

impl Candidate {
    /// Whether `self` should replace `old` for the same key.
    fn beats(&self, old: &Candidate) -> bool {
        if self.mainline != old.mainline {
            return self.mainline;
        }
        match (&self.fixed, &old.fixed) {
            (Some(new), Some(old)) => new.cmp_rpm(old) == Ordering::Greater,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => affectedness(self.status) > affectedness(old.status),
        }
    }
}

impl AffectedSet {
    /// `fixed` must be Some exactly when `status` is Fixed.
    pub(super) fn add(
        &mut self,
        release: String,
        mainline: bool,
        package: String,
        module: Option<String>,
        status: Status,
        fixed: Option<Evr>,
    ) {
        let key = (release.clone(), package.clone(), module.clone());
        let candidate = Candidate { release, package, module, mainline, status, fixed };
        match self.index.get(&key) {
            Some(&slot) => {
                if candidate.beats(&self.entries[slot]) {
                    self.entries[slot] = candidate;
                }
            }
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push(candidate);
            }
        }
    }

    pub(super) fn into_affected(self) -> Vec<Affected> {
        self.entries
            .into_iter()
            .map(|c| Affected {
                distro: DISTRO.to_owned(),
                release: c.release,
                package: c.package,
                kind: PackageKind::Binary,
                status: c.status,
                fixed_version: c.fixed.map(|evr| evr.to_string()),
                scheme: Ecosystem::Rpm,
                module: c.module,
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Wire format (the parts read here)

#[derive(Deserialize)]
struct WireCsaf {
    document: WireDocument,
    product_tree: Option<WireProductTree>,
    #[serde(default)]
    vulnerabilities: Vec<WireVulnerability>,
}

#[derive(Deserialize)]
struct WireDocument {
    category: String,
    title: Option<String>,
    tracking: Option<WireTracking>,
    aggregate_severity: Option<WireText>,
}

#[derive(Deserialize)]
struct WireTracking {
    id: Option<String>,
    initial_release_date: Option<String>,
    current_release_date: Option<String>,
}

#[derive(Deserialize)]
struct WireText {
    text: Option<String>,
}

#[derive(Deserialize)]
struct WireProductTree {
    #[serde(default)]
    branches: Vec<WireBranch>,
    #[serde(default)]
    full_product_names: Vec<WireProduct>,
    #[serde(default)]
    relationships: Vec<WireRelationship>,
}

#[derive(Deserialize)]
struct WireBranch {
    #[serde(default)]
    branches: Vec<WireBranch>,
    product: Option<WireProduct>,
}

#[derive(Deserialize)]
struct WireProduct {
    product_id: String,
    name: Option<String>,
    product_identification_helper: Option<WireHelper>,
}

#[derive(Deserialize)]
struct WireHelper {
    cpe: Option<String>,
    purl: Option<String>,
}

#[derive(Deserialize)]
struct WireRelationship {
    category: String,
    full_product_name: WireProductId,
    product_reference: String,
    relates_to_product_reference: String,
}

#[derive(Deserialize)]
struct WireProductId {
    product_id: String,
}

#[derive(Deserialize)]
struct WireVulnerability {
    cve: Option<String>,
    title: Option<String>,
    #[serde(default)]
    product_status: WireProductStatus,
    #[serde(default)]
    remediations: Vec<WireRemediation>,
    #[serde(default)]
    threats: Vec<WireThreat>,
}

#[derive(Deserialize, Default)]
struct WireProductStatus {
    #[serde(default)]
    fixed: Vec<String>,
    #[serde(default)]
    first_fixed: Vec<String>,
    #[serde(default)]
    known_affected: Vec<String>,
    #[serde(default)]
    known_not_affected: Vec<String>,
    #[serde(default)]
    under_investigation: Vec<String>,
}

#[derive(Deserialize)]
struct WireRemediation {
    category: String,
    details: Option<String>,
    #[serde(default)]
    product_ids: Vec<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct WireThreat {
    category: String,
    details: Option<String>,
}

/// Test rendering shared by the Red Hat parsers' tests: one line per advisory, one per entry.
#[cfg(test)]
pub(super) fn render_for_tests(advisories: &[Advisory], summary: &ParseSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for a in advisories {
        let _ = write!(out, "{} severity={}", a.id, a.severity.map_or("-", crate::advisories::Severity::as_str));
        if !a.aliases.is_empty() {
            let _ = write!(out, " aliases={}", a.aliases.join(","));
        }
        out.push('\n');
        for e in &a.affected {
            let _ = writeln!(
                out,
                "  {}/{} {}{} {} {}",
                e.distro,
                e.release,
                e.package,
                e.module.as_deref().map(|m| format!(" module={m}")).unwrap_or_default(),
                e.status.as_str(),
                e.fixed_version.as_deref().unwrap_or("-")
            );
        }
    }
    let _ = write!(out, "skipped {}", summary.n_skipped);
    out
}

#[cfg(test)]
mod tests {

    use serde_json::json;

    use super::*;

    fn ctx() -> ParseContext {
        ParseContext { feed: "redhat-csaf-test".into(), ..ParseContext::default() }
    }

    fn run(doc: &serde_json::Value) -> Result<(Vec<Advisory>, ParseSummary), FormatError> {
        run_with(doc, &ctx())
    }

    fn run_with(doc: &serde_json::Value, ctx: &ParseContext) -> Result<(Vec<Advisory>, ParseSummary), FormatError> {
        let bytes = serde_json::to_vec(doc).unwrap_or_default();
        let mut out = Vec::new();
        let summary = parse(&bytes, ctx, &mut |a| out.push(a))?;
        Ok((out, summary))
    }

    fn check(doc: serde_json::Value, expected: &str) {
        let (advisories, summary) = run(&doc).unwrap_or_else(|e| panic!("parse failed: {e}"));
        let actual = render_for_tests(&advisories, &summary);
        assert_eq!(actual.trim(), expected.trim(), "\nactual:\n{actual}\n");
    }

    fn platform(id: &str, cpe: &str) -> serde_json::Value {
        json!({"category": "product_name", "name": id,
               "product": {"name": id, "product_id": id, "product_identification_helper": {"cpe": cpe}}})
    }

    fn component(id: &str, purl: Option<&str>) -> serde_json::Value {
        match purl {
            Some(purl) => json!({"category": "product_version", "name": id,
                "product": {"name": id, "product_id": id, "product_identification_helper": {"purl": purl}}}),
            None => json!({"category": "product_version", "name": id, "product": {"name": id, "product_id": id}}),
        }
    }

    fn rel(component: &str, platform: &str) -> serde_json::Value {
        json!({"category": "default_component_of",
               "full_product_name": {"name": format!("{component} as a component of {platform}"),
                                     "product_id": format!("{platform}:{component}")},
               "product_reference": component, "relates_to_product_reference": platform})
    }

    fn vex(
        products: Vec<serde_json::Value>,
        rels: Vec<serde_json::Value>,
        vuln: serde_json::Value,
    ) -> serde_json::Value {
        json!({
            "document": {"category": "csaf_vex", "title": "doc title",
                         "aggregate_severity": {"text": "moderate"},
                         "tracking": {"id": "CVE-2024-0001", "initial_release_date": "2024-01-01T00:00:00+00:00",
                                      "current_release_date": "2024-02-01T00:00:00+00:00"}},
            "product_tree": {"branches": [{"category": "vendor", "name": "Red Hat", "branches": products}],
                             "relationships": rels},
            "vulnerabilities": [vuln]
        })
    }

    /// VEX with every unfixed status, on RHEL 8/9 and one non-RHEL product.
    #[test]
    fn vex_status_mapping() {
        let products = vec![
            platform("red_hat_enterprise_linux_8", "cpe:/o:redhat:enterprise_linux:8"),
            platform("red_hat_enterprise_linux_9", "cpe:/o:redhat:enterprise_linux:9"),
            platform("openshift_4", "cpe:/a:redhat:openshift:4"),
            component("a-affected", None),
            component("b-deferred", None),
            component("c-wontfix", None),
            component("d-eol", None),
            component("e-notaffected", None),
            component("f-investigating", None),
            component("g-plain-known-affected", None),
        ];
        let rels = vec![
            rel("a-affected", "red_hat_enterprise_linux_9"),
            rel("b-deferred", "red_hat_enterprise_linux_9"),
            rel("c-wontfix", "red_hat_enterprise_linux_8"),
            rel("d-eol", "red_hat_enterprise_linux_8"),
            rel("e-notaffected", "red_hat_enterprise_linux_9"),
            rel("f-investigating", "red_hat_enterprise_linux_9"),
            rel("g-plain-known-affected", "red_hat_enterprise_linux_9"),
            rel("a-affected", "openshift_4"),
        ];
        let vuln = json!({
            "cve": "CVE-2024-0001", "title": "vuln title",
            "product_status": {
                "known_affected": ["red_hat_enterprise_linux_9:a-affected", "red_hat_enterprise_linux_9:b-deferred",
                                   "red_hat_enterprise_linux_8:c-wontfix", "red_hat_enterprise_linux_8:d-eol",
                                   "red_hat_enterprise_linux_9:g-plain-known-affected", "openshift_4:a-affected"],
                "known_not_affected": ["red_hat_enterprise_linux_9:e-notaffected"],
                "under_investigation": ["red_hat_enterprise_linux_9:f-investigating"]
            },
            "remediations": [
                {"category": "none_available", "details": "Affected", "product_ids": ["red_hat_enterprise_linux_9:a-affected"]},
                {"category": "none_available", "details": "Deferred", "product_ids": ["red_hat_enterprise_linux_9:b-deferred"]},
                {"category": "no_fix_planned", "details": "Will not fix", "product_ids": ["red_hat_enterprise_linux_8:c-wontfix"]},
                {"category": "no_fix_planned", "details": "Out of support scope", "product_ids": ["red_hat_enterprise_linux_8:d-eol"]},
                {"category": "workaround", "details": "Do not use it", "product_ids": ["red_hat_enterprise_linux_9:g-plain-known-affected"]}
            ]
        });
        check(
            vex(products, rels, vuln),
            "
CVE-2024-0001 severity=medium
  rhel/9 a-affected unfixed -
  rhel/9 b-deferred deferred -
  rhel/8 c-wontfix will-not-fix -
  rhel/8 d-eol end-of-life -
  rhel/9 g-plain-known-affected unfixed -
  rhel/9 e-notaffected not-affected -
  rhel/9 f-investigating undetermined -
skipped 1",
        );
    }

    fn fixed_products() -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
        let products = vec![
            platform("AppStream-9.4.0.Z.MAIN", "cpe:/a:redhat:enterprise_linux:9::appstream"),
            platform("BaseOS-9.2.0.Z.EUS", "cpe:/o:redhat:rhel_eus:9.2::baseos"),
            component(
                "openssl-libs-1:3.0.7-27.el9.x86_64",
                Some("pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1"),
            ),
            component(
                "openssl-libs-1:3.0.7-28.el9.aarch64",
                Some("pkg:rpm/redhat/openssl-libs@3.0.7-28.el9?arch=aarch64&epoch=1"),
            ),
            component(
                "openssl-libs-1:3.0.7-9.el9.x86_64",
                Some("pkg:rpm/redhat/openssl-libs@3.0.7-9.el9?arch=x86_64&epoch=1"),
            ),
            component("openssl-1:3.0.7-27.el9.src", Some("pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=src&epoch=1")),
            component("telnet-1:0.17-65.el9.x86_64", None),
            component("telnet-0:0.17-65.el9.src", None),
        ];
        let rels = vec![
            rel("openssl-libs-1:3.0.7-27.el9.x86_64", "AppStream-9.4.0.Z.MAIN"),
            rel("openssl-libs-1:3.0.7-28.el9.aarch64", "AppStream-9.4.0.Z.MAIN"),
            rel("openssl-libs-1:3.0.7-9.el9.x86_64", "BaseOS-9.2.0.Z.EUS"),
            rel("openssl-1:3.0.7-27.el9.src", "AppStream-9.4.0.Z.MAIN"),
            rel("telnet-1:0.17-65.el9.x86_64", "BaseOS-9.2.0.Z.EUS"),
            rel("telnet-0:0.17-65.el9.src", "BaseOS-9.2.0.Z.EUS"),
        ];
        (products, rels)
    }

    /// Advisory file: epoch kept, arch=src skipped, highest EVR wins, mainline outranks EUS.
    #[test]
    fn advisory_fixed_versions() {
        let (products, rels) = fixed_products();
        let fixed = json!([
            "BaseOS-9.2.0.Z.EUS:openssl-libs-1:3.0.7-9.el9.x86_64",
            "AppStream-9.4.0.Z.MAIN:openssl-libs-1:3.0.7-27.el9.x86_64",
            "AppStream-9.4.0.Z.MAIN:openssl-libs-1:3.0.7-28.el9.aarch64",
            "AppStream-9.4.0.Z.MAIN:openssl-1:3.0.7-27.el9.src",
            "BaseOS-9.2.0.Z.EUS:telnet-1:0.17-65.el9.x86_64",
            "BaseOS-9.2.0.Z.EUS:telnet-0:0.17-65.el9.src"
        ]);
        let doc = json!({
            "document": {"category": "csaf_security_advisory", "title": "Red Hat Security Advisory: openssl",
                         "aggregate_severity": {"text": "Important"},
                         "tracking": {"id": "RHSA-2024:1234"}},
            "product_tree": {"branches": [{"category": "vendor", "name": "Red Hat", "branches": products}],
                             "relationships": rels},
            "vulnerabilities": [
                {"cve": "CVE-2024-0002", "product_status": {"fixed": fixed},
                 "remediations": [{"category": "vendor_fix", "url": "https://access.redhat.com/errata/RHSA-2024:1234",
                                   "product_ids": fixed}]},
                {"cve": "CVE-2024-0003", "product_status": {"fixed": ["AppStream-9.4.0.Z.MAIN:openssl-libs-1:3.0.7-27.el9.x86_64"]}}
            ]
        });
        check(
            doc,
            "
RHSA-2024:1234 severity=high aliases=CVE-2024-0002,CVE-2024-0003
  rhel/9 openssl-libs fixed 1:3.0.7-28.el9
  rhel/9 telnet fixed 1:0.17-65.el9
skipped 0",
        );
    }

    /// VEX: a fix from an RHSA gives the alias; mainline unfixed beats an EUS fix.
    #[test]
    fn vex_fix_aliases_and_mainline_rank() {
        let (mut products, mut rels) = fixed_products();
        products.push(platform("red_hat_enterprise_linux_9", "cpe:/o:redhat:enterprise_linux:9"));
        products.push(component("telnet", None));
        rels.push(rel("telnet", "red_hat_enterprise_linux_9"));
        let vuln = json!({
            "cve": "CVE-2024-0004",
            "product_status": {
                "fixed": ["BaseOS-9.2.0.Z.EUS:telnet-1:0.17-65.el9.x86_64",
                          "AppStream-9.4.0.Z.MAIN:openssl-libs-1:3.0.7-27.el9.x86_64"],
                "known_affected": ["red_hat_enterprise_linux_9:telnet"]
            },
            "remediations": [
                {"category": "vendor_fix", "url": "https://access.redhat.com/errata/RHSA-2024:0100",
                 "product_ids": ["BaseOS-9.2.0.Z.EUS:telnet-1:0.17-65.el9.x86_64"]},
                {"category": "vendor_fix", "url": "https://access.redhat.com/errata/RHSA-2024:0101",
                 "product_ids": ["AppStream-9.4.0.Z.MAIN:openssl-libs-1:3.0.7-27.el9.x86_64"]},
                {"category": "none_available", "details": "Affected", "product_ids": ["red_hat_enterprise_linux_9:telnet"]}
            ],
            "threats": [{"category": "impact", "details": "Low"}, {"category": "impact", "details": "Critical"}]
        });
        let mut doc = vex(products, rels, vuln);
        doc["document"]["aggregate_severity"] = serde_json::Value::Null;
        check(
            doc,
            "
CVE-2024-0004 severity=critical aliases=RHSA-2024:0100,RHSA-2024:0101
  rhel/9 telnet unfixed -
  rhel/9 openssl-libs fixed 1:3.0.7-27.el9
skipped 0",
        );
    }

    /// Module streams: rpmmod qualifier, a module product in the relationship chain, and the
    /// legacy `module:stream/package` VEX form; the module product itself is not a package.
    #[test]
    fn module_streams() {
        let products = vec![
            platform("AppStream-8.8.0.Z.MAIN", "cpe:/a:redhat:enterprise_linux:8::appstream"),
            platform("red_hat_enterprise_linux_8", "cpe:/o:redhat:enterprise_linux:8"),
            component(
                "nodejs-1:18.17.1-1.module+el8.8.0+19757+8ca87034.x86_64",
                Some("pkg:rpm/redhat/nodejs@18.17.1-1.module%2Bel8.8.0%2B19757%2B8ca87034?arch=x86_64&epoch=1&rpmmod=nodejs:18:8080020231011130044:63b34585"),
            ),
            component("gimp:2.8:8080020250623120629:0621e4ee", Some("pkg:rpmmod/redhat/gimp@2.8:8080020250623120629:0621e4ee")),
            component("gimp-2:2.8.22-26.module+el8.8.0+23318+cec921ba.1.x86_64", None),
            component("go-toolset:rhel8/golang", Some("pkg:rpmmod/redhat/go-toolset:rhel8/golang")),
            component("postgresql:12/postgresql", None),
            component("nodejs", Some("pkg:rpm/redhat/nodejs?rpmmod=nodejs:16")),
        ];
        let gimp_in_module = json!({"category": "default_component_of",
            "full_product_name": {"name": "gimp in module",
                "product_id": "AppStream-8.8.0.Z.MAIN:gimp:2.8:8080020250623120629:0621e4ee:gimp-2:2.8.22-26.module+el8.8.0+23318+cec921ba.1.x86_64"},
            "product_reference": "gimp-2:2.8.22-26.module+el8.8.0+23318+cec921ba.1.x86_64",
            "relates_to_product_reference": "AppStream-8.8.0.Z.MAIN:gimp:2.8:8080020250623120629:0621e4ee"});
        let rels = vec![
            rel("nodejs-1:18.17.1-1.module+el8.8.0+19757+8ca87034.x86_64", "AppStream-8.8.0.Z.MAIN"),
            rel("gimp:2.8:8080020250623120629:0621e4ee", "AppStream-8.8.0.Z.MAIN"),
            gimp_in_module,
            rel("go-toolset:rhel8/golang", "red_hat_enterprise_linux_8"),
            rel("postgresql:12/postgresql", "red_hat_enterprise_linux_8"),
            rel("nodejs", "red_hat_enterprise_linux_8"),
        ];
        let vuln = json!({
            "cve": "CVE-2024-0005",
            "product_status": {
                "fixed": ["AppStream-8.8.0.Z.MAIN:nodejs-1:18.17.1-1.module+el8.8.0+19757+8ca87034.x86_64",
                          "AppStream-8.8.0.Z.MAIN:gimp:2.8:8080020250623120629:0621e4ee",
                          "AppStream-8.8.0.Z.MAIN:gimp:2.8:8080020250623120629:0621e4ee:gimp-2:2.8.22-26.module+el8.8.0+23318+cec921ba.1.x86_64"],
                "known_affected": ["red_hat_enterprise_linux_8:go-toolset:rhel8/golang",
                                   "red_hat_enterprise_linux_8:postgresql:12/postgresql",
                                   "red_hat_enterprise_linux_8:nodejs"]
            }
        });
        check(
            vex(products, rels, vuln),
            "
CVE-2024-0005 severity=medium
  rhel/8 nodejs module=nodejs:18 fixed 1:18.17.1-1.module+el8.8.0+19757+8ca87034
  rhel/8 gimp module=gimp:2.8 fixed 2:2.8.22-26.module+el8.8.0+23318+cec921ba.1
  rhel/8 golang module=go-toolset:rhel8 unfixed -
  rhel/8 postgresql module=postgresql:12 unfixed -
  rhel/8 nodejs module=nodejs:16 unfixed -
skipped 0",
        );
    }

    /// Releases the feed does not cover are dropped without counting; nothing left, no advisory.
    #[test]
    fn releases_outside_the_feed_are_dropped() {
        let products = vec![
            platform("red_hat_enterprise_linux_7", "cpe:/o:redhat:enterprise_linux:7"),
            platform("red_hat_enterprise_linux_9", "cpe:/o:redhat:enterprise_linux:9"),
            component("kernel", None),
        ];
        let rels = vec![rel("kernel", "red_hat_enterprise_linux_7"), rel("kernel", "red_hat_enterprise_linux_9")];
        let vuln = json!({"cve": "CVE-2024-0006", "product_status": {"known_affected":
            ["red_hat_enterprise_linux_7:kernel", "red_hat_enterprise_linux_9:kernel"]}});
        let doc = vex(products, rels, vuln);
        let feed =
            |releases: &[&str]| ParseContext { releases: releases.iter().map(|r| r.to_string()).collect(), ..ctx() };
        let show = |ctx: &ParseContext| {
            let (advisories, summary) = run_with(&doc, ctx).unwrap_or_else(|e| panic!("{e}"));
            render_for_tests(&advisories, &summary)
        };
        assert_eq!(
            show(&feed(&["8", "9", "10"])),
            "CVE-2024-0006 severity=medium\n  rhel/9 kernel unfixed -\nskipped 0"
        );
        assert_eq!(show(&feed(&["8"])), "skipped 0");
    }

    #[test]
    fn only_non_rhel_products_emit_nothing() {
        let products =
            vec![platform("red_hat_satellite_6", "cpe:/a:redhat:satellite:6"), component("rubygem-audited", None)];
        let rels = vec![rel("rubygem-audited", "red_hat_satellite_6")];
        let vuln = json!({"cve": "CVE-2024-22047",
            "product_status": {"known_affected": ["red_hat_satellite_6:rubygem-audited", "no-such-product"]}});
        check(vex(products, rels, vuln), "skipped 2");
    }

    #[test]
    fn documents_that_are_not_csaf_are_errors() {
        for (doc, message) in [
            (json!([]), "invalid csaf json"),
            (json!({"document": {"category": "csaf_base"}}), "unsupported document category"),
            (json!({"document": {"category": "csaf_security_advisory"}}), "without `document.tracking.id`"),
        ] {
            match run(&doc) {
                Ok(_) => panic!("expected an error for {doc}"),
                Err(e) => assert!(e.to_string().contains(message), "{e}"),
            }
        }
    }

    #[test]
    fn rhel_platforms() {
        for (cpe, expected) in [
            ("cpe:/o:redhat:enterprise_linux:9", Some(("9", true))),
            ("cpe:/a:redhat:enterprise_linux:9::appstream", Some(("9", true))),
            ("cpe:/a:redhat:rhel_eus:9.2::appstream", Some(("9", false))),
            ("cpe:/o:redhat:rhel_aus:7.6::server", Some(("7", false))),
            ("cpe:/o:redhat:rhel_e4s:8.8::baseos", Some(("8", false))),
            ("cpe:/o:redhat:enterprise_linux:3::as", Some(("3", true))),
            ("cpe:2.3:o:redhat:enterprise_linux:8:*:*:*:*:*:*:*", Some(("8", true))),
            ("cpe:/a:redhat:openshift:4.16::el9", None),
            ("cpe:/a:redhat:satellite:6", None),
            ("cpe:/o:redhat:enterprise_linux", None),
            ("not a cpe", None),
        ] {
            let actual = rhel_platform(cpe);
            assert_eq!(actual.as_ref().map(|(r, m)| (r.as_str(), *m)), expected, "{cpe}");
        }
    }

    #[test]
    fn package_names() {
        let show = |c: Component| match c {
            Component::Package(p) => format!(
                "{} {} {}",
                p.name,
                p.evr.map(|e| e.to_string()).unwrap_or_else(|| "-".into()),
                p.module.unwrap_or_else(|| "-".into())
            ),
            Component::Source => "source".into(),
            Component::Module => "module".into(),
            Component::Unusable(reason) => format!("unusable: {reason}"),
        };
        for (name, expected) in [
            ("openssl-libs-1:3.0.7-27.el9.x86_64", "openssl-libs 1:3.0.7-27.el9 -"),
            ("python3.9-0:3.9.18-3.el9_4.5.src", "source"),
            ("quagga-debuginfo-0:0.96.2-8.3E.ia64", "quagga-debuginfo 0.96.2-8.3E -"),
            ("kernel", "kernel - -"),
            ("rubygem-audited", "rubygem-audited - -"),
            ("nodejs:18/nodejs", "nodejs - nodejs:18"),
            ("rhel9/toolbox", "unusable: product name is not an rpm"),
        ] {
            assert_eq!(show(package_from_name(name)), expected, "{name}");
        }
        for (purl, expected) in [
            ("pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1", "openssl-libs 1:3.0.7-27.el9 -"),
            ("pkg:rpm/redhat/quagga@0.96.2-8.3E?arch=src", "source"),
            ("pkg:rpm/redhat/vim-minimal@8.2.2637-20.el9_1?arch=aarch64&epoch=2", "vim-minimal 2:8.2.2637-20.el9_1 -"),
            ("pkg:rpm/redhat/libecap@1.0.1-2.module%2Bel8.1.0%2B4044%2B36416a77?rpmmod=squid:4:8030020200828070549:30b713e6&arch=ppc64le",
             "libecap 1.0.1-2.module+el8.1.0+4044+36416a77 squid:4"),
            ("pkg:rpmmod/redhat/gimp@2.8:8080020250623120629:0621e4ee", "module"),
            ("pkg:rpmmod/redhat/go-toolset:rhel8/golang", "golang - go-toolset:rhel8"),
            ("pkg:oci/ubi9@sha256:abc?repository_url=registry.access.redhat.com/ubi9", "unusable: not an rpm purl"),
            ("pkg:rpm/redhat/bad@1.0-1?epoch=x", "unusable: malformed rpm version in purl"),
            ("not a purl", "unusable: malformed purl"),
        ] {
            assert_eq!(show(package_from_purl(purl)), expected, "{purl}");
        }
    }

    #[test]
    fn evr_order_and_display() {
        let evr = |s: &str| Evr::parse(s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(evr("1:1.0-1").cmp_rpm(&evr("2.0-1")), Ordering::Greater);
        assert_eq!(evr("0:2.9.1-1.el8").cmp_rpm(&evr("2.9.1-1.el8")), Ordering::Equal);
        assert_eq!(evr("2.9.4-1.el8ae").cmp_rpm(&evr("2.9.13-1.el8ae")), Ordering::Less);
        assert_eq!(evr("0:2.9.1-1.el8").to_string(), "2.9.1-1.el8");
        assert_eq!(evr("1:3.0.7-27.el9").to_string(), "1:3.0.7-27.el9");
        assert_eq!(Evr::parse("x:1.0-1"), None);
        assert_eq!(Evr::parse("1.0-"), None);
    }

    #[test]
    fn rhsa_ids_in_urls() {
        assert_eq!(rhsa_ids("https://access.redhat.com/errata/RHSA-2024:6163"), vec!["RHSA-2024:6163"]);
        assert_eq!(rhsa_ids("RHSA-24:1 RHSA-2024:"), Vec::<String>::new());
        assert_eq!(rhsa_ids("https://access.redhat.com/articles/11258"), Vec::<String>::new());
    }
}
