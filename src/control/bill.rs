//! `/_mock/bill`: the bill preview of a month (`domain::bill`), from the ledger's exact sums
//! and the products' prices and customers' entitlements, with agreements' charges and credit
//! memos.

use serde_json::{json, Value};

use super::{bad, internal, ok, store_err, Answer};
use crate::domain::bill::{self, month_range, Bill, Decimal};
use crate::domain::invoice::Invoices;
use crate::domain::time::Instant;
use crate::namespace::Namespace;
use crate::protocol::http::{percent_encode, HttpRequest};
use crate::store::documents;
use crate::store::Store;

/// Lines one answer lists at most.
const MAX_LINES: usize = 5000;

pub fn preview<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let mut month = None;
    let mut product = None;
    let mut customer = None;
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "month" => month = Some(value),
            "product" | "productCode" => product = Some(value),
            "customer" => customer = Some(value),
            other => {
                return Err(bad(format!(
                    "unknown parameter '{other}' (parameters: month, product, customer)"
                )))
            }
        }
    }
    let month = match month {
        Some(m) => m,
        None => ns.now().map_err(internal)?.to_rfc3339()[..7].to_string(),
    };
    let (from, to) = month_range(&month)
        .ok_or_else(|| bad(format!("month must be YYYY-MM (2026-11), not '{month}'")))?;
    let totals = ns
        .store
        .usage_totals(from, to, product.as_deref())
        .map_err(store_err)?;
    let products = ns.store.products().map_err(store_err)?;
    let mut bill = bill::bill(&month, &totals, &products, from).map_err(bad)?;
    let invoices: Invoices = documents::load(&*ns.store).map_err(internal)?;
    bill::add_agreement_charges(&mut bill, &products, &invoices);
    if let Some(p) = &product {
        // The usage was read for that product alone; the charges, for every product.
        bill.customers.retain(|c| c.product_code == *p);
        retotal(&mut bill);
    }
    if let Some(c) = &customer {
        keep_customer(&mut bill, c);
    }
    let customer_count = bill.customers.len();
    let shown = truncate(&mut bill);
    let mut view = json!(bill);
    if shown < customer_count {
        view["truncated"] = json!({ "customers": customer_count, "shown": shown });
    }
    link_usage(&mut view, &bill, from, to);
    ok(view)
}

/// Keeps only the customer of that name (identifier, account or license), and its charge.
fn keep_customer(bill: &mut Bill, name: &str) {
    bill.customers.retain(|b| {
        [
            &b.customer_identifier,
            &b.customer_aws_account_id,
            &b.license_arn,
        ]
        .iter()
        .any(|n| n.as_deref() == Some(name))
    });
    retotal(bill);
}

/// The bill's charge, the sum of its customers'.
fn retotal(bill: &mut Bill) {
    bill.charge = bill
        .customers
        .iter()
        .map(|b| b.charge)
        .fold(Decimal::zero_cents(), Decimal::plus);
}

/// Cuts the customers listed to at most `MAX_LINES` lines and returns how many are left. The
/// bill's charge stays the whole month's: only the listing is bounded, so that no ledger
/// makes the answer grow without a bound (narrow by product or customer for more).
fn truncate(bill: &mut Bill) -> usize {
    let mut lines = 0;
    let shown = bill
        .customers
        .iter()
        .take_while(|c| {
            lines += c.lines.len() + c.charges.len() + c.credits.len();
            lines <= MAX_LINES
        })
        .count();
    bill.customers.truncate(shown);
    shown
}

/// Names in each line the ledger query that lists the records it sums.
fn link_usage(view: &mut Value, bill: &Bill, from: Instant, to: Instant) {
    let Some(customers) = view["customers"].as_array_mut() else {
        return;
    };
    for (shown, b) in customers.iter_mut().zip(&bill.customers) {
        // The account before the identifier: a customer's MeterUsage rows carry only its
        // account (unique among a legacy product's customers), its batch rows both.
        let name = b
            .license_arn
            .as_ref()
            .or(b.customer_aws_account_id.as_ref())
            .or(b.customer_identifier.as_ref());
        let Some(lines) = shown["lines"].as_array_mut() else {
            continue;
        };
        for (line, l) in lines.iter_mut().zip(&b.lines) {
            line["usage"] = match name {
                Some(name) => Value::String(format!(
                    "/_mock/usage?product={}&customer={}&dimension={}&from={}&to={}&limit=10000",
                    percent_encode(&b.product_code),
                    percent_encode(name),
                    percent_encode(&l.dimension),
                    from.to_rfc3339(),
                    to.to_rfc3339()
                )),
                None => Value::Null,
            };
        }
    }
}
