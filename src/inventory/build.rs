//! Builds an image's inventory from its layer extracts: overlay, package databases, layer
//! attribution, OS identification. Pure: the caller supplies the extracts.

use super::overlay::{FileView, OverlayError};
use super::{apk, dpkg, os, rpm, DbError, InstalledPackage, Inventory, Package};
use crate::images::digest::Digest;
use crate::layers::LayerExtract;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("layer {layer}: {source}")]
    Overlay { layer: Digest, source: OverlayError },
    #[error("package database {0}")]
    Db(#[from] DbError),
    #[error("reading {path}: {source}")]
    Read { path: String, source: OverlayError },
}

/// Where package databases live, in the order they are looked for.
const DPKG_STATUS: &str = "var/lib/dpkg/status";
const DPKG_STATUS_D: &str = "var/lib/dpkg/status.d";
const APK_INSTALLED: &[&str] = &["lib/apk/db/installed", "usr/lib/apk/db/installed"];
const RPM_DIRS: &[&str] = &["usr/lib/sysimage/rpm", "var/lib/rpm", "usr/share/rpm"];

/// Builds an inventory layer by layer, so that a scan can stream layers through it without
/// holding more than the current view of the files that matter.
pub struct InventoryBuilder {
    view: FileView,
    layers: Vec<Digest>,
    /// The packages as of the last layer that touched a database, with the index of the
    /// layer that introduced each.
    current: Vec<(Package, usize)>,
}

impl Default for InventoryBuilder {
    fn default() -> Self {
        InventoryBuilder::new()
    }
}

impl InventoryBuilder {
    pub fn new() -> InventoryBuilder {
        InventoryBuilder { view: FileView::new(), layers: Vec::new(), current: Vec::new() }
    }

