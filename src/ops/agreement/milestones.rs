//! The milestones of agreements by the namespace clock: the end of a free trial (a contract
//! taken with it starts), the `Purchase Agreement Ending` notices 180 to 30 days before a
//! contract's end, and the end itself: a renewal when the contract renews, else `Purchase
//! Agreement Ended` with status `EXPIRED`, then `License Deprovisioned`; and, in time order
//! with them, the other timed moments: a month's usage invoicing once its metering windows
//! close, a buyer approval's expiry, the automatic approval of cancellation requests pending
//! for seven days and of payment requests pending for the buyer's `expirationDuration`. One
//! small document says when the next is due, so asking costs a read; a sweep brings about
//! what is due (when the clock is set, before an Agreement operation that changes agreements
//! or requests, and from the namespace's alarm while time runs).

use std::collections::BTreeSet;
use std::rc::Rc;

use crate::domain::agreement::{self as rules, Milestone, NextMilestone};
use crate::domain::approval::AgreementApprovals;
use crate::domain::cancellation::CancellationRequests;
use crate::domain::catalogue::{Customer, Integration, Product, Supersession};
use crate::domain::contract::Charge;
use crate::domain::deployment::{DeploymentConfigurations, DeploymentParameters};
use crate::domain::ids::random_hex;
use crate::domain::ids::IdSource;
use crate::domain::invoice::{period_of, usage_issued_at, Invoices};
use crate::domain::notification::{Change, EventRecord};
use crate::domain::offer::Offer;
use crate::domain::payment::PaymentRequests;
use crate::domain::settings::Settings;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::store::{documents, Store};

/// When customer `i` of `product` next needs a sweep: its next milestone, and for an
/// agreement (a customer of a concurrent-agreements product) the next month's invoicing: once
/// invoicing has started, the month after the last one invoiced; before, the month of its
/// acceptance (of one listed without an acceptance: at once, so a sweep starts invoicing).
fn due(product: &Product, i: usize, settings: &Settings, kept: &Invoices) -> Option<Instant> {
    let customer = &product.customers[i];
    let agreement = product.integration == Integration::ConcurrentAgreements
        && rules::agreement_id(customer).is_some();
    let invoicing = match (agreement, kept.usage_invoiced_through.is_some()) {
        (false, _) => None,
        (true, true) => kept.next_usage_issuance(settings),
        (true, false) => match rules::accepted_at(customer) {
            Some(at) => usage_issued_at(&period_of(at), settings),
            None => Some(Instant(0)),
        },
    };
    rules::next_milestone(customer)
        .into_iter()
        .chain(invoicing)
        .min()
}

/// Brings the next-milestone time forward to when customer `i` of `product` next needs a
/// sweep, if earlier.
pub fn note<S: Store + ?Sized>(
    store: &mut S,
    product: &Product,
    i: usize,
) -> Result<(), ServiceError> {
    let (settings, kept): (Settings, Invoices) = (documents::load(store)?, documents::load(store)?);
    match due(product, i, &settings, &kept) {
        Some(at) => super::schedule::note_at(store, at),
        None => Ok(()),
    }
}

/// Marks the milestones up to `now` of the customers of a product listed by hand as done
/// (those not marked yet): a fixture says how things stand, not what should have been sent.
pub fn listed_at(product: &mut Product, now: Instant) {
    let unmarked = |c: &Customer| {
        (c.ends_at.is_some() || c.trial_ends_at.is_some())
            && c.milestones_notified_through.is_none()
    };
    if !product.customers.iter().any(unmarked) {
        return;
    }
    for i in 0..product.customers.len() {
        if unmarked(&product.customers[i]) {
            let mut customer = product.customers[i].clone();
            customer.milestones_notified_through = Some(now);
            product.customers[i] = customer;
        }
    }
}

/// `note` for every customer of `product` (a product put by hand may list ending ones).
pub fn note_product<S: Store + ?Sized>(
    store: &mut S,
    product: &Product,
) -> Result<(), ServiceError> {
    let (settings, kept): (Settings, Invoices) = (documents::load(store)?, documents::load(store)?);
    match (0..product.customers.len())
        .filter_map(|i| due(product, i, &settings, &kept))
        .min()
    {
        Some(at) => super::schedule::note_at(store, at),
        None => Ok(()),
    }
}

/// When the next milestone is due (namespace time), if any agreement has one.
pub fn next<S: Store + ?Sized>(store: &S) -> Result<Option<Instant>, ServiceError> {
    Ok(documents::load::<NextMilestone, _>(store)?.0)
}

/// Moments one sweep logs at most; the rest wait for the next sweep (the next-milestone
/// time then stays due, so the alarm rings again at once).
pub const MAX_MOMENTS_PER_SWEEP: usize = 200;

