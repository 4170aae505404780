//! Discovery's offer reads, as a buyer (or a test playing one) makes them before
//! `CreateAgreementRequest`: `ListPurchaseOptions` (the offers of a product), `GetOffer`
//! (which names the offer's `agreementProposalId`) and `GetOfferTerms`. Every product has
//! its public offer (`domain::offer`).

use serde_json::{json, Map, Value};

use super::{page, product_offering, storage, text, with_next, Answer, Call};
use crate::domain::catalogue::Product;
use crate::domain::offer::Offer;
use crate::domain::time::Instant;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::Store;

const SERVICE: ModelService = ModelService::Discovery;

fn unknown(offer_id: &str) -> ModelError {
    ModelError::not_found(
        SERVICE,
        "Offer",
        offer_id,
        format!("Offer {offer_id} was not found among the offers the caller may see (GET /_mock/offers lists every offer of the namespace)"),
    )
}

fn seller(account: &str) -> Value {
    json!({"sellerProfileId": format!("seller-{account}"), "displayName": format!("Seller {account}")})
}

fn malformed(message: String, field: &str) -> ModelError {
    ModelError::validation(
        SERVICE,
        "MALFORMED_REQUEST_PARAMETERS",
        message.clone(),
        &[(field, &message)],
    )
}

/// The product and offer entities of a purchase option (`GetOffer`'s `associatedEntities`).
fn associated(product: &Product, offer: &Offer) -> Value {
    let seller = seller(&offer.proposer);
    json!({
        "productId": offer.product_id,
        "productName": product.product_code.to_string(),
        "manufacturer": seller,
    })
}

fn offer_name(product: &Product, offer: &Offer) -> String {
    match offer.private.as_ref() {
        Some(p) => p
            .name
            .clone()
            .unwrap_or_else(|| format!("Private offer of {}", product.product_code)),
        None if offer.trial.is_some() => format!("Free trial of {}", product.product_code),
        None => format!("Public offer of {}", product.product_code),
    }
}

/// A private offer's badge (`PRIVATE_PRICING`); none for the public offer.
fn badges(offer: &Offer) -> Value {
    match offer.private {
        Some(_) => json!([{"displayName": "Private pricing", "badgeType": "PRIVATE_PRICING"}]),
        None => json!([]),
    }
}

/// Whether `offer` of `product` passes filter `kind` with one of `values` at `now` (values
/// the filter does not know are refused first, by `check_filter`).
fn passes(kind: &str, values: &[&str], product: &Product, offer: &Offer, now: Instant) -> bool {
    match kind {
        "PRODUCT_ID" => values
            .iter()
            .any(|v| *v == offer.product_id || *v == &*product.product_code),
        "SELLER_OF_RECORD_PROFILE_ID" => values
            .iter()
            .any(|v| *v == format!("seller-{}", offer.proposer)),
        "PURCHASE_OPTION_TYPE" => values.contains(&"OFFER"),
        // `PRIVATE` is the one value: the private offers extended to the caller.
        "VISIBILITY_SCOPE" => offer.private.is_some(),
        "AVAILABILITY_STATUS" => match offer.has_expired(now) {
            true => values.contains(&"EXPIRED"),
            false => values.contains(&"AVAILABLE"),
        },
        _ => false,
    }
}

/// Refuses a filter value its type does not take (the model's documentation lists them).
fn check_filter(kind: &str, values: &[&str]) -> Result<(), ModelError> {
    let allowed: &[&str] = match kind {
        "PURCHASE_OPTION_TYPE" => &["OFFER", "OFFERSET"],
        "VISIBILITY_SCOPE" => &["PRIVATE"],
        "AVAILABILITY_STATUS" => &["AVAILABLE", "EXPIRED"],
        _ => return Ok(()),
    };
    match values.iter().find(|v| !allowed.contains(v)) {
        Some(bad) => Err(malformed(
            format!(
                "Filter {kind} does not take the value '{bad}': it takes {}",
                allowed.join(", ")
            ),
            "filters",
        )),
        None => Ok(()),
    }
}

