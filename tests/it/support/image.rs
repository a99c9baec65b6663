//! Test images built in code: tar layers (with whiteouts, links, any compression), configs,
//! manifests and indexes, written as an OCI layout, an oci-archive, a legacy docker-archive,
//! or pushed to the test registry. Also a minimal rpm header writer for rpmdb.sqlite fixtures.

use std::io::Write;
use std::path::Path;

use cascade::images::digest::Digest;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// A layer tar under construction.
pub struct LayerBuilder {
    tar: tar::Builder<Vec<u8>>,
}

impl Default for LayerBuilder {
    fn default() -> Self {
        LayerBuilder::new()
    }
}

impl LayerBuilder {
    pub fn new() -> LayerBuilder {
        let mut tar = tar::Builder::new(Vec::new());
        tar.mode(tar::HeaderMode::Deterministic);
        LayerBuilder { tar }
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
        h.set_mtime(1_700_000_000);
        h
    }

    pub fn file(mut self, path: &str, content: &[u8]) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, content.len() as u64);
        self.tar.append_data(&mut h, path, content).expect("append file");
        self
    }

    pub fn dir(mut self, path: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, 0);
        self.tar.append_data(&mut h, format!("{path}/"), std::io::empty()).expect("append dir");
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0);
        self.tar.append_link(&mut h, path, target).expect("append symlink");
        self
    }

    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Link, 0);
        self.tar.append_link(&mut h, path, target).expect("append hardlink");
        self
    }

    /// `.wh.<name>` next to `path`: deletes `path` from lower layers.
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, name) = path.rsplit_once('/').map_or(("", path), |(d, n)| (d, n));
        let marker = if dir.is_empty() { format!(".wh.{name}") } else { format!("{dir}/.wh.{name}") };
        self.file(&marker, b"")
    }

    /// `.wh..wh..opq` in `dir`: hides everything lower layers put below it.
    pub fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{dir}/.wh..wh..opq"), b"")
    }

    pub fn tar(self) -> Vec<u8> {
        self.tar.into_inner().expect("finish tar")
    }

    pub fn build(self, compression: Compression) -> Layer {
        Layer::from_tar(self.tar(), compression)
    }
}

/// A finished layer blob.
#[derive(Clone)]
pub struct Layer {
    pub blob: Vec<u8>,
    pub diff_id: Digest,
    pub media_type: &'static str,
}

impl Layer {
    pub fn from_tar(tar: Vec<u8>, compression: Compression) -> Layer {
        let diff_id = Digest::sha256_of(&tar);
        let (blob, media_type) = match compression {
            Compression::None => (tar, "application/vnd.oci.image.layer.v1.tar"),
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&tar).expect("gzip");
                (e.finish().expect("gzip"), "application/vnd.oci.image.layer.v1.tar+gzip")
            }
            Compression::Zstd => {
                (zstd::stream::encode_all(&tar[..], 3).expect("zstd"), "application/vnd.oci.image.layer.v1.tar+zstd")
            }
        };
        Layer { blob, diff_id, media_type }
    }

    /// A layer whose bytes are given as is (for hostile blobs); diff_id is a placeholder.
    pub fn raw(blob: Vec<u8>, media_type: &'static str) -> Layer {
        let diff_id = Digest::sha256_of(&blob);
        Layer { blob, diff_id, media_type }
    }

    pub fn digest(&self) -> Digest {
        Digest::sha256_of(&self.blob)
    }
}

/// One platform's image: layers plus config.
#[derive(Clone)]
pub struct TestImage {
    pub layers: Vec<Layer>,
    pub os: &'static str,
    pub architecture: &'static str,
    pub variant: Option<&'static str>,
}

impl TestImage {
    pub fn new(layers: Vec<Layer>) -> TestImage {
        TestImage { layers, os: "linux", architecture: "amd64", variant: None }
    }

    pub fn platform(mut self, architecture: &'static str, variant: Option<&'static str>) -> TestImage {
        self.architecture = architecture;
        self.variant = variant;
        self
    }

    pub fn config(&self) -> Vec<u8> {
        let mut config = json!({
            "architecture": self.architecture,
            "os": self.os,
            "config": { "Env": ["PATH=/usr/bin:/bin"] },
            "rootfs": { "type": "layers", "diff_ids": self.layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>() },
        });
        if let Some(v) = self.variant {
            config["variant"] = json!(v);
        }
        serde_json::to_vec(&config).expect("config json")
    }

    pub fn manifest(&self) -> Vec<u8> {
        let config = self.config();
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": Digest::sha256_of(&config).to_string(),
                "size": config.len(),
            },
            "layers": self.layers.iter().map(|l| json!({
                "mediaType": l.media_type,
                "digest": l.digest().to_string(),
                "size": l.blob.len(),
            })).collect::<Vec<_>>(),
        }))
        .expect("manifest json")
    }

    pub fn platform_json(&self) -> serde_json::Value {
        let mut p = json!({ "architecture": self.architecture, "os": self.os });
        if let Some(v) = self.variant {
            p["variant"] = json!(v);
        }
        p
    }
}

/// A BuildKit-style attestation manifest (its config is the empty JSON object `{}`).
pub fn attestation_manifest() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": Digest::sha256_of(ATTESTATION_CONFIG).to_string(),
            "size": ATTESTATION_CONFIG.len(),
        },
        "layers": [],
    }))
    .expect("attestation json")
}

pub const ATTESTATION_CONFIG: &[u8] = b"{}";

