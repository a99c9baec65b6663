//! Rendering of command results for people (tables, lines) and programs (`json`). The scan
//! JSON shape is documented in the README and kept stable; it is built here, not derived from
//! domain types.

use std::fmt::Write as _;

use serde::Serialize;

use crate::feeds::definition::FeedDef;
use crate::feeds::sync::Synced;
use crate::images::digest::Digest;
use crate::inventory::os::OsRelease;
use crate::inventory::InstalledPackage;
use crate::mail::import::ImportReport;
use crate::scan::{LayerReport, ScanReport};
use crate::store::queries::{AffectedImage, ImagePackages, MatchedBy};
use crate::store::{FeedHealth, StoredImage};

pub mod notifications;
pub mod rebuilds;
pub mod vulns;

pub use vulns::VulnReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Formats of `scan`: the two above plus SARIF and CycloneDX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    Table,
    Json,
    Sarif,
    Cyclonedx,
}

/// Renders a scan with its vulnerabilities in the chosen format.
pub fn scan(report: &VulnReport<'_>, format: ScanFormat) -> String {
    match format {
        ScanFormat::Table => scan_table(report.scan) + &vulns::table_section(report),
        ScanFormat::Json => scan_json(report),
        ScanFormat::Sarif => vulns::sarif(report),
        ScanFormat::Cyclonedx => vulns::cyclonedx(report),
    }
}

#[derive(Serialize)]
struct ScanJson<'a> {
    reference: &'a str,
    platform: String,
    index_digest: Option<&'a Digest>,
    manifest_digest: &'a Digest,
    config_digest: &'a Digest,
    os: Option<&'a OsRelease>,
    layers: &'a [LayerReport],
    packages: &'a [InstalledPackage],
    warnings: &'a [String],
    coverage: &'static str,
    vulnerabilities: Vec<serde_json::Value>,
}

pub fn scan_json(v: &VulnReport<'_>) -> String {
    let report = v.scan;
    let image = &report.image;
    let doc = ScanJson {
        reference: &image.reference,
        platform: image.platform.to_string(),
        index_digest: image.index_digest.as_ref(),
        manifest_digest: &image.manifest_digest,
        config_digest: &image.config_digest,
        os: report.inventory.os.as_ref(),
        layers: &report.layers,
        packages: &report.inventory.packages,
        warnings: &report.inventory.warnings,
        coverage: vulns::coverage_str(v.coverage),
        vulnerabilities: v.findings.iter().map(vulns::finding_json).collect(),
    };
    serde_json::to_string_pretty(&doc).expect("scan report serialises") + "\n"
}

pub fn scan_table(report: &ScanReport) -> String {
    let image = &report.image;
    let mut out = String::new();
    let os = match &report.inventory.os {
        Some(o) => match &o.codename {
            Some(c) => format!("{} {} ({c})", o.distro, o.release),
            None => format!("{} {}", o.distro, o.release),
        },
        None => "unidentified".to_string(),
    };
    let _ = writeln!(out, "image:    {}", image.reference);
    let _ = writeln!(out, "digest:   {} ({})", image.manifest_digest, image.platform);
    let _ = writeln!(out, "os:       {os}");
    let n_cached = report.layers.iter().filter(|l| l.cached).count();
    let _ = writeln!(out, "layers:   {} ({n_cached} from cache)", report.layers.len());
    let _ = writeln!(out, "packages: {}", report.inventory.packages.len());
    for w in &report.inventory.warnings {
        let _ = writeln!(out, "warning:  {w}");
    }
    if report.inventory.packages.is_empty() {
        return out;
    }
    out.push('\n');
    let layer_index = |d: &Digest| report.layers.iter().position(|l| &l.digest == d).unwrap_or(0);
    let rows: Vec<[String; 6]> = report
        .inventory
        .packages
        .iter()
        .map(|p| {
            let pkg = &p.package;
            let source = if pkg.source_name == pkg.name && pkg.source_version == pkg.version {
                String::new()
            } else {
                format!("{} {}", pkg.source_name, pkg.source_version)
            };
            [
                pkg.name.clone(),
                pkg.version.clone(),
                pkg.arch.clone(),
                pkg.ecosystem.as_str().to_string(),
                source,
                layer_index(&p.layer).to_string(),
            ]
        })
        .collect();
    table(&mut out, ["NAME", "VERSION", "ARCH", "TYPE", "SOURCE", "LAYER"], &rows);
    out
}

pub fn images_table(images: &[StoredImage]) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 5]> = images
        .iter()
        .map(|i| {
            let os = match (&i.distro, &i.release) {
                (Some(d), Some(r)) => format!("{d} {r}"),
                _ => "unidentified".to_string(),
            };
            [i.reference.clone(), i.platform.clone(), i.manifest_digest.clone(), os, i.n_packages.to_string()]
        })
        .collect();
    table(&mut out, ["REFERENCE", "PLATFORM", "DIGEST", "OS", "PACKAGES"], &rows);
    out
}

/// `feeds list`: every configured feed with its schedule and the health the store recorded.
pub fn feeds_table(feeds: &[FeedDef], health: &[FeedHealth]) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 7]> = feeds
        .iter()
        .map(|f| {
            let h = health.iter().find(|h| h.name == f.name);
            let state = match h {
                None => "never synced".to_string(),
                Some(h) => match &h.last_error {
                    Some(e) => format!("error: {e}"),
                    None => "ok".to_string(),
                },
            };
            [
                f.name.clone(),
                f.format.to_string(),
                if f.enabled { interval(f.interval.as_secs()) } else { "disabled".to_string() },
                h.and_then(|h| h.last_success.clone()).unwrap_or_else(|| "-".into()),
                h.map_or(0, |h| h.n_advisories).to_string(),
                h.map_or(0, |h| h.n_affected).to_string(),
                state,
            ]
        })
        .collect();
    table(&mut out, ["FEED", "FORMAT", "EVERY", "LAST SUCCESS", "ADVISORIES", "ENTRIES", "STATE"], &rows);
    // Feeds the store knows that are no longer configured (renamed or removed).
    for h in health.iter().filter(|h| !feeds.iter().any(|f| f.name == h.name)) {
        let _ = writeln!(out, "{} (not configured; {} advisories kept)", h.name, h.n_advisories);
    }
    out
}

