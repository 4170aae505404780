//! A product's offers, as AWS Marketplace Discovery shows them and the Agreement Service
//! accepts them: its public offer and the private offers it lists for some buyers. Their
//! ids are derived (from the product code, and a private offer's name or buyers), so they
//! are stable without being stored. Their terms are made from the product (the public
//! offer) or the private offer: the legal and support terms every listing has; with
//! `contract` pricing, a configurable upfront pricing term (a rate card per duration) and,
//! for the dimensions with `prices`, a usage-based rate card (a contract with consumption);
//! otherwise a usage-based rate card of every dimension at its price (USD; `0.00` for an
//! unpriced dimension). A public contract offer also has a renewal term (the buyer may opt
//! in), and a private offer may have a variable payment term (payment requests up to a
//! maximum).
//!
//! Layer: domain. Pure.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::catalogue::{Customer, PrivateOffer, Product};
use super::contract::{ContractChoice, ContractPricing};
use super::payment::VariablePaymentChoice;
use super::quantity::Price;
use super::time::Instant;
use super::trial::FreeTrial;

/// The seller of a product that names none (on its agreements and its EventBridge events).
pub const DEFAULT_SELLER_ACCOUNT: &str = "123456789012";

/// The product's seller: its `sellerAccountId`, else `DEFAULT_SELLER_ACCOUNT`.
pub fn proposer_of(product: &Product) -> String {
    match &product.seller_account_id {
        Some(account) => account.to_string(),
        None => DEFAULT_SELLER_ACCOUNT.to_string(),
    }
}

/// The catalog id (`prod-…`) of the product listed as `product_code`.
pub fn catalog_product_id(product_code: &str) -> String {
    format!("prod-{}", &digest(&["product", product_code])[..25])
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
    /// Free use for the trial's `duration` (`P30D`), of each granted dimension up to its units
    /// (`None`: unlimited).
    FreeTrialPricing {
        id: String,
        duration: String,
        grants: Vec<(String, Option<u32>)>,
    },
    /// A contract may renew at its end, for as long and as many units, at the offer's prices
    /// then; the buyer opts in (`enableAutoRenew`). No lockout, no renewal limit.
    Renewal {
        id: String,
    },
    /// The seller may charge up to `max_total` (USD) in total by payment requests; the
    /// buyer says how they are approved.
    VariablePayment {
        id: String,
        max_total: String,
    },
}

impl Term {
    pub fn id(&self) -> &str {
        match self {
            Term::Legal { id }
            | Term::Support { id }
            | Term::UsageBasedPricing { id, .. }
            | Term::ConfigurableUpfrontPricing { id, .. }
            | Term::FreeTrialPricing { id, .. }
            | Term::VariablePayment { id, .. }
            | Term::Renewal { id } => id,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Term::Legal { .. } => "LegalTerm",
            Term::Support { .. } => "SupportTerm",
            Term::UsageBasedPricing { .. } => "UsageBasedPricingTerm",
            Term::ConfigurableUpfrontPricing { .. } => "ConfigurableUpfrontPricingTerm",
            Term::Renewal { .. } => "RenewalTerm",
            Term::FreeTrialPricing { .. } => "FreeTrialPricingTerm",
            Term::VariablePayment { .. } => "VariablePaymentTerm",
        }
    }

