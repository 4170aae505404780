//! Checks of the bounds: each growing kind keeps its newest entries and drops the oldest.

use crate::domain::time::Instant;
use crate::store::journal::JournalQuery;
use crate::store::{ClientTokenEntry, Registration, Retention, Store, UsageQuery};

use super::*;

/// Listing limits that cover every kept entry, and then some.
pub(super) fn all_of(kept: usize) -> usize {
    kept + 10
}

pub(super) fn oldest_events_are_dropped_and_numbering_goes_on<S: Store + ?Sized>(
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

pub(super) fn oldest_registrations_are_dropped<S: Store + ?Sized>(
    s: &mut S,
    r: Retention,
) -> Check {
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

pub(super) fn oldest_usage_entries_are_dropped<S: Store + ?Sized>(
    s: &mut S,
    r: Retention,
) -> Check {
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

pub(super) fn oldest_client_tokens_are_dropped<S: Store + ?Sized>(
    s: &mut S,
    r: Retention,
) -> Check {
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

pub(super) fn oldest_journal_entries_are_dropped<S: Store + ?Sized>(
    s: &mut S,
    r: Retention,
) -> Check {
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
