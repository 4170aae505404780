//! The front doors of the services served from their models (src/model): the Agreement
//! Service over awsJson1_0 (`X-Amz-Target: AWSMPCommerceService_v20200301.<Op>` at the
//! namespace's `/`) and rpc-v2-cbor (`/service/AWSMPCommerceService_v20200301/operation/<Op>`),
//! and Discovery and the Deployment Service over rest-json (`POST /2026-02-05/<op>`,
//! `GET /catalogs/{catalog}/products/{productId}/…`, `DELETE /tags/{resourceArn}?tagKeys=…`).
//! Each admits a request in the awsJson1_1 door's order (authentication, body size,
//! operation, body) and then holds the input to its model; a rest-json request's path labels
//! and query members join its body's members first, and its `iso8601` timestamps become
//! epoch seconds. Answers are encoded in the request's protocol, CBOR and `iso8601`
//! timestamps found by walking the output's shape.
//!
//! Layer: protocol.

use ciborium::Value as Cbor;
use serde_json::{Map, Value};

use super::awsjson::MAX_BODY_BYTES;
use super::cbor::{self, MAX_CBOR_BODY_BYTES};
use super::http::{HttpRequest, HttpResponse};
use super::json::parse_body;
use super::sigv4::{self, Signed};
use crate::domain::time::Instant;
use crate::error::{ErrorKind, ServiceError};
use crate::model::error::ModelError;
use crate::model::{
    validate, Kind, Labels, ModelService, NoOperation, OperationModel, ServiceModel, ShapeRef,
};

pub const JSON_1_0: &str = "application/x-amz-json-1.0";
pub const REST_JSON: &str = "application/json";

/// The protocol of a request to a model-served service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    AwsJson10,
    RpcV2Cbor,
    RestJson,
}

impl Wire {
    /// The protocol's name in the request journal.
    pub fn name(self) -> &'static str {
        match self {
            Wire::AwsJson10 => "awsJson1_0",
            Wire::RpcV2Cbor => "rpcv2Cbor",
            Wire::RestJson => "restJson1",
        }
    }
}

/// A request that passed the door: its operation, signature and input (as JSON).
pub struct ModelCall {
    pub operation: &'static OperationModel,
    pub signed: Signed,
    pub input: Map<String, Value>,
}

/// The model-served service and protocol a request (namespace-relative path) is for, if
/// any; decided from its method, path and `X-Amz-Target` alone. Any other method on `/` is
/// left to the route table (405), as for the Metering calls.
pub fn door(req: &HttpRequest) -> Option<(ModelService, Wire)> {
    if req.path == "/" && req.method != "POST" {
        return None;
    }
    door_of(&req.path, req.header("x-amz-target"))
}

/// `door` without the method: which protocol an error about a request to `path` (with
/// `target`) is answered in.
pub fn door_of(path: &str, target: Option<&str>) -> Option<(ModelService, Wire)> {
    if path == "/" {
        let (prefix, _) = target?.trim().split_once('.')?;
        return ModelService::with_target_prefix(prefix).map(|s| (s, Wire::AwsJson10));
    }
    if cbor::is_rpc_path(path) {
        let (segment, _) = cbor::split_path(path)?;
        return ModelService::with_target_prefix(segment).map(|s| (s, Wire::RpcV2Cbor));
    }
    ModelService::of_rest_path(path).map(|s| (s, Wire::RestJson))
}

/// Authenticates (reading the signature, then `authenticate` checking it), sizes, routes,
/// decodes and validates a request to `service` over `wire`.
pub fn admit(
    req: &HttpRequest,
    service: ModelService,
    wire: Wire,
    authenticate: impl FnOnce(&Signed) -> Result<(), ServiceError>,
) -> Result<ModelCall, ModelError> {
    let outside = |e: ServiceError| ModelError::of_service(service, &e);
    let signed = sigv4::read(req).map_err(outside)?;
    authenticate(&signed).map_err(outside)?;
    let limit = match wire {
        Wire::RpcV2Cbor => MAX_CBOR_BODY_BYTES,
        _ => MAX_BODY_BYTES - 1,
    };
    if req.body.len() > limit {
        return Err(too_large(service, req.body.len(), limit));
    }
    let (operation, labels) = operation(req, service, wire).map_err(outside)?;
    let mut input = match wire {
        Wire::RpcV2Cbor => {
            cbor::check_content_type(req).map_err(outside)?;
            cbor::decode_body(&req.body)
        }
        // A GET or DELETE carries its input in its path and query; a body is not read.
        Wire::RestJson if req.method != "POST" => Ok(Map::new()),
        Wire::AwsJson10 | Wire::RestJson => parse_body(&req.body),
    }
    .map_err(outside)?;
    if wire == Wire::RestJson {
        bind_rest_members(service.model(), operation, req, labels, &mut input)
            .map_err(|e| outside(ServiceError::new(ErrorKind::SerializationException, e)))?;
    }
    if let Some(shape) = &operation.input {
        validate::input(service.model(), &shape.shape, &input)
            .map_err(|e| ModelError::invalid(service, e))?;
    }
    Ok(ModelCall {
        operation,
        signed,
        input,
    })
}

