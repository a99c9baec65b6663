//! Actions cascade takes on findings and digests: rebuild triggers and package-index checks.

pub mod hmac;
pub mod trigger;
pub mod pkgindex;
pub mod plan;
