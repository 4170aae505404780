//! Injected faults: queued errors answer the next calls of their operation; an
//! `unprocessedRecords` fault leaves the last records of the next valid batch unprocessed.

mod common;

use common::{secs, with_catalogue, Mock, NOW};
use serde_json::{json, Value};

fn mock() -> Mock {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m
}

fn meter() -> Value {
    json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 1})
}

fn queue(m: &mut Mock, fault: Value) {
    let a = m.control("POST", "/faults", Some(fault.clone()));
    assert_eq!(a.status, 201, "{fault}: {:?}", a.body);
}

#[test]
fn a_queued_error_answers_the_next_calls_of_its_operation_and_records_nothing() {
    let mut m = mock();
    queue(
        &mut m,
        json!({"operation": "MeterUsage", "error": "ThrottlingException", "count": 2}),
    );
    queue(
        &mut m,
        json!({"operation": "MeterUsage", "error": "InternalServiceErrorException"}),
    );
    let batch = json!({"ProductCode": "saas", "UsageRecords": []});
    assert_eq!(
        m.call("BatchMeterUsage", batch).status,
        200,
        "other operations are unaffected"
    );
    for expected in [
        (400, "ThrottlingException"),
        (400, "ThrottlingException"),
        (500, "InternalServiceErrorException"),
    ] {
        let a = m.call("MeterUsage", meter());
        assert_eq!((a.status, a.error_name()), expected);
    }
    assert!(m.usage("").is_empty());
    assert_eq!(m.call("MeterUsage", meter()).status, 200);
    assert_eq!(
        m.control("GET", "/faults", None).body,
        json!({"faults": []})
    );
}

#[test]
fn unprocessed_records_are_echoed_unrecorded_and_succeed_when_retried() {
    let mut m = mock();
    queue(
        &mut m,
        json!({"operation": "BatchMeterUsage", "unprocessedRecords": 2}),
    );
    let records: Vec<Value> = ["users", "gb"]
        .iter()
        .flat_map(|d| ["c1", "c2"].map(|c| json!({"Timestamp": secs(NOW), "CustomerIdentifier": c, "Dimension": d, "Quantity": 1})))
        .collect();
    let invalid = json!({"ProductCode": "nope", "UsageRecords": records.clone()});
    assert_eq!(
        m.call("BatchMeterUsage", invalid).error_name(),
        "InvalidProductCodeException"
    );
    let a = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "saas", "UsageRecords": records.clone()}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["Results"].as_array().unwrap().len(), 2);
    assert_eq!(a.body["UnprocessedRecords"], json!(records[2..]));
    assert_eq!(m.usage("").len(), 2);
    let retry = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "saas", "UsageRecords": a.body["UnprocessedRecords"]}),
    );
    assert_eq!(retry.body["Results"].as_array().unwrap().len(), 2);
    assert_eq!(retry.body["UnprocessedRecords"], json!([]));
    assert_eq!(m.usage("").len(), 4);
}

#[test]
fn faults_can_be_listed_and_cleared_and_bad_ones_are_refused() {
    let mut m = mock();
    queue(
        &mut m,
        json!({"operation": "BatchMeterUsage", "error": "DisabledApiException", "message": "off", "count": 3}),
    );
    let listed = m.control("GET", "/faults", None).body;
    assert_eq!(listed["faults"][0]["count"], 3);
    let batch = json!({"ProductCode": "saas", "UsageRecords": []});
    let a = m.call("BatchMeterUsage", batch.clone());
    assert_eq!(
        (a.error_name(), a.message()),
        ("DisabledApiException", "off")
    );
    assert_eq!(
        m.control("GET", "/faults", None).body["faults"][0]["count"],
        2
    );
    assert_eq!(m.control("DELETE", "/faults", None).status, 200);
    assert_eq!(m.call("BatchMeterUsage", batch).status, 200);
    for bad in [
        json!({"operation": "MeterUsage", "error": "DisabledApiException"}),
        json!({"operation": "MeterUsage", "error": "NoSuchThing"}),
        json!({"operation": "MeterUsage", "unprocessedRecords": 1}),
        json!({"operation": "BatchMeterUsage"}),
        json!({"operation": "BatchMeterUsage", "error": "ThrottlingException", "colour": "red"}),
    ] {
        assert_eq!(
            m.control("POST", "/faults", Some(bad.clone())).status,
            400,
            "{bad}"
        );
    }
}

#[test]
fn reset_forgets_queued_faults() {
    let mut m = mock();
    queue(
        &mut m,
        json!({"operation": "MeterUsage", "error": "ThrottlingException"}),
    );
    m.control("POST", "/reset", None);
    assert_eq!(
        m.control("GET", "/faults", None).body,
        json!({"faults": []})
    );
}
