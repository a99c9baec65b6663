//! A mailing list's archive as a feed document: mbox text (pipermail `YYYY-Month.txt.gz` is
//! gzip-compressed), split into messages, each advisory mail turned into advisories by the
//! `mail` parsers. Messages that are not advisories are skipped and counted. No IO.

use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::Advisory;
use crate::layers::Compression;
use crate::mail;

/// Largest decompressed archive (a month of a busy list is a few MB).
const MAX_ARCHIVE_BYTES: u64 = 512 * 1024 * 1024;

pub fn parse(bytes: &[u8], _ctx: &ParseContext, sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    let text = if Compression::sniff(bytes) == Compression::Gzip {
        mail::mailbox::gunzip_archive(bytes, MAX_ARCHIVE_BYTES)
            .map_err(|e| FormatError::new(Format::MailArchive, e.to_string()))?
    } else {
        bytes.to_vec()
    };
    let messages = mail::mailbox::split_mbox(&text);
    if messages.is_empty() && !text.iter().all(u8::is_ascii_whitespace) {
        return Err(FormatError::new(Format::MailArchive, "no message found: not an mbox archive"));
    }
    let mut summary = ParseSummary::default();
    for raw in messages {
        match mail::parse_message(raw) {
            Ok(m) if !m.advisories.is_empty() => m.advisories.into_iter().for_each(&mut *sink),
            Ok(m) => {
                tracing::debug!(subject = %m.subject, "archived message carries no advisory");
                summary.n_skipped += 1;
            }
            Err(skip) => {
                tracing::debug!(reason = %skip.reason, "archived message skipped");
                summary.n_skipped += 1;
            }
        }
    }
    Ok(summary)
}
