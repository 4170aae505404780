//! MeterUsage: one hourly usage report from a buyer's running software (AMI, container).
//!
//! Order of checks: structure and constraints (`ValidationException`), `ClientToken` replay
//! or conflict (first of the rules, as 08-decisions.md says), tags and allocations, product,
//! dimension, Region, entitlement, time window, the once-per-hour rule, `DryRun`, the write.

use std::rc::Rc;

use serde_json::{json, Map, Value};

use super::shapes::{self, required_string};
use super::{decide_usage, known_product, ledger_key, Call, Dispatched, UsageDecision};
use crate::domain::allocation::{check_allocations, Allocation, QuantityForm};
use crate::domain::catalogue::Product;
use crate::domain::constraints::Violations;
use crate::domain::ids::IdSource;
use crate::domain::quantity::Quantity;
use crate::domain::settings::DryRunResponse;
use crate::domain::window;
use crate::error::{err, ErrorKind, ServiceError};
use crate::protocol::json::{Structure, WireTimestamp};
use crate::store::{ClientTokenEntry, LedgerAllocation, Operation, Store, UsageEntry};

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
        return dry_run(&req, call, store).map(Into::into);
    }
    let metered = meter_usage(&req, call, store, ids)?;
    Ok(Dispatched {
        output: json!({ "MeteringRecordId": metered.id }),
        records_written: metered.written.then_some(metered.id).into_iter().collect(),
    })
}

/// The record a MeterUsage call answers with, and whether the call wrote it.
pub struct Metered {
    pub id: String,
    pub written: bool,
}

/// `DryRun`: the checks a permissions-and-input check makes (product, dimension, Region,
/// entitlement, time window), never the client-token or once-per-hour rules, and nothing
/// recorded. What would succeed answers 200 with no `MeteringRecordId` (real sellers'
/// start-up code treats any error as fatal), or `DryRunOperation` by setting.
fn dry_run<S: Store + ?Sized>(
    req: &MeterUsageRequest,
    call: &Call<'_>,
    store: &S,
) -> Result<Value, ServiceError> {
    check(req, call, store)?;
    match call.settings.dry_run_response {
        DryRunResponse::Success => Ok(json!({})),
        DryRunResponse::Error => Err(ServiceError {
            status_override: Some(call.settings.dry_run_status),
            ..ServiceError::new(
                ErrorKind::DryRunOperation,
                "Request would have succeeded, but DryRun flag is set.",
            )
        }),
    }
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
                "Dimension '{}' is not a dimension of product {} (dimensions: {})",
                req.dimension,
                product.product_code,
                product.dimensions.join(", ")
            ),
        );
    }
    if !product.runs_in(&call.caller.region) {
        return err(
            ErrorKind::InvalidEndpointRegionException,
            format!(
                "Product {} does not run in {}; call the endpoint of the Region your software runs in ({})",
                product.product_code,
                call.caller.region,
                product.regions.join(", ")
            ),
        );
    }
    if let Some(account) = &call.caller.account {
        if !product.entitles(account, call.now) {
            return err(
                ErrorKind::CustomerNotEntitledException,
                format!(
                    "Account {account} is not entitled to product {}",
                    product.product_code
                ),
            );
        }
    }
    if let Err(reason) = window::check_meter_usage(req.timestamp.at, call.now, call.settings) {
        return err(ErrorKind::TimestampOutOfBoundsException, reason);
    }
    Ok(product)
}

/// Records the usage (or finds its earlier record).
pub fn meter_usage<S: Store + ?Sized>(
    req: &MeterUsageRequest,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Result<Metered, ServiceError> {
    let caller = call.caller.identity();
    let fingerprint = req.fingerprint();
    if let Some(token) = &req.client_token {
        if let Some(seen) = store.client_token(caller, token)? {
            if seen.fingerprint == fingerprint {
                return Ok(Metered {
                    id: seen.metering_record_id,
                    written: false,
                });
            }
            return err(
                ErrorKind::IdempotencyConflictException,
                format!("ClientToken '{token}' was already used with different parameters"),
            );
        }
    }

    let product = check(req, call, store)?;

    let hour = req.timestamp.at.hour_floor();
    let ledger_key = ledger_key(
        &["MeterUsage", &product.product_code, caller, &req.dimension],
        hour,
    );
    let existing = store.usage_by_key(hour, &ledger_key)?;
    let id = match decide_usage(existing.as_ref(), req.quantity) {
        UsageDecision::Conflict { .. } => {
            return err(
                ErrorKind::DuplicateRequestException,
                format!(
                    "Usage for dimension '{}' in the hour {} was already recorded with another quantity",
                    req.dimension,
                    hour.to_rfc3339()
                ),
            )
        }
        UsageDecision::Repeat { metering_record_id } => Some(metering_record_id),
        UsageDecision::Record => None,
    };
    let written = id.is_none();
    let id = match id {
        Some(id) => id,
        None => {
            let entry = UsageEntry {
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
                allocations: ledger_allocations(
                    req.allocations.as_ref().map(|(a, _)| a.as_slice()),
                ),
                caller: caller.to_string(),
                region: call.caller.region.clone(),
                received_at: call.now,
                request_id: call.request_id.to_string(),
            };
            store.insert_usage(&entry)?;
            entry.metering_record_id
        }
    };
    if let Some(token) = &req.client_token {
        store.put_client_token(&ClientTokenEntry {
            caller: caller.to_string(),
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
