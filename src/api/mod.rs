//! The HTTP API and the `serve` stage. Routes under `/v1` answer from the store through
//! read-only connections (`store::queries`); bearer tokens guard them (`auth`); errors share
//! one JSON shape (`error`); answers of the hot routes are cached per database data version
//! (`cache`); `metrics` and `openapi` describe the service. `cascade serve` runs the API beside
//! the feed scheduler (`schedule`) and the watch loop (`crate::watch::WatchLoop`, woken by
//! `POST /v1/registry-events`) and shuts all three down cleanly on SIGTERM or Ctrl-C.
//!
//! No SQL here, and no wire struct outside `views`.

mod auth;
mod body;
mod cache;
mod error;
mod metrics;
mod openapi;
mod routes;
mod schedule;
mod views;

use std::future::Future;
use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::config::Config;
use crate::correlate::MatchPolicy;
use crate::notify::NotifyLoop;
use crate::store::queries::ReadPool;
use crate::store::{Store, StoreError};
use crate::watch::spec::WatchConfig;
use crate::watch::{WakeHandle, WatchLoop, Watcher};

pub use auth::{AuthError, Tokens, READ_TOKEN_ENV, WRITE_TOKEN_ENV};
pub use error::{ApiError, ErrorCode};
pub use schedule::Scheduler;

/// Threads for blocking work (SQLite reads, mail ingests), which also bounds the read
/// connections open at once.
pub const MAX_BLOCKING_THREADS: usize = 8;
/// How long in-flight requests may run on after a shutdown signal.
pub const REQUEST_GRACE: Duration = Duration::from_secs(10);
/// How long a running feed sync may run on after a shutdown signal.
pub const SYNC_GRACE: Duration = Duration::from_secs(30);

/// What the handlers share.
struct Shared {
    pool: Arc<ReadPool>,
    /// The API's own writer connection (POST /v1/mail); the scheduler has another one.
    writer: Arc<Mutex<Store>>,
    tokens: Tokens,
    metrics: metrics::Metrics,
    cache: cache::ResponseCache,
    openapi: Bytes,
    watch: WatchState,
}

/// What the watch routes need: the watch config (for the graph), the platform images are
/// indexed for, and the running watch loop to wake on registry events (None with `--no-watch`).
#[derive(Clone)]
pub struct WatchState {
    pub config: WatchConfig,
    pub platform: String,
    pub wake: Option<WakeHandle>,
}

#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl AppState {
    /// Opens (and migrates) the database at `db` for the API.
    pub fn open(db: &Path, policy: MatchPolicy, tokens: Tokens, watch: WatchState) -> Result<AppState, StoreError> {
        let writer = Store::open_with_policy(db, policy)?;
        let pool = ReadPool::open(db)?;
        let openapi = serde_json::to_vec_pretty(&openapi::document()).expect("the OpenAPI document serializes");
        Ok(AppState {
            shared: Arc::new(Shared {
                pool: Arc::new(pool),
                writer: Arc::new(Mutex::new(writer)),
                tokens,
                metrics: metrics::Metrics::new(routes().into_iter().map(|(path, _)| path).collect()),
                cache: cache::ResponseCache::default(),
                openapi: openapi.into(),
                watch,
            }),
        })
    }
}

/// Every route with its handlers. The router, the metrics' route labels and (checked by a
/// test) the OpenAPI document follow this list.
fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/healthz", get(routes::healthz)),
        ("/readyz", get(routes::readyz)),
        ("/metrics", get(routes::metrics)),
        ("/openapi.json", get(routes::openapi)),
        ("/v1/advisories", get(routes::list_advisories)),
        ("/v1/advisories/{id}", get(routes::get_advisory)),
        ("/v1/advisories/{id}/affected-images", get(routes::affected_images)),
        ("/v1/packages/{name}/images", get(routes::images_by_package)),
        ("/v1/images", get(routes::list_images)),
        ("/v1/images/{reference}/packages", get(routes::image_packages)),
        ("/v1/images/{reference}/vulnerabilities", get(routes::image_vulnerabilities)),
        ("/v1/findings", get(routes::list_findings)),
        ("/v1/images/{reference}/graph", get(routes::image_graph)),
        ("/v1/rebuilds", get(routes::list_rebuilds)),
        ("/v1/notifications", get(routes::list_notifications)),
        // The bodies are read by the handlers with their own bounds (api::body).
        ("/v1/mail", post(routes::post_mail).layer(DefaultBodyLimit::disable())),
        ("/v1/registry-events", post(routes::post_registry_events).layer(DefaultBodyLimit::disable())),
    ]
}

