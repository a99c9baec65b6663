//! Rebuild triggers: one configured CI endpoint per [`TriggerSpec`] (signed webhook, GitHub
//! `workflow_dispatch` or `repository_dispatch`, GitLab pipeline trigger, Jenkins
//! `buildWithParameters`). Three steps, only the last does IO: [`resolve_secret`] reads the
//! token from the environment or a file, [`prepare`] builds the exact request (pure), [`send`]
//! delivers it once and classifies the answer; retrying is the caller's decision.
//!
//! Secrets never leave through `Debug`, [`TriggerSpec::describe`], errors or logs; webhook
//! URLs (which often carry a token in their path) are shown by origin only.

use std::fmt;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::hmac;
use crate::http::{is_retryable_status, parse_retry_after};

pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
pub const DEFAULT_GITLAB_API_URL: &str = "https://gitlab.com";
pub const DEFAULT_GIT_REF: &str = "main";
pub const DEFAULT_EVENT_TYPE: &str = "cascade-rebuild";
/// GitHub refuses a `repository_dispatch` whose `event_type` is longer.
pub const MAX_EVENT_TYPE_CHARS: usize = 100;
/// GitHub refuses a `repository_dispatch` whose `client_payload` has more top-level keys.
pub const MAX_CLIENT_PAYLOAD_KEYS: usize = 10;
/// Response bodies are read up to this many bytes; the rest is dropped.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024;
/// How much of a refusing response's body goes into the outcome's error.
pub const MAX_ERROR_BODY_CHARS: usize = 300;

pub const SIGNATURE_HEADER: &str = "X-Cascade-Signature-256";
pub const EVENT_HEADER: &str = "X-Cascade-Event";
pub const DELIVERY_HEADER: &str = "X-Cascade-Delivery";
pub const REBUILD_EVENT: &str = "rebuild";
const GITHUB_MEDIA_TYPE: &str = "application/vnd.github+json";
const GITHUB_API_VERSION: &str = "2022-11-28";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
const REDACTED: &str = "***";

/// One configured rebuild trigger, as written on a watched image in `cascade.toml`:
///
/// ```toml
/// [[watch.images]]
/// image = "registry.example.com/base/debian:12"
/// trigger = { kind = "github-workflow", repository = "acme/base-images", workflow = "build.yml", token_env = "CASCADE_GITHUB_TOKEN" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TriggerSpec {
    /// POST of the JSON [`RebuildRequest`] plus `"event": "rebuild"`, signed with
    /// HMAC-SHA256 of the exact body when a secret is configured.
    Webhook {
        url: String,
        #[serde(default)]
        secret_env: Option<String>,
        #[serde(default)]
        secret_file: Option<PathBuf>,
    },
    /// GitHub `workflow_dispatch`. The workflow must declare the inputs `image`, `causes`,
    /// `parent_digest` and `rebuild_id` (GitHub answers 422 to undeclared inputs), or set
    /// `inputs = false`.
    GithubWorkflow {
        #[serde(default = "default_github_api_url")]
        api_url: String,
        repository: String,
        /// A workflow file name (`build.yml`) or its numeric id.
        #[serde(deserialize_with = "string_or_integer")]
        workflow: String,
        #[serde(rename = "ref", default = "default_git_ref")]
        git_ref: String,
        token_env: String,
        #[serde(default = "default_true")]
        inputs: bool,
    },
    /// GitHub `repository_dispatch`; runs workflows on the default branch only.
    GithubDispatch {
        #[serde(default = "default_github_api_url")]
        api_url: String,
        repository: String,
        #[serde(default = "default_event_type")]
        event_type: String,
        token_env: String,
    },
    /// GitLab pipeline trigger (`token` is a pipeline trigger token).
    Gitlab {
        #[serde(default = "default_gitlab_api_url")]
        api_url: String,
        /// A numeric project id or its full path (`group/subgroup/project`).
        #[serde(deserialize_with = "string_or_integer")]
        project: String,
        #[serde(rename = "ref", default = "default_git_ref")]
        git_ref: String,
        token_env: String,
    },
    /// Jenkins `buildWithParameters` with HTTP Basic `user:api-token` (no crumb needed).
    Jenkins {
        /// The Jenkins base URL, e.g. `https://ci.example.com` or `https://example.com/jenkins`.
        url: String,
        /// `folder/name`, becoming `/job/folder/job/name`.
        job: String,
        user: String,
        token_env: String,
    },
}

fn default_github_api_url() -> String {
    DEFAULT_GITHUB_API_URL.to_string()
}

fn default_gitlab_api_url() -> String {
    DEFAULT_GITLAB_API_URL.to_string()
}

fn default_git_ref() -> String {
    DEFAULT_GIT_REF.to_string()
}

fn default_event_type() -> String {
    DEFAULT_EVENT_TYPE.to_string()
}

fn default_true() -> bool {
    true
}

