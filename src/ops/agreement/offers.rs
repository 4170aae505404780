//! Discovery's offer reads, as a buyer (or a test playing one) makes them before
//! `CreateAgreementRequest`: `GetOffer` (which names the offer's `agreementProposalId`) and
//! `GetOfferTerms`. Every product has its public offer (`domain::offer`).

use serde_json::{json, Map, Value};

use super::{page, product_offering, text, with_next, Answer, Call};
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::store::Store;

const SERVICE: ModelService = ModelService::Discovery;

fn unknown(offer_id: &str) -> ModelError {
    ModelError::not_found(
        SERVICE,
        "Offer",
        offer_id,
        format!("Offer {offer_id} was not found: every product of this namespace has one public offer, named by GET /_mock/products/<code>"),
    )
}

fn seller(account: &str) -> Value {
    json!({"sellerProfileId": format!("seller-{account}"), "displayName": format!("Seller {account}")})
}

/// `GetOffer`
pub fn get_offer<S: Store + ?Sized>(input: &Map<String, Value>, store: &S) -> Answer {
    let offer_id = text(input, "offerId");
    let (product, offer) = product_offering(store, SERVICE, |o| o.offer_id == offer_id)?
        .ok_or_else(|| unknown(offer_id))?;
    let seller = seller(&offer.proposer);
    Ok(json!({
        "offerId": offer.offer_id,
        "catalog": "AWSMarketplace",
        "offerName": format!("Public offer of {}", product.product_code),
        "sellerOfRecord": seller,
        "associatedEntities": [{"product": {
            "productId": offer.product_id,
            "productName": product.product_code.to_string(),
            "manufacturer": seller,
        }}],
        "agreementProposalId": offer.agreement_proposal_id,
        "pricingModel": offer.pricing_model(),
        "badges": [],
    }))
}

/// `GetOfferTerms`
pub fn get_offer_terms<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Answer {
    let offer_id = text(input, "offerId");
    let (_, offer) = product_offering(store, SERVICE, |o| o.offer_id == offer_id)?
        .ok_or_else(|| unknown(offer_id))?;
    let terms: Vec<Value> = offer.terms.iter().map(|t| t.offered()).collect();
    // The model's default page: 10 terms.
    let listing = format!("GetOfferTerms\n{offer_id}");
    let (terms, next) = page(SERVICE, terms, input, call, &listing, 10)?;
    Ok(with_next(json!({ "offerTerms": terms }), next))
}
