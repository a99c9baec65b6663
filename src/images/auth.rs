//! Registry credentials (Docker's `config.json` and `CASCADE_REGISTRY_CREDENTIALS`) and
//! `WWW-Authenticate` challenge parsing. Reads only the credentials file; no network. Secrets
//! never reach a log line or a `Debug`/`Display` string: only host names and usernames do.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

/// Environment variable with `host=user:password` entries (whitespace- or comma-separated).
/// Entries here win over the Docker config file.
pub const CREDENTIALS_ENV: &str = "CASCADE_REGISTRY_CREDENTIALS";

/// Docker config directory override, as the Docker CLI reads it.
pub const DOCKER_CONFIG_ENV: &str = "DOCKER_CONFIG";

/// Largest credentials file we read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Host names that all mean Docker Hub in a credentials key.
const DOCKER_HUB_ALIASES: &[&str] =
    &["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"];

/// One registry's secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Sent as HTTP Basic to the registry or to its token endpoint.
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken` in Docker's config), exchanged at the token
    /// endpoint; never sent to the registry itself.
    IdentityToken(String),
}

impl Credential {
    /// The `Authorization` header value for Basic credentials; None for an identity token.
    pub fn basic_authorization(&self) -> Option<String> {
        match self {
            Credential::Basic { username, password } => Some(basic_authorization(username, password)),
            Credential::IdentityToken(_) => None,
        }
    }
}

/// `Basic base64(username:password)`.
pub fn basic_authorization(username: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).field("password", &"<redacted>").finish()
            }
            Credential::IdentityToken(_) => f.debug_tuple("IdentityToken").field(&"<redacted>").finish(),
        }
    }
}

/// Credentials by registry host (`host[:port]`, lowercase; `docker.io` for Docker Hub).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    by_host: BTreeMap<String, Credential>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.by_host.iter()).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read docker config {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("docker config {} is larger than {MAX_CONFIG_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf },
    /// Only the position of the fault is kept: serde's message quotes the offending value,
    /// which in a docker config can be a credential.
    #[error("docker config {} is not valid: {problem} at line {line}, column {column}", path.display())]
    Json { path: PathBuf, problem: &'static str, line: usize, column: usize },
    #[error("docker config {}: entry {host:?}: {problem}", path.display())]
    Entry { path: PathBuf, host: String, problem: &'static str },
    #[error("{CREDENTIALS_ENV}: entry {index} ({host}): {problem}")]
    Env { index: usize, host: String, problem: &'static str },
    #[error("{CREDENTIALS_ENV} is not valid unicode")]
    EnvNotUnicode,
}

impl Credentials {
    pub fn new() -> Credentials {
        Credentials::default()
    }

    /// Docker's config file, then `CASCADE_REGISTRY_CREDENTIALS` on top (the environment wins).
    /// A missing config file is fine; an unreadable or malformed one is an error.
    pub fn load() -> Result<Credentials, AuthError> {
        let path = docker_config_path(std::env::var_os(DOCKER_CONFIG_ENV), std::env::var_os("HOME"));
        let env = match std::env::var_os(CREDENTIALS_ENV) {
            Some(v) => Some(v.into_string().map_err(|_| AuthError::EnvNotUnicode)?),
            None => None,
        };
        Credentials::load_from(path.as_deref(), env.as_deref())
    }

    /// [`Credentials::load`] with its inputs given: the config file path (if any) and the
    /// value of `CASCADE_REGISTRY_CREDENTIALS` (if set).
    pub fn load_from(config_file: Option<&Path>, env_value: Option<&str>) -> Result<Credentials, AuthError> {
        let mut credentials = match config_file {
            Some(path) => Credentials::from_docker_config_file(path)?,
            None => Credentials::new(),
        };
        if let Some(value) = env_value {
            credentials.extend(Credentials::parse_env(value)?);
        }
        Ok(credentials)
    }

    /// Reads a Docker `config.json`; a missing file yields no credentials.
    pub fn from_docker_config_file(path: &Path) -> Result<Credentials, AuthError> {
        use std::io::Read as _;
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::debug!(path = %path.display(), "no docker config file");
                return Ok(Credentials::new());
            }
            Err(source) => return Err(AuthError::Read { path: path.to_path_buf(), source }),
        };
        let mut bytes = Vec::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| AuthError::Read { path: path.to_path_buf(), source })?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(AuthError::TooLarge { path: path.to_path_buf() });
        }
        Credentials::parse_docker_config(path, &bytes)
    }

    /// Parses Docker config JSON. `path` only names the file in errors and warnings.
    /// `credsStore`/`credHelpers` are not supported: each affected host gets a warning.
    pub fn parse_docker_config(path: &Path, bytes: &[u8]) -> Result<Credentials, AuthError> {
        #[derive(Deserialize)]
        struct DockerConfig {
            #[serde(default)]
            auths: BTreeMap<String, AuthEntry>,
            #[serde(default, rename = "credsStore")]
            creds_store: Option<String>,
            #[serde(default, rename = "credHelpers")]
            cred_helpers: BTreeMap<String, String>,
        }
        #[derive(Deserialize)]
        struct AuthEntry {
            #[serde(default)]
            auth: Option<String>,
            #[serde(default)]
            username: Option<String>,
            #[serde(default)]
            password: Option<String>,
            #[serde(default, alias = "identityToken")]
            identitytoken: Option<String>,
        }

        let config: DockerConfig = serde_json::from_slice(bytes).map_err(|e| AuthError::Json {
            path: path.to_path_buf(),
            problem: match e.classify() {
                serde_json::error::Category::Data => "a value of the wrong type",
                serde_json::error::Category::Eof => "unexpected end of the document",
                serde_json::error::Category::Syntax | serde_json::error::Category::Io => "invalid JSON",
            },
            line: e.line(),
            column: e.column(),
        })?;
        let entry_error = |host: &str, problem: &'static str| AuthError::Entry {
            path: path.to_path_buf(),
            host: host.to_string(),
            problem,
        };
        let non_empty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_string);

        let mut credentials = Credentials::new();
        for (key, entry) in &config.auths {
            let host = normalize_host(key);
            if host.is_empty() {
                return Err(entry_error(key, "the key names no host"));
            }
            let credential = if let Some(token) = non_empty(&entry.identitytoken) {
                Some(Credential::IdentityToken(token))
            } else if let Some(auth) = non_empty(&entry.auth) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(auth.trim()))
                    .map_err(|_| entry_error(key, "\"auth\" is not valid base64"))?;
                let decoded = String::from_utf8(decoded).map_err(|_| entry_error(key, "\"auth\" is not UTF-8"))?;
                let (username, password) =
                    decoded.split_once(':').ok_or_else(|| entry_error(key, "\"auth\" is not username:password"))?;
                Some(Credential::Basic { username: username.to_string(), password: password.to_string() })
            } else {
                match (non_empty(&entry.username), non_empty(&entry.password)) {
                    (Some(username), Some(password)) => Some(Credential::Basic { username, password }),
                    (Some(_), None) | (None, Some(_)) => {
                        return Err(entry_error(key, "has only one of \"username\" and \"password\""))
                    }
                    (None, None) => None,
                }
            };
            match credential {
                Some(c) => credentials.insert(&host, c),
                None => match &config.creds_store {
                    Some(store) => tracing::warn!(
                        registry.host = %host,
                        path = %path.display(),
                        "credential store docker-credential-{store} is not supported; pulling from {host} anonymously"
                    ),
                    None => tracing::debug!(registry.host = %host, "docker config entry holds no credentials"),
                },
            }
        }
        if let Some(store) = &config.creds_store {
            if config.auths.is_empty() {
                tracing::warn!(
                    path = %path.display(),
                    "credential store docker-credential-{store} is not supported; its registries are pulled anonymously"
                );
            }
        }
        for (key, helper) in &config.cred_helpers {
            let host = normalize_host(key);
            tracing::warn!(
                registry.host = %host,
                path = %path.display(),
                "credential helper docker-credential-{helper} is not supported; set {CREDENTIALS_ENV} for {host}"
            );
        }
        Ok(credentials)
    }

    /// Parses `host=user:password` entries separated by whitespace or commas. Errors name
    /// the entry's position and host, never its secret.
    pub fn parse_env(value: &str) -> Result<Credentials, AuthError> {
        let mut credentials = Credentials::new();
        let entries = value.split(|c: char| c == ',' || c.is_whitespace()).filter(|e| !e.is_empty());
        for (i, entry) in entries.enumerate() {
            let index = i + 1;
            let env_error = |host: &str, problem| AuthError::Env { index, host: host.to_string(), problem };
            let (key, secret) = entry.split_once('=').ok_or_else(|| env_error("?", "is not host=user:password"))?;
            let host = normalize_host(key);
            if host.is_empty() {
                return Err(env_error("?", "names no host"));
            }
            let (username, password) =
                secret.split_once(':').ok_or_else(|| env_error(&host, "is not host=user:password"))?;
            if username.is_empty() {
                return Err(env_error(&host, "has an empty user"));
            }
            if password.is_empty() {
                return Err(env_error(&host, "has an empty password"));
            }
            credentials
                .insert(&host, Credential::Basic { username: username.to_string(), password: password.to_string() });
        }
        Ok(credentials)
    }

    /// Adds or replaces the credential for `host` (any spelling [`normalize_host`] accepts).
    pub fn insert(&mut self, host: &str, credential: Credential) {
        self.by_host.insert(normalize_host(host), credential);
    }

    /// The credential for a registry host (`host[:port]`; Docker Hub aliases all match).
    pub fn get(&self, host: &str) -> Option<&Credential> {
        self.by_host.get(&normalize_host(host))
    }

    /// Takes every entry of `other`, replacing ours for the same host.
    pub fn extend(&mut self, other: Credentials) {
        self.by_host.extend(other.by_host);
    }

    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.by_host.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_host.len()
    }
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub fn docker_config_path(docker_config: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    match (docker_config.filter(|d| !d.is_empty()), home.filter(|h| !h.is_empty())) {
        (Some(dir), _) => Some(PathBuf::from(dir).join("config.json")),
        (None, Some(home)) => Some(PathBuf::from(home).join(".docker").join("config.json")),
        (None, None) => None,
    }
}

/// A credentials key as `host[:port]`, lowercase: drops a scheme and any path, and maps the
/// Docker Hub spellings (`https://index.docker.io/v1/`, `registry-1.docker.io`, ...) to
/// `docker.io`.
pub fn normalize_host(key: &str) -> String {
    let key = key.trim();
    let without_scheme = match key.find("://") {
        Some(i) => &key[i + 3..],
        None => key,
    };
    let host = without_scheme.split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&host.as_str()) {
        super::reference::DOCKER_HUB.to_string()
    } else {
        host
    }
}

