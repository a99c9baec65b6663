//! `cascade serve` end to end: the real binary on a free loopback port (`--listen 127.0.0.1:0`,
//! the bound address read from its first stdout line), a database seeded with SQL before it
//! starts (or changed by this process while it runs), real HTTP through ureq. Covers auth, the
//! error shape, pagination, affected images by id and alias, coverage, OpenAPI, metrics, mail,
//! the feed scheduler against a local feed server, and SIGTERM.

use std::path::Path;
use std::time::{Duration, Instant};

use cascade::store::Store;
use serde_json::Value;

use crate::support::cli::{Server, Workspace, DEADLINE};
use crate::support::registry::{HttpStub, StubReply};

const POLL: Duration = Duration::from_millis(20);

const READ_TOKEN: &str = "read-token-0123456789abcdef";
const WRITE_TOKEN: &str = "write-token-0123456789abcdef";

/// Two Debian 12 images (one of them for two platforms), an Alpine 3.19 image no feed covers,
/// an image of unknown OS; DSA-5678-1 (alias CVE-2024-1234) and CVE-2024-1234 naming the DSA,
/// CVE-2024-9999; findings as correlation would store them.
const SEED: &str = include_str!("../fixtures/api_seed.sql");

/// A DSA announcement as the list sends it.
const DSA_MAIL: &str = "From: Salvatore Bonaccorso <carnil@debian.org>
To: debian-security-announce@lists.debian.org
Subject: [SECURITY] [DSA 5690-1] glibc security update
Date: Mon, 29 Jan 2024 10:00:00 +0000
Message-ID: <dsa-5690@example.org>
Content-Type: text/plain; charset=us-ascii

-------------------------------------------------------------------------
Debian Security Advisory DSA-5690-1                   security@debian.org
https://www.debian.org/security/                     Salvatore Bonaccorso
January 29, 2024                      https://www.debian.org/security/faq
-------------------------------------------------------------------------

Package        : glibc
CVE ID         : CVE-2023-6246

A vulnerability was discovered in the GNU C Library.

For the stable distribution (bookworm), this problem has been fixed in
version 2.36-9+deb12u4.
";

const NOT_AN_ADVISORY: &str = "From: someone@example.org
To: debian-security-announce@lists.debian.org
Subject: Re: question about the list
Date: Mon, 29 Jan 2024 11:00:00 +0000

Is this the right list for questions?
";

/// A workspace whose database is migrated and seeded with `seed`, with `config`.
fn seeded(seed: &str, config: &str) -> Workspace {
    let ws = Workspace::new();
    ws.write_config(config);
    drop(Store::open(&ws.db()).expect("create and migrate the database"));
    ws.sql(seed);
    ws
}

/// The `error.code` of an error body, checking the shape.
fn error_code(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body}"));
    let error = value["error"].as_object().unwrap_or_else(|| panic!("no error object: {body}"));
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(error.len(), 2, "{body}");
    error["code"].as_str().expect("code").to_string()
}

fn references(value: &Value) -> Vec<String> {
    value["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| format!("{} {}", i["reference"].as_str().unwrap(), i["platform"].as_str().unwrap()))
        .collect()
}

/// Follows `next_cursor` from `first` until the last page; returns every item.
fn all_pages(server: &Server, first: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut url = first.to_string();
    let mut n_pages = 0;
    loop {
        let page = server.json(&url);
        n_pages += 1;
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{first}&cursor={cursor}"),
            None => return (items, n_pages),
        }
        assert!(n_pages < 100, "pagination does not end");
    }
}

