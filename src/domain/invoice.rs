//! Invoices and billing adjustments of agreements. A charge (a contract's upfront price, an
//! approved payment request) is invoiced when it is made: its invoice is derived from the
//! charge. Metered usage is invoiced per agreement and month once the month's metering
//! windows have closed (by default 06:00 UTC on the 1st of the next month, when neither
//! MeterUsage nor BatchMeterUsage takes the month's usage any more), from the bill preview's
//! arithmetic;
//! those invoices are kept, as the ledger they were priced from is trimmed. A completed
//! billing adjustment issues a credit memo against one invoice. The namespace keeps its most
//! recent `MAX_USAGE_INVOICES` usage invoices (an evicted one takes its credit memos along)
//! and at most `MAX_CREDIT_MEMOS` credit memos (a full namespace refuses more, so what an
//! invoice may still be credited never grows back), `MAX_MEMOS_PER_INVOICE` per invoice, and
//! its most recent `MAX_ADJUSTMENTS` adjustments.
//!
//! Layer: domain. Pure.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::contract::{cents, Charge};
use super::settings::Settings;
use super::time::Instant;
use super::window::month_closes_at;

/// Usage invoices a namespace keeps (the oldest are forgotten, with their credit memos).
pub const MAX_USAGE_INVOICES: usize = 1_000;
/// Credit memos a namespace keeps, and one invoice at most.
pub const MAX_CREDIT_MEMOS: usize = 1_000;
pub const MAX_MEMOS_PER_INVOICE: usize = 20;
/// Billing adjustment requests a namespace keeps.
pub const MAX_ADJUSTMENTS: usize = 200;
/// Who issues the invoices (`InvoicingEntity.legalName`).
pub const INVOICING_ENTITY: &str = "Amazon Web Services, Inc.";
/// Months one issuance pass invoices at most (the rest, the next pass).
pub const MAX_MONTHS_PER_PASS: usize = 36;

/// An invoice, or a credit memo against one (the model's `InvoiceType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvoiceType {
    Invoice,
    CreditMemo,
}

impl InvoiceType {
    pub fn name(self) -> &'static str {
        match self {
            InvoiceType::Invoice => "INVOICE",
            InvoiceType::CreditMemo => "CREDIT_MEMO",
        }
    }
}

/// An invoice or credit memo of an agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: String,
    pub agreement_id: String,
    pub kind: InvoiceType,
    /// The billing period, `YYYY-MM` (a credit memo's: its original invoice's).
    pub period: String,
    pub issued_at: Instant,
    /// USD, dollars and cents.
    pub amount: String,
    /// A credit memo's original invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_invoice_id: Option<String>,
}

impl Invoice {
    pub fn cents(&self) -> u128 {
        cents(&self.amount).unwrap_or_default()
    }

    /// The billing period's year and month.
    pub fn year_month(&self) -> (i64, u32) {
        let (y, m) = self.period.split_once('-').unwrap_or_default();
        (y.parse().unwrap_or_default(), m.parse().unwrap_or_default())
    }

    /// The invoice of `charge` of agreement `agreement_id`, issued when it was made.
    pub fn of_charge(agreement_id: &str, charge: &Charge) -> Invoice {
        Invoice {
            id: invoice_id(&["charge", agreement_id, &charge.id]),
            agreement_id: agreement_id.to_string(),
            kind: InvoiceType::Invoice,
            period: period_of(charge.at),
            issued_at: charge.at,
            amount: charge.amount.clone(),
            original_invoice_id: None,
        }
    }

    /// The usage invoice of agreement `agreement_id` for `period`, of `amount`, issued at `at`.
    pub fn of_usage(agreement_id: &str, period: &str, amount: String, at: Instant) -> Invoice {
        Invoice {
            id: invoice_id(&["usage", agreement_id, period]),
            agreement_id: agreement_id.to_string(),
            kind: InvoiceType::Invoice,
            period: period.to_string(),
            issued_at: at,
            amount,
            original_invoice_id: None,
        }
    }
}

/// `inv-` and 24 hex digits of a digest of `parts`: the same invoice always has the same id.
fn invoice_id(parts: &[&str]) -> String {
    let digest = hex::encode(Sha256::digest(parts.join("\u{0}").as_bytes()));
    format!("inv-{}", &digest[..24])
}

/// The `YYYY-MM` of `at`.
pub fn period_of(at: Instant) -> String {
    at.to_rfc3339()[..7].to_string()
}

/// When `period`'s usage is invoiced: when its metering windows close (`settings`).
pub fn usage_issued_at(period: &str, settings: &Settings) -> Option<Instant> {
    let start = Instant::parse_rfc3339(&format!("{period}-01T00:00:00Z"))?;
    Some(month_closes_at(start, settings))
}

