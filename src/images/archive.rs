//! PLACEHOLDER (being written): OCI layout / oci-archive / docker-archive sources.
use std::io::Read;
use std::path::Path;

use super::digest::Digest;
use super::manifest::Descriptor;
use super::RawManifest;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archives not written yet")]
    Pending,
}

pub struct Archive;

impl Archive {
    pub fn oci_dir(_p: &Path, _t: Option<&str>) -> Result<Archive, ArchiveError> { Err(ArchiveError::Pending) }
    pub fn oci_archive(_p: &Path, _t: Option<&str>) -> Result<Archive, ArchiveError> { Err(ArchiveError::Pending) }
    pub fn docker_archive(_p: &Path, _t: Option<&str>) -> Result<Archive, ArchiveError> { Err(ArchiveError::Pending) }
    pub fn root_manifest(&self) -> Result<RawManifest, ArchiveError> { Err(ArchiveError::Pending) }
    pub fn manifest_by_digest(&self, _d: &Digest) -> Result<RawManifest, ArchiveError> { Err(ArchiveError::Pending) }
    pub fn read_blob(&self, _d: &Descriptor, _max: u64) -> Result<Vec<u8>, ArchiveError> { Err(ArchiveError::Pending) }
    pub fn open_blob(&self, _d: &Descriptor) -> Result<Box<dyn Read + Send + '_>, ArchiveError> { Err(ArchiveError::Pending) }
    pub fn describe(&self) -> String { String::new() }
}