#[test]
fn queries_answer_from_the_store_by_id_alias_and_page() {
    let ws = seeded(SEED, "");
    let server = ws.serve(&["--no-sync"], &[]);

    // Affected images by the DSA's id and by its CVE alias.
    let by_dsa = server.json("/v1/advisories/DSA-5678-1/affected-images");
    let expected = [
        "registry.test/app:1 linux/amd64",
        "registry:5000/team/base:1 linux/amd64",
        "registry:5000/team/base:1 linux/arm64",
    ];
    assert_eq!(references(&by_dsa), expected);
    assert_eq!(by_dsa["n_images"], 3);
    let base = &by_dsa["images"][1];
    assert_eq!(base["manifest_digest"], "sha256:m2");
    assert_eq!(base["packages"][0]["name"], "openssl");
    assert_eq!(base["packages"][0]["source_name"], "openssl");
    assert_eq!(base["packages"][0]["version"], "3.0.11-1~deb12u1");
    assert_eq!(base["packages"][0]["status"], "fixed");
    assert_eq!(base["packages"][0]["fixed_version"], "3.0.13-1~deb12u1");
    assert_eq!(base["packages"][0]["feed"], "dsa-list");
    assert_eq!(base["packages"][0]["advisory_id"], "DSA-5678-1");
    let by_cve = server.json("/v1/advisories/CVE-2024-1234/affected-images");
    assert_eq!(references(&by_cve), expected);
    // The same answer again comes from the cache, gzip-compressed for clients that accept it.
    assert_eq!(server.json("/v1/advisories/CVE-2024-1234/affected-images"), by_cve);
    let mut gzipped = server
        .agent
        .get(server.url("/v1/advisories/CVE-2024-1234/affected-images"))
        .header("Accept-Encoding", "gzip")
        .call()
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let compressed = gzipped.body_mut().read_to_vec().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut text).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), by_cve);

    // Unknown ids, routes and methods: the JSON error shape with stable codes.
    let (status, body) = server.get("/v1/advisories/CVE-1999-0001/affected-images", None);
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"), "{body}");
    let (status, body) = server.get("/v1/advisories/CVE-1999-0001", None);
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"), "{body}");
    let (status, body) = server.get("/v1/nothing-here", None);
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"), "{body}");
    let (status, body) = server.post("/v1/findings", "text/plain", b"x", None);
    assert_eq!((status, error_code(&body).as_str()), (405, "method_not_allowed"), "{body}");
    let (status, body) = server.get("/v1/findings?limit=0", None);
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"), "{body}");
    let (status, body) = server.get("/v1/findings?limit=1001", None);
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"), "{body}");
    let (status, body) = server.get("/v1/findings?cursor=bm9wZQ", None);
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"), "{body}");
    let (status, body) = server.get("/v1/findings?severity=moderate", None);
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"), "{body}");
    let (status, body) = server.get("/v1/findings?sevrity=high", None);
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"), "unknown parameters are refused: {body}");

    // One advisory: records, who names it, affected entries.
    let advisory = server.json("/v1/advisories/CVE-2024-1234");
    assert_eq!(advisory["records"][0]["feed"], "debian-tracker");
    assert_eq!(advisory["records"][0]["aliases"], serde_json::json!(["DSA-5678-1"]));
    assert_eq!(advisory["named_by"][0]["advisory_id"], "DSA-5678-1");
    assert_eq!(advisory["affected"].as_array().unwrap().len(), 2);

    // Pagination: cursors round-trip, pages cover everything once, in the order of one page.
    let (paged, n_pages) = all_pages(&server, "/v1/findings?limit=2");
    assert_eq!(n_pages, 3);
    let whole = server.json("/v1/findings?limit=1000");
    assert_eq!(whole["next_cursor"], Value::Null);
    assert_eq!(&paged, whole["items"].as_array().unwrap());
    assert_eq!(paged[2]["severity"], "high");
    assert_eq!(paged[2]["image"]["reference"], "registry.test/app:1");
    assert_eq!(paged[2]["package"]["layer"], "sha256:l1");
    let (advisories, _) = all_pages(&server, "/v1/advisories?limit=1");
    let ids: Vec<&str> = advisories.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["CVE-2024-1234", "CVE-2024-9999", "DSA-5678-1"]);
    let (images, _) = all_pages(&server, "/v1/images?limit=2");
    assert_eq!(images.len(), 5);
    let cves = server.json("/v1/advisories?q=CVE-2024-9&feed=debian-tracker");
    assert_eq!(cves["items"].as_array().unwrap().len(), 1);

    // Findings filters.
    let count = |query: &str| server.json(&format!("/v1/findings?{query}"))["items"].as_array().unwrap().len();
    assert_eq!(count("severity=high"), 2);
    assert_eq!(count("severity=low"), 3);
    assert_eq!(count("fixable=true"), 5);
    assert_eq!(count("image=registry.test%2Fapp%3A1"), 3);
    assert_eq!(count("image=registry%3A5000%2Fteam%2Fbase%3A1&platform=linux%2Farm64"), 2);
    assert_eq!(count("distro=alpine"), 0);

    // An image's vulnerabilities, and whether a feed covers its release.
    let app = server.json("/v1/images/registry.test%2Fapp%3A1/vulnerabilities");
    assert_eq!((app["covered"].as_bool(), app["n_findings"].as_u64()), (Some(true), Some(3)));
    let alpine = server.json("/v1/images/registry.test%2Falpine%3A1/vulnerabilities");
    assert_eq!(alpine["covered"], false, "no feed covers Alpine 3.19: {alpine}");
    assert_eq!(alpine["coverage"], "uncovered");
    assert_eq!(alpine["n_findings"], 0);
    let scratch = server.json("/v1/images/registry.test%2Fscratch%3A1/vulnerabilities");
    assert_eq!((scratch["covered"].as_bool(), scratch["coverage"].as_str()), (Some(false), Some("unknown-os")));
    let (status, body) = server.get("/v1/images/registry%3A5000%2Fteam%2Fbase%3A1/vulnerabilities", None);
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"), "two platforms: {body}");
    let arm = server.json("/v1/images/registry%3A5000%2Fteam%2Fbase%3A1/packages?platform=linux/arm64");
    assert_eq!(arm["image"]["platform"], "linux/arm64");
    assert_eq!(arm["packages"][0]["name"], "libssl3");
    let (status, body) = server.get("/v1/images/registry.test%2Fnope%3A1/packages", None);
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"), "{body}");

    // Images by package, binary or source name, with a version bound compared by each
    // package's ecosystem (the Alpine image's apk 3.1.4-r0 is not below the bound).
    let holders = server.json("/v1/packages/openssl/images");
    assert_eq!(holders["items"].as_array().unwrap().len(), 4);
    let below = server.json("/v1/packages/openssl/images?version_below=3.0.13-1~deb12u1");
    let kept: Vec<String> = below["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let names: Vec<&str> =
                i["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
            format!("{} {} {}", i["reference"].as_str().unwrap(), i["platform"].as_str().unwrap(), names.join(","))
        })
        .collect();
    assert_eq!(
        kept,
        [
            "registry.test/app:1 linux/amd64 libssl3",
            "registry:5000/team/base:1 linux/amd64 openssl",
            "registry:5000/team/base:1 linux/arm64 libssl3",
        ]
    );
    let apk = server.json("/v1/packages/libcrypto3/images?version_below=3.1.4-r1");
    assert_eq!(apk["items"][0]["reference"], "registry.test/alpine:1", "{apk}");
    let libssl = server.json("/v1/packages/libssl3/images?version_below=3.0.12");
    assert_eq!(libssl["items"].as_array().unwrap().len(), 2, "{libssl}");
    assert_eq!(libssl["items"][0]["packages"][0]["matched_by"], "binary");

    let (status, body) = server.get("/readyz", None);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn cached_answers_follow_commits_made_by_another_process() {
    let ws = seeded(SEED, "");
    let server = ws.serve(&["--no-sync"], &[]);
    let path = "/v1/advisories/CVE-2024-9999/affected-images";
    let before = server.json(path);
    assert_eq!(references(&before), ["registry.test/app:1 linux/amd64"]);
    assert_eq!(server.json(path), before);
    // The cached answer carries an ETag; asking with it answers 304.
    let etag = server.get_full(path, None).headers()["etag"].to_str().unwrap().to_string();
    let response = server.agent.get(server.url(path)).header("If-None-Match", &etag).call().unwrap();
    assert_eq!(response.status().as_u16(), 304);
    // This test process is the other writer: the server learns of it only through SQLite.
    // A package in the affected state appears in another image.
    ws.sql(
        "INSERT INTO packages (id, image_id, state_id, name, version, arch, source_name, source_version, ecosystem,
                               layer_digest)
             VALUES (22, 2, 2, 'zlib1g', '1:1.2.13.dfsg-1', 'amd64', 'zlib', '1:1.2.13.dfsg-1', 'dpkg', 'sha256:l2');",
    );
    let after = server.json("/v1/advisories/CVE-2024-9999/affected-images");
    assert_eq!(references(&after), ["registry.test/app:1 linux/amd64", "registry:5000/team/base:1 linux/amd64"]);
    let response = server.agent.get(server.url(path)).header("If-None-Match", &etag).call().unwrap();
    assert_eq!(response.status().as_u16(), 200, "the answer changed, so did its ETag");
    ws.sql("DELETE FROM state_findings WHERE advisory_id = 'CVE-2024-9999'");
    assert_eq!(server.json("/v1/advisories/CVE-2024-9999/affected-images")["n_images"], 0);
    // An id unknown at first becomes known.
    let (status, _) = server.get("/v1/advisories/CVE-2025-0001/affected-images", None);
    assert_eq!(status, 404);
    ws.sql("INSERT INTO advisory_aliases (feed, advisory_id, alias) VALUES ('debian-tracker', 'CVE-2024-9999', 'CVE-2025-0001')");
    assert_eq!(server.json("/v1/advisories/CVE-2025-0001/affected-images")["n_images"], 0);
}

