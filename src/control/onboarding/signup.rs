//! The simulated Marketplace sign-up: the page that asks the buyer (GET), and the POST that
//! subscribes the buyer and sends them, with a fresh token, to the fulfillment URL.
//!
//! Layer: control (onboarding).

use serde_json::{json, Map, Value};

use super::super::{bad, check_product, ok, store_err, Answer, ControlError};
use super::customers::{
    ensure_agreement, find_customer, hex, load_product, notify, object_body, text_field,
};
use super::events::event_view;
use super::lifecycle::transition;
use super::pages::{confirmation_page, html_page, redirect_page};
use super::tokens::{mint, offer_type, ttl};
use crate::domain::catalogue::{is_agreement_id, Customer, Integration, Product};
use crate::domain::constraints::{is_account_id, is_license_arn};
use crate::domain::notification::Change;
use crate::domain::registration::OfferType;
use crate::domain::subscription::{LifecycleAction, SubscriptionState};
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::Store;

/// A new buyer for `product`: a random 12-digit account, and an identifier (legacy
/// products) or a license (concurrent agreements).
fn new_buyer<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    product: &Product,
    account: Option<&str>,
) -> Result<Customer, ControlError> {
    let digits: String = hex(ns, 12)?
        .chars()
        .filter_map(|c| c.to_digit(16))
        .map(|d| char::from_digit(d % 10, 10).unwrap_or('0'))
        .collect();
    let account = account.map_or(digits, str::to_string);
    let hex = hex(ns, 32)?;
    let mut customer = Customer {
        customer_aws_account_id: Some(account.clone()),
        subscription: SubscriptionState::Pending,
        ..Default::default()
    };
    match product.integration {
        Integration::Legacy => customer.customer_identifier = Some(format!("cust-{}", &hex[..13])),
        Integration::ConcurrentAgreements => {
            customer.license_arn = Some(format!(
                "arn:aws:license-manager::{account}:license:l-{hex}"
            ))
        }
    }
    Ok(customer)
}

/// What the simulated sign-up was asked to do.
struct SignupRequest {
    body: Map<String, Value>,
    outcome: Option<LifecycleAction>,
    offer_type: Option<OfferType>,
    ttl_seconds: Option<i64>,
    as_json: bool,
}

/// The sign-up's parameters: JSON or form fields of a POST, and the query string.
fn signup_request(req: &HttpRequest) -> Result<SignupRequest, ControlError> {
    let form = req
        .header("content-type")
        .is_some_and(|t| t.trim().starts_with("application/x-www-form-urlencoded"));
    let mut body = if req.method != "POST" || req.body.is_empty() {
        Map::new()
    } else if form {
        let text = String::from_utf8_lossy(&req.body);
        let fields = HttpRequest {
            query: text.into_owned(),
            ..Default::default()
        };
        fields
            .query_pairs()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else {
        object_body(req)?
    };
    for (key, value) in req.query_pairs() {
        body.insert(key, Value::String(value));
    }
    let allowed = [
        "productCode",
        "customerIdentifier",
        "customerAWSAccountId",
        "licenseArn",
        "offerType",
        "offerIdentifier",
        "outcome",
        "fulfillmentUrl",
        "format",
        "ttlSeconds",
    ];
    if let Some(key) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown parameter '{key}' (parameters: {})",
            allowed.join(", ")
        )));
    }
    let outcome = match text_field(&body, "outcome")?.unwrap_or("subscribe-success") {
        "subscribe-success" => Some(LifecycleAction::SubscribeSuccess),
        "subscribe-fail" => Some(LifecycleAction::SubscribeFail),
        "pending" => None,
        other => {
            return Err(bad(format!(
                "outcome '{other}' must be subscribe-success (default), subscribe-fail or pending"
            )))
        }
    };
    let offer_type = offer_type(text_field(&body, "offerType")?)?;
    let as_json = match text_field(&body, "format")? {
        None | Some("html") => false,
        Some("json") => true,
        Some(other) => return Err(bad(format!("format '{other}' must be html or json"))),
    };
    if let Some(Value::String(t)) = body.get("ttlSeconds") {
        let parsed = t
            .parse::<i64>()
            .map_err(|_| bad("ttlSeconds must be an integer"))?;
        body.insert("ttlSeconds".into(), json!(parsed));
    }
    let ttl_seconds = ttl(&body)?;
    Ok(SignupRequest {
        body,
        outcome,
        offer_type,
        ttl_seconds,
        as_json,
    })
}

