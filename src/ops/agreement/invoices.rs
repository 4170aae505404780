//! Invoices: `ListAgreementInvoiceLineItems` (the proposer's view of an agreement's invoices
//! and credit memos, grouped by invoice) and the monthly issuance of usage invoices by the
//! namespace clock, priced as the bill preview prices the month (`domain::bill`). A charge's
//! invoice is derived from the charge; usage invoices and credit memos are kept
//! (`domain::invoice`).

use std::rc::Rc;

use serde_json::{json, Map, Value};

use super::agreements::visible;
use super::{load_document, page, require_proposer, text, time_member, with_next, Answer, Call};
use crate::domain::agreement as rules;
use crate::domain::bill::{self, month_range};
use crate::domain::catalogue::{Customer, Integration, Product};
use crate::domain::invoice::{
    next_period, period_of, usage_issued_at, Invoice, InvoiceType, Invoices, INVOICING_ENTITY,
    MAX_MONTHS_PER_PASS,
};
use crate::domain::payment::dollars;
use crate::domain::settings::Settings;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::{documents, Store};

const SERVICE: ModelService = ModelService::Agreement;

/// Every invoice and credit memo of agreement `agreement_id` (customer `customer`, which
/// may be a previous agreement's view): its charges' invoices and the kept ones.
pub(super) fn of_agreement(
    customer: &Customer,
    agreement_id: &str,
    kept: &Invoices,
) -> Vec<Invoice> {
    customer
        .charges
        .iter()
        .map(|c| Invoice::of_charge(agreement_id, c))
        .chain(
            kept.all()
                .filter(|i| i.agreement_id == agreement_id)
                .cloned(),
        )
        .collect()
}

/// One group of `ListAgreementInvoiceLineItems`: an invoice, with what may still be credited
/// against it, or a credit memo.
fn group(invoice: &Invoice, kept: &Invoices) -> Value {
    let (year, month) = invoice.year_month();
    let mut amount = json!({"amount": invoice.amount, "currencyCode": "USD"});
    if invoice.kind == InvoiceType::Invoice {
        let left = invoice.cents().saturating_sub(kept.credited(&invoice.id));
        amount["maxAdjustmentAmount"] = json!(dollars(left));
    }
    json!({
        "agreementId": invoice.agreement_id,
        "invoiceId": invoice.id,
        "pricingCurrencyAmount": amount,
        "invoiceBillingPeriod": {"month": month, "year": year},
        "issuedTime": epoch_seconds(invoice.issued_at),
        "invoiceType": invoice.kind.name(),
        "invoicingEntity": {"legalName": INVOICING_ENTITY},
    })
}

/// `ListAgreementInvoiceLineItems` (the proposer's): the agreement's invoices and credit
/// memos, newest first, by `invoiceId`, `invoiceType`, `invoiceBillingPeriod` and issued
/// time.
pub fn list<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let agreement_id = text(input, "agreementId");
    let (product, i) = visible(store, call, agreement_id)?;
    require_proposer(call, &product, || {
        format!("Only the proposer of agreement {agreement_id} lists its invoices")
    })?;
    let kept: Invoices = load_document(store)?;
    let (wanted_id, wanted_type) = (text(input, "invoiceId"), text(input, "invoiceType"));
    let period = input.get("invoiceBillingPeriod").map(|p| {
        (
            p["year"].as_i64().unwrap_or_default(),
            p["month"].as_u64().unwrap_or_default() as u32,
        )
    });
    let (before, after) = (
        time_member(input, "beforeIssuedTime"),
        time_member(input, "afterIssuedTime"),
    );
    let mut invoices: Vec<Invoice> = of_agreement(&product.customers[i], agreement_id, &kept)
        .into_iter()
        .filter(|inv| wanted_id.is_empty() || inv.id == wanted_id)
        .filter(|inv| wanted_type.is_empty() || inv.kind.name() == wanted_type)
        .filter(|inv| period.is_none_or(|p| inv.year_month() == p))
        .filter(|inv| before.is_none_or(|b| inv.issued_at < b))
        .filter(|inv| after.is_none_or(|a| inv.issued_at > a))
        .collect();
    invoices.sort_by(|a, b| (b.issued_at, &b.id).cmp(&(a.issued_at, &a.id)));
    let groups: Vec<Value> = invoices.iter().map(|inv| group(inv, &kept)).collect();
    let listing = format!(
        "ListAgreementInvoiceLineItems\n{}\n{agreement_id}\n{wanted_id}\n{wanted_type}\n{period:?}\n{before:?}\n{after:?}",
        call.caller.identity()
    );
    let (groups, next) = page(SERVICE, groups, input, call, &listing, 50)?;
    Ok(with_next(
        json!({ "agreementInvoiceLineItemGroupSummaries": groups }),
        next,
    ))
}

