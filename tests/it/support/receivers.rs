//! Local stand-ins for the systems rebuild triggers call (GitHub, GitLab, Jenkins, a signed
//! webhook), built on [`HttpStub`]: each checks credentials and body shape the way the real
//! service does, answers with that service's status and body, and records every request.
//! Each can be scripted to fail its next requests ([`Fault`]) so tests can drive retries.
//! Loopback only; nothing here talks to the internet.
//!
//! `HttpStub` answers one connection at a time on one thread, so a [`Fault::Delay`] holds
//! every later request too; the delay ends early when the receiver is released or dropped,
//! so a test whose client timed out never waits for it.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::registry::{basic, percent_decode, HttpStub, StubReply, StubRequest};

const GITHUB_DOCS: &str = "https://docs.github.com/rest";
const GITHUB_WORKFLOW_DOCS: &str = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event";
const GITHUB_DISPATCH_DOCS: &str = "https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event";
/// GitHub's limits on dispatch bodies.
pub const GITHUB_MAX_INPUTS: usize = 25;
pub const GITHUB_MAX_PAYLOAD_KEYS: usize = 10;
pub const GITHUB_MAX_EVENT_TYPE_CHARS: usize = 100;

/// A scripted answer for the next request, used before the receiver's normal logic.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status with a short text body (e.g. 500, 502, 503).
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    RateLimited { retry_after_secs: u64 },
    /// Hold the reply this long (or until [`Receiver::release`] / drop), then answer normally.
    Delay(Duration),
    /// Exactly this reply.
    Reply(StubReply),
}

#[derive(Default)]
struct Script {
    faults: Mutex<VecDeque<Fault>>,
    released: Mutex<bool>,
    wake: Condvar,
}

impl Script {
    fn next_fault(&self) -> Option<Fault> {
        self.faults.lock().expect("faults lock").pop_front()
    }

    /// Sleeps until `delay` passed or the receiver was released.
    fn hold(&self, delay: Duration) {
        let deadline = Instant::now() + delay;
        let mut released = self.released.lock().expect("release lock");
        while !*released {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            released = self.wake.wait_timeout(released, deadline - now).expect("release lock").0;
        }
    }

    fn release(&self) {
        *self.released.lock().expect("release lock") = true;
        self.wake.notify_all();
    }
}

/// The part every receiver shares: the stub, its fault script and its base URL.
pub struct Receiver {
    stub: HttpStub,
    script: Arc<Script>,
}

impl Receiver {
    /// Starts a stub whose requests go through the fault script, then to `handle` with the
    /// receiver's base URL (for `web_url`, `Location` and the like).
    fn start(handle: impl Fn(&StubRequest, &str) -> StubReply + Send + Sync + 'static) -> Receiver {
        let script = Arc::new(Script::default());
        let base = Arc::new(OnceLock::<String>::new());
        let stub = {
            let (script, base) = (Arc::clone(&script), Arc::clone(&base));
            HttpStub::start(move |req| {
                // Set before `start` returns, hence before any client knows the address.
                let base = base.get().map_or("", String::as_str);
                match script.next_fault() {
                    None => handle(req, base),
                    Some(Fault::Status(status)) => StubReply::new(status)
                        .header("Content-Type", "text/plain")
                        .body(format!("scripted failure: HTTP {status}\n")),
                    Some(Fault::RateLimited { retry_after_secs }) => StubReply::new(429)
                        .header("Retry-After", retry_after_secs.to_string())
                        .json(&json!({ "message": "rate limit exceeded, scripted" })),
                    Some(Fault::Delay(delay)) => {
                        script.hold(delay);
                        handle(req, base)
                    }
                    Some(Fault::Reply(reply)) => reply,
                }
            })
        };
        base.set(stub.url()).expect("base URL set once");
        Receiver { stub, script }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.stub.url()
    }

    /// Every request received so far, faults included.
    pub fn requests(&self) -> Vec<StubRequest> {
        self.stub.requests()
    }

    pub fn request_count(&self) -> usize {
        self.stub.request_count()
    }

    /// The only request received; panics when there were none or several.
    pub fn single_request(&self) -> StubRequest {
        let mut requests = self.requests();
        assert_eq!(requests.len(), 1, "expected exactly one request, got {requests:#?}");
        requests.remove(0)
    }

