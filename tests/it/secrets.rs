//! Secrets never appear in logs, API responses or error messages: one full run with every kind
//! of secret set (API tokens, a registry password, trigger tokens and HMAC keys, Slack and
//! webhook URLs) at `RUST_LOG=cascade=debug`, in text and in JSON log format, through scans,
//! a feed sync, watch rounds with failing and refused triggers, notification sends with a
//! refused delivery, and `cascade serve` answering authorized and unauthorized requests; then
//! every captured output, log and response is searched for every secret. Plus the error paths
//! of malformed credentials and tokens.

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::cli::{Workspace, DEADLINE};
use crate::support::image::*;
use crate::support::receivers::{
    Fault, GithubReceiver, SlackReceiver, WebhookReceiver, SLACK_HOOK_PREFIX, SLACK_SECRET,
};
use crate::support::registry::{HttpStub, StubReply, TestRegistry};

const READ_TOKEN: &str = "read-token-s3cr3t-5f1c2a9e7b41";
const WRITE_TOKEN: &str = "write-token-s3cr3t-8d3e4b6a0c92";
const DASHBOARD_TOKEN: &str = "dashboard-token-s3cr3t-2b7f9c1e44";
/// What a client presents that matches nothing: not ours, but never to be echoed either.
const PRESENTED_TOKEN: &str = "presented-token-s3cr3t-77e1d0c3aa";
const REGISTRY_USER: &str = "scanner-bot";
const REGISTRY_PASSWORD: &str = "registry-pass-s3cr3t-c0ffee42";
const WRONG_REGISTRY_PASSWORD: &str = "wrong-registry-pass-s3cr3t-0badf00d";
const GH_TOKEN: &str = "ghp_triggerTokenS3cr3t0123456789";
const WRONG_GH_TOKEN: &str = "ghp_wrongTriggerTokenS3cr3t98765";
const TRIGGER_HOOK_SECRET: &str = "trigger-hmac-s3cr3t-6a5b4c3d2e";
const NOTIFY_HOOK_SECRET: &str = "notify-hmac-s3cr3t-9e8d7c6b5a";
/// The secret part of the notification webhook's URL.
const NOTIFY_HOOK_PATH: &str = "/hooks/notify-path-s3cr3t-31f4";

const BOOKWORM: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A vendor base layer: os-release and libssl3 (source openssl) at `openssl_version`.
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

/// The tracker: openssl fixed in bookworm by 3.0.13-1~deb12u1 (high).
fn tracker() -> String {
    json!({"openssl": {"CVE-2024-0001": {"description": "openssl issue", "scope": "remote", "releases": {
        "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.13-1~deb12u1"},
                     "fixed_version": "3.0.13-1~deb12u1", "urgency": "high"}}}}})
    .to_string()
}

/// `cascade ARGS` with `env`, run to its end within [`DEADLINE`] (killed, and the test failed,
/// if it runs longer: a `serve` that should have refused to start must not hang the test).
fn output_within_deadline(ws: &Workspace, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = ws.command(args);
    command.envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("start cascade");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("wait for cascade"),
        Err(_) => {
            // The child is ours; end it by its id.
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            let output = rx.recv().expect("the waiting thread reports").expect("wait for cascade");
            panic!("cascade {args:?} ran past {DEADLINE:?}:\n{}", String::from_utf8_lossy(&output.stderr));
        }
    }
}

/// Every text the run produced, by where it came from.
#[derive(Default)]
struct Captured {
    texts: Vec<(String, String)>,
}

impl Captured {
    fn add(&mut self, label: impl Into<String>, text: impl Into<String>) {
        self.texts.push((label.into(), text.into()));
    }