/// How many months back invoicing may start (a customer listed with an old acceptance does
/// not make a sweep invoice decades).
const MAX_MONTHS_BACK: i64 = 24;

/// The month invoicing starts with: that of the earliest agreement's acceptance (the current
/// one for agreements listed without one), at most `MAX_MONTHS_BACK` months before `now`;
/// `None` when the namespace has no agreement.
fn first_period(products: &[Rc<Product>], now: Instant) -> Option<String> {
    let accepted: Vec<Option<Instant>> = products
        .iter()
        .filter(|p| p.integration == Integration::ConcurrentAgreements)
        .flat_map(|p| p.customers.iter())
        .filter(|c| rules::agreement_id(c).is_some())
        .map(rules::accepted_at)
        .collect();
    let earliest = accepted.iter().map(|a| a.unwrap_or(now)).min()?;
    let floor = months_before(&period_of(now), MAX_MONTHS_BACK);
    Some(period_of(earliest).max(floor))
}

/// The `YYYY-MM` `n` months before `period`.
fn months_before(period: &str, n: i64) -> String {
    let (y, m) = period.split_once('-').unwrap_or_default();
    let index = y.parse::<i64>().unwrap_or_default() * 12 + m.parse::<i64>().unwrap_or(1) - 1 - n;
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

/// The next month whose usage is to be invoiced, and when (by `settings`): the month after
/// the last one invoiced, or where invoicing starts. `None` without agreements.
fn next_month(
    kept: &Invoices,
    products: &[Rc<Product>],
    settings: &Settings,
    now: Instant,
) -> Option<(String, Instant)> {
    let first = first_period(products, now)?;
    let period = match &kept.usage_invoiced_through {
        Some(p) => next_period(p)?,
        None => first,
    };
    let at = usage_issued_at(&period, settings)?;
    Some((period, at))
}

/// Starts invoicing once the namespace has an agreement: the month before the first is
/// recorded as the last one invoiced, so where invoicing starts no longer moves with the
/// clock (an agreement listed without an acceptance starts it at the current month).
pub fn start<S: Store + ?Sized>(store: &mut S, now: Instant) -> Result<(), ServiceError> {
    let mut kept: Invoices = documents::load(store)?;
    if kept.usage_invoiced_through.is_some() {
        return Ok(());
    }
    let Some(first) = first_period(&store.products()?, now) else {
        return Ok(());
    };
    kept.usage_invoiced_through = Some(months_before(&first, 1));
    documents::save(store, &kept)
}

/// When the next month's usage is due to be invoiced, if the namespace has an agreement.
pub fn next_due<S: Store + ?Sized>(
    store: &S,
    products: &[Rc<Product>],
    settings: &Settings,
    now: Instant,
) -> Result<Option<Instant>, ServiceError> {
    let kept: Invoices = documents::load(store)?;
    Ok(next_month(&kept, products, settings, now).map(|(_, at)| at))
}

/// Issues the usage invoices of each month whose metering windows closed by `at` and whose
/// usage is not invoiced yet (at most `MAX_MONTHS_PER_PASS` months): per agreement, the bill
/// preview's usage charge of the month, when it is above zero; `now` is the namespace's
/// time, where invoicing starts for agreements listed without an acceptance. Returns how many
/// months it invoiced.
pub fn issue_due<S: Store + ?Sized>(
    store: &mut S,
    at: Instant,
    settings: &Settings,
    now: Instant,
) -> Result<usize, ServiceError> {
    let mut kept: Invoices = documents::load(store)?;
    let products = store.products()?;
    let mut months = 0;
    for _ in 0..MAX_MONTHS_PER_PASS {
        let Some((period, issue_at)) = next_month(&kept, &products, settings, now) else {
            break;
        };
        let Some((from, to)) = month_range(&period).filter(|_| issue_at <= at) else {
            break;
        };
        let totals = store.usage_totals(from, to, None)?;
        // A month beyond exact arithmetic (its bill preview answers 400) is not invoiced.
        if let Ok(month) = bill::bill(&period, &totals, &products, from) {
            for c in &month.customers {
                let Some(agreement) = c.agreement_id.as_deref() else {
                    continue;
                };
                if c.usage_charge.units() == 0 {
                    continue;
                }
                let amount = c.usage_charge.to_string();
                kept.add_usage(Invoice::of_usage(agreement, &period, amount, issue_at));
            }
        }
        kept.usage_invoiced_through = Some(period);
        months += 1;
    }
    if months > 0 {
        documents::save(store, &kept)?;
    }
    Ok(months)
}
