//! Hostile and odd input: oversized lists answer with short errors, values containing
//! separators cannot make two usages share a ledger key, random JSON and CBOR never get a 500.

mod common;

use common::{secs, Mock, NOW, WIRES};
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
        assert!(m.control(method, path, Some(body)).status < 300);
        assert_eq!(
            m.control("POST", "/store-contract", None).status,
            409,
            "{path}"
        );
    }
}

/// A small deterministic generator of JSON shaped like (and unlike) the operations' input.
struct Fuzz(u64);

impl Fuzz {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn value(&mut self, depth: u32) -> Value {
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
        match self.next() % if depth > 3 { 6 } else { 8 } {
            0 => Value::Null,
            1 => json!(self.next().is_multiple_of(2)),
            2 => json!((self.next() % 5_000_000_000) as i64 - 1_000_000_000),
            3 => json!(f64::from_bits(self.next() >> 2)),
            4 => json!(self.pick(&STRINGS)),
            5 => json!(secs(NOW).as_i64().unwrap_or(0) + (self.next() % 100_000) as i64 - 50_000),
            6 => Value::Array(
                (0..self.next() % 4)
                    .map(|_| self.value(depth + 1))
                    .collect(),
            ),
            _ => {
                let mut map = serde_json::Map::new();
                for _ in 0..self.next() % 6 {
                    let key = self.pick(&KEYS).to_string();
                    map.insert(key, self.value(depth + 1));
                }
                Value::Object(map)
            }
        }
    }
}

impl Fuzz {
    /// A GetEntitlements-shaped input: each member present or not, each value random or one
    /// of the shapes the operation reads.
    fn entitlements_input(&mut self) -> Value {
        const KEYS: [&str; 6] = [
            "CUSTOMER_IDENTIFIER",
            "DIMENSION",
            "CUSTOMER_AWS_ACCOUNT_ID",
            "LICENSE_ARN",
            "OTHER",
            "",
        ];
        let mut input = serde_json::Map::new();
        if !self.next().is_multiple_of(5) {
            let code = self.pick(&["contract", "ca-contract", "p", "", " "]);
            input.insert("ProductCode".into(), json!(code));
        }
        let mut random_or = |fuzz: &mut Fuzz, member: &str, shaped: Value| match fuzz.next() % 4 {
            0 => {}
            1 => {
                input.insert(member.into(), fuzz.value(1));
            }
            _ => {
                input.insert(member.into(), shaped);
            }
        };
        let mut filter = serde_json::Map::new();
        for _ in 0..self.next() % 4 {
            let values: Vec<Value> = (0..self.next() % 3).map(|_| self.value(3)).collect();
            filter.insert(self.pick(&KEYS).into(), Value::Array(values));
        }
        random_or(self, "Filter", Value::Object(filter));
        let page = (self.next() % 30) as i64 - 2;
        random_or(self, "MaxResults", json!(page));
        let token = self.pick(&["AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x", " ", ""]);
        random_or(self, "NextToken", json!(token));
        Value::Object(input)
    }
}

#[test]
fn random_get_entitlements_inputs_never_get_a_500_on_either_wire() {
    let mut m = Mock::new();
    common::with_entitlements(&mut m);
    let mut fuzz = Fuzz(0x2545_F491_4F6C_DD1D);
    for i in 0..10_000 {
        let wire = WIRES[i % 2];
        let input = fuzz.entitlements_input();
        let a = m.get_entitlements(wire, input.clone());
        assert_ne!(a.status, 500, "{wire:?} {input}: {:?}", a.body);
        assert!(a.status == 200 || a.error.is_some(), "{wire:?} {input}");
    }
}

