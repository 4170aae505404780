//! Registration tokens: what the buyer's browser POSTs to the seller's fulfillment URL and
//! the seller exchanges with `ResolveCustomer`. A token is opaque to its holder; the record
//! behind it binds it to its namespace (and that namespace's incarnation, so a reset
//! invalidates it), its product, customer, license, agreement and offer type, and its expiry.
//!
//! Layer: domain. Tokens look like AWS's (base64 text with `+`, `/` and `=`, so a seller who
//! forgets to URL-decode the form field finds out here and not in production).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::catalogue::Customer;
use super::ids::{random_hex, IdSource};
use super::names::{AccountId, AgreementId, CustomerIdentifier, LicenseArn, ProductCode};
use super::time::Instant;

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;
/// Characters of a token: base64 of 32 bytes, with one `=` of padding.
const TOKEN_CHARS: usize = 44;
/// A record is kept this long past its expiry, so a late resolution is answered
/// `ExpiredTokenException` rather than `InvalidTokenException`.
pub const GRACE_SECONDS: i64 = 86_400;
/// Longest TTL a token may be minted with.
pub const MAX_TTL_SECONDS: i64 = 30 * 86_400;

/// The offer type the browser's form names (`x-amzn-marketplace-offer-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfferType {
    FreeTrial,
}

impl OfferType {
    pub fn name(self) -> &'static str {
        match self {
            OfferType::FreeTrial => "free-trial",
        }
    }
}

/// What a token stands for, as the namespace keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub namespace: String,
    pub incarnation: String,
    pub product_code: ProductCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_identifier: Option<CustomerIdentifier>,
    #[serde(
        default,
        rename = "customerAWSAccountId",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_aws_account_id: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_arn: Option<LicenseArn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<AgreementId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_type: Option<OfferType>,
    pub issued_at: Instant,
    pub expires_at: Instant,
    /// When the token was first resolved (it is single-use unless the namespace says
    /// otherwise); kept in the record, so the mark lives exactly as long as the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Instant>,
}

impl TokenRecord {
    pub fn for_customer(
        namespace: &str,
        incarnation: &str,
        product_code: &ProductCode,
        customer: &Customer,
        offer_type: Option<OfferType>,
        issued_at: Instant,
        ttl_seconds: i64,
    ) -> TokenRecord {
        TokenRecord {
            namespace: namespace.into(),
            incarnation: incarnation.into(),
            product_code: product_code.clone(),
            customer_identifier: customer.customer_identifier.clone(),
            customer_aws_account_id: customer.customer_aws_account_id.clone(),
            license_arn: customer.license_arn.clone(),
            agreement_id: customer.agreement_id.clone(),
            offer_type,
            issued_at,
            expires_at: issued_at.plus_seconds(ttl_seconds),
            resolved_at: None,
        }
    }

    /// Until when the record is kept (namespace time): its expiry and the grace.
    pub fn keep_until(&self) -> Instant {
        self.expires_at.plus_seconds(GRACE_SECONDS)
    }

    pub fn expired_at(&self, now: Instant) -> bool {
        now >= self.expires_at
    }
}

/// A fresh token from the id source's randomness.
pub fn new_token(ids: &mut dyn IdSource) -> Result<String, String> {
    let hex = random_hex(ids, TOKEN_BYTES * 2)?;
    let bytes: Vec<u8> = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            digit(pair[0]) << 4 | digit(pair[1])
        })
        .collect();
    Ok(STANDARD.encode(bytes))
}

/// Whether `token` has the shape of a minted token (anything else is garbled).
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && STANDARD
            .decode(token)
            .is_ok_and(|bytes| bytes.len() == TOKEN_BYTES)
}

/// The key a token of `namespace` is kept under; `None` for a token that cannot be one of ours.
pub fn token_key(namespace: &str, token: &str) -> Option<String> {
    is_well_formed(token).then(|| format!("registration-token/{namespace}/{token}"))
}

/// A locked namespace's sign-up links: one-time, short-lived URLs of the simulated sign-up
/// page that need no credential in the buyer's browser. The link's id is its credential and is
/// kept only as a digest; the sign-up's parameters are fixed when the link is made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignupLinks {
    pub links: Vec<SignupLink>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignupLink {
    /// SHA-256 of the link's id, in hex.
    pub digest: String,
    /// The sign-up's parameters, as its request would carry them.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Host time.
    pub expires_at: Instant,
}

/// Links a namespace holds at once (expired ones do not count).
pub const MAX_SIGNUP_LINKS: usize = 100;
/// How long a link lives unless its maker says (seconds), and at most.
pub const SIGNUP_LINK_SECONDS: i64 = 900;
pub const MAX_SIGNUP_LINK_SECONDS: i64 = 3600;

impl SignupLinks {
    /// Forgets the links expired by host time `now`.
    pub fn prune(&mut self, now: Instant) {
        self.links.retain(|l| l.expires_at > now);
    }

    /// The live link of `digest`.
    pub fn find(&self, digest: &str, now: Instant) -> Option<&SignupLink> {
        self.links
            .iter()
            .find(|l| l.digest == digest && l.expires_at > now)
    }

    /// Takes the live link of `digest` out (it is used once).
    pub fn take(&mut self, digest: &str, now: Instant) -> Option<SignupLink> {
        let at = self
            .links
            .iter()
            .position(|l| l.digest == digest && l.expires_at > now)?;
        Some(self.links.remove(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::SequentialIds;

    #[test]
    fn tokens_are_base64_of_32_bytes_and_differ() {
        let mut ids = SequentialIds::default();
        let (a, b) = (new_token(&mut ids).unwrap(), new_token(&mut ids).unwrap());
        assert_ne!(a, b);
        assert!(is_well_formed(&a) && is_well_formed(&b), "{a} {b}");
        assert!(a.ends_with('='));
    }

    #[test]
    fn garbled_tokens_have_no_key() {
        let mut ids = SequentialIds::default();
        let token = new_token(&mut ids).unwrap();
        assert!(token_key("ns", &token).is_some());
        for bad in [
            "",
            "x",
            &token[1..],
            &format!("{token}x"),
            &token.replace('=', "%3D"),
            &token.replace('A', " "),
        ] {
            assert!(token_key("ns", bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn records_are_kept_past_expiry_for_a_day() {
        let c = Customer::default();
        let r =
            TokenRecord::for_customer("n", "i", &"p".parse().unwrap(), &c, None, Instant(0), 3600);
        assert_eq!(r.expires_at, Instant(3_600_000));
        assert_eq!(r.keep_until(), Instant((3600 + GRACE_SECONDS) * 1000));
        assert!(!r.expired_at(Instant(3_599_999)));
        assert!(r.expired_at(Instant(3_600_000)));
    }
}
