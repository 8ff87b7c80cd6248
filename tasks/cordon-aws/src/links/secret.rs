//! Secrets and randomness for links: the [`Secret`] holder, constant-time comparison,
//! values from the OS CSPRNG, the one-way hash of a link id or task token, and HMAC-SHA256
//! (RFC 2104) for values derived from a secret (the page's anti-CSRF value).
use std::fmt;

use cordon_core::TaskError;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A secret string (task token, anti-CSRF value). `Debug` prints `<redacted>`; there is no
/// `Display` and no `Serialize`, so it cannot end up in a log line or a JSON document by
/// accident. Use [`Secret::expose`] where the value must be sent.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Constant-time comparison with an untrusted candidate (its length may leak, its
    /// content does not).
    pub fn matches(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `err` with every occurrence of `secret` replaced by `<redacted>`: for errors raised
/// while a secret was in flight, in case a service echoes request values in a message.
pub fn redact(err: TaskError, secret: &Secret) -> TaskError {
    let hide = |m: String| {
        if secret.is_empty() {
            m
        } else {
            m.replace(secret.expose(), "<redacted>")
        }
    };
    match err {
        TaskError::InvalidEvent { field, reason } => TaskError::InvalidEvent {
            field: hide(field),
            reason: hide(reason),
        },
        TaskError::Transient { operation, message } => TaskError::Transient {
            operation,
            message: hide(message),
        },
        TaskError::Aws {
            operation,
            code,
            message,
        } => TaskError::Aws {
            operation,
            code,
            message: hide(message),
        },
        TaskError::Config(m) => TaskError::Config(hide(m)),
        TaskError::PrincipalNotFound(m) => TaskError::PrincipalNotFound(hide(m)),
        TaskError::ProtectedPrincipal { principal, reason } => TaskError::ProtectedPrincipal {
            principal: hide(principal),
            reason: hide(reason),
        },
    }
}

/// Compare two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// `n` bytes from the operating system's CSPRNG, as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, TaskError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| TaskError::Aws {
        operation: "getrandom".into(),
        code: "RandomnessUnavailable".into(),
        message: format!("the operating system's random number generator failed: {e}"),
    })?;
    Ok(hex(&buf))
}

/// SHA-256 of `value`, hex: how a link id or a task token is stored (one-way; the value
/// cannot be recovered from it).
pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// HMAC-SHA256 of `message` under `key` (RFC 2104), hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| -> [u8; BLOCK] {
        let mut p = [byte; BLOCK];
        for (p, k) in p.iter_mut().zip(k.iter()) {
            *p ^= k;
        }
        p
    };
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    hex(&Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_compared_in_constant_time() {
        let s = Secret::new("very-secret-token");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(s.matches("very-secret-token"));
        assert!(!s.matches("very-secret-tokeN"));
        assert!(!s.matches("very-secret"));
        assert!(!s.matches(""));
        let e = redact(
            TaskError::Aws {
                operation: "dynamodb:PutItem".into(),
                code: "ValidationException".into(),
                message: "bad value very-secret-token in item".into(),
            },
            &Secret::new("very-secret-token"),
        );
        assert!(!e.to_string().contains("very-secret-token"), "{e}");
        assert!(e.to_string().contains("<redacted>"), "{e}");
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1 and 2 of RFC 4231.
        assert_eq!(
            hmac_sha256_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A key longer than the block is hashed first (test case 6).
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn random_values_are_hex_of_the_asked_length() {
        let a = random_hex(32).expect("random");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_hex(32).expect("random"));
        assert_eq!(sha256_hex("x").len(), 64);
    }
}
