//! Image sources: resolve a reference to one platform's manifest, config and ordered layer
//! descriptors, and open layer blobs as verified streams. Every manifest and blob is checked
//! against its digest before anything downstream trusts it.
//!
//! Sources are a closed set: a registry (OCI distribution API), an OCI image layout directory,
//! an `oci-archive` tarball and a `docker-archive` (`docker save`) tarball.

pub mod archive;
pub mod auth;
pub mod digest;
pub mod manifest;
pub mod reference;
pub mod registry;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use digest::Digest;
use manifest::{Descriptor, Document, ImageConfig, Platform};
use reference::ImageRef;

/// What the user asked to scan, parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceRef {
    Registry(ImageRef),
    /// `oci-dir:PATH[:TAG]`, an OCI image layout directory.
    OciDir {
        path: PathBuf,
        tag: Option<String>,
    },
    /// `oci-archive:PATH[:TAG]`, a tar of an OCI image layout.
    OciArchive {
        path: PathBuf,
        tag: Option<String>,
    },
    /// `docker-archive:PATH[:REPO:TAG]`, the output of `docker save`.
    DockerArchive {
        path: PathBuf,
        tag: Option<String>,
    },
}

impl SourceRef {
    /// Parses `oci-dir:`, `oci-archive:` and `docker-archive:` prefixes, else a registry reference.
    pub fn parse(s: &str) -> Result<SourceRef, ImageError> {
        let split = |rest: &str| -> (PathBuf, Option<String>) {
            // A tag may follow the path after a colon, as skopeo spells it; paths with colons
            // are taken whole when they exist.
            if std::path::Path::new(rest).exists() {
                return (PathBuf::from(rest), None);
            }
            match rest.split_once(':') {
                Some((p, t)) if !t.is_empty() => (PathBuf::from(p), Some(t.to_string())),
                _ => (PathBuf::from(rest), None),
            }
        };
        if let Some(rest) = s.strip_prefix("oci-dir:") {
            let (path, tag) = split(rest);
            return Ok(SourceRef::OciDir { path, tag });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            let (path, tag) = split(rest);
            return Ok(SourceRef::OciArchive { path, tag });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            let (path, tag) = split(rest);
            return Ok(SourceRef::DockerArchive { path, tag });
        }
        let reference = s.parse::<ImageRef>().map_err(|e| ImageError::Reference(e.to_string()))?;
        Ok(SourceRef::Registry(reference))
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let with_tag = |f: &mut std::fmt::Formatter<'_>, kind: &str, path: &PathBuf, tag: &Option<String>| {
            write!(f, "{kind}:{}", path.display())?;
            if let Some(t) = tag {
                write!(f, ":{t}")?;
            }
            Ok(())
        };
        match self {
            SourceRef::Registry(r) => write!(f, "{r}"),
            SourceRef::OciDir { path, tag } => with_tag(f, "oci-dir", path, tag),
            SourceRef::OciArchive { path, tag } => with_tag(f, "oci-archive", path, tag),
            SourceRef::DockerArchive { path, tag } => with_tag(f, "docker-archive", path, tag),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image reference: {0}")]
    Reference(String),
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error("{what} {digest}: {source}")]
    Manifest { what: &'static str, digest: String, source: manifest::ManifestError },
    #[error("image config {digest} is not valid JSON: {source}")]
    Config { digest: Digest, source: serde_json::Error },
    #[error("manifest {digest} is a {found}, expected an image manifest")]
    NestedIndex { digest: Digest, found: &'static str },
}

/// One platform's image, resolved: everything needed to read its layers.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The reference as given, in canonical form.
    pub reference: String,
    /// The index (manifest list) digest when the reference named one.
    pub index_digest: Option<Digest>,
    pub manifest_digest: Digest,
    pub platform: Platform,
    pub config_digest: Digest,
    pub config: ImageConfig,
    /// Layer descriptors, base layer first.
    pub layers: Vec<Descriptor>,
    /// The image manifest's annotations (empty when it has none).
    pub annotations: BTreeMap<String, String>,
}

/// The OCI annotation (or config label) naming the image an image was built on.
pub const BASE_NAME_KEY: &str = "org.opencontainers.image.base.name";
/// The OCI annotation (or config label) giving the digest of the image it was built on.
pub const BASE_DIGEST_KEY: &str = "org.opencontainers.image.base.digest";

impl ResolvedImage {
    /// What the image declares it was built on: `(base name, base digest)` from the manifest
    /// annotations, else from the config labels (Docker builds set labels, OCI tools annotations).
    pub fn declared_base(&self) -> (Option<String>, Option<String>) {
        let labels = self.config.config.as_ref().and_then(|c| c.labels.as_ref());
        let value = |key: &str| {
            self.annotations
                .get(key)
                .or_else(|| labels.and_then(|l| l.get(key)))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        (value(BASE_NAME_KEY), value(BASE_DIGEST_KEY))
    }
}

/// An opened image source.
pub enum Source {
    Registry { client: registry::RegistryClient, reference: ImageRef },
    Archive(archive::Archive),
}

/// Fetched manifest bytes, already verified against `digest`.
#[derive(Debug, Clone)]
pub struct RawManifest {
    pub digest: Digest,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Source {
    pub fn open(source: &SourceRef, registry_options: &registry::RegistryOptions) -> Result<Source, ImageError> {
        Ok(match source {
            SourceRef::Registry(reference) => Source::Registry {
                client: registry::RegistryClient::new(registry_options.clone()),
                reference: reference.clone(),
            },
            SourceRef::OciDir { path, tag } => Source::Archive(archive::Archive::oci_dir(path, tag.as_deref())?),
            SourceRef::OciArchive { path, tag } => {
                Source::Archive(archive::Archive::oci_archive(path, tag.as_deref())?)
            }
            SourceRef::DockerArchive { path, tag } => {
                Source::Archive(archive::Archive::docker_archive(path, tag.as_deref())?)
            }
        })
    }

    /// The manifest the reference names (an index or an image manifest), verified.
    fn root_manifest(&self) -> Result<RawManifest, ImageError> {
        match self {
            Source::Registry { client, reference } => Ok(client.get_manifest(reference, &reference.reference())?),
            Source::Archive(a) => Ok(a.root_manifest()?),
        }
    }

    /// A manifest by digest, verified.
    fn manifest_by_digest(&self, digest: &Digest) -> Result<RawManifest, ImageError> {
        match self {
            Source::Registry { client, reference } => Ok(client.get_manifest(reference, &digest.to_string())?),
            Source::Archive(a) => Ok(a.manifest_by_digest(digest)?),
        }
    }

    /// A small blob (a config) read whole and verified.
    pub fn read_small_blob(&self, d: &Descriptor) -> Result<Vec<u8>, ImageError> {
        match self {
            Source::Registry { client, reference } => {
                Ok(client.read_blob(reference, d, manifest::MAX_DOCUMENT_BYTES)?)
            }
            Source::Archive(a) => Ok(a.read_blob(d, manifest::MAX_DOCUMENT_BYTES)?),
        }
    }

    /// Opens a layer blob as a stream whose final read fails unless the content matched the
    /// descriptor's digest. Callers must read it to EOF before trusting what they parsed.
    pub fn open_blob(&self, d: &Descriptor) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        match self {
            Source::Registry { client, reference } => Ok(Box::new(client.open_blob(reference, d)?)),
            Source::Archive(a) => Ok(a.open_blob(d)?),
        }
    }

