//! RegisterUsage's signed answers: the namespace's key ring (one RSA key per public-key
//! version, rotated and retired through the control API), the claims of a signature, and
//! the compact JWS (PS256) that carries them. The public halves are published as PEM and as
//! a JWKS so a seller's container verifies the mock's signature exactly as it verifies AWS's.
//!
//! New keys come from the caller's random source (the core never draws randomness itself):
//! the worker has WebCrypto generate them (native code, a tenth of a second), tests and the
//! fallback generate them here from a 32-byte seed expanded by ChaCha20. RSA, PSS and JWS
//! come from maintained crates (`rsa`, `jsonwebtoken`); nothing here is hand-made
//! cryptography.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::der::Encode;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding, PrivateKeyInfo};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::time::Instant;

/// Modulus size of generated keys: the least that JWT libraries accept for PS256.
pub const KEY_BITS: usize = 2048;
/// Versions a namespace may hold; rotation past it is refused.
pub const MAX_VERSIONS: u32 = 100;

/// One version of the namespace's signing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    pub version: u32,
    pub created_at: Instant,
    /// When the version was retired: RegisterUsage with it then answers
    /// `PublicKeyRotationTimestamp` (or, by setting, `InvalidPublicKeyVersionException`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<Instant>,
    /// The private key, PKCS#1 DER in base64. Never leaves the namespace.
    private_key: String,
}

/// Why a key could not be made or used; always the mock's own failure, never the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "signing key: {}", self.0)
    }
}

fn key_error(e: impl std::fmt::Display) -> KeyError {
    KeyError(e.to_string())
}

/// A new RSA private key (PKCS#1 DER) generated from a 32-byte random seed.
pub fn generate_key_der(seed: [u8; 32]) -> Result<Vec<u8>, KeyError> {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let key = RsaPrivateKey::new(&mut rng, KEY_BITS).map_err(key_error)?;
    Ok(key.to_pkcs1_der().map_err(key_error)?.as_bytes().to_vec())
}

/// An RSA private key made elsewhere (WebCrypto exports PKCS#8) as PKCS#1 DER.
pub fn key_der_from_pkcs8(pkcs8: &[u8]) -> Result<Vec<u8>, KeyError> {
    let key = RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(key_error)?;
    Ok(key.to_pkcs1_der().map_err(key_error)?.as_bytes().to_vec())
}

impl SigningKey {
    /// Version `version` of the ring, from a PKCS#1 DER private key of `KEY_BITS` bits.
    pub fn from_der(version: u32, der: &[u8], now: Instant) -> Result<SigningKey, KeyError> {
        let key = RsaPrivateKey::from_pkcs1_der(der).map_err(key_error)?;
        if key.size() * 8 != KEY_BITS {
            return Err(KeyError(format!(
                "a {}-bit key, not {KEY_BITS}",
                key.size() * 8
            )));
        }
        Ok(SigningKey {
            version,
            created_at: now,
            retired_at: None,
            private_key: STANDARD.encode(der),
        })
    }

    fn private_der(&self) -> Result<Vec<u8>, KeyError> {
        STANDARD.decode(&self.private_key).map_err(key_error)
    }

    fn private(&self) -> Result<RsaPrivateKey, KeyError> {
        RsaPrivateKey::from_pkcs1_der(&self.private_der()?).map_err(key_error)
    }

    pub fn is_retired_at(&self, now: Instant) -> bool {
        self.retired_at.is_some_and(|at| at <= now)
    }

    /// The key id of the JWKS entry: the version, as text.
    pub fn kid(&self) -> String {
        self.version.to_string()
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block.
    pub fn public_pem(&self) -> Result<String, KeyError> {
        self.private()?
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(key_error)
    }

    /// The public key as a JSON Web Key (RFC 7517/7518).
    pub fn public_jwk(&self) -> Result<Value, KeyError> {
        let key = self.private()?;
        Ok(json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "PS256",
            "kid": self.kid(),
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }))
    }

    /// Signs the claims: a compact JWS with the header `{"typ":"JWT","alg":"PS256"}`, as
    /// AWS's signatures have (no `kid`: the caller names the version it holds).
    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        let key = EncodingKey::from_rsa_der(&self.private_der()?);
        jsonwebtoken::encode(&Header::new(Algorithm::PS256), &claims.to_json(), &key)
            .map_err(key_error)
    }

    /// The private key as PKCS#8 DER, for a signer outside Rust (WebCrypto imports PKCS#8):
    /// the stored PKCS#1 key wrapped as it is, with no RSA arithmetic in wasm.
    pub fn private_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        pkcs8_from_pkcs1(&self.private_der()?)
    }
}

/// A PKCS#8 `PrivateKeyInfo` holding a PKCS#1 `RSAPrivateKey` (rsaEncryption, NULL
/// parameters), encoded by the `pkcs8` crate.
fn pkcs8_from_pkcs1(pkcs1: &[u8]) -> Result<Vec<u8>, KeyError> {
    PrivateKeyInfo::new(rsa::pkcs1::ALGORITHM_ID, pkcs1)
        .to_der()
        .map_err(key_error)
}

