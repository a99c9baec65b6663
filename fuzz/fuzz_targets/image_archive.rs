//! Fuzz target `image_archive`: arbitrary bytes as a local image file, opened as
//! `oci-archive:` and as `docker-archive:` (`images::Source::open`, `images::archive`: the tar
//! index, `index.json`, `oci-layout`, `manifest.json`, digest checks), resolved for
//! linux/amd64 (`images::Source::resolve`: manifests, platform selection, config), and each
//! layer streamed through its verifying reader into `layers::read_layer`, as a scan does.
//! The input is written to one temporary file per process (these sources read from a path).
//! Property: a layer whose verified stream read to its end was read under the limits.
#![no_main]

use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use cascade::images::manifest::Platform;
use cascade::images::registry::RegistryOptions;
use cascade::images::{Source, SourceRef};
use cascade::layers::read_layer;
use cascade_fuzz::LAYER_LIMITS;
use libfuzzer_sys::fuzz_target;

/// Layers read per input, at most.
const MAX_LAYERS: usize = 4;

/// The private directory this process writes its inputs into, under `$TMPDIR`. libFuzzer
/// exits without running destructors, so it is kept: `scripts/fuzz` points `TMPDIR` at
/// `fuzz/tmp/` and empties that after each run.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("image-archive-").tempdir().expect("a scratch directory");
        dir.keep()
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch().join("image.tar");
    std::fs::write(&path, data).expect("write the input");
    let wanted = Platform::parse("linux/amd64").expect("a platform");
    let options = RegistryOptions::default();
    for tag in [None, Some("latest".to_string())] {
        for source in [
            SourceRef::OciArchive { path: path.clone(), tag: tag.clone() },
            SourceRef::DockerArchive { path: path.clone(), tag: tag.clone() },
        ] {
            let Ok(opened) = Source::open(&source, &options) else { continue };
            let Ok((image, _config)) = opened.resolve(&wanted, &|_| None) else { continue };
            let _ = image.declared_base();
            for layer in image.layers.iter().take(MAX_LAYERS) {
                let Ok(mut blob) = opened.open_blob(layer) else { continue };
                if let Ok(extract) = read_layer(&mut blob, &LAYER_LIMITS) {
                    // read_layer read the stream to its end, so the digest was checked.
                    assert!(extract.n_entries <= LAYER_LIMITS.max_entries);
                    let mut rest = Vec::new();
                    let _ = blob.read_to_end(&mut rest);
                }
            }
        }
    }
});