#[test]
fn openapi_lists_every_route_and_metrics_parse() {
    let ws = seeded(SEED, "");
    let server = ws.serve(&["--no-sync"], &[]);
    let document = server.json("/openapi.json");
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("paths");
    for route in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/v1/advisories",
        "/v1/advisories/{id}",
        "/v1/advisories/{id}/affected-images",
        "/v1/packages/{name}/images",
        "/v1/images",
        "/v1/images/{reference}/packages",
        "/v1/images/{reference}/vulnerabilities",
        "/v1/findings",
        "/v1/images/{reference}/graph",
        "/v1/rebuilds",
        "/v1/notifications",
        "/v1/mail",
        "/v1/registry-events",
    ] {
        assert!(paths.contains_key(route), "{route} missing from the OpenAPI document");
    }
    // Every documented operation is routed: no 405, no "no such route".
    for (path, operations) in paths {
        let concrete = path
            .replace("{id}", "CVE-2024-1234")
            .replace("{name}", "openssl")
            .replace("{reference}", "registry.test%2Fapp%3A1");
        for method in operations.as_object().unwrap().keys() {
            let (status, body) = match method.as_str() {
                "get" => server.get(&concrete, None),
                "post" if path == "/v1/registry-events" => {
                    server.post(&concrete, "application/json", br#"{"events": []}"#, None)
                }
                "post" => server.post(&concrete, "text/plain", NOT_AN_ADVISORY.as_bytes(), None),
                other => panic!("undocumented method {other}"),
            };
            assert!(status == 200 || status == 202, "{method} {concrete}: {status} {body}");
        }
    }

    let response = server.get_full("/metrics", None);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let (_, text, _) = Server::answer(response);
    let samples = parse_prometheus(&text);
    let sample = |name: &str, labels: &[(&str, &str)]| {
        samples
            .iter()
            .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v)))
            .map(|(_, _, v)| *v)
    };
    assert!(sample("cascade_http_requests_total", &[("route", "/healthz"), ("status", "200")]) >= Some(1.0), "{text}");
    assert!(sample("cascade_http_requests_total", &[("route", "/v1/findings"), ("status", "200")]) >= Some(1.0));
    let count = sample("cascade_http_request_duration_seconds_count", &[("route", "/healthz"), ("status", "200")]);
    let inf = sample("cascade_http_request_duration_seconds_bucket", &[("route", "/healthz"), ("le", "+Inf")]);
    assert_eq!(count, inf, "{text}");
    assert_eq!(sample("cascade_images", &[]), Some(5.0));
    assert_eq!(sample("cascade_findings", &[]), Some(6.0));
    assert_eq!(sample("cascade_feed_up", &[("feed", "dsa-list")]), Some(1.0));
    assert_eq!(sample("cascade_feed_up", &[("feed", "debian-tracker")]), Some(0.0));
    assert_eq!(sample("cascade_feed_last_success_timestamp_seconds", &[("feed", "dsa-list")]), Some(1_796_119_200.0));
    assert_eq!(sample("cascade_feed_advisories", &[("feed", "debian-tracker")]), Some(2.0));
}

