//! The watch stage: one round polls every watched tag (HEAD), re-indexes the images whose
//! digest changed (the layer cache makes that cheap), checks fixed versions against the
//! configured package mirrors, then lets `actions::plan` settle requested rebuilds, record
//! causes and decide new rebuilds, and finally sends the due triggers. `cascade watch` runs
//! rounds in the foreground; `cascade serve` runs them on a thread ([`WatchLoop`]).
//!
//! Everything a round learns is stored before it acts on it, so a restart resumes where the
//! last round stopped: a cause is recorded once per (image, key) and acts once; a rebuild
//! request is recorded before it is sent and retried from the store.

pub mod events;
pub mod poll;
pub mod spec;

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::actions::pkgindex::{IndexError, Installability, Mirrors, RefreshOutcome};
use crate::actions::plan::{self, Decision, Settlement, Snapshot};
use crate::actions::trigger::{self, RebuildRequest, TriggerOutcome};
use crate::feeds::fetch::FetchOptions;
use crate::graph::{self, GraphNode};
use crate::images::SourceRef;
use crate::scan::{self, ScanOptions};
use crate::store::watch::{AttemptOutcome, CauseKind, FixAvailability, FixCandidate, NewRebuild, RebuildRecord};
use crate::store::{Store, StoreError};
use spec::WatchConfig;

/// What one round did, for logs and `cascade watch --once`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoundReport {
    pub n_polled: usize,
    pub n_poll_failures: usize,
    pub n_changed: usize,
    pub n_indexed: usize,
    pub index_errors: Vec<String>,
    pub mirror_errors: Vec<String>,
    pub n_new_causes: usize,
    pub n_rebuilds_created: usize,
    pub n_triggers_sent: usize,
    pub n_trigger_failures: usize,
    pub n_confirmed: usize,
    pub n_timed_out: usize,
    /// Why waiting causes did not become rebuilds this round.
    pub held: Vec<String>,
    pub duration_ms: u64,
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The watch stage's state between rounds: config, package mirrors and the trigger client.
pub struct Watcher {
    config: WatchConfig,
    scan: ScanOptions,
    mirrors: Mirrors,
    mirrors_fetched: Option<Instant>,
    trigger_agent: ureq::Agent,
}

impl Watcher {
    /// Fails only on an invalid mirror definition (which config loading already checks).
    pub fn new(config: WatchConfig, scan: ScanOptions) -> Result<Watcher, IndexError> {
        let mirrors = Mirrors::new(config.mirrors.clone())?;
        let trigger_agent = trigger::agent(config.trigger_timeout);
        Ok(Watcher { config, scan, mirrors, mirrors_fetched: None, trigger_agent })
    }

    pub fn config(&self) -> &WatchConfig {
        &self.config
    }

