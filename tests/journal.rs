//! The request journal (`/_mock/requests`): every AWS call of a namespace, failures included,
//! with its caller, request, answer and the records it wrote; filtered, paged, emptied,
//! bounded, switched off by a setting, and without the body of a call whose signature failed
//! in a locked deployment.

mod common;

use common::{secs, signed_meter_usage, with_catalogue, Mock, Wire, NOW};
use metering_mock::policy::deployment::Deployment;
use metering_mock::policy::secrets::{Issued, Provision};
use metering_mock::store::memory::MemoryStore;
use metering_mock::store::Retention;
use serde_json::{json, Value};

fn journal(m: &mut Mock, query: &str) -> Value {
    let a = m.control("GET", &format!("/requests?{query}"), None);
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

fn operations(page: &Value) -> Vec<String> {
    page["requests"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|r| r["operation"].as_str().unwrap_or("-").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn batch(records: Value) -> Value {
    json!({ "ProductCode": "saas", "UsageRecords": records })
}

#[test]
fn every_call_is_kept_with_its_caller_request_answer_and_records() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let metered = m.call_as(
        "111122223333",
        "eu-west-1",
        "MeterUsage",
        json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 2}),
    );
    assert_eq!(metered.status, 200);
    let record = |customer: &str, quantity: u32| json!({"Timestamp": secs(NOW), "CustomerIdentifier": customer, "Dimension": "users", "Quantity": quantity});
    let first = m.call("BatchMeterUsage", batch(json!([record("c1", 5)])));
    assert_eq!(first.status, 200);
    // c1 again with another quantity: DuplicateRecord, nothing written; c2 is new.
    let second = m.call(
        "BatchMeterUsage",
        batch(json!([record("c1", 6), record("c2", 1)])),
    );
    assert_eq!(second.body["Results"][0]["Status"], "DuplicateRecord");
    let failed = m.call(
        "MeterUsage",
        json!({"ProductCode": "nope", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 1}),
    );
    assert_eq!(failed.error_name(), "InvalidProductCodeException");
    let entitlements = m.get_entitlements(Wire::Cbor, json!({"ProductCode": "saas"}));
    assert_eq!(entitlements.status, 200);

    let page = journal(&mut m, "");
    assert_eq!(page["total"], 5);
    assert_eq!(
        operations(&page),
        [
            "GetEntitlements",
            "MeterUsage",
            "BatchMeterUsage",
            "BatchMeterUsage",
            "MeterUsage"
        ],
        "newest first"
    );
    let entries = page["requests"].as_array().cloned().unwrap_or_default();
    let [cbor, failure, dup, batch1, meter] = &entries[..] else {
        panic!("five entries: {page}");
    };
    assert_eq!(meter["protocol"], "awsJson1_1");
    assert_eq!(
        meter["caller"],
        json!({"accessKeyId": "111122223333", "identity": "111122223333", "region": "eu-west-1"})
    );
    assert_eq!(meter["request"]["UsageQuantity"], 2);
    assert_eq!(meter["status"], 200);
    assert_eq!(meter["response"], metered.body);
    assert_eq!(
        meter["recordsWritten"],
        json!([metered.body["MeteringRecordId"]])
    );
    assert_eq!(meter["productCode"], "ami");
    assert_eq!(meter["receivedAt"], NOW);
    assert_eq!(
        meter["requestId"],
        metered
            .response
            .header("x-amzn-RequestId")
            .unwrap_or_default()
    );

    assert_eq!(batch1["customers"], json!(["c1"]));
    assert_eq!(
        batch1["recordsWritten"],
        json!([first.body["Results"][0]["MeteringRecordId"]])
    );
    assert_eq!(dup["customers"], json!(["c1", "c2"]));
    assert_eq!(
        dup["recordsWritten"],
        json!([second.body["Results"][1]["MeteringRecordId"]]),
        "the duplicate wrote nothing, the new record did"
    );

    assert_eq!(failure["status"], 400);
    assert_eq!(failure["error"]["code"], "InvalidProductCodeException");
    assert!(failure.get("response").is_none());
    assert_eq!(
        failure["recordsWritten"],
        json!([]),
        "always listed, empty when none"
    );
    assert_eq!(failure["request"]["ProductCode"], "nope");

    assert_eq!(cbor["protocol"], "rpcv2Cbor");
    assert_eq!(cbor["request"]["ProductCode"], "saas");
}

