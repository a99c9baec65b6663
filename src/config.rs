//! Configuration: built-in defaults, overridden by a TOML file (`--config`, default
//! `cascade.toml` when present), overridden by `CASCADE_*` environment variables and flags
//! (clap reads those). Secrets never live here: registry credentials come from
//! `~/.docker/config.json` or `CASCADE_REGISTRY_CREDENTIALS` (see `images::auth`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::correlate::MatchPolicy;
use crate::feeds::definition::{self, DefinitionError, FeedDef, FeedSpec};
use crate::images::manifest::Platform;
use crate::layers::LayerLimits;
use crate::notify::spec::{NotifyConfig, NotifyConfigError, NotifySection};
use crate::watch::spec::{WatchConfig, WatchConfigError, WatchSection};

pub const DEFAULT_CONFIG_FILE: &str = "cascade.toml";
pub const DEFAULT_PLATFORM: &str = "linux/amd64";
pub const DEFAULT_REGISTRY_TIMEOUT_SECS: u64 = 60;
/// Where `cascade serve` listens unless `[api] listen`, `CASCADE_LISTEN` or `--listen` say
/// otherwise. Loopback: with no API token configured only loopback addresses are allowed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The config file as written. Every field is optional; unknown fields are an error so that
/// a typo does not silently fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// SQLite database path.
    pub db: Option<PathBuf>,
    /// Default platform picked from multi-platform images, `os/arch[/variant]`.
    pub platform: Option<String>,
    #[serde(default)]
    pub registry: RegistrySection,
    #[serde(default)]
    pub limits: Option<LayerLimits>,
    /// `[feeds.NAME]` tables: override a default feed's fields, disable it, or add a feed.
    #[serde(default)]
    pub feeds: BTreeMap<String, FeedSpec>,
    /// `[matching]`: switches of the matching rules (see `correlate`).
    #[serde(default)]
    pub matching: MatchPolicy,
    #[serde(default)]
    pub api: ApiSection,
    /// `[watch]`: watched images, their triggers, package mirrors, the rebuild policy.
    #[serde(default)]
    pub watch: WatchSection,
    /// `[notify]`: notification routes (Slack, signed webhooks) and delivery settings.
    #[serde(default)]
    pub notify: NotifySection,
}

/// `[api]`: the HTTP API of `cascade serve`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// `host:port` to listen on.
    pub listen: Option<String>,
    /// Bearer tokens. The secrets themselves never live in this file: each entry names an
    /// environment variable or a file that holds its token.
    #[serde(default)]
    pub tokens: Vec<TokenSpec>,
}

/// One API token: `{ name = "ci", token_env = "CI_TOKEN", scope = "read" }` or with
/// `token_file = "/run/secrets/cascade-ci"` instead of `token_env`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Shown in logs instead of the token.
    pub name: String,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    pub scope: TokenScope,
}

/// What a token may do: `write` (POST /v1/mail) implies `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    Read,
    Write,
}

/// The API settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    pub listen: String,
    pub tokens: Vec<TokenSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySection {
    /// Registries (`host[:port]`) that may be reached over plain HTTP. Loopback always may.
    #[serde(default)]
    pub insecure: Vec<String>,
    pub timeout_secs: Option<u64>,
}

/// Values given on the command line or through `CASCADE_*` variables (clap merges the two).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
    pub platform: Option<String>,
    pub insecure_registries: Vec<String>,
    /// `cascade serve --listen` / `CASCADE_LISTEN`.
    pub listen: Option<String>,
}

