//! Subscription lifecycle actions and entitlement changes: each is saved with its
//! notifications in the same step.
//!
//! Layer: control (onboarding).

use serde::Deserialize;
use serde_json::json;

use super::super::{bad, internal, ok, store_err, Answer, ControlError};
use super::customers::{
    customer_request, ensure_agreement, notify, object_body, select, Selection,
};
use super::events::event_view;
use crate::domain::catalogue::Product;
use crate::domain::entitlement::Entitlement;
use crate::domain::notification::Change;
use crate::domain::subscription::{LifecycleAction, SubscriptionState};
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::Store;

/// What `POST /_mock/subscriptions` does: a lifecycle action, or only an
/// entitlement-updated notification.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Action {
    SubscribeSuccess,
    SubscribeFail,
    UnsubscribePending,
    UnsubscribeSuccess,
    EntitlementUpdated,
}

impl Action {
    fn change(self) -> Change {
        match self {
            Action::SubscribeSuccess => Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            Action::SubscribeFail => Change::Lifecycle(LifecycleAction::SubscribeFail),
            Action::UnsubscribePending => Change::Lifecycle(LifecycleAction::UnsubscribePending),
            Action::UnsubscribeSuccess => Change::Lifecycle(LifecycleAction::UnsubscribeSuccess),
            Action::EntitlementUpdated => Change::EntitlementUpdated,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleRequest {
    action: Action,
}

/// `POST /_mock/subscriptions`: `{productCode, <customer>, action}`.
pub fn lifecycle<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let (named, request): (_, LifecycleRequest) =
        customer_request(object_body(req)?, &["action"], "subscription change")?;
    let Selection { mut product, index } = select(ns, &named)?;
    let mut change = request.action.change();
    if let Change::Lifecycle(action) = change {
        let before = product.customers[index].subscription;
        transition(ns, &mut product, index, action)?;
        ns.store.put_product(&product).map_err(store_err)?;
        // A subscription that is back has its agreement's milestones again.
        crate::ops::agreement::milestones::note(ns.store, &product, index).map_err(internal)?;
        // Without a final hour the agreement's end and its license's go together.
        if action == LifecycleAction::UnsubscribeSuccess && before == SubscriptionState::Subscribed
        {
            change = Change::UnsubscribedAtOnce;
        }
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntitlementsRequest {
    entitlements: Vec<Entitlement>,
}

/// `PUT /_mock/entitlements`: `{productCode, <customer>, entitlements: [...]}`.
pub fn put_entitlements<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let (named, request): (_, EntitlementsRequest) =
        customer_request(object_body(req)?, &["entitlements"], "entitlements")?;
    let Selection { mut product, index } = select(ns, &named)?;
    for e in &request.entitlements {
        e.check(&product.dimensions).map_err(bad)?;
    }
    let mut customer = product.customers[index].clone();
    customer.entitlements = request.entitlements;
    ensure_agreement(ns, &mut customer)?;
    product.customers[index] = customer;
    ns.store.put_product(&product).map_err(store_err)?;
    let event = notify(ns, Change::EntitlementUpdated, &product, index)?;
    ok(json!({ "customer": product.customers[index], "event": event_view(&event) }))
}