#[test]
fn filters_answer_the_questions_a_test_asks() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let record = |customer: &str| json!({"Timestamp": secs(NOW), "CustomerIdentifier": customer, "Dimension": "gb", "Quantity": 1});
    for customers in [vec!["c1"], vec!["c2"], vec!["c1", "c2"]] {
        let records: Vec<Value> = customers.iter().map(|c| record(c)).collect();
        m.call("BatchMeterUsage", batch(json!(records)));
        m.host_now = metering_mock::domain::time::Instant(m.host_now.millis() + 60_000);
    }
    m.call("MeterUsage", json!({"ProductCode": "nope"}));
    // "Exactly 2 BatchMeterUsage calls for customer c1": the total of the filtered journal.
    let c1 = journal(&mut m, "operation=BatchMeterUsage&customer=c1");
    assert_eq!(c1["total"], 2);
    assert_eq!(journal(&mut m, "status=error")["total"], 1);
    assert_eq!(journal(&mut m, "status=400")["total"], 1);
    assert_eq!(journal(&mut m, "status=ok")["total"], 3);
    assert_eq!(journal(&mut m, "error=ValidationException")["total"], 1);
    assert_eq!(journal(&mut m, "product=saas")["total"], 3);
    // from is inclusive, to exclusive; the second batch arrived at NOW + 1 min.
    assert_eq!(
        journal(&mut m, "from=2026-03-10T12:31:00Z&to=2026-03-10T12:32:00Z")["total"],
        1
    );
    // Pages of one: the cursor walks back through all four.
    let mut seen = Vec::new();
    let mut query = "limit=1".to_string();
    loop {
        let page = journal(&mut m, &query);
        assert_eq!(page["total"], 4);
        seen.extend(page["requests"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("limit=1&before={cursor}"),
            None => break,
        }
    }
    let seqs: Vec<u64> = seen.iter().filter_map(|r| r["seq"].as_u64()).collect();
    assert_eq!(seqs, [4, 3, 2, 1]);
    for bad in [
        "status=maybe",
        "before=x",
        "limit=0",
        "colour=red",
        "from=yesterday",
    ] {
        assert_eq!(
            m.control("GET", &format!("/requests?{bad}"), None).status,
            400,
            "{bad}"
        );
    }
}

#[test]
fn deleting_empties_it_and_numbering_goes_on() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.call("MeterUsage", json!({}));
    m.call("MeterUsage", json!({}));
    let deleted = m.control("DELETE", "/requests", None);
    assert_eq!(deleted.body, json!({"deleted": 2}));
    assert_eq!(journal(&mut m, "")["total"], 0);
    m.call("MeterUsage", json!({}));
    assert_eq!(journal(&mut m, "")["requests"][0]["seq"], 3);
}

#[test]
fn the_journal_keeps_the_newest_entries_of_its_bound() {
    let mut m = Mock::new();
    m.store = MemoryStore::with_retention(Retention {
        journal: 3,
        ..Retention::default()
    });
    with_catalogue(&mut m);
    for _ in 0..5 {
        m.call("MeterUsage", json!({}));
    }
    let page = journal(&mut m, "");
    assert_eq!(page["total"], 3);
    let seqs: Vec<u64> = page["requests"]
        .as_array()
        .map(|all| all.iter().filter_map(|r| r["seq"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(seqs, [5, 4, 3]);
}

#[test]
fn a_large_body_is_kept_as_its_start() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let long = "x".repeat(40_000);
    m.call(
        "MeterUsage",
        json!({"ProductCode": "ami", "UsageDimension": long}),
    );
    let entry = journal(&mut m, "")["requests"][0].clone();
    assert_eq!(entry["request"]["truncated"], true);
    assert!(entry["request"]["bytes"].as_u64().unwrap_or(0) > 40_000);
    assert!(entry["request"]["start"].as_str().unwrap_or("").len() <= 16 * 1024);
}

#[test]
fn the_setting_turns_it_off() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.set(json!({"requestJournal": false}));
    m.call("MeterUsage", json!({}));
    assert_eq!(journal(&mut m, "")["total"], 0);
    m.set(json!({"requestJournal": true}));
    m.call("MeterUsage", json!({}));
    assert_eq!(journal(&mut m, "")["total"], 1);
}

#[test]
fn calls_that_are_not_admitted_are_kept_with_what_could_be_read() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let mut malformed = signed_meter_usage("test", "unused", "/");
    malformed.body = b"{not json".to_vec();
    let answer = m.send(malformed);
    assert_eq!(answer.status, 400);
    let entry = journal(&mut m, "")["requests"][0].clone();
    assert_eq!(entry["operation"], "MeterUsage");
    assert_eq!(entry["request"], "{not json", "the text as sent");
    assert_eq!(entry["error"]["code"], answer.error_name());
}

