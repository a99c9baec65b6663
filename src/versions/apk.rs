//! Alpine version order, as apk-tools 3.x (master) `src/version.c` defines it, written from its
//! rules and test data. Must not allocate or panic: it runs for every package/advisory pair.
//!
//! A version is `digits{.digits}[letter]{_suffix[digits]}[~hash][-rdigits]`, read as tokens:
//!
//! - the initial number, then `.`-separated numbers. The initial number, suffix numbers and
//!   the `-r` revision compare as integers. A later number compares as an integer too, unless
//!   either side starts with `0`: then both compare as strings (`8.2.0` < `8.2.001`,
//!   `8.2.0015` < `8.2.002`), the 3.x rule that 2.14 (Alpine ≤ 3.22) does not have;
//! - one lowercase letter right after a number (`1.0a`);
//! - `_suffix` words, ranked `_alpha` < `_beta` < `_pre` < `_rc` < (none) < `_cvs` < `_svn` <
//!   `_git` < `_hg` < `_p`, each optionally numbered (`_rc2`);
//! - `~hash`, lowercase hex (3.x only), compared as a string;
//! - `-rN`, the package revision, always last.
//!
//! Two versions compare token by token. When they agree up to a point where the next tokens
//! are of different kinds, the one that goes on is newer (`1.0.1` > `1.0a` > `1.0`, `1.0_p1` >
//! `1.0-r5`, `1.0-r0` > `1.0`), except that a pre-release suffix is older than anything
//! (`1.0_rc1` < `1.0`).
//!
//! Invalid input is handled the way apk handles it, never rejected: a token that breaks the
//! grammar (an unknown suffix `_foo`, an uppercase letter, `-` not followed by `r`, a second
//! letter) ends the version there as "invalid", which sorts below the end of a valid version
//! (`1.0bc` > `1.0` because the letter `b` was read first; `1.0_foo` < `1.0`). Earlier tokens
//! still decide (`23_foo` > `4_beta`), and two versions that agree up to an invalid token on
//! both sides are equal (`1.0_foo` = `1.0-x`). [`is_valid`] tells such versions apart so
//! callers can report them.
//!
//! One deliberate difference: apk reads numbers into a wrapping `uint64_t`, so numbers of 20
//! digits and more compare wrongly there. Here they compare as unbounded integers.

use std::cmp::Ordering;

use super::cmp_digit_runs;

/// Compare two Alpine versions: `Less` when `a` is older than `b`.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut lexer_a, mut lexer_b) = (Lexer::new(a), Lexer::new(b));
    let (mut token_a, mut token_b) = (lexer_a.first(), lexer_b.first());
    while token_a.kind == token_b.kind && token_a.kind < Kind::End {
        let ord = token_a.cmp_same_kind(&token_b);
        if ord != Ordering::Equal {
            return ord;
        }
        token_a = lexer_a.next();
        token_b = lexer_b.next();
    }
    if token_a.kind == token_b.kind {
        return Ordering::Equal;
    }
    if token_a.is_pre_release() {
        return Ordering::Less;
    }
    if token_b.is_pre_release() {
        return Ordering::Greater;
    }
    // The side that stopped (or turned invalid) earlier in the grammar is older.
    token_b.kind.cmp(&token_a.kind)
}

/// Whether apk accepts `version` as a whole (every token fits the grammar).
pub fn is_valid(version: &str) -> bool {
    let mut lexer = Lexer::new(version);
    let mut token = lexer.first();
    while token.kind < Kind::End {
        token = lexer.next();
    }
    token.kind == Kind::End
}

/// Token kinds in grammar order, which is also the order that decides between two versions
/// whose next tokens differ in kind: the later kind is the older version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix words and their ranks. Rank 5 is "no suffix": below it are the pre-releases.
const SUFFIXES: [(&[u8], u8); 9] = [
    (b"alpha", 1),
    (b"beta", 2),
    (b"pre", 3),
    (b"rc", 4),
    (b"cvs", 6),
    (b"svn", 7),
    (b"git", 8),
    (b"hg", 9),
    (b"p", 10),
];
const SUFFIX_NONE: u8 = 5;

/// One token: its kind, its text (digits without the `.`, the letter, the suffix word, the
/// hash without the `~`) and, for suffixes, the rank.
struct Token<'a> {
    kind: Kind,
    text: &'a [u8],
    suffix: u8,
}

impl Token<'_> {
    fn end() -> Self {
        Token { kind: Kind::End, text: b"", suffix: 0 }
    }

    fn invalid() -> Self {
        Token { kind: Kind::Invalid, text: b"", suffix: 0 }
    }

    fn is_pre_release(&self) -> bool {
        self.kind == Kind::Suffix && self.suffix < SUFFIX_NONE
    }

    /// Order two tokens of the same kind, by their values.
    fn cmp_same_kind(&self, other: &Token<'_>) -> Ordering {
        match self.kind {
            Kind::Digit if self.text.first() == Some(&b'0') || other.text.first() == Some(&b'0') => {
                self.text.cmp(other.text)
            }
            Kind::InitialDigit | Kind::Digit | Kind::SuffixNo | Kind::RevisionNo => {
                cmp_digit_runs(self.text, other.text)
            }
            Kind::Suffix => self.suffix.cmp(&other.suffix),
            Kind::Letter | Kind::CommitHash | Kind::End | Kind::Invalid => self.text.cmp(other.text),
        }
    }
}

/// Reads one version's tokens in order. `last` is the kind of the token read before, which
/// decides what may follow.
struct Lexer<'a> {
    rest: &'a [u8],
    last: Kind,
}

impl<'a> Lexer<'a> {
    fn new(version: &'a str) -> Self {
        Lexer { rest: version.as_bytes(), last: Kind::InitialDigit }
    }

