//! Every member of every successful answer is one the service model's output shape names,
//! with the model's type, on both wires of GetEntitlements: a misspelt member (the outputs
//! are JSON built by the code) fails here, not in a seller's SDK, which would drop it.

mod common;

use common::{secs, with_catalogue, with_entitlements, Mock, LICENSE_1, NOW, WIRES};
use serde_json::{json, Value};

fn metering_model() -> Value {
    serde_json::from_str(include_str!(
        "../models/meteringmarketplace-2016-01-14.service-2.json"
    ))
    .expect("model JSON")
}

fn entitlement_model() -> Value {
    serde_json::from_str(include_str!(
        "../models/marketplace-entitlement-2017-01-11.service-2.json"
    ))
    .expect("model JSON")
}

/// The problems of `value` as an instance of `shape` of `model` (empty: it conforms).
fn nonconformities(model: &Value, shape: &str, value: &Value, path: &str) -> Vec<String> {
    let definition = &model["shapes"][shape];
    let kind = definition["type"].as_str().unwrap_or("?");
    let wrong = |what: &str| vec![format!("{path}: {what} for {shape} ({kind}), got {value}")];
    match kind {
        "structure" => {
            let Some(members) = value.as_object() else {
                return wrong("an object");
            };
            let mut problems = Vec::new();
            for (name, member) in members {
                let Some(target) = definition["members"][name]["shape"].as_str() else {
                    problems.push(format!("{path}.{name}: not a member of {shape}"));
                    continue;
                };
                problems.extend(nonconformities(
                    model,
                    target,
                    member,
                    &format!("{path}.{name}"),
                ));
            }
            problems
        }
        "list" => match value.as_array() {
            None => wrong("an array"),
            Some(items) => {
                let target = definition["member"]["shape"].as_str().unwrap_or("?");
                let at = |i: usize| format!("{path}[{i}]");
                (0..)
                    .zip(items)
                    .flat_map(|(i, item)| nonconformities(model, target, item, &at(i)))
                    .collect()
            }
        },
        "string" if value.is_string() => Vec::new(),
        "boolean" if value.is_boolean() => Vec::new(),
        "integer" | "long" if value.is_i64() || value.is_u64() => Vec::new(),
        "double" if value.is_number() => Vec::new(),
        // awsJson (and the CBOR answers as the test harness shows them): epoch seconds.
        "timestamp" if value.is_number() => Vec::new(),
        _ => wrong("a value of the model's type"),
    }
}

fn assert_conforms(model: &Value, operation: &str, answer: &common::Answer) {
    assert_eq!(answer.status, 200, "{operation}: {:?}", answer.body);
    let output = model["operations"][operation]["output"]["shape"]
        .as_str()
        .expect("output shape");
    let problems = nonconformities(model, output, &answer.body, operation);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_metering_answer_names_only_members_of_its_output_shape() {
    let model = metering_model();
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.add_product(json!({"productCode": "box", "dimensions": ["vcpu"],
        "customers": [{"customerAWSAccountId": "111122223333"}]}));

    let meter = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts",
        "UsageQuantity": 1, "UsageAllocations": [{"AllocatedUsageQuantity": 1, "Tags": [{"Key": "k", "Value": "v"}]}]});
    let a = m.call_as("111122223333", "us-east-1", "MeterUsage", meter);
    assert!(a.body["MeteringRecordId"].is_string());
    assert_conforms(&model, "MeterUsage", &a);

    let licensed = json!({"Timestamp": secs(NOW), "CustomerAWSAccountId": "111122223333",
        "LicenseArn": LICENSE_1, "Dimension": "requests", "Quantity": 2,
        "UsageAllocations": [{"AllocatedUsageQuantity": 2, "Tags": [{"Key": "team", "Value": "a"}]}]});
    let a = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "ca", "UsageRecords": [licensed]}),
    );
    assert_eq!(a.body["Results"][0]["Status"], "Success", "{:?}", a.body);
    assert_conforms(&model, "BatchMeterUsage", &a);
    let record = |customer: &str| json!({"Timestamp": secs(NOW), "CustomerIdentifier": customer, "Dimension": "users", "QuantityAsDecimal": "1.5"});
    let batch = json!({"ProductCode": "saas", "UsageRecords": [record("c1"), record("unknown")]});
    let a = m.call("BatchMeterUsage", batch.clone());
    assert_eq!(a.body["Results"].as_array().map(Vec::len), Some(2));
    assert_conforms(&model, "BatchMeterUsage", &a);
    // A queued fault leaves records in UnprocessedRecords.
    let fault = json!({"operation": "BatchMeterUsage", "unprocessedRecords": 1});
    assert_eq!(m.control("POST", "/faults", Some(fault)).status, 201);
    let a = m.call("BatchMeterUsage", batch);
    assert_eq!(
        a.body["UnprocessedRecords"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        a.body
    );
    assert_conforms(&model, "BatchMeterUsage", &a);

    let register = json!({"ProductCode": "box", "PublicKeyVersion": 1, "Nonce": "n-1"});
    let a = m.call_as(
        "111122223333",
        "us-east-1",
        "RegisterUsage",
        register.clone(),
    );
    assert!(a.body["Signature"].is_string());
    assert_conforms(&model, "RegisterUsage", &a);
    // After a rotation, version 1 answers with PublicKeyRotationTimestamp too.
    let rotated = m.control(
        "POST",
        "/keys/rotate",
        Some(json!({"retirePrevious": true})),
    );
    assert_eq!(rotated.status, 201, "{:?}", rotated.body);
    let a = m.call_as(
        "111122223333",
        "us-east-1",
        "RegisterUsage",
        json!({"ProductCode": "box", "PublicKeyVersion": 1, "Nonce": "n-2"}),
    );
    assert!(
        a.body["PublicKeyRotationTimestamp"].is_number(),
        "{:?}",
        a.body
    );
    assert_conforms(&model, "RegisterUsage", &a);

    for token_request in [
        json!({"productCode": "saas", "customerIdentifier": "c1"}),
        json!({"productCode": "ca", "customerAWSAccountId": "111122223333", "licenseArn": LICENSE_1}),
    ] {
        let token = m.mint_token(token_request);
        let a = m.call("ResolveCustomer", json!({"RegistrationToken": token}));
        assert!(a.body["ProductCode"].is_string());
        assert_conforms(&model, "ResolveCustomer", &a);
    }
}

#[test]
fn every_get_entitlements_answer_names_only_members_of_its_output_shape() {
    let model = entitlement_model();
    let mut m = Mock::new();
    with_entitlements(&mut m);
    for wire in WIRES {
        for input in [
            json!({"ProductCode": "contract"}),
            json!({"ProductCode": "contract", "MaxResults": 2}),
            json!({"ProductCode": "ca-contract", "Filter": {"LICENSE_ARN": [LICENSE_1]}}),
        ] {
            let a = m.get_entitlements(wire, input.clone());
            assert!(
                a.body["Entitlements"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty()),
                "{wire:?} {input}"
            );
            assert_conforms(&model, "GetEntitlements", &a);
        }
    }
}

#[test]
fn the_check_finds_a_member_the_model_lacks() {
    let model = metering_model();
    let answer = json!({"MeteringRecordID": "x"});
    let problems = nonconformities(&model, "MeterUsageResult", &answer, "MeterUsage");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let wrong_type = json!({"Results": [{"Status": 1}]});
    assert!(!nonconformities(&model, "BatchMeterUsageResult", &wrong_type, "B").is_empty());
}
