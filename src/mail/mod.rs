//! Security mailing lists: raw RFC 822 messages (from an mbox, a Maildir, a pipermail archive
//! or a single file) turned into normalised advisories (DSA, DLA, USN, RHSA). Owns mailbox
//! reading, MIME/PGP body extraction and the body parsers. Only `import` touches the store;
//! nothing here touches the network. One message never fails an import: a message that is not
//! an advisory, or cannot be parsed, becomes a [`Skip`] with a reason.
//!
//! # Layout
//!
//! - [`mailbox`]: mbox splitting, Maildir reading, gzip archives, [`messages_from_path`] (the
//!   only IO here).
//! - `body`: the text of a parsed message (mail-parser decodes MIME), PGP clear-sign removal.
//! - [`debian`], [`ubuntu`], [`redhat`]: body parsers, pure `(subject, text) → Advisory`.
//! - [`parse_message`]: one raw message in, advisories or a skip reason out.
//! - [`import`]: the import stage (`cascade mail import`, later `POST /v1/mail`): messages in,
//!   advisories of the `mail` feed stored in one ingest.
//!
//! A forwarded advisory (an oss-security post quoting a DSA, a message/rfc822 attachment, an
//! inline `> ` quote) is found inside the body: the parsers look for the advisory's own header
//! lines and forwarded `Subject:` lines, not only the outer subject.

mod body;
pub mod debian;
pub mod import;
pub mod mailbox;
pub mod redhat;
mod text;
pub mod ubuntu;

use mail_parser::MessageParser;

use crate::advisories::Advisory;

pub use body::{strip_pgp_clearsign, unquote};
pub use mailbox::{
    gunzip_archive, messages_from_path, messages_from_path_with, read_maildir, read_maildir_with, split_mbox,
    unescape_from_lines, MailError, MailLimits, DEFAULT_MAIL_LIMITS,
};

/// The advisories one message announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAdvisory {
    /// The `Message-ID` without angle brackets, when the message has one.
    pub message_id: Option<String>,
    pub subject: String,
    /// Usually one; a digest or a forward of several announcements can carry more.
    pub advisories: Vec<Advisory>,
}

/// A message that yielded no advisory, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub reason: String,
}

/// When a message was sent (its `Date` header); a fallback for the advisory's publication date
/// and the year in its URL when the body gives none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentAt {
    pub year: u16,
    pub rfc3339: String,
}

/// Parses one raw message into the advisories it announces.
///
/// The text searched is every text/plain part (quoted-printable, base64 and charsets decoded;
/// for multipart/signed the signed text part), the text of attached messages, with PGP
/// clear-signed envelopes removed and dash-escaping undone. When nothing is found, the same text
/// with `> ` quote markers removed is tried. Replies (`Re:` subjects) are skipped: they discuss
/// an advisory, they do not announce it.
pub fn parse_message(raw: &[u8]) -> Result<MailAdvisory, Skip> {
    let skip =
        |message_id: Option<String>, subject: Option<String>, reason: String| Skip { message_id, subject, reason };
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(skip(None, None, "empty message".to_owned()));
    }
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Err(skip(None, None, "unparseable message: no RFC 822 header fields".to_owned()));
    };
    let has_header_field =
        msg.headers().iter().any(|h| !h.name().is_empty() && h.name().bytes().all(|b| (33..=126).contains(&b)));
    if !has_header_field {
        return Err(skip(None, None, "unparseable message: no valid RFC 822 header field".to_owned()));
    }
    let message_id = msg.message_id().map(str::to_owned);
    let subject = msg.subject().map(|s| s.trim().to_owned());
    let subject_text = subject.clone().unwrap_or_default();
    if is_reply(&subject_text) {
        return Err(skip(message_id, subject, "a reply to an announcement, not an announcement".to_owned()));
    }
    let sent = msg
        .date()
        .filter(|d| (1970..=9999).contains(&d.year) && (1..=12).contains(&d.month) && (1..=31).contains(&d.day))
        .map(|d| SentAt { year: d.year, rfc3339: d.to_rfc3339() });

    let text = body::message_text(&msg);
    if text.trim().is_empty() && subject_text.is_empty() {
        return Err(skip(message_id, subject, "not an advisory: no subject and no text body".to_owned()));
    }
    let mut outcome = advisories_in(&subject_text, &strip_pgp_clearsign(&text), sent.as_ref());
    if !matches!(outcome, Ok(ref found) if !found.is_empty()) {
        if let Some(unquoted) = unquote(&text) {
            let second = advisories_in(&subject_text, &strip_pgp_clearsign(&unquoted), sent.as_ref());
            if matches!(second, Ok(ref found) if !found.is_empty()) {
                outcome = second;
            }
        }
    }
    match outcome {
        Ok(advisories) if advisories.is_empty() => Err(skip(
            message_id,
            subject,
            "not an advisory: no DSA, DLA, USN or RHSA identifier in the subject or body".to_owned(),
        )),
        Ok(advisories) => Ok(MailAdvisory { message_id, subject: subject_text, advisories }),
        Err(reason) => Err(skip(message_id, subject, reason)),
    }
}