/// Puts a rest-json request's path labels and query members into its input, by the
/// locations the input shape gives (a body member of that name is not the member), and turns
/// its `iso8601` timestamps into epoch seconds; `Err` names a timestamp that is not RFC 3339
/// text.
fn bind_rest_members(
    model: &ServiceModel,
    operation: &OperationModel,
    req: &HttpRequest,
    labels: Labels,
    input: &mut Map<String, Value>,
) -> Result<(), String> {
    let Some(shape) = target(&operation.input).and_then(|s| model.shape(s)) else {
        return Ok(());
    };
    let query = req.query_pairs();
    for (name, member) in &shape.members {
        let wire_name = member.location_name.as_deref().unwrap_or(name);
        match member.location.as_deref() {
            Some("uri") => {
                input.remove(name);
                if let Some((_, value)) = labels.iter().find(|(l, _)| l == wire_name) {
                    input.insert(name.clone(), value.clone().into());
                }
            }
            Some("querystring") => {
                input.remove(name);
                let values: Vec<&String> = query
                    .iter()
                    .filter(|(k, _)| k == wire_name)
                    .map(|(_, v)| v)
                    .collect();
                let kind = model.shape(&member.shape).map(|s| s.kind);
                let value = match (kind, values.as_slice()) {
                    (_, []) => continue,
                    (Some(Kind::List), _) => {
                        Value::from(values.iter().map(|v| v.as_str()).collect::<Vec<_>>())
                    }
                    (Some(Kind::Integer | Kind::Long), [.., last]) => last
                        .parse::<i64>()
                        .map_or_else(|_| Value::from(last.as_str()), Value::from),
                    (_, [.., last]) => Value::from(last.as_str()),
                };
                input.insert(name.clone(), value);
            }
            _ => {}
        }
    }
    for (name, value) in input.iter_mut() {
        if let Some(member) = shape.members.get(name) {
            iso_to_epoch(model, &member.shape, value, name)?;
        }
    }
    Ok(())
}

