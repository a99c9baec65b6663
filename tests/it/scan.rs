//! `cascade scan` end to end: images built here, pushed to the real registry or written as
//! OCI layouts and archives, scanned by the real binary; output checked exactly.

use std::io::Read as _;

use serde_json::Value;

use crate::support::cli::Workspace;
use crate::support::image::*;
use crate::support::registry::{TestRegistry, TOKEN_PASSWORD, TOKEN_USER};

/// (name, version, arch, source_name, source_version, ecosystem, layer index)
type Row = (String, String, String, String, String, String, usize);

fn rows(report: &Value) -> Vec<Row> {
    let layers: Vec<&str> =
        report["layers"].as_array().expect("layers").iter().map(|l| l["digest"].as_str().expect("digest")).collect();
    report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_else(|| panic!("package field {k} in {p}")).to_string();
            let layer = layers.iter().position(|d| *d == s("layer")).expect("package layer is one of the image's");
            (s("name"), s("version"), s("arch"), s("source_name"), s("source_version"), s("ecosystem"), layer)
        })
        .collect()
}

fn row(
    name: &str,
    version: &str,
    arch: &str,
    source: &str,
    source_version: &str,
    ecosystem: &str,
    layer: usize,
) -> Row {
    (name.into(), version.into(), arch.into(), source.into(), source_version.into(), ecosystem.into(), layer)
}

fn debian_image() -> TestImage {
    let base_status = [
        dpkg_paragraph("base-files", "12.4+deb12u5", "amd64", None),
        dpkg_paragraph("bsdutils", "1:2.38.1-5+b1", "amd64", Some("util-linux (2.38.1-5)")),
        dpkg_paragraph("libc6", "2.36-9+deb12u4", "amd64", Some("glibc")),
        dpkg_paragraph("libssl3", "3.0.11-1~deb12u2", "amd64", Some("openssl")),
        "Package: removed-pkg\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\n\n".to_string(),
    ]
    .concat();
    let base = LayerBuilder::new()
        .dir("usr")
        .dir("usr/lib")
        .file("usr/lib/os-release", DEBIAN_OS_RELEASE.as_bytes())
        .dir("etc")
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file("etc/debian_version", b"12.5\n")
        .file("bin/bash", &[0x7f; 4096])
        .file("var/lib/dpkg/status", base_status.as_bytes())
        .file("var/lib/dpkg/info/libc6.list", b"/lib/x86_64-linux-gnu/libc.so.6\n")
        .build(Compression::Gzip);
    let upgraded_status = [
        dpkg_paragraph("base-files", "12.4+deb12u5", "amd64", None),
        dpkg_paragraph("bsdutils", "1:2.38.1-5+b1", "amd64", Some("util-linux (2.38.1-5)")),
        dpkg_paragraph("curl", "7.88.1-10+deb12u5", "amd64", None),
        dpkg_paragraph("libc6", "2.36-9+deb12u4", "amd64", Some("glibc")),
        dpkg_paragraph("libcurl4", "7.88.1-10+deb12u5", "amd64", Some("curl")),
        dpkg_paragraph("libssl3", "3.0.13-1~deb12u1", "amd64", Some("openssl")),
    ]
    .concat();
    let packages = LayerBuilder::new()
        .file("var/lib/dpkg/status", upgraded_status.as_bytes())
        .file("usr/bin/curl", &[1; 2048])
        .build(Compression::Zstd);
    let config = LayerBuilder::new()
        .file("etc/app.conf", b"x=1\n")
        .whiteout("usr/bin/curl")
        .opaque("var/cache/apt")
        .build(Compression::None);
    TestImage::new(vec![base, packages, config])
}

fn debian_expected() -> Vec<Row> {
    vec![
        row("base-files", "12.4+deb12u5", "amd64", "base-files", "12.4+deb12u5", "dpkg", 0),
        row("bsdutils", "1:2.38.1-5+b1", "amd64", "util-linux", "2.38.1-5", "dpkg", 0),
        row("curl", "7.88.1-10+deb12u5", "amd64", "curl", "7.88.1-10+deb12u5", "dpkg", 1),
        row("libc6", "2.36-9+deb12u4", "amd64", "glibc", "2.36-9+deb12u4", "dpkg", 0),
        row("libcurl4", "7.88.1-10+deb12u5", "amd64", "curl", "7.88.1-10+deb12u5", "dpkg", 1),
        row("libssl3", "3.0.13-1~deb12u1", "amd64", "openssl", "3.0.13-1~deb12u1", "dpkg", 1),
    ]
}