    /// Answers the next `n` requests with `fault` before the normal logic resumes.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        self.script.faults.lock().expect("faults lock").extend(std::iter::repeat_n(fault, n));
    }

    /// Ends every current and future [`Fault::Delay`] at once.
    pub fn release(&self) {
        self.script.release();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Before the stub's own drop joins its thread, which may be holding a delayed reply.
        self.script.release();
    }
}

fn github_error(status: u16, message: &str, documentation_url: &str) -> StubReply {
    StubReply::new(status).json(&json!({
        "message": message,
        "documentation_url": documentation_url,
        "status": status.to_string(),
    }))
}

/// GitHub's REST API for `workflow_dispatch` and `repository_dispatch`: `Authorization:
/// Bearer <token>` else 401 "Bad credentials"; body checks as GitHub makes them (422 with
/// GitHub's message); 204 on success, or 200 with run details when started that way.
pub struct GithubReceiver {
    receiver: Receiver,
}

impl GithubReceiver {
    pub fn start(token: &str) -> GithubReceiver {
        GithubReceiver::launch(token, false)
    }

    /// Answers workflow dispatches with 200 `{workflow_run_id, run_url, html_url}`, like
    /// GitHub does when asked for `return_run_details`.
    pub fn with_run_details(token: &str) -> GithubReceiver {
        GithubReceiver::launch(token, true)
    }

    fn launch(token: &str, run_details: bool) -> GithubReceiver {
        let expected = format!("Bearer {token}");
        let n_runs = AtomicU64::new(0);
        let receiver = Receiver::start(move |req, base| {
            let path = req.path().to_string();
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let target = match segments.as_slice() {
                ["repos", owner, repo, "dispatches"] => Dispatch::Repository { owner, repo },
                ["repos", owner, repo, "actions", "workflows", _workflow, "dispatches"] => {
                    Dispatch::Workflow { owner, repo }
                }
                _ => return github_error(404, "Not Found", GITHUB_DOCS),
            };
            if req.method != "POST" {
                return github_error(404, "Not Found", GITHUB_DOCS);
            }
            if req.header("authorization") != Some(expected.as_str()) {
                return github_error(401, "Bad credentials", GITHUB_DOCS);
            }
            let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
                return github_error(400, "Problems parsing JSON", GITHUB_DOCS);
            };
            match target {
                Dispatch::Workflow { owner, repo } => {
                    if let Err(message) = check_workflow_dispatch(&body) {
                        return github_error(422, &message, GITHUB_WORKFLOW_DOCS);
                    }
                    if !run_details {
                        return StubReply::new(204);
                    }
                    let n = n_runs.fetch_add(1, Ordering::SeqCst) + 1;
                    StubReply::new(200).json(&json!({
                        "workflow_run_id": n,
                        "run_url": format!("{base}/repos/{owner}/{repo}/actions/runs/{n}"),
                        "html_url": format!("{base}/{owner}/{repo}/actions/runs/{n}"),
                    }))
                }
                Dispatch::Repository { .. } => match check_repository_dispatch(&body) {
                    Err(message) => github_error(422, &message, GITHUB_DISPATCH_DOCS),
                    Ok(()) => StubReply::new(204),
                },
            }
        });
        GithubReceiver { receiver }
    }

    /// The html_url the n-th run (from 1) gets with [`GithubReceiver::with_run_details`].
    pub fn run_html_url(&self, owner_repo: &str, n: u64) -> String {
        format!("{}/{owner_repo}/actions/runs/{n}", self.url())
    }
}

enum Dispatch<'a> {
    Workflow { owner: &'a str, repo: &'a str },
    Repository { owner: &'a str, repo: &'a str },
}

fn not_a_string(property: &str, value: Option<&Value>) -> String {
    let shown = value.map_or_else(|| "nil".to_string(), Value::to_string);
    format!("Invalid request.\n\nFor 'properties/{property}', {shown} is not a string.")
}

fn check_workflow_dispatch(body: &Value) -> Result<(), String> {
    let Some(object) = body.as_object() else { return Err("Invalid request.\n\nBody is not an object.".into()) };
    if !object.get("ref").is_some_and(Value::is_string) {
        return Err(not_a_string("ref", object.get("ref")));
    }
    match object.get("inputs") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(inputs)) => {
            if inputs.len() > GITHUB_MAX_INPUTS {
                return Err(format!(
                    "you may only define up to {GITHUB_MAX_INPUTS} `inputs` for a workflow_dispatch event"
                ));
            }
            match inputs.iter().find(|(_, v)| !v.is_string()) {
                Some((name, value)) => Err(not_a_string(name, Some(value))),
                None => Ok(()),
            }
        }
        Some(other) => Err(format!("Invalid request.\n\nFor 'properties/inputs', {other} is not an object.")),
    }
}

