//! Hostile inputs end to end, each built in code: layers whose links climb out of the image or
//! loop, decompression bombs, lying tar headers, 100,000 entries and invalid UTF-8; feed
//! documents that nest, expand entities, hold one endless token or lie about their length; and
//! requests that try to exhaust `cascade serve`. Every one must end in a clear error (or a
//! bounded, correct result) within a memory cap and the support DEADLINE, leave earlier data
//! intact, and leave the service serving.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::cli::{Workspace, DEADLINE};
use crate::support::image::*;
use crate::support::registry::{HttpStub, StubReply, TestRegistry};

/// Address-space cap for every hostile run: far below what buffering any bomb here would take
/// (a 1 GiB entry, a 10 GB Content-Length, a 2 GiB zstd window).
const MEMORY_CAP: u64 = 512 * 1024 * 1024;

const GIB: u64 = 1 << 30;

// ---------------------------------------------------------------------------------------------
// Running cascade under the bounds

/// How a bounded run ended.
struct Bounded {
    what: String,
    status: std::process::ExitStatus,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Bounded {
    /// Asserts exit `code`, no panic, and exactly one `error:` line naming every needle;
    /// returns that line.
    fn assert_fails(&self, code: i32, needles: &[&str]) -> String {
        let what = &self.what;
        assert_eq!(
            self.code,
            Some(code),
            "{what}: expected exit {code}, got {}\nstderr:\n{}",
            self.status,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{what}: cascade panicked:\n{}", self.stderr);
        let errors: Vec<&str> = self.stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{what}: expected one error line:\n{}", self.stderr);
        for needle in needles {
            assert!(errors[0].contains(needle), "{what}: {needle:?} missing from the error: {}", errors[0]);
        }
        errors[0].to_string()
    }

    /// Asserts a failed `feeds sync FEED`: exit 1 with the summary error, and the feed's own
    /// `FEED: failed: …` line naming every needle; returns that line.
    fn assert_feed_fails(&self, feed: &str, needles: &[&str]) -> String {
        self.assert_fails(1, &["1 of 1 feeds failed; their previous data is kept"]);
        let prefix = format!("{feed}: failed: ");
        let lines: Vec<&str> = self.stdout.lines().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(lines.len(), 1, "{}: one failure line for {feed}:\n{}", self.what, self.stdout);
        for needle in needles {
            assert!(lines[0].contains(needle), "{}: {needle:?} missing from: {}", self.what, lines[0]);
        }
        lines[0].to_string()
    }

    fn assert_ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "{}: expected success, got {}\nstderr:\n{}",
            self.what,
            self.status,
            self.stderr
        );
        &self.stdout
    }
}

