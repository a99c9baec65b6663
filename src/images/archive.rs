//! Local image sources: an OCI image layout directory (`oci-dir:`), a tar of one
//! (`oci-archive:`) and `docker save` output (`docker-archive:`, both the legacy
//! `manifest.json` + `layer.tar` form and the OCI form Docker 25+ writes). Reads members in
//! place (a tar is indexed once and read by seeking) and verifies every digest; never
//! extracts anything to disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::digest::{Digest, VerifyingReader};
use super::manifest::{self, Descriptor};
use super::RawManifest;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{archive}: missing member {member}")]
    Missing { archive: String, member: String },
    #[error("{archive}: {member} is not valid JSON: {source}")]
    Json { archive: String, member: String, source: serde_json::Error },
    #[error("{archive}: no image tagged {tag:?}; it holds: {available}")]
    NoSuchTag { archive: String, tag: String, available: String },
    #[error("{archive}: {member} is {size} bytes, over the {limit}-byte cap")]
    TooLarge { archive: String, member: String, size: u64, limit: u64 },
    #[error("{archive}: {member}: {message}")]
    Invalid { archive: String, member: String, message: String },
    #[error("{archive}: {member} does not match its digest {digest}")]
    DigestMismatch { archive: String, member: String, digest: Digest },
    #[error("{archive}: {0}", archive = .1)]
    Digest(super::digest::DigestError, String),
}

/// Where members live: a directory, or a tar file indexed by member path.
enum Members {
    Dir(PathBuf),
    Tar { path: PathBuf, index: HashMap<String, (u64, u64)> },
}

impl Members {
    fn open_tar(path: &Path) -> Result<Members, ArchiveError> {
        let io_err = |source| ArchiveError::Io { path: path.display().to_string(), source };
        let file = File::open(path).map_err(io_err)?;
        let mut archive = tar::Archive::new(file);
        let mut index = HashMap::new();
        for entry in archive.entries_with_seek().map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            if entry.header().entry_type().is_file() {
                let name = entry.path().map_err(io_err)?.to_string_lossy().trim_start_matches("./").to_string();
                index.insert(name, (entry.raw_file_position(), entry.size()));
            }
        }
        Ok(Members::Tar { path: path.to_path_buf(), index })
    }

    fn label(&self) -> String {
        match self {
            Members::Dir(p) | Members::Tar { path: p, .. } => p.display().to_string(),
        }
    }

    fn has(&self, member: &str) -> bool {
        match self {
            Members::Dir(dir) => dir.join(member).is_file(),
            Members::Tar { index, .. } => index.contains_key(member),
        }
    }

    /// Opens a member and returns it with its size.
    fn open(&self, member: &str) -> Result<(Box<dyn Read + Send>, u64), ArchiveError> {
        let missing = || ArchiveError::Missing { archive: self.label(), member: member.to_string() };
        match self {
            Members::Dir(dir) => {
                let path = dir.join(member);
                let file = File::open(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => missing(),
                    _ => ArchiveError::Io { path: path.display().to_string(), source: e },
                })?;
                let size = file
                    .metadata()
                    .map_err(|source| ArchiveError::Io { path: path.display().to_string(), source })?
                    .len();
                Ok((Box::new(file), size))
            }
            Members::Tar { path, index } => {
                let &(offset, size) = index.get(member).ok_or_else(missing)?;
                let io_err = |source| ArchiveError::Io { path: path.display().to_string(), source };
                let mut file = File::open(path).map_err(io_err)?;
                file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
                Ok((Box::new(file.take(size)), size))
            }
        }
    }

    fn read(&self, member: &str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let (mut reader, size) = self.open(member)?;
        if size > limit {
            return Err(ArchiveError::TooLarge { archive: self.label(), member: member.to_string(), size, limit });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        reader
            .read_to_end(&mut bytes)
            .map_err(|source| ArchiveError::Io { path: format!("{}:{member}", self.label()), source })?;
        Ok(bytes)
    }

    fn read_json<T: for<'de> Deserialize<'de>>(&self, member: &str) -> Result<T, ArchiveError> {
        let bytes = self.read(member, manifest::MAX_DOCUMENT_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|source| ArchiveError::Json {
            archive: self.label(),
            member: member.to_string(),
            source,
        })
    }
}

/// An opened local image.
pub struct Archive {
    members: Members,
    kind: &'static str,
    tag: Option<String>,
    root: RawManifest,
    /// Members of legacy docker archives that are not under `blobs/`: digest → member path.
    blob_members: HashMap<Digest, String>,
}

/// `index.json` of an OCI layout.
#[derive(Deserialize)]
struct LayoutIndex {
    manifests: Vec<Descriptor>,
}

