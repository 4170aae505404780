//! Subscription lifecycle actions and entitlement changes: each is saved with its
//! notifications in the same step.
//!
//! Layer: control (onboarding).

use serde_json::json;

use super::super::{bad, internal, ok, store_err, Answer, ControlError};
use super::customers::{ensure_agreement, notify, object_body, select, text_field, Selection};
use super::events::event_view;
use crate::domain::catalogue::Product;
use crate::domain::entitlement::Entitlement;
use crate::domain::notification::Change;
use crate::domain::subscription::LifecycleAction;
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::Store;

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
pub(super) fn transition<S: Store + ?Sized>(
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
