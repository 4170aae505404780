//! `/_mock/products`: the catalogue's products (with their customers), each checked
//! against the rest of the catalogue before it is written.

use std::collections::HashMap;
use std::rc::Rc;

use percent_encoding::percent_decode_str;
use serde_json::json;

use super::{bad, body_json, ok, parse_json, store_err, Answer, ControlError};
use crate::domain::catalogue::Product;
use crate::namespace::Namespace;
use crate::ops::agreement::milestones;
use crate::policy::outbound;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::store::Store;

pub(super) fn list_products<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let products = ns.store.products().map_err(store_err)?;
    let listed: Vec<&Product> = products.iter().map(|p| &**p).collect();
    ok(json!({ "products": listed }))
}

pub(super) fn put_product<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    req: &HttpRequest,
) -> Answer {
    let mut product: Product = parse_json(body_json(req)?, "product")?;
    check_product(ns, &product)?;
    milestones::listed_at(&mut product, ns.now().map_err(super::internal)?);
    let created = ns
        .store
        .product(&product.product_code)
        .map_err(store_err)?
        .is_none();
    let max = ns.deployment.limits.products;
    if created && ns.store.products().map_err(store_err)?.len() >= max {
        return Err(ControlError(
            409,
            format!("the namespace holds its maximum of {max} products (MAX_PRODUCTS): delete one first"),
        ));
    }
    ns.store.put_product(&product).map_err(store_err)?;
    milestones::note_product(ns.store, &product).map_err(super::internal)?;
    Ok(HttpResponse::json(
        if created { 201 } else { 200 },
        &json!({ "product": product }),
    ))
}

/// Checks a product document, and that none of its licenses belongs to another product of
/// the namespace (a license names its product when BatchMeterUsage omits `ProductCode`).
pub(super) fn check_product<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    product: &Product,
) -> Result<(), ControlError> {
    let others = ns.store.products().map_err(store_err)?;
    check_product_among(ns, product, &others)
}

/// Checks a product document against the deployment's limits, and its licenses against
/// `others` (the products it will sit beside; its own code among them is skipped).
pub(super) fn check_product_among<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    product: &Product,
    others: &[Rc<Product>],
) -> Result<(), ControlError> {
    product.check().map_err(bad)?;
    let limits = &ns.deployment.limits;
    if product.customers.len() > limits.customers_per_product {
        return Err(bad(format!(
            "a product has at most {} customers on this deployment (MAX_CUSTOMERS_PER_PRODUCT)",
            limits.customers_per_product
        )));
    }
    for webhook in &product.webhooks {
        outbound::check_webhook_url(&webhook.url, &ns.deployment.webhooks).map_err(bad)?;
    }
    // Every other product's licenses at once, so the check is linear in the customers.
    let owners: HashMap<&str, &str> = others
        .iter()
        .filter(|other| other.product_code != product.product_code)
        .flat_map(|other| {
            other
                .customers
                .iter()
                .filter_map(move |c| Some((c.license_arn.as_deref()?, &*other.product_code)))
        })
        .collect();
    for license in product
        .customers
        .iter()
        .filter_map(|c| c.license_arn.as_deref())
    {
        if let Some(owner) = owners.get(license) {
            return Err(bad(format!(
                "licenseArn '{license}' already belongs to product {owner}"
            )));
        }
    }
    Ok(())
}

pub(super) fn get_product<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, code: &str) -> Answer {
    let code = percent_decode_str(code).decode_utf8_lossy();
    match ns.store.product(&code).map_err(store_err)? {
        Some(p) => ok(json!({ "product": &*p, "offers": super::agreements::offer_views(&p) })),
        None => Err(ControlError(404, format!("no product '{code}'"))),
    }
}

pub(super) fn delete_product<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, code: &str) -> Answer {
    let code = percent_decode_str(code).decode_utf8_lossy();
    if ns.store.delete_product(&code).map_err(store_err)? {
        ok(json!({ "deleted": code }))
    } else {
        Err(ControlError(404, format!("no product '{code}'")))
    }
}