/// The period after `period`.
pub fn next_period(period: &str) -> Option<String> {
    let start = Instant::parse_rfc3339(&format!("{period}-01T00:00:00Z"))?;
    Some(period_of(start.next_month_start()))
}

/// The namespace's kept invoices (usage invoices and credit memos, each oldest first) and
/// the last period whose usage was invoiced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoices {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_invoiced_through: Option<String>,
    #[serde(default)]
    pub usage: Vec<Invoice>,
    #[serde(default)]
    pub credit_memos: Vec<Invoice>,
}

impl Invoices {
    /// Every kept invoice and credit memo.
    pub fn all(&self) -> impl Iterator<Item = &Invoice> {
        self.usage.iter().chain(&self.credit_memos)
    }

    /// Keeps usage invoice `invoice` (one of the same id is kept once); beyond
    /// `MAX_USAGE_INVOICES` the oldest are forgotten with their credit memos.
    pub fn add_usage(&mut self, invoice: Invoice) {
        if self.usage.iter().any(|i| i.id == invoice.id) {
            return;
        }
        self.usage.push(invoice);
        let excess = self.usage.len().saturating_sub(MAX_USAGE_INVOICES);
        let gone: Vec<Invoice> = self.usage.drain(..excess).collect();
        self.credit_memos.retain(|m| {
            !gone
                .iter()
                .any(|g| m.original_invoice_id.as_deref() == Some(g.id.as_str()))
        });
    }

    /// Keeps credit memo `memo`, unless the namespace or its invoice holds as many as it
    /// keeps (the reason).
    pub fn add_credit_memo(&mut self, memo: Invoice) -> Result<(), String> {
        let original = memo.original_invoice_id.as_deref().unwrap_or_default();
        let of_invoice = self
            .credit_memos
            .iter()
            .filter(|m| m.original_invoice_id.as_deref() == Some(original))
            .count();
        if of_invoice >= MAX_MEMOS_PER_INVOICE {
            return Err(format!("invoice {original} has {MAX_MEMOS_PER_INVOICE} credit memos, the most the mock keeps for one invoice"));
        }
        if self.credit_memos.len() >= MAX_CREDIT_MEMOS {
            return Err(format!(
                "the namespace holds {MAX_CREDIT_MEMOS} credit memos, the most it keeps"
            ));
        }
        self.credit_memos.push(memo);
        Ok(())
    }

    /// What the credit memos against `original` add up to, in cents.
    pub fn credited(&self, original: &str) -> u128 {
        self.credit_memos
            .iter()
            .filter(|i| i.original_invoice_id.as_deref() == Some(original))
            .map(Invoice::cents)
            .sum()
    }

    /// The usage invoice of agreement `agreement_id` for `period`, if one was issued.
    pub fn usage_of(&self, agreement_id: &str, period: &str) -> Option<&Invoice> {
        self.usage
            .iter()
            .find(|i| i.agreement_id == agreement_id && i.period == period)
    }

    /// Whether `period`'s usage has been invoiced.
    pub fn is_invoiced(&self, period: &str) -> bool {
        self.usage_invoiced_through
            .as_deref()
            .is_some_and(|through| period <= through)
    }

    /// When the next period's usage is due to be invoiced, once a first period is known.
    pub fn next_usage_issuance(&self, settings: &Settings) -> Option<Instant> {
        let next = next_period(self.usage_invoiced_through.as_deref()?)?;
        usage_issued_at(&next, settings)
    }
}

/// Where a billing adjustment request stands (the model's `BillingAdjustmentStatus`; every
/// adjustment is settled when it is requested, so none is `PENDING`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdjustmentStatus {
    ValidationFailed,
    Completed,
}

impl AdjustmentStatus {
    pub fn name(self) -> &'static str {
        match self {
            AdjustmentStatus::ValidationFailed => "VALIDATION_FAILED",
            AdjustmentStatus::Completed => "COMPLETED",
        }
    }
}

/// A seller's request to credit the buyer part of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingAdjustment {
    pub id: String,
    pub agreement_id: String,
    pub original_invoice_id: String,
    /// USD, dollars and cents.
    pub amount: String,
    pub reason_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: AdjustmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub created_at: Instant,
    pub updated_at: Instant,
    /// Who sent it: a 12-digit account, or the wildcard caller's key.
    pub requester: String,
    pub client_token: String,
    /// A digest of the entry's members but its client token: a retry has the same.
    pub fingerprint: String,
}