/// Runs `command` to its end within [`DEADLINE`]; a run that outlives it is killed and fails
/// the test. No polling: a thread waits for the child and the test waits on a channel.
fn run_bounded(what: &str, mut command: Command) -> Bounded {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().unwrap_or_else(|e| panic!("{what}: cannot start cascade: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let (output, in_time) = match rx.recv_timeout(DEADLINE) {
        Ok(output) => (output, true),
        Err(_) => {
            // The child is ours; end it by its id so that its output can be shown.
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            (rx.recv().expect("the waiting thread reports"), false)
        }
    };
    let output = output.unwrap_or_else(|e| panic!("{what}: waiting for cascade: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(in_time, "{what}: still running after {DEADLINE:?}; killed. stderr:\n{stderr}");
    Bounded {
        what: what.to_string(),
        status: output.status,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    }
}

/// `cascade ARGS` in `ws` under [`MEMORY_CAP`] and the deadline.
fn cascade_bounded(ws: &Workspace, what: &str, args: &[&str]) -> Bounded {
    run_bounded(what, ws.command_capped(Some(MEMORY_CAP), args))
}

// ---------------------------------------------------------------------------------------------
// Layers

/// One tar member written byte for byte: any path, any link target, any declared size.
struct RawEntry<'a> {
    path: &'a [u8],
    kind: tar::EntryType,
    link: &'a [u8],
    content: &'a [u8],
    /// The size the header declares (the content's length unless a test lies).
    declared: u64,
}

/// A regular file whose path may be any bytes.
fn raw_bytes<'a>(path: &'a [u8], content: &'a [u8]) -> RawEntry<'a> {
    RawEntry { path, kind: tar::EntryType::Regular, link: b"", content, declared: content.len() as u64 }
}

fn raw_file<'a>(path: &'a str, content: &'a [u8]) -> RawEntry<'a> {
    raw_bytes(path.as_bytes(), content)
}

fn raw_symlink<'a>(path: &'a str, target: &'a str) -> RawEntry<'a> {
    RawEntry {
        path: path.as_bytes(),
        kind: tar::EntryType::Symlink,
        link: target.as_bytes(),
        content: b"",
        declared: 0,
    }
}

fn raw_hardlink<'a>(path: &'a str, target: &'a str) -> RawEntry<'a> {
    RawEntry { path: path.as_bytes(), kind: tar::EntryType::Link, link: target.as_bytes(), content: b"", declared: 0 }
}

/// A ustar header for `entry`, its content padded to the block, nothing else.
fn raw_member(entry: &RawEntry<'_>) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    {
        let ustar = h.as_ustar_mut().expect("ustar header");
        assert!(entry.path.len() <= ustar.name.len() && entry.link.len() <= ustar.linkname.len());
        ustar.name[..entry.path.len()].copy_from_slice(entry.path);
        ustar.linkname[..entry.link.len()].copy_from_slice(entry.link);
    }
    h.set_entry_type(entry.kind);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_size(entry.declared);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(entry.content);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A whole plain tar of raw entries, with its end-of-archive marker.
fn raw_tar(entries: &[RawEntry<'_>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.iter().flat_map(raw_member).collect();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn plain(tar: Vec<u8>) -> Layer {
    Layer::raw(tar, "application/vnd.oci.image.layer.v1.tar")
}

const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// The packages of the base image.
fn base_status() -> String {
    dpkg_paragraph("libssl3", "3.0.11-1~deb12u2", "amd64", Some("openssl"))
        + &dpkg_paragraph("zlib1g", "1:1.2.13.dfsg-1", "amd64", Some("zlib"))
}

/// A Debian 12 layer: os-release and a dpkg status with two packages.
fn base_layer() -> Layer {
    LayerBuilder::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE.as_bytes())
        .file("var/lib/dpkg/status", base_status().as_bytes())
        .build(Compression::Gzip)
}

/// Scans a good image (tag `good`) into `ws`, so that each hostile scan can show it untouched.
fn scan_good(ws: &Workspace) {
    let dir = ws.path("good");
    write_oci_dir(&dir, &TestImage::new(vec![base_layer()]), "good");
    let report = ws.scan_json(&[&format!("oci-dir:{}", dir.display())]);
    assert_eq!(report["packages"].as_array().map(Vec::len), Some(2), "{report}");
}

fn assert_good_still_recorded(ws: &Workspace) {
    let list = ws.ok(&["images", "list"]);
    let row = list.lines().find(|l| l.contains("/good")).unwrap_or_else(|| panic!("the good image is gone:\n{list}"));
    assert!(row.trim_end().ends_with(" 2"), "the good image keeps its 2 packages: {row}");
}

/// `cascade scan --format json oci-dir:…` of `layers` under the bounds.
fn scan_layers(ws: &Workspace, name: &str, layers: Vec<Layer>) -> Bounded {
    let dir = ws.path(name);
    write_oci_dir(&dir, &TestImage::new(layers), "hostile");
    let reference = format!("oci-dir:{}", dir.display());
    cascade_bounded(ws, name, &["scan", "--format", "json", &reference])
}

fn report_of(out: &Bounded) -> Value {
    serde_json::from_str(out.assert_ok()).unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", out.what, out.stdout))
}

fn package_names(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn link_targets_that_climb_out_of_the_image_are_refused_or_stay_inside() {
    let ws = Workspace::new();
    scan_good(&ws);

    // Hard links: every target is checked, at a wanted path or not, before anything is kept.
    let dotdot = "a hard link target with a `..` component";
    let absolute = "a hard link to an absolute path";
    for (name, path, target, reason) in [
        ("hardlink-dotdot-wanted", "var/lib/dpkg/status", "../../../../etc/passwd", dotdot),
        ("hardlink-dotdot-skipped", "srv/data/x", "srv/../../etc/shadow", dotdot),
        ("hardlink-absolute-wanted", "etc/os-release", "/etc/os-release", absolute),
        ("hardlink-absolute-skipped", "usr/share/doc/x", "/var/lib/dpkg/status", absolute),
    ] {
        let layer = plain(raw_tar(&[raw_file("srv/ok", b"fine"), raw_hardlink(path, target)]));
        let out = scan_layers(&ws, name, vec![base_layer(), layer]);
        out.assert_fails(1, &["layer 1", "entry 2", target, reason]);
    }

    // Symlinks may point anywhere (they are resolved in the image's view, never on the host): a
    // climb past the root stops at the image's root. Here os-release reaches the image's own
    // file, which no host has.
    let inside = ALPINE_OS_RELEASE.replace("Alpine Linux v3.19", "Alpine Linux v3.19 (inside the image)");
    let climbing = plain(raw_tar(&[
        raw_file("usr/lib/os-release", inside.as_bytes()),
        raw_symlink("etc/os-release", "../../../../../../../../../../usr/lib/os-release"),
        raw_symlink("var/lib/dpkg/status", "/../../../../../../../../etc/shadow"),
    ]));
    let report = report_of(&scan_layers(&ws, "symlink-climb", vec![base_layer(), climbing]));
    assert_eq!(report["os"]["pretty_name"], "Alpine Linux v3.19 (inside the image)", "{report}");
    assert_eq!(package_names(&report), Vec::<String>::new(), "the dpkg status now names no file: {report}");

    // A climb back to the link's own path (what would be the host's dpkg status) is a loop
    // inside the image, reported as such.
    let to_itself =
        plain(raw_tar(&[raw_symlink("var/lib/dpkg/status", "../../../../../../../../../../../var/lib/dpkg/status")]));
    let out = scan_layers(&ws, "symlink-to-itself", vec![base_layer(), to_itself]);
    out.assert_fails(1, &["symlink loop", "var/lib/dpkg/status"]);

    assert_good_still_recorded(&ws);
}

#[test]
fn symlink_and_hard_link_loops_end_in_an_error_or_a_missing_file() {
    let ws = Workspace::new();
    scan_good(&ws);

    // A directory that is a link to itself through its parent, and two directories that are
    // links to each other: resolving the dpkg status never ends, so it must be cut off.
    let self_loop = plain(raw_tar(&[raw_symlink("var/lib/dpkg", "../lib/dpkg")]));
    let out = scan_layers(&ws, "dir-self-loop", vec![base_layer(), self_loop]);
    out.assert_fails(1, &["symlink loop", "var/lib/dpkg"]);

    let two_cycle = plain(raw_tar(&[raw_symlink("var/lib", "../usr/lib"), raw_symlink("usr/lib", "/var/lib")]));
    let out = scan_layers(&ws, "dir-two-cycle", vec![base_layer(), two_cycle]);
    out.assert_fails(1, &["symlink loop"]);

    // Hard links that name each other, and one that names itself: link(2) would refuse the
    // first two (their targets do not exist yet), so they are missing files, not a hang; the
    // self-link over an existing status is that status. The other database files still count.
    let survivor = dpkg_paragraph("cycle-survivor", "1.0", "amd64", None);
    let cycle = plain(raw_tar(&[
        raw_hardlink("var/lib/dpkg/status.d/a", "var/lib/dpkg/status.d/b"),
        raw_hardlink("var/lib/dpkg/status.d/b", "var/lib/dpkg/status.d/a"),
        raw_hardlink("var/lib/dpkg/status", "var/lib/dpkg/status"),
        raw_file("var/lib/dpkg/status.d/c", survivor.as_bytes()),
    ]));
    let out = scan_layers(&ws, "hardlink-cycle", vec![base_layer(), cycle]);
    let report = report_of(&out);
    assert_eq!(package_names(&report), ["cycle-survivor", "libssl3", "zlib1g"], "{report}");
    let warnings = out.stderr.lines().filter(|l| l.contains("hard link target is not among the kept files")).count();
    assert_eq!(warnings, 2, "each dangling link is reported:\n{}", out.stderr);

    assert_good_still_recorded(&ws);
}

/// A tar of one unwanted entry of `n_zeros` zero bytes, zstd-compressed as it is written.
fn zstd_bomb(n_zeros: u64) -> Vec<u8> {
    let encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd encoder");
    let mut tar = tar::Builder::new(encoder);
    let mut h = tar::Header::new_gnu();
    h.set_size(n_zeros);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "srv/zeros", std::io::repeat(0).take(n_zeros)).expect("bomb entry");
    tar.into_inner().expect("bomb tar").finish().expect("bomb zstd")
}

/// A small valid zstd layer whose frame header declares a 2 GiB window (`Window_Descriptor`
/// exponent 21: windowLog 31), which a decoder would have to allocate before the first byte.
fn zstd_huge_window() -> Vec<u8> {
    let tar = LayerBuilder::new().file("srv/x", b"x").tar();
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd encoder");
    encoder.include_contentsize(false).expect("no content size");
    encoder.write_all(&tar).expect("zstd");
    let mut frame = encoder.finish().expect("zstd");
    assert_eq!(&frame[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    // Frame_Header_Descriptor: no content size, not single-segment, so a Window_Descriptor
    // follows it.
    assert_eq!(frame[4] & 0xe0, 0, "descriptor {:#x}", frame[4]);
    frame[5] = 21 << 3;
    frame
}

#[test]
fn zstd_bombs_stop_at_the_layer_cap_from_a_layout_and_from_the_registry() {
    let ws = Workspace::new();
    scan_good(&ws);
    ws.write_config("[limits]\nmax_layer_bytes = 67108864\n");

    // 256 MiB of zeros in a few kilobytes; the cap is 64 MiB.
    let bomb = zstd_bomb(256 << 20);
    assert!(bomb.len() < 1 << 20, "the bomb is small: {} bytes", bomb.len());
    let out = scan_layers(&ws, "zstd-bomb", vec![base_layer(), Layer::raw(bomb.clone(), ZSTD)]);
    out.assert_fails(1, &["layer 1", "67108864", "max_layer_bytes"]);

    // The same bomb streamed from a registry.
    let registry = TestRegistry::start();
    registry.push_image("hostile/zstd", "bomb", &TestImage::new(vec![base_layer(), Layer::raw(bomb, ZSTD)]));
    let reference = format!("{}/hostile/zstd:bomb", registry.host());
    let out = cascade_bounded(&ws, "zstd-bomb-registry", &["scan", &reference]);
    out.assert_fails(1, &["layer 1", "67108864", "max_layer_bytes"]);

    // A frame asking for a 2 GiB window is refused before anything is allocated for it.
    let out = scan_layers(&ws, "zstd-window", vec![base_layer(), Layer::raw(zstd_huge_window(), ZSTD)]);
    out.assert_fails(1, &["layer 1", "zstd"]);

    ws.write_config("");
    assert_good_still_recorded(&ws);
}

/// `n` files under `dir` (`dir/0`, `dir/1`, …) holding `content(i)`, gzip-compressed.
fn many_entries_layer(n: usize, dir: &str, content: impl Fn(usize) -> Vec<u8>) -> Layer {
    let mut tar = tar::Builder::new(Vec::new());
    for i in 0..n {
        let bytes = content(i);
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("{dir}/{i}"), &bytes[..]).expect("append entry");
    }
    Layer::from_tar(tar.into_inner().expect("finish tar"), Compression::Gzip)
}

#[test]
fn a_hundred_thousand_tiny_entries_are_counted_and_capped() {
    const N: usize = 100_000;
    let ws = Workspace::new();
    scan_good(&ws);
    let tiny = many_entries_layer(N, "srv/tiny", |_| Vec::new());

    ws.write_config("[limits]\nmax_entries = 50000\n");
    let out = scan_layers(&ws, "entries-capped", vec![base_layer(), tiny.clone()]);
    out.assert_fails(1, &["layer 1", "more than 50000 entries (max_entries)", "entry 50001"]);

    // Under the default cap they are read and skipped, within the bounds.
    ws.write_config("");
    let report = report_of(&scan_layers(&ws, "entries-default", vec![base_layer(), tiny]));
    assert_eq!(package_names(&report), ["libssl3", "zlib1g"], "{report}");

    // Kept files by the ten thousand: a distroless status.d with one package each. (Fewer
    // than above: each is parsed and stored, about 0.1 ms apiece in a debug build, and the
    // cost is linear; 100,000 take 10 s, too close to the deadline on a loaded machine.)
    const N_KEPT: usize = 20_000;
    let kept = many_entries_layer(N_KEPT, "var/lib/dpkg/status.d", |i| {
        dpkg_paragraph(&format!("pkg{i}"), "1.0", "amd64", None).into_bytes()
    });
    let report = report_of(&scan_layers(&ws, "entries-kept", vec![base_layer(), kept]));
    assert_eq!(report["packages"].as_array().map(Vec::len), Some(N_KEPT + 2));

    assert_good_still_recorded(&ws);
}

#[test]
fn a_header_declaring_a_gibibyte_over_a_truncated_body() {
    let ws = Workspace::new();
    scan_good(&ws);
    let lying = |path: &'static str| {
        let mut tar = raw_member(&RawEntry {
            path: path.as_bytes(),
            kind: tar::EntryType::Regular,
            link: b"",
            content: &[b'x'; 4096],
            declared: GIB,
        });
        // The stream ends 4 KiB into the entry: no more data, no end-of-archive marker.
        tar.truncate(512 + 4096);
        tar
    };
    let gzip = |tar: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(tar).expect("gzip");
        e.finish().expect("gzip")
    };

    // Skipped entries are read through, never buffered: the stream just ends too early.
    for (name, layer) in [
        ("gib-skipped-plain", plain(lying("srv/huge.bin"))),
        ("gib-skipped-gzip", Layer::raw(gzip(&lying("srv/huge.bin")), GZIP)),
    ] {
        let out = scan_layers(&ws, name, vec![base_layer(), layer]);
        out.assert_fails(1, &["layer 1", "truncated", "srv/huge.bin"]);
    }

    // A wanted file under the default caps: refused by its declared size, before reading.
    let out = scan_layers(&ws, "gib-wanted-default", vec![base_layer(), plain(lying("var/lib/dpkg/status"))]);
    out.assert_fails(1, &["var/lib/dpkg/status", "1073741824", "max_file_bytes"]);

    // Caps raised above the declared size: the entry is still only 4 KiB long, so the answer
    // must be the truncation, not an allocation of what the header claims.
    ws.write_config("[limits]\nmax_file_bytes = 2147483648\nmax_kept_bytes = 2147483648\n");
    let out = scan_layers(&ws, "gib-wanted-raised", vec![base_layer(), plain(lying("var/lib/dpkg/status"))]);
    out.assert_fails(1, &["layer 1", "truncated", "var/lib/dpkg/status"]);
    ws.write_config("");

    assert_good_still_recorded(&ws);
}

/// The tracker: openssl fixed in bookworm by 3.0.13-1~deb12u1.
fn tracker_document() -> String {
    json!({"openssl": {"CVE-2024-0001": {"description": "openssl issue", "scope": "remote", "releases": {
        "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.13-1~deb12u1"},
                     "fixed_version": "3.0.13-1~deb12u1", "urgency": "high"}}}}})
    .to_string()
}

