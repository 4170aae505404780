//! Each operation answers only with errors its service model lists, plus the protocol errors
//! of docs/decisions.md, and never with a 500. The inputs are a valid request of each
//! operation with every member replaced, in turn, by every value of a pool of bad values,
//! against a catalogue with customers, licenses, a seller and a Region limit. GetEntitlements
//! is checked against the Entitlement Service's model, over both of its wire protocols.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{
    secs, with_catalogue, with_entitlements, Mock, Wire, LICENSE_1, LICENSE_2, NOW, WIRES,
};
use metering_mock::error::ErrorKind;
use metering_mock::ops;
use metering_mock::protocol::awsjson::{Operation, Service};
use serde_json::{json, Value};

const PROTOCOL_ERRORS: [&str; 8] = [
    "SerializationException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "UnknownOperationException",
    "ValidationException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "DryRunOperation",
];

fn model() -> Value {
    let text = include_str!("../models/meteringmarketplace-2016-01-14.service-2.json");
    serde_json::from_str(text).expect("model JSON")
}

fn entitlement_model() -> Value {
    let text = include_str!("../models/marketplace-entitlement-2017-01-11.service-2.json");
    serde_json::from_str(text).expect("model JSON")
}

fn model_of(operation: Operation) -> Value {
    match operation.service() {
        Service::Metering => model(),
        Service::Entitlement => entitlement_model(),
    }
}

fn modeled_errors(model: &Value, operation: &str) -> BTreeSet<String> {
    model["operations"][operation]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["shape"].as_str().expect("shape").to_string())
        .collect()
}

/// Every error seen is one the operation's model lists, or a protocol error; and the corpus
/// produced each of `expected` (so the inputs reach every rule they are meant to).
fn assert_only_modeled_errors(seen: &BTreeMap<String, usize>, operation: &str, expected: &[&str]) {
    let allowed = modeled_errors(&model(), operation);
    for name in seen.keys() {
        assert!(
            allowed.contains(name) || PROTOCOL_ERRORS.contains(&name.as_str()),
            "{operation} answered {name}"
        );
    }
    for expected in expected {
        assert!(
            seen.contains_key(*expected),
            "the corpus never produced {expected}: {seen:?}"
        );
    }
}

fn bad_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(""),
        json!(" "),
        json!("nope"),
        json!("x".repeat(300)),
        json!(-1),
        json!(0),
        json!(2147483648u64),
        json!(1.5),
        json!(true),
        json!([]),
        json!({}),
        json!("1.1234567"),
        json!("111122223333"),
        json!(LICENSE_1),
        json!(1),
        json!(1e12),
        json!([{"AllocatedUsageQuantity": 1}]),
        json!([{"AllocatedUsageQuantity": 1, "Tags": [{"Key": "!", "Value": "v"}]}]),
    ]
}

/// The valid request, then one request per (member, bad value).
fn variants(valid: &Value) -> Vec<Value> {
    let mut out = vec![valid.clone()];
    for member in valid.as_object().unwrap().keys() {
        for bad in bad_values() {
            let mut v = valid.clone();
            v[member] = bad;
            out.push(v);
        }
    }
    out
}

fn observed_errors(mock: &mut Mock, operation: &str, inputs: &[Value]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for input in inputs {
        for caller in ["test", "111122223333", "222233334444", "999988887777"] {
            for dry_run in [false, true] {
                let mut input = input.clone();
                if dry_run && operation == "MeterUsage" {
                    input["DryRun"] = json!(true);
                }
                let a = mock.call_as(caller, "us-east-1", operation, input.clone());
                assert_ne!(a.status, 500, "{operation} {input}: {:?}", a.body);
                assert!(a.response.header("x-amzn-RequestId").is_some());
                if let Some(name) = a.error {
                    assert_eq!(a.body["__type"], json!(name));
                    *seen.entry(name).or_insert(0) += 1;
                }
            }
        }
    }
    seen
}

#[test]
fn every_error_kind_is_a_model_shape_or_a_protocol_error() {
    let models = [model(), entitlement_model()];
    let shape = |name: &str| models.iter().find_map(|m| m["shapes"].get(name).cloned());
    for kind in ErrorKind::ALL {
        let name = kind.name();
        let modeled = shape(name).is_some_and(|s| s["exception"] == json!(true));
        assert!(
            modeled || PROTOCOL_ERRORS.contains(&name),
            "{name} is neither modeled nor a protocol error"
        );
        let fault = shape(name).is_some_and(|s| s["fault"] == json!(true));
        assert_eq!(
            kind.status() == 500,
            fault,
            "{name}: 500 exactly for server faults"
        );
    }
    for model in &models {
        for (name, shape) in model["shapes"].as_object().unwrap() {
            if shape["exception"] == json!(true) {
                assert!(
                    ErrorKind::ALL.iter().any(|k| k.name() == name),
                    "model error {name} has no ErrorKind"
                );
            }
        }
    }
}

