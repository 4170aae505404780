//! Variable payments: a private offer's variable payment term lets the seller charge the
//! buyer up to a maximum in total, by payment requests the buyer approves (or that approve
//! themselves after the buyer's chosen `expirationDuration`). The namespace keeps its most
//! recent `MAX_PAYMENT_REQUESTS`, every pending one among them; an approved request's charge
//! lives with its agreement's charges.
//!
//! Layer: domain. Pure.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::contract::cents;
use super::kept::{add_bounded, Settles};
use super::time::Instant;

/// Payment requests a namespace keeps (pending ones are never forgotten).
pub const MAX_PAYMENT_REQUESTS: usize = 100;
/// The longest `expirationDuration` the mock takes (a year).
pub const MAX_EXPIRATION_SECONDS: i64 = 366 * 86_400;
/// The largest `maxTotalChargeAmount` or `chargeAmount`, in cents (ten billion dollars).
pub const MAX_AMOUNT_CENTS: u128 = 1_000_000_000_000;

/// What a private offer's variable payment term allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariablePayment {
    /// The most its payment requests may charge in total (USD, dollars and cents).
    pub max_total_charge_amount: String,
}

impl VariablePayment {
    pub fn check(&self) -> Result<(), String> {
        match cents(&self.max_total_charge_amount) {
            Some(c) if c > 0 && c <= MAX_AMOUNT_CENTS => Ok(()),
            _ => Err(format!(
                "variablePayment.maxTotalChargeAmount: dollars and cents above 0.00 and at most 10000000000.00 (\"5000.00\"), not '{}'",
                self.max_total_charge_amount
            )),
        }
    }

    /// The maximum in cents.
    pub fn max_cents(&self) -> u128 {
        cents(&self.max_total_charge_amount).unwrap_or_default()
    }
}

/// How the buyer's payment requests are approved (the model's
/// `PaymentRequestApprovalStrategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalStrategy {
    AutoApproveOnExpiration,
    WaitForApproval,
}

impl ApprovalStrategy {
    pub fn name(self) -> &'static str {
        match self {
            ApprovalStrategy::AutoApproveOnExpiration => "AUTO_APPROVE_ON_EXPIRATION",
            ApprovalStrategy::WaitForApproval => "WAIT_FOR_APPROVAL",
        }
    }
}

/// The buyer's configuration of a variable payment term, made when it accepts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariablePaymentChoice {
    pub strategy: ApprovalStrategy,
    /// After how long a request approves itself (`P10D`), for `AutoApproveOnExpiration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
}

impl Default for VariablePaymentChoice {
    /// A buyer that configures nothing approves each request itself.
    fn default() -> Self {
        VariablePaymentChoice {
            strategy: ApprovalStrategy::WaitForApproval,
            expiration: None,
        }
    }
}

impl VariablePaymentChoice {
    /// The choice a `variablePaymentTermConfiguration` makes (its members already held to
    /// the model): `AUTO_APPROVE_ON_EXPIRATION` needs a positive `expirationDuration` of at
    /// most a year; `WAIT_FOR_APPROVAL` ignores one.
    pub fn from_configuration(configuration: &Value) -> Result<Self, String> {
        let strategy = match configuration["paymentRequestApprovalStrategy"].as_str() {
            Some("AUTO_APPROVE_ON_EXPIRATION") => ApprovalStrategy::AutoApproveOnExpiration,
            Some("WAIT_FOR_APPROVAL") => ApprovalStrategy::WaitForApproval,
            other => {
                return Err(format!(
                    "paymentRequestApprovalStrategy is AUTO_APPROVE_ON_EXPIRATION or WAIT_FOR_APPROVAL, not {}",
                    other.unwrap_or("missing")
                ))
            }
        };
        let expiration = configuration["expirationDuration"].as_str();
        if strategy == ApprovalStrategy::WaitForApproval {
            return Ok(VariablePaymentChoice {
                strategy,
                expiration: None,
            });
        }
        let Some(text) = expiration else {
            return Err(
                "AUTO_APPROVE_ON_EXPIRATION needs an expirationDuration (P10D: ten days)".into(),
            );
        };
        match duration_seconds(text) {
            Some(s) if s > 0 && s <= MAX_EXPIRATION_SECONDS => Ok(VariablePaymentChoice {
                strategy,
                expiration: Some(text.to_string()),
            }),
            _ => Err(format!("expirationDuration {text} is not a positive duration of at most P366D (days, hours, minutes, seconds: P10D, PT12H)")),
        }
    }