#[test]
fn a_locked_namespace_keeps_only_calls_whose_signature_verified() {
    const ADMIN: &str = "admin-token-for-native-tests";
    let mut m = Mock::named("team");
    let mine = Issued::from_random(&[1; 96]);
    m.deployment = Deployment::locked_with(ADMIN);
    m.provision = Some(Provision::new("team", &mine, 7, 0));
    m.bearer = Some(mine.control_token.clone());
    with_catalogue(&mut m);
    let good = m.send(signed_meter_usage(
        &mine.access_key_id,
        &mine.secret_access_key,
        "/ns/team/",
    ));
    assert_eq!(good.status, 200);
    // A stranger's calls, however many, write nothing and push nothing out.
    for _ in 0..5 {
        let forged = m.send(signed_meter_usage(
            &mine.access_key_id,
            "guess",
            "/ns/team/",
        ));
        assert_eq!(forged.error_name(), "InvalidSignatureException");
    }
    let page = journal(&mut m, "");
    assert_eq!(page["total"], 1, "{page}");
    let ok = &page["requests"][0];
    assert_eq!(ok["signatureVerified"], true);
    assert_eq!(ok["request"]["ProductCode"], "ami");
    // Not readable without the namespace's token.
    m.bearer = Some("mmct_stranger".into());
    assert_eq!(m.control("GET", "/requests", None).status, 401);
    assert_eq!(m.control("DELETE", "/requests", None).status, 401);
}

#[test]
fn a_request_without_an_authorization_header_is_not_kept() {
    // What a page of another origin can send without the mock's consent: no Authorization
    // header (a form POST, a no-cors fetch), even with a presigned-looking query.
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let mut unsigned = signed_meter_usage("test", "unused", "/");
    unsigned.headers.retain(|(n, _)| n != "Authorization");
    assert_ne!(m.send(unsigned.clone()).status, 200);
    unsigned.query = "X-Amz-Credential=test%2F20260310%2Fus-east-1%2Faws-marketplace%2Faws4_request&X-Amz-Date=20260310T123000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00".into();
    m.send(unsigned);
    assert_eq!(journal(&mut m, "")["total"], 0);
}

#[test]
fn an_entry_stays_small_whatever_the_request_names() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let long = "n".repeat(5000);
    let records: Vec<Value> = (0..2000)
        .map(|i| json!({"Timestamp": secs(NOW), "CustomerIdentifier": format!("c{i}"), "Dimension": "users", "Quantity": 1}))
        .chain([json!({"CustomerIdentifier": long.clone()})])
        .collect();
    let answer = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": long, "UsageRecords": records}),
    );
    assert_eq!(answer.error_name(), "ValidationException");
    let entry = journal(&mut m, "")["requests"][0].clone();
    let size = entry.to_string().len();
    assert!(size < 24 * 1024, "an entry of {size} bytes");
    assert_eq!(entry["productCode"].as_str().map(str::len), Some(256));
    assert_eq!(entry["customers"].as_array().map(Vec::len), Some(75));
    assert_eq!(entry["request"]["truncated"], true);
}
