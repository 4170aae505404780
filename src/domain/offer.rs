//! A product's public offer, as AWS Marketplace Discovery shows it and the Agreement Service
//! accepts it: its ids (derived from the product code, so they are stable without being
//! stored) and its terms, made from the product: the legal and support terms every listing
//! has, and a usage-based rate card of its dimensions at their `prices` (USD; `0.00` for an
//! unpriced dimension).
//!
//! Layer: domain. Pure.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::catalogue::{Customer, Product};

/// The seller of a product that names none (on its agreements and its EventBridge events).
pub const DEFAULT_SELLER_ACCOUNT: &str = "123456789012";

/// The product's seller: its `sellerAccountId`, else `DEFAULT_SELLER_ACCOUNT`.
pub fn proposer_of(product: &Product) -> String {
    match &product.seller_account_id {
        Some(account) => account.to_string(),
        None => DEFAULT_SELLER_ACCOUNT.to_string(),
    }
}

/// Lowercase hex of the SHA-256 of `parts`, joined by a separator no part contains.
fn digest(parts: &[&str]) -> String {
    hex::encode(Sha256::digest(parts.join("\u{0}").as_bytes()))
}

/// A term of an offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    Legal {
        id: String,
    },
    Support {
        id: String,
    },
    /// Each dimension with its price per unit in USD.
    UsageBasedPricing {
        id: String,
        rates: Vec<(String, String)>,
    },
}

impl Term {
    pub fn id(&self) -> &str {
        match self {
            Term::Legal { id } | Term::Support { id } | Term::UsageBasedPricing { id, .. } => id,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Term::Legal { .. } => "LegalTerm",
            Term::Support { .. } => "SupportTerm",
            Term::UsageBasedPricing { .. } => "UsageBasedPricingTerm",
        }
    }

    fn member(&self) -> &'static str {
        match self {
            Term::Legal { .. } => "legalTerm",
            Term::Support { .. } => "supportTerm",
            Term::UsageBasedPricing { .. } => "usageBasedPricingTerm",
        }
    }

    /// The term as the Agreement Service's `AcceptedTerm` union.
    pub fn accepted(&self) -> Value {
        json!({ self.member(): self.body(false) })
    }

    /// The term as Discovery's `OfferTerm` union, whose rate cards name more per dimension.
    pub fn offered(&self) -> Value {
        json!({ self.member(): self.body(true) })
    }

    fn body(&self, discovery: bool) -> Value {
        match self {
            Term::Legal { id } => json!({"type": self.type_name(), "id": id, "documents": [
                {"type": "StandardEula", "url": STANDARD_EULA_URL, "version": "2022-07-14"}
            ]}),
            Term::Support { id } => {
                json!({"type": self.type_name(), "id": id, "refundPolicy": REFUND_POLICY})
            }
            Term::UsageBasedPricing { id, rates } => {
                let card: Vec<Value> = rates
                    .iter()
                    .map(|(dimension, price)| match discovery {
                        false => json!({"dimensionKey": dimension, "price": price}),
                        true => json!({"dimensionKey": dimension, "displayName": dimension,
                                       "unit": "Units", "price": price, "regionalPrices": []}),
                    })
                    .collect();
                json!({"type": self.type_name(), "id": id, "currencyCode": "USD", "rateCards": [{"rateCard": card}]})
            }
        }
    }
}

const STANDARD_EULA_URL: &str =
    "https://aws.amazon.com/marketplace/features/standardized-contracts";
const REFUND_POLICY: &str = "Refunds are at the seller's discretion (metering-mock).";

/// A product's public offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub offer_id: String,
    /// What `CreateAgreementRequest` names the offer by (`ap-…`).
    pub agreement_proposal_id: String,
    /// The product's id in the catalog (`prod-…`), as agreements name their resources.
    pub product_id: String,
    pub proposer: String,
    pub terms: Vec<Term>,
}

impl Offer {
    /// The public offer of `product`.
    pub fn public(product: &Product) -> Offer {
        let code: &str = &product.product_code;
        let id = |kind: &str| digest(&[kind, code])[..25].to_string();
        let rates = product
            .dimensions
            .iter()
            .map(|d| {
                let price = product
                    .prices
                    .get(&d.to_string())
                    .map_or_else(|| "0.00".to_string(), |p| p.to_string());
                (d.to_string(), price)
            })
            .collect();
        Offer {
            offer_id: format!("offer-{}", id("offer")),
            agreement_proposal_id: format!("ap-{}", id("proposal")),
            product_id: format!("prod-{}", id("product")),
            proposer: proposer_of(product),
            terms: vec![
                Term::Legal {
                    id: format!("term-{}", id("legal")),
                },
                Term::Support {
                    id: format!("term-{}", id("support")),
                },
                Term::UsageBasedPricing {
                    id: format!("term-{}", id("usage")),
                    rates,
                },
            ],
        }
    }

    /// The offer id of `customer`'s agreement: the private offer it names, else this one.
    pub fn id_for<'a>(&'a self, customer: &'a Customer) -> &'a str {
        customer
            .offer_identifier
            .as_deref()
            .unwrap_or(&self.offer_id)
    }

    pub fn term(&self, id: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.id() == id)
    }

    /// The offer's pricing model, as Discovery names it.
    pub fn pricing_model(&self) -> Value {
        json!({"pricingModelType": "USAGE", "displayName": "Usage-based"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(value: Value) -> Product {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn ids_are_stable_per_product_and_differ_between_products() {
        let a = product(
            json!({"productCode": "a", "dimensions": ["users"], "prices": {"users": "0.25"}}),
        );
        let b = product(json!({"productCode": "b", "dimensions": ["users"]}));
        assert_eq!(Offer::public(&a), Offer::public(&a));
        assert_ne!(Offer::public(&a).offer_id, Offer::public(&b).offer_id);
        let offer = Offer::public(&a);
        assert!(
            offer.offer_id.starts_with("offer-") && offer.agreement_proposal_id.starts_with("ap-")
        );
        assert_eq!(offer.proposer.len(), 12);
        assert!(offer.proposer.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn the_rate_card_prices_each_dimension() {
        let offer = Offer::public(&product(
            json!({"productCode": "a", "dimensions": ["users", "gb"], "prices": {"users": "0.25"}}),
        ));
        let usage = offer
            .terms
            .iter()
            .find(|t| matches!(t, Term::UsageBasedPricing { .. }))
            .unwrap();
        let accepted = usage.accepted();
        let card = &accepted["usageBasedPricingTerm"]["rateCards"][0]["rateCard"];
        assert_eq!(card[0], json!({"dimensionKey": "users", "price": "0.25"}));
        assert_eq!(card[1], json!({"dimensionKey": "gb", "price": "0.00"}));
        assert_eq!(offer.term(usage.id()), Some(usage));
    }
}
