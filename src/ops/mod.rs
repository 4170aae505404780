//! Operations: one module per AWS operation (Metering's and the Entitlement Service's
//! GetEntitlements), each a plain function from a decoded request,
//! the call's context and a store to an output or a `ServiceError`. Every decision and its
//! write happen inside one synchronous call, which is what makes them atomic in the Durable
//! Object. Never imports the runtime.

pub mod agreement;
pub mod batch_meter_usage;
pub mod deployment;
pub mod faults;
pub mod get_entitlements;
pub mod meter_usage;
pub mod register_usage;
pub mod resolve_customer;
pub mod shapes;

use std::rc::Rc;

use serde_json::{Map, Value};

use crate::domain::allocation::TagRules;
use crate::domain::catalogue::Product;
use crate::domain::constraints::aws_len;
use crate::domain::ids::IdSource;
use crate::domain::quantity::Quantity;
use crate::domain::settings::Settings;
use crate::domain::time::Instant;
use crate::error::{err, ErrorKind, ServiceError};
use crate::protocol::awsjson::Operation;
use crate::protocol::sigv4::Caller;
use crate::store::{Store, UsageEntry};

/// Everything an operation knows about its call besides the input.
pub struct Call<'a> {
    pub caller: &'a Caller,
    /// The namespace's name and incarnation (a new one after every reset).
    pub namespace: &'a str,
    pub incarnation: &'a str,
    /// The namespace's current time (its clock setting applied).
    pub now: Instant,
    /// The host's time, when webhook deliveries fall due.
    pub host_now: Instant,
    pub settings: &'a Settings,
    pub request_id: &'a str,
    /// The `X-Mock-Task-Id` header: names the instance, task or pod a MeterUsage or
    /// RegisterUsage call comes from, over its credential session.
    pub task_header: Option<&'a str>,
    /// The deployment's `MAX_CUSTOMERS_PER_PRODUCT` (an accepted agreement adds a customer).
    pub customers_per_product: usize,
}

/// The longest `X-Mock-Task-Id` (a `Nonce`'s limit).
pub const MAX_TASK_ID_LENGTH: usize = 255;

impl Call<'_> {
    /// The `X-Mock-Task-Id` the call names its instance or task by (an empty one names none).
    pub fn named_task(&self) -> Option<&str> {
        self.task_header.filter(|t| !t.is_empty())
    }

    /// The instance, task or pod the call comes from (docs/decisions.md): the account (or a
    /// wildcard caller's key) with the `X-Mock-Task-Id` header when given, else with its
    /// credential session, else alone. The forms cannot collide: an access key id holds no
    /// `/`, a session is 32 hex digits, a named task follows `/task/`.
    pub fn instance(&self) -> Result<String, ServiceError> {
        match self.named_task() {
            Some(task) if aws_len(task) > MAX_TASK_ID_LENGTH => err(
                ErrorKind::ValidationException,
                format!("The X-Mock-Task-Id header must have length less than or equal to {MAX_TASK_ID_LENGTH}"),
            ),
            Some(task) => Ok(format!("{}/task/{task}", self.caller.identity())),
            None => Ok(self.caller.instance()),
        }
    }

    pub fn tag_rules(&self) -> TagRules {
        TagRules {
            charset: self.settings.tag_charset,
            max_distinct_keys_per_record: self.settings.max_distinct_tag_keys_per_record,
        }
    }
}

/// The errors the service model lists for each operation.
pub fn modeled_errors(operation: Operation) -> &'static [ErrorKind] {
    use ErrorKind::*;
    match operation {
        Operation::MeterUsage => &[
            InternalServiceErrorException,
            InvalidProductCodeException,
            InvalidUsageDimensionException,
            InvalidTagException,
            InvalidUsageAllocationsException,
            InvalidEndpointRegionException,
            TimestampOutOfBoundsException,
            DuplicateRequestException,
            IdempotencyConflictException,
            ThrottlingException,
            CustomerNotEntitledException,
        ],
        Operation::BatchMeterUsage => &[
            InternalServiceErrorException,
            InvalidProductCodeException,
            InvalidUsageDimensionException,
            InvalidTagException,
            InvalidUsageAllocationsException,
            InvalidCustomerIdentifierException,
            TimestampOutOfBoundsException,
            ThrottlingException,
            DisabledApiException,
            InvalidLicenseException,
        ],
        Operation::RegisterUsage => &[
            InvalidProductCodeException,
            InvalidRegionException,
            InvalidPublicKeyVersionException,
            PlatformNotSupportedException,
            CustomerNotEntitledException,
            ThrottlingException,
            InternalServiceErrorException,
            DisabledApiException,
        ],
        Operation::ResolveCustomer => &[
            InvalidTokenException,
            ExpiredTokenException,
            ThrottlingException,
            InternalServiceErrorException,
            DisabledApiException,
        ],
        Operation::GetEntitlements => &[
            InvalidParameterException,
            ThrottlingException,
            InternalServiceErrorException,
        ],
    }
}