/// `ListPurchaseOptions`: the offers the caller may see that the filters select (every
/// filter type must match, any of its values). As documented, a `PRODUCT_ID` or
/// `VISIBILITY_SCOPE` filter is required; `VISIBILITY_SCOPE` `PRIVATE` selects the private
/// offers extended to the caller.
pub fn list_purchase_options<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Answer {
    let filters: Vec<(&str, Vec<&str>)> = input
        .get("filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| {
            let values = f["filterValues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (f["filterType"].as_str().unwrap_or_default(), values)
        })
        .collect();
    if !filters
        .iter()
        .any(|(kind, _)| matches!(*kind, "PRODUCT_ID" | "VISIBILITY_SCOPE"))
    {
        return Err(malformed(
            "Include a PRODUCT_ID filter (the product whose purchase options to list) or a VISIBILITY_SCOPE filter".into(),
            "filters",
        ));
    }
    for (kind, values) in &filters {
        check_filter(kind, values)?;
    }
    let caller = call.caller.account.as_deref();
    let products = store.products().map_err(storage(SERVICE))?;
    let mut options = Vec::new();
    for product in &products {
        for offer in Offer::all(product) {
            let selected = offer.is_visible_to(caller)
                && filters
                    .iter()
                    .all(|(kind, values)| passes(kind, values, product, &offer, call.now));
            if !selected {
                continue;
            }
            let seller = seller(&offer.proposer);
            let mut option = json!({
                "purchaseOptionId": offer.offer_id,
                "catalog": "AWSMarketplace",
                "purchaseOptionType": "OFFER",
                "purchaseOptionName": offer_name(product, &offer),
                "sellerOfRecord": seller,
                "badges": badges(&offer),
                "associatedEntities": [{
                    "product": associated(product, &offer),
                    "offer": {"offerId": offer.offer_id, "offerName": offer_name(product, &offer), "sellerOfRecord": seller},
                }],
            });
            if let Some(at) = offer.private.as_ref().and_then(|p| p.expires_at) {
                option["expirationTime"] = epoch_seconds(at);
            }
            options.push(option);
        }
    }
    let listing = format!(
        "ListPurchaseOptions\n{}",
        Value::Array(input.get("filters").cloned().into_iter().collect())
    );
    let (options, next) = page(SERVICE, options, input, call, &listing, 20)?;
    Ok(with_next(json!({ "purchaseOptions": options }), next))
}

/// `GetOffer`: an offer the caller may see (a private offer only to its buyers).
pub fn get_offer<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Answer {
    let offer_id = text(input, "offerId");
    let (product, offer) = product_offering(store, SERVICE, call, |o| o.offer_id == offer_id)?
        .ok_or_else(|| unknown(offer_id))?;
    let mut out = json!({
        "offerId": offer.offer_id,
        "catalog": "AWSMarketplace",
        "offerName": offer_name(&product, &offer),
        "sellerOfRecord": seller(&offer.proposer),
        "associatedEntities": [{"product": associated(&product, &offer)}],
        "agreementProposalId": offer.agreement_proposal_id,
        "pricingModel": offer.pricing_model(),
        "badges": [],
    });
    if let Some(at) = offer.private.as_ref().and_then(|p| p.expires_at) {
        out["expirationTime"] = epoch_seconds(at);
    }
    Ok(out)
}

/// `GetOfferTerms`
pub fn get_offer_terms<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Answer {
    let offer_id = text(input, "offerId");
    let (_, offer) = product_offering(store, SERVICE, call, |o| o.offer_id == offer_id)?
        .ok_or_else(|| unknown(offer_id))?;
    let terms: Vec<Value> = offer.terms.iter().map(|t| t.offered()).collect();
    // The model's default page: 10 terms.
    let listing = format!("GetOfferTerms\n{offer_id}");
    let (terms, next) = page(SERVICE, terms, input, call, &listing, 10)?;
    Ok(with_next(json!({ "offerTerms": terms }), next))
}
