//! MeterUsage: one hourly usage report from a buyer's running software (AMI, container).
//!
//! Order of checks: structure and constraints (`ValidationException`), `ClientToken` replay
//! or conflict (first of the rules, as docs/decisions.md says), tags and allocations,
//! product, dimension, Region, entitlement, time window, the once-per-hour rule, the write.
//! A `DryRun` makes every check but the client token's and writes nothing.
//!
//! "Once per hour" is per instance, task or pod (AWS's words): per `Caller::instance`, the
//! caller's credential session when it signs with one.

use std::rc::Rc;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::shapes::{self, required_string};
use super::{decide_usage, known_product, ledger_key, Call, Dispatched, UsageDecision};
use crate::domain::allocation::{check_allocations, Allocation, QuantityForm};
use crate::domain::catalogue::Product;
use crate::domain::constraints::Violations;
use crate::domain::ids::IdSource;
use crate::domain::quantity::Quantity;
use crate::domain::settings::DryRunResponse;
use crate::domain::time::Instant;
use crate::domain::window;
use crate::error::{err, phrased_err, ErrorKind, ServiceError};
use crate::protocol::json::{Structure, WireTimestamp};
use crate::protocol::operation::Operation;
use crate::store::{ClientTokenEntry, LedgerAllocation, Store, UsageEntry};

/// A decoded, constraint-checked MeterUsage request.
#[derive(Debug)]
pub struct MeterUsageRequest {
    pub product_code: String,
    pub timestamp: WireTimestamp,
    pub dimension: String,
    pub quantity: Quantity,
    pub form: QuantityForm,
    pub dry_run: bool,
    pub allocations: Option<(Vec<Allocation>, String)>,
    pub client_token: Option<String>,
}

impl MeterUsageRequest {
    pub fn decode(input: &Map<String, Value>) -> Result<Self, ServiceError> {
        let s = Structure::new(input, "");
        let mut v = Violations::default();
        let product = shapes::required_product_code(&s, &mut v)?;
        let timestamp = s.timestamp("Timestamp")?;
        if timestamp.is_none() {
            v.missing(&s.path_of("Timestamp"));
        }
        let dimension = required_string(&s, "UsageDimension", &mut v)?;
        if let Some(d) = &dimension {
            v.length(d.value, &d.path, 1, Some(255));
        }
        let (quantity, form) =
            shapes::quantity(&s, "UsageQuantity", "UsageQuantityAsDecimal", &mut v)?;
        let dry_run = s.boolean("DryRun")?.unwrap_or(false);
        let allocations = shapes::allocations(&s, &mut v)?;
        let client_token = s.string("ClientToken")?;
        if let Some(t) = &client_token {
            v.length(t.value, &t.path, 1, Some(64));
        }
        v.into_result()?;
        match (product, timestamp, dimension) {
            (Some(p), Some(t), Some(d)) => Ok(MeterUsageRequest {
                product_code: p.value.to_string(),
                timestamp: t,
                dimension: d.value.to_string(),
                quantity,
                form,
                dry_run,
                allocations,
                client_token: client_token.map(|t| t.value.to_string()),
            }),
            _ => Err(ServiceError::internal("required members checked above")),
        }
    }

    /// The parameters that make two requests with the same `ClientToken` "the same".
    fn fingerprint(&self) -> String {
        let allocations: Vec<Value> = self
            .allocations
            .iter()
            .flat_map(|(list, _)| list)
            .map(|a| {
                json!([
                    a.quantity.map(|q| q.to_string()),
                    a.tags
                        .as_ref()
                        .map(|t| t.iter().map(|t| [&t.key, &t.value]).collect::<Vec<_>>())
                ])
            })
            .collect();
        json!([
            self.product_code,
            self.timestamp.at.millis(),
            self.dimension,
            self.quantity.to_string(),
            allocations,
            self.dry_run
        ])
        .to_string()
    }
}

