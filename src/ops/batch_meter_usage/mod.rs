//! BatchMeterUsage: up to 25 usage records of one product, sent by the seller (SaaS).
//!
//! The whole request is checked before anything is written: structure and constraints,
//! tags and allocations, the product (from `ProductCode` or from the records' licenses),
//! then each record's dimension, customer, license and time window. Any failure rejects
//! the whole batch; otherwise each record gets `Success`, `DuplicateRecord` or
//! `CustomerNotSubscribed`, in order, so the first of two records for one key wins. A queued
//! fault (see `faults`) can leave the last records in `UnprocessedRecords` instead.

mod names;
mod request;

use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::meter_usage::ledger_allocations;
use super::{decide_usage, ledger_key, Call, Dispatched, UsageDecision};
use crate::domain::allocation::check_allocations;
use crate::domain::catalogue::{Customer, Product};
use crate::domain::ids::IdSource;
use crate::domain::time::Instant;
use crate::domain::window;
use crate::error::{err, phrased_err, ErrorKind, ServiceError};
use crate::protocol::operation::Operation;
use crate::store::{Store, UsageEntry};
use names::{customer_of, product_of};
pub use request::{BatchMeterUsageRequest, UsageRecord, MAX_RECORDS};

pub fn run<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Result<Dispatched, ServiceError> {
    let req = BatchMeterUsageRequest::decode(input)?;
    let outcomes = batch_meter_usage(&req, call, store, ids)?;
    let records_written = outcomes
        .iter()
        .filter(|o| o.written)
        .filter_map(|o| o.metering_record_id.clone())
        .collect();
    let (processed, unprocessed) = req.records.split_at(outcomes.len().min(req.records.len()));
    let results = processed
        .iter()
        .zip(outcomes)
        .map(|(record, outcome)| UsageRecordResult {
            usage_record: &record.echo,
            metering_record_id: outcome.metering_record_id,
            status: outcome.status,
        })
        .collect();
    let unprocessed_records = unprocessed.iter().map(|r| &r.echo).collect();
    Ok(Dispatched {
        output: super::shapes::output(BatchMeterUsageResult {
            results,
            unprocessed_records,
        })?,
        records_written,
    })
}

/// BatchMeterUsage's answer, the model's `BatchMeterUsageResult`: each record as sent.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchMeterUsageResult<'a> {
    results: Vec<UsageRecordResult<'a>>,
    unprocessed_records: Vec<&'a Value>,
}

/// The model's `UsageRecordResult`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UsageRecordResult<'a> {
    usage_record: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    metering_record_id: Option<String>,
    status: &'static str,
}

/// The answer for one record.
#[derive(Debug, PartialEq, Eq)]
pub struct RecordOutcome {
    pub status: &'static str,
    pub metering_record_id: Option<String>,
    /// Whether this call wrote the record (not a repeat of an earlier one).
    pub written: bool,
}

impl RecordOutcome {
    fn of(status: &'static str, metering_record_id: Option<String>, written: bool) -> Self {
        RecordOutcome {
            status,
            metering_record_id,
            written,
        }
    }
}

/// A record ready to decide: its customer, hour and ledger key; `None` when its customer is
/// not subscribed.
type Keyed = Option<(Customer, Instant, String)>;