    /// One round; see the module documentation. Store errors end the round; everything else
    /// (a registry down, a mirror failing, a receiver refusing) is recorded and reported.
    pub fn round(&mut self, store: &mut Store) -> Result<RoundReport, StoreError> {
        let started = Instant::now();
        let mut report = RoundReport::default();
        let references: Vec<String> = self.config.images.iter().map(|i| i.reference.clone()).collect();
        store.set_watched(&references)?;

        // 1. Poll: hinted tags first (a registry event asked for them), then the rest.
        let mut tags = store.watched_tags()?;
        tags.sort_by_key(|t| (t.hinted_at.is_none(), t.reference.clone()));
        let images: Vec<_> = tags
            .iter()
            .filter_map(|t| self.config.image(&t.reference).map(|w| (w.reference.clone(), w.image.clone())))
            .collect();
        let limits = poll::PollLimits {
            concurrency: self.config.registry_concurrency,
            requests_per_sec: self.config.registry_requests_per_sec,
        };
        let results = poll::poll(&images, &self.scan.registry, limits);
        report.n_polled = results.len();
        report.n_poll_failures =
            results.iter().filter(|(_, r)| matches!(r, crate::store::watch::PollResult::Failed(_))).count();
        store.record_polls(&results, unix_now())?;

        // 2. Re-index what changed.
        for tag in store.watched_tags()? {
            let Some(digest) = tag.digest.as_deref() else { continue };
            if tag.indexed_digest.as_deref() == Some(digest) {
                continue;
            }
            report.n_changed += 1;
            let Some(watched) = self.config.image(&tag.reference) else { continue };
            let mut indexed = None;
            for platform in &watched.platforms {
                let options = ScanOptions { platform: platform.clone(), ..self.scan.clone() };
                match scan::scan(store, &SourceRef::Registry(watched.image.clone()), &options) {
                    Ok(scanned) => {
                        let image = &scanned.image;
                        indexed = Some(image.index_digest.as_ref().unwrap_or(&image.manifest_digest).to_string());
                    }
                    Err(e) => {
                        tracing::warn!(image.reference = %tag.reference, %platform, error = format!("{e:#}"), "re-indexing failed");
                        report.index_errors.push(format!("{} ({platform}): {e:#}", tag.reference));
                        indexed = None;
                        break;
                    }
                }
            }
            if let Some(digest) = indexed {
                store.mark_indexed(&tag.reference, &digest)?;
                report.n_indexed += 1;
            }
        }

        // 3. Fixes of the intermediates, checked against the mirrors.
        let fixes = self.check_fixes(store, &mut report)?;

        // 4. Plan: settle requested rebuilds, record causes, decide new rebuilds.
        let nodes: BTreeMap<String, GraphNode> =
            store.graph_nodes(&self.scan.platform.to_string())?.into_iter().map(|n| (n.reference.clone(), n)).collect();
        let node_list: Vec<GraphNode> = nodes.values().cloned().collect();
        let graph = graph::build(&node_list, &self.configured_parents(), &store.remembered_edges()?);
        for warning in &graph.warnings {
            tracing::warn!("{warning}");
        }
        // Configured parents come from the config every time; only discovered ones are kept.
        let discovered: Vec<_> =
            graph.parents.values().filter(|e| e.source != graph::EdgeSource::Config).cloned().collect();
        store.remember_edges(&discovered, unix_now())?;
        let tags: BTreeMap<String, _> = store.watched_tags()?.into_iter().map(|t| (t.reference.clone(), t)).collect();
        let intermediates: BTreeMap<String, String> = self
            .config
            .images
            .iter()
            .filter_map(|i| i.trigger.as_ref().map(|t| (i.reference.clone(), t.describe())))
            .collect();
        let settle_secs = self.config.settle.as_secs() as i64;
        let rebuild_timeout_secs = self.config.rebuild_timeout.as_secs() as i64;
        let now = unix_now();
        let open = store.open_rebuilds()?;
        let waiting = store.waiting_causes()?;
        let view = Snapshot {
            now,
            policy: &self.config.policy,
            settle_secs,
            rebuild_timeout_secs,
            graph: &graph,
            nodes: &nodes,
            tags: &tags,
            intermediates: &intermediates,
            open_rebuilds: &open,
            waiting: &waiting,
            fixes: &fixes,
        };
        for settlement in plan::settle(&view) {
            match settlement {
                Settlement::Confirm { rebuild_id, new_digest } => {
                    tracing::info!(rebuild.id = rebuild_id, image.digest = %new_digest, "rebuild confirmed");
                    store.confirm_rebuild(rebuild_id, &new_digest, now)?;
                    report.n_confirmed += 1;
                }
                Settlement::TimeOut { rebuild_id, error } => {
                    tracing::warn!(rebuild.id = rebuild_id, "{error}");
                    store.time_out_rebuild(rebuild_id, now, &error)?;
                    report.n_timed_out += 1;
                }
            }
        }
        let open = store.open_rebuilds()?;
        let view = Snapshot { open_rebuilds: &open, ..view };
        for cause in plan::observe(&view) {
            if store.record_cause(&cause)? {
                tracing::info!(image.reference = %cause.image, cause = %cause.key, "rebuild cause observed");
                report.n_new_causes += 1;
            }
        }
        let waiting = store.waiting_causes()?;
        let view = Snapshot { waiting: &waiting, ..view };
        let (decisions, held) = plan::decide(&view);
        for reason in &held {
            tracing::debug!("rebuild held: {reason}");
        }
        report.held = held;
        for decision in decisions {
            match decision {
                Decision::Create {
                    image,
                    parent,
                    old_parent_digest,
                    new_parent_digest,
                    old_digest,
                    trigger,
                    cause_keys,
                } => {
                    let id = store.create_rebuild(&NewRebuild {
                        image: image.clone(),
                        parent,
                        old_parent_digest,
                        new_parent_digest,
                        old_digest,
                        trigger,
                        created_at: now,
                        cause_keys: cause_keys.clone(),
                    })?;
                    tracing::info!(rebuild.id = id, image.reference = %image, causes = ?cause_keys, "rebuild planned");
                    report.n_rebuilds_created += 1;
                }
                Decision::Attach { rebuild_id, image, cause_keys } => {
                    store.add_causes(rebuild_id, &image, &cause_keys)?;
                }
            }
        }

        // 5. Send what is due.
        self.deliver(store, &mut report)?;
        report.duration_ms = started.elapsed().as_millis() as u64;
        tracing::info!(
            n_polled = report.n_polled,
            n_changed = report.n_changed,
            n_indexed = report.n_indexed,
            n_new_causes = report.n_new_causes,
            n_triggers_sent = report.n_triggers_sent,
            duration_ms = report.duration_ms,
            "watch round done"
        );
        Ok(report)
    }