#[test]
fn the_error_lists_of_the_code_are_the_models() {
    for op in Operation::ALL {
        let code: BTreeSet<String> = ops::modeled_errors(op)
            .iter()
            .map(|k| k.name().to_string())
            .collect();
        assert_eq!(
            code,
            modeled_errors(&model_of(op), op.name()),
            "{}",
            op.name()
        );
    }
    let model_operations = |m: Value| -> BTreeSet<String> {
        m["operations"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    for (service, model) in [
        (Service::Metering, model()),
        (Service::Entitlement, entitlement_model()),
    ] {
        let code: BTreeSet<String> = Operation::ALL
            .iter()
            .filter(|op| op.service() == service)
            .map(|op| op.name().to_string())
            .collect();
        assert_eq!(code, model_operations(model), "{service:?}");
    }
}

#[test]
fn meter_usage_answers_only_with_its_modeled_errors() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.add_product(json!({"productCode": "eu", "dimensions": ["hosts"], "regions": ["eu-west-1"]}));
    // A dry run that would succeed answers DryRunOperation only by setting.
    m.set(json!({"dryRunResponse": "error"}));
    let valid = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 1,
        "UsageAllocations": [{"AllocatedUsageQuantity": 1}]});
    let mut inputs = variants(&valid);
    let mut with_token = valid.clone();
    with_token["ClientToken"] = json!("tok");
    inputs.extend(variants(&with_token));
    inputs.push(json!({"ProductCode": "eu", "Timestamp": secs(NOW), "UsageDimension": "hosts"}));
    inputs.push(json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 2}));
    let seen = observed_errors(&mut m, "MeterUsage", &inputs);
    assert_only_modeled_errors(
        &seen,
        "MeterUsage",
        &[
            "InvalidProductCodeException",
            "InvalidUsageDimensionException",
            "CustomerNotEntitledException",
            "TimestampOutOfBoundsException",
            "DuplicateRequestException",
            "IdempotencyConflictException",
            "InvalidUsageAllocationsException",
            "InvalidTagException",
            "InvalidEndpointRegionException",
            "ValidationException",
            "SerializationException",
            "DryRunOperation",
        ],
    );
}

#[test]
fn batch_meter_usage_answers_only_with_its_modeled_errors() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let record = json!({"Timestamp": secs(NOW), "CustomerIdentifier": "c1", "Dimension": "users", "Quantity": 1,
        "UsageAllocations": [{"AllocatedUsageQuantity": 1}]});
    let mut inputs = Vec::new();
    for r in variants(&record) {
        inputs.push(json!({"ProductCode": "saas", "UsageRecords": [r.clone()]}));
        inputs.push(json!({"UsageRecords": [r]}));
    }
    for v in variants(&json!({"ProductCode": "saas", "UsageRecords": [record.clone()]})) {
        inputs.push(v);
    }
    inputs.push(json!({"ProductCode": "ca", "UsageRecords": [{"Timestamp": secs(NOW), "CustomerAWSAccountId": "1", "LicenseArn": LICENSE_1, "Dimension": "requests"}]}));
    let seen = observed_errors(&mut m, "BatchMeterUsage", &inputs);
    assert_only_modeled_errors(
        &seen,
        "BatchMeterUsage",
        &[
            "InvalidProductCodeException",
            "InvalidUsageDimensionException",
            "InvalidCustomerIdentifierException",
            "TimestampOutOfBoundsException",
            "InvalidUsageAllocationsException",
            "InvalidTagException",
            "InvalidLicenseException",
            "ValidationException",
            "SerializationException",
        ],
    );
}

