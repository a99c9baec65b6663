//! Notifications through a durable outbox. Three steps, each safe to stop at any point:
//!
//! 1. The store writes an *event* in the same transaction as the change that causes it (an
//!    ingest's or a scan's findings, a rebuild's progress, a fix becoming installable).
//! 2. [`route_events`] turns each event into messages per route (`spec`): an advisory is
//!    announced once per route, later changes are follow-ups; low-severity findings may be
//!    held for a digest. The messages, what was announced and the event's `routed` mark are
//!    written in one transaction, so an event is routed exactly once.
//! 3. [`deliver`] sends the first pending message of each route (messages of one route go out
//!    in order), at most one per `min_interval` per route, with retries, Retry-After on 429
//!    and a dead-letter state.
//!
//! `cascade serve` runs the three on a thread ([`NotifyLoop`]); `cascade notify send` runs
//! steps 2 and 3 once. Rendering is in `slack` (Block Kit) and [`webhook_body`].

pub mod slack;
pub mod spec;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::actions::hmac;
use crate::advisories::Severity;
use crate::http::parse_retry_after;
use crate::store::notifications::{NewMessage, NotificationEvent, Routing};
use crate::store::{Store, StoreError};
use crate::watch::spec::WatchConfig;
use slack::{
    AdvisoryNotice, DigestLine, DigestNotice, ImageGroup, ImageLine, NoticeKind, PackageLine, RebuildLine,
    RebuildNotice,
};
use spec::{NotifyConfig, Route, SecretSource, TargetKind};

/// Events routed per pass, so that a burst does not hold the writer for long.
const EVENTS_PER_PASS: usize = 100;
/// Response bodies read from a webhook, at most.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024;
pub const SIGNATURE_HEADER: &str = "X-Cascade-Signature-256";

fn unix_now() -> i64 {
    crate::watch::unix_now()
}

/// What a pass did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PassReport {
    pub n_events: usize,
    pub n_messages: usize,
    pub n_delivered: usize,
    pub n_failed: usize,
    pub n_dead: usize,
}

/// An advisory finding change as the event carries it.
#[derive(Debug, Clone, serde::Deserialize)]
struct Change {
    image: String,
    package: String,
    version: String,
    #[serde(default)]
    fixed_version: Option<String>,
}

/// The resolved findings of a `findings` event (what was added is read back from the store,
/// which knows the advisory's current images).
#[derive(Debug, Clone, Default, serde::Deserialize)]
struct FindingsDetail {
    #[serde(default)]
    resolved: Vec<Change>,
}

/// The image graph as far as messages need it: each image's parent.
struct Parents(BTreeMap<String, String>);

impl Parents {
    fn load(store: &Store, watch: &WatchConfig, platform: &str) -> Result<Parents, StoreError> {
        let entries = crate::watch::graph_entries(store, watch, platform)?;
        Ok(Parents(entries.into_iter().filter_map(|e| e.parent.map(|p| (e.reference, p.parent))).collect()))
    }

    /// Groups images under the highest ancestor that is in the set too (intermediate →
    /// children); order: roots by reference, children by reference.
    fn group(&self, images: Vec<ImageLine>) -> Vec<ImageGroup> {
        let present: BTreeSet<String> = images.iter().map(|i| i.reference.clone()).collect();
        let root_of = |reference: &str| {
            let mut root = reference.to_string();
            let mut current = reference.to_string();
            let mut hops = 0;
            while let Some(parent) = self.0.get(&current) {
                hops += 1;
                if hops > 64 {
                    break;
                }
                if present.contains(parent) {
                    root = parent.clone();
                }
                current = parent.clone();
            }
            root
        };
        let mut groups: BTreeMap<String, (Option<ImageLine>, Vec<ImageLine>)> = BTreeMap::new();
        for line in images {
            let root = root_of(&line.reference);
            let group = groups.entry(root.clone()).or_default();
            if root == line.reference {
                group.0 = Some(line);
            } else {
                group.1.push(line);
            }
        }
        groups
            .into_iter()
            .filter_map(|(_, (root, mut children))| {
                children.sort_by(|a, b| a.reference.cmp(&b.reference));
                Some(ImageGroup { root: root?, children })
            })
            .collect()
    }
}