/// Runs every body parser; `Err` only when an advisory was named but none could be read.
fn advisories_in(subject: &str, text: &str, sent: Option<&SentAt>) -> Result<Vec<Advisory>, String> {
    let mut found: Vec<Advisory> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for parse in [debian::parse, ubuntu::parse, redhat::parse] {
        match parse(subject, text, sent) {
            Ok(Some(advisory)) => {
                if !found.iter().any(|a| a.id == advisory.id) {
                    found.push(advisory);
                }
            }
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
    }
    if found.is_empty() && !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok(found)
}

/// `Re: …`, `[list] RE: …`, `AW: …`: a reply. List tags in brackets are passed over first.
fn is_reply(subject: &str) -> bool {
    let mut rest = subject.trim_start();
    while let Some(after) = rest.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(_, after)| after.trim_start())
    {
        rest = after;
    }
    let lower = rest.to_ascii_lowercase();
    ["re:", "re :", "aw:", "sv:", "antw:"].iter().any(|p| lower.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per advisory (`id title aliases`) and per affected entry.
    fn render(found: &MailAdvisory) -> String {
        let mut out = String::new();
        for a in &found.advisories {
            out.push_str(&format!("{} {} {}\n", a.id, a.title.as_deref().unwrap_or("-"), a.aliases.join(",")));
            for e in &a.affected {
                out.push_str(&format!(
                    "  {} {} {} {} {}\n",
                    e.distro,
                    e.release,
                    e.package,
                    e.kind.as_str(),
                    e.fixed_version.as_deref().unwrap_or("-")
                ));
            }
        }
        out
    }

    fn check(raw: &str, expected: &str) {
        let found = parse_message(raw.as_bytes()).unwrap_or_else(|s| panic!("skipped: {}\n{raw}", s.reason));
        assert_eq!(render(&found), expected.trim_start(), "message:\n{raw}");
    }

    fn check_skip(raw: &[u8], reason_contains: &str) {
        match parse_message(raw) {
            Ok(found) => panic!("expected a skip, got {found:?}"),
            Err(skip) => assert!(skip.reason.contains(reason_contains), "reason {:?}", skip.reason),
        }
    }

    /// A debian-security-announce message, PGP clear-signed and quoted-printable encoded the way
    /// list mail is: `=20` trailing spaces, `=3D` in the signature, soft line breaks.
    const QP_SIGNED: &str = "\
From: Salvatore Bonaccorso <carnil@debian.org>
To: debian-security-announce@lists.debian.org
Subject: [SECURITY] [DSA 5678-1] glibc security update
Date: Mon, 06 May 2024 20:00:00 +0200
Message-ID: <ZjkAbc@eldamar.lan>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

- -------------------------------------------------------------------------
Debian Security Advisory DSA-5678-1                   security@debian.org
https://www.debian.org/security/                     Salvatore Bonaccorso
May 06, 2024                          https://www.debian.org/security/faq
- -------------------------------------------------------------------------

Package        : glibc
CVE ID         : CVE-2024-2961 CVE-2024-33599 CVE-2024-33600 CVE-2024-33601=20
                 CVE-2024-33602

For the oldstable distribution (bullseye), these problems have been fixed=
 in version 2.31-13+deb11u10.

For the stable distribution (bookworm), these problems have been fixed in
version 2.36-9+deb12u7.
-----BEGIN PGP SIGNATURE-----

iQKTBAEBCgB9FiEERkRAmAjBceBVMd3uBUy48xNDz0QFAmY5
=3DAbCd
-----END PGP SIGNATURE-----
";

    #[test]
    fn quoted_printable_pgp_signed_dsa() {
        check(
            QP_SIGNED,
            "
DSA-5678-1 glibc security update CVE-2024-2961,CVE-2024-33599,CVE-2024-33600,CVE-2024-33601,CVE-2024-33602
  debian 11 glibc source 2.31-13+deb11u10
  debian 12 glibc source 2.36-9+deb12u7
",
        );
        let found = parse_message(QP_SIGNED.as_bytes()).expect("advisory");
        assert_eq!(found.message_id.as_deref(), Some("ZjkAbc@eldamar.lan"));
        assert_eq!(found.subject, "[SECURITY] [DSA 5678-1] glibc security update");
        assert_eq!(found.advisories[0].published.as_deref(), Some("2024-05-06"));
    }

    #[test]
    fn multipart_signed_usn_with_list_footer() {
        let raw = "\
Subject: [USN-6409-1] GNU C Library vulnerabilities
Date: Wed, 04 Oct 2023 15:00:00 +0000
Message-ID: <usn-6409-1@example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"outer\"

--outer
Content-Type: multipart/signed; micalg=pgp-sha512; protocol=\"application/pgp-signature\"; boundary=\"sig\"

--sig
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: base64

"
        .to_owned()
            + &base64_lines(
                "==========================================================================\n\
                 Ubuntu Security Notice USN-6409-1\nOctober 04, 2023\n\nglibc vulnerabilities\n\n\
                 Update instructions:\n\nThe problem can be corrected by updating your system to the following\n\
                 package versions:\n\nUbuntu 23.04:\n  libc6  2.37-0ubuntu2.1\n\nUbuntu 22.04 LTS:\n  libc6  2.35-0ubuntu3.4\n\n\
                 References:\n  https://ubuntu.com/security/notices/USN-6409-1\n  CVE-2023-4911\n\n\
                 Package Information:\n  https://launchpad.net/ubuntu/+source/glibc/2.37-0ubuntu2.1\n  \
                 https://launchpad.net/ubuntu/+source/glibc/2.35-0ubuntu3.4\n",
            )
            + "
--sig
Content-Type: application/pgp-signature; name=\"signature.asc\"

-----BEGIN PGP SIGNATURE-----

iQIzBAEBCgAdFiEE
=qUGf
-----END PGP SIGNATURE-----

--sig--

--outer
Content-Type: text/plain; charset=\"us-ascii\"
Content-Transfer-Encoding: 7bit

-- 
ubuntu-security-announce mailing list
ubuntu-security-announce@lists.ubuntu.com

--outer--
";
        check(
            &raw,
            "
USN-6409-1 GNU C Library vulnerabilities CVE-2023-4911
  ubuntu 23.04 glibc source 2.37-0ubuntu2.1
  ubuntu 22.04 glibc source 2.35-0ubuntu3.4
",
        );
    }

    /// Base64 body lines of 76 characters, as MIME writers wrap them.
    fn base64_lines(text: &str) -> String {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        let mut out = String::new();
        for chunk in encoded.as_bytes().chunks(76) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out
    }

    #[test]
    fn rhsa_message() {
        check(
            "Subject: [RHSA-2024:6163-01] Important: kernel security update\nMessage-ID: <x@redhat.com>\n\n\
             Advisory ID:       RHSA-2024:6163-01\nCVE Names:         CVE-2024-1\n\
             CVEs:\n\nCVE-2024-36971\n\nRed Hat Enterprise Linux BaseOS (v. 9):\n\nSource:\n\
             kernel-5.14.0-427.35.1.el9_4.src.rpm\n\nx86_64:\nkernel-5.14.0-427.35.1.el9_4.x86_64.rpm\n",
            "
RHSA-2024:6163 Important: kernel security update CVE-2024-36971
  rhel 9 kernel binary 5.14.0-427.35.1.el9_4
",
        );
    }

    #[test]
    fn forwarded_as_an_attachment_or_a_quote() {
        let attached = "\
Subject: Fwd: glibc
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b\"

--b
Content-Type: text/plain

See the attached advisory.
--b
Content-Type: message/rfc822

Subject: [SECURITY] [DLA 3850-1] glibc security update
From: debian-lts@lists.debian.org

Package        : glibc
CVE ID         : CVE-2024-33599

For Debian 11 bullseye, this problem has been fixed in version 2.31-13+deb11u11.
--b--
";
        check(attached, "DLA-3850-1 glibc security update CVE-2024-33599\n  debian 11 glibc source 2.31-13+deb11u11\n");

        let quoted = "Subject: fyi\n\nLook:\n\n> Subject: [SECURITY] [DSA 5678-1] glibc security update\n>\n\
                      > Package        : glibc\n> CVE ID         : CVE-2024-2961\n>\n\
                      > For the stable distribution (bookworm), this problem has been fixed in\n> version 2.36-9+deb12u7.\n";
        check(quoted, "DSA-5678-1 glibc security update CVE-2024-2961\n  debian 12 glibc source 2.36-9+deb12u7\n");
    }

    #[test]
    fn skips_with_reasons() {
        check_skip(b"Subject: Meeting notes\nMessage-ID: <m@x>\n\nNothing to see.\n", "not an advisory");
        check_skip(b"Subject: Re: [SECURITY] [DSA 5678-1] glibc security update\n\n> Package : glibc\n", "reply");
        check_skip(
            b"Subject: [SECURITY] [DSA 5678-1] glibc security update\n\nThe text went missing.\n",
            "no Package field",
        );
        check_skip(b"\x00\x01\xff\xfe garbage \x80\x81", "unparseable");
        check_skip(b"no header here at all\n", "unparseable");
        check_skip(b"  \n", "empty");
        let skip = parse_message(b"Subject: hello\nMessage-ID: <m@x>\n\nhi\n").expect_err("skip");
        assert_eq!(skip.message_id.as_deref(), Some("m@x"));
        assert_eq!(skip.subject.as_deref(), Some("hello"));
    }

    #[test]
    fn replies_are_recognised() {
        assert!(is_reply("Re: [DSA 1-1] x"));
        assert!(is_reply("[oss-security] RE: [DSA 1-1] x"));
        assert!(!is_reply("[oss-security] FW: [DSA 3775-1] tcpdump security update]"));
        assert!(!is_reply("[SECURITY] [DSA 5678-1] glibc security update"));
    }
}