/// The application: routes, JSON answers for unknown paths and methods, auth inside metrics
/// (so that refused requests are counted too).
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (path, method_router) in routes() {
        router = router.route(path, method_router);
    }
    router
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(from_fn_with_state(state.clone(), auth::authorize))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish (for at most [`REQUEST_GRACE`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    shutdown.await;
    let _ = stop_tx.send(true);
    match tokio::time::timeout(REQUEST_GRACE, server).await {
        Ok(joined) => joined.map_err(std::io::Error::other)?,
        Err(_) => {
            tracing::warn!(grace_secs = REQUEST_GRACE.as_secs(), "requests still running after the grace period");
            Ok(())
        }
    }
}

/// Resolves when SIGTERM or SIGINT (Ctrl-C) arrives. The handlers are installed when this
/// is called, before the future is polled, so a signal right after start-up is not lost.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use std::task::Poll;
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            std::future::poll_fn(|cx| {
                if term.poll_recv(cx).is_ready() || interrupt.poll_recv(cx).is_ready() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("invalid listen address {addr:?}: {reason}")]
    Listen { addr: String, reason: String },
    #[error(
        "refusing to listen on {addr}: no API token is configured, and without one only loopback addresses \
         are served (configure [api] tokens, or set {READ_TOKEN_ENV} / {WRITE_TOKEN_ENV})"
    )]
    Unprotected { addr: SocketAddr },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot start the watcher: {0}")]
    Watch(String),
}

impl ServeError {
    /// A configuration or command-line mistake (exit code 2), rather than a runtime failure.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ServeError::Listen { .. } | ServeError::Unprotected { .. } | ServeError::Auth(_) | ServeError::Watch(_)
        )
    }
}

/// How `cascade serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Run the feed scheduler (`--no-sync` turns it off).
    pub sync: bool,
    /// Run the watch loop when images are watched (`--no-watch` turns it off).
    pub watch: bool,
    /// Run the notifier when routes are configured (`--no-notify` turns it off).
    pub notify: bool,
}

fn listen_address(text: &str) -> Result<SocketAddr, ServeError> {
    let invalid = |reason: String| ServeError::Listen { addr: text.to_string(), reason };
    let mut addrs = text.to_socket_addrs().map_err(|e| invalid(e.to_string()))?;
    addrs.next().ok_or_else(|| invalid("it resolves to no address".into()))
}

/// `cascade serve`: resolves tokens and the listen address, opens the database, binds, then
/// serves the API and runs the feed scheduler until SIGTERM or Ctrl-C. Prints
/// `listening on http://ADDR` on stdout once requests are accepted.
pub fn run(config: &Config, options: &ServeOptions) -> Result<(), ServeError> {
    let tokens = Tokens::resolve(&config.api.tokens, &|var| std::env::var(var).ok())?;
    let addr = listen_address(&config.api.listen)?;
    if tokens.is_empty() && !addr.ip().is_loopback() {
        return Err(ServeError::Unprotected { addr });
    }
    let token_names: Vec<String> = tokens.names().into_iter().map(str::to_owned).collect();
    let watch_loop = if options.watch && !config.watch.images.is_empty() {
        let scan = crate::scan::ScanOptions::from_config(config).map_err(|e| ServeError::Watch(e.to_string()))?;
        let watcher = Watcher::new(config.watch.clone(), scan).map_err(|e| ServeError::Watch(e.to_string()))?;
        Some(WatchLoop::start(Store::open_with_policy(&config.db, config.matching)?, watcher))
    } else {
        None
    };
    let watch = WatchState {
        config: config.watch.clone(),
        platform: config.platform.to_string(),
        wake: watch_loop.as_ref().map(WatchLoop::handle),
    };
    let state = AppState::open(&config.db, config.matching, tokens, watch)?;
    let notify_loop = if options.notify && !config.notify.routes.is_empty() {
        let store = Store::open_with_policy(&config.db, config.matching)?;
        Some(NotifyLoop::start(store, config.notify.clone(), config.watch.clone(), config.platform.to_string()))
    } else {
        None
    };
    let listener = std::net::TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_name("cascade-api")
        .build()?;
    let scheduler =
        if options.sync { Some(Scheduler::start(&config.db, config.matching, &config.feeds)?) } else { None };
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let shutdown = shutdown_signal()?;
        tracing::info!(listen = %bound, tokens = ?token_names, db = %config.db.display(), "serving the API");
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "listening on http://{bound}");
        let _ = stdout.flush();
        serve(listener, router(state), shutdown).await
    });
    if let Some(scheduler) = scheduler {
        scheduler.stop(SYNC_GRACE);
    }
    if let Some(watch_loop) = watch_loop {
        watch_loop.stop(SYNC_GRACE);
    }
    if let Some(notify_loop) = notify_loop {
        notify_loop.stop(SYNC_GRACE);
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    served?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document() {
        let document = openapi::document();
        let paths = document["paths"].as_object().unwrap();
        let routed: Vec<&str> = routes().into_iter().map(|(path, _)| path).collect();
        for path in &routed {
            assert!(paths.contains_key(*path), "{path} is routed but not in the OpenAPI document");
        }
        for path in paths.keys() {
            assert!(routed.contains(&path.as_str()), "{path} is documented but not routed");
        }
    }

    #[test]
    fn listen_addresses() {
        assert!(listen_address("127.0.0.1:0").unwrap().ip().is_loopback());
        assert!(listen_address("[::1]:8080").unwrap().ip().is_loopback());
        assert!(listen_address("no-port").is_err());
    }
}