/// Routes every unrouted event (up to a pass's worth) and flushes due digests.
pub fn route_events(
    store: &mut Store,
    config: &NotifyConfig,
    watch: &WatchConfig,
    platform: &str,
) -> Result<PassReport, StoreError> {
    let mut report = PassReport::default();
    let events = store.unrouted_events(EVENTS_PER_PASS)?;
    let parents = if events.is_empty() { Parents(BTreeMap::new()) } else { Parents::load(store, watch, platform)? };
    for event in events {
        let routing = route_one(store, config, &parents, &event)?;
        report.n_messages += routing.messages.len();
        store.apply_routing(Some(event.id), &routing, &[], unix_now())?;
        report.n_events += 1;
    }
    report.n_messages += flush_digests(store, config, unix_now())?;
    Ok(report)
}

fn route_one(
    store: &Store,
    config: &NotifyConfig,
    parents: &Parents,
    event: &NotificationEvent,
) -> Result<Routing, StoreError> {
    match event.kind.as_str() {
        "findings" | "fix-installable" => route_advisory(store, config, parents, event),
        "rebuild" => route_rebuild(store, config, event),
        other => {
            tracing::warn!(event.id = event.id, kind = other, "unknown notification event; skipped");
            Ok(Routing::default())
        }
    }
}

fn advisory_subject(feed: &str, id: &str) -> String {
    format!("advisory:{feed}/{id}")
}

/// The installability the watcher recorded for a package's fix.
fn fix_state(
    store: &Store,
    image: &crate::store::queries::ImageSummary,
    package: &crate::store::queries::AffectedPackage,
) -> Option<String> {
    let (distro, release) = (image.distro.as_deref()?, image.release.as_deref()?);
    let fixed = package.fixed_version.as_deref()?;
    for key in [&package.source_name, &package.name] {
        if let Ok(Some(a)) = store.fix_availability(distro, release, key, fixed) {
            return Some(a.state);
        }
    }
    None
}

