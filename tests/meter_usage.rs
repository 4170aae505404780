//! MeterUsage rules, driven natively through the whole service (front door to ledger).

mod common;

use common::{at, secs, with_catalogue, Mock, NOW};
use serde_json::{json, Value};

fn mock() -> Mock {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m
}

fn usage(quantity: i64) -> Value {
    json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": quantity})
}

#[test]
fn a_valid_report_is_recorded_once_with_a_uuid() {
    let mut m = mock();
    let a = m.call("MeterUsage", usage(3));
    assert_eq!(a.status, 200, "{:?}", a.body);
    let id = a.body["MeteringRecordId"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    let records = m.usage("");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["meteringRecordId"], id);
    assert_eq!(records[0]["quantity"], "3");
    assert_eq!(records[0]["hour"], "2026-03-10T12:00:00Z");
    assert_eq!(records[0]["operation"], "MeterUsage");
    assert_eq!(records[0]["caller"], "test");
}

#[test]
fn the_same_hour_and_quantity_is_an_idempotent_repeat() {
    let mut m = mock();
    let first = m.call("MeterUsage", usage(3));
    let later_in_hour = json!({"ProductCode": "ami", "Timestamp": secs("2026-03-10T12:00:01Z"), "UsageDimension": "hosts", "UsageQuantity": 3});
    let again = m.call("MeterUsage", later_in_hour);
    assert_eq!(again.status, 200);
    assert_eq!(
        first.body["MeteringRecordId"],
        again.body["MeteringRecordId"]
    );
    assert_eq!(m.usage("").len(), 1);
}

#[test]
fn another_quantity_in_the_same_hour_is_a_duplicate_request() {
    let mut m = mock();
    m.call("MeterUsage", usage(3));
    let a = m.call("MeterUsage", usage(4));
    assert_eq!(
        (a.status, a.error_name()),
        (400, "DuplicateRequestException")
    );
    let records = m.usage("");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["quantity"], "3");
}

#[test]
fn the_next_hour_is_a_new_record() {
    let mut m = mock();
    m.host_now = at("2026-03-10T13:30:00Z");
    let a = m.call("MeterUsage", usage(3));
    let next = json!({"ProductCode": "ami", "Timestamp": secs("2026-03-10T13:00:00Z"), "UsageDimension": "hosts", "UsageQuantity": 4});
    let b = m.call("MeterUsage", next);
    assert_eq!(b.status, 200);
    assert_ne!(a.body["MeteringRecordId"], b.body["MeteringRecordId"]);
    assert_eq!(m.usage("").len(), 2);
}

#[test]
fn different_callers_meter_the_same_hour_separately() {
    let mut m = mock();
    m.call_as("111122223333", "us-east-1", "MeterUsage", usage(3));
    let other = m.call_as("other-key", "us-east-1", "MeterUsage", usage(4));
    assert_eq!(other.status, 200);
    assert_eq!(m.usage("").len(), 2);
}

#[test]
fn client_token_replays_the_answer_and_refuses_other_parameters() {
    let mut m = mock();
    let mut input = usage(3);
    input["ClientToken"] = json!("token-1");
    let first = m.call("MeterUsage", input.clone());
    let replay = m.call("MeterUsage", input.clone());
    assert_eq!(
        first.body["MeteringRecordId"],
        replay.body["MeteringRecordId"]
    );
    input["UsageQuantity"] = json!(5);
    let conflict = m.call("MeterUsage", input);
    assert_eq!(conflict.error_name(), "IdempotencyConflictException");
    // The token is per caller: another caller may use the same token for its own report.
    let mut other = usage(5);
    other["ClientToken"] = json!("token-1");
    assert_eq!(
        m.call_as("someone-else", "us-east-1", "MeterUsage", other)
            .status,
        200
    );
}

#[test]
fn a_reused_client_token_is_a_conflict_before_any_other_rule() {
    let mut m = mock();
    let mut input = usage(1);
    input["ClientToken"] = json!("token-1");
    assert_eq!(m.call("MeterUsage", input.clone()).status, 200);
    input["UsageAllocations"] =
        json!([{"AllocatedUsageQuantity": 1, "Tags": [{"Key": "bad!", "Value": "v"}]}]);
    input["ProductCode"] = json!("nope");
    assert_eq!(
        m.call("MeterUsage", input).error_name(),
        "IdempotencyConflictException"
    );
}

