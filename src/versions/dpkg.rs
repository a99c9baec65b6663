//! Debian version order, as `dpkg --compare-versions` (dpkg 1.21) and deb-version(5) define it.
//! Must not allocate or panic: it runs for every package/advisory pair.
//!
//! A version is `[epoch:]upstream[-revision]`, after trimming the blanks (spaces, tabs) dpkg
//! also trims:
//!
//! - The epoch is the text before the first `:`; a missing epoch is 0. Epochs compare as
//!   unbounded integers (`0:1` = `00:1` = `1`).
//! - The revision is the text after the **last** `-`; a missing revision compares like `0`
//!   (`1.0` = `1.0-0`), because an empty string and `0` are equal to dpkg's `verrevcmp`.
//! - Upstream, then revision, compare by dpkg's `verrevcmp`: alternate runs of non-digits and
//!   of digits. Non-digit runs compare byte by byte with `~` < end of run < letters <
//!   everything else; digit runs compare as unbounded integers, leading zeros ignored.
//!
//! Inputs dpkg refuses are still ordered, deterministically:
//!
//! - When the text before the first `:` is not a non-empty run of ASCII digits (`a:1`,
//!   `:1`), there is no epoch: the epoch is 0 and the `:` stays part of the upstream version,
//!   where it sorts as a non-letter. `1:` has epoch 1 and an empty upstream.
//! - An empty revision (`1.0-`) or upstream (`-1`) compares like an empty run (= `0`).
//! - A blank version (empty after trimming) sorts below every other version and equals other
//!   blank versions, as `dpkg --compare-versions '' lt '~'` does.
//! - Bytes outside ASCII (dpkg warns about them) sort after letters and before ASCII
//!   punctuation, as dpkg on amd64 orders them: its `order()` sees a signed `char` there. On
//!   arm64, where `char` is unsigned, dpkg would put them after ASCII punctuation instead.

use std::cmp::Ordering;

use super::cmp_digit_runs;

/// Compare two Debian versions: `Less` when `a` is older than `b`.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (Parts::split(a), Parts::split(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => cmp_digit_runs(a.epoch, b.epoch)
            .then_with(|| verrevcmp(a.upstream, b.upstream))
            .then_with(|| verrevcmp(a.revision, b.revision)),
    }
}

/// The three fields of a version, borrowed from it. `epoch` is empty or ASCII digits.
struct Parts<'a> {
    epoch: &'a [u8],
    upstream: &'a [u8],
    revision: &'a [u8],
}

impl<'a> Parts<'a> {
    /// Split `version` into its fields; `None` when it is blank.
    fn split(version: &'a str) -> Option<Parts<'a>> {
        let version = version.trim_matches([' ', '\t']).as_bytes();
        if version.is_empty() {
            return None;
        }
        let (epoch, rest) = match version.iter().position(|&c| c == b':') {
            Some(colon) if colon > 0 && version[..colon].iter().all(u8::is_ascii_digit) => {
                (&version[..colon], &version[colon + 1..])
            }
            _ => (&version[..0], version),
        };
        let (upstream, revision) = match rest.iter().rposition(|&c| c == b'-') {
            Some(hyphen) => (&rest[..hyphen], &rest[hyphen + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        Some(Parts { epoch, upstream, revision })
    }
}

/// The weight of one byte of a non-digit run, `None` being the end of the run (or a digit):
/// `~` < end < letters < non-ASCII < other ASCII. Distinct bytes get distinct weights.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        // dpkg's `order()` adds 256 to a signed char: bytes >= 0x80 land on 128..=255.
        Some(c) if c >= 0x80 => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` on one field (upstream version or revision).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut a, mut b) = (a, b);
    while !a.is_empty() || !b.is_empty() {
        // Non-digit run, byte by byte. Equal weights are never 0 here, so both sides still
        // have a byte to step over.
        while a.first().is_some_and(|c| !c.is_ascii_digit()) || b.first().is_some_and(|c| !c.is_ascii_digit()) {
            let (wa, wb) = (weight(a.first().copied()), weight(b.first().copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            a = &a[1..];
            b = &b[1..];
        }
        let digits_a = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let digits_b = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let ord = cmp_digit_runs(&a[..digits_a], &b[..digits_b]);
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[digits_a..];
        b = &b[digits_b..];
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn check(a: &str, b: &str, expected: Ordering) {
        crate::versions::assert_order(compare, a, b, expected);
    }

    #[test]
    fn epoch_upstream_revision() {
        check("0", "0:0-0", Equal);
        check("1.0", "1.0-0", Equal);
        check("1", "0:1", Equal);
        check("00:1", "1", Equal);
        check("1:0", "2.0", Greater);
        check("4:12.2.0-3", "1.203", Greater);
        check("99999999999999999999:1", "99999999999999999998:2", Greater);
        // The revision starts after the last hyphen.
        check("1.0-2-1", "1.0-10-1", Less);
        check("1.0-2-1", "1.0-2-0", Greater);
    }

    #[test]
    fn tilde_end_letters_non_letters() {
        check("1~", "1", Less);
        check("0foo~~", "0foo~", Less);
        check("1.0~rc1", "1.0~~", Greater);
        check("1.0~rc1", "1.0", Less);
        check("0foo.bar", "0foobar", Greater);
        check("1.0.8+nmu1", "1.0.8", Greater);
        check("1.0a", "1.0+", Less);
    }

    #[test]
    fn digit_runs_ignore_leading_zeros() {
        check("1.09", "1.9", Equal);
        check("1.0000-1", "1.0-1", Equal);
        check("1.2.3-1+deb12u10", "1.2.3-1+deb12u5", Greater);
        check("1.123456789012345678901234567890", "1.123456789012345678901234567889", Greater);
    }

    #[test]
    fn debian_and_ubuntu_revisions() {
        check("1.2.3-1+deb11u1", "1.2.3-1", Greater);
        check("1.2.3-1", "1.2.3-1~deb11u1", Greater);
        check("1.2.3-1~deb11u1", "1.2.3-1~bpo11+1", Greater);
        check("2.36-9+deb12u4+b1", "2.36-9+deb12u4", Greater);
        check("1.2.3-1build1", "1.2.3-1", Greater);
        check("1.2.3-1build1", "1.2.3-1ubuntu1", Less);
        check("10.3.1-0ubuntu0.22.04.1", "10.3.1-0ubuntu1", Less);
    }

    #[test]
    fn input_dpkg_refuses_is_still_ordered() {
        // No valid epoch: the colon is part of the upstream version (a non-letter).
        check("a:1", "a:1", Equal);
        check(":1", "1", Greater);
        check("1:", "1:0", Equal);
        check("1.0-", "1.0", Equal);
        check("-1", "0-1", Equal);
        // Blank versions sort first, even before `~`.
        check("", "~", Less);
        check(" \t", "", Equal);
        check(" 1.0\t", "1.0", Equal);
        // Non-ASCII bytes: after letters, before ASCII punctuation.
        check("1.0é", "1.0z", Greater);
        check("1.0é", "1.0+", Less);
    }
}
