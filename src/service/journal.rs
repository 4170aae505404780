//! The request journal's entry for one AWS call: what the front door read of it and what
//! the namespace answered.

use serde_json::{Map, Value};

use super::FrontDoor;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::ops::Dispatched;
use crate::protocol::awsjson::Operation;
use crate::protocol::http::HttpRequest;
use crate::protocol::sigv4::Caller;
use crate::store::journal::{
    clipped, customers_named, kept_body, JournalCaller, JournalEntry, JournalError,
};

/// Everything `aws()` learnt of a call by the time it answered.
pub(super) struct Call<'a> {
    pub req: &'a HttpRequest,
    pub request_id: &'a str,
    pub received_at: Instant,
    pub namespace_time: Option<Instant>,
    /// The signature's caller, once the signature could be read.
    pub caller: Option<Caller>,
    pub verified: bool,
    pub kept: Kept,
}

/// What the front door that answered a call tells of it.
pub(super) struct Kept {
    /// The protocol's name (`awsJson1_1`, `rpcv2Cbor`, …).
    pub protocol: &'static str,
    /// Whether the request's JSON body alone bounds the decoded input (four times its size
    /// at most), so a small one need not be measured.
    pub bounded_by_body: bool,
    /// Whether a refused call's body is kept as the text it sent.
    pub keep_refused_text: bool,
    /// The operation the request names, admitted or not.
    pub operation: Option<String>,
    /// The decoded input, once the front door admitted the call.
    pub input: Option<Map<String, Value>>,
    pub status: u16,
    pub answer: Result<Dispatched, JournalError>,
}

impl JournalError {
    /// An error answer as the journal keeps it (its message clipped).
    pub(super) fn of(code: &str, message: &str) -> JournalError {
        JournalError {
            code: code.to_string(),
            message: clipped(message, MAX_MESSAGE_BYTES).to_string(),
        }
    }
}

impl From<ServiceError> for JournalError {
    fn from(e: ServiceError) -> JournalError {
        JournalError::of(e.kind.name(), &e.message)
    }
}

pub(super) fn entry(call: Call<'_>) -> JournalEntry {
    let kept = call.kept;
    let input = kept.input;
    let product_code = input
        .as_ref()
        .and_then(|i| i.get("ProductCode"))
        .and_then(Value::as_str)
        .map(name);
    let customers = input.as_ref().map(customers_named).unwrap_or_default();
    // JSON read and written again grows by at most about 4x (numbers such as 9e15); CBOR more.
    let sent_json = kept.bounded_by_body.then(|| call.req.body.len() * 4);
    let request = if let Some(input) = input {
        Some(kept_body(Value::Object(input), sent_json))
    } else {
        // Not admitted (a malformed body, an unknown operation): the text as sent, if any.
        std::str::from_utf8(&call.req.body)
            .ok()
            .filter(|text| !text.is_empty() && kept.keep_refused_text)
            .map(|text| kept_body(Value::String(text.to_string()), None))
    };
    let (response, error, records_written) = match kept.answer {
        Ok(d) => (Some(kept_body(d.output, None)), None, d.records_written),
        Err(e) => (None, Some(e), Vec::new()),
    };
    JournalEntry {
        seq: 0,
        request_id: call.request_id.to_string(),
        received_at: call.received_at,
        namespace_time: call.namespace_time,
        protocol: kept.protocol.to_string(),
        operation: kept.operation.map(|o| name(&o)),
        caller: call
            .caller
            .map(|c| JournalCaller {
                identity: Some(name(c.identity())),
                access_key_id: Some(name(&c.access_key_id)),
                region: Some(name(&c.region)),
                session: c.session.clone(),
            })
            .unwrap_or_default(),
        signature_verified: call.verified,
        product_code,
        customers,
        request,
        status: kept.status,
        error,
        response,
        records_written,
    }
}

/// The longest name (product, customer, caller) an entry keeps: the model's names are at most
/// 255 characters, so only a call that fails its own validation is cut.
const MAX_NAME_BYTES: usize = 256;
const MAX_MESSAGE_BYTES: usize = 2048;

fn name(text: &str) -> String {
    clipped(text, MAX_NAME_BYTES).to_string()
}

/// The operation a call that was not admitted names (its target, or its path), if it is one
/// of the Metering or Entitlement Service.
pub(super) fn named_operation(req: &HttpRequest, door: FrontDoor) -> Option<String> {
    let name = match door {
        FrontDoor::AwsJson => req.header("x-amz-target")?.rsplit('.').next()?,
        FrontDoor::RpcV2Cbor => req.path.rsplit('/').next()?,
    };
    Operation::named(name).map(|op| op.name().to_string())
}
