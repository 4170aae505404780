//! Injected faults: the namespace's queue of failures to play on coming calls, so a seller
//! can test retry code against the errors the real services send under load (throttling,
//! internal errors, a disabled API) and against `UnprocessedRecords`.
//!
//! A fault names an operation and either a modeled error of that operation or a number of
//! batch records to leave unprocessed, and how many calls it applies to. Faults are kept
//! in the store (meta `faults`) and taken by the single writer, so each one fires exactly
//! `count` times.

use serde::{Deserialize, Serialize};

use super::modeled_errors;
use super::shapes::MAX_BATCH_RECORDS as MAX_RECORDS;
use crate::error::{ErrorKind, ServiceError};
use crate::protocol::awsjson::Operation;
use crate::store::{documents, Store};

impl documents::Document for Vec<Fault> {
    const KEY: &'static str = documents::FAULTS;
}
const MAX_QUEUED: usize = 100;
const MAX_COUNT: u32 = 10_000;
/// A fault's message is kept until it fires: its size is bounded like the queue's length.
const MAX_MESSAGE_BYTES: usize = 1024;

/// One queued fault, as `POST /_mock/faults` takes it and `GET /_mock/faults` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// Any operation of the mock.
    pub operation: String,
    /// A modeled error of the operation to answer with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// BatchMeterUsage only: how many of the last records to leave unprocessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unprocessed_records: Option<usize>,
    /// How many calls it applies to (the remaining count when listed).
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// What a fault does to the call it fires on.
#[derive(Debug, PartialEq, Eq)]
pub enum Injected {
    Error(ServiceError),
    Unprocessed(usize),
}

impl Fault {
    /// Checks a fault from the control API; the message says what to fix.
    pub fn check(&self) -> Result<(), String> {
        let Some(operation) = Operation::named(&self.operation) else {
            return Err(format!(
                "operation '{}' must be MeterUsage, BatchMeterUsage, RegisterUsage, ResolveCustomer or GetEntitlements",
                self.operation
            ));
        };
        if !(1..=MAX_COUNT).contains(&self.count) {
            return Err(format!("count must be 1-{MAX_COUNT}"));
        }
        if self
            .message
            .as_ref()
            .is_some_and(|m| m.len() > MAX_MESSAGE_BYTES)
        {
            return Err(format!("message must be at most {MAX_MESSAGE_BYTES} bytes"));
        }
        match (&self.error, self.unprocessed_records) {
            (Some(error), None) => {
                let allowed = modeled_errors(operation);
                if !allowed.iter().any(|k| k.name() == error) {
                    let names: Vec<&str> = allowed.iter().map(|k| k.name()).collect();
                    return Err(format!(
                        "error '{error}' is not an error of {} (its model lists: {})",
                        self.operation,
                        names.join(", ")
                    ));
                }
                Ok(())
            }
            (None, Some(n))
                if operation == Operation::BatchMeterUsage && (1..=MAX_RECORDS).contains(&n) =>
            {
                Ok(())
            }
            (None, Some(_)) => Err(format!(
                "unprocessedRecords (1-{MAX_RECORDS}) applies to BatchMeterUsage only"
            )),
            _ => Err("give either error or unprocessedRecords".into()),
        }
    }

    fn injected(&self) -> Option<Injected> {
        if let Some(n) = self.unprocessed_records {
            return Some(Injected::Unprocessed(n));
        }
        let name = self.error.as_deref()?;
        let Some(&kind) = ErrorKind::ALL.iter().find(|k| k.name() == name) else {
            // Only stored data changed behind the mock's back can get here: say so.
            return Some(Injected::Error(ServiceError::new(
                ErrorKind::InternalServiceErrorException,
                format!("the queued fault names an error this mock does not know: '{name}'"),
            )));
        };
        // AWS's own words for the error, as the real service would answer it.
        let message = self.message.clone().unwrap_or_else(|| {
            kind.aws_phrase()
                .unwrap_or("Injected by the namespace's fault queue.")
                .to_string()
        });
        Some(Injected::Error(ServiceError::new(kind, message)))
    }
}

/// The queued faults, oldest first.
pub fn queued<S: Store + ?Sized>(store: &S) -> Result<Vec<Fault>, ServiceError> {
    documents::load(store)
}

fn save<S: Store + ?Sized>(store: &mut S, faults: &[Fault]) -> Result<(), ServiceError> {
    documents::save(store, &faults.to_vec())
}

/// Queues a checked fault.
/// Queues a fault: the inner `Err` refuses the fault (the caller's input), the outer one is
/// a failure of the store (never the caller's fault).
pub fn push<S: Store + ?Sized>(
    store: &mut S,
    fault: Fault,
) -> Result<Result<Vec<Fault>, String>, ServiceError> {
    if let Err(reason) = fault.check() {
        return Ok(Err(reason));
    }
    let mut faults = queued(store)?;
    if faults.len() >= MAX_QUEUED {
        return Ok(Err(format!("at most {MAX_QUEUED} faults can be queued")));
    }
    faults.push(fault);
    save(store, &faults)?;
    Ok(Ok(faults))
}

pub fn clear<S: Store + ?Sized>(store: &mut S) -> Result<(), ServiceError> {
    save(store, &[])
}

