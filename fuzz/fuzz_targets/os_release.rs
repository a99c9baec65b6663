//! Fuzz target `os_release`: OS identification (`inventory::os::detect`) over arbitrary release
//! files. The input is given whole as each release file alone, then cut at NUL bytes into
//! `etc/os-release`, `usr/lib/os-release`, `etc/lsb-release`, ... (an empty part is a missing
//! file). Property: the identified OS names a file that was present as its source.
#![no_main]

use cascade::inventory::os::{self, OsRelease};
use cascade_fuzz::split_n;
use libfuzzer_sys::fuzz_target;

/// Every file `detect` reads, in its order of preference.
const FILES: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/lsb-release",
    "etc/alpine-release",
    "etc/debian_version",
    "etc/system-release",
    "etc/redhat-release",
];

fn detect(files: &[(&str, &[u8])]) -> Option<OsRelease> {
    let read = |path: &str| files.iter().find(|(p, c)| *p == path && !c.is_empty()).map(|(_, c)| c.to_vec());
    let found = os::detect(&read);
    if let Some(found) = &found {
        assert!(
            files.iter().any(|(p, c)| *p == found.source_file && !c.is_empty()),
            "source file {:?} was not present",
            found.source_file
        );
        let _ = os::debian_codename(&found.release);
        let _ = os::ubuntu_codename(&found.release);
        if let Some(codename) = &found.codename {
            let _ = os::debian_release_for_codename(codename);
            let _ = os::ubuntu_release_for_codename(codename);
        }
    }
    found
}

fuzz_target!(|data: &[u8]| {
    for path in FILES {
        detect(&[(path, data)]);
    }
    let parts = split_n(data, 0, FILES.len());
    let files: Vec<(&str, &[u8])> = FILES.iter().copied().zip(parts).collect();
    detect(&files);
});
