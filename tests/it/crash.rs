//! Crash safety: `cascade serve` is killed with SIGKILL at pseudo-random points (a fixed seed,
//! so every run kills at the same offsets) while it ingests a feed, re-indexes watched images
//! and delivers notifications, and is restarted each time. After every kill the database
//! passes `PRAGMA integrity_check`, the feed holds exactly one whole version of its data, every
//! stored image has its whole inventory, the stored findings equal a full recomputation, and
//! the outbox is consistent; a final clean run completes the work.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::support::cli::Workspace;
use crate::support::image::*;
use crate::support::receivers::SlackReceiver;
use crate::support::registry::{HttpStub, StubReply, TestRegistry};

const N_ADVISORIES: usize = 20_000;
const N_IMAGE_PACKAGES: usize = 50;
const N_IMAGES: usize = 30;
const KILLS: usize = 24;
/// The final clean run ingests 20,000 advisories, indexes 30 images and delivers every
/// message in a debug build, at background priority, beside the other tests: it gets minutes.
const CLEAN_RUN_DEADLINE: Duration = Duration::from_secs(300);

const BOOKWORM: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// A tracker document: one CVE per package. Version B withdraws every tenth advisory and
/// moves the fixed version of every tenth-plus-one.
fn tracker(version_b: bool) -> String {
    let mut doc = Map::new();
    for i in 0..N_ADVISORIES {
        if version_b && i % 10 == 0 {
            continue;
        }
        let fixed = if version_b && i % 10 == 1 { "1.0-3" } else { "1.0-2" };
        doc.insert(
            format!("pkg{i}"),
            json!({ format!("CVE-2030-{i:05}"): { "description": "crash test", "scope": "local", "releases": {
                "bookworm": { "status": "resolved", "repositories": { "bookworm": fixed },
                              "fixed_version": fixed, "urgency": "high" } } } }),
        );
    }
    Value::Object(doc).to_string()
}

fn image() -> TestImage {
    let status: String = (0..N_IMAGE_PACKAGES)
        .map(|i| dpkg_paragraph(&format!("lib{i}"), "1.0-1", "amd64", Some(&format!("pkg{i}"))))
        .collect();
    TestImage::new(vec![LayerBuilder::new()
        .file("etc/os-release", BOOKWORM.as_bytes())
        .file("var/lib/dpkg/status", status.as_bytes())
        .build(Compression::Gzip)])
}

/// A deterministic sequence of kill offsets (a linear congruential generator).
struct Offsets(u64);

impl Offsets {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % max
    }
}

fn open(ws: &Workspace) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(ws.db()).expect("open the database");
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

/// A digest of the feed's stored entries (advisory, package, status, fixed version).
fn feed_fingerprint(conn: &rusqlite::Connection) -> String {
    let mut stmt = conn
        .prepare(
            "SELECT advisory_id, package, status, coalesce(fixed_version, '') FROM affected
             WHERE feed = 'crash-tracker' ORDER BY advisory_id, package",
        )
        .unwrap();
    let mut hash = Sha256::new();
    let mut n = 0;
    for row in stmt.query_map([], |r| Ok([r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?])).unwrap() {
        for field in row.unwrap() {
            hash.update(field.as_bytes());
            hash.update([0]);
        }
        n += 1;
    }
    format!("{n}:{:x}", hash.finalize())
}

