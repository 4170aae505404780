//! BatchMeterUsage rules, driven natively through the whole service.

mod common;

use common::{at, secs, with_catalogue, Mock, LICENSE_1, LICENSE_2, LICENSE_3, NOW};
use serde_json::{json, Value};

fn mock() -> Mock {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m
}

fn record(customer: &str, dimension: &str, quantity: i64) -> Value {
    json!({"Timestamp": secs(NOW), "CustomerIdentifier": customer, "Dimension": dimension, "Quantity": quantity})
}

fn batch(records: Vec<Value>) -> Value {
    json!({"ProductCode": "saas", "UsageRecords": records})
}

fn statuses(a: &common::Answer) -> Vec<String> {
    a.body["Results"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|r| r["Status"].as_str().unwrap_or("").to_string())
        .collect()
}

fn ids(a: &common::Answer) -> Vec<Value> {
    a.body["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["MeteringRecordId"].clone())
        .collect()
}

#[test]
fn records_succeed_and_are_echoed_as_sent() {
    let mut m = mock();
    let sent = json!({"Timestamp": 1773145815.25, "CustomerIdentifier": "c1", "Dimension": "users", "Quantity": 2,
        "UsageAllocations": [{"AllocatedUsageQuantity": 2, "Tags": [{"Key": "k", "Value": "v"}]}], "Unknown": 1});
    let a = m.call("BatchMeterUsage", batch(vec![sent.clone()]));
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(statuses(&a), ["Success"]);
    let mut expected = sent;
    expected.as_object_mut().unwrap().remove("Unknown");
    assert_eq!(a.body["Results"][0]["UsageRecord"], expected);
    assert_eq!(a.body["UnprocessedRecords"], json!([]));
    let records = m.usage("");
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["meteringRecordId"],
        a.body["Results"][0]["MeteringRecordId"]
    );
    assert_eq!(records[0]["customerIdentifier"], "c1");
    assert_eq!(records[0]["customerAWSAccountId"], "111122223333");
}

#[test]
fn an_empty_batch_is_valid() {
    let mut m = mock();
    let a = m.call("BatchMeterUsage", batch(vec![]));
    assert_eq!((a.status, a.body["Results"].clone()), (200, json!([])));
    let a = m.call("BatchMeterUsage", json!({"UsageRecords": []}));
    assert_eq!(a.status, 200);
}

#[test]
fn retries_of_all_or_some_records_return_the_same_ids_and_record_nothing_new() {
    let mut m = mock();
    let records = vec![
        record("c1", "users", 1),
        record("c2", "users", 2),
        record("c1", "gb", 3),
    ];
    let first = m.call("BatchMeterUsage", batch(records.clone()));
    let again = m.call("BatchMeterUsage", batch(records.clone()));
    assert_eq!(ids(&first), ids(&again));
    let subset = m.call("BatchMeterUsage", batch(vec![records[2].clone()]));
    assert_eq!(ids(&subset)[0], ids(&first)[2]);
    assert_eq!(statuses(&subset), ["Success"]);
    assert_eq!(m.usage("").len(), 3);
}

#[test]
fn another_quantity_for_a_metered_key_is_a_duplicate_record_and_the_original_stands() {
    let mut m = mock();
    let first = m.call("BatchMeterUsage", batch(vec![record("c1", "users", 1)]));
    let other = m.call("BatchMeterUsage", batch(vec![record("c1", "users", 9)]));
    assert_eq!(other.status, 200);
    assert_eq!(statuses(&other), ["DuplicateRecord"]);
    assert_eq!(ids(&other), ids(&first));
    let records = m.usage("");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["quantity"], "1");
}

#[test]
fn within_one_request_the_first_record_for_a_key_wins() {
    let mut m = mock();
    let a = m.call(
        "BatchMeterUsage",
        batch(vec![
            record("c1", "users", 1),
            record("c1", "users", 1),
            record("c1", "users", 2),
        ]),
    );
    assert_eq!(statuses(&a), ["Success", "Success", "DuplicateRecord"]);
    let ids = ids(&a);
    assert!(ids[0] == ids[1] && ids[1] == ids[2]);
    assert_eq!(m.usage("").len(), 1);
}

#[test]
fn a_customer_known_by_identifier_and_by_account_is_one_customer() {
    let mut m = mock();
    let by_id = m.call("BatchMeterUsage", batch(vec![record("c1", "users", 1)]));
    let by_account = json!({"Timestamp": secs(NOW), "CustomerAWSAccountId": "111122223333", "Dimension": "users", "Quantity": 1});
    let again = m.call("BatchMeterUsage", batch(vec![by_account]));
    assert_eq!(ids(&by_id), ids(&again));
}

