//! The one integration test binary: real SQLite, the real distribution registry on a loopback
//! port, real HTTP. `support` holds the shared helpers; each module tests one boundary.

mod api;
mod correlate;
mod crash;
mod feeds_alpine_redhat;
mod feeds_debian;
mod feeds_osv;
mod feeds_sync;
mod hostile;
mod mail;
mod notify;
mod pkgdb;
mod pkgdb_rpm;
mod registry;
mod scan;
mod secrets;
mod support;
mod triggers;
mod versions;
mod watch;
