//! Contracts: what a product's public offer charges up front (its `contract` pricing: for each
//! duration a price per unit of each contract dimension), and what a buyer chose when it
//! accepted (a duration and a quantity per dimension), with what that costs and when it ends.
//!
//! Layer: domain. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::decimal::Decimal;
use super::entitlement::{Entitlement, EntitlementValue};
use super::quantity::Price;
use super::time::Instant;

/// The longest contract, in months (five years).
pub const MAX_CONTRACT_MONTHS: u32 = 60;
/// Durations one product offers at most.
pub const MAX_DURATIONS: usize = 10;
/// The largest quantity of one dimension a buyer may choose (the model's `Integer`).
pub const MAX_CONTRACT_QUANTITY: u32 = i32::MAX as u32;

/// The months of an ISO 8601 duration of whole months or years (`P1M`, `P12M`, `P2Y`), from
/// 1 to `MAX_CONTRACT_MONTHS`; `None` for anything else.
pub fn months(duration: &str) -> Option<u32> {
    let body = duration.strip_prefix('P')?;
    let (number, per) = match body.as_bytes().last()? {
        b'M' => (&body[..body.len() - 1], 1),
        b'Y' => (&body[..body.len() - 1], 12),
        _ => return None,
    };
    let canonical = !number.starts_with('0') && number.len() <= 3;
    if !canonical || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let months = number.parse::<u32>().ok()? * per;
    (1..=MAX_CONTRACT_MONTHS)
        .contains(&months)
        .then_some(months)
}

/// A product's contract pricing: duration (`P12M`) → dimension → price per unit for that
/// duration (USD).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContractPricing(pub BTreeMap<String, BTreeMap<String, Price>>);

impl ContractPricing {
    /// Checks the durations and that every priced dimension is one of `dimensions`.
    pub fn check(&self, dimensions: &[String]) -> Result<(), String> {
        if self.0.is_empty() || self.0.len() > MAX_DURATIONS {
            return Err(format!(
                "contract lists 1-{MAX_DURATIONS} durations (\"P12M\": {{\"<dimension>\": \"<price>\"}})"
            ));
        }
        for (duration, prices) in &self.0 {
            if months(duration).is_none() {
                return Err(format!(
                    "contract.{duration}: a duration is whole months or years, 1 to {MAX_CONTRACT_MONTHS} months (P1M, P12M, P2Y)"
                ));
            }
            if prices.is_empty() {
                return Err(format!("contract.{duration} prices at least one dimension"));
            }
            if let Some(unknown) = prices.keys().find(|d| !dimensions.contains(d)) {
                return Err(format!(
                    "contract.{duration}.{unknown}: '{unknown}' is not a dimension of the product"
                ));
            }
        }
        Ok(())
    }

    /// Checks a buyer's `choice` against the pricing: a duration it offers, and quantities
    /// of dimensions that duration prices. The message says what is wrong.
    pub fn admits(&self, choice: &ContractChoice) -> Result<(), String> {
        let Some(prices) = self.0.get(&choice.duration) else {
            let offered: Vec<&str> = self.0.keys().map(String::as_str).collect();
            return Err(format!(
                "selectorValue {} is not a duration of the offer ({})",
                choice.duration,
                offered.join(", ")
            ));
        };
        if let Some(unknown) = choice.quantities.keys().find(|d| !prices.contains_key(*d)) {
            return Err(format!(
                "dimensionKey {unknown} is not a contract dimension of the offer for {}",
                choice.duration
            ));
        }
        if choice.quantities.values().all(|&q| q == 0) {
            return Err("a contract buys at least one unit of a dimension".into());
        }
        Ok(())
    }

    /// What `choice` costs, in millionths of a dollar (unknown dimensions cost nothing: the
    /// choice was admitted against this pricing, or the pricing changed since).
    pub fn micros(&self, choice: &ContractChoice) -> u128 {
        let Some(prices) = self.0.get(&choice.duration) else {
            return 0;
        };
        choice
            .quantities
            .iter()
            .filter_map(|(d, &q)| Some(u128::from(prices.get(d)?.micros()) * u128::from(q)))
            .sum()
    }

    /// What `choice` costs, in dollars and cents.
    pub fn charge(&self, choice: &ContractChoice) -> Decimal {
        Decimal::charge_from_micros(self.micros(choice))
    }