type Sample = (String, Vec<(String, String)>, f64);

/// Parses the Prometheus text format strictly enough to catch malformed output: comment lines
/// are HELP or TYPE (with a known type), samples are `name{label="value",...} number`, and every
/// sample's metric family was declared with TYPE first.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut typed: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
    };
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, tail) = (parts.next().unwrap(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            assert!(is_name(name), "bad metric name in {line:?}");
            match kind {
                "HELP" => assert!(!tail.is_empty(), "{line:?}"),
                "TYPE" => {
                    assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&tail), "{line:?}");
                    typed.push(name.to_string());
                }
                _ => panic!("unexpected comment {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value in {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').unwrap_or_else(|| panic!("{line:?}")))),
            None => (series, Vec::new()),
        };
        assert!(is_name(name), "bad metric name in {line:?}");
        let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
        assert!(typed.iter().any(|t| t == name || t == family), "{name} has no TYPE line");
        samples.push((name.to_string(), labels, value));
    }
    assert!(!samples.is_empty());
    samples
}

fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad labels {text:?}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("bad escape in {text:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {text:?}"),
            }
        };
        labels.push((key.to_string(), value));
        rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
    }
    labels
}

#[test]
fn mail_is_stored_skipped_or_refused() {
    let ws = seeded(SEED, "");
    let server = ws.serve(&["--no-sync"], &[]);
    let (status, body) = server.post("/v1/mail", "message/rfc822", DSA_MAIL.as_bytes(), None);
    assert_eq!(status, 202, "{body}");
    let stored: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stored["stored"], true);
    assert_eq!(stored["advisories"], serde_json::json!(["DSA-5690-1"]));
    assert_eq!(stored["changes"]["n_added"], 1);
    let advisory = server.json("/v1/advisories/DSA-5690-1");
    assert_eq!(advisory["affected"][0]["feed"], "mail");
    assert_eq!(advisory["affected"][0]["package"], "glibc");
    assert_eq!(advisory["affected"][0]["fixed_version"], "2.36-9+deb12u4");

    let (status, body) = server.post("/v1/mail", "text/plain; charset=utf-8", NOT_AN_ADVISORY.as_bytes(), None);
    assert_eq!(status, 200, "{body}");
    let skipped: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(skipped["stored"], false);
    assert!(skipped["reason"].as_str().unwrap().contains("reply"), "{body}");

    let (status, body) = server.post("/v1/mail", "application/json", b"{}", None);
    assert_eq!((status, error_code(&body).as_str()), (415, "unsupported_media_type"), "{body}");
    let huge = vec![b'a'; 1024 * 1024 + 1];
    let (status, body) = server.post("/v1/mail", "message/rfc822", &huge, None);
    assert_eq!((status, error_code(&body).as_str()), (413, "payload_too_large"), "{body}");
}

