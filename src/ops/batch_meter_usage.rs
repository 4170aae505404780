//! BatchMeterUsage: up to 25 usage records of one product, sent by the seller (SaaS).
//!
//! The whole request is checked before anything is written: structure and constraints,
//! tags and allocations, the product (from `ProductCode` or from the records' licenses),
//! then each record's dimension, customer, license and time window. Any failure rejects
//! the whole batch; otherwise each record gets `Success`, `DuplicateRecord` or
//! `CustomerNotSubscribed`, in order, so the first of two records for one key wins. A queued
//! fault (see `faults`) can leave the last records in `UnprocessedRecords` instead.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{json, Map, Value};

use super::meter_usage::ledger_allocations;
use super::shapes::{self, echo_record, required_string};
use super::{decide_usage, known_product, ledger_key, Call, Dispatched, UsageDecision};
use crate::domain::allocation::{check_allocations, Allocation, QuantityForm};
use crate::domain::catalogue::{Customer, Integration, Product};
use crate::domain::constraints::{
    is_account_id, is_license_arn, Violations, ACCOUNT_ID_PATTERN, LICENSE_ARN_PATTERN,
};
use crate::domain::ids::IdSource;
use crate::domain::quantity::Quantity;
use crate::domain::settings::UnknownCustomerPolicy;
use crate::domain::time::Instant;
use crate::domain::window;
use crate::error::{err, phrased_err, ErrorKind, ServiceError};
use crate::protocol::json::{element_path, structure_element, Structure, WireTimestamp};
use crate::protocol::operation::Operation;
use crate::store::{Store, UsageEntry};

pub use super::shapes::MAX_BATCH_RECORDS as MAX_RECORDS;

/// One decoded usage record.
#[derive(Debug)]
pub struct UsageRecord {
    pub path: String,
    pub timestamp: WireTimestamp,
    /// `None` when absent or empty (the Rust SDK always sends `""`).
    pub customer_identifier: Option<String>,
    pub customer_aws_account_id: Option<String>,
    pub license_arn: Option<String>,
    pub dimension: String,
    pub quantity: Quantity,
    pub form: QuantityForm,
    pub allocations: Option<(Vec<Allocation>, String)>,
    /// The record as received, for `Results[].UsageRecord`.
    pub echo: Value,
}

#[derive(Debug)]
pub struct BatchMeterUsageRequest {
    /// `None` when absent or empty: the product then comes from the records' licenses.
    pub product_code: Option<String>,
    pub records: Vec<UsageRecord>,
}

impl BatchMeterUsageRequest {
    pub fn decode(input: &Map<String, Value>) -> Result<Self, ServiceError> {
        let s = Structure::new(input, "");
        let mut v = Violations::default();
        let product = s.string("ProductCode")?;
        if let Some(p) = &product {
            shapes::check_product_code(p, &mut v);
        }
        let list = s.list("UsageRecords")?;
        let mut records = Vec::new();
        match &list {
            None => v.missing(&s.path_of("UsageRecords")),
            Some(list) if list.value.len() > MAX_RECORDS => {
                // Too many records: that is the answer; the records themselves are not read.
                v.list_size(list.value.len(), &list.path, 0, MAX_RECORDS);
            }
            Some(list) => {
                for (i, item) in list.value.iter().enumerate() {
                    let path = element_path(&list.path, i);
                    let r = structure_element(item, &path)?;
                    if let Some(record) = decode_record(&r, &path, &mut v)? {
                        records.push(record);
                    }
                }
            }
        }
        v.into_result()?;
        Ok(BatchMeterUsageRequest {
            product_code: product
                .map(|p| p.value.to_string())
                .filter(|p| !p.is_empty()),
            records,
        })
    }
}

