//! Buyer onboarding in the control API: minting registration tokens, the simulated
//! Marketplace "Set up your account" step (an HTML page that POSTs the token to the seller's
//! fulfillment URL, as a buyer's browser does), subscription lifecycle actions, entitlements,
//! and the log of notifications they produce.
//!
//! Layer: control. Every change to a subscription or its entitlements appends its
//! notifications to the event log in the same step; the worker delivers them afterwards.

use serde_json::{json, Map, Value};

use super::{
    bad, body_json, check_product, internal, limit_param, ok, store_err, Answer, ControlError,
};
use crate::domain::catalogue::{is_agreement_id, Customer, Integration, Product};
use crate::domain::constraints::{is_account_id, is_license_arn};
use crate::domain::entitlement::Entitlement;
use crate::domain::ids::random_hex;
use crate::domain::notification::{Change, EventRecord};
use crate::domain::registration::{self, OfferType, TokenRecord, MAX_TTL_SECONDS};
use crate::domain::subscription::{LifecycleAction, SubscriptionState};
use crate::namespace::{load_settings, Namespace};
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::store::Store;

const MAX_EVENTS_LIMIT: usize = 1000;

/// Which customer of which product a control request is about.
struct Selection {
    product: Product,
    index: usize,
}

fn text_field<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ControlError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(format!("{name} must be a string"))),
    }
}

fn load_product<S: Store + ?Sized>(
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
fn find_customer(
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

fn select<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    body: &Map<String, Value>,
) -> Result<Selection, ControlError> {
    let product = load_product(ns, body)?;
    let index = find_customer(&product, body)?.ok_or_else(|| {
        bad("name the customer: customerAWSAccountId, customerIdentifier or licenseArn")
    })?;
    Ok(Selection { product, index })
}

fn object_body(req: &HttpRequest) -> Result<Map<String, Value>, ControlError> {
    match body_json(req)? {
        Value::Object(map) => Ok(map),
        _ => Err(bad("the body must be a JSON object")),
    }
}

/// Gives the customer an agreement id if it has none (`agmt-` and 25 characters).
fn ensure_agreement<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    customer: &mut Customer,
) -> Result<(), ControlError> {
    if customer.agreement_id.is_none() {
        customer.agreement_id = Some(format!("agmt-{}", hex(ns, 25)?));
    }
    Ok(())
}

/// `n` random hex digits, or a 500 when the id source is broken.
fn hex<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, n: usize) -> Result<String, ControlError> {
    random_hex(ns.ids, n).map_err(|e| ControlError(500, e))
}

/// Appends the notifications of `change` for customer `index` of `product`.
fn notify<S: Store + ?Sized>(
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

/// Mints a token for customer `index` of `product` (saving the product if the customer
/// got an agreement id), keeps it in the vault, and returns it with its record.
fn mint<S: Store + ?Sized>(
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

fn offer_type(text: Option<&str>) -> Result<Option<OfferType>, ControlError> {
    match text {
        None => Ok(None),
        Some("free-trial") => Ok(Some(OfferType::FreeTrial)),
        Some(other) => Err(bad(format!(
            "offerType '{other}' is not one AWS Marketplace sends (the only one is free-trial)"
        ))),
    }
}

fn ttl(body: &Map<String, Value>) -> Result<Option<i64>, ControlError> {
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

/// `POST /_mock/subscriptions`: `{productCode, <customer>, action}`.
pub fn lifecycle<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let body = object_body(req)?;
    let action_text = text_field(&body, "action")?.ok_or_else(|| {
        bad("action is required: subscribe-success, subscribe-fail, unsubscribe-pending, unsubscribe-success or entitlement-updated")
    })?;
    let Selection { mut product, index } = select(ns, &body)?;
    let change = match action_text {
        "entitlement-updated" => Change::EntitlementUpdated,
        other => Change::Lifecycle(LifecycleAction::parse(other).ok_or_else(|| {
            bad(format!(
                "unknown action '{other}' (actions: subscribe-success, subscribe-fail, unsubscribe-pending, unsubscribe-success, entitlement-updated)"
            ))
        })?),
    };
    if let Change::Lifecycle(action) = change {
        transition(ns, &mut product, index, action)?;
        ns.store.put_product(&product).map_err(store_err)?;
    }
    let event = notify(ns, change, &product, index)?;
    ok(json!({ "customer": product.customers[index], "event": event_view(&event) }))
}

/// Moves customer `index` of `product` through `action` at namespace time `now`, in memory;
/// 409 when the subscription's state does not allow it.
fn transition<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    product: &mut Product,
    index: usize,
    action: LifecycleAction,
) -> Result<(), ControlError> {
    let now = ns.now().map_err(internal)?;
    let mut customer = product.customers[index].clone();
    customer.subscription = customer
        .subscription
        .after(action)
        .map_err(|reason| ControlError(409, reason))?;
    customer.subscription_changed_at = Some(now);
    // Every notification names the agreement, so a customer listed without one gets one.
    ensure_agreement(ns, &mut customer)?;
    product.customers[index] = customer;
    Ok(())
}

/// `PUT /_mock/entitlements`: `{productCode, <customer>, entitlements: [...]}`.
pub fn put_entitlements<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let body = object_body(req)?;
    let Selection { mut product, index } = select(ns, &body)?;
    let list = body
        .get("entitlements")
        .cloned()
        .ok_or_else(|| bad("entitlements is required (a list, empty to clear)"))?;
    let entitlements: Vec<Entitlement> =
        serde_json::from_value(list).map_err(|e| bad(format!("invalid entitlements: {e}")))?;
    for e in &entitlements {
        e.check(&product.dimensions).map_err(bad)?;
    }
    let mut customer = product.customers[index].clone();
    customer.entitlements = entitlements;
    ensure_agreement(ns, &mut customer)?;
    product.customers[index] = customer;
    ns.store.put_product(&product).map_err(store_err)?;
    let event = notify(ns, Change::EntitlementUpdated, &product, index)?;
    ok(json!({ "customer": product.customers[index], "event": event_view(&event) }))
}

