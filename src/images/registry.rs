//! PLACEHOLDER (being written): OCI distribution client.
use std::time::Duration;

use super::digest::Digest;
use super::manifest::Descriptor;
use super::reference::ImageRef;
use super::RawManifest;

#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub insecure_registries: Vec<String>,
    pub timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions { insecure_registries: Vec::new(), timeout: Duration::from_secs(30) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry client not written yet")]
    Pending,
}

pub struct RegistryClient {
    _options: RegistryOptions,
}

impl RegistryClient {
    pub fn new(options: RegistryOptions) -> Self {
        RegistryClient { _options: options }
    }
    pub fn get_manifest(&self, _image: &ImageRef, _reference: &str) -> Result<RawManifest, RegistryError> {
        Err(RegistryError::Pending)
    }
    pub fn head_manifest(&self, _image: &ImageRef, _reference: &str) -> Result<Option<Digest>, RegistryError> {
        Err(RegistryError::Pending)
    }
    pub fn read_blob(&self, _image: &ImageRef, _d: &Descriptor, _max: u64) -> Result<Vec<u8>, RegistryError> {
        Err(RegistryError::Pending)
    }
    pub fn open_blob(&self, _image: &ImageRef, _d: &Descriptor) -> Result<std::io::Empty, RegistryError> {
        Err(RegistryError::Pending)
    }
}
