//! Rendering of an image's vulnerabilities: the table and JSON of `scan`, SARIF 2.1.0 for code
//! scanning dashboards and CycloneDX 1.5 (packages and vulnerabilities) for SBOM tooling. The
//! shapes are built here from the scan report and the stored findings.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::table;
use crate::advisories::Severity;
use crate::inventory::{Ecosystem, InstalledPackage};
use crate::scan::ScanReport;
use crate::store::queries::{Coverage, FindingRow, FixState};

/// What `scan` prints: the scan itself, the image's findings (already filtered) and whether
/// any feed covers its release.
pub struct VulnReport<'a> {
    pub scan: &'a ScanReport,
    pub findings: &'a [FindingRow],
    pub coverage: Coverage,
}

impl VulnReport<'_> {
    fn os_label(&self) -> String {
        match &self.scan.inventory.os {
            Some(o) => format!("{} {}", o.distro, o.release),
            None => "unidentified OS".to_string(),
        }
    }

    /// The line that says an empty result means nothing, when it does.
    fn coverage_warning(&self) -> Option<String> {
        match self.coverage {
            Coverage::Covered => None,
            Coverage::Uncovered => Some(format!(
                "no advisory feed covers {}: the image is not known to be clean, it is unchecked",
                self.os_label()
            )),
            Coverage::UnknownOs => Some("the image's OS was not identified: no advisories can be matched".to_string()),
        }
    }
}

pub fn coverage_str(c: Coverage) -> &'static str {
    match c {
        Coverage::Covered => "covered",
        Coverage::Uncovered => "uncovered",
        Coverage::UnknownOs => "unknown-os",
    }
}

/// The table of vulnerabilities appended to the package table of `scan`.
pub fn table_section(report: &VulnReport<'_>) -> String {
    let mut out = String::new();
    let n_fixable = report.findings.iter().filter(|f| f.fixed_version.is_some()).count();
    let _ = writeln!(out, "\nvulnerabilities: {} ({n_fixable} with a fix)", report.findings.len());
    if let Some(warning) = report.coverage_warning() {
        let _ = writeln!(out, "warning:  {warning}");
    }
    if report.findings.is_empty() {
        return out;
    }
    out.push('\n');
    let mut findings: Vec<&FindingRow> = report.findings.iter().collect();
    // Most severe first, then by package and advisory.
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| (&a.package.name, &a.advisory_id).cmp(&(&b.package.name, &b.advisory_id)))
    });
    let rows: Vec<[String; 7]> = findings
        .iter()
        .map(|f| {
            [
                f.severity.as_str().to_string(),
                f.advisory_id.clone(),
                f.package.name.clone(),
                f.package.version.clone(),
                f.fixed_version.clone().unwrap_or_default(),
                f.status.as_str().to_string(),
                f.feed.clone(),
            ]
        })
        .collect();
    table(&mut out, ["SEVERITY", "ADVISORY", "PACKAGE", "INSTALLED", "FIXED", "STATUS", "FEED"], &rows);
    out
}

/// One finding in the scan JSON.
pub fn finding_json(f: &FindingRow) -> Value {
    json!({
        "advisory_id": f.advisory_id,
        "aliases": f.aliases,
        "feed": f.feed,
        "severity": f.severity.as_str(),
        "status": f.status.as_str(),
        "package": f.package.name,
        "version": f.package.version,
        "arch": f.package.arch,
        "source_name": f.package.source_name,
        "source_version": f.package.source_version,
        "fixed_version": f.fixed_version,
        "fix": f.fix.as_ref().map(fix_json),
        "layer": f.package.layer,
    })
}

/// Fix installability as the watcher last saw it in the package mirrors.
pub fn fix_json(fix: &FixState) -> Value {
    json!({ "state": fix.state, "available_version": fix.available_version })
}

/// SARIF 2.1.0: one rule per advisory, one result per finding, located at the image.
pub fn sarif(report: &VulnReport<'_>) -> String {
    let image = &report.scan.image;
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_ids: Vec<&str> = Vec::new();
    let mut results = Vec::new();
    for f in report.findings {
        let rule_index = match rule_ids.iter().position(|id| *id == f.advisory_id) {
            Some(i) => i,
            None => {
                rule_ids.push(&f.advisory_id);
                rules.push(json!({
                    "id": f.advisory_id,
                    "name": f.advisory_id,
                    "shortDescription": {"text": format!("{} ({})", f.advisory_id, f.package.source_name)},
                    "properties": {
                        "security-severity": security_severity(f.severity),
                        "tags": ["security", "vulnerability", f.feed.as_str()],
                        "aliases": f.aliases,
                    },
                }));
                rules.len() - 1
            }
        };
        let fix = match &f.fixed_version {
            Some(v) => format!("fixed in {v}"),
            None => format!("no fix ({})", f.status.as_str()),
        };
        results.push(json!({
            "ruleId": f.advisory_id,
            "ruleIndex": rule_index,
            "level": sarif_level(f.severity),
            "message": {"text": format!(
                "{} {} in {} is affected by {} ({}); {}",
                f.package.name, f.package.version, image.reference, f.advisory_id, f.feed, fix
            )},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": image.reference}},
                "logicalLocations": [{"name": f.package.name, "kind": "package"}],
            }],
            "partialFingerprints": {
                "cascadeFinding/v1": format!("{}|{}|{}|{}", image.reference, f.package.name, f.advisory_id, f.feed),
            },
        }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cascade",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "properties": {
                "image": image.reference,
                "digest": image.manifest_digest.to_string(),
                "coverage": coverage_str(report.coverage),
            },
        }],
    });
    serde_json::to_string_pretty(&doc).expect("SARIF serialises") + "\n"
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        _ => "note",
    }
}

