//! The handlers: parse the request (path, query, body) into typed arguments, run the store
//! query on a pooled read-only connection (a blocking thread), and render a view. No SQL here.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::body::Limited;
use super::cache::Cached;
use super::error::{ApiError, ErrorCode};
use super::views::{
    AdvisorySummaryView, AdvisoryView, AffectedImagesView, FindingView, ImagePackagesView, ImageView, MailView,
    PackageView, PageView, VulnerabilitiesView,
};
use super::AppState;
use crate::advisories::Severity;
use crate::images::reference::ImageRef;
use crate::output::notifications::NotificationView;
use crate::output::rebuilds::{GraphEntryView, RebuildView};
use crate::store::queries::{AdvisoryFilter, FindingFilter, FindingKey, ImageFilter};
use crate::store::{Store, StoredImage};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
/// Largest POST /v1/mail body (a long advisory is tens of kilobytes).
pub const MAX_MAIL_BYTES: usize = 1024 * 1024;
/// Longest path argument (advisory id, package name, image reference) accepted.
const MAX_ARGUMENT_BYTES: usize = 512;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A rendered JSON answer.
fn json_bytes(status: StatusCode, body: impl Into<Bytes>) -> Response {
    let mut response = (status, body.into()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

fn json<T: Serialize>(view: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(view).map_err(ApiError::internal)?;
    Ok(json_bytes(StatusCode::OK, body))
}

/// Runs `f` on a pooled read-only connection, on a blocking thread.
async fn with_store<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.shared.pool.clone();
    tokio::task::spawn_blocking(move || {
        let store = pool.get()?;
        f(&store)
    })
    .await
    .map_err(ApiError::internal)?
}

/// The answer for `key` at the database's current data version: from the cache, or computed
/// by `compute` and cached when no commit happened while it ran.
async fn cached<F>(state: &AppState, key: String, compute: F) -> Result<Cached, ApiError>
where
    F: FnOnce(&Store) -> Result<Cached, ApiError> + Send + 'static,
{
    let shared = &state.shared;
    // A few microseconds (a mutex and a read of the WAL index header): run in place.
    let version = shared.pool.data_version()?;
    if let Some(hit) = shared.cache.get(&key, version) {
        return Ok(hit);
    }
    let answer = with_store(state, compute).await?;
    if shared.pool.data_version()? == version {
        shared.cache.put(key, version, answer.clone());
    }
    Ok(answer)
}

fn path_argument(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(value) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if value.is_empty() || value.len() > MAX_ARGUMENT_BYTES {
        return Err(ApiError::bad_request(format!("path argument must be 1 to {MAX_ARGUMENT_BYTES} bytes long")));
    }
    Ok(value)
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v).map_err(|e| ApiError::bad_request(e.body_text()))
}

fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(ApiError::bad_request(format!("limit {n} is out of range 1..={MAX_LIMIT}"))),
    }
}

/// Cursors are opaque to clients: the URL-safe base64 of a JSON array of the route's name and
/// the keyset position.
fn encode_cursor<K: Serialize>(route: &str, key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&(route, key)).expect("keys serialize"))
}

fn decode_cursor<K: DeserializeOwned>(route: &str, cursor: Option<&str>) -> Result<Option<K>, ApiError> {
    let Some(cursor) = cursor else { return Ok(None) };
    let invalid = || ApiError::bad_request("invalid cursor: pass back the next_cursor of a previous page");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let (tag, key): (String, K) = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if tag != route {
        return Err(invalid());
    }
    Ok(Some(key))
}

fn parse_severity(text: &str) -> Result<Severity, ApiError> {
    [Severity::Negligible, Severity::Low, Severity::Medium, Severity::High, Severity::Critical]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| {
            ApiError::bad_request(format!("severity {text:?} is not one of negligible, low, medium, high, critical"))
        })
}

/// The stored image of a reference: as stored, else in canonical form (`debian:bookworm` is
/// stored as `docker.io/library/debian:bookworm`); with several platforms, `platform` picks.
fn find_image(store: &Store, reference: &str, platform: Option<&str>) -> Result<StoredImage, ApiError> {
    let mut found = store.images_by_reference(reference, platform)?;
    if found.is_empty() {
        if let Ok(canonical) = reference.parse::<ImageRef>().map(|r| r.to_string()) {
            if canonical != reference {
                found = store.images_by_reference(&canonical, platform)?;
            }
        }
    }
    match found.len() {
        0 => Err(ApiError::not_found(match platform {
            Some(p) => format!("no image {reference} for platform {p}"),
            None => format!("no image {reference}"),
        })),
        1 => Ok(found.remove(0)),
        _ => {
            let platforms: Vec<&str> = found.iter().map(|i| i.platform.as_str()).collect();
            Err(ApiError::bad_request(format!(
                "image {reference} has several platforms ({}); choose one with ?platform=",
                platforms.join(", ")
            )))
        }
    }
}