    fn configured_parents(&self) -> Vec<(String, String)> {
        self.config.images.iter().filter_map(|i| i.parent.as_ref().map(|p| (i.reference.clone(), p.clone()))).collect()
    }

    /// The fixable findings of every intermediate, each with whether it counts as
    /// installable; records what the mirrors said.
    fn check_fixes(
        &mut self,
        store: &mut Store,
        report: &mut RoundReport,
    ) -> Result<BTreeMap<String, Vec<(FixCandidate, bool)>>, StoreError> {
        let mut fixes = BTreeMap::new();
        for image in self.config.images.iter().filter(|i| i.trigger.is_some()) {
            let candidates = store.fix_candidates(&image.reference)?;
            if !candidates.is_empty() {
                fixes.insert(image.reference.clone(), candidates);
            }
        }
        if fixes.is_empty() {
            return Ok(BTreeMap::new());
        }
        let stale = self.mirrors_fetched.is_none_or(|at| at.elapsed() >= self.config.interval);
        if stale && !self.config.mirrors.is_empty() {
            for r in self.mirrors.refresh(&FetchOptions::default()) {
                if let RefreshOutcome::Failed(error) = r.outcome {
                    tracing::warn!(mirror.url = %r.url, %error, "package index refresh failed");
                    report.mirror_errors.push(error.to_string());
                }
            }
            self.mirrors_fetched = Some(Instant::now());
        }
        let mut availability = Vec::new();
        let mut out = BTreeMap::new();
        for (image, candidates) in fixes {
            let mut checked = Vec::with_capacity(candidates.len());
            for c in candidates {
                let verdict = self.mirrors.installable(&c.distro, &c.release, &c.package, &c.fixed_version);
                let (state, available_version, reason) = match &verdict {
                    Installability::Installable { version } => ("installable", Some(version.clone()), None),
                    Installability::NotYet { best } => ("not-yet", best.clone(), None),
                    Installability::Unknown { reason } => ("unknown", None, Some(reason.clone())),
                };
                availability.push(FixAvailability {
                    distro: c.distro.clone(),
                    release: c.release.clone(),
                    package: c.package.clone(),
                    fixed_version: c.fixed_version.clone(),
                    state: state.to_string(),
                    available_version,
                    reason,
                });
                let counts = !self.config.policy.fixable_only || matches!(verdict, Installability::Installable { .. });
                checked.push((c, counts));
            }
            out.insert(image, checked);
        }
        store.record_fix_availability(&availability, unix_now())?;
        Ok(out)
    }

