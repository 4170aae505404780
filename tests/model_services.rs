//! The services served from their models (Agreement Service, Discovery, Deployment Service),
//! held to the models themselves: for every operation and protocol, an input made from the model to be valid
//! passes the front door and gets only an error its model lists (or an answer), and an input
//! made to break one rule of each kind gets `ValidationException` with the model's members.

mod common;

use common::Mock;
use metering_mock::model::{validate, Kind, ModelService, Shape};
use serde_json::{json, Map, Value};

/// Values tried, in order, for a string member: the first that fits the shape's length and
/// pattern (padded to its minimum length) is used.
const CANDIDATES: &[&str] = &[
    "a",
    "ab1",
    "ap-abc123",
    "at-abc123",
    "agmt-abc123",
    "offer-abc123",
    "ar-abc123",
    "pr-abc123",
    "acr-abc123",
    "ba-abc123",
    "ch-abc123",
    "aplan-abc1",
    "apr-abc1",
    "aprout-abc1",
    "o-abcdefghij",
    "us-east-1",
    "P30D",
    "P1M",
    "PT1H",
    "https://example.com",
    "buyer@example.com",
    "arn:aws:license-manager::111122223333:license:l-0123",
    "10",
    "1.5",
    "USD",
    "US",
    "AB",
];

fn string_value(shape: &Shape) -> Option<String> {
    if let Some(values) = &shape.values {
        return values.first().cloned();
    }
    let min = shape.min.unwrap_or(0.0) as usize;
    let max = shape.max.map_or(usize::MAX, |m| m as usize);
    CANDIDATES.iter().find_map(|c| {
        let mut text = c.to_string();
        while text.len() < min {
            text.push(text.chars().last().unwrap_or('a'));
        }
        let fits =
            text.len() <= max && validate::pattern(shape).is_none_or(|re| re.is_match(&text));
        fits.then_some(text)
    })
}

/// A value of `shape_name` that its model accepts; `full` sets optional members too.
fn valid(service: ModelService, shape_name: &str, full: bool, depth: usize) -> Value {
    let model = service.model();
    let shape = model.shape(shape_name).unwrap();
    let number = shape.min.unwrap_or(1.0).max(shape.min.unwrap_or(0.0));
    match shape.kind {
        Kind::Structure => {
            let mut map = Map::new();
            for (name, member) in &shape.members {
                let wanted = shape.required.contains(name)
                    || (full && depth < 4)
                    || (shape.union && map.is_empty());
                if wanted && (!shape.union || map.is_empty()) {
                    map.insert(name.clone(), valid(service, &member.shape, full, depth + 1));
                }
            }
            Value::Object(map)
        }
        Kind::List => {
            let n = (shape.min.unwrap_or(1.0) as usize).max(1);
            let member = &shape.member.as_ref().unwrap().shape;
            Value::Array(
                (0..n)
                    .map(|_| valid(service, member, full, depth + 1))
                    .collect(),
            )
        }
        Kind::Map => json!({}),
        Kind::String => {
            json!(string_value(shape).unwrap_or_else(|| panic!("no candidate for {shape:?}")))
        }
        Kind::Integer | Kind::Long => json!(number as i64),
        Kind::Double | Kind::Float => json!(number),
        Kind::Boolean => json!(true),
        // rest-json sends an `iso8601` timestamp as text; 2026-03-10T00:26:40Z.
        Kind::Timestamp if shape.timestamp_format.as_deref() == Some("iso8601") => {
            json!("2026-03-10T00:26:40Z")
        }
        Kind::Timestamp => json!(1_773_100_000),
        Kind::Blob => json!("YQ=="),
    }
}

/// Inputs breaking one rule each, and the rule's kind: each required member left out, each
/// top-level member out of its length, range or enum. (A rest-json path label cannot be left
/// out: the SDKs refuse to send the request.)
fn broken(service: ModelService, shape_name: &str) -> Vec<(Value, &'static str, String)> {
    let model = service.model();
    let shape = model.shape(shape_name).unwrap();
    let base = valid(service, shape_name, false, 0);
    let mut inputs = Vec::new();
    let label = |name: &str| shape.members[name].location.as_deref() == Some("uri");
    for required in shape.required.iter().filter(|r| !label(r)) {
        let mut input = base.clone();
        input.as_object_mut().unwrap().remove(required);
        inputs.push((input, "required", required.clone()));
    }
    for (name, member) in &shape.members {
        let target = model.shape(&member.shape).unwrap();
        let bad = match target.kind {
            Kind::String if target.values.is_some() => Some((json!("NOT_A_VALUE"), "enum")),
            Kind::String if !validate::pattern(target).is_none_or(|re| re.is_match("?!")) => {
                Some((json!("?!"), "pattern"))
            }
            Kind::String => target
                .max
                .map(|m| (json!("a".repeat(m as usize + 1)), "length")),
            Kind::Integer | Kind::Long => target.max.map(|m| (json!(m as i64 + 1), "range")),
            Kind::List => target
                .min
                .filter(|m| *m >= 1.0)
                .map(|_| (json!([]), "length")),
            _ => None,
        };
        if let Some((value, kind)) = bad {
            let mut input = base.clone();
            input.as_object_mut().unwrap().insert(name.clone(), value);
            inputs.push((input, kind, name.clone()));
        }
    }
    inputs
}

