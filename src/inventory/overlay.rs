//! The image's final view of the kept files: applies layer extracts bottom-up with OCI whiteout
//! semantics, resolves hard links when a layer is applied and symlinks when a path is read.
//! Owns the merged tree; must not read layer blobs, parse file contents or do any IO.
//!
//! Paths are keys of one `BTreeMap`, exactly as the layers wrote them (never through a lower
//! layer's symlink); a path with no node below the root is an implicit directory when
//! something lives beneath it. Content is stored once, shared by hard links.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use crate::layers::{is_wanted_file, Entry, EntryKind, LayerExtract, WANTED_DIRS, WANTED_FILES};

/// Symlinks followed while resolving one path, as Linux allows (`MAXSYMLINKS`).
pub const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("symlink loop (or a chain over {MAX_SYMLINK_HOPS} links) resolving {path}")]
    SymlinkLoop { path: String },
    #[error("layer {layer} extract has a malformed path {path:?}")]
    BadPath { layer: usize, path: String },
}

/// A regular file of the image's final filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    content: Arc<Vec<u8>>,
    /// Index of the layer that last wrote the file at `path` (for a hard link: the link).
    pub layer: usize,
    /// Where the file is once symlinks are resolved (`usr/lib/os-release` for `etc/os-release`).
    pub path: String,
}

impl FileRef {
    pub fn content(&self) -> &[u8] {
        &self.content
    }
}

#[derive(Debug, Clone)]
enum Node {
    Dir,
    /// `Arc<Vec<u8>>` rather than `Arc<[u8]>`: moving the extract's `Vec` in copies nothing.
    File {
        content: Arc<Vec<u8>>,
        layer: usize,
    },
    Symlink {
        target: String,
    },
    /// A hard link whose target was not a kept file when its layer was applied.
    Dangling,
}

/// The merged view of the kept files of an image's layers.
#[derive(Debug, Default)]
pub struct FileView {
    nodes: BTreeMap<String, Node>,
    /// What each wanted path resolved to after the last `apply`, to report what changed.
    seen: BTreeMap<String, Arc<Vec<u8>>>,
}

impl FileView {
    pub fn new() -> FileView {
        FileView::default()
    }

    /// Applies one layer on top of the view: opaque markers first, then whiteouts (both act on
    /// lower layers only, wherever they sit in the tar), then the entries in tar order.
    ///
    /// Returns the wanted file paths (sorted) whose content, as [`FileView::read`] resolves
    /// it, appeared, changed or disappeared, so the caller re-parses only those.
    pub fn apply(&mut self, layer: usize, extract: LayerExtract) -> Result<Vec<String>, OverlayError> {
        for entry in &extract.entries {
            check_paths(layer, entry)?;
        }
        for entry in extract.entries.iter().filter(|e| e.kind == EntryKind::Opaque) {
            self.remove_below(&entry.path);
            // The marker sits inside `path`, so `path` is a directory in this layer: a lower
            // symlink or file there is replaced, and never followed.
            let is_dir = matches!(self.nodes.get(&entry.path), None | Some(Node::Dir));
            if !entry.path.is_empty() && !is_dir {
                self.nodes.insert(entry.path.clone(), Node::Dir);
            }
        }
        for entry in extract.entries.iter().filter(|e| e.kind == EntryKind::Whiteout) {
            self.remove_below(&entry.path);
            self.nodes.remove(&entry.path);
        }
        for Entry { path, kind } in extract.entries {
            let node = match kind {
                EntryKind::File(content) => Node::File { content: Arc::new(content), layer },
                EntryKind::Dir => Node::Dir,
                EntryKind::Symlink(target) => Node::Symlink { target },
                EntryKind::Hardlink(target) => self.link(layer, &path, &target),
                EntryKind::Whiteout | EntryKind::Opaque => continue,
            };
            self.put(path, node);
        }
        Ok(self.changes())
    }