fn check_repository_dispatch(body: &Value) -> Result<(), String> {
    let Some(object) = body.as_object() else { return Err("Invalid request.\n\nBody is not an object.".into()) };
    match object.get("event_type").and_then(Value::as_str) {
        None => return Err(not_a_string("event_type", object.get("event_type"))),
        Some(t) if t.is_empty() || t.chars().count() > GITHUB_MAX_EVENT_TYPE_CHARS => {
            return Err(format!(
                "Invalid request.\n\nFor 'properties/event_type', {t:?} is not between 1 and \
                 {GITHUB_MAX_EVENT_TYPE_CHARS} characters."
            ))
        }
        Some(_) => {}
    }
    match object.get("client_payload") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(payload)) if payload.len() > GITHUB_MAX_PAYLOAD_KEYS => Err(format!(
            "Invalid request.\n\nNo more than {GITHUB_MAX_PAYLOAD_KEYS} properties are allowed; {} were supplied.",
            payload.len()
        )),
        Some(Value::Object(_)) => Ok(()),
        Some(other) => Err(format!("Invalid request.\n\nFor 'properties/client_payload', {other} is not an object.")),
    }
}

/// GitLab's pipeline trigger endpoint (`POST /api/v4/projects/:id/trigger/pipeline`, form
/// body): a wrong trigger token gets 404 `{"message":"404 Not Found"}`, a missing `ref` 400;
/// success is 201 with the pipeline (`id`, `web_url`, `status: created`).
pub struct GitlabReceiver {
    receiver: Receiver,
}

impl GitlabReceiver {
    pub fn start(trigger_token: &str) -> GitlabReceiver {
        let expected = trigger_token.to_string();
        let n_pipelines = AtomicU64::new(0);
        let receiver = Receiver::start(move |req, base| {
            let path = req.path().to_string();
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let ["api", "v4", "projects", project, "trigger", "pipeline"] = segments.as_slice() else {
                return StubReply::new(404).json(&json!({ "error": "404 Not Found" }));
            };
            if req.method != "POST" {
                return StubReply::new(405).json(&json!({ "error": "405 Method Not Allowed" }));
            }
            let project = percent_decode(project);
            let form = form_pairs(&req.body);
            let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let Some(token) = field("token") else {
                return StubReply::new(400).json(&json!({ "error": "token is missing" }));
            };
            if token != expected {
                return StubReply::new(404).json(&json!({ "message": "404 Not Found" }));
            }
            let Some(git_ref) = field("ref") else {
                return StubReply::new(400).json(&json!({ "error": "ref is missing" }));
            };
            let n = n_pipelines.fetch_add(1, Ordering::SeqCst) + 1;
            let project_id: u64 = project.parse().unwrap_or(1000);
            let project_path = if project.contains('/') { project.clone() } else { format!("project-{project}") };
            StubReply::new(201).json(&json!({
                "id": n,
                "iid": n,
                "project_id": project_id,
                "sha": "0".repeat(40),
                "ref": git_ref,
                "status": "created",
                "source": "trigger",
                "web_url": format!("{base}/{project_path}/-/pipelines/{n}"),
            }))
        });
        GitlabReceiver { receiver }
    }

    /// The web_url of the n-th pipeline (from 1) of a project given by path.
    pub fn pipeline_web_url(&self, project_path: &str, n: u64) -> String {
        format!("{}/{project_path}/-/pipelines/{n}", self.url())
    }
}

/// Jenkins `POST /job/<..>/buildWithParameters`: HTTP Basic `user:api-token` else 401;
/// success is 201, empty body, `Location: <base>/queue/item/<n>/`.
pub struct JenkinsReceiver {
    receiver: Receiver,
}