/// Accepts `workflow = "build.yml"` as well as `workflow = 1234` (ids are numbers in TOML).
fn string_or_integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrInteger {
        String(String),
        Integer(u64),
    }
    Ok(match StringOrInteger::deserialize(deserializer)? {
        StringOrInteger::String(s) => s,
        StringOrInteger::Integer(n) => n.to_string(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("trigger field {field} must be an http(s) URL: {reason}")]
    InvalidUrl { field: &'static str, reason: String },
    #[error("trigger field {field} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("environment variable {name} is not set")]
    SecretEnvMissing { name: String },
    #[error("environment variable {name} is not valid UTF-8")]
    SecretEnvNotUnicode { name: String },
    #[error("reading secret file {path}: {source}")]
    SecretFile { path: PathBuf, source: std::io::Error },
    #[error("secret file {path} is not valid UTF-8")]
    SecretFileNotUnicode { path: PathBuf },
    #[error("secret from {origin} is empty")]
    SecretEmpty { origin: String },
    #[error("secret from {origin} contains characters not allowed in an HTTP header")]
    SecretNotHeaderSafe { origin: String },
    #[error("{trigger}: no secret was given but this trigger needs one")]
    SecretRequired { trigger: String },
    #[error("{trigger}: encoding the request body failed: {source}")]
    Encode { trigger: String, source: serde_json::Error },
}

impl TriggerSpec {
    /// Checks what serde cannot: URLs are http(s) with a host and no credentials, names have
    /// their documented shape, at most one secret source. Called at config load.
    pub fn validate(&self) -> Result<(), TriggerError> {
        match self {
            TriggerSpec::Webhook { url, secret_env, secret_file } => {
                validate_url("url", url, true)?;
                if secret_env.is_some() && secret_file.is_some() {
                    return Err(invalid("secret_env", "set secret_env or secret_file, not both"));
                }
                if let Some(name) = secret_env {
                    validate_env_name("secret_env", name)?;
                }
                Ok(())
            }
            TriggerSpec::GithubWorkflow { api_url, repository, workflow, git_ref, token_env, inputs: _ } => {
                validate_url("api_url", api_url, false)?;
                validate_repository(repository)?;
                validate_workflow(workflow)?;
                validate_git_ref(git_ref)?;
                validate_env_name("token_env", token_env)
            }
            TriggerSpec::GithubDispatch { api_url, repository, event_type, token_env } => {
                validate_url("api_url", api_url, false)?;
                validate_repository(repository)?;
                let n_chars = event_type.chars().count();
                if n_chars == 0 || n_chars > MAX_EVENT_TYPE_CHARS {
                    return Err(invalid(
                        "event_type",
                        format!("must be 1 to {MAX_EVENT_TYPE_CHARS} characters, got {n_chars}"),
                    ));
                }
                validate_env_name("token_env", token_env)
            }
            TriggerSpec::Gitlab { api_url, project, git_ref, token_env } => {
                validate_url("api_url", api_url, false)?;
                validate_gitlab_project(project)?;
                validate_git_ref(git_ref)?;
                validate_env_name("token_env", token_env)
            }
            TriggerSpec::Jenkins { url, job, user, token_env } => {
                validate_url("url", url, false)?;
                if job.split('/').any(|s| s.trim().is_empty() || s.chars().any(char::is_control)) {
                    return Err(invalid("job", "must be non-empty names separated by '/', like folder/name"));
                }
                if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
                    return Err(invalid("user", "must be non-empty without ':' or control characters"));
                }
                validate_env_name("token_env", token_env)
            }
        }
    }

    /// The trigger's kind as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            TriggerSpec::Webhook { .. } => "webhook",
            TriggerSpec::GithubWorkflow { .. } => "github-workflow",
            TriggerSpec::GithubDispatch { .. } => "github-dispatch",
            TriggerSpec::Gitlab { .. } => "gitlab",
            TriggerSpec::Jenkins { .. } => "jenkins",
        }
    }

    /// A one-line display form for logs and CLI output, e.g.
    /// `github-workflow acme/base-images build.yml@main`. Never contains a secret: tokens are
    /// not part of the spec, and URLs are reduced to their origin.
    pub fn describe(&self) -> String {
        let via = |api_url: &str, default: &str| {
            if api_url.trim_end_matches('/') == default {
                String::new()
            } else {
                format!(" via {}", origin(api_url))
            }
        };
        match self {
            TriggerSpec::Webhook { url, .. } => format!("webhook {}", origin(url)),
            TriggerSpec::GithubWorkflow { api_url, repository, workflow, git_ref, .. } => {
                format!("github-workflow {repository} {workflow}@{git_ref}{}", via(api_url, DEFAULT_GITHUB_API_URL))
            }
            TriggerSpec::GithubDispatch { api_url, repository, event_type, .. } => {
                format!("github-dispatch {repository} {event_type}{}", via(api_url, DEFAULT_GITHUB_API_URL))
            }
            TriggerSpec::Gitlab { api_url, project, git_ref, .. } => {
                format!("gitlab {project}@{git_ref}{}", via(api_url, DEFAULT_GITLAB_API_URL))
            }
            TriggerSpec::Jenkins { url, job, .. } => format!("jenkins {} {job}", origin(url)),
        }
    }
}

impl fmt::Display for TriggerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> TriggerError {
    TriggerError::InvalidField { field, reason: reason.into() }
}

/// http(s), a host, no userinfo; base URLs (everything but a webhook's) take no query either,
/// since paths are appended to them. The URL itself never goes into the error.
fn validate_url(field: &'static str, url: &str, query_allowed: bool) -> Result<(), TriggerError> {
    let bad = |reason: &str| TriggerError::InvalidUrl { field, reason: reason.to_string() };
    let uri: ureq::http::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(bad("the scheme must be http or https"));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("credentials belong in a secret, not in the URL"));
    }
    if authority.host().is_empty() {
        return Err(bad("no host"));
    }
    if !query_allowed && uri.query().is_some() {
        return Err(bad("a base URL cannot have a query"));
    }
    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn validate_repository(repository: &str) -> Result<(), TriggerError> {
    match repository.split_once('/') {
        Some((owner, repo))
            if !owner.is_empty()
                && !repo.is_empty()
                && owner.chars().chain(repo.chars()).all(is_name_char)
                && !matches!(repo, "." | "..") =>
        {
            Ok(())
        }
        _ => Err(invalid("repository", "must be owner/repo")),
    }
}

fn validate_workflow(workflow: &str) -> Result<(), TriggerError> {
    let is_id = !workflow.is_empty() && workflow.bytes().all(|b| b.is_ascii_digit());
    let is_file = (workflow.ends_with(".yml") || workflow.ends_with(".yaml")) && workflow.chars().all(is_name_char);
    if is_id || is_file {
        Ok(())
    } else {
        Err(invalid("workflow", "must be a workflow file name (build.yml) or a numeric id"))
    }
}

fn validate_git_ref(git_ref: &str) -> Result<(), TriggerError> {
    if git_ref.is_empty() || git_ref.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("ref", "must be a branch or tag name without whitespace"));
    }
    Ok(())
}

fn validate_gitlab_project(project: &str) -> Result<(), TriggerError> {
    let is_id = !project.is_empty() && project.bytes().all(|b| b.is_ascii_digit());
    let is_path = project.contains('/')
        && project.split('/').all(|s| !s.is_empty() && !matches!(s, "." | "..") && s.chars().all(is_name_char));
    if is_id || is_path {
        Ok(())
    } else {
        Err(invalid("project", "must be a numeric project id or group/project"))
    }
}

fn validate_env_name(field: &'static str, name: &str) -> Result<(), TriggerError> {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return Err(invalid(field, "must name an environment variable"));
    }
    Ok(())
}

/// `scheme://host[:port]` of a URL, or a placeholder when it does not parse.
fn origin(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => {
                // Userinfo never reaches the display form (validate refuses it anyway).
                let host_port = authority.as_str().rsplit('@').next().unwrap_or_default();
                format!("{scheme}://{host_port}")
            }
            _ => "<invalid url>".to_string(),
        },
        Err(_) => "<invalid url>".to_string(),
    }
}

/// A token, trigger token or webhook secret. `Debug` prints `Secret(***)` and there is no
/// `Display`: the value is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reads the trigger's secret: the `token_env` / `secret_env` variable, or the `secret_file`
/// (its trailing newline trimmed). `Ok(None)` only for a webhook with neither configured.
/// Errors name the variable or file, never a value.
pub fn resolve_secret(spec: &TriggerSpec) -> Result<Option<Secret>, TriggerError> {
    resolve_secret_with(spec, |name| std::env::var_os(name))
}

