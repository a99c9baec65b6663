//! Fuzz target `dpkg_status`: arbitrary bytes as `var/lib/dpkg/status`
//! (`inventory::dpkg::parse_status`), and the same bytes cut at NUL into distroless
//! `status.d` files (`inventory::dpkg::parse_status_d`).
#![no_main]

use cascade::inventory::dpkg::{parse_status, parse_status_d};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_status("var/lib/dpkg/status", data);
    let files: Vec<(String, &[u8])> = data
        .split(|&b| b == 0)
        .take(16)
        .enumerate()
        .map(|(i, part)| (format!("var/lib/dpkg/status.d/p{i}"), part))
        .collect();
    let _ = parse_status_d(&files);
});
