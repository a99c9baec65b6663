//! RPM version order: rpm's `rpmvercmp` on one version or release string ([`vercmp`]), and the
//! order of whole `[epoch:]version[-release]` strings that rpm 4.18's Lua `rpm.vercmp`
//! (`rpmverParse` + `rpmverCmp`) gives ([`compare`]). Must not allocate or panic: it runs for
//! every package/advisory pair.
//!
//! [`vercmp`] reads a string as segments: maximal runs of ASCII digits or of ASCII letters.
//! Every other byte only separates (`2_0` = `2.0`, `1.` = `1`), except `~` and `^`:
//!
//! - Numeric segments compare as unbounded integers (`10.0001` = `10.1`), alphabetic ones
//!   byte-wise, and a numeric segment is newer than an alphabetic one (`6.0.rc1` > `6.0`).
//! - When all shared segments are equal, the string with more segments is newer
//!   (`2.0.1a` > `2.0.1`).
//! - `~` sorts before everything, even the end of the string (`1.0~rc1` < `1.0`).
//! - `^` sorts after the end of the string but before any further segment (`1.0^git1` >
//!   `1.0`, `1.0^git1` < `1.0.1`).
//!
//! [`compare`] splits a full EVR the way `rpmverParse` does: the epoch is a (possibly empty)
//! run of digits at the start followed by `:`, missing or empty meaning 0; the release is the
//! text after the **last** `-`. Epochs, then versions, then releases compare by [`vercmp`].
//! A missing release is older than any release, even an empty one (`1.0` < `1.0-` < `1.0-1`),
//! as rpm 4.18 says. The policy for a *missing epoch on one side* (source RPMs carry none)
//! belongs to the matcher, not here: here it is 0, as rpm says (`1:0` > `1`).
//!
//! Text before a `:` that is not all digits is no epoch: it stays in the version (`a:1` has
//! epoch 0 and version `a:1`), as rpm reads it.

use std::cmp::Ordering;

use super::cmp_digit_runs;

/// Compare two full RPM versions `[epoch:]version[-release]`: `Less` when `a` is older.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (Evr::split(a), Evr::split(b));
    cmp_digit_runs(a.epoch, b.epoch).then_with(|| vercmp_bytes(a.version, b.version)).then_with(|| {
        match (a.release, b.release) {
            (Some(ra), Some(rb)) => vercmp_bytes(ra, rb),
            (ra, rb) => ra.is_some().cmp(&rb.is_some()),
        }
    })
}

/// rpm's `rpmvercmp` on one version or one release string: `Less` when `a` is older.
pub fn vercmp(a: &str, b: &str) -> Ordering {
    vercmp_bytes(a.as_bytes(), b.as_bytes())
}

/// The fields of a full EVR, borrowed from it. `epoch` is empty or ASCII digits.
struct Evr<'a> {
    epoch: &'a [u8],
    version: &'a [u8],
    release: Option<&'a [u8]>,
}

impl<'a> Evr<'a> {
    fn split(evr: &'a str) -> Evr<'a> {
        let evr = evr.as_bytes();
        let digits = evr.iter().take_while(|c| c.is_ascii_digit()).count();
        let (epoch, rest) = match evr.get(digits) {
            Some(b':') => (&evr[..digits], &evr[digits + 1..]),
            _ => (&evr[..0], evr),
        };
        match rest.iter().rposition(|&c| c == b'-') {
            Some(hyphen) => Evr { epoch, version: &rest[..hyphen], release: Some(&rest[hyphen + 1..]) },
            None => Evr { epoch, version: rest, release: None },
        }
    }
}

/// What starts at the front of a string once separators are skipped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    Tilde,
    Caret,
    Segment,
    End,
}

fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// Drop leading separators; say what comes next.
fn skip_separators(s: &mut &[u8]) -> Next {
    let n = s.iter().take_while(|&&c| is_separator(c)).count();
    *s = &s[n..];
    match s.first() {
        None => Next::End,
        Some(b'~') => Next::Tilde,
        Some(b'^') => Next::Caret,
        Some(_) => Next::Segment,
    }
}

