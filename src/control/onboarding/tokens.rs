//! Registration tokens in the control API: minting one for a customer (directly, or for the
//! simulated sign-up), kept in the namespace's store with its record.
//!
//! Layer: control (onboarding).

use serde_json::{json, Map, Value};

use super::super::{bad, internal, store_err, Answer, ControlError};
use super::customers::{ensure_agreement, object_body, select, text_field, Selection};
use crate::domain::catalogue::Product;
use crate::domain::registration::{self, OfferType, TokenRecord, MAX_TTL_SECONDS};
use crate::namespace::{load_settings, Namespace};
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::store::Store;

/// Mints a token for customer `index` of `product` (saving the product if the customer
/// got an agreement id), keeps it in the vault, and returns it with its record.
pub(super) fn mint<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    product: &mut Product,
    index: usize,
    offer_type: Option<OfferType>,
    ttl_seconds: Option<i64>,
) -> Result<(String, TokenRecord), ControlError> {
    let settings = load_settings(ns.store).map_err(internal)?;
    let ttl = ttl_seconds.unwrap_or(settings.registration_token_ttl_seconds);
    let mut customer = product.customers[index].clone();
    if customer.agreement_id.is_none() {
        ensure_agreement(ns, &mut customer)?;
        product.customers[index] = customer.clone();
        ns.store.put_product(product).map_err(store_err)?;
    }
    let incarnation = ns.incarnation().map_err(internal)?;
    let now = ns.now().map_err(internal)?;
    let record = TokenRecord::for_customer(
        ns.name,
        &incarnation,
        &product.product_code,
        &customer,
        offer_type,
        now,
        ttl,
    );
    let token = registration::new_token(ns.ids).map_err(|e| ControlError(500, e))?;
    let key = registration::token_key(ns.name, &token)
        .ok_or_else(|| ControlError(500, "a minted token must be well formed".into()))?;
    let text = serde_json::to_string(&record).map_err(|e| ControlError(500, e.to_string()))?;
    ns.store
        .put_registration_token(&key, &text, record.keep_until(), now)
        .map_err(store_err)?;
    Ok((token, record))
}

pub(super) fn offer_type(text: Option<&str>) -> Result<Option<OfferType>, ControlError> {
    match text {
        None => Ok(None),
        Some("free-trial") => Ok(Some(OfferType::FreeTrial)),
        Some(other) => Err(bad(format!(
            "offerType '{other}' is not one AWS Marketplace sends (the only one is free-trial)"
        ))),
    }
}

pub(super) fn ttl(body: &Map<String, Value>) -> Result<Option<i64>, ControlError> {
    match body.get("ttlSeconds") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|t| (1..=MAX_TTL_SECONDS).contains(t))
            .map(Some)
            .ok_or_else(|| {
                bad(format!(
                    "ttlSeconds must be an integer from 1 to {MAX_TTL_SECONDS}"
                ))
            }),
    }
}

/// `POST /_mock/registration-tokens`
pub fn mint_token<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let body = object_body(req)?;
    for key in body.keys() {
        if ![
            "productCode",
            "customerIdentifier",
            "customerAWSAccountId",
            "licenseArn",
            "offerType",
            "ttlSeconds",
        ]
        .contains(&key.as_str())
        {
            return Err(bad(format!(
                "unknown field '{key}' (fields: productCode, customerIdentifier, customerAWSAccountId, licenseArn, offerType, ttlSeconds)"
            )));
        }
    }
    let offer = offer_type(text_field(&body, "offerType")?)?;
    let ttl = ttl(&body)?;
    let Selection { mut product, index } = select(ns, &body)?;
    let (token, record) = mint(ns, &mut product, index, offer, ttl)?;
    Ok(HttpResponse::json(
        201,
        &json!({
            "registrationToken": token,
            "expiresAt": record.expires_at.to_rfc3339(),
            "productCode": product.product_code,
            "customer": product.customers[index],
        }),
    ))
}
