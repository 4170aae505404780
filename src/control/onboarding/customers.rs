//! What the onboarding endpoints share: finding the product and customer a request names,
//! giving a customer its agreement, and appending the notifications of a change.
//!
//! Layer: control (onboarding).

use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::{bad, body_json, internal, parse_json, store_err, ControlError};
use crate::domain::agreement;
use crate::domain::catalogue::{Customer, Product};
use crate::domain::ids::random_hex;
use crate::domain::names::{AccountId, CustomerIdentifier, LicenseArn, ProductCode};
use crate::domain::notification::{Change, EventRecord};
use crate::namespace::{load_settings, Namespace};
use crate::protocol::http::HttpRequest;
use crate::store::Store;

/// Which customer of which product a control request is about.
pub(super) struct Selection {
    pub product: Product,
    pub index: usize,
}

/// The fields that name a product and one of its customers in an onboarding request;
/// every customer field given must match.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CustomerRef {
    pub product_code: ProductCode,
    #[serde(default)]
    pub customer_identifier: Option<CustomerIdentifier>,
    #[serde(default, rename = "customerAWSAccountId")]
    pub customer_aws_account_id: Option<AccountId>,
    #[serde(default)]
    pub license_arn: Option<LicenseArn>,
}

/// `CustomerRef`'s fields.
const CUSTOMER_REF_FIELDS: [&str; 4] = [
    "productCode",
    "customerIdentifier",
    "customerAWSAccountId",
    "licenseArn",
];

/// An onboarding request: the customer it names, and its other `fields` as `T`. A field
/// neither names is refused; a malformed one is named by its path.
pub(super) fn customer_request<T: DeserializeOwned>(
    mut body: Map<String, Value>,
    fields: &[&str],
    what: &str,
) -> Result<(CustomerRef, T), ControlError> {
    let known = |k: &str| CUSTOMER_REF_FIELDS.contains(&k) || fields.contains(&k);
    if let Some(key) = body.keys().find(|k| !known(k)) {
        return Err(bad(format!(
            "unknown field '{key}' (fields: {}, {})",
            CUSTOMER_REF_FIELDS.join(", "),
            fields.join(", ")
        )));
    }
    let named: Map<String, Value> = CUSTOMER_REF_FIELDS
        .iter()
        .filter_map(|&k| body.remove(k).map(|v| (k.to_string(), v)))
        .collect();
    Ok((
        parse_json(Value::Object(named), what)?,
        parse_json(Value::Object(body), what)?,
    ))
}

pub(super) fn load_product<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    code: &ProductCode,
) -> Result<Product, ControlError> {
    ns.store
        .product(code)
        .map_err(store_err)?
        .map(std::rc::Rc::unwrap_or_clone)
        .ok_or_else(|| bad(format!("unknown product '{code}'")))
}

/// Finds the customer the reference names; `Ok(None)` when it names none.
pub(super) fn find_customer(
    product: &Product,
    named: &CustomerRef,
) -> Result<Option<usize>, ControlError> {
    let id = named.customer_identifier.as_deref();
    let account = named.customer_aws_account_id.as_deref();
    let license = named.license_arn.as_deref();
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
    named: &CustomerRef,
) -> Result<Selection, ControlError> {
    let product = load_product(ns, &named.product_code)?;
    let index = find_customer(&product, named)?.ok_or_else(|| {
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

/// A name the mock made up itself: always valid, but a 500 rather than a panic if not.
pub(super) fn generated<T: FromStr<Err = String>>(text: String) -> Result<T, ControlError> {
    text.parse()
        .map_err(|e| ControlError(500, format!("a generated name was malformed: {e}")))
}

/// Gives the customer an agreement id if it has none (`agmt-` and 25 characters): the one
/// the Agreement Service already reads for a customer with a license, else a random one.
pub(super) fn ensure_agreement<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    customer: &mut Customer,
) -> Result<(), ControlError> {
    if customer.agreement_id.is_none() {
        let id = match agreement::agreement_id(customer) {
            Some(id) => id,
            None => format!("agmt-{}", hex(ns, 25)?),
        };
        customer.agreement_id = Some(generated(id)?);
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
    let settings = load_settings(ns.store).map_err(internal)?;
    let ids = &mut *ns.ids;
    let mut event = EventRecord::new(
        change,
        product,
        &product.customers[index],
        now,
        host_now,
        &settings,
        || ids.next_uuid(),
    );
    event.seq = ns.store.append_event(&event).map_err(store_err)?;
    Ok(event)
}