/// An Alpine secdb for v3.19/main: musl fixed by 1.2.4-r3 (CVE-2025-26519).
fn secdb_document() -> String {
    json!({
        "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
        "archs": ["x86_64"], "reponame": "main", "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
        "distroversion": "v3.19",
        "packages": [{ "pkg": { "name": "musl", "secfixes": { "1.2.4-r3": ["CVE-2025-26519"] } } }],
    })
    .to_string()
}

#[test]
fn package_databases_with_invalid_utf8_are_read_lossily() {
    let ws = Workspace::new();
    ws.write_config(
        "[feeds.test-alpine]\nurl = \"http://127.0.0.1:9/never\"\nformat = \"alpine-secdb\"\ndistro = \"alpine\"\nreleases = [\"3.19\"]\n",
    );
    let tracker = ws.path("tracker.json");
    std::fs::write(&tracker, tracker_document()).expect("write tracker");
    ws.ok(&["feeds", "sync", "debian-tracker", "--from-file", &tracker.display().to_string()]);
    let secdb = ws.path("secdb.json");
    std::fs::write(&secdb, secdb_document()).expect("write secdb");
    ws.ok(&["feeds", "sync", "test-alpine", "--from-file", &secdb.display().to_string()]);

    // dpkg: bytes that are not UTF-8 in the version the advisory is compared with, in a
    // name, an architecture, a description and os-release; plus a status.d file whose name
    // is not UTF-8.
    let mut status = Vec::new();
    status.extend_from_slice(
        b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\xff\xfe\nDescription: caf\xe9\n \xc3\x28 broken\n\n",
    );
    status.extend_from_slice(
        b"Package: caf\xe9-\xff\nStatus: install ok installed\nArchitecture: amd\x80\nVersion: 1.0\xc3\n\n",
    );
    status.extend_from_slice(b"Package: \xf0\x9f\x92\nStatus: install ok\xff installed\nVersion: \xed\xa0\x80\n\n");
    let os_release =
        b"PRETTY_NAME=\"Debian \xff GNU/Linux 12\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
    let debian = plain(raw_tar(&[
        raw_bytes(b"etc/os-release", os_release),
        raw_bytes(b"var/lib/dpkg/status", &status),
        raw_bytes(b"var/lib/dpkg/status.d/\xff\xfe", b"Package: hidden\nVersion: 1\n\n"),
    ]));
    let report = report_of(&scan_layers(&ws, "utf8-dpkg", vec![debian]));
    assert_eq!(report["os"]["distro"], "debian", "{report}");
    let packages = report["packages"].as_array().expect("packages");
    let libssl = packages.iter().find(|p| p["name"] == "libssl3").unwrap_or_else(|| panic!("{report}"));
    assert_eq!(libssl["version"], "3.0.11-1~deb12u2\u{fffd}\u{fffd}", "{report}");
    assert!(packages.iter().any(|p| p["name"] == "caf\u{fffd}-\u{fffd}"), "{report}");
    assert!(!packages.iter().any(|p| p["name"] == "hidden"), "a path that is not UTF-8 is not wanted: {report}");

    // apk: the same in the installed database.
    let installed: &[u8] = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\xff\nA:x86_64\no:musl\nT:the C library \xfe\n\nP:\xff\xfe\nV:1\xc3\no:\xc3\n\nP:busybox\nV:\xe2\x82\nA:x86\xff_64\n\n";
    let alpine = plain(raw_tar(&[
        raw_file("etc/os-release", ALPINE_OS_RELEASE.as_bytes()),
        raw_bytes(b"lib/apk/db/installed", installed),
    ]));
    let report = report_of(&scan_layers(&ws, "utf8-apk", vec![alpine]));
    assert_eq!(report["os"]["distro"], "alpine", "{report}");
    let musl = report["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "musl"))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(musl["version"], "1.2.4-r2\u{fffd}", "{report}");

    // The versions were compared with the advisories' fixed versions (the valid prefix is
    // below the fix in both), and the comparison holds when every finding is recomputed.
    for round in ["after the scans", "after a rebuild"] {
        for (advisory, image, version) in [
            ("CVE-2024-0001", "/utf8-dpkg", "3.0.11-1~deb12u2\u{fffd}\u{fffd}"),
            ("CVE-2025-26519", "/utf8-apk", "1.2.4-r2\u{fffd}"),
        ] {
            let out = cascade_bounded(&ws, advisory, &["affected", advisory, "--format", "json"]);
            let images: Value = serde_json::from_str(out.assert_ok()).expect("affected prints JSON");
            let images = images.as_array().expect("a list of images");
            assert_eq!(images.len(), 1, "{advisory} {round}: {images:?}");
            assert!(images[0]["reference"].as_str().is_some_and(|r| r.ends_with(image)), "{advisory}: {images:?}");
            assert_eq!(images[0]["packages"][0]["version"], version, "{advisory} {round}");
        }
        if round == "after the scans" {
            cascade_bounded(&ws, "findings rebuild", &["findings", "rebuild"]).assert_ok();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Feed documents

/// Serves documents by path; the tests change them between syncs.
struct FeedServer {
    stub: HttpStub,
    documents: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl FeedServer {
    fn start() -> FeedServer {
        let documents: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let served = Arc::clone(&documents);
        let stub = HttpStub::start(move |req| match served.lock().expect("documents").get(req.path()) {
            Some(bytes) => StubReply::new(200).body(bytes.clone()),
            None => StubReply::new(404),
        });
        FeedServer { stub, documents }
    }

    fn put(&self, path: &str, bytes: impl Into<Vec<u8>>) {
        self.documents.lock().expect("documents").insert(path.to_string(), bytes.into());
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stub.url())
    }
}

/// `[feeds.NAME]` for a test feed.
fn feed_config(name: &str, url: &str, format: &str, distro: &str, releases: &[&str]) -> String {
    format!(
        "[feeds.{name}]\nurl = \"{url}\"\nformat = \"{format}\"\ndistro = \"{distro}\"\nreleases = {releases:?}\ntimeout_secs = 10\n"
    )
}

/// The `feeds list` row of `feed`: (advisories, entries, state).
fn feed_row(ws: &Workspace, feed: &str) -> (u64, u64, String) {
    let list = ws.ok(&["feeds", "list"]);
    let row = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(feed))
        .unwrap_or_else(|| panic!("{feed} is not listed:\n{list}"));
    let fields: Vec<&str> = row.split_whitespace().collect();
    let number = |i: usize| fields[i].parse::<u64>().unwrap_or_else(|_| panic!("column {i} of {row:?}"));
    (number(4), number(5), fields[6..].join(" "))
}

/// Syncs `feed` (which must fail) under the bounds; asserts the error names the feed and
/// `needles`, `feeds list` shows the error, and the feed kept (advisories, entries).
fn assert_sync_fails_keeping(ws: &Workspace, feed: &str, kept: (u64, u64), needles: &[&str]) {
    let out = cascade_bounded(ws, &format!("feeds sync {feed}"), &["feeds", "sync", feed]);
    out.assert_feed_fails(feed, needles);
    let (n_advisories, n_entries, state) = feed_row(ws, feed);
    assert!(state.starts_with("error:"), "{feed}: feeds list shows the error: {state}");
    assert_eq!((n_advisories, n_entries), kept, "{feed}: the previous data is kept");
}

#[test]
fn json_nesting_bombs_fail_cleanly_and_keep_the_previous_data() {
    const DEPTH: usize = 100_000;
    let server = FeedServer::start();
    let feeds: [(&str, &str, &str, &[&str]); 5] = [
        ("nest-alpine", "alpine-secdb", "alpine", &["3.19"]),
        ("nest-osv", "osv", "debian", &[]),
        ("nest-tracker", "debian-tracker-json", "debian", &[]),
        ("nest-usn", "usn-database", "ubuntu", &[]),
        ("nest-csaf", "redhat-csaf", "rhel", &[]),
    ];
    let config: String = feeds
        .iter()
        .map(|(name, format, distro, releases)| {
            feed_config(name, &server.url(&format!("/{name}.json")), format, distro, releases)
        })
        .collect();
    let ws = Workspace::new();
    ws.write_config(&config);

    // A good document first, for the feed whose data must survive.
    server.put("/nest-alpine.json", secdb_document());
    cascade_bounded(&ws, "good secdb", &["feeds", "sync", "nest-alpine"]).assert_ok();
    let good = feed_row(&ws, "nest-alpine");
    assert_eq!((good.0, good.1), (1, 1), "{good:?}");

    let arrays = "[".repeat(DEPTH);
    let objects = "{\"a\":".repeat(DEPTH);
    for (name, format, _, _) in &feeds {
        let kept = if *name == "nest-alpine" { (1, 1) } else { (0, 0) };
        for bomb in [&arrays, &objects] {
            server.put(&format!("/{name}.json"), bomb.as_bytes());
            assert_sync_fails_keeping(&ws, name, kept, &[&format!("{format} document")]);
        }
    }
    let out = cascade_bounded(&ws, "affected", &["affected", "CVE-2025-26519", "--format", "json"]);
    out.assert_ok();
}

const OVAL_HEAD: &str = r#"<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:red-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">"#;

/// An OVAL document with one RHSA for openssl on RHEL 9; `title_extra`, `name_extra` and
/// `comment_extra` go into the title, the package name and a criterion's attribute.
fn oval_document(doctype: &str, rhsa: &str, title_extra: &str, name_extra: &str, comment_extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
{doctype}
{OVAL_HEAD}
 <definitions>
  <definition class="patch" id="oval:com.redhat.rhsa:def:1" version="1">
   <metadata>
    <title>{title_extra}{rhsa}: openssl security update (Important)</title>
    <affected_cpe_list><cpe>cpe:/o:redhat:enterprise_linux:9::baseos</cpe></affected_cpe_list>
    <reference ref_id="{rhsa}" ref_url="https://access.redhat.com/errata/{rhsa}" source="RHSA"/>
    <reference ref_id="CVE-2024-0001" ref_url="https://access.redhat.com/security/cve/CVE-2024-0001" source="CVE"/>
    <advisory from="secalert@redhat.com"><severity>Important</severity></advisory>
   </metadata>
   <criteria operator="AND"><criterion comment="openssl{comment_extra}" test_ref="tst:1"/></criteria>
  </definition>
 </definitions>
 <tests>
  <red-def:rpminfo_test check="at least one" comment="openssl is earlier than 1:3.0.7-28.el9" id="tst:1" version="1">
   <red-def:object object_ref="obj:1"/>
   <red-def:state state_ref="ste:1"/>
  </red-def:rpminfo_test>
 </tests>
 <objects>
  <red-def:rpminfo_object id="obj:1" version="1"><red-def:name>openssl{name_extra}</red-def:name></red-def:rpminfo_object>
 </objects>
 <states>
  <red-def:rpminfo_state id="ste:1" version="1"><red-def:evr datatype="evr_string" operation="less than">1:3.0.7-28.el9</red-def:evr></red-def:rpminfo_state>
 </states>
</oval_definitions>
"#
    )
}

/// "Billion laughs": `&lol9;` would expand to 10^9 copies of "lol" (3 GB).
fn billion_laughs_doctype() -> String {
    let mut entities = String::from("<!ENTITY lol \"lol\">\n");
    for i in 1..=9 {
        let previous = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
        entities.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", format!("&{previous};").repeat(10)));
    }
    format!("<!DOCTYPE oval_definitions [\n{entities}]>")
}

#[test]
fn oval_entity_expansion_is_never_performed() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    ws.write_config(&feed_config("laughs-oval", &server.url("/oval.xml"), "redhat-oval", "rhel", &["9"]));
    server.put("/oval.xml", oval_document("", "RHSA-2024:0001", "", "", ""));
    cascade_bounded(&ws, "good oval", &["feeds", "sync", "laughs-oval"]).assert_ok();
    assert_eq!(feed_row(&ws, "laughs-oval").0, 1);

    // In an attribute value an unknown entity is an error: the document is refused whole.
    let doctype = billion_laughs_doctype();
    server.put("/oval.xml", oval_document(&doctype, "RHSA-2024:0002", "", "", " &lol9;"));
    assert_sync_fails_keeping(&ws, "laughs-oval", (1, 1), &["redhat-oval document", "lol9"]);
    let out = cascade_bounded(&ws, "affected", &["affected", "RHSA-2024:0001", "--format", "json"]);
    out.assert_ok();

    // In text the reference stays the literal `&lol9;` it is: the document is ingested as
    // written, and nothing grew.
    server.put("/oval.xml", oval_document(&doctype, "RHSA-2024:0003", "&lol9; ", "&lol9;", ""));
    let out = cascade_bounded(&ws, "laughs in text", &["feeds", "sync", "laughs-oval"]);
    out.assert_ok();
    let (n_advisories, n_entries, state) = feed_row(&ws, "laughs-oval");
    assert_eq!((n_advisories, n_entries, state.as_str()), (1, 1, "ok"));
    let db = rusqlite::Connection::open(ws.db()).expect("open the database");
    let (title, package): (String, String) = db
        .query_row(
            "SELECT a.title, e.package FROM advisories a JOIN affected e ON e.feed = a.feed AND e.advisory_id = a.id \
             WHERE a.feed = 'laughs-oval'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the stored advisory");
    assert_eq!(title, "&lol9; RHSA-2024:0003: openssl security update (Important)");
    assert_eq!(package, "openssl&lol9;");
}

/// bzip2 of `head`, then `n_mib` MiB of `fill` bytes, each MiB its own bzip2 stream (a reader
/// of concatenated streams reads them as one document): a few dozen kilobytes that decompress
/// into one endless token.
fn bzip2_endless_token(head: &str, fill: u8, n_mib: usize) -> Vec<u8> {
    let compress = |data: &[u8]| {
        let mut out = Vec::new();
        let mut encoder = bzip2::read::BzEncoder::new(data, bzip2::Compression::fast());
        encoder.read_to_end(&mut out).expect("bzip2");
        out
    };
    let mut bomb = compress(head.as_bytes());
    let megabyte = compress(&vec![fill; 1024 * 1024]);
    for _ in 0..n_mib {
        bomb.extend_from_slice(&megabyte);
    }
    bomb
}

#[test]
fn compressed_documents_with_one_endless_token_fail_cleanly_and_keep_the_previous_data() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let config = [
        feed_config("token-oval", &server.url("/oval.xml.bz2"), "redhat-oval", "rhel", &["9"]),
        feed_config("token-usn", &server.url("/usn.json.bz2"), "usn-database", "ubuntu", &[]),
    ]
    .concat();
    ws.write_config(&config);
    server.put("/oval.xml.bz2", oval_document("", "RHSA-2024:0001", "", "", ""));
    let usn = r#"{"7000-1": {"id": "7000-1", "title": "openssl", "releases": {"noble": {"sources": {"openssl": {"version": "3.0.13-0ubuntu3.5"}}}}}}"#;
    server.put("/usn.json.bz2", usn);
    for feed in ["token-oval", "token-usn"] {
        cascade_bounded(&ws, &format!("good {feed}"), &["feeds", "sync", feed]).assert_ok();
        assert_eq!(feed_row(&ws, feed).0, 1, "{feed}");
    }

    // One text token of 1 GiB (twice the memory cap) in each: an OVAL title, text of NUL bytes
    // before the root (the fuzz regression in fuzz/regressions/redhat_oval), a USN title.
    let oval_title = format!("{OVAL_HEAD}<definitions><definition><metadata><title>");
    server.put("/oval.xml.bz2", bzip2_endless_token(&oval_title, b'a', 1024));
    assert_sync_fails_keeping(&ws, "token-oval", (1, 1), &["redhat-oval document", "one XML token is longer than"]);
    server.put("/oval.xml.bz2", bzip2_endless_token("", 0, 1024));
    assert_sync_fails_keeping(&ws, "token-oval", (1, 1), &["redhat-oval document", "one XML token is longer than"]);
    server.put("/usn.json.bz2", bzip2_endless_token(r#"{"7001-1": {"title": ""#, b'a', 1024));
    assert_sync_fails_keeping(&ws, "token-usn", (1, 1), &["usn-database document", "one record is longer than"]);

    let out = cascade_bounded(&ws, "affected", &["affected", "USN-7000-1", "--format", "json"]);
    out.assert_ok();
}

/// A raw HTTP server for what [`HttpStub`] cannot send: each connection's request head is
/// read, then `respond` writes whatever it likes. Stops on drop.
struct RawServer {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RawServer {
    fn start(respond: impl Fn(&mut TcpStream) + Send + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind raw server");
        let addr = listener.local_addr().expect("raw server address");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let _ = stream.set_write_timeout(Some(DEADLINE));
                    let _ = stream.set_read_timeout(Some(DEADLINE));
                    if read_head(&mut stream).is_some() {
                        respond(&mut stream);
                    }
                    let _ = stream.shutdown(Shutdown::Both);
                }
            })
        };
        RawServer { addr, stop, thread: Some(thread) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads a request or response head (up to the blank line); None at EOF.
fn read_head(stream: &mut TcpStream) -> Option<Vec<String>> {
    let mut reader = BufReader::new(stream);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.by_ref().take(64 * 1024).read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            return Some(lines);
        }
        lines.push(line);
    }
}

