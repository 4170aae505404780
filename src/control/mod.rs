//! The control API of a namespace, under `/_mock/…`: products and customers, the usage
//! ledger, settings, the clock, injected faults, reset and health, buyer onboarding
//! (registration tokens, the simulated sign-up, subscriptions, entitlements, events), and
//! RegisterUsage's signing keys and container registrations, offers and agreements. Its own
//! JSON (camelCase) and its own errors: `{"error": "…"}` with 400, 404 or 405.
//!
//! This file routes each endpoint to its module (`products`, `usage`, `settings` with the
//! clock and faults, `state` for health, seed and reset, `requests` (the journal), `bill`,
//! `keys`, `onboarding`, `agreements` for offers and agreements) and holds the helpers they
//! share.
//!
//! Layer: control. Runs inside the namespace's single writer like the operations do.

mod activity;
mod agreements;
mod bill;
pub mod keys;
pub mod onboarding;
mod products;
mod requests;
pub mod rotation;
mod settings;
mod state;
mod usage;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::domain::time::Instant;
use crate::namespace::{load_settings, Namespace};
use crate::ops::faults;
use crate::policy::routes::Control;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::store::Store;

// The sign-up checks a buyer's product as a PUT would.
use products::check_product;

/// A control API failure: status and message.
pub struct ControlError(pub u16, pub String);

type Answer = Result<HttpResponse, ControlError>;

fn bad(message: impl Into<String>) -> ControlError {
    ControlError(400, message.into())
}

fn ok(value: Value) -> Answer {
    Ok(HttpResponse::json(200, &value))
}

/// Serves one endpoint of `/_mock/…` (found in the policy's route table, with the values of
/// its `{…}` path segments).
pub fn handle<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    req: &HttpRequest,
    endpoint: Control,
    params: &[String],
) -> HttpResponse {
    let param = || params.first().map(String::as_str).unwrap_or_default();
    let answer = match endpoint {
        Control::Health => state::health(ns),
        Control::ListProducts => products::list_products(ns),
        Control::PutProduct => products::put_product(ns, req),
        Control::GetProduct => products::get_product(ns, param()),
        Control::DeleteProduct => products::delete_product(ns, param()),
        Control::Usage => usage::usage(ns, req),
        Control::Requests => requests::list(ns, req),
        Control::ClearRequests => requests::clear(ns),
        Control::Bill => bill::preview(ns, req),
        Control::GetSettings => load_settings(ns.store)
            .map_err(internal)
            .and_then(|s| ok(settings::settings_view(&s))),
        Control::PatchSettings => settings::patch_settings(ns, req),
        Control::GetClock => settings::clock_view(ns),
        Control::PutClock => settings::put_clock(ns, req),
        Control::ListFaults => settings::list_faults(ns),
        Control::AddFault => settings::add_fault(ns, req),
        Control::ClearFaults => faults::clear(ns.store)
            .map_err(internal)
            .and_then(|_| ok(json!({ "faults": [] }))),
        Control::Reset => state::reset(ns, req),
        Control::Seed => state::seed(ns, req),
        Control::MintToken => onboarding::mint_token(ns, req),
        Control::SignupLink => onboarding::signup_link(ns, req),
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
        Control::Offers => agreements::offers(ns),
        Control::Agreements => agreements::agreements(ns, req),
        Control::AgreementRequests => agreements::requests(ns),
        Control::AgreementActivity => activity::activity(ns, req),
        Control::ActAsBuyer => activity::as_buyer(ns, req),
        Control::StoreContract => state::store_contract(ns, req),
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