/// An index over several platform images, plus an attestation entry (pointing at
/// [`attestation_manifest`]) that must be ignored.
pub fn index(images: &[TestImage]) -> Vec<u8> {
    let mut manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|img| {
            let m = img.manifest();
            json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": Digest::sha256_of(&m).to_string(),
                "size": m.len(),
                "platform": img.platform_json(),
            })
        })
        .collect();
    let attestation = attestation_manifest();
    manifests.push(json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": Digest::sha256_of(&attestation).to_string(),
        "size": attestation.len(),
        "platform": { "architecture": "unknown", "os": "unknown" },
        "annotations": { "vnd.docker.reference.type": "attestation-manifest" },
    }));
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
    .expect("index json")
}

fn write_blob(dir: &Path, bytes: &[u8]) {
    let d = Digest::sha256_of(bytes);
    let path = dir.join("blobs").join(d.algorithm()).join(d.encoded());
    std::fs::create_dir_all(path.parent().expect("blob dir")).expect("mkdir blobs");
    std::fs::write(path, bytes).expect("write blob");
}

/// Writes an OCI image layout at `dir` whose index.json names one image (tagged `tag`).
pub fn write_oci_dir(dir: &Path, image: &TestImage, tag: &str) {
    std::fs::create_dir_all(dir).expect("mkdir layout");
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
    for layer in &image.layers {
        write_blob(dir, &layer.blob);
    }
    write_blob(dir, &image.config());
    let manifest = image.manifest();
    write_blob(dir, &manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": Digest::sha256_of(&manifest).to_string(),
            "size": manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": tag },
        }],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).expect("index")).expect("index.json");
}

/// Tars a directory tree (an OCI layout) into `out`.
pub fn tar_dir(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(out).expect("create archive"));
    b.append_dir_all(".", dir).expect("tar layout");
    b.finish().expect("finish archive");
}

/// Writes a legacy `docker save` archive: manifest.json, <id>.json config, <id>/layer.tar.
/// Layers must be uncompressed.
pub fn write_docker_archive(out: &Path, image: &TestImage, repo_tag: &str) {
    let mut b = tar::Builder::new(std::fs::File::create(out).expect("create archive"));
    let mut add = |name: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, bytes).expect("append member");
    };
    let config = image.config();
    let config_name = format!("{}.json", Digest::sha256_of(&config).encoded());
    add(&config_name, &config);
    let mut layer_names = Vec::new();
    for layer in &image.layers {
        assert_eq!(layer.diff_id, layer.digest(), "legacy docker archives hold uncompressed layers");
        let name = format!("{}/layer.tar", layer.diff_id.encoded());
        add(&name, &layer.blob);
        layer_names.push(name);
    }
    let manifest = json!([{ "Config": config_name, "RepoTags": [repo_tag], "Layers": layer_names }]);
    add("manifest.json", &serde_json::to_vec(&manifest).expect("manifest"));
    b.finish().expect("finish archive");
}

/// A dpkg status paragraph for an installed package.
pub fn dpkg_paragraph(name: &str, version: &str, arch: &str, source: Option<&str>) -> String {
    let mut p = format!(
        "Package: {name}\nStatus: install ok installed\nPriority: optional\nArchitecture: {arch}\nVersion: {version}\n"
    );
    if let Some(s) = source {
        p.push_str(&format!("Source: {s}\n"));
    }
    p.push_str("Description: test package\n test package long description\n\n");
    p
}

/// An apk installed-db paragraph.
pub fn apk_paragraph(name: &str, version: &str, arch: &str, origin: &str) -> String {
    format!("C:Q1abc=\nP:{name}\nV:{version}\nA:{arch}\nS:1000\nI:2000\nT:test\nU:https://example.org\nL:MIT\no:{origin}\nm:Tester <t@example.org>\nt:1700000000\nc:abcdef\n\n")
}

pub const DEBIAN_OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";
pub const ALPINE_OS_RELEASE: &str =
    "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n";
pub const UBI_OS_RELEASE: &str = "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n";

/// One rpm header's worth of fields for an rpmdb.sqlite fixture.
pub struct RpmHeader<'a> {
    pub name: &'a str,
    pub epoch: Option<u32>,
    pub version: &'a str,
    pub release: &'a str,
    pub arch: &'a str,
    pub source_rpm: Option<&'a str>,
    pub modularity_label: Option<&'a str>,
}

/// Encodes a header blob as rpm stores it in rpmdb.sqlite (no lead, big-endian index).
pub fn rpm_header_blob(h: &RpmHeader) -> Vec<u8> {
    const STRING: u32 = 6;
    const INT32: u32 = 4;
    let mut entries: Vec<(u32, u32, Vec<u8>)> = Vec::new();
    let mut string = |tag: u32, s: &str| {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        entries.push((tag, STRING, v));
    };
    string(1000, h.name);
    string(1001, h.version);
    string(1002, h.release);
    string(1022, h.arch);
    if let Some(s) = h.source_rpm {
        string(1044, s);
    }
    if let Some(m) = h.modularity_label {
        string(5096, m);
    }
    if let Some(e) = h.epoch {
        entries.push((1003, INT32, e.to_be_bytes().to_vec()));
    }
    entries.sort_by_key(|e| e.0);
    let mut index = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for (tag, kind, bytes) in &entries {
        if *kind == INT32 {
            while data.len() % 4 != 0 {
                data.push(0);
            }
        }
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&kind.to_be_bytes());
        index.extend_from_slice(&(data.len() as u32).to_be_bytes());
        index.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(bytes);
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&data);
    blob
}

/// Bytes of an rpmdb.sqlite holding `headers` (rpm's schema for the Packages table).
pub fn rpmdb_sqlite(headers: &[RpmHeader]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rpmdb.sqlite");
    let conn = rusqlite::Connection::open(&path).expect("open rpmdb");
    conn.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);")
        .expect("schema");
    for h in headers {
        conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [rpm_header_blob(h)]).expect("insert");
    }
    drop(conn);
    std::fs::read(&path).expect("read rpmdb")
}
