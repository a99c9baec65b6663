//! Logging setup: `RUST_LOG` filters (default `info`), `RUST_LOG_FORMAT=json` switches to
//! one JSON object per line. Logs go to stderr so that command output on stdout stays clean.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,cascade=info"));
    // The HTTP client logs each request's URL at debug level, and webhook URLs are secrets:
    // its records stay at info unless RUST_LOG names it explicitly.
    let asked = std::env::var("RUST_LOG").unwrap_or_default();
    for client in ["ureq", "ureq_proto"] {
        if !asked.split(',').any(|d| d.trim().starts_with(client)) {
            filter = filter.add_directive(format!("{client}=info").parse().expect("a valid directive"));
        }
    }
    let json = std::env::var("RUST_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests calling twice) is harmless: keep the first subscriber.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