/// [`resolve_secret`] over an environment lookup, so tests need not mutate the process's.
fn resolve_secret_with(
    spec: &TriggerSpec,
    lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Option<Secret>, TriggerError> {
    let from_env = |name: &str| -> Result<Secret, TriggerError> {
        let value = lookup(name).ok_or_else(|| TriggerError::SecretEnvMissing { name: name.to_string() })?;
        let value = value.into_string().map_err(|_| TriggerError::SecretEnvNotUnicode { name: name.to_string() })?;
        checked_secret(value, || format!("environment variable {name}"))
    };
    match spec {
        TriggerSpec::Webhook { secret_env: Some(name), .. } => from_env(name).map(Some),
        TriggerSpec::Webhook { secret_file: Some(path), .. } => {
            let bytes =
                std::fs::read(path).map_err(|source| TriggerError::SecretFile { path: path.clone(), source })?;
            let text =
                String::from_utf8(bytes).map_err(|_| TriggerError::SecretFileNotUnicode { path: path.clone() })?;
            let trimmed = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
            checked_secret(trimmed.to_string(), || format!("file {}", path.display())).map(Some)
        }
        TriggerSpec::Webhook { .. } => Ok(None),
        TriggerSpec::GithubWorkflow { token_env, .. }
        | TriggerSpec::GithubDispatch { token_env, .. }
        | TriggerSpec::Gitlab { token_env, .. }
        | TriggerSpec::Jenkins { token_env, .. } => from_env(token_env).map(Some),
    }
}

/// Non-empty and usable inside a header (tokens go into Authorization; a newline there would
/// otherwise fail only at send time, or worse, split the header).
fn checked_secret(value: String, origin: impl Fn() -> String) -> Result<Secret, TriggerError> {
    if value.is_empty() {
        return Err(TriggerError::SecretEmpty { origin: origin() });
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(TriggerError::SecretNotHeaderSafe { origin: origin() });
    }
    Ok(Secret(value))
}

/// What a rebuild trigger says about the rebuild it asks for.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildRequest {
    pub rebuild_id: i64,
    pub image: String,
    pub parent: Option<String>,
    pub old_parent_digest: Option<String>,
    pub new_parent_digest: Option<String>,
    pub advisories: Vec<String>,
    /// Short reasons such as `parent-digest-changed` or `advisory-fix-installable`.
    pub causes: Vec<String>,
}

/// The webhook body: the request plus `"event": "rebuild"` (first, for readers of raw logs).
#[derive(Serialize)]
struct WebhookBody<'a> {
    event: &'static str,
    #[serde(flatten)]
    request: &'a RebuildRequest,
}

/// A request ready to go on the wire. `Debug` redacts Authorization and `token` values in the
/// query or a form body.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl PreparedRequest {
    /// Header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The path is left out: webhook URLs (Slack-style, Jenkins build tokens) often carry
        // their secret there.
        let url = match self.url.split_once('?') {
            Some((_, query)) => format!("{}/***?{}", origin(&self.url), redact_form(query)),
            None => format!("{}/***", origin(&self.url)),
        };
        let headers: Vec<(&str, String)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = if name.eq_ignore_ascii_case("authorization") {
                    match value.split_once(' ') {
                        Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                        None => REDACTED.to_string(),
                    }
                } else {
                    value.clone()
                };
                (name.as_str(), shown)
            })
            .collect();
        let body = String::from_utf8_lossy(&self.body);
        let body = if self.header("content-type") == Some(FORM) { redact_form(&body) } else { body.into_owned() };
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("url", &url)
            .field("headers", &headers)
            .field("body", &body)
            .finish()
    }
}

