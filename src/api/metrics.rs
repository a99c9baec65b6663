//! Prometheus metrics, written by hand in the text exposition format (0.0.4). Every metric
//! name is declared here and nowhere else. Request counters are atomics in a table indexed by
//! route and status, so recording takes no lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::store::queries::{FeedStatus, StoreCounts};

pub const REQUESTS_TOTAL: &str = "cascade_http_requests_total";
pub const REQUEST_DURATION: &str = "cascade_http_request_duration_seconds";
pub const FEED_LAST_SUCCESS: &str = "cascade_feed_last_success_timestamp_seconds";
pub const FEED_LAST_ATTEMPT: &str = "cascade_feed_last_attempt_timestamp_seconds";
pub const FEED_UP: &str = "cascade_feed_up";
pub const FEED_ADVISORIES: &str = "cascade_feed_advisories";
pub const FEED_AFFECTED: &str = "cascade_feed_affected_entries";
pub const IMAGES: &str = "cascade_images";
pub const PACKAGES: &str = "cascade_packages";
pub const FINDINGS: &str = "cascade_findings";

/// The route label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";
/// Statuses with their own series; any other is counted as `other`.
const STATUSES: [u16; 12] = [200, 202, 304, 400, 401, 403, 404, 405, 413, 415, 500, 503];
/// Histogram bucket upper bounds, seconds.
const BUCKETS: [f64; 13] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Series {
    /// Per bucket (not cumulative); the last slot is above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

/// Request counts and latencies per (route, status).
pub struct Metrics {
    routes: Vec<&'static str>,
    series: Vec<Series>,
}

fn status_slot(status: u16) -> usize {
    STATUSES.iter().position(|s| *s == status).unwrap_or(STATUSES.len())
}

fn status_label(slot: usize) -> String {
    STATUSES.get(slot).map_or_else(|| "other".to_string(), |s| s.to_string())
}

/// Escapes a label value (backslash, double quote, newline).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// A table for these route templates (plus the unmatched pseudo-route).
    pub fn new(routes: Vec<&'static str>) -> Metrics {
        let n = (routes.len() + 1) * (STATUSES.len() + 1);
        Metrics { routes, series: (0..n).map(|_| Series::default()).collect() }
    }

    fn route_slot(&self, path: Option<&str>) -> usize {
        path.and_then(|p| self.routes.iter().position(|r| *r == p)).unwrap_or(self.routes.len())
    }

    fn route_label(&self, slot: usize) -> &str {
        self.routes.get(slot).copied().unwrap_or(UNMATCHED)
    }

    pub fn observe(&self, path: Option<&str>, status: u16, elapsed: Duration) {
        let slot = self.route_slot(path) * (STATUSES.len() + 1) + status_slot(status);
        let series = &self.series[slot];
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(BUCKETS.len());
        series.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        series.count.fetch_add(1, Ordering::Relaxed);
        series.sum_nanos.fetch_add(elapsed.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }

    /// The request metrics in the text format.
    pub fn render_requests(&self, out: &mut String) {
        let observed: Vec<(usize, &Series)> =
            self.series.iter().enumerate().filter(|(_, s)| s.count.load(Ordering::Relaxed) > 0).collect();
        let labels = |slot: usize| {
            let (route, status) = (slot / (STATUSES.len() + 1), slot % (STATUSES.len() + 1));
            format!("route=\"{}\",status=\"{}\"", label(self.route_label(route)), status_label(status))
        };
        let _ = writeln!(out, "# HELP {REQUESTS_TOTAL} HTTP requests answered, by route template and status.");
        let _ = writeln!(out, "# TYPE {REQUESTS_TOTAL} counter");
        for (slot, series) in &observed {
            let _ = writeln!(out, "{REQUESTS_TOTAL}{{{}}} {}", labels(*slot), series.count.load(Ordering::Relaxed));
        }
        let _ = writeln!(out, "# HELP {REQUEST_DURATION} Time to answer HTTP requests, by route template and status.");
        let _ = writeln!(out, "# TYPE {REQUEST_DURATION} histogram");
        for (slot, series) in &observed {
            let labels = labels(*slot);
            let counts: Vec<u64> = series.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&counts) {
                cumulative += n;
                let _ = writeln!(out, "{REQUEST_DURATION}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            cumulative += counts[BUCKETS.len()];
            let _ = writeln!(out, "{REQUEST_DURATION}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
            let sum = series.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(out, "{REQUEST_DURATION}_sum{{{labels}}} {sum}");
            // The count is the +Inf bucket's, read once, so that the two always agree.
            let _ = writeln!(out, "{REQUEST_DURATION}_count{{{labels}}} {cumulative}");
        }
    }
}

/// Feed health and row counts in the text format.
pub fn render_store(feeds: &[FeedStatus], counts: &StoreCounts, out: &mut String) {
    type Gauge = (&'static str, &'static str, fn(&FeedStatus) -> Option<i64>);
    let gauges: [Gauge; 5] = [
        (FEED_LAST_SUCCESS, "Unix time of the feed's last successful sync.", |f| f.last_success),
        (FEED_LAST_ATTEMPT, "Unix time of the feed's last sync attempt.", |f| f.last_attempt),
        (FEED_UP, "1 when the feed's last sync attempt succeeded, else 0.", |f| Some(i64::from(f.ok))),
        (FEED_ADVISORIES, "Advisories stored from the feed.", |f| Some(f.n_advisories)),
        (FEED_AFFECTED, "Affected entries stored from the feed.", |f| Some(f.n_affected)),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for feed in feeds {
            if let Some(v) = value(feed) {
                let _ = writeln!(out, "{name}{{feed=\"{}\"}} {v}", label(&feed.name));
            }
        }
    }
    for (name, help, value) in [
        (IMAGES, "Images with a stored inventory.", counts.n_images),
        (PACKAGES, "Installed packages stored across all images.", counts.n_packages),
        (FINDINGS, "Stored findings (an installed package an advisory entry affects).", counts.n_findings),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
}

/// Middleware: counts every answer, including 401s and unmatched paths, with its latency.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let path = matched.as_ref().map(|m| m.as_str());
    state.shared.metrics.observe(path, response.status().as_u16(), elapsed);
    tracing::debug!(
        route = path.unwrap_or(UNMATCHED),
        status = response.status().as_u16(),
        duration_us = elapsed.as_micros() as u64,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labelled() {
        let metrics = Metrics::new(vec!["/healthz", "/v1/findings"]);
        metrics.observe(Some("/healthz"), 200, Duration::from_micros(100));
        metrics.observe(Some("/healthz"), 200, Duration::from_millis(3));
        metrics.observe(Some("/v1/findings"), 418, Duration::from_secs(10));
        metrics.observe(None, 404, Duration::from_micros(10));
        let mut out = String::new();
        metrics.render_requests(&mut out);
        assert!(out.contains("cascade_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"), "{out}");
        assert!(out.contains("{route=\"/healthz\",status=\"200\",le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("{route=\"/healthz\",status=\"200\",le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("{route=\"/v1/findings\",status=\"other\",le=\"5\"} 0\n"), "{out}");
        assert!(out.contains("{route=\"/v1/findings\",status=\"other\",le=\"+Inf\"} 1\n"), "{out}");
        assert!(out.contains("cascade_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"), "{out}");
        assert!(!out.contains("status=\"500\""), "series without requests are not written");
    }

    #[test]
    fn store_gauges() {
        let feeds = [FeedStatus {
            name: "odd\"name".into(),
            last_attempt: Some(20),
            last_success: None,
            ok: false,
            n_advisories: 3,
            n_affected: 4,
        }];
        let mut out = String::new();
        render_store(&feeds, &StoreCounts { n_images: 1, n_packages: 2, n_findings: 3 }, &mut out);
        assert!(out.contains("cascade_feed_up{feed=\"odd\\\"name\"} 0\n"), "{out}");
        assert!(out.contains("cascade_feed_last_attempt_timestamp_seconds{feed=\"odd\\\"name\"} 20\n"), "{out}");
        assert!(!out.contains("cascade_feed_last_success_timestamp_seconds{"), "no success yet: no sample");
        assert!(out.contains("\ncascade_findings 3\n"), "{out}");
    }
}
