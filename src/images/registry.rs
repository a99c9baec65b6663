//! OCI distribution client, pull only: manifests and blobs over HTTP(S) with Bearer/Basic auth,
//! retries and digest verification. It must never: fall back from https to http, forward
//! `Authorization` to another origin (scheme, host, port), send credentials over plain http to
//! a non-loopback host not listed in `insecure_registries`, log a token or password, or hand
//! out bytes that did not match their digest.
//!
//! Flow of one request: [`RegistryClient::send`] attaches a cached authorization for
//! (registry, scope), runs the exchange (redirects followed here, not by ureq, so the
//! `Authorization` policy is ours), retries 429/5xx and transport failures with `Retry-After`
//! or exponential backoff, and on a 401 parses the challenge, obtains a token or Basic
//! header, caches it and retries once.

use crate::http::{backoff, is_retryable_status, is_transient, retry_delay};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use ureq::http::{header, Response, Uri};
use ureq::Body;

use super::auth::{self, Challenge, Credential, Credentials};
use super::digest::{Digest, DigestError, VerifyingReader};
use super::manifest::{Descriptor, MANIFEST_ACCEPT, MAX_DOCUMENT_BYTES};
use super::reference::{is_valid_tag, split_host_port, ImageRef};
use super::RawManifest;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
pub const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
pub const DEFAULT_USER_AGENT: &str = concat!("cascade/", env!("CARGO_PKG_VERSION"));

const MAX_REDIRECTS: u32 = 5;
/// Cap on error bodies read for the `{"errors": [...]}` envelope.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;
const MAX_TOKEN_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Token lifetime when the token endpoint gives no `expires_in` (distribution token spec).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// A cached token is dropped this long before it expires.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(10);
const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// `host[:port]` entries that may be reached over plain http (an entry without a port
    /// matches every port of that host). Loopback hosts always may.
    pub insecure_registries: Vec<String>,
    /// Connect, send, response-header and per-read timeout. Bodies have no total timeout
    /// (layers can be large); a stalled read fails after `timeout`.
    pub timeout: Duration,
    /// Attempts per request for 429, 5xx and transport failures (1 = no retry).
    pub max_attempts: u32,
    /// Longest single wait between attempts, whatever `Retry-After` asks.
    pub max_retry_wait: Duration,
    pub credentials: Credentials,
    pub user_agent: String,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure_registries: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_retry_wait: DEFAULT_MAX_RETRY_WAIT,
            credentials: Credentials::default(),
            user_agent: DEFAULT_USER_AGENT.to_string(),
        }
    }
}

/// One entry of the distribution error envelope `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCode {
    pub code: String,
    pub message: String,
}

/// The codes a registry returned with an error status; displays as `: CODE (message), ...`
/// or as nothing when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorCodes(pub Vec<ErrorCode>);

impl fmt::Display for ErrorCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            f.write_str(&e.code)?;
            if !e.message.is_empty() {
                write!(f, " ({})", e.message)?;
            }
        }
        Ok(())
    }
}

/// Where a failed request went; displays as `GET /v2/a/b/manifests/v1 on host:5000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSite {
    /// The registry host (or, for token requests, the token endpoint and its registry).
    pub registry: String,
    pub method: &'static str,
    /// URL path, without the query.
    pub path: String,
}

impl fmt::Display for RequestSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} on {}", self.method, self.path, self.registry)
    }
}

/// Registry failures. The request site is boxed to keep `Result`s small.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{site}: unauthorized for repository {repository}: {reason}{codes}")]
    Unauthorized { site: Box<RequestSite>, repository: String, reason: String, codes: ErrorCodes },
    #[error("{site}: not found (http 404){codes}")]
    NotFound { site: Box<RequestSite>, codes: ErrorCodes },
    #[error("{site}: {what} digest mismatch: expected {expected}, content is {actual}")]
    DigestMismatch { site: Box<RequestSite>, what: &'static str, expected: String, actual: String },
    #[error("{site}: {what} size mismatch: the descriptor says {expected} bytes, the registry sent {found}")]
    SizeMismatch { site: Box<RequestSite>, what: &'static str, expected: u64, found: String },
    #[error("{site}: {what} is larger than the {limit}-byte limit")]
    TooLarge { site: Box<RequestSite>, what: &'static str, limit: u64 },
    #[error("{site}: http {status}{codes}")]
    Http { site: Box<RequestSite>, status: u16, codes: ErrorCodes },
    #[error("{site}: {source}")]
    Transport { site: Box<RequestSite>, source: ureq::Error },
    #[error("{site}: gave up after {attempts} attempts, last: {last}")]
    RetriesExhausted { site: Box<RequestSite>, attempts: u32, last: String },
    #[error("{site}: {problem}")]
    Protocol { site: Box<RequestSite>, problem: String },
    #[error("invalid manifest reference {reference:?} for {image}: {problem}")]
    InvalidReference { image: String, reference: String, problem: String },
    #[error("{what} {digest} cannot be verified: {source}")]
    Unverifiable { what: &'static str, digest: Digest, source: DigestError },
}

impl RegistryError {
    /// The registry's error codes (`MANIFEST_UNKNOWN`, `DENIED`, ...), when it sent any.
    pub fn codes(&self) -> &[ErrorCode] {
        match self {
            RegistryError::Unauthorized { codes, .. }
            | RegistryError::NotFound { codes, .. }
            | RegistryError::Http { codes, .. } => &codes.0,
            _ => &[],
        }
    }

    /// The HTTP status behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Unauthorized { .. } => Some(401),
            RegistryError::NotFound { .. } => Some(404),
            RegistryError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The two methods a pull needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Head,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Head => "HEAD",
        }
    }
}

/// What a request is about, for error messages.
struct Op<'a> {
    image: &'a ImageRef,
    verb: Verb,
    path: &'a str,
}