fn call(
    mock: &mut Mock,
    service: ModelService,
    cbor: bool,
    op: &str,
    input: Value,
) -> common::Answer {
    match service {
        ModelService::Agreement => mock.agreement_as("test", cbor, op, input),
        ModelService::Discovery => {
            let path = service
                .model()
                .operation(op)
                .unwrap()
                .http
                .request_uri
                .clone();
            mock.discovery_as("test", &path, input)
        }
        ModelService::Deployment => common::agreements::deployment(mock, "test", op, input),
    }
}

fn wires(service: ModelService) -> &'static [bool] {
    match service {
        ModelService::Agreement => &[false, true],
        ModelService::Discovery | ModelService::Deployment => &[false],
    }
}

/// The operations with behaviour; every other answers that it is not served yet.
const SERVED: [&str; 47] = [
    "PutDeploymentParameter",
    "GetDeploymentConfiguration",
    "StartDeploymentConfigurationJob",
    "GetDeploymentConfigurationJob",
    "ListDeploymentConfigurationJobs",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "GetOffer",
    "GetOfferTerms",
    "ListPurchaseOptions",
    "GetAgreementContacts",
    "ListAgreementCharges",
    "UpdatePurchaseOrders",
    "CreateAgreementRequest",
    "GetAgreementRequest",
    "ListAgreementRequests",
    "GetAgreementRequestTerms",
    "CancelAgreementRequest",
    "AcceptAgreementRequest",
    "GetAgreementEntitlements",
    "DescribeAgreement",
    "GetAgreementTerms",
    "SearchAgreements",
    "CancelAgreement",
    "SendAgreementCancellationRequest",
    "GetAgreementCancellationRequest",
    "ListAgreementCancellationRequests",
    "CancelAgreementCancellationRequest",
    "AcceptAgreementCancellationRequest",
    "RejectAgreementCancellationRequest",
    "SendAgreementPaymentRequest",
    "GetAgreementPaymentRequest",
    "ListAgreementPaymentRequests",
    "CancelAgreementPaymentRequest",
    "AcceptAgreementPaymentRequest",
    "RejectAgreementPaymentRequest",
    "ListAgreementInvoiceLineItems",
    "BatchCreateBillingAdjustmentRequest",
    "GetBillingAdjustmentRequest",
    "ListBillingAdjustmentRequests",
    "GetAgreementRequestApprovalPlans",
    "StartAgreementApprovals",
    "GetAgreementApproval",
    "ListAgreementApprovals",
    "AcceptAgreementApproval",
    "RejectAgreementApproval",
];

#[test]
fn every_operation_answers_valid_input_with_an_output_or_a_modeled_error() {
    let mut mock = Mock::new();
    let mut not_served = std::collections::BTreeSet::new();
    for service in ModelService::ALL {
        for (name, op) in &service.model().operations {
            let input_shape = &op.input.as_ref().unwrap().shape;
            for full in [false, true] {
                let input = valid(service, input_shape, full, 0);
                for &cbor in wires(service) {
                    let answer = call(&mut mock, service, cbor, name, input.clone());
                    if answer.status == 200 {
                        let output = &op.output.as_ref().unwrap().shape;
                        let body = answer.body.as_object().unwrap();
                        assert_eq!(
                            validate::input(service.model(), output, body),
                            Ok(()),
                            "{name}: {}",
                            answer.body
                        );
                        continue;
                    }
                    let error = answer.error_name().to_string();
                    assert!(
                        op.lists_error(&error),
                        "{name} (cbor {cbor}) answered {error} to {input}: {}",
                        answer.body
                    );
                    if error == "ValidationException" {
                        // Valid input is refused by the operation's behaviour (not served
                        // yet, or a rule of the service), never by a rule of the model.
                        assert!(
                            !answer.message().contains("failed to satisfy constraint"),
                            "{name}: {}",
                            answer.body
                        );
                    }
                    if answer
                        .message()
                        .contains("is not served by metering-mock yet")
                    {
                        let reason = match service {
                            ModelService::Agreement => "UNSUPPORTED_ACTION",
                            _ => "MALFORMED_REQUEST_PARAMETERS",
                        };
                        assert_eq!(answer.body["reason"], reason, "{name}");
                        not_served.insert(name.as_str());
                    }
                    assert!(!answer.message().is_empty());
                    assert!(answer.response.header("x-amzn-RequestId").is_some());
                }
            }
        }
    }
    let unserved: std::collections::BTreeSet<&str> = ModelService::ALL
        .into_iter()
        .flat_map(|s| s.model().operations.keys().map(String::as_str))
        .filter(|name| !SERVED.contains(name))
        .collect();
    assert_eq!(not_served, unserved);
}