/// `a=1&token=x&b=2` → `a=1&token=***&b=2`.
fn redact_form(form: &str) -> String {
    form.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("token") => format!("{key}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The four values every CI kind receives as strings (inputs, variables or parameters).
struct CiValues {
    image: String,
    causes: String,
    parent_digest: String,
    rebuild_id: String,
}

impl CiValues {
    fn of(request: &RebuildRequest) -> CiValues {
        CiValues {
            image: request.image.clone(),
            causes: request.causes.join(","),
            parent_digest: request.new_parent_digest.clone().unwrap_or_default(),
            rebuild_id: request.rebuild_id.to_string(),
        }
    }
}

/// Builds the request `spec` sends for `request`. Pure: no environment, no clock, no IO.
/// `secret` comes from [`resolve_secret`]; every kind but an unsigned webhook needs one.
pub fn prepare(
    spec: &TriggerSpec,
    secret: Option<&Secret>,
    request: &RebuildRequest,
) -> Result<PreparedRequest, TriggerError> {
    spec.validate()?;
    let required = || secret.ok_or_else(|| TriggerError::SecretRequired { trigger: spec.describe() });
    let post = |url: String, headers: Vec<(&str, String)>, body: Vec<u8>| PreparedRequest {
        method: "POST".to_string(),
        url,
        headers: headers.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        body,
    };
    let github_headers = |token: &Secret| {
        vec![
            ("Authorization", format!("Bearer {}", token.expose())),
            ("Accept", GITHUB_MEDIA_TYPE.to_string()),
            ("X-GitHub-Api-Version", GITHUB_API_VERSION.to_string()),
            ("Content-Type", JSON.to_string()),
        ]
    };
    let values = CiValues::of(request);
    Ok(match spec {
        TriggerSpec::Webhook { url, .. } => {
            let body = to_json(spec, &WebhookBody { event: REBUILD_EVENT, request })?;
            let mut headers = vec![
                ("Content-Type", JSON.to_string()),
                (EVENT_HEADER, REBUILD_EVENT.to_string()),
                (DELIVERY_HEADER, request.rebuild_id.to_string()),
            ];
            if let Some(secret) = secret {
                headers.push((SIGNATURE_HEADER, hmac::signature_header_value(secret.expose().as_bytes(), &body)));
            }
            post(url.clone(), headers, body)
        }
        TriggerSpec::GithubWorkflow { api_url, repository, workflow, git_ref, inputs, .. } => {
            let token = required()?;
            let url = format!(
                "{}/repos/{repository}/actions/workflows/{}/dispatches",
                base(api_url),
                encode_path_segment(workflow)
            );
            let body = if *inputs {
                serde_json::json!({
                    "ref": git_ref,
                    "inputs": {
                        "image": values.image,
                        "causes": values.causes,
                        "parent_digest": values.parent_digest,
                        "rebuild_id": values.rebuild_id,
                    },
                })
            } else {
                serde_json::json!({ "ref": git_ref })
            };
            post(url, github_headers(token), to_json(spec, &body)?)
        }
        TriggerSpec::GithubDispatch { api_url, repository, event_type, .. } => {
            let token = required()?;
            let url = format!("{}/repos/{repository}/dispatches", base(api_url));
            let body = serde_json::json!({ "event_type": event_type, "client_payload": request });
            post(url, github_headers(token), to_json(spec, &body)?)
        }
        TriggerSpec::Gitlab { api_url, project, git_ref, .. } => {
            let token = required()?;
            let url = format!("{}/api/v4/projects/{}/trigger/pipeline", base(api_url), encode_path_segment(project));
            let body = encode_form(&[
                ("token", token.expose()),
                ("ref", git_ref),
                ("variables[CASCADE_IMAGE]", &values.image),
                ("variables[CASCADE_CAUSES]", &values.causes),
                ("variables[CASCADE_PARENT_DIGEST]", &values.parent_digest),
                ("variables[CASCADE_REBUILD_ID]", &values.rebuild_id),
            ]);
            post(url, vec![("Content-Type", FORM.to_string())], body.into_bytes())
        }
        TriggerSpec::Jenkins { url, job, user, .. } => {
            let token = required()?;
            let job_path: String = job.split('/').map(|name| format!("/job/{}", encode_path_segment(name))).collect();
            let query = encode_form(&[
                ("IMAGE", &values.image),
                ("CAUSES", &values.causes),
                ("PARENT_DIGEST", &values.parent_digest),
                ("REBUILD_ID", &values.rebuild_id),
            ]);
            let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", token.expose()));
            post(
                format!("{}{job_path}/buildWithParameters?{query}", base(url)),
                vec![("Authorization", format!("Basic {credentials}"))],
                Vec::new(),
            )
        }
    })
}

fn to_json<T: Serialize>(spec: &TriggerSpec, value: &T) -> Result<Vec<u8>, TriggerError> {
    serde_json::to_vec(value).map_err(|source| TriggerError::Encode { trigger: spec.describe(), source })
}

fn base(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so `group/project`
/// becomes the single segment `group%2Fproject`.
fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` (WHATWG): unreserved bytes as is, space as `+`,
/// everything else (including `[`, `]`, `/`, `:` and `@`) percent-encoded.
fn encode_form(pairs: &[(&str, &str)]) -> String {
    fn encode(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b' ' => out.push('+'),
                b if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') => out.push(char::from(b)),
                b => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(key, &mut out);
        out.push('=');
        encode(value, &mut out);
    }
    out
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerOutcome {
    /// 2xx. `detail` locates what was started: a GitHub run's `html_url`, a GitLab pipeline's
    /// `web_url`, a Jenkins queue item's `Location`.
    Accepted { status: u16, detail: Option<String> },
    /// Worth another attempt: 429, 5xx, transport failures and timeouts (`status` None).
    Retryable { status: Option<u16>, error: String, retry_after: Option<Duration> },
    /// Refused for good (other statuses); `error` carries the start of the response body.
    /// `status` is 0 when the request could not even be built (a hand-made
    /// [`PreparedRequest`]; [`prepare`] never produces one).
    Rejected { status: u16, error: String },
}

/// The agent for triggers: statuses are values, redirects are not followed (a redirect means
/// a misconfigured URL, and following it could carry a token elsewhere), and `timeout`
/// covers the whole exchange.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .user_agent(concat!("cascade/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Delivers `prepared` once and classifies the answer. Never retries and never fails: every
/// result is a [`TriggerOutcome`]. Logs the method, host and status, never the URL.
pub fn send(agent: &ureq::Agent, prepared: &PreparedRequest) -> TriggerOutcome {
    let host = prepared.url.parse::<ureq::http::Uri>().ok().and_then(|u| u.host().map(str::to_string));
    let span =
        tracing::info_span!("trigger.send", http.method = %prepared.method, http.host = host.as_deref().unwrap_or(""));
    let _entered = span.enter();
    let started = Instant::now();
    let mut builder = ureq::http::Request::builder().method(prepared.method.as_str()).uri(prepared.url.as_str());
    for (name, value) in &prepared.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = match builder.body(prepared.body.clone()) {
        Ok(request) => request,
        Err(e) => return TriggerOutcome::Rejected { status: 0, error: format!("building the request failed: {e}") },
    };
    let outcome = match agent.run(request) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
            let (retry_after, location) = (header("retry-after"), header("location"));
            // A body that fails midway is cut where it failed: the status already decided.
            let mut body = Vec::new();
            let _ = response.body_mut().as_reader().take(MAX_RESPONSE_BYTES).read_to_end(&mut body);
            classify(status, retry_after.as_deref(), location.as_deref(), &body, SystemTime::now())
        }
        Err(e) => TriggerOutcome::Retryable { status: None, error: e.to_string(), retry_after: None },
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    match &outcome {
        TriggerOutcome::Accepted { status, .. } => tracing::info!(status, duration_ms, "rebuild trigger accepted"),
        TriggerOutcome::Retryable { status, error, .. } => {
            tracing::warn!(status = status.unwrap_or(0), duration_ms, error = %error, "rebuild trigger failed, retryable")
        }
        TriggerOutcome::Rejected { status, error } => {
            tracing::warn!(status, duration_ms, error = %error, "rebuild trigger rejected")
        }
    }
    outcome
}

/// The outcome of a response: pure, so each rule is tested without a server.
fn classify(
    status: u16,
    retry_after: Option<&str>,
    location: Option<&str>,
    body: &[u8],
    now: SystemTime,
) -> TriggerOutcome {
    if (200..300).contains(&status) {
        return TriggerOutcome::Accepted { status, detail: accepted_detail(body).or(location.map(str::to_string)) };
    }
    let error = match body_excerpt(body) {
        excerpt if excerpt.is_empty() => match location {
            Some(to) if (300..400).contains(&status) => format!("HTTP {status} redirect to {to}"),
            _ => format!("HTTP {status}"),
        },
        excerpt => format!("HTTP {status}: {excerpt}"),
    };
    if is_retryable_status(status) {
        let retry_after = retry_after.and_then(|v| parse_retry_after(v, now));
        return TriggerOutcome::Retryable { status: Some(status), error, retry_after };
    }
    TriggerOutcome::Rejected { status, error }
}

/// `html_url` (GitHub run details), `web_url` (GitLab pipeline) or `run_url` from a JSON body.
fn accepted_detail(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["html_url", "web_url", "run_url"].iter().find_map(|key| value.get(key)?.as_str().map(str::to_string))
}

/// The first [`MAX_ERROR_BODY_CHARS`] characters of a body, whitespace runs folded.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    folded.chars().take(MAX_ERROR_BODY_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn valid_spec(toml_text: &str) -> TriggerSpec {
        let spec: TriggerSpec = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"));
        spec.validate().unwrap_or_else(|e| panic!("{toml_text}: {e}"));
        spec
    }

    fn spec_error(toml_text: &str) -> String {
        match toml::from_str::<TriggerSpec>(toml_text) {
            Err(e) => e.to_string(),
            Ok(spec) => spec.validate().expect_err(toml_text).to_string(),
        }
    }

    fn request() -> RebuildRequest {
        RebuildRequest {
            rebuild_id: 42,
            image: "registry.example.com/apps/api:1.4".to_string(),
            parent: Some("registry.example.com/base/debian:12".to_string()),
            old_parent_digest: Some(format!("sha256:{}", "a".repeat(64))),
            new_parent_digest: Some(format!("sha256:{}", "b".repeat(64))),
            advisories: vec!["DSA-5678-1".to_string(), "CVE-2024-1234".to_string()],
            causes: vec!["parent-digest-changed".to_string(), "advisory-fix-installable".to_string()],
        }
    }

    fn headers(prepared: &PreparedRequest) -> Vec<(&str, &str)> {
        prepared.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }

    fn body_json(prepared: &PreparedRequest) -> serde_json::Value {
        serde_json::from_slice(&prepared.body).expect("JSON body")
    }

    const TOKEN: &str = "ghp_s3cr3tT0ken";

    #[test]
    fn parses_every_kind_with_defaults() {
        let cases: [(&str, TriggerSpec); 5] = [
            (
                "kind = 'webhook'\nurl = 'https://hooks.example.com/cascade'\nsecret_env = 'HOOK_SECRET'",
                TriggerSpec::Webhook {
                    url: "https://hooks.example.com/cascade".into(),
                    secret_env: Some("HOOK_SECRET".into()),
                    secret_file: None,
                },
            ),
            (
                "kind = 'github-workflow'\nrepository = 'acme/base-images'\nworkflow = 'build.yml'\ntoken_env = 'GH'",
                TriggerSpec::GithubWorkflow {
                    api_url: DEFAULT_GITHUB_API_URL.into(),
                    repository: "acme/base-images".into(),
                    workflow: "build.yml".into(),
                    git_ref: "main".into(),
                    token_env: "GH".into(),
                    inputs: true,
                },
            ),
            (
                "kind = 'github-dispatch'\nrepository = 'acme/base-images'\ntoken_env = 'GH'",
                TriggerSpec::GithubDispatch {
                    api_url: DEFAULT_GITHUB_API_URL.into(),
                    repository: "acme/base-images".into(),
                    event_type: DEFAULT_EVENT_TYPE.into(),
                    token_env: "GH".into(),
                },
            ),
            (
                "kind = 'gitlab'\nproject = 1234\nref = 'release'\ntoken_env = 'GL'",
                TriggerSpec::Gitlab {
                    api_url: DEFAULT_GITLAB_API_URL.into(),
                    project: "1234".into(),
                    git_ref: "release".into(),
                    token_env: "GL".into(),
                },
            ),
            (
                "kind = 'jenkins'\nurl = 'https://ci.example.com/'\njob = 'images/api'\nuser = 'bot'\ntoken_env = 'JK'",
                TriggerSpec::Jenkins {
                    url: "https://ci.example.com/".into(),
                    job: "images/api".into(),
                    user: "bot".into(),
                    token_env: "JK".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(valid_spec(text), expected, "{text}");
        }
        let by_id = valid_spec(
            "kind = 'github-workflow'\nrepository = 'a/b'\nworkflow = 161335\ninputs = false\ntoken_env = 'GH'",
        );
        assert!(
            matches!(by_id, TriggerSpec::GithubWorkflow { ref workflow, inputs: false, .. } if workflow == "161335")
        );
    }

    #[test]
    fn refuses_bad_configs() {
        let cases = [
            ("kind = 'webhook'\nurl = 'https://h.example.com'\nsecret = 'x'", "unknown field `secret`"),
            ("kind = 'teamcity'\nurl = 'https://h.example.com'", "unknown variant `teamcity`"),
            ("url = 'https://h.example.com'", "missing field `kind`"),
            ("kind = 'webhook'\nurl = 'ftp://h.example.com/x'", "trigger field url must be an http(s) URL: the scheme"),
            ("kind = 'webhook'\nurl = '/relative'", "trigger field url must be an http(s) URL"),
            ("kind = 'webhook'\nurl = 'https://user:pw@h.example.com/x'", "credentials belong in a secret"),
            ("kind = 'webhook'\nurl = 'https://h.example.com'\nsecret_env = 'A'\nsecret_file = '/s'", "not both"),
            (
                "kind = 'github-workflow'\napi_url = 'git://x'\nrepository = 'a/b'\nworkflow = 'b.yml'\ntoken_env = 'T'",
                "api_url must be an http(s) URL",
            ),
            (
                "kind = 'github-workflow'\nrepository = 'acme'\nworkflow = 'b.yml'\ntoken_env = 'T'",
                "repository is invalid: must be owner/repo",
            ),
            (
                "kind = 'github-workflow'\nrepository = 'a/b/c'\nworkflow = 'b.yml'\ntoken_env = 'T'",
                "must be owner/repo",
            ),
            (
                "kind = 'github-workflow'\nrepository = 'a/b'\nworkflow = '../x'\ntoken_env = 'T'",
                "workflow is invalid",
            ),
            (
                "kind = 'github-workflow'\nrepository = 'a/b'\nworkflow = 'b.yml'\nref = ''\ntoken_env = 'T'",
                "ref is invalid",
            ),
            (
                "kind = 'github-workflow'\nrepository = 'a/b'\nworkflow = 'b.yml'\ntoken_env = ''",
                "token_env is invalid",
            ),
            (
                "kind = 'github-workflow'\nrepository = 'a/b'\nworkflow = 'b.yml'",
                "missing field `token_env`",
            ),
            ("kind = 'github-dispatch'\nrepository = 'a/b'\nevent_type = ''\ntoken_env = 'T'", "1 to 100 characters"),
            (
                &format!("kind = 'github-dispatch'\nrepository = 'a/b'\nevent_type = '{}'\ntoken_env = 'T'", "e".repeat(101)),
                "1 to 100 characters, got 101",
            ),
            ("kind = 'gitlab'\nproject = 'noslash'\ntoken_env = 'T'", "project is invalid"),
            ("kind = 'gitlab'\nproject = 'group//project'\ntoken_env = 'T'", "project is invalid"),
            (
                "kind = 'gitlab'\napi_url = 'https://gitlab.example.com?x=1'\nproject = 1\ntoken_env = 'T'",
                "a base URL cannot have a query",
            ),
            ("kind = 'jenkins'\nurl = 'https://ci'\njob = 'a//b'\nuser = 'u'\ntoken_env = 'T'", "job is invalid"),
            ("kind = 'jenkins'\nurl = 'https://ci'\njob = 'a'\nuser = 'u:x'\ntoken_env = 'T'", "user is invalid"),
        ];
        for (text, expected) in cases {
            let error = spec_error(text);
            assert!(error.contains(expected), "{text}\n  got: {error}\n  want: {expected}");
        }
        let event_type_100 = format!(
            "kind = 'github-dispatch'\nrepository = 'a/b'\nevent_type = '{}'\ntoken_env = 'T'",
            "é".repeat(100)
        );
        valid_spec(&event_type_100);
    }

    #[test]
    fn url_errors_never_echo_the_url() {
        let error = spec_error("kind = 'webhook'\nurl = 'https://user:hunter2@hooks.example.com/T0KEN'");
        assert!(!error.contains("hunter2") && !error.contains("T0KEN"), "{error}");
    }

    #[test]
    fn describe_is_short_and_secret_free() {
        let cases = [
            (
                "kind = 'webhook'\nurl = 'https://hooks.example.com/services/T000/B000/XXXXsecretXXXX?token=abc'\nsecret_env = 'S'",
                "webhook https://hooks.example.com",
            ),
            (
                "kind = 'github-workflow'\nrepository = 'acme/base-images'\nworkflow = 'build.yml'\ntoken_env = 'GH_TOKEN'",
                "github-workflow acme/base-images build.yml@main",
            ),
            (
                "kind = 'github-workflow'\napi_url = 'https://ghe.example.com/api/v3/'\nrepository = 'acme/base'\nworkflow = 7\nref = 'v2'\ntoken_env = 'T'",
                "github-workflow acme/base 7@v2 via https://ghe.example.com",
            ),
            (
                "kind = 'github-dispatch'\nrepository = 'acme/base-images'\ntoken_env = 'T'",
                "github-dispatch acme/base-images cascade-rebuild",
            ),
            ("kind = 'gitlab'\nproject = 'platform/images'\ntoken_env = 'T'", "gitlab platform/images@main"),
            (
                "kind = 'gitlab'\napi_url = 'http://gitlab.internal:8080'\nproject = 12\nref = 'stable'\ntoken_env = 'T'",
                "gitlab 12@stable via http://gitlab.internal:8080",
            ),
            (
                "kind = 'jenkins'\nurl = 'https://ci.example.com/jenkins'\njob = 'images/api'\nuser = 'bot'\ntoken_env = 'T'",
                "jenkins https://ci.example.com images/api",
            ),
        ];
        for (text, expected) in cases {
            let spec = valid_spec(text);
            assert_eq!(spec.describe(), expected, "{text}");
            assert_eq!(spec.to_string(), expected);
        }
    }

    #[test]
    fn webhook_wire_shape() {
        let spec =
            valid_spec("kind = 'webhook'\nurl = 'https://hooks.example.com/cascade?team=base'\nsecret_env = 'S'");
        let secret = Secret::new("hook-secret");
        let prepared = prepare(&spec, Some(&secret), &request()).expect("prepare");
        assert_eq!(prepared.method, "POST");
        assert_eq!(prepared.url, "https://hooks.example.com/cascade?team=base");
        let expected_body = format!(
            r#"{{"event":"rebuild","rebuild_id":42,"image":"registry.example.com/apps/api:1.4","parent":"registry.example.com/base/debian:12","old_parent_digest":"sha256:{a}","new_parent_digest":"sha256:{b}","advisories":["DSA-5678-1","CVE-2024-1234"],"causes":["parent-digest-changed","advisory-fix-installable"]}}"#,
            a = "a".repeat(64),
            b = "b".repeat(64)
        );
        assert_eq!(String::from_utf8(prepared.body.clone()).unwrap(), expected_body);
        let signature = hmac::signature_header_value(b"hook-secret", expected_body.as_bytes());
        assert_eq!(
            headers(&prepared),
            [
                ("Content-Type", "application/json"),
                ("X-Cascade-Event", "rebuild"),
                ("X-Cascade-Delivery", "42"),
                ("X-Cascade-Signature-256", signature.as_str()),
            ]
        );
        assert!(hmac::verify(b"hook-secret", &prepared.body, prepared.header("x-cascade-signature-256").unwrap()));

        // Without a secret the webhook goes unsigned.
        let unsigned = spec_unsigned();
        let prepared = prepare(&unsigned, None, &request()).expect("prepare");
        assert_eq!(prepared.header(SIGNATURE_HEADER), None);
        assert_eq!(prepared.header(DELIVERY_HEADER), Some("42"));
    }

    fn spec_unsigned() -> TriggerSpec {
        valid_spec("kind = 'webhook'\nurl = 'http://127.0.0.1:9/hook'")
    }

    #[test]
    fn github_workflow_wire_shape() {
        let spec = valid_spec(
            "kind = 'github-workflow'\nrepository = 'acme/base-images'\nworkflow = 'build.yml'\nref = 'release/2'\ntoken_env = 'T'",
        );
        let prepared = prepare(&spec, Some(&Secret::new(TOKEN)), &request()).expect("prepare");
        assert_eq!(prepared.method, "POST");
        assert_eq!(
            prepared.url,
            "https://api.github.com/repos/acme/base-images/actions/workflows/build.yml/dispatches"
        );
        assert_eq!(
            headers(&prepared),
            [
                ("Authorization", "Bearer ghp_s3cr3tT0ken"),
                ("Accept", "application/vnd.github+json"),
                ("X-GitHub-Api-Version", "2022-11-28"),
                ("Content-Type", "application/json"),
            ]
        );
        assert_eq!(
            body_json(&prepared),
            serde_json::json!({
                "ref": "release/2",
                "inputs": {
                    "image": "registry.example.com/apps/api:1.4",
                    "causes": "parent-digest-changed,advisory-fix-installable",
                    "parent_digest": format!("sha256:{}", "b".repeat(64)),
                    "rebuild_id": "42",
                },
            })
        );

        let no_inputs = valid_spec(
            "kind = 'github-workflow'\napi_url = 'http://127.0.0.1:8080/api/v3/'\nrepository = 'a/b'\nworkflow = 99\ninputs = false\ntoken_env = 'T'",
        );
        let prepared = prepare(&no_inputs, Some(&Secret::new(TOKEN)), &request()).expect("prepare");
        assert_eq!(prepared.url, "http://127.0.0.1:8080/api/v3/repos/a/b/actions/workflows/99/dispatches");
        assert_eq!(String::from_utf8(prepared.body).unwrap(), r#"{"ref":"main"}"#);
    }

    #[test]
    fn github_inputs_are_strings_even_when_empty() {
        let spec = valid_spec("kind = 'github-workflow'\nrepository = 'a/b'\nworkflow = 'b.yml'\ntoken_env = 'T'");
        let mut bare = request();
        bare.new_parent_digest = None;
        bare.causes.clear();
        let body = body_json(&prepare(&spec, Some(&Secret::new(TOKEN)), &bare).expect("prepare"));
        assert_eq!(body["inputs"]["parent_digest"], "");
        assert_eq!(body["inputs"]["causes"], "");
        assert!(body["inputs"].as_object().unwrap().values().all(serde_json::Value::is_string));
    }

    #[test]
    fn github_dispatch_wire_shape() {
        let spec = valid_spec("kind = 'github-dispatch'\nrepository = 'acme/base-images'\ntoken_env = 'T'");
        let prepared = prepare(&spec, Some(&Secret::new(TOKEN)), &request()).expect("prepare");
        assert_eq!(prepared.url, "https://api.github.com/repos/acme/base-images/dispatches");
        assert_eq!(prepared.header("authorization"), Some("Bearer ghp_s3cr3tT0ken"));
        assert_eq!(prepared.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(prepared.header("x-github-api-version"), Some("2022-11-28"));
        let body = body_json(&prepared);
        assert_eq!(
            body,
            serde_json::json!({
                "event_type": "cascade-rebuild",
                "client_payload": {
                    "rebuild_id": 42,
                    "image": "registry.example.com/apps/api:1.4",
                    "parent": "registry.example.com/base/debian:12",
                    "old_parent_digest": format!("sha256:{}", "a".repeat(64)),
                    "new_parent_digest": format!("sha256:{}", "b".repeat(64)),
                    "advisories": ["DSA-5678-1", "CVE-2024-1234"],
                    "causes": ["parent-digest-changed", "advisory-fix-installable"],
                },
            })
        );
        assert!(body["client_payload"].as_object().unwrap().len() <= MAX_CLIENT_PAYLOAD_KEYS);
    }

    #[test]
    fn gitlab_wire_shape() {
        let err = spec_error("kind = 'gitlab'\nproject = 'platform/base images'\ntoken_env = 'T'");
        assert!(err.contains("project is invalid"), "{err}");
        let spec = valid_spec(
            "kind = 'gitlab'\napi_url = 'https://gitlab.example.com/'\nproject = 'platform/base.images'\nref = 'main'\ntoken_env = 'T'",
        );
        let prepared = prepare(&spec, Some(&Secret::new("glptt-trigger token")), &request()).expect("prepare");
        assert_eq!(prepared.method, "POST");
        assert_eq!(prepared.url, "https://gitlab.example.com/api/v4/projects/platform%2Fbase.images/trigger/pipeline");
        assert_eq!(headers(&prepared), [("Content-Type", "application/x-www-form-urlencoded")]);
        let expected = format!(
            "token=glptt-trigger+token&ref=main\
             &variables%5BCASCADE_IMAGE%5D=registry.example.com%2Fapps%2Fapi%3A1.4\
             &variables%5BCASCADE_CAUSES%5D=parent-digest-changed%2Cadvisory-fix-installable\
             &variables%5BCASCADE_PARENT_DIGEST%5D=sha256%3A{}\
             &variables%5BCASCADE_REBUILD_ID%5D=42",
            "b".repeat(64)
        );
        assert_eq!(String::from_utf8(prepared.body).unwrap(), expected);

        let numeric = valid_spec("kind = 'gitlab'\nproject = 278964\ntoken_env = 'T'");
        let prepared = prepare(&numeric, Some(&Secret::new("t")), &request()).expect("prepare");
        assert_eq!(prepared.url, "https://gitlab.com/api/v4/projects/278964/trigger/pipeline");
    }

    #[test]
    fn jenkins_wire_shape() {
        let spec = valid_spec("kind = 'jenkins'\nurl = 'https://ci.example.com/jenkins/'\njob = 'images/api build'\nuser = 'cascade-bot'\ntoken_env = 'T'");
        let prepared = prepare(&spec, Some(&Secret::new("11aa22bb")), &request()).expect("prepare");
        assert_eq!(prepared.method, "POST");
        assert_eq!(
            prepared.url,
            format!(
                "https://ci.example.com/jenkins/job/images/job/api%20build/buildWithParameters\
                 ?IMAGE=registry.example.com%2Fapps%2Fapi%3A1.4\
                 &CAUSES=parent-digest-changed%2Cadvisory-fix-installable\
                 &PARENT_DIGEST=sha256%3A{}&REBUILD_ID=42",
                "b".repeat(64)
            )
        );
        // base64("cascade-bot:11aa22bb")
        assert_eq!(headers(&prepared), [("Authorization", "Basic Y2FzY2FkZS1ib3Q6MTFhYTIyYmI=")]);
        assert!(prepared.body.is_empty());
    }

    #[test]
    fn prepare_needs_a_secret_except_for_unsigned_webhooks() {
        let kinds = [
            "kind = 'github-workflow'\nrepository = 'a/b'\nworkflow = 'b.yml'\ntoken_env = 'T'",
            "kind = 'github-dispatch'\nrepository = 'a/b'\ntoken_env = 'T'",
            "kind = 'gitlab'\nproject = 1\ntoken_env = 'T'",
            "kind = 'jenkins'\nurl = 'https://ci.example.com'\njob = 'a'\nuser = 'u'\ntoken_env = 'T'",
        ];
        for text in kinds {
            let spec = valid_spec(text);
            let error = prepare(&spec, None, &request()).expect_err(text).to_string();
            assert_eq!(error, format!("{}: no secret was given but this trigger needs one", spec.describe()));
        }
    }

    #[test]
    fn debug_redacts_every_token() {
        let cases = [
            ("kind = 'github-workflow'\nrepository = 'a/b'\nworkflow = 'b.yml'\ntoken_env = 'T'", "Bearer ***"),
            ("kind = 'github-dispatch'\nrepository = 'a/b'\ntoken_env = 'T'", "Bearer ***"),
            ("kind = 'gitlab'\nproject = 1\ntoken_env = 'T'", "token=***&ref=main"),
            ("kind = 'jenkins'\nurl = 'https://ci.example.com'\njob = 'a'\nuser = 'u'\ntoken_env = 'T'", "Basic ***"),
        ];
        let secret = Secret::new("zz-very-secret-zz");
        let encoded_secret = base64::engine::general_purpose::STANDARD.encode("u:zz-very-secret-zz");
        for (text, marker) in cases {
            let prepared = prepare(&valid_spec(text), Some(&secret), &request()).expect("prepare");
            let debug = format!("{prepared:?}");
            assert!(!debug.contains("zz-very-secret-zz") && !debug.contains(&encoded_secret), "{debug}");
            assert!(debug.contains(marker), "{marker} in {debug}");
        }
        let by_hand = PreparedRequest {
            method: "POST".into(),
            url: "https://hooks.example.com/services/zz-path-secret-zz?a=1&token=zz-very-secret-zz".into(),
            headers: vec![("authorization".into(), "zz-very-secret-zz".into())],
            body: Vec::new(),
        };
        let debug = format!("{by_hand:?}");
        assert!(!debug.contains("zz-very-secret-zz") && !debug.contains("zz-path-secret-zz"), "{debug}");
        assert!(debug.contains("https://hooks.example.com/***?a=1&token=***"), "{debug}");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(***))");
    }

    #[test]
    fn resolves_secrets_from_env_and_files() {
        let env = |name: &str| match name {
            "GH_TOKEN" => Some(OsString::from("ghp_abc")),
            "EMPTY" => Some(OsString::new()),
            "NEWLINE" => Some(OsString::from("abc\ndef")),
            _ => None,
        };
        let github = valid_spec("kind = 'github-dispatch'\nrepository = 'a/b'\ntoken_env = 'GH_TOKEN'");
        assert_eq!(resolve_secret_with(&github, env).unwrap(), Some(Secret::new("ghp_abc")));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hook-secret");
        std::fs::write(&file, "from-file\r\n").unwrap();
        let webhook = TriggerSpec::Webhook {
            url: "https://hooks.example.com".into(),
            secret_env: None,
            secret_file: Some(file.clone()),
        };
        assert_eq!(resolve_secret_with(&webhook, env).unwrap(), Some(Secret::new("from-file")));
        std::fs::write(&file, "kept trailing space \n").unwrap();
        assert_eq!(resolve_secret_with(&webhook, env).unwrap(), Some(Secret::new("kept trailing space ")));
        assert_eq!(resolve_secret_with(&spec_unsigned(), env).unwrap(), None);
    }

    #[test]
    fn secret_errors_name_the_source_never_a_value() {
        let env = |name: &str| match name {
            "EMPTY" => Some(OsString::new()),
            "NEWLINE" => Some(OsString::from("ghp_abc\nX-Injected: 1")),
            _ => None,
        };
        let with_env = |name: &str| TriggerSpec::Gitlab {
            api_url: DEFAULT_GITLAB_API_URL.into(),
            project: "1".into(),
            git_ref: "main".into(),
            token_env: name.into(),
        };
        let error = |spec: &TriggerSpec| resolve_secret_with(spec, env).expect_err("an error").to_string();
        assert_eq!(error(&with_env("CASCADE_GITLAB_TOKEN")), "environment variable CASCADE_GITLAB_TOKEN is not set");
        assert_eq!(error(&with_env("EMPTY")), "secret from environment variable EMPTY is empty");
        let newline = error(&with_env("NEWLINE"));
        assert_eq!(
            newline,
            "secret from environment variable NEWLINE contains characters not allowed in an HTTP header"
        );

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent");
        let webhook = |path: PathBuf| TriggerSpec::Webhook {
            url: "https://hooks.example.com".into(),
            secret_env: None,
            secret_file: Some(path),
        };
        let message = error(&webhook(missing.clone()));
        assert!(message.starts_with(&format!("reading secret file {}: ", missing.display())), "{message}");
        let blank = dir.path().join("blank");
        std::fs::write(&blank, "\n").unwrap();
        assert_eq!(error(&webhook(blank.clone())), format!("secret from file {} is empty", blank.display()));

        // The real environment: a variable this test never sets.
        let real = resolve_secret(&with_env("CASCADE_TEST_SURELY_UNSET_3f9a")).expect_err("unset").to_string();
        assert_eq!(real, "environment variable CASCADE_TEST_SURELY_UNSET_3f9a is not set");
    }

    #[test]
    fn classifies_responses() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let github_401 =
            br#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#;
        // (status, Retry-After, Location, body, expected)
        type Case<'a> = (u16, Option<&'a str>, Option<&'a str>, &'a [u8], TriggerOutcome);
        let cases: Vec<Case<'_>> = vec![
            (204, None, None, b"", TriggerOutcome::Accepted { status: 204, detail: None }),
            (
                200,
                None,
                None,
                br#"{"workflow_run_id":7,"run_url":"https://api.github.com/repos/a/b/actions/runs/7","html_url":"https://github.com/a/b/actions/runs/7"}"#,
                TriggerOutcome::Accepted { status: 200, detail: Some("https://github.com/a/b/actions/runs/7".into()) },
            ),
            (
                201,
                None,
                None,
                br#"{"id":9,"status":"created","web_url":"https://gitlab.com/g/p/-/pipelines/9"}"#,
                TriggerOutcome::Accepted { status: 201, detail: Some("https://gitlab.com/g/p/-/pipelines/9".into()) },
            ),
            (
                201,
                None,
                Some("https://ci.example.com/queue/item/5/"),
                b"",
                TriggerOutcome::Accepted { status: 201, detail: Some("https://ci.example.com/queue/item/5/".into()) },
            ),
            (
                401,
                None,
                None,
                github_401,
                TriggerOutcome::Rejected {
                    status: 401,
                    error: format!("HTTP 401: {}", String::from_utf8_lossy(github_401)),
                },
            ),
            (404, None, None, b"", TriggerOutcome::Rejected { status: 404, error: "HTTP 404".into() }),
            (
                301,
                None,
                Some("https://new.example.com/"),
                b"",
                TriggerOutcome::Rejected { status: 301, error: "HTTP 301 redirect to https://new.example.com/".into() },
            ),
            (501, None, None, b"nope", TriggerOutcome::Rejected { status: 501, error: "HTTP 501: nope".into() }),
            (
                429,
                Some("1"),
                None,
                b"slow down",
                TriggerOutcome::Retryable {
                    status: Some(429),
                    error: "HTTP 429: slow down".into(),
                    retry_after: Some(Duration::from_secs(1)),
                },
            ),
            (
                503,
                Some("Sun, 06 Nov 1994 08:49:47 GMT"),
                None,
                b"",
                TriggerOutcome::Retryable {
                    status: Some(503),
                    error: "HTTP 503".into(),
                    retry_after: Some(Duration::from_secs(10)),
                },
            ),
            (
                500,
                Some("soon"),
                None,
                b"<html>\n  <body>oops</body>\n</html>",
                TriggerOutcome::Retryable {
                    status: Some(500),
                    error: "HTTP 500: <html> <body>oops</body> </html>".into(),
                    retry_after: None,
                },
            ),
        ];
        for (status, retry_after, location, body, expected) in cases {
            assert_eq!(classify(status, retry_after, location, body, now), expected, "{status}");
        }
        let long = "é".repeat(1000);
        let TriggerOutcome::Rejected { error, .. } = classify(422, None, None, long.as_bytes(), now) else {
            panic!("422 is rejected")
        };
        assert_eq!(error.chars().count(), "HTTP 422: ".len() + MAX_ERROR_BODY_CHARS);
    }
}