/// Writes zeros until the peer stops reading (or `limit` bytes), chunked or not.
fn write_zeros(stream: &mut TcpStream, limit: u64, chunked: bool) {
    let block = vec![b'0'; 64 * 1024];
    let mut sent = 0u64;
    while sent < limit {
        let result = if chunked {
            write!(stream, "{:x}\r\n", block.len())
                .and_then(|()| stream.write_all(&block))
                .and_then(|()| stream.write_all(b"\r\n"))
        } else {
            stream.write_all(&block)
        };
        if result.is_err() {
            return;
        }
        sent += block.len() as u64;
    }
}

#[test]
fn a_lying_or_endless_response_is_capped_not_trusted() {
    const TEN_GB: u64 = 10_000_000_000;
    let good = FeedServer::start();
    good.put("/main.json", secdb_document());
    // 10 GB announced, 100 bytes sent, then the connection closes.
    let short = RawServer::start(|s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {TEN_GB}\r\nConnection: close\r\n\r\n");
        let _ = s.write_all(&secdb_document().as_bytes()[..100]);
    });
    // 10 GB announced and really streamed, for as long as the client reads.
    let endless = RawServer::start(|s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {TEN_GB}\r\nConnection: close\r\n\r\n");
        write_zeros(s, TEN_GB, false);
    });
    // No length at all: chunks until the client stops reading.
    let chunked = RawServer::start(|s| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        write_zeros(s, TEN_GB, true);
    });

    let ws = Workspace::new();
    let config =
        |url: &str| feed_config("lying-alpine", url, "alpine-secdb", "alpine", &["3.19"]) + "max_bytes = 1048576\n";
    ws.write_config(&config(&good.url("/main.json")));
    cascade_bounded(&ws, "good secdb", &["feeds", "sync", "lying-alpine"]).assert_ok();
    assert_eq!(feed_row(&ws, "lying-alpine").0, 1);

    ws.write_config(&config(&short.url("/main.json")));
    assert_sync_fails_keeping(&ws, "lying-alpine", (1, 1), &["reading the body failed"]);
    for server in [&endless, &chunked] {
        ws.write_config(&config(&server.url("/main.json")));
        assert_sync_fails_keeping(&ws, "lying-alpine", (1, 1), &["larger than the 1048576-byte cap"]);
    }
    let out = cascade_bounded(&ws, "affected", &["affected", "CVE-2025-26519", "--format", "json"]);
    out.assert_ok();
}