/// What a PS256 JWS of `claims` signs: `base64url(header) "." base64url(payload)`, exactly as
/// `SigningKey::sign` builds it; an RSA-PSS (SHA-256, 32-byte salt) signature of these bytes,
/// base64url-encoded after a ".", completes it.
pub fn signing_input(claims: &Claims) -> Result<String, KeyError> {
    let header = serde_json::to_vec(&Header::new(Algorithm::PS256)).map_err(key_error)?;
    let payload = serde_json::to_vec(&claims.to_json()).map_err(key_error)?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    ))
}

/// The compact JWS of a signing input and its raw signature.
pub fn compact_jws(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// What a RegisterUsage signature asserts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    pub product_code: String,
    pub public_key_version: u32,
    pub nonce: Option<String>,
    /// Issued at, in epoch seconds on the namespace clock.
    pub issued_at: i64,
}

impl Claims {
    /// The payload: the camelCase names the seller guide's verifier reads, their PascalCase
    /// aliases from its example payload (docs/decisions.md), and `iat`.
    pub fn to_json(&self) -> Value {
        let mut claims = Map::new();
        claims.insert("productCode".into(), json!(self.product_code));
        claims.insert("publicKeyVersion".into(), json!(self.public_key_version));
        claims.insert("ProductCode".into(), json!(self.product_code));
        claims.insert("PublicKeyVersion".into(), json!(self.public_key_version));
        if let Some(nonce) = &self.nonce {
            claims.insert("nonce".into(), json!(nonce));
            claims.insert("Nonce".into(), json!(nonce));
        }
        claims.insert("iat".into(), json!(self.issued_at));
        Value::Object(claims)
    }
}

