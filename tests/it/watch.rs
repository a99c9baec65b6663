//! Watch and cascade end to end: a vendor parent, an intermediate and a child pushed to the
//! real registry; `cascade watch` rounds (each one a fresh process, so every step also
//! survives a restart) and `cascade serve` with registry events; CI receivers that answer as
//! GitHub and a signed webhook do; a package mirror that does or does not carry a fix.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::cli::{Workspace, DEADLINE};
use crate::support::image::*;
use crate::support::receivers::{Fault, GithubReceiver, SlackReceiver, WebhookReceiver};
use crate::support::registry::{HttpStub, StubReply, TestRegistry};
use cascade::images::digest::Digest;

const GH_TOKEN: &str = "ghp-test-token-0123456789";
const WEBHOOK_SECRET: &str = "webhook-secret-0123456789";

const BOOKWORM: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// A vendor base layer: os-release and a dpkg status holding libssl3 (source openssl).
fn vendor_layer(openssl_version: &str, marker: &str) -> Layer {
    let status = dpkg_paragraph("libssl3", openssl_version, "amd64", Some("openssl"))
        + &dpkg_paragraph("base-files", "12.4", "amd64", None);
    LayerBuilder::new()
        .file("etc/os-release", BOOKWORM.as_bytes())
        .file("var/lib/dpkg/status", status.as_bytes())
        .file("etc/vendor-build", marker.as_bytes())
        .build(Compression::Gzip)
}

fn file_layer(path: &str, content: &str) -> Layer {
    LayerBuilder::new().file(path, content.as_bytes()).build(Compression::Gzip)
}

struct Images {
    registry: TestRegistry,
    vendor: String,
    base: String,
    app: String,
}

/// vendor/debian:bookworm ← acme/base:12 ← acme/app:1, all pushed.
fn push_family() -> (Images, Layer) {
    let registry = TestRegistry::start();
    let vendor_v1 = vendor_layer("3.0.11-1~deb12u2", "v1");
    let base_layer = file_layer("etc/acme/base", "1");
    registry.push_image("vendor/debian", "bookworm", &TestImage::new(vec![vendor_v1.clone()]));
    registry.push_image("acme/base", "12", &TestImage::new(vec![vendor_v1.clone(), base_layer.clone()]));
    registry.push_image(
        "acme/app",
        "1",
        &TestImage::new(vec![vendor_v1.clone(), base_layer.clone(), file_layer("srv/app", "1")]),
    );
    let host = registry.host();
    let images = Images {
        vendor: format!("{host}/vendor/debian:bookworm"),
        base: format!("{host}/acme/base:12"),
        app: format!("{host}/acme/app:1"),
        registry,
    };
    (images, base_layer)
}

/// The config: the vendor image watched, the intermediate with a GitHub workflow trigger and
/// an explicit parent, the child with a repository_dispatch trigger and an inferred parent.
fn watch_config(images: &Images, github: &str, extra: &str) -> String {
    format!(
        r#"
[watch]
interval_secs = 3600
settle_secs = 0
retry_initial_secs = 0
{extra}

[[watch.images]]
image = "{vendor}"

[[watch.images]]
image = "{base}"
parent = "{vendor}"
trigger = {{ kind = "github-workflow", api_url = "{github}", repository = "acme/base-images", workflow = "base.yml", token_env = "GH_TOKEN" }}

[[watch.images]]
image = "{app}"
trigger = {{ kind = "github-dispatch", api_url = "{github}", repository = "acme/app", token_env = "GH_TOKEN" }}
"#,
        vendor = images.vendor,
        base = images.base,
        app = images.app,
    )
}

