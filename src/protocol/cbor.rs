//! The Smithy RPC v2 CBOR front door (`rpc-v2-cbor`), which the Rust and Go SDKs speak to
//! the Entitlement Service: `POST {prefix}/service/<Service>/operation/<Operation>` with a
//! CBOR body, `Smithy-Protocol: rpc-v2-cbor` on request and response.
//!
//! Layer: protocol. Checks run in the awsJson door's order: authentication (SigV4, same
//! rules, same signing name), body size, routing (POST, no `X-Amz-Target`/`X-Amzn-Target`,
//! the `Smithy-Protocol` header, a service and operation that speak this protocol), the
//! `Content-Type`, the body. Routing failures are `UnknownOperationException` and bodies that
//! are not CBOR `SerializationException`, as on the awsJson door (docs/decisions.md).
//!
//! The body is decoded with `ciborium` into the same JSON map the awsJson door produces, so an
//! operation reads one input shape whatever the wire. Its JSON output is encoded back to CBOR
//! with the type JSON cannot carry restored: timestamps become tag 1 around a float, which is
//! what the Rust SDK's decoder requires (it reads the tagged value as an `f64`). Errors are a
//! CBOR map `{__type: "<namespace>#<Name>", message}` with no `X-Amzn-ErrorType`.

use ciborium::Value as Cbor;
use serde_json::{Map, Number, Value};

use super::awsjson::{check_body_size, AwsCall};
use super::http::{HttpRequest, HttpResponse};
use super::operation::{Operation, Service};
use super::sigv4::{self, Signed};
use crate::error::{ErrorKind, ServiceError};

pub const CONTENT_TYPE: &str = "application/cbor";
pub const PROTOCOL_HEADER: &str = "Smithy-Protocol";
pub const PROTOCOL: &str = "rpc-v2-cbor";
pub const SERVICE_PREFIX: &str = "/service/";
/// rpc-v2-cbor bodies beyond this are refused: decoded CBOR costs far more memory per byte
/// than JSON (a byte can be a whole item), and a GetEntitlements request is a few hundred
/// bytes, so a small cap keeps one request from crowding the isolate the namespaces share.
pub const MAX_CBOR_BODY_BYTES: usize = 64 * 1024;

/// CBOR tag 1: epoch-based date/time.
pub const EPOCH_TIME_TAG: u64 = 1;
/// The services whose models list rpc-v2-cbor (Metering's lists awsJson1_1 only).
const CBOR_SERVICES: [Service; 1] = [Service::Entitlement];

/// Whether a namespace-relative path is an rpc-v2-cbor route.
pub fn is_rpc_path(path: &str) -> bool {
    path.starts_with(SERVICE_PREFIX)
}

/// Authenticates (reading the signature, then `authenticate` checking it), sizes, routes and
/// decodes an rpc-v2-cbor request.
pub fn admit(
    req: &HttpRequest,
    authenticate: impl FnOnce(&Signed) -> Result<(), ServiceError>,
) -> Result<AwsCall, ServiceError> {
    let signed = sigv4::read(req)?;
    authenticate(&signed)?;
    let route = operation(req);
    let service = route
        .as_ref()
        .map_or(Service::Entitlement, |op| op.service());
    check_body_size(&req.body, service)?;
    if req.body.len() > MAX_CBOR_BODY_BYTES {
        return Err(ServiceError::new(
            service.invalid_input(),
            format!(
                "1 validation error detected: the request body has {} bytes; metering-mock accepts rpc-v2-cbor bodies of at most {MAX_CBOR_BODY_BYTES} bytes",
                req.body.len()
            ),
        ));
    }
    let operation = route?;
    check_content_type(req)?;
    let input = decode_body(&req.body)?;
    Ok(AwsCall {
        operation,
        signed,
        input,
    })
}

fn unknown(message: String) -> ServiceError {
    ServiceError::new(ErrorKind::UnknownOperationException, message)
}

