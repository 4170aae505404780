//! The awsJson1_1 front door: which operation (`X-Amz-Target`), who calls (SigV4 scope),
//! the body size rule, and the encoding of every answer, success or error.
//!
//! Layer: protocol. The checks run in this order: authentication, body size, target, JSON.
//! The target's prefix selects the service (`AWSMPMeteringService` or
//! `AWSMPEntitlementService`); an operation the named service lacks is unknown.

use serde_json::{Map, Value};

use super::http::{HttpRequest, HttpResponse};
use super::json::parse_body;
use super::sigv4::{self, Signed};
use crate::error::{ErrorKind, ServiceError};

pub use super::operation::{Operation, Service};

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
pub const METERING_PREFIX: &str = "AWSMPMeteringService";
/// Requests must be smaller than 1 MB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request that passed the front door.
pub struct AwsCall {
    pub operation: Operation,
    pub signed: Signed,
    pub input: Map<String, Value>,
}

/// Authenticates (reading the signature, then `authenticate` checking it), sizes, routes
/// and parses an awsJson1_1 request.
pub fn admit(
    req: &HttpRequest,
    authenticate: impl FnOnce(&Signed) -> Result<(), ServiceError>,
) -> Result<AwsCall, ServiceError> {
    let signed = sigv4::read(req)?;
    authenticate(&signed)?;
    // The target is read before the size check only to pick the service's error kind; an
    // unknown target is still reported after an oversized body, as before.
    let target = operation(req.header("x-amz-target"));
    let service = target.as_ref().map_or(Service::Metering, |op| op.service());
    check_body_size(&req.body, service)?;
    let operation = target?;
    let input = parse_body(&req.body)?;
    Ok(AwsCall {
        operation,
        signed,
        input,
    })
}

/// Refuses bodies of 1 MB or more with the service's invalid-input error.
pub fn check_body_size(body: &[u8], service: Service) -> Result<(), ServiceError> {
    if body.len() < MAX_BODY_BYTES {
        return Ok(());
    }
    Err(body_too_large(body.len(), service))
}

/// The error for a body of `len` bytes (1 MB or more), also used before a body is read.
pub fn body_too_large(len: usize, service: Service) -> ServiceError {
    ServiceError::new(
        service.invalid_input(),
        format!(
            "1 validation error detected: the request body has {len} bytes; requests must be smaller than 1 MB ({MAX_BODY_BYTES} bytes)"
        ),
    )
}

/// The service an `X-Amz-Target` names (Metering when it names none), to pick its errors.
pub fn service_of(target: Option<&str>) -> Service {
    operation(target).map_or(Service::Metering, |op| op.service())
}

fn operation(target: Option<&str>) -> Result<Operation, ServiceError> {
    let unknown = |what: String| {
        Err(ServiceError::new(
            ErrorKind::UnknownOperationException,
            what,
        ))
    };
    let Some(target) = target.map(str::trim).filter(|t| !t.is_empty()) else {
        return unknown(
            "Missing X-Amz-Target header: expected AWSMPMeteringService.<Operation> or AWSMPEntitlementService.<Operation>".into(),
        );
    };
    let Some((prefix, name)) = target.split_once('.') else {
        return unknown(format!("Unknown operation {target}"));
    };
    let Some(service) = Service::from_shape_name(prefix) else {
        return unknown(format!(
            "Unknown operation {target}: this endpoint serves {METERING_PREFIX} and {}",
            Service::Entitlement.shape_name()
        ));
    };
    match Operation::of(service, name) {
        Some(op) => Ok(op),
        None => unknown(format!("Unknown operation {target}")),
    }
}

/// A success: 200 with the output structure.
pub fn ok(output: &Value, request_id: &str) -> HttpResponse {
    HttpResponse::new(200, CONTENT_TYPE, output.to_string())
        .with_header("x-amzn-RequestId", request_id)
}

