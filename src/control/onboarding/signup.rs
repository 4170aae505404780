//! The simulated Marketplace sign-up: the page that asks the buyer (GET), and the POST that
//! subscribes the buyer and sends them, with a fresh token, to the fulfillment URL.
//!
//! Layer: control (onboarding).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::super::{bad, check_product, ok, store_err, Answer, ControlError};
use super::customers::{
    customer_request, ensure_agreement, find_customer, generated, hex, load_product, notify,
    object_body, CustomerRef,
};
use super::events::event_view;
use super::lifecycle::transition;
use super::links::{link_of, link_params, use_link};
use super::pages::{confirmation_page, html_page, redirect_page};
use super::tokens::{mint, ttl};
use crate::domain::catalogue::{Customer, Integration, Product};
use crate::domain::names::{HttpUrl, TwelveDigitAccountId};
use crate::domain::notification::Change;
use crate::domain::registration::OfferType;
use crate::domain::subscription::{LifecycleAction, SubscriptionState};
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::Store;

/// A new buyer for `product`: the given 12-digit account or a random one, and an
/// identifier (legacy products) or a license (concurrent agreements).
fn new_buyer<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    product: &Product,
    account: Option<TwelveDigitAccountId>,
) -> Result<Customer, ControlError> {
    let account = match account {
        Some(account) => account,
        None => {
            let digits: String = hex(ns, 12)?
                .chars()
                .filter_map(|c| c.to_digit(16))
                .map(|d| char::from_digit(d % 10, 10).unwrap_or('0'))
                .collect();
            generated(digits)?
        }
    };
    let hex = hex(ns, 32)?;
    let mut customer = Customer {
        customer_aws_account_id: Some(account.clone().into()),
        subscription: SubscriptionState::Pending,
        ..Default::default()
    };
    match product.integration {
        Integration::Legacy => {
            customer.customer_identifier = Some(generated(format!("cust-{}", &hex[..13]))?)
        }
        Integration::ConcurrentAgreements => {
            customer.license_arn = Some(generated(format!(
                "arn:aws:license-manager::{account}:license:l-{hex}"
            ))?)
        }
    }
    Ok(customer)
}

/// What the buyer's sign-up ends in.
#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Outcome {
    #[default]
    SubscribeSuccess,
    SubscribeFail,
    /// The subscription stays pending (no lifecycle message yet).
    Pending,
}

impl Outcome {
    fn action(self) -> Option<LifecycleAction> {
        match self {
            Outcome::SubscribeSuccess => Some(LifecycleAction::SubscribeSuccess),
            Outcome::SubscribeFail => Some(LifecycleAction::SubscribeFail),
            Outcome::Pending => None,
        }
    }
}

/// How the sign-up answers: the browser's redirect page, or JSON for scripts.
#[derive(Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Format {
    #[default]
    Html,
    Json,
}

/// What the simulated sign-up was asked to do.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignupRequest {
    #[serde(default)]
    offer_type: Option<OfferType>,
    #[serde(default)]
    offer_identifier: Option<String>,
    #[serde(default)]
    outcome: Outcome,
    #[serde(default)]
    fulfillment_url: Option<HttpUrl>,
    #[serde(default)]
    format: Format,
    #[serde(default)]
    ttl_seconds: Option<i64>,
}

const SIGNUP_FIELDS: [&str; 6] = [
    "offerType",
    "offerIdentifier",
    "outcome",
    "fulfillmentUrl",
    "format",
    "ttlSeconds",
];

/// The sign-up's parameters and the digest of the link that carried them, if one did: the
/// link's, or the JSON or form fields of a POST and the query string. In a locked deployment
/// the buyer goes to the product's fulfillment URL, never to one a URL names.
fn signup_request<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    req: &HttpRequest,
) -> Result<(CustomerRef, SignupRequest, Option<String>), ControlError> {
    if let Some(id) = link_of(req)? {
        let (params, digest) = link_params(ns, &id)?;
        let (named, request) = parse_signup(params)?;
        return Ok((named, request, Some(digest)));
    }
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
    let (named, request) = parse_locked_or_open(ns, body)?;
    Ok((named, request, None))
}

/// `parse_signup`, refusing a `fulfillmentUrl` in a locked deployment.
fn parse_locked_or_open<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    body: Map<String, Value>,
) -> Result<(CustomerRef, SignupRequest), ControlError> {
    if ns.deployment.locked() && body.contains_key("fulfillmentUrl") {
        return Err(bad(
            "in a locked deployment a sign-up sends the buyer to the product's fulfillmentUrl: set it on the product",
        ));
    }
    parse_signup(body)
}