/// One entry of a `docker save` `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerSaveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";

impl Archive {
    pub fn oci_dir(path: &Path, tag: Option<&str>) -> Result<Archive, ArchiveError> {
        if !path.is_dir() {
            return Err(ArchiveError::Io {
                path: path.display().to_string(),
                source: io::Error::new(io::ErrorKind::NotFound, "not a directory holding an OCI image layout"),
            });
        }
        Archive::from_layout(Members::Dir(path.to_path_buf()), "oci-dir", tag)
    }

    pub fn oci_archive(path: &Path, tag: Option<&str>) -> Result<Archive, ArchiveError> {
        Archive::from_layout(Members::open_tar(path)?, "oci-archive", tag)
    }

    pub fn docker_archive(path: &Path, tag: Option<&str>) -> Result<Archive, ArchiveError> {
        let members = Members::open_tar(path)?;
        if members.has("index.json") && members.has("oci-layout") {
            // Docker 25+ writes an OCI layout; its manifest.json maps repo tags to manifests.
            let tag = match tag {
                Some(t) => Some(docker_tag_to_layout(&members, t)?),
                None => None,
            };
            let mut archive = Archive::from_layout(members, "docker-archive", tag.as_deref())?;
            archive.kind = "docker-archive";
            return Ok(archive);
        }
        Archive::from_legacy_docker(members, tag)
    }

    fn from_layout(members: Members, kind: &'static str, tag: Option<&str>) -> Result<Archive, ArchiveError> {
        if !members.has("oci-layout") {
            return Err(ArchiveError::Missing { archive: members.label(), member: "oci-layout".into() });
        }
        let index_bytes = members.read("index.json", manifest::MAX_DOCUMENT_BYTES)?;
        let index: LayoutIndex = serde_json::from_slice(&index_bytes).map_err(|source| ArchiveError::Json {
            archive: members.label(),
            member: "index.json".into(),
            source,
        })?;
        let chosen = match tag {
            Some(tag) => Some(
                index
                    .manifests
                    .iter()
                    .find(|d| {
                        ref_name(d).is_some_and(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
                    })
                    .ok_or_else(|| ArchiveError::NoSuchTag {
                        archive: members.label(),
                        tag: tag.to_string(),
                        available: index.manifests.iter().filter_map(ref_name).collect::<Vec<_>>().join(", "),
                    })?,
            ),
            None if index.manifests.len() == 1 => index.manifests.first(),
            // Several entries and no tag: treat index.json itself as the image index so that
            // platform selection picks one.
            None => None,
        };
        let mut archive = Archive {
            members,
            kind,
            tag: tag.map(str::to_string),
            root: RawManifest { digest: Digest::sha256_of(&index_bytes), content_type: None, bytes: Vec::new() },
            blob_members: HashMap::new(),
        };
        archive.root = match chosen {
            Some(d) => archive.manifest_by_digest(&d.digest)?,
            None => RawManifest {
                digest: Digest::sha256_of(&index_bytes),
                content_type: Some(manifest::OCI_INDEX.to_string()),
                bytes: index_bytes,
            },
        };
        Ok(archive)
    }

    fn from_legacy_docker(members: Members, tag: Option<&str>) -> Result<Archive, ArchiveError> {
        let entries: Vec<DockerSaveEntry> = members.read_json("manifest.json")?;
        let entry = match tag {
            Some(tag) => entries
                .iter()
                .find(|e| e.repo_tags.iter().flatten().any(|t| t == tag || t.ends_with(&format!("/{tag}"))))
                .ok_or_else(|| ArchiveError::NoSuchTag {
                    archive: members.label(),
                    tag: tag.to_string(),
                    available: entries
                        .iter()
                        .flat_map(|e| e.repo_tags.iter().flatten().cloned())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
            None => match entries.as_slice() {
                [one] => one,
                [] => {
                    return Err(ArchiveError::Invalid {
                        archive: members.label(),
                        member: "manifest.json".into(),
                        message: "lists no image".into(),
                    })
                }
                _ => {
                    return Err(ArchiveError::Invalid {
                        archive: members.label(),
                        member: "manifest.json".into(),
                        message: "lists several images; name one as docker-archive:PATH:REPO:TAG".into(),
                    })
                }
            },
        };
        let config_bytes = members.read(&entry.config, manifest::MAX_DOCUMENT_BYTES)?;
        let config_digest = Digest::sha256_of(&config_bytes);
        let config: manifest::ImageConfig = serde_json::from_slice(&config_bytes)
            .map_err(|source| ArchiveError::Json { archive: members.label(), member: entry.config.clone(), source })?;
        let diff_ids = config.rootfs.map(|r| r.diff_ids).unwrap_or_default();
        if diff_ids.len() != entry.layers.len() {
            return Err(ArchiveError::Invalid {
                archive: members.label(),
                member: entry.config.clone(),
                message: format!("lists {} diff_ids for {} layers", diff_ids.len(), entry.layers.len()),
            });
        }
        // Legacy layers are uncompressed tars, so each one's digest is its diff_id.
        let mut blob_members = HashMap::from([(config_digest.clone(), entry.config.clone())]);
        let mut layers = Vec::new();
        for (member, diff_id) in entry.layers.iter().zip(diff_ids) {
            let (_, size) = members.open(member)?;
            blob_members.insert(diff_id.clone(), member.clone());
            layers.push(serde_json::json!({
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar",
                "digest": diff_id,
                "size": size,
            }));
        }
        let synthesized = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest::DOCKER_MANIFEST,
            "config": { "mediaType": manifest::DOCKER_CONFIG, "digest": config_digest, "size": config_bytes.len() },
            "layers": layers,
        }))
        .expect("a json! value always serialises");
        Ok(Archive {
            members,
            kind: "docker-archive",
            tag: tag.map(str::to_string),
            root: RawManifest {
                digest: Digest::sha256_of(&synthesized),
                content_type: Some(manifest::DOCKER_MANIFEST.to_string()),
                bytes: synthesized,
            },
            blob_members,
        })
    }

