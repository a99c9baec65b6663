//! Fuzz target `pkgindex`: arbitrary bytes as each package-index format
//! (`actions::pkgindex::parse`: Debian `Packages`, `Sources`, Alpine `APKINDEX` plain or as a
//! tar.gz; gzip or plain) under small limits. Property: a parsed index is of its format's
//! ecosystem, and merging it into a copy of itself keeps its sources.
#![no_main]

use cascade::actions::pkgindex::{parse, IndexFormat};
use cascade_fuzz::INDEX_LIMITS;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [IndexFormat::DebPackages, IndexFormat::DebSources, IndexFormat::ApkIndex] {
        let Ok(index) = parse(format, "fuzz", data, &INDEX_LIMITS) else { continue };
        assert_eq!(index.ecosystem(), format.ecosystem());
        let mut merged = index.clone();
        merged.merge(index.clone());
        assert_eq!(merged.n_sources(), index.n_sources(), "merging an index into itself changed its sources");
        let _ = index.fix_available("openssl", "3.0.11-1~deb12u2");
    }
});