fn decode_record(
    r: &Structure<'_>,
    path: &str,
    v: &mut Violations,
) -> Result<Option<UsageRecord>, ServiceError> {
    let timestamp = r.timestamp("Timestamp")?;
    if timestamp.is_none() {
        v.missing(&r.path_of("Timestamp"));
    }
    let customer = r.string("CustomerIdentifier")?;
    if let Some(c) = &customer {
        v.length(c.value, &c.path, 0, Some(255));
    }
    let dimension = required_string(r, "Dimension", v)?;
    if let Some(d) = &dimension {
        v.length(d.value, &d.path, 1, Some(255));
    }
    let (quantity, form) = shapes::quantity(r, "Quantity", "QuantityAsDecimal", v)?;
    let allocations = shapes::allocations(r, v)?;
    let account = r.string("CustomerAWSAccountId")?;
    if let Some(a) = &account {
        v.length(a.value, &a.path, 1, Some(255));
        if !a.value.is_empty() {
            v.pattern(a.value, &a.path, is_account_id(a.value), ACCOUNT_ID_PATTERN);
        }
    }
    let license = r.string("LicenseArn")?;
    if let Some(l) = &license {
        v.pattern(
            l.value,
            &l.path,
            is_license_arn(l.value),
            LICENSE_ARN_PATTERN,
        );
    }
    let (Some(timestamp), Some(dimension)) = (timestamp, dimension) else {
        return Ok(None);
    };
    Ok(Some(UsageRecord {
        path: path.to_string(),
        timestamp,
        customer_identifier: customer
            .map(|c| c.value.to_string())
            .filter(|c| !c.is_empty()),
        customer_aws_account_id: account.map(|a| a.value.to_string()),
        license_arn: license.map(|l| l.value.to_string()),
        dimension: dimension.value.to_string(),
        quantity,
        form,
        allocations,
        echo: echo_record(r.map()),
    }))
}

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
    let results: Vec<Value> = processed
        .iter()
        .zip(outcomes)
        .map(|(record, outcome)| {
            let mut result = Map::new();
            result.insert("UsageRecord".into(), record.echo.clone());
            if let Some(id) = outcome.metering_record_id {
                result.insert("MeteringRecordId".into(), Value::String(id));
            }
            result.insert("Status".into(), Value::String(outcome.status.into()));
            Value::Object(result)
        })
        .collect();
    let unprocessed: Vec<&Value> = unprocessed.iter().map(|r| &r.echo).collect();
    Ok(Dispatched {
        output: json!({ "Results": results, "UnprocessedRecords": unprocessed }),
        records_written,
    })
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

/// The product of the batch: the request's `ProductCode`, or the one product that holds
/// every record's license. `None` only for an empty batch without a product code.
fn product_of<S: Store + ?Sized>(
    req: &BatchMeterUsageRequest,
    namespace: &str,
    store: &S,
) -> Result<Option<Rc<Product>>, ServiceError> {
    if let Some(code) = &req.product_code {
        return named_product(req, code, namespace, store).map(Some);
    }
    if req.records.is_empty() {
        return Ok(None);
    }
    let products = store.products()?;
    let mut found: Option<&Product> = None;
    for r in &req.records {
        let product = product_of_license(r, &products)?;
        match found {
            Some(p) if p.product_code != product.product_code => {
                return Err(ServiceError::phrased(
                    ErrorKind::InvalidLicenseException,
                    format!(
                        "all records of a request must be for one product: '{}' is a license of {}, an earlier record's of {}",
                        r.path, product.product_code, p.product_code
                    )),
                )
            }
            _ => found = Some(product),
        }
    }
    Ok(found.cloned().map(Rc::new))
}

/// The product the request names, which no record's license may contradict.
fn named_product<S: Store + ?Sized>(
    req: &BatchMeterUsageRequest,
    code: &str,
    namespace: &str,
    store: &S,
) -> Result<Rc<Product>, ServiceError> {
    let product = known_product(store, namespace, code)?;
    for r in &req.records {
        if let Some(license) = &r.license_arn {
            let elsewhere = product.customer_by_license(license).is_none()
                && store
                    .products()?
                    .iter()
                    .any(|p| p.customer_by_license(license).is_some());
            if elsewhere {
                return Err(ServiceError::phrased(
                    ErrorKind::InvalidLicenseException,
                    format!("LicenseArn '{license}' at '{}' is a license of another product than {code}", r.path),
                ));
            }
        }
    }
    Ok(product)
}

