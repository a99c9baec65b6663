//! Actions cascade takes on findings and digests: rebuild triggers and package-index checks.

pub mod hmac;
pub mod pkgindex;
pub mod plan;
pub mod trigger;
