//! Notifications end to end: findings from real scans and feed syncs become outbox messages,
//! delivered to a local Slack-like receiver that validates payloads the way Slack does, and to
//! a signed webhook; announcements once per advisory and route, follow-ups for what changed,
//! one message within Slack's limits for an advisory over 200 images, and exactly-once
//! delivery across a receiver outage, rate limiting and a killed `cascade serve`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::cli::{Workspace, DEADLINE};
use crate::support::image::*;
use crate::support::receivers::{Fault, SlackReceiver, WebhookReceiver};
use crate::support::registry::{HttpStub, StubReply, TestRegistry};

const WEBHOOK_SECRET: &str = "notify-webhook-secret-0123456789";

const BOOKWORM: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

fn debian_image(marker: &str) -> TestImage {
    let status = dpkg_paragraph("libssl3", "3.0.11-1~deb12u2", "amd64", Some("openssl"))
        + &dpkg_paragraph("zlib1g", "1:1.2.13.dfsg-1", "amd64", Some("zlib"))
        + &dpkg_paragraph("libxml2", "2.9.14+dfsg-1.3", "amd64", None);
    TestImage::new(vec![LayerBuilder::new()
        .file("etc/os-release", BOOKWORM.as_bytes())
        .file("var/lib/dpkg/status", status.as_bytes())
        .file("etc/marker", marker.as_bytes())
        .build(Compression::Gzip)])
}

/// The tracker: openssl fixed by CVE-2024-0001 (high) unless withdrawn; zlib (low) and
/// libxml2 (medium) unfixed.
fn tracker(with_openssl: bool) -> String {
    let mut doc = json!({
        "zlib": {"CVE-2024-0009": {"description": "zlib issue", "scope": "local", "releases": {
            "bookworm": {"status": "open", "repositories": {"bookworm": "1:1.2.13.dfsg-1"}, "urgency": "low"}}}},
        "libxml2": {"CVE-2024-0010": {"description": "libxml2 issue", "scope": "remote", "releases": {
            "bookworm": {"status": "open", "repositories": {"bookworm": "2.9.14+dfsg-1.3"}, "urgency": "medium"}}}},
    });
    if with_openssl {
        doc["openssl"] = json!({"CVE-2024-0001": {"description": "openssl issue", "scope": "remote", "releases": {
            "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.13-1~deb12u1"},
                         "fixed_version": "3.0.13-1~deb12u1", "urgency": "high"}}}});
    }
    doc.to_string()
}

struct Feed {
    stub: HttpStub,
    body: std::sync::Arc<std::sync::Mutex<String>>,
}

fn feed_server(doc: String) -> Feed {
    let body = std::sync::Arc::new(std::sync::Mutex::new(doc));
    let served = body.clone();
    let stub = HttpStub::start(move |_| StubReply::new(200).body(served.lock().unwrap().clone()));
    Feed { stub, body }
}

fn notify_config(feed: &Feed, routes: &str, settings: &str) -> String {
    format!(
        r#"
[feeds.debian-tracker]
url = "{feed}/tracker.json"

[notify]
min_interval_ms = 0
retry_initial_secs = 0
api_base_url = "https://cascade.example.com"
{settings}

{routes}
"#,
        feed = feed.stub.url()
    )
}

fn send(ws: &Workspace, env: &[(&str, &str)]) -> String {
    let out = ws.cascade_with(None, env, &["notify", "send"]);
    assert!(out.status.success(), "notify send failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn outbox(ws: &Workspace) -> Vec<Value> {
    let v: Value = serde_json::from_str(&ws.ok(&["notify", "list", "--format", "json"])).unwrap();
    v["items"].as_array().unwrap().clone()
}

/// All the text a Slack message shows (fallback and blocks), for content checks.
fn all_text(message: &Value) -> String {
    let mut out = message["text"].as_str().unwrap_or_default().to_string();
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push('\n');
                out.push_str(s);
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&message["blocks"], &mut out);
    out
}