// ---------------------------------------------------------------------------------------------
// The running service

/// How a raw request's body is sent.
#[derive(Clone, Copy)]
enum BodySend {
    /// `Content-Length: n` and n bytes.
    Length(u64),
    /// Chunked, n bytes in all.
    Chunked(u64),
    /// `Content-Length: declared`, then `sent` bytes, then the client stops sending.
    Lying { declared: u64, sent: u64 },
}

/// POSTs to `addr` (`host:port`) from a writer thread while this thread reads the answer, so
/// that an early refusal is seen even when the server closes before the body is all sent.
/// Returns (status, body).
fn post_raw(addr: &str, path: &str, content_type: &str, send: BodySend) -> (u16, String) {
    let stream = TcpStream::connect(addr).expect("connect to serve");
    stream.set_read_timeout(Some(DEADLINE)).expect("read timeout");
    stream.set_write_timeout(Some(DEADLINE)).expect("write timeout");
    let mut writer = stream.try_clone().expect("clone the stream");
    let head = match send {
        BodySend::Length(n) => format!("Content-Length: {n}\r\n"),
        BodySend::Chunked(_) => "Transfer-Encoding: chunked\r\n".to_string(),
        BodySend::Lying { declared, .. } => format!("Content-Length: {declared}\r\n"),
    };
    let path = path.to_string();
    let content_type = content_type.to_string();
    let addr_owned = addr.to_string();
    let sender = std::thread::spawn(move || {
        let head = format!("POST {path} HTTP/1.1\r\nHost: {addr_owned}\r\nContent-Type: {content_type}\r\n{head}\r\n");
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        match send {
            BodySend::Length(n) => write_zeros(&mut writer, n, false),
            BodySend::Chunked(n) => {
                write_zeros(&mut writer, n, true);
                let _ = writer.write_all(b"0\r\n\r\n");
            }
            BodySend::Lying { sent, .. } => {
                write_zeros(&mut writer, sent, false);
                let _ = writer.shutdown(Shutdown::Write);
            }
        }
    });
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("read the status line");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {status_line:?}"));
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a header");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0; length.expect("the answer has a Content-Length")];
    reader.read_exact(&mut body).expect("read the answer's body");
    let _ = reader.get_ref().shutdown(Shutdown::Both);
    let _ = sender.join();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn error_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body}"));
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code: {body}")).to_string()
}