    /// The initial number.
    fn first(&mut self) -> Token<'a> {
        self.digits(Kind::InitialDigit)
    }

    /// The token after the last one read. Call only while the last one was below `End`.
    fn next(&mut self) -> Token<'a> {
        let Some(&c) = self.rest.first() else {
            return Token::end();
        };
        let last = self.last;
        match c {
            b'a'..=b'z' if last <= Kind::Digit => {
                let (text, rest) = self.rest.split_at(1);
                self.rest = rest;
                self.token(Kind::Letter, text, 0)
            }
            b'.' if last <= Kind::Digit => {
                self.rest = &self.rest[1..];
                self.digits(Kind::Digit)
            }
            b'0'..=b'9' if last == Kind::Suffix => self.digits(Kind::SuffixNo),
            b'_' if last <= Kind::SuffixNo => {
                let word = self.span(1, |c| c.is_ascii_lowercase());
                match SUFFIXES.iter().find(|(name, _)| *name == word) {
                    Some(&(_, rank)) => self.token(Kind::Suffix, word, rank),
                    None => Token::invalid(),
                }
            }
            b'~' if last < Kind::CommitHash => {
                let hash = self.span(1, |c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
                if hash.is_empty() {
                    return Token::invalid();
                }
                self.token(Kind::CommitHash, hash, 0)
            }
            b'-' if last < Kind::RevisionNo && self.rest.starts_with(b"-r") => {
                self.rest = &self.rest[2..];
                self.digits(Kind::RevisionNo)
            }
            _ => Token::invalid(),
        }
    }

    /// A token of `kind` made of the digits at the front; invalid when there are none.
    fn digits(&mut self, kind: Kind) -> Token<'a> {
        let digits = self.span(0, |c| c.is_ascii_digit());
        if digits.is_empty() {
            return Token::invalid();
        }
        self.token(kind, digits, 0)
    }

    /// Skip `skip` bytes, then take the longest run of bytes matching `class`.
    fn span(&mut self, skip: usize, class: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest.get(skip..).unwrap_or_default();
        let n = rest.iter().take_while(|&&c| class(c)).count();
        let (run, rest) = rest.split_at(n);
        self.rest = rest;
        run
    }

    fn token(&mut self, kind: Kind, text: &'a [u8], suffix: u8) -> Token<'a> {
        self.last = kind;
        Token { kind, text, suffix }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn check(a: &str, b: &str, expected: Ordering) {
        crate::versions::assert_order(compare, a, b, expected);
    }

    #[test]
    fn numbers_letters_revisions() {
        check("1.0", "1.0", Equal);
        check("1.2", "1.10", Less);
        check("2.34", "0.1.0_alpha", Greater);
        check("1.0a", "1.0", Greater);
        check("1.0a", "1.0.1", Less);
        check("1.0b", "1.0a", Greater);
        check("1.0-r0", "1.0", Greater);
        check("1.0-r10", "1.0-r9", Greater);
        check("1.0-r1", "1.0.1", Less);
        check("01.2", "1.2", Equal);
    }

    #[test]
    fn suffixes_around_the_release() {
        let chain = [
            "1.0_alpha",
            "1.0_alpha2",
            "1.0_beta",
            "1.0_pre",
            "1.0_rc1",
            "1.0_rc2",
            "1.0",
            "1.0_cvs",
            "1.0_svn",
            "1.0_git20240101",
            "1.0_hg",
            "1.0_p1",
            "1.0_p2",
            "1.0.1",
        ];
        for pair in chain.windows(2) {
            check(pair[0], pair[1], Less);
        }
        check("6.0_pre1", "6.0", Less);
        check("1.0_p1", "1.0-r5", Greater);
        check("1.0_rc1_p2", "1.0_rc1", Greater);
        check("1.0_alpha_beta", "1.0_alpha", Less);
    }

    #[test]
    fn leading_zeros_compare_as_strings_after_the_first_number() {
        check("8.2.0", "8.2.001", Less);
        check("8.2.0015", "8.2.002", Less);
        check("1.01", "1.1", Less);
        check("1.0", "1.00", Less);
        check("1.09", "1.10", Less);
    }

    #[test]
    fn commit_hashes() {
        check("1.0~1234", "1.0~2345", Less);
        check("1.0~1234-r1", "1.0~2345-r0", Less);
        check("1.0~1234-r1", "1.0~1234-r0", Greater);
        check("1.0~abc", "1.0", Greater);
        check("1.0~abc", "1.0-r1", Greater);
    }

    #[test]
    fn invalid_tokens_as_apk_handles_them() {
        check("23_foo", "4_beta", Greater);
        check("1.0bc", "1.0", Greater);
        check("1.0_foo", "1.0", Less);
        check("1.0_foo", "1.0_bar", Equal);
        check("1.0_foo", "1.0-x", Equal);
        check("1.0~rc1", "1.0", Less);
        check("1.0~rc1", "1.0_rc1", Greater);
        check("1.0-1", "1.0", Less);
        check("1.0.", "1.0", Less);
        check("", "0", Less);
        check("", "abc", Equal);
        check("1.0A", "1.0", Less);
        assert!(is_valid("1.2.3a_rc1_p2~0af-r10"));
        for version in ["", "a1", "1.0bc", "1.0_foo", "1.0-1", "1.0.", "1.0~", "1.0~XYZ", "1.0-r1-r2", "1.0-r"] {
            assert!(!is_valid(version), "{version}");
        }
    }

    #[test]
    fn huge_numbers_do_not_wrap() {
        check("18446744073709551616", "18446744073709551615", Greater);
        check("1.0-r99999999999999999999999", "1.0-r99999999999999999999998", Greater);
    }
}