/// One challenge from a `WWW-Authenticate` header (RFC 7235): a scheme and either
/// `name=value` parameters or a token68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercase (`bearer`, `basic`, ...).
    pub scheme: String,
    /// Parameter names lowercase, values unquoted and unescaped, in header order.
    pub params: Vec<(String, String)>,
    pub token68: Option<String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    pub fn service(&self) -> Option<&str> {
        self.param("service")
    }

    pub fn scope(&self) -> Option<&str> {
        self.param("scope")
    }

    pub fn is_bearer(&self) -> bool {
        self.scheme == "bearer"
    }

    pub fn is_basic(&self) -> bool {
        self.scheme == "basic"
    }
}

/// Parses every challenge in one `WWW-Authenticate` header value, e.g.
/// `Bearer realm="https://r/token",service="r",scope="repository:a:pull", Basic realm="r"`.
/// Lenient: parsing stops at the first malformed part and returns what came before it.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut p = ChallengeParser { s: header.as_bytes(), i: 0 };
    let mut out = Vec::new();
    loop {
        p.skip(|b| b == b',' || is_ws(b));
        if p.eof() {
            break;
        }
        let Some(scheme) = p.token() else { break };
        let mut challenge = Challenge { scheme: scheme.to_ascii_lowercase(), params: Vec::new(), token68: None };
        p.skip(is_ws);
        let mut malformed = false;
        if p.at_param() {
            loop {
                match p.param() {
                    Some(param) => challenge.params.push(param),
                    None => {
                        malformed = true;
                        break;
                    }
                }
                let before = p.i;
                p.skip(is_ws);
                if p.peek() != Some(b',') {
                    if !p.eof() {
                        malformed = true;
                    }
                    break;
                }
                p.skip(|b| b == b',' || is_ws(b));
                if !p.at_param() {
                    // The next item is another challenge's scheme.
                    p.i = before;
                    break;
                }
            }
        } else if let Some(token68) = p.token68() {
            challenge.token68 = Some(token68);
        }
        out.push(challenge);
        if malformed {
            break;
        }
    }
    out
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