/// Peak resident memory of a process (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmHWM value");
    kib * 1024
}

#[test]
fn serve_refuses_hostile_requests_and_keeps_serving() {
    const TEN_MIB: u64 = 10 << 20;
    const EVENTS: &str = "application/vnd.docker.distribution.events.v2+json";
    let ws = Workspace::new();
    scan_good(&ws);
    let server = ws.serve(&["--no-sync", "--no-watch", "--no-notify"], &[]);
    let addr = server.url("").trim_start_matches("http://").to_string();

    // Bodies ten times over the 1 MiB limit, announced or chunked: 413 before the end.
    for path_type in [("/v1/mail", "message/rfc822"), ("/v1/registry-events", EVENTS)] {
        for send in [BodySend::Length(TEN_MIB), BodySend::Chunked(TEN_MIB)] {
            let (status, body) = post_raw(&addr, path_type.0, path_type.1, send);
            assert_eq!((status, error_code(&body).as_str()), (413, "payload_too_large"), "{}: {body}", path_type.0);
        }
    }
    // 10 GB announced, 1 KiB sent, then the client stops: refused or reported, never awaited
    // forever and never allocated.
    for path_type in [("/v1/mail", "message/rfc822"), ("/v1/registry-events", EVENTS)] {
        let (status, body) =
            post_raw(&addr, path_type.0, path_type.1, BodySend::Lying { declared: 10_000_000_000, sent: 1024 });
        assert!([400, 413].contains(&status), "{}: {status} {body}", path_type.0);
    }

    // Mail that is not mail: binary junk, a 900 KB header line, 15,000 nested multiparts.
    let mut junk: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    junk.extend_from_slice(b"\r\n\r\n\0\xff\xfe");
    let long_header = format!("Subject: {}\r\nFrom: a@b\r\n\r\nbody\r\n", "A".repeat(900_000));
    let mut nested = String::from("From: a@b\r\nSubject: [DSA 1-1] nested\r\n");
    for i in 0..15_000 {
        nested.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\nPackage : glibc\r\n");
    assert!(nested.len() < 1 << 20, "{}", nested.len());
    for (what, mail) in [("junk", junk), ("long header", long_header.into_bytes()), ("nested", nested.into_bytes())] {
        let (status, body) = server.post("/v1/mail", "message/rfc822", &mail, None);
        // Parsed or refused, with a JSON answer either way (the nested one looks like a DSA).
        assert!(matches!(status, 200 | 202 | 400), "{what}: {status} {body}");
        let answer: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"));
        match status {
            400 => assert_eq!(error_code(&body), "bad_request", "{what}"),
            _ => assert_eq!(answer["stored"], status == 202, "{what}: {body}"),
        }
    }

    // Envelopes nested 100,000 deep, both ways: 400 with a message.
    let arrays = format!("{{\"events\":{}", "[".repeat(100_000));
    let objects = format!("{{\"events\":[{{\"target\":{}", "{\"a\":".repeat(100_000));
    for envelope in [arrays, objects] {
        let (status, body) = server.post("/v1/registry-events", EVENTS, envelope.as_bytes(), None);
        assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"), "{body}");
    }

    // Still alive, still answering, and it never held much.
    assert_eq!(server.get("/healthz", None).0, 200);
    assert_eq!(server.get("/readyz", None).0, 200);
    let images = server.json("/v1/images");
    let items = images["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{images}");
    let peak = peak_rss(server.child_id());
    assert!(peak < 256 << 20, "serve's peak RSS is {} MiB", peak >> 20);
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    let (exit, _) = server.terminate();
    assert!(exit.success(), "{exit:?}");
}
