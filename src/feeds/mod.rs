//! Advisory feeds: definitions (`feeds/*.toml` plus the user's config), fetching, and the
//! per-format parsers that turn documents into normalised advisories; `sync` is the stage that
//! runs them into the store.

pub mod definition;
pub mod fetch;
pub mod formats;
pub mod sync;
