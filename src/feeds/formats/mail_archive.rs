//! PLACEHOLDER (being written): mailing-list archives as a feed format.
use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::Advisory;

pub fn parse(_bytes: &[u8], _ctx: &ParseContext, _sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    Err(FormatError::new(Format::MailArchive, "not written yet"))
}