#[test]
fn mangled_cbor_never_gets_a_500() {
    let mut m = Mock::new();
    common::with_entitlements(&mut m);
    let mut fuzz = Fuzz(0xD1B5_4A32_D192_ED03);
    for _ in 0..10_000 {
        let mut body = Vec::new();
        ciborium::into_writer(&fuzz.entitlements_input(), &mut body).unwrap();
        for _ in 0..1 + fuzz.next() % 3 {
            let at = (fuzz.next() as usize) % (body.len() + 1);
            match fuzz.next() % 3 {
                0 if at < body.len() => body[at] = fuzz.next() as u8,
                1 => body.insert(at, fuzz.next() as u8),
                _ => body.truncate(at),
            }
        }
        let a = m.send_cbor("test", body.clone());
        assert_ne!(a.status, 500, "{body:02x?}: {:?}", a.body);
        assert!(a.status == 200 || a.error.is_some(), "{body:02x?}");
    }
}

#[test]
fn random_inputs_never_get_a_500_or_a_panic() {
    let mut m = Mock::new();
    common::with_catalogue(&mut m);
    let mut fuzz = Fuzz(0x9E37_79B9_7F4A_7C15);
    for i in 0..20_000 {
        let op = ["MeterUsage", "BatchMeterUsage", "RegisterUsage"][i % 3];
        let input = fuzz.value(0);
        let a = m.call(op, input.clone());
        assert_ne!(a.status, 500, "{op} {input}: {:?}", a.body);
        assert!(a.status == 200 || a.error.is_some(), "{op} {input}");
    }
}

/// A time as a client of the control API might write it: RFC 3339 of any year (0000 to
/// 99999), with odd offsets and fractions, or epoch seconds of any size.
fn fuzzed_time(fuzz: &mut Fuzz) -> Value {
    match fuzz.next() % 3 {
        0 => json!(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{}",
            [0, 1, 2, 1969, 1970, 2026, 9998, 9999, 10000][(fuzz.next() % 9) as usize],
            1 + fuzz.next() % 12,
            1 + fuzz.next() % 28,
            fuzz.next() % 24,
            fuzz.next() % 60,
            fuzz.next() % 60,
            fuzz.pick(&["", ".5", ".999", ".123456789"]),
            fuzz.pick(&["Z", "+00:00", "+14:00", "-23:59", "+00:01", "-00:01"]),
        )),
        1 => json!((fuzz.next() % 700_000_000_000) as i64 - 350_000_000_000),
        // Any finite double, of either sign and any size.
        _ => json!(Some(f64::from_bits(fuzz.next()))
            .filter(|x| x.is_finite())
            .unwrap_or(0.0)),
    }
}

#[test]
fn every_time_the_control_api_accepts_is_one_every_sdk_reads_back() {
    // Python's datetime (boto3) reads the years 0001 to 9999, the narrowest of the SDKs'.
    let (first, last) = (-62_135_596_800.0, 253_402_300_800.0);
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "p", "dimensions": ["d"], "customers": [{"customerIdentifier": "c"}]}));
    let mut fuzz = Fuzz(0x5851_F42D_4C95_7F2D);
    let mut accepted = 0;
    for _ in 0..3_000 {
        let at = fuzzed_time(&mut fuzz);
        // An expirationDate is RFC 3339 text only: a number is sent as its text.
        let text = at.as_str().map_or_else(|| at.to_string(), str::to_string);
        let entitlement = json!({"productCode": "p", "customerIdentifier": "c",
            "entitlements": [{"dimension": "d", "value": {"integerValue": 1}, "expirationDate": text}]});
        if m.control("PUT", "/entitlements", Some(entitlement)).status == 200 {
            accepted += 1;
            let read = m.get_entitlements(common::Wire::Json, json!({"ProductCode": "p"}));
            let seconds = read.body["Entitlements"][0]["ExpirationDate"]
                .as_f64()
                .unwrap();
            assert!((first..last).contains(&seconds), "{at} became {seconds}");
        }
        if m.control("PUT", "/clock", Some(json!({ "frozenAt": at })))
            .status
            == 200
        {
            accepted += 1;
            let now = m.control("GET", "/clock", None).body["nowEpochSeconds"]
                .as_f64()
                .unwrap();
            assert!((first..last).contains(&now), "{at} became {now}");
        }
    }
    assert!(
        accepted > 1_000,
        "the fuzz must reach accepted times too ({accepted})"
    );
}