pub fn run<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Result<Dispatched, ServiceError> {
    let req = MeterUsageRequest::decode(input)?;
    if req.dry_run {
        return dry_run(&req, call, store);
    }
    let metered = meter_usage(&req, call, store, ids)?;
    Ok(Dispatched {
        output: shapes::output(MeterUsageResult {
            metering_record_id: Some(&metered.id),
        })?,
        records_written: metered.written.then_some(metered.id).into_iter().collect(),
    })
}

/// MeterUsage's answer, the model's `MeterUsageResult` (empty for a dry run set to answer so).
#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct MeterUsageResult<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    metering_record_id: Option<&'a str>,
}

/// The record a MeterUsage call answers with, and whether the call wrote it.
pub struct Metered {
    pub id: String,
    pub written: bool,
}

/// `DryRun`: the checks a permissions-and-input check makes (tags and allocations, product,
/// dimension, Region, entitlement, time window) and the once-per-hour rule of the caller's
/// own instance, never
/// the client token's, and nothing recorded. What would succeed answers `DryRunOperation` as
/// the record id (the API reference's "the request returns DryRunOperation"), or by setting
/// an empty 200 or the `DryRunOperation` error.
fn dry_run<S: Store + ?Sized>(
    req: &MeterUsageRequest,
    call: &Call<'_>,
    store: &S,
) -> Result<Dispatched, ServiceError> {
    let instance = call.instance()?;
    let product = check(req, call, store)?;
    let (hour, key) = hour_key(req, &instance, &product);
    if let UsageDecision::Conflict { .. } =
        decide_usage(store.usage_by_key(hour, &key)?.as_ref(), req.quantity)
    {
        return Err(duplicate_request(req, hour));
    }
    match call.settings.dry_run_response {
        DryRunResponse::Success => Ok(shapes::output(MeterUsageResult {
            metering_record_id: Some(DRY_RUN_RECORD_ID),
        })?
        .into()),
        DryRunResponse::Empty => Ok(shapes::output(MeterUsageResult::default())?.into()),
        DryRunResponse::Error => Err(ServiceError {
            status_override: Some(call.settings.dry_run_status),
            ..ServiceError::new(
                ErrorKind::DryRunOperation,
                "Request would have succeeded, but DryRun flag is set.",
            )
        }),
    }
}

/// The `MeteringRecordId` of a dry run that would succeed.
pub const DRY_RUN_RECORD_ID: &str = "DryRunOperation";

/// The usage hour of a request and its once-per-hour key: (product, the caller's instance,
/// dimension, hour).
fn hour_key(req: &MeterUsageRequest, instance: &str, product: &Product) -> (Instant, String) {
    let hour = req.timestamp.at.hour_floor();
    let key = ledger_key(
        &[
            "MeterUsage",
            &product.product_code,
            instance,
            &req.dimension,
        ],
        hour,
    );
    (hour, key)
}

fn duplicate_request(req: &MeterUsageRequest, hour: Instant) -> ServiceError {
    ServiceError::phrased(
        ErrorKind::DuplicateRequestException,
        format!("dimension '{}', hour {}", req.dimension, hour.to_rfc3339()),
    )
}

