//! HMAC-SHA256 (RFC 2104) over the `sha2` crate, and the `X-Cascade-Signature-256` header
//! value webhook receivers check (`sha256=<lowercase hex>`, the GitHub webhook convention).
//! Pure functions; no IO, no secrets kept.

use sha2::{Digest as _, Sha256};

/// SHA-256 block size in bytes.
const BLOCK_LEN: usize = 64;
/// SHA-256 output size in bytes.
const MAC_LEN: usize = 32;
/// The scheme prefix of a signature header value.
const SIGNATURE_PREFIX: &str = "sha256=";

/// HMAC-SHA256 of `message` under `key`. Keys longer than the block size are hashed first.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; MAC_LEN] {
    let mut block = [0u8; BLOCK_LEN];
    if key.len() > BLOCK_LEN {
        block[..MAC_LEN].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner_pad = [0x36u8; BLOCK_LEN];
    let mut outer_pad = [0x5cu8; BLOCK_LEN];
    for ((i, o), k) in inner_pad.iter_mut().zip(outer_pad.iter_mut()).zip(block) {
        *i ^= k;
        *o ^= k;
    }
    let inner = Sha256::new().chain_update(inner_pad).chain_update(message).finalize();
    Sha256::new().chain_update(outer_pad).chain_update(inner).finalize().into()
}

/// `sha256=<lowercase hex of HMAC-SHA256(secret, body)>`.
pub fn signature_header_value(secret: &[u8], body: &[u8]) -> String {
    let mac = hmac_sha256(secret, body);
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 2 * MAC_LEN);
    out.push_str(SIGNATURE_PREFIX);
    for b in mac {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// True when `header_value` is `sha256=<hex>` and the hex is the HMAC of `body` under
/// `secret`. The MAC comparison takes the same time wherever the first difference is; the
/// format checks before it depend only on the header, never on the secret.
pub fn verify(secret: &[u8], body: &[u8], header_value: &str) -> bool {
    let Some(hex) = header_value.trim().strip_prefix(SIGNATURE_PREFIX) else { return false };
    let Some(claimed) = decode_hex(hex) else { return false };
    let expected = hmac_sha256(secret, body);
    let difference = expected.iter().zip(claimed.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Exactly 64 hex digits (either case) to 32 bytes.
fn decode_hex(hex: &str) -> Option<[u8; MAC_LEN]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 2 * MAC_LEN {
        return None;
    }
    let mut out = [0u8; MAC_LEN];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        *slot = (hi << 4 | lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231 section 4: test cases 1-4, 6 and 7 (5 is a truncated output).
    #[test]
    fn rfc4231_test_vectors() {
        let case4_key: Vec<u8> = (0x01..=0x19).collect();
        let cases: [(&str, Vec<u8>, Vec<u8>, &str); 6] = [
            (
                "1",
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                "2",
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            ("3", vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            ("4", case4_key, vec![0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (
                "6",
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                "7",
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. \
                  The key needs to be hashed before being used by the HMAC algorithm."
                    .to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (name, key, data, expected) in cases {
            assert_eq!(hex(&hmac_sha256(&key, &data)), expected, "RFC 4231 test case {name}");
        }
    }

    #[test]
    fn key_of_exactly_one_block_is_not_hashed() {
        // A 64-byte key is used as is; hashing it would give a different MAC.
        let key = [0x5a; 64];
        let hashed: [u8; 32] = Sha256::digest(key).into();
        assert_ne!(hmac_sha256(&key, b"m"), hmac_sha256(&hashed, b"m"));
        // A 65-byte key is hashed, so it equals the MAC under its digest.
        let long = [0x5a; 65];
        let long_hashed: [u8; 32] = Sha256::digest(long).into();
        assert_eq!(hmac_sha256(&long, b"m"), hmac_sha256(&long_hashed, b"m"));
    }

    #[test]
    fn signature_header_round_trip() {
        let value = signature_header_value(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(value, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &value));
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &value.to_uppercase().replace("SHA256=", "sha256=")));
    }

    #[test]
    fn verify_refuses_wrong_secret_body_or_format() {
        let body = br#"{"event":"rebuild"}"#;
        let good = signature_header_value(b"s3cret", body);
        assert!(verify(b"s3cret", body, &good));
        assert!(!verify(b"other", body, &good), "wrong secret");
        assert!(!verify(b"s3cret", br#"{"event":"rebuild" }"#, &good), "body changed by one byte");
        assert!(!verify(b"s3cret", body, good.trim_start_matches("sha256=")), "no scheme prefix");
        assert!(!verify(b"s3cret", body, &good.replace("sha256=", "sha1=")), "other scheme");
        assert!(!verify(b"s3cret", body, &good[..good.len() - 2]), "truncated");
        assert!(!verify(b"s3cret", body, &format!("{good}00")), "too long");
        assert!(!verify(b"s3cret", body, &format!("{}zz", &good[..good.len() - 2])), "not hex");
        assert!(!verify(b"s3cret", body, ""), "empty");
    }
}
