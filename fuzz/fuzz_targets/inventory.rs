//! Fuzz target `inventory`: arbitrary bytes cut into layers at `--cascade-layer--`, each read
//! with `layers::read_layer` and stacked with `inventory::InventoryBuilder` (overlay with
//! whiteouts, symlinks and hard links, OS detection, dpkg/apk/rpm readers). Property: every
//! package is attributed to one of the image's layers.
#![no_main]

use cascade::images::digest::Digest;
use cascade::inventory::InventoryBuilder;
use cascade::layers::read_layer;
use cascade_fuzz::{split_on, LAYER_LIMITS};
use libfuzzer_sys::fuzz_target;

/// Separates the layers of one input; seeds are written with it.
const LAYER_SEPARATOR: &[u8] = b"--cascade-layer--";

fuzz_target!(|data: &[u8]| {
    let mut builder = InventoryBuilder::new();
    let mut digests = Vec::new();
    for layer in split_on(data, LAYER_SEPARATOR).into_iter().take(8) {
        let Ok(extract) = read_layer(layer, &LAYER_LIMITS) else { continue };
        let digest = Digest::sha256_of(layer);
        digests.push(digest.clone());
        if builder.add_layer(digest, extract).is_err() {
            return;
        }
    }
    let Ok(inventory) = builder.finish() else { return };
    for installed in &inventory.packages {
        assert!(digests.contains(&installed.layer), "package {} from an unknown layer", installed.package.name);
    }
});
