//! Version comparison per package ecosystem: dpkg (deb-version), apk (apk-tools), rpm (EVR).
//! Owns the three orderings and nothing else: no parsing into stored types, no IO, no logging,
//! no allocation in the comparison path, and never a panic, whatever the input.
//!
//! Each comparator emulates one upstream implementation, checked against the vectors in
//! `$CASCADE_SHARED_DATA/versions/` and, in `tests/it/versions.rs`, against the real tools:
//!
//! - [`dpkg::compare`]: dpkg's `verrevcmp` on `[epoch:]upstream[-revision]` as in
//!   deb-version(5) and `dpkg --compare-versions` (dpkg 1.21).
//! - [`apk::compare`]: apk-tools 3.x (master) `src/version.c`, including the 2024 lexer rewrite
//!   (leading-zero components compare as strings, `~<hash>` commit suffixes).
//! - [`rpm::vercmp`]: rpm's `rpmvercmp` on one version or release string (rpm 4.18, with `~`
//!   and `^`); [`rpm::compare`]: full `[epoch:]version[-release]` strings the way rpm's Lua
//!   `rpm.vercmp` (`rpmverCmp`) orders them.
//!
//! Where upstream rejects or cannot order an input, each module documents the deterministic
//! choice it makes instead. Every comparator is a total preorder: antisymmetric
//! (`compare(b, a) == compare(a, b).reverse()`) and transitive, so it is safe for sorting.
//! `Equal` means "the same version", not "the same string" (`1.0` and `1.00` are equal for dpkg).

pub mod apk;
pub mod dpkg;
pub mod rpm;

use std::cmp::Ordering;

use crate::inventory::Ecosystem;

/// Compare two versions of `scheme`'s packages: `Less` when `a` is older than `b`.
pub fn compare(scheme: Ecosystem, a: &str, b: &str) -> Ordering {
    match scheme {
        Ecosystem::Dpkg => dpkg::compare(a, b),
        Ecosystem::Apk => apk::compare(a, b),
        Ecosystem::Rpm => rpm::compare(a, b),
    }
}

/// Two runs of ASCII digits compared as unbounded non-negative integers: leading zeros are
/// ignored and an empty run is 0. Never overflows, whatever the length.
fn cmp_digit_runs(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Test helper: `compare(a, b)` is `expected`, and the reverse both ways.
#[cfg(test)]
pub(crate) fn assert_order(compare: fn(&str, &str) -> Ordering, a: &str, b: &str, expected: Ordering) {
    assert_eq!(compare(a, b), expected, "{a} vs {b}");
    assert_eq!(compare(b, a), expected.reverse(), "{b} vs {a}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    #[test]
    fn digit_runs_compare_as_unbounded_integers() {
        for (a, b, expected) in [
            ("", "0", Equal),
            ("0", "000", Equal),
            ("9", "10", Less),
            ("0010", "9", Greater),
            ("18446744073709551616", "18446744073709551615", Greater),
            ("000123456789012345678901234567890", "123456789012345678901234567890", Equal),
        ] {
            assert_eq!(cmp_digit_runs(a.as_bytes(), b.as_bytes()), expected, "{a} vs {b}");
            assert_eq!(cmp_digit_runs(b.as_bytes(), a.as_bytes()), expected.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn compare_dispatches_by_ecosystem() {
        // `1.0~rc1` is older than `1.0` for dpkg and rpm; for apk `~` must be followed by a
        // hex hash, so `~rc1` is invalid and sorts below the end of `1.0`.
        assert_eq!(compare(Ecosystem::Dpkg, "1.0~rc1", "1.0"), Less);
        assert_eq!(compare(Ecosystem::Rpm, "1.0~rc1", "1.0"), Less);
        assert_eq!(compare(Ecosystem::Apk, "1.0_rc1", "1.0"), Less);
        // `1.0a` vs `1.0.1`: a letter after a number is older than another number for apk,
        // and rpm agrees (alphabetic segment vs numeric segment).
        assert_eq!(compare(Ecosystem::Apk, "1.0a", "1.0.1"), Less);
        assert_eq!(compare(Ecosystem::Rpm, "1.0a", "1.0.1"), Less);
        // dpkg: `.` is a non-letter, so it sorts after the letter `a`.
        assert_eq!(compare(Ecosystem::Dpkg, "1.0a", "1.0.1"), Less);
        assert_eq!(compare(Ecosystem::Dpkg, "1:0", "2.0"), Greater);
    }
}
