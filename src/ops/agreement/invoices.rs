//! Invoices: `ListAgreementInvoiceLineItems` (the proposer's view of an agreement's invoices
//! and credit memos, grouped by invoice) and the monthly issuance of usage invoices by the
//! namespace clock, priced as the bill preview prices the month (`domain::bill`). A charge's
//! invoice is derived from the charge; usage invoices and credit memos are kept
//! (`domain::invoice`).

use serde_json::{json, Map, Value};

use super::agreements::visible;
use super::{access_denied, load_document, page, text, with_next, Answer, Call};
use crate::domain::bill::{self, month_range};
use crate::domain::catalogue::{Customer, Integration, Product};
use crate::domain::invoice::{
    next_period, period_of, usage_issued_at, Invoice, InvoiceType, Invoices, INVOICING_ENTITY,
    MAX_MONTHS_PER_PASS,
};
use crate::domain::offer::proposer_of;
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
            kept.list
                .iter()
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
        amount["maxAdjustmentAmount"] = json!(format!("{}.{:02}", left / 100, left % 100));
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
    if call
        .caller
        .account
        .as_deref()
        .is_some_and(|a| a != proposer_of(&product))
    {
        return Err(access_denied(format!(
            "Only the proposer of agreement {agreement_id} lists its invoices"
        )));
    }
    let kept: Invoices = load_document(store)?;
    let (wanted_id, wanted_type) = (text(input, "invoiceId"), text(input, "invoiceType"));
    let period = input.get("invoiceBillingPeriod").map(|p| {
        (
            p["year"].as_i64().unwrap_or_default(),
            p["month"].as_u64().unwrap_or_default() as u32,
        )
    });
    let time = |name: &str| {
        input
            .get(name)
            .and_then(Value::as_f64)
            .and_then(Instant::try_from_epoch_seconds)
    };
    let (before, after) = (time("beforeIssuedTime"), time("afterIssuedTime"));
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

/// The month invoicing starts with: that of the earliest agreement's acceptance (`None`:
/// the namespace has no agreement).
fn first_period(products: &[Product], now: Instant) -> Option<String> {
    let mut any = false;
    let earliest = products
        .iter()
        .filter(|p| p.integration == Integration::ConcurrentAgreements)
        .flat_map(|p| p.customers.iter())
        .filter(|c| crate::domain::agreement::agreement_id(c).is_some())
        .filter_map(|c| {
            any = true;
            c.accepted_at.or(c.subscription_changed_at)
        })
        .min();
    any.then(|| period_of(earliest.unwrap_or(now)))
}

/// When the next month's usage is due to be invoiced, if the namespace has an agreement.
pub fn next_issuance<S: Store + ?Sized>(
    store: &S,
    has_agreements: bool,
    settings: &Settings,
) -> Result<Option<Instant>, ServiceError> {
    if !has_agreements {
        return Ok(None);
    }
    let kept: Invoices = documents::load(store)?;
    Ok(kept.next_usage_issuance(settings))
}

/// Issues the usage invoices of each month whose metering windows have closed by `now` and
/// whose usage is not invoiced yet (at most `MAX_MONTHS_PER_PASS` months): per agreement, the
/// bill preview's usage charge of the month, when it is above zero. Returns how many it
/// issued.
pub fn issue_due<S: Store + ?Sized>(
    store: &mut S,
    now: Instant,
    settings: &Settings,
) -> Result<usize, ServiceError> {
    let mut kept: Invoices = documents::load(store)?;
    let before = kept.clone();
    let products = store.products()?;
    let first = match &kept.usage_invoiced_through {
        Some(p) => next_period(p),
        None => first_period(&products, now),
    };
    let Some(mut period) = first else {
        return Ok(0);
    };
    let mut issued = 0;
    for _ in 0..MAX_MONTHS_PER_PASS {
        let (Some(at), Some((from, to))) =
            (usage_issued_at(&period, settings), month_range(&period))
        else {
            break;
        };
        if at > now {
            break;
        }
        let totals = store.usage_totals(from, to, None)?;
        // A month beyond exact arithmetic (the bill preview says so) is not invoiced.
        if let Ok(month) = bill::bill(&period, &totals, &products, from) {
            for c in &month.customers {
                let Some(agreement) = c.agreement_id.as_deref() else {
                    continue;
                };
                if c.usage_charge.units() == 0 {
                    continue;
                }
                let amount = c.usage_charge.to_string();
                kept.add(Invoice::of_usage(agreement, &period, amount, at));
                issued += 1;
            }
        }
        kept.usage_invoiced_through = Some(period.clone());
        let Some(next) = next_period(&period) else {
            break;
        };
        period = next;
    }
    // Invoicing starts: the month before the first is the one "invoiced through".
    if kept.usage_invoiced_through.is_none() {
        let start = Instant::parse_rfc3339(&format!("{period}-01T00:00:00Z"));
        kept.usage_invoiced_through = start.map(|s| period_of(Instant(s.0 - 1)));
    }
    if kept != before {
        documents::save(store, &kept)?;
    }
    Ok(issued)
}