    /// Applies the next layer (base first). Package databases are re-read only when the layer
    /// changed one of their files.
    pub fn add_layer(&mut self, digest: Digest, extract: LayerExtract) -> Result<(), InventoryError> {
        let index = self.layers.len();
        let changed = self
            .view
            .apply(index, extract)
            .map_err(|source| InventoryError::Overlay { layer: digest.clone(), source })?;
        self.layers.push(digest);
        if changed.iter().any(|p| is_package_db(p)) {
            let packages = read_packages(&self.view)?;
            self.current = attribute(std::mem::take(&mut self.current), packages, index);
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Inventory, InventoryError> {
        // A release file that cannot be resolved (a symlink loop) fails the image rather than
        // passing for a missing file.
        let failure = std::cell::RefCell::new(None);
        let read = |path: &str| match self.view.read(path) {
            Ok(file) => file.map(|f| f.content().to_vec()),
            Err(source) => {
                failure.borrow_mut().get_or_insert(InventoryError::Read { path: path.to_string(), source });
                None
            }
        };
        let os = os::detect(&read);
        if let Some(err) = failure.into_inner() {
            return Err(err);
        }
        let mut warnings = Vec::new();
        match &os {
            None => warnings.push("no OS identified: none of os-release, lsb-release, alpine-release, debian_version, redhat-release is present".to_string()),
            Some(o) if self.current.is_empty() => warnings.push(format!(
                "{} {} identified but no installed packages found (package database missing or removed)",
                o.distro, o.release
            )),
            Some(_) => {}
        }
        let mut packages: Vec<InstalledPackage> = self
            .current
            .into_iter()
            .map(|(package, layer)| InstalledPackage { package, layer: self.layers[layer].clone() })
            .collect();
        packages.sort_by(|a, b| {
            (&a.package.name, &a.package.arch, &a.package.version).cmp(&(
                &b.package.name,
                &b.package.arch,
                &b.package.version,
            ))
        });
        Ok(Inventory { os, packages, warnings })
    }
}

fn is_package_db(path: &str) -> bool {
    path == DPKG_STATUS
        || path.starts_with("var/lib/dpkg/status.d/")
        || APK_INSTALLED.contains(&path)
        || RPM_DIRS.iter().any(|d| path.strip_prefix(d).is_some_and(|rest| rest.starts_with('/')))
}

/// Carries each package's introducing layer over from the previous state when the same
/// (ecosystem, name, arch, version) was already installed; new ones get `layer`.
fn attribute(previous: Vec<(Package, usize)>, now: Vec<Package>, layer: usize) -> Vec<(Package, usize)> {
    let key = |p: &Package| (p.ecosystem, p.name.clone(), p.arch.clone(), p.version.clone());
    let before: std::collections::HashMap<_, usize> = previous.iter().map(|(p, l)| (key(p), *l)).collect();
    now.into_iter()
        .map(|p| {
            let introduced = before.get(&key(&p)).copied().unwrap_or(layer);
            (p, introduced)
        })
        .collect()
}

/// Reads every package database present in the view: dpkg (status and status.d), apk, and
/// one rpm database (sqlite, then ndb, then bdb: the first found, as rpm itself uses one).
fn read_packages(view: &FileView) -> Result<Vec<Package>, InventoryError> {
    let read = |path: &str| view.read(path).map_err(|source| InventoryError::Read { path: path.to_string(), source });
    let mut packages = Vec::new();
    if let Some(status) = read(DPKG_STATUS)? {
        packages.extend(dpkg::parse_status(DPKG_STATUS, status.content())?);
    }
    let names = view
        .list_dir(DPKG_STATUS_D)
        .map_err(|source| InventoryError::Read { path: DPKG_STATUS_D.to_string(), source })?;
    if !names.is_empty() {
        let mut files = Vec::new();
        for name in names {
            let path = format!("{DPKG_STATUS_D}/{name}");
            if let Some(f) = read(&path)? {
                files.push((name, f));
            }
        }
        let borrowed: Vec<(String, &[u8])> = files.iter().map(|(n, f)| (n.clone(), f.content())).collect();
        packages.extend(dpkg::parse_status_d(&borrowed)?);
    }
    for path in APK_INSTALLED {
        if let Some(db) = read(path)? {
            packages.extend(apk::parse_installed(path, db.content())?);
            break;
        }
    }
    'rpm: for (file, kind) in [
        ("rpmdb.sqlite", rpm::RpmDbKind::Sqlite),
        ("Packages.db", rpm::RpmDbKind::Ndb),
        ("Packages", rpm::RpmDbKind::Bdb),
    ] {
        for dir in RPM_DIRS {
            let path = format!("{dir}/{file}");
            if let Some(db) = read(&path)? {
                let wal = match kind {
                    rpm::RpmDbKind::Sqlite => read(&format!("{path}-wal"))?,
                    _ => None,
                };
                let wal = wal.as_ref().map(|w| w.content()).filter(|w| !w.is_empty());
                packages.extend(rpm::read(kind, &path, db.content(), wal)?);
                break 'rpm;
            }
        }
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Ecosystem;
    use crate::layers::{Entry, EntryKind};

    fn status(packages: &[(&str, &str)]) -> LayerExtract {
        let text: String = packages
            .iter()
            .map(|(n, v)| format!("Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n\n"))
            .collect();
        LayerExtract {
            entries: vec![Entry { path: DPKG_STATUS.into(), kind: EntryKind::File(text.into_bytes()) }],
            ..LayerExtract::default()
        }
    }

    fn layer(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    #[test]
    fn packages_keep_the_layer_that_introduced_their_version() {
        let mut builder = InventoryBuilder::new();
        builder.add_layer(layer(0), status(&[("a", "1"), ("b", "1")])).unwrap();
        // A layer that does not touch the database changes nothing.
        builder
            .add_layer(
                layer(1),
                LayerExtract {
                    entries: vec![Entry {
                        path: "etc/debian_version".into(),
                        kind: EntryKind::File(b"12.5\n".to_vec()),
                    }],
                    ..LayerExtract::default()
                },
            )
            .unwrap();
        builder.add_layer(layer(2), status(&[("a", "1"), ("b", "2"), ("c", "1")])).unwrap();
        let inventory = builder.finish().unwrap();
        let got: Vec<(&str, &str, Digest)> = inventory
            .packages
            .iter()
            .map(|p| (p.package.name.as_str(), p.package.version.as_str(), p.layer.clone()))
            .collect();
        assert_eq!(got, vec![("a", "1", layer(0)), ("b", "2", layer(2)), ("c", "1", layer(2))]);
        assert_eq!(inventory.os.as_ref().map(|o| o.distro.as_str()), Some("debian"));
        assert!(inventory.packages.iter().all(|p| p.package.ecosystem == Ecosystem::Dpkg));
    }

    #[test]
    fn package_database_paths() {
        for (path, expected) in [
            ("var/lib/dpkg/status", true),
            ("var/lib/dpkg/status.d/base-files", true),
            ("lib/apk/db/installed", true),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite-wal", true),
            ("var/lib/rpm/Packages", true),
            ("etc/os-release", false),
            ("var/lib/rpmstate", false),
        ] {
            assert_eq!(is_package_db(path), expected, "{path}");
        }
    }
}
