//! Hostile and odd input: oversized lists answer with short errors, values containing
//! separators cannot make two usages share a ledger key, generated JSON and CBOR (proptest,
//! shrunk on failure) never get a 500.

mod common;

use std::cell::{Cell, RefCell};

use common::{secs, Mock, NOW, WIRES};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseResult, TestRng, TestRunner};
use serde_json::{json, Value};

const SHORT: usize = 16 * 1024;

#[test]
fn a_batch_with_hundreds_of_thousands_of_records_gets_a_short_validation_error() {
    let mut m = Mock::new();
    let records = vec![json!({}); 340_000];
    let a = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "p", "UsageRecords": records}),
    );
    assert_eq!(a.error_name(), "ValidationException");
    assert!(a
        .message()
        .contains("Member must have length less than or equal to 25"));
    assert!(
        a.response.body.len() < SHORT,
        "{} bytes",
        a.response.body.len()
    );
}

#[test]
fn oversized_tag_and_allocation_lists_get_short_modeled_errors() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "p", "dimensions": ["d"]}));
    for (tag, expected) in [
        (json!({"Key": "k", "Value": "v"}), "InvalidTagException"),
        (json!({}), "ValidationException"),
    ] {
        let tags = vec![tag; 30_000];
        let input = json!({"ProductCode": "p", "Timestamp": secs(NOW), "UsageDimension": "d",
            "UsageAllocations": [{"AllocatedUsageQuantity": 0, "Tags": tags}]});
        let a = m.call("MeterUsage", input);
        assert_eq!(a.error_name(), expected);
        assert!(a.response.body.len() < SHORT);
    }
    let allocations = vec![json!({}); 200_000];
    let input = json!({"ProductCode": "p", "Timestamp": secs(NOW), "UsageDimension": "d", "UsageAllocations": allocations});
    let a = m.call("MeterUsage", input);
    assert_eq!(a.error_name(), "InvalidUsageAllocationsException");
    assert!(a.response.body.len() < SHORT);
}

#[test]
fn thousands_of_violations_are_counted_but_only_some_are_spelled_out() {
    let mut m = Mock::new();
    let allocations: Vec<Value> = (0..2000)
        .map(|_| json!({"AllocatedUsageQuantity": -1}))
        .collect();
    let record = json!({"Timestamp": 1, "CustomerIdentifier": "c", "Dimension": "d", "UsageAllocations": allocations});
    let a = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "p", "UsageRecords": [record.clone(), record]}),
    );
    assert_eq!(a.error_name(), "ValidationException");
    assert!(
        a.message().starts_with("4000 validation errors detected: "),
        "{}",
        &a.message()[..80]
    );
    assert!(a.message().ends_with("; and 3975 more"));
    assert!(a.response.body.len() < SHORT);
}

#[test]
fn separators_inside_values_cannot_merge_two_customers_usage() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "p", "dimensions": ["x|d", "d"],
        "customers": [{"customerIdentifier": "a"}, {"customerIdentifier": "a|x"}]}));
    let record = |c: &str, d: &str, q: i64| json!({"Timestamp": secs(NOW), "CustomerIdentifier": c, "Dimension": d, "Quantity": q});
    let a = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "p", "UsageRecords": [record("a", "x|d", 1), record("a|x", "d", 2)]}),
    );
    let statuses: Vec<&str> = a.body["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Success", "Success"]);
    assert_eq!(m.usage("").len(), 2);
}

#[test]
fn separators_inside_access_keys_cannot_merge_two_callers_usage() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "p", "dimensions": ["x|d", "d"]}));
    let usage = |d: &str, q: i64| json!({"ProductCode": "p", "Timestamp": secs(NOW), "UsageDimension": d, "UsageQuantity": q});
    assert_eq!(
        m.call_as("k|x", "us-east-1", "MeterUsage", usage("d", 1))
            .status,
        200
    );
    assert_eq!(
        m.call_as("k", "us-east-1", "MeterUsage", usage("x|d", 2))
            .status,
        200
    );
    assert_eq!(m.usage("").len(), 2);
}