/// Checks the whole batch, then records each record; returns one outcome per processed
/// record (all of them, unless a fault leaves the last ones unprocessed).
pub fn batch_meter_usage<S: Store + ?Sized>(
    req: &BatchMeterUsageRequest,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Result<Vec<RecordOutcome>, ServiceError> {
    let Some((product, customers)) = check_batch(req, call, store)? else {
        return Ok(Vec::new());
    };
    // A queued `unprocessedRecords` fault leaves the last records of a valid batch untouched.
    let unprocessed = super::faults::take_unprocessed(store)?;
    let processed = req.records.len().saturating_sub(unprocessed);
    let keyed: Vec<Keyed> = req
        .records
        .iter()
        .zip(customers)
        .take(processed)
        .map(|(r, customer)| {
            let customer = customer.filter(|c| c.accepts_usage(call.now))?;
            let hour = r.timestamp.at.hour_floor();
            let (kind, identity) = customer.ledger_identity(product.integration);
            let parts = [
                "BatchMeterUsage",
                &product.product_code,
                kind,
                identity,
                &r.dimension,
            ];
            let key = ledger_key(&parts, hour);
            Some((customer, hour, key))
        })
        .collect();
    record_all(req, keyed, &product, call, store, ids)
}

/// Every check of the batch, before anything is written: its product and each record's
/// customer (`None` for an empty batch without a product code).
#[allow(clippy::type_complexity)]
fn check_batch<S: Store + ?Sized>(
    req: &BatchMeterUsageRequest,
    call: &Call<'_>,
    store: &S,
) -> Result<Option<(Rc<Product>, Vec<Option<Customer>>)>, ServiceError> {
    for r in &req.records {
        if let Some((allocations, path)) = &r.allocations {
            check_allocations(r.quantity, r.form, allocations, path, call.tag_rules())?;
        }
    }
    let Some(product) = product_of(req, call.namespace, store)? else {
        return Ok(None);
    };
    if let Some(caller) = product.foreign_seller_call(call.caller.account.as_deref()) {
        return phrased_err(
            ErrorKind::InvalidProductCodeException,
            format!(
                "{} is not a product of the calling account {caller}",
                product.product_code
            ),
        );
    }
    if !product.runs_in(&call.caller.region) {
        return Err(super::disabled_in_region());
    }
    let mut customers = Vec::with_capacity(req.records.len());
    for r in &req.records {
        if !product.has_dimension(&r.dimension) {
            return err(
                ErrorKind::InvalidUsageDimensionException,
                format!(
                    "UsageDimension {} is invalid for ProductCode {} (at '{}'; its dimensions: {})",
                    r.dimension,
                    product.product_code,
                    r.path,
                    product.dimensions.join(", ")
                ),
            );
        }
        customers.push(customer_of(r, &product, call)?);
        if let Err(reason) = window::check_batch(r.timestamp.at, call.now, call.settings) {
            return phrased_err(
                ErrorKind::TimestampOutOfBoundsException,
                format!(
                    "{reason} (record '{}'); no record of this request was processed",
                    r.path
                ),
            );
        }
    }
    Ok(Some((product, customers)))
}

/// Decides each keyed record against the ledger (looked up at once) and writes the new ones.
fn record_all<S: Store + ?Sized>(
    req: &BatchMeterUsageRequest,
    keyed: Vec<Keyed>,
    product: &Product,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Result<Vec<RecordOutcome>, ServiceError> {
    let lookups: Vec<(Instant, &str)> = keyed
        .iter()
        .flatten()
        .map(|(_, hour, key)| (*hour, key.as_str()))
        .collect();
    // What the ledger holds for these keys, and what this batch adds (a record repeated
    // within the batch meets its first occurrence here).
    let mut known: HashMap<String, UsageEntry> = store
        .usage_by_keys(&lookups)?
        .into_iter()
        .map(|e| (e.ledger_key.clone(), e))
        .collect();
    let mut new_entries = Vec::new();
    let mut outcomes = Vec::with_capacity(keyed.len());
    for (r, keyed) in req.records.iter().zip(keyed) {
        let Some((customer, hour, ledger_key)) = keyed else {
            outcomes.push(RecordOutcome::of("CustomerNotSubscribed", None, false));
            continue;
        };
        outcomes.push(match decide_usage(known.get(&ledger_key), r.quantity) {
            UsageDecision::Record => {
                let entry = ledger_entry(r, &customer, hour, ledger_key, product, call, ids);
                let id = entry.metering_record_id.clone();
                new_entries.push(entry.clone());
                known.insert(entry.ledger_key.clone(), entry);
                RecordOutcome::of("Success", Some(id), true)
            }
            UsageDecision::Repeat { metering_record_id } => {
                RecordOutcome::of("Success", Some(metering_record_id), false)
            }
            UsageDecision::Conflict { metering_record_id } => {
                RecordOutcome::of("DuplicateRecord", Some(metering_record_id), false)
            }
        });
    }
    store.insert_usages(&new_entries)?;
    Ok(outcomes)
}

/// The ledger's entry for a new record.
fn ledger_entry(
    r: &UsageRecord,
    customer: &Customer,
    hour: Instant,
    ledger_key: String,
    product: &Product,
    call: &Call<'_>,
    ids: &mut dyn IdSource,
) -> UsageEntry {
    UsageEntry {
        metering_record_id: ids.next_uuid(),
        ledger_key,
        operation: Operation::BatchMeterUsage,
        product_code: product.product_code.to_string(),
        customer_identifier: customer.customer_identifier.clone().map(String::from),
        customer_aws_account_id: customer.customer_aws_account_id.clone().map(String::from),
        license_arn: customer.license_arn.clone().map(String::from),
        dimension: r.dimension.clone(),
        hour,
        timestamp: r.timestamp.at,
        quantity: r.quantity,
        allocations: ledger_allocations(r.allocations.as_ref().map(|(a, _)| a.as_slice())),
        caller: call.caller.identity().to_string(),
        session: None,
        task: None,
        region: call.caller.region.clone(),
        received_at: call.now,
        request_id: call.request_id.to_string(),
    }
}