/// The namespace's signing keys, ordered by version (1, 2, …, with no gaps).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn version(&self, version: i64) -> Option<&SigningKey> {
        self.keys.iter().find(|k| i64::from(k.version) == version)
    }

    /// The newest version (0 when the ring is empty).
    pub fn latest(&self) -> u32 {
        self.keys.last().map_or(0, |k| k.version)
    }

    /// Adds the next version with the private key `der` (PKCS#1); with `retire_previous`, every older
    /// version not already retired by `now` is retired at `now` (a later retirement is
    /// brought forward).
    pub fn rotate(
        &mut self,
        der: &[u8],
        now: Instant,
        retire_previous: bool,
    ) -> Result<&SigningKey, KeyError> {
        let next = self.latest() + 1;
        if next > MAX_VERSIONS {
            return Err(KeyError(format!(
                "the namespace already holds {MAX_VERSIONS} versions"
            )));
        }
        let key = SigningKey::from_der(next, der, now)?;
        if retire_previous {
            for old in self.keys.iter_mut().filter(|k| !k.is_retired_at(now)) {
                old.retired_at = Some(now);
            }
        }
        self.keys.push(key);
        Ok(&self.keys[self.keys.len() - 1])
    }

    /// Retires `version` at `at` (or un-retires it with `None`); false if it does not exist.
    pub fn set_retired(&mut self, version: i64, at: Option<Instant>) -> bool {
        match self
            .keys
            .iter_mut()
            .find(|k| i64::from(k.version) == version)
        {
            Some(key) => {
                key.retired_at = at;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    fn seed(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn generate(version: u32, seed: [u8; 32]) -> SigningKey {
        SigningKey::from_der(version, &generate_key_der(seed).unwrap(), Instant(0)).unwrap()
    }

    #[test]
    fn the_signing_input_is_what_sign_signs_and_a_raw_pss_signature_completes_it() {
        use rsa::pss::BlindedSigningKey;
        use rsa::signature::{RandomizedSigner, SignatureEncoding};
        let key = generate(1, seed(3));
        let c = claims(Some("n-1"));
        let jws = key.sign(&c).unwrap();
        let input = signing_input(&c).unwrap();
        assert!(jws.starts_with(&format!("{input}.")), "{jws}");
        // What the worker does with WebCrypto: RSA-PSS over the input, then compact_jws.
        let pss = BlindedSigningKey::<sha2_10::Sha256>::new(key.private().unwrap());
        let raw = pss.sign_with_rng(&mut ChaCha20Rng::from_seed(seed(9)), input.as_bytes());
        let made = compact_jws(&input, &raw.to_vec());
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(key.public_jwk().unwrap()).unwrap();
        let public = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(Algorithm::PS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        decode::<Value>(&made, &public, &validation).expect("a PS256 JWS that verifies");
        // The hand-made PKCS#8 wrapping is byte for byte what the rsa crate encodes.
        use rsa::pkcs8::EncodePrivateKey;
        let encoded = key.private().unwrap().to_pkcs8_der().unwrap();
        assert_eq!(key.private_pkcs8_der().unwrap(), encoded.as_bytes());
    }

    fn claims(nonce: Option<&str>) -> Claims {
        Claims {
            product_code: "prod-abc".into(),
            public_key_version: 1,
            nonce: nonce.map(Into::into),
            issued_at: 1_800_000_000,
        }
    }

    fn verify(token: &str, jwk: &Value) -> Value {
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(Algorithm::PS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        decode::<Value>(token, &key, &validation).unwrap().claims
    }

    #[test]
    fn a_signature_is_a_ps256_jws_that_verifies_against_the_published_jwk() {
        let key = generate(1, seed(7));
        let token = key.sign(&claims(Some("n-1"))).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"typ": "JWT", "alg": "PS256"}));
        let payload = verify(&token, &key.public_jwk().unwrap());
        assert_eq!(
            payload,
            json!({
                "productCode": "prod-abc", "ProductCode": "prod-abc",
                "publicKeyVersion": 1, "PublicKeyVersion": 1,
                "nonce": "n-1", "Nonce": "n-1",
                "iat": 1_800_000_000
            })
        );
    }

    #[test]
    fn the_pem_holds_the_same_public_key_as_the_jwk() {
        let key = generate(1, seed(3));
        let pem = key.public_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let token = key.sign(&claims(None)).unwrap();
        let public =
            <rsa::RsaPublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_pem(&pem).unwrap();
        let from_pem = DecodingKey::from_rsa_raw_components(
            &public.n().to_bytes_be(),
            &public.e().to_bytes_be(),
        );
        let mut validation = Validation::new(Algorithm::PS256);
        validation.required_spec_claims.clear();
        let payload = decode::<Value>(&token, &from_pem, &validation)
            .unwrap()
            .claims;
        assert!(payload.get("nonce").is_none() && payload.get("Nonce").is_none());
    }

    #[test]
    fn another_version_does_not_verify_the_signature() {
        let one = generate(1, seed(1));
        let two = generate(2, seed(2));
        let token = one.sign(&claims(None)).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(two.public_jwk().unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::PS256);
        validation.required_spec_claims.clear();
        assert!(
            decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation).is_err()
        );
        assert_ne!(one.public_pem().unwrap(), two.public_pem().unwrap());
    }

    #[test]
    fn keys_follow_from_their_seed_and_differ_between_seeds() {
        let a = generate(1, seed(9));
        let b = generate(1, seed(9));
        let c = generate(1, seed(10));
        assert_eq!(a, b);
        assert_ne!(a.public_pem().unwrap(), c.public_pem().unwrap());
        assert_eq!(a.private().unwrap().size() * 8, KEY_BITS);
    }

    #[test]
    fn keys_from_pkcs8_are_accepted_and_small_keys_refused() {
        use rsa::pkcs8::EncodePrivateKey;
        let der = generate_key_der(seed(4)).unwrap();
        let key = RsaPrivateKey::from_pkcs1_der(&der).unwrap();
        let pkcs8 = key.to_pkcs8_der().unwrap();
        assert_eq!(key_der_from_pkcs8(pkcs8.as_bytes()).unwrap(), der);
        let small = RsaPrivateKey::new(&mut ChaCha20Rng::from_seed(seed(5)), 1024).unwrap();
        let small = small.to_pkcs1_der().unwrap();
        assert!(SigningKey::from_der(1, small.as_bytes(), Instant(0)).is_err());
        assert!(SigningKey::from_der(1, b"garbage", Instant(0)).is_err());
    }

    #[test]
    fn rotation_adds_the_next_version_and_can_retire_the_older_ones() {
        let mut ring = KeyRing::default();
        assert_eq!(ring.latest(), 0);
        ring.rotate(&generate_key_der(seed(1)).unwrap(), Instant(10), true)
            .unwrap();
        ring.rotate(&generate_key_der(seed(2)).unwrap(), Instant(20), false)
            .unwrap();
        assert_eq!(ring.latest(), 2);
        ring.set_retired(1, Some(Instant(1_000)));
        assert_eq!(ring.version(1).unwrap().retired_at, Some(Instant(1_000)));
        assert!(ring.version(2).unwrap().retired_at.is_none());
        let v3 = ring
            .rotate(&generate_key_der(seed(3)).unwrap(), Instant(30), true)
            .unwrap();
        assert_eq!((v3.version, v3.created_at), (3, Instant(30)));
        assert_eq!(ring.version(1).unwrap().retired_at, Some(Instant(30)));
        assert_eq!(ring.version(2).unwrap().retired_at, Some(Instant(30)));
        assert!(ring.version(3).unwrap().retired_at.is_none());
        assert!(ring.version(4).is_none() && ring.version(0).is_none());

        assert!(ring.set_retired(3, Some(Instant(99))));
        assert!(!ring.version(3).unwrap().is_retired_at(Instant(98)));
        assert!(ring.version(3).unwrap().is_retired_at(Instant(99)));
        assert!(ring.set_retired(1, None));
        assert!(ring.version(1).unwrap().retired_at.is_none());
        assert!(!ring.set_retired(7, None));

        let text = serde_json::to_string(&ring).unwrap();
        assert_eq!(serde_json::from_str::<KeyRing>(&text).unwrap(), ring);
    }
}
