//! Checks of notification events and RegisterUsage registrations.

use crate::domain::catalogue::WebhookFormat;
use crate::domain::notification::{Delivery, DeliveryStatus, EventRecord};
use crate::domain::time::Instant;
use crate::store::{Registration, Store, TaskSource};

use super::*;

pub(super) fn event(product: &str, next_attempt_at: Option<i64>) -> EventRecord {
    EventRecord {
        seq: 0,
        action: "subscribe-success".into(),
        product_code: product.into(),
        time: Instant(1),
        sns: serde_json::json!({"Type": "Notification"}),
        event_bridge: vec![],
        acceptor_events: vec![],
        deliveries: vec![Delivery {
            url: "http://127.0.0.1:9/hook".into(),
            format: WebhookFormat::Sns,
            event_index: None,
            status: if next_attempt_at.is_some() {
                DeliveryStatus::Pending
            } else {
                DeliveryStatus::Delivered
            },
            attempts: 0,
            next_attempt_at: next_attempt_at.map(Instant),
            last_status: None,
            last_error: None,
            duplicate: false,
        }],
    }
}

pub(super) fn events_are_numbered_listed_and_due_in_order<S: Store + ?Sized>(s: &mut S) -> Check {
    ensure!(
        s.next_delivery_at().map_err(e)?.is_none(),
        "no event, nothing due"
    );
    let first = s.append_event(&event("a", Some(500))).map_err(e)?;
    let second = s.append_event(&event("b", None)).map_err(e)?;
    let third = s.append_event(&event("c", Some(100))).map_err(e)?;
    ensure!(
        (first, second, third) == (1, 2, 3),
        "seq must count from 1, got {first} {second} {third}"
    );
    let all = s.events(0, 10).map_err(e)?;
    ensure!(
        all.iter()
            .map(|x| (x.seq, x.product_code.as_str()))
            .collect::<Vec<_>>()
            == [(1, "a"), (2, "b"), (3, "c")],
        "events must be listed in order with their seq"
    );
    ensure!(
        s.events(1, 1).map_err(e)?.first().map(|x| x.seq) == Some(2),
        "after and limit"
    );
    ensure!(
        s.next_delivery_at().map_err(e)? == Some(Instant(100)),
        "the earliest pending delivery is due next"
    );
    let due: Vec<u64> = s
        .events_due(Instant(499), 10)
        .map_err(e)?
        .iter()
        .map(|x| x.seq)
        .collect();
    ensure!(due == [3], "only event 3 is due at 499, got {due:?}");
    let mut done = all[2].clone();
    done.deliveries[0].status = DeliveryStatus::Delivered;
    done.deliveries[0].next_attempt_at = None;
    s.update_event(&done).map_err(e)?;
    ensure!(
        s.events(2, 1).map_err(e)? == vec![done.clone()],
        "update must replace the event"
    );
    ensure!(
        s.next_delivery_at().map_err(e)? == Some(Instant(500)),
        "a delivered event is no longer due"
    );
    let mut missing = done.clone();
    missing.seq = 99;
    ensure!(
        s.update_event(&missing).is_err(),
        "updating an event that does not exist must fail"
    );
    Ok(())
}

pub(super) fn registration(task: &str, product: &str) -> Registration {
    Registration {
        task_key: format!("[\"{product}\",\"c\",\"{task}\"]"),
        task_id: task.into(),
        task_source: TaskSource::Nonce,
        product_code: product.into(),
        caller: "c".into(),
        region: "us-east-1".into(),
        public_key_version: 1,
        nonce: Some(task.into()),
        registered_at: Instant(5),
        request_id: format!("req-{task}"),
    }
}

pub(super) fn registrations_are_kept_once_per_task<S: Store + ?Sized>(s: &mut S) -> Check {
    let (a, b, c) = (
        registration("t1", "p"),
        registration("t2", "q"),
        registration("t3", "p"),
    );
    for r in [&a, &b, &c] {
        s.insert_registration(r).map_err(e)?;
    }
    let mut again = a.clone();
    again.request_id = "other".into();
    ensure!(
        s.insert_registration(&again).is_err(),
        "a second registration of a task must be refused"
    );
    ensure!(
        s.registration(&a.task_key).map_err(e)? == Some(a.clone()),
        "the first registration must stand"
    );
    ensure!(
        s.registration("nope").map_err(e)?.is_none(),
        "unknown task keys are not registered"
    );
    ensure!(
        s.registrations(None, 10).map_err(e)? == vec![a.clone(), b.clone(), c.clone()],
        "registrations list in order"
    );
    ensure!(
        s.registrations(Some("p"), 10).map_err(e)? == vec![a.clone(), c.clone()],
        "registrations filter by product"
    );
    ensure!(
        s.registrations(None, 1).map_err(e)? == vec![a.clone()],
        "registrations respect the limit"
    );
    Ok(())
}
