//! Where raw messages come from: mbox (mboxrd/mboxo, CRLF tolerated), Maildir directories,
//! pipermail monthly archives (`YYYY-Month.txt.gz`) and single `.eml` files. The splitting and
//! decompression functions are pure over bytes; [`read_maildir`] and [`messages_from_path`] are
//! the IO edge. Every input is capped. Nothing here parses headers or looks for advisories.

use crate::layers::Compression;
use std::borrow::Cow;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// Caps on what a mail import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimits {
    /// Bytes of one file (a message, an mbox) and of one decompressed archive.
    pub max_file_bytes: u64,
    /// Messages taken from one path (a Maildir, an mbox, an archive).
    pub max_messages: usize,
}

/// 256 MiB per file; 200 000 messages per path.
pub const DEFAULT_MAIL_LIMITS: MailLimits = MailLimits { max_file_bytes: 256 * 1024 * 1024, max_messages: 200_000 };

impl Default for MailLimits {
    fn default() -> Self {
        DEFAULT_MAIL_LIMITS
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot read {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} is not a maildir (it has no cur/, new/ or tmp/ directory)", .path.display())]
    NotMaildir { path: PathBuf },
    #[error("{} is larger than the {max} byte limit", .path.display())]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{} holds more than {max} messages", .path.display())]
    TooManyMessages { path: PathBuf, max: usize },
    #[error("gzip archive expands beyond the {max} byte limit")]
    ArchiveTooLarge { max: u64 },
    #[error("corrupt gzip archive: {source}")]
    Gzip { source: io::Error },
    #[error("{}: {source}", .path.display())]
    Archive { path: PathBuf, source: Box<MailError> },
}

/// The messages of an mbox, each without its `From ` separator line (and without the blank
/// line that precedes the next separator). Lines are not un-escaped here (the slices borrow
/// `bytes`); pass each message through [`unescape_from_lines`] when extracting it.
///
/// A separator is a line starting with `From ` at the start of the input or right after a blank
/// line (`\n` or `\r\n`), as in mboxo and mboxrd. Because not every writer escapes `From ` in
/// bodies (pipermail text archives among them), a candidate must also look like a separator:
/// either it carries a time and a year (`From jmm at debian.org  Sun Jan 29 17:24:15 2017`,
/// with pipermail's ` at ` addresses) or the next line is a header field. Bytes before the first
/// separator are returned as a message of their own when they are not blank, so that a caller
/// can report them; input without any separator is one message.
pub fn split_mbox(bytes: &[u8]) -> Vec<&[u8]> {
    let mut starts: Vec<(usize, usize)> = Vec::new(); // (separator start, body start)
    let mut pos = 0;
    let mut previous_blank = true;
    while pos < bytes.len() {
        let end = bytes[pos..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| pos + i + 1);
        let line = &bytes[pos..end];
        if previous_blank && line.starts_with(b"From ") {
            let next_end = bytes[end..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| end + i + 1);
            if pos == 0 || looks_like_separator(line) || is_header_line(&bytes[end..next_end]) {
                starts.push((pos, end));
            }
        }
        previous_blank = trim_eol(line).is_empty();
        pos = end;
    }

    let mut messages = Vec::new();
    let first = starts.first().map_or(bytes.len(), |(sep, _)| *sep);
    if bytes[..first].iter().any(|b| !b.is_ascii_whitespace()) {
        messages.push(&bytes[..first]);
    }
    for (i, &(_, body)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(bytes.len(), |(sep, _)| *sep);
        messages.push(drop_separator_blank_line(&bytes[body..end]));
    }
    messages
}

/// The message without the one blank line mbox writers put before the next separator.
fn drop_separator_blank_line(message: &[u8]) -> &[u8] {
    if let Some(m) = message.strip_suffix(b"\r\n\r\n") {
        return &message[..m.len() + 2];
    }
    if let Some(m) = message.strip_suffix(b"\n\n") {
        return &message[..m.len() + 1];
    }
    message
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A `From ` line carrying a time (`12:08` or `12:08:34`) and a 4-digit year.
fn looks_like_separator(line: &[u8]) -> bool {
    let has_time = line
        .windows(4)
        .any(|w| w[0].is_ascii_digit() && w[1] == b':' && w[2].is_ascii_digit() && w[3].is_ascii_digit());
    let has_year = line
        .split(|b| b.is_ascii_whitespace())
        .any(|word| word.len() == 4 && word.iter().all(u8::is_ascii_digit) && (word[0] == b'1' || word[0] == b'2'));
    has_time && has_year
}

/// `Name: value` with an RFC 5322 field name.
fn is_header_line(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else { return false };
    colon > 0 && line[..colon].iter().all(|&b| (33..=126).contains(&b))
}

/// mboxrd un-escaping: one `>` is removed from every line that is `>` * n followed by `From `
/// (n ≥ 1). mboxo escaped only `From ` itself, which this reverses too.
pub fn unescape_from_lines(message: &[u8]) -> Cow<'_, [u8]> {
    let escaped = |line: &[u8]| {
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        quotes > 0 && line[quotes..].starts_with(b"From ")
    };
    if !message.split(|&b| b == b'\n').any(escaped) {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len());
    for (i, line) in message.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(if escaped(line) { &line[1..] } else { line });
    }
    Cow::Owned(out)
}