fn vercmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a, b);
    loop {
        let (next_a, next_b) = (skip_separators(&mut a), skip_separators(&mut b));
        match (next_a, next_b) {
            // `~` sorts before everything, the end included.
            (Next::Tilde, Next::Tilde) | (Next::Caret, Next::Caret) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Next::Tilde, _) => return Ordering::Less,
            (_, Next::Tilde) => return Ordering::Greater,
            // `^` sorts after the end, before any segment.
            (Next::End, Next::Caret) | (Next::Caret, Next::Segment) => return Ordering::Less,
            (Next::Caret, Next::End) | (Next::Segment, Next::Caret) => return Ordering::Greater,
            (Next::End, Next::End) => return Ordering::Equal,
            // The side with segments left is newer.
            (Next::End, Next::Segment) => return Ordering::Less,
            (Next::Segment, Next::End) => return Ordering::Greater,
            (Next::Segment, Next::Segment) => {}
        }
        let numeric = a[0].is_ascii_digit();
        let in_segment = |c: &u8| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() };
        let len_a = a.iter().take_while(|c| in_segment(c)).count();
        let len_b = b.iter().take_while(|c| in_segment(c)).count();
        if len_b == 0 {
            // Segments of different kinds: a number is newer than letters.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (seg_a, seg_b) = (&a[..len_a], &b[..len_b]);
        let ord = if numeric { cmp_digit_runs(seg_a, seg_b) } else { seg_a.cmp(seg_b) };
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[len_a..];
        b = &b[len_b..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    #[test]
    fn vercmp_follows_rpmvercmp() {
        for (a, b, expected) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("6.0.rc1", "6.0", Greater),
            ("10b2", "10a1", Greater),
            ("1.0aa", "1.0a", Greater),
            ("10.0001", "10.1", Equal),
            ("10.0001", "10.0039", Less),
            ("4.999.9", "5.0", Less),
            ("2.0", "2_0", Equal),
            ("a+", "a_", Equal),
            ("1.", "1", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0^git1", "1.01", Less),
            ("1.0^20160101", "1.0.1", Less),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("1.0~", "1.0^", Less),
            ("27.el9", "28.el9", Less),
            ("65.el7_6", "65.el7", Greater),
            ("2.el8_8.6", "2.el8_10", Less),
            // On a raw string `-` only separates.
            ("2.9.1-6.0.1.el7_2.3", "2.9.1-6.el7_2.3", Greater),
            ("1.123456789012345678901234567890", "1.123456789012345678901234567889", Greater),
        ] {
            assert_eq!(vercmp(a, b), expected, "{a} vs {b}");
            assert_eq!(vercmp(b, a), expected.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn compare_splits_epoch_version_release() {
        for (a, b, expected) in [
            ("1:1.0-1", "2.0-1", Greater),
            ("0:2.9.1-1.el8", "2.9.1-1.el8", Equal),
            (":1.0", "0:1.0", Equal),
            ("1:0", "1", Greater),
            ("2.9.4-1.el8ae", "2.9.13-1.el8ae", Less),
            ("3.0.7-27.el9", "3.0.7-28.el9", Less),
            // The release is after the last hyphen: `1-2-3` / `4`.
            ("1-2-3-4", "1.2.3.4", Less),
            ("1-2-3-4", "1.2.3-4", Equal),
            // A missing release is older than any release, even `~` or an empty one.
            ("1.0", "1.0-1", Less),
            ("1.0", "1.0-~1", Less),
            ("1.0", "1.0-", Less),
            ("1.0-", "1.0-1", Less),
            ("1.0^", "1.0-1", Greater),
            // Not an epoch: the text before `:` stays in the version.
            ("a:1", "a:1", Equal),
            ("a:1", "1", Less),
            ("", "0", Less),
        ] {
            assert_eq!(compare(a, b), expected, "{a} vs {b}");
            assert_eq!(compare(b, a), expected.reverse(), "{b} vs {a}");
        }
    }
}
