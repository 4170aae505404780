//! The control API of a namespace, under `/_mock/…`: products and customers, the usage
//! ledger, settings, the clock, injected faults, reset and health, buyer onboarding
//! (registration tokens, the simulated sign-up, subscriptions, entitlements, events), and
//! RegisterUsage's signing keys and container registrations. Its own JSON (camelCase) and its own
//! errors: `{"error": "…"}` with 400, 404 or 405.
//!
//! Layer: control. Runs inside the namespace's single writer like the operations do.

pub mod keys;
pub mod onboarding;
pub mod seed;

use serde_json::{json, Value};

use crate::domain::catalogue::Product;
use crate::domain::settings::{Clock, Settings};
use crate::domain::time::Instant;
use crate::ops::faults::{self, Fault};
use crate::ops::register_usage;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::service::{load_clock, load_settings, Namespace};
use crate::store::{contract, Store, UsageEntry, UsageQuery};

const MAX_USAGE_LIMIT: usize = 10_000;

/// A control API failure: status and message.
pub struct ControlError(pub u16, pub String);

type Answer = Result<HttpResponse, ControlError>;

fn bad(message: impl Into<String>) -> ControlError {
    ControlError(400, message.into())
}

fn ok(value: Value) -> Answer {
    Ok(HttpResponse::json(200, &value))
}

/// Serves `/_mock/…` for the namespace.
pub fn handle<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> HttpResponse {
    let route = req.path.trim_start_matches("/_mock").trim_end_matches('/');
    let answer = match (req.method.as_str(), route) {
        ("GET", "/health") => health(ns),
        ("GET", "/products") => list_products(ns),
        ("POST", "/products") => put_product(ns, req),
        ("GET" | "DELETE", r) if r.starts_with("/products/") => {
            product_route(ns, req, &r["/products/".len()..])
        }
        ("GET", "/usage") => usage(ns, req),
        ("GET", "/settings") => load_settings(ns.store)
            .map_err(internal)
            .and_then(|s| ok(json!(s))),
        ("PATCH", "/settings") => patch_settings(ns, req),
        ("GET", "/clock") => clock_view(ns),
        ("PUT", "/clock") => put_clock(ns, req),
        ("GET", "/faults") => list_faults(ns),
        ("POST", "/faults") => add_fault(ns, req),
        ("DELETE", "/faults") => faults::clear(ns.store)
            .map_err(internal)
            .and_then(|_| ok(json!({ "faults": [] }))),
        ("POST", "/reset") => reset(ns),
        ("POST", "/registration-tokens") => onboarding::mint_token(ns, req),
        ("POST", "/subscriptions") => onboarding::lifecycle(ns, req),
        ("PUT", "/entitlements") => onboarding::put_entitlements(ns, req),
        ("GET", "/events") => onboarding::events(ns, req),
        ("GET" | "POST", "/marketplace/subscribe") => onboarding::signup(ns, req),
        ("POST", "/store-contract") => store_contract(ns),
        (_, r) if r == "/keys" || r.starts_with("/keys/") => {
            keys::route(ns, req, &r["/keys".len()..])
        }
        ("GET", "/registrations") => keys::registrations(ns, req),
        (
            _,
            "/health"
            | "/products"
            | "/usage"
            | "/settings"
            | "/clock"
            | "/faults"
            | "/reset"
            | "/store-contract"
            | "/registration-tokens"
            | "/subscriptions"
            | "/entitlements"
            | "/events"
            | "/registrations"
            | "/marketplace/subscribe",
        ) => Err(ControlError(
            405,
            format!("{} is not allowed on /_mock{route}", req.method),
        )),
        _ => Err(ControlError(
            404,
            format!("no control endpoint /_mock{route}"),
        )),
    };
    answer.unwrap_or_else(|ControlError(status, message)| {
        HttpResponse::json(status, &json!({ "error": message }))
    })
}

fn internal(e: crate::error::ServiceError) -> ControlError {
    ControlError(500, e.message)
}

fn store_err(e: crate::store::StoreError) -> ControlError {
    internal(e.into())
}

/// A `limit` query parameter: 1 to `max`.
fn limit_param(value: &str, max: usize) -> Result<usize, ControlError> {
    value
        .parse()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| bad(format!("limit must be 1-{max}")))
}

