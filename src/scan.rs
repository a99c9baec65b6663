//! The scan stage: resolve one image, read each layer once (or take its extract from the layer
//! cache), build the inventory and record it. The CLI's `scan` calls this; `serve` will call
//! it on its timer. Orchestration only: parsing lives in `images`, `layers` and `inventory`.

use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use crate::config::Config;
use crate::images::auth::Credentials;
use crate::images::digest::Digest;
use crate::images::manifest::Platform;
use crate::images::registry::RegistryOptions;
use crate::images::{ResolvedImage, Source, SourceRef};
use crate::inventory::{Inventory, InventoryBuilder};
use crate::layers::{self, LayerLimits};
use crate::store::Store;

/// Everything a scan needs besides the store.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub platform: Platform,
    pub limits: LayerLimits,
    pub registry: RegistryOptions,
}

impl ScanOptions {
    /// The config's platform, limits and registry settings, with credentials from
    /// `~/.docker/config.json` or `CASCADE_REGISTRY_CREDENTIALS`.
    pub fn from_config(config: &Config) -> Result<ScanOptions, crate::images::auth::AuthError> {
        let credentials = Credentials::load()?;
        Ok(ScanOptions {
            platform: config.platform.clone(),
            limits: config.limits,
            registry: RegistryOptions {
                insecure_registries: config.insecure_registries.clone(),
                timeout: config.registry_timeout,
                credentials,
                ..RegistryOptions::default()
            },
        })
    }
}

/// How one layer was read.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// True when the extract came from the layer cache and no blob was read.
    pub cached: bool,
}

/// The outcome of a scan: the resolved image, its inventory and how its layers were read.
#[derive(Debug, Clone)]
pub struct ScanReport {
    pub image: ResolvedImage,
    pub inventory: Inventory,
    pub layers: Vec<LayerReport>,
    pub image_id: i64,
}

/// Scans one image and stores its inventory. A layer that fails (corrupt, hostile, digest
/// mismatch) fails the whole scan and leaves the store as it was for that image.
pub fn scan(store: &mut Store, source_ref: &SourceRef, options: &ScanOptions) -> anyhow::Result<ScanReport> {
    let started = Instant::now();
    let span = tracing::info_span!("scan", image.reference = %source_ref);
    let _enter = span.enter();

    let source = Source::open(source_ref, &options.registry).with_context(|| format!("opening {source_ref}"))?;
    let config_cache = |d: &Digest| store.config_blob(d).ok().flatten();
    let (image, config_bytes) =
        source.resolve(&options.platform, &config_cache).with_context(|| format!("resolving {source_ref}"))?;
    store.put_config_blob(&image.config_digest, &config_bytes)?;
    tracing::debug!(image.digest = %image.manifest_digest, n_layers = image.layers.len(), "resolved");

    let mut builder = InventoryBuilder::new();
    let mut reports = Vec::with_capacity(image.layers.len());
    for (position, layer) in image.layers.iter().enumerate() {
        let cached = store.layer_extract(&layer.digest)?;
        let was_cached = cached.is_some();
        let extract = match cached {
            Some(extract) => extract,
            None => {
                let layer_started = Instant::now();
                let blob =
                    source.open_blob(layer).with_context(|| format!("opening layer {position} ({})", layer.digest))?;
                let extract = layers::read_layer(blob, &options.limits)
                    .with_context(|| format!("reading layer {position} ({})", layer.digest))?;
                // read_layer consumed the blob to EOF, so its digest has been verified.
                store.put_layer_extract(&layer.digest, &extract)?;
                tracing::debug!(
                    layer.digest = %layer.digest,
                    n_entries = extract.n_entries,
                    n_bytes = extract.n_bytes,
                    duration_ms = layer_started.elapsed().as_millis() as u64,
                    "layer read"
                );
                extract
            }
        };
        builder
            .add_layer(layer.digest.clone(), extract)
            .with_context(|| format!("applying layer {position} ({})", layer.digest))?;
        reports.push(LayerReport {
            digest: layer.digest.clone(),
            media_type: layer.media_type.clone(),
            size: layer.size,
            cached: was_cached,
        });
    }
    let inventory = builder.finish().with_context(|| format!("reading the package databases of {source_ref}"))?;
    for warning in &inventory.warnings {
        tracing::warn!(image.reference = %image.reference, "{warning}");
    }
    let saved = store.save_inventory(&image, &inventory)?;
    let image_id = saved.image_id;
    tracing::info!(
        image.digest = %image.manifest_digest,
        n_packages = inventory.packages.len(),
        n_cached_layers = reports.iter().filter(|l| l.cached).count(),
        duration_ms = started.elapsed().as_millis() as u64,
        "scanned"
    );
    Ok(ScanReport { image, inventory, layers: reports, image_id })
}