    /// Sends every pending rebuild whose attempt is due and records the outcome.
    fn deliver(&self, store: &mut Store, report: &mut RoundReport) -> Result<(), StoreError> {
        let now = unix_now();
        for rebuild in store.open_rebuilds()? {
            if rebuild.status != crate::store::watch::RebuildStatus::Pending
                || rebuild.next_attempt_at.is_some_and(|at| at > now)
            {
                continue;
            }
            let Some(spec) = self.config.image(&rebuild.image).and_then(|i| i.trigger.as_ref()) else {
                // The image lost its trigger in the config since the rebuild was planned.
                store.record_attempt(
                    rebuild.id,
                    &AttemptOutcome::Failed { error: "the image no longer has a trigger in the config".into() },
                    now,
                )?;
                continue;
            };
            let request = rebuild_request(&rebuild);
            let sent = trigger::resolve_secret(spec)
                .and_then(|secret| trigger::prepare(spec, secret.as_ref(), &request))
                .map(|prepared| trigger::send(&self.trigger_agent, &prepared));
            let attempt = rebuild.n_attempts + 1;
            let outcome = match sent {
                Ok(TriggerOutcome::Accepted { status, detail }) => {
                    report.n_triggers_sent += 1;
                    let response = match detail {
                        Some(detail) => format!("http {status}: {detail}"),
                        None => format!("http {status}"),
                    };
                    tracing::info!(rebuild.id = rebuild.id, image.reference = %rebuild.image, trigger = %rebuild.trigger, %response, "rebuild requested");
                    AttemptOutcome::Accepted { response }
                }
                Ok(TriggerOutcome::Retryable { status, error, retry_after }) => {
                    report.n_trigger_failures += 1;
                    let error = match status {
                        Some(status) => format!("http {status}: {error}"),
                        None => error,
                    };
                    self.retry_or_fail(attempt, error, retry_after, now)
                }
                Ok(TriggerOutcome::Rejected { status, error }) => {
                    report.n_trigger_failures += 1;
                    self.retry_or_fail(attempt, format!("http {status}: {error}"), None, now)
                }
                // A missing secret or an invalid trigger: retrying will not help until the
                // config or environment changes, but the operator may fix that in time.
                Err(e) => {
                    report.n_trigger_failures += 1;
                    self.retry_or_fail(attempt, e.to_string(), None, now)
                }
            };
            if let AttemptOutcome::Retry { error, .. } | AttemptOutcome::Failed { error } = &outcome {
                tracing::warn!(rebuild.id = rebuild.id, image.reference = %rebuild.image, trigger = %rebuild.trigger, attempt, %error, "rebuild trigger failed");
            }
            store.record_attempt(rebuild.id, &outcome, now)?;
        }
        Ok(())
    }

    /// A failed attempt is retried after `retry_initial` doubled per attempt (or Retry-After
    /// when longer), until `max_attempts`.
    fn retry_or_fail(&self, attempt: i64, error: String, retry_after: Option<Duration>, now: i64) -> AttemptOutcome {
        if attempt >= i64::from(self.config.max_attempts) {
            return AttemptOutcome::Failed { error: format!("{error} (after {attempt} attempts)") };
        }
        let backoff = self.config.retry_initial.saturating_mul(1u32 << (attempt - 1).clamp(0, 16) as u32);
        let wait = retry_after.map_or(backoff, |r| r.max(backoff));
        AttemptOutcome::Retry { error, next_attempt_at: now + wait.as_secs() as i64 }
    }
}

/// What a receiver is told about a rebuild.
fn rebuild_request(rebuild: &RebuildRecord) -> RebuildRequest {
    let mut causes: Vec<String> = rebuild.causes.iter().map(|c| c.kind.as_str().to_string()).collect();
    causes.dedup();
    RebuildRequest {
        rebuild_id: rebuild.id,
        image: rebuild.image.clone(),
        parent: rebuild.parent.clone(),
        old_parent_digest: rebuild.old_parent_digest.clone(),
        new_parent_digest: rebuild.new_parent_digest.clone(),
        advisories: rebuild
            .causes
            .iter()
            .filter(|c| c.kind == CauseKind::AdvisoryFixInstallable)
            .filter_map(|c| c.advisory_id.clone())
            .collect(),
        causes,
    }
}

/// Runs watch rounds on a thread for `cascade serve`: every `interval`, or sooner when a
/// registry event arrives ([`WatchLoop::wake`]).
pub struct WatchLoop {
    wake: mpsc::Sender<Message>,
    done: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
}