fn serialization(message: String) -> ServiceError {
    ServiceError::new(ErrorKind::SerializationException, message)
}

fn operation(req: &HttpRequest) -> Result<Operation, ServiceError> {
    check_request_headers(req)?;
    let Some((service_segment, operation_segment)) = split_path(&req.path) else {
        return Err(unknown(format!(
            "No operation at {}: rpc-v2-cbor paths are /service/<Service>/operation/<Operation>",
            req.path
        )));
    };
    let Some(service) = service_named(service_segment) else {
        return Err(unknown(format!(
            "Unknown service {service_segment}: rpc-v2-cbor serves {} here",
            Service::Entitlement.shape_name()
        )));
    };
    Operation::of(service, operation_segment).ok_or_else(|| {
        unknown(format!(
            "Unknown operation {}.{operation_segment}",
            service.shape_name()
        ))
    })
}

/// The method and headers every rpc-v2-cbor request must have, whatever its service.
pub fn check_request_headers(req: &HttpRequest) -> Result<(), ServiceError> {
    if req.method != "POST" {
        return Err(unknown(format!(
            "rpc-v2-cbor requests use POST, not {}",
            req.method
        )));
    }
    // The spec makes servers reject these, so that a request meant for an awsJson route
    // cannot be replayed onto this one.
    if req.header("x-amz-target").is_some() || req.header("x-amzn-target").is_some() {
        return Err(unknown(
            "rpc-v2-cbor requests must not carry X-Amz-Target or X-Amzn-Target: the path names the operation".into(),
        ));
    }
    match req.header(PROTOCOL_HEADER).map(str::trim) {
        Some(PROTOCOL) => {}
        Some(other) => {
            return Err(unknown(format!(
                "Smithy-Protocol '{other}' is not served here: send Smithy-Protocol: {PROTOCOL}"
            )))
        }
        None => {
            return Err(unknown(format!(
            "Missing Smithy-Protocol header: rpc-v2-cbor requests send Smithy-Protocol: {PROTOCOL}"
        )))
        }
    }
    Ok(())
}

/// The service a request to `path` is answered for before its operation is known (its
/// errors are that service's): the one its path names, else the Entitlement Service, the
/// only one served over rpc-v2-cbor.
pub fn service_of_path(path: &str) -> Service {
    split_path(path)
        .and_then(|(segment, _)| service_named(segment))
        .unwrap_or(Service::Entitlement)
}

/// The rpc-v2-cbor service a path segment names: its shape name, bare or namespaced.
fn service_named(segment: &str) -> Option<Service> {
    CBOR_SERVICES.into_iter().find(|s| {
        segment == s.shape_name() || segment == format!("{}.{}", s.namespace(), s.shape_name())
    })
}

/// `/service/<service>/operation/<operation>` → (service, operation).
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let (service, rest) = path.strip_prefix(SERVICE_PREFIX)?.split_once('/')?;
    let operation = rest.strip_prefix("operation/")?;
    (!service.is_empty() && !operation.is_empty() && !operation.contains('/'))
        .then_some((service, operation))
}

/// A body must be declared as CBOR; a request without a body needs no `Content-Type`.
pub fn check_content_type(req: &HttpRequest) -> Result<(), ServiceError> {
    if req.body.is_empty() {
        return Ok(());
    }
    let media_type = req
        .header("content-type")
        .map(|v| v.split(';').next().unwrap_or_default().trim());
    match media_type {
        Some(t) if t.eq_ignore_ascii_case(CONTENT_TYPE) => Ok(()),
        Some(t) => Err(serialization(format!(
            "Content-Type '{t}' cannot be read here: rpc-v2-cbor request bodies are {CONTENT_TYPE}"
        ))),
        None => Err(serialization(format!(
            "Missing Content-Type: rpc-v2-cbor request bodies are {CONTENT_TYPE}"
        ))),
    }
}

