//! Content digests (`sha256:<hex>`): parsing and streaming verification. Owns no IO beyond
//! wrapping a caller's reader.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A parsed content digest, `algorithm:encoded`, as the image spec defines it.
///
/// Only `sha256` can be verified; other registered algorithms parse so that an index naming
/// them is not rejected, but reading content under them fails with a clear error.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: String,
    encoded: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("digest {0:?} is not of the form algorithm:encoded")]
    Malformed(String),
    #[error("digest {0:?} has an invalid sha256 value (want 64 lowercase hex digits)")]
    BadSha256(String),
    #[error("digest algorithm {0:?} is not supported for verification")]
    Unsupported(String),
}

impl Digest {
    /// The digest of `bytes` under sha256.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::from_sha256(Sha256::digest(bytes).into())
    }

    fn from_sha256(raw: [u8; 32]) -> Digest {
        Digest { algorithm: "sha256".to_string(), encoded: hex(&raw) }
    }

    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// Fails unless this digest can be verified (sha256).
    pub fn ensure_verifiable(&self) -> Result<(), DigestError> {
        if self.algorithm == "sha256" {
            Ok(())
        } else {
            Err(DigestError::Unsupported(self.to_string()))
        }
    }

    /// True when `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.algorithm == "sha256" && Digest::sha256_of(bytes) == *self
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (algorithm, encoded) = s.split_once(':').ok_or_else(|| DigestError::Malformed(s.to_string()))?;
        let algorithm_ok = !algorithm.is_empty()
            && algorithm.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
        let encoded_ok =
            !encoded.is_empty() && encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
        if !algorithm_ok || !encoded_ok {
            return Err(DigestError::Malformed(s.to_string()));
        }
        if algorithm == "sha256"
            && (encoded.len() != 64 || !encoded.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            return Err(DigestError::BadSha256(s.to_string()));
        }
        Ok(Digest { algorithm: algorithm.to_string(), encoded: encoded.to_string() })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.encoded)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A reader that hashes everything read through it and, at end of stream, fails with
/// `InvalidData` unless the content matches the expected digest (and size, when known).
///
/// Callers must read to EOF: content is only trustworthy once `read` has returned 0.
pub struct VerifyingReader<R> {
    inner: R,
    expected: Digest,
    expected_size: Option<u64>,
    hasher: Sha256,
    n_read: u64,
    verified: bool,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, expected: Digest, expected_size: Option<u64>) -> Result<Self, DigestError> {
        expected.ensure_verifiable()?;
        Ok(VerifyingReader { inner, expected, expected_size, hasher: Sha256::new(), n_read: 0, verified: false })
    }

    /// True once the stream reached EOF and matched.
    pub fn verified(&self) -> bool {
        self.verified
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.hasher.update(&buf[..n]);
            self.n_read += n as u64;
            if let Some(size) = self.expected_size {
                if self.n_read > size {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("content of {} is longer than its declared size {size}", self.expected),
                    ));
                }
            }
            return Ok(n);
        }
        if !self.verified && !buf.is_empty() {
            let actual = Digest::from_sha256(self.hasher.clone().finalize().into());
            if actual != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("digest mismatch: expected {}, content hashes to {actual}", self.expected),
                ));
            }
            if let Some(size) = self.expected_size {
                if self.n_read != size {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("content of {} is {} bytes, descriptor says {size}", self.expected, self.n_read),
                    ));
                }
            }
            self.verified = true;
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_prints() {
        let d: Digest = EMPTY.parse().unwrap();
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(Digest::sha256_of(b""), d);
        assert!("sha512:abcd".parse::<Digest>().is_ok());
        assert!(matches!("sha256:abcd".parse::<Digest>(), Err(DigestError::BadSha256(_))));
        assert!(matches!("nocolon".parse::<Digest>(), Err(DigestError::Malformed(_))));
        assert!(matches!("SHA256:ab".parse::<Digest>(), Err(DigestError::Malformed(_))));
    }

    #[test]
    fn verifying_reader_accepts_match_and_rejects_mismatch() {
        let good = Digest::sha256_of(b"hello");
        let mut r = VerifyingReader::new(&b"hello"[..], good.clone(), Some(5)).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert!(r.verified());

        let mut r = VerifyingReader::new(&b"hellO"[..], good.clone(), None).unwrap();
        let err = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");

        let mut r = VerifyingReader::new(&b"hello!"[..], good, Some(5)).unwrap();
        assert!(r.read_to_end(&mut Vec::new()).is_err());
    }
}