struct ChallengeParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl ChallengeParser<'_> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(is_tchar);
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// True when the input at the cursor is `token BWS "=" BWS value` (not a token68's `=`
    /// padding, which is followed by the end, a comma or more `=`).
    fn at_param(&self) -> bool {
        let mut i = self.i;
        let start = i;
        while i < self.s.len() && is_tchar(self.s[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        while i < self.s.len() && is_ws(self.s[i]) {
            i += 1;
        }
        if self.s.get(i) != Some(&b'=') {
            return false;
        }
        i += 1;
        while i < self.s.len() && is_ws(self.s[i]) {
            i += 1;
        }
        matches!(self.s.get(i), Some(&b) if b != b',' && b != b'=')
    }

    fn param(&mut self) -> Option<(String, String)> {
        let name = self.token()?.to_ascii_lowercase();
        self.skip(is_ws);
        if self.peek() != Some(b'=') {
            return None;
        }
        self.i += 1;
        self.skip(is_ws);
        let value = if self.peek() == Some(b'"') { self.quoted()? } else { self.token()? };
        Some((name, value))
    }

    /// A quoted-string; `\` escapes the next character. None when unterminated.
    fn quoted(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let escaped = self.peek()?;
                    self.i += 1;
                    out.push(escaped);
                }
                _ => out.push(b),
            }
        }
        None
    }

    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if self.i == start {
            return None;
        }
        self.skip(|b| b == b'=');
        Some(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> Credential {
        Credential::Basic { username: u.into(), password: p.into() }
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn normalizes_hosts() {
        let cases = [
            ("https://index.docker.io/v1/", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("docker.io", "docker.io"),
            ("ghcr.io", "ghcr.io"),
            ("https://GHCR.io", "ghcr.io"),
            ("http://localhost:5000/v2/", "localhost:5000"),
            ("registry.example.com:443/some/path", "registry.example.com:443"),
            ("  quay.io  ", "quay.io"),
            ("[::1]:5000", "[::1]:5000"),
        ];
        for (key, host) in cases {
            assert_eq!(normalize_host(key), host, "{key}");
        }
    }

    #[test]
    fn parses_docker_config() {
        let json = format!(
            r#"{{
              "auths": {{
                "https://index.docker.io/v1/": {{ "auth": "{hub}" }},
                "ghcr.io": {{ "username": "octo", "password": "ghp_secret" }},
                "https://registry.example.com/v2/": {{ "auth": "{colon}" }},
                "id.example.com": {{ "auth": "{placeholder}", "identitytoken": "refresh-me" }},
                "empty.example.com": {{}}
              }},
              "credHelpers": {{ "123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login" }},
              "HttpHeaders": {{ "User-Agent": "x" }}
            }}"#,
            hub = b64("hubuser:hub:pass"),
            colon = b64("robot$ci:tok"),
            placeholder = b64("<token>:"),
        );
        let c = Credentials::parse_docker_config(Path::new("/x/config.json"), json.as_bytes()).unwrap();
        assert_eq!(c.get("docker.io"), Some(&basic("hubuser", "hub:pass")));
        assert_eq!(c.get("index.docker.io"), Some(&basic("hubuser", "hub:pass")));
        assert_eq!(c.get("ghcr.io"), Some(&basic("octo", "ghp_secret")));
        assert_eq!(c.get("registry.example.com"), Some(&basic("robot$ci", "tok")));
        assert_eq!(c.get("id.example.com"), Some(&Credential::IdentityToken("refresh-me".into())));
        assert_eq!(c.get("empty.example.com"), None);
        assert_eq!(c.get("123.dkr.ecr.us-east-1.amazonaws.com"), None);
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn creds_store_only_config_is_not_an_error() {
        let json = r#"{"auths":{"https://index.docker.io/v1/":{}},"credsStore":"desktop"}"#;
        let c = Credentials::parse_docker_config(Path::new("c.json"), json.as_bytes()).unwrap();
        assert!(c.is_empty());
        let c = Credentials::parse_docker_config(Path::new("c.json"), br#"{"credsStore":"osxkeychain"}"#).unwrap();
        assert!(c.is_empty());
        let c = Credentials::parse_docker_config(Path::new("c.json"), b"{}").unwrap();
        assert!(c.is_empty());
    }

    #[test]
    fn malformed_docker_config_errors_name_the_file_not_the_secret() {
        let cases: &[(&[u8], &str)] = &[
            (b"{not json", "docker config /etc/c.json is not valid: invalid JSON at line 1, column 2"),
            (br#"{"auths": []}"#, "docker config /etc/c.json is not valid: a value of the wrong type at line 1"),
            (br#"{"auths":{"h.io":"c2VjcmV0OnNlY3JldA=="}}"#, "a value of the wrong type"),
            (br#"{"auths":{"h.io":{"auth":"%%%secret%%%"}}}"#, "entry \"h.io\": \"auth\" is not valid base64"),
            (br#"{"auths":{"h.io":{"username":"u"}}}"#, "has only one of"),
        ];
        for (json, wanted) in cases {
            let err = Credentials::parse_docker_config(Path::new("/etc/c.json"), json).unwrap_err().to_string();
            assert!(err.contains(wanted), "{err:?} lacks {wanted:?}");
            assert!(!err.contains("secret") && !err.contains("c2Vj"), "{err:?} leaks the secret");
        }
        let no_colon = format!(r#"{{"auths":{{"h.io":{{"auth":"{}"}}}}}}"#, b64("secretonly"));
        let err = Credentials::parse_docker_config(Path::new("/etc/c.json"), no_colon.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "docker config /etc/c.json: entry \"h.io\": \"auth\" is not username:password");
    }

    #[test]
    fn parses_env_entries() {
        let c = Credentials::parse_env(
            " ghcr.io=octo:p=ss:w0rd ,\n localhost:5000=u:p,,https://index.docker.io/v1/=hub:h ",
        )
        .unwrap();
        assert_eq!(c.get("ghcr.io"), Some(&basic("octo", "p=ss:w0rd")));
        assert_eq!(c.get("localhost:5000"), Some(&basic("u", "p")));
        assert_eq!(c.get("docker.io"), Some(&basic("hub", "h")));
        assert!(Credentials::parse_env("").unwrap().is_empty());

        let cases = [
            ("nohost", "entry 1 (?): is not host=user:password"),
            ("a.io=u:p b.io=secretnocolon", "entry 2 (b.io): is not host=user:password"),
            ("a.io=:secret", "entry 1 (a.io): has an empty user"),
            ("a.io=u:", "entry 1 (a.io): has an empty password"),
            ("=u:secret", "entry 1 (?): names no host"),
        ];
        for (value, wanted) in cases {
            let err = Credentials::parse_env(value).unwrap_err().to_string();
            assert_eq!(err, format!("{CREDENTIALS_ENV}: {wanted}"), "{value}");
            assert!(!err.contains("secret"));
        }
    }

    #[test]
    fn environment_wins_over_file_and_missing_file_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let missing = Credentials::load_from(Some(&path), Some("a.io=env:e")).unwrap();
        assert_eq!(missing.get("a.io"), Some(&basic("env", "e")));

        let json =
            format!(r#"{{"auths":{{"a.io":{{"auth":"{}"}},"b.io":{{"auth":"{}"}}}}}}"#, b64("file:f"), b64("file:g"));
        std::fs::write(&path, json).unwrap();
        let c = Credentials::load_from(Some(&path), Some("a.io=env:e")).unwrap();
        assert_eq!(c.get("a.io"), Some(&basic("env", "e")));
        assert_eq!(c.get("b.io"), Some(&basic("file", "g")));

        std::fs::write(&path, "{").unwrap();
        let err = Credentials::load_from(Some(&path), None).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");

        // A directory where the file should be: unreadable, an error naming it.
        let as_dir = dir.path().join("dir.json");
        std::fs::create_dir(&as_dir).unwrap();
        let err = Credentials::load_from(Some(&as_dir), None).unwrap_err().to_string();
        assert!(err.starts_with(&format!("cannot read docker config {}", as_dir.display())), "{err}");
    }

    #[test]
    fn config_path_prefers_docker_config() {
        let p = |d: Option<&str>, h: Option<&str>| docker_config_path(d.map(Into::into), h.map(Into::into));
        assert_eq!(p(Some("/d"), Some("/h")), Some(PathBuf::from("/d/config.json")));
        assert_eq!(p(None, Some("/h")), Some(PathBuf::from("/h/.docker/config.json")));
        assert_eq!(p(Some(""), Some("/h")), Some(PathBuf::from("/h/.docker/config.json")));
        assert_eq!(p(None, None), None);
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut c = Credentials::new();
        c.insert("a.io", basic("alice", "hunter2"));
        c.insert("b.io", Credential::IdentityToken("tok-123".into()));
        let text = format!("{c:?} {:?}", c.get("a.io"));
        assert!(text.contains("alice") && text.contains("a.io") && text.contains("<redacted>"), "{text}");
        assert!(!text.contains("hunter2") && !text.contains("tok-123"), "{text}");
    }

    #[test]
    fn basic_header() {
        assert_eq!(
            basic("Aladdin", "open sesame").basic_authorization().unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(Credential::IdentityToken("t".into()).basic_authorization(), None);
    }

    fn challenge(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            token68: None,
        }
    }

    #[test]
    fn parses_challenges() {
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#,
                vec![challenge(
                    "bearer",
                    &[
                        ("realm", "https://auth.docker.io/token"),
                        ("service", "registry.docker.io"),
                        ("scope", "repository:library/debian:pull"),
                    ],
                )],
            ),
            (
                r#"Bearer realm="https://codeberg.org/v2/token",service="container_registry",scope="*", Basic realm="Gitea""#,
                vec![
                    challenge(
                        "bearer",
                        &[
                            ("realm", "https://codeberg.org/v2/token"),
                            ("service", "container_registry"),
                            ("scope", "*"),
                        ],
                    ),
                    challenge("basic", &[("realm", "Gitea")]),
                ],
            ),
            (
                r#"Bearer realm="r", error="insufficient_scope", scope="repository:a/b:pull,push""#,
                vec![challenge(
                    "bearer",
                    &[("realm", "r"), ("error", "insufficient_scope"), ("scope", "repository:a/b:pull,push")],
                )],
            ),
            (
                r#"BASIC Realm = "a \"quoted\", realm\\x""#,
                vec![challenge("basic", &[("realm", r#"a "quoted", realm\x"#)])],
            ),
            ("Basic realm=Registry", vec![challenge("basic", &[("realm", "Registry")])]),
            ("Negotiate, Basic realm=x", vec![challenge("negotiate", &[]), challenge("basic", &[("realm", "x")])]),
            (
                r#"Negotiate abc+/9==, Bearer realm="t""#,
                vec![
                    Challenge { scheme: "negotiate".into(), params: vec![], token68: Some("abc+/9==".into()) },
                    challenge("bearer", &[("realm", "t")]),
                ],
            ),
            ("", vec![]),
            ("   ,  ", vec![]),
            // Malformed: what parsed before the fault is kept.
            (r#"Bearer realm="unterminated"#, vec![challenge("bearer", &[])]),
            (r#"Bearer realm="ok" junk"#, vec![challenge("bearer", &[("realm", "ok")])]),
        ];
        for (header, wanted) in cases {
            assert_eq!(parse_challenges(header), wanted, "{header}");
        }
        let c = &parse_challenges(r#"Bearer realm="r",service="s",scope="x""#)[0];
        assert!(c.is_bearer() && !c.is_basic());
        assert_eq!((c.realm(), c.service(), c.scope(), c.param("nope")), (Some("r"), Some("s"), Some("x"), None));
    }
}
