//! Registration tokens in the control API: minting one for a customer (directly, or for the
//! simulated sign-up), kept in the namespace's store with its record.
//!
//! Layer: control (onboarding).

use serde::Deserialize;
use serde_json::json;

use super::super::{bad, internal, store_err, Answer, ControlError};
use super::customers::{customer_request, ensure_agreement, object_body, select, Selection};
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

/// A token's lifetime as a request gives it: 1 s to `MAX_TTL_SECONDS`.
pub(super) fn ttl(seconds: Option<i64>) -> Result<Option<i64>, ControlError> {
    match seconds {
        Some(t) if !(1..=MAX_TTL_SECONDS).contains(&t) => Err(bad(format!(
            "ttlSeconds must be an integer from 1 to {MAX_TTL_SECONDS}"
        ))),
        _ => Ok(seconds),
    }
}

/// `POST /_mock/registration-tokens`'s body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MintRequest {
    #[serde(default)]
    offer_type: Option<OfferType>,
    #[serde(default)]
    ttl_seconds: Option<i64>,
}

/// `POST /_mock/registration-tokens`
pub fn mint_token<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let (named, request): (_, MintRequest) = customer_request(
        object_body(req)?,
        &["offerType", "ttlSeconds"],
        "token request",
    )?;
    let ttl = ttl(request.ttl_seconds)?;
    let Selection { mut product, index } = select(ns, &named)?;
    let (token, record) = mint(ns, &mut product, index, request.offer_type, ttl)?;
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