/// Every check of a MeterUsage but the client token and the once-per-hour rule; answers the
/// product.
fn check<S: Store + ?Sized>(
    req: &MeterUsageRequest,
    call: &Call<'_>,
    store: &S,
) -> Result<Rc<Product>, ServiceError> {
    if let Some((allocations, path)) = &req.allocations {
        check_allocations(req.quantity, req.form, allocations, path, call.tag_rules())?;
    }
    let product = known_product(store, call.namespace, &req.product_code)?;
    if !product.has_dimension(&req.dimension) {
        return err(
            ErrorKind::InvalidUsageDimensionException,
            format!(
                "UsageDimension {} is invalid for ProductCode {} (its dimensions: {})",
                req.dimension,
                product.product_code,
                product.dimensions.join(", ")
            ),
        );
    }
    if !product.runs_in(&call.caller.region) {
        return phrased_err(
            ErrorKind::InvalidEndpointRegionException,
            format!(
                "product {} does not run in {}; call the endpoint of the Region your software runs in ({})",
                product.product_code,
                call.caller.region,
                product.regions.join(", ")
            ),
        );
    }
    if let Some(account) = &call.caller.account {
        if !product.entitles(account, call.now) {
            return phrased_err(
                ErrorKind::CustomerNotEntitledException,
                format!(
                    "account {account} is not entitled to product {}",
                    product.product_code
                ),
            );
        }
    }
    if let Err(reason) = window::check_meter_usage(req.timestamp.at, call.now, call.settings) {
        return phrased_err(ErrorKind::TimestampOutOfBoundsException, reason);
    }
    Ok(product)
}

/// The ledger's entry for a new MeterUsage record: the caller's account is the customer.
fn ledger_entry(
    req: &MeterUsageRequest,
    product: &Product,
    hour: Instant,
    ledger_key: String,
    call: &Call<'_>,
    ids: &mut dyn IdSource,
) -> UsageEntry {
    UsageEntry {
        metering_record_id: ids.next_uuid(),
        ledger_key,
        operation: Operation::MeterUsage,
        product_code: product.product_code.to_string(),
        customer_identifier: None,
        customer_aws_account_id: call.caller.account.clone(),
        license_arn: None,
        dimension: req.dimension.clone(),
        hour,
        timestamp: req.timestamp.at,
        quantity: req.quantity,
        allocations: ledger_allocations(req.allocations.as_ref().map(|(a, _)| a.as_slice())),
        caller: call.caller.identity().to_string(),
        session: call.caller.session.clone(),
        task: call.named_task().map(str::to_string),
        region: call.caller.region.clone(),
        received_at: call.now,
        request_id: call.request_id.to_string(),
    }
}

/// Records the usage (or finds its earlier record).
pub fn meter_usage<S: Store + ?Sized>(
    req: &MeterUsageRequest,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Result<Metered, ServiceError> {
    let instance = call.instance()?;
    let fingerprint = req.fingerprint();
    if let Some(token) = &req.client_token {
        if let Some(seen) = store.client_token(&instance, token)? {
            if seen.fingerprint == fingerprint {
                return Ok(Metered {
                    id: seen.metering_record_id,
                    written: false,
                });
            }
            return phrased_err(
                ErrorKind::IdempotencyConflictException,
                format!("'{token}' was already used with different parameters"),
            );
        }
    }

    let product = check(req, call, store)?;

    let (hour, ledger_key) = hour_key(req, &instance, &product);
    let existing = store.usage_by_key(hour, &ledger_key)?;
    let id = match decide_usage(existing.as_ref(), req.quantity) {
        UsageDecision::Conflict { .. } => return Err(duplicate_request(req, hour)),
        UsageDecision::Repeat { metering_record_id } => Some(metering_record_id),
        UsageDecision::Record => None,
    };
    let written = id.is_none();
    let id = match id {
        Some(id) => id,
        None => {
            let entry = ledger_entry(req, &product, hour, ledger_key, call, ids);
            store.insert_usage(&entry)?;
            entry.metering_record_id
        }
    };
    if let Some(token) = &req.client_token {
        store.put_client_token(&ClientTokenEntry {
            caller: instance,
            token: token.clone(),
            fingerprint,
            metering_record_id: id.clone(),
        })?;
    }
    Ok(Metered { id, written })
}

/// Allocations as the ledger keeps them.
pub fn ledger_allocations(allocations: Option<&[Allocation]>) -> Vec<LedgerAllocation> {
    allocations
        .unwrap_or_default()
        .iter()
        .map(|a| LedgerAllocation {
            quantity: a.quantity.unwrap_or_default(),
            tags: a.tags.clone().unwrap_or_default(),
        })
        .collect()
}