    /// Resolves the reference to one platform's manifest and config. `config_cache` is asked
    /// first for a config by digest so that a warm scan reads no blob.
    pub fn resolve(
        &self,
        wanted: &Platform,
        config_cache: &dyn Fn(&Digest) -> Option<Vec<u8>>,
    ) -> Result<(ResolvedImage, Vec<u8>), ImageError> {
        let root = self.root_manifest()?;
        let parse = |m: &RawManifest, what: &'static str| {
            manifest::parse_document(m.content_type.as_deref(), &m.bytes).map_err(|source| ImageError::Manifest {
                what,
                digest: m.digest.to_string(),
                source,
            })
        };
        let (index_digest, manifest_digest, image_manifest) = match parse(&root, "manifest")? {
            Document::Manifest(m) => (None, root.digest.clone(), m),
            Document::Index(index) => {
                let chosen = manifest::select_platform(&index, wanted).map_err(|source| ImageError::Manifest {
                    what: "index",
                    digest: root.digest.to_string(),
                    source,
                })?;
                let child = self.manifest_by_digest(&chosen.digest)?;
                match parse(&child, "manifest")? {
                    Document::Manifest(m) => (Some(root.digest.clone()), child.digest, m),
                    Document::Index(_) => {
                        return Err(ImageError::NestedIndex { digest: child.digest, found: "nested index" })
                    }
                }
            }
        };
        let config_bytes = match config_cache(&image_manifest.config.digest) {
            Some(bytes) => bytes,
            None => self.read_small_blob(&image_manifest.config)?,
        };
        let config: ImageConfig = serde_json::from_slice(&config_bytes)
            .map_err(|source| ImageError::Config { digest: image_manifest.config.digest.clone(), source })?;
        let platform = Platform {
            os: config.os.clone().unwrap_or_else(|| wanted.os.clone()),
            architecture: config.architecture.clone().unwrap_or_else(|| wanted.architecture.clone()),
            variant: config.variant.clone(),
            os_version: None,
        };
        if index_digest.is_none() && (platform.os != wanted.os || platform.architecture != wanted.architecture) {
            // A single-platform image is scanned as what it is; say so when that differs.
            tracing::warn!(wanted = %wanted, found = %platform, "image is single-platform and not the requested platform");
        }
        let reference = match self {
            Source::Registry { reference, .. } => reference.to_string(),
            Source::Archive(a) => a.describe(),
        };
        Ok((
            ResolvedImage {
                reference,
                index_digest,
                manifest_digest,
                platform,
                config_digest: image_manifest.config.digest.clone(),
                config,
                layers: image_manifest.layers,
                annotations: image_manifest.annotations.unwrap_or_default(),
            },
            config_bytes,
        ))
    }
}