#[test]
fn tokens_guard_reads_and_writes() {
    let ws = seeded(SEED, "");
    let token_file = ws.dir().join("write-token");
    std::fs::write(&token_file, format!("{WRITE_TOKEN}\n")).unwrap();
    std::fs::write(
        ws.dir().join("cascade.toml"),
        format!(
            "[api]\ntokens = [{{ name = \"mailer\", token_file = \"{}\", scope = \"write\" }}]\n",
            token_file.display()
        ),
    )
    .unwrap();
    let server = ws.serve(&["--no-sync"], &[("CASCADE_API_READ_TOKEN", READ_TOKEN)]);

    // Open routes.
    for open in ["/healthz", "/readyz", "/openapi.json"] {
        assert_eq!(server.get(open, None).0, 200, "{open}");
    }
    // Reads need a token.
    let response = server.get_full("/v1/images", None);
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().get("www-authenticate").is_some());
    let (_, body, _) = Server::answer(response);
    assert_eq!(error_code(&body), "unauthorized");
    let (status, body) = server.get("/v1/images", Some("read-token-0123456789abcdeX"));
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    assert_eq!(server.get("/v1/images", Some(READ_TOKEN)).0, 200);
    assert_eq!(server.get("/v1/images", Some(WRITE_TOKEN)).0, 200, "write implies read");
    let (status, body) = server.get("/metrics", None);
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    assert_eq!(server.get("/metrics", Some(READ_TOKEN)).0, 200);
    let (status, body) = server.get("/v1/no-such-route", None);
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"), "unknown paths reveal nothing");

    // Writes need the write scope.
    let (status, body) = server.post("/v1/mail", "message/rfc822", DSA_MAIL.as_bytes(), None);
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    let (status, body) = server.post("/v1/mail", "message/rfc822", DSA_MAIL.as_bytes(), Some(READ_TOKEN));
    assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));
    let (status, body) = server.post("/v1/mail", "message/rfc822", DSA_MAIL.as_bytes(), Some(WRITE_TOKEN));
    assert_eq!(status, 202, "{body}");

    let (exit, _) = server.terminate();
    assert!(exit.success());
    let log = std::fs::read_to_string(ws.dir().join(format!("serve-{}.stderr", std::process::id()))).unwrap();
    assert!(log.contains("mailer"), "the log names tokens: {log}");
    assert!(!log.contains(READ_TOKEN) && !log.contains(WRITE_TOKEN), "the log shows no token value: {log}");
}