#[test]
fn the_store_contract_refuses_a_namespace_with_settings_clock_faults_or_keys() {
    for (method, path, body) in [
        ("POST", "/keys/rotate", json!({})),
        ("PATCH", "/settings", json!({"maxFutureSeconds": 1})),
        ("PUT", "/clock", json!({"offsetSeconds": 5})),
        (
            "POST",
            "/faults",
            json!({"operation": "MeterUsage", "error": "ThrottlingException"}),
        ),
    ] {
        let mut m = Mock::new();
        m.deployment = common::test_deployment();
        assert!(m.control(method, path, Some(body)).status < 300);
        assert_eq!(
            m.control("POST", "/store-contract", None).status,
            409,
            "{path}"
        );
    }
}

/// A runner of `cases` generated inputs, seeded so that a run is repeatable; a failing input
/// is shrunk to the smallest that still fails, and reported.
fn runner(cases: u32, seed: u8) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

fn check<S: Strategy>(cases: u32, seed: u8, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(cases, seed).run(&strategy, test) {
        panic!("{e}");
    }
}

fn one_of(items: &[&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(items.to_vec())
}

/// JSON shaped like (and unlike) the operations' input.
fn json_value() -> impl Strategy<Value = Value> {
    const KEYS: [&str; 22] = [
        "ProductCode",
        "Timestamp",
        "UsageDimension",
        "UsageQuantity",
        "UsageQuantityAsDecimal",
        "DryRun",
        "UsageAllocations",
        "ClientToken",
        "UsageRecords",
        "CustomerIdentifier",
        "Dimension",
        "Quantity",
        "QuantityAsDecimal",
        "CustomerAWSAccountId",
        "LicenseArn",
        "AllocatedUsageQuantity",
        "AllocatedUsageQuantityAsDecimal",
        "Tags",
        "Key",
        "Value",
        "x",
        "",
    ];
    const STRINGS: [&str; 12] = [
        "",
        "p",
        "d",
        "hosts",
        "ami",
        "1.5",
        "0",
        "9999999999.999999",
        "111122223333",
        "arn:aws:license-manager::1:license:l-1",
        "é😀\u{0}",
        "a|b",
    ];
    let now = secs(NOW).as_i64().unwrap_or(0);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1_000_000_000i64..4_000_000_000).prop_map(Value::from),
        any::<f64>().prop_map(|x| json!(x)),
        one_of(&STRINGS).prop_map(Value::from),
        (now - 50_000..now + 50_000).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(one_of(&KEYS), inner, 0..6).prop_map(|m| json!(m)),
        ]
    })
}

/// A GetEntitlements-shaped input: each member present or not, each value random or one of
/// the shapes the operation reads.
fn entitlements_input() -> impl Strategy<Value = Value> {
    fn member(shaped: BoxedStrategy<Value>) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            1 => Just(None),
            1 => json_value().prop_map(Some),
            2 => shaped.prop_map(Some),
        ]
    }
    let keys = [
        "CUSTOMER_IDENTIFIER",
        "DIMENSION",
        "CUSTOMER_AWS_ACCOUNT_ID",
        "LICENSE_ARN",
        "OTHER",
        "",
    ];
    let code = prop::option::weighted(0.8, one_of(&["contract", "ca-contract", "p", "", " "]));
    let values = prop::collection::vec(json_value(), 0..3);
    let filter = prop::collection::btree_map(one_of(&keys), values, 0..4).prop_map(|m| json!(m));
    let page = (-2i64..28).prop_map(Value::from);
    let token = one_of(&["AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x", " ", ""]);
    (
        code,
        member(filter.boxed()),
        member(page.boxed()),
        member(token.prop_map(Value::from).boxed()),
    )
        .prop_map(|(code, filter, max_results, token)| {
            let mut input = serde_json::Map::new();
            if let Some(code) = code {
                input.insert("ProductCode".into(), json!(code));
            }
            let members = [
                ("Filter", filter),
                ("MaxResults", max_results),
                ("NextToken", token),
            ];
            for (name, value) in members {
                if let Some(value) = value {
                    input.insert(name.into(), value);
                }
            }
            Value::Object(input)
        })
}

