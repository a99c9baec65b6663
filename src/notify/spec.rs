//! The `[notify]` config section: delivery settings and the routes (image patterns → a Slack
//! incoming webhook or a signed JSON webhook, with severity and fixability filters and an
//! optional digest). Pure. Webhook URLs and secrets are secrets: the config names the
//! environment variable or file that holds them, never the value.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::advisories::Severity;

pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_millis(1000);
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
pub const DEFAULT_RETRY_INITIAL: Duration = Duration::from_secs(5);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(1000);

/// `[notify]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// Least time between two messages to one webhook (Slack allows about one a second).
    pub min_interval_ms: Option<u64>,
    /// Attempts before a message is dead-lettered.
    pub max_attempts: Option<u32>,
    /// First retry delay, doubled per attempt; Retry-After wins when longer.
    pub retry_initial_secs: Option<u64>,
    pub timeout_secs: Option<u64>,
    /// How often `serve` looks for new events and due messages.
    pub poll_interval_ms: Option<u64>,
    /// cascade's public base URL, for links in messages (`https://cascade.example.com`).
    pub api_base_url: Option<String>,
    /// `[[notify.routes]]`.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A Slack incoming webhook: Block Kit blocks and a `text` fallback.
    Slack,
    /// Any HTTP endpoint: the notice as JSON, signed with HMAC-SHA256 when a secret is given.
    Webhook,
}

/// `[[notify.routes]]`: who hears about what.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub name: String,
    pub kind: TargetKind,
    /// The environment variable or file holding the webhook URL.
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    /// `webhook` only: the environment variable or file holding the HMAC secret.
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// Image reference patterns (`*` matches any run of characters); default: every image.
    pub images: Option<Vec<String>>,
    pub min_severity: Option<String>,
    /// Only findings with a fixed version.
    pub fixable_only: Option<bool>,
    /// Rebuild events (requested, confirmed, failed, timed out); default true.
    pub rebuilds: Option<bool>,
    /// Batch advisories below `digest_below` into one message per this many seconds.
    pub digest_secs: Option<u64>,
    /// Severity below which advisories go to the digest (default `high`).
    pub digest_below: Option<String>,
}

/// A route, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub name: String,
    pub kind: TargetKind,
    pub url: SecretSource,
    pub secret: Option<SecretSource>,
    pub images: Vec<String>,
    pub min_severity: Severity,
    pub fixable_only: bool,
    pub rebuilds: bool,
    pub digest: Option<Digest>,
}

/// Where a secret is read from, when it is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    pub every: Duration,
    /// Advisories less severe than this go to the digest.
    pub below: Severity,
}

/// The notification settings, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    pub min_interval: Duration,
    pub max_attempts: u32,
    pub retry_initial: Duration,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub api_base_url: Option<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyConfigError {
    #[error("[[notify.routes]] {route:?}: {problem}")]
    Route { route: String, problem: String },
    #[error("[notify] {0}")]
    Setting(String),
}

fn severity(word: &str) -> Option<Severity> {
    match Severity::parse(word) {
        Severity::Unknown if !word.eq_ignore_ascii_case("unknown") => None,
        s => Some(s),
    }
}

fn source(env: &Option<String>, file: &Option<PathBuf>, what: &str) -> Result<Option<SecretSource>, String> {
    match (env, file) {
        (Some(_), Some(_)) => Err(format!("give {what}_env or {what}_file, not both")),
        (Some(var), None) if var.is_empty() => Err(format!("{what}_env is empty")),
        (Some(var), None) => Ok(Some(SecretSource::Env(var.clone()))),
        (None, Some(path)) => Ok(Some(SecretSource::File(path.clone()))),
        (None, None) => Ok(None),
    }
}