/// Reads a sign-up's parameters (text from a query or form, or JSON).
fn parse_signup(
    mut body: Map<String, Value>,
) -> Result<(CustomerRef, SignupRequest), ControlError> {
    // Form fields and the query string are text; the one number is read from it.
    if let Some(Value::String(t)) = body.get("ttlSeconds") {
        let parsed = t
            .parse::<i64>()
            .map_err(|_| bad("ttlSeconds must be an integer"))?;
        body.insert("ttlSeconds".into(), json!(parsed));
    }
    let (named, request): (_, SignupRequest) = customer_request(body, &SIGNUP_FIELDS, "sign-up")?;
    ttl(request.ttl_seconds)?;
    Ok((named, request))
}

/// Checks a sign-up link's parameters as the sign-up will read them: its product, and a
/// fulfillment URL to send the buyer to.
pub(super) fn check_link_params<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    params: Map<String, Value>,
) -> Result<(), ControlError> {
    let (named, request) = parse_locked_or_open(ns, params)?;
    let product = load_product(ns, &named.product_code)?;
    fulfillment_url(&product, request.fulfillment_url).map(|_| ())
}

/// Where the buyer is sent: the request's URL, else the product's.
fn fulfillment_url(product: &Product, given: Option<HttpUrl>) -> Result<HttpUrl, ControlError> {
    given
        .or_else(|| product.fulfillment_url.clone())
        .ok_or_else(|| {
            bad(format!(
                "product {} has no fulfillmentUrl: set it on the product or pass fulfillmentUrl",
                product.product_code
            ))
        })
}

/// `GET /_mock/marketplace/subscribe?…`: the page where the buyer confirms the
/// subscription. It only shows (a GET changes nothing): its button POSTs the same
/// parameters back, from the mock's own origin, and that POST subscribes.
pub fn signup_page<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let (named, request, _link) = signup_request(ns, req)?;
    let product = load_product(ns, &named.product_code)?;
    let fulfillment_url = fulfillment_url(&product, request.fulfillment_url)?;
    Ok(html_page(confirmation_page(
        &product.product_code,
        &fulfillment_url,
    )))
}

/// The place in the product's list of the customer signing up: the one named, a new
/// buyer, or (for an account, and a license, new to the product) a new customer of that name.
fn subscriber<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    product: &mut Product,
    named: CustomerRef,
) -> Result<usize, ControlError> {
    let buyer = match find_customer(product, &named) {
        Ok(Some(index)) => return Ok(index),
        Ok(None) => new_buyer(ns, product, None)?,
        Err(not_found) => {
            let Some(account) = named
                .customer_aws_account_id
                .as_deref()
                .and_then(|a| a.parse::<TwelveDigitAccountId>().ok())
            else {
                return Err(not_found);
            };
            let mut buyer = new_buyer(ns, product, Some(account))?;
            if let Some(id) = named.customer_identifier {
                buyer.customer_identifier = Some(id);
            }
            if let Some(license) = named.license_arn {
                buyer.license_arn = Some(license);
            }
            buyer
        }
    };
    product.customers.push(buyer);
    Ok(product.customers.len() - 1)
}

/// `POST /_mock/marketplace/subscribe`: the buyer subscribes to a product and is sent,
/// with a fresh registration token, to the product's fulfillment URL.
pub fn signup<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let (
        named,
        SignupRequest {
            offer_type,
            offer_identifier,
            outcome,
            fulfillment_url: given_url,
            format,
            ttl_seconds,
        },
        link,
    ) = signup_request(ns, req)?;
    let mut product = load_product(ns, &named.product_code)?;
    let fulfillment_url = fulfillment_url(&product, given_url)?;

    let index = subscriber(ns, &mut product, named)?;
    let customer = &mut product.customers[index];
    if let Some(offer) = offer_identifier {
        customer.offer_identifier = Some(offer);
    }
    customer.free_trial = offer_type == Some(OfferType::FreeTrial);
    // Everything is decided in memory and checked before the one write, so a refused
    // sign-up changes nothing.
    let action = outcome.action().filter(|&action| {
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
    // Used only by a sign-up that happens (a refusal above wrote nothing, the link included).
    if let Some(digest) = link {
        use_link(ns, &digest)?;
    }
    ns.store.put_product(&product).map_err(store_err)?;
    crate::ops::agreement::milestones::note(ns.store, &product, index)
        .map_err(|e| ControlError(500, e.message))?;
    let event = match action {
        Some(action) => Some(notify(ns, Change::Lifecycle(action), &product, index)?),
        None => None,
    };
    let (token, record) = mint(ns, &mut product, index, offer_type, ttl_seconds)?;
    let customer = &product.customers[index];
    let mut fields = vec![("x-amzn-marketplace-token", token.clone())];
    if let Some(offer) = offer_type {
        fields.push(("x-amzn-marketplace-offer-type", offer.name().to_string()));
    }
    if format == Format::Json {
        return ok(json!({
            "fulfillmentUrl": fulfillment_url,
            "form": fields.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
            "registrationToken": token,
            "expiresAt": record.expires_at.to_rfc3339(),
            "customer": customer,
            "event": event.as_ref().map(event_view),
        }));
    }
    Ok(html_page(redirect_page(
        &product.product_code,
        &fulfillment_url,
        &fields,
    )))
}