impl Op<'_> {
    fn site(&self) -> Box<RequestSite> {
        Box::new(RequestSite {
            registry: self.image.registry.clone(),
            method: self.verb.as_str(),
            path: self.path.to_string(),
        })
    }

    fn transport(&self, source: ureq::Error) -> RegistryError {
        RegistryError::Transport { site: self.site(), source }
    }

    fn protocol(&self, problem: String) -> RegistryError {
        RegistryError::Protocol { site: self.site(), problem }
    }

    fn unauthorized(&self, reason: String, codes: ErrorCodes) -> RegistryError {
        RegistryError::Unauthorized { site: self.site(), repository: self.image.repository.clone(), reason, codes }
    }

    /// The error for a final non-success status.
    fn status_error(&self, status: u16, codes: ErrorCodes) -> RegistryError {
        status_error(self.site(), status, codes)
    }
}

fn status_error(site: Box<RequestSite>, status: u16, codes: ErrorCodes) -> RegistryError {
    match status {
        404 => RegistryError::NotFound { site, codes },
        _ => RegistryError::Http { site, status, codes },
    }
}

struct CachedAuthorization {
    /// The whole `Authorization` header value. Never logged.
    value: String,
    /// None for Basic, which does not expire.
    expires: Option<Instant>,
}

/// A blob stream that fails on its final read unless the content matched the descriptor's
/// digest and size. Read it to EOF before trusting anything parsed from it.
pub struct BlobReader {
    inner: VerifyingReader<ureq::BodyReader<'static>>,
}