impl JenkinsReceiver {
    pub fn start(user: &str, api_token: &str) -> JenkinsReceiver {
        let expected = basic(user, api_token);
        let n_items = AtomicU64::new(0);
        let receiver = Receiver::start(move |req, base| {
            let path = req.path();
            if !path.starts_with("/job/") || !path.ends_with("/buildWithParameters") {
                return StubReply::new(404)
                    .header("Content-Type", "text/html")
                    .body("<html><body><h2>HTTP ERROR 404 Not Found</h2></body></html>");
            }
            if req.method != "POST" {
                return StubReply::new(405).header("Allow", "POST");
            }
            if req.header("authorization") != Some(expected.as_str()) {
                return StubReply::new(401)
                    .header("WWW-Authenticate", "Basic realm=\"Jenkins\"")
                    .header("Content-Type", "text/html")
                    .body("<html><body><h2>HTTP ERROR 401 Unauthorized</h2></body></html>");
            }
            let n = n_items.fetch_add(1, Ordering::SeqCst) + 1;
            StubReply::new(201).header("Location", format!("{base}/queue/item/{n}/"))
        });
        JenkinsReceiver { receiver }
    }

    /// The Location of the n-th queued build (from 1).
    pub fn queue_item_url(&self, n: u64) -> String {
        format!("{}/queue/item/{n}/", self.url())
    }
}

/// A webhook endpoint that checks `X-Cascade-Signature-256` with
/// `cascade::actions::hmac::verify` (401 when missing or wrong) and answers 200.
pub struct WebhookReceiver {
    receiver: Receiver,
}

impl WebhookReceiver {
    pub fn start(secret: &str) -> WebhookReceiver {
        WebhookReceiver::launch(Some(secret.to_string()))
    }

    /// Accepts unsigned deliveries.
    pub fn unsigned() -> WebhookReceiver {
        WebhookReceiver::launch(None)
    }

    fn launch(secret: Option<String>) -> WebhookReceiver {
        let receiver = Receiver::start(move |req, _base| {
            if req.method != "POST" {
                return StubReply::new(405).header("Allow", "POST");
            }
            if let Some(secret) = &secret {
                let Some(signature) = req.header("x-cascade-signature-256") else {
                    return StubReply::new(401).json(&json!({ "error": "missing X-Cascade-Signature-256" }));
                };
                if !cascade::actions::hmac::verify(secret.as_bytes(), &req.body, signature) {
                    return StubReply::new(401).json(&json!({ "error": "signature mismatch" }));
                }
            }
            StubReply::new(200).json(&json!({ "ok": true }))
        });
        WebhookReceiver { receiver }
    }
}

macro_rules! deref_to_receiver {
    ($($t:ty),*) => {$(
        impl Deref for $t {
            type Target = Receiver;
            fn deref(&self) -> &Receiver {
                &self.receiver
            }
        }
    )*};
}
deref_to_receiver!(GithubReceiver, GitlabReceiver, JenkinsReceiver, WebhookReceiver);

/// `application/x-www-form-urlencoded` pairs, percent-decoded, in order.
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The path of a Slack incoming webhook, before its secret.
pub const SLACK_HOOK_PREFIX: &str = "/services/T000/B000/";
/// The secret of the webhook that works. `gone` is a deleted channel (404
/// `channel_not_found`), `archived` an archived one (410 `channel_is_archived`); any other
/// secret is a revoked webhook (403 `invalid_token`).
pub const SLACK_SECRET: &str = "XXXXXXXXXXXXXXXXXXXXXXXX";
/// Slack's documented limits, checked independently of `cascade::notify::slack`.
pub const SLACK_MAX_BLOCKS: usize = 50;
pub const SLACK_MAX_SECTION_CHARS: usize = 3_000;
pub const SLACK_MAX_HEADER_CHARS: usize = 150;
pub const SLACK_MAX_TEXT_CHARS: usize = 40_000;
/// The undocumented aggregate: Slack answers `msg_blocks_too_long` from about this many
/// characters of block text (slackapi/bolt-js#2509).
pub const SLACK_MAX_BLOCK_TEXT_CHARS: usize = 13_200;

