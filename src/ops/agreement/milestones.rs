//! The milestones of ending agreements by the namespace clock: the `Purchase Agreement
//! Ending` notices 180 to 30 days before a contract's end, and the end itself (`Purchase
//! Agreement Ended` with status `EXPIRED`, then `License Deprovisioned`). One small document
//! says when the next is due, so asking costs a read; a sweep sends what is due (when the
//! clock is set, and from the namespace's alarm while time runs).

use crate::domain::agreement::{self as rules, Milestone, NextMilestone};
use crate::domain::catalogue::{Customer, Product};
use crate::domain::ids::IdSource;
use crate::domain::notification::{Change, EventRecord};
use crate::domain::settings::Settings;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::store::{documents, Store};

/// Brings the next-milestone time forward to `customer`'s next milestone, if earlier.
pub fn note<S: Store + ?Sized>(store: &mut S, customer: &Customer) -> Result<(), ServiceError> {
    let Some(at) = rules::next_milestone(customer) else {
        return Ok(());
    };
    let NextMilestone(current) = documents::load(store)?;
    if current.is_none_or(|c| at < c) {
        documents::save(store, &NextMilestone(Some(at)))?;
    }
    Ok(())
}

/// `note` for every customer of `product` (a product put by hand may list ending ones).
pub fn note_product<S: Store + ?Sized>(
    store: &mut S,
    product: &Product,
) -> Result<(), ServiceError> {
    for customer in product.customers.iter() {
        note(store, customer)?;
    }
    Ok(())
}

/// When the next milestone is due (namespace time), if any agreement has one.
pub fn next<S: Store + ?Sized>(store: &S) -> Result<Option<Instant>, ServiceError> {
    Ok(documents::load::<NextMilestone, _>(store)?.0)
}

/// Sends every milestone due by namespace time `now`, oldest agreement first, each as its
/// own moment in the event log (deliveries from host time `host_now`), and remembers the
/// next; returns how many moments it logged. Does nothing (one read) when none is due.
pub fn sweep<S: Store + ?Sized>(
    store: &mut S,
    now: Instant,
    host_now: Instant,
    settings: &Settings,
    ids: &mut dyn IdSource,
) -> Result<usize, ServiceError> {
    if next(store)?.is_none_or(|at| at > now) {
        return Ok(0);
    }
    let mut logged = 0;
    let mut next_at: Option<Instant> = None;
    for mut product in store.products()? {
        let mut changed = false;
        for i in 0..product.customers.len() {
            let due = rules::due_milestones(&product.customers[i], now);
            for milestone in &due {
                let change = match *milestone {
                    Milestone::Ending(days) => Change::Ending(days),
                    Milestone::Expired => Change::Expired,
                };
                let mut customer = product.customers[i].clone();
                customer.milestones_notified = customer.milestones_notified.saturating_add(1);
                let event =
                    EventRecord::new(change, &product, &customer, now, host_now, settings, || {
                        ids.next_uuid()
                    });
                store.append_event(&event)?;
                product.customers[i] = customer;
                logged += 1;
                changed = true;
            }
            if let Some(at) = rules::next_milestone(&product.customers[i]) {
                next_at = Some(next_at.map_or(at, |n: Instant| n.min(at)));
            }
        }
        if changed {
            store.put_product(&product)?;
        }
    }
    documents::save(store, &NextMilestone(next_at))?;
    Ok(logged)
}