    /// The regular file at `path` (relative to the root; a leading `/` is ignored), following
    /// symlinks in every component. `Ok(None)` when there is no such file.
    pub fn read(&self, path: &str) -> Result<Option<FileRef>, OverlayError> {
        let Some(real) = self.resolve(path, true)? else {
            return Ok(None);
        };
        Ok(match self.nodes.get(&real) {
            Some(Node::File { content, layer }) => {
                Some(FileRef { content: Arc::clone(content), layer: *layer, path: real })
            }
            _ => None,
        })
    }

    /// Names (sorted) of the regular files directly inside `dir`, with `dir` and the files
    /// resolved through symlinks. Empty when `dir` is missing or not a directory.
    pub fn list_dir(&self, dir: &str) -> Result<Vec<String>, OverlayError> {
        let Some(real) = self.resolve(dir, true)? else {
            return Ok(Vec::new());
        };
        if !matches!(self.nodes.get(&real), None | Some(Node::Dir)) {
            return Ok(Vec::new());
        }
        let prefix = if real.is_empty() { String::new() } else { format!("{real}/") };
        let mut names = Vec::new();
        for (key, _) in self.nodes.range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded)) {
            let Some(name) = key.strip_prefix(&prefix) else {
                break;
            };
            if !name.contains('/') && self.read(key)?.is_some() {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    /// Places `node` at `path` as extracting a tar entry over an existing path does: a
    /// directory over a directory keeps its children, anything else replaces the whole subtree.
    fn put(&mut self, path: String, node: Node) {
        let merges = matches!(node, Node::Dir) && matches!(self.nodes.get(&path), None | Some(Node::Dir));
        if !merges {
            self.remove_below(&path);
        }
        self.nodes.insert(path, node);
    }

    fn remove_below(&mut self, path: &str) {
        if path.is_empty() {
            self.nodes.clear();
            return;
        }
        let prefix = format!("{path}/");
        let doomed: Vec<String> = self
            .nodes
            .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(&prefix))
            .cloned()
            .collect();
        for key in doomed {
            self.nodes.remove(&key);
        }
    }

    /// The node a hard link at `path` becomes: a copy of what `target` is now (a link to a
    /// symlink is that symlink, resolved later from the link's own directory).
    fn link(&self, layer: usize, path: &str, target: &str) -> Node {
        // link(2) resolves the target's directories but not its last component.
        let found = match self.resolve(target, false) {
            Ok(Some(real)) => self.nodes.get(&real),
            Ok(None) | Err(_) => None,
        };
        match found {
            Some(Node::File { content, .. }) => Node::File { content: Arc::clone(content), layer },
            Some(Node::Symlink { target }) => Node::Symlink { target: target.clone() },
            _ => {
                tracing::warn!(
                    layer,
                    path,
                    target,
                    "hard link target is not among the kept files; the linked file is treated as missing"
                );
                Node::Dangling
            }
        }
    }

    /// The real path `path` names: symlinks followed in every directory component, and in the
    /// last one when `follow_last`. Absolute targets restart at the root, relative ones at the
    /// link's directory, and `..` stops at the root. `Ok(None)` when a directory component is
    /// a file (the path cannot exist).
    fn resolve(&self, path: &str, follow_last: bool) -> Result<Option<String>, OverlayError> {
        // Components still to walk, last one first.
        let mut pending: Vec<&str> = path.split('/').rev().collect();
        let mut real = String::with_capacity(path.len());
        let mut hops = 0;
        while let Some(component) = pending.pop() {
            match component {
                "" | "." => continue,
                ".." => {
                    real.truncate(real.rfind('/').unwrap_or(0));
                    continue;
                }
                _ => {}
            }
            let parent_len = real.len();
            if !real.is_empty() {
                real.push('/');
            }
            real.push_str(component);
            let is_last = pending.iter().all(|c| c.is_empty() || *c == ".");
            match self.nodes.get(&real) {
                Some(Node::Symlink { target }) if follow_last || !is_last => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(OverlayError::SymlinkLoop { path: path.to_string() });
                    }
                    if target.is_empty() {
                        return Ok(None);
                    }
                    if target.starts_with('/') {
                        real.clear();
                    } else {
                        real.truncate(parent_len);
                    }
                    pending.extend(target.split('/').rev());
                }
                Some(Node::File { .. } | Node::Dangling) if !is_last => return Ok(None),
                _ => {}
            }
        }
        Ok(Some(real))
    }

    /// Re-resolves every wanted path (the fixed list, the current children of the wanted
    /// directories, and whatever was seen before) and reports those whose content differs.
    fn changes(&mut self) -> Vec<String> {
        let mut paths: BTreeSet<String> = WANTED_FILES.iter().map(|p| p.to_string()).collect();
        paths.extend(self.seen.keys().cloned());
        for dir in WANTED_DIRS {
            // A loop here is reported when the caller reads the directory.
            for name in self.list_dir(dir).unwrap_or_default() {
                let path = format!("{dir}/{name}");
                if is_wanted_file(&path) {
                    paths.insert(path);
                }
            }
        }
        let mut changed = Vec::new();
        let mut seen = BTreeMap::new();
        for path in paths {
            // A loop reads as missing here; `read` reports it to the caller.
            let now = self.read(&path).ok().flatten().map(|file| file.content);
            let same = match (self.seen.get(&path), &now) {
                (None, None) => true,
                (Some(before), Some(now)) => Arc::ptr_eq(before, now) || before == now,
                _ => false,
            };
            if !same {
                changed.push(path.clone());
            }
            if let Some(content) = now {
                seen.insert(path, content);
            }
        }
        self.seen = seen;
        changed
    }
}