/// Brings about what is due by namespace time `now`, oldest first: the milestones, each as
/// its own moment in the event log (deliveries from host time `host_now`), and the other
/// timed moments (`next_timed`), at most `MAX_MOMENTS_PER_SWEEP` of them (moments logged,
/// months invoiced, requests and approvals settled); cancels the payment requests of
/// agreements that ended; remembers when the next is due. Returns how many it counted. Does
/// nothing (one read) when none is due.
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
    super::invoices::start(store, now)?;
    let mut logged = 0;
    // The other timed moments — a month's usage invoicing, an approval's expiry, a request's
    // automatic approval (which may charge or end its agreement) — come in time order with
    // the milestones: those due before come first (at the same moment: invoicing, expiries,
    // payments, cancellations).
    let capped = loop {
        let products = store.products()?;
        let timed = next_timed(store, &products, settings, now)?.filter(|&at| at <= now);
        let capped;
        (logged, capped) =
            sweep_milestones(store, logged, timed.unwrap_or(now), host_now, settings, ids)?;
        let Some(at) = timed.filter(|_| !capped) else {
            break capped;
        };
        logged += super::invoices::issue_due(store, at, settings, now)?;
        logged += super::approvals::expire_due(store, at)?;
        logged += super::payments::approve_due(store, at, ids)?;
        logged += super::cancellations::approve_due(store, at, host_now, settings, ids)?;
        if logged >= MAX_MOMENTS_PER_SWEEP {
            break true;
        }
    };
    // Payment requests of agreements that ended (once everything before `now` happened).
    if !capped {
        super::payments::close_ended(store, now)?;
    }
    let next_at = match capped {
        true => Some(now),
        false => {
            let products = store.products()?;
            let timed = next_timed(store, &products, settings, now)?;
            products
                .iter()
                .flat_map(|p| agreements(p).filter_map(|i| rules::next_milestone(&p.customers[i])))
                .chain(timed)
                .min()
        }
    };
    documents::save(store, &NextMilestone(next_at))?;
    Ok(logged)
}

/// When the clock next brings something by `now`'s reckoning: the earliest of the agreements'
/// next milestones and the other timed moments (read only; what is due already comes first).
pub fn upcoming<S: Store + ?Sized>(
    store: &S,
    settings: &Settings,
    now: Instant,
) -> Result<Option<Instant>, ServiceError> {
    let products = store.products()?;
    let milestones = products
        .iter()
        .flat_map(|p| agreements(p).filter_map(|i| rules::next_milestone(&p.customers[i])))
        .min();
    // The Deployment Service's moments need no sweep (they are read by the clock), but a
    // test moving the clock to the next deadline wants them too.
    let expiry = documents::load::<DeploymentParameters, _>(store)?.next_expiry(now);
    let job_end = documents::load::<DeploymentConfigurations, _>(store)?.next_end(now);
    Ok(milestones
        .into_iter()
        .chain(next_timed(store, &products, settings, now)?)
        .chain(expiry)
        .chain(job_end)
        .min())
}

/// When the next timed moment but the milestones is due: a month's usage invoicing, a buyer
/// approval's expiry, a cancellation or payment request's automatic approval (`products`: the
/// store's, as the caller read them).
fn next_timed<S: Store + ?Sized>(
    store: &S,
    products: &[Rc<Product>],
    settings: &Settings,
    now: Instant,
) -> Result<Option<Instant>, ServiceError> {
    let cancellation = documents::load::<CancellationRequests, _>(store)?.next_auto_approval();
    let payment = documents::load::<PaymentRequests, _>(store)?.next_auto_approval();
    let expiry = documents::load::<AgreementApprovals, _>(store)?.next_expiry();
    let invoicing = super::invoices::next_due(store, products, settings, now)?;
    Ok([cancellation, payment, expiry, invoicing]
        .into_iter()
        .flatten()
        .min())
}

/// Logs the agreements' milestones due by namespace time `by`, counting on from `logged`
/// moments; returns the moments logged in all and whether it stopped at the cap.
fn sweep_milestones<S: Store + ?Sized>(
    store: &mut S,
    mut logged: usize,
    by: Instant,
    host_now: Instant,
    settings: &Settings,
    ids: &mut dyn IdSource,
) -> Result<(usize, bool), ServiceError> {
    // Owned: the sweep changes them, and writes back those it changed.
    let mut products: Vec<Product> = store
        .products()?
        .into_iter()
        .map(Rc::unwrap_or_clone)
        .collect();
    let mut changed = BTreeSet::new();
    // A renewal brings the new term's milestones, which may be due too: look again.
    let capped = loop {
        let (capped, renewed);
        (logged, capped, renewed) = sweep_once(
            store,
            &mut products,
            &mut changed,
            logged,
            by,
            host_now,
            settings,
            ids,
        )?;
        if capped || !renewed {
            break capped;
        }
    };
    for p in changed {
        store.put_product(&products[p])?;
    }
    Ok((logged, capped))
}

