//! Fuzz target `mailbox`: arbitrary bytes through the mailbox helpers that see untrusted
//! archives before any message is parsed: `mail::gunzip_archive` (with a small cap),
//! `mail::split_mbox`, `mail::unescape_from_lines`, `mail::strip_pgp_clearsign` and
//! `mail::unquote`. Properties: the gzip cap holds; mbox messages are pieces of the input.
#![no_main]

use cascade::mail;
use libfuzzer_sys::fuzz_target;

/// Decompressed bytes allowed from one archive here.
const MAX_ARCHIVE_BYTES: u64 = 4 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = mail::gunzip_archive(data, MAX_ARCHIVE_BYTES) {
        assert!(text.len() as u64 <= MAX_ARCHIVE_BYTES, "{} bytes out of a capped gunzip", text.len());
    }
    let base = data.as_ptr() as usize;
    for message in mail::split_mbox(data) {
        let start = (message.as_ptr() as usize).wrapping_sub(base);
        let inside = message.is_empty() || (start <= data.len() && message.len() <= data.len() - start);
        assert!(inside, "split_mbox returned bytes that are not part of the mbox");
        let _ = mail::unescape_from_lines(message);
    }
    let text = String::from_utf8_lossy(data);
    let _ = mail::strip_pgp_clearsign(&text);
    let _ = mail::unquote(&text);
});
