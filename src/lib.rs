//! cascade keeps an organisation's container images patched.
//!
//! # Code map (modules in data-flow order)
//!
//! ```text
//! image reference ─► images (registry / oci-dir / oci-archive / docker-archive)
//!                      │ manifests and blobs, every digest verified
//!                      ▼
//!                    layers (stream gzip/zstd/tar once, keep only the files that matter)
//!                      │ one `LayerExtract` per layer, cached by layer digest in the store
//!                      ▼
//!                    inventory (overlay the extracts, detect the OS, parse dpkg/apk/rpm)
//!                      │ `Inventory`: distro, release, packages with source names and layers
//!                      ▼
//!                    scan (the stage the CLI and `serve` call) ─► store ─► output
//! ```
//!
//! - [`config`]: built-in defaults, `cascade.toml`, `CASCADE_*` environment variables.
//! - [`telemetry`]: tracing setup (`RUST_LOG`, `RUST_LOG_FORMAT=json`).
//! - [`http`]: retry and backoff rules shared by the HTTP clients.
//! - [`images`]: image references, digests, manifest types and the image sources.
//! - [`layers`]: the streaming layer reader and its limits; pure over a `Read`.
//! - [`inventory`]: overlay of layer extracts, OS detection, package database parsers; no IO.
//! - [`store`]: the only module that speaks SQL; migrations come from `schema/`.
//! - [`scan`]: orchestration of one image scan, with the layer cache.
//! - [`output`]: table and JSON rendering of a scan.
//! - [`cli`]: the clap command tree; `main.rs` only calls [`cli::run`].
//!
//! # Invariants
//!
//! - No bytes from a manifest or blob are used before their digest is verified;
//!   a layer extract is stored only after the whole blob matched its digest.
//! - Layers are never unpacked to disk; memory per layer is bounded by [`layers::LayerLimits`].
//! - Parsers (`inventory::*`, `images::manifest`, `images::reference`) do no IO.
//! - When nothing identifies an image's OS, the inventory says so; it never guesses.

pub mod clock;
pub mod config;
pub mod http;
pub mod telemetry;

pub mod advisories;
pub mod feeds;
pub mod mail;

pub mod images;
pub mod inventory;
pub mod layers;
pub mod output;
pub mod scan;
pub mod store;

pub mod cli;