#[test]
fn a_fresh_client_token_on_an_identical_report_still_gets_the_same_id() {
    let mut m = mock();
    let mut a = usage(3);
    a["ClientToken"] = json!("t1");
    let mut b = usage(3);
    b["ClientToken"] = json!("t2");
    let first = m.call("MeterUsage", a);
    let second = m.call("MeterUsage", b);
    assert_eq!(
        first.body["MeteringRecordId"],
        second.body["MeteringRecordId"]
    );
}

#[test]
fn unknown_product_and_dimension_are_refused() {
    let mut m = mock();
    for (member, value, expected) in [
        ("ProductCode", "nope", "InvalidProductCodeException"),
        ("ProductCode", "", "InvalidProductCodeException"),
        ("UsageDimension", "cpus", "InvalidUsageDimensionException"),
    ] {
        let mut input = usage(1);
        input[member] = json!(value);
        assert_eq!(
            m.call("MeterUsage", input).error_name(),
            expected,
            "{member} '{value}'"
        );
    }
}

#[test]
fn a_twelve_digit_caller_must_be_a_customer() {
    let mut m = mock();
    let a = m.call_as("222233334444", "us-east-1", "MeterUsage", usage(1));
    assert_eq!(
        (a.status, a.error_name()),
        (400, "CustomerNotEntitledException")
    );
    let ok = m.call_as("111122223333", "us-east-1", "MeterUsage", usage(1));
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(m.usage("")[0]["customerAWSAccountId"], "111122223333");
}

#[test]
fn a_product_limited_to_regions_refuses_other_endpoints() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "eu", "dimensions": ["d"], "regions": ["eu-west-1"]}));
    let input = json!({"ProductCode": "eu", "Timestamp": secs(NOW), "UsageDimension": "d", "UsageQuantity": 1});
    let a = m.call_as("test", "us-east-1", "MeterUsage", input.clone());
    assert_eq!(a.error_name(), "InvalidEndpointRegionException");
    assert_eq!(
        m.call_as("test", "eu-west-1", "MeterUsage", input).status,
        200
    );
}

#[test]
fn the_window_is_six_hours_back_and_five_minutes_ahead() {
    let mut m = mock();
    let at_ts = |ts: f64| json!({"ProductCode": "ami", "Timestamp": ts, "UsageDimension": "hosts", "UsageQuantity": 1});
    let now = at(NOW).millis() as f64 / 1000.0;
    assert_eq!(m.call("MeterUsage", at_ts(now - 6.0 * 3600.0)).status, 200);
    let old = m.call("MeterUsage", at_ts(now - 6.0 * 3600.0 - 0.001));
    assert_eq!(old.error_name(), "TimestampOutOfBoundsException");
    assert_eq!(m.call("MeterUsage", at_ts(now + 300.0)).status, 200);
    let future = m.call("MeterUsage", at_ts(now + 300.001));
    assert_eq!(future.error_name(), "TimestampOutOfBoundsException");
}

#[test]
fn the_window_follows_the_namespace_clock_and_settings() {
    let mut m = mock();
    let a = m.control("PUT", "/clock", Some(json!({"offsetSeconds": 7 * 3600})));
    assert_eq!(a.status, 200);
    assert_eq!(
        m.call("MeterUsage", usage(1)).error_name(),
        "TimestampOutOfBoundsException"
    );
    m.set(json!({"meterUsageMaxAgeSeconds": 8 * 3600}));
    assert_eq!(m.call("MeterUsage", usage(1)).status, 200);
}

/// A MeterUsage from an instance of account 111122223333 that signs with a session token
/// (an instance profile, task role or IRSA session).
fn as_instance(m: &mut Mock, session_token: &str, input: Value) -> common::Answer {
    m.call_with(
        "111122223333",
        "us-east-1",
        "MeterUsage",
        input,
        &[("X-Amz-Security-Token", session_token)],
    )
}

fn dry(mut input: Value) -> Value {
    input["DryRun"] = json!(true);
    input
}

#[test]
fn a_dry_run_that_would_succeed_answers_dry_run_operation_as_its_record_id_and_records_nothing() {
    let mut m = mock();
    let a = m.call("MeterUsage", dry(usage(1)));
    assert_eq!(
        (a.status, a.body.clone()),
        (200, json!({"MeteringRecordId": "DryRunOperation"}))
    );
    assert!(m.usage("").is_empty());
    // What would fail answers the real error.
    let mut input = dry(usage(1));
    input["ProductCode"] = json!("nope");
    assert_eq!(
        m.call("MeterUsage", input).error_name(),
        "InvalidProductCodeException"
    );
}

