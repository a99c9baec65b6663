//! OCI and Docker manifest, index and config documents, parsed from verified bytes, and
//! platform selection from an index. Wire structs stay here; no IO.

use serde::{Deserialize, Serialize};

use super::digest::Digest;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// The Accept header for manifest requests: every index and manifest type we understand, so
/// that registries neither down-convert a list nor fall back to schema 1.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Largest manifest or config document we accept (the distribution spec suggests 4 MiB).
pub const MAX_DOCUMENT_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, rename = "os.version", skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`, e.g. `linux/amd64` or `linux/arm64/v8`.
    pub fn parse(s: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => {
                Ok(Platform { os: os.to_string(), architecture: arch.to_string(), variant: None, os_version: None })
            }
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
                os_version: None,
            }),
            _ => Err(format!("platform {s:?} is not of the form os/arch[/variant]")),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image manifest (OCI or Docker v2 schema 2).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    #[serde(default)]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// The parts of an image config that the inventory needs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerConfig {
    #[serde(default, rename = "Labels")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

/// A manifest document, told apart by media type (header or body).
#[derive(Debug, Clone)]
pub enum Document {
    Index(ImageIndex),
    Manifest(Box<ImageManifest>),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid JSON for {media_type}: {source}")]
    Json { media_type: String, source: serde_json::Error },
    #[error("unsupported manifest media type {0:?} (schema 1 and other formats are not read)")]
    UnsupportedMediaType(String),
    #[error("no image in the index for platform {wanted}; it offers: {offered}")]
    NoPlatform { wanted: String, offered: String },
}

/// Parses a manifest document. `header_type` is the response's Content-Type (parameters are
/// ignored); when it is missing or generic the body's `mediaType` decides.
pub fn parse_document(header_type: Option<&str>, bytes: &[u8]) -> Result<Document, ManifestError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let header_type = header_type.map(|t| t.split(';').next().unwrap_or("").trim().to_string());
    let probe: Probe = serde_json::from_slice(bytes).map_err(|source| ManifestError::Json {
        media_type: header_type.clone().unwrap_or_else(|| "a manifest".to_string()),
        source,
    })?;
    let media_type = match (probe.media_type, header_type) {
        (Some(body), _) => body,
        (None, Some(h)) if h != "application/json" && !h.is_empty() => h,
        // An OCI document may omit mediaType; `manifests` marks an index.
        (None, _) if probe.manifests.is_some() => OCI_INDEX.to_string(),
        (None, _) => OCI_MANIFEST.to_string(),
    };
    let json_err = |source| ManifestError::Json { media_type: media_type.clone(), source };
    match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => Ok(Document::Index(serde_json::from_slice(bytes).map_err(json_err)?)),
        OCI_MANIFEST | DOCKER_MANIFEST => {
            Ok(Document::Manifest(Box::new(serde_json::from_slice(bytes).map_err(json_err)?)))
        }
        other => Err(ManifestError::UnsupportedMediaType(other.to_string())),
    }
}

/// True for index entries that are not runnable images: BuildKit attestations
/// (`vnd.docker.reference.type`) and `unknown/unknown` platforms.
pub fn is_attestation(d: &Descriptor) -> bool {
    let annotated = d.annotations.as_ref().is_some_and(|a| a.contains_key("vnd.docker.reference.type"));
    let unknown = d.platform.as_ref().is_some_and(|p| p.os == "unknown" || p.architecture == "unknown");
    annotated || unknown
}

/// Picks the manifest for `wanted` from an index. A missing variant in the request matches any
/// variant (preferring none, then `v8` for arm64); entries that are not image manifests and
/// attestation entries are ignored.
pub fn select_platform<'a>(index: &'a ImageIndex, wanted: &Platform) -> Result<&'a Descriptor, ManifestError> {
    let candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| matches!(d.media_type.as_str(), OCI_MANIFEST | DOCKER_MANIFEST) && !is_attestation(d))
        .collect();
    let same_arch = |d: &&&Descriptor| {
        d.platform.as_ref().is_some_and(|p| p.os == wanted.os && p.architecture == wanted.architecture)
    };
    let exact = candidates.iter().filter(same_arch).find(|d| {
        let variant = d.platform.as_ref().and_then(|p| p.variant.as_deref());
        match (&wanted.variant, variant) {
            (Some(w), Some(v)) => w == v,
            (Some(w), None) => wanted.architecture == "arm64" && w == "v8",
            (None, v) => v.is_none() || v == Some("v8"),
        }
    });
    let fallback = || {
        if wanted.variant.is_none() {
            candidates.iter().find(same_arch)
        } else {
            None
        }
    };
    exact.or_else(fallback).copied().ok_or_else(|| ManifestError::NoPlatform {
        wanted: wanted.to_string(),
        offered: candidates
            .iter()
            .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(media_type: &str, platform: Option<&str>, attestation: bool) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: Digest::sha256_of(format!("{platform:?}{attestation}").as_bytes()),
            size: 1,
            platform: platform.map(|p| Platform::parse(p).unwrap()),
            annotations: attestation
                .then(|| [("vnd.docker.reference.type".to_string(), "attestation-manifest".to_string())].into()),
        }
    }

    #[test]
    fn selects_platform_and_skips_attestations() {
        let index = ImageIndex {
            media_type: Some(OCI_INDEX.into()),
            manifests: vec![
                desc(OCI_MANIFEST, Some("unknown/unknown"), true),
                desc(OCI_MANIFEST, Some("linux/arm64/v8"), false),
                desc(OCI_MANIFEST, Some("linux/amd64"), false),
                desc("application/vnd.example.future+json", Some("linux/riscv64"), false),
            ],
        };
        let amd = select_platform(&index, &Platform::parse("linux/amd64").unwrap()).unwrap();
        assert_eq!(amd.platform.as_ref().unwrap().architecture, "amd64");
        let arm = select_platform(&index, &Platform::parse("linux/arm64").unwrap()).unwrap();
        assert_eq!(arm.platform.as_ref().unwrap().variant.as_deref(), Some("v8"));
        let err = select_platform(&index, &Platform::parse("linux/s390x").unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no image in the index for platform linux/s390x; it offers: linux/arm64/v8, linux/amd64"
        );
        // The riscv entry has an unknown media type: ignored, not an error.
        assert!(select_platform(&index, &Platform::parse("linux/riscv64").unwrap()).is_err());
    }

    #[test]
    fn document_type_from_header_or_body() {
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(parse_document(None, index), Ok(Document::Index(_))));
        let list = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        assert!(matches!(parse_document(Some("application/json"), list), Ok(Document::Index(_))));
        let schema1 = br#"{"schemaVersion":1,"name":"x"}"#;
        let err =
            parse_document(Some("application/vnd.docker.distribution.manifest.v1+prettyjws"), schema1).unwrap_err();
        assert!(err.to_string().contains("unsupported manifest media type"), "{err}");
    }
}
