//! `cascade feeds sync` end to end against a local feed server speaking real HTTP: conditional
//! GET, server errors, truncated and slow responses, oversized and malformed documents, and the
//! change set of a second ingest; plus `cascade mail import`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};

use cascade::advisories::{ChangeKind, Status};
use cascade::store::Store;

use crate::support::registry::{HttpStub, StubReply};

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(config: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("cascade.toml"), config).expect("write config");
        Workspace { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("cascade.db")
    }

    fn cascade(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_cascade"))
            .args(args)
            .env("CASCADE_DB", self.db())
            .env("HOME", self.dir.path())
            .env_remove("CASCADE_CONFIG")
            .env("RUST_LOG", "warn")
            .current_dir(self.dir.path())
            .output()
            .expect("run cascade")
    }

    fn sync(&self, feed: &str) -> (bool, String) {
        let out = self.cascade(&["feeds", "sync", feed]);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    fn store(&self) -> Store {
        Store::open(&self.db()).expect("open store")
    }
}

/// (origin package, [(fixed version, [advisory ids])])
type SecdbPackage<'a> = (&'a str, &'a [(&'a str, &'a [&'a str])]);

/// An Alpine secdb document (the real format) for v3.19/main.
fn secdb(packages: &[SecdbPackage<'_>]) -> Vec<u8> {
    let packages: Vec<serde_json::Value> = packages
        .iter()
        .map(|(name, fixes)| {
            let secfixes: serde_json::Map<String, serde_json::Value> =
                fixes.iter().map(|(v, ids)| (v.to_string(), serde_json::json!(ids))).collect();
            serde_json::json!({ "pkg": { "name": name, "secfixes": secfixes } })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
        "archs": ["x86_64", "aarch64"],
        "reponame": "main",
        "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
        "distroversion": "v3.19",
        "packages": packages,
    }))
    .expect("secdb json")
}

fn first_document() -> Vec<u8> {
    secdb(&[
        ("openssl", &[("3.1.4-r1", &["CVE-2023-5363"]), ("3.1.4-r3", &["CVE-2023-6129"])]),
        ("musl", &[("1.2.4-r2", &["CVE-2025-26519"])]),
        ("busybox", &[("0", &["CVE-2022-28391"])]),
    ])
}

/// The same feed a day later: openssl's CVE-2023-6129 fix moved, musl's advisory is gone.
fn second_document() -> Vec<u8> {
    secdb(&[
        ("openssl", &[("3.1.4-r1", &["CVE-2023-5363"]), ("3.1.4-r4", &["CVE-2023-6129"])]),
        ("busybox", &[("0", &["CVE-2022-28391"])]),
    ])
}

fn config_for(url: &str, extra: &str) -> String {
    format!(
        "[feeds.test-alpine]\nurl = \"{url}\"\nformat = \"alpine-secdb\"\ndistro = \"alpine\"\nreleases = [\"3.19\"]\ntimeout_secs = 2\n{extra}"
    )
}

/// Serves `documents[i]` for the i-th request (the last one thereafter), with ETag `"v<i>"`,
/// answering 304 when the request carries the current ETag.
fn versioned_server(documents: Arc<Mutex<Vec<Vec<u8>>>>) -> HttpStub {
    HttpStub::start(move |req| {
        let docs = documents.lock().expect("documents");
        let version = docs.len();
        let etag = format!("\"v{version}\"");
        if req.header("if-none-match") == Some(etag.as_str()) {
            return StubReply::new(304).header("ETag", etag);
        }
        StubReply::new(200)
            .header("Content-Type", "application/json")
            .header("ETag", etag)
            .header("Last-Modified", "Wed, 02 Dec 2026 10:00:00 GMT")
            .body(docs.last().cloned().unwrap_or_default())
    })
}