/// Slack's incoming webhooks: `POST /services/T000/B000/<secret>` with `Content-Type:
/// application/json` and a JSON body holding a non-empty `text` or non-empty `blocks`.
/// Answers as Slack does, in plain text: 200 `ok`; 400 `invalid_payload` (not JSON, nothing
/// to show, `text` over 40,000 characters, not a POST); 400 `invalid_blocks` (over 50 blocks,
/// a section text over 3,000 characters, a header over 150, a block without a type); 400
/// `msg_blocks_too_long` (all block text over ~13.2k characters); 403 `invalid_token`, 404
/// `channel_not_found`, 410 `channel_is_archived` by secret (see [`SLACK_SECRET`]); 404
/// `no_service` for other paths. Scripted faults ([`Receiver::fail_next`]) come first and
/// answer with the shared script's bodies, not Slack's.
///
/// [`SlackReceiver::set_down`] makes it answer 503 `service_unavailable` to everything:
/// "down" would more realistically refuse connections, but the stub cannot stop listening
/// without giving up its port.
pub struct SlackReceiver {
    receiver: Receiver,
    messages: Arc<Mutex<Vec<Value>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl SlackReceiver {
    pub fn start() -> SlackReceiver {
        let messages = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let receiver = {
            let (messages, down) = (Arc::clone(&messages), Arc::clone(&down));
            Receiver::start(move |req, _base| {
                if down.load(Ordering::SeqCst) {
                    return slack_reply(503, "service_unavailable");
                }
                let Some(secret) = req.path().strip_prefix(SLACK_HOOK_PREFIX) else {
                    return slack_reply(404, "no_service");
                };
                match secret {
                    SLACK_SECRET => {}
                    "gone" => return slack_reply(404, "channel_not_found"),
                    "archived" => return slack_reply(410, "channel_is_archived"),
                    _ => return slack_reply(403, "invalid_token"),
                }
                let is_json = req
                    .header("content-type")
                    .is_some_and(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
                if req.method != "POST" || !is_json {
                    return slack_reply(400, "invalid_payload");
                }
                let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
                    return slack_reply(400, "invalid_payload");
                };
                match check_slack_payload(&body) {
                    Err(error) => slack_reply(400, error),
                    Ok(()) => {
                        messages.lock().expect("slack messages lock").push(body);
                        slack_reply(200, "ok")
                    }
                }
            })
        };
        SlackReceiver { receiver, messages, down }
    }

    /// A working webhook URL (a secret: tests check it never shows up in logs or output).
    pub fn webhook_url(&self) -> String {
        format!("{}{SLACK_HOOK_PREFIX}{SLACK_SECRET}", self.url())
    }

    /// The webhook of a deleted channel: 404 `channel_not_found`.
    pub fn gone_webhook_url(&self) -> String {
        format!("{}{SLACK_HOOK_PREFIX}gone", self.url())
    }

    /// The bodies of the accepted messages, in order (the rejected ones are only in
    /// [`Receiver::requests`]).
    pub fn messages(&self) -> Vec<Value> {
        self.messages.lock().expect("slack messages lock").clone()
    }

    /// While down, every request gets 503 `service_unavailable` (after any scripted fault).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

deref_to_receiver!(SlackReceiver);

fn slack_reply(status: u16, body: &str) -> StubReply {
    StubReply::new(status).header("Content-Type", "text/plain").body(body)
}

/// Slack's error code for a parsed body, or Ok when Slack would post it.
fn check_slack_payload(body: &Value) -> Result<(), &'static str> {
    let Some(object) = body.as_object() else { return Err("invalid_payload") };
    let text = match object.get("text") {
        None | Some(Value::Null) => "",
        Some(Value::String(text)) => text.as_str(),
        Some(_) => return Err("invalid_payload"),
    };
    let blocks = match object.get("blocks") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(blocks)) => blocks.as_slice(),
        Some(_) => return Err("invalid_blocks"),
    };
    if text.trim().is_empty() && blocks.is_empty() {
        return Err("invalid_payload");
    }
    if text.chars().count() > SLACK_MAX_TEXT_CHARS {
        return Err("invalid_payload");
    }
    if blocks.len() > SLACK_MAX_BLOCKS {
        return Err("invalid_blocks");
    }
    let chars = |v: Option<&Value>| v.and_then(Value::as_str).map(|s| s.chars().count());
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            None => return Err("invalid_blocks"),
            Some("section") => {
                let text = chars(block.pointer("/text/text"));
                if block.get("fields").is_none() && text.is_none_or(|n| n == 0) {
                    return Err("invalid_blocks");
                }
                if text.is_some_and(|n| n > SLACK_MAX_SECTION_CHARS) {
                    return Err("invalid_blocks");
                }
            }
            Some("header") => {
                if block.pointer("/text/type").and_then(Value::as_str) != Some("plain_text")
                    || !chars(block.pointer("/text/text")).is_some_and(|n| (1..=SLACK_MAX_HEADER_CHARS).contains(&n))
                {
                    return Err("invalid_blocks");
                }
            }
            Some(_) => {}
        }
    }
    if slack_block_text_chars(body.get("blocks").unwrap_or(&Value::Null)) > SLACK_MAX_BLOCK_TEXT_CHARS {
        return Err("msg_blocks_too_long");
    }
    Ok(())
}

