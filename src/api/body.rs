//! Request bodies: read with a bound, and drained when a request is refused early. Closing a
//! connection with unread input makes the kernel reset it, and the reset can destroy the
//! answer (401, 403, 413) before the client reads it; reading the rest first lets every
//! client see why it was refused. Draining is bounded too: past [`DRAIN_BYTES`] the
//! connection is simply closed.

use axum::body::Body;
use http_body_util::BodyExt as _;

use super::routes::MAX_MAIL_BYTES;

/// The most a refused request's body is read before its connection is closed.
pub const DRAIN_BYTES: usize = 4 * MAX_MAIL_BYTES;

/// What a bounded read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Limited {
    Complete(Vec<u8>),
    /// More than the limit: the rest was drained (up to [`DRAIN_BYTES`]) and dropped.
    TooLarge,
}

/// Reads a body of at most `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<Limited, axum::Error> {
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Some(data) = frame?.into_data().ok() else { continue };
        if bytes.len() + data.len() > limit {
            drain_from(body, bytes.len() + data.len()).await;
            return Ok(Limited::TooLarge);
        }
        bytes.extend_from_slice(&data);
    }
    Ok(Limited::Complete(bytes))
}

/// Reads and drops what is left of a refused request's body (bounded).
pub async fn drain(body: Body) {
    drain_from(body, 0).await;
}

async fn drain_from(mut body: Body, mut seen: usize) {
    while seen <= DRAIN_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn reads_up_to_the_limit() {
        assert_eq!(block_on(read_limited(Body::from("abc"), 3)).unwrap(), Limited::Complete(b"abc".to_vec()));
        assert_eq!(block_on(read_limited(Body::from("abcd"), 3)).unwrap(), Limited::TooLarge);
        assert_eq!(block_on(read_limited(Body::empty(), 3)).unwrap(), Limited::Complete(Vec::new()));
    }
}
