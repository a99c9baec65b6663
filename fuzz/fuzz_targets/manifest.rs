//! Fuzz target `manifest`: arbitrary bytes as a registry manifest document
//! (`images::manifest::parse_document`) with no Content-Type and with each media type cascade
//! reads (plus a generic and an unknown one), then platform selection on every index; the same
//! bytes as an image config blob (`images::manifest::ImageConfig`), and the first line as a
//! platform string (`images::manifest::Platform::parse`). Properties: a selected manifest is
//! for the wanted os/arch; a parsed platform prints to a string that parses to itself.
#![no_main]

use cascade::images::manifest::{
    is_attestation, parse_document, select_platform, Document, ImageConfig, Platform, DOCKER_LIST, DOCKER_MANIFEST,
    OCI_INDEX, OCI_MANIFEST,
};
use libfuzzer_sys::fuzz_target;

const HEADER_TYPES: &[Option<&str>] = &[
    None,
    Some(OCI_INDEX),
    Some(OCI_MANIFEST),
    Some(DOCKER_LIST),
    Some(DOCKER_MANIFEST),
    Some("application/json; charset=utf-8"),
    Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
];

fn wanted_platforms() -> Vec<Platform> {
    ["linux/amd64", "linux/arm64", "linux/arm64/v8", "linux/arm/v7", "windows/amd64"]
        .iter()
        .map(|p| Platform::parse(p).expect("a valid platform"))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let wanted = wanted_platforms();
    for header_type in HEADER_TYPES {
        match parse_document(*header_type, data) {
            Ok(Document::Index(index)) => {
                for d in &index.manifests {
                    let _ = is_attestation(d);
                }
                for w in &wanted {
                    if let Ok(d) = select_platform(&index, w) {
                        let p = d.platform.as_ref().expect("a selected manifest has a platform");
                        assert!(p.os == w.os && p.architecture == w.architecture, "selected {p} for {w}");
                    }
                }
            }
            Ok(Document::Manifest(manifest)) => {
                let _ = manifest.layers.len();
            }
            Err(_) => {}
        }
    }
    let _ = serde_json::from_slice::<ImageConfig>(data);

    let line = String::from_utf8_lossy(data.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
    if let Ok(platform) = Platform::parse(&line) {
        let again = Platform::parse(&platform.to_string()).expect("a printed platform parses");
        assert_eq!(again, platform, "platform {line:?} does not round-trip");
    }
});