/// An event as the control API shows it: instants as RFC 3339 text.
pub fn event_view(e: &EventRecord) -> Value {
    let mut v = json!(e);
    v["time"] = json!(e.time.to_rfc3339());
    if let Some(deliveries) = v["deliveries"].as_array_mut() {
        for (view, d) in deliveries.iter_mut().zip(&e.deliveries) {
            if let Some(at) = d.next_attempt_at {
                view["nextAttemptAt"] = json!(at.to_rfc3339());
            }
        }
    }
    v
}

/// `GET /_mock/events?after=&limit=&productCode=&action=`
pub fn events<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let (mut after, mut limit) = (0u64, 100usize);
    let (mut product, mut action) = (None, None);
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "after" => {
                after = value
                    .parse()
                    .map_err(|_| bad("after must be an event seq (a number)"))?
            }
            "limit" => limit = limit_param(&value, MAX_EVENTS_LIMIT)?,
            "productCode" | "product" => product = Some(value),
            "action" => action = Some(value),
            other => {
                return Err(bad(format!(
                    "unknown filter '{other}' (filters: after, limit, productCode, action)"
                )))
            }
        }
    }
    let mut listed = Vec::new();
    let mut cursor = after;
    while listed.len() < limit {
        let page = ns
            .store
            .events(cursor, MAX_EVENTS_LIMIT)
            .map_err(store_err)?;
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        listed.extend(
            page.iter()
                .filter(|e| product.as_ref().is_none_or(|p| *p == e.product_code))
                .filter(|e| action.as_ref().is_none_or(|a| *a == e.action))
                .map(event_view),
        );
    }
    listed.truncate(limit);
    ok(json!({ "count": listed.len(), "events": listed }))
}

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

/// An HTML page of the mock; no other site may frame it (a framed sign-up page would let
/// that site make the buyer's click for it).
fn html_page(page: String) -> HttpResponse {
    HttpResponse::new(200, "text/html; charset=utf-8", page)
        .with_header("X-Frame-Options", "DENY")
        .with_header("Content-Security-Policy", "frame-ancestors 'none'")
}

fn escape_html(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The page that asks the buyer to subscribe: a form that POSTs to the page's own URL
/// (an empty `action` keeps its query string, so the parameters go along).
fn confirmation_page(product_code: &str, fulfillment_url: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Subscribe - {product}</title>\n</head>\n<body>\n  <h1>Subscribe to {product}</h1>\n  <p>AWS Marketplace (simulated by metering-mock). After subscribing you are sent to the seller's registration page, {url}.</p>\n  <form id=\"marketplace-subscribe\" method=\"POST\" action=\"\" enctype=\"application/x-www-form-urlencoded\">\n    <button type=\"submit\" id=\"subscribe\">Subscribe</button>\n  </form>\n</body>\n</html>\n",
        product = escape_html(product_code),
        url = escape_html(fulfillment_url),
    )
}

/// The page a buyer's browser gets after subscribing: a form that POSTs itself
/// (`application/x-www-form-urlencoded`) to the fulfillment URL.
fn redirect_page(product_code: &str, url: &str, fields: &[(&str, String)]) -> String {
    let inputs: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "    <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape_html(name),
                escape_html(value)
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Set up your account - {product}</title>\n</head>\n<body>\n  <h1>Set up your account</h1>\n  <p>AWS Marketplace (simulated by metering-mock) is sending you to the seller's registration page for {product}.</p>\n  <form id=\"marketplace-registration\" method=\"POST\" action=\"{action}\" enctype=\"application/x-www-form-urlencoded\">\n{inputs}    <button type=\"submit\">Set up your account</button>\n  </form>\n  <script>document.getElementById('marketplace-registration').submit();</script>\n</body>\n</html>\n",
        product = escape_html(product_code),
        action = escape_html(url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_it_embeds() {
        let page = redirect_page(
            "p<1>",
            "http://x/?a=1&b=\"2\"",
            &[("x-amzn-marketplace-token", "a+b/c=".into())],
        );
        assert!(page.contains("action=\"http://x/?a=1&amp;b=&quot;2&quot;\""));
        assert!(page.contains("value=\"a+b/c=\""));
        assert!(page.contains("p&lt;1&gt;"));
        assert!(page.contains("method=\"POST\""));
    }

    #[test]
    fn the_confirmation_page_posts_to_itself_and_escapes() {
        let page = confirmation_page("p<1>", "http://x/?a=\"b\"");
        assert!(page.contains("action=\"\""));
        assert!(page.contains("p&lt;1&gt;"));
        assert!(page.contains("http://x/?a=&quot;b&quot;"));
        assert!(!page.contains("<script>"));
    }
}