fn body_json(req: &HttpRequest) -> Result<Value, ControlError> {
    serde_json::from_slice(&req.body).map_err(|e| bad(format!("the body must be JSON: {e}")))
}

fn health<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let now = ns.now().map_err(internal)?;
    let products = ns.store.products().map_err(store_err)?.len();
    ok(json!({
        "status": "ok",
        "namespace": ns.name,
        "now": now.to_rfc3339(),
        "products": products,
    }))
}

fn list_products<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    ok(json!({ "products": ns.store.products().map_err(store_err)? }))
}

fn put_product<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let product: Product = serde_json::from_value(body_json(req)?)
        .map_err(|e| bad(format!("invalid product: {e}")))?;
    check_product(ns, &product)?;
    let created = ns
        .store
        .product(&product.product_code)
        .map_err(store_err)?
        .is_none();
    ns.store.put_product(&product).map_err(store_err)?;
    Ok(HttpResponse::json(
        if created { 201 } else { 200 },
        &json!({ "product": product }),
    ))
}

/// Checks a product document, and that none of its licenses belongs to another product of
/// the namespace (a license names its product when BatchMeterUsage omits `ProductCode`).
fn check_product<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    product: &Product,
) -> Result<(), ControlError> {
    product.check().map_err(bad)?;
    for other in ns.store.products().map_err(store_err)? {
        if other.product_code == product.product_code {
            continue;
        }
        for c in &product.customers {
            if let Some(license) = c
                .license_arn
                .as_deref()
                .filter(|l| other.customer_by_license(l).is_some())
            {
                return Err(bad(format!(
                    "licenseArn '{license}' already belongs to product {}",
                    other.product_code
                )));
            }
        }
    }
    Ok(())
}

fn product_route<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    req: &HttpRequest,
    code: &str,
) -> Answer {
    let code = crate::protocol::http::percent_decode(code);
    if req.method == "DELETE" {
        return if ns.store.delete_product(&code).map_err(store_err)? {
            ok(json!({ "deleted": code }))
        } else {
            Err(ControlError(404, format!("no product '{code}'")))
        };
    }
    match ns.store.product(&code).map_err(store_err)? {
        Some(p) => ok(json!({ "product": p })),
        None => Err(ControlError(404, format!("no product '{code}'"))),
    }
}

/// An instant given as epoch seconds or RFC 3339 text.
fn parse_instant(name: &str, text: &str) -> Result<Instant, ControlError> {
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() {
            return Ok(Instant::from_epoch_seconds(seconds));
        }
    }
    Instant::parse_rfc3339(text).ok_or_else(|| {
        bad(format!(
            "{name} must be epoch seconds or RFC 3339 (2026-01-01T00:00:00Z), got '{text}'"
        ))
    })
}

fn usage<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let mut q = UsageQuery {
        limit: 1000,
        ..Default::default()
    };
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "product" | "productCode" => q.product_code = Some(value),
            "customer" => q.customer = Some(value),
            "dimension" => q.dimension = Some(value),
            "from" => q.from = Some(parse_instant("from", &value)?),
            "to" => q.to = Some(parse_instant("to", &value)?),
            "limit" => q.limit = limit_param(&value, MAX_USAGE_LIMIT)?,
            other => {
                return Err(bad(format!(
                "unknown filter '{other}' (filters: product, customer, dimension, from, to, limit)"
            )))
            }
        }
    }
    let records: Vec<Value> = ns
        .store
        .query_usage(&q)
        .map_err(store_err)?
        .iter()
        .map(usage_view)
        .collect();
    ok(json!({ "count": records.len(), "records": records }))
}

/// A ledger entry as the control API shows it: instants as RFC 3339 text.
fn usage_view(e: &UsageEntry) -> Value {
    let mut v = json!(e);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("ledgerKey");
        for (key, at) in [
            ("hour", e.hour),
            ("timestamp", e.timestamp),
            ("receivedAt", e.received_at),
        ] {
            obj.insert(key.into(), json!(at.to_rfc3339()));
        }
    }
    v
}