/// The namespace's billing adjustment requests, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BillingAdjustments(pub Vec<BillingAdjustment>);

impl BillingAdjustments {
    pub fn get(&self, id: &str) -> Option<&BillingAdjustment> {
        self.0.iter().find(|a| a.id == id)
    }

    /// Keeps `adjustment`; beyond `MAX_ADJUSTMENTS` the oldest are forgotten.
    pub fn add(&mut self, adjustment: BillingAdjustment) {
        self.0.push(adjustment);
        let excess = self.0.len().saturating_sub(MAX_ADJUSTMENTS);
        self.0.drain(..excess);
    }
}

/// The credit memo a completed adjustment `id` of `amount` against `original` issues at `at`.
pub fn credit_memo(original: &Invoice, adjustment_id: &str, amount: &str, at: Instant) -> Invoice {
    Invoice {
        id: invoice_id(&["credit", &original.agreement_id, adjustment_id]),
        agreement_id: original.agreement_id.clone(),
        kind: InvoiceType::CreditMemo,
        period: original.period.clone(),
        issued_at: at,
        amount: amount.to_string(),
        original_invoice_id: Some(original.id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Instant {
        Instant::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn usage_is_invoiced_when_the_month_s_windows_close() {
        let defaults = Settings::default();
        assert_eq!(
            usage_issued_at("2026-12", &defaults),
            Some(at("2027-01-01T06:00:00Z"))
        );
        let late = Settings {
            month_end_grace_seconds: None,
            ..Settings::default()
        };
        assert_eq!(
            usage_issued_at("2026-12", &late),
            Some(at("2027-01-02T00:00:00Z"))
        );
        assert_eq!(next_period("2026-12").as_deref(), Some("2027-01"));
        let invoices = Invoices {
            usage_invoiced_through: Some("2026-03".into()),
            ..Invoices::default()
        };
        assert!(invoices.is_invoiced("2026-02") && !invoices.is_invoiced("2026-04"));
        assert_eq!(
            invoices.next_usage_issuance(&defaults),
            Some(at("2026-05-01T06:00:00Z"))
        );
        assert_eq!(Invoices::default().next_usage_issuance(&defaults), None);
    }

    #[test]
    fn ids_are_stable_and_credit_memos_add_up_per_invoice() {
        let charge = Charge {
            id: "ch-1".into(),
            revision: 1,
            amount: "120.00".into(),
            at: at("2026-03-10T12:00:00Z"),
            purchase_order_reference: None,
            payment_request_id: None,
        };
        let invoice = Invoice::of_charge("agmt-1", &charge);
        assert_eq!(invoice, Invoice::of_charge("agmt-1", &charge));
        assert_eq!(
            (invoice.period.as_str(), invoice.year_month()),
            ("2026-03", (2026, 3))
        );
        let mut invoices = Invoices::default();
        let first = credit_memo(&invoice, "ba-1", "20.00", at("2026-04-02T00:00:00Z"));
        invoices.add_credit_memo(first).unwrap();
        let second = credit_memo(&invoice, "ba-2", "0.50", at("2026-04-03T00:00:00Z"));
        invoices.add_credit_memo(second).unwrap();
        assert_eq!(invoices.credited(&invoice.id), 2_050);
        assert_eq!(invoices.credit_memos[0].period, "2026-03");
        for n in 2..MAX_MEMOS_PER_INVOICE {
            let memo = credit_memo(
                &invoice,
                &format!("ba-{n}x"),
                "0.01",
                at("2026-04-03T00:00:00Z"),
            );
            invoices.add_credit_memo(memo).unwrap();
        }
        let one_more = credit_memo(&invoice, "ba-last", "0.01", at("2026-04-03T00:00:00Z"));
        assert!(invoices.add_credit_memo(one_more).is_err());

        // An evicted usage invoice takes its credit memos along.
        let mut invoices = Invoices::default();
        let issued = at("2026-04-01T06:00:00Z");
        let usage = Invoice::of_usage("agmt-1", "2026-03", "5.00".into(), issued);
        invoices.add_usage(usage.clone());
        let memo = credit_memo(&usage, "ba-1", "1.00", at("2026-04-02T00:00:00Z"));
        invoices.add_credit_memo(memo).unwrap();
        for n in 0..MAX_USAGE_INVOICES {
            let agreement = format!("agmt-{n}x");
            invoices.add_usage(Invoice::of_usage(
                &agreement,
                "2026-04",
                "1.00".into(),
                issued,
            ));
        }
        assert!(invoices.usage_of("agmt-1", "2026-03").is_none());
        assert!(invoices.credit_memos.is_empty());
    }
}