/// One `cascade watch` round (a new process each time) with the triggers' secrets set.
fn watch_round(ws: &Workspace) -> Value {
    let env = [("GH_TOKEN", GH_TOKEN), ("HOOK_SECRET", WEBHOOK_SECRET)];
    let out = ws.cascade_with(None, &env, &["watch", "--format", "json"]);
    assert!(out.status.success(), "cascade watch failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("watch prints JSON")
}

fn rebuilds(ws: &Workspace) -> Vec<Value> {
    let text = ws.ok(&["rebuilds", "list", "--format", "json"]);
    let v: Value = serde_json::from_str(&text).expect("rebuilds list prints JSON");
    v["items"].as_array().expect("items").clone()
}

fn body_json(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("a JSON request body")
}

#[test]
fn a_new_parent_digest_rebuilds_the_intermediate_then_its_child_in_order() {
    let (images, base_layer) = push_family();
    let github = GithubReceiver::start(GH_TOKEN);
    let slack = SlackReceiver::start();
    let ws = Workspace::new();
    let notify =
        "[notify]\nmin_interval_ms = 0\n[[notify.routes]]\nname = \"ops\"\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\n";
    ws.write_config(&watch_config(&images, &github.url(), notify));

    // Round 1 indexes the three images; everything is built on its parent's current digest.
    let report = watch_round(&ws);
    assert_eq!((report["n_polled"].as_u64(), report["n_indexed"].as_u64()), (Some(3), Some(3)), "{report}");
    assert_eq!(github.request_count(), 0);
    let graph: Value = serde_json::from_str(&ws.ok(&["images", "graph", "--format", "json"])).unwrap();
    let entry = |reference: &str| {
        graph["items"].as_array().unwrap().iter().find(|e| e["reference"] == reference).cloned().unwrap()
    };
    assert_eq!(entry(&images.base)["parent"], json!(images.vendor));
    assert_eq!(entry(&images.base)["parent_source"], "config");
    assert_eq!(entry(&images.app)["parent"], json!(images.base));
    assert_eq!(entry(&images.app)["parent_source"], "inferred", "layer prefix");
    assert_eq!(entry(&images.app)["freshness"], "current");

    // The vendor pushes a new digest: exactly one rebuild of the intermediate is requested.
    let vendor_v2 = vendor_layer("3.0.13-1~deb12u1", "v2");
    let new_vendor = images.registry.push_image("vendor/debian", "bookworm", &TestImage::new(vec![vendor_v2.clone()]));
    let report = watch_round(&ws);
    assert_eq!(report["n_triggers_sent"], 1, "{report}");
    let request = github.single_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path(), "/repos/acme/base-images/actions/workflows/base.yml/dispatches");
    let body = body_json(&request.body);
    assert_eq!(body["ref"], "main");
    assert_eq!(body["inputs"]["image"], json!(images.base));
    assert_eq!(body["inputs"]["parent_digest"], json!(new_vendor.to_string()));

    // Later rounds (new processes) neither repeat it nor touch the child, whose parent has
    // not changed yet.
    for _ in 0..2 {
        let report = watch_round(&ws);
        assert_eq!(report["n_triggers_sent"], 0, "{report}");
    }
    assert_eq!(github.request_count(), 1);
    let held = rebuilds(&ws);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["status"], "requested");

    // CI pushes the rebuilt intermediate: confirmed, and only now is the child triggered.
    let new_base = images.registry.push_image(
        "acme/base",
        "12",
        &TestImage::new(vec![vendor_v2.clone(), file_layer("etc/acme/base", "2")]),
    );
    let _ = base_layer;
    let report = watch_round(&ws);
    assert_eq!((report["n_confirmed"].as_u64(), report["n_triggers_sent"].as_u64()), (Some(1), Some(1)), "{report}");
    let requests = github.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].path(), "/repos/acme/app/dispatches");
    let body = body_json(&requests[1].body);
    assert_eq!(body["event_type"], "cascade-rebuild");
    assert_eq!(body["client_payload"]["image"], json!(images.app));
    assert_eq!(body["client_payload"]["new_parent_digest"], json!(new_base.to_string()));
    assert!(requests[1].received > requests[0].received);

    // The stored chain: causes and outcomes, newest first.
    let records = rebuilds(&ws);
    assert_eq!(records.len(), 2, "{records:#?}");
    let (app, base) = (&records[0], &records[1]);
    assert_eq!(base["image"], json!(images.base));
    assert_eq!(base["status"], "confirmed");
    assert_eq!(base["new_digest"], json!(new_base.to_string()));
    assert_eq!(base["causes"][0]["kind"], "parent-digest-changed");
    assert_eq!(base["causes"][0]["key"], json!(format!("parent:{}@{new_vendor}", images.vendor)));
    assert_eq!(base["new_parent_digest"], json!(new_vendor.to_string()));
    assert_eq!(app["image"], json!(images.app));
    assert_eq!(app["status"], "requested");
    assert_eq!(app["parent"], json!(images.base));
    assert_eq!(app["causes"][0]["key"], json!(format!("parent:{}@{new_base}", images.base)));
    assert!(app["response"].as_str().unwrap().starts_with("http 204"), "{app}");

    let report = watch_round(&ws);
    assert_eq!(report["n_triggers_sent"], 0, "{report}");
    assert_eq!(github.request_count(), 2);

    // The cascade's progress, told once each: requested, confirmed, the child requested.
    let slack_url = slack.webhook_url();
    let out = ws.cascade_with(None, &[("SLACK_URL", slack_url.as_str())], &["notify", "send"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let texts: Vec<String> =
        slack.messages().iter().map(|m| m["text"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(texts.len(), 3, "{texts:#?}");
    assert!(texts[0].contains("requested") && texts[0].contains(&images.base), "{texts:#?}");
    assert!(texts[1].contains("confirmed") && texts[1].contains(&images.base), "{texts:#?}");
    assert!(texts[2].contains("requested") && texts[2].contains(&images.app), "{texts:#?}");
}

#[test]
fn a_registry_push_event_makes_serve_poll_and_trigger_at_once() {
    let (images, _) = push_family();
    let github = GithubReceiver::start(GH_TOKEN);
    let ws = Workspace::new();
    ws.write_config(&watch_config(&images, &github.url(), ""));
    let server = ws.serve(&["--no-sync"], &[("GH_TOKEN", GH_TOKEN)]);
    // The first round runs at start-up and indexes the images.
    let deadline = Instant::now() + DEADLINE;
    while server.json("/v1/images?limit=10")["items"].as_array().map_or(0, Vec::len) < 3 {
        assert!(Instant::now() < deadline, "the first watch round never indexed the images\n{}", server.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    let new_vendor = images.registry.push_image(
        "vendor/debian",
        "bookworm",
        &TestImage::new(vec![vendor_layer("3.0.13-1~deb12u1", "v2")]),
    );
    // The registry's notification for that push (interval_secs is an hour: only the event can
    // start the next round before the deadline).
    let envelope = json!({ "events": [{
        "id": "e1", "action": "push",
        "target": { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": new_vendor.to_string(),
                    "repository": "vendor/debian", "tag": "bookworm",
                    "url": format!("http://{}/v2/vendor/debian/manifests/{new_vendor}", images.registry.host()) },
        "request": { "host": images.registry.host(), "method": "PUT" } }] });
    let (status, body) = server.post(
        "/v1/registry-events",
        "application/vnd.docker.distribution.events.v2+json",
        envelope.to_string().as_bytes(),
        None,
    );
    assert_eq!(status, 202, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["n_watched_tags"], 1);
    while github.request_count() == 0 {
        assert!(Instant::now() < deadline, "no rebuild was triggered\n{}", server.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    let rebuilds = server.json("/v1/rebuilds");
    assert_eq!(rebuilds["items"][0]["image"], json!(images.base), "{rebuilds}");
    let graph = server.json(&format!("/v1/images/{}/graph", urlencode(&images.app)));
    assert_eq!(graph["image"]["parent"], json!(images.base), "{graph}");
    assert_eq!(graph["ancestors"][0]["reference"], json!(images.base));
    assert_eq!(graph["ancestors"][1]["reference"], json!(images.vendor));
    let (status, _) = server.post("/v1/registry-events", "text/plain", b"{}", None);
    assert_eq!(status, 415);
    let (status, _) = server.post("/v1/registry-events", "application/json", b"{\"events\": [", None);
    assert_eq!(status, 400);
    let (exit, _) = server.terminate();
    assert!(exit.success());
    assert_eq!(github.request_count(), 1);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The tracker says openssl is fixed in bookworm by 3.0.13-1~deb12u1.
fn tracker() -> String {
    json!({"openssl": {"CVE-2024-0001": {"description": "openssl issue", "scope": "remote", "releases": {
        "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.13-1~deb12u1"},
                     "fixed_version": "3.0.13-1~deb12u1", "urgency": "high"}}}}})
    .to_string()
}

fn packages_index(openssl_version: &str) -> String {
    format!(
        "Package: libssl3\nSource: openssl\nVersion: {openssl_version}\nArchitecture: amd64\n\n\
         Package: openssl\nVersion: {openssl_version}\nArchitecture: amd64\n\n"
    )
}

#[test]
fn an_advisory_rebuilds_only_once_its_fix_is_installable() {
    let (images, _) = push_family();
    let webhook = WebhookReceiver::start(WEBHOOK_SECRET);
    let tracker_doc = tracker();
    let feed = HttpStub::start(move |_| StubReply::new(200).body(tracker_doc.clone()));
    let mirror_version = std::sync::Arc::new(std::sync::Mutex::new("3.0.11-1~deb12u2".to_string()));
    let mirror = {
        let v = mirror_version.clone();
        HttpStub::start(move |_| StubReply::new(200).body(packages_index(&v.lock().unwrap())))
    };
    let ws = Workspace::new();
    ws.write_config(&format!(
        r#"
[feeds.debian-tracker]
url = "{feed}/tracker.json"

[watch]
interval_secs = 0
settle_secs = 0
retry_initial_secs = 0

[[watch.mirrors]]
distro = "debian"
release = "12"
indexes = ["{mirror}/debian/dists/bookworm/main/binary-amd64/Packages"]

[[watch.images]]
image = "{base}"
trigger = {{ kind = "webhook", url = "{hook}/hooks/rebuild", secret_env = "HOOK_SECRET" }}
"#,
        feed = feed.url(),
        mirror = mirror.url(),
        base = images.base,
        hook = webhook.url(),
    ));
    ws.ok(&["feeds", "sync", "debian-tracker"]);

    // The mirror only has the vulnerable version: no rebuild, and the finding says why.
    let report = watch_round(&ws);
    assert_eq!(report["n_triggers_sent"], 0, "{report}");
    assert_eq!(webhook.request_count(), 0);
    let vulns = ws.scan_json(&[&images.base]);
    let finding = &vulns["vulnerabilities"][0];
    assert_eq!(finding["fix"]["state"], "not-yet", "{vulns:#}");
    assert_eq!(finding["fix"]["available_version"], "3.0.11-1~deb12u2");

    // The fix reaches the mirror: the next round rebuilds, signed; the receiver fails once
    // with a 500 first, and the retry in the round after succeeds.
    *mirror_version.lock().unwrap() = "3.0.13-1~deb12u1".to_string();
    webhook.fail_next(1, Fault::Status(500));
    let report = watch_round(&ws);
    assert_eq!(
        (report["n_triggers_sent"].as_u64(), report["n_trigger_failures"].as_u64()),
        (Some(0), Some(1)),
        "{report}"
    );
    let records = rebuilds(&ws);
    assert_eq!(records[0]["status"], "pending");
    assert_eq!(records[0]["n_attempts"], 1);
    assert!(records[0]["error"].as_str().unwrap().contains("500"), "{records:#?}");
    let report = watch_round(&ws);
    assert_eq!(report["n_triggers_sent"], 1, "{report}");
    let delivered = webhook.requests();
    assert_eq!(delivered.len(), 2, "one failed attempt, one delivery");
    let body = body_json(&delivered[1].body);
    assert_eq!(body["event"], "rebuild");
    assert_eq!(body["advisories"], json!(["CVE-2024-0001"]));
    assert_eq!(body["causes"], json!(["advisory-fix-installable"]));
    let records = rebuilds(&ws);
    assert_eq!(records.len(), 1);
    assert_eq!((records[0]["status"].as_str(), records[0]["n_attempts"].as_u64()), (Some("requested"), Some(2)));
    assert_eq!(records[0]["causes"][0]["advisory_id"], "CVE-2024-0001");
    let vulns = ws.scan_json(&[&images.base]);
    assert_eq!(vulns["vulnerabilities"][0]["fix"]["state"], "installable");

    // Across further rounds (restarts) the same cause never triggers again.
    watch_round(&ws);
    assert_eq!(webhook.request_count(), 2);
}

#[test]
fn refused_and_slow_receivers_are_recorded_failures_with_bounded_retries() {
    let (images, _) = push_family();
    // The receiver expects another secret: every attempt is refused with 401.
    let webhook = WebhookReceiver::start("a-different-secret-0123456789");
    let ws = Workspace::new();
    let config = |hook: &str| {
        format!(
            r#"
[watch]
interval_secs = 3600
settle_secs = 0
retry_initial_secs = 0
max_attempts = 2
trigger_timeout_secs = 1

[[watch.images]]
image = "{vendor}"

[[watch.images]]
image = "{base}"
parent = "{vendor}"
trigger = {{ kind = "webhook", url = "{hook}/hook", secret_env = "HOOK_SECRET" }}
"#,
            vendor = images.vendor,
            base = images.base,
        )
    };
    ws.write_config(&config(&webhook.url()));
    watch_round(&ws);
    images.registry.push_image(
        "vendor/debian",
        "bookworm",
        &TestImage::new(vec![vendor_layer("3.0.13-1~deb12u1", "v2")]),
    );
    watch_round(&ws);
    watch_round(&ws);
    let records = rebuilds(&ws);
    assert_eq!(records[0]["status"], "failed", "{records:#?}");
    assert_eq!(records[0]["n_attempts"], 2);
    assert!(records[0]["error"].as_str().unwrap().contains("401"), "{records:#?}");
    watch_round(&ws);
    assert_eq!(webhook.request_count(), 2, "max_attempts bounds the retries");

    // A receiver slower than trigger_timeout_secs: a recorded, retried failure.
    let slow = WebhookReceiver::start(WEBHOOK_SECRET);
    slow.fail_next(1, Fault::Delay(Duration::from_secs(30)));
    ws.write_config(&config(&slow.url()));
    images.registry.push_image(
        "vendor/debian",
        "bookworm",
        &TestImage::new(vec![vendor_layer("3.0.14-1~deb12u1", "v3")]),
    );
    watch_round(&ws);
    slow.release();
    let records = rebuilds(&ws);
    assert_eq!(records[0]["status"], "pending", "{records:#?}");
    assert!(
        records[0]["error"].as_str().unwrap().contains("timed out")
            || records[0]["error"].as_str().unwrap().contains("timeout"),
        "{records:#?}"
    );
    watch_round(&ws);
    let records = rebuilds(&ws);
    assert_eq!(records[0]["status"], "requested", "{records:#?}");
    assert_eq!(records.len(), 2, "the failed rebuild stays on record: {records:#?}");
}

#[test]
fn polling_a_thousand_unchanged_tags_sends_only_head_requests() {
    const N: usize = 1000;
    let registry = TestRegistry::start();
    let image = TestImage::new(vec![vendor_layer("3.0.11-1~deb12u2", "v1")]);
    let digest = registry.push_image("vendor/debian", "t0", &image);
    let manifest = image.manifest();
    for i in 1..N {
        registry.push_manifest(
            "vendor/debian",
            &format!("t{i}"),
            "application/vnd.oci.image.manifest.v1+json",
            &manifest,
        );
    }
    let mut config = String::from("[watch]\nregistry_requests_per_sec = 100000.0\nregistry_concurrency = 8\n");
    for i in 0..N {
        config.push_str(&format!("[[watch.images]]\nimage = \"{}/vendor/debian:t{i}\"\n", registry.host()));
    }
    let ws = Workspace::new();
    ws.write_config(&config);
    // Round 1 indexes every tag (GETs); round 2 finds nothing new.
    let report = watch_round(&ws);
    assert_eq!((report["n_polled"].as_u64(), report["n_indexed"].as_u64()), (Some(N as u64), Some(N as u64)));
    let before = wait_for_log(&registry, |log| log.iter().filter(|(m, _)| m == "HEAD").count() >= N);
    let report = watch_round(&ws);
    assert_eq!((report["n_polled"].as_u64(), report["n_changed"].as_u64()), (Some(N as u64), Some(0)), "{report}");
    let after = wait_for_log(&registry, |log| log.len() >= before.len() + N);
    let round_two = &after[before.len()..];
    assert_eq!(round_two.len(), N, "one request per tag: {:?}", &round_two[..round_two.len().min(5)]);
    assert!(round_two.iter().all(|(method, path)| method == "HEAD" && path.contains("/manifests/t")), "{round_two:?}");
    let _ = digest;
}

/// The registry's access log once `done` holds for it (lines land just after each response).
fn wait_for_log(registry: &TestRegistry, done: impl Fn(&[(String, String)]) -> bool) -> Vec<(String, String)> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let log = registry.access_log();
        if done(&log) {
            return log;
        }
        assert!(Instant::now() < deadline, "the registry's access log never showed the requests ({} lines)", log.len());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pushes a two-platform index of `amd64` and `arm64` (each image, and the attestation the
/// index also names, pushed by digest first). Returns the index digest.
fn push_index(registry: &TestRegistry, repo: &str, tag: &str, amd64: &TestImage, arm64: &TestImage) -> String {
    for image in [amd64, arm64] {
        registry.push_image(repo, &Digest::sha256_of(&image.manifest()).to_string(), image);
    }
    registry.push_blob(repo, ATTESTATION_CONFIG);
    let attestation = attestation_manifest();
    let oci_manifest = "application/vnd.oci.image.manifest.v1+json";
    registry.push_manifest(repo, &Digest::sha256_of(&attestation).to_string(), oci_manifest, &attestation);
    let index_bytes = index(&[amd64.clone(), arm64.clone()]);
    registry.push_manifest(repo, tag, "application/vnd.oci.image.index.v1+json", &index_bytes).to_string()
}

#[test]
fn a_multi_platform_parent_counts_only_for_the_platforms_in_use() {
    let registry = TestRegistry::start();
    let amd_v1 = vendor_layer("3.0.11-1~deb12u2", "amd64 v1");
    let amd64 = TestImage::new(vec![amd_v1.clone()]);
    let arm64 =
        |marker: &str| TestImage::new(vec![vendor_layer("3.0.11-1~deb12u2", marker)]).platform("arm64", Some("v8"));
    push_index(&registry, "vendor/debian", "bookworm", &amd64, &arm64("arm64 v1"));
    registry.push_image("acme/base", "12", &TestImage::new(vec![amd_v1, file_layer("etc/acme/base", "1")]));
    let github = GithubReceiver::start(GH_TOKEN);
    let (vendor, base) =
        (format!("{}/vendor/debian:bookworm", registry.host()), format!("{}/acme/base:12", registry.host()));
    let ws = Workspace::new();
    ws.write_config(&format!(
        r#"
[watch]
settle_secs = 0

[[watch.images]]
image = "{vendor}"

[[watch.images]]
image = "{base}"
parent = "{vendor}"
platforms = ["linux/amd64"]
trigger = {{ kind = "github-workflow", api_url = "{github}", repository = "acme/base-images", workflow = "base.yml", token_env = "GH_TOKEN" }}
"#,
        github = github.url()
    ));
    watch_round(&ws);

    // Only the arm64 image changes: the index digest changes, but not the amd64 image the
    // intermediate is built on: no rebuild.
    let arm_v2 = arm64("arm64 v2");
    push_index(&registry, "vendor/debian", "bookworm", &amd64, &arm_v2);
    let report = watch_round(&ws);
    assert_eq!((report["n_changed"].as_u64(), report["n_triggers_sent"].as_u64()), (Some(1), Some(0)), "{report}");
    assert_eq!(github.request_count(), 0);

    // Now amd64 changes too: one rebuild, naming the new index digest.
    let amd_v2 = TestImage::new(vec![vendor_layer("3.0.13-1~deb12u1", "amd64 v2")]);
    let new_index = push_index(&registry, "vendor/debian", "bookworm", &amd_v2, &arm_v2);
    let report = watch_round(&ws);
    assert_eq!(report["n_triggers_sent"], 1, "{report}");
    let body = body_json(&github.single_request().body);
    assert_eq!(body["inputs"]["parent_digest"], json!(new_index));
}
