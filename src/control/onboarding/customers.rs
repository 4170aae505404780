//! What the onboarding endpoints share: finding the product and customer a request names,
//! giving a customer its agreement, and appending the notifications of a change.
//!
//! Layer: control (onboarding).

use serde_json::{Map, Value};

use super::super::{bad, body_json, internal, store_err, ControlError};
use crate::domain::catalogue::{Customer, Product};
use crate::domain::ids::random_hex;
use crate::domain::notification::{Change, EventRecord};
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::Store;

/// Which customer of which product a control request is about.
pub(super) struct Selection {
    pub product: Product,
    pub index: usize,
}

pub(super) fn text_field<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ControlError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(format!("{name} must be a string"))),
    }
}

pub(super) fn load_product<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    body: &Map<String, Value>,
) -> Result<Product, ControlError> {
    let code = text_field(body, "productCode")?.ok_or_else(|| bad("productCode is required"))?;
    ns.store
        .product(code)
        .map_err(store_err)?
        .ok_or_else(|| bad(format!("unknown product '{code}'")))
}

/// Finds the customer named by `licenseArn`, `customerIdentifier` or `customerAWSAccountId`
/// (every one given must match); `Ok(None)` when the body names none of them.
pub(super) fn find_customer(
    product: &Product,
    body: &Map<String, Value>,
) -> Result<Option<usize>, ControlError> {
    let id = text_field(body, "customerIdentifier")?;
    let account = text_field(body, "customerAWSAccountId")?;
    let license = text_field(body, "licenseArn")?;
    if id.is_none() && account.is_none() && license.is_none() {
        return Ok(None);
    }
    let matches: Vec<usize> = product
        .customers
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            id.is_none_or(|v| c.customer_identifier.as_deref() == Some(v))
                && account.is_none_or(|v| c.customer_aws_account_id.as_deref() == Some(v))
                && license.is_none_or(|v| c.license_arn.as_deref() == Some(v))
        })
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [one] => Ok(Some(*one)),
        [] => Err(bad(format!(
            "product {} has no customer {}",
            product.product_code,
            [
                ("customerIdentifier", id),
                ("customerAWSAccountId", account),
                ("licenseArn", license)
            ]
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" ")
        ))),
        _ => Err(bad(format!(
            "several customers of product {} match; name the licenseArn",
            product.product_code
        ))),
    }
}

pub(super) fn select<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    body: &Map<String, Value>,
) -> Result<Selection, ControlError> {
    let product = load_product(ns, body)?;
    let index = find_customer(&product, body)?.ok_or_else(|| {
        bad("name the customer: customerAWSAccountId, customerIdentifier or licenseArn")
    })?;
    Ok(Selection { product, index })
}

pub(super) fn object_body(req: &HttpRequest) -> Result<Map<String, Value>, ControlError> {
    match body_json(req)? {
        Value::Object(map) => Ok(map),
        _ => Err(bad("the body must be a JSON object")),
    }
}

/// Gives the customer an agreement id if it has none (`agmt-` and 25 characters).
pub(super) fn ensure_agreement<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    customer: &mut Customer,
) -> Result<(), ControlError> {
    if customer.agreement_id.is_none() {
        customer.agreement_id = Some(format!("agmt-{}", hex(ns, 25)?));
    }
    Ok(())
}

/// `n` random hex digits, or a 500 when the id source is broken.
pub(super) fn hex<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    n: usize,
) -> Result<String, ControlError> {
    random_hex(ns.ids, n).map_err(|e| ControlError(500, e))
}

/// Appends the notifications of `change` for customer `index` of `product`.
pub(super) fn notify<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    change: Change,
    product: &Product,
    index: usize,
) -> Result<EventRecord, ControlError> {
    let now = ns.now().map_err(internal)?;
    let host_now = ns.host_now;
    let ids = &mut *ns.ids;
    let mut event = EventRecord::new(
        change,
        product,
        &product.customers[index],
        now,
        host_now,
        || ids.next_uuid(),
    );
    event.seq = ns.store.append_event(&event).map_err(store_err)?;
    Ok(event)
}
