//! The namespace's small named documents (settings, clock, faults, keys, counters), each a
//! type that knows its key: one place lists every document, and reading or writing one is
//! typed (`load::<Settings>(store)`), so no string key is repeated across the code.
//!
//! Layer: store. The document types live with their rules; this names and codes them.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Store;
use crate::error::ServiceError;

/// A document kept under its `KEY`; absent means `Default`.
pub trait Document: Serialize + DeserializeOwned + Default {
    const KEY: &'static str;
}

/// Every document's key, for the store contract and the "in use" check.
pub const KEYS: [&str; 18] = [
    SETTINGS,
    CLOCK,
    FAULTS,
    SIGNING_KEYS,
    INCARNATION,
    INITIALIZED,
    UNNAMED_TASKS,
    DELIVERY_BUDGET,
    AGREEMENT_REQUESTS,
    NEXT_MILESTONE,
    CANCELLATION_REQUESTS,
    PAYMENT_REQUESTS,
    INVOICES,
    BILLING_ADJUSTMENTS,
    AGREEMENT_APPROVALS,
    DEPLOYMENT_PARAMETERS,
    DEPLOYMENT_CONFIGURATIONS,
    SIGNUP_LINKS,
];

pub const SETTINGS: &str = "settings";
pub const CLOCK: &str = "clock";
pub const FAULTS: &str = "faults";
pub const SIGNING_KEYS: &str = "signing-keys";
/// A fresh id at every (re)initialisation, which registration tokens carry.
pub const INCARNATION: &str = "incarnation";
/// Set once the namespace has its initial state.
pub const INITIALIZED: &str = "initialized";
pub const UNNAMED_TASKS: &str = "unnamed-task-registrations";
pub const DELIVERY_BUDGET: &str = "delivery-budget";
pub const AGREEMENT_REQUESTS: &str = "agreement-requests";
/// When the next agreement milestone (an `Ending` notice, an end) is due.
pub const NEXT_MILESTONE: &str = "next-milestone";
pub const CANCELLATION_REQUESTS: &str = "cancellation-requests";
pub const PAYMENT_REQUESTS: &str = "payment-requests";
/// Usage invoices and credit memos, and the last month whose usage was invoiced.
pub const INVOICES: &str = "invoices";
pub const BILLING_ADJUSTMENTS: &str = "billing-adjustments";
pub const AGREEMENT_APPROVALS: &str = "agreement-approvals";
pub const DEPLOYMENT_PARAMETERS: &str = "deployment-parameters";
pub const DEPLOYMENT_CONFIGURATIONS: &str = "deployment-configurations";
pub const SIGNUP_LINKS: &str = "signup-links";

impl Document for crate::domain::settings::Settings {
    const KEY: &'static str = SETTINGS;
}

impl Document for crate::domain::settings::Clock {
    const KEY: &'static str = CLOCK;
}

impl Document for crate::domain::registration::SignupLinks {
    const KEY: &'static str = SIGNUP_LINKS;
}

impl Document for crate::domain::agreement::AgreementRequests {
    const KEY: &'static str = AGREEMENT_REQUESTS;
}

impl Document for crate::domain::cancellation::CancellationRequests {
    const KEY: &'static str = CANCELLATION_REQUESTS;
}

impl Document for crate::domain::payment::PaymentRequests {
    const KEY: &'static str = PAYMENT_REQUESTS;
}

impl Document for crate::domain::deployment::DeploymentParameters {
    const KEY: &'static str = DEPLOYMENT_PARAMETERS;
}

impl Document for crate::domain::deployment::DeploymentConfigurations {
    const KEY: &'static str = DEPLOYMENT_CONFIGURATIONS;
}

impl Document for crate::domain::invoice::Invoices {
    const KEY: &'static str = INVOICES;
}

impl Document for crate::domain::invoice::BillingAdjustments {
    const KEY: &'static str = BILLING_ADJUSTMENTS;
}

impl Document for crate::domain::approval::AgreementApprovals {
    const KEY: &'static str = AGREEMENT_APPROVALS;
}

impl Document for crate::domain::agreement::NextMilestone {
    const KEY: &'static str = NEXT_MILESTONE;
}

impl Document for crate::domain::signing::KeyRing {
    const KEY: &'static str = SIGNING_KEYS;
}

/// The document, or its default when the namespace has none.
pub fn load<D: Document, S: Store + ?Sized>(store: &S) -> Result<D, ServiceError> {
    match store.meta(D::KEY)? {
        Some(text) => serde_json::from_str(&text).map_err(ServiceError::internal),
        None => Ok(D::default()),
    }
}

pub fn save<D: Document, S: Store + ?Sized>(store: &mut S, doc: &D) -> Result<(), ServiceError> {
    let text = serde_json::to_string(doc).map_err(ServiceError::internal)?;
    Ok(store.put_meta(D::KEY, &text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::settings::{Clock, Settings};
    use crate::store::memory::MemoryStore;

    #[test]
    fn documents_round_trip_under_their_keys_and_default_when_absent() {
        let mut store = MemoryStore::new();
        assert_eq!(load::<Settings, _>(&store).unwrap(), Settings::default());
        let settings = Settings {
            max_future_seconds: 7,
            ..Settings::default()
        };
        save(&mut store, &settings).unwrap();
        assert_eq!(load::<Settings, _>(&store).unwrap(), settings);
        assert!(store.meta(SETTINGS).unwrap().is_some());
        assert_eq!(load::<Clock, _>(&store).unwrap(), Clock::default());
        let unique: std::collections::HashSet<_> = KEYS.iter().collect();
        assert_eq!(unique.len(), KEYS.len());
    }
}