/// The messages of a Maildir: the files of `cur/` and `new/` (not `tmp/`, which holds messages
/// still being delivered), sorted by file name, dot files skipped. A missing `cur/` or `new/` is
/// fine; a directory with none of `cur/`, `new/`, `tmp/` is not a Maildir. Files over the default
/// [`MailLimits`] are an error naming them.
pub fn read_maildir(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, MailError> {
    read_maildir_with(dir, &MailLimits::default())
}

/// [`read_maildir`] with explicit limits.
pub fn read_maildir_with(dir: &Path, limits: &MailLimits) -> Result<Vec<(PathBuf, Vec<u8>)>, MailError> {
    let meta = fs::metadata(dir).map_err(|source| MailError::Io { path: dir.to_owned(), source })?;
    if !meta.is_dir() || !["cur", "new", "tmp"].iter().any(|sub| dir.join(sub).is_dir()) {
        return Err(MailError::NotMaildir { path: dir.to_owned() });
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["cur", "new"] {
        let sub_dir = dir.join(sub);
        let entries = match fs::read_dir(&sub_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(MailError::Io { path: sub_dir, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| MailError::Io { path: sub_dir.clone(), source })?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if hidden || !path.is_file() {
                continue;
            }
            files.push(path);
            if files.len() > limits.max_messages {
                return Err(MailError::TooManyMessages { path: dir.to_owned(), max: limits.max_messages });
            }
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then_with(|| a.cmp(b)));
    files
        .into_iter()
        .map(|path| {
            let bytes = read_capped(&path, limits.max_file_bytes)?;
            Ok((path, bytes))
        })
        .collect()
}

/// Decompresses a gzip archive (pipermail's `YYYY-Month.txt.gz`; concatenated members are
/// read as one stream) into at most `max` bytes; more is an error, not a truncation.
pub fn gunzip_archive(bytes: &[u8], max: u64) -> Result<Vec<u8>, MailError> {
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|source| MailError::Gzip { source })?;
    if out.len() as u64 > max {
        return Err(MailError::ArchiveTooLarge { max });
    }
    Ok(out)
}

/// The raw messages at `path`, each with a label for reports, under the default [`MailLimits`].
///
/// What `path` is decides how it is read: a directory is a Maildir (labels are file names); a
/// file starting with the gzip magic is a pipermail archive, decompressed and split like an
/// mbox; a file whose first line starts with `From ` is an mbox (labels `name#N`, N counting
/// from 1, `>From ` lines un-escaped); any other file is one message (label: the file name).
pub fn messages_from_path(path: &Path) -> Result<Vec<(String, Vec<u8>)>, MailError> {
    messages_from_path_with(path, &MailLimits::default())
}

/// [`messages_from_path`] with explicit limits.
pub fn messages_from_path_with(path: &Path, limits: &MailLimits) -> Result<Vec<(String, Vec<u8>)>, MailError> {
    let meta = fs::metadata(path).map_err(|source| MailError::Io { path: path.to_owned(), source })?;
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    if meta.is_dir() {
        let messages = read_maildir_with(path, limits)?;
        tracing::debug!(mail.path = %path.display(), n_messages = messages.len(), "read maildir");
        return Ok(messages
            .into_iter()
            .map(|(file, bytes)| {
                let label =
                    file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
                (label, bytes)
            })
            .collect());
    }

    let raw = read_capped(path, limits.max_file_bytes)?;
    let (bytes, kind) = if Compression::sniff(&raw) == Compression::Gzip {
        let text = gunzip_archive(&raw, limits.max_file_bytes)
            .map_err(|e| MailError::Archive { path: path.to_owned(), source: Box::new(e) })?;
        (text, "archive")
    } else {
        let first_line = raw.iter().position(|b| !b.is_ascii_whitespace()).map_or(&raw[..0], |at| &raw[at..]);
        if !first_line.starts_with(b"From ") {
            tracing::debug!(mail.path = %path.display(), "read single message");
            return Ok(vec![(name, raw)]);
        }
        (raw, "mbox")
    };
    let parts = split_mbox(&bytes);
    if parts.len() > limits.max_messages {
        return Err(MailError::TooManyMessages { path: path.to_owned(), max: limits.max_messages });
    }
    tracing::debug!(mail.path = %path.display(), mail.kind = kind, n_messages = parts.len(), "split mailbox");
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(i, message)| (format!("{name}#{}", i + 1), unescape_from_lines(message).into_owned()))
        .collect())
}

/// The whole file, or [`MailError::TooLarge`] when it holds more than `max` bytes.
fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, MailError> {
    let io_error = |source| MailError::Io { path: path.to_owned(), source };
    let file = fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(io_error)?;
    if bytes.len() as u64 > max {
        return Err(MailError::TooLarge { path: path.to_owned(), max });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    /// mbox in, expected messages (after un-escaping) out.
    fn check(input: &str, expected: &[&str]) {
        let got: Vec<String> = split_mbox(input.as_bytes())
            .into_iter()
            .map(|m| String::from_utf8_lossy(&unescape_from_lines(m)).into_owned())
            .collect();
        assert_eq!(got, expected, "input:\n{input}");
    }

    #[test]
    fn mboxrd_with_escaped_from_lines() {
        check(
            "From alice@example.org Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From the start\n>>From quoted\n\n\
             From bob@example.org Tue Jan  2 10:11:12 2024\nSubject: two\n\nbody\n",
            &["Subject: one\n\nFrom the start\n>From quoted\n", "Subject: two\n\nbody\n"],
        );
    }

    #[test]
    fn unescaped_from_in_a_body_does_not_split() {
        check(
            "From a@example.org Mon Jan  1 00:00:00 2024\nSubject: one\n\nFrom the stable distribution,\nthis is fixed.\n",
            &["Subject: one\n\nFrom the stable distribution,\nthis is fixed.\n"],
        );
    }

    #[test]
    fn pipermail_separators_with_at_addresses() {
        check(
            "From jmm at debian.org  Sun Jan 29 17:24:15 2017\nFrom: jmm at debian.org (Moritz Muehlenhoff)\n\
             Subject: [SECURITY] [DSA 3775-1] tcpdump security update\n\nbody one\n\n\
             From carnil at debian.org  Mon Jan 30 05:00:01 2017\nFrom: carnil at debian.org (Salvatore)\n\nbody two\n",
            &[
                "From: jmm at debian.org (Moritz Muehlenhoff)\nSubject: [SECURITY] [DSA 3775-1] tcpdump security update\n\nbody one\n",
                "From: carnil at debian.org (Salvatore)\n\nbody two\n",
            ],
        );
    }

    #[test]
    fn crlf_mbox() {
        check(
            "From a@example.org Mon Jan  1 00:00:00 2024\r\nSubject: one\r\n\r\nx\r\n\r\nFrom b@example.org\r\nSubject: two\r\n\r\ny\r\n",
            &["Subject: one\r\n\r\nx\r\n", "Subject: two\r\n\r\ny\r\n"],
        );
    }

    #[test]
    fn preamble_and_no_separator() {
        check("junk before\n\nFrom a Mon Jan  1 00:00:00 2024\nS: 1\n", &["junk before\n\n", "S: 1\n"]);
        check("Subject: lone message\n\nbody\n", &["Subject: lone message\n\nbody\n"]);
        check("", &[]);
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("write to memory");
        encoder.finish().expect("finish in memory")
    }

    #[test]
    fn gzip_archives_are_capped() {
        let text = b"From a at example.org  Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n";
        let gz = gzip(text);
        assert_eq!(gunzip_archive(&gz, 1024).expect("fits"), text);
        assert_eq!(gunzip_archive(&gz, text.len() as u64).expect("exactly fits"), text);
        assert!(matches!(gunzip_archive(&gz, 10), Err(MailError::ArchiveTooLarge { max: 10 })));
        assert!(matches!(gunzip_archive(b"not gzip", 1024), Err(MailError::Gzip { .. })));
        // Concatenated members read as one stream.
        let mut two = gzip(b"one\n");
        two.extend(gzip(b"two\n"));
        assert_eq!(gunzip_archive(&two, 1024).expect("two members"), b"one\ntwo\n");
    }

    #[test]
    fn maildir_in_a_tempdir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir(root.join("cur")).expect("cur");
        fs::write(root.join("cur/200.b:2,S"), b"Subject: b\n\n").expect("write");
        fs::write(root.join("cur/100.a:2,S"), b"Subject: a\n\n").expect("write");
        fs::write(root.join("cur/.hidden"), b"x").expect("write");
        // new/ is missing: fine.
        let got = read_maildir(root).expect("maildir");
        let names: Vec<String> = got
            .iter()
            .map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            .collect();
        assert_eq!(names, ["100.a:2,S", "200.b:2,S"]);
        assert_eq!(got[0].1, b"Subject: a\n\n");

        fs::create_dir(root.join("new")).expect("new");
        fs::write(root.join("new/150.c"), b"Subject: c\n\n").expect("write");
        let labels: Vec<String> = messages_from_path(root).expect("path").into_iter().map(|(l, _)| l).collect();
        assert_eq!(labels, ["100.a:2,S", "150.c", "200.b:2,S"]);

        let plain = tempfile::tempdir().expect("tempdir");
        let err = read_maildir(plain.path()).expect_err("not a maildir");
        assert!(err.to_string().contains(&plain.path().display().to_string()), "{err}");
        let err = read_maildir(&plain.path().join("missing")).expect_err("missing");
        assert!(matches!(err, MailError::Io { .. }), "{err}");
    }

    #[test]
    fn messages_from_files_of_each_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mbox = dir.path().join("list.mbox");
        fs::write(
            &mbox,
            "From a Mon Jan  1 00:00:00 2024\nSubject: 1\n\n>From x\n\nFrom b Mon Jan  1 00:00:01 2024\nSubject: 2\n\n",
        )
        .expect("write");
        let got = messages_from_path(&mbox).expect("mbox");
        assert_eq!(
            got,
            [
                ("list.mbox#1".to_owned(), b"Subject: 1\n\nFrom x\n".to_vec()),
                ("list.mbox#2".to_owned(), b"Subject: 2\n".to_vec())
            ]
        );

        let archive = dir.path().join("2017-January.txt.gz");
        fs::write(&archive, gzip(b"From a at b.org  Mon Jan  1 00:00:00 2017\nSubject: 1\n\nbody\n")).expect("write");
        let got = messages_from_path(&archive).expect("archive");
        assert_eq!(got, [("2017-January.txt.gz#1".to_owned(), b"Subject: 1\n\nbody\n".to_vec())]);

        let eml = dir.path().join("one.eml");
        fs::write(&eml, b"Subject: x\n\nFrom the start\n").expect("write");
        assert_eq!(
            messages_from_path(&eml).expect("eml"),
            [("one.eml".to_owned(), b"Subject: x\n\nFrom the start\n".to_vec())]
        );

        let limits = MailLimits { max_file_bytes: 8, max_messages: 10 };
        let err = messages_from_path_with(&eml, &limits).expect_err("too large");
        assert!(matches!(err, MailError::TooLarge { max: 8, .. }), "{err}");
        let err = messages_from_path_with(&archive, &MailLimits { max_file_bytes: 60, max_messages: 10 })
            .expect_err("archive too large");
        assert!(err.to_string().starts_with(&archive.display().to_string()), "{err}");
        let limits = MailLimits { max_file_bytes: 1024, max_messages: 1 };
        assert!(matches!(messages_from_path_with(&mbox, &limits), Err(MailError::TooManyMessages { max: 1, .. })));
    }
}