#[test]
fn unknown_customers_are_not_subscribed_unless_the_namespace_wants_an_exception() {
    let mut m = mock();
    let a = m.call(
        "BatchMeterUsage",
        batch(vec![record("nobody", "users", 1), record("c1", "users", 1)]),
    );
    assert_eq!(statuses(&a), ["CustomerNotSubscribed", "Success"]);
    assert!(a.body["Results"][0].get("MeteringRecordId").is_none());
    assert_eq!(m.usage("").len(), 1);
    m.set(json!({"unknownCustomer": "invalid-customer-identifier"}));
    let a = m.call(
        "BatchMeterUsage",
        batch(vec![record("c2", "gb", 1), record("nobody", "users", 1)]),
    );
    assert_eq!(a.error_name(), "InvalidCustomerIdentifierException");
    assert_eq!(
        m.usage("").len(),
        1,
        "nothing of a rejected batch is recorded"
    );
}

#[test]
fn customer_identification_rules() {
    let mut m = mock();
    let both = json!({"Timestamp": secs(NOW), "CustomerIdentifier": "c1", "CustomerAWSAccountId": "111122223333", "Dimension": "users"});
    assert_eq!(
        m.call("BatchMeterUsage", batch(vec![both])).error_name(),
        "InvalidCustomerIdentifierException"
    );
    let neither = json!({"Timestamp": secs(NOW), "Dimension": "users"});
    assert_eq!(
        m.call("BatchMeterUsage", batch(vec![neither])).error_name(),
        "InvalidCustomerIdentifierException"
    );
    // The Rust SDK always sends an empty CustomerIdentifier: it is absent.
    let rust_style = json!({"Timestamp": secs(NOW), "CustomerIdentifier": "", "CustomerAWSAccountId": "444455556666", "Dimension": "users", "Quantity": 1});
    let a = m.call("BatchMeterUsage", batch(vec![rust_style]));
    assert_eq!(statuses(&a), ["Success"], "{:?}", a.body);
}

#[test]
fn concurrent_agreements_use_account_and_license_and_need_no_product_code() {
    let mut m = mock();
    let rec = |account: &str, license: Option<&str>| {
        let mut r = json!({"Timestamp": secs(NOW), "CustomerAWSAccountId": account, "Dimension": "requests", "Quantity": 1});
        if let Some(l) = license {
            r["LicenseArn"] = json!(l);
        }
        r
    };
    let a = m.call("BatchMeterUsage", json!({"UsageRecords": [rec("111122223333", Some(LICENSE_1)), rec("111122223333", Some(LICENSE_2))]}));
    assert_eq!(statuses(&a), ["Success", "Success"], "{:?}", a.body);
    assert_ne!(
        ids(&a)[0],
        ids(&a)[1],
        "two licenses of one account are two customers"
    );
    let records = m.usage("customer=");
    assert_eq!(records.len(), 0, "an empty customer filter matches nothing");
    assert_eq!(m.usage(&format!("customer={LICENSE_2}")).len(), 1);

    let with_code =
        json!({"ProductCode": "ca", "UsageRecords": [rec("777788889999", Some(LICENSE_3))]});
    assert_eq!(statuses(&m.call("BatchMeterUsage", with_code)), ["Success"]);
    let wrong_owner = json!({"UsageRecords": [rec("777788889999", Some(LICENSE_1))]});
    assert_eq!(
        m.call("BatchMeterUsage", wrong_owner).error_name(),
        "InvalidLicenseException"
    );
    let no_license = json!({"ProductCode": "ca", "UsageRecords": [rec("111122223333", None)]});
    assert_eq!(
        m.call("BatchMeterUsage", no_license).error_name(),
        "InvalidLicenseException"
    );
    let unknown_license = json!({"UsageRecords": [rec("111122223333", Some("arn:aws:license-manager::111122223333:license:l-unknown"))]});
    assert_eq!(
        m.call("BatchMeterUsage", unknown_license).error_name(),
        "InvalidLicenseException"
    );
    let identifier = json!({"ProductCode": "ca", "UsageRecords": [{"Timestamp": secs(NOW), "CustomerIdentifier": "c1", "Dimension": "requests"}]});
    assert_eq!(
        m.call("BatchMeterUsage", identifier).error_name(),
        "InvalidCustomerIdentifierException"
    );
    let no_product_no_license = json!({"UsageRecords": [record("c1", "users", 1)]});
    assert_eq!(
        m.call("BatchMeterUsage", no_product_no_license)
            .error_name(),
        "InvalidProductCodeException"
    );
    let other_product =
        json!({"ProductCode": "saas", "UsageRecords": [rec("111122223333", Some(LICENSE_1))]});
    assert_eq!(
        m.call("BatchMeterUsage", other_product).error_name(),
        "InvalidLicenseException"
    );
}