    /// Whether the term is about a contract (its price, its renewal): an agreement without
    /// a contract choice has none of it.
    pub fn is_contract_only(&self) -> bool {
        matches!(
            self,
            Term::ConfigurableUpfrontPricing { .. } | Term::Renewal { .. }
        )
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
            Term::Renewal { .. } => "renewalTerm",
            Term::FreeTrialPricing { .. } => "freeTrialPricingTerm",
            Term::VariablePayment { .. } => "variablePaymentTerm",
        }
    }

    /// The term as the Agreement Service's `AcceptedTerm` union.
    pub fn accepted(&self) -> Value {
        json!({ self.member(): self.body(false) })
    }

    /// The term as an agreement accepted it: a contract term carries the buyer's `choice`,
    /// a renewal term whether the buyer chose to renew, a variable payment term how the buyer
    /// approves payment requests (by default, each itself).
    pub fn accepted_with(
        &self,
        choice: Option<&ContractChoice>,
        auto_renew: bool,
        payments: Option<&VariablePaymentChoice>,
    ) -> Value {
        let mut body = self.body(false);
        if let Term::Renewal { .. } = self {
            body["configuration"] = json!({ "enableAutoRenew": auto_renew });
        }
        if let Term::VariablePayment { .. } = self {
            body["configuration"] = payments.cloned().unwrap_or_default().configuration();
        }
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
            Term::Renewal { id } => json!({"type": self.type_name(), "id": id}),
            Term::VariablePayment { id, max_total } => json!({
                "type": self.type_name(), "id": id, "currencyCode": "USD", "maxTotalChargeAmount": max_total,
            }),
            Term::FreeTrialPricing {
                id,
                duration,
                grants,
            } => {
                let grants: Vec<Value> = grants
                    .iter()
                    .map(|(dimension, units)| {
                        let mut grant = match discovery {
                            false => json!({ "dimensionKey": dimension }),
                            true => json!({"dimensionKey": dimension, "displayName": dimension, "unit": "Units"}),
                        };
                        if let Some(units) = units {
                            grant["maxQuantity"] = json!(units);
                        }
                        grant
                    })
                    .collect();
                json!({"type": self.type_name(), "id": id, "duration": duration, "grants": grants})
            }
            Term::UsageBasedPricing { id, rates } => {
                let card = rate_card(rates, discovery);
                json!({"type": self.type_name(), "id": id, "currencyCode": "USD", "rateCards": [{"rateCard": card}]})
            }
            Term::ConfigurableUpfrontPricing { id, rate_cards } => {
                let cards: Vec<Value> = rate_cards
                    .iter()
                    .map(|(duration, rates)| {
                        let card = rate_card(rates, discovery);
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

/// A rate card: each dimension with its price, and for Discovery (whose items say more)
/// its display name and unit.
fn rate_card(rates: &[(String, String)], discovery: bool) -> Vec<Value> {
    rates
        .iter()
        .map(|(dimension, price)| match discovery {
            false => json!({"dimensionKey": dimension, "price": price}),
            true => json!({"dimensionKey": dimension, "displayName": dimension,
                           "unit": "Units", "price": price, "regionalPrices": []}),
        })
        .collect()
}

const STANDARD_EULA_URL: &str =
    "https://aws.amazon.com/marketplace/features/standardized-contracts";
const REFUND_POLICY: &str = "Refunds are at the seller's discretion (metering-mock).";

/// An offer of a product: its public offer, or a private one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub offer_id: String,
    /// What `CreateAgreementRequest` names the offer by (`ap-…`).
    pub agreement_proposal_id: String,
    /// The product's id in the catalog (`prod-…`), as agreements name their resources.
    pub product_id: String,
    pub proposer: String,
    /// What the offer charges up front (a configurable upfront pricing term), if anything.
    pub contract: Option<ContractPricing>,
    /// Who a private offer is for; `None` for the public offer.
    pub private: Option<Private>,
    /// The free trial of a free-trial offer.
    pub trial: Option<FreeTrial>,
    pub terms: Vec<Term>,
}

/// What makes an offer private: its buyers, and how long they may accept it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Private {
    pub name: Option<String>,
    pub buyers: Vec<String>,
    pub expires_at: Option<Instant>,
}

impl Offer {
    /// The public offer of `product`.
    pub fn public(product: &Product) -> Offer {
        let code: &str = &product.product_code;
        let id = |kind: &str| digest(&[kind, code])[..25].to_string();
        Offer::build(
            product,
            format!("offer-{}", id("offer")),
            format!("ap-{}", id("proposal")),
            &id,
            &product.prices,
            product.contract.as_ref(),
            true,
        )
    }

    /// The private offer `private` of `product`: its own id, proposal and term ids, its own
    /// prices and contract.
    pub fn private(product: &Product, private: &PrivateOffer) -> Offer {
        let code: &str = &product.product_code;
        let offer_id = private.id(code);
        let id = |kind: &str| digest(&[kind, code, &offer_id])[..25].to_string();
        let mut offer = Offer::build(
            product,
            offer_id.clone(),
            format!("ap-{}", id("proposal")),
            &id,
            &private.prices,
            private.contract.as_ref(),
            false,
        );
        offer.private = Some(Private {
            name: private.name.clone(),
            buyers: private
                .buyer_accounts
                .iter()
                .map(|b| b.to_string())
                .collect(),
            expires_at: private.expires_at,
        });
        if let Some(variable) = &private.variable_payment {
            // Before the usage rate card, if the offer has one.
            let at = offer
                .terms
                .iter()
                .position(|t| matches!(t, Term::UsageBasedPricing { .. }))
                .unwrap_or(offer.terms.len());
            let term = Term::VariablePayment {
                id: format!("term-{}", id("variable-payment")),
                max_total: variable.max_total_charge_amount.clone(),
            };
            offer.terms.insert(at, term);
        }
        offer
    }

    /// The free-trial offer of `product`, if it has a `freeTrial`: the public offer's terms
    /// (but renewal) with the free trial's, its own ids.
    pub fn trial(product: &Product) -> Option<Offer> {
        let trial = product.free_trial.as_ref()?;
        let code: &str = &product.product_code;
        let id = |kind: &str| digest(&["trial", kind, code])[..25].to_string();
        let mut offer = Offer::build(
            product,
            super::trial::offer_id(code),
            format!("ap-{}", id("proposal")),
            &id,
            &product.prices,
            product.contract.as_ref(),
            false,
        );
        // After the legal and support terms, before the contract term and the rate card.
        offer.terms.insert(
            2,
            Term::FreeTrialPricing {
                id: format!("term-{}", id("trial")),
                duration: trial.duration.clone(),
                grants: trial.grants.iter().map(|(d, u)| (d.clone(), *u)).collect(),
            },
        );
        offer.trial = Some(trial.clone());
        Some(offer)
    }

    /// Every offer of `product`: the public one first, its free-trial one, then its private
    /// ones.
    pub fn all(product: &Product) -> Vec<Offer> {
        let mut offers = vec![Offer::public(product)];
        offers.extend(Offer::trial(product));
        offers.extend(
            product
                .private_offers
                .iter()
                .map(|p| Offer::private(product, p)),
        );
        offers
    }

    /// The offer `customer`'s agreement was made on: the private or free-trial offer it
    /// names, if the product has it, else the public one.
    pub fn of(product: &Product, customer: &Customer) -> Offer {
        let Some(id) = customer.offer_identifier.as_deref() else {
            return Offer::public(product);
        };
        if let Some(p) = PrivateOffer::find(product, id) {
            return Offer::private(product, p);
        }
        Offer::trial(product)
            .filter(|t| t.offer_id == id)
            .unwrap_or_else(|| Offer::public(product))
    }

    /// The terms of an offer with these `prices` and `contract`: the legal and support
    /// terms, the contract term, and the usage rate card (of the priced dimensions only,
    /// for a contract: consumption on top).
    fn build(
        product: &Product,
        offer_id: String,
        agreement_proposal_id: String,
        id: &dyn Fn(&str) -> String,
        prices: &BTreeMap<String, Price>,
        contract: Option<&ContractPricing>,
        renewable: bool,
    ) -> Offer {
        let priced = |d: &super::names::Dimension| prices.get(&d.to_string());
        let rates: Vec<(String, String)> = product
            .dimensions
            .iter()
            .filter(|d| contract.is_none() || priced(d).is_some())
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
        if let Some(contract) = contract {
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
            // Public contract offers may renew; private offers do not (AWS: auto-renewal is
            // for public offers), nor does a free trial.
            if renewable {
                terms.push(Term::Renewal {
                    id: format!("term-{}", id("renewal")),
                });
            }
        }
        if !rates.is_empty() {
            terms.push(Term::UsageBasedPricing {
                id: format!("term-{}", id("usage")),
                rates,
            });
        }
        let code: &str = &product.product_code;
        Offer {
            offer_id,
            agreement_proposal_id,
            product_id: catalog_product_id(code),
            proposer: proposer_of(product),
            contract: contract.cloned(),
            private: None,
            trial: None,
            terms,
        }
    }

    /// Whether `caller` (a 12-digit account; `None`, the wildcard caller, sees every offer)
    /// may see and accept the offer: anyone a public one, its buyers a private one.
    pub fn is_visible_to(&self, caller: Option<&str>) -> bool {
        match (&self.private, caller) {
            (None, _) | (Some(_), None) => true,
            (Some(p), Some(account)) => p.buyers.iter().any(|b| b == account),
        }
    }

    /// Whether a private offer has expired by `now` (a public offer never does).
    pub fn has_expired(&self, now: Instant) -> bool {
        self.private
            .as_ref()
            .and_then(|p| p.expires_at)
            .is_some_and(|at| now >= at)
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
        match self.contract.is_some() {
            true => json!({"pricingModelType": "CONTRACT", "displayName": "Contract"}),
            false => json!({"pricingModelType": "USAGE", "displayName": "Usage-based"}),
        }
    }

    /// The contract pricing `customer`'s agreement renews at, at its end: when its buyer
    /// opted in, its offer (still the product's) has a renewal term, and that offer still
    /// prices what the buyer chose.
    pub fn renewal_of(product: &Product, customer: &Customer) -> Option<ContractPricing> {
        let choice = customer.contract.as_ref().filter(|_| customer.auto_renew)?;
        let offer = Offer::of(product, customer);
        let same = customer
            .offer_identifier
            .as_deref()
            .is_none_or(|id| id == offer.offer_id);
        let renews = offer.has_renewal_term();
        let pricing = offer.contract.filter(|_| same && renews)?;
        pricing.admits(choice).is_ok().then_some(pricing)
    }

    /// Whether its contracts may renew (a renewal term).
    pub fn has_renewal_term(&self) -> bool {
        self.terms.iter().any(|t| matches!(t, Term::Renewal { .. }))
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