    /// Checks a choice listed by hand (a customer's `variablePayment`): an automatic approval
    /// needs a duration `from_configuration` would take.
    pub fn check(&self) -> Result<(), String> {
        match (self.strategy, self.expiration.as_deref()) {
            (ApprovalStrategy::WaitForApproval, _) => Ok(()),
            (ApprovalStrategy::AutoApproveOnExpiration, Some(e))
                if duration_seconds(e).is_some_and(|s| s > 0 && s <= MAX_EXPIRATION_SECONDS) =>
            {
                Ok(())
            }
            _ => Err("AUTO_APPROVE_ON_EXPIRATION needs an expiration of days, hours, minutes or seconds up to P366D (\"P10D\")".into()),
        }
    }

    /// After how many seconds a request approves itself, if it does.
    pub fn expiration_seconds(&self) -> Option<i64> {
        match self.strategy {
            ApprovalStrategy::AutoApproveOnExpiration => {
                self.expiration.as_deref().and_then(duration_seconds)
            }
            ApprovalStrategy::WaitForApproval => None,
        }
    }

    /// As the accepted term's `configuration`.
    pub fn configuration(&self) -> Value {
        let mut out = json!({ "paymentRequestApprovalStrategy": self.strategy.name() });
        if let Some(e) = &self.expiration {
            out["expirationDuration"] = json!(e);
        }
        out
    }
}

/// The seconds of an ISO 8601 duration of days, hours, minutes and whole seconds
/// (`P10D`, `PT1H30M`, `P1DT12H`); `None` for any other form (signs, fractions, years).
pub fn duration_seconds(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut units = 0;
    let mut take = |part: &str, designators: &[(char, i64)]| -> Option<()> {
        let mut digits = String::new();
        let mut next = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let position = designators[next..].iter().position(|(d, _)| *d == c)?;
            let (_, scale) = designators[next + position];
            next += position + 1;
            if digits.is_empty() || digits.len() > 9 {
                return None;
            }
            total = total.checked_add(digits.parse::<i64>().ok()?.checked_mul(scale)?)?;
            digits.clear();
            units += 1;
        }
        digits.is_empty().then_some(())
    };
    if !days.is_empty() {
        take(days, &[('D', 86_400)])?;
    }
    if let Some(time) = time {
        take(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    (units > 0).then_some(total)
}

/// A `chargeAmount` in cents: positive, whole cents (more decimals only as trailing zeros).
pub fn charge_cents(amount: &str) -> Option<u128> {
    let (dollars, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (cents_part, zeros) = fraction.split_at(fraction.len().min(2));
    if !zeros.bytes().all(|b| b == b'0') {
        return None;
    }
    let dollars = if dollars.is_empty() { "0" } else { dollars };
    let value = cents(&format!("{dollars}.{cents_part:0<2}"))?;
    (value > 0 && value <= MAX_AMOUNT_CENTS).then_some(value)
}

/// Cents as dollars and cents (`1234` → `12.34`).
pub fn dollars(cents: u128) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Where a payment request stands (the model's `PaymentRequestStatus`; every check is made
/// when the request is sent, so none is `VALIDATING` or `VALIDATION_FAILED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    PendingApproval,
    Approved,
    Rejected,
    Cancelled,
}

impl PaymentStatus {
    pub fn name(self) -> &'static str {
        match self {
            PaymentStatus::PendingApproval => "PENDING_APPROVAL",
            PaymentStatus::Approved => "APPROVED",
            PaymentStatus::Rejected => "REJECTED",
            PaymentStatus::Cancelled => "CANCELLED",
        }
    }
}

/// A seller's request to charge the buyer under a variable payment term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    pub id: String,
    pub agreement_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// USD, dollars and cents.
    pub charge_amount: String,
    pub status: PaymentStatus,
    /// Why it was rejected, or how it was approved or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// The charge its approval made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    pub created_at: Instant,
    pub updated_at: Instant,
    /// When it approves itself, if the buyer chose so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approve_at: Option<Instant>,
    /// Who sent it: a 12-digit account, or the wildcard caller's key.
    pub requester: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// A digest of the request's members but its client token: a retry has the same.
    pub fingerprint: String,
}