    /// The quote of `choice` at today's prices: its total and each dimension's part.
    pub fn quote(&self, choice: &ContractChoice) -> Quote {
        let per_dimension = choice
            .quantities
            .iter()
            .map(|(d, &q)| {
                let alone = ContractChoice {
                    duration: choice.duration.clone(),
                    quantities: BTreeMap::from([(d.clone(), q)]),
                };
                (d.clone(), self.charge(&alone).to_string())
            })
            .collect();
        Quote {
            choice: choice.clone(),
            total: self.charge(choice).to_string(),
            per_dimension,
        }
    }
}

impl ContractPricing {
    /// The quote of amending `from` to `to` (the same duration, no quantity lower) with
    /// `remaining_ms` of a `term_ms` term left: each added unit at its price for the
    /// duration, prorated by the time left, to the cent per dimension.
    pub fn amendment_quote(
        &self,
        from: &ContractChoice,
        to: &ContractChoice,
        remaining_ms: i64,
        term_ms: i64,
    ) -> Quote {
        let remaining = u128::try_from(remaining_ms).unwrap_or(0);
        let term = u128::try_from(term_ms).unwrap_or(1).max(1).max(remaining);
        let prices = self.0.get(&to.duration);
        let mut total = Decimal::zero_cents();
        let per_dimension = to
            .quantities
            .iter()
            .map(|(d, &q)| {
                let added = q.saturating_sub(from.quantities.get(d).copied().unwrap_or(0));
                let price = prices.and_then(|p| p.get(d)).map_or(0, |p| p.micros());
                let full = u128::from(added) * u128::from(price);
                // full × remaining / term, without overflowing (remaining ≤ term).
                let micros = full / term * remaining + full % term * remaining / term;
                let part = Decimal::charge_from_micros(micros);
                total = total.plus(part);
                (d.clone(), part.to_string())
            })
            .collect();
        Quote {
            choice: to.clone(),
            total: total.to_string(),
            per_dimension,
        }
    }
}

/// A contract as quoted: the buyer's choice, what it costs in all and per dimension (USD,
/// with cents), fixed when the buyer asked, whatever the prices do afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quote {
    pub choice: ContractChoice,
    pub total: String,
    pub per_dimension: BTreeMap<String, String>,
}

/// What a buyer chose on a contract offer: its duration and how many units of each
/// dimension (the `configurableUpfrontPricingTermConfiguration` of its request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContractChoice {
    pub duration: String,
    pub quantities: BTreeMap<String, u32>,
}

impl ContractChoice {
    /// Checks a choice listed by hand: a duration, quantities of `dimensions` (the
    /// product's), each at most `MAX_CONTRACT_QUANTITY`. It is not held to today's prices:
    /// an agreement keeps what it was sold, whatever the offer became.
    pub fn check(&self, dimensions: &[String]) -> Result<(), String> {
        if months(&self.duration).is_none() {
            return Err(format!(
                "duration {} is not whole months or years, 1 to {MAX_CONTRACT_MONTHS} months",
                self.duration
            ));
        }
        if self.quantities.is_empty() {
            return Err("quantities name at least one dimension".into());
        }
        if let Some(unknown) = self.quantities.keys().find(|d| !dimensions.contains(d)) {
            return Err(format!("'{unknown}' is not a dimension of the product"));
        }
        if self.quantities.values().any(|&q| q > MAX_CONTRACT_QUANTITY) {
            return Err(format!("a quantity is at most {MAX_CONTRACT_QUANTITY}"));
        }
        Ok(())
    }

    /// The choice without its dimensions of 0 units (none of them was bought).
    pub fn bought(&self) -> ContractChoice {
        let mut bought = self.clone();
        bought.quantities.retain(|_, q| *q > 0);
        bought
    }

    /// When a contract accepted at `start` ends.
    pub fn end(&self, start: Instant) -> Instant {
        start.plus_months(months(&self.duration).unwrap_or(0))
    }

    /// The contract's quantities as entitlements until `end`.
    pub fn entitlements(&self, end: Instant) -> Vec<Entitlement> {
        self.quantities
            .iter()
            .filter(|(_, &q)| q > 0)
            .map(|(d, &q)| Entitlement {
                dimension: d.clone(),
                value: EntitlementValue::IntegerValue(i32::try_from(q).unwrap_or(i32::MAX)),
                expiration_date: Some(end),
            })
            .collect()
    }
}

/// Charges one agreement keeps at most (its upfront charges and its approved payment
/// requests').
pub const MAX_CHARGES: usize = 100;

