//! The contract every `Store` must pass. Native tests run it on `MemoryStore`; the worker
//! runs it on the Durable Object's SQLite store behind `POST /_mock/store-contract` (for an
//! empty namespace only), which the Node tests call. It returns errors instead of panicking,
//! because a panic inside the Durable Object would take the object down.
//!
//! `run_retention` checks a store's bounds. It inserts a few entries more than each bound,
//! so it suits a store built with small ones, and is not part of `run`.

use super::{
    ClientTokenEntry, LedgerAllocation, Registration, Retention, Store, TaskSource, UsageEntry,
    UsageQuery,
};
use crate::domain::allocation::Tag;
use crate::domain::catalogue::WebhookFormat;
use crate::domain::catalogue::{Customer, Product};
use crate::domain::entitlement::{Entitlement, EntitlementValue};
use crate::domain::notification::{Delivery, DeliveryStatus, EventRecord};
use crate::domain::quantity::Quantity;
use crate::domain::subscription::SubscriptionState;
use crate::domain::time::Instant;
use crate::protocol::operation::Operation;
use crate::store::journal::{JournalCaller, JournalEntry, JournalError, JournalQuery};

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

type Check = Result<(), String>;
type NamedCheck<S> = (&'static str, fn(&mut S) -> Check);
type NamedRetentionCheck<S> = (&'static str, fn(&mut S, Retention) -> Check);

fn hour(n: i64) -> Instant {
    Instant(n * 3_600_000)
}

fn entry(id: &str, key: &str, product: &str, customer: &str, hour: i64) -> UsageEntry {
    UsageEntry {
        metering_record_id: id.into(),
        ledger_key: key.into(),
        operation: Operation::BatchMeterUsage,
        product_code: product.into(),
        customer_identifier: Some(customer.into()),
        customer_aws_account_id: None,
        license_arn: None,
        dimension: "d".into(),
        hour: Instant(hour * 3_600_000),
        timestamp: Instant(hour * 3_600_000 + 5),
        quantity: Quantity::parse_decimal("2.5").unwrap_or_default(),
        allocations: vec![LedgerAllocation {
            quantity: Quantity::parse_decimal("2.5").unwrap_or_default(),
            tags: vec![Tag {
                key: "k".into(),
                value: "v".into(),
            }],
        }],
        caller: "test".into(),
        session: None,
        task: None,
        region: "us-east-1".into(),
        received_at: Instant(42),
        request_id: "r".into(),
    }
}

fn product(code: &str) -> Product {
    Product {
        product_code: code.parse().unwrap(),
        dimensions: vec!["d".parse().unwrap()],
        seller_account_id: None,
        integration: Default::default(),
        regions: vec![],
        fulfillment_url: Some("http://127.0.0.1:9/register".parse().unwrap()),
        webhooks: vec![],
        prices: Default::default(),
        customers: vec![Customer {
            customer_identifier: Some("c".parse().unwrap()),
            subscription: SubscriptionState::UnsubscribePending,
            subscription_changed_at: Some(Instant(7)),
            entitlements: vec![Entitlement {
                dimension: "d".into(),
                value: EntitlementValue::DoubleValue(0.1),
                expiration_date: Some(Instant(1_000)),
            }],
            ..Default::default()
        }]
        .into(),
    }
}

fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

fn meta_round_trips<S: Store + ?Sized>(s: &mut S) -> Check {
    ensure!(
        s.meta("settings").map_err(e)?.is_none(),
        "meta of a new store must be empty"
    );
    s.put_meta("settings", "{\"a\":1}").map_err(e)?;
    s.put_meta("settings", "{\"a\":2}").map_err(e)?;
    ensure!(
        s.meta("settings").map_err(e)?.as_deref() == Some("{\"a\":2}"),
        "put_meta must replace the value"
    );
    Ok(())
}

fn registration_tokens_are_kept_until_their_time<S: Store + ?Sized>(s: &mut S) -> Check {
    let (t0, t1, t2) = (Instant(1_000), Instant(5_000), Instant(9_000));
    s.put_registration_token("a", "{\"a\":1}", t1, t0)
        .map_err(e)?;
    s.put_registration_token("b", "{\"b\":1}", t2, t0)
        .map_err(e)?;
    ensure!(
        s.registration_token("a").map_err(e)?.as_deref() == Some("{\"a\":1}"),
        "a token's record must be kept"
    );
    ensure!(
        s.registration_token("nope").map_err(e)?.is_none(),
        "an unknown token has no record"
    );
    // A later write forgets the records kept past their time.
    s.put_registration_token("c", "{}", t2, Instant(6_000))
        .map_err(e)?;
    ensure!(
        s.registration_token("a").map_err(e)?.is_none(),
        "a record past its time must be forgotten"
    );
    ensure!(
        s.registration_token("b").map_err(e)?.is_some(),
        "a record within its time must stay"
    );
    Ok(())
}

fn old_records_of_a_prefix_are_forgotten<S: Store + ?Sized>(s: &mut S) -> Check {
    s.put_meta("marker/a", "2026-01-01T00:00:00Z").map_err(e)?;
    s.put_meta("marker/b", "2026-03-01T00:00:00Z").map_err(e)?;
    s.put_meta("markers", "2000-01-01T00:00:00Z").map_err(e)?;
    s.put_meta("other/a", "2000-01-01T00:00:00Z").map_err(e)?;
    s.forget_meta_before("marker/", "2026-02-01T00:00:00Z")
        .map_err(e)?;
    ensure!(
        s.meta("marker/a").map_err(e)?.is_none(),
        "an old record of the prefix must be forgotten"
    );
    for kept in ["marker/b", "markers", "other/a"] {
        ensure!(
            s.meta(kept).map_err(e)?.is_some(),
            "{kept} must be kept (newer, or not of the prefix)"
        );
    }
    Ok(())
}

fn products_are_kept_replaced_listed_and_deleted<S: Store + ?Sized>(s: &mut S) -> Check {
    s.put_product(&product("b")).map_err(e)?;
    s.put_product(&product("a")).map_err(e)?;
    let mut replaced = product("b");
    replaced.dimensions.push("e".parse().unwrap());
    s.put_product(&replaced).map_err(e)?;
    ensure!(
        s.product("b").map_err(e)?.as_deref() == Some(&replaced),
        "product must be replaced"
    );
    let codes: Vec<_> = s
        .products()
        .map_err(e)?
        .into_iter()
        .map(|p| p.product_code)
        .collect();
    ensure!(
        codes == ["a", "b"],
        "products must be listed by code, got {codes:?}"
    );
    ensure!(
        s.delete_product("a").map_err(e)?,
        "delete must report a deleted product"
    );
    ensure!(
        !s.delete_product("a").map_err(e)?,
        "delete must report a missing product"
    );
    ensure!(
        s.product("a").map_err(e)?.is_none(),
        "deleted product must be gone"
    );
    Ok(())
}

fn usage_is_kept_exactly_once<S: Store + ?Sized>(s: &mut S) -> Check {
    let first = entry("id-1", "k1", "p", "c1", 10);
    s.insert_usage(&first).map_err(e)?;
    ensure!(
        s.usage_by_key(hour(10), "k1").map_err(e)? == Some(first.clone()),
        "entry must round-trip"
    );
    ensure!(
        s.insert_usage(&entry("id-2", "k1", "p", "c1", 10)).is_err(),
        "a second entry with the same ledger key must be refused"
    );
    ensure!(
        s.usage_by_key(hour(10), "k9").map_err(e)?.is_none(),
        "a key never inserted must not be found"
    );
    let all = s
        .query_usage(&UsageQuery {
            limit: 100,
            ..Default::default()
        })
        .map_err(e)?;
    ensure!(
        all.len() == 1,
        "exactly one entry must be kept, found {}",
        all.len()
    );
    Ok(())
}

fn usage_is_inserted_and_found_in_batches<S: Store + ?Sized>(s: &mut S) -> Check {
    // More entries than one statement of a SQL store holds, more keys than one lookup, and
    // keys of two hours.
    let hour_of = |n: i64| 1 + n % 2;
    let entries: Vec<UsageEntry> = (0..130)
        .map(|n| entry(&format!("b{n}"), &format!("bk{n}"), "p", "c", hour_of(n)))
        .collect();
    s.insert_usages(&entries).map_err(e)?;
    let mut keys: Vec<(Instant, String)> = (0..130)
        .map(|n| (hour(hour_of(n)), format!("bk{n}")))
        .collect();
    keys.extend((0..5).map(|n| (hour(1), format!("absent{n}"))));
    let wanted: Vec<(Instant, &str)> = keys.iter().map(|(h, k)| (*h, k.as_str())).collect();
    let mut found = s.usage_by_keys(&wanted).map_err(e)?;
    found.sort_by_key(|f| f.ledger_key[2..].parse::<u32>().unwrap_or(u32::MAX));
    ensure!(
        found == entries,
        "the 130 entries must be found by their keys, and only they ({} found)",
        found.len()
    );
    ensure!(
        s.insert_usages(&[entry("b-new", "bk7", "p", "c", hour_of(7))])
            .is_err(),
        "a batch entry with a present ledger key must be refused"
    );
    ensure!(
        s.usage_by_keys(&[]).map_err(e)?.is_empty(),
        "no keys, no entries"
    );
    Ok(())
}

fn usage_totals_are_exact_sums_per_customer_and_dimension<S: Store + ?Sized>(s: &mut S) -> Check {
    let with =
        |id: &str, key: &str, product: &str, customer: &str, hour: i64, q: &str| UsageEntry {
            quantity: Quantity::parse_decimal(q).unwrap_or_default(),
            ..entry(id, key, product, customer, hour)
        };
    // The largest quantities: their sum in millionths is far beyond 64 bits.
    let big = "9999999999.999999";
    let mut entries = vec![
        with("a", "ka", "p", "c1", 1, "2.5"),
        with("b", "kb", "p", "c1", 2, "0.000001"),
        with("c", "kc", "p", "c2", 2, "4"),
        with("d", "kd", "q", "c1", 2, "7"),
        with("e", "ke", "p", "c1", 3, "100"),
    ];
    for n in 0..3000 {
        entries.push(with(&format!("x{n}"), &format!("kx{n}"), "r", "c9", 1, big));
    }
    s.insert_usages(&entries).map_err(e)?;
    let totals = |product: Option<&str>| -> Result<Vec<(String, String, u128, usize)>, String> {
        Ok(s.usage_totals(hour(1), hour(3), product)
            .map_err(e)?
            .into_iter()
            .map(|t| {
                (
                    t.product_code,
                    t.customer_identifier.unwrap_or_default(),
                    t.micros,
                    t.records,
                )
            })
            .collect())
    };
    let all = totals(None)?;
    let expected = vec![
        ("p".to_string(), "c1".to_string(), 2_500_001, 2),
        ("p".into(), "c2".into(), 4_000_000, 1),
        ("q".into(), "c1".into(), 7_000_000, 1),
        ("r".into(), "c9".into(), 3000 * 9_999_999_999_999_999, 3000),
    ];
    ensure!(
        all == expected,
        "totals of hours [1, 3) per product and customer: expected {expected:?}, got {all:?}"
    );
    ensure!(
        totals(Some("q"))? == vec![("q".to_string(), "c1".to_string(), 7_000_000, 1)],
        "totals of one product"
    );
    Ok(())
}

fn usage_queries_filter_and_keep_order<S: Store + ?Sized>(s: &mut S) -> Check {
    s.insert_usage(&entry("u3", "k3", "p", "c1", 12))
        .map_err(e)?;
    s.insert_usage(&entry("u1", "k1", "p", "c1", 10))
        .map_err(e)?;
    s.insert_usage(&entry("u2", "k2", "q", "c2", 11))
        .map_err(e)?;
    let ids = |q: UsageQuery| -> Result<Vec<String>, String> {
        Ok(s.query_usage(&UsageQuery {
            limit: q.limit.max(1),
            ..q
        })
        .map_err(e)?
        .into_iter()
        .map(|u| u.metering_record_id)
        .collect())
    };
    let all = ids(UsageQuery {
        limit: 10,
        ..Default::default()
    })?;
    ensure!(
        all == ["u3", "u1", "u2"],
        "entries must come in recording order, got {all:?}"
    );
    let p = ids(UsageQuery {
        product_code: Some("p".into()),
        limit: 10,
        ..Default::default()
    })?;
    ensure!(p == ["u3", "u1"], "product filter, got {p:?}");
    let c = ids(UsageQuery {
        customer: Some("c2".into()),
        limit: 10,
        ..Default::default()
    })?;
    ensure!(c == ["u2"], "customer filter, got {c:?}");
    let range = ids(UsageQuery {
        from: Some(Instant(11 * 3_600_000)),
        to: Some(Instant(12 * 3_600_000)),
        limit: 10,
        ..Default::default()
    })?;
    ensure!(range == ["u2"], "hour range is [from, to), got {range:?}");
    let d = ids(UsageQuery {
        dimension: Some("zzz".into()),
        limit: 10,
        ..Default::default()
    })?;
    ensure!(d.is_empty(), "dimension filter, got {d:?}");
    let limited = ids(UsageQuery {
        limit: 2,
        ..Default::default()
    })?;
    ensure!(limited == ["u3", "u1"], "limit, got {limited:?}");
    let newest = ids(UsageQuery {
        limit: 2,
        newest_first: true,
        product_code: Some("p".into()),
        ..Default::default()
    })?;
    ensure!(
        newest == ["u1", "u3"],
        "the newest two of p, newest first, got {newest:?}"
    );
    Ok(())
}

fn client_tokens_are_scoped_to_the_caller<S: Store + ?Sized>(s: &mut S) -> Check {
    let token = ClientTokenEntry {
        caller: "111122223333".into(),
        token: "t".into(),
        fingerprint: "f".into(),
        metering_record_id: "id".into(),
    };
    s.put_client_token(&token).map_err(e)?;
    ensure!(
        s.client_token("111122223333", "t").map_err(e)? == Some(token),
        "token must round-trip"
    );
    ensure!(
        s.client_token("444455556666", "t").map_err(e)?.is_none(),
        "tokens are per caller"
    );
    Ok(())
}

fn event(product: &str, next_attempt_at: Option<i64>) -> EventRecord {
    EventRecord {
        seq: 0,
        action: "subscribe-success".into(),
        product_code: product.into(),
        time: Instant(1),
        sns: serde_json::json!({"Type": "Notification"}),
        event_bridge: vec![],
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
        }],
    }
}

