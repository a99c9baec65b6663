//! Rebuild triggers at their boundary: `prepare` + `send` against local receivers that answer
//! like GitHub, GitLab, Jenkins and a signed webhook endpoint, checking what arrived field by
//! field and how each kind of failure is classified. Loopback only; no sleeps.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use cascade::actions::trigger::{
    self, prepare, send, PreparedRequest, RebuildRequest, Secret, TriggerOutcome, TriggerSpec,
};
use serde_json::{json, Value};

use crate::support::receivers::{form_pairs, Fault, GithubReceiver, GitlabReceiver, JenkinsReceiver, WebhookReceiver};
use crate::support::registry::{basic, StubReply, StubRequest};

/// Generous: only the timeout test wants the agent to give up.
const TIMEOUT: Duration = Duration::from_secs(20);
const GITHUB_TOKEN: &str = "ghp_receiverT0ken";
const GITLAB_TOKEN: &str = "glptt-pipeline-trigger";
const JENKINS_USER: &str = "cascade-bot";
const JENKINS_TOKEN: &str = "11f0e2d3c4b5a6978";
const HOOK_SECRET: &str = "webhook shared secret";

fn request() -> RebuildRequest {
    RebuildRequest {
        rebuild_id: 7001,
        image: "registry.example.com/apps/api:1.4".to_string(),
        parent: Some("registry.example.com/base/debian:12".to_string()),
        old_parent_digest: Some(format!("sha256:{}", "a".repeat(64))),
        new_parent_digest: Some(format!("sha256:{}", "b".repeat(64))),
        advisories: vec!["DSA-5678-1".to_string()],
        causes: vec!["parent-digest-changed".to_string(), "advisory-fix-installable".to_string()],
    }
}

fn new_digest() -> String {
    format!("sha256:{}", "b".repeat(64))
}

fn spec(toml_text: &str) -> TriggerSpec {
    let spec: TriggerSpec = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"));
    spec.validate().unwrap_or_else(|e| panic!("{toml_text}: {e}"));
    spec
}

fn github_workflow(url: &str) -> TriggerSpec {
    spec(&format!(
        "kind = 'github-workflow'\napi_url = '{url}'\nrepository = 'acme/base-images'\nworkflow = 'rebuild.yml'\n\
         ref = 'main'\ntoken_env = 'CASCADE_GITHUB_TOKEN'"
    ))
}

fn github_dispatch(url: &str) -> TriggerSpec {
    spec(&format!(
        "kind = 'github-dispatch'\napi_url = '{url}'\nrepository = 'acme/base-images'\ntoken_env = 'CASCADE_GITHUB_TOKEN'"
    ))
}

fn gitlab(url: &str) -> TriggerSpec {
    spec(&format!(
        "kind = 'gitlab'\napi_url = '{url}'\nproject = 'platform/base-images'\nref = 'stable'\ntoken_env = 'CASCADE_GITLAB_TOKEN'"
    ))
}

fn jenkins(url: &str) -> TriggerSpec {
    spec(&format!(
        "kind = 'jenkins'\nurl = '{url}/'\njob = 'images/api'\nuser = '{JENKINS_USER}'\ntoken_env = 'CASCADE_JENKINS_TOKEN'"
    ))
}

fn webhook(url: &str) -> TriggerSpec {
    spec(&format!("kind = 'webhook'\nurl = '{url}/hooks/cascade'\nsecret_env = 'CASCADE_HOOK_SECRET'"))
}

fn prepared(spec: &TriggerSpec, secret: &str) -> PreparedRequest {
    prepare(spec, Some(&Secret::new(secret)), &request()).expect("prepare")
}

fn deliver(spec: &TriggerSpec, secret: &str) -> TriggerOutcome {
    send(&trigger::agent(TIMEOUT), &prepared(spec, secret))
}

fn json_body(req: &StubRequest) -> Value {
    serde_json::from_slice(&req.body).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&req.body)))
}

