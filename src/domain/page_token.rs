//! Continuation tokens of paginated answers (`NextToken`): opaque to clients, and bound to
//! the listing they continue and to the namespace's incarnation, so a token resumes only the
//! listing it was issued for, in the same world (a reset voids it).
//!
//! Layer: domain. A token is base64url (no padding) of the position, 8 bytes big-endian,
//! followed by the first 16 bytes of HMAC-SHA256 over (listing, position) keyed by the
//! namespace's secret. A token whose MAC does not match was not issued for this listing;
//! no state is kept, so tokens never expire and any number may be outstanding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const POSITION_BYTES: usize = 8;
const MAC_BYTES: usize = 16;

/// The tokens of one listing: `secret` is the namespace's (name and incarnation), `listing`
/// a canonical text of what is listed (the operation, its product and its filter).
pub struct PageTokens<'a> {
    secret: &'a str,
    listing: &'a str,
}

impl<'a> PageTokens<'a> {
    pub fn new(secret: &'a str, listing: &'a str) -> Self {
        PageTokens { secret, listing }
    }

    /// The token that resumes the listing at `position`.
    pub fn issue(&self, position: usize) -> String {
        let position = (position as u64).to_be_bytes();
        let mut bytes = position.to_vec();
        bytes.extend_from_slice(&self.mac(&position)[..MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position a token resumes at, or `None` when this listing did not issue it.
    pub fn position(&self, token: &str) -> Option<usize> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != POSITION_BYTES + MAC_BYTES {
            return None;
        }
        let (position, mac) = bytes.split_at(POSITION_BYTES);
        if self.mac(position)[..MAC_BYTES] != *mac {
            return None;
        }
        let position = u64::from_be_bytes(position.try_into().ok()?);
        usize::try_from(position).ok()
    }

    fn mac(&self, position: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length: the error arm cannot be reached, and an empty MAC
        // would only make every token unknown.
        match <Hmac<Sha256> as KeyInit>::new_from_slice(self.secret.as_bytes()) {
            Ok(mut mac) => {
                // Length-prefixed, so no listing text can run into the position.
                mac.update(&(self.listing.len() as u64).to_be_bytes());
                mac.update(self.listing.as_bytes());
                mac.update(position);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => vec![0; MAC_BYTES],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_resumes_its_own_listing_at_its_position() {
        let tokens = PageTokens::new("ns\nincarnation-1", "GetEntitlements p {}");
        for position in [0, 1, 25, 1_000_000] {
            let token = tokens.issue(position);
            assert_eq!(tokens.position(&token), Some(position));
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn tokens_of_other_listings_or_worlds_are_refused() {
        let token = PageTokens::new("ns\ni1", "listing-a").issue(25);
        assert_eq!(
            PageTokens::new("ns\ni1", "listing-b").position(&token),
            None
        );
        assert_eq!(
            PageTokens::new("ns\ni2", "listing-a").position(&token),
            None
        );
        assert_eq!(
            PageTokens::new("other\ni1", "listing-a").position(&token),
            None
        );
    }

    #[test]
    fn garbled_and_forged_tokens_are_refused() {
        let tokens = PageTokens::new("s", "l");
        let good = tokens.issue(3);
        let mut forged = URL_SAFE_NO_PAD.decode(&good).unwrap();
        forged[7] = 9; // another position under the old MAC
        for bad in [
            String::new(),
            "x".into(),
            "!!!!".into(),
            good[..good.len() - 1].to_string(),
            format!("{good}A"),
            URL_SAFE_NO_PAD.encode(forged),
            URL_SAFE_NO_PAD.encode([0u8; 24]),
        ] {
            assert_eq!(tokens.position(&bad), None, "{bad}");
        }
    }
}
