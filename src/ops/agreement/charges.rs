//! The buyer's charges: `ListAgreementCharges` (what its agreements charged: today a
//! contract's upfront charge, made on acceptance) and `UpdatePurchaseOrders` (its purchase
//! order references on those charges). Only an agreement's acceptor (or the wildcard caller)
//! sees its charges; anyone else is answered as if they did not exist.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde_json::{json, Map, Value};

use super::agreements::AGREEMENT_TYPE;
use super::{
    agreement_record, agreement_records, check_catalog, page, storage, text, with_next,
    AgreementRecord, Answer, Call,
};
use crate::domain::agreement as rules;
use crate::domain::catalogue::Product;
use crate::domain::contract::MAX_PURCHASE_ORDER_REFERENCE_CHARS;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::Store;

const SERVICE: ModelService = ModelService::Agreement;

/// `ListAgreementCharges`: the caller's charges, newest first, of one agreement or all.
pub fn list<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    check_catalog(input)?;
    let (wanted_agreement, wanted_type) =
        (text(input, "agreementId"), text(input, "agreementType"));
    let mut items = Vec::new();
    if wanted_type.is_empty() || wanted_type == AGREEMENT_TYPE {
        for product in store.products().map_err(storage(SERVICE))? {
            for record in agreement_records(&product) {
                let customer = &*agreement_record(&product, record);
                let id = rules::agreement_id(customer).unwrap_or_default();
                let named = wanted_agreement.is_empty() || wanted_agreement == id;
                if !named || !rules::is_acceptor(customer, call.caller.account.as_deref()) {
                    continue;
                }
                for charge in &customer.charges {
                    let mut item = json!({
                        "id": charge.id,
                        "revision": charge.revision,
                        "agreementId": id,
                        "agreementType": AGREEMENT_TYPE,
                        "currencyCode": "USD",
                        "amount": charge.amount,
                        "time": epoch_seconds(charge.at),
                    });
                    if let Some(reference) = &charge.purchase_order_reference {
                        item["purchaseOrderReference"] = json!(reference);
                    }
                    items.push((charge.at, charge.id.clone(), item));
                }
            }
        }
    }
    items.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    let items: Vec<Value> = items.into_iter().map(|(_, _, item)| item).collect();
    let listing = format!(
        "ListAgreementCharges\n{}\n{wanted_agreement}\n{wanted_type}",
        call.caller.identity()
    );
    let (items, next) = page(SERVICE, items, input, call, &listing, 20)?;
    Ok(with_next(json!({ "items": items }), next))
}

fn invalid(reason: &str, message: String, field: &str) -> ModelError {
    ModelError::validation(SERVICE, reason, message.clone(), &[(field, &message)])
}

/// One purchase order association of the input.
struct Association<'a> {
    charge_id: &'a str,
    revision: Option<u64>,
    agreement_id: Option<&'a str>,
    reference: Option<&'a str>,
}

/// `UpdatePurchaseOrders`: sets (or, without a reference, clears) the purchase order of each
/// charge named, all or none: an unknown charge (or one of another agreement than named) is
/// `ResourceNotFoundException`, a stale `chargeRevision` is `ConflictException`.
pub fn update<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    let mut associations = Vec::new();
    let mut seen = BTreeSet::new();
    for order in input
        .get("purchaseOrders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let association = Association {
            charge_id: order["chargeId"].as_str().unwrap_or_default(),
            revision: order["chargeRevision"].as_u64(),
            agreement_id: order["agreementId"].as_str(),
            reference: order["purchaseOrderReference"].as_str(),
        };
        if !seen.insert(association.charge_id) {
            return Err(invalid(
                "DUPLICATE_CHARGES",
                format!("Charge {} is named twice", association.charge_id),
                "purchaseOrders",
            ));
        }
        if association
            .reference
            .is_some_and(|r| r.chars().count() > MAX_PURCHASE_ORDER_REFERENCE_CHARS)
        {
            return Err(invalid(
                "INVALID_PURCHASE_ORDER_REFERENCE",
                format!("A purchase order reference is at most {MAX_PURCHASE_ORDER_REFERENCE_CHARS} characters here"),
                "purchaseOrders",
            ));
        }
        associations.push(association);
    }
    // Each charge's product and place among the caller's agreements (of the agreement
    // named), found before anything changes.
    let mut products: BTreeMap<String, Product> = BTreeMap::new();
    let mut places: Vec<Vec<(String, AgreementRecord, usize)>> =
        vec![Vec::new(); associations.len()];
    for product in store.products().map_err(storage(SERVICE))? {
        for record in agreement_records(&product) {
            let customer = agreement_record(&product, record);
            if !rules::is_acceptor(&customer, call.caller.account.as_deref()) {
                continue;
            }
            let id = rules::agreement_id(&customer);
            for (c, charge) in customer.charges.iter().enumerate() {
                for (n, a) in associations.iter().enumerate() {
                    let of_agreement = a
                        .agreement_id
                        .is_none_or(|named| id.as_deref() == Some(named));
                    if a.charge_id == charge.id && of_agreement {
                        places[n].push((product.product_code.to_string(), record, c));
                    }
                }
            }
        }
        products.insert(
            product.product_code.to_string(),
            Rc::unwrap_or_clone(product),
        );
    }
    let mut chosen = Vec::new();
    for (n, association) in associations.iter().enumerate() {
        let (code, record, c) = match places[n].as_slice() {
            [one] => one,
            [] => {
                return Err(ModelError::not_found(
                    SERVICE,
                    "Charge",
                    association.charge_id,
                    format!("Charge {} was not found among the caller's agreements' charges (ListAgreementCharges lists them)", association.charge_id),
                ))
            }
            // Only charges listed by hand can share an id.
            _ => {
                return Err(ModelError::modeled(
                    SERVICE,
                    "ConflictException",
                    format!("Charge id {} names charges of more than one agreement: name its agreementId", association.charge_id),
                )
                .with("resourceId", association.charge_id)
                .with("resourceType", "Charge"))
            }
        };
        let current = agreement_record(&products[code], *record).charges[*c].revision;
        if association.revision.is_some_and(|r| r != current) {
            return Err(ModelError::modeled(
                SERVICE,
                "ConflictException",
                format!(
                    "Charge {} is at revision {current}, not {}",
                    association.charge_id,
                    association.revision.unwrap_or_default()
                ),
            )
            .with("resourceId", association.charge_id)
            .with("resourceType", "Charge"));
        }
        chosen.push((n, code.clone(), *record, *c));
    }
    let mut changed = BTreeSet::new();
    for (n, code, (i, previous), c) in chosen {
        let reference = associations[n].reference.map(str::to_string);
        if let Some(product) = products.get_mut(&code) {
            let mut customer = product.customers[i].clone();
            let charges = match previous {
                None => &mut customer.charges,
                Some(p) => &mut customer.previous_agreements[p].charges,
            };
            charges[c].purchase_order_reference = reference;
            product.customers[i] = customer;
            changed.insert(code);
        }
    }
    for code in changed {
        store
            .put_product(&products[&code])
            .map_err(storage(SERVICE))?;
    }
    Ok(json!({}))
}