/// The product that holds a record's license, for a request without a product code.
fn product_of_license<'p>(
    r: &UsageRecord,
    products: &'p [Product],
) -> Result<&'p Product, ServiceError> {
    let Some(license) = &r.license_arn else {
        return err(
            ErrorKind::InvalidProductCodeException,
            format!(
                "ProductCode is required unless every record has a LicenseArn ('{}' has none)",
                r.path
            ),
        );
    };
    products
        .iter()
        .find(|p| p.customer_by_license(license).is_some())
        .ok_or_else(|| {
            ServiceError::phrased(
                ErrorKind::InvalidLicenseException,
                format!(
                    "LicenseArn '{license}' at '{}' is not a license of any product",
                    r.path
                ),
            )
        })
}

/// The subscribed customer a record is for; `None` when unknown (per-record
/// `CustomerNotSubscribed`, unless the namespace asks for the exception).
fn customer_of(
    r: &UsageRecord,
    product: &Product,
    call: &Call<'_>,
) -> Result<Option<Customer>, ServiceError> {
    check_customer_names(r, product)?;
    let (id, account) = (
        r.customer_identifier.as_deref(),
        r.customer_aws_account_id.as_deref(),
    );
    if let Some(license) = r.license_arn.as_deref() {
        let holder = product.customer_by_license(license);
        let matches = holder.is_some_and(|c| {
            (account.is_none() || c.customer_aws_account_id.as_deref() == account)
                && (id.is_none() || c.customer_identifier.as_deref() == id)
        });
        if !matches {
            return Err(ServiceError::phrased(
                ErrorKind::InvalidLicenseException,
                format!(
                    "LicenseArn '{license}' at '{}' is not a license of that customer for product {}",
                    r.path, product.product_code
                )),
            );
        }
        return Ok(holder.cloned());
    }
    let found = match (id, account) {
        (Some(id), _) => product.customer_by_identifier(id),
        (None, Some(account)) => product.customer_by_account(account),
        (None, None) => None,
    };
    if found.is_none()
        && call.settings.unknown_customer == UnknownCustomerPolicy::InvalidCustomerIdentifier
    {
        return phrased_err(
            ErrorKind::InvalidCustomerIdentifierException,
            format!(
                "the customer at '{}' is not a customer of product {}",
                r.path, product.product_code
            ),
        );
    }
    Ok(found.cloned())
}

/// The record names its customer as the product's integration asks: by an identifier or
/// an account (not both), and with a license under concurrent agreements.
fn check_customer_names(r: &UsageRecord, product: &Product) -> Result<(), ServiceError> {
    let invalid_customer = |m: String| err(ErrorKind::InvalidCustomerIdentifierException, m);
    let (id, account, license) = (
        r.customer_identifier.as_deref(),
        r.customer_aws_account_id.as_deref(),
        r.license_arn.as_deref(),
    );
    if id.is_some() && account.is_some() {
        return invalid_customer(format!(
            "CustomerIdentifier and CustomerAWSAccountId are mutually exclusive ('{}')",
            r.path
        ));
    }
    if id.is_none() && account.is_none() {
        return invalid_customer(format!(
            "'{}' names no customer: set CustomerAWSAccountId (or CustomerIdentifier for legacy integrations)",
            r.path
        ));
    }
    if product.integration == Integration::ConcurrentAgreements {
        if id.is_some() {
            return invalid_customer(format!(
                "Product {} uses concurrent agreements: identify the customer at '{}' with CustomerAWSAccountId and LicenseArn, not CustomerIdentifier",
                product.product_code, r.path
            ));
        }
        if license.is_none() {
            return Err(ServiceError::phrased(
                ErrorKind::InvalidLicenseException,
                format!(
                    "product {} uses concurrent agreements: '{}' needs a LicenseArn",
                    product.product_code, r.path
                ),
            ));
        }
    }
    Ok(())
}
