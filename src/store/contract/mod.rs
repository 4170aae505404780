//! The contract every `Store` must pass. Native tests run it on `MemoryStore`; the worker
//! runs it on the Durable Object's SQLite store behind `POST /_mock/store-contract` (for an
//! empty namespace only), which the Node tests call. It returns errors instead of panicking,
//! because a panic inside the Durable Object would take the object down.
//!
//! `run_retention` checks a store's bounds. It inserts a few entries more than each bound,
//! so it suits a store built with small ones, and is not part of `run`.

use super::{Retention, Store};
use crate::domain::time::Instant;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

mod documents;
mod events;
mod journal;
mod ledger;
mod retention;

use documents::*;
use events::*;
use journal::*;
use ledger::*;
use retention::*;

pub(crate) type Check = Result<(), String>;
type NamedCheck<S> = (&'static str, fn(&mut S) -> Check);
type NamedRetentionCheck<S> = (&'static str, fn(&mut S, Retention) -> Check);

pub(super) fn hour(n: i64) -> Instant {
    Instant(n * 3_600_000)
}

pub(super) fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
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