#[test]
fn without_tokens_only_loopback_is_served() {
    let ws = seeded("", "");
    let out = ws.command(&["serve", "--no-sync", "--listen", "0.0.0.0:0"]).output().expect("run cascade serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refusing to listen on 0.0.0.0:0") && stderr.contains("token"), "{stderr}");

    let out = ws.command(&["serve", "--no-sync", "--listen", "nonsense"]).output().expect("run cascade serve");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn sigterm_stops_the_server_promptly_with_exit_0() {
    let ws = seeded(SEED, "");
    let server = ws.serve(&["--no-sync"], &[]);
    // A kept-alive connection from the agent's pool must not hold the shutdown up.
    assert_eq!(server.get("/v1/findings", None).0, 200);
    let (status, took) = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// The names of the default feeds (one `feeds/*.toml` each), to disable them in a config.
fn default_feed_names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("feeds/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn serve_syncs_enabled_feeds_on_schedule() {
    let secdb = serde_json::json!({
        "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
        "archs": ["x86_64"], "reponame": "main", "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
        "distroversion": "v3.19",
        "packages": [ { "pkg": { "name": "openssl", "secfixes": { "3.1.4-r1": ["CVE-2023-5363"] } } } ],
    });
    let feed = HttpStub::start(move |_| StubReply::new(200).json(&secdb));
    let mut config = String::new();
    for name in default_feed_names() {
        config.push_str(&format!("[feeds.\"{name}\"]\nenabled = false\n"));
    }
    config.push_str(&format!(
        "[feeds.test-alpine]\nurl = \"{}/v3.19/main.json\"\nformat = \"alpine-secdb\"\ndistro = \"alpine\"\n\
         releases = [\"3.19\"]\ninterval = \"1h\"\ntimeout_secs = 5\n",
        feed.url()
    ));
    let ws = seeded("", &config);
    let server = ws.serve(&[], &[]);
    let started = Instant::now();
    loop {
        let page = server.json("/v1/advisories?feed=test-alpine");
        if !page["items"].as_array().unwrap().is_empty() {
            assert_eq!(page["items"][0]["id"], "CVE-2023-5363");
            break;
        }
        assert!(started.elapsed() < DEADLINE, "the scheduler never synced the feed\n{}", server.stderr());
        std::thread::sleep(POLL);
    }
    let alpine = server.json("/v1/advisories/CVE-2023-5363");
    assert_eq!(alpine["affected"][0]["release"], "3.19");
    assert_eq!(feed.request_count(), 1, "one sync per interval");
    let (status, _) = server.terminate();
    assert_eq!(status.code(), Some(0));
}