impl NotifyConfig {
    pub fn resolve(section: NotifySection) -> Result<NotifyConfig, NotifyConfigError> {
        let mut routes: Vec<Route> = Vec::with_capacity(section.routes.len());
        for spec in section.routes {
            let problem = |problem: String| NotifyConfigError::Route { route: spec.name.clone(), problem };
            if spec.name.is_empty() || routes.iter().any(|r| r.name == spec.name) {
                return Err(problem("route names must be present and unique".into()));
            }
            let url = source(&spec.url_env, &spec.url_file, "url")
                .map_err(problem)?
                .ok_or_else(|| problem("give url_env or url_file: webhook URLs are secrets".into()))?;
            let secret = source(&spec.secret_env, &spec.secret_file, "secret").map_err(problem)?;
            if secret.is_some() && spec.kind == TargetKind::Slack {
                return Err(problem("Slack webhooks take no secret (the URL is the secret)".into()));
            }
            let word = |w: &Option<String>, field: &str, default: Severity| match w {
                None => Ok(default),
                Some(w) => severity(w).ok_or_else(|| problem(format!("{field} {w:?} is not a severity"))),
            };
            let min_severity = word(&spec.min_severity, "min_severity", Severity::Unknown)?;
            let digest = match spec.digest_secs {
                Some(0) => return Err(problem("digest_secs must be positive".into())),
                Some(secs) => Some(Digest {
                    every: Duration::from_secs(secs),
                    below: word(&spec.digest_below, "digest_below", Severity::High)?,
                }),
                None if spec.digest_below.is_some() => return Err(problem("digest_below needs digest_secs".into())),
                None => None,
            };
            let images = spec.images.clone().unwrap_or_else(|| vec!["*".to_string()]);
            if images.is_empty() || images.iter().any(String::is_empty) {
                return Err(problem("images patterns must not be empty".into()));
            }
            routes.push(Route {
                name: spec.name.clone(),
                kind: spec.kind,
                url,
                secret,
                images,
                min_severity,
                fixable_only: spec.fixable_only.unwrap_or(false),
                rebuilds: spec.rebuilds.unwrap_or(true),
                digest,
            });
        }
        if let Some(base) = &section.api_base_url {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(NotifyConfigError::Setting(format!("api_base_url {base:?} is not an http(s) URL")));
            }
        }
        let ms = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
        Ok(NotifyConfig {
            min_interval: ms(section.min_interval_ms, DEFAULT_MIN_INTERVAL),
            max_attempts: section.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            retry_initial: section.retry_initial_secs.map_or(DEFAULT_RETRY_INITIAL, Duration::from_secs),
            timeout: section.timeout_secs.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
            poll_interval: ms(section.poll_interval_ms, DEFAULT_POLL_INTERVAL).max(Duration::from_millis(50)),
            api_base_url: section.api_base_url.map(|b| b.trim_end_matches('/').to_string()),
            routes,
        })
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
pub fn matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

impl Route {
    pub fn wants_image(&self, reference: &str) -> bool {
        self.images.iter().any(|p| matches(p, reference))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for (pattern, text, expected) in [
            ("*", "anything", true),
            ("registry.example/base/*", "registry.example/base/debian:12", true),
            ("registry.example/base/*", "registry.example/apps/api:1", false),
            ("*/debian:*", "docker.io/library/debian:bookworm", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false),
            ("exact:1", "exact:1", true),
            ("exact:1", "exact:10", false),
        ] {
            assert_eq!(matches(pattern, text), expected, "{pattern} ~ {text}");
        }
    }

    fn resolve(text: &str) -> Result<NotifyConfig, NotifyConfigError> {
        NotifyConfig::resolve(toml::from_str(text).unwrap())
    }

    #[test]
    fn routes_resolve_with_defaults_and_mistakes_name_the_route() {
        let config = resolve(
            r#"
            api_base_url = "https://cascade.example.com/"
            [[routes]]
            name = "platform"
            kind = "slack"
            url_env = "SLACK_PLATFORM"
            images = ["registry.example/base/*"]
            min_severity = "medium"
            digest_secs = 86400
            [[routes]]
            name = "siem"
            kind = "webhook"
            url_file = "/run/secrets/siem-url"
            secret_env = "SIEM_SECRET"
            "#,
        )
        .unwrap();
        assert_eq!(config.api_base_url.as_deref(), Some("https://cascade.example.com"));
        let platform = &config.routes[0];
        assert_eq!(platform.url, SecretSource::Env("SLACK_PLATFORM".into()));
        assert_eq!(platform.min_severity, Severity::Medium);
        assert_eq!(platform.digest, Some(Digest { every: Duration::from_secs(86400), below: Severity::High }));
        assert!(platform.rebuilds && !platform.fixable_only);
        assert!(config.routes[1].wants_image("anything"));
        for (text, wanted) in [
            ("[[routes]]\nname = \"a\"\nkind = \"slack\"", "url_env or url_file"),
            ("[[routes]]\nname = \"a\"\nkind = \"slack\"\nurl_env = \"X\"\nsecret_env = \"Y\"", "no secret"),
            ("[[routes]]\nname = \"a\"\nkind = \"slack\"\nurl_env = \"X\"\nmin_severity = \"bad\"", "not a severity"),
            ("[[routes]]\nname = \"a\"\nkind = \"slack\"\nurl_env = \"X\"\ndigest_below = \"low\"", "needs digest_secs"),
            ("[[routes]]\nname = \"a\"\nkind = \"slack\"\nurl_env = \"X\"\n[[routes]]\nname = \"a\"\nkind = \"slack\"\nurl_env = \"X\"", "unique"),
            ("api_base_url = \"cascade.example\"", "http(s)"),
        ] {
            let err = resolve(text).unwrap_err().to_string();
            assert!(err.contains(wanted), "{text}: {err}");
        }
        assert!(toml::from_str::<NotifySection>(
            "[[routes]]\nname = \"a\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/x\""
        )
        .is_err());
    }
}