fn route_advisory(
    store: &Store,
    config: &NotifyConfig,
    parents: &Parents,
    event: &NotificationEvent,
) -> Result<Routing, StoreError> {
    let mut routing = Routing::default();
    let (Some(feed), Some(advisory_id)) = (&event.feed, &event.advisory_id) else { return Ok(routing) };
    let advisory = store.advisory(feed, advisory_id)?;
    let severity = advisory.as_ref().and_then(|a| a.severity.as_deref()).map_or(Severity::Unknown, Severity::parse);
    let subject = advisory_subject(feed, advisory_id);
    // Every image the advisory affects now, with its packages of this feed's entry.
    let current: Vec<_> = store
        .affected_images(advisory_id)?
        .unwrap_or_default()
        .into_iter()
        .map(|mut image| {
            image.packages.retain(|p| p.feed == *feed && p.advisory_id == *advisory_id);
            image
        })
        .filter(|image| !image.packages.is_empty())
        .collect();
    let detail: FindingsDetail = serde_json::from_value(event.detail.clone()).unwrap_or_default();
    let rebuilds: Vec<RebuildLine> = store
        .rebuilds_for_advisory(advisory_id)?
        .into_iter()
        .map(|(image, status)| RebuildLine { image, status: status.as_str().to_string() })
        .collect();
    for route in &config.routes {
        let announced = store.announced_images(&route.name, &subject)?;
        // What a route announced it follows up, even when the advisory is gone from its feed
        // (withdrawn advisories have no severity left to compare).
        if announced.is_none() && severity < route.min_severity {
            continue;
        }
        let wanted =
            |image: &str, fixed: Option<&str>| route.wants_image(image) && (!route.fixable_only || fixed.is_some());
        let lines: Vec<ImageLine> = current
            .iter()
            .filter(|i| route.wants_image(&i.image.reference))
            .map(|i| ImageLine {
                reference: i.image.reference.clone(),
                packages: i
                    .packages
                    .iter()
                    .filter(|p| !route.fixable_only || p.fixed_version.is_some())
                    .map(|p| PackageLine {
                        name: p.name.clone(),
                        installed: p.version.clone(),
                        fixed: p.fixed_version.clone(),
                        fix_state: fix_state(store, &i.image, p),
                    })
                    .collect(),
            })
            .filter(|l| !l.packages.is_empty())
            .collect();
        let kind;
        let shown: Vec<ImageLine>;
        let mut now_announced: Vec<String> = lines.iter().map(|l| l.reference.clone()).collect();
        match (&announced, event.kind.as_str()) {
            (None, _) => {
                if lines.is_empty() {
                    continue;
                }
                // A digest route holds what is below its threshold.
                if route.digest.is_some_and(|d| severity < d.below) {
                    let packages: BTreeSet<String> =
                        lines.iter().flat_map(|l| l.packages.iter().map(|p| p.name.clone())).collect();
                    routing.digest_items.push((
                        route.name.clone(),
                        feed.clone(),
                        advisory_id.clone(),
                        json!({
                            "severity": severity.as_str(),
                            "n_images": lines.len(),
                            "packages": packages,
                            "fixable": lines.iter().any(|l| l.packages.iter().any(|p| p.fixed.is_some())),
                        }),
                    ));
                    routing.announcements.push((route.name.clone(), subject.clone(), now_announced));
                    continue;
                }
                kind = NoticeKind::Announcement;
                shown = lines;
            }
            (Some(before), "fix-installable") => {
                shown = lines.into_iter().filter(|l| before.contains(&l.reference)).collect();
                if shown.is_empty() || route.digest.is_some_and(|d| severity < d.below) {
                    continue;
                }
                kind = NoticeKind::FixInstallable;
                now_announced = before.clone();
            }
            (Some(before), _) => {
                let new: Vec<ImageLine> = lines.into_iter().filter(|l| !before.contains(&l.reference)).collect();
                let resolved: Vec<&Change> = detail
                    .resolved
                    .iter()
                    .filter(|c| before.contains(&c.image) && wanted(&c.image, c.fixed_version.as_deref()))
                    .collect();
                let still: BTreeSet<&str> = current.iter().map(|i| i.image.reference.as_str()).collect();
                let gone: Vec<ImageLine> = resolved
                    .iter()
                    .filter(|c| !still.contains(c.image.as_str()))
                    .fold(BTreeMap::<String, Vec<PackageLine>>::new(), |mut acc, c| {
                        acc.entry(c.image.clone()).or_default().push(PackageLine {
                            name: c.package.clone(),
                            installed: c.version.clone(),
                            fixed: c.fixed_version.clone(),
                            fix_state: None,
                        });
                        acc
                    })
                    .into_iter()
                    .map(|(reference, packages)| ImageLine { reference, packages })
                    .collect();
                let quiet = route.digest.is_some_and(|d| severity < d.below);
                if !new.is_empty() && !quiet {
                    now_announced = before.iter().cloned().chain(new.iter().map(|l| l.reference.clone())).collect();
                    routing.messages.push(message(
                        route,
                        &subject,
                        NoticeKind::NewImages,
                        advisory_notice(
                            config,
                            &advisory,
                            feed,
                            advisory_id,
                            severity,
                            NoticeKind::NewImages,
                            parents.group(new),
                            &rebuilds,
                        ),
                    ));
                } else {
                    now_announced = before.clone();
                }
                if !gone.is_empty() && !quiet {
                    routing.messages.push(message(
                        route,
                        &subject,
                        NoticeKind::Resolved,
                        advisory_notice(
                            config,
                            &advisory,
                            feed,
                            advisory_id,
                            severity,
                            NoticeKind::Resolved,
                            parents.group(gone),
                            &rebuilds,
                        ),
                    ));
                }
                routing.announcements.push((route.name.clone(), subject.clone(), now_announced));
                continue;
            }
        }
        let notice =
            advisory_notice(config, &advisory, feed, advisory_id, severity, kind, parents.group(shown), &rebuilds);
        routing.messages.push(message(route, &subject, kind, notice));
        routing.announcements.push((route.name.clone(), subject.clone(), now_announced));
    }
    Ok(routing)
}

#[allow(clippy::too_many_arguments)]
fn advisory_notice(
    config: &NotifyConfig,
    advisory: &Option<crate::store::StoredAdvisory>,
    feed: &str,
    advisory_id: &str,
    severity: Severity,
    kind: NoticeKind,
    groups: Vec<ImageGroup>,
    rebuilds: &[RebuildLine],
) -> AdvisoryNotice {
    let n_images = groups.iter().map(|g| 1 + g.children.len()).sum();
    AdvisoryNotice {
        advisory_id: advisory_id.to_string(),
        feed: feed.to_string(),
        title: advisory.as_ref().and_then(|a| a.title.clone()),
        severity,
        aliases: advisory.as_ref().map(|a| a.aliases.clone()).unwrap_or_default(),
        advisory_url: advisory.as_ref().and_then(|a| a.url.clone()),
        api_url: config.api_base_url.as_ref().map(|base| format!("{base}/v1/advisories/{advisory_id}/affected-images")),
        kind,
        groups,
        n_images,
        rebuilds: rebuilds.to_vec(),
    }
}