/// A charge of an agreement (`ListAgreementCharges`): the upfront charge of a contract, made
/// when the buyer accepted (or its trial ended) or amended it, or an approved payment
/// request's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Charge {
    pub id: String,
    /// Starts at 1; a change of the charge's amount would make a new revision.
    pub revision: u64,
    /// USD, with cents (`300.38`).
    pub amount: String,
    #[serde(with = "super::time::rfc3339")]
    pub at: Instant,
    /// The buyer's purchase order for the charge (`UpdatePurchaseOrders`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_order_reference: Option<String>,
    /// The payment request whose approval made it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
}

/// The longest purchase order reference kept (the model sets no maximum; the mock keeps
/// what it stores bounded).
pub const MAX_PURCHASE_ORDER_REFERENCE_CHARS: usize = 200;

impl Charge {
    /// The amount in cents, when it is dollars and cents (`300.38`).
    pub fn cents(&self) -> Option<u128> {
        cents(&self.amount)
    }

    /// Checks a charge listed by hand: the model's id pattern, a revision from 1, an
    /// amount in dollars and cents, a bounded purchase order reference.
    pub fn check(&self) -> Result<(), String> {
        let id_ok = (1..=64).contains(&self.id.len())
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'-'));
        if !id_ok {
            return Err(format!(
                "charge id '{}': 1-64 of A-Z a-z 0-9 _ / -",
                self.id
            ));
        }
        if self.revision == 0 {
            return Err(format!("charge {}: revision starts at 1", self.id));
        }
        if self.cents().is_none() {
            return Err(format!(
                "charge {}: amount is dollars and cents, such as \"300.38\"",
                self.id
            ));
        }
        let reference = self.purchase_order_reference.as_deref().unwrap_or("x");
        let chars = reference.chars().count();
        if chars == 0 || chars > MAX_PURCHASE_ORDER_REFERENCE_CHARS {
            return Err(format!(
                "charge {}: purchaseOrderReference is 1-{MAX_PURCHASE_ORDER_REFERENCE_CHARS} characters",
                self.id
            ));
        }
        Ok(())
    }
}

/// An amount in dollars and cents (`300.38`) in cents; `None` in any other form.
pub fn cents(amount: &str) -> Option<u128> {
    let (dollars, cents) = amount.split_once('.')?;
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(dollars, 20) || cents.len() != 2 || !digits(cents, 2) {
        return None;
    }
    Some(dollars.parse::<u128>().ok()? * 100 + cents.parse::<u128>().ok()?)
}

/// What `amounts` (dollars and cents) add up to, in dollars and cents (`0.00` for none).
pub fn sum<'a>(amounts: impl IntoIterator<Item = &'a str>) -> String {
    let cents: u128 = amounts.into_iter().filter_map(cents).sum();
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// What `charges` add up to, in dollars and cents (`0.00` for none).
pub fn total(charges: &[Charge]) -> String {
    sum(charges.iter().map(|c| c.amount.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricing() -> ContractPricing {
        serde_json::from_value(serde_json::json!({
            "P1M": {"users": "10"}, "P12M": {"users": "100", "admins": "0.125"}
        }))
        .unwrap()
    }

    fn choice(duration: &str, quantities: &[(&str, u32)]) -> ContractChoice {
        ContractChoice {
            duration: duration.into(),
            quantities: quantities
                .iter()
                .map(|(d, q)| (d.to_string(), *q))
                .collect(),
        }
    }

    #[test]
    fn durations_are_whole_months_or_years() {
        assert_eq!(months("P1M"), Some(1));
        assert_eq!(months("P36M"), Some(36));
        assert_eq!(months("P2Y"), Some(24));
        for bad in [
            "P0M", "P61M", "P6Y", "12M", "P1D", "PM", "P1.5M", "P-1M", "P012M", "P01Y",
        ] {
            assert_eq!(months(bad), None, "{bad}");
        }
    }

    #[test]
    fn choices_are_held_to_the_pricing_and_priced_exactly() {
        let p = pricing();
        let dims = vec!["users".to_string(), "admins".to_string()];
        assert!(p.check(&dims).is_ok());
        assert!(p.check(&["users".to_string()]).is_err());
        let ok = choice("P12M", &[("users", 3), ("admins", 3)]);
        assert!(p.admits(&ok).is_ok());
        assert_eq!(p.charge(&ok).to_string(), "300.38");
        assert!(p.admits(&choice("P24M", &[("users", 1)])).is_err());
        assert!(p.admits(&choice("P1M", &[("admins", 1)])).is_err());
        assert!(p.admits(&choice("P1M", &[("users", 0)])).is_err());
        let at = Instant::parse_rfc3339("2026-03-10T12:30:00Z").unwrap();
        assert_eq!(ok.end(at).to_rfc3339(), "2027-03-10T12:30:00Z");
    }
}