#[test]
fn random_get_entitlements_inputs_never_get_a_500_on_either_wire() {
    let m = RefCell::new(Mock::new());
    common::with_entitlements(&mut m.borrow_mut());
    let wires = prop::sample::select(WIRES.to_vec());
    check(10_000, 1, (wires, entitlements_input()), |(wire, input)| {
        let a = m.borrow_mut().get_entitlements(wire, input.clone());
        prop_assert_ne!(a.status, 500, "{:?}", a.body);
        prop_assert!(a.status == 200 || a.error.is_some());
        Ok(())
    });
}

#[test]
fn mangled_cbor_never_gets_a_500() {
    let m = RefCell::new(Mock::new());
    common::with_entitlements(&mut m.borrow_mut());
    // Each change: overwrite, insert or cut at a place in the encoded body.
    let change = (any::<prop::sample::Index>(), 0u8..3, any::<u8>());
    let changes = prop::collection::vec(change, 1..4);
    check(
        10_000,
        2,
        (entitlements_input(), changes),
        |(input, changes)| {
            let mut body = Vec::new();
            ciborium::into_writer(&input, &mut body).unwrap();
            for (at, kind, byte) in changes {
                let at = at.index(body.len() + 1);
                match kind {
                    0 if at < body.len() => body[at] = byte,
                    1 => body.insert(at, byte),
                    _ => body.truncate(at),
                }
            }
            let a = m.borrow_mut().send_cbor("test", body.clone());
            prop_assert_ne!(a.status, 500, "{:02x?}: {:?}", body, a.body);
            prop_assert!(a.status == 200 || a.error.is_some(), "{:02x?}", body);
            Ok(())
        },
    );
}

#[test]
fn random_inputs_never_get_a_500_or_a_panic() {
    let m = RefCell::new(Mock::new());
    common::with_catalogue(&mut m.borrow_mut());
    let operations = one_of(&["MeterUsage", "BatchMeterUsage", "RegisterUsage"]);
    check(20_000, 3, (operations, json_value()), |(op, input)| {
        let a = m.borrow_mut().call(op, input.clone());
        prop_assert_ne!(a.status, 500, "{:?}", a.body);
        prop_assert!(a.status == 200 || a.error.is_some());
        Ok(())
    });
}

/// JSON shaped like (and unlike) the Agreement Service's and Discovery's input.
fn model_input() -> impl Strategy<Value = Value> {
    const KEYS: [&str; 18] = [
        "agreementId",
        "filters",
        "name",
        "values",
        "sort",
        "sortBy",
        "sortOrder",
        "maxResults",
        "nextToken",
        "requestedTerms",
        "id",
        "configuration",
        "intent",
        "clientToken",
        "catalog",
        "offerId",
        "agreementProposalIdentifier",
        "",
    ];
    const STRINGS: [&str; 9] = [
        "",
        "agmt-1",
        "AgreementType",
        "EndTime",
        "DESCENDING",
        "NEW",
        "ap-1",
        "é😀\u{0}",
        "a b",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|x| json!(x)),
        one_of(&STRINGS).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(one_of(&KEYS), inner, 0..6).prop_map(|m| json!(m)),
        ]
    })
}