#[test]
fn conditional_get_and_the_change_set_of_a_second_ingest() {
    let documents = Arc::new(Mutex::new(vec![first_document()]));
    let server = versioned_server(Arc::clone(&documents));
    let ws = Workspace::new(&config_for(&format!("{}/v3.19/main.json", server.url()), ""));

    let (ok, text) = ws.sync("test-alpine");
    assert!(ok, "{text}");
    assert!(text.contains("test-alpine: 4 advisories") && text.contains("4 added, 0 changed, 0 withdrawn"), "{text}");

    // Unchanged: the server answers 304 to the stored ETag.
    let (ok, text) = ws.sync("test-alpine");
    assert!(ok && text.contains("test-alpine: not modified"), "{text}");
    let requests = server.requests();
    assert_eq!(requests[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(requests[1].header("if-modified-since"), Some("Wed, 02 Dec 2026 10:00:00 GMT"));

    documents.lock().unwrap().push(second_document());
    let (ok, text) = ws.sync("test-alpine");
    assert!(ok && text.contains("0 added, 1 changed, 1 withdrawn"), "{text}");

    let store = ws.store();
    let openssl = store.affected_entries("CVE-2023-6129").unwrap();
    assert_eq!(openssl.len(), 1);
    assert_eq!(openssl[0].affected.fixed_version.as_deref(), Some("3.1.4-r4"));
    assert_eq!(openssl[0].affected.release, "3.19");
    assert!(store.affected_entries("CVE-2025-26519").unwrap().is_empty());
    let busybox = store.affected_entries("CVE-2022-28391").unwrap();
    assert_eq!(busybox[0].affected.status, Status::NotAffected);

    let health = store.feed_health().unwrap();
    let h = health.iter().find(|h| h.name == "test-alpine").unwrap();
    assert_eq!((h.n_advisories, h.n_affected, h.last_error.as_deref()), (3, 3, None));
    drop(store);

    // The change set of the last ingest, as correlation will read it.
    let store = ws.store();
    let conn_last = rusqlite::Connection::open(ws.db()).unwrap();
    let last: i64 = conn_last.query_row("SELECT max(id) FROM ingests", [], |r| r.get(0)).unwrap();
    let changes = store.changes(last).unwrap();
    let kinds: Vec<(ChangeKind, &str, &str)> =
        changes.iter().map(|c| (c.change, c.advisory_id.as_str(), c.key.package.as_str())).collect();
    assert_eq!(
        kinds,
        vec![(ChangeKind::Changed, "CVE-2023-6129", "openssl"), (ChangeKind::Withdrawn, "CVE-2025-26519", "musl")]
    );
}

/// Syncs a good document first, then points the feed at `bad`; asserts a clear failure and
/// that the good data is intact.
fn assert_failure_keeps_data(bad: HttpStub, extra_config: &str, expect: &[&str]) {
    let good = HttpStub::start(|_| StubReply::new(200).body(first_document()));
    let ws = Workspace::new(&config_for(&format!("{}/main.json", good.url()), extra_config));
    let (ok, text) = ws.sync("test-alpine");
    assert!(ok, "{text}");
    std::fs::write(ws.dir.path().join("cascade.toml"), config_for(&format!("{}/main.json", bad.url()), extra_config))
        .unwrap();
    let (ok, text) = ws.sync("test-alpine");
    assert!(!ok, "expected a failure: {text}");
    for e in expect {
        assert!(text.contains(e), "expected {e:?} in: {text}");
    }
    assert!(text.contains("previous data is kept"), "{text}");
    let store = ws.store();
    assert_eq!(store.affected_entries("CVE-2025-26519").unwrap().len(), 1, "previous data intact");
    let health = store.feed_health().unwrap();
    let h = health.iter().find(|h| h.name == "test-alpine").unwrap();
    assert!(h.last_error.is_some() && h.last_success.is_some(), "{h:?}");
    assert_eq!(h.n_affected, 4);
    let list = ws.cascade(&["feeds", "list"]);
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(listing.contains("test-alpine") && listing.contains("error:"), "{listing}");
}

#[test]
fn a_server_error_keeps_the_previous_data() {
    let bad = HttpStub::start(|_| StubReply::new(500).body("internal error"));
    assert_failure_keeps_data(bad, "", &["HTTP 500"]);
}

#[test]
fn a_malformed_document_keeps_the_previous_data() {
    let mut doc = first_document();
    doc.truncate(doc.len() / 2);
    let bad = HttpStub::start(move |_| StubReply::new(200).body(doc.clone()));
    assert_failure_keeps_data(bad, "", &["alpine-secdb document"]);
}

#[test]
fn a_document_in_the_wrong_format_keeps_the_previous_data() {
    let bad = HttpStub::start(|_| {
        StubReply::new(200).header("Content-Type", "text/html").body("<html><body>Service moved</body></html>")
    });
    assert_failure_keeps_data(bad, "", &["alpine-secdb document"]);
}

#[test]
fn an_oversized_response_keeps_the_previous_data() {
    // The cap is a tenth of what the server sends.
    let big = secdb(&[("openssl", &[("3.1.4-r1", &["CVE-2023-5363"; 400])])]);
    let cap = big.len() / 10;
    let bad = HttpStub::start(move |_| StubReply::new(200).body(big.clone()));
    assert_failure_keeps_data(bad, &format!("max_bytes = {cap}\n"), &[&format!("{cap}-byte cap")]);
}

/// A server that sends headers promising `declared` bytes, then `sent` bytes, then closes.
fn truncating_server(declared: usize, sent: usize) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        // Two connections: the fetch may retry once.
        for stream in listener.incoming().take(3) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(&first_document()[..sent]);
        }
    });
    (url, handle)
}

