//! PLACEHOLDER (being written).
use super::{FormatError, ParseContext, ParseSummary, Format};
use crate::advisories::Advisory;

pub fn parse(_bytes: &[u8], _ctx: &ParseContext, _sink: &mut dyn FnMut(Advisory)) -> Result<ParseSummary, FormatError> {
    Err(FormatError::new(Format::DebianTrackerJson, "parser not written yet"))
}