fn findings(conn: &rusqlite::Connection) -> Vec<(i64, i64, String)> {
    let mut stmt = conn
        .prepare("SELECT state_id, affected_id, coalesce(fixed_version, '') FROM state_findings ORDER BY 1, 2")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

/// The invariants that must hold whenever the process is gone, however it ended.
fn check_consistent(ws: &Workspace, fingerprints: &BTreeMap<String, &str>, round: usize) {
    let conn = open(ws);
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok", "round {round}");
    let fingerprint = feed_fingerprint(&conn);
    assert!(
        fingerprints.contains_key(&fingerprint),
        "round {round}: the feed holds neither nothing nor a whole document: {fingerprint}"
    );
    // Whole inventories only.
    let counts: Vec<(String, i64)> = conn
        .prepare("SELECT i.reference, (SELECT count(*) FROM packages p WHERE p.image_id = i.id) FROM images i")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (reference, n) in &counts {
        assert_eq!(*n, N_IMAGE_PACKAGES as i64, "round {round}: {reference} has a partial inventory");
    }
    // The incremental findings equal a full recomputation (run on a copy).
    let stored = findings(&conn);
    drop(conn);
    let copy = ws.path(&format!("copy-{round}.db"));
    let _ = std::fs::remove_file(&copy);
    open(ws).execute("VACUUM INTO ?1", [copy.to_str().unwrap()]).unwrap();
    let out = ws.command(&["--db", copy.to_str().unwrap(), "findings", "rebuild"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rebuilt = findings(&rusqlite::Connection::open(&copy).unwrap());
    assert_eq!(stored.len(), rebuilt.len(), "round {round}: findings differ from a full recomputation");
    assert!(stored == rebuilt, "round {round}: findings differ from a full recomputation");
    std::fs::remove_file(&copy).unwrap();
    // Every routed event has its messages; delivered messages are marked once.
    let conn = open(ws);
    let dangling: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox o WHERE o.event_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM notification_events e WHERE e.id = o.event_id AND e.routed_at IS NOT NULL)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dangling, 0, "round {round}: outbox messages of an unrouted event");
}

#[test]
fn killed_at_random_points_the_store_stays_whole_and_the_next_run_finishes() {
    let registry = TestRegistry::start();
    let image = image();
    registry.push_image("team/app", "t0", &image);
    for i in 1..N_IMAGES {
        registry.push_manifest(
            "team/app",
            &format!("t{i}"),
            "application/vnd.oci.image.manifest.v1+json",
            &image.manifest(),
        );
    }
    let documents = [tracker(false), tracker(true)];
    let served = Arc::new(Mutex::new(0usize));
    let feed = {
        let (served, documents) = (served.clone(), documents.clone());
        HttpStub::start(move |_| StubReply::new(200).body(documents[*served.lock().unwrap()].clone()))
    };
    let slack = SlackReceiver::start();

    // The whole states a document can leave: computed by clean ingests elsewhere.
    let mut fingerprints = BTreeMap::new();
    let empty = Workspace::new();
    empty.ok(&["images", "list"]);
    fingerprints.insert(feed_fingerprint(&open(&empty)), "nothing");
    for (i, name) in ["A", "B"].iter().enumerate() {
        let clean = Workspace::new();
        let path = clean.path("tracker.json");
        std::fs::write(&path, &documents[i]).unwrap();
        clean.ok(&["feeds", "sync", "debian-tracker", "--from-file", path.to_str().unwrap()]);
        let conn = open(&clean);
        conn.execute_batch("UPDATE affected SET feed = 'crash-tracker'").unwrap();
        fingerprints.insert(feed_fingerprint(&conn), name);
    }
    assert_eq!(fingerprints.len(), 3);

    let ws = Workspace::new();
    let mut config = String::new();
    for def in cascade::feeds::definition::feeds(&Default::default()).unwrap() {
        config.push_str(&format!("[feeds.\"{}\"]\nenabled = false\n", def.name));
    }
    config.push_str(&format!(
        "[feeds.crash-tracker]\nurl = \"{}/tracker.json\"\nformat = \"debian-tracker-json\"\ndistro = \"debian\"\ninterval = \"1h\"\n\n\
         [watch]\ninterval_secs = 3600\nregistry_requests_per_sec = 100000.0\n\n\
         [notify]\nmin_interval_ms = 0\nretry_initial_secs = 0\npoll_interval_ms = 50\n\
         [[notify.routes]]\nname = \"ops\"\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\n",
        feed.url()
    ));
    for i in 0..N_IMAGES {
        config.push_str(&format!("[[watch.images]]\nimage = \"{}/team/app:t{i}\"\n", registry.host()));
    }
    ws.write_config(&config);
    ws.ok(&["images", "list"]);
    let slack_url = slack.webhook_url();
    let env = [("SLACK_URL", slack_url.as_str())];

    let mut offsets = Offsets(0x5eed_cafe);
    for round in 0..KILLS {
        // Each start has work to do: the feed is due (and serves the other document) and
        // every watched tag is to be re-indexed.
        *served.lock().unwrap() = round % 2;
        ws.sql("UPDATE feeds SET last_attempt = NULL; UPDATE watched_tags SET indexed_digest = NULL;");
        let server = ws.serve(&[], &env);
        std::thread::sleep(Duration::from_millis(offsets.next_ms(1500)));
        drop(server); // SIGKILL
        check_consistent(&ws, &fingerprints, round);
        // Where the kill landed, for the log (offsets are fixed, speeds are not).
        let conn = open(&ws);
        let indexed: i64 = conn
            .query_row("SELECT count(*) FROM watched_tags WHERE digest = indexed_digest", [], |r| r.get(0))
            .unwrap();
        eprintln!(
            "round {round}: feed holds {}, {indexed}/{N_IMAGES} images re-indexed",
            fingerprints[&feed_fingerprint(&conn)]
        );
    }

    // A clean run completes everything: document B, all images, every message delivered.
    *served.lock().unwrap() = 1;
    ws.sql("UPDATE feeds SET last_attempt = NULL;");
    let server = ws.serve(&[], &env);
    let deadline = Instant::now() + CLEAN_RUN_DEADLINE;
    loop {
        let conn = open(&ws);
        let feed_done = fingerprints.get(&feed_fingerprint(&conn)) == Some(&"B");
        let indexed: i64 = conn
            .query_row(
                "SELECT count(*) FROM watched_tags WHERE digest IS NOT NULL AND digest = indexed_digest",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let unrouted: i64 = conn
            .query_row("SELECT count(*) FROM notification_events WHERE routed_at IS NULL", [], |r| r.get(0))
            .unwrap();
        let pending: i64 =
            conn.query_row("SELECT count(*) FROM outbox WHERE status = 'pending'", [], |r| r.get(0)).unwrap();
        if feed_done && indexed == N_IMAGES as i64 && unrouted == 0 && pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the clean run did not finish\n{}", server.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _) = server.terminate();
    assert!(status.success());
    check_consistent(&ws, &fingerprints, KILLS);
    // Nothing the outbox delivered was lost: every delivered message reached the receiver.
    let delivered: i64 =
        open(&ws).query_row("SELECT count(*) FROM outbox WHERE status = 'delivered'", [], |r| r.get(0)).unwrap();
    assert!(slack.messages().len() as i64 >= delivered, "{} received, {delivered} delivered", slack.messages().len());
}