#[test]
fn a_truncated_body_keeps_the_previous_data() {
    let good = HttpStub::start(|_| StubReply::new(200).body(first_document()));
    let ws = Workspace::new(&config_for(&format!("{}/main.json", good.url()), ""));
    assert!(ws.sync("test-alpine").0);
    let (url, _server) = truncating_server(first_document().len(), 100);
    std::fs::write(ws.dir.path().join("cascade.toml"), config_for(&format!("{url}/main.json"), "")).unwrap();
    let (ok, text) = ws.sync("test-alpine");
    assert!(!ok, "{text}");
    assert!(text.contains("test-alpine: failed"), "{text}");
    assert_eq!(ws.store().affected_entries("CVE-2025-26519").unwrap().len(), 1);
}

#[test]
fn a_slow_response_times_out_and_keeps_the_previous_data() {
    // The server holds each request for 10 s; the feed's timeout is 2 s.
    let bad = HttpStub::start(|_| {
        std::thread::sleep(std::time::Duration::from_secs(10));
        StubReply::new(200).body(first_document())
    });
    let good = HttpStub::start(|_| StubReply::new(200).body(first_document()));
    let extra = "";
    let ws = Workspace::new(&config_for(&format!("{}/main.json", good.url()), extra));
    assert!(ws.sync("test-alpine").0);
    std::fs::write(
        ws.dir.path().join("cascade.toml"),
        config_for(&format!("{}/main.json", bad.url()), "").replace("timeout_secs = 2", "timeout_secs = 1"),
    )
    .unwrap();
    let (ok, text) = ws.sync("test-alpine");
    assert!(!ok && text.to_lowercase().contains("timeout"), "{text}");
    assert_eq!(ws.store().affected_entries("CVE-2025-26519").unwrap().len(), 1);
    std::mem::forget(bad); // do not wait for the sleeping handler
}