#[test]
fn the_seller_check_applies_to_twelve_digit_callers() {
    let mut m = mock();
    let input = batch(vec![record("c1", "users", 1)]);
    let a = m.call_as(
        "111122223333",
        "us-east-1",
        "BatchMeterUsage",
        input.clone(),
    );
    assert_eq!(a.error_name(), "InvalidProductCodeException");
    assert!(!a.message().contains("999988887777"), "{}", a.message());
    assert_eq!(
        m.call_as("999988887777", "us-east-1", "BatchMeterUsage", input)
            .status,
        200
    );
}

#[test]
fn unknown_product_and_dimension_reject_the_whole_batch() {
    let mut m = mock();
    let a = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "nope", "UsageRecords": [record("c1", "users", 1)]}),
    );
    assert_eq!(a.error_name(), "InvalidProductCodeException");
    let a = m.call(
        "BatchMeterUsage",
        batch(vec![record("c1", "users", 1), record("c1", "cpus", 1)]),
    );
    assert_eq!(a.error_name(), "InvalidUsageDimensionException");
    assert!(m.usage("").is_empty());
}

#[test]
fn one_record_out_of_the_window_rejects_the_whole_batch() {
    let mut m = mock();
    let old = json!({"Timestamp": secs("2026-03-09T12:30:00Z"), "CustomerIdentifier": "c2", "Dimension": "users"});
    let a = m.call(
        "BatchMeterUsage",
        batch(vec![record("c1", "users", 1), old]),
    );
    assert_eq!(
        (a.status, a.error_name()),
        (400, "TimestampOutOfBoundsException")
    );
    assert!(m.usage("").is_empty());
    let just_in = json!({"Timestamp": at("2026-03-09T12:30:00Z").millis() as f64 / 1000.0 + 0.001, "CustomerIdentifier": "c2", "Dimension": "users"});
    assert_eq!(
        statuses(&m.call("BatchMeterUsage", batch(vec![just_in]))),
        ["Success"]
    );
}

#[test]
fn last_months_usage_closes_at_six_on_the_first() {
    let mut m = mock();
    let event = json!({"Timestamp": secs("2026-03-31T23:00:00Z"), "CustomerIdentifier": "c1", "Dimension": "users", "Quantity": 1});
    m.control(
        "PUT",
        "/clock",
        Some(json!({"frozenAt": "2026-04-01T05:59:59Z"})),
    );
    assert_eq!(
        statuses(&m.call("BatchMeterUsage", batch(vec![event.clone()]))),
        ["Success"]
    );
    m.control(
        "PUT",
        "/clock",
        Some(json!({"frozenAt": "2026-04-01T06:00:00Z"})),
    );
    let late = m.call("BatchMeterUsage", batch(vec![event]));
    assert_eq!(late.error_name(), "TimestampOutOfBoundsException");
}

#[test]
fn more_than_25_records_is_a_validation_error() {
    let mut m = mock();
    let records: Vec<Value> = (0..26)
        .map(|i| record(&format!("c{i}"), "users", 1))
        .collect();
    let a = m.call("BatchMeterUsage", batch(records));
    assert_eq!(a.error_name(), "ValidationException");
    assert!(a.message().contains("at 'usageRecords' failed to satisfy constraint: Member must have length less than or equal to 25"), "{}", a.message());
}

