//! Webhook delivery, the part that runs inside the namespace's single writer: which
//! deliveries are due (host time), the HTTP request each one sends, and recording what an
//! attempt got. The worker's alarm does the sending in between; a delivery is recorded only
//! against the event it was taken from, so a reset in the meantime loses nothing else.
//!
//! Layer: service. Never imports the runtime.

use serde::{Deserialize, Serialize};

use crate::domain::notification::{DeliveryStatus, EventRecord, RetryPolicy};
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::namespace::load_settings;
use crate::policy::deployment::WebhookPolicy;
use crate::store::{documents, Store};

const HOUR_MS: i64 = 3_600_000;

/// Attempts made in the hour that starts at `hour` (host time): the document that counts
/// this clock hour's delivery attempts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Budget {
    hour: i64,
    used: u32,
}

impl documents::Document for Budget {
    const KEY: &'static str = documents::DELIVERY_BUDGET;
}

fn budget<S: Store + ?Sized>(store: &S, now: Instant) -> Result<Budget, ServiceError> {
    let hour = now.millis().div_euclid(HOUR_MS) * HOUR_MS;
    // A budget that cannot be read counts as unused rather than stopping deliveries for
    // good: it only caps this hour, and this round writes it anew.
    let saved = match store.meta(documents::DELIVERY_BUDGET)? {
        Some(text) => serde_json::from_str(&text).unwrap_or_default(),
        None => Budget::default(),
    };
    Ok(Some(saved)
        .filter(|b| b.hour == hour)
        .unwrap_or(Budget { hour, used: 0 }))
}

/// Deliveries taken per alarm; the rest wait for the next one, which is due at once.
pub const MAX_PER_ROUND: usize = 30;
/// Deliveries in flight at once (Workers allow six open connections per invocation).
pub const MAX_IN_FLIGHT: usize = 6;

/// One delivery to attempt now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    pub seq: u64,
    /// The SNS `MessageId` of the event, which identifies it across resets.
    pub message_id: String,
    pub index: usize,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What identifies the event across resets: its SNS `MessageId`, else (a moment without an
/// SNS message) its first EventBridge event's `id`.
fn message_id(event: &EventRecord) -> String {
    event.sns["MessageId"]
        .as_str()
        .or_else(|| event.event_bridge.first().and_then(|e| e["id"].as_str()))
        .unwrap_or_default()
        .to_string()
}

/// The deliveries due at host time `now`, oldest event first, at most what is left of
/// this hour's budget (`WEBHOOK_MAX_DELIVERIES_PER_HOUR`), which they use up.
pub fn due<S: Store + ?Sized>(
    store: &mut S,
    now: Instant,
    policy: &WebhookPolicy,
) -> Result<Vec<DueDelivery>, ServiceError> {
    let mut budget = budget(store, now)?;
    let room = policy.max_deliveries_per_hour.saturating_sub(budget.used) as usize;
    let take = MAX_PER_ROUND.min(room);
    let mut out = Vec::new();
    'events: for event in store.events_due(now, take)? {
        for (index, d) in event.deliveries.iter().enumerate() {
            let is_due = d.status == DeliveryStatus::Pending
                && d.next_attempt_at.is_some_and(|at| at <= now)
                && !event.waits(index);
            if out.len() >= take {
                break 'events;
            }
            if let (true, Some((headers, body))) = (is_due, event.delivery_request(index)) {
                out.push(DueDelivery {
                    seq: event.seq,
                    message_id: message_id(&event),
                    index,
                    url: d.url.clone(),
                    headers,
                    body,
                });
            }
        }
    }
    if !out.is_empty() {
        budget.used += out.len() as u32;
        documents::save(store, &budget)?;
    }
    Ok(out)
}

/// When deliveries should next be attempted: the earliest pending one, or the next hour
/// when this hour's budget is spent.
pub fn next_round<S: Store + ?Sized>(
    store: &S,
    now: Instant,
    policy: &WebhookPolicy,
) -> Result<Option<Instant>, ServiceError> {
    let Some(next) = store.next_delivery_at()? else {
        return Ok(None);
    };
    let budget = budget(store, now)?;
    if budget.used >= policy.max_deliveries_per_hour {
        return Ok(Some(Instant(next.millis().max(budget.hour + HOUR_MS))));
    }
    Ok(Some(next))
}

