//! Advisory feeds: definitions (`feeds/*.toml` plus the user's config), fetching, and the
//! per-format parsers that turn documents into normalised advisories.

pub mod formats;