/// One pass of `sweep` over `products`, counting on from `logged` moments: logs what is due,
/// notes the products it changed; returns the moments logged in all, whether it stopped at
/// the cap, and whether an agreement renewed.
#[allow(clippy::too_many_arguments)]
fn sweep_once<S: Store + ?Sized>(
    store: &mut S,
    products: &mut [Product],
    changed: &mut BTreeSet<usize>,
    logged: usize,
    now: Instant,
    host_now: Instant,
    settings: &Settings,
    ids: &mut dyn IdSource,
) -> Result<(usize, bool, bool), ServiceError> {
    let mut due: Vec<(Instant, usize, usize, Milestone)> = Vec::new();
    for (p, product) in products.iter().enumerate() {
        for i in agreements(product) {
            for (milestone, at) in rules::due_milestones(&product.customers[i], now) {
                due.push((at, p, i, milestone));
            }
        }
    }
    due.sort_by_key(|&(at, p, i, _)| (at, p, i));
    let room = MAX_MOMENTS_PER_SWEEP.saturating_sub(logged);
    let capped = due.len() > room;
    due.truncate(room);
    let logged = logged + due.len();
    let mut renewed = false;
    for (at, p, i, milestone) in due {
        let product = &mut products[p];
        let mut customer = product.customers[i].clone();
        customer.milestones_notified_through = Some(at);
        let change = match milestone {
            Milestone::TrialEnded => {
                end_trial(&mut customer, at, ids)?;
                Change::TrialEnded
            }
            Milestone::Ending(days) => Change::Ending(days),
            Milestone::Expired if renew(product, &mut customer, at, ids)? => {
                renewed = true;
                Change::Renewed
            }
            Milestone::Expired => Change::Expired,
        };
        let event = EventRecord::new(change, product, &customer, now, host_now, settings, || {
            ids.next_uuid()
        });
        store.append_event(&event)?;
        product.customers[i] = customer;
        changed.insert(p);
    }
    Ok((logged, capped, renewed))
}

/// Ends `customer`'s free trial at `at`: a contract taken with it starts, charged its quote,
/// its quantities the entitlements until its end.
fn end_trial(
    customer: &mut Customer,
    at: Instant,
    ids: &mut dyn IdSource,
) -> Result<(), ServiceError> {
    customer.free_trial = false;
    let Some(amount) = customer.trial_charge.take() else {
        return Ok(());
    };
    if let (Some(choice), Some(end)) = (&customer.contract, customer.ends_at) {
        customer.entitlements = choice.entitlements(end);
    }
    let hex = random_hex(ids, 25).map_err(ServiceError::internal)?;
    customer.charges.push(Charge {
        id: format!("ch-{hex}"),
        revision: 1,
        amount,
        at,
        purchase_order_reference: None,
        payment_request_id: None,
    });
    Ok(())
}

/// Renews `customer`'s contract at its end `at` when it renews (`Offer::renewal_of`: its
/// buyer opted in, its offer has a renewal term and still prices what it chose): a new
/// agreement of the same license, for as long and as many units from `at`, charged at the
/// offer's prices then. Returns whether it renewed.
fn renew(
    product: &Product,
    customer: &mut Customer,
    at: Instant,
    ids: &mut dyn IdSource,
) -> Result<bool, ServiceError> {
    let (Some(pricing), Some(choice)) = (
        Offer::renewal_of(product, customer),
        customer.contract.clone(),
    ) else {
        return Ok(false);
    };
    let hex = random_hex(ids, 64).map_err(ServiceError::internal)?;
    let id = format!("agmt-{}", &hex[..25])
        .parse()
        .map_err(ServiceError::internal)?;
    let end = choice.end(at);
    customer.supersede(Supersession::Renewed, at, id);
    customer.ends_at = Some(end);
    customer.entitlements = choice.entitlements(end);
    customer.charges.push(Charge {
        id: format!("ch-{}", &hex[25..50]),
        revision: 1,
        amount: pricing.charge(&choice).to_string(),
        at,
        purchase_order_reference: None,
        payment_request_id: None,
    });
    Ok(true)
}

/// The customers of `product` whose milestones are notified: the agreements of a
/// concurrent-agreements product.
fn agreements(product: &Product) -> impl Iterator<Item = usize> + '_ {
    let concurrent = product.integration == Integration::ConcurrentAgreements;
    (0..product.customers.len())
        .filter(move |&i| concurrent && rules::agreement_id(&product.customers[i]).is_some())
}