    /// Runs `cascade ARGS` with `env`, records its stdout and stderr, returns (success, stdout
    /// and stderr).
    fn cascade(&mut self, ws: &Workspace, env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
        let out = output_within_deadline(ws, env, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        self.add(format!("cascade {} (stdout)", args.join(" ")), stdout.clone());
        self.add(format!("cascade {} (stderr)", args.join(" ")), stderr.clone());
        (out.status.success(), stdout + &stderr)
    }

    /// Like [`Captured::cascade`], but the command must succeed; returns its stdout.
    fn ok(&mut self, ws: &Workspace, env: &[(&str, &str)], args: &[&str]) -> String {
        let out = output_within_deadline(ws, env, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        self.add(format!("cascade {} (stdout)", args.join(" ")), stdout.clone());
        self.add(format!("cascade {} (stderr)", args.join(" ")), stderr.clone());
        assert!(out.status.success(), "cascade {args:?} failed:\n{stderr}");
        stdout
    }

    /// Asserts that no text holds any of `secrets`; names every leak found.
    fn assert_no_secret(&self, secrets: &[(&str, String)]) {
        let mut leaks = Vec::new();
        for (label, text) in &self.texts {
            let text = &strip_ansi(text);
            for (name, secret) in secrets {
                if let Some(at) = text.find(secret.as_str()) {
                    let start = text[..at].char_indices().rev().nth(80).map_or(0, |(i, _)| i);
                    let end = (at + secret.len() + 80).min(text.len());
                    let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
                    leaks.push(format!("{name} in {label}: …{}…", &text[start..end]));
                }
            }
        }
        assert!(leaks.is_empty(), "{} leak(s):\n{}", leaks.len(), leaks.join("\n\n"));
    }
}

/// `text` without ANSI colour sequences (`ESC [ … m`), which the text log format puts around
/// field names and levels: a secret must not hide behind one.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// One HTTP exchange with the server: (status, every header value and the body as one text).
fn exchange(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    authorization: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> (u16, String) {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(a) = authorization {
        builder = builder.header("Authorization", a);
    }
    if let Some((content_type, _)) = body {
        builder = builder.header("Content-Type", content_type);
    }
    let request = builder.body(body.map_or_else(Vec::new, |(_, b)| b.to_vec())).expect("request");
    let mut response = agent.run(request).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let mut text: String = response
        .headers()
        .iter()
        .map(|(name, value)| format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())))
        .collect();
    text.push('\n');
    text.push_str(&response.body_mut().read_to_string().unwrap_or_else(|e| format!("<unreadable body: {e}>")));
    (status, text)
}

/// `env` with the value of `name` replaced.
fn replaced<'a>(env: &[(&'a str, &'a str)], name: &str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|&(k, v)| (k, if k == name { value } else { v })).collect()
}

