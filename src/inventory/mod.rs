//! The image inventory: overlay the per-layer extracts into the image's final view of the
//! files that matter, identify the OS and read the package databases. Pure: no IO here.

pub mod apk;
mod build;
pub mod dpkg;
pub mod os;
pub mod overlay;
pub mod rpm;

use serde::Serialize;

use crate::images::digest::Digest;
use os::OsRelease;

pub use build::{InventoryBuilder, InventoryError};

/// Which package manager (and so which version-comparison scheme) a package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Dpkg,
    Apk,
    Rpm,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Dpkg => "dpkg",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
        }
    }

    pub fn parse(s: &str) -> Option<Ecosystem> {
        match s {
            "dpkg" => Some(Ecosystem::Dpkg),
            "apk" => Some(Ecosystem::Apk),
            "rpm" => Some(Ecosystem::Rpm),
            _ => None,
        }
    }
}

/// One installed package as its database records it.
///
/// `version` is the binary version exactly as the database spells it (dpkg keeps its epoch;
/// rpm is `[epoch:]version-release`, the epoch shown when the header has one).
/// `source_name`/`source_version` name the source package: the dpkg `Source: name (version)`
/// value (else the binary name and version), the apk origin with `V:`, and for rpm the
/// SOURCERPM's name and version-release with the binary's epoch in front (the SOURCERPM
/// carries none). Debian-family advisories are matched on these; Red Hat advisories name
/// binary packages and compare the binary `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub source_name: String,
    pub source_version: String,
    pub ecosystem: Ecosystem,
    /// rpm only: the `MODULARITYLABEL` (`name:stream:version:context`), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

/// Reading one package database failed; the message names the database.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DbError {
    pub path: String,
    pub message: String,
}

impl DbError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> DbError {
        DbError { path: path.into(), message: message.into() }
    }
}

/// A package in an image, with the layer that introduced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPackage {
    #[serde(flatten)]
    pub package: Package,
    /// Digest of the lowest layer from which the package (same name, arch, version) is
    /// present in every layer up to the top.
    pub layer: Digest,
}

/// What an image contains.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// None when nothing identifies the OS (the inventory never guesses).
    pub os: Option<OsRelease>,
    pub packages: Vec<InstalledPackage>,
    /// Things a user should know: no OS identified, an OS but no package database, ...
    pub warnings: Vec<String>,
}
