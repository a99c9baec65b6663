//! The feed scheduler of `cascade serve`: one std thread with its own writer connection runs
//! the sync stage (`feeds::sync::sync_feed`, blocking) for each enabled feed on its interval.
//! A feed is due `interval` after its last recorded attempt, so a restart does not refetch
//! everything. Stopping waits for a running sync to end; an ingest cut short by the process
//! exiting is one uncommitted transaction, which SQLite rolls back.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::correlate::MatchPolicy;
use crate::feeds::definition::FeedDef;
use crate::feeds::sync;
use crate::store::{Store, StoreError};

/// Shortest interval honoured, whatever the config says.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

pub struct Scheduler {
    stop: mpsc::Sender<()>,
    done: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
}

/// When each feed is next due, from its last attempt (unix seconds) and interval.
fn first_due(feeds: &[FeedDef], last_attempts: &[(String, Option<i64>)], now_unix: i64, now: Instant) -> Vec<Instant> {
    feeds
        .iter()
        .map(|def| {
            let last = last_attempts.iter().find(|(name, _)| *name == def.name).and_then(|(_, t)| *t);
            match last {
                Some(t) => {
                    let interval = def.interval.max(MIN_INTERVAL).as_secs() as i64;
                    let wait = (t + interval - now_unix).clamp(0, interval);
                    now + Duration::from_secs(wait as u64)
                }
                None => now,
            }
        })
        .collect()
}

impl Scheduler {
    /// Opens the writer connection and starts the thread for the enabled feeds of `feeds`.
    pub fn start(db: &Path, policy: MatchPolicy, feeds: &[FeedDef]) -> Result<Scheduler, StoreError> {
        let store = Store::open_with_policy(db, policy)?;
        let feeds: Vec<FeedDef> = feeds.iter().filter(|f| f.enabled).cloned().collect();
        let (stop_tx, stop_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        tracing::info!(n_feeds = feeds.len(), "feed scheduler started");
        let thread = std::thread::Builder::new()
            .name("feed-sync".into())
            .spawn(move || {
                crate::background::lower_thread_priority();
                run(store, &feeds, &stop_rx);
                let _ = done_tx.send(());
            })
            .expect("spawning the feed scheduler thread");
        Ok(Scheduler { stop: stop_tx, done: done_rx, thread })
    }

    /// Asks the thread to stop and waits up to `grace` for a running sync to finish.
    pub fn stop(self, grace: Duration) {
        let _ = self.stop.send(());
        match self.done.recv_timeout(grace) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _ = self.thread.join();
            }
            Err(RecvTimeoutError::Timeout) => tracing::warn!(
                grace_secs = grace.as_secs(),
                "a feed sync is still running; exiting without it (its ingest is rolled back)"
            ),
        }
    }
}

fn run(mut store: Store, feeds: &[FeedDef], stop: &mpsc::Receiver<()>) {
    let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let last_attempts: Vec<(String, Option<i64>)> = match store.feed_statuses() {
        Ok(statuses) => statuses.into_iter().map(|s| (s.name, s.last_attempt)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read feed health; syncing every feed now");
            Vec::new()
        }
    };
    let mut due = first_due(feeds, &last_attempts, now_unix, Instant::now());
    loop {
        let next = due.iter().enumerate().min_by_key(|(_, at)| **at).map(|(i, at)| (i, *at));
        let waited = match next {
            Some((_, at)) => stop.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => stop.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match waited {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some((i, _)) = next else { return };
        let def = &feeds[i];
        // sync_feed logs the outcome and records the feed's health either way.
        let _ = sync::sync_feed(&mut store, def);
        due[i] = Instant::now() + def.interval.max(MIN_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::definition;

    #[test]
    fn feeds_are_due_an_interval_after_their_last_attempt() {
        let mut feeds = definition::feeds(&Default::default()).unwrap();
        feeds.truncate(3);
        for f in &mut feeds {
            f.interval = Duration::from_secs(3600);
        }
        let now = Instant::now();
        let last = [
            (feeds[0].name.clone(), Some(1_000_000 - 600)),
            (feeds[1].name.clone(), Some(1_000_000 - 7200)),
            (feeds[2].name.clone(), None),
        ];
        let due = first_due(&feeds, &last, 1_000_000, now);
        assert_eq!(due[0], now + Duration::from_secs(3000));
        assert_eq!(due[1], now, "overdue: now");
        assert_eq!(due[2], now, "never attempted: now");
        // A last attempt in the future (clock moved back) waits one interval at most.
        let due = first_due(&feeds[..1], &[(feeds[0].name.clone(), Some(2_000_000))], 1_000_000, now);
        assert_eq!(due[0], now + Duration::from_secs(3600));
    }
}
