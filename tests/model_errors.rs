//! Each operation answers only with errors its service model lists, plus the protocol errors
//! of 08-decisions.md, and never with a 500. The inputs are a valid request of each
//! operation with every member replaced, in turn, by every value of a pool of bad values,
//! against a catalogue with customers, licenses, a seller and a Region limit.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{secs, with_catalogue, Mock, LICENSE_1, NOW};
use metering_mock::error::ErrorKind;
use metering_mock::ops;
use metering_mock::protocol::awsjson::Operation;
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
    let text = include_str!("fixtures/meteringmarketplace-2016-01-14.service-2.json");
    serde_json::from_str(text).expect("model JSON")
}

fn modeled_errors(model: &Value, operation: &str) -> BTreeSet<String> {
    model["operations"][operation]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["shape"].as_str().expect("shape").to_string())
        .collect()
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
    let model = model();
    let shapes = model["shapes"].as_object().unwrap();
    for kind in ErrorKind::ALL {
        let name = kind.name();
        let modeled = shapes
            .get(name)
            .is_some_and(|s| s["exception"] == json!(true));
        assert!(
            modeled || PROTOCOL_ERRORS.contains(&name),
            "{name} is neither modeled nor a protocol error"
        );
        let fault = shapes.get(name).is_some_and(|s| s["fault"] == json!(true));
        assert_eq!(
            kind.status() == 500,
            fault,
            "{name}: 500 exactly for server faults"
        );
    }
    for (name, shape) in shapes {
        if shape["exception"] == json!(true) {
            assert!(
                ErrorKind::ALL.iter().any(|k| k.name() == name),
                "model error {name} has no ErrorKind"
            );
        }
    }
}

#[test]
fn the_error_lists_of_the_code_are_the_models() {
    let model = model();
    for op in Operation::ALL {
        let code: BTreeSet<String> = ops::modeled_errors(op)
            .iter()
            .map(|k| k.name().to_string())
            .collect();
        assert_eq!(code, modeled_errors(&model, op.name()), "{}", op.name());
    }
}

#[test]
fn meter_usage_answers_only_with_its_modeled_errors() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.add_product(json!({"productCode": "eu", "dimensions": ["hosts"], "regions": ["eu-west-1"]}));
    let valid = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 1,
        "UsageAllocations": [{"AllocatedUsageQuantity": 1}]});
    let mut inputs = variants(&valid);
    let mut with_token = valid.clone();
    with_token["ClientToken"] = json!("tok");
    inputs.extend(variants(&with_token));
    inputs.push(json!({"ProductCode": "eu", "Timestamp": secs(NOW), "UsageDimension": "hosts"}));
    inputs.push(json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 2}));
    let seen = observed_errors(&mut m, "MeterUsage", &inputs);
    let allowed = modeled_errors(&model(), "MeterUsage");
    for name in seen.keys() {
        assert!(
            allowed.contains(name) || PROTOCOL_ERRORS.contains(&name.as_str()),
            "MeterUsage answered {name}"
        );
    }
    for expected in [
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
    ] {
        assert!(
            seen.contains_key(expected),
            "the corpus never produced {expected}: {seen:?}"
        );
    }
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
    let allowed = modeled_errors(&model(), "BatchMeterUsage");
    for name in seen.keys() {
        assert!(
            allowed.contains(name) || PROTOCOL_ERRORS.contains(&name.as_str()),
            "BatchMeterUsage answered {name}"
        );
    }
    for expected in [
        "InvalidProductCodeException",
        "InvalidUsageDimensionException",
        "InvalidCustomerIdentifierException",
        "TimestampOutOfBoundsException",
        "InvalidUsageAllocationsException",
        "InvalidTagException",
        "InvalidLicenseException",
        "ValidationException",
        "SerializationException",
    ] {
        assert!(
            seen.contains_key(expected),
            "the corpus never produced {expected}: {seen:?}"
        );
    }
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
    let allowed = modeled_errors(&model(), "ResolveCustomer");
    let mut seen = seen_before;
    seen.extend(seen_after);
    for name in seen.keys() {
        assert!(
            allowed.contains(name) || PROTOCOL_ERRORS.contains(&name.as_str()),
            "ResolveCustomer answered {name}"
        );
    }
    for expected in [
        "InvalidTokenException",
        "ExpiredTokenException",
        "ValidationException",
        "SerializationException",
    ] {
        assert!(
            seen.contains_key(expected),
            "the corpus never produced {expected}: {seen:?}"
        );
    }
}