#[test]
fn registry_image_with_gzip_zstd_and_plain_layers() {
    let registry = TestRegistry::start();
    let image = debian_image();
    let digest = registry.push_image("org/debian-base", "bookworm", &image);
    let ws = Workspace::new();
    let reference = format!("{}/org/debian-base:bookworm", registry.host());

    let report = ws.scan_json(&[&reference]);
    assert_eq!(report["reference"], reference);
    assert_eq!(report["manifest_digest"], digest.to_string());
    assert_eq!(report["index_digest"], Value::Null);
    assert_eq!(report["platform"], "linux/amd64");
    assert_eq!(report["os"]["distro"], "debian");
    assert_eq!(report["os"]["release"], "12");
    assert_eq!(report["os"]["codename"], "bookworm");
    assert_eq!(rows(&report), debian_expected());
    assert_eq!(report["warnings"], serde_json::json!([]));
    assert!(report["layers"].as_array().unwrap().iter().all(|l| l["cached"] == false));

    // Warm: every layer comes from the cache, the result is identical.
    let warm = ws.scan_json(&[&reference]);
    assert!(warm["layers"].as_array().unwrap().iter().all(|l| l["cached"] == true));
    assert_eq!(rows(&warm), debian_expected());

    // By digest as well.
    let by_digest = ws.scan_json(&[&format!("{}/org/debian-base@{digest}", registry.host())]);
    assert_eq!(rows(&by_digest), debian_expected());

    let list = ws.cascade(&["images", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains(&reference) && text.contains("debian 12"), "{text}");
}

#[test]
fn index_with_two_platforms_picks_the_requested_one() {
    let registry = TestRegistry::start();
    let make = |pkg: &str| {
        LayerBuilder::new()
            .file("etc/os-release", DEBIAN_OS_RELEASE.as_bytes())
            .file("var/lib/dpkg/status", dpkg_paragraph(pkg, "1.0-1", "all", None).as_bytes())
            .build(Compression::Gzip)
    };
    let amd = TestImage::new(vec![make("only-on-amd64")]);
    let arm = TestImage::new(vec![make("only-on-arm64")]).platform("arm64", Some("v8"));
    for img in [&amd, &arm] {
        registry.push_image("org/multi", &format!("single-{}", img.architecture), img);
    }
    registry.push_blob("org/multi", ATTESTATION_CONFIG);
    let attestation = attestation_manifest();
    registry.push_manifest(
        "org/multi",
        &cascade::images::digest::Digest::sha256_of(&attestation).to_string(),
        "application/vnd.oci.image.manifest.v1+json",
        &attestation,
    );
    let index_bytes = index(&[amd.clone(), arm.clone()]);
    let index_digest =
        registry.push_manifest("org/multi", "latest", "application/vnd.oci.image.index.v1+json", &index_bytes);
    let ws = Workspace::new();
    let reference = format!("{}/org/multi", registry.host());

    let report = ws.scan_json(&[&reference]);
    assert_eq!(report["index_digest"], index_digest.to_string());
    assert_eq!(report["platform"], "linux/amd64");
    assert_eq!(rows(&report), vec![row("only-on-amd64", "1.0-1", "all", "only-on-amd64", "1.0-1", "dpkg", 0)]);

    let report = ws.scan_json(&["--platform", "linux/arm64", &reference]);
    assert_eq!(report["platform"], "linux/arm64/v8");
    assert_eq!(rows(&report), vec![row("only-on-arm64", "1.0-1", "all", "only-on-arm64", "1.0-1", "dpkg", 0)]);

    let out = ws.cascade(&["scan", "--platform", "linux/s390x", &reference]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no image in the index for platform linux/s390x"), "{err}");
}

#[test]
fn whiteouts_and_opaque_directories_follow_the_final_filesystem() {
    let registry = TestRegistry::start();
    let db =
        |rows: &[(&str, &str, &str)]| rows.iter().map(|(p, v, o)| apk_paragraph(p, v, "x86_64", o)).collect::<String>();
    let base = LayerBuilder::new()
        .file("etc/alpine-release", b"3.19.1\n")
        .file("etc/os-release", ALPINE_OS_RELEASE.as_bytes())
        .file(
            "lib/apk/db/installed",
            db(&[
                ("busybox", "1.36.1-r15", "busybox"),
                ("libssl3", "3.1.4-r5", "openssl"),
                ("musl", "1.2.4_git20230717-r4", "musl"),
            ])
            .as_bytes(),
        )
        .file("lib/apk/db/lock", b"")
        .build(Compression::Gzip);
    // The opaque marker comes after the new file in the tar: it must still only hide the
    // lower layer's entries.
    let rebuilt = LayerBuilder::new()
        .file(
            "lib/apk/db/installed",
            db(&[
                ("busybox", "1.36.1-r15", "busybox"),
                ("libcrypto3", "3.1.4-r6", "openssl"),
                ("musl", "1.2.4_git20230717-r4", "musl"),
            ])
            .as_bytes(),
        )
        .opaque("lib/apk/db")
        .build(Compression::Zstd);
    let image = TestImage::new(vec![base.clone(), rebuilt]);
    registry.push_image("org/alpine", "3.19", &image);
    let ws = Workspace::new();
    let report = ws.scan_json(&[&format!("{}/org/alpine:3.19", registry.host())]);
    assert_eq!(report["os"]["distro"], "alpine");
    assert_eq!(report["os"]["release"], "3.19");
    assert_eq!(
        rows(&report),
        vec![
            row("busybox", "1.36.1-r15", "x86_64", "busybox", "1.36.1-r15", "apk", 0),
            row("libcrypto3", "3.1.4-r6", "x86_64", "openssl", "3.1.4-r6", "apk", 1),
            row("musl", "1.2.4_git20230717-r4", "x86_64", "musl", "1.2.4_git20230717-r4", "apk", 0),
        ]
    );

    // A top layer that deletes the database: no packages, and a warning says so.
    let stripped =
        TestImage::new(vec![base, LayerBuilder::new().whiteout("lib/apk/db/installed").build(Compression::Gzip)]);
    registry.push_image("org/alpine", "stripped", &stripped);
    let report = ws.scan_json(&[&format!("{}/org/alpine:stripped", registry.host())]);
    assert_eq!(rows(&report), vec![]);
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("no installed packages found"), "{warnings}");
}

#[test]
fn distroless_status_d_and_rpm_sqlite_images() {
    let registry = TestRegistry::start();
    let distroless = TestImage::new(vec![LayerBuilder::new()
        .file("usr/lib/os-release", b"PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"12\"\nVERSION=\"Debian GNU/Linux 12 (bookworm)\"\nHOME_URL=\"https://github.com/GoogleContainerTools/distroless\"\n")
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file("var/lib/dpkg/status.d/base-files", b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n")
        .file("var/lib/dpkg/status.d/libssl3", b"Package: libssl3\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n")
        .file("var/lib/dpkg/status.d/libssl3.md5sums", b"0123456789abcdef  usr/lib/x86_64-linux-gnu/libssl.so.3\n")
        .build(Compression::Gzip)]);
    registry.push_image("org/distroless", "latest", &distroless);

    let rpmdb = rpmdb_sqlite(&[
        RpmHeader {
            name: "gpg-pubkey",
            epoch: None,
            version: "fd431d51",
            release: "4ae0493b",
            arch: "",
            source_rpm: None,
            modularity_label: None,
        },
        RpmHeader {
            name: "openssl-libs",
            epoch: Some(1),
            version: "3.0.7",
            release: "27.el9",
            arch: "x86_64",
            source_rpm: Some("openssl-3.0.7-27.el9.src.rpm"),
            modularity_label: None,
        },
        RpmHeader {
            name: "nodejs",
            epoch: Some(1),
            version: "18.19.0",
            release: "1.module+el9.3.0+20839+e3b1a3d4",
            arch: "x86_64",
            source_rpm: Some("nodejs-18.19.0-1.module+el9.3.0+20839+e3b1a3d4.src.rpm"),
            modularity_label: Some("nodejs:18:9030020231120082734:rhel9"),
        },
        RpmHeader {
            name: "tzdata",
            epoch: None,
            version: "2024a",
            release: "1.el9",
            arch: "noarch",
            source_rpm: Some("tzdata-2024a-1.el9.src.rpm"),
            modularity_label: None,
        },
    ]);
    let ubi = TestImage::new(vec![LayerBuilder::new()
        .file("etc/os-release", UBI_OS_RELEASE.as_bytes())
        .file("etc/redhat-release", b"Red Hat Enterprise Linux release 9.4 (Plow)\n")
        .file("usr/lib/sysimage/rpm/rpmdb.sqlite", &rpmdb)
        .dir("var")
        .dir("var/lib")
        .symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm")
        .build(Compression::Gzip)]);
    registry.push_image("org/ubi", "9", &ubi);

    let ws = Workspace::new();
    let report = ws.scan_json(&[&format!("{}/org/distroless", registry.host())]);
    assert_eq!(report["os"]["distro"], "debian");
    assert_eq!(
        rows(&report),
        vec![
            row("base-files", "12.4+deb12u5", "amd64", "base-files", "12.4+deb12u5", "dpkg", 0),
            row("libssl3", "3.0.11-1~deb12u2", "amd64", "openssl", "3.0.11-1~deb12u2", "dpkg", 0),
        ]
    );

    let report = ws.scan_json(&[&format!("{}/org/ubi:9", registry.host())]);
    assert_eq!(report["os"]["distro"], "rhel");
    assert_eq!(report["os"]["release"], "9");
    assert_eq!(
        rows(&report),
        vec![
            row(
                "nodejs",
                "1:18.19.0-1.module+el9.3.0+20839+e3b1a3d4",
                "x86_64",
                "nodejs",
                "1:18.19.0-1.module+el9.3.0+20839+e3b1a3d4",
                "rpm",
                0
            ),
            row("openssl-libs", "1:3.0.7-27.el9", "x86_64", "openssl", "1:3.0.7-27.el9", "rpm", 0),
            row("tzdata", "2024a-1.el9", "noarch", "tzdata", "2024a-1.el9", "rpm", 0),
        ]
    );
    let nodejs = report["packages"].as_array().unwrap().iter().find(|p| p["name"] == "nodejs").unwrap();
    assert_eq!(nodejs["module"], "nodejs:18:9030020231120082734:rhel9");
}

#[test]
fn oci_dir_oci_archive_and_docker_archive_read_like_the_registry() {
    let ws = Workspace::new();
    let image = debian_image();
    let layout = ws.path("layout");
    write_oci_dir(&layout, &image, "bookworm");
    let report = ws.scan_json(&[&format!("oci-dir:{}", layout.display())]);
    assert_eq!(rows(&report), debian_expected());
    let report = ws.scan_json(&[&format!("oci-dir:{}:bookworm", layout.display())]);
    assert_eq!(rows(&report), debian_expected());

    let archive = ws.path("image.oci.tar");
    tar_dir(&layout, &archive);
    // A fresh database so that layers are read from the archive, not the cache.
    let fresh = Workspace::new();
    let report = fresh.scan_json(&[&format!("oci-archive:{}", archive.display())]);
    assert!(report["layers"].as_array().unwrap().iter().all(|l| l["cached"] == false));
    assert_eq!(rows(&report), debian_expected());

    // docker save holds uncompressed layers.
    let plain = TestImage::new(
        debian_image().layers.iter().map(|l| Layer::from_tar(decompress(&l.blob), Compression::None)).collect(),
    );
    let docker = ws.path("image.docker.tar");
    write_docker_archive(&docker, &plain, "example/debian:bookworm");
    let fresh = Workspace::new();
    let report = fresh.scan_json(&[&format!("docker-archive:{}", docker.display())]);
    assert_eq!(rows(&report), debian_expected());
    let report = fresh.scan_json(&[&format!("docker-archive:{}:example/debian:bookworm", docker.display())]);
    assert_eq!(rows(&report), debian_expected());
}

#[test]
fn warm_scan_reads_no_layer_blob() {
    let ws = Workspace::new();
    let layout = ws.path("layout");
    let image = debian_image();
    write_oci_dir(&layout, &image, "bookworm");
    let reference = format!("oci-dir:{}", layout.display());
    ws.scan_json(&[&reference]);
    for layer in &image.layers {
        std::fs::remove_file(layout.join("blobs/sha256").join(layer.digest().encoded())).expect("remove blob");
    }
    let warm = ws.scan_json(&[&reference]);
    assert_eq!(rows(&warm), debian_expected());
}

fn decompress(blob: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    if blob.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(blob).read_to_end(&mut out).expect("gunzip");
    } else if blob.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        out = zstd::stream::decode_all(blob).expect("unzstd");
    } else {
        out = blob.to_vec();
    }
    out
}