#[test]
fn record_constraints_are_validation_errors_naming_the_record() {
    let mut m = mock();
    let cases = [
        (json!({"UsageRecords": [{"Dimension": "users"}]}), "Value null at 'usageRecords.1.member.timestamp'"),
        (json!({"ProductCode": "saas"}), "Value null at 'usageRecords'"),
        (json!({"ProductCode": "saas", "UsageRecords": [record("c1", "users", 1), {"Timestamp": 1, "CustomerAWSAccountId": "12a", "Dimension": "users"}]}), "at 'usageRecords.2.member.customerAWSAccountId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9]+$"),
        (json!({"ProductCode": "saas", "UsageRecords": [{"Timestamp": 1, "CustomerAWSAccountId": "1", "LicenseArn": "nope", "Dimension": "users"}]}), "at 'usageRecords.1.member.licenseArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws"),
        (json!({"ProductCode": "saas", "UsageRecords": [{"Timestamp": 1, "CustomerIdentifier": "c1", "Dimension": "users", "QuantityAsDecimal": "1.1234567"}]}), "at 'usageRecords.1.member.quantityAsDecimal'"),
        (json!({"ProductCode": "saas", "UsageRecords": [{"Timestamp": 1, "CustomerIdentifier": "c1", "Dimension": "users", "Quantity": 1, "QuantityAsDecimal": "1"}]}), "Only one of Quantity and QuantityAsDecimal may be set"),
        (json!({"ProductCode": "saas", "UsageRecords": [{"Timestamp": 1, "CustomerIdentifier": "c".repeat(256), "Dimension": "users"}]}), "at 'usageRecords.1.member.customerIdentifier' failed to satisfy constraint: Member must have length less than or equal to 255"),
        (json!({"ProductCode": "saas", "UsageRecords": [{"Timestamp": 1, "CustomerAWSAccountId": "", "Dimension": "users"}]}), "at 'usageRecords.1.member.customerAWSAccountId' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    ];
    common::assert_validation_errors(&mut m, "BatchMeterUsage", &cases);
}

#[test]
fn allocation_and_tag_rules_apply_to_every_record() {
    let mut m = mock();
    let with_allocations = |allocations: Value| {
        batch(vec![
            json!({"Timestamp": secs(NOW), "CustomerIdentifier": "c1", "Dimension": "users", "Quantity": 2, "UsageAllocations": allocations}),
        ])
    };
    let cases = [
        (
            json!([{"AllocatedUsageQuantity": 1}]),
            "InvalidUsageAllocationsException",
        ),
        (
            json!([{"AllocatedUsageQuantity": 1}, {"AllocatedUsageQuantity": 1}]),
            "InvalidUsageAllocationsException",
        ),
        (json!([]), "InvalidUsageAllocationsException"),
        (
            json!([{"AllocatedUsageQuantity": 2, "Tags": []}]),
            "InvalidTagException",
        ),
        (
            json!([{"AllocatedUsageQuantity": 2, "Tags": [{"Key": "a!", "Value": "v"}]}]),
            "InvalidTagException",
        ),
        (
            json!([{"AllocatedUsageQuantity": 2, "Tags": (0..6).map(|i| json!({"Key": format!("k{i}"), "Value": "v"})).collect::<Vec<_>>()}]),
            "InvalidTagException",
        ),
    ];
    for (allocations, expected) in cases {
        let a = m.call("BatchMeterUsage", with_allocations(allocations.clone()));
        assert_eq!(a.error_name(), expected, "{allocations}");
    }
    let ok = m.call(
        "BatchMeterUsage",
        with_allocations(
            json!([{"AllocatedUsageQuantity": 2, "Tags": [{"Key": "a", "Value": "b"}]}]),
        ),
    );
    assert_eq!(statuses(&ok), ["Success"]);
    m.set(json!({"tagCharset": "model-regex"}));
    let loose = m.call(
        "BatchMeterUsage",
        with_allocations(
            json!([{"AllocatedUsageQuantity": 2, "Tags": [{"Key": "a!", "Value": "b"}]}]),
        ),
    );
    assert_eq!(statuses(&loose), ["Success"], "{:?}", loose.body);
}

#[test]
fn decimal_record_quantities_are_recorded_exactly() {
    let mut m = mock();
    let rec = |q: &str| json!({"Timestamp": secs(NOW), "CustomerIdentifier": "c1", "Dimension": "gb", "QuantityAsDecimal": q});
    let first = m.call("BatchMeterUsage", batch(vec![rec("2.5")]));
    assert_eq!(m.usage("")[0]["quantity"], "2.5");
    let same = m.call("BatchMeterUsage", batch(vec![rec("2.500000")]));
    assert_eq!(
        (statuses(&same), ids(&same)),
        (vec!["Success".to_string()], ids(&first))
    );
    let other = m.call("BatchMeterUsage", batch(vec![rec("2.500001")]));
    assert_eq!(statuses(&other), ["DuplicateRecord"]);
}

#[test]
fn a_license_added_to_a_legacy_customer_does_not_make_a_recorded_hour_new_again() {
    let mut m = mock();
    let by_account = json!({"ProductCode": "saas", "UsageRecords": [
        {"Timestamp": secs(NOW), "CustomerAWSAccountId": "444455556666", "Dimension": "users", "Quantity": 3}]});
    let first = m.call("BatchMeterUsage", by_account.clone());
    assert_eq!(statuses(&first), ["Success"]);
    let mut product = m.control("GET", "/products/saas", None).body["product"].clone();
    product["customers"][1]["licenseArn"] =
        json!("arn:aws:license-manager::444455556666:license:l-0000000000000000000000000000099");
    m.add_product(product);
    let retry = m.call("BatchMeterUsage", by_account);
    assert_eq!(statuses(&retry), ["Success"]);
    assert_eq!(
        retry.body["Results"][0]["MeteringRecordId"],
        first.body["Results"][0]["MeteringRecordId"]
    );
    assert_eq!(m.usage("").len(), 1);
}
