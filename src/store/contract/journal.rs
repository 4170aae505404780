//! Checks of the request journal: numbering, filters, pages.

use crate::domain::time::Instant;
use crate::store::journal::{JournalCaller, JournalEntry, JournalError, JournalQuery};
use crate::store::Store;

use super::*;

pub(super) fn journal_entry(
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

pub(super) fn journal_is_numbered_filtered_and_paged<S: Store + ?Sized>(s: &mut S) -> Check {
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