#[test]
fn a_dry_run_after_its_own_sessions_record_keeps_the_once_per_hour_rule() {
    let mut m = mock();
    assert_eq!(as_instance(&mut m, "instance-a", usage(1)).status, 200);
    // The same quantity is an idempotent repeat: it would succeed.
    let same = as_instance(&mut m, "instance-a", dry(usage(1)));
    assert_eq!(same.body["MeteringRecordId"], "DryRunOperation");
    let other = as_instance(&mut m, "instance-a", dry(usage(2)));
    assert_eq!(
        (other.status, other.error_name()),
        (400, "DuplicateRequestException")
    );
    // A restarted instance (a new session) starts cleanly.
    let restarted = as_instance(&mut m, "instance-a-restarted", dry(usage(2)));
    assert_eq!(restarted.body["MeteringRecordId"], "DryRunOperation");
    assert_eq!(m.usage("").len(), 1);
}

#[test]
fn the_older_dry_run_answer_is_a_setting() {
    let mut m = mock();
    m.set(json!({"dryRunResponse": "empty"}));
    let a = m.call("MeterUsage", dry(usage(1)));
    assert_eq!((a.status, a.body.clone()), (200, json!({})));
    assert!(m.usage("").is_empty());
}

#[test]
fn a_dry_run_neither_consults_nor_records_client_tokens() {
    let mut m = mock();
    let mut real = usage(1);
    real["ClientToken"] = json!("token-1");
    let recorded = m.call("MeterUsage", real.clone());
    assert_eq!(recorded.status, 200);
    // token-1 with other parameters (another hour): consulted, it would be a conflict.
    let mut other_hour = dry(real.clone());
    other_hour["Timestamp"] = secs("2026-03-10T11:30:00Z");
    let a = m.call("MeterUsage", other_hour);
    assert_eq!(
        a.body["MeteringRecordId"], "DryRunOperation",
        "{:?}",
        a.body
    );
    // A token only a dry run used is not taken: a real call may use it with other parameters.
    let mut dry_token = dry(usage(2));
    dry_token["ClientToken"] = json!("token-2");
    dry_token["Timestamp"] = secs("2026-03-10T10:30:00Z");
    assert_eq!(m.call("MeterUsage", dry_token).status, 200);
    let mut real_2 = usage(1);
    real_2["ClientToken"] = json!("token-2");
    let second = m.call("MeterUsage", real_2);
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(
        second.body["MeteringRecordId"],
        recorded.body["MeteringRecordId"]
    );
}