/// An error: status, `x-amzn-ErrorType` and `__type` with the same short name, and `message`.
pub fn error(e: &ServiceError, request_id: &str) -> HttpResponse {
    let body = serde_json::json!({ "__type": e.kind.name(), "message": e.message });
    HttpResponse::new(e.status(), CONTENT_TYPE, body.to_string())
        .with_header("x-amzn-ErrorType", e.kind.name())
        .with_header("x-amzn-RequestId", request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: Option<&str>, body: &str) -> HttpRequest {
        let mut headers = vec![
            (
                "authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=test/20261128/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=x".to_string(),
            ),
            ("x-amz-date".to_string(), "20261128T000000Z".to_string()),
        ];
        if let Some(t) = target {
            headers.push(("X-AMZ-TARGET".to_string(), t.to_string()));
        }
        HttpRequest {
            method: "POST".into(),
            path: "/".into(),
            headers,
            body: body.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    fn admit_any(r: &HttpRequest) -> Result<AwsCall, ServiceError> {
        admit(r, |_| Ok(()))
    }

    fn kind<T>(r: Result<T, ServiceError>) -> ErrorKind {
        r.err().unwrap().kind
    }

    #[test]
    fn targets_route_to_operations_case_insensitively_by_header_name() {
        let call = admit_any(&req(Some("AWSMPMeteringService.MeterUsage"), "{}")).unwrap();
        assert_eq!(call.operation, Operation::MeterUsage);
        assert_eq!(call.signed.caller.region, "us-east-1");
    }

    #[test]
    fn missing_unknown_and_foreign_targets_are_unknown_operations() {
        for t in [
            None,
            Some(""),
            Some("MeterUsage"),
            Some("AWSMPMeteringService.Nope"),
            Some("AWSMPEntitlementService.MeterUsage"),
            Some("AWSMPMeteringService.GetEntitlements"),
            Some("AWSMPEntitlementService.Nope"),
            Some("awsmpmeteringservice.MeterUsage"),
        ] {
            assert_eq!(
                kind(admit_any(&req(t, "{}"))),
                ErrorKind::UnknownOperationException,
                "{t:?}"
            );
        }
    }

    #[test]
    fn the_entitlement_prefix_selects_the_entitlement_service() {
        let call = admit_any(&req(Some("AWSMPEntitlementService.GetEntitlements"), "{}")).unwrap();
        assert_eq!(call.operation, Operation::GetEntitlements);
    }

    #[test]
    fn oversized_entitlement_requests_are_invalid_parameters() {
        let big = format!("{{\"ProductCode\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            kind(admit_any(&req(
                Some("AWSMPEntitlementService.GetEntitlements"),
                &big
            ))),
            ErrorKind::InvalidParameterException
        );
        assert_eq!(
            kind(admit_any(&req(Some("Nope.Nope"), &big))),
            ErrorKind::ValidationException,
            "an unknown target still reports the size first"
        );
    }

    #[test]
    fn bodies_of_1_mb_or_more_are_validation_errors() {
        let big = format!("{{\"ProductCode\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            kind(admit_any(&req(
                Some("AWSMPMeteringService.MeterUsage"),
                &big
            ))),
            ErrorKind::ValidationException
        );
        let fits = format!("{{\"P\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES - 20));
        assert!(admit_any(&req(Some("AWSMPMeteringService.MeterUsage"), &fits)).is_ok());
    }

    #[test]
    fn authentication_is_checked_before_routing() {
        let mut r = req(Some("Nope.Nope"), "{");
        r.headers.retain(|(n, _)| n != "authorization");
        assert_eq!(
            kind(admit_any(&r)),
            ErrorKind::MissingAuthenticationTokenException
        );
    }

    #[test]
    fn errors_carry_the_same_name_in_header_and_body() {
        let e = ServiceError::new(ErrorKind::ThrottlingException, "Rate exceeded");
        let r = error(&e, "rid");
        assert_eq!(r.status, 400);
        assert_eq!(r.header("x-amzn-ErrorType"), Some("ThrottlingException"));
        assert_eq!(r.header("x-amzn-RequestId"), Some("rid"));
        assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
        assert_eq!(
            r.json_body(),
            serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
        );
        let r = error(&ServiceError::internal("boom"), "rid");
        assert_eq!(r.status, 500);
        assert!(!String::from_utf8_lossy(&r.body).contains("boom"));
    }
}