/// `1d`, `6h`, `15m` or `90s`: the largest unit that divides the interval.
fn interval(secs: u64) -> String {
    match secs {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// One line per synced feed.
pub fn sync_line(feed: &str, synced: &Synced) -> String {
    match synced {
        Synced::NotModified => format!("{feed}: not modified"),
        Synced::Ingested { changes, n_bytes } => format!(
            "{feed}: {} advisories from {:.1} MB: {} added, {} changed, {} withdrawn{}",
            changes.n_advisories,
            *n_bytes as f64 / 1e6,
            changes.n_added,
            changes.n_changed,
            changes.n_withdrawn,
            if changes.n_skipped > 0 { format!(" ({} records skipped)", changes.n_skipped) } else { String::new() }
        ),
    }
}

/// `affected`: one line per (image, package, advisory).
pub fn affected_table(images: &[AffectedImage]) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 7]> = images
        .iter()
        .flat_map(|i| {
            i.packages.iter().map(move |p| {
                [
                    i.image.reference.clone(),
                    i.image.platform.clone(),
                    p.name.clone(),
                    p.version.clone(),
                    p.fixed_version.clone().unwrap_or_default(),
                    p.status.as_str().to_string(),
                    format!("{} ({})", p.advisory_id, p.feed),
                ]
            })
        })
        .collect();
    table(&mut out, ["IMAGE", "PLATFORM", "PACKAGE", "INSTALLED", "FIXED", "STATUS", "ADVISORY"], &rows);
    out
}

/// `affected --format json`: images with the packages that make them affected.
pub fn affected_json(images: &[AffectedImage]) -> String {
    let doc: Vec<serde_json::Value> = images
        .iter()
        .map(|i| {
            serde_json::json!({
                "reference": i.image.reference,
                "platform": i.image.platform,
                "manifest_digest": i.image.manifest_digest,
                "distro": i.image.distro,
                "release": i.image.release,
                "packages": i.packages.iter().map(|p| serde_json::json!({
                    "name": p.name,
                    "version": p.version,
                    "arch": p.arch,
                    "source_name": p.source_name,
                    "source_version": p.source_version,
                    "status": p.status.as_str(),
                    "fixed_version": p.fixed_version,
                    "feed": p.feed,
                    "advisory_id": p.advisory_id,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&doc).expect("affected images serialise") + "\n"
}

/// `affected --package`: the images holding a package, one line per matching package.
pub fn package_images_table(images: &[ImagePackages]) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 6]> = images
        .iter()
        .flat_map(|i| {
            i.packages.iter().map(move |(p, matched)| {
                [
                    i.image.reference.clone(),
                    i.image.platform.clone(),
                    p.name.clone(),
                    p.version.clone(),
                    format!("{} {}", p.source_name, p.source_version),
                    match matched {
                        MatchedBy::Binary => "binary".to_string(),
                        MatchedBy::Source => "source".to_string(),
                    },
                ]
            })
        })
        .collect();
    table(&mut out, ["IMAGE", "PLATFORM", "PACKAGE", "VERSION", "SOURCE", "MATCHED BY"], &rows);
    out
}

pub fn package_images_json(images: &[ImagePackages]) -> String {
    let doc: Vec<serde_json::Value> = images
        .iter()
        .map(|i| {
            serde_json::json!({
                "reference": i.image.reference,
                "platform": i.image.platform,
                "manifest_digest": i.image.manifest_digest,
                "packages": i.packages.iter().map(|(p, matched)| serde_json::json!({
                    "name": p.name,
                    "version": p.version,
                    "arch": p.arch,
                    "source_name": p.source_name,
                    "source_version": p.source_version,
                    "ecosystem": p.ecosystem.as_str(),
                    "layer": p.layer,
                    "matched_by": if *matched == MatchedBy::Binary { "binary" } else { "source" },
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&doc).expect("package images serialise") + "\n"
}

/// `mail import`: what was imported and what was skipped, with reasons.
pub fn mail_report(report: &ImportReport) -> String {
    let mut out = String::new();
    let c = &report.changes;
    let _ = writeln!(
        out,
        "{} messages: {} advisories from {} ({} added, {} changed), {} skipped",
        report.n_messages,
        c.n_advisories,
        report.n_advisory_messages,
        c.n_added,
        c.n_changed,
        report.skipped.len()
    );
    for (label, reason) in &report.skipped {
        let _ = writeln!(out, "skipped {label}: {reason}");
    }
    out
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub(crate) fn table<const N: usize>(out: &mut String, header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_like_the_config() {
        for (secs, text) in [(86_400, "1d"), (21_600, "6h"), (900, "15m"), (90, "90s")] {
            assert_eq!(interval(secs), text);
        }
    }

    #[test]
    fn table_aligns_columns() {
        let mut out = String::new();
        table(&mut out, ["A", "BB"], &[["xyz".to_string(), "1".to_string()], ["q".to_string(), "22".to_string()]]);
        assert_eq!(out, "A    BB\nxyz  1\nq    22\n");
    }
}