/// Decodes a request body into the JSON map operations read; an empty body is `{}`.
pub fn decode_body(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    let mut rest = body;
    // ciborium bounds nesting (a recursion limit) and allocates by what it reads, not by the
    // lengths a header declares; `admit` bounds what it can read (MAX_CBOR_BODY_BYTES).
    let value: Cbor = ciborium::from_reader(&mut rest)
        .map_err(|e| serialization(format!("Malformed CBOR in request body: {e}")))?;
    if !rest.is_empty() {
        return Err(serialization(format!(
            "Malformed CBOR in request body: {} bytes follow the end of the top-level item",
            rest.len()
        )));
    }
    match to_json(value)? {
        Value::Object(map) => Ok(map),
        _ => Err(serialization(
            "The request body must be a CBOR map (the operation's input structure)".into(),
        )),
    }
}

/// A decoded CBOR item as the JSON value the awsJson door would have read.
fn to_json(value: Cbor) -> Result<Value, ServiceError> {
    Ok(match value {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Text(text) => Value::String(text),
        Cbor::Integer(i) => integer_json(i128::from(i)),
        Cbor::Float(f) => Value::Number(Number::from_f64(f).ok_or_else(|| {
            serialization(format!("The number {f} has no meaning for this service's members"))
        })?),
        Cbor::Array(items) => Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Cbor::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let Cbor::Text(key) = key else {
                    return Err(serialization(
                        "CBOR map keys must be text strings (member names or map keys)".into(),
                    ));
                };
                map.insert(key, to_json(value)?);
            }
            Value::Object(map)
        }
        // A timestamp: its epoch seconds, as awsJson carries them.
        Cbor::Tag(EPOCH_TIME_TAG, inner) if matches!(*inner, Cbor::Integer(_) | Cbor::Float(_)) => {
            to_json(*inner)?
        }
        Cbor::Tag(tag, _) => {
            return Err(serialization(format!(
                "CBOR tag {tag} is not used by this service's members (timestamps are tag 1 around a number)"
            )))
        }
        Cbor::Bytes(_) => {
            return Err(serialization(
                "CBOR byte strings are not used by this service's members".into(),
            ))
        }
        _ => return Err(serialization("An unsupported CBOR item".into())),
    })
}

/// Integers beyond i64 keep their sign by saturating, so range checks still report them.
fn integer_json(i: i128) -> Value {
    match (i64::try_from(i), u64::try_from(i)) {
        (Ok(signed), _) => Value::from(signed),
        (_, Ok(unsigned)) => Value::from(unsigned),
        _ => Value::from(i64::MIN),
    }
}

/// The members of an operation's output that the model types as timestamps (JSON carries
/// them as plain numbers).
fn timestamp_members(operation: Operation) -> &'static [&'static str] {
    match operation {
        Operation::GetEntitlements => &["ExpirationDate"],
        _ => &[],
    }
}

/// An operation's JSON output as CBOR: integers stay integers, doubles stay floats (the
/// SDKs read each with its own type), timestamps become tag 1 around a float.
fn to_cbor(value: &Value, timestamps: &[&str]) -> Cbor {
    match value {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => number_cbor(n),
        Value::String(text) => Cbor::Text(text.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(|v| to_cbor(v, timestamps)).collect()),
        Value::Object(map) => Cbor::Map(
            map.iter()
                .map(|(key, value)| {
                    let encoded = match value {
                        Value::Number(n) if timestamps.contains(&key.as_str()) => Cbor::Tag(
                            EPOCH_TIME_TAG,
                            Box::new(Cbor::Float(n.as_f64().unwrap_or_default())),
                        ),
                        _ => to_cbor(value, timestamps),
                    };
                    (Cbor::Text(key.clone()), encoded)
                })
                .collect(),
        ),
    }
}

pub fn number_cbor(n: &Number) -> Cbor {
    if let Some(i) = n.as_i64() {
        Cbor::Integer(i.into())
    } else if let Some(u) = n.as_u64() {
        Cbor::Integer(u.into())
    } else {
        Cbor::Float(n.as_f64().unwrap_or_default())
    }
}

