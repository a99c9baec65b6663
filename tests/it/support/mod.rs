//! Shared test helpers: shared-data lookup, the cascade binary, image building, the real
//! registry.
#![allow(dead_code)]

use std::path::PathBuf;

/// `$CASCADE_SHARED_DATA/<rel>`. When the variable is set the data must exist (the test
/// fails, never skips); when it is unset, returns None and the caller skips with a message.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("CASCADE_SHARED_DATA")?;
    let path = PathBuf::from(root).join(rel);
    assert!(path.exists(), "CASCADE_SHARED_DATA is set but {} is missing", path.display());
    Some(path)
}
pub mod cli;
pub mod image;
pub mod receivers;
pub mod registry;