/// Takes one firing of the oldest fault of `operation` that `wanted` accepts.
pub fn take<S: Store + ?Sized>(
    store: &mut S,
    operation: Operation,
    wanted: impl Fn(&Fault) -> bool,
) -> Result<Option<Injected>, ServiceError> {
    let mut faults = queued(store)?;
    let Some(i) = faults
        .iter()
        .position(|f| f.operation == operation.name() && wanted(f))
    else {
        return Ok(None);
    };
    let injected = faults[i].injected();
    if faults[i].count <= 1 {
        faults.remove(i);
    } else {
        faults[i].count -= 1;
    }
    save(store, &faults)?;
    Ok(injected)
}

/// An error fault for the call, if one is queued.
pub fn take_error<S: Store + ?Sized>(
    store: &mut S,
    operation: Operation,
) -> Result<(), ServiceError> {
    match take(store, operation, |f| f.error.is_some())? {
        Some(Injected::Error(e)) => Err(e),
        _ => Ok(()),
    }
}

/// How many records the coming batch leaves unprocessed (0 when no fault is queued).
pub fn take_unprocessed<S: Store + ?Sized>(store: &mut S) -> Result<usize, ServiceError> {
    match take(store, Operation::BatchMeterUsage, |f| {
        f.unprocessed_records.is_some()
    })? {
        Some(Injected::Unprocessed(n)) => Ok(n),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn fault(json: serde_json::Value) -> Fault {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn faults_fire_count_times_in_order_for_their_operation_only() {
        let mut s = MemoryStore::new();
        push(&mut s, fault(serde_json::json!({"operation": "MeterUsage", "error": "ThrottlingException", "count": 2}))).unwrap().unwrap();
        push(&mut s, fault(serde_json::json!({"operation": "MeterUsage", "error": "InternalServiceErrorException"}))).unwrap().unwrap();
        assert_eq!(take_error(&mut s, Operation::BatchMeterUsage), Ok(()));
        let kinds: Vec<_> = (0..4)
            .map(|_| {
                take_error(&mut s, Operation::MeterUsage)
                    .err()
                    .map(|e| e.kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                Some(ErrorKind::ThrottlingException),
                Some(ErrorKind::ThrottlingException),
                Some(ErrorKind::InternalServiceErrorException),
                None
            ]
        );
        assert!(queued(&s).unwrap().is_empty());
    }

    #[test]
    fn unprocessed_faults_wait_for_a_batch_that_gets_that_far() {
        let mut s = MemoryStore::new();
        push(
            &mut s,
            fault(serde_json::json!({"operation": "BatchMeterUsage", "unprocessedRecords": 3})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(take_error(&mut s, Operation::BatchMeterUsage), Ok(()));
        assert_eq!(take_unprocessed(&mut s), Ok(3));
        assert_eq!(take_unprocessed(&mut s), Ok(0));
    }

    #[test]
    fn only_modeled_errors_of_the_operation_can_be_injected() {
        use serde_json::json;
        for bad in [
            json!({"operation": "MeterUsage", "error": "DisabledApiException"}),
            json!({"operation": "BatchMeterUsage", "error": "DuplicateRequestException"}),
            json!({"operation": "MeterUsage", "error": "ValidationException"}),
            json!({"operation": "RegisterUsage", "error": "InvalidTokenException"}),
            json!({"operation": "Nope", "error": "ThrottlingException"}),
            json!({"operation": "MeterUsage", "unprocessedRecords": 1}),
            json!({"operation": "BatchMeterUsage", "unprocessedRecords": 26}),
            json!({"operation": "BatchMeterUsage"}),
            json!({"operation": "BatchMeterUsage", "error": "ThrottlingException", "unprocessedRecords": 1}),
            json!({"operation": "BatchMeterUsage", "error": "ThrottlingException", "count": 0}),
        ] {
            assert!(fault(bad.clone()).check().is_err(), "{bad}");
        }
        for ok in [
            json!({"operation": "BatchMeterUsage", "error": "DisabledApiException"}),
            json!({"operation": "RegisterUsage", "error": "ThrottlingException"}),
            json!({"operation": "RegisterUsage", "error": "PlatformNotSupportedException"}),
            json!({"operation": "ResolveCustomer", "error": "ThrottlingException"}),
        ] {
            assert!(fault(ok.clone()).check().is_ok(), "{ok}");
        }
        for error in [
            "InvalidParameterException",
            "ThrottlingException",
            "InternalServiceErrorException",
        ] {
            let f = fault(json!({"operation": "GetEntitlements", "error": error}));
            assert!(f.check().is_ok(), "{error}");
        }
        for bad in [
            json!({"operation": "GetEntitlements", "error": "DisabledApiException"}),
            json!({"operation": "GetEntitlements", "unprocessedRecords": 1}),
            json!({"operation": "MeterUsage", "error": "InvalidParameterException"}),
            json!({"operation": "MeterUsage", "error": "ThrottlingException", "message": "x".repeat(1025)}),
        ] {
            assert!(fault(bad.clone()).check().is_err(), "{bad}");
        }
        let longest = json!({"operation": "MeterUsage", "error": "ThrottlingException", "message": "x".repeat(1024)});
        assert!(fault(longest).check().is_ok());
    }

    #[test]
    fn stored_faults_with_a_zero_count_or_an_unknown_error_do_not_panic_or_vanish_silently() {
        let mut store = MemoryStore::new();
        store
            .put_meta(
                "faults",
                r#"[{"operation":"MeterUsage","error":"NoSuchError","count":0}]"#,
            )
            .unwrap();
        let e = take_error(&mut store, Operation::MeterUsage).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InternalServiceErrorException);
        assert!(e.message.contains("NoSuchError"));
        assert!(queued(&store).unwrap().is_empty());
    }
}
