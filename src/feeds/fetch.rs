//! Fetching feed documents over HTTP(S): conditional GET (ETag / If-Modified-Since), a
//! timeout for the whole exchange, a byte cap, and retries with backoff (Retry-After on 429
//! and 503). The only place in `feeds` that holds an HTTP client; parsing happens elsewhere.

use std::io::Read;
use std::time::{Duration, SystemTime};

use crate::http::{backoff, is_retryable_status, is_transient, retry_delay};

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub timeout: Duration,
    pub max_bytes: u64,
    pub max_attempts: u32,
    pub max_retry_wait: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: super::definition::DEFAULT_TIMEOUT,
            max_bytes: super::definition::DEFAULT_MAX_BYTES,
            max_attempts: 3,
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

/// Validators from the previous successful fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: the document did not change since the validators were issued.
    NotModified,
    Document {
        bytes: Vec<u8>,
        validators: Validators,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: {source}")]
    Transport { url: String, source: ureq::Error },
    #[error("GET {url}: the document is larger than the {limit}-byte cap")]
    TooLarge { url: String, limit: u64 },
    #[error("GET {url}: reading the body failed: {source}")]
    Body { url: String, source: std::io::Error },
    #[error("GET {url}: gave up after {attempts} attempts, last: {last}")]
    RetriesExhausted { url: String, attempts: u32, last: String },
}

/// The agent used for feeds: statuses are returned as responses (so 304 and 429 can be read)
/// and the timeout covers the whole exchange, body included.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("cascade/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// GETs `url`, conditionally when validators are given, retrying transient failures.
pub fn fetch(url: &str, validators: &Validators, options: &FetchOptions) -> Result<Fetched, FetchError> {
    let agent = agent(options.timeout);
    let max_attempts = options.max_attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=max_attempts {
        let mut request = agent.get(url);
        if let Some(etag) = &validators.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(date) = &validators.last_modified {
            request = request.header("If-Modified-Since", date);
        }
        let wait = match request.call() {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if status == 304 {
                    return Ok(Fetched::NotModified);
                }
                if (200..300).contains(&status) {
                    let header =
                        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
                    let validators = Validators { etag: header("etag"), last_modified: header("last-modified") };
                    let bytes = read_capped(response.body_mut().as_reader(), url, options.max_bytes)?;
                    return Ok(Fetched::Document { bytes, validators });
                }
                if !is_retryable_status(status) || attempt == max_attempts {
                    if attempt > 1 && is_retryable_status(status) {
                        return Err(FetchError::RetriesExhausted {
                            url: url.to_string(),
                            attempts: attempt,
                            last: format!("HTTP {status}"),
                        });
                    }
                    return Err(FetchError::Status { url: url.to_string(), status });
                }
                last = format!("HTTP {status}");
                let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok());
                retry_delay(retry_after, attempt, options.max_retry_wait, SystemTime::now())
            }
            Err(e) if is_transient(&e) && attempt < max_attempts => {
                last = e.to_string();
                backoff(attempt).min(options.max_retry_wait)
            }
            Err(e) if attempt > 1 => {
                return Err(FetchError::RetriesExhausted {
                    url: url.to_string(),
                    attempts: attempt,
                    last: e.to_string(),
                })
            }
            Err(source) => return Err(FetchError::Transport { url: url.to_string(), source }),
        };
        tracing::info!(feed.url = url, attempt, wait_ms = wait.as_millis() as u64, last = %last, "retrying feed fetch");
        std::thread::sleep(wait);
    }
    Err(FetchError::RetriesExhausted { url: url.to_string(), attempts: max_attempts, last })
}

/// Reads at most `max` bytes; one more means the document is over the cap.
fn read_capped(reader: impl Read, url: &str, max: u64) -> Result<Vec<u8>, FetchError> {
    let mut bytes = Vec::new();
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| FetchError::Body { url: url.to_string(), source })?;
    if bytes.len() as u64 > max {
        return Err(FetchError::TooLarge { url: url.to_string(), limit: max });
    }
    Ok(bytes)
}