#[test]
fn from_file_ingests_without_fetching_and_unknown_feeds_are_usage_errors() {
    let ws = Workspace::new(&config_for("http://127.0.0.1:9/never-fetched.json", ""));
    let path = ws.dir.path().join("main.json");
    std::fs::write(&path, first_document()).unwrap();
    let out = ws.cascade(&["feeds", "sync", "test-alpine", "--from-file", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ws.store().affected_entries("CVE-2023-5363").unwrap().len(), 1);

    let out = ws.cascade(&["feeds", "sync", "no-such-feed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no feed named \"no-such-feed\""));

    let list = ws.cascade(&["feeds", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("debian-tracker") && text.contains("never synced"), "{text}");
}

const DSA_MAIL: &str = "From debian-security-announce-request@lists.debian.org Mon Jan 29 10:00:00 2024
From: Salvatore Bonaccorso <carnil@debian.org>
To: debian-security-announce@lists.debian.org
Subject: [SECURITY] [DSA 5678-1] glibc security update
Date: Mon, 29 Jan 2024 10:00:00 +0000
Message-ID: <dsa-5678@example.org>
Content-Type: text/plain; charset=us-ascii

-------------------------------------------------------------------------
Debian Security Advisory DSA-5678-1                   security@debian.org
https://www.debian.org/security/                     Salvatore Bonaccorso
January 29, 2024                      https://www.debian.org/security/faq
-------------------------------------------------------------------------

Package        : glibc
CVE ID         : CVE-2023-6246 CVE-2023-6779 CVE-2023-6780

Several vulnerabilities were discovered in the GNU C Library.

For the stable distribution (bookworm), these problems have been fixed in
version 2.36-9+deb12u4.

We recommend that you upgrade your glibc packages.

From someone@example.org Mon Jan 29 11:00:00 2024
From: someone@example.org
To: debian-security-announce@lists.debian.org
Subject: Re: question about the list
Date: Mon, 29 Jan 2024 11:00:00 +0000
Message-ID: <question@example.org>

Is this the right list for questions?
";

#[test]
fn mail_import_stores_advisories_and_links_them_to_feeds() {
    let ws = Workspace::new("");
    let mbox = ws.dir.path().join("list.mbox");
    std::fs::write(&mbox, DSA_MAIL).unwrap();
    let out = ws.cascade(&["mail", "import", mbox.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("2 messages") && text.contains("1 skipped"), "{text}");
    let entries = ws.store().affected_entries("CVE-2023-6246").unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].advisory_id, "DSA-5678-1");
    assert_eq!(entries[0].affected.package, "glibc");
    assert_eq!(entries[0].affected.release, "12");
    assert_eq!(entries[0].affected.fixed_version.as_deref(), Some("2.36-9+deb12u4"));
    assert_eq!(entries[0].linked_to, None);

    // The DSA list later carries the same advisory: the mail entry is linked, not duplicated.
    let list = ws.dir.path().join("DSA-list");
    std::fs::write(
        &list,
        "[29 Jan 2024] DSA-5678-1 glibc - security update\n\t{CVE-2023-6246 CVE-2023-6779 CVE-2023-6780}\n\t[bookworm] - glibc 2.36-9+deb12u4\n",
    )
    .unwrap();
    let out = ws.cascade(&["feeds", "sync", "debian-dsa-list", "--from-file", list.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entries = ws.store().affected_entries("CVE-2023-6246").unwrap();
    let mail = entries.iter().find(|e| e.feed == "mail").expect("mail entry");
    assert_eq!(mail.linked_to, Some(("debian-dsa-list".to_string(), "DSA-5678-1".to_string())));
}

#[test]
fn a_mailing_list_archive_feed_adds_each_month() {
    use std::io::Write as _;
    let month = |body: &str| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(body.as_bytes()).unwrap();
        gz.finish().unwrap()
    };
    let january = month(DSA_MAIL);
    let server = HttpStub::start(move |req| {
        if req.path().ends_with(".txt.gz") {
            StubReply::new(200).header("Content-Type", "application/x-gzip").body(january.clone())
        } else {
            StubReply::new(404)
        }
    });
    let ws = Workspace::new(&format!(
        "[feeds.test-list]\nurl = \"{}/archives/{{year}}-{{Month}}.txt.gz\"\nformat = \"mail-archive\"\ndistro = \"debian\"\n",
        server.url()
    ));
    let (ok, text) = ws.sync("test-list");
    assert!(ok, "{text}");
    assert!(text.contains("1 advisories") && text.contains("1 records skipped"), "{text}");
    let requested = server.requests()[0].path().to_string();
    let now = cascade::clock::Utc::now();
    assert!(requested.starts_with(&format!("/archives/{}-", now.year)), "{requested}");
    let entries = ws.store().affected_entries("DSA-5678-1").unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].feed, "test-list");
    let health = ws.store().feed_health().unwrap();
    assert_eq!(health.iter().find(|h| h.name == "test-list").unwrap().source, "mail");
}

#[test]
fn an_index_named_tar_archive_of_csaf_documents() {
    let Some(vex) = crate::support::shared_data("feeds/redhat-csaf-vex/cve-2021-0084.json") else {
        eprintln!("CASCADE_SHARED_DATA is not set: skipping");
        return;
    };
    let vex = std::fs::read(vex).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in [("2021/cve-2021-0084.json", &vex[..]), ("2021/broken.json", &b"{not json"[..])] {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, bytes).unwrap();
    }
    let archive = zstd::stream::encode_all(&tar.into_inner().unwrap()[..], 3).unwrap();
    let server = HttpStub::start(move |req| match req.path() {
        "/vex/archive_latest.txt" => StubReply::new(200).body("csaf_vex_2026-12-01.tar.zst\n"),
        "/vex/csaf_vex_2026-12-01.tar.zst" => StubReply::new(200).body(archive.clone()),
        _ => StubReply::new(404),
    });
    let ws = Workspace::new(&format!(
        "[feeds.test-vex]\nurl = \"{0}/vex/\"\nindex_url = \"{0}/vex/archive_latest.txt\"\ncontainer = \"tar\"\nformat = \"redhat-csaf\"\ndistro = \"rhel\"\nreleases = [\"8\", \"9\"]\n",
        server.url()
    ));
    let (ok, text) = ws.sync("test-vex");
    assert!(ok, "{text}");
    assert!(text.contains("1 records skipped"), "the broken member is skipped: {text}");
    assert!(!ws.store().affected_entries("CVE-2021-0084").unwrap().is_empty());
    assert_eq!(server.requests().len(), 2);
}