fn events_are_numbered_listed_and_due_in_order<S: Store + ?Sized>(s: &mut S) -> Check {
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

fn registration(task: &str, product: &str) -> Registration {
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

fn registrations_are_kept_once_per_task<S: Store + ?Sized>(s: &mut S) -> Check {
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

fn clear_forgets_everything<S: Store + ?Sized>(s: &mut S) -> Check {
    s.insert_registration(&registration("t", "p")).map_err(e)?;
    s.append_event(&event("p", Some(1))).map_err(e)?;
    s.put_meta("m", "1").map_err(e)?;
    s.put_product(&product("p")).map_err(e)?;
    s.insert_usage(&entry("x", "kx", "p", "c", 1)).map_err(e)?;
    s.append_journal(&journal_entry("MeterUsage", 200, "p", &[], 1))
        .map_err(e)?;
    s.clear().map_err(e)?;
    ensure!(s.meta("m").map_err(e)?.is_none(), "meta must be cleared");
    ensure!(
        s.products().map_err(e)?.is_empty(),
        "products must be cleared"
    );
    ensure!(
        s.usage_by_key(hour(1), "kx").map_err(e)?.is_none(),
        "usage must be cleared"
    );
    ensure!(
        s.journal(&JournalQuery {
            limit: 10,
            ..Default::default()
        })
        .map_err(e)?
        .total
            == 0,
        "the journal must be cleared"
    );
    ensure!(
        s.events(0, 10).map_err(e)?.is_empty(),
        "events must be cleared"
    );
    ensure!(
        s.registrations(None, 10).map_err(e)?.is_empty(),
        "registrations must be cleared"
    );
    ensure!(
        s.append_event(&event("p", None)).map_err(e)? == 1,
        "seq restarts after clear"
    );
    s.insert_usage(&entry("x", "kx", "p", "c", 1)).map_err(e)?;
    Ok(())
}

/// Listing limits that cover every kept entry, and then some.
fn all_of(kept: usize) -> usize {
    kept + 10
}

fn oldest_events_are_dropped_and_numbering_goes_on<S: Store + ?Sized>(
    s: &mut S,
    r: Retention,
) -> Check {
    let kept = r.events;
    let total = kept as u64 + 2;
    for n in 1..=total {
        let seq = s
            .append_event(&event(&format!("p{n}"), Some(1_000 + n as i64)))
            .map_err(e)?;
        ensure!(seq == n, "event {n} must get seq {n}, got {seq}");
    }
    let seqs = |s: &S| -> Result<Vec<u64>, String> {
        Ok(s.events(0, all_of(kept))
            .map_err(e)?
            .iter()
            .map(|x| x.seq)
            .collect())
    };
    let listed = seqs(s)?;
    ensure!(
        listed == (3..=total).collect::<Vec<_>>(),
        "only the newest {kept} events must be kept, got {listed:?}"
    );
    ensure!(
        s.next_delivery_at().map_err(e)? == Some(Instant(1_003)),
        "a dropped event's deliveries are not due"
    );
    let due = s.events_due(Instant(i64::MAX), all_of(kept)).map_err(e)?;
    ensure!(
        due.first().map(|x| x.seq) == Some(3) && due.len() == kept,
        "only kept events are due"
    );
    let mut dropped = event("p1", None);
    dropped.seq = 1;
    ensure!(
        s.update_event(&dropped).is_err(),
        "a dropped event cannot be updated"
    );
    let next = s.append_event(&event("next", None)).map_err(e)?;
    ensure!(
        next == total + 1,
        "seq must go on after old events were dropped, got {next}"
    );
    let listed = seqs(s)?;
    ensure!(
        listed == (4..=total + 1).collect::<Vec<_>>(),
        "still the newest {kept} events, got {listed:?}"
    );
    Ok(())
}

fn oldest_registrations_are_dropped<S: Store + ?Sized>(s: &mut S, r: Retention) -> Check {
    let kept = r.registrations;
    let tasks: Vec<Registration> = (1..=kept + 2)
        .map(|n| registration(&format!("t{n}"), "p"))
        .collect();
    for task in &tasks {
        s.insert_registration(task).map_err(e)?;
    }
    ensure!(
        s.registrations(None, all_of(kept)).map_err(e)? == tasks[2..],
        "only the newest {kept} registrations must be kept"
    );
    ensure!(
        s.registration(&tasks[0].task_key).map_err(e)?.is_none(),
        "the oldest registration must be dropped"
    );
    ensure!(
        s.registration(&tasks[kept + 1].task_key)
            .map_err(e)?
            .as_ref()
            == Some(&tasks[kept + 1]),
        "the newest registration must be kept"
    );
    Ok(())
}

fn oldest_usage_entries_are_dropped<S: Store + ?Sized>(s: &mut S, r: Retention) -> Check {
    let kept = r.usage_records;
    for n in 1..=kept + 2 {
        s.insert_usage(&entry(&format!("u{n}"), &format!("k{n}"), "p", "c", 1))
            .map_err(e)?;
    }
    let ids: Vec<String> = s
        .query_usage(&UsageQuery {
            limit: all_of(kept),
            ..Default::default()
        })
        .map_err(e)?
        .into_iter()
        .map(|u| u.metering_record_id)
        .collect();
    let newest: Vec<String> = (3..=kept + 2).map(|n| format!("u{n}")).collect();
    ensure!(
        ids == newest,
        "only the newest {kept} usage entries must be kept, got {ids:?}"
    );
    ensure!(
        s.usage_by_key(hour(1), "k1").map_err(e)?.is_none(),
        "the oldest entry must not be found by its ledger key"
    );
    ensure!(
        s.usage_by_key(hour(1), &format!("k{}", kept + 2))
            .map_err(e)?
            .is_some(),
        "the newest entry must be found by its ledger key"
    );
    Ok(())
}

fn oldest_client_tokens_are_dropped<S: Store + ?Sized>(s: &mut S, r: Retention) -> Check {
    let kept = r.usage_records;
    let token = |n: usize, fingerprint: &str| ClientTokenEntry {
        caller: "111122223333".into(),
        token: format!("t{n}"),
        fingerprint: fingerprint.into(),
        metering_record_id: format!("id{n}"),
    };
    for n in 1..=kept + 1 {
        s.put_client_token(&token(n, "f")).map_err(e)?;
    }
    // Replacing token 2 must not make it newer than token 3.
    s.put_client_token(&token(2, "replaced")).map_err(e)?;
    s.put_client_token(&token(kept + 2, "f")).map_err(e)?;
    for n in 1..=kept + 2 {
        let found = s
            .client_token("111122223333", &format!("t{n}"))
            .map_err(e)?;
        ensure!(
            found.is_some() == (n > 2),
            "token {n} of {}: only the newest {kept} by first insertion must be kept",
            kept + 2
        );
    }
    Ok(())
}

fn journal_entry(
    operation: &str,
    status: u16,
    product: &str,
    customers: &[&str],
    at: i64,
) -> JournalEntry {
    JournalEntry {
        seq: 0,
        request_id: format!("r-{operation}-{at}"),
        received_at: Instant(at),
        namespace_time: Some(Instant(at)),
        protocol: "awsJson1_1".into(),
        operation: Some(operation.into()),
        caller: JournalCaller {
            access_key_id: Some("AKID".into()),
            identity: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            session: None,
        },
        signature_verified: false,
        product_code: Some(product.into()),
        customers: customers.iter().map(|c| c.to_string()).collect(),
        request: Some(serde_json::json!({ "ProductCode": product })),
        status,
        error: (status != 200).then(|| JournalError {
            code: "InvalidProductCodeException".into(),
            message: "no".into(),
        }),
        response: (status == 200).then(|| serde_json::json!({ "MeteringRecordId": "m" })),
        records_written: if status == 200 {
            vec!["m".into()]
        } else {
            vec![]
        },
    }
}

fn journal_is_numbered_filtered_and_paged<S: Store + ?Sized>(s: &mut S) -> Check {
    let entries = [
        journal_entry("MeterUsage", 200, "p", &[], 10),
        journal_entry("BatchMeterUsage", 200, "p", &["c1", "c2"], 20),
        journal_entry("BatchMeterUsage", 400, "q", &["c2"], 30),
        journal_entry("ResolveCustomer", 200, "p", &[], 40),
    ];
    // Numbers are relative to the first: a store may go on numbering after `clear`.
    let base = s.append_journal(&entries[0]).map_err(e)? - 1;
    for (n, entry) in entries.iter().enumerate().skip(1) {
        let seq = s.append_journal(entry).map_err(e)?;
        ensure!(
            seq == base + n as u64 + 1,
            "entry {n} must be numbered one above the last, got {seq}"
        );
    }
    let seqs = |s: &S, q: JournalQuery| -> Result<(Vec<u64>, usize), String> {
        let page = s
            .journal(&JournalQuery {
                limit: if q.limit == 0 { 100 } else { q.limit },
                before: q.before.map(|b| base + b),
                ..q
            })
            .map_err(e)?;
        Ok((
            page.entries.iter().map(|x| x.seq - base).collect(),
            page.total,
        ))
    };
    ensure!(
        seqs(s, JournalQuery::default())? == (vec![4, 3, 2, 1], 4),
        "all entries, newest first"
    );
    let first = s
        .journal(&JournalQuery {
            limit: 100,
            before: Some(base + 2),
            ..Default::default()
        })
        .map_err(e)?;
    ensure!(
        first.entries.first().map(|x| JournalEntry {
            seq: 0,
            ..x.clone()
        }) == Some(entries[0].clone()),
        "an entry must round-trip"
    );
    /// Entry numbers (relative to the first) and the total.
    type Listed = (Vec<u64>, usize);
    let cases: [(&str, JournalQuery, Listed); 9] = [
        (
            "operation",
            JournalQuery {
                operation: Some("BatchMeterUsage".into()),
                ..Default::default()
            },
            (vec![3, 2], 2),
        ),
        (
            "successes",
            JournalQuery {
                succeeded: Some(true),
                ..Default::default()
            },
            (vec![4, 2, 1], 3),
        ),
        (
            "failures",
            JournalQuery {
                succeeded: Some(false),
                ..Default::default()
            },
            (vec![3], 1),
        ),
        (
            "status",
            JournalQuery {
                status: Some(400),
                ..Default::default()
            },
            (vec![3], 1),
        ),
        (
            "error",
            JournalQuery {
                error: Some("InvalidProductCodeException".into()),
                ..Default::default()
            },
            (vec![3], 1),
        ),
        (
            "product",
            JournalQuery {
                product_code: Some("p".into()),
                ..Default::default()
            },
            (vec![4, 2, 1], 3),
        ),
        (
            "customer",
            JournalQuery {
                customer: Some("c2".into()),
                ..Default::default()
            },
            (vec![3, 2], 2),
        ),
        (
            "time range",
            JournalQuery {
                from: Some(Instant(20)),
                to: Some(Instant(40)),
                ..Default::default()
            },
            (vec![3, 2], 2),
        ),
        (
            "a page after a cursor",
            JournalQuery {
                before: Some(4),
                limit: 2,
                ..Default::default()
            },
            (vec![3, 2], 4),
        ),
    ];
    for (what, query, expected) in cases {
        let got = seqs(s, query)?;
        ensure!(
            got == expected,
            "journal filter by {what}: expected {expected:?}, got {got:?}"
        );
    }
    ensure!(
        s.clear_journal().map_err(e)? == 4,
        "clearing must count the entries"
    );
    ensure!(
        seqs(s, JournalQuery::default())? == (vec![], 0),
        "a cleared journal must be empty"
    );
    let next = s.append_journal(&entries[0]).map_err(e)?;
    ensure!(
        next == base + 5,
        "numbering must go on after clearing, got {next}"
    );
    Ok(())
}

fn oldest_journal_entries_are_dropped<S: Store + ?Sized>(s: &mut S, r: Retention) -> Check {
    let kept = r.journal;
    let mut numbers = Vec::new();
    for n in 1..=kept + 2 {
        numbers.push(
            s.append_journal(&journal_entry("MeterUsage", 200, "p", &[], n as i64))
                .map_err(e)?,
        );
    }
    let page = s
        .journal(&JournalQuery {
            limit: all_of(kept),
            ..Default::default()
        })
        .map_err(e)?;
    let seqs: Vec<u64> = page.entries.iter().map(|x| x.seq).collect();
    let newest: Vec<u64> = numbers[2..].iter().rev().copied().collect();
    ensure!(
        seqs == newest && page.total == kept,
        "only the newest {kept} journal entries must be kept, got {seqs:?} of {}",
        page.total
    );
    Ok(())
}

/// The retention checks for a store built with `retention`, each on a cleared store; the
/// names of failed checks with their reasons.
pub fn run_retention<S: Store + ?Sized>(store: &mut S, retention: Retention) -> Vec<String> {
    let retention = retention.at_least_one();
    let checks: [NamedRetentionCheck<S>; 5] = [
        (
            "oldest_journal_entries_are_dropped",
            oldest_journal_entries_are_dropped,
        ),
        (
            "oldest_events_are_dropped_and_numbering_goes_on",
            oldest_events_are_dropped_and_numbering_goes_on,
        ),
        (
            "oldest_registrations_are_dropped",
            oldest_registrations_are_dropped,
        ),
        (
            "oldest_usage_entries_are_dropped",
            oldest_usage_entries_are_dropped,
        ),
        (
            "oldest_client_tokens_are_dropped",
            oldest_client_tokens_are_dropped,
        ),
    ];
    let mut failures = Vec::new();
    for (name, check) in checks {
        let outcome = store
            .clear()
            .map_err(e)
            .and_then(|_| check(store, retention));
        if let Err(reason) = outcome {
            failures.push(format!("{name}: {reason}"));
        }
    }
    if let Err(reason) = store.clear() {
        failures.push(format!("final clear: {reason}"));
    }
    failures
}

/// Every check, each on a cleared store; the names of failed checks with their reasons.
pub fn run<S: Store + ?Sized>(store: &mut S) -> Vec<String> {
    let checks: [NamedCheck<S>; 13] = [
        (
            "journal_is_numbered_filtered_and_paged",
            journal_is_numbered_filtered_and_paged,
        ),
        ("meta_round_trips", meta_round_trips),
        (
            "old_records_of_a_prefix_are_forgotten",
            old_records_of_a_prefix_are_forgotten,
        ),
        (
            "registration_tokens_are_kept_until_their_time",
            registration_tokens_are_kept_until_their_time,
        ),
        (
            "products_are_kept_replaced_listed_and_deleted",
            products_are_kept_replaced_listed_and_deleted,
        ),
        ("usage_is_kept_exactly_once", usage_is_kept_exactly_once),
        (
            "usage_is_inserted_and_found_in_batches",
            usage_is_inserted_and_found_in_batches,
        ),
        (
            "usage_queries_filter_and_keep_order",
            usage_queries_filter_and_keep_order,
        ),
        (
            "usage_totals_are_exact_sums_per_customer_and_dimension",
            usage_totals_are_exact_sums_per_customer_and_dimension,
        ),
        (
            "client_tokens_are_scoped_to_the_caller",
            client_tokens_are_scoped_to_the_caller,
        ),
        (
            "events_are_numbered_listed_and_due_in_order",
            events_are_numbered_listed_and_due_in_order,
        ),
        (
            "registrations_are_kept_once_per_task",
            registrations_are_kept_once_per_task,
        ),
        ("clear_forgets_everything", clear_forgets_everything),
    ];
    let mut failures = Vec::new();
    for (name, check) in checks {
        let outcome = store.clear().map_err(e).and_then(|_| check(store));
        if let Err(reason) = outcome {
            failures.push(format!("{name}: {reason}"));
        }
    }
    if let Err(reason) = store.clear() {
        failures.push(format!("final clear: {reason}"));
    }
    failures
}

/// For native tests: runs the contract on a fresh store and panics with the failures.
#[cfg(test)]
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    let failures = run(&mut make());
    assert!(
        failures.is_empty(),
        "store contract failed:\n{}",
        failures.join("\n")
    );
}

/// For native tests: runs the retention checks on a fresh store built with `retention`.
#[cfg(test)]
pub fn run_retention_all<S: Store>(make: impl Fn(Retention) -> S, retention: Retention) {
    let failures = run_retention(&mut make(retention), retention);
    assert!(
        failures.is_empty(),
        "store retention contract failed:\n{}",
        failures.join("\n")
    );
}