#[test]
fn random_inputs_to_the_model_driven_services_never_get_a_500() {
    use metering_mock::model::ModelService;
    let m = RefCell::new(Mock::new());
    let agreement: Vec<&'static str> = ModelService::Agreement
        .model()
        .operations
        .keys()
        .map(String::as_str)
        .collect();
    let discovery: Vec<&'static str> = ModelService::Discovery
        .model()
        .operations
        .values()
        .map(|op| op.http.request_uri.as_str())
        .collect();
    let call = prop_oneof![
        (prop::sample::select(agreement), any::<bool>()).prop_map(|(op, cbor)| (op, Some(cbor))),
        prop::sample::select(discovery).prop_map(|path| (path, None)),
    ];
    check(10_000, 4, (call, model_input()), |((name, cbor), input)| {
        let a = match cbor {
            Some(cbor) => m
                .borrow_mut()
                .agreement_as("test", cbor, name, input.clone()),
            None => m.borrow_mut().discovery_as("test", name, input.clone()),
        };
        prop_assert!(a.status < 500, "{name} {input}: {:?}", a.body);
        // An answer (a valid input to a served operation) or an error with its message;
        // that unserved operations answer an error is tests/model_services.rs's to show.
        prop_assert!(
            (a.status == 200 && a.body.is_object())
                || (a.error.is_some() && a.body["message"].is_string()),
            "{name}: {:?}",
            a.body
        );
        Ok(())
    });
}

/// A time as a client of the control API might write it: RFC 3339 of any year (0000 to
/// 99999), with odd offsets and fractions, or epoch seconds of any size.
fn control_time() -> impl Strategy<Value = Value> {
    let years = prop::sample::select(vec![0u32, 1, 2, 1969, 1970, 2026, 9998, 9999, 10000]);
    let fraction = one_of(&["", ".5", ".999", ".123456789"]);
    let offset = one_of(&["Z", "+00:00", "+14:00", "-23:59", "+00:01", "-00:01"]);
    let text = (
        years,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        fraction,
        offset,
    )
        .prop_map(|(y, mo, d, h, mi, s, f, o)| {
            json!(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{f}{o}"))
        });
    prop_oneof![
        text,
        (-350_000_000_000i64..350_000_000_000).prop_map(Value::from),
        // Any finite double, of either sign and any size.
        any::<f64>().prop_map(|x| json!(if x.is_finite() { x } else { 0.0 })),
    ]
}

#[test]
fn every_time_the_control_api_accepts_is_one_every_sdk_reads_back() {
    // Python's datetime (boto3) reads the years 0001 to 9999, the narrowest of the SDKs'.
    let (first, last) = (-62_135_596_800.0, 253_402_300_800.0);
    let m = RefCell::new(Mock::new());
    m.borrow_mut().add_product(json!({"productCode": "p", "dimensions": ["d"], "customers": [{"customerIdentifier": "c"}]}));
    let accepted = Cell::new(0);
    check(3_000, 4, control_time(), |at| {
        let mut m = m.borrow_mut();
        // An expirationDate is RFC 3339 text only: a number is sent as its text.
        let text = at.as_str().map_or_else(|| at.to_string(), str::to_string);
        let entitlement = json!({"productCode": "p", "customerIdentifier": "c",
            "entitlements": [{"dimension": "d", "value": {"integerValue": 1}, "expirationDate": text}]});
        if m.control("PUT", "/entitlements", Some(entitlement)).status == 200 {
            accepted.set(accepted.get() + 1);
            let read = m.get_entitlements(common::Wire::Json, json!({"ProductCode": "p"}));
            let seconds = read.body["Entitlements"][0]["ExpirationDate"]
                .as_f64()
                .unwrap();
            prop_assert!(
                (first..last).contains(&seconds),
                "{} became {}",
                at,
                seconds
            );
        }
        if m.control("PUT", "/clock", Some(json!({ "frozenAt": at })))
            .status
            == 200
        {
            accepted.set(accepted.get() + 1);
            let now = m.control("GET", "/clock", None).body["nowEpochSeconds"]
                .as_f64()
                .unwrap();
            prop_assert!((first..last).contains(&now), "{} became {}", at, now);
        }
        Ok(())
    });
    assert!(
        accepted.get() > 1_000,
        "the fuzz must reach accepted times too ({})",
        accepted.get()
    );
}