impl BlobReader {
    /// True once the stream reached EOF and matched.
    pub fn verified(&self) -> bool {
        self.inner.verified()
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

/// A pull-only registry client. Cheap to share by reference; holds a connection pool and a
/// cache of authorizations per (registry, scope).
pub struct RegistryClient {
    agent: ureq::Agent,
    options: RegistryOptions,
    authorizations: Mutex<HashMap<(String, String), CachedAuthorization>>,
}

impl RegistryClient {
    pub fn new(options: RegistryOptions) -> RegistryClient {
        let timeout = Some(options.timeout);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed by `exchange`, which decides where Authorization may go.
            .max_redirects(0)
            .user_agent(options.user_agent.as_str())
            .timeout_connect(timeout)
            .timeout_send_request(timeout)
            .timeout_recv_response(timeout)
            .timeout_per_read(timeout)
            .timeout_per_write(timeout)
            .build();
        RegistryClient { agent: ureq::Agent::new_with_config(config), options, authorizations: Mutex::default() }
    }

    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// Fetches a manifest or index by tag or digest and verifies it: against the requested
    /// digest, or (by tag) against `Docker-Content-Digest` when the registry sends it.
    pub fn get_manifest(&self, image: &ImageRef, reference: &str) -> Result<RawManifest, RegistryError> {
        let expected = manifest_reference(image, reference)?;
        let path = format!("/v2/{}/manifests/{reference}", image.repository);
        let span = tracing::debug_span!(
            "registry.get_manifest",
            registry.host = %image.registry,
            image.repository = %image.repository,
            image.reference = %reference,
        );
        let _entered = span.enter();
        let op = Op { image, verb: Verb::Get, path: &path };
        let mut response = self.send(&op, Some(MANIFEST_ACCEPT))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(op.status_error(status, read_error_codes(&mut response)));
        }
        let too_large = || RegistryError::TooLarge { site: op.site(), what: "manifest", limit: MAX_DOCUMENT_BYTES };
        if content_length(&response).is_some_and(|n| n > MAX_DOCUMENT_BYTES) {
            return Err(too_large());
        }
        let content_type = header_str(&response, header::CONTENT_TYPE.as_str()).map(str::to_string);
        let header_digest = header_str(&response, DOCKER_CONTENT_DIGEST).map(str::to_string);
        let bytes = match response.body_mut().with_config().limit(MAX_DOCUMENT_BYTES).read_to_vec() {
            Ok(bytes) => bytes,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(too_large()),
            Err(e) => return Err(op.transport(e)),
        };
        let digest = Digest::sha256_of(&bytes);
        let mismatch = |expected: &Digest| RegistryError::DigestMismatch {
            site: op.site(),
            what: "manifest",
            expected: expected.to_string(),
            actual: digest.to_string(),
        };
        match (&expected, header_digest) {
            (Some(wanted), _) if *wanted != digest => return Err(mismatch(wanted)),
            // By digest the requested digest is the check; the header is not trusted over it.
            (Some(_), _) => {}
            (None, Some(header_value)) => {
                let claimed: Digest = header_value
                    .parse()
                    .map_err(|e| op.protocol(format!("invalid Docker-Content-Digest header: {e}")))?;
                if claimed.algorithm() == "sha256" {
                    if claimed != digest {
                        return Err(mismatch(&claimed));
                    }
                } else {
                    tracing::debug!(%claimed, "cannot compare a non-sha256 Docker-Content-Digest");
                }
            }
            (None, None) => {}
        }
        tracing::debug!(image.digest = %digest, n_bytes = bytes.len(), "manifest fetched");
        Ok(RawManifest { digest, content_type, bytes })
    }

    /// The digest a tag or digest currently names, or None when the registry says 404. Uses
    /// HEAD and `Docker-Content-Digest`; falls back to GET and hashing when the header is
    /// missing. Sends the same Accept list as [`RegistryClient::get_manifest`].
    pub fn head_manifest(&self, image: &ImageRef, reference: &str) -> Result<Option<Digest>, RegistryError> {
        let expected = manifest_reference(image, reference)?;
        let path = format!("/v2/{}/manifests/{reference}", image.repository);
        let span = tracing::debug_span!(
            "registry.head_manifest",
            registry.host = %image.registry,
            image.repository = %image.repository,
            image.reference = %reference,
        );
        let _entered = span.enter();
        let op = Op { image, verb: Verb::Head, path: &path };
        let response = self.send(&op, Some(MANIFEST_ACCEPT))?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(op.status_error(status, ErrorCodes::default()));
        }
        let Some(header_value) = header_str(&response, DOCKER_CONTENT_DIGEST).map(str::to_string) else {
            drop(response);
            tracing::debug!("no Docker-Content-Digest on HEAD; hashing the manifest instead");
            return match self.get_manifest(image, reference) {
                Ok(m) => Ok(Some(m.digest)),
                Err(RegistryError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            };
        };
        let digest: Digest =
            header_value.parse().map_err(|e| op.protocol(format!("invalid Docker-Content-Digest header: {e}")))?;
        if let Some(wanted) = expected {
            if wanted != digest {
                return Err(RegistryError::DigestMismatch {
                    site: op.site(),
                    what: "manifest",
                    expected: wanted.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        Ok(Some(digest))
    }

    /// Reads a whole blob of at most `max_bytes`, verified against the descriptor's digest
    /// and size.
    pub fn read_blob(&self, image: &ImageRef, d: &Descriptor, max_bytes: u64) -> Result<Vec<u8>, RegistryError> {
        let path = blob_path(image, d);
        let op = Op { image, verb: Verb::Get, path: &path };
        if d.size > max_bytes {
            return Err(RegistryError::TooLarge { site: op.site(), what: "blob", limit: max_bytes });
        }
        let response = self.blob_response(&op, d)?;
        let size_mismatch =
            |found: String| RegistryError::SizeMismatch { site: op.site(), what: "blob", expected: d.size, found };
        let bytes = match response.into_body().into_with_config().limit(d.size).read_to_vec() {
            Ok(bytes) => bytes,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(size_mismatch(format!("more than {}", d.size))),
            Err(e) => return Err(op.transport(e)),
        };
        if bytes.len() as u64 != d.size {
            return Err(size_mismatch(bytes.len().to_string()));
        }
        if !d.digest.matches(&bytes) {
            return Err(RegistryError::DigestMismatch {
                site: op.site(),
                what: "blob",
                expected: d.digest.to_string(),
                actual: Digest::sha256_of(&bytes).to_string(),
            });
        }
        Ok(bytes)
    }

    /// Opens a blob as a stream verified against the descriptor (see [`BlobReader`]).
    pub fn open_blob(&self, image: &ImageRef, d: &Descriptor) -> Result<BlobReader, RegistryError> {
        let path = blob_path(image, d);
        let op = Op { image, verb: Verb::Get, path: &path };
        let response = self.blob_response(&op, d)?;
        let inner = VerifyingReader::new(response.into_body().into_reader(), d.digest.clone(), Some(d.size))
            .map_err(|source| RegistryError::Unverifiable { what: "blob", digest: d.digest.clone(), source })?;
        Ok(BlobReader { inner })
    }

    /// GET of a blob, up to a 2xx response whose declared length (if any) matches.
    fn blob_response(&self, op: &Op<'_>, d: &Descriptor) -> Result<Response<Body>, RegistryError> {
        d.digest.ensure_verifiable().map_err(|source| RegistryError::Unverifiable {
            what: "blob",
            digest: d.digest.clone(),
            source,
        })?;
        let span = tracing::debug_span!(
            "registry.blob",
            registry.host = %op.image.registry,
            image.repository = %op.image.repository,
            blob.digest = %d.digest,
            blob.size = d.size,
        );
        let _entered = span.enter();
        let mut response = self.send(op, None)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(op.status_error(status, read_error_codes(&mut response)));
        }
        if let Some(n) = content_length(&response) {
            if n != d.size {
                return Err(RegistryError::SizeMismatch {
                    site: op.site(),
                    what: "blob",
                    expected: d.size,
                    found: n.to_string(),
                });
            }
        }
        Ok(response)
    }

    /// Sends a registry request: cached authorization, retries, and one re-try after a 401
    /// challenge was answered. Returns any final response that is not a 401.
    fn send(&self, op: &Op<'_>, accept: Option<&str>) -> Result<Response<Body>, RegistryError> {
        let image = op.image;
        let url = format!("{}://{}{}", scheme_for(&image.registry, &self.options), image.api_host(), op.path);
        let cache_key = (image.registry.clone(), pull_scope(image));
        let mut authorization = self.cached_authorization(&cache_key);
        let mut answered_challenge = false;
        loop {
            let mut response =
                self.with_retries(op, &|| op.site(), || self.exchange(op, &url, accept, authorization.as_deref()))?;
            if response.status().as_u16() != 401 {
                return Ok(response);
            }
            let codes = read_error_codes(&mut response);
            if answered_challenge {
                let reason = match self.options.credentials.get(&image.registry) {
                    Some(_) => "the registry rejected the configured credentials (http 401)",
                    None => "the registry rejected the anonymous token (http 401)",
                };
                return Err(op.unauthorized(reason.to_string(), codes));
            }
            let challenges: Vec<Challenge> = response
                .headers()
                .get_all(header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(auth::parse_challenges)
                .collect();
            drop(response);
            authorization = Some(self.authorize(op, &challenges, &cache_key, codes)?);
            answered_challenge = true;
        }
    }

    /// Answers a 401: a Bearer token from the challenge's realm, or Basic credentials.
    fn authorize(
        &self,
        op: &Op<'_>,
        challenges: &[Challenge],
        cache_key: &(String, String),
        codes: ErrorCodes,
    ) -> Result<String, RegistryError> {
        let registry = &op.image.registry;
        let credential = self.options.credentials.get(registry);
        if let Some(bearer) = challenges.iter().find(|c| c.is_bearer()) {
            let (value, lifetime) = self.fetch_token(op, bearer, credential)?;
            let usable = lifetime.saturating_sub(TOKEN_EXPIRY_MARGIN);
            if !usable.is_zero() {
                self.cache_authorization(cache_key, &value, Some(Instant::now() + usable));
            }
            return Ok(value);
        }
        if challenges.iter().any(|c| c.is_basic()) {
            return match credential {
                Some(Credential::Basic { username, password }) => {
                    // `scheme_for` only picked http for loopback or insecure-listed hosts, so
                    // this never sends a password in clear text anywhere else.
                    tracing::debug!(registry.host = %registry, "answering a Basic challenge");
                    let value = auth::basic_authorization(username, password);
                    self.cache_authorization(cache_key, &value, None);
                    Ok(value)
                }
                Some(Credential::IdentityToken(_)) => Err(op.unauthorized(
                    format!("the registry asks for Basic auth and only an identity token is configured for {registry}"),
                    codes,
                )),
                None => Err(op.unauthorized(
                    format!("the registry requires credentials (Basic) and none are configured for {registry}"),
                    codes,
                )),
            };
        }
        let reason = if challenges.is_empty() {
            "http 401 without a usable WWW-Authenticate challenge".to_string()
        } else {
            let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
            format!("unsupported authentication scheme(s): {}", schemes.join(", "))
        };
        Err(op.unauthorized(reason, codes))
    }

    /// Obtains a Bearer token from the challenge's realm. Returns the `Authorization` value
    /// and the token's lifetime.
    fn fetch_token(
        &self,
        op: &Op<'_>,
        challenge: &Challenge,
        credential: Option<&Credential>,
    ) -> Result<(String, Duration), RegistryError> {
        let registry = &op.image.registry;
        let no_codes = ErrorCodes::default;
        let realm = challenge
            .realm()
            .ok_or_else(|| op.unauthorized("the Bearer challenge names no realm".to_string(), no_codes()))?;
        let realm_uri: Uri = realm
            .parse()
            .map_err(|_| op.unauthorized(format!("the Bearer realm {realm:?} is not a URL"), no_codes()))?;
        let (scheme, realm_host) = match (realm_uri.scheme_str(), authority_host_port(&realm_uri)) {
            (Some(s @ ("http" | "https")), Some(h)) => (s.to_string(), h),
            _ => return Err(op.unauthorized(format!("the Bearer realm {realm:?} is not an http(s) URL"), no_codes())),
        };
        let scopes: Vec<String> = match challenge.scope() {
            Some(s) if !s.trim().is_empty() => s.split_whitespace().map(str::to_string).collect(),
            _ => vec![pull_scope(op.image)],
        };
        if credential.is_some() && scheme == "http" && !allows_plain_http(&realm_host, &self.options) {
            return Err(op.unauthorized(
                format!(
                    "refusing to send the credentials for {registry} over plain http to the token endpoint {realm_host}"
                ),
                no_codes(),
            ));
        }
        let realm_path = realm_uri.path().to_string();
        let method = match credential {
            Some(Credential::IdentityToken(_)) => "POST",
            _ => "GET",
        };
        let token_op = TokenOp { method, registry, realm_host: &realm_host, path: &realm_path };
        tracing::debug!(
            registry.host = %registry,
            token.realm_host = %realm_host,
            token.scope = %scopes.join(" "),
            authenticated = credential.is_some(),
            "requesting a registry token"
        );
        let service = challenge.service().unwrap_or_default().to_string();
        let loopback = is_loopback(&realm_host);
        let mut response = self.with_retries(op, &|| token_op.site(), || {
            let result = match credential {
                Some(Credential::IdentityToken(refresh_token)) => {
                    let mut form = vec![
                        ("grant_type", "refresh_token".to_string()),
                        ("refresh_token", refresh_token.clone()),
                        ("client_id", "cascade".to_string()),
                        ("scope", scopes.join(" ")),
                    ];
                    if !service.is_empty() {
                        form.push(("service", service.clone()));
                    }
                    let mut request = self.agent.post(realm);
                    if loopback {
                        request = request.config().proxy(None).build();
                    }
                    request.send_form(form)
                }
                _ => {
                    let mut request = self.agent.get(realm);
                    if !service.is_empty() {
                        request = request.query("service", &service);
                    }
                    for scope in &scopes {
                        request = request.query("scope", scope);
                    }
                    if let Some(value) = credential.and_then(Credential::basic_authorization) {
                        request = request.header(header::AUTHORIZATION, value);
                    }
                    if loopback {
                        request = request.config().proxy(None).build();
                    }
                    request.call()
                }
            };
            result.map_err(|e| token_op.transport(e))
        })?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            let codes = read_error_codes(&mut response);
            let reason = match credential {
                Some(_) => format!("the token endpoint {realm_host} rejected the credentials for {registry} (http {status})"),
                None => format!(
                    "the token endpoint {realm_host} refused an anonymous token (http {status}); configure credentials for {registry}"
                ),
            };
            return Err(op.unauthorized(reason, codes));
        }
        if !(200..300).contains(&status) {
            let codes = read_error_codes(&mut response);
            return Err(token_op.status_error(status, codes));
        }
        let body = match response.body_mut().with_config().limit(MAX_TOKEN_RESPONSE_BYTES).read_to_vec() {
            Ok(b) => b,
            Err(e) => return Err(token_op.transport(e)),
        };
        let (token, lifetime) = parse_token_response(&body).map_err(|problem| token_op.protocol(problem))?;
        Ok((format!("Bearer {token}"), lifetime))
    }

    /// Runs `attempt` until it yields a response that is not 429/5xx, waiting between tries;
    /// transport failures that may be transient are retried too. `op` names the pull in logs,
    /// `site` the request in errors.
    fn with_retries(
        &self,
        op: &Op<'_>,
        site: &dyn Fn() -> Box<RequestSite>,
        mut attempt: impl FnMut() -> Result<Response<Body>, RegistryError>,
    ) -> Result<Response<Body>, RegistryError> {
        let max_attempts = self.options.max_attempts.max(1);
        let mut n = 1;
        loop {
            let (last, wait) = match attempt() {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    // With retries disabled the caller reports the status itself.
                    if !is_retryable_status(status) || max_attempts == 1 {
                        return Ok(response);
                    }
                    let retry_after = header_str(&response, header::RETRY_AFTER.as_str()).map(str::to_string);
                    let codes = read_error_codes(&mut response);
                    if n >= max_attempts {
                        let last = format!("http {status}{codes}");
                        return Err(RegistryError::RetriesExhausted { site: site(), attempts: n, last });
                    }
                    let wait = retry_delay(retry_after.as_deref(), n, self.options.max_retry_wait, SystemTime::now());
                    (format!("http {status}{codes}"), wait)
                }
                Err(RegistryError::Transport { site, source }) if is_transient(&source) => {
                    if n >= max_attempts {
                        if n == 1 {
                            return Err(RegistryError::Transport { site, source });
                        }
                        return Err(RegistryError::RetriesExhausted { site, attempts: n, last: source.to_string() });
                    }
                    (source.to_string(), backoff(n).min(self.options.max_retry_wait))
                }
                Err(e) => return Err(e),
            };
            tracing::info!(
                registry.host = %op.image.registry,
                image.repository = %op.image.repository,
                attempt = n,
                wait_ms = wait.as_millis() as u64,
                last = %last,
                "registry request will be retried"
            );
            std::thread::sleep(wait);
            n += 1;
        }
    }

    /// One request, following redirects: `Authorization` is sent only to the origin of `url`,
    /// and a redirect to plain http is refused unless that host may use it.
    fn exchange(
        &self,
        op: &Op<'_>,
        url: &str,
        accept: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<Response<Body>, RegistryError> {
        let start: Uri = url.parse().map_err(|_| op.protocol(format!("invalid request URL {url:?}")))?;
        let origin = origin_of(&start);
        let mut current = start;
        for hop in 0..=MAX_REDIRECTS {
            let host = authority_host_port(&current).unwrap_or_default();
            if hop > 0 && current.scheme_str() == Some("http") && !allows_plain_http(&host, &self.options) {
                return Err(op.protocol(format!("refusing a redirect to plain http on {host}")));
            }
            let same_origin = origin.is_some() && origin_of(&current) == origin;
            let span = tracing::debug_span!(
                "registry.http",
                http.method = op.verb.as_str(),
                server.address = %host,
                url.path = %current.path(),
                redirect = hop,
                http.status = tracing::field::Empty,
            );
            let _entered = span.enter();
            let mut request = match op.verb {
                Verb::Get => self.agent.get(current.clone()),
                Verb::Head => self.agent.head(current.clone()),
            };
            if let Some(accept) = accept {
                request = request.header(header::ACCEPT, accept);
            }
            if let (Some(value), true) = (authorization, same_origin) {
                request = request.header(header::AUTHORIZATION, value);
            }
            if is_loopback(&host) {
                request = request.config().proxy(None).build();
            }
            let response = request.call().map_err(|e| op.transport(e))?;
            let status = response.status().as_u16();
            span.record("http.status", status);
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            let location = header_str(&response, header::LOCATION.as_str())
                .ok_or_else(|| op.protocol(format!("http {status} redirect without a Location header")))?;
            let next = resolve_location(&current, location)
                .ok_or_else(|| op.protocol(format!("http {status} redirect to an invalid location {location:?}")))?;
            tracing::debug!(to.host = %authority_host_port(&next).unwrap_or_default(), "following a redirect");
            current = next;
        }
        Err(op.protocol(format!("more than {MAX_REDIRECTS} redirects")))
    }

    fn cached_authorization(&self, key: &(String, String)) -> Option<String> {
        let mut cache = self.authorizations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match cache.get(key) {
            Some(entry) if entry.expires.is_none_or(|t| Instant::now() < t) => Some(entry.value.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn cache_authorization(&self, key: &(String, String), value: &str, expires: Option<Instant>) {
        let mut cache = self.authorizations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(key.clone(), CachedAuthorization { value: value.to_string(), expires });
    }
}

/// Errors of a token-endpoint request, which name the realm's host and path.
struct TokenOp<'a> {
    method: &'static str,
    registry: &'a str,
    realm_host: &'a str,
    path: &'a str,
}

impl TokenOp<'_> {
    fn site(&self) -> Box<RequestSite> {
        Box::new(RequestSite {
            registry: format!("{} (token endpoint for {})", self.realm_host, self.registry),
            method: self.method,
            path: self.path.to_string(),
        })
    }

    fn transport(&self, source: ureq::Error) -> RegistryError {
        RegistryError::Transport { site: self.site(), source }
    }

    fn protocol(&self, problem: String) -> RegistryError {
        RegistryError::Protocol { site: self.site(), problem }
    }

    fn status_error(&self, status: u16, codes: ErrorCodes) -> RegistryError {
        status_error(self.site(), status, codes)
    }
}

/// `repository:<name>:pull`, the scope every pull request needs.
fn pull_scope(image: &ImageRef) -> String {
    format!("repository:{}:pull", image.repository)
}

fn blob_path(image: &ImageRef, d: &Descriptor) -> String {
    format!("/v2/{}/blobs/{}", image.repository, d.digest)
}

/// Checks a manifest reference: a digest (returned, must be verifiable) or a tag.
fn manifest_reference(image: &ImageRef, reference: &str) -> Result<Option<Digest>, RegistryError> {
    let invalid = |problem: String| RegistryError::InvalidReference {
        image: image.name(),
        reference: reference.to_string(),
        problem,
    };
    if reference.contains(':') {
        let digest: Digest = reference.parse().map_err(|e: DigestError| invalid(e.to_string()))?;
        digest.ensure_verifiable().map_err(|source| RegistryError::Unverifiable {
            what: "manifest",
            digest: digest.clone(),
            source,
        })?;
        Ok(Some(digest))
    } else if is_valid_tag(reference) {
        Ok(None)
    } else {
        Err(invalid("not a valid tag or digest".to_string()))
    }
}

/// The URL scheme for a registry host: `http` for loopback hosts (`localhost`, 127.0.0.0/8,
/// `[::1]`) and hosts listed in `insecure_registries`, else `https`. There is no fallback
/// from one to the other.
pub fn scheme_for(registry: &str, options: &RegistryOptions) -> &'static str {
    if allows_plain_http(registry, options) {
        "http"
    } else {
        "https"
    }
}

/// True when `host[:port]` may be spoken to (and sent credentials) over plain http.
pub fn allows_plain_http(host: &str, options: &RegistryOptions) -> bool {
    is_loopback(host) || is_listed_insecure(host, &options.insecure_registries)
}

/// True for `localhost`, 127.0.0.0/8 and `::1`, with or without a port. IPv4-mapped IPv6
/// forms are deliberately not loopback here (they only ever mean more https).
pub fn is_loopback(host: &str) -> bool {
    let (name, _) = split_host_port(host);
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_listed_insecure(host: &str, insecure: &[String]) -> bool {
    let host = auth::normalize_host(host);
    let (name, _) = split_host_port(&host);
    insecure.iter().any(|entry| {
        let entry = auth::normalize_host(entry);
        let (entry_name, entry_port) = split_host_port(&entry);
        match entry_port {
            Some(_) => entry == host,
            None => !entry_name.is_empty() && entry_name == name,
        }
    })
}

/// Parses the distribution error envelope; anything else yields no codes. Codes and
/// messages come from an untrusted server: control characters are dropped and lengths capped.
pub fn parse_error_envelope(body: &[u8]) -> ErrorCodes {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        errors: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let clean = |s: Option<String>, max: usize| -> String {
        s.unwrap_or_default().chars().filter(|c| !c.is_control()).take(max).collect()
    };
    match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) => ErrorCodes(
            envelope
                .errors
                .into_iter()
                .take(8)
                .map(|e| ErrorCode { code: clean(e.code, 64), message: clean(e.message, 200) })
                .filter(|e| !e.code.is_empty())
                .collect(),
        ),
        Err(_) => ErrorCodes::default(),
    }
}

/// Reads (a capped prefix of) an error response body and parses its envelope.
fn read_error_codes(response: &mut Response<Body>) -> ErrorCodes {
    let mut body = Vec::new();
    match response.body_mut().as_reader().take(MAX_ERROR_BODY_BYTES).read_to_end(&mut body) {
        Ok(_) => parse_error_envelope(&body),
        Err(_) => ErrorCodes::default(),
    }
}

/// Parses a token response: `token` or `access_token`, and `expires_in` (default 60 s).
fn parse_token_response(body: &[u8]) -> Result<(String, Duration), String> {
    #[derive(Deserialize)]
    struct TokenResponse {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        access_token: Option<String>,
        #[serde(default)]
        expires_in: Option<f64>,
    }
    let parsed: TokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("the token response is not valid JSON: {e}"))?;
    let token = parsed
        .token
        .filter(|t| !t.is_empty())
        .or(parsed.access_token.filter(|t| !t.is_empty()))
        .ok_or_else(|| "the token response has neither token nor access_token".to_string())?;
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token response holds a token with characters not allowed in a header".to_string());
    }
    let lifetime = match parsed.expires_in {
        Some(secs) if secs.is_finite() && secs > 0.0 => Duration::from_secs_f64(secs.min(86_400.0 * 365.0)),
        _ => DEFAULT_TOKEN_LIFETIME,
    };
    Ok((token, lifetime))
}

fn header_str<'r>(response: &'r Response<Body>, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn content_length(response: &Response<Body>) -> Option<u64> {
    header_str(response, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok())
}

/// `host[:port]` of a URL (userinfo dropped), lowercase.
fn authority_host_port(uri: &Uri) -> Option<String> {
    let authority = uri.authority()?.as_str();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(host_port.to_ascii_lowercase())
}

/// (scheme, host, port) with default ports filled in; None for URLs without both.
fn origin_of(uri: &Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = match (uri.port_u16(), scheme.as_str()) {
        (Some(p), _) => p,
        (None, "https") => 443,
        (None, "http") => 80,
        (None, _) => return None,
    };
    Some((scheme, host, port))
}

/// Resolves a `Location` header against the request URL: absolute, scheme-relative,
/// absolute-path or relative-path forms. Only http(s) results are accepted.
fn resolve_location(base: &Uri, location: &str) -> Option<Uri> {
    let location = location.trim();
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let absolute = if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.contains("://") || location.is_empty() {
        return None;
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
        format!("{scheme}://{authority}{dir}/{location}")
    };
    let uri: Uri = absolute.parse().ok()?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return None;
    }
    Some(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(insecure: &[&str]) -> RegistryOptions {
        RegistryOptions {
            insecure_registries: insecure.iter().map(|s| s.to_string()).collect(),
            ..RegistryOptions::default()
        }
    }

    #[test]
    fn chooses_schemes() {
        let opts = options(&["registry.internal:5000", "http://plain.example", "10.0.0.5"]);
        let cases = [
            ("localhost", "http"),
            ("localhost:5000", "http"),
            ("LOCALHOST:5000", "http"),
            ("127.0.0.1:5000", "http"),
            ("127.1.2.3", "http"),
            ("[::1]:5000", "http"),
            ("[::1]", "http"),
            ("registry.internal:5000", "http"),
            ("registry.internal:5001", "https"),
            ("registry.internal", "https"),
            ("plain.example", "http"),
            ("plain.example:8080", "http"),
            ("10.0.0.5:443", "http"),
            ("docker.io", "https"),
            ("ghcr.io", "https"),
            ("128.0.0.1", "https"),
            ("[::ffff:127.0.0.1]:5000", "https"),
            ("localhost.example.com", "https"),
            ("mylocalhost", "https"),
        ];
        for (host, scheme) in cases {
            assert_eq!(scheme_for(host, &opts), scheme, "{host}");
        }
        assert_eq!(scheme_for("registry.internal:5000", &RegistryOptions::default()), "https");
    }

    #[test]
    fn parses_error_envelopes() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}},{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#;
        let codes = parse_error_envelope(body);
        assert_eq!(codes.0.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(), ["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
        assert_eq!(
            codes.to_string(),
            ": MANIFEST_UNKNOWN (manifest unknown), NAME_UNKNOWN (repository name not known to registry)"
        );
        assert_eq!(parse_error_envelope(b"<html>502</html>"), ErrorCodes::default());
        assert_eq!(parse_error_envelope(b""), ErrorCodes::default());
        assert_eq!(parse_error_envelope(br#"{"errors":[{"code":"DENIED"}]}"#).to_string(), ": DENIED");
        let hostile = parse_error_envelope(br#"{"errors":[{"code":"X\u001b[31m","message":"a\nb"}]}"#);
        assert_eq!(hostile.0[0], ErrorCode { code: "X[31m".into(), message: "ab".into() });
    }

    #[test]
    fn parses_token_responses() {
        let (t, l) = parse_token_response(br#"{"token":"abc","expires_in":300}"#).unwrap();
        assert_eq!((t.as_str(), l), ("abc", Duration::from_secs(300)));
        let (t, l) = parse_token_response(br#"{"access_token":"xyz"}"#).unwrap();
        assert_eq!((t.as_str(), l), ("xyz", DEFAULT_TOKEN_LIFETIME));
        let (t, _) =
            parse_token_response(br#"{"token":"","access_token":"xyz","issued_at":"2024-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(t, "xyz");
        assert!(parse_token_response(br#"{"expires_in":300}"#).unwrap_err().contains("neither token"));
        assert!(parse_token_response(b"nope").unwrap_err().contains("not valid JSON"));
        assert!(parse_token_response(br#"{"token":"a\r\nX-Evil: 1"}"#).is_err());
    }

    #[test]
    fn resolves_redirect_locations_and_origins() {
        let base: Uri = "https://reg.example:5000/v2/a/blobs/sha256:1".parse().unwrap();
        let cases = [
            ("https://cdn.example/x?sig=1", Some("https://cdn.example/x?sig=1")),
            ("http://cdn.example/x", Some("http://cdn.example/x")),
            ("//cdn.example/y", Some("https://cdn.example/y")),
            ("/v2/a/blobs/other", Some("https://reg.example:5000/v2/a/blobs/other")),
            ("other", Some("https://reg.example:5000/v2/a/blobs/other")),
            ("ftp://x/y", None),
            ("", None),
        ];
        for (location, want) in cases {
            assert_eq!(resolve_location(&base, location).map(|u| u.to_string()).as_deref(), want, "{location}");
        }
        let o = |s: &str| origin_of(&s.parse::<Uri>().unwrap());
        assert_eq!(o("https://a.example/x"), o("https://A.example:443/y"));
        assert_ne!(o("http://127.0.0.1:5000/x"), o("http://127.0.0.1:5001/x"));
        assert_ne!(o("http://a.example/x"), o("https://a.example/x"));
        assert_eq!(authority_host_port(&"http://u:p@Host:1/x".parse().unwrap()).as_deref(), Some("host:1"));
    }

    #[test]
    fn manifest_references_are_checked() {
        let image: ImageRef = "localhost:5000/a".parse().unwrap();
        assert_eq!(manifest_reference(&image, "v1").unwrap(), None);
        let d = Digest::sha256_of(b"x");
        assert_eq!(manifest_reference(&image, &d.to_string()).unwrap(), Some(d));
        let err = manifest_reference(&image, "bad/tag").unwrap_err().to_string();
        assert_eq!(err, "invalid manifest reference \"bad/tag\" for localhost:5000/a: not a valid tag or digest");
        assert!(manifest_reference(&image, "sha256:zz").is_err());
        assert!(matches!(manifest_reference(&image, "sha512:abcd"), Err(RegistryError::Unverifiable { .. })));
    }

    #[test]
    fn options_debug_does_not_leak_secrets() {
        let mut opts = RegistryOptions::default();
        opts.credentials.insert("a.io", Credential::Basic { username: "u".into(), password: "hunter2".into() });
        let text = format!("{opts:?}");
        assert!(text.contains("a.io") && !text.contains("hunter2"), "{text}");
    }
}