/// The registry's HEAD requests for manifests of `repo` so far.
fn heads_of(registry: &TestRegistry, repo: &str) -> usize {
    let prefix = format!("/v2/{repo}/manifests/");
    registry.access_log().iter().filter(|(m, p)| m == "HEAD" && p.starts_with(&prefix)).count()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn items(text: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    v["items"].as_array().unwrap_or_else(|| panic!("no items: {text}")).clone()
}

/// The whole run at `RUST_LOG=filter`; `json_logs` switches the log format.
fn full_run(filter: &str, json_logs: bool) {
    let registry = TestRegistry::with_htpasswd(REGISTRY_USER, REGISTRY_PASSWORD);
    let host = registry.host();
    let vendor_v1 = vendor_layer("3.0.11-1~deb12u2", "v1");
    registry.push_image("vendor/debian", "bookworm", &TestImage::new(vec![vendor_v1.clone()]));
    registry.push_image("acme/base", "12", &TestImage::new(vec![vendor_v1.clone(), file_layer("etc/acme/base", "1")]));
    registry.push_image("acme/app", "1", &TestImage::new(vec![vendor_v1, file_layer("srv/app", "1")]));
    let (vendor, base, app) =
        (format!("{host}/vendor/debian:bookworm"), format!("{host}/acme/base:12"), format!("{host}/acme/app:1"));

    let github = GithubReceiver::start(GH_TOKEN);
    let trigger_hook = WebhookReceiver::start(TRIGGER_HOOK_SECRET);
    let notify_hook = WebhookReceiver::start(NOTIFY_HOOK_SECRET);
    let slack = SlackReceiver::start();
    let tracker_doc = tracker();
    let feed = HttpStub::start(move |_| StubReply::new(200).body(tracker_doc.clone()));

    let ws = Workspace::new();
    ws.write_config(&format!(
        r#"
[api]
tokens = [{{ name = "dashboards", token_env = "DASHBOARD_TOKEN", scope = "read" }}]

[feeds.debian-tracker]
url = "{feed}/tracker.json"

[watch]
interval_secs = 3600
settle_secs = 0
retry_initial_secs = 0

[[watch.images]]
image = "{vendor}"

[[watch.images]]
image = "{base}"
parent = "{vendor}"
trigger = {{ kind = "github-workflow", api_url = "{github}", repository = "acme/base-images", workflow = "base.yml", token_env = "GH_TOKEN" }}

[[watch.images]]
image = "{app}"
parent = "{vendor}"
trigger = {{ kind = "webhook", url = "{trigger_hook}/hooks/rebuild", secret_env = "TRIGGER_HOOK_SECRET" }}

[notify]
min_interval_ms = 0
retry_initial_secs = 0

[[notify.routes]]
name = "ops"
kind = "slack"
url_env = "SLACK_URL"

[[notify.routes]]
name = "gone"
kind = "slack"
url_env = "SLACK_GONE_URL"

[[notify.routes]]
name = "siem"
kind = "webhook"
url_env = "NOTIFY_HOOK_URL"
secret_env = "NOTIFY_HOOK_SECRET"
"#,
        feed = feed.url(),
        github = github.url(),
        trigger_hook = trigger_hook.url(),
    ));

    let credentials = format!("{host}={REGISTRY_USER}:{REGISTRY_PASSWORD}");
    let wrong_credentials = format!("{host}={REGISTRY_USER}:{WRONG_REGISTRY_PASSWORD}");
    let (slack_url, gone_url) = (slack.webhook_url(), slack.gone_webhook_url());
    let notify_hook_url = format!("{}{NOTIFY_HOOK_PATH}", notify_hook.url());
    let mut env: Vec<(&str, &str)> = vec![
        ("RUST_LOG", filter),
        ("CASCADE_REGISTRY_CREDENTIALS", &credentials),
        ("CASCADE_API_READ_TOKEN", READ_TOKEN),
        ("CASCADE_API_WRITE_TOKEN", WRITE_TOKEN),
        ("DASHBOARD_TOKEN", DASHBOARD_TOKEN),
        ("GH_TOKEN", GH_TOKEN),
        ("TRIGGER_HOOK_SECRET", TRIGGER_HOOK_SECRET),
        ("SLACK_URL", &slack_url),
        ("SLACK_GONE_URL", &gone_url),
        ("NOTIFY_HOOK_URL", &notify_hook_url),
        ("NOTIFY_HOOK_SECRET", NOTIFY_HOOK_SECRET),
    ];
    if json_logs {
        env.push(("RUST_LOG_FORMAT", "json"));
    }
    let mut run = Captured::default();

    // The feed first, so that the scans below announce what affects the images.
    run.ok(&ws, &env, &["feeds", "sync", "debian-tracker"]);

    // A scan with a wrong password, then with the right one.
    let wrong = replaced(&env, "CASCADE_REGISTRY_CREDENTIALS", &wrong_credentials);
    let (ok, text) = run.cascade(&ws, &wrong, &["scan", &base]);
    assert!(!ok && text.contains("unauthorized"), "{text}");
    let report: Value = serde_json::from_str(&run.ok(&ws, &env, &["scan", "--format", "json", &base])).expect("JSON");
    assert_eq!(report["vulnerabilities"][0]["advisory_id"], "CVE-2024-0001", "{report}");

    // Watch round 1 indexes the images; the vendor then pushes a new digest. Round 2 triggers
    // both children: GitHub refuses the wrong token, the webhook answers 500 once. Round 3
    // retries both with the right secrets.
    run.ok(&ws, &env, &["watch", "--format", "json"]);
    registry.push_image("vendor/debian", "bookworm", &TestImage::new(vec![vendor_layer("3.0.13-1~deb12u1", "v2")]));
    trigger_hook.fail_next(1, Fault::Status(500));
    let wrong = replaced(&env, "GH_TOKEN", WRONG_GH_TOKEN);
    let report: Value = serde_json::from_str(&run.ok(&ws, &wrong, &["watch", "--format", "json"])).expect("JSON");
    assert_eq!(report["n_trigger_failures"], 2, "{report}");
    let records = items(&run.ok(&ws, &env, &["rebuilds", "list", "--format", "json"]));
    let errors: Vec<&str> = records.iter().filter_map(|r| r["error"].as_str()).collect();
    assert!(errors.iter().any(|e| e.contains("401") && e.contains("Bad credentials")), "{records:#?}");
    assert!(errors.iter().any(|e| e.contains("500")), "{records:#?}");
    let report: Value = serde_json::from_str(&run.ok(&ws, &env, &["watch", "--format", "json"])).expect("JSON");
    assert_eq!(report["n_triggers_sent"], 2, "{report}");
    assert_eq!(github.request_count(), 2);
    assert_eq!(trigger_hook.request_count(), 2);
    run.ok(&ws, &env, &["rebuilds", "list", "--format", "json"]);
    run.ok(&ws, &env, &["rebuilds", "list"]);

    // Notifications: Slack fails once with a 500 then takes the messages; the deleted channel
    // refuses with 404 (dead at once); the signed webhook takes everything.
    slack.fail_next(1, Fault::Status(500));
    run.ok(&ws, &env, &["notify", "send"]);
    run.ok(&ws, &env, &["notify", "send"]);
    let outbox = items(&run.ok(&ws, &env, &["notify", "list", "--format", "json"]));
    assert!(outbox.iter().any(|m| m["route"] == "gone" && m["status"] == "dead"), "{outbox:#?}");
    assert!(outbox.iter().any(|m| m["route"] == "ops" && m["status"] == "delivered"), "{outbox:#?}");
    assert!(
        outbox
            .iter()
            .any(|m| m["route"] == "gone" && m["last_error"].as_str().is_some_and(|e| e.contains("channel_not_found"))),
        "{outbox:#?}"
    );
    assert!(!slack.messages().is_empty() && notify_hook.request_count() > 0);
    assert!(slack.requests().iter().any(|r| r.path().ends_with("/gone")));
    run.ok(&ws, &env, &["notify", "list"]);
    run.ok(&ws, &env, &["feeds", "list"]);
    run.ok(&ws, &env, &["images", "list"]);
    run.ok(&ws, &env, &["affected", "CVE-2024-0001", "--format", "json"]);

    // The service: its start-up watch round polls through the registry's auth, the notifier
    // runs, and it answers with and without the right tokens.
    let heads_before = heads_of(&registry, "vendor/debian");
    let server = ws.serve(&["--no-sync"], &env);
    wait_until("the start-up watch round", || heads_of(&registry, "vendor/debian") > heads_before);
    let agent = &server.agent;
    let bearer = |t: &str| format!("Bearer {t}");
    let mut call = |label: &str, method: &str, path: &str, auth: Option<String>, body: Option<(&str, &[u8])>| {
        let (status, text) = exchange(agent, method, &server.url(path), auth.as_deref(), body);
        run.add(format!("{method} {path} as {label} ({status})"), text.clone());
        (status, text)
    };
    for open in ["/healthz", "/readyz", "/openapi.json"] {
        assert_eq!(call("nobody", "GET", open, None, None).0, 200, "{open}");
    }
    let reads = [
        "/v1/images",
        "/v1/rebuilds",
        "/v1/notifications",
        "/metrics",
        "/v1/findings",
        "/v1/advisories/CVE-2024-0001/affected-images",
        "/v1/no-such-route",
    ];
    for path in reads {
        assert_eq!(call("nobody", "GET", path, None, None).0, 401, "{path}");
        assert_eq!(call("presented", "GET", path, Some(bearer(PRESENTED_TOKEN)), None).0, 401, "{path}");
        let basic = format!("Basic {}", b64(&format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}")));
        assert_eq!(call("registry basic", "GET", path, Some(basic), None).0, 401, "{path}");
        let expected = if path == "/v1/no-such-route" { 404 } else { 200 };
        assert_eq!(call("read", "GET", path, Some(bearer(READ_TOKEN)), None).0, expected, "{path}");
        assert_eq!(call("dashboards", "GET", path, Some(bearer(DASHBOARD_TOKEN)), None).0, expected, "{path}");
    }
    let mail = b"From: someone@example.org\r\nSubject: hello\r\n\r\nnot an advisory\r\n";
    let (status, _) = call("read", "POST", "/v1/mail", Some(bearer(READ_TOKEN)), Some(("message/rfc822", mail)));
    assert_eq!(status, 403);
    let (status, _) = call("nobody", "POST", "/v1/mail", None, Some(("message/rfc822", mail)));
    assert_eq!(status, 401);
    assert_eq!(call("write", "POST", "/v1/mail", Some(bearer(WRITE_TOKEN)), Some(("message/rfc822", mail))).0, 200);
    let envelope = json!({ "events": [{ "action": "push",
        "target": { "mediaType": "application/vnd.oci.image.manifest.v1+json", "repository": "vendor/debian", "tag": "bookworm" },
        "request": { "host": host } }] })
    .to_string();
    let events = ("application/vnd.docker.distribution.events.v2+json", envelope.as_bytes());
    let (status, _) = call("dashboards", "POST", "/v1/registry-events", Some(bearer(DASHBOARD_TOKEN)), Some(events));
    assert_eq!(status, 403);
    let heads_before_event = heads_of(&registry, "vendor/debian");
    let (status, text) = call("write", "POST", "/v1/registry-events", Some(bearer(WRITE_TOKEN)), Some(events));
    assert_eq!(status, 202, "{text}");
    wait_until("the event's watch round", || heads_of(&registry, "vendor/debian") > heads_before_event);
    for path in ["/v1/rebuilds", "/v1/notifications", "/metrics", "/openapi.json"] {
        assert_eq!(call("read", "GET", path, Some(bearer(READ_TOKEN)), None).0, 200, "{path}");
    }
    let vulns = format!("/v1/images/{}/vulnerabilities", base.replace(':', "%3A").replace('/', "%2F"));
    assert_eq!(call("read", "GET", &vulns, Some(bearer(READ_TOKEN)), None).0, 200);
    let (exit, _) = server.terminate();
    assert!(exit.success(), "{exit:?}");
    let serve_log = server_log(&ws);
    run.add("cascade serve (stderr)", serve_log.clone());

    run.ok(&ws, &env, &["rebuilds", "list", "--format", "json"]);
    run.ok(&ws, &env, &["notify", "list", "--format", "json"]);

    // The run was not vacuous: debug logs were written, in the format asked for.
    let debug_marker = if json_logs { "\"level\":\"DEBUG\"" } else { "DEBUG" };
    assert!(run.texts.iter().any(|(_, t)| t.contains(debug_marker)), "no debug log line was captured");
    assert!(serve_log.contains(if json_logs { "\"level\":\"INFO\"" } else { "INFO" }), "{serve_log}");
    if json_logs {
        let lines: Vec<&str> = serve_log.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(lines.iter().all(|l| serde_json::from_str::<Value>(l).is_ok()), "JSON log lines:\n{serve_log}");
    }
    let presented: Vec<Option<String>> =
        github.requests().iter().map(|r| r.header("authorization").map(str::to_string)).collect();
    assert_eq!(
        presented,
        [Some(bearer(WRONG_GH_TOKEN)), Some(bearer(GH_TOKEN))],
        "the wrong token, then the right one"
    );

    let user_password = format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}");
    let user_wrong = format!("{REGISTRY_USER}:{WRONG_REGISTRY_PASSWORD}");
    let secrets: Vec<(&str, String)> = vec![
        ("the API read token", READ_TOKEN.into()),
        ("the API write token", WRITE_TOKEN.into()),
        ("the dashboards token", DASHBOARD_TOKEN.into()),
        ("a presented token", PRESENTED_TOKEN.into()),
        ("the registry password", REGISTRY_PASSWORD.into()),
        ("a wrong registry password", WRONG_REGISTRY_PASSWORD.into()),
        ("base64(user:password)", b64(&user_password).trim_end_matches('=').into()),
        ("base64(user:wrong password)", b64(&user_wrong).trim_end_matches('=').into()),
        ("the GitHub token", GH_TOKEN.into()),
        ("a wrong GitHub token", WRONG_GH_TOKEN.into()),
        ("the trigger HMAC secret", TRIGGER_HOOK_SECRET.into()),
        ("the notification HMAC secret", NOTIFY_HOOK_SECRET.into()),
        ("the Slack webhook URL", slack_url.clone()),
        ("the Slack webhook secret", SLACK_SECRET.into()),
        ("the deleted channel's webhook URL", gone_url.clone()),
        ("the deleted channel's webhook path", format!("{SLACK_HOOK_PREFIX}gone")),
        ("the notification webhook URL", notify_hook_url.clone()),
        ("the notification webhook path", NOTIFY_HOOK_PATH.into()),
    ];
    run.assert_no_secret(&secrets);
}

/// The stderr file `Workspace::serve` writes.
fn server_log(ws: &Workspace) -> String {
    std::fs::read_to_string(ws.path(&format!("serve-{}.stderr", std::process::id()))).expect("serve's stderr")
}

#[test]
fn no_secret_reaches_text_logs_outputs_or_responses() {
    full_run("cascade=debug", false);
}

#[test]
fn no_secret_reaches_json_logs_outputs_or_responses() {
    full_run("cascade=debug", true);
}

/// `RUST_LOG=trace` turns on the HTTP client's own logging too (through the `log` bridge the
/// subscriber installs): an operator debugging a delivery must not be handed the webhook URLs.
#[test]
fn no_secret_reaches_the_logs_of_every_crate_at_trace_level() {
    full_run("trace", false);
}

#[test]
fn malformed_credentials_and_tokens_are_reported_without_their_secret() {
    const PASSWORD: &str = "cfg-pass-s3cr3t-4d2c";
    let registry = TestRegistry::with_htpasswd(REGISTRY_USER, PASSWORD);
    let host = registry.host();
    let reference = format!("{host}/private/x:1");
    let user_password = format!("{REGISTRY_USER}:{PASSWORD}");
    let encoded = b64(&user_password);
    let ws = Workspace::new();
    let mut run = Captured::default();

    // Docker config entries written wrong in the ways people write them wrong.
    let docker_configs = [
        ("an entry that is a bare string", json!({ "auths": { &host: encoded } })),
        ("auth in a list", json!({ "auths": { &host: { "auth": [encoded] } } })),
        ("auth without a colon", json!({ "auths": { &host: { "auth": b64(&format!("{REGISTRY_USER}{PASSWORD}")) } } })),
        ("auth that is not base64", json!({ "auths": { &host: { "auth": format!("{user_password}!") } } })),
        ("a password without a user", json!({ "auths": { &host: { "password": PASSWORD } } })),
        (
            "a password of the wrong type",
            json!({ "auths": { &host: { "username": REGISTRY_USER, "password": [PASSWORD] } } }),
        ),
        ("an identity token object", json!({ "auths": { &host: { "identitytoken": { "token": PASSWORD } } } })),
    ];
    std::fs::create_dir_all(ws.path(".docker")).expect("mkdir .docker");
    for (what, config) in &docker_configs {
        std::fs::write(ws.path(".docker/config.json"), config.to_string()).expect("write docker config");
        let (ok, text) = run.cascade(&ws, &[("RUST_LOG", "cascade=debug")], &["scan", &reference]);
        assert!(!ok, "{what}: {text}");
        run.texts.last_mut().expect("captured").0.push_str(&format!(" [{what}]"));
    }
    std::fs::remove_file(ws.path(".docker/config.json")).expect("remove docker config");

    // CASCADE_REGISTRY_CREDENTIALS entries written wrong.
    let entries = [
        format!("{host}:{REGISTRY_USER}:{PASSWORD}"),
        format!("{host}={REGISTRY_USER}{PASSWORD}"),
        format!("={REGISTRY_USER}:{PASSWORD}"),
        format!("{host}=:{PASSWORD}"),
        format!("ok.example={REGISTRY_USER}:x {host}={PASSWORD}"),
    ];
    for entry in &entries {
        let env = [("RUST_LOG", "cascade=debug"), ("CASCADE_REGISTRY_CREDENTIALS", entry.as_str())];
        let (ok, text) = run.cascade(&ws, &env, &["scan", &reference]);
        assert!(!ok, "{text}");
    }

    // API tokens that are too short, or read from a file that holds a short secret.
    let short = "short-s3cr3t";
    let (ok, text) = run.cascade(&ws, &[("CASCADE_API_READ_TOKEN", short)], &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!ok && text.contains("CASCADE_API_READ_TOKEN"), "{text}");
    let token_file = ws.path("token");
    std::fs::write(&token_file, short).expect("write token file");
    ws.write_config(&format!(
        "[api]\ntokens = [{{ name = \"filed\", token_file = \"{}\", scope = \"read\" }}]\n",
        token_file.display()
    ));
    let (ok, text) = run.cascade(&ws, &[], &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!ok && text.contains("filed"), "{text}");

    let secrets = [
        ("the password", PASSWORD.to_string()),
        ("base64(user:password)", encoded.trim_end_matches('=').to_string()),
        ("base64(userpassword)", b64(&format!("{REGISTRY_USER}{PASSWORD}")).trim_end_matches('=').to_string()),
        ("the short token", short.to_string()),
    ];
    let secrets: Vec<(&str, String)> = secrets.iter().map(|(n, s)| (*n, s.clone())).collect();
    run.assert_no_secret(&secrets);
}