fn patch_settings<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let Value::Object(patch) = body_json(req)? else {
        return Err(bad("the body must be a JSON object of settings to change"));
    };
    let mut merged = json!(load_settings(ns.store).map_err(internal)?);
    if let Some(obj) = merged.as_object_mut() {
        obj.extend(patch);
    }
    let settings: Settings =
        serde_json::from_value(merged).map_err(|e| bad(format!("invalid settings: {e}")))?;
    settings.check().map_err(bad)?;
    ns.store
        .put_meta("settings", &json!(settings).to_string())
        .map_err(store_err)?;
    ok(json!(settings))
}

fn clock_view<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let clock = load_clock(ns.store).map_err(internal)?;
    let now = clock.now(ns.host_now);
    ok(json!({
        "now": now.to_rfc3339(),
        "nowEpochSeconds": now.epoch_seconds(),
        "offsetSeconds": clock.offset_ms as f64 / 1000.0,
        "frozen": clock.frozen_at.is_some(),
    }))
}

fn put_clock<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let Value::Object(body) = body_json(req)? else {
        return Err(bad("the body must be a JSON object"));
    };
    let mut clock = Clock::default();
    for (key, value) in &body {
        match (key.as_str(), value) {
            ("offsetSeconds", Value::Number(n)) => {
                let seconds = n.as_f64().unwrap_or(f64::NAN);
                if !(-3.2e8..=3.2e8).contains(&seconds) {
                    return Err(bad("offsetSeconds must be within ±320000000 (about ten years)"));
                }
                clock.offset_ms = (seconds * 1000.0).round() as i64;
            }
            ("frozenAt", Value::Number(n)) => {
                clock.frozen_at = Some(parse_instant("frozenAt", &n.to_string())?)
            }
            ("frozenAt", Value::String(s)) => clock.frozen_at = Some(parse_instant("frozenAt", s)?),
            ("frozenAt" | "offsetSeconds", Value::Null) => {}
            _ => {
                return Err(bad(format!(
                    "unknown or mistyped clock field '{key}' (fields: offsetSeconds: number, frozenAt: epoch seconds or RFC 3339)"
                )))
            }
        }
    }
    let given = |key: &str| body.get(key).is_some_and(|v| !v.is_null());
    if given("frozenAt") && given("offsetSeconds") {
        return Err(bad("give either offsetSeconds or frozenAt, not both"));
    }
    ns.store
        .put_meta("clock", &json!(clock).to_string())
        .map_err(store_err)?;
    clock_view(ns)
}

fn list_faults<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    ok(json!({ "faults": faults::queued(ns.store).map_err(internal)? }))
}

fn add_fault<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let fault: Fault =
        serde_json::from_value(body_json(req)?).map_err(|e| bad(format!("invalid fault: {e}")))?;
    let queued = faults::push(ns.store, fault).map_err(bad)?;
    Ok(HttpResponse::json(201, &json!({ "faults": queued })))
}

/// Forgets the namespace's state but keeps its signing keys: they stand for AWS's keys, which
/// a seller's container holds, and making one takes a moment.
fn reset<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let keys = register_usage::key_ring(ns.store).map_err(internal)?;
    ns.store.clear().map_err(store_err)?;
    ns.initialize().map_err(internal)?;
    if !keys.is_empty() {
        register_usage::save_key_ring(ns.store, &keys).map_err(internal)?;
    }
    ok(json!({ "reset": true, "namespace": ns.name }))
}

/// Runs the store contract on this namespace's own store; refuses a namespace in use
/// (products, usage, events, settings, clock or faults), since the contract clears the store.
fn store_contract<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let mut configured = false;
    for key in ["settings", "clock", "faults"] {
        configured |= ns.store.meta(key).map_err(store_err)?.is_some();
    }
    let in_use = configured
        || !register_usage::key_ring(ns.store)
            .map_err(internal)?
            .is_empty()
        || !ns
            .store
            .registrations(None, 1)
            .map_err(store_err)?
            .is_empty()
        || !ns.store.products().map_err(store_err)?.is_empty()
        || !ns.store.events(0, 1).map_err(store_err)?.is_empty()
        || !ns
            .store
            .query_usage(&UsageQuery {
                limit: 1,
                ..Default::default()
            })
            .map_err(store_err)?
            .is_empty();
    if in_use {
        return Err(ControlError(
            409,
            "the store contract clears the namespace: run it on an empty one".into(),
        ));
    }
    let failures = contract::run(ns.store);
    ns.initialize().map_err(internal)?;
    ok(json!({ "passed": failures.is_empty(), "failures": failures }))
}
