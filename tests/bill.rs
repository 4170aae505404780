//! The bill preview (`/_mock/bill`): a month's ledger priced per customer and dimension,
//! entitlements covering part of it, retried records counted once, months apart, and the
//! prices of a product checked where it is created.

mod common;

use common::{at, Mock};
use serde_json::{json, Value};

/// A product `p` priced per user and per GB, with c1 (a 10-user contract) and c2.
fn priced() -> Mock {
    let mut m = Mock::new();
    m.add_product(json!({
        "productCode": "p", "dimensions": ["users", "gb", "free"],
        "prices": {"users": "0.125", "gb": "0.01"},
        "customers": [
            {"customerIdentifier": "c1", "customerAWSAccountId": "111122223333",
             "entitlements": [{"dimension": "users", "value": {"integerValue": 10}}]},
            {"customerIdentifier": "c2"}
        ]
    }));
    m
}

fn record(customer: &str, dimension: &str, quantity: &str, when: &str) -> Value {
    json!({
        "Timestamp": at(when).epoch_seconds(), "CustomerIdentifier": customer,
        "Dimension": dimension, "QuantityAsDecimal": quantity
    })
}

fn batch(m: &mut Mock, records: Vec<Value>) -> Value {
    let a = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "p", "UsageRecords": records}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

fn bill(m: &mut Mock, query: &str) -> Value {
    let a = m.control("GET", &format!("/bill?{query}"), None);
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

fn line<'a>(bill: &'a Value, customer: &str, dimension: &str) -> &'a Value {
    bill["customers"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["customerIdentifier"] == customer))
        .and_then(|c| c["lines"].as_array())
        .and_then(|lines| lines.iter().find(|l| l["dimension"] == dimension))
        .unwrap_or_else(|| panic!("no line {customer}/{dimension} in {bill}"))
}

