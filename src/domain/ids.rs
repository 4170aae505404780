//! Where record ids and request ids come from. The core never draws randomness itself:
//! the worker passes a random source, tests pass a sequence. Key seeds come from here too.

use super::signing::{generate_key_der, Claims, KeyError, SigningKey};

/// A source of fresh UUID strings and of random seeds.
pub trait IdSource {
    fn next_uuid(&mut self) -> String;
    /// A request id: unlike record ids and secrets it guards nothing, so a source may give
    /// one even when it cannot give randomness.
    fn request_id(&mut self) -> String {
        self.next_uuid()
    }
    /// 32 bytes from a cryptographically secure source, to seed a key generator; `None` if
    /// the source failed (a key must then not be made).
    fn random_seed(&mut self) -> Option<[u8; 32]>;
    /// A new RSA signing key (PKCS#1 DER): by default generated in Rust from `random_seed`;
    /// the worker hands over one WebCrypto made before the request's step.
    fn new_signing_key(&mut self) -> Result<Vec<u8>, KeyError> {
        seeded_signing_key(self)
    }
    /// A RegisterUsage signature: by default made here, in Rust; the worker answers a
    /// placeholder and signs with WebCrypto once the request's step has committed (RSA in
    /// wasm costs several milliseconds of the namespace's single thread).
    fn sign(&mut self, key: &SigningKey, claims: &Claims) -> Result<String, KeyError> {
        key.sign(claims)
    }
}

/// A new RSA signing key generated in Rust from the source's `random_seed`.
pub fn seeded_signing_key<I: IdSource + ?Sized>(ids: &mut I) -> Result<Vec<u8>, KeyError> {
    let seed = ids
        .random_seed()
        .ok_or_else(|| KeyError("the random source failed; no key was made".into()))?;
    generate_key_der(seed)
}

/// `n` lower-case hex digits drawn from the source's UUIDs; an error when the source does
/// not give enough of them (it is broken: nothing should be made from it).
pub fn random_hex(ids: &mut dyn IdSource, n: usize) -> Result<String, String> {
    let mut hex = String::with_capacity(n);
    for _ in 0..(n / 16 + 4) {
        hex.extend(
            ids.next_uuid()
                .chars()
                .filter(char::is_ascii_hexdigit)
                .map(|c| c.to_ascii_lowercase()),
        );
        if hex.len() >= n {
            hex.truncate(n);
            return Ok(hex);
        }
    }
    Err("the id source gave too few random digits".into())
}

/// Formats 128 bits as a version-4 UUID string.
pub fn uuid_v4_from_bytes(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    // Written digit by digit: one allocation, where a format! per byte made seventeen (a
    // batch makes 25 ids).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(b >> 4)]));
        text.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    text
}

/// Predictable ids for tests: `00000000-0000-4000-8000-000000000001`, `…002`, ….
#[derive(Default)]
pub struct SequentialIds {
    next: u64,
}

impl IdSource for SequentialIds {
    fn next_uuid(&mut self) -> String {
        self.next += 1;
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&self.next.to_be_bytes());
        uuid_v4_from_bytes(bytes)
    }

    /// Not random at all: the next number, repeated (reproducible keys in tests).
    fn random_seed(&mut self) -> Option<[u8; 32]> {
        self.next += 1;
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&self.next.to_be_bytes());
        }
        Some(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_have_the_v4_shape() {
        let id = uuid_v4_from_bytes([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let counting: [u8; 16] = std::array::from_fn(|i| (i as u8) * 0x11);
        assert_eq!(
            uuid_v4_from_bytes(counting),
            "00112233-4455-4677-8899-aabbccddeeff"
        );
        let mut ids = SequentialIds::default();
        assert_eq!(ids.next_uuid(), "00000000-0000-4000-8000-000000000001");
        assert_ne!(ids.next_uuid(), ids.next_uuid());
    }
}
