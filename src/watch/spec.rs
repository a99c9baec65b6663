//! The `[watch]` config section: which images are watched, how often, their parents and
//! rebuild triggers, the package mirrors that say whether a fix is installable, and the
//! rebuild policy. Pure: parsing and validation only; secrets are named here, never held.

use std::time::Duration;

use serde::Deserialize;

use crate::actions::pkgindex::MirrorSpec;
use crate::actions::trigger::TriggerSpec;
use crate::advisories::Severity;
use crate::graph::canonical;
use crate::images::manifest::Platform;
use crate::images::reference::ImageRef;

pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(300);
/// Vendors push the architectures of a multi-platform image one by one: a parent's new digest
/// is acted on only after it has stayed the same this long.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(600);
/// A requested rebuild must show up as a new digest of the image within this time.
pub const DEFAULT_REBUILD_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
pub const DEFAULT_TRIGGER_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at delivering one rebuild request before it is marked failed.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// First retry delay of a failed trigger; doubles per attempt (Retry-After wins when longer).
pub const DEFAULT_RETRY_INITIAL: Duration = Duration::from_secs(30);
pub const DEFAULT_REGISTRY_CONCURRENCY: usize = 4;
pub const DEFAULT_REGISTRY_REQUESTS_PER_SEC: f64 = 20.0;
pub const DEFAULT_MAX_CONCURRENT_REBUILDS: usize = 4;

/// `[watch]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSection {
    pub interval_secs: Option<u64>,
    pub settle_secs: Option<u64>,
    pub rebuild_timeout_secs: Option<u64>,
    pub trigger_timeout_secs: Option<u64>,
    pub max_attempts: Option<u32>,
    pub retry_initial_secs: Option<u64>,
    /// Requests in flight per registry host.
    pub registry_concurrency: Option<usize>,
    /// Request starts per second per registry host.
    pub registry_requests_per_sec: Option<f64>,
    #[serde(default)]
    pub policy: PolicySpec,
    /// `[[watch.images]]`.
    #[serde(default)]
    pub images: Vec<WatchedImageSpec>,
    /// `[[watch.mirrors]]`: package indexes per distro release.
    #[serde(default)]
    pub mirrors: Vec<MirrorSpec>,
}

/// `[[watch.images]]`: one watched tag. Images without a trigger (vendor parents) are only
/// watched; images with one are intermediates cascade rebuilds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchedImageSpec {
    pub image: String,
    /// The image it is built on, when the image does not say so itself.
    pub parent: Option<String>,
    /// Platforms of the image that matter (default: the global `platform`).
    pub platforms: Option<Vec<String>>,
    pub trigger: Option<TriggerSpec>,
}

/// `[watch.policy]`: when an advisory makes cascade rebuild an intermediate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Least severity of an advisory that triggers a rebuild (default: any).
    pub min_severity: Option<String>,
    /// true (default): only fixes the mirrors show as installable trigger; false: any fixed
    /// version an advisory names does (for distributions without a configured mirror).
    pub fixable_only: Option<bool>,
    /// Wait this long after a cause is first seen before acting on it.
    pub grace_secs: Option<u64>,
    pub max_concurrent_rebuilds: Option<usize>,
    /// `HH:MM-HH:MM` in UTC during which no rebuild is requested (off by default).
    pub quiet_hours: Option<String>,
}

/// A watched image, resolved.
#[derive(Debug, Clone)]
pub struct WatchedImage {
    /// Canonical reference.
    pub reference: String,
    pub image: ImageRef,
    pub parent: Option<String>,
    pub platforms: Vec<Platform>,
    pub trigger: Option<TriggerSpec>,
}

/// Quiet hours as minutes of the UTC day, `[start, end)`; may wrap midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start_minute: u32,
    pub end_minute: u32,
}