#[test]
fn a_month_is_priced_with_entitlements_covering_part_of_it() {
    let mut m = priced();
    m.host_now = at("2026-03-10T12:30:00Z");
    batch(
        &mut m,
        vec![
            record("c1", "users", "7", "2026-03-10T10:00:00Z"),
            record("c1", "users", "5.5", "2026-03-10T11:00:00Z"),
            record("c1", "gb", "2.345", "2026-03-10T11:00:00Z"),
            record("c2", "users", "3", "2026-03-10T11:00:00Z"),
            record("c2", "free", "9", "2026-03-10T11:00:00Z"),
        ],
    );
    let b = bill(&mut m, "month=2026-03");
    assert_eq!(b["month"], "2026-03");
    assert_eq!(b["currency"], "USD");
    // c1: 12.5 users, 10 covered by the contract, 2.5 × 0.125 = 0.3125 → 0.31.
    let users = line(&b, "c1", "users");
    assert_eq!(
        (&users["metered"], &users["covered"], &users["billable"]),
        (&json!("12.5"), &json!("10"), &json!("2.5"))
    );
    assert_eq!(
        (&users["amount"], &users["charge"]),
        (&json!("0.3125"), &json!("0.31"))
    );
    assert_eq!(users["records"], 2);
    assert_eq!(
        users["usage"],
        "/_mock/usage?product=p&customer=111122223333&dimension=users&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&limit=10000"
    );
    // The line's usage query lists exactly the records it sums.
    let listed = m.usage(
        "product=p&customer=c1&dimension=users&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z",
    );
    assert_eq!(listed.len(), 2);
    // 2.345 GB × 0.01 = 0.02345 → 0.02.
    assert_eq!(line(&b, "c1", "gb")["charge"], "0.02");
    // c2: no contract; 3 × 0.125 = 0.375 → 0.38 (half up). `free` has no price.
    assert_eq!(line(&b, "c2", "users")["charge"], "0.38");
    let free = line(&b, "c2", "free");
    assert_eq!(
        (&free["unitPrice"], &free["amount"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(free["metered"], "9");
    assert_eq!(b["charge"], "0.71");
    // One customer.
    let only = bill(&mut m, "month=2026-03&customer=c2");
    assert_eq!(only["customers"].as_array().map(Vec::len), Some(1));
    assert_eq!(only["charge"], "0.38");
    assert_eq!(
        bill(&mut m, "month=2026-03&customer=111122223333")["charge"],
        "0.33"
    );
}

#[test]
fn retried_records_are_counted_once_and_months_apart() {
    let mut m = priced();
    m.host_now = at("2026-04-01T03:00:00Z");
    let late_march = record("c2", "users", "4", "2026-03-31T23:30:00Z");
    let april = record("c2", "users", "2", "2026-04-01T01:00:00Z");
    let first = batch(&mut m, vec![late_march.clone(), april.clone()]);
    // The same records again (a retry): the same ids, nothing new in the ledger.
    let again = batch(&mut m, vec![late_march, april]);
    assert_eq!(first["Results"], again["Results"]);
    let march = bill(&mut m, "month=2026-03");
    assert_eq!(line(&march, "c2", "users")["metered"], "4");
    assert_eq!(line(&march, "c2", "users")["records"], 1);
    let april_bill = bill(&mut m, "month=2026-04");
    assert_eq!(line(&april_bill, "c2", "users")["metered"], "2");
    // Without a month: the namespace clock's (April).
    assert_eq!(bill(&mut m, "")["month"], "2026-04");
    assert_eq!(bill(&mut m, "month=2026-05")["customers"], json!([]));
    assert_eq!(bill(&mut m, "month=2026-05")["charge"], "0.00");
}

#[test]
fn a_customer_metered_by_identifier_and_by_account_is_one_customer_covered_once() {
    let mut m = priced();
    batch(
        &mut m,
        vec![record("c1", "users", "7", "2026-03-10T11:00:00Z")],
    );
    let a = m.call_as(
        "111122223333",
        "us-east-1",
        "MeterUsage",
        json!({"ProductCode": "p", "Timestamp": at("2026-03-10T12:00:00Z").epoch_seconds(), "UsageDimension": "users", "UsageQuantity": 6}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let b = bill(&mut m, "month=2026-03");
    assert_eq!(b["customers"].as_array().map(Vec::len), Some(1), "{b}");
    let users = line(&b, "c1", "users");
    // 13 metered, the 10-user contract covers 10 once: 3 × 0.125 = 0.375 → 0.38.
    assert_eq!(
        (
            &users["metered"],
            &users["covered"],
            &users["charge"],
            &users["records"]
        ),
        (&json!("13"), &json!("10"), &json!("0.38"), &json!(2))
    );
    let query = users["usage"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("/_mock/usage?");
    assert_eq!(
        m.usage(query).len(),
        2,
        "the line's query lists both records"
    );
}

#[test]
fn meter_usage_of_a_buyer_account_is_billed_to_that_customer() {
    let mut m = Mock::new();
    m.add_product(json!({
        "productCode": "ami", "dimensions": ["hosts"], "prices": {"hosts": "1.5"},
        "customers": [{"customerAWSAccountId": "111122223333"}]
    }));
    let a = m.call_as(
        "111122223333",
        "us-east-1",
        "MeterUsage",
        json!({"ProductCode": "ami", "Timestamp": m.host_now.epoch_seconds(), "UsageDimension": "hosts", "UsageQuantity": 3}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let b = bill(&mut m, "month=2026-03");
    let c = &b["customers"][0];
    assert_eq!(c["customerAWSAccountId"], "111122223333");
    assert_eq!(c["knownCustomer"], true);
    assert_eq!(c["lines"][0]["charge"], "4.50");
}

#[test]
fn a_bill_of_many_customers_lists_a_bounded_number_and_charges_them_all() {
    let mut m = Mock::new();
    m.host_now = at("2026-03-10T12:30:00Z");
    // Six products of 1000 customers each, one unit each: 6000 lines.
    for p in 0..6 {
        let customers: Vec<Value> = (0..1000)
            .map(|c| json!({"customerIdentifier": format!("p{p}c{c}")}))
            .collect();
        m.add_product(json!({
            "productCode": format!("p{p}"), "dimensions": ["users"], "prices": {"users": "1"},
            "customers": customers
        }));
        for chunk in (0..1000).collect::<Vec<_>>().chunks(25) {
            let records: Vec<Value> = chunk
                .iter()
                .map(|c| record(&format!("p{p}c{c}"), "users", "1", "2026-03-10T12:00:00Z"))
                .collect();
            let a = m.call(
                "BatchMeterUsage",
                json!({"ProductCode": format!("p{p}"), "UsageRecords": records}),
            );
            assert_eq!(a.status, 200, "{:?}", a.body);
        }
    }
    let b = bill(&mut m, "month=2026-03");
    assert_eq!(b["customers"].as_array().map(Vec::len), Some(5000));
    assert_eq!(b["truncated"], json!({"customers": 6000, "shown": 5000}));
    assert_eq!(b["charge"], "6000.00", "the charge is the whole month's");
    let one = bill(&mut m, "month=2026-03&customer=p5c999");
    assert_eq!(one["customers"].as_array().map(Vec::len), Some(1));
    assert!(one.get("truncated").is_none());
}

#[test]
fn bad_parameters_and_bad_prices_are_refused() {
    let mut m = priced();
    for bad in ["month=2026-13", "month=March", "colour=red"] {
        assert_eq!(
            m.control("GET", &format!("/bill?{bad}"), None).status,
            400,
            "{bad}"
        );
    }
    for (prices, says) in [
        (json!({"users": "-1"}), "is not a price"),
        (json!({"users": 0.1}), "invalid type"),
        (json!({"users": "0.1234567"}), "is not a price"),
        (json!({"seats": "1"}), "prices.seats"),
    ] {
        let a = m.control(
            "POST",
            "/products",
            Some(json!({"productCode": "q", "dimensions": ["users"], "prices": prices})),
        );
        assert_eq!(a.status, 400, "{prices}");
        let message = a.body["error"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{prices}: {message}");
    }
}