fn expect_rejected(outcome: TriggerOutcome, status: u16, message: &str) {
    match outcome {
        TriggerOutcome::Rejected { status: s, error } => {
            assert_eq!(s, status, "{error}");
            assert!(error.contains(message), "{message:?} in {error:?}");
        }
        other => panic!("expected Rejected {status}, got {other:?}"),
    }
}

#[test]
fn github_workflow_dispatch_is_accepted_and_arrives_as_sent() {
    let github = GithubReceiver::start(GITHUB_TOKEN);
    let outcome = deliver(&github_workflow(&github.url()), GITHUB_TOKEN);
    assert_eq!(outcome, TriggerOutcome::Accepted { status: 204, detail: None });

    let req = github.single_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/repos/acme/base-images/actions/workflows/rebuild.yml/dispatches");
    assert_eq!(req.header("authorization"), Some(format!("Bearer {GITHUB_TOKEN}").as_str()));
    assert_eq!(req.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(req.header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert!(req.header("user-agent").is_some_and(|ua| ua.starts_with("cascade/")), "{:?}", req.headers);
    assert_eq!(req.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("accept")).count(), 1);
    let body = json_body(&req);
    assert_eq!(body["ref"], "main");
    assert_eq!(body["inputs"]["image"], "registry.example.com/apps/api:1.4");
    assert_eq!(body["inputs"]["causes"], "parent-digest-changed,advisory-fix-installable");
    assert_eq!(body["inputs"]["parent_digest"], new_digest().as_str());
    assert_eq!(body["inputs"]["rebuild_id"], "7001");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
    assert_eq!(body["inputs"].as_object().map(|o| o.len()), Some(4), "{body}");
}

#[test]
fn github_workflow_dispatch_with_run_details_reports_the_run() {
    let github = GithubReceiver::with_run_details(GITHUB_TOKEN);
    let outcome = deliver(&github_workflow(&github.url()), GITHUB_TOKEN);
    let html_url = github.run_html_url("acme/base-images", 1);
    assert_eq!(outcome, TriggerOutcome::Accepted { status: 200, detail: Some(html_url) });
}

#[test]
fn github_workflow_dispatch_without_inputs_sends_only_the_ref() {
    let github = GithubReceiver::start(GITHUB_TOKEN);
    let spec = spec(&format!(
        "kind = 'github-workflow'\napi_url = '{}'\nrepository = 'acme/base-images'\nworkflow = 4242\n\
         ref = 'release/2'\ninputs = false\ntoken_env = 'T'",
        github.url()
    ));
    assert_eq!(deliver(&spec, GITHUB_TOKEN), TriggerOutcome::Accepted { status: 204, detail: None });
    let req = github.single_request();
    assert_eq!(req.target, "/repos/acme/base-images/actions/workflows/4242/dispatches");
    assert_eq!(json_body(&req), json!({ "ref": "release/2" }));
}

#[test]
fn github_repository_dispatch_is_accepted_and_arrives_as_sent() {
    let github = GithubReceiver::start(GITHUB_TOKEN);
    let outcome = deliver(&github_dispatch(&github.url()), GITHUB_TOKEN);
    assert_eq!(outcome, TriggerOutcome::Accepted { status: 204, detail: None });

    let req = github.single_request();
    assert_eq!((req.method.as_str(), req.target.as_str()), ("POST", "/repos/acme/base-images/dispatches"));
    assert_eq!(req.header("authorization"), Some(format!("Bearer {GITHUB_TOKEN}").as_str()));
    assert_eq!(req.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(req.header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(
        json_body(&req),
        json!({
            "event_type": "cascade-rebuild",
            "client_payload": {
                "rebuild_id": 7001,
                "image": "registry.example.com/apps/api:1.4",
                "parent": "registry.example.com/base/debian:12",
                "old_parent_digest": format!("sha256:{}", "a".repeat(64)),
                "new_parent_digest": new_digest(),
                "advisories": ["DSA-5678-1"],
                "causes": ["parent-digest-changed", "advisory-fix-installable"],
            },
        })
    );
}

#[test]
fn gitlab_pipeline_trigger_is_accepted_with_its_web_url() {
    let gitlab_rx = GitlabReceiver::start(GITLAB_TOKEN);
    let outcome = deliver(&gitlab(&gitlab_rx.url()), GITLAB_TOKEN);
    let web_url = gitlab_rx.pipeline_web_url("platform/base-images", 1);
    assert_eq!(outcome, TriggerOutcome::Accepted { status: 201, detail: Some(web_url) });

    let req = gitlab_rx.single_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/api/v4/projects/platform%2Fbase-images/trigger/pipeline");
    assert_eq!(req.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(req.header("authorization"), None, "the trigger token travels in the body only");
    let form = form_pairs(&req.body);
    let expected = [
        ("token", GITLAB_TOKEN.to_string()),
        ("ref", "stable".to_string()),
        ("variables[CASCADE_IMAGE]", "registry.example.com/apps/api:1.4".to_string()),
        ("variables[CASCADE_CAUSES]", "parent-digest-changed,advisory-fix-installable".to_string()),
        ("variables[CASCADE_PARENT_DIGEST]", new_digest()),
        ("variables[CASCADE_REBUILD_ID]", "7001".to_string()),
    ];
    let expected: Vec<(String, String)> = expected.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(form, expected);
}

#[test]
fn jenkins_build_with_parameters_is_queued() {
    let jenkins_rx = JenkinsReceiver::start(JENKINS_USER, JENKINS_TOKEN);
    let outcome = deliver(&jenkins(&jenkins_rx.url()), JENKINS_TOKEN);
    assert_eq!(outcome, TriggerOutcome::Accepted { status: 201, detail: Some(jenkins_rx.queue_item_url(1)) });

    let req = jenkins_rx.single_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path(), "/job/images/job/api/buildWithParameters");
    assert_eq!(req.header("authorization"), Some(basic(JENKINS_USER, JENKINS_TOKEN).as_str()));
    assert_eq!(req.query_values("IMAGE"), ["registry.example.com/apps/api:1.4"]);
    assert_eq!(req.query_values("CAUSES"), ["parent-digest-changed,advisory-fix-installable"]);
    assert_eq!(req.query_values("PARENT_DIGEST"), [new_digest()]);
    assert_eq!(req.query_values("REBUILD_ID"), ["7001"]);
    assert_eq!(req.query_values("token"), Vec::<String>::new(), "no legacy build token in the query");
    assert!(req.body.is_empty());
}

#[test]
fn webhook_delivery_is_signed_and_accepted() {
    let hook = WebhookReceiver::start(HOOK_SECRET);
    // The secret comes from a file, as a deployment would mount it.
    let dir = tempfile::tempdir().expect("temp dir");
    let secret_file = dir.path().join("hook-secret");
    std::fs::write(&secret_file, format!("{HOOK_SECRET}\n")).expect("write secret file");
    let spec = spec(&format!(
        "kind = 'webhook'\nurl = '{}/hooks/cascade'\nsecret_file = '{}'",
        hook.url(),
        secret_file.display()
    ));
    let secret = trigger::resolve_secret(&spec).expect("resolve secret");
    let prepared = prepare(&spec, secret.as_ref(), &request()).expect("prepare");
    let outcome = send(&trigger::agent(TIMEOUT), &prepared);
    assert_eq!(outcome, TriggerOutcome::Accepted { status: 200, detail: None });

    let req = hook.single_request();
    assert_eq!((req.method.as_str(), req.target.as_str()), ("POST", "/hooks/cascade"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("x-cascade-event"), Some("rebuild"));
    assert_eq!(req.header("x-cascade-delivery"), Some("7001"));
    let signature = req.header("x-cascade-signature-256").expect("signature header");
    assert!(cascade::actions::hmac::verify(HOOK_SECRET.as_bytes(), &req.body, signature));
    assert_eq!(req.body, prepared.body, "the signed bytes are the bytes sent");
    assert_eq!(
        json_body(&req),
        json!({
            "event": "rebuild",
            "rebuild_id": 7001,
            "image": "registry.example.com/apps/api:1.4",
            "parent": "registry.example.com/base/debian:12",
            "old_parent_digest": format!("sha256:{}", "a".repeat(64)),
            "new_parent_digest": new_digest(),
            "advisories": ["DSA-5678-1"],
            "causes": ["parent-digest-changed", "advisory-fix-installable"],
        })
    );
}

#[test]
fn wrong_secrets_are_rejected_with_the_receivers_message() {
    let github = GithubReceiver::start(GITHUB_TOKEN);
    expect_rejected(deliver(&github_workflow(&github.url()), "ghp_wrong"), 401, "Bad credentials");
    expect_rejected(deliver(&github_dispatch(&github.url()), "ghp_wrong"), 401, r#""message":"Bad credentials""#);

    let gitlab_rx = GitlabReceiver::start(GITLAB_TOKEN);
    expect_rejected(deliver(&gitlab(&gitlab_rx.url()), "glptt-wrong"), 404, r#"{"message":"404 Not Found"}"#);

    let jenkins_rx = JenkinsReceiver::start(JENKINS_USER, JENKINS_TOKEN);
    expect_rejected(deliver(&jenkins(&jenkins_rx.url()), "wrong-token"), 401, "HTTP ERROR 401 Unauthorized");

    let hook = WebhookReceiver::start(HOOK_SECRET);
    expect_rejected(deliver(&webhook(&hook.url()), "not the shared secret"), 401, "signature mismatch");
    let unsigned = spec(&format!("kind = 'webhook'\nurl = '{}/hooks/cascade'", hook.url()));
    let prepared = prepare(&unsigned, None, &request()).expect("prepare unsigned");
    expect_rejected(send(&trigger::agent(TIMEOUT), &prepared), 401, "missing X-Cascade-Signature-256");

    // The error carries the receiver's words, never the token that was refused.
    let TriggerOutcome::Rejected { error, .. } = deliver(&github_workflow(&github.url()), "ghp_wrong") else {
        panic!("rejected")
    };
    assert!(!error.contains("ghp_wrong"), "{error}");
}

#[test]
fn github_receiver_refuses_bodies_github_would_refuse() {
    let github = GithubReceiver::start(GITHUB_TOKEN);
    let agent = trigger::agent(TIMEOUT);
    let mut too_many = prepared(&github_workflow(&github.url()), GITHUB_TOKEN);
    let inputs: serde_json::Map<String, Value> = (0..26).map(|i| (format!("in{i}"), json!("v"))).collect();
    too_many.body = serde_json::to_vec(&json!({ "ref": "main", "inputs": inputs })).expect("json");
    expect_rejected(send(&agent, &too_many), 422, "you may only define up to 25 `inputs`");

    let mut not_strings = prepared(&github_workflow(&github.url()), GITHUB_TOKEN);
    not_strings.body = serde_json::to_vec(&json!({ "ref": "main", "inputs": { "rebuild_id": 7001 } })).expect("json");
    expect_rejected(send(&agent, &not_strings), 422, "For 'properties/rebuild_id', 7001 is not a string.");

    let mut no_ref = prepared(&github_workflow(&github.url()), GITHUB_TOKEN);
    no_ref.body = b"{}".to_vec();
    expect_rejected(send(&agent, &no_ref), 422, "For 'properties/ref', nil is not a string.");

    let mut big_payload = prepared(&github_dispatch(&github.url()), GITHUB_TOKEN);
    let payload: serde_json::Map<String, Value> = (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
    big_payload.body = serde_json::to_vec(&json!({ "event_type": "x", "client_payload": payload })).expect("json");
    expect_rejected(send(&agent, &big_payload), 422, "No more than 10 properties are allowed; 11 were supplied.");
}

#[test]
fn server_errors_are_retryable_and_the_next_attempt_succeeds() {
    let gitlab_rx = GitlabReceiver::start(GITLAB_TOKEN);
    gitlab_rx.fail_next(2, Fault::Status(500));
    let spec = gitlab(&gitlab_rx.url());
    for _ in 0..2 {
        match deliver(&spec, GITLAB_TOKEN) {
            TriggerOutcome::Retryable { status: Some(500), error, retry_after: None } => {
                assert!(error.starts_with("HTTP 500: scripted failure"), "{error}")
            }
            other => panic!("expected Retryable 500, got {other:?}"),
        }
    }
    let outcome = deliver(&spec, GITLAB_TOKEN);
    let web_url = gitlab_rx.pipeline_web_url("platform/base-images", 1);
    assert_eq!(outcome, TriggerOutcome::Accepted { status: 201, detail: Some(web_url) });
    assert_eq!(gitlab_rx.request_count(), 3);
}

#[test]
fn rate_limits_are_retryable_after_the_servers_delay() {
    let jenkins_rx = JenkinsReceiver::start(JENKINS_USER, JENKINS_TOKEN);
    jenkins_rx.fail_next(1, Fault::RateLimited { retry_after_secs: 1 });
    let spec = jenkins(&jenkins_rx.url());
    match deliver(&spec, JENKINS_TOKEN) {
        TriggerOutcome::Retryable { status: Some(429), retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(1)))
        }
        other => panic!("expected Retryable 429, got {other:?}"),
    }
    let outcome = deliver(&spec, JENKINS_TOKEN);
    assert_eq!(outcome, TriggerOutcome::Accepted { status: 201, detail: Some(jenkins_rx.queue_item_url(1)) });
}

#[test]
fn a_receiver_slower_than_the_timeout_is_retryable() {
    let hook = WebhookReceiver::start(HOOK_SECRET);
    // Far beyond the agent's timeout; dropping the receiver ends the delay.
    hook.fail_next(1, Fault::Delay(Duration::from_secs(120)));
    let prepared = prepared(&webhook(&hook.url()), HOOK_SECRET);
    let started = Instant::now();
    let outcome = send(&trigger::agent(Duration::from_millis(400)), &prepared);
    let elapsed = started.elapsed();
    match outcome {
        TriggerOutcome::Retryable { status: None, error, retry_after: None } => {
            assert!(error.contains("timeout"), "{error}")
        }
        other => panic!("expected a retryable timeout, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(60), "gave up after {elapsed:?}, not at the timeout");
    assert_eq!(hook.request_count(), 1, "the request reached the receiver before the timeout");
}

#[test]
fn a_refused_connection_is_retryable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let outcome = deliver(&webhook(&format!("http://127.0.0.1:{port}")), HOOK_SECRET);
    assert!(matches!(outcome, TriggerOutcome::Retryable { status: None, retry_after: None, .. }), "{outcome:?}");
}

#[test]
fn redirects_are_rejected_not_followed() {
    let hook = WebhookReceiver::start(HOOK_SECRET);
    hook.fail_next(1, Fault::Reply(StubReply::new(308).header("Location", "https://elsewhere.example.com/hook")));
    let outcome = deliver(&webhook(&hook.url()), HOOK_SECRET);
    expect_rejected(outcome, 308, "redirect to https://elsewhere.example.com/hook");
    assert_eq!(hook.request_count(), 1);
}

#[test]
fn huge_error_bodies_are_cut() {
    let github = GithubReceiver::start(GITHUB_TOKEN);
    let message = "m".repeat(2 * 1024 * 1024);
    github.fail_next(1, Fault::Reply(StubReply::new(403).json(&json!({ "message": message }))));
    match deliver(&github_workflow(&github.url()), GITHUB_TOKEN) {
        TriggerOutcome::Rejected { status: 403, error } => {
            assert!(error.starts_with(r#"HTTP 403: {"message":"mmm"#), "{}", &error[..40]);
            assert_eq!(error.chars().count(), "HTTP 403: ".len() + trigger::MAX_ERROR_BODY_CHARS);
        }
        other => panic!("expected Rejected 403, got {other:?}"),
    }
}