#[test]
fn an_advisory_is_announced_once_then_followed_up() {
    let registry = TestRegistry::start();
    registry.push_image("team/a", "1", &debian_image("a"));
    registry.push_image("team/b", "1", &debian_image("b"));
    let (a, b) = (format!("{}/team/a:1", registry.host()), format!("{}/team/b:1", registry.host()));
    let slack = SlackReceiver::start();
    let hook = WebhookReceiver::start(WEBHOOK_SECRET);
    let feed = feed_server(tracker(true));
    let ws = Workspace::new();
    ws.write_config(&notify_config(
        &feed,
        r#"
[[notify.routes]]
name = "team"
kind = "slack"
url_env = "SLACK_URL"
min_severity = "medium"

[[notify.routes]]
name = "siem"
kind = "webhook"
url_env = "HOOK_URL"
secret_env = "HOOK_SECRET"
fixable_only = true
"#,
        "",
    ));
    let slack_url = slack.webhook_url();
    let hook_url = format!("{}/hooks/cascade", hook.url());
    let env = [("SLACK_URL", slack_url.as_str()), ("HOOK_URL", hook_url.as_str()), ("HOOK_SECRET", WEBHOOK_SECRET)];

    ws.ok(&["scan", &a]);
    ws.ok(&["feeds", "sync", "debian-tracker"]);
    send(&ws, &env);
    // Slack: CVE-2024-0001 (high) and CVE-2024-0010 (medium); zlib's low one is below the
    // route's minimum. The webhook: fixable only, so the openssl one alone.
    let messages = slack.messages();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    let texts: Vec<String> = messages.iter().map(all_text).collect();
    let openssl = texts.iter().find(|t| t.contains("CVE-2024-0001")).expect("the openssl announcement");
    assert!(openssl.contains(&a) && openssl.contains("libssl3") && openssl.contains("3.0.13-1~deb12u1"), "{openssl}");
    assert!(texts.iter().any(|t| t.contains("CVE-2024-0010")));
    assert!(!texts.iter().any(|t| t.contains("CVE-2024-0009")));
    let delivered = hook.requests();
    assert_eq!(delivered.len(), 1);
    let body: Value = serde_json::from_slice(&delivered[0].body).unwrap();
    assert_eq!(body["event"], "announcement");
    assert_eq!(body["notice"]["advisory_id"], "CVE-2024-0001");

    // Nothing new: nothing sent.
    send(&ws, &env);
    assert_eq!(slack.messages().len(), 2);

    // A second affected image: follow-ups naming only it.
    ws.ok(&["scan", &b]);
    send(&ws, &env);
    let messages = slack.messages();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    for follow_up in &messages[2..] {
        let text = all_text(follow_up);
        assert!(text.contains(&b) && !text.contains(&a), "{text}");
    }
    assert_eq!(hook.requests().len(), 2);

    // The advisory is withdrawn: resolved, for both images.
    *feed.body.lock().unwrap() = tracker(false);
    ws.ok(&["feeds", "sync", "debian-tracker"]);
    send(&ws, &env);
    let messages = slack.messages();
    assert_eq!(messages.len(), 5, "{messages:#?}");
    let resolved = all_text(&messages[4]);
    assert!(resolved.contains("CVE-2024-0001") && resolved.contains(&a) && resolved.contains(&b), "{resolved}");

    let listed = outbox(&ws);
    assert_eq!(listed.len(), 5 + 3, "{listed:#?}");
    assert!(listed.iter().all(|m| m["status"] == "delivered"), "{listed:#?}");
    let kinds: Vec<&str> =
        listed.iter().filter(|m| m["route"] == "team").map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["resolved", "new-images", "new-images", "announcement", "announcement"]);
    let raw = ws.ok(&["notify", "list", "--format", "json"]);
    assert!(!raw.contains(&slack_url) && !raw.contains("/hooks/cascade"), "no webhook URL is ever shown");
}