/// The product a request names, or `InvalidProductCodeException` naming the namespace (the
/// usual cause is an endpoint still pointing at another one).
pub fn known_product<S: Store + ?Sized>(
    store: &S,
    namespace: &str,
    code: &str,
) -> Result<Rc<Product>, ServiceError> {
    store.product(code)?.ok_or_else(|| {
        ServiceError::phrased(
            ErrorKind::InvalidProductCodeException,
            format!("'{code}' is not a product of the namespace '{namespace}' (check the endpoint URL: /ns/<name> selects the namespace)"),
        )
    })
}

/// The ledger key of a usage: its parts and hour as a JSON array, so no value (dimensions,
/// identifiers and access keys may contain any character) can run into the next part.
pub fn ledger_key(parts: &[&str], hour: Instant) -> String {
    serde_json::json!([parts, hour.millis()]).to_string()
}

/// What to do with a usage whose ledger key may already be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum UsageDecision {
    /// Nothing recorded yet for this key: record it.
    Record,
    /// Already recorded with the same quantity: an idempotent repeat of that record.
    Repeat { metering_record_id: String },
    /// Already recorded with another quantity: the original stands.
    Conflict { metering_record_id: String },
}

/// The once-per-key rule shared by both operations and both stores.
pub fn decide_usage(existing: Option<&UsageEntry>, quantity: Quantity) -> UsageDecision {
    match existing {
        None => UsageDecision::Record,
        Some(e) if e.quantity == quantity => UsageDecision::Repeat {
            metering_record_id: e.metering_record_id.clone(),
        },
        Some(e) => UsageDecision::Conflict {
            metering_record_id: e.metering_record_id.clone(),
        },
    }
}

/// What an operation whose model lists it answers when it is not available in the Region
/// the call was signed for (a disabled operation, or a product not offered there).
pub fn disabled_in_region() -> ServiceError {
    ServiceError::new(
        ErrorKind::DisabledApiException,
        "The API is disabled in the Region.",
    )
}

/// An operation's answer, and the ledger records it wrote (what the request journal shows).
#[derive(Debug, PartialEq)]
pub struct Dispatched {
    pub output: Value,
    pub records_written: Vec<String>,
}

impl From<Value> for Dispatched {
    /// The answer of an operation that writes no usage record.
    fn from(output: Value) -> Self {
        Dispatched {
            output,
            records_written: Vec::new(),
        }
    }
}

/// Runs an operation on its decoded input, unless a queued fault answers for it.
pub fn dispatch<S: Store + ?Sized>(
    operation: Operation,
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Result<Dispatched, ServiceError> {
    faults::take_error(store, operation)?;
    if call
        .settings
        .disabled_operations
        .disables(operation.name(), &call.caller.region)
    {
        return Err(disabled_in_region());
    }
    match operation {
        Operation::MeterUsage => meter_usage::run(input, call, store, ids),
        Operation::BatchMeterUsage => batch_meter_usage::run(input, call, store, ids),
        Operation::ResolveCustomer => resolve_customer::run(input, call, store).map(Into::into),
        Operation::GetEntitlements => get_entitlements::run(input, call, store).map(Into::into),
        Operation::RegisterUsage => register_usage::run(input, call, store, ids).map(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::operation::Operation as Op;

    fn entry(q: &str) -> UsageEntry {
        UsageEntry {
            metering_record_id: "id".into(),
            ledger_key: "k".into(),
            operation: Op::MeterUsage,
            product_code: "p".into(),
            customer_identifier: None,
            customer_aws_account_id: None,
            license_arn: None,
            dimension: "d".into(),
            hour: Instant(0),
            timestamp: Instant(0),
            quantity: Quantity::parse_decimal(q).unwrap(),
            allocations: vec![],
            caller: "c".into(),
            session: None,
            task: None,
            region: "r".into(),
            received_at: Instant(0),
            request_id: "x".into(),
        }
    }

    #[test]
    fn ledger_keys_cannot_collide_through_separators_in_values() {
        let hour = Instant(0);
        assert_ne!(
            ledger_key(&["p", "a", "x|d"], hour),
            ledger_key(&["p", "a|x", "d"], hour)
        );
        assert_ne!(
            ledger_key(&["p", "a\",", "d"], hour),
            ledger_key(&["p", "a", "\",d"], hour)
        );
        assert_eq!(ledger_key(&["p", "a"], hour), ledger_key(&["p", "a"], hour));
    }

    #[test]
    fn decisions_compare_quantities_exactly() {
        let q = |s| Quantity::parse_decimal(s).unwrap();
        assert_eq!(decide_usage(None, q("1")), UsageDecision::Record);
        assert_eq!(
            decide_usage(Some(&entry("3")), q("3.0")),
            UsageDecision::Repeat {
                metering_record_id: "id".into()
            }
        );
        assert_eq!(
            decide_usage(Some(&entry("3")), q("3.000001")),
            UsageDecision::Conflict {
                metering_record_id: "id".into()
            }
        );
    }
}