/// Characters of every `text` string in the blocks.
fn slack_block_text_chars(value: &Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, v)| match v {
                Value::String(s) if key == "text" => s.chars().count(),
                _ => slack_block_text_chars(v),
            })
            .sum(),
        Value::Array(items) => items.iter().map(slack_block_text_chars).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod slack_receiver_tests {
    //! The stand-in itself: it must refuse what Slack refuses, or tests of the sender and
    //! of the renderer's limits prove nothing.

    use super::*;

    fn post(url: &str, content_type: &str, body: &str) -> (u16, String) {
        let mut response = super::super::registry::test_agent()
            .post(url)
            .header("Content-Type", content_type)
            .send(body)
            .expect("POST to the Slack stand-in");
        (response.status().as_u16(), response.body_mut().read_to_string().unwrap_or_default())
    }

    #[test]
    fn answers_like_slack() {
        let slack = SlackReceiver::start();
        let url = slack.webhook_url();
        let section = |n: usize| json!({ "type": "section", "text": { "type": "mrkdwn", "text": "x".repeat(n) } });
        let json = "application/json";
        let cases: Vec<(String, &str, String, u16, &str)> = vec![
            (url.clone(), json, json!({ "text": "hello" }).to_string(), 200, "ok"),
            (
                url.clone(),
                "application/json; charset=utf-8",
                json!({ "blocks": [section(3000)] }).to_string(),
                200,
                "ok",
            ),
            (url.clone(), "text/plain", json!({ "text": "hello" }).to_string(), 400, "invalid_payload"),
            (url.clone(), json, "{not json".into(), 400, "invalid_payload"),
            (url.clone(), json, json!({ "text": "", "blocks": [] }).to_string(), 400, "invalid_payload"),
            (url.clone(), json, json!({ "text": "x".repeat(40_001) }).to_string(), 400, "invalid_payload"),
            (
                url.clone(),
                json,
                json!({ "text": "x", "blocks": vec![section(1); 51] }).to_string(),
                400,
                "invalid_blocks",
            ),
            (url.clone(), json, json!({ "text": "x", "blocks": [section(3001)] }).to_string(), 400, "invalid_blocks"),
            (
                url.clone(),
                json,
                json!({ "text": "x", "blocks": vec![section(3000); 5] }).to_string(),
                400,
                "msg_blocks_too_long",
            ),
            (slack.gone_webhook_url(), json, json!({ "text": "hello" }).to_string(), 404, "channel_not_found"),
            (
                format!("{}{SLACK_HOOK_PREFIX}revoked", slack.url()),
                json,
                json!({ "text": "x" }).to_string(),
                403,
                "invalid_token",
            ),
            (
                format!("{}/services/elsewhere", slack.url()),
                json,
                json!({ "text": "x" }).to_string(),
                404,
                "no_service",
            ),
        ];
        for (url, content_type, body, status, answer) in &cases {
            assert_eq!(post(url, content_type, body), (*status, answer.to_string()), "{}", &body[..body.len().min(80)]);
        }
        let messages = slack.messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0], json!({ "text": "hello" }));
        assert_eq!(slack.request_count(), cases.len());

        slack.set_down(true);
        assert_eq!(post(&url, json, r#"{"text":"x"}"#), (503, "service_unavailable".into()));
        slack.set_down(false);
        slack.fail_next(1, Fault::RateLimited { retry_after_secs: 1 });
        let limited = super::super::registry::test_agent()
            .post(&url)
            .header("Content-Type", json)
            .send(r#"{"text":"x"}"#)
            .expect("POST to the Slack stand-in");
        assert_eq!(limited.status().as_u16(), 429);
        assert_eq!(limited.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
        assert_eq!(post(&url, json, r#"{"text":"x"}"#), (200, "ok".into()));
        assert_eq!(slack.messages().len(), 3);
    }
}
