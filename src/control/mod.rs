//! The control API of a namespace, under `/_mock/…`: products and customers, the usage
//! ledger, settings, the clock, injected faults, reset and health, buyer onboarding
//! (registration tokens, the simulated sign-up, subscriptions, entitlements, events), and
//! RegisterUsage's signing keys and container registrations. Its own JSON (camelCase) and its own
//! errors: `{"error": "…"}` with 400, 404 or 405.
//!
//! Layer: control. Runs inside the namespace's single writer like the operations do.

mod bill;
mod journal;
pub mod keys;
pub mod onboarding;

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::domain::catalogue::Product;
use crate::domain::settings::{Clock, Settings};
use crate::domain::time::Instant;
use crate::gate::deployment::WebhookPolicy;
use crate::gate::outbound;
use crate::gate::routes::Control;
use crate::namespace::{load_clock, load_settings, Namespace};
use crate::ops::faults::{self, Fault};
use crate::ops::register_usage;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::store::{contract, documents, Store, UsageEntry, UsageQuery};

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

/// Serves one endpoint of `/_mock/…` (found in the gate's route table, with the values of
/// its `{…}` path segments).
pub fn handle<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    req: &HttpRequest,
    endpoint: Control,
    params: &[String],
) -> HttpResponse {
    let param = || params.first().map(String::as_str).unwrap_or_default();
    let answer = match endpoint {
        Control::Health => health(ns),
        Control::ListProducts => list_products(ns),
        Control::PutProduct => put_product(ns, req),
        Control::GetProduct => get_product(ns, param()),
        Control::DeleteProduct => delete_product(ns, param()),
        Control::Usage => usage(ns, req),
        Control::Requests => journal::list(ns, req),
        Control::ClearRequests => journal::clear(ns),
        Control::Bill => bill::preview(ns, req),
        Control::GetSettings => load_settings(ns.store)
            .map_err(internal)
            .and_then(|s| ok(settings_view(&s))),
        Control::PatchSettings => patch_settings(ns, req),
        Control::GetClock => clock_view(ns),
        Control::PutClock => put_clock(ns, req),
        Control::ListFaults => list_faults(ns),
        Control::AddFault => add_fault(ns, req),
        Control::ClearFaults => faults::clear(ns.store)
            .map_err(internal)
            .and_then(|_| ok(json!({ "faults": [] }))),
        Control::Reset => reset(ns, req),
        Control::Seed => seed(ns, req),
        Control::MintToken => onboarding::mint_token(ns, req),
        Control::SignupPage => onboarding::signup_page(ns, req),
        Control::Signup => onboarding::signup(ns, req),
        Control::Lifecycle => onboarding::lifecycle(ns, req),
        Control::PutEntitlements => onboarding::put_entitlements(ns, req),
        Control::Events => onboarding::events(ns, req),
        Control::Keys => keys::list(ns),
        Control::CreateKeys => keys::create(ns),
        Control::Jwks => keys::jwks(ns),
        Control::KeyPem => keys::pem(ns, param()),
        Control::RotateKeys => keys::rotate(ns, req),
        Control::RetireKey => keys::retire(ns, req, param()),
        Control::ReinstateKey => keys::reinstate(ns, param()),
        Control::Registrations => keys::registrations(ns, req),
        Control::StoreContract => store_contract(ns),
    };
    answer.unwrap_or_else(|ControlError(status, message)| {
        HttpResponse::json(status, &json!({ "error": message }))
    })
}

/// Settings as the control API shows them: `signatureCredentials` by key id only, since no
/// answer ever carries a secret.
pub fn settings_view(settings: &Settings) -> Value {
    let mut view = json!(settings);
    if let Some(obj) = view.as_object_mut() {
        obj.remove("signatureCredentials");
        obj.insert(
            "signatureCredentialKeyIds".into(),
            json!(settings.signature_credentials.keys().collect::<Vec<_>>()),
        );
    }
    view
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

/// The JSON body as `T`, or `T::default()` when there is none.
fn optional_body<T: DeserializeOwned + Default>(
    req: &HttpRequest,
    what: &str,
    fields: &str,
) -> Result<T, ControlError> {
    if req.body.is_empty() {
        return Ok(T::default());
    }
    parse_json(body_json(req)?, what).map_err(|ControlError(status, reason)| {
        ControlError(status, format!("{reason} (fields: {fields})"))
    })
}

fn body_json(req: &HttpRequest) -> Result<Value, ControlError> {
    serde_json::from_slice(&req.body).map_err(|e| bad(format!("the body must be JSON: {e}")))
}

/// A JSON value as `T`, parsed once at the edge: a refused field is named by its path,
/// e.g. `invalid product: customers[1].licenseArn: 'x' is not a license ARN (…)`.
fn parse_json<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, ControlError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.into_inner();
        if path == "." {
            bad(format!("invalid {what}: {reason}"))
        } else {
            bad(format!("invalid {what}: {path}: {reason}"))
        }
    })
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
    let product: Product = parse_json(body_json(req)?, "product")?;
    check_product(ns, &product)?;
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
    let others = ns.store.products().map_err(store_err)?;
    check_product_among(ns, product, &others)
}

