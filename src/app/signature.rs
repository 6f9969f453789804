//! Webhook signatures: `X-Hub-Signature-256: sha256=<hex>`, an HMAC-SHA256
//! of the raw request body keyed with the App's webhook secret.
//!
//! Checked before anything reads the body: an unsigned or wrongly signed
//! request costs one HMAC and nothing else.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a delivery was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("X-Hub-Signature-256 is not `sha256=` and 64 hex digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

/// Verifies `header` (the value of `X-Hub-Signature-256`) against `body`.
/// The comparison takes the same time wherever the first difference is.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let mut v = Verifier::new(secret, header)?;
    v.update(body);
    v.finish()
}

/// A signature checked while the body streams in: the header is judged
/// before any of the body is read (a missing or malformed one costs
/// nothing), and the HMAC advances chunk by chunk.
pub struct Verifier {
    mac: Hmac<Sha256>,
    expected: [u8; 32],
}

impl Verifier {
    pub fn new(secret: &[u8], header: Option<&str>) -> Result<Verifier, SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let hex = header
            .trim()
            .strip_prefix("sha256=")
            .ok_or(SignatureError::Malformed)?;
        let expected = decode_hex(hex).ok_or(SignatureError::Malformed)?;
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
        Ok(Verifier { mac, expected })
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.mac.update(chunk);
    }

    pub fn finish(self) -> Result<(), SignatureError> {
        // `verify_slice` compares in constant time (the `subtle` crate).
        self.mac
            .verify_slice(&self.expected)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// The header value GitHub would send for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length; this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut out = String::from("sha256=");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn decode_hex(s: &str) -> Option<[u8; 32]> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_documented_example() {
        // The example of GitHub's "Validating webhook deliveries" page.
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(secret, body), sig);
        assert_eq!(verify(secret, Some(sig), body), Ok(()));
        assert_eq!(
            verify(
                secret,
                Some(&sig.to_uppercase().replace("SHA256", "sha256")),
                body
            ),
            Ok(()),
            "hex digits in either case"
        );
    }

    #[test]
    fn refusals() {
        let s = b"k";
        let good = sign(s, b"body");
        assert_eq!(verify(s, None, b"body"), Err(SignatureError::Missing));
        assert_eq!(
            verify(s, Some("sha1=abc"), b"body"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(s, Some(&good[..good.len() - 1]), b"body"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(s, Some(&good.replace('a', "g")), b"body"),
            if good.contains('a') {
                Err(SignatureError::Malformed)
            } else {
                Ok(())
            }
        );
        assert_eq!(
            verify(s, Some(&good), b"body "),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", Some(&good), b"body"),
            Err(SignatureError::Mismatch)
        );
    }
}