pub async fn healthz() -> Response {
    json_bytes(StatusCode::OK, Bytes::from_static(b"{\"status\":\"ok\"}"))
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match with_store(&state, |store| Ok(store.ping()?)).await {
        Ok(()) => json_bytes(StatusCode::OK, Bytes::from_static(b"{\"status\":\"ready\"}")),
        Err(_) => ApiError::new(ErrorCode::Unavailable, "the database does not answer").into_response(),
    }
}

pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store_part = cached(&state, "metrics".to_string(), |store| {
        let feeds = store.feed_statuses()?;
        let counts = store.counts()?;
        let mut text = String::new();
        super::metrics::render_store(&feeds, &counts, &mut text);
        Ok(Cached::plain(StatusCode::OK, text))
    })
    .await?;
    let mut text = String::new();
    state.shared.metrics.render_requests(&mut text);
    let mut body = text.into_bytes();
    body.extend_from_slice(&store_part.body);
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(response)
}

pub async fn openapi(State(state): State<AppState>) -> Response {
    json_bytes(StatusCode::OK, state.shared.openapi.clone())
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; GET /openapi.json lists them")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route; GET /openapi.json lists them")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvisoriesQuery {
    feed: Option<String>,
    /// Id prefix.
    q: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list_advisories(
    State(state): State<AppState>,
    q: Result<Query<AdvisoriesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor::<(String, String)>("advisories", q.cursor.as_deref())?;
    let filter = AdvisoryFilter { feed: q.feed, id_prefix: q.q };
    let page = with_store(&state, move |store| Ok(store.advisories_page(&filter, after.as_ref(), limit)?)).await?;
    json(&PageView {
        items: page.items.into_iter().map(AdvisorySummaryView::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor("advisories", &k)),
    })
}

pub async fn get_advisory(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_argument(path)?;
    let view = with_store(&state, move |store| match store.advisory_detail(&id)? {
        Some(detail) => Ok(AdvisoryView::new(&id, detail)),
        None => Err(ApiError::not_found(format!("no feed knows advisory {id}"))),
    })
    .await?;
    json(&view)
}

/// The benchmarked route: answers come from the response cache while the database is unchanged.
pub async fn affected_images(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = path_argument(path)?;
    let key = format!("affected-images\n{id}");
    let answer = cached(&state, key, move |store| match store.affected_images(&id)? {
        Some(images) => {
            let body = serde_json::to_vec(&AffectedImagesView::new(&id, images)).map_err(ApiError::internal)?;
            Ok(Cached::negotiable(StatusCode::OK, body))
        }
        None => {
            let error = ApiError::not_found(format!("no feed knows advisory {id}"));
            Ok(Cached::plain(error.code.status(), error.body()))
        }
    })
    .await?;
    Ok(answer.respond(&headers))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageImagesQuery {
    version_below: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn images_by_package(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<PackageImagesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let name = path_argument(path)?;
    let q = query(q)?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor::<(String, String)>("package-images", q.cursor.as_deref())?;
    let below = q.version_below.filter(|v| !v.is_empty());
    let page = with_store(&state, move |store| {
        Ok(store.images_with_package(&name, below.as_deref(), after.as_ref(), limit)?)
    })
    .await?;
    json(&PageView {
        items: page.items.into_iter().map(ImagePackagesView::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor("package-images", &k)),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesQuery {
    distro: Option<String>,
    release: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list_images(
    State(state): State<AppState>,
    q: Result<Query<ImagesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor::<(String, String)>("images", q.cursor.as_deref())?;
    let filter = ImageFilter { distro: q.distro, release: q.release };
    let page = with_store(&state, move |store| Ok(store.images_page(&filter, after.as_ref(), limit)?)).await?;
    json(&PageView {
        items: page.items.into_iter().map(ImageView::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor("images", &k)),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageQuery {
    platform: Option<String>,
}

#[derive(Debug, Serialize)]
struct ImageInventoryView {
    image: ImageView,
    packages: Vec<PackageView>,
}

pub async fn image_packages(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<ImageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let reference = path_argument(path)?;
    let q = query(q)?;
    let view = with_store(&state, move |store| {
        let image = find_image(store, &reference, q.platform.as_deref())?;
        let packages = store.image_packages(image.id)?;
        Ok(ImageInventoryView { image: image.into(), packages: packages.into_iter().map(Into::into).collect() })
    })
    .await?;
    json(&view)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilitiesQuery {
    platform: Option<String>,
    severity: Option<String>,
    fixable: Option<bool>,
}

pub async fn image_vulnerabilities(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<VulnerabilitiesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let reference = path_argument(path)?;
    let q = query(q)?;
    let filter = FindingFilter {
        min_severity: q.severity.as_deref().map(parse_severity).transpose()?,
        fixable: q.fixable.unwrap_or(false),
        ..FindingFilter::default()
    };
    let view = with_store(&state, move |store| {
        let image = find_image(store, &reference, q.platform.as_deref())?;
        let coverage = store.coverage(image.distro.as_deref(), image.release.as_deref())?;
        let findings = store.image_findings(image.id, &filter)?;
        Ok(VulnerabilitiesView::new(image, coverage, findings))
    })
    .await?;
    json(&view)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    severity: Option<String>,
    fixable: Option<bool>,
    image: Option<String>,
    platform: Option<String>,
    distro: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list_findings(
    State(state): State<AppState>,
    q: Result<Query<FindingsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor::<FindingKey>("findings", q.cursor.as_deref())?;
    let mut filter = FindingFilter {
        min_severity: q.severity.as_deref().map(parse_severity).transpose()?,
        fixable: q.fixable.unwrap_or(false),
        image_id: None,
        distro: q.distro,
    };
    let page = with_store(&state, move |store| {
        if let Some(reference) = &q.image {
            filter.image_id = Some(find_image(store, reference, q.platform.as_deref())?.id);
        }
        Ok(store.findings_page(&filter, after.as_ref(), limit)?)
    })
    .await?;
    json(&PageView {
        items: page.items.into_iter().map(|f| FindingView::new(f, true)).collect(),
        next_cursor: page.next.map(|k| encode_cursor("findings", &k)),
    })
}

/// The media type of a request, without parameters, lowercase.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

pub async fn post_mail(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    match media_type(&headers).as_deref() {
        Some("message/rfc822" | "text/plain") => {}
        other => {
            super::body::drain(body).await;
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "send the raw message as message/rfc822 or text/plain, not {}",
                    other.unwrap_or("without a Content-Type")
                ),
            ));
        }
    }
    let body = match super::body::read_limited(body, MAX_MAIL_BYTES).await {
        Ok(Limited::Complete(bytes)) => bytes,
        Ok(Limited::TooLarge) => {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("a message may be at most {MAX_MAIL_BYTES} bytes"),
            ))
        }
        Err(e) => return Err(ApiError::bad_request(format!("cannot read the request body: {e}"))),
    };
    let writer = state.shared.writer.clone();
    let view = tokio::task::spawn_blocking(move || -> Result<MailView, ApiError> {
        let (advisories, report) = crate::mail::import::collect(vec![("POST /v1/mail".to_string(), body)]);
        if let Some((_, reason)) = report.skipped.first() {
            tracing::info!(reason = %reason, "posted mail skipped");
            return Ok(MailView::skipped(reason.clone()));
        }
        let ids: Vec<String> = advisories.iter().map(|a| a.id.clone()).collect();
        let mut store = writer.lock().unwrap_or_else(|e| e.into_inner());
        let report = crate::mail::import::store_advisories(&mut store, advisories, report, None)
            .map_err(|e| ApiError::internal(format!("{e:#}")))?;
        tracing::info!(advisories = ?ids, n_added = report.changes.n_added, "posted mail stored");
        Ok(MailView::stored(ids, &report.changes))
    })
    .await
    .map_err(ApiError::internal)??;
    let status = if view.stored { StatusCode::ACCEPTED } else { StatusCode::OK };
    let body = serde_json::to_vec(&view).map_err(ApiError::internal)?;
    Ok(json_bytes(status, body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebuildsQuery {
    image: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/rebuilds`: rebuild requests, newest first, with causes and outcomes.
pub async fn list_rebuilds(
    State(state): State<AppState>,
    q: Result<Query<RebuildsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let image = q.image.as_deref().map(crate::graph::canonical);
    let view = with_store(&state, move |store| {
        let records = store.rebuilds(image.as_deref(), limit)?;
        Ok(serde_json::json!({ "items": records.iter().map(RebuildView::from).collect::<Vec<_>>() }))
    })
    .await?;
    json(&view)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsQuery {
    status: Option<String>,
    route: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/notifications`: the outbox, newest first (route names, never webhook URLs).
pub async fn list_notifications(
    State(state): State<AppState>,
    q: Result<Query<NotificationsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    if let Some(s) = q.status.as_deref().filter(|s| !["pending", "delivered", "dead"].contains(s)) {
        return Err(ApiError::bad_request(format!("unknown status {s:?}: use pending, delivered or dead")));
    }
    let limit = page_limit(q.limit)?;
    let view = with_store(&state, move |store| {
        let messages = store.outbox(q.status.as_deref(), q.route.as_deref(), limit)?;
        Ok(serde_json::json!({ "items": messages.iter().map(NotificationView::from).collect::<Vec<_>>() }))
    })
    .await?;
    json(&view)
}

/// `GET /v1/images/{reference}/graph`: the image, the chain of images it is built on, and
/// the images built on it.
pub async fn image_graph(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let reference = crate::graph::canonical(&path_argument(path)?);
    let watch = state.shared.watch.clone();
    let view = with_store(&state, move |store| {
        let entries = crate::watch::graph_entries(store, &watch.config, &watch.platform)?;
        let find = |r: &str| entries.iter().find(|e| e.reference == r);
        let Some(entry) = find(&reference) else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("{reference} is neither watched nor indexed, nor the parent of an image that is"),
            ));
        };
        let mut ancestors = Vec::new();
        let mut current = entry;
        while let Some(parent) = current.parent.as_ref().and_then(|edge| find(&edge.parent)) {
            if ancestors.len() >= entries.len() {
                break;
            }
            ancestors.push(GraphEntryView::from(parent));
            current = parent;
        }
        let children: Vec<GraphEntryView> =
            entry.children.iter().filter_map(|c| find(c)).map(GraphEntryView::from).collect();
        Ok(serde_json::json!({ "image": GraphEntryView::from(entry), "ancestors": ancestors, "children": children }))
    })
    .await?;
    json(&view)
}

/// `POST /v1/registry-events`: the distribution registry's notification envelope. Each
/// manifest push of a watched repository makes the watcher poll that tag (HEAD) now; the
/// event itself is never trusted for a digest.
pub async fn post_registry_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    match media_type(&headers).as_deref() {
        Some("application/vnd.docker.distribution.events.v2+json" | "application/json") => {}
        other => {
            super::body::drain(body).await;
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "send the registry's envelope as application/vnd.docker.distribution.events.v2+json, not {}",
                    other.unwrap_or("without a Content-Type")
                ),
            ));
        }
    }
    let limit = crate::watch::events::MAX_EVENTS_BYTES;
    let body = match super::body::read_limited(body, limit).await {
        Ok(Limited::Complete(bytes)) => bytes,
        Ok(Limited::TooLarge) => {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, format!("an envelope may be at most {limit} bytes")))
        }
        Err(e) => return Err(ApiError::bad_request(format!("cannot read the request body: {e}"))),
    };
    let hints = crate::watch::events::push_hints(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let writer = state.shared.writer.clone();
    let n_hints = hints.len();
    let n_matched = tokio::task::spawn_blocking(move || -> Result<usize, ApiError> {
        let store = writer.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::watch::unix_now();
        let mut n = 0;
        for hint in &hints {
            n += store.hint_watched(&hint.host, &hint.repository, hint.tag.as_deref(), now)?;
        }
        Ok(n)
    })
    .await
    .map_err(ApiError::internal)??;
    if n_matched > 0 {
        if let Some(wake) = &state.shared.watch.wake {
            wake.wake();
        }
    }
    tracing::info!(n_pushes = n_hints, n_matched, "registry events received");
    let body = serde_json::to_vec(&serde_json::json!({ "n_pushes": n_hints, "n_watched_tags": n_matched }))
        .map_err(ApiError::internal)?;
    Ok(json_bytes(StatusCode::ACCEPTED, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_foreign_or_broken_ones() {
        let key = ("docker.io/library/debian:12".to_string(), "linux/amd64".to_string());
        let cursor = encode_cursor("images", &key);
        assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{cursor}");
        assert_eq!(decode_cursor::<(String, String)>("images", Some(&cursor)).unwrap(), Some(key));
        assert!(decode_cursor::<(String, String)>("advisories", Some(&cursor)).is_err(), "another route's");
        assert!(decode_cursor::<(i64, i64)>("images", Some(&cursor)).is_err(), "another key type");
        assert!(decode_cursor::<(i64, i64)>("findings", Some("%%%")).is_err());
        assert_eq!(decode_cursor::<(i64, i64)>("findings", None).unwrap(), None);
    }

    #[test]
    fn limits_and_severities() {
        assert_eq!(page_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(page_limit(Some(MAX_LIMIT)).unwrap(), MAX_LIMIT);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(MAX_LIMIT + 1)).is_err());
        assert_eq!(parse_severity("high").unwrap(), Severity::High);
        assert!(parse_severity("moderate").is_err());
        assert!(parse_severity("unknown").is_err());
    }

    #[test]
    fn media_types() {
        let mut headers = HeaderMap::new();
        assert_eq!(media_type(&headers), None);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("Message/RFC822; charset=utf-8"));
        assert_eq!(media_type(&headers).as_deref(), Some("message/rfc822"));
    }
}