/// A rendered message for a route: Block Kit for Slack, the notice itself for webhooks.
fn message<T: Serialize + Renderable>(route: &Route, subject: &str, kind: NoticeKind, notice: T) -> NewMessage {
    let payload = match route.kind {
        TargetKind::Slack => notice.slack(),
        TargetKind::Webhook => webhook_body(kind_name(kind), &notice),
    };
    NewMessage {
        route: route.name.clone(),
        subject: subject.to_string(),
        kind: kind_name(kind).to_string(),
        payload: payload.to_string(),
    }
}

fn kind_name(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::Announcement => "announcement",
        NoticeKind::NewImages => "new-images",
        NoticeKind::Resolved => "resolved",
        NoticeKind::FixInstallable => "fix-installable",
    }
}

/// How a notice becomes a Slack payload.
pub trait Renderable {
    fn slack(&self) -> serde_json::Value;
}

impl Renderable for AdvisoryNotice {
    fn slack(&self) -> serde_json::Value {
        slack::advisory_message(self)
    }
}

impl Renderable for RebuildNotice {
    fn slack(&self) -> serde_json::Value {
        slack::rebuild_message(self)
    }
}

impl Renderable for DigestNotice {
    fn slack(&self) -> serde_json::Value {
        slack::digest_message(self)
    }
}

/// The JSON body of a generic webhook: `{"event": KIND, "notice": {...}}`.
pub fn webhook_body<T: Serialize>(kind: &str, notice: &T) -> serde_json::Value {
    json!({ "event": kind, "notice": notice })
}

fn route_rebuild(store: &Store, config: &NotifyConfig, event: &NotificationEvent) -> Result<Routing, StoreError> {
    let mut routing = Routing::default();
    let Some(rebuild) = (match event.rebuild_id {
        Some(id) => store.rebuild(id)?,
        None => None,
    }) else {
        return Ok(routing);
    };
    let status = event.detail["status"].as_str().unwrap_or(rebuild.status.as_str()).to_string();
    let children: Vec<String> =
        store.remembered_edges()?.into_iter().filter(|e| e.parent == rebuild.image).map(|e| e.child).collect();
    let notice = RebuildNotice {
        rebuild_id: rebuild.id,
        image: rebuild.image.clone(),
        status,
        causes: rebuild.causes.iter().map(|c| c.key.clone()).collect(),
        trigger: rebuild.trigger.clone(),
        parent: rebuild.parent.clone(),
        old_digest: rebuild.old_digest.clone(),
        new_digest: rebuild.new_digest.clone(),
        error: rebuild.error.clone(),
        children,
        api_url: config.api_base_url.as_ref().map(|base| format!("{base}/v1/rebuilds?image={}", rebuild.image)),
    };
    let subject = format!("rebuild:{}", rebuild.id);
    for route in config.routes.iter().filter(|r| r.rebuilds && r.wants_image(&rebuild.image)) {
        let payload = match route.kind {
            TargetKind::Slack => notice.slack(),
            TargetKind::Webhook => webhook_body("rebuild", &notice),
        };
        routing.messages.push(NewMessage {
            route: route.name.clone(),
            subject: subject.clone(),
            kind: "rebuild".to_string(),
            payload: payload.to_string(),
        });
    }
    Ok(routing)
}