enum Message {
    Wake,
    Stop,
}

/// A handle that asks the watch loop to run a round now.
#[derive(Clone)]
pub struct WakeHandle(mpsc::Sender<Message>);

impl WakeHandle {
    pub fn wake(&self) {
        let _ = self.0.send(Message::Wake);
    }
}

impl WatchLoop {
    pub fn start(mut store: Store, mut watcher: Watcher) -> WatchLoop {
        let (wake_tx, wake_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let interval = watcher.config.interval.max(Duration::from_secs(1));
        tracing::info!(n_images = watcher.config.images.len(), interval_secs = interval.as_secs(), "watcher started");
        let thread = std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || {
                crate::background::lower_thread_priority();
                loop {
                    if let Err(e) = watcher.round(&mut store) {
                        tracing::error!(error = %e, "watch round failed");
                    }
                    let mut stop = match wake_rx.recv_timeout(interval) {
                        Ok(Message::Wake) | Err(RecvTimeoutError::Timeout) => false,
                        Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    // Several events in a burst make one round.
                    while let Ok(message) = wake_rx.try_recv() {
                        stop |= matches!(message, Message::Stop);
                    }
                    if stop {
                        break;
                    }
                }
                let _ = done_tx.send(());
            })
            .expect("spawning the watch thread");
        WatchLoop { wake: wake_tx, done: done_rx, thread }
    }

    pub fn handle(&self) -> WakeHandle {
        WakeHandle(self.wake.clone())
    }

    /// Stops after the running round, waiting up to `grace`.
    pub fn stop(self, grace: Duration) {
        let _ = self.wake.send(Message::Stop);
        match self.done.recv_timeout(grace) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _ = self.thread.join();
            }
            Err(RecvTimeoutError::Timeout) => {
                tracing::warn!(grace_secs = grace.as_secs(), "a watch round is still running; exiting without it")
            }
        }
    }
}

/// One image of the graph as `cascade images graph` and `GET /v1/images/{ref}/graph` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEntry {
    pub reference: String,
    /// The indexed digest (index digest for multi-platform images), when indexed.
    pub digest: Option<String>,
    pub parent: Option<graph::Edge>,
    /// Whether the image is built on its parent's current layers.
    pub freshness: Option<graph::Freshness>,
    pub watched: bool,
    /// The trigger's description, for intermediates.
    pub trigger: Option<String>,
    /// Images built directly on this one.
    pub children: Vec<String>,
}

/// Every image the graph knows (indexed or watched), by reference.
pub fn graph_entries(store: &Store, config: &WatchConfig, platform: &str) -> Result<Vec<GraphEntry>, StoreError> {
    let nodes = store.graph_nodes(platform)?;
    let configured: Vec<(String, String)> =
        config.images.iter().filter_map(|i| i.parent.as_ref().map(|p| (i.reference.clone(), p.clone()))).collect();
    let graph = graph::build(&nodes, &configured, &store.remembered_edges()?);
    let by_reference: BTreeMap<&str, &GraphNode> = nodes.iter().map(|n| (n.reference.as_str(), n)).collect();
    let mut references: Vec<String> = nodes.iter().map(|n| n.reference.clone()).collect();
    references.extend(config.images.iter().map(|i| i.reference.clone()));
    references.extend(graph.parents.values().map(|e| e.parent.clone()));
    references.sort();
    references.dedup();
    Ok(references
        .into_iter()
        .map(|reference| {
            let node = by_reference.get(reference.as_str());
            let parent = graph.parents.get(&reference).cloned();
            let freshness = parent.as_ref().and_then(|edge| {
                let parent_node = by_reference.get(edge.parent.as_str())?;
                Some(graph::freshness(node?, parent_node))
            });
            let watched = config.image(&reference);
            GraphEntry {
                digest: node.and_then(|n| n.index_digest.clone().or_else(|| n.manifest_digest.clone())),
                parent,
                freshness,
                watched: watched.is_some(),
                trigger: watched.and_then(|w| w.trigger.as_ref()).map(|t| t.describe()),
                children: graph::children_of(&graph, &reference).into_iter().map(str::to_string).collect(),
                reference,
            }
        })
        .collect())
}