#[test]
fn instances_of_one_account_each_record_their_hour_and_each_retry_is_idempotent() {
    let mut m = mock();
    let a = as_instance(&mut m, "instance-a", usage(1));
    let b = as_instance(&mut m, "instance-b", usage(1));
    assert_eq!(
        (a.status, b.status),
        (200, 200),
        "{:?} {:?}",
        a.body,
        b.body
    );
    assert_ne!(a.body["MeteringRecordId"], b.body["MeteringRecordId"]);
    for (token, first) in [("instance-a", &a), ("instance-b", &b)] {
        let retry = as_instance(&mut m, token, usage(1));
        assert_eq!(
            retry.body["MeteringRecordId"],
            first.body["MeteringRecordId"]
        );
        assert_eq!(
            as_instance(&mut m, token, usage(5)).error_name(),
            "DuplicateRequestException"
        );
    }
    let records = m.usage("");
    assert_eq!(records.len(), 2, "two instance-hours");
    assert!(records.iter().all(|r| r["caller"] == "111122223333"));
    let sessions: std::collections::BTreeSet<_> = records
        .iter()
        .map(|r| r["session"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sessions.len(), 2);
    // The session is a digest: the token itself, a secret, is never kept or shown.
    assert!(sessions
        .iter()
        .all(|s| s.len() == 32 && !s.contains("instance")));
    // The journal names each call's session the same way.
    let journal = m
        .control("GET", "/requests?operation=MeterUsage", None)
        .body;
    let journaled: std::collections::BTreeSet<_> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["caller"]["session"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(journaled, sessions);
    // Long-term keys of the account are one more instance, keyed as before sessions counted.
    let long_term = m.call_as("111122223333", "us-east-1", "MeterUsage", usage(1));
    assert_eq!(long_term.status, 200, "{:?}", long_term.body);
    assert_ne!(
        long_term.body["MeteringRecordId"],
        a.body["MeteringRecordId"]
    );
    assert!(m.usage("").iter().any(|r| r.get("session").is_none()));
}

#[test]
fn client_tokens_are_scoped_to_the_session() {
    let mut m = mock();
    let mut input = usage(1);
    input["ClientToken"] = json!("same-token");
    let a = as_instance(&mut m, "instance-a", input.clone());
    let mut other_quantity = input.clone();
    other_quantity["UsageQuantity"] = json!(2);
    // Another instance's same token is its own: no conflict with instance A's parameters.
    let b = as_instance(&mut m, "instance-b", other_quantity.clone());
    assert_eq!(b.status, 200, "{:?}", b.body);
    assert_ne!(a.body["MeteringRecordId"], b.body["MeteringRecordId"]);
    assert_eq!(
        as_instance(&mut m, "instance-a", other_quantity).error_name(),
        "IdempotencyConflictException"
    );
}

#[test]
fn with_dry_run_response_error_a_dry_run_answers_dry_run_operation() {
    let mut m = mock();
    m.set(json!({"dryRunResponse": "error"}));
    let input = dry(usage(1));
    let a = m.call("MeterUsage", input.clone());
    assert_eq!((a.status, a.error_name()), (400, "DryRunOperation"));
    m.set(json!({"dryRunStatus": 412}));
    assert_eq!(m.call("MeterUsage", input).status, 412);
    assert!(m.usage("").is_empty());
}

#[test]
fn allocations_are_checked_and_kept() {
    let mut m = mock();
    let mut input = usage(5);
    input["UsageAllocations"] = json!([
        {"AllocatedUsageQuantity": 2, "Tags": [{"Key": "team", "Value": "a"}]},
        {"AllocatedUsageQuantity": 3}
    ]);
    assert_eq!(m.call("MeterUsage", input.clone()).status, 200);
    let records = m.usage("");
    assert_eq!(
        records[0]["allocations"],
        json!([{"quantity": "2", "tags": [{"key": "team", "value": "a"}]}, {"quantity": "3"}])
    );
    input["UsageQuantity"] = json!(6);
    input["Timestamp"] = secs("2026-03-10T11:00:00Z");
    assert_eq!(
        m.call("MeterUsage", input).error_name(),
        "InvalidUsageAllocationsException"
    );
}

#[test]
fn decimal_quantities_are_exact() {
    let mut m = mock();
    let input = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantityAsDecimal": "0.3",
    "UsageAllocations": [
        {"AllocatedUsageQuantityAsDecimal": "0.1", "Tags": [{"Key": "k", "Value": "a"}]},
        {"AllocatedUsageQuantityAsDecimal": "0.2", "Tags": [{"Key": "k", "Value": "b"}]}
    ]});
    let a = m.call("MeterUsage", input);
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(m.usage("")[0]["quantity"], "0.3");
    let same = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantityAsDecimal": "0.300000"});
    assert_eq!(
        m.call("MeterUsage", same).body["MeteringRecordId"],
        a.body["MeteringRecordId"]
    );
    let mixed = json!({"ProductCode": "ami", "Timestamp": secs("2026-03-10T10:00:00Z"), "UsageDimension": "hosts", "UsageQuantity": 1,
        "UsageAllocations": [{"AllocatedUsageQuantityAsDecimal": "1"}]});
    assert_eq!(
        m.call("MeterUsage", mixed).error_name(),
        "InvalidUsageAllocationsException"
    );
}

#[test]
fn integer_three_and_decimal_three_point_zero_are_the_same_quantity() {
    let mut m = mock();
    let a = m.call("MeterUsage", usage(3));
    let dec = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantityAsDecimal": "3.0"});
    let b = m.call("MeterUsage", dec);
    assert_eq!(a.body["MeteringRecordId"], b.body["MeteringRecordId"]);
}

#[test]
fn omitted_quantity_is_zero() {
    let mut m = mock();
    let input = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts"});
    assert_eq!(m.call("MeterUsage", input).status, 200);
    assert_eq!(m.usage("")[0]["quantity"], "0");
}