/// Turns each digest route's held findings into one message once the oldest is a digest
/// period old. Returns how many messages it wrote.
fn flush_digests(store: &mut Store, config: &NotifyConfig, now: i64) -> Result<usize, StoreError> {
    let mut n = 0;
    for route in &config.routes {
        let Some(digest) = route.digest else { continue };
        let items = store.digest_items(&route.name)?;
        let Some(oldest) = items.first() else { continue };
        let now_ms =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        if now_ms - oldest.added_at_ms < digest.every.as_millis() as i64 {
            continue;
        }
        let notice = DigestNotice {
            route: route.name.clone(),
            period: period_text(digest.every),
            items: items
                .iter()
                .map(|i| DigestLine {
                    advisory_id: i.advisory_id.clone(),
                    severity: Severity::parse(i.detail["severity"].as_str().unwrap_or("unknown")),
                    n_images: i.detail["n_images"].as_u64().unwrap_or(0) as usize,
                    packages: i.detail["packages"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
                        .unwrap_or_default(),
                    fixable: i.detail["fixable"].as_bool().unwrap_or(false),
                })
                .collect(),
        };
        let payload = match route.kind {
            TargetKind::Slack => notice.slack(),
            TargetKind::Webhook => webhook_body("digest", &notice),
        };
        let routing = Routing {
            messages: vec![NewMessage {
                route: route.name.clone(),
                subject: format!("digest:{}", route.name),
                kind: "digest".into(),
                payload: payload.to_string(),
            }],
            ..Routing::default()
        };
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        store.apply_routing(None, &routing, &ids, now)?;
        n += 1;
    }
    Ok(n)
}

fn period_text(every: Duration) -> String {
    let secs = every.as_secs();
    if secs % 86_400 == 0 {
        format!("last {} d", secs / 86_400)
    } else if secs % 3600 == 0 {
        format!("last {} h", secs / 3600)
    } else {
        format!("last {secs} s")
    }
}

/// Reads a secret (webhook URL, HMAC key) from its environment variable or file.
fn read_secret(source: &SecretSource) -> Result<String, String> {
    let value = match source {
        SecretSource::Env(var) => std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?,
        SecretSource::File(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .trim_end_matches(['\n', '\r'])
            .to_string(),
    };
    if value.is_empty() {
        return Err("the secret is empty".into());
    }
    Ok(value)
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    Delivered,
    /// Retry, after at least this long (Retry-After) when given.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// The receiver will never take it (Slack's 400, 403, 404, 410): dead at once.
    Refused {
        error: String,
    },
}

/// The sender's memory between passes: when each route last sent.
#[derive(Default)]
pub struct Sender {
    last_sent: HashMap<String, Instant>,
    agent: Option<ureq::Agent>,
}

impl Sender {
    fn agent(&mut self, timeout: Duration) -> &ureq::Agent {
        // The same rules as rebuild triggers: statuses as values, no redirects (a webhook URL
        // is a secret that a redirect could carry elsewhere), one timeout for the exchange.
        self.agent.get_or_insert_with(|| crate::actions::trigger::agent(timeout))
    }

    /// Sends the due head message of each route (one per route per call, paced by
    /// `min_interval`). Returns the report and how long until the next message may be due.
    pub fn deliver(
        &mut self,
        store: &mut Store,
        config: &NotifyConfig,
    ) -> Result<(PassReport, Option<Duration>), StoreError> {
        let mut report = PassReport::default();
        let mut next_due: Option<Duration> = None;
        let mut soonest = |d: Duration| next_due = Some(next_due.map_or(d, |n: Duration| n.min(d)));
        let now = unix_now();
        for message in store.outbox_heads()? {
            let Some(route) = config.routes.iter().find(|r| r.name == message.route) else {
                // A route removed from the config: its messages wait for it (or for retry).
                continue;
            };
            if message.next_attempt_at > now {
                soonest(Duration::from_secs((message.next_attempt_at - now) as u64));
                continue;
            }
            if let Some(last) = self.last_sent.get(&route.name) {
                let wait = config.min_interval.saturating_sub(last.elapsed());
                if !wait.is_zero() {
                    soonest(wait);
                    continue;
                }
            }
            let attempt = self.send(route, &message.payload, config.timeout);
            self.last_sent.insert(route.name.clone(), Instant::now());
            soonest(config.min_interval);
            let attempt_no = message.n_attempts + 1;
            match attempt {
                Attempt::Delivered => {
                    store.mark_delivered(message.id, unix_now())?;
                    tracing::info!(notification.id = message.id, route = %route.name, subject = %message.subject, "notification delivered");
                    report.n_delivered += 1;
                }
                Attempt::Refused { error } => {
                    tracing::error!(notification.id = message.id, route = %route.name, %error, "notification refused; dead-lettered");
                    store.mark_attempt_failed(message.id, &error, None)?;
                    report.n_dead += 1;
                }
                Attempt::Retry { error, after } => {
                    if attempt_no >= i64::from(config.max_attempts) {
                        tracing::error!(notification.id = message.id, route = %route.name, %error, attempts = attempt_no, "notification dead-lettered");
                        store.mark_attempt_failed(
                            message.id,
                            &format!("{error} (after {attempt_no} attempts)"),
                            None,
                        )?;
                        report.n_dead += 1;
                    } else {
                        let backoff = config.retry_initial.saturating_mul(1u32 << (attempt_no - 1).clamp(0, 16) as u32);
                        // Retry-After, when the receiver sends it, says exactly when to come back.
                        let wait = after.unwrap_or(backoff);
                        let wait_secs = wait.as_secs_f64().ceil() as i64;
                        tracing::warn!(notification.id = message.id, route = %route.name, %error, attempt = attempt_no, wait_secs, "notification delivery failed; will retry");
                        store.mark_attempt_failed(message.id, &error, Some(unix_now() + wait_secs))?;
                        report.n_failed += 1;
                    }
                }
            }
        }
        Ok((report, next_due))
    }

    fn send(&mut self, route: &Route, payload: &str, timeout: Duration) -> Attempt {
        let url = match read_secret(&route.url) {
            Ok(url) => url,
            Err(e) => return Attempt::Retry { error: format!("webhook URL: {e}"), after: None },
        };
        let secret = match route.secret.as_ref().map(read_secret).transpose() {
            Ok(secret) => secret,
            Err(e) => return Attempt::Retry { error: format!("webhook secret: {e}"), after: None },
        };
        let mut request = self.agent(timeout).post(&url).header("Content-Type", "application/json");
        if let Some(secret) = &secret {
            request =
                request.header(SIGNATURE_HEADER, hmac::signature_header_value(secret.as_bytes(), payload.as_bytes()));
        }
        // Errors never show the URL: it is the secret.
        match request.send(payload.as_bytes()) {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
                let body =
                    response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_string().unwrap_or_default();
                let error = format!("http {status}: {}", body.trim().chars().take(200).collect::<String>());
                match status {
                    200..=299 => Attempt::Delivered,
                    429 => Attempt::Retry { error, after: retry_after },
                    400 | 403 | 404 | 410 => Attempt::Refused { error },
                    _ => Attempt::Retry { error, after: retry_after },
                }
            }
            Err(e) => {
                Attempt::Retry { error: format!("cannot reach the webhook: {}", transport_kind(&e)), after: None }
            }
        }
    }
}

/// A transport error without the URL it may carry.
fn transport_kind(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => io.kind().to_string(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        _ => "transport error".into(),
    }
}

/// Routes events and delivers what is due, once. Returns the counts and how long until the
/// next message may be due.
pub fn pass(
    store: &mut Store,
    sender: &mut Sender,
    config: &NotifyConfig,
    watch: &WatchConfig,
    platform: &str,
) -> Result<(PassReport, Option<Duration>), StoreError> {
    let routed = route_events(store, config, watch, platform)?;
    let (sent, next) = sender.deliver(store, config)?;
    Ok((
        PassReport {
            n_events: routed.n_events,
            n_messages: routed.n_messages,
            n_delivered: sent.n_delivered,
            n_failed: sent.n_failed,
            n_dead: sent.n_dead,
        },
        next,
    ))
}

/// Runs notification passes on a thread for `cascade serve`.
pub struct NotifyLoop {
    stop: mpsc::Sender<()>,
    done: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
}

impl NotifyLoop {
    pub fn start(mut store: Store, config: NotifyConfig, watch: WatchConfig, platform: String) -> NotifyLoop {
        let (stop_tx, stop_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        tracing::info!(n_routes = config.routes.len(), "notifier started");
        let thread = std::thread::Builder::new()
            .name("notify".into())
            .spawn(move || {
                crate::background::lower_thread_priority();
                let mut sender = Sender::default();
                loop {
                    let wait = match pass(&mut store, &mut sender, &config, &watch, &platform) {
                        Ok((_, next)) => next.unwrap_or(config.poll_interval).min(config.poll_interval),
                        Err(e) => {
                            tracing::error!(error = %e, "notification pass failed");
                            config.poll_interval
                        }
                    };
                    match stop_rx.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                let _ = done_tx.send(());
            })
            .expect("spawning the notify thread");
        NotifyLoop { stop: stop_tx, done: done_rx, thread }
    }

    /// Stops after the running pass (a message in flight is finished and recorded).
    pub fn stop(self, grace: Duration) {
        let _ = self.stop.send(());
        match self.done.recv_timeout(grace) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _ = self.thread.join();
            }
            Err(RecvTimeoutError::Timeout) => tracing::warn!("a notification is still being sent; exiting without it"),
        }
    }
}