#[test]
fn register_usage_answers_only_with_its_modeled_errors() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.add_product(json!({"productCode": "eu", "dimensions": ["hosts"], "regions": ["eu-west-1"]}));
    let valid = json!({"ProductCode": "ami", "PublicKeyVersion": 1, "Nonce": "task"});
    let mut inputs = variants(&valid);
    inputs.push(json!({"ProductCode": "eu", "PublicKeyVersion": 1}));
    inputs.push(json!({"ProductCode": "ami", "PublicKeyVersion": 2}));
    let mut seen = observed_errors(&mut m, "RegisterUsage", &inputs);
    let fresh_task = [json!({"ProductCode": "ami", "PublicKeyVersion": 1, "Nonce": "new"})];
    m.set(json!({"containerPlatform": "other"}));
    seen.extend(observed_errors(&mut m, "RegisterUsage", &fresh_task));
    m.set(json!({"containerPlatform": "ecs", "disabledOperations": ["RegisterUsage"]}));
    seen.extend(observed_errors(&mut m, "RegisterUsage", &fresh_task));
    m.set(
        json!({"disabledOperations": [], "retiredPublicKeyVersion": "invalid-public-key-version"}),
    );
    m.control("POST", "/keys/1/retire", None);
    seen.extend(observed_errors(&mut m, "RegisterUsage", &fresh_task));
    assert_only_modeled_errors(
        &seen,
        "RegisterUsage",
        &[
            "InvalidProductCodeException",
            "InvalidRegionException",
            "InvalidPublicKeyVersionException",
            "PlatformNotSupportedException",
            "CustomerNotEntitledException",
            "DisabledApiException",
            "ValidationException",
            "SerializationException",
        ],
    );
}

#[test]
fn resolve_customer_answers_only_with_its_modeled_errors() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let mint = |m: &mut Mock| {
        let a = m.control(
            "POST",
            "/registration-tokens",
            Some(json!({"productCode": "saas", "customerIdentifier": "c1", "ttlSeconds": 60})),
        );
        json!({ "RegistrationToken": a.body["registrationToken"] })
    };
    let valid = mint(&mut m);
    let mut inputs = variants(&valid);
    inputs.push(valid.clone());
    let expiring = mint(&mut m);
    let seen_before = observed_errors(&mut m, "ResolveCustomer", &inputs);
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 61})));
    let seen_after = observed_errors(&mut m, "ResolveCustomer", &[expiring]);
    let mut seen = seen_before;
    seen.extend(seen_after);
    assert_only_modeled_errors(
        &seen,
        "ResolveCustomer",
        &[
            "InvalidTokenException",
            "ExpiredTokenException",
            "ValidationException",
            "SerializationException",
        ],
    );
}

#[test]
fn get_entitlements_answers_only_with_its_modeled_errors_on_both_wires() {
    let mut m = Mock::new();
    with_entitlements(&mut m);
    let token = {
        let a = m.get_entitlements(
            Wire::Json,
            json!({"ProductCode": "ca-contract", "MaxResults": 1}),
        );
        a.body["NextToken"].clone()
    };
    assert!(token.is_string(), "the catalogue pages");
    let valid =
        json!({"ProductCode": "contract", "Filter": {"DIMENSION": ["users"]}, "MaxResults": 5});
    let mut inputs = variants(&valid);
    for filter in bad_values().into_iter().chain([
        json!({"CUSTOMER_IDENTIFIER": ["c1"], "CUSTOMER_AWS_ACCOUNT_ID": ["111122223333"]}),
        json!({"LICENSE_ARN": [LICENSE_2], "nope": ["x"]}),
        json!({"DIMENSION": [1]}),
        json!({"DIMENSION": "users"}),
    ]) {
        inputs.push(json!({"ProductCode": "contract", "Filter": filter}));
    }
    inputs.push(json!({"ProductCode": "ca-contract", "MaxResults": 1, "NextToken": token}));
    inputs.push(json!({"ProductCode": "contract", "NextToken": token}));
    let allowed = modeled_errors(&entitlement_model(), "GetEntitlements");
    let mut seen = BTreeMap::new();
    for wire in WIRES {
        for input in &inputs {
            for caller in ["test", "111122223333", "999988887777"] {
                let a = m.get_entitlements_as(wire, caller, input.clone());
                assert_ne!(a.status, 500, "{wire:?} {input}: {:?}", a.body);
                assert!(a.response.header("x-amzn-RequestId").is_some());
                if let Some(name) = a.error {
                    *seen.entry(name).or_insert(0) += 1;
                }
            }
        }
    }
    for name in seen.keys() {
        assert!(
            allowed.contains(name)
                || (PROTOCOL_ERRORS.contains(&name.as_str()) && name != "ValidationException"),
            "GetEntitlements answered {name}"
        );
    }
    for expected in ["InvalidParameterException", "SerializationException"] {
        assert!(
            seen.contains_key(expected),
            "the corpus never produced {expected}: {seen:?}"
        );
    }
}
