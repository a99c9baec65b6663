//! The API's response bodies: wire structs built from the store's rows. They live here so
//! that the store's and the domain's types are not shaped by the JSON (and can change without
//! changing the API).

use serde::Serialize;

use crate::advisories::{ChangeSet, PackageKind, Severity, Status};
use crate::inventory::Ecosystem;
use crate::store::queries::{
    AdvisoryDetail, AdvisorySummary, AffectedImage, AffectedPackage, Coverage, FindingRow, ImagePackages, ImageSummary,
    MatchedBy, PackageRow,
};
use crate::store::{StoredAdvisory, StoredAffected, StoredImage};

/// A page of a listing; `next_cursor` is passed back as `cursor` for the next page.
#[derive(Debug, Serialize)]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AdvisorySummaryView {
    pub id: String,
    pub feed: String,
    pub title: Option<String>,
    pub severity: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub url: Option<String>,
}

impl From<AdvisorySummary> for AdvisorySummaryView {
    fn from(a: AdvisorySummary) -> Self {
        AdvisorySummaryView {
            id: a.id,
            feed: a.feed,
            title: a.title,
            severity: a.severity,
            published: a.published,
            modified: a.modified,
            url: a.url,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AdvisoryRecordView {
    pub feed: String,
    pub id: String,
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub severity: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub url: Option<String>,
    /// The document the record was read from, and when.
    pub document_url: Option<String>,
    pub fetched_at: String,
}

impl From<StoredAdvisory> for AdvisoryRecordView {
    fn from(a: StoredAdvisory) -> Self {
        AdvisoryRecordView {
            feed: a.feed,
            id: a.id,
            aliases: a.aliases,
            title: a.title,
            severity: a.severity,
            published: a.published,
            modified: a.modified,
            url: a.url,
            document_url: a.document_url,
            fetched_at: a.fetched_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AdvisoryRefView {
    pub feed: String,
    pub advisory_id: String,
}

#[derive(Debug, Serialize)]
pub struct AffectedEntryView {
    pub feed: String,
    pub advisory_id: String,
    pub distro: String,
    pub release: String,
    pub package: String,
    pub kind: PackageKind,
    pub status: Status,
    pub fixed_version: Option<String>,
    pub scheme: Ecosystem,
    pub module: Option<String>,
    /// For a mail entry: the feed entry that stands for it.
    pub linked_to: Option<AdvisoryRefView>,
}

impl From<StoredAffected> for AffectedEntryView {
    fn from(s: StoredAffected) -> Self {
        let a = s.affected;
        AffectedEntryView {
            feed: s.feed,
            advisory_id: s.advisory_id,
            distro: a.distro,
            release: a.release,
            package: a.package,
            kind: a.kind,
            status: a.status,
            fixed_version: a.fixed_version,
            scheme: a.scheme,
            module: a.module,
            linked_to: s.linked_to.map(|(feed, advisory_id)| AdvisoryRefView { feed, advisory_id }),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AdvisoryView {
    pub id: String,
    pub records: Vec<AdvisoryRecordView>,
    pub named_by: Vec<AdvisoryRefView>,
    pub affected: Vec<AffectedEntryView>,
}

impl AdvisoryView {
    pub fn new(id: &str, d: AdvisoryDetail) -> AdvisoryView {
        AdvisoryView {
            id: id.to_string(),
            records: d.records.into_iter().map(Into::into).collect(),
            named_by: d.named_by.into_iter().map(|(feed, advisory_id)| AdvisoryRefView { feed, advisory_id }).collect(),
            affected: d.affected.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AffectedPackageView {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub source_name: String,
    pub source_version: String,
    pub status: Status,
    pub fixed_version: Option<String>,
    pub feed: String,
    pub advisory_id: String,
}

impl From<AffectedPackage> for AffectedPackageView {
    fn from(p: AffectedPackage) -> Self {
        AffectedPackageView {
            name: p.name,
            version: p.version,
            arch: p.arch,
            source_name: p.source_name,
            source_version: p.source_version,
            status: p.status,
            fixed_version: p.fixed_version,
            feed: p.feed,
            advisory_id: p.advisory_id,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AffectedImageView {
    pub reference: String,
    pub platform: String,
    pub manifest_digest: String,
    pub distro: Option<String>,
    pub release: Option<String>,
    pub packages: Vec<AffectedPackageView>,
}

#[derive(Debug, Serialize)]
pub struct AffectedImagesView {
    pub advisory: String,
    pub n_images: usize,
    pub images: Vec<AffectedImageView>,
}

impl AffectedImagesView {
    pub fn new(advisory: &str, images: Vec<AffectedImage>) -> AffectedImagesView {
        let images: Vec<AffectedImageView> = images
            .into_iter()
            .map(|a| AffectedImageView {
                reference: a.image.reference,
                platform: a.image.platform,
                manifest_digest: a.image.manifest_digest,
                distro: a.image.distro,
                release: a.image.release,
                packages: a.packages.into_iter().map(Into::into).collect(),
            })
            .collect();
        AffectedImagesView { advisory: advisory.to_string(), n_images: images.len(), images }
    }
}

#[derive(Debug, Serialize)]
pub struct ImageView {
    pub reference: String,
    pub platform: String,
    pub manifest_digest: String,
    pub distro: Option<String>,
    pub release: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_packages: Option<i64>,
}

impl From<StoredImage> for ImageView {
    fn from(i: StoredImage) -> Self {
        ImageView {
            reference: i.reference,
            platform: i.platform,
            manifest_digest: i.manifest_digest,
            distro: i.distro,
            release: i.release,
            n_packages: Some(i.n_packages),
        }
    }
}

impl From<ImageSummary> for ImageView {
    fn from(i: ImageSummary) -> Self {
        ImageView {
            reference: i.reference,
            platform: i.platform,
            manifest_digest: i.manifest_digest,
            distro: i.distro,
            release: i.release,
            n_packages: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PackageView {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub source_name: String,
    pub source_version: String,
    pub ecosystem: Ecosystem,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The layer that introduced the package.
    pub layer: String,
    /// For by-name lookups: `binary` or `source`, the name that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<&'static str>,
}

impl From<PackageRow> for PackageView {
    fn from(p: PackageRow) -> Self {
        PackageView {
            name: p.name,
            version: p.version,
            arch: p.arch,
            source_name: p.source_name,
            source_version: p.source_version,
            ecosystem: p.ecosystem,
            module: p.module,
            layer: p.layer,
            matched_by: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ImagePackagesView {
    #[serde(flatten)]
    pub image: ImageView,
    pub packages: Vec<PackageView>,
}

impl From<ImagePackages> for ImagePackagesView {
    fn from(i: ImagePackages) -> Self {
        let packages = i
            .packages
            .into_iter()
            .map(|(p, by)| PackageView {
                matched_by: Some(match by {
                    MatchedBy::Binary => "binary",
                    MatchedBy::Source => "source",
                }),
                ..PackageView::from(p)
            })
            .collect();
        ImagePackagesView { image: i.image.into(), packages }
    }
}

#[derive(Debug, Serialize)]
pub struct FindingView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageView>,
    pub package: PackageView,
    pub advisory_id: String,
    pub aliases: Vec<String>,
    pub feed: String,
    pub severity: Severity,
    pub status: Status,
    pub fixed_version: Option<String>,
    /// Whether the fix is in the configured package mirrors (absent: never checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<serde_json::Value>,
}

impl FindingView {
    pub fn new(f: FindingRow, with_image: bool) -> FindingView {
        FindingView {
            image: with_image.then(|| f.image.into()),
            package: f.package.into(),
            advisory_id: f.advisory_id,
            aliases: f.aliases,
            feed: f.feed,
            severity: f.severity,
            status: f.status,
            fixed_version: f.fixed_version,
            fix: f.fix.as_ref().map(crate::output::vulns::fix_json),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct VulnerabilitiesView {
    pub image: ImageView,
    /// Whether any feed has entries for the image's distribution release. When false the
    /// image's findings say nothing about its safety.
    pub covered: bool,
    /// `covered`, `uncovered` (no feed covers the release) or `unknown-os`.
    pub coverage: &'static str,
    pub n_findings: usize,
    pub findings: Vec<FindingView>,
}

impl VulnerabilitiesView {
    pub fn new(image: StoredImage, coverage: Coverage, findings: Vec<FindingRow>) -> VulnerabilitiesView {
        VulnerabilitiesView {
            image: image.into(),
            covered: coverage == Coverage::Covered,
            coverage: match coverage {
                Coverage::Covered => "covered",
                Coverage::Uncovered => "uncovered",
                Coverage::UnknownOs => "unknown-os",
            },
            n_findings: findings.len(),
            findings: findings.into_iter().map(|f| FindingView::new(f, false)).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ChangesView {
    pub n_advisories: u64,
    pub n_added: u64,
    pub n_changed: u64,
    pub n_withdrawn: u64,
}

/// The answer to POST /v1/mail.
#[derive(Debug, Serialize)]
pub struct MailView {
    pub stored: bool,
    /// Why the message was not stored (not an advisory, a reply, unparseable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub advisories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangesView>,
}

impl MailView {
    pub fn skipped(reason: String) -> MailView {
        MailView { stored: false, reason: Some(reason), advisories: Vec::new(), changes: None }
    }

    pub fn stored(advisories: Vec<String>, c: &ChangeSet) -> MailView {
        MailView {
            stored: true,
            reason: None,
            advisories,
            changes: Some(ChangesView {
                n_advisories: c.n_advisories,
                n_added: c.n_added,
                n_changed: c.n_changed,
                n_withdrawn: c.n_withdrawn,
            }),
        }
    }
}
