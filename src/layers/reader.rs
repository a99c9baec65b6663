//! PLACEHOLDER (being written): the streaming tar reader.
use super::{LayerExtract, LayerLimits};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer reader not written yet")]
    Pending,
}

pub fn read_layer<R: std::io::Read>(_reader: R, _limits: &LayerLimits) -> Result<LayerExtract, LayerError> {
    Err(LayerError::Pending)
}
