//! The response cache: rendered answers keyed by route and argument, valid for one database
//! data version (see `ReadPool::data_version`). Any commit, by this process or another one
//! (`cascade scan`, `feeds sync`, `mail import`), changes the version, and entries of an older
//! version are never served. An answer is stored only when the version read before the query
//! equals the version read after it, so that it cannot mix in a commit it did not see.
//!
//! An answer is stored with a strong ETag (a hash of its body) and, when large enough to gain,
//! a gzip copy made once: clients sending `If-None-Match` get 304, clients accepting gzip get
//! the compressed copy.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

/// Bytes of bodies kept; past this the cache starts over (a new data version empties it too).
pub const MAX_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// Larger bodies are not cached.
pub const MAX_ENTRY_BYTES: usize = 4 * 1024 * 1024;
/// Smaller bodies are not worth compressing.
pub const MIN_GZIP_BYTES: usize = 1024;

/// A rendered answer.
#[derive(Debug, Clone)]
pub struct Cached {
    pub status: StatusCode,
    pub body: Bytes,
    /// The body gzip-compressed, when made.
    pub gzip: Option<Bytes>,
    /// Strong validator of the body, when made.
    pub etag: Option<HeaderValue>,
}

impl Cached {
    pub fn plain(status: StatusCode, body: impl Into<Bytes>) -> Cached {
        Cached { status, body: body.into(), gzip: None, etag: None }
    }

    /// A JSON answer with its ETag and, past [`MIN_GZIP_BYTES`], a gzip copy (fast level:
    /// JSON this repetitive shrinks ten-fold anyway).
    pub fn negotiable(status: StatusCode, body: Vec<u8>) -> Cached {
        let hash = Sha256::digest(&body);
        let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header value");
        let gzip = (body.len() >= MIN_GZIP_BYTES).then(|| {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&body).expect("writing to memory");
            Bytes::from(encoder.finish().expect("writing to memory"))
        });
        Cached { status, body: body.into(), gzip, etag: Some(etag) }
    }

    fn n_bytes(&self) -> usize {
        self.body.len() + self.gzip.as_ref().map_or(0, Bytes::len)
    }

    /// The JSON response for a request with these headers: 304 when its `If-None-Match`
    /// names the ETag, the gzip copy when it accepts gzip, else the body.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let json = HeaderValue::from_static("application/json");
        let Some(etag) = &self.etag else {
            return (self.status, [(header::CONTENT_TYPE, json)], self.body.clone()).into_response();
        };
        let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
        if self.status == StatusCode::OK && none_match(request, etag) {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag.clone()), vary]).into_response();
        }
        match self.gzip.as_ref().filter(|_| accepts_gzip(request)) {
            Some(gzip) => (
                self.status,
                [
                    (header::CONTENT_TYPE, json),
                    (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                    (header::ETAG, etag.clone()),
                    vary,
                ],
                gzip.clone(),
            )
                .into_response(),
            None => {
                (self.status, [(header::CONTENT_TYPE, json), (header::ETAG, etag.clone()), vary], self.body.clone())
                    .into_response()
            }
        }
    }
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak comparison, as RFC 9110 asks.
fn none_match(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    request.get_all(header::IF_NONE_MATCH).iter().any(|value| {
        value
            .as_bytes()
            .split(|b| *b == b',')
            .map(<[u8]>::trim_ascii)
            .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag)
    })
}

/// Whether `Accept-Encoding` accepts gzip (by name or `*`, with a q-value above 0).
fn accepts_gzip(request: &HeaderMap) -> bool {
    request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|value| {
        value.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let q_zero = parts
                .any(|p| p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        })
    })
}

#[derive(Default)]
struct Entries {
    version: i64,
    by_key: HashMap<String, Cached>,
    n_bytes: usize,
}

#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<Entries>,
}

impl ResponseCache {
    /// The answer stored for `key` at exactly `version`.
    pub fn get(&self, key: &str, version: i64) -> Option<Cached> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.version != version {
            return None;
        }
        entries.by_key.get(key).cloned()
    }

    /// Stores an answer computed at `version`. The probe's version only grows, so an answer
    /// of an older version than the cache's is dropped, and a newer one empties the cache.
    pub fn put(&self, key: String, version: i64, answer: Cached) {
        let size = answer.n_bytes() + key.len();
        if size > MAX_ENTRY_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if version < entries.version {
            return;
        }
        if version > entries.version || entries.n_bytes + size > MAX_CACHE_BYTES {
            entries.by_key.clear();
            entries.n_bytes = 0;
            entries.version = version;
        }
        if let Some(old) = entries.by_key.insert(key, answer) {
            entries.n_bytes -= old.n_bytes();
        }
        entries.n_bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &'static str) -> Cached {
        Cached::plain(StatusCode::OK, text)
    }

    #[test]
    fn entries_live_for_one_version() {
        let cache = ResponseCache::default();
        cache.put("a".into(), 5, answer("five"));
        assert_eq!(cache.get("a", 5).unwrap().body, "five");
        assert!(cache.get("a", 6).is_none(), "a newer version never sees older answers");
        cache.put("b".into(), 4, answer("four"));
        assert!(cache.get("b", 4).is_none(), "an answer older than the cache is dropped");
        cache.put("b".into(), 6, answer("six"));
        assert!(cache.get("a", 5).is_none(), "a newer answer empties the cache");
        assert_eq!(cache.get("b", 6).unwrap().body, "six");
    }

    #[test]
    fn the_byte_cap_starts_over() {
        let cache = ResponseCache::default();
        let big = Bytes::from(vec![b'x'; MAX_ENTRY_BYTES - 8]);
        for i in 0..(MAX_CACHE_BYTES / MAX_ENTRY_BYTES + 2) {
            cache.put(format!("k{i}"), 1, Cached::plain(StatusCode::OK, big.clone()));
        }
        let n = cache.entries.lock().unwrap().n_bytes;
        assert!(n <= MAX_CACHE_BYTES, "{n}");
        cache.put("huge".into(), 1, Cached::plain(StatusCode::OK, vec![0; MAX_ENTRY_BYTES]));
        assert!(cache.get("huge", 1).is_none());
    }

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn negotiation_etags_and_gzip() {
        let body = br#"{"images":[]}"#.repeat(200);
        let answer = Cached::negotiable(StatusCode::OK, body.clone());
        let etag = answer.etag.clone().unwrap();
        let plain = answer.respond(&HeaderMap::new());
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(plain.headers()[header::ETAG], etag);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());

        let gzip = answer.respond(&headers(&[(header::ACCEPT_ENCODING, "br, gzip;q=0.8")]));
        assert_eq!(gzip.headers()[header::CONTENT_ENCODING], "gzip");
        let refused = answer.respond(&headers(&[(header::ACCEPT_ENCODING, "gzip;q=0, br")]));
        assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());
        let mut decoder = flate2::read::GzDecoder::new(&answer.gzip.as_ref().unwrap()[..]);
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut decoder, &mut unzipped).unwrap();
        assert_eq!(unzipped, body);

        let mut conditional = HeaderMap::new();
        conditional.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{}", etag.to_str().unwrap())).unwrap(),
        );
        assert_eq!(answer.respond(&conditional).status(), StatusCode::NOT_MODIFIED);
        let other = headers(&[(header::IF_NONE_MATCH, "\"other\"")]);
        assert_eq!(answer.respond(&other).status(), StatusCode::OK);
        assert!(Cached::negotiable(StatusCode::OK, b"{}".to_vec()).gzip.is_none(), "small bodies stay plain");
    }
}