/// Scans `layer` (on top of a valid base) from an OCI layout and returns stderr; asserts exit
/// code 1, a bounded address space, and that the earlier good image is still recorded.
fn scan_hostile(ws: &Workspace, name: &str, layer: Layer, config: Option<&str>) -> String {
    let good = ws.path("good");
    if !good.exists() {
        write_oci_dir(&good, &debian_image(), "good");
        ws.scan_json(&[&format!("oci-dir:{}", good.display())]);
    }
    let base = debian_image().layers[0].clone();
    let dir = ws.path(name);
    write_oci_dir(&dir, &TestImage::new(vec![base, layer]), "bad");
    let mut args = vec!["scan".to_string()];
    if let Some(c) = config {
        let path = ws.path(&format!("{name}.toml"));
        std::fs::write(&path, c).expect("write config");
        args.push("--config".into());
        args.push(path.display().to_string());
    }
    args.push(format!("oci-dir:{}", dir.display()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ws.cascade_with(Some(MEMORY_CAP), &[], &args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{name}: expected a clean failure, got {:?}: {stderr}", out.status);
    let list = ws.cascade(&["images", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("good"), "{name}: the earlier image is still recorded");
    stderr
}

/// Address-space cap for hostile scans: far below what buffering a bomb would take.
const MEMORY_CAP: u64 = 512 * 1024 * 1024;

/// A ustar header for `path` declaring `size` bytes, followed by no content at all.
fn lying_tar_header(path: &str, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).expect("path");
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(size);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(&[0u8; 4096]);
    out
}

/// A tar entry with an arbitrary (unsafe) path, written without the tar crate's checks.
fn raw_entry_tar(path: &str, content: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    let name = path.as_bytes();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(content.len() as u64);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

#[test]
fn hostile_layers_fail_cleanly_within_the_memory_cap() {
    let ws = Workspace::new();

    let mut truncated = LayerBuilder::new().file("var/lib/dpkg/status", &[b'x'; 100_000]).build(Compression::Gzip).blob;
    truncated.truncate(truncated.len() / 2);
    let err =
        scan_hostile(&ws, "truncated", Layer::raw(truncated, "application/vnd.oci.image.layer.v1.tar+gzip"), None);
    assert!(err.contains("reading layer 1"), "{err}");

    let err = scan_hostile(
        &ws,
        "dotdot",
        Layer::raw(raw_entry_tar("../../etc/passwd", b"x"), "application/vnd.oci.image.layer.v1.tar"),
        None,
    );
    assert!(err.contains("../../etc/passwd"), "{err}");

    let err = scan_hostile(
        &ws,
        "absolute",
        Layer::raw(raw_entry_tar("/etc/os-release", b"ID=evil\n"), "application/vnd.oci.image.layer.v1.tar"),
        None,
    );
    assert!(err.contains("/etc/os-release"), "{err}");

    let err = scan_hostile(
        &ws,
        "huge",
        Layer::raw(lying_tar_header("var/lib/dpkg/status", 1 << 40), "application/vnd.oci.image.layer.v1.tar"),
        None,
    );
    assert!(err.contains("var/lib/dpkg/status") && err.contains("1099511627776"), "{err}");

    // 256 MiB of zeros compresses to a few hundred KiB; the layer cap is 64 MiB.
    let bomb = {
        use std::io::Write;
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(256 << 20);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "zeros", std::io::repeat(0).take(256 << 20)).expect("bomb");
        let tar = tar.into_inner().expect("bomb tar");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).expect("gzip bomb");
        gz.finish().expect("gzip bomb")
    };
    let err = scan_hostile(
        &ws,
        "bomb",
        Layer::raw(bomb, "application/vnd.oci.image.layer.v1.tar+gzip"),
        Some("[limits]\nmax_layer_bytes = 67108864\n"),
    );
    assert!(err.contains("67108864"), "{err}");

    // The base has etc/os-release -> ../usr/lib/os-release; point that back.
    let looping = LayerBuilder::new().symlink("usr/lib/os-release", "/etc/os-release").build(Compression::Gzip);
    let err = scan_hostile(&ws, "loop", looping, None);
    assert!(err.contains("etc/os-release") && err.contains("loop"), "{err}");
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_never_used() {
    let ws = Workspace::new();
    let layout = ws.path("layout");
    let image = debian_image();
    write_oci_dir(&layout, &image, "bookworm");
    // The plain-tar layer: flipping a content byte keeps the tar readable, so only the
    // digest can catch it.
    let victim = layout.join("blobs/sha256").join(image.layers[2].digest().encoded());
    let mut bytes = std::fs::read(&victim).expect("read blob");
    bytes[512] ^= 0x20;
    std::fs::write(&victim, bytes).expect("corrupt blob");
    let out = ws.cascade(&["scan", &format!("oci-dir:{}", layout.display())]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("digest mismatch") || err.contains("does not match"), "{err}");
    // Nothing about the image was recorded, and the corrupt layer was not cached: repairing
    // the blob makes the next scan read it.
    write_oci_dir(&layout, &image, "bookworm");
    let report = ws.scan_json(&[&format!("oci-dir:{}", layout.display())]);
    assert_eq!(report["layers"][2]["cached"], false);
    assert_eq!(rows(&report), debian_expected());
}

#[test]
fn basic_auth_credentials_come_from_the_environment() {
    let registry = TestRegistry::with_htpasswd("scanner", "s3cret:pass");
    registry.push_image("private/debian", "bookworm", &debian_image());
    let ws = Workspace::new();
    let reference = format!("{}/private/debian:bookworm", registry.host());

    let out = ws.cascade(&["scan", &reference]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unauthorized") && err.contains(&registry.host()), "{err}");

    let credentials = format!("{}=scanner:s3cret:pass", registry.host());
    let out = ws.cascade_with(
        None,
        &[("CASCADE_REGISTRY_CREDENTIALS", &credentials)],
        &["scan", "--format", "json", &reference],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows(&report), debian_expected());
}

#[test]
fn bearer_token_flow_with_credentials_from_docker_config() {
    use base64::Engine as _;
    let registry = TestRegistry::with_token_auth();
    registry.push_image("private/alpine", "3.19", &debian_image());
    let ws = Workspace::new();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN_USER}:{TOKEN_PASSWORD}"));
    let config = serde_json::json!({ "auths": { registry.host(): { "auth": auth } } });
    std::fs::create_dir_all(ws.path(".docker")).expect("mkdir .docker");
    std::fs::write(ws.path(".docker/config.json"), config.to_string()).expect("write docker config");
    let before = registry.token_requests();
    let report = ws.scan_json(&[&format!("{}/private/alpine:3.19", registry.host())]);
    assert_eq!(rows(&report), debian_expected());
    assert!(registry.token_requests() > before, "the token endpoint was asked for a token");
}

#[test]
fn an_image_without_os_files_is_reported_unidentified_not_guessed() {
    let ws = Workspace::new();
    let layout = ws.path("layout");
    let image = TestImage::new(vec![LayerBuilder::new()
        .file("var/lib/dpkg/status", dpkg_paragraph("tool", "1.0-1", "amd64", None).as_bytes())
        .build(Compression::Gzip)]);
    write_oci_dir(&layout, &image, "x");
    let report = ws.scan_json(&[&format!("oci-dir:{}", layout.display())]);
    assert_eq!(report["os"], Value::Null);
    assert_eq!(rows(&report), vec![row("tool", "1.0-1", "amd64", "tool", "1.0-1", "dpkg", 0)]);
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("no OS identified"), "{warnings}");
    let table = ws.cascade(&["scan", &format!("oci-dir:{}", layout.display())]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("os:       unidentified"));
}

#[test]
fn release_files_behind_symlinks_identify_the_os() {
    let ws = Workspace::new();
    let layout = ws.path("layout");
    // No os-release: etc/redhat-release is a symlink to the vendor's file, as on Rocky 8.
    let image = TestImage::new(vec![LayerBuilder::new()
        .file("etc/rocky-release", b"Rocky Linux release 8.4 (Green Obsidian)\n")
        .symlink("etc/redhat-release", "rocky-release")
        .symlink("etc/system-release", "rocky-release")
        .build(Compression::Gzip)]);
    write_oci_dir(&layout, &image, "x");
    let report = ws.scan_json(&[&format!("oci-dir:{}", layout.display())]);
    assert_eq!(report["os"]["distro"], "rocky");
    assert_eq!(report["os"]["release"], "8");
}