/// Extracts come from the reader or the layer cache; refuse paths the reader would not make.
fn check_paths(layer: usize, entry: &Entry) -> Result<(), OverlayError> {
    let bad = |path: &str| OverlayError::BadPath { layer, path: path.to_string() };
    let root_ok = entry.kind == EntryKind::Opaque;
    if !is_normalised(&entry.path, root_ok) {
        return Err(bad(&entry.path));
    }
    if let EntryKind::Hardlink(target) = &entry.kind {
        if !is_normalised(target, true) {
            return Err(bad(target));
        }
    }
    Ok(())
}

fn is_normalised(path: &str, root_ok: bool) -> bool {
    if path.is_empty() {
        return root_ok;
    }
    path.split('/').all(|c| !matches!(c, "" | "." | ".."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::fixtures::{gzip, tar, zstd, Item};
    use crate::layers::{read_layer, LayerLimits};

    /// One layer of a scenario and what the view shows once it is applied.
    struct Step<'a> {
        items: Vec<Item<'a>>,
        changed: &'a [&'a str],
        /// `(path, Some((content, layer)))` for a file, `None` for no file.
        reads: &'a [(&'a str, Option<(&'a str, usize)>)],
        dirs: &'a [(&'a str, &'a [&'a str])],
    }

    /// Builds each step's layer as a tar, runs it through the reader and applies it.
    fn run(name: &str, steps: &[Step<'_>]) -> FileView {
        let mut view = FileView::new();
        for (layer, step) in steps.iter().enumerate() {
            let plain = tar(&step.items);
            let blob = if layer % 2 == 0 { gzip(&plain) } else { zstd(&plain) };
            let extract =
                read_layer(&blob[..], &LayerLimits::default()).unwrap_or_else(|e| panic!("{name}: layer {layer}: {e}"));
            let changed = view.apply(layer, extract).unwrap_or_else(|e| panic!("{name}: layer {layer}: {e}"));
            assert_eq!(changed, step.changed, "{name}: layer {layer}: changed paths");
            for (path, expected) in step.reads {
                let got = view
                    .read(path)
                    .unwrap_or_else(|e| panic!("{name}: layer {layer}: read {path}: {e}"))
                    .map(|f| (String::from_utf8_lossy(f.content()).into_owned(), f.layer));
                let expected = expected.map(|(content, layer)| (content.to_string(), layer));
                assert_eq!(got, expected, "{name}: layer {layer}: read {path}");
            }
            for (dir, names) in step.dirs {
                let got = view.list_dir(dir).unwrap_or_else(|e| panic!("{name}: layer {layer}: list {dir}: {e}"));
                assert_eq!(got, *names, "{name}: layer {layer}: list {dir}");
            }
        }
        view
    }

    const STATUS_D: &str = "var/lib/dpkg/status.d";

    fn dpkg_base<'a>() -> Vec<Item<'a>> {
        vec![
            Item::Dir("var/"),
            Item::Dir("var/lib/"),
            Item::Dir("var/lib/dpkg/"),
            Item::Dir("var/lib/dpkg/status.d/"),
            Item::File("var/lib/dpkg/status.d/a", b"Package: a\n"),
            Item::File("var/lib/dpkg/status.d/a.md5sums", b"x  usr/bin/a\n"),
            Item::File("var/lib/dpkg/status.d/b", b"Package: b\n"),
        ]
    }

    #[test]
    fn whiteout_deletes_lower_file() {
        run(
            "whiteout",
            &[
                Step {
                    items: vec![Item::File("etc/os-release", b"ID=a"), Item::File("usr/lib/os-release", b"ID=b")],
                    changed: &["etc/os-release", "usr/lib/os-release"],
                    reads: &[("etc/os-release", Some(("ID=a", 0))), ("/usr/lib/os-release", Some(("ID=b", 0)))],
                    dirs: &[("etc", &["os-release"])],
                },
                Step {
                    items: vec![Item::Dir("etc/"), Item::File("etc/.wh.os-release", b"")],
                    changed: &["etc/os-release"],
                    reads: &[("etc/os-release", None), ("usr/lib/os-release", Some(("ID=b", 0)))],
                    dirs: &[("etc", &[])],
                },
                // A whiteout applies to lower layers only: the same layer may recreate the file.
                Step {
                    items: vec![Item::File("etc/os-release", b"ID=c"), Item::File("etc/.wh.os-release", b"")],
                    changed: &["etc/os-release"],
                    reads: &[("etc/os-release", Some(("ID=c", 2)))],
                    dirs: &[],
                },
            ],
        );
    }

    #[test]
    fn opaque_whiteout_before_or_after_siblings() {
        for (name, marker_first) in [("opaque before siblings", true), ("opaque after siblings", false)] {
            let mut top = vec![Item::Dir("var/lib/dpkg/status.d/")];
            let marker = Item::File("var/lib/dpkg/status.d/.wh..wh..opq", b"");
            let sibling = Item::File("var/lib/dpkg/status.d/c", b"Package: c\n");
            if marker_first {
                top.extend([marker, sibling]);
            } else {
                top.extend([sibling, marker]);
            }
            run(
                name,
                &[
                    Step {
                        items: dpkg_base(),
                        changed: &["var/lib/dpkg/status.d/a", "var/lib/dpkg/status.d/b"],
                        reads: &[("var/lib/dpkg/status.d/a.md5sums", None)],
                        dirs: &[(STATUS_D, &["a", "b"])],
                    },
                    Step {
                        items: top,
                        changed: &["var/lib/dpkg/status.d/a", "var/lib/dpkg/status.d/b", "var/lib/dpkg/status.d/c"],
                        reads: &[
                            ("var/lib/dpkg/status.d/a", None),
                            ("var/lib/dpkg/status.d/c", Some(("Package: c\n", 1))),
                        ],
                        dirs: &[(STATUS_D, &["c"])],
                    },
                ],
            );
        }
    }

    #[test]
    fn bare_whiteout_prefix_deletes_nothing() {
        run(
            "bare .wh.",
            &[
                Step {
                    items: vec![Item::File("etc/os-release", b"ID=a"), Item::File("var/lib/dpkg/status", b"P")],
                    changed: &["etc/os-release", "var/lib/dpkg/status"],
                    reads: &[],
                    dirs: &[],
                },
                Step {
                    items: vec![
                        Item::File("etc/.wh.", b""),
                        Item::File(".wh.", b""),
                        Item::File("var/lib/dpkg/.wh.", b""),
                    ],
                    changed: &[],
                    reads: &[("etc/os-release", Some(("ID=a", 0))), ("var/lib/dpkg/status", Some(("P", 0)))],
                    dirs: &[],
                },
            ],
        );
    }

    #[test]
    fn opaque_whiteout_acts_on_the_real_path_not_a_lower_symlink() {
        for with_dir_entry in [true, false] {
            let mut top = Vec::new();
            if with_dir_entry {
                top.push(Item::Dir("var/lib/rpm/"));
            }
            top.push(Item::File("var/lib/rpm/.wh..wh..opq", b""));
            top.push(Item::File("var/lib/rpm/rpmdb.sqlite", b"sqlite"));
            run(
                "opaque through a lower symlink",
                &[
                    Step {
                        items: vec![
                            Item::Dir("usr/lib/sysimage/rpm/"),
                            Item::File("usr/lib/sysimage/rpm/Packages", b"bdb"),
                            Item::Symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm"),
                        ],
                        changed: &["usr/lib/sysimage/rpm/Packages", "var/lib/rpm/Packages"],
                        reads: &[("var/lib/rpm/Packages", Some(("bdb", 0)))],
                        dirs: &[("var/lib/rpm", &["Packages"])],
                    },
                    Step {
                        items: top,
                        changed: &["var/lib/rpm/Packages", "var/lib/rpm/rpmdb.sqlite"],
                        reads: &[
                            ("usr/lib/sysimage/rpm/Packages", Some(("bdb", 0))),
                            ("var/lib/rpm/Packages", None),
                            ("var/lib/rpm/rpmdb.sqlite", Some(("sqlite", 1))),
                        ],
                        dirs: &[("var/lib/rpm", &["rpmdb.sqlite"]), ("usr/lib/sysimage/rpm", &["Packages"])],
                    },
                ],
            );
        }
    }

    #[test]
    fn hardlinked_os_release_behind_a_symlink() {
        let view = run(
            "hardlink behind symlink",
            &[
                Step {
                    items: vec![
                        Item::File("etc/redhat-release", b"Red Hat Enterprise Linux release 9.4"),
                        Item::Hardlink("usr/lib/os-release", "etc/redhat-release"),
                        Item::Symlink("etc/os-release", "../usr/lib/os-release"),
                    ],
                    changed: &["etc/os-release", "etc/redhat-release", "usr/lib/os-release"],
                    reads: &[
                        ("etc/os-release", Some(("Red Hat Enterprise Linux release 9.4", 0))),
                        ("usr/lib/os-release", Some(("Red Hat Enterprise Linux release 9.4", 0))),
                    ],
                    dirs: &[],
                },
                // A hard link copies the file as it is when linked; a later rewrite of the
                // target does not show through it (and a cross-layer link works).
                Step {
                    items: vec![
                        Item::File("etc/redhat-release", b"release 9.5"),
                        Item::Hardlink("etc/system-release", "usr/lib/os-release"),
                    ],
                    changed: &["etc/redhat-release", "etc/system-release"],
                    reads: &[
                        ("etc/os-release", Some(("Red Hat Enterprise Linux release 9.4", 0))),
                        ("etc/system-release", Some(("Red Hat Enterprise Linux release 9.4", 1))),
                    ],
                    dirs: &[],
                },
            ],
        );
        let file = view.read("etc/os-release").ok().flatten().map(|f| f.path);
        assert_eq!(file.as_deref(), Some("usr/lib/os-release"));
    }

    #[test]
    fn hardlink_to_an_unkept_file_is_missing_not_an_error() {
        // OSTree layout: the content lives in the object store, which is not kept.
        run(
            "dangling hardlink",
            &[Step {
                items: vec![
                    Item::File("sysroot/ostree/repo/objects/ab/cdef.file", b"ID=fedora"),
                    Item::Hardlink("usr/lib/os-release", "sysroot/ostree/repo/objects/ab/cdef.file"),
                    Item::Symlink("etc/os-release", "../usr/lib/os-release"),
                    Item::Hardlink("etc/redhat-release", "etc/missing"),
                ],
                changed: &[],
                reads: &[("etc/os-release", None), ("usr/lib/os-release", None), ("etc/redhat-release", None)],
                dirs: &[("etc", &[])],
            }],
        );
    }

    #[test]
    fn hardlink_to_a_symlink_resolves_from_the_link() {
        // A hard link to a symlink is that symlink at the link's path: a relative target
        // resolves against the directory the link was reached by.
        run(
            "hardlink to symlink",
            &[Step {
                items: vec![
                    Item::File("etc/lsb-release", b"DISTRIB_ID=x"),
                    Item::Symlink("etc/os-release", "lsb-release"),
                    Item::Hardlink("usr/lib/os-release", "etc/os-release"),
                    Item::File("usr/lib/sysimage/rpm/rpmdb.sqlite-wal", b"wal-A"),
                    Item::Symlink("usr/lib/sysimage/rpm/rpmdb.sqlite", "rpmdb.sqlite-wal"),
                    Item::File("var/lib/rpm/rpmdb.sqlite-wal", b"wal-B"),
                    Item::Hardlink("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"),
                ],
                changed: &[
                    "etc/lsb-release",
                    "etc/os-release",
                    "usr/lib/sysimage/rpm/rpmdb.sqlite",
                    "usr/lib/sysimage/rpm/rpmdb.sqlite-wal",
                    "var/lib/rpm/rpmdb.sqlite",
                    "var/lib/rpm/rpmdb.sqlite-wal",
                ],
                reads: &[
                    ("etc/os-release", Some(("DISTRIB_ID=x", 0))),
                    ("usr/lib/os-release", None),
                    ("usr/lib/sysimage/rpm/rpmdb.sqlite", Some(("wal-A", 0))),
                    ("var/lib/rpm/rpmdb.sqlite", Some(("wal-B", 0))),
                ],
                dirs: &[],
            }],
        );
    }

    #[test]
    fn database_removed_in_the_top_layer() {
        let mut base = dpkg_base();
        base.push(Item::File("var/lib/dpkg/status", b"Package: s\n"));
        base.push(Item::File("var/lib/rpm/rpmdb.sqlite", b"db"));
        run(
            "db removed",
            &[
                Step {
                    items: base,
                    changed: &[
                        "var/lib/dpkg/status",
                        "var/lib/dpkg/status.d/a",
                        "var/lib/dpkg/status.d/b",
                        "var/lib/rpm/rpmdb.sqlite",
                    ],
                    reads: &[],
                    dirs: &[],
                },
                Step {
                    items: vec![Item::File("var/lib/.wh.dpkg", b""), Item::File("var/lib/rpm/.wh.rpmdb.sqlite", b"")],
                    changed: &[
                        "var/lib/dpkg/status",
                        "var/lib/dpkg/status.d/a",
                        "var/lib/dpkg/status.d/b",
                        "var/lib/rpm/rpmdb.sqlite",
                    ],
                    reads: &[("var/lib/dpkg/status", None), ("var/lib/rpm/rpmdb.sqlite", None)],
                    dirs: &[(STATUS_D, &[]), ("var/lib/rpm", &[])],
                },
            ],
        );
    }

    #[test]
    fn file_replaced_by_a_symlink_and_back() {
        run(
            "file -> symlink -> file",
            &[
                Step {
                    items: vec![Item::File("etc/os-release", b"A"), Item::File("usr/lib/os-release", b"B")],
                    changed: &["etc/os-release", "usr/lib/os-release"],
                    reads: &[("etc/os-release", Some(("A", 0)))],
                    dirs: &[],
                },
                Step {
                    items: vec![Item::Symlink("etc/os-release", "../usr/lib/os-release")],
                    changed: &["etc/os-release"],
                    reads: &[("etc/os-release", Some(("B", 0)))],
                    dirs: &[],
                },
                // Changing the symlink's target changes what the symlink reads.
                Step {
                    items: vec![Item::File("usr/lib/os-release", b"B2")],
                    changed: &["etc/os-release", "usr/lib/os-release"],
                    reads: &[("etc/os-release", Some(("B2", 2)))],
                    dirs: &[],
                },
                Step {
                    items: vec![Item::File("etc/os-release", b"C")],
                    changed: &["etc/os-release"],
                    reads: &[("etc/os-release", Some(("C", 3))), ("usr/lib/os-release", Some(("B2", 2)))],
                    dirs: &[],
                },
                // Rewriting identical content is not a change.
                Step {
                    items: vec![Item::File("etc/os-release", b"C")],
                    changed: &[],
                    reads: &[("etc/os-release", Some(("C", 4)))],
                    dirs: &[],
                },
            ],
        );
    }

    #[test]
    fn rpm_database_through_a_directory_symlink() {
        for target in ["../../usr/lib/sysimage/rpm", "/usr/lib/sysimage/rpm", "../../../../../usr/lib/sysimage/./rpm/"]
        {
            run(
                "var/lib/rpm symlink",
                &[Step {
                    items: vec![
                        Item::Dir("usr/lib/sysimage/rpm/"),
                        Item::File("usr/lib/sysimage/rpm/rpmdb.sqlite", b"sqlite"),
                        Item::File("usr/lib/sysimage/rpm/rpmdb.sqlite-wal", b"wal"),
                        Item::Dir("var/lib/"),
                        Item::Symlink("var/lib/rpm", target),
                    ],
                    changed: &[
                        "usr/lib/sysimage/rpm/rpmdb.sqlite",
                        "usr/lib/sysimage/rpm/rpmdb.sqlite-wal",
                        "var/lib/rpm/rpmdb.sqlite",
                        "var/lib/rpm/rpmdb.sqlite-wal",
                    ],
                    reads: &[("var/lib/rpm/rpmdb.sqlite", Some(("sqlite", 0))), ("var/lib/rpm/Packages", None)],
                    dirs: &[("var/lib/rpm", &["rpmdb.sqlite", "rpmdb.sqlite-wal"])],
                }],
            );
        }
    }

    #[test]
    fn non_directory_replaces_a_whole_subtree() {
        run(
            "dir replaced",
            &[
                Step {
                    items: dpkg_base(),
                    changed: &["var/lib/dpkg/status.d/a", "var/lib/dpkg/status.d/b"],
                    reads: &[],
                    dirs: &[],
                },
                Step {
                    items: vec![Item::Symlink("var/lib/dpkg/status.d", "/nowhere")],
                    changed: &["var/lib/dpkg/status.d/a", "var/lib/dpkg/status.d/b"],
                    reads: &[],
                    dirs: &[(STATUS_D, &[])],
                },
                // The old children do not come back with the directory.
                Step {
                    items: vec![Item::Dir("var/lib/dpkg/status.d/")],
                    changed: &[],
                    reads: &[("var/lib/dpkg/status.d/a", None)],
                    dirs: &[(STATUS_D, &[])],
                },
                // A directory entry over an implicit directory keeps what is below it.
                Step {
                    items: vec![Item::File("var/lib/dpkg/status.d/z", b"Package: z\n")],
                    changed: &["var/lib/dpkg/status.d/z"],
                    reads: &[],
                    dirs: &[(STATUS_D, &["z"])],
                },
                Step {
                    items: vec![Item::Dir("var/lib/dpkg/status.d/"), Item::Dir("var/")],
                    changed: &[],
                    reads: &[("var/lib/dpkg/status.d/z", Some(("Package: z\n", 3)))],
                    dirs: &[],
                },
                // A fifo at a wanted path and a file at an ancestor path hide what was there.
                Step {
                    items: vec![Item::File("var/lib/dpkg", b"not a dir"), Item::Fifo("etc/os-release")],
                    changed: &["var/lib/dpkg/status.d/z"],
                    reads: &[],
                    dirs: &[(STATUS_D, &[])],
                },
            ],
        );
    }

    #[test]
    fn later_entry_in_a_layer_wins() {
        run(
            "same-layer duplicate",
            &[Step {
                items: vec![
                    Item::File("etc/os-release", b"first"),
                    Item::File("etc/os-release", b"second"),
                    Item::File("etc/alpine-release", b"3.20.0"),
                    Item::Symlink("etc/alpine-release", "os-release"),
                ],
                changed: &["etc/alpine-release", "etc/os-release"],
                reads: &[("etc/os-release", Some(("second", 0))), ("etc/alpine-release", Some(("second", 0)))],
                dirs: &[],
            }],
        );
    }

    fn extract(entries: Vec<Entry>) -> LayerExtract {
        LayerExtract { entries, n_entries: 0, n_bytes: 0 }
    }

    fn symlink(path: &str, target: &str) -> Entry {
        Entry { path: path.into(), kind: EntryKind::Symlink(target.into()) }
    }

    #[test]
    fn symlink_loops_fail_at_read_time() {
        let mut view = FileView::new();
        let layer = extract(vec![
            symlink("etc/os-release", "../usr/lib/os-release"),
            symlink("usr/lib/os-release", "/etc/os-release"),
            symlink("var/lib/dpkg/status.d", "status.d"),
            symlink("etc/lsb-release", "lsb-release/x"),
        ]);
        let changed = view.apply(0, layer).unwrap_or_else(|e| panic!("apply: {e}"));
        assert!(changed.is_empty(), "{changed:?}");
        for path in ["etc/os-release", "usr/lib/os-release", "var/lib/dpkg/status.d/a", "etc/lsb-release"] {
            match view.read(path) {
                Err(e @ OverlayError::SymlinkLoop { .. }) => {
                    assert!(e.to_string().contains(path), "{e}");
                    assert!(e.to_string().contains("40"), "{e}");
                }
                other => panic!("read {path}: expected a loop, got {other:?}"),
            }
        }
        assert!(matches!(view.list_dir(STATUS_D), Err(OverlayError::SymlinkLoop { .. })));
        // A chain of exactly 40 links resolves; 41 does not.
        for (n_links, resolves) in [(40usize, true), (41, false)] {
            let mut entries: Vec<Entry> =
                (0..n_links).map(|i| symlink(&format!("etc/l{i}"), &format!("l{}", i + 1))).collect();
            entries.push(Entry { path: format!("etc/l{n_links}"), kind: EntryKind::File(b"end".to_vec()) });
            let mut view = FileView::new();
            view.apply(0, extract(entries)).unwrap_or_else(|e| panic!("apply: {e}"));
            assert_eq!(view.read("etc/l0").is_ok(), resolves, "{n_links} links");
        }
    }

    #[test]
    fn refuses_malformed_extract_paths() {
        let file = |path: &str| Entry { path: path.into(), kind: EntryKind::File(Vec::new()) };
        let cases = vec![
            file("../etc/os-release"),
            file("/etc/os-release"),
            file("etc//os-release"),
            file("etc/os-release/"),
            file("etc/./os-release"),
            file(""),
            Entry { path: String::new(), kind: EntryKind::Whiteout },
            Entry { path: "usr/lib/os-release".into(), kind: EntryKind::Hardlink("../../etc/shadow".into()) },
        ];
        for entry in cases {
            let shown = format!("{entry:?}");
            let mut view = FileView::new();
            match view.apply(3, extract(vec![file("etc/lsb-release"), entry])) {
                Err(e @ OverlayError::BadPath { layer: 3, .. }) => assert!(e.to_string().contains("layer 3"), "{e}"),
                other => panic!("{shown}: expected BadPath, got {other:?}"),
            }
            assert_eq!(view.read("etc/lsb-release").ok().flatten(), None, "{shown}: applied partially");
        }
        // The root may only carry an opaque marker.
        let mut view = FileView::new();
        view.apply(0, extract(vec![file("etc/os-release")])).unwrap_or_else(|e| panic!("{e}"));
        let changed = view
            .apply(1, extract(vec![Entry { path: String::new(), kind: EntryKind::Opaque }]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(changed, vec!["etc/os-release".to_string()]);
    }
}