pub fn encode(value: &Cbor) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    ciborium::into_writer(value, &mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

pub fn response(status: u16, body: Vec<u8>, request_id: &str) -> HttpResponse {
    HttpResponse::new(status, CONTENT_TYPE, body)
        .with_header(PROTOCOL_HEADER, PROTOCOL)
        .with_header("x-amzn-RequestId", request_id)
}

/// A success: 200 with the output structure.
pub fn ok(operation: Operation, output: &Value, request_id: &str) -> HttpResponse {
    match encode(&to_cbor(output, timestamp_members(operation))) {
        Ok(body) => response(200, body, request_id),
        Err(e) => error(&ServiceError::internal(e), request_id),
    }
}

/// An error: its status and `{__type, message}`, `__type` being the absolute shape id.
pub fn error(e: &ServiceError, request_id: &str) -> HttpResponse {
    let shape_id = format!("{}#{}", Service::Entitlement.namespace(), e.kind.name());
    let body = Cbor::Map(vec![
        (Cbor::Text("__type".into()), Cbor::Text(shape_id)),
        (Cbor::Text("message".into()), Cbor::Text(e.message.clone())),
    ]);
    // Encoding into memory cannot fail; should it, the status alone still tells the error.
    response(e.status(), encode(&body).unwrap_or_default(), request_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the Rust SDK sends for `GetEntitlements { ProductCode: "p" }`: an
    /// indefinite-length map.
    const RUST_SDK_BODY: &str = "bf6b50726f64756374436f64656170ff";

    fn hex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    fn cbor(value: &Cbor) -> Vec<u8> {
        encode(value).unwrap()
    }

    fn text(s: &str) -> Cbor {
        Cbor::Text(s.into())
    }

    fn req(path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> HttpRequest {
        let mut all = vec![
            (
                "authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=test/20261128/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=x".to_string(),
            ),
            ("x-amz-date".to_string(), "20261128T000000Z".to_string()),
        ];
        all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        HttpRequest {
            method: "POST".into(),
            path: path.into(),
            headers: all,
            body,
            ..Default::default()
        }
    }

    const PATH: &str = "/service/AWSMPEntitlementService/operation/GetEntitlements";
    const CBOR_HEADERS: [(&str, &str); 3] = [
        ("Smithy-Protocol", "rpc-v2-cbor"),
        ("Content-Type", "application/cbor"),
        ("Accept", "application/cbor"),
    ];

    fn admit_any(r: &HttpRequest) -> Result<AwsCall, ServiceError> {
        admit(r, |_| Ok(()))
    }

    fn kind<T>(r: Result<T, ServiceError>) -> ErrorKind {
        r.err().expect("an error").kind
    }

    #[test]
    fn the_rust_sdks_indefinite_map_decodes_to_its_input() {
        let call = admit_any(&req(PATH, &CBOR_HEADERS, hex(RUST_SDK_BODY))).unwrap();
        assert_eq!(call.operation, Operation::GetEntitlements);
        assert_eq!(Value::Object(call.input), json!({"ProductCode": "p"}));
    }

    #[test]
    fn both_service_segments_route_and_other_services_do_not() {
        let absolute = "/service/com.amazonaws.marketplaceentitlementservice.AWSMPEntitlementService/operation/GetEntitlements";
        assert!(admit_any(&req(absolute, &CBOR_HEADERS, vec![])).is_ok());
        for path in [
            "/service/AWSMPMeteringService/operation/MeterUsage",
            "/service/AWSMPEntitlementService/operation/MeterUsage",
            "/service/AWSMPEntitlementService/operation/com.amazonaws.marketplaceentitlementservice.GetEntitlements",
            "/service/other.AWSMPEntitlementService/operation/GetEntitlements",
            "/service/AWSMPEntitlementService/operation/GetEntitlements/",
            "/service/AWSMPEntitlementService/GetEntitlements",
            "/service//operation/GetEntitlements",
        ] {
            assert_eq!(
                kind(admit_any(&req(path, &CBOR_HEADERS, vec![]))),
                ErrorKind::UnknownOperationException,
                "{path}"
            );
        }
    }

    #[test]
    fn requests_break_the_protocol_without_its_header_with_a_target_or_by_get() {
        let no_protocol = req(PATH, &CBOR_HEADERS[1..], vec![]);
        let wrong_protocol = req(PATH, &[("Smithy-Protocol", "rpc-v2-json")], vec![]);
        let mut with_target = CBOR_HEADERS.to_vec();
        with_target.push(("X-Amz-Target", "AWSMPEntitlementService.GetEntitlements"));
        let mut with_amzn_target = CBOR_HEADERS.to_vec();
        with_amzn_target.push(("x-amzn-target", "x"));
        let mut get = req(PATH, &CBOR_HEADERS, vec![]);
        get.method = "GET".into();
        for r in [
            no_protocol,
            wrong_protocol,
            req(PATH, &with_target, vec![]),
            req(PATH, &with_amzn_target, vec![]),
            get,
        ] {
            assert_eq!(
                kind(admit_any(&r)),
                ErrorKind::UnknownOperationException,
                "{:?}",
                r.headers
            );
        }
    }

    #[test]
    fn bodies_must_be_declared_as_cbor() {
        let body = hex(RUST_SDK_BODY);
        let with_charset = [
            ("Smithy-Protocol", "rpc-v2-cbor"),
            ("content-type", "Application/CBOR; charset=binary"),
        ];
        assert!(admit_any(&req(PATH, &with_charset, body.clone())).is_ok());
        let json_type = [
            ("Smithy-Protocol", "rpc-v2-cbor"),
            ("Content-Type", "application/json"),
        ];
        let untyped = [("Smithy-Protocol", "rpc-v2-cbor")];
        for headers in [&json_type[..], &untyped[..]] {
            assert_eq!(
                kind(admit_any(&req(PATH, headers, body.clone()))),
                ErrorKind::SerializationException
            );
        }
        assert!(
            admit_any(&req(PATH, &untyped, vec![])).is_ok(),
            "no body, no type"
        );
    }

    #[test]
    fn authentication_comes_first_and_oversized_bodies_are_invalid_parameters() {
        let mut r = req("/service/Nope/operation/Nope", &[], vec![0xff]);
        r.headers.retain(|(n, _)| n != "authorization");
        assert_eq!(
            kind(admit_any(&r)),
            ErrorKind::MissingAuthenticationTokenException
        );
        let big = vec![0x60; super::super::awsjson::MAX_BODY_BYTES];
        assert_eq!(
            kind(admit_any(&req(PATH, &CBOR_HEADERS, big))),
            ErrorKind::InvalidParameterException
        );
    }

    #[test]
    fn definite_maps_undefined_half_floats_and_tagged_times_decode() {
        let body = Cbor::Map(vec![
            (text("ProductCode"), text("p")),
            (text("MaxResults"), Cbor::Integer(5.into())),
            (
                text("Filter"),
                Cbor::Map(vec![(text("DIMENSION"), Cbor::Array(vec![text("users")]))]),
            ),
            (
                text("When"),
                Cbor::Tag(1, Box::new(Cbor::Integer(1_767_270_615.into()))),
            ),
        ]);
        let map = decode_body(&cbor(&body)).unwrap();
        assert_eq!(
            Value::Object(map),
            json!({"ProductCode": "p", "MaxResults": 5, "Filter": {"DIMENSION": ["users"]}, "When": 1767270615})
        );
        // {"A": undefined, "B": 1.5 as half-precision float}
        let map = decode_body(&hex("a26141f76142f93e00")).unwrap();
        assert_eq!(Value::Object(map), json!({"A": null, "B": 1.5}));
        // ciborium reads a bignum that fits as the integer it is: {"a": 2(h'0a')}.
        let map = decode_body(&hex("a16161c2410a")).unwrap();
        assert_eq!(Value::Object(map), json!({"a": 10}));
    }

    #[test]
    fn malformed_cbor_is_a_serialization_exception() {
        let bad: Vec<Vec<u8>> = vec![
            hex("bf6b50726f64756374436f646561"),       // truncated, no break
            hex("bf6b50726f64756374436f64656170ff00"), // trailing byte
            hex("ff"),                                 // a lone break
            hex("1c"),                                 // reserved additional info
            hex("7bffffffffffffffff"),                 // a string claiming 2^64 bytes
            hex("9b7fffffffffffffff"),                 // an array claiming 2^63 items
            hex("a1616162c328"),                       // invalid UTF-8 text
            hex("a10161"),                             // integer map key
            hex("a1616141ff"),                         // byte string value
            hex("a16161c16161"),                       // tag 1 around text
            hex("a16161f97e00"),                       // NaN
            hex("83010203"),                           // not a map
            vec![0x81; 10_000],                        // deeply nested arrays
        ];
        for body in bad {
            let e = decode_body(&body).unwrap_err();
            assert_eq!(e.kind, ErrorKind::SerializationException, "{body:02x?}");
        }
    }

    #[test]
    fn empty_bodies_are_empty_inputs() {
        assert!(decode_body(b"").unwrap().is_empty());
    }

    fn decoded(response: &HttpResponse) -> Cbor {
        ciborium::from_reader(response.body.as_slice()).unwrap()
    }

    #[test]
    fn outputs_keep_integers_doubles_and_tag_timestamps() {
        let output = json!({"Entitlements": [
            {"Value": {"IntegerValue": 10}, "ExpirationDate": 1798761600},
            {"Value": {"DoubleValue": 2.0}, "ExpirationDate": 1798761600.5}
        ], "NextToken": "t"});
        let r = ok(Operation::GetEntitlements, &output, "rid");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
        assert_eq!(r.header("smithy-protocol"), Some(PROTOCOL));
        assert_eq!(r.header("x-amzn-RequestId"), Some("rid"));
        let Cbor::Map(top) = decoded(&r) else {
            panic!("a map")
        };
        let Cbor::Array(items) = &top[0].1 else {
            panic!("a list")
        };
        let member = |item: &Cbor, name: &str| -> Cbor {
            let Cbor::Map(m) = item else { panic!("a map") };
            m.iter().find(|(k, _)| *k == text(name)).unwrap().1.clone()
        };
        assert_eq!(
            member(&items[0], "ExpirationDate"),
            Cbor::Tag(1, Box::new(Cbor::Float(1_798_761_600.0)))
        );
        assert_eq!(
            member(&items[1], "ExpirationDate"),
            Cbor::Tag(1, Box::new(Cbor::Float(1_798_761_600.5)))
        );
        assert_eq!(
            member(&member(&items[0], "Value"), "IntegerValue"),
            Cbor::Integer(10.into())
        );
        assert_eq!(
            member(&member(&items[1], "Value"), "DoubleValue"),
            Cbor::Float(2.0)
        );
    }

    #[test]
    fn errors_carry_the_absolute_shape_id_and_no_error_type_header() {
        let e = ServiceError::new(ErrorKind::InvalidParameterException, "bad");
        let r = error(&e, "rid");
        assert_eq!(r.status, 400);
        assert_eq!(r.header("x-amzn-ErrorType"), None);
        assert_eq!(r.header("smithy-protocol"), Some(PROTOCOL));
        assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
        assert_eq!(
            decoded(&r),
            Cbor::Map(vec![
                (
                    text("__type"),
                    text("com.amazonaws.marketplaceentitlementservice#InvalidParameterException")
                ),
                (text("message"), text("bad")),
            ])
        );
        let r = error(&ServiceError::internal("boom"), "rid");
        assert_eq!(r.status, 500);
        assert!(!String::from_utf8_lossy(&r.body).contains("boom"));
    }
}