#[test]
fn an_advisory_over_200_images_is_one_message_within_slacks_limits() {
    const N: usize = 200;
    let registry = TestRegistry::start();
    let image = debian_image("many");
    registry.push_image("team/app", "t0", &image);
    for i in 1..N {
        registry.push_manifest(
            "team/app",
            &format!("t{i}"),
            "application/vnd.oci.image.manifest.v1+json",
            &image.manifest(),
        );
    }
    let slack = SlackReceiver::start();
    let feed = feed_server(tracker(true));
    let ws = Workspace::new();
    let mut config = notify_config(
        &feed,
        "[[notify.routes]]\nname = \"team\"\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\nmin_severity = \"high\"\n",
        "",
    );
    config.push_str("\n[watch]\nregistry_requests_per_sec = 100000.0\n");
    for i in 0..N {
        config.push_str(&format!("[[watch.images]]\nimage = \"{}/team/app:t{i}\"\n", registry.host()));
    }
    ws.write_config(&config);
    ws.ok(&["feeds", "sync", "debian-tracker"]);
    // One watch round indexes the 200 images: 200 scans, each with new findings.
    ws.ok(&["watch"]);
    let slack_url = slack.webhook_url();
    send(&ws, &[("SLACK_URL", slack_url.as_str())]);
    let messages = slack.messages();
    assert_eq!(messages.len(), 1, "one message per advisory, not per image");
    let message = &messages[0];
    assert!(message["blocks"].as_array().unwrap().len() <= 50);
    let text = all_text(message);
    assert!(text.contains("200"), "the total is stated: {text}");
    let listed = (0..N).filter(|i| names_tag(&text, &format!("team/app:t{i}"))).count();
    let more = regex_number(&text, "and ", " more").expect("a truncation line");
    assert_eq!(listed + more, N, "listed {listed} + {more} more\n{text}");
}

