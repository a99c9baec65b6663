//! PLACEHOLDER (being written).
use super::{Format, FormatError, ParseContext, ParseSummary};
use crate::advisories::Advisory;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Dsa,
    Dla,
    Cve,
}

pub fn parse(
    _kind: ListKind,
    _bytes: &[u8],
    _ctx: &ParseContext,
    _sink: &mut dyn FnMut(Advisory),
) -> Result<ParseSummary, FormatError> {
    Err(FormatError::new(Format::DebianDsaList, "parser not written yet"))
}