#[test]
fn every_operation_refuses_each_kind_of_broken_rule() {
    let mut mock = Mock::new();
    let mut kinds = std::collections::BTreeSet::new();
    for service in ModelService::ALL {
        for (name, op) in &service.model().operations {
            for (input, kind, member) in broken(service, &op.input.as_ref().unwrap().shape) {
                kinds.insert(kind);
                for &cbor in wires(service) {
                    let answer = call(&mut mock, service, cbor, name, input.clone());
                    assert_eq!(
                        (answer.status, answer.error_name()),
                        (400, "ValidationException"),
                        "{name} {kind} (cbor {cbor}): {}",
                        answer.body
                    );
                    assert!(
                        answer.message().contains(&format!(" at '{member}' failed")),
                        "{name} {kind}: {}",
                        answer.body
                    );
                    if service == ModelService::Agreement {
                        let reason = answer.body["reason"].as_str().unwrap();
                        let reasons = service
                            .model()
                            .shape("ValidationExceptionReason")
                            .unwrap()
                            .values
                            .as_ref()
                            .unwrap();
                        assert!(reasons.iter().any(|r| r == reason), "{name}: {reason}");
                        assert_eq!(answer.body["fields"][0]["name"], member.as_str());
                        assert_eq!(
                            answer.body["fields"][0]["message"]
                                .as_str()
                                .map(|m| m.contains("failed to satisfy constraint")),
                            Some(true)
                        );
                        assert!(answer.body["requestId"].is_string());
                    }
                }
            }
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["enum", "length", "pattern", "range", "required"]
    );
}

#[test]
fn protocol_errors_answer_in_the_request_protocol() {
    let mut mock = Mock::new();
    let answer = mock.agreement_as("test", false, "NoSuchOperation", json!({}));
    assert_eq!(
        (answer.status, answer.error_name()),
        (400, "UnknownOperationException")
    );
    let answer = mock.agreement_as(
        "test",
        false,
        "DescribeAgreement",
        json!({"agreementId": 7}),
    );
    assert_eq!(answer.error_name(), "SerializationException");
    assert_eq!(
        answer.response.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let answer = mock.agreement_as("test", true, "DescribeAgreement", json!({}));
    assert_eq!(
        answer.body["__type"],
        "com.amazonaws.marketplaceagreement#ValidationException"
    );
    assert_eq!(answer.body["reason"], "MISSING_AGREEMENT_ID");
    let answer = mock.discovery_as("test", "/2026-02-05/noSuchOperation", json!({}));
    assert_eq!(
        (answer.status, answer.error_name()),
        (400, "UnknownOperationException")
    );
    let answer = mock.discovery_as("test", "/2026-02-05/getOffer", json!({}));
    assert_eq!(
        (answer.status, answer.error_name()),
        (400, "ValidationException")
    );
    assert_eq!(answer.body["reason"], "MALFORMED_REQUEST_PARAMETERS");
}

#[test]
fn timestamps_arrive_as_cbor_tag_1_or_as_json_numbers() {
    use ciborium::Value as Cbor;
    let mut mock = Mock::new();
    let tagged = Cbor::Map(vec![(
        Cbor::Text("createdAfter".into()),
        Cbor::Tag(1, Box::new(Cbor::Float(1_773_100_000.5))),
    )]);
    let mut body = Vec::new();
    ciborium::into_writer(&tagged, &mut body).unwrap();
    let answer = mock.agreement_cbor_bytes("test", "ListBillingAdjustmentRequests", body);
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"items": []})),
        "{}",
        answer.body
    );
    let answer = mock.agreement_as(
        "test",
        false,
        "ListBillingAdjustmentRequests",
        json!({"createdAfter": "yesterday"}),
    );
    assert_eq!(
        answer.error_name(),
        "SerializationException",
        "{}",
        answer.body
    );
}
