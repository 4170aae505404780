//! Checks of the usage ledger: exactly once per key, batches, exact totals, queries.

use crate::domain::allocation::Tag;
use crate::domain::quantity::Quantity;
use crate::domain::time::Instant;
use crate::protocol::operation::Operation;
use crate::store::{LedgerAllocation, Store, UsageEntry, UsageQuery};

use super::*;

pub(super) fn entry(id: &str, key: &str, product: &str, customer: &str, hour: i64) -> UsageEntry {
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

pub(super) fn usage_is_kept_exactly_once<S: Store + ?Sized>(s: &mut S) -> Check {
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

pub(super) fn usage_is_inserted_and_found_in_batches<S: Store + ?Sized>(s: &mut S) -> Check {
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

pub(super) fn usage_totals_are_exact_sums_per_customer_and_dimension<S: Store + ?Sized>(
    s: &mut S,
) -> Check {
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

pub(super) fn usage_queries_filter_and_keep_order<S: Store + ?Sized>(s: &mut S) -> Check {
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