    /// `kind:path[:tag]`, the canonical way to name this image.
    pub fn describe(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}:{}:{t}", self.kind, self.members.label()),
            None => format!("{}:{}", self.kind, self.members.label()),
        }
    }

    pub fn root_manifest(&self) -> Result<RawManifest, ArchiveError> {
        Ok(RawManifest {
            digest: self.root.digest.clone(),
            content_type: self.root.content_type.clone(),
            bytes: self.root.bytes.clone(),
        })
    }

    fn member_for(&self, digest: &Digest) -> Result<String, ArchiveError> {
        digest.ensure_verifiable().map_err(|e| ArchiveError::Digest(e, self.members.label()))?;
        Ok(self
            .blob_members
            .get(digest)
            .cloned()
            .unwrap_or_else(|| format!("blobs/{}/{}", digest.algorithm(), digest.encoded())))
    }

    pub fn manifest_by_digest(&self, digest: &Digest) -> Result<RawManifest, ArchiveError> {
        let member = self.member_for(digest)?;
        let bytes = self.members.read(&member, manifest::MAX_DOCUMENT_BYTES)?;
        if !digest.matches(&bytes) {
            return Err(ArchiveError::DigestMismatch { archive: self.members.label(), member, digest: digest.clone() });
        }
        Ok(RawManifest { digest: digest.clone(), content_type: None, bytes })
    }

    pub fn read_blob(&self, d: &Descriptor, max: u64) -> Result<Vec<u8>, ArchiveError> {
        let member = self.member_for(&d.digest)?;
        let bytes = self.members.read(&member, max)?;
        if !d.digest.matches(&bytes) {
            return Err(ArchiveError::DigestMismatch {
                archive: self.members.label(),
                member,
                digest: d.digest.clone(),
            });
        }
        Ok(bytes)
    }

    pub fn open_blob(&self, d: &Descriptor) -> Result<Box<dyn Read + Send + '_>, ArchiveError> {
        let member = self.member_for(&d.digest)?;
        let (reader, size) = self.members.open(&member)?;
        let reader = VerifyingReader::new(reader, d.digest.clone(), Some(size))
            .map_err(|e| ArchiveError::Digest(e, self.members.label()))?;
        Ok(Box::new(reader))
    }
}

fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations.as_ref()?.get(REF_NAME).map(String::as_str)
}

/// Docker's OCI-form archives annotate index.json entries with `io.containerd.image.name`
/// (`docker.io/library/x:tag`) and the short ref name; accept `repo:tag` or a bare tag.
fn docker_tag_to_layout(members: &Members, tag: &str) -> Result<String, ArchiveError> {
    let index: LayoutIndex = members.read_json("index.json")?;
    for d in &index.manifests {
        let Some(a) = &d.annotations else { continue };
        let full = a.get("io.containerd.image.name").map(String::as_str).unwrap_or("");
        if full == tag || full.ends_with(&format!("/{tag}")) || ref_name(d) == Some(tag) {
            if let Some(name) = ref_name(d) {
                return Ok(name.to_string());
            }
        }
    }
    Ok(tag.rsplit_once(':').map(|(_, t)| t).unwrap_or(tag).to_string())
}