impl Settles for PaymentRequest {
    fn is_pending(&self) -> bool {
        PaymentRequest::is_pending(self)
    }
}

impl PaymentRequest {
    pub fn is_pending(&self) -> bool {
        self.status == PaymentStatus::PendingApproval
    }

    pub fn cents(&self) -> u128 {
        cents(&self.charge_amount).unwrap_or_default()
    }
}

/// The namespace's payment requests, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentRequests(pub Vec<PaymentRequest>);

impl PaymentRequests {
    pub fn get(&self, id: &str) -> Option<&PaymentRequest> {
        self.0.iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut PaymentRequest> {
        self.0.iter_mut().find(|r| r.id == id)
    }

    /// The pending requests of `agreement_id`.
    pub fn pending_for<'a>(
        &'a self,
        agreement_id: &'a str,
    ) -> impl Iterator<Item = &'a PaymentRequest> + 'a {
        self.0
            .iter()
            .filter(move |r| r.agreement_id == agreement_id && r.is_pending())
    }

    /// Keeps `request`; beyond `MAX_PAYMENT_REQUESTS` the oldest settled ones are forgotten.
    /// `false` (nothing kept) when every kept request is pending.
    pub fn add(&mut self, request: PaymentRequest) -> bool {
        add_bounded(&mut self.0, vec![request], MAX_PAYMENT_REQUESTS)
    }

    /// When the earliest pending request approves itself, if any does.
    pub fn next_auto_approval(&self) -> Option<Instant> {
        self.0
            .iter()
            .filter(|r| r.is_pending())
            .filter_map(|r| r.auto_approve_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_days_hours_minutes_and_seconds() {
        assert_eq!(duration_seconds("P10D"), Some(864_000));
        assert_eq!(duration_seconds("PT1H30M"), Some(5_400));
        assert_eq!(duration_seconds("P1DT2H3M4S"), Some(93_784));
        for bad in [
            "P", "PT", "P1DT", "10D", "P-1D", "P1M", "PT1D", "P1.5D", "PT30M1H", "P1D1D",
        ] {
            assert_eq!(duration_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn choices_need_an_expiration_only_to_approve_themselves() {
        let auto = VariablePaymentChoice::from_configuration(&json!({
            "paymentRequestApprovalStrategy": "AUTO_APPROVE_ON_EXPIRATION", "expirationDuration": "P10D"
        }))
        .unwrap();
        assert_eq!(auto.expiration_seconds(), Some(864_000));
        for bad in [
            json!({"paymentRequestApprovalStrategy": "AUTO_APPROVE_ON_EXPIRATION"}),
            json!({"paymentRequestApprovalStrategy": "AUTO_APPROVE_ON_EXPIRATION", "expirationDuration": "P400D"}),
            json!({"paymentRequestApprovalStrategy": "AUTO_APPROVE_ON_EXPIRATION", "expirationDuration": "PT0S"}),
        ] {
            assert!(
                VariablePaymentChoice::from_configuration(&bad).is_err(),
                "{bad}"
            );
        }
        let wait = VariablePaymentChoice::from_configuration(&json!({
            "paymentRequestApprovalStrategy": "WAIT_FOR_APPROVAL", "expirationDuration": "P10D"
        }))
        .unwrap();
        assert_eq!(
            (wait.expiration_seconds(), wait),
            (None, VariablePaymentChoice::default())
        );
    }

    #[test]
    fn charges_are_positive_whole_cents() {
        assert_eq!(charge_cents("12.5"), Some(1_250));
        assert_eq!(charge_cents("12.50000000"), Some(1_250));
        assert_eq!(charge_cents("7"), Some(700));
        assert_eq!(charge_cents(".25"), Some(25));
        for bad in [
            "0",
            "0.00",
            "1.001",
            "",
            ".",
            "10000000000.01",
            "1.é",
            "1.5x",
        ] {
            assert_eq!(charge_cents(bad), None, "{bad}");
        }
        assert_eq!(dollars(1_250), "12.50");
    }
}
