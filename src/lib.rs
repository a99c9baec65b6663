//! cascade keeps an organisation's container images patched.
//!
//! # Code map (modules in data-flow order)
//!
//! ```text
//! feeds/*.toml ─► feeds (definition, fetch, formats::* parsers) ─┐
//! mailboxes, list archives ─► mail (message and body parsers) ───┴─► store (ingest → change set)
//!
//! image reference ─► images (registry / oci-dir / oci-archive / docker-archive)
//!                      │ manifests and blobs, every digest verified
//!                      ▼
//!                    layers (stream gzip/zstd/tar once, keep only the files that matter)
//!                      │ one `LayerExtract` per layer, cached by layer digest in the store
//!                      ▼
//!                    inventory (overlay the extracts, detect the OS, parse dpkg/apk/rpm)
//!                      │ `Inventory`: distro, release, packages with source names and layers
//!                      ▼
//!                    scan (the stage the CLI and `serve` call) ─► store
//!
//! store: every ingest and every scan updates the findings in its own transaction
//!        (correlate: the matching rules; versions: dpkg/apk/rpm comparison)
//!          └─► store::queries ─► api (HTTP), output (CLI tables, JSON, SARIF, CycloneDX)
//!
//! watch round: poll watched tags (HEAD) ─► scan what changed ─► graph (parents, staleness)
//!   ─► actions::pkgindex (is the fix installable?) ─► actions::plan (causes, cascade order)
//!   ─► store::watch (causes, rebuild records) ─► actions::trigger (CI receivers)
//!
//! notifications: events (written with the change) ─► notify (route into the outbox, once)
//!   ─► Slack / signed webhooks (paced, retried, dead-lettered)
//! ```
//!
//! - [`config`]: built-in defaults, `cascade.toml`, `CASCADE_*` environment variables.
//! - [`telemetry`]: tracing setup (`RUST_LOG`, `RUST_LOG_FORMAT=json`).
//! - [`background`]: the lower CPU priority of background threads (sync, watch, notify).
//! - [`clock`]: UTC timestamps; [`http`]: retry and backoff rules shared by the HTTP clients.
//! - [`advisories`]: the normalised advisory model and change sets; pure types.
//! - [`feeds`]: feed definitions, fetching, one parser per document format, the sync stage.
//! - [`mail`]: mailboxes and archives, MIME/PGP text, DSA/DLA/USN/RHSA body parsers, import.
//! - [`images`]: image references, digests, manifest types and the image sources.
//! - [`layers`]: the streaming layer reader and its limits; pure over a `Read`.
//! - [`inventory`]: overlay of layer extracts, OS detection, package database parsers; no IO.
//! - [`versions`]: version comparison per ecosystem (dpkg, apk, rpm); total orders.
//! - [`correlate`]: does an advisory entry affect an installed package; the match policy
//!   and finding deltas; pure.
//! - [`store`]: the only module that speaks SQL; migrations come from `schema/`. Findings are
//!   computed in `store::findings` (per package state), read in `store::queries`.
//! - [`scan`]: orchestration of one image scan, with the layer cache.
//! - [`graph`]: the image graph (config, base annotations, layer-prefix inference); pure.
//! - [`actions`]: package-index checks, the rebuild planner (pure), rebuild triggers.
//! - [`watch`]: the watch config, polling, registry events, and the watch round that `serve`
//!   runs on its interval and `cascade watch` runs once.
//! - [`notify`]: notification routes, Slack rendering, the outbox router and sender.
//! - [`output`]: rendering of command results (tables, lines, JSON, SARIF, CycloneDX).
//! - [`api`]: the HTTP API (axum, `/v1`, bearer tokens, metrics, OpenAPI) and the `serve`
//!   stage with its feed scheduler; its queries live in `store::queries`.
//! - [`cli`]: the clap command tree; `main.rs` only calls [`cli::run`].
//!
//! # Invariants
//!
//! - No bytes from a manifest or blob are used before their digest is verified;
//!   a layer extract is stored only after the whole blob matched its digest.
//! - Layers are never unpacked to disk; memory per layer is bounded by [`layers::LayerLimits`].
//! - Parsers (`inventory::*`, `feeds::formats::*`, the `mail` body parsers,
//!   `images::manifest`, `images::reference`) do no IO.
//! - When nothing identifies an image's OS, the inventory says so; it never guesses.
//! - An ingest is one transaction: a fetch or parse failure leaves the feed's previous data.
//! - Findings never lag: they change in the same transaction as the entries or packages
//!   they follow; a full rebuild gives the same findings as the incremental updates.
//! - A notification event commits with its change and is routed into the outbox exactly once.
//! - A rebuild cause acts at most once per image; a rebuild request is stored before it is
//!   sent; a child is never triggered before its parent's new digest has been indexed.

pub mod background;
pub mod clock;
pub mod config;
pub mod http;
pub mod telemetry;

pub mod advisories;
pub mod feeds;
pub mod mail;

pub mod actions;
pub mod correlate;
pub mod graph;
pub mod images;
pub mod inventory;
pub mod layers;
pub mod output;
pub mod scan;
pub mod store;
pub mod versions;

pub mod notify;
pub mod watch;

pub mod api;

pub mod cli;
