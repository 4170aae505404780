//! The secrets a locked deployment issues and checks: control tokens (kept only as SHA-256
//! digests, compared in constant time) and AWS credentials. SigV4 is an HMAC over the
//! secret access key, so the namespace must keep that secret itself to verify signatures;
//! it is kept in the namespace's own Durable Object and never answered after it is issued.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

pub type Digest = [u8; 32];

pub fn sha256(bytes: &[u8]) -> Digest {
    Sha256::digest(bytes).into()
}

/// Whether `candidate` hashes to `expected`; the comparison takes the same time whatever
/// the inputs, and hashing first means the length of the secret is not compared either.
pub fn digest_matches(expected: &Digest, candidate: &str) -> bool {
    expected.ct_eq(&sha256(candidate.as_bytes())).into()
}

/// Whether `candidate` hashes to the hex digest `expected_hex`.
pub fn hex_digest_matches(expected_hex: &str, candidate: &str) -> bool {
    let got = hex::encode(sha256(candidate.as_bytes()));
    expected_hex.as_bytes().ct_eq(got.as_bytes()).into()
}

/// The bearer token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// What a namespace is given at creation or rotation, shown once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub control_token: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE62: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Issued {
    /// Fresh secrets from 96 random bytes, each part from its own bytes: a 43-character
    /// control token (256 bits), an access key id shaped like AWS's (`AKIA` + 16 base-32
    /// characters, so never the 12 digits that name an account: the issued key is the
    /// wildcard caller) and a 40-character secret access key (about 238 bits).
    pub fn from_random(bytes: &[u8; 96]) -> Issued {
        use base64::Engine;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..32]);
        let key_id: String = bytes[32..48]
            .iter()
            .map(|b| BASE32[(b & 31) as usize] as char)
            .collect();
        let secret: String = bytes[48..88]
            .iter()
            .map(|b| BASE62[*b as usize % 62] as char)
            .collect();
        Issued {
            control_token: format!("mmct_{token}"),
            access_key_id: format!("AKIA{key_id}"),
            secret_access_key: secret,
        }
    }
}

/// What a provisioned namespace keeps about its own access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provision {
    pub name: String,
    /// SHA-256 (hex) of the control token; the token itself is not kept.
    pub control_token_sha256: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub idle_days: u32,
    /// Epoch milliseconds of the provisioning (host time).
    pub created_at: i64,
}

impl Provision {
    pub fn new(name: &str, issued: &Issued, idle_days: u32, created_at: i64) -> Provision {
        Provision {
            name: name.to_string(),
            control_token_sha256: hex::encode(sha256(issued.control_token.as_bytes())),
            access_key_id: issued.access_key_id.clone(),
            secret_access_key: issued.secret_access_key.clone(),
            idle_days,
            created_at,
        }
    }

    pub fn accepts_control_token(&self, token: &str) -> bool {
        hex_digest_matches(&self.control_token_sha256, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(fill: u8) -> [u8; 96] {
        let mut bytes = [0u8; 96];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(fill);
        }
        bytes
    }

    #[test]
    fn issued_secrets_have_the_documented_shapes_and_differ_by_seed() {
        let a = Issued::from_random(&random(1));
        let b = Issued::from_random(&random(2));
        assert!(a.control_token.starts_with("mmct_"));
        assert_eq!(a.control_token.len(), 5 + 43);
        assert_eq!(a.access_key_id.len(), 20);
        assert!(a.access_key_id.starts_with("AKIA"));
        assert!(!a.access_key_id.bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(a.secret_access_key.len(), 40);
        assert_ne!(a, b);
        assert_ne!(a.control_token, b.control_token);
    }

    #[test]
    fn a_provision_keeps_only_the_digest_of_its_control_token() {
        let issued = Issued::from_random(&random(7));
        let p = Provision::new("team-a", &issued, 7, 0);
        assert!(!serde_json::to_string(&p)
            .unwrap()
            .contains(&issued.control_token));
        assert!(p.accepts_control_token(&issued.control_token));
        assert!(!p.accepts_control_token("mmct_guess"));
        assert!(!p.accepts_control_token(""));
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer   abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn digests_match_only_their_own_secret() {
        let d = sha256(b"s3cret-s3cret-s3cret");
        assert!(digest_matches(&d, "s3cret-s3cret-s3cret"));
        assert!(!digest_matches(&d, "s3cret-s3cret-s3creT"));
    }
}