/// Checks a product document against the deployment's limits, and its licenses against
/// `others` (the products it will sit beside; its own code among them is skipped).
fn check_product_among<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    product: &Product,
    others: &[Product],
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

fn get_product<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, code: &str) -> Answer {
    let code = crate::protocol::http::percent_decode(code);
    match ns.store.product(&code).map_err(store_err)? {
        Some(p) => ok(json!({ "product": &*p })),
        None => Err(ControlError(404, format!("no product '{code}'"))),
    }
}

fn delete_product<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, code: &str) -> Answer {
    let code = crate::protocol::http::percent_decode(code);
    if ns.store.delete_product(&code).map_err(store_err)? {
        ok(json!({ "deleted": code }))
    } else {
        Err(ControlError(404, format!("no product '{code}'")))
    }
}

/// An instant given as epoch seconds or RFC 3339 text.
fn parse_instant(name: &str, text: &str) -> Result<Instant, ControlError> {
    let at = match text.parse::<f64>() {
        Ok(seconds) => Instant::try_from_epoch_seconds(seconds),
        Err(_) => Instant::parse_rfc3339(text),
    };
    at.filter(|at| at.is_readable_by_every_sdk()).ok_or_else(|| {
        bad(format!(
            "{name} must be epoch seconds or RFC 3339 (2026-01-01T00:00:00Z) in the years 0001 to 9999 (what every SDK reads back), got '{text}'"
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
            "order" => {
                q.newest_first = match value.as_str() {
                    "oldest" => false,
                    "newest" => true,
                    _ => return Err(bad(format!("order is oldest or newest, not '{value}'"))),
                }
            }
            other => {
                return Err(bad(format!(
                "unknown filter '{other}' (filters: product, customer, dimension, from, to, limit, order)"
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
    let current = load_settings(ns.store).map_err(internal)?;
    let settings = patched(ns, &current, patch, "settings")?;
    documents::save(ns.store, &settings).map_err(internal)?;
    ok(settings_view(&settings))
}

/// `base` with `patch` applied, checked against the deployment.
fn patched<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    base: &Settings,
    patch: Map<String, Value>,
    what: &str,
) -> Result<Settings, ControlError> {
    let mut merged = json!(base);
    if let Some(obj) = merged.as_object_mut() {
        obj.extend(patch);
    }
    let settings: Settings = parse_json(merged, what)?;
    settings.check().map_err(bad)?;
    check_webhook_caps(&settings, &ns.deployment.webhooks)?;
    Ok(settings)
}

/// A seed document: products (the control API's product documents, customers and their
/// entitlements included) and settings to apply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedDocument {
    #[serde(default)]
    products: Vec<Product>,
    #[serde(default)]
    settings: Option<Map<String, Value>>,
}

/// A seed document checked against what it will sit beside, ready to write.
struct CheckedSeed {
    products: Vec<Product>,
    settings: Option<Settings>,
}

impl CheckedSeed {
    /// Checks `doc` as the namespace would hold it next to `kept` (the products it keeps)
    /// and with its settings patched onto `base`; a refused value is named by its path.
    fn check<S: Store + ?Sized>(
        ns: &Namespace<'_, S>,
        doc: SeedDocument,
        kept: Vec<Product>,
        base: &Settings,
    ) -> Result<CheckedSeed, ControlError> {
        let at = |i: usize, ControlError(status, reason)| {
            ControlError(status, format!("invalid seed: products[{i}]: {reason}"))
        };
        let mut codes = HashSet::new();
        for (i, p) in doc.products.iter().enumerate() {
            if !codes.insert(p.product_code.clone()) {
                return Err(at(
                    i,
                    bad(format!("productCode '{}' is listed twice", p.product_code)),
                ));
            }
        }
        let mut catalogue: Vec<Product> = kept
            .into_iter()
            .filter(|p| !codes.contains(&p.product_code))
            .collect();
        catalogue.extend(doc.products.iter().cloned());
        for (i, p) in doc.products.iter().enumerate() {
            check_product_among(ns, p, &catalogue).map_err(|e| at(i, e))?;
        }
        let max = ns.deployment.limits.products;
        if catalogue.len() > max {
            return Err(ControlError(
                409,
                format!(
                    "the namespace would hold {} products; its maximum is {max} (MAX_PRODUCTS)",
                    catalogue.len()
                ),
            ));
        }
        let settings = match doc.settings {
            Some(patch) => Some(patched(ns, base, patch, "seed: settings")?),
            None => None,
        };
        Ok(CheckedSeed {
            products: doc.products,
            settings,
        })
    }

    fn write<S: Store + ?Sized>(&self, ns: &mut Namespace<'_, S>) -> Result<(), ControlError> {
        if let Some(settings) = &self.settings {
            documents::save(ns.store, settings).map_err(internal)?;
        }
        for p in &self.products {
            ns.store.put_product(p).map_err(store_err)?;
        }
        Ok(())
    }

    fn view(&self, namespace: &str) -> Value {
        json!({
            "namespace": namespace,
            "products": self.products.iter().map(|p| &p.product_code).collect::<Vec<_>>(),
            "settings": self.settings.as_ref().map(settings_view),
        })
    }
}

/// `POST /_mock/seed`: loads a seed document in one step: each product is created or
/// replaced, the settings are patched, nothing else changes. Everything is checked before
/// anything is written, and a refused value is named by its path (`products[1].…`).
fn seed<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let doc: SeedDocument = parse_json(body_json(req)?, "seed")?;
    let kept = ns.store.products().map_err(store_err)?;
    let base = load_settings(ns.store).map_err(internal)?;
    let checked = CheckedSeed::check(ns, doc, kept, &base)?;
    checked.write(ns)?;
    ok(checked.view(ns.name))
}

/// Settings may lower the deployment's webhook caps, never raise them.
fn check_webhook_caps(settings: &Settings, policy: &WebhookPolicy) -> Result<(), ControlError> {
    if settings.webhook_max_attempts > policy.max_attempts {
        return Err(bad(format!(
            "webhookMaxAttempts must be at most {} on this deployment (WEBHOOK_MAX_ATTEMPTS)",
            policy.max_attempts
        )));
    }
    if settings.webhook_retry_delay_seconds > policy.max_retry_delay_seconds {
        return Err(bad(format!(
            "webhookRetryDelaySeconds must be at most {} on this deployment (WEBHOOK_MAX_RETRY_DELAY_SECONDS)",
            policy.max_retry_delay_seconds
        )));
    }
    Ok(())
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
    documents::save(ns.store, &clock).map_err(internal)?;
    clock_view(ns)
}

fn list_faults<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    ok(json!({ "faults": faults::queued(ns.store).map_err(internal)? }))
}

fn add_fault<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let fault: Fault = parse_json(body_json(req)?, "fault")?;
    let queued = faults::push(ns.store, fault)
        .map_err(internal)?
        .map_err(bad)?;
    Ok(HttpResponse::json(201, &json!({ "faults": queued })))
}

/// Which state a reset leaves (`{"seed": "demo" | "empty"}`).
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Seed {
    Demo,
    Empty,
}

/// `{"seed": "demo" | "empty" | {<seed document>}}`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    seed: Option<Value>,
}

/// `POST /_mock/reset`: forgets the namespace's state but keeps its signing keys (they stand
/// for AWS's keys, which a seller's container holds, and making one takes a moment). It
/// starts again from the demo seed (`default`'s choice) or empty (the others'), or as
/// `{"seed": …}` says, so any namespace can start from the demo.
fn reset<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let body: ResetBody = optional_body(req, "reset", "seed: demo, empty or a seed document")?;
    let (demo, document) = match body.seed {
        None => (ns.name == crate::protocol::route::DEFAULT_NAMESPACE, None),
        Some(Value::Object(doc)) => {
            let doc: SeedDocument = parse_json(Value::Object(doc), "seed")?;
            // Checked as the emptied namespace will hold it, before anything is cleared.
            let checked = CheckedSeed::check(ns, doc, Vec::new(), &Settings::default())?;
            (false, Some(checked))
        }
        Some(named) => match parse_json::<Seed>(named, "reset")? {
            Seed::Demo => (true, None),
            Seed::Empty => (false, None),
        },
    };
    let keys = register_usage::key_ring(ns.store).map_err(internal)?;
    // The hour's webhook-delivery budget survives too: it caps what the namespace sends, and
    // a reset must not refill it (WEBHOOK_MAX_DELIVERIES_PER_HOUR).
    let budget = ns
        .store
        .meta(documents::DELIVERY_BUDGET)
        .map_err(store_err)?;
    ns.store.clear().map_err(store_err)?;
    ns.initialize_with(demo).map_err(internal)?;
    if !keys.is_empty() {
        register_usage::save_key_ring(ns.store, &keys).map_err(internal)?;
    }
    if let Some(budget) = budget {
        ns.store
            .put_meta(documents::DELIVERY_BUDGET, &budget)
            .map_err(store_err)?;
    }
    let seeded = match &document {
        Some(checked) => {
            checked.write(ns)?;
            Some(checked.view(ns.name))
        }
        None => None,
    };
    ok(json!({ "reset": true, "namespace": ns.name, "seeded": seeded }))
}

/// Runs the store contract on this namespace's own store; refuses a namespace in use
/// (products, usage, events, settings, clock or faults), since the contract clears the store.
fn store_contract<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let mut configured = false;
    for key in [documents::SETTINGS, documents::CLOCK, documents::FAULTS] {
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
    // The contract makes writes fail on purpose (a second entry of a key): those failures
    // are its checks, not this request's, so they must not roll it back.
    let _expected_failures = ns.store.take_failure();
    ns.initialize().map_err(internal)?;
    ok(json!({ "passed": failures.is_empty(), "failures": failures }))
}