/// The resolved configuration every stage reads.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: PathBuf,
    pub platform: Platform,
    pub insecure_registries: Vec<String>,
    pub registry_timeout: Duration,
    pub limits: LayerLimits,
    /// Every feed, defaults merged with the config's `[feeds.NAME]` tables, by name.
    pub feeds: Vec<FeedDef>,
    pub api: ApiConfig,
    pub matching: MatchPolicy,
    pub watch: WatchConfig,
    pub notify: NotifyConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is invalid: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("invalid platform: {0}")]
    Platform(String),
    #[error(transparent)]
    Feed(#[from] DefinitionError),
    #[error(transparent)]
    Watch(#[from] WatchConfigError),
    #[error(transparent)]
    Notify(#[from] NotifyConfigError),
}

/// `$XDG_DATA_HOME/cascade/cascade.db`, else `~/.local/share/cascade/cascade.db`, else
/// `cascade.db` in the working directory.
pub fn default_db_path() -> PathBuf {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match data_home {
        Some(dir) => dir.join("cascade").join("cascade.db"),
        None => PathBuf::from("cascade.db"),
    }
}

impl Config {
    /// Reads the config file (the named one must exist; the default one may be absent) and
    /// applies the overrides on top.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let file = match &overrides.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => read_file(Path::new(DEFAULT_CONFIG_FILE))?,
            None => FileConfig::default(),
        };
        Config::resolve(file, overrides)
    }

    /// Pure merge of file values and overrides over the defaults.
    pub fn resolve(file: FileConfig, overrides: &Overrides) -> Result<Config, ConfigError> {
        let platform_text =
            overrides.platform.clone().or(file.platform).unwrap_or_else(|| DEFAULT_PLATFORM.to_string());
        let platform = Platform::parse(&platform_text).map_err(ConfigError::Platform)?;
        let mut insecure_registries = file.registry.insecure;
        insecure_registries.extend(overrides.insecure_registries.iter().cloned());
        let watch = WatchConfig::resolve(file.watch, &platform)?;
        let notify = NotifyConfig::resolve(file.notify)?;
        Ok(Config {
            watch,
            notify,
            db: overrides.db.clone().or(file.db).unwrap_or_else(default_db_path),
            platform,
            insecure_registries,
            registry_timeout: Duration::from_secs(file.registry.timeout_secs.unwrap_or(DEFAULT_REGISTRY_TIMEOUT_SECS)),
            limits: file.limits.unwrap_or_default(),
            feeds: definition::feeds(&file.feeds)?,
            matching: file.matching,
            api: ApiConfig {
                listen: overrides.listen.clone().or(file.api.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
                tokens: file.api.tokens,
            },
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_beat_file_beat_defaults() {
        let file: FileConfig = toml::from_str(
            r#"
            db = "/var/lib/cascade/db.sqlite"
            platform = "linux/arm64"
            [registry]
            insecure = ["registry.internal:5000"]
            timeout_secs = 5
            [limits]
            max_entries = 10
            "#,
        )
        .unwrap();
        let overrides = Overrides { platform: Some("linux/s390x".into()), ..Default::default() };
        let config = Config::resolve(file, &overrides).unwrap();
        assert_eq!(config.db, PathBuf::from("/var/lib/cascade/db.sqlite"));
        assert_eq!(config.platform.to_string(), "linux/s390x");
        assert_eq!(config.insecure_registries, vec!["registry.internal:5000".to_string()]);
        assert_eq!(config.registry_timeout, Duration::from_secs(5));
        assert_eq!(config.limits.max_entries, 10);
        assert_eq!(config.limits.max_file_bytes, LayerLimits::default().max_file_bytes);

        let defaults = Config::resolve(FileConfig::default(), &Overrides::default()).unwrap();
        assert_eq!(defaults.platform.to_string(), DEFAULT_PLATFORM);
    }

    #[test]
    fn api_section_and_listen_override() {
        let file: FileConfig = toml::from_str(
            r#"
            [api]
            listen = "0.0.0.0:9000"
            tokens = [
                { name = "ci", token_env = "CI_TOKEN", scope = "read" },
                { name = "mailer", token_file = "/run/secrets/mailer", scope = "write" },
            ]
            "#,
        )
        .unwrap();
        let config = Config::resolve(file, &Overrides::default()).unwrap();
        assert_eq!(config.api.listen, "0.0.0.0:9000");
        assert_eq!(config.api.tokens.len(), 2);
        assert_eq!(config.api.tokens[0].token_env.as_deref(), Some("CI_TOKEN"));
        assert_eq!(config.api.tokens[1].scope, TokenScope::Write);
        let overrides = Overrides { listen: Some("127.0.0.1:0".into()), ..Default::default() };
        let config = Config::resolve(FileConfig::default(), &overrides).unwrap();
        assert_eq!(config.api.listen, "127.0.0.1:0");
        assert_eq!(Config::resolve(FileConfig::default(), &Overrides::default()).unwrap().api.listen, DEFAULT_LISTEN);
        assert!(toml::from_str::<FileConfig>(
            "[api]\ntokens = [{ name = \"x\", token = \"secret\", scope = \"read\" }]"
        )
        .is_err());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<FileConfig>("plattform = \"linux/amd64\"").unwrap_err();
        assert!(err.to_string().contains("plattform"), "{err}");
    }
}