#[test]
fn constraint_violations_are_validation_errors_naming_the_member() {
    let mut m = mock();
    let cases = [
        (json!({}), "3 validation errors detected: Value null at 'productCode' failed to satisfy constraint: Member must not be null"),
        (json!({"ProductCode": "a b", "Timestamp": 1, "UsageDimension": "d"}), "Value 'a b' at 'productCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[-a-zA-Z0-9/=:_.@]*$"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": ""}), "at 'usageDimension' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageQuantity": -1}), "Value '-1' at 'usageQuantity' failed to satisfy constraint: Member must have value greater than or equal to 0"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageQuantity": 2147483648u64}), "Member must have value less than or equal to 2147483647"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageQuantityAsDecimal": "1.5e3"}), "at 'usageQuantityAsDecimal' failed to satisfy constraint: Member must satisfy regular expression pattern"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageQuantity": 1, "UsageQuantityAsDecimal": "1"}), "Only one of UsageQuantity and UsageQuantityAsDecimal may be set"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "ClientToken": ""}), "at 'clientToken' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "ClientToken": "x".repeat(65)}), "Member must have length less than or equal to 64"),
        (json!({"ProductCode": "p".repeat(256), "Timestamp": 1, "UsageDimension": "d"}), "Member must have length less than or equal to 255"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d".repeat(256)}), "at 'usageDimension' failed to satisfy constraint: Member must have length less than or equal to 255"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageAllocations": [{"Tags": [{"Value": "v"}]}]}), "Value null at 'usageAllocations.1.member.tags.1.member.key'"),
        (json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageAllocations": [{"AllocatedUsageQuantity": -2}]}), "at 'usageAllocations.1.member.allocatedUsageQuantity' failed to satisfy constraint"),
    ];
    common::assert_validation_errors(&mut m, "MeterUsage", &cases);
}

#[test]
fn wrong_json_types_are_serialization_errors() {
    let mut m = mock();
    for input in [
        json!({"ProductCode": 1, "Timestamp": 1, "UsageDimension": "d"}),
        json!({"ProductCode": "p", "Timestamp": "2026-03-10T12:00:00Z", "UsageDimension": "d"}),
        json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageQuantity": "1"}),
        json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageQuantity": 1.5}),
        json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "DryRun": "true"}),
        json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageAllocations": {}}),
        json!({"ProductCode": "p", "Timestamp": 1, "UsageDimension": "d", "UsageAllocations": [1]}),
    ] {
        let a = m.call("MeterUsage", input.clone());
        assert_eq!(
            (a.status, a.error_name()),
            (400, "SerializationException"),
            "{input}"
        );
    }
}

#[test]
fn fractional_and_integer_timestamps_are_both_accepted() {
    let mut m = mock();
    let frac = json!({"ProductCode": "ami", "Timestamp": 1773145815.5, "UsageDimension": "hosts", "UsageQuantity": 1});
    assert_eq!(m.call("MeterUsage", frac).status, 200);
    assert_eq!(m.usage("")[0]["timestamp"], "2026-03-10T12:30:15.500Z");
}

#[test]
fn timestamps_outside_the_years_0000_to_9999_are_refused_not_clamped() {
    let mut m = mock();
    for far in [json!(1e20), json!(-1e15), json!(253_402_300_800_i64)] {
        let mut input = usage(1);
        input["Timestamp"] = far.clone();
        let a = m.call("MeterUsage", input);
        assert_eq!(a.error_name(), "SerializationException", "{far}");
    }
    assert!(m.usage("").is_empty());
}

#[test]
fn x_mock_task_id_names_the_instance_over_the_session() {
    let mut m = mock();
    let as_task = |m: &mut Mock, task: &str, quantity: i64| {
        m.call_with(
            "111122223333",
            "us-east-1",
            "MeterUsage",
            usage(quantity),
            &[
                ("X-Amz-Security-Token", "rotates-hourly"),
                ("X-Mock-Task-Id", task),
            ],
        )
    };
    let a = as_task(&mut m, "i-0a", 1);
    let b = as_task(&mut m, "i-0b", 1);
    assert_ne!(a.body["MeteringRecordId"], b.body["MeteringRecordId"]);
    // The same named instance with a new session (its credentials rotated): still itself.
    let rotated = m.call_with(
        "111122223333",
        "us-east-1",
        "MeterUsage",
        usage(1),
        &[
            ("X-Amz-Security-Token", "rotated"),
            ("X-Mock-Task-Id", "i-0a"),
        ],
    );
    assert_eq!(rotated.body["MeteringRecordId"], a.body["MeteringRecordId"]);
    assert_eq!(
        as_task(&mut m, "i-0a", 2).error_name(),
        "DuplicateRequestException"
    );
    let records = m.usage("");
    let tasks: Vec<_> = records
        .iter()
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["i-0a", "i-0b"]);
    let longest = as_task(&mut m, &"t".repeat(255), 1);
    assert_eq!(longest.status, 200, "{:?}", longest.body);
    let recorded = m.usage("").len();
    let long = as_task(&mut m, &"t".repeat(256), 1);
    assert!(long.message().contains("X-Mock-Task-Id"), "{:?}", long.body);
    assert_eq!(m.usage("").len(), recorded, "nothing recorded");
    assert_eq!(
        (long.status, long.error_name()),
        (400, "ValidationException")
    );
}
