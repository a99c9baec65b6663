//! The readable text of a parsed message: its text/plain parts (mail-parser has already decoded
//! quoted-printable, base64 and charsets), the text of nested message/rfc822 parts, HTML only
//! when there is no plain text; then PGP clear-signed envelopes taken off and quote markers
//! removed on request. Never looks for advisories and does no IO.

use mail_parser::decoders::html::html_to_text;
use mail_parser::{Message, PartType};

/// How deep message/rfc822 parts are followed (a forward of a forward of an advisory is fine).
const MAX_NESTED_MESSAGES: usize = 4;

const BEGIN_SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const BEGIN_SIGNATURE: &str = "-----BEGIN PGP SIGNATURE-----";
const END_SIGNATURE: &str = "-----END PGP SIGNATURE-----";

/// All readable text of `msg` in document order, parts separated by a blank line. For
/// multipart/signed this is the signed text part (the `application/pgp-signature` part is not
/// text); for multipart/alternative the plain part wins because HTML is used only when a
/// message has no plain text at all.
pub(crate) fn message_text(msg: &Message<'_>) -> String {
    let mut plain = Vec::new();
    let mut html = Vec::new();
    collect_text(msg, 0, &mut plain, &mut html);
    if plain.iter().all(|t| t.trim().is_empty()) {
        plain = html.iter().map(|h| html_to_text(h)).collect();
    }
    plain.join("\n\n")
}

fn collect_text(msg: &Message<'_>, depth: usize, plain: &mut Vec<String>, html: &mut Vec<String>) {
    for part in &msg.parts {
        match &part.body {
            PartType::Text(text) => plain.push(text.to_string()),
            PartType::Html(text) => html.push(text.to_string()),
            PartType::Message(nested) if depth < MAX_NESTED_MESSAGES => {
                // A forwarded message keeps its own subject; put it where the body parsers look
                // for forwarded `Subject:` lines.
                if let Some(subject) = nested.subject() {
                    plain.push(format!("Subject: {subject}"));
                }
                collect_text(nested, depth + 1, plain, html);
            }
            _ => {}
        }
    }
}

/// `text` with every PGP clear-signed envelope taken off: the `BEGIN PGP SIGNED MESSAGE` line
/// and its armor headers (`Hash: SHA256`) up to the blank line, and the signature block, are
/// dropped; dash-escaped lines inside the signed text (`- ----…`) lose their `- `. Text around
/// the envelope (a forwarding note, forwarded headers) is kept. Stray signature blocks outside an
/// envelope are dropped too.
pub fn strip_pgp_clearsign(text: &str) -> String {
    #[derive(PartialEq)]
    enum State {
        Outside,
        ArmorHeaders,
        Signed,
        Signature,
    }
    let mut state = State::Outside;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let marker = line.trim();
        if state == State::ArmorHeaders {
            if marker.is_empty() {
                state = State::Signed;
                continue;
            }
            let looks_like_armor_header = marker.split_once(": ").is_some_and(|(k, _)| !k.contains(' '));
            if looks_like_armor_header {
                continue;
            }
            // A broken envelope without the blank line: this is already signed text.
            state = State::Signed;
        }
        match state {
            State::Outside if marker == BEGIN_SIGNED => state = State::ArmorHeaders,
            State::Outside | State::Signed if marker == BEGIN_SIGNATURE => state = State::Signature,
            State::Signature => {
                if marker == END_SIGNATURE {
                    state = State::Outside;
                }
            }
            State::Signed => {
                out.push_str(line.strip_prefix("- ").unwrap_or(line));
                out.push('\n');
            }
            State::Outside | State::ArmorHeaders => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// `text` with mail quote markers (`> `, `>> `) removed from the start of lines, or None when no
/// line is quoted. Used as a second attempt when an advisory was forwarded inline as a quote.
pub fn unquote(text: &str) -> Option<String> {
    if !text.lines().any(|l| l.starts_with('>')) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut rest = line;
        while let Some(r) = rest.strip_prefix('>') {
            rest = r.strip_prefix(' ').unwrap_or(r);
        }
        out.push_str(rest);
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(strip_pgp_clearsign(input), expected, "input:\n{input}");
    }

    #[test]
    fn clearsign_envelope_is_removed_and_dashes_unescaped() {
        check(
            "note before\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n- ----------\nPackage : x\n\
             - - nested\n-----BEGIN PGP SIGNATURE-----\n\niQIz\n=abc\n-----END PGP SIGNATURE-----\nafter\n",
            "note before\n----------\nPackage : x\n- nested\nafter\n",
        );
        // CRLF lines and a missing blank line after the armor header.
        check(
            "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA512\r\nFirst line\r\n-----BEGIN PGP SIGNATURE-----\r\n\
             x\r\n-----END PGP SIGNATURE-----\r\n",
            "First line\n",
        );
        check("no envelope\n", "no envelope\n");
    }

    #[test]
    fn quotes_are_removed() {
        assert_eq!(unquote("a\n> b\n>> c\n>d").as_deref(), Some("a\nb\nc\nd\n"));
        assert_eq!(unquote("a\nb"), None);
    }
}