/// GitHub's `security-severity` score bands for the qualitative ratings.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        Severity::Negligible | Severity::Unknown => "0.0",
    }
}

/// CycloneDX 1.5 JSON: the image as the subject, its packages as components with purls, and
/// the findings as vulnerabilities pointing at them.
pub fn cyclonedx(report: &VulnReport<'_>) -> String {
    let scan = report.scan;
    let image = &scan.image;
    let os = scan.inventory.os.as_ref();
    let distro = os.map(|o| o.distro.as_str()).unwrap_or("unknown");
    let distro_qualifier = os.map(|o| format!("{}-{}", o.distro, o.release));
    let purl_of = |p: &InstalledPackage| purl(p, distro, distro_qualifier.as_deref());
    let components: Vec<Value> = scan
        .inventory
        .packages
        .iter()
        .map(|p| {
            let purl = purl_of(p);
            json!({
                "type": "library",
                "bom-ref": purl,
                "name": p.package.name,
                "version": p.package.version,
                "purl": purl,
                "properties": [
                    {"name": "cascade:source_name", "value": p.package.source_name},
                    {"name": "cascade:source_version", "value": p.package.source_version},
                    {"name": "cascade:layer", "value": p.layer.to_string()},
                ],
            })
        })
        .collect();
    // One vulnerability per (advisory, feed), affecting every package it matched.
    let mut vulns: Vec<(String, String, Value)> = Vec::new();
    for f in report.findings {
        let installed = scan
            .inventory
            .packages
            .iter()
            .find(|p| p.package.name == f.package.name && p.package.arch == f.package.arch);
        let Some(installed) = installed else { continue };
        let affects = json!({"ref": purl_of(installed)});
        match vulns.iter_mut().find(|(id, feed, _)| *id == f.advisory_id && *feed == f.feed) {
            Some((_, _, v)) => v["affects"].as_array_mut().expect("affects is an array").push(affects),
            None => {
                let mut v = json!({
                    "id": f.advisory_id,
                    "source": {"name": f.feed},
                    "ratings": [{"severity": cyclonedx_severity(f.severity), "source": {"name": f.feed}}],
                    "affects": [affects],
                    "properties": [{"name": "cascade:status", "value": f.status.as_str()}],
                });
                if let Some(fixed) = &f.fixed_version {
                    v["recommendation"] = json!(format!("upgrade {} to {fixed}", f.package.source_name));
                }
                if !f.aliases.is_empty() {
                    v["references"] = json!(f
                        .aliases
                        .iter()
                        .map(|a| json!({"id": a, "source": {"name": f.feed}}))
                        .collect::<Vec<_>>());
                }
                vulns.push((f.advisory_id.clone(), f.feed.clone(), v));
            }
        }
    }
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial_number(&image.manifest_digest.to_string(), report.findings.len()),
        "version": 1,
        "metadata": {
            "timestamp": crate::clock::now_rfc3339(),
            "tools": {"components": [{"type": "application", "name": "cascade", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {
                "type": "container",
                "bom-ref": image.reference,
                "name": image.reference,
                "version": image.manifest_digest.to_string(),
            },
            "properties": [{"name": "cascade:coverage", "value": coverage_str(report.coverage)}],
        },
        "components": components,
        "vulnerabilities": vulns.into_iter().map(|(_, _, v)| v).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&doc).expect("CycloneDX serialises") + "\n"
}

fn cyclonedx_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

/// A `urn:uuid:` for one BOM: a UUID v4 layout filled with hash bits of the image digest, the
/// number of findings and the time, so that every document gets its own serial.
fn serial_number(digest: &str, n: usize) -> String {
    use sha2::{Digest as _, Sha256};
    let hash = Sha256::digest(format!("{digest}|{n}|{}", crate::clock::now_rfc3339()).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("urn:uuid:{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The package URL: `pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`.
pub fn purl(p: &InstalledPackage, distro: &str, distro_qualifier: Option<&str>) -> String {
    let pkg = &p.package;
    let kind = match pkg.ecosystem {
        Ecosystem::Dpkg => "deb",
        Ecosystem::Apk => "apk",
        Ecosystem::Rpm => "rpm",
    };
    let mut out = format!("pkg:{kind}/{}/{}@{}", encode(distro), encode(&pkg.name), encode(&pkg.version));
    let _ = write!(out, "?arch={}", encode(&pkg.arch));
    if let Some(d) = distro_qualifier {
        let _ = write!(out, "&distro={}", encode(d));
    }
    if pkg.source_name != pkg.name || pkg.source_version != pkg.version {
        let _ = write!(out, "&upstream={}", encode(&format!("{}@{}", pkg.source_name, pkg.source_version)));
    }
    out
}

/// Percent-encodes everything but the purl-safe characters (`:` of an epoch becomes `%3A`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b'+') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::digest::Digest;
    use crate::inventory::Package;

    #[test]
    fn purls_encode_epochs_and_carry_the_source() {
        let p = InstalledPackage {
            package: Package {
                name: "libssl3".into(),
                version: "1:3.0.11-1~deb12u2".into(),
                arch: "amd64".into(),
                source_name: "openssl".into(),
                source_version: "1:3.0.11-1~deb12u2".into(),
                ecosystem: Ecosystem::Dpkg,
                module: None,
            },
            layer: Digest::sha256_of(b"l"),
        };
        assert_eq!(
            purl(&p, "debian", Some("debian-12")),
            "pkg:deb/debian/libssl3@1%3A3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl%401%3A3.0.11-1~deb12u2"
        );
    }

    #[test]
    fn serial_numbers_are_uuid_v4_shaped() {
        let s = serial_number("sha256:00", 3);
        let uuid = s.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }
}