/// `GET /_mock/marketplace/subscribe?…`: the page where the buyer confirms the
/// subscription. It only shows (a GET changes nothing): its button POSTs the same
/// parameters back, from the mock's own origin, and that POST subscribes.
pub fn signup_page<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let request = signup_request(req)?;
    let product = load_product(ns, &request.body)?;
    let fulfillment_url = match text_field(&request.body, "fulfillmentUrl")? {
        Some(url) => Some(url.to_string()),
        None => product.fulfillment_url.clone(),
    };
    let Some(fulfillment_url) = fulfillment_url else {
        return Err(bad(format!(
            "product {} has no fulfillmentUrl: set it on the product or pass fulfillmentUrl",
            product.product_code
        )));
    };
    let mut check = product.clone();
    check.fulfillment_url = Some(fulfillment_url.clone());
    check.check().map_err(bad)?;
    Ok(html_page(confirmation_page(
        &product.product_code,
        &fulfillment_url,
    )))
}

/// `POST /_mock/marketplace/subscribe`: the buyer subscribes to a product and is sent,
/// with a fresh registration token, to the product's fulfillment URL.
pub fn signup<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let SignupRequest {
        body,
        outcome,
        offer_type,
        ttl_seconds,
        as_json,
    } = signup_request(req)?;
    let mut product = load_product(ns, &body)?;
    let fulfillment_url = match text_field(&body, "fulfillmentUrl")? {
        Some(url) => url.to_string(),
        None => product.fulfillment_url.clone().ok_or_else(|| {
            bad(format!(
                "product {} has no fulfillmentUrl: set it on the product or pass fulfillmentUrl",
                product.product_code
            ))
        })?,
    };
    let mut check = product.clone();
    check.fulfillment_url = Some(fulfillment_url.clone());
    check.check().map_err(bad)?;

    let index = match find_customer(&product, &body) {
        Ok(Some(index)) => index,
        Ok(None) => {
            let buyer = new_buyer(ns, &product, None)?;
            product.customers.push(buyer);
            product.customers.len() - 1
        }
        Err(not_found) => {
            // An account (and, for concurrent agreements, a license) that is new to the
            // product subscribes as a new customer.
            let account = text_field(&body, "customerAWSAccountId")?;
            let Some(account) = account.filter(|a| a.len() == 12 && is_account_id(a)) else {
                return Err(not_found);
            };
            let mut buyer = new_buyer(ns, &product, Some(account))?;
            if let Some(id) = text_field(&body, "customerIdentifier")? {
                buyer.customer_identifier = Some(id.to_string());
            }
            if let Some(license) = text_field(&body, "licenseArn")? {
                if !is_license_arn(license) {
                    return Err(bad(format!("licenseArn '{license}' is not a license ARN")));
                }
                buyer.license_arn = Some(license.to_string());
            }
            product.customers.push(buyer);
            product.customers.len() - 1
        }
    };
    {
        let customer = &mut product.customers[index];
        if let Some(offer) = text_field(&body, "offerIdentifier")? {
            customer.offer_identifier = Some(offer.to_string());
        }
        customer.free_trial = offer_type == Some(OfferType::FreeTrial);
        if let Some(agreement) = &customer.agreement_id {
            if !is_agreement_id(agreement) {
                return Err(bad(format!("agreementId '{agreement}' is malformed")));
            }
        }
    }
    // Everything is decided in memory and checked before the one write, so a refused
    // sign-up changes nothing.
    let action = outcome.filter(|&action| {
        let state = product.customers[index].subscription;
        !(state == SubscriptionState::Subscribed && action == LifecycleAction::SubscribeSuccess)
    });
    if let Some(action) = action {
        transition(ns, &mut product, index, action)?;
    }
    let mut customer = product.customers[index].clone();
    ensure_agreement(ns, &mut customer)?;
    product.customers[index] = customer;
    check_product(ns, &product)?;
    ns.store.put_product(&product).map_err(store_err)?;
    let event = match action {
        Some(action) => Some(notify(ns, Change::Lifecycle(action), &product, index)?),
        None => None,
    };
    let (token, record) = mint(ns, &mut product, index, offer_type, ttl_seconds)?;
    let mut fields = vec![("x-amzn-marketplace-token", token.clone())];
    if let Some(offer) = offer_type {
        fields.push(("x-amzn-marketplace-offer-type", offer.name().to_string()));
    }
    if as_json {
        return ok(json!({
            "fulfillmentUrl": fulfillment_url,
            "form": fields.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
            "registrationToken": token,
            "expiresAt": record.expires_at.to_rfc3339(),
            "customer": product.customers[index],
            "event": event.as_ref().map(event_view),
        }));
    }
    Ok(html_page(redirect_page(
        &product.product_code,
        &fulfillment_url,
        &fields,
    )))
}
