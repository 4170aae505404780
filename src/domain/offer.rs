//! A product's public offer, as AWS Marketplace Discovery shows it and the Agreement Service
//! accepts it: its ids (derived from the product code, so they are stable without being
//! stored) and its terms, made from the product: the legal and support terms every listing
//! has; for a product with `contract` pricing, a configurable upfront pricing term (a rate
//! card per duration) and, for the dimensions it prices, a usage-based rate card (a contract
//! with consumption); otherwise a usage-based rate card of every dimension at its `prices`
//! (USD; `0.00` for an unpriced dimension).
//!
//! Layer: domain. Pure.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::catalogue::{Customer, Product};
use super::contract::ContractChoice;

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
    /// For each duration (`P12M`), each dimension with its price per unit for that long.
    ConfigurableUpfrontPricing {
        id: String,
        rate_cards: Vec<(String, Vec<(String, String)>)>,
    },
}

impl Term {
    pub fn id(&self) -> &str {
        match self {
            Term::Legal { id }
            | Term::Support { id }
            | Term::UsageBasedPricing { id, .. }
            | Term::ConfigurableUpfrontPricing { id, .. } => id,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Term::Legal { .. } => "LegalTerm",
            Term::Support { .. } => "SupportTerm",
            Term::UsageBasedPricing { .. } => "UsageBasedPricingTerm",
            Term::ConfigurableUpfrontPricing { .. } => "ConfigurableUpfrontPricingTerm",
        }
    }

    /// Whether the buyer configures the term when it asks for an agreement.
    pub fn is_configurable(&self) -> bool {
        matches!(self, Term::ConfigurableUpfrontPricing { .. })
    }

    fn member(&self) -> &'static str {
        match self {
            Term::Legal { .. } => "legalTerm",
            Term::Support { .. } => "supportTerm",
            Term::UsageBasedPricing { .. } => "usageBasedPricingTerm",
            Term::ConfigurableUpfrontPricing { .. } => "configurableUpfrontPricingTerm",
        }
    }

    /// The term as the Agreement Service's `AcceptedTerm` union.
    pub fn accepted(&self) -> Value {
        json!({ self.member(): self.body(false) })
    }

    /// The term as an agreement accepted it: a contract term carries the buyer's `choice`.
    pub fn accepted_with(&self, choice: Option<&ContractChoice>) -> Value {
        let mut body = self.body(false);
        if let (true, Some(choice)) = (self.is_configurable(), choice) {
            let dimensions: Vec<Value> = choice
                .quantities
                .iter()
                .map(|(d, q)| json!({"dimensionKey": d, "dimensionValue": q}))
                .collect();
            body["configuration"] =
                json!({"selectorValue": choice.duration, "dimensions": dimensions});
        }
        json!({ self.member(): body })
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
            Term::ConfigurableUpfrontPricing { id, rate_cards } => {
                let cards: Vec<Value> = rate_cards
                    .iter()
                    .map(|(duration, rates)| {
                        let card: Vec<Value> = rates
                            .iter()
                            .map(|(dimension, price)| match discovery {
                                false => json!({"dimensionKey": dimension, "price": price}),
                                true => json!({"dimensionKey": dimension, "displayName": dimension,
                                               "unit": "Units", "price": price, "regionalPrices": []}),
                            })
                            .collect();
                        json!({
                            "selector": {"type": "Duration", "value": duration},
                            "constraints": {"multipleDimensionSelection": "Allowed", "quantityConfiguration": "Allowed"},
                            "rateCard": card,
                        })
                    })
                    .collect();
                json!({"type": self.type_name(), "id": id, "currencyCode": "USD", "rateCards": cards})
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
    /// Whether the offer charges up front (a configurable upfront pricing term).
    pub is_contract: bool,
    pub terms: Vec<Term>,
}

impl Offer {
    /// The public offer of `product`.
    pub fn public(product: &Product) -> Offer {
        let code: &str = &product.product_code;
        let id = |kind: &str| digest(&[kind, code])[..25].to_string();
        let priced = |d: &super::names::Dimension| product.prices.get(&d.to_string());
        // A contract's usage rate card has the dimensions priced for consumption only.
        let rates: Vec<(String, String)> = product
            .dimensions
            .iter()
            .filter(|d| product.contract.is_none() || priced(d).is_some())
            .map(|d| {
                let price = priced(d).map_or_else(|| "0.00".to_string(), |p| p.to_string());
                (d.to_string(), price)
            })
            .collect();
        let mut terms = vec![
            Term::Legal {
                id: format!("term-{}", id("legal")),
            },
            Term::Support {
                id: format!("term-{}", id("support")),
            },
        ];
        if let Some(contract) = &product.contract {
            let rate_cards = contract
                .0
                .iter()
                .map(|(duration, prices)| {
                    let card = prices
                        .iter()
                        .map(|(d, p)| (d.clone(), p.to_string()))
                        .collect();
                    (duration.clone(), card)
                })
                .collect();
            terms.push(Term::ConfigurableUpfrontPricing {
                id: format!("term-{}", id("contract")),
                rate_cards,
            });
        }
        if !rates.is_empty() {
            terms.push(Term::UsageBasedPricing {
                id: format!("term-{}", id("usage")),
                rates,
            });
        }
        Offer {
            offer_id: format!("offer-{}", id("offer")),
            agreement_proposal_id: format!("ap-{}", id("proposal")),
            product_id: format!("prod-{}", id("product")),
            proposer: proposer_of(product),
            is_contract: product.contract.is_some(),
            terms,
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
        match self.is_contract {
            true => json!({"pricingModelType": "CONTRACT", "displayName": "Contract"}),
            false => json!({"pricingModelType": "USAGE", "displayName": "Usage-based"}),
        }
    }

    /// The offer's contract term, if it has one.
    pub fn contract_term(&self) -> Option<&Term> {
        self.terms.iter().find(|t| t.is_configurable())
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