/// Whether `text` names `reference` (and not just a longer tag that starts with it).
fn names_tag(text: &str, reference: &str) -> bool {
    text.match_indices(reference).any(|(at, _)| !text[at + reference.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// The number in `…{before}N{after}…`.
fn regex_number(text: &str, before: &str, after: &str) -> Option<usize> {
    text.match_indices(before).find_map(|(at, _)| {
        let rest = &text[at + before.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!digits.is_empty() && rest[digits.len()..].starts_with(after)).then(|| digits.parse().ok()).flatten()
    })
}

#[test]
fn every_message_arrives_once_across_an_outage_rate_limits_and_a_killed_server() {
    let registry = TestRegistry::start();
    registry.push_image("team/a", "1", &debian_image("a"));
    let a = format!("{}/team/a:1", registry.host());
    let slack = SlackReceiver::start();
    slack.set_down(true);
    let feed = feed_server(tracker(true));
    let ws = Workspace::new();
    ws.write_config(&notify_config(
        &feed,
        "[[notify.routes]]\nname = \"team\"\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\n",
        "poll_interval_ms = 50\nmax_attempts = 100",
    ));
    let slack_url = slack.webhook_url();
    let env = [("SLACK_URL", slack_url.as_str())];
    ws.ok(&["scan", &a]);

    // The events are written while serve runs; the receiver is down.
    let server = ws.serve(&["--no-sync", "--no-watch"], &env);
    ws.ok(&["feeds", "sync", "debian-tracker"]);
    let deadline = Instant::now() + DEADLINE;
    while slack.request_count() < 2 {
        assert!(Instant::now() < deadline, "no delivery attempt\n{}", server.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Killed (SIGKILL) while nothing can have been delivered.
    drop(server);
    assert!(slack.messages().is_empty());

    // The receiver recovers but rate-limits first; a new server picks up the outbox.
    slack.fail_next(2, Fault::RateLimited { retry_after_secs: 1 });
    slack.set_down(false);
    let server = ws.serve(&["--no-sync", "--no-watch"], &env);
    let expected = 3; // CVE-2024-0001, -0009, -0010: one announcement each
    while slack.messages().len() < expected || !outbox(&ws).iter().all(|m| m["status"] == "delivered") {
        assert!(Instant::now() < deadline, "not everything was delivered\n{}", server.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, _) = server.terminate();
    assert!(status.success());
    let messages = slack.messages();
    assert_eq!(messages.len(), expected, "{messages:#?}");
    for cve in ["CVE-2024-0001", "CVE-2024-0009", "CVE-2024-0010"] {
        assert_eq!(messages.iter().filter(|m| all_text(m).contains(cve)).count(), 1, "{cve} exactly once");
    }
    let listed = outbox(&ws);
    assert_eq!(listed.len(), expected);
    assert!(slack.request_count() >= expected + 3, "503s and 429s came before the deliveries");
    assert!(listed.iter().any(|m| m["n_attempts"].as_i64().unwrap() >= 3), "{listed:#?}");
}

#[test]
fn refused_messages_are_dead_lettered_and_can_be_retried() {
    let registry = TestRegistry::start();
    registry.push_image("team/a", "1", &debian_image("a"));
    let slack = SlackReceiver::start();
    let feed = feed_server(tracker(true));
    let ws = Workspace::new();
    ws.write_config(&notify_config(
        &feed,
        "[[notify.routes]]\nname = \"team\"\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\nmin_severity = \"high\"\n",
        "",
    ));
    ws.ok(&["scan", &format!("{}/team/a:1", registry.host())]);
    ws.ok(&["feeds", "sync", "debian-tracker"]);
    // An archived channel: 404 channel_not_found, dead at once.
    let gone = slack.webhook_url().rsplit_once('/').map(|(base, _)| format!("{base}/gone")).unwrap();
    send(&ws, &[("SLACK_URL", gone.as_str())]);
    let listed = outbox(&ws);
    assert_eq!(listed[0]["status"], "dead", "{listed:#?}");
    assert!(listed[0]["last_error"].as_str().unwrap().contains("channel_not_found"));
    assert!(!listed[0]["last_error"].as_str().unwrap().contains("/gone"), "the URL is a secret");
    // Fixed in the environment; retried by hand.
    let url = slack.webhook_url();
    assert!(ws.ok(&["notify", "retry", "--all"]).contains("1 message"));
    send(&ws, &[("SLACK_URL", url.as_str())]);
    assert_eq!(slack.messages().len(), 1);
    assert_eq!(outbox(&ws)[0]["status"], "delivered");
}

#[test]
fn low_severity_advisories_wait_for_the_routes_digest() {
    let registry = TestRegistry::start();
    registry.push_image("team/a", "1", &debian_image("a"));
    let slack = SlackReceiver::start();
    let feed = feed_server(tracker(true));
    let ws = Workspace::new();
    ws.write_config(&notify_config(
        &feed,
        "[[notify.routes]]\nname = \"team\"\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\ndigest_secs = 1\ndigest_below = \"high\"\n",
        "",
    ));
    ws.ok(&["scan", &format!("{}/team/a:1", registry.host())]);
    ws.ok(&["feeds", "sync", "debian-tracker"]);
    let url = slack.webhook_url();
    send(&ws, &[("SLACK_URL", url.as_str())]);
    // The high one at once; the low and medium ones are held.
    let messages = slack.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(all_text(&messages[0]).contains("CVE-2024-0001"));
    // A digest period later (1 s; the wait only has to be at least that long), one digest.
    std::thread::sleep(Duration::from_millis(1100));
    send(&ws, &[("SLACK_URL", url.as_str())]);
    let messages = slack.messages();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    let digest = all_text(&messages[1]);
    assert!(digest.contains("CVE-2024-0009") && digest.contains("CVE-2024-0010"), "{digest}");
    send(&ws, &[("SLACK_URL", url.as_str())]);
    assert_eq!(slack.messages().len(), 2, "a digest is sent once");
    let kinds: Vec<String> = outbox(&ws).iter().map(|m| m["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["digest", "announcement"]);
}