/// Records the outcome of an attempt (`Ok(HTTP status)` or `Err(network error)`).
/// The namespace's settings apply within the deployment's caps.
pub fn record<S: Store + ?Sized>(
    store: &mut S,
    delivery: &DueDelivery,
    outcome: Result<u16, String>,
    now: Instant,
    caps: &WebhookPolicy,
) -> Result<(), ServiceError> {
    let settings = load_settings(store)?;
    let policy = RetryPolicy {
        max_attempts: settings.webhook_max_attempts.min(caps.max_attempts),
        delay_seconds: settings
            .webhook_retry_delay_seconds
            .min(caps.max_retry_delay_seconds),
    };
    let Some(mut event) = store
        .events(delivery.seq.saturating_sub(1), 1)?
        .into_iter()
        .find(|e| e.seq == delivery.seq && message_id(e) == delivery.message_id)
    else {
        return Ok(());
    };
    // Settled while it was sent (a rotation removed its webhook): it stays settled.
    let pending = event
        .deliveries
        .get(delivery.index)
        .is_some_and(|d| d.status == DeliveryStatus::Pending);
    if pending {
        event.record_attempt(delivery.index, outcome, now, policy);
        store.update_event(&event)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::{Customer, Product};
    use crate::domain::notification::Change;
    use crate::domain::subscription::LifecycleAction;
    use crate::policy::deployment::Deployment;
    use crate::store::memory::MemoryStore;

    fn caps() -> WebhookPolicy {
        Deployment::default().webhooks
    }

    fn store_with_event() -> MemoryStore {
        let product: Product = serde_json::from_value(serde_json::json!({
            "productCode": "p", "dimensions": ["d"],
            "webhooks": [{"url": "http://127.0.0.1:9/a"}, {"url": "http://127.0.0.1:9/b"}]
        }))
        .unwrap();
        let customer = Customer {
            customer_identifier: Some("c".parse().unwrap()),
            ..Default::default()
        };
        let mut n = 0;
        let event = EventRecord::new(
            Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            &product,
            &customer,
            Instant(0),
            Instant(1_000),
            &crate::domain::settings::Settings::default(),
            || {
                n += 1;
                format!("m-{n}")
            },
        );
        let mut store = MemoryStore::new();
        store.append_event(&event).unwrap();
        store
    }

    #[test]
    fn an_attempt_does_not_revive_a_delivery_settled_while_it_was_sent() {
        let mut store = store_with_event();
        let now = due(&mut store, Instant(1_000), &caps()).unwrap();
        // Settled meanwhile (a rotation removed the webhook).
        let mut event = store.events(0, 1).unwrap().remove(0);
        for d in &mut event.deliveries {
            d.status = DeliveryStatus::Failed;
            d.next_attempt_at = None;
        }
        store.update_event(&event).unwrap();
        record(
            &mut store,
            &now[0],
            Err("timed out".into()),
            Instant(1_000),
            &caps(),
        )
        .unwrap();
        let after = &store.events(0, 1).unwrap()[0].deliveries[0];
        assert_eq!((after.status, after.attempts), (DeliveryStatus::Failed, 0));
        assert!(store.events_due(Instant(i64::MAX), 10).unwrap().is_empty());
    }

    #[test]
    fn deliveries_are_due_from_their_time_and_retried_after_failures() {
        let mut store = store_with_event();
        assert!(due(&mut store, Instant(999), &caps()).unwrap().is_empty());
        let now = due(&mut store, Instant(1_000), &caps()).unwrap();
        assert_eq!(
            now.iter().map(|d| d.url.as_str()).collect::<Vec<_>>(),
            ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]
        );
        record(&mut store, &now[0], Ok(200), Instant(1_000), &caps()).unwrap();
        record(
            &mut store,
            &now[1],
            Err("refused".into()),
            Instant(1_000),
            &caps(),
        )
        .unwrap();
        assert!(due(&mut store, Instant(20_999), &caps())
            .unwrap()
            .is_empty());
        let retry = due(&mut store, Instant(21_000), &caps()).unwrap();
        assert_eq!(retry.len(), 1);
        assert_eq!(retry[0].index, 1);
        assert_eq!(store.next_delivery_at().unwrap(), Some(Instant(21_000)));
    }

    #[test]
    fn a_webhook_gets_a_moment_s_events_one_after_the_other() {
        let product: Product = serde_json::from_value(serde_json::json!({
            "productCode": "p", "dimensions": ["d"],
            "webhooks": [{"url": "http://127.0.0.1:9/eb", "format": "eventbridge"}]
        }))
        .unwrap();
        let event = EventRecord::new(
            Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            &product,
            &Customer::default(),
            Instant(0),
            Instant(1_000),
            &crate::domain::settings::Settings::default(),
            || "m".into(),
        );
        let mut store = MemoryStore::new();
        store.append_event(&event).unwrap();
        // Both events are due; the second waits for the first's outcome.
        let first = due(&mut store, Instant(1_000), &caps()).unwrap();
        assert_eq!(first.iter().map(|d| d.index).collect::<Vec<_>>(), [0]);
        record(&mut store, &first[0], Ok(204), Instant(1_000), &caps()).unwrap();
        let second = due(&mut store, Instant(1_000), &caps()).unwrap();
        assert_eq!(second.iter().map(|d| d.index).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn one_round_takes_at_most_max_per_round_deliveries() {
        let mut store = MemoryStore::new();
        let event = store_with_event().events(0, 1).unwrap().remove(0);
        for _ in 0..MAX_PER_ROUND {
            store.append_event(&event).unwrap();
        }
        let round = due(&mut store, Instant(1_000), &caps()).unwrap();
        assert_eq!(round.len(), MAX_PER_ROUND);
        assert_eq!(round.last().unwrap().seq, (MAX_PER_ROUND / 2) as u64);
    }

    #[test]
    fn an_outcome_for_an_event_that_is_gone_changes_nothing() {
        let mut store = store_with_event();
        let taken = due(&mut store, Instant(1_000), &caps()).unwrap();
        store.clear().unwrap();
        let stranger = store_with_event().events(0, 1).unwrap().remove(0);
        let mut other = stranger.clone();
        other.sns["MessageId"] = serde_json::json!("another");
        store.append_event(&other).unwrap();
        record(&mut store, &taken[0], Ok(200), Instant(1_000), &caps()).unwrap();
        assert_eq!(
            store.events(0, 1).unwrap()[0],
            EventRecord { seq: 1, ..other }
        );
    }

    #[test]
    fn an_unreadable_budget_does_not_stop_deliveries() {
        let mut store = store_with_event();
        store
            .put_meta(documents::DELIVERY_BUDGET, "{not json")
            .unwrap();
        assert!(!due(&mut store, Instant(1_000), &caps()).unwrap().is_empty());
    }

    #[test]
    fn an_hour_s_budget_limits_attempts_then_waits_for_the_next_hour() {
        let event = store_with_event().events(0, 1).unwrap().remove(0);
        let mut store = MemoryStore::new();
        for _ in 0..3 {
            store.append_event(&event).unwrap();
        }
        let policy = WebhookPolicy {
            max_deliveries_per_hour: 4,
            ..caps()
        };
        let now = Instant(HOUR_MS * 10 + 1_000);
        assert_eq!(due(&mut store, now, &policy).unwrap().len(), 4);
        assert!(due(&mut store, now, &policy).unwrap().is_empty());
        assert_eq!(
            next_round(&store, now, &policy).unwrap(),
            Some(Instant(HOUR_MS * 11))
        );
        let next_hour = Instant(HOUR_MS * 11);
        assert_eq!(due(&mut store, next_hour, &policy).unwrap().len(), 4);
    }
}