/// `value` (of shape `shape`, at `path`) with its `iso8601` timestamps as epoch seconds.
fn iso_to_epoch(
    model: &ServiceModel,
    shape: &str,
    value: &mut Value,
    path: &str,
) -> Result<(), String> {
    let Some(shape) = model.shape(shape) else {
        return Ok(());
    };
    match (shape.kind, value) {
        // A null is an absent member, as the model's check reads it.
        (_, Value::Null) => {}
        (Kind::Timestamp, value) if shape.timestamp_format.as_deref() == Some("iso8601") => {
            match value.as_str().and_then(Instant::parse_rfc3339) {
                Some(at) => *value = Value::from(at.epoch_seconds()),
                None => {
                    return Err(format!(
                        "Value at '{path}' must be an RFC 3339 timestamp (2026-03-10T12:30:00Z)"
                    ))
                }
            }
        }
        (Kind::Structure, Value::Object(map)) => {
            for (name, member) in map.iter_mut() {
                if let Some(r) = shape.members.get(name) {
                    iso_to_epoch(model, &r.shape, member, &format!("{path}.{name}"))?;
                }
            }
        }
        (Kind::List, Value::Array(items)) => {
            if let Some(r) = &shape.member {
                for (i, v) in items.iter_mut().enumerate() {
                    iso_to_epoch(model, &r.shape, v, &format!("{path}.{}.member", i + 1))?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// An output as rest-json answers it: timestamps of `iso8601` shapes as RFC 3339 text.
fn to_rest_json(model: &ServiceModel, shape: Option<&str>, value: &Value) -> Value {
    let Some(shape) = shape.and_then(|s| model.shape(s)) else {
        return value.clone();
    };
    match (shape.kind, value) {
        (Kind::Timestamp, Value::Number(n))
            if shape.timestamp_format.as_deref() == Some("iso8601") =>
        {
            let at = n.as_f64().and_then(Instant::try_from_epoch_seconds);
            at.map_or_else(|| value.clone(), |at| Value::from(at.to_rfc3339()))
        }
        (Kind::Structure, Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let member = shape.members.get(k).map(|m| m.shape.as_str());
                    (k.clone(), to_rest_json(model, member, v))
                })
                .collect(),
        ),
        (Kind::List, Value::Array(items)) => {
            let member = target(&shape.member);
            Value::Array(
                items
                    .iter()
                    .map(|v| to_rest_json(model, member, v))
                    .collect(),
            )
        }
        _ => value.clone(),
    }
}

/// The answer to a body over `limit` bytes.
pub fn too_large(service: ModelService, len: usize, limit: usize) -> ModelError {
    ModelError::validation(
        service,
        service.generic_reason(),
        format!("1 validation error detected: the request body has {len} bytes; this service accepts at most {limit}"),
        &[],
    )
}

fn unknown(message: String) -> ServiceError {
    ServiceError::new(ErrorKind::UnknownOperationException, message)
}

/// The operation a request to `service` over `wire` names, if its model has it (whether or
/// not the request is otherwise well-formed: the journal names refused calls by it).
pub fn named_operation(
    req: &HttpRequest,
    service: ModelService,
    wire: Wire,
) -> Option<&'static OperationModel> {
    let name = match wire {
        Wire::AwsJson10 => req.header("x-amz-target")?.trim().split_once('.')?.1,
        Wire::RpcV2Cbor => cbor::split_path(&req.path)?.1,
        Wire::RestJson => {
            return service
                .rest_operation(&req.method, &req.path)
                .ok()
                .map(|(op, _)| op)
        }
    };
    service.model().operation(name)
}

/// The operation a request names, with its path labels (rest-json's only).
fn operation(
    req: &HttpRequest,
    service: ModelService,
    wire: Wire,
) -> Result<(&'static OperationModel, Labels), ServiceError> {
    match wire {
        Wire::RpcV2Cbor => cbor::check_request_headers(req)?,
        Wire::RestJson => {
            return service
                .rest_operation(&req.method, &req.path)
                .map_err(|missed| {
                    let (method, path) = (&req.method, &req.path);
                    unknown(match missed {
                        NoOperation::OtherMethod => format!("{method} {path} is not an operation of this service: that path takes another method"),
                        NoOperation::Unknown => format!("Unknown operation {method} {path}"),
                    })
                })
        }
        Wire::AwsJson10 => {}
    }
    let op = named_operation(req, service, wire).ok_or_else(|| {
        let named = match wire {
            Wire::AwsJson10 => req
                .header("x-amz-target")
                .unwrap_or_default()
                .trim()
                .to_string(),
            _ => format!("POST {}", req.path),
        };
        unknown(format!("Unknown operation {named}"))
    })?;
    Ok((op, Labels::new()))
}

/// A success: the operation's status (200; rest-json's 204 without a body) with the output
/// structure in the request's protocol.
pub fn ok(
    service: ModelService,
    operation: Option<&OperationModel>,
    wire: Wire,
    output: &Value,
    request_id: &str,
) -> HttpResponse {
    match wire {
        Wire::AwsJson10 => json_response(200, JSON_1_0, output, request_id),
        Wire::RestJson => {
            let status = operation
                .and_then(|op| op.http.response_code)
                .unwrap_or(200);
            if status == 204 {
                return HttpResponse {
                    status,
                    headers: vec![("x-amzn-RequestId".into(), request_id.into())],
                    body: Vec::new(),
                };
            }
            let shape = operation.and_then(|op| target(&op.output));
            let body = to_rest_json(service.model(), shape, output);
            json_response(status, REST_JSON, &body, request_id)
        }
        Wire::RpcV2Cbor => {
            let shape = operation.and_then(|op| target(&op.output));
            match cbor::encode(&to_cbor(service.model(), shape, output)) {
                Ok(body) => cbor::response(200, body, request_id),
                Err(e) => {
                    let e = ModelError::of_service(service, &ServiceError::internal(e));
                    error(service, wire, &e, request_id)
                }
            }
        }
    }
}

fn json_response(status: u16, content_type: &str, body: &Value, request_id: &str) -> HttpResponse {
    HttpResponse::new(status, content_type, body.to_string())
        .with_header("x-amzn-RequestId", request_id)
}

/// An error in the request's protocol: awsJson1_0 and rest-json name it in `x-amzn-ErrorType`
/// (and awsJson1_0 in `__type`), rpc-v2-cbor by its absolute shape id in `__type`. Shapes
/// with a `requestId` member carry the request's id.
pub fn error(service: ModelService, wire: Wire, e: &ModelError, request_id: &str) -> HttpResponse {
    let mut body = Map::new();
    if wire != Wire::RestJson {
        let name = match wire {
            Wire::RpcV2Cbor => format!("{}#{}", service.shape_namespace(), e.name),
            _ => e.name.clone(),
        };
        body.insert("__type".into(), name.into());
    }
    body.insert("message".into(), e.message.clone().into());
    let model = service.model();
    if model
        .shape(&e.name)
        .is_some_and(|s| s.members.contains_key("requestId"))
    {
        body.insert("requestId".into(), request_id.into());
    }
    body.extend(e.members.clone());
    let body = Value::Object(body);
    match wire {
        Wire::RpcV2Cbor => {
            let encoded =
                cbor::encode(&to_cbor(model, Some(e.name.as_str()), &body)).unwrap_or_default();
            cbor::response(e.status, encoded, request_id)
        }
        Wire::AwsJson10 => json_response(e.status, JSON_1_0, &body, request_id)
            .with_header("x-amzn-ErrorType", &e.name),
        Wire::RestJson => json_response(e.status, REST_JSON, &body, request_id)
            .with_header("x-amzn-ErrorType", &e.name),
    }
}

fn target(r: &Option<ShapeRef>) -> Option<&str> {
    r.as_ref().map(|r| r.shape.as_str())
}

/// A JSON value as CBOR, typed by its shape: timestamps (epoch seconds in JSON) become tag 1
/// around a float; members the shape does not know keep their JSON types.
fn to_cbor(model: &ServiceModel, shape: Option<&str>, value: &Value) -> Cbor {
    let shape = shape.and_then(|s| model.shape(s));
    match (shape.map(|s| s.kind), value) {
        (Some(Kind::Timestamp), Value::Number(n)) => Cbor::Tag(
            cbor::EPOCH_TIME_TAG,
            Box::new(Cbor::Float(n.as_f64().unwrap_or_default())),
        ),
        (Some(Kind::Double | Kind::Float), Value::Number(n)) => {
            Cbor::Float(n.as_f64().unwrap_or_default())
        }
        (_, Value::Null) => Cbor::Null,
        (_, Value::Bool(b)) => Cbor::Bool(*b),
        (_, Value::Number(n)) => cbor::number_cbor(n),
        (_, Value::String(s)) => Cbor::Text(s.clone()),
        (_, Value::Array(items)) => {
            let member = shape.and_then(|s| target(&s.member));
            Cbor::Array(items.iter().map(|v| to_cbor(model, member, v)).collect())
        }
        (_, Value::Object(map)) => Cbor::Map(
            map.iter()
                .map(|(k, v)| {
                    let member = shape.and_then(|s| match s.kind {
                        Kind::Map => target(&s.value),
                        _ => s.members.get(k).map(|m| m.shape.as_str()),
                    });
                    (Cbor::Text(k.clone()), to_cbor(model, member, v))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cbor_outputs_tag_the_timestamps_their_shape_names() {
        let model = ModelService::Agreement.model();
        let output = json!({"agreementId": "agmt-1", "startTime": 1_773_100_000, "acceptor": {"accountId": "111122223333"}, "extra": 5});
        let Cbor::Map(entries) = to_cbor(model, Some("DescribeAgreementOutput"), &output) else {
            panic!("a map");
        };
        let member = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| k.as_text() == Some(name))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            member("startTime"),
            Some(Cbor::Tag(
                cbor::EPOCH_TIME_TAG,
                Box::new(Cbor::Float(1_773_100_000.0))
            ))
        );
        assert_eq!(member("agreementId"), Some(Cbor::Text("agmt-1".into())));
        assert_eq!(member("extra"), Some(Cbor::Integer(5.into())));
    }

    #[test]
    fn doors_are_chosen_by_target_path_and_api_version() {
        let req = |path: &str, target: Option<&str>| HttpRequest {
            method: "POST".into(),
            path: path.into(),
            headers: target
                .map(|t| ("X-Amz-Target".to_string(), t.to_string()))
                .into_iter()
                .collect(),
            ..Default::default()
        };
        let agreement = Some((ModelService::Agreement, Wire::AwsJson10));
        assert_eq!(
            door(&req(
                "/",
                Some("AWSMPCommerceService_v20200301.DescribeAgreement")
            )),
            agreement
        );
        assert_eq!(
            door(&req("/", Some("AWSMPMeteringService.MeterUsage"))),
            None
        );
        assert_eq!(door(&req("/", None)), None);
        assert_eq!(
            door(&req(
                "/service/AWSMPCommerceService_v20200301/operation/DescribeAgreement",
                None
            )),
            Some((ModelService::Agreement, Wire::RpcV2Cbor))
        );
        assert_eq!(
            door(&req(
                "/service/AWSMPEntitlementService/operation/GetEntitlements",
                None
            )),
            None
        );
        assert_eq!(
            door(&req("/2026-02-05/getOffer", None)),
            Some((ModelService::Discovery, Wire::RestJson))
        );
        assert_eq!(door(&req("/_mock/products", None)), None);
    }
}
