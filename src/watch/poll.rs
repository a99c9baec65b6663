//! One poll round: HEAD every watched tag's manifest (full Accept list, `Docker-Content-Digest`;
//! the client falls back to GET and hashing only when a registry omits the header), with at
//! most `concurrency` requests in flight and `requests_per_sec` starts per registry host.
//! Retries with backoff and Retry-After on 429 and 5xx happen inside the registry client.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::images::reference::ImageRef;
use crate::images::registry::{RegistryClient, RegistryOptions};
use crate::store::watch::PollResult;

/// Per-registry pacing.
#[derive(Debug, Clone, Copy)]
pub struct PollLimits {
    pub concurrency: usize,
    pub requests_per_sec: f64,
}

/// Spaces request starts `interval` apart; shared by the workers of one registry.
struct Pacer {
    next: Mutex<Instant>,
    interval: Duration,
}

impl Pacer {
    fn new(requests_per_sec: f64) -> Pacer {
        Pacer { next: Mutex::new(Instant::now()), interval: Duration::from_secs_f64(1.0 / requests_per_sec) }
    }

    /// Blocks until this caller's slot.
    fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        let wait = slot.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// HEADs every image and returns `(canonical reference, result)` in input order.
pub fn poll(images: &[(String, ImageRef)], options: &RegistryOptions, limits: PollLimits) -> Vec<(String, PollResult)> {
    let mut by_registry: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, image)) in images.iter().enumerate() {
        by_registry.entry(image.registry.as_str()).or_default().push(i);
    }
    let results: Vec<Mutex<Option<PollResult>>> = images.iter().map(|_| Mutex::new(None)).collect();
    // One client (it caches the registry's token), pacer and work queue per registry host.
    let groups: Vec<(RegistryClient, Pacer, Mutex<std::vec::IntoIter<usize>>, usize)> = by_registry
        .into_values()
        .map(|indexes| {
            let n_workers = limits.concurrency.max(1).min(indexes.len());
            (
                RegistryClient::new(options.clone()),
                Pacer::new(limits.requests_per_sec),
                Mutex::new(indexes.into_iter()),
                n_workers,
            )
        })
        .collect();
    std::thread::scope(|scope| {
        for (client, pacer, queue, n_workers) in &groups {
            for _ in 0..*n_workers {
                let results = &results;
                scope.spawn(move || loop {
                    let Some(i) = queue.lock().unwrap_or_else(|e| e.into_inner()).next() else { break };
                    let (reference, image) = &images[i];
                    pacer.wait();
                    let result = match client.head_manifest(image, &image.reference()) {
                        Ok(digest) => PollResult::Digest(digest.map(|d| d.to_string())),
                        Err(e) => {
                            tracing::warn!(image.reference = %reference, error = %e, "poll failed");
                            PollResult::Failed(e.to_string())
                        }
                    };
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                });
            }
        }
    });
    images
        .iter()
        .zip(results)
        .map(|((reference, _), result)| {
            let result = result.into_inner().unwrap_or_else(|e| e.into_inner());
            (reference.clone(), result.unwrap_or_else(|| PollResult::Failed("the poll worker stopped".into())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_spaces_request_starts() {
        let pacer = Pacer::new(1000.0);
        let started = Instant::now();
        for _ in 0..5 {
            pacer.wait();
        }
        // Five starts 1 ms apart take at least 4 ms (the first one is immediate).
        assert!(started.elapsed() >= Duration::from_millis(4));
    }
}