impl QuietHours {
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let minute = |hm: &str| -> Result<u32, String> {
            let (h, m) = hm.trim().split_once(':').ok_or_else(|| format!("{hm:?} is not HH:MM"))?;
            let (h, m): (u32, u32) = (
                h.parse().map_err(|_| format!("{hm:?} is not HH:MM"))?,
                m.parse().map_err(|_| format!("{hm:?} is not HH:MM"))?,
            );
            if h > 23 || m > 59 {
                return Err(format!("{hm:?} is not a time of day"));
            }
            Ok(h * 60 + m)
        };
        let (start, end) = text.split_once('-').ok_or_else(|| format!("quiet hours {text:?} are not HH:MM-HH:MM"))?;
        Ok(QuietHours { start_minute: minute(start)?, end_minute: minute(end)? })
    }

    /// Whether `unix` seconds fall inside the quiet hours.
    pub fn contains(&self, unix: i64) -> bool {
        let minute = (unix.rem_euclid(86_400) / 60) as u32;
        if self.start_minute <= self.end_minute {
            (self.start_minute..self.end_minute).contains(&minute)
        } else {
            minute >= self.start_minute || minute < self.end_minute
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RebuildPolicy {
    pub min_severity: Severity,
    pub fixable_only: bool,
    pub grace: Duration,
    pub max_concurrent_rebuilds: usize,
    pub quiet_hours: Option<QuietHours>,
}

/// The watch settings, resolved.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub interval: Duration,
    pub settle: Duration,
    pub rebuild_timeout: Duration,
    pub trigger_timeout: Duration,
    pub max_attempts: u32,
    pub retry_initial: Duration,
    pub registry_concurrency: usize,
    pub registry_requests_per_sec: f64,
    pub policy: RebuildPolicy,
    pub images: Vec<WatchedImage>,
    pub mirrors: Vec<MirrorSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchConfigError {
    #[error("[[watch.images]] {image:?}: {problem}")]
    Image { image: String, problem: String },
    #[error("[watch] {0}")]
    Setting(String),
}

impl WatchConfig {
    /// Resolves the section against the global default platform.
    pub fn resolve(section: WatchSection, default_platform: &Platform) -> Result<WatchConfig, WatchConfigError> {
        let mut images: Vec<WatchedImage> = Vec::with_capacity(section.images.len());
        for spec in section.images {
            let problem = |problem: String| WatchConfigError::Image { image: spec.image.clone(), problem };
            let image: ImageRef =
                spec.image.parse().map_err(|e: crate::images::reference::ReferenceError| problem(e.problem))?;
            if image.digest.is_some() {
                return Err(problem("a watched image is a tag; a digest never changes".into()));
            }
            let reference = canonical(&spec.image);
            if images.iter().any(|i| i.reference == reference) {
                return Err(problem("listed twice".into()));
            }
            let platforms = match &spec.platforms {
                Some(list) if list.is_empty() => return Err(problem("platforms is empty".into())),
                Some(list) => {
                    list.iter().map(|p| Platform::parse(p)).collect::<Result<Vec<_>, _>>().map_err(problem)?
                }
                None => vec![default_platform.clone()],
            };
            if let Some(trigger) = &spec.trigger {
                trigger.validate().map_err(|e| problem(e.to_string()))?;
            }
            if let Some(parent) = &spec.parent {
                parent.parse::<ImageRef>().map_err(|e| problem(format!("parent: {}", e.problem)))?;
            }
            images.push(WatchedImage {
                reference,
                image,
                parent: spec.parent.as_deref().map(canonical),
                platforms,
                trigger: spec.trigger,
            });
        }
        let policy = section.policy;
        let min_severity = match policy.min_severity.as_deref() {
            None => Severity::Unknown,
            Some(word) => match Severity::parse(word) {
                Severity::Unknown if !word.eq_ignore_ascii_case("unknown") => {
                    return Err(WatchConfigError::Setting(format!("policy.min_severity {word:?} is not a severity")))
                }
                s => s,
            },
        };
        let quiet_hours = policy
            .quiet_hours
            .as_deref()
            .map(QuietHours::parse)
            .transpose()
            .map_err(|e| WatchConfigError::Setting(format!("policy.{e}")))?;
        let rate = section.registry_requests_per_sec.unwrap_or(DEFAULT_REGISTRY_REQUESTS_PER_SEC);
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(WatchConfigError::Setting(format!("registry_requests_per_sec must be positive, not {rate}")));
        }
        crate::actions::pkgindex::Mirrors::new(section.mirrors.clone())
            .map_err(|e| WatchConfigError::Setting(format!("mirrors: {e}")))?;
        let secs = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_secs);
        Ok(WatchConfig {
            interval: secs(section.interval_secs, DEFAULT_POLL_INTERVAL),
            settle: secs(section.settle_secs, DEFAULT_SETTLE),
            rebuild_timeout: secs(section.rebuild_timeout_secs, DEFAULT_REBUILD_TIMEOUT),
            trigger_timeout: secs(section.trigger_timeout_secs, DEFAULT_TRIGGER_TIMEOUT),
            max_attempts: section.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            retry_initial: secs(section.retry_initial_secs, DEFAULT_RETRY_INITIAL),
            registry_concurrency: section.registry_concurrency.unwrap_or(DEFAULT_REGISTRY_CONCURRENCY).max(1),
            registry_requests_per_sec: rate,
            policy: RebuildPolicy {
                min_severity,
                fixable_only: policy.fixable_only.unwrap_or(true),
                grace: secs(policy.grace_secs, Duration::ZERO),
                max_concurrent_rebuilds: policy
                    .max_concurrent_rebuilds
                    .unwrap_or(DEFAULT_MAX_CONCURRENT_REBUILDS)
                    .max(1),
                quiet_hours,
            },
            images,
            mirrors: section.mirrors,
        })
    }

    /// The watched image with this canonical reference.
    pub fn image(&self, reference: &str) -> Option<&WatchedImage> {
        self.images.iter().find(|i| i.reference == reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<WatchConfig, WatchConfigError> {
        let section: WatchSection = toml::from_str(text).unwrap();
        WatchConfig::resolve(section, &Platform::parse("linux/amd64").unwrap())
    }

    #[test]
    fn defaults_and_a_full_section() {
        let config = resolve("").unwrap();
        assert_eq!(config.interval, DEFAULT_POLL_INTERVAL);
        assert!(config.policy.fixable_only);
        assert_eq!(config.policy.quiet_hours, None);
        let config = resolve(
            r#"
            interval_secs = 60
            settle_secs = 0
            [policy]
            min_severity = "high"
            grace_secs = 3600
            quiet_hours = "22:00-06:30"
            [[images]]
            image = "debian:bookworm"
            [[images]]
            image = "registry.example/base/debian:12"
            parent = "debian:bookworm"
            platforms = ["linux/amd64", "linux/arm64/v8"]
            trigger = { kind = "github-workflow", repository = "acme/base", workflow = "build.yml", token_env = "GH_TOKEN" }
            "#,
        )
        .unwrap();
        assert_eq!(config.settle, Duration::ZERO);
        assert_eq!(config.policy.min_severity, Severity::High);
        assert_eq!(config.images[0].reference, "docker.io/library/debian:bookworm");
        let base = config.image("registry.example/base/debian:12").unwrap();
        assert_eq!(base.parent.as_deref(), Some("docker.io/library/debian:bookworm"));
        assert_eq!(base.platforms.len(), 2);
        assert!(base.trigger.is_some());
    }

    #[test]
    fn mistakes_name_the_image_and_the_problem() {
        for (text, wanted) in [
            ("[[images]]\nimage = \"debian@sha256:0000000000000000000000000000000000000000000000000000000000000000\"", "digest never changes"),
            ("[[images]]\nimage = \"a:1\"\n[[images]]\nimage = \"docker.io/library/a:1\"", "listed twice"),
            ("[[images]]\nimage = \"a:1\"\nplatforms = []", "platforms is empty"),
            ("[[images]]\nimage = \"a:1\"\nparent = \"UPPER/x\"", "parent"),
            ("[policy]\nmin_severity = \"severe\"", "not a severity"),
            ("[policy]\nquiet_hours = \"22-6\"", "HH:MM"),
            ("registry_requests_per_sec = 0.0", "positive"),
        ] {
            let err = resolve(text).unwrap_err().to_string();
            assert!(err.contains(wanted), "{text}: {err}");
        }
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q = QuietHours::parse("22:00-06:00").unwrap();
        let at = |h: i64, m: i64| 1_700_000_000 / 86_400 * 86_400 + h * 3600 + m * 60;
        assert!(q.contains(at(23, 0)));
        assert!(q.contains(at(5, 59)));
        assert!(!q.contains(at(6, 0)));
        assert!(!q.contains(at(12, 0)));
        let day = QuietHours::parse("09:00-17:00").unwrap();
        assert!(day.contains(at(9, 0)) && !day.contains(at(17, 0)));
    }
}
