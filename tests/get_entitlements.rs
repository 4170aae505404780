//! GetEntitlements driven through whole namespaces, over both wires (awsJson1_1 as boto3, the
//! CLI and JS send it; rpc-v2-cbor as the Rust and Go SDKs send it): which entitlements are
//! listed, filters, pagination, value types and expiration dates, and every error.

mod common;

use common::{
    with_entitlements, Answer, Mock, Wire, LICENSE_1, LICENSE_2, LICENSE_3, RPC_V2_CBOR_PATH, WIRES,
};
use metering_mock::protocol::http::HttpRequest;
use metering_mock::protocol::route;
use serde_json::{json, Value};

/// What the Rust SDK 1.126.0 sent for `GetEntitlements { ProductCode: "p" }` (captured).
const RUST_SDK_REQUEST: &str = "bf6b50726f64756374436f64656170ff";

fn mock() -> Mock {
    let mut m = Mock::new();
    with_entitlements(&mut m);
    m
}

fn ok(a: &Answer) -> &Value {
    assert_eq!(a.status, 200, "{:?}", a.body);
    &a.body
}

fn entitlements(a: &Answer) -> Vec<Value> {
    ok(a)["Entitlements"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// (customer identifier or license, dimension) of each listed entitlement.
fn who_and_what(list: &[Value]) -> Vec<(String, String)> {
    list.iter()
        .map(|e| {
            let who = e["CustomerIdentifier"]
                .as_str()
                .or(e["LicenseArn"].as_str())
                .unwrap_or("?");
            (
                who.to_string(),
                e["Dimension"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn invalid_parameter(a: &Answer, expected: &str) {
    assert_eq!(
        (a.status, a.error_name()),
        (400, "InvalidParameterException"),
        "{:?}",
        a.body
    );
    assert!(a.message().contains(expected), "{}", a.message());
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn every_current_entitlement_is_listed_in_catalogue_order_on_both_wires() {
    let mut m = mock();
    for wire in WIRES {
        let list = entitlements(&m.get_entitlements(wire, json!({"ProductCode": "contract"})));
        assert_eq!(
            who_and_what(&list),
            pairs(&[
                ("c1", "users"),
                ("c1", "gb"),
                ("c1", "tier"),
                ("c1", "sso"),
                ("c2", "users"),
                ("c4", "users"),
                ("c7", "gb"),
            ]),
            "{wire:?}: pending, subscribe-failed and unsubscribed customers are left out"
        );
    }
}

#[test]
fn both_wires_answer_the_same_entitlements() {
    let mut m = mock();
    let json_answer = m.get_entitlements(Wire::Json, json!({"ProductCode": "contract"}));
    let cbor_answer = m.get_entitlements(Wire::Cbor, json!({"ProductCode": "contract"}));
    assert_eq!(ok(&json_answer), ok(&cbor_answer));
}

#[test]
fn every_value_type_and_the_expiration_date_are_on_the_wire() {
    let mut m = mock();
    let a = m.get_entitlements(
        Wire::Json,
        json!({"ProductCode": "contract", "Filter": {"CUSTOMER_IDENTIFIER": ["c1", "c2", "c7"]}}),
    );
    let list = entitlements(&a);
    assert_eq!(
        list[0],
        json!({"ProductCode": "contract", "Dimension": "users", "CustomerIdentifier": "c1",
            "CustomerAWSAccountId": "111122223333", "Value": {"IntegerValue": 10},
            "ExpirationDate": 1798761600})
    );
    assert_eq!(list[1]["Value"], json!({"DoubleValue": 2.5}));
    assert_eq!(list[1].get("ExpirationDate"), None);
    assert_eq!(list[2]["Value"], json!({"StringValue": "gold"}));
    assert_eq!(list[3]["Value"], json!({"BooleanValue": true}));
    assert_eq!(list[4]["ExpirationDate"], json!(1814356800.5));
    assert_eq!(
        list[5],
        json!({"ProductCode": "contract", "Dimension": "gb", "CustomerIdentifier": "c7", "Value": {"DoubleValue": 1.0}}),
        "a customer without an account has no CustomerAWSAccountId"
    );
    let text = String::from_utf8(a.response.body.clone()).unwrap();
    assert!(
        text.contains(r#""DoubleValue":1.0"#),
        "a whole double stays a double: {text}"
    );
    assert_eq!(
        a.response.header("content-type"),
        Some("application/x-amz-json-1.1")
    );
}

#[test]
fn cbor_answers_carry_tagged_timestamps_and_typed_numbers() {
    use ciborium::Value as Cbor;
    let mut m = mock();
    let a = m.get_entitlements(
        Wire::Cbor,
        json!({"ProductCode": "contract", "Filter": {"CUSTOMER_IDENTIFIER": ["c1", "c7"], "DIMENSION": ["users", "gb"]}}),
    );
    assert_eq!(a.response.header("smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(a.response.header("content-type"), Some("application/cbor"));
    let raw: Cbor = ciborium::from_reader(a.response.body.as_slice()).unwrap();
    let member = |v: &Cbor, name: &str| -> Cbor {
        v.as_map()
            .unwrap()
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v.clone())
            .unwrap_or(Cbor::Null)
    };
    let list = member(&raw, "Entitlements").into_array().unwrap();
    assert_eq!(
        member(&list[0], "ExpirationDate"),
        Cbor::Tag(1, Box::new(Cbor::Float(1_798_761_600.0)))
    );
    assert_eq!(
        member(&member(&list[0], "Value"), "IntegerValue"),
        Cbor::Integer(10.into())
    );
    assert_eq!(
        member(&member(&list[2], "Value"), "DoubleValue"),
        Cbor::Float(1.0),
        "a whole double stays a float"
    );
}

#[test]
fn concurrent_agreement_entitlements_name_the_license_and_no_identifier() {
    let mut m = mock();
    for wire in WIRES {
        let list = entitlements(&m.get_entitlements(wire, json!({"ProductCode": "ca-contract"})));
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0],
            json!({"ProductCode": "ca-contract", "Dimension": "requests",
                "CustomerAWSAccountId": "111122223333", "LicenseArn": LICENSE_1,
                "Value": {"IntegerValue": 100}})
        );
    }
}

#[test]
fn filters_union_values_of_a_key_and_intersect_keys() {
    let mut m = mock();
    let cases = [
        (
            json!({"ProductCode": "contract", "Filter": {"CUSTOMER_IDENTIFIER": ["c2", "c4", "c3", "nobody"]}}),
            pairs(&[("c2", "users"), ("c4", "users")]),
        ),
        (
            json!({"ProductCode": "contract", "Filter": {"DIMENSION": ["gb"]}}),
            pairs(&[("c1", "gb"), ("c7", "gb")]),
        ),
        (
            json!({"ProductCode": "contract", "Filter": {"DIMENSION": ["gb", "tier"], "CUSTOMER_AWS_ACCOUNT_ID": ["111122223333"]}}),
            pairs(&[("c1", "gb"), ("c1", "tier")]),
        ),
        (
            json!({"ProductCode": "contract", "Filter": {"DIMENSION": ["sso"], "CUSTOMER_IDENTIFIER": ["c2"]}}),
            vec![],
        ),
        (
            json!({"ProductCode": "ca-contract", "Filter": {"LICENSE_ARN": [LICENSE_2, LICENSE_3]}}),
            pairs(&[(LICENSE_2, "requests"), (LICENSE_3, "requests")]),
        ),
        (
            json!({"ProductCode": "ca-contract", "Filter": {"CUSTOMER_AWS_ACCOUNT_ID": ["111122223333"], "LICENSE_ARN": [LICENSE_2, LICENSE_3]}}),
            pairs(&[(LICENSE_2, "requests")]),
        ),
        (
            json!({"ProductCode": "contract", "Filter": {"LICENSE_ARN": [LICENSE_1]}}),
            vec![],
        ),
    ];
    for wire in WIRES {
        for (input, expected) in &cases {
            let a = m.get_entitlements(wire, input.clone());
            assert_eq!(
                who_and_what(&entitlements(&a)),
                *expected,
                "{wire:?} {input}"
            );
            assert_eq!(a.body.get("NextToken"), None);
        }
    }
}

#[test]
fn customer_identifier_and_account_filters_are_mutually_exclusive() {
    let mut m = mock();
    for wire in WIRES {
        let a = m.get_entitlements(
            wire,
            json!({"ProductCode": "contract", "Filter": {"CUSTOMER_IDENTIFIER": ["c1"], "CUSTOMER_AWS_ACCOUNT_ID": ["111122223333"]}}),
        );
        invalid_parameter(&a, "mutually exclusive");
    }
}

/// Every page of a listing, following NextToken on `wire`.
fn all_pages(m: &mut Mock, wire: Wire, input: Value) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut request = input;
    loop {
        let a = m.get_entitlements(wire, request.clone());
        pages.push(entitlements(&a));
        match a.body.get("NextToken") {
            Some(token) => request["NextToken"] = token.clone(),
            None => return pages,
        }
        assert!(pages.len() < 50, "pagination must end");
    }
}

#[test]
fn pages_of_max_results_cover_the_listing_once() {
    let mut m = mock();
    let whole = entitlements(&m.get_entitlements(Wire::Json, json!({"ProductCode": "contract"})));
    for wire in WIRES {
        let pages = all_pages(
            &mut m,
            wire,
            json!({"ProductCode": "contract", "MaxResults": 2}),
        );
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 2, 2, 1],
            "{wire:?}"
        );
        assert_eq!(pages.concat(), whole, "{wire:?}");
        let filtered = all_pages(
            &mut m,
            wire,
            json!({"ProductCode": "contract", "MaxResults": 1, "Filter": {"DIMENSION": ["users"]}}),
        );
        assert_eq!(filtered.len(), 3);
        assert_eq!(
            who_and_what(&filtered.concat()),
            pairs(&[("c1", "users"), ("c2", "users"), ("c4", "users")])
        );
    }
    let exact = m.get_entitlements(
        Wire::Json,
        json!({"ProductCode": "contract", "MaxResults": 7}),
    );
    assert_eq!(entitlements(&exact).len(), 7);
    assert_eq!(
        exact.body.get("NextToken"),
        None,
        "no token when nothing is left"
    );
}

#[test]
fn max_results_defaults_to_25() {
    let mut m = Mock::new();
    let customers: Vec<Value> = (0..30)
        .map(|i| json!({"customerIdentifier": format!("c{i:02}"), "entitlements": [{"dimension": "d", "value": {"integerValue": i}}]}))
        .collect();
    m.add_product(json!({"productCode": "big", "dimensions": ["d"], "customers": customers}));
    let first = m.get_entitlements(Wire::Cbor, json!({"ProductCode": "big"}));
    assert_eq!(entitlements(&first).len(), 25);
    let token = first.body["NextToken"].clone();
    let rest = m.get_entitlements(
        Wire::Cbor,
        json!({"ProductCode": "big", "NextToken": token}),
    );
    assert_eq!(entitlements(&rest).len(), 5);
    assert_eq!(rest.body["Entitlements"][4]["Value"]["IntegerValue"], 29);
}

#[test]
fn a_token_continues_only_its_own_product_and_filter() {
    let mut m = mock();
    let first = m.get_entitlements(
        Wire::Json,
        json!({"ProductCode": "contract", "MaxResults": 2, "Filter": {"DIMENSION": ["users", "gb"]}}),
    );
    let token = first.body["NextToken"].clone();
    assert!(token.as_str().is_some_and(|t| !t.is_empty()));
    // The same filter written otherwise is the same listing; the token also crosses wires.
    let same = m.get_entitlements(
        Wire::Cbor,
        json!({"ProductCode": "contract", "MaxResults": 2, "NextToken": token, "Filter": {"DIMENSION": ["gb", "users", "gb"]}}),
    );
    assert_eq!(
        who_and_what(&entitlements(&same)),
        pairs(&[("c2", "users"), ("c4", "users")])
    );
    for wire in WIRES {
        for other in [
            json!({"ProductCode": "contract", "NextToken": token}),
            json!({"ProductCode": "contract", "NextToken": token, "Filter": {"DIMENSION": ["users"]}}),
            json!({"ProductCode": "ca-contract", "NextToken": token, "Filter": {"DIMENSION": ["users", "gb"]}}),
            json!({"ProductCode": "contract", "NextToken": "bm90LWEtdG9rZW4", "Filter": {"DIMENSION": ["users", "gb"]}}),
        ] {
            let a = m.get_entitlements(wire, other.clone());
            invalid_parameter(&a, "NextToken is not valid");
        }
        let a = m.get_entitlements(
            wire,
            json!({"ProductCode": "contract", "NextToken": "has space"}),
        );
        invalid_parameter(
            &a,
            "at 'nextToken' failed to satisfy constraint: Member must satisfy regular expression pattern: \\S+",
        );
    }
    assert_eq!(m.control("POST", "/reset", None).status, 200);
    with_entitlements(&mut m);
    let a = m.get_entitlements(
        Wire::Json,
        json!({"ProductCode": "contract", "MaxResults": 2, "NextToken": token, "Filter": {"DIMENSION": ["users", "gb"]}}),
    );
    invalid_parameter(&a, "NextToken is not valid");
}

#[test]
fn invalid_input_is_an_invalid_parameter_exception_in_the_aws_validation_wording() {
    let mut m = mock();
    let cases = [
        (
            json!({}),
            "1 validation error detected: Value null at 'productCode' failed to satisfy constraint: Member must not be null",
        ),
        (
            json!({"ProductCode": ""}),
            "Value '' at 'productCode' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            json!({"ProductCode": "contract", "MaxResults": 26}),
            "Value '26' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 25",
        ),
        (
            json!({"ProductCode": "contract", "MaxResults": 0}),
            "Member must have value greater than or equal to 1",
        ),
        (
            json!({"ProductCode": "contract", "Filter": {"PRODUCT": ["x"]}}),
            "Value 'PRODUCT' at 'filter' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy enum value set: [CUSTOMER_IDENTIFIER, DIMENSION, CUSTOMER_AWS_ACCOUNT_ID, LICENSE_ARN]]",
        ),
        (
            json!({"ProductCode": "contract", "Filter": {"DIMENSION": []}}),
            "Value '{DIMENSION=[]}' at 'filter' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length greater than or equal to 1]",
        ),
        (
            json!({"ProductCode": "nope"}),
            "ProductCode 'nope' is not a product of the namespace 'test'",
        ),
    ];
    for wire in WIRES {
        for (input, expected) in &cases {
            let a = m.get_entitlements(wire, input.clone());
            invalid_parameter(&a, expected);
        }
    }
}

#[test]
fn wrong_types_and_broken_cbor_are_serialization_exceptions() {
    let mut m = mock();
    for wire in WIRES {
        for input in [
            json!({"ProductCode": 5}),
            json!({"ProductCode": "contract", "Filter": ["DIMENSION"]}),
            json!({"ProductCode": "contract", "Filter": {"DIMENSION": "users"}}),
            json!({"ProductCode": "contract", "MaxResults": "5"}),
        ] {
            let a = m.get_entitlements(wire, input.clone());
            assert_eq!(
                (a.status, a.error_name()),
                (400, "SerializationException"),
                "{wire:?} {input}"
            );
        }
    }
    for body in ["bf6b50726f64756374436f646561", "ff", "a1016170", "00"] {
        let a = m.send_cbor("test", hex(body));
        assert_eq!(
            (a.status, a.error_name()),
            (400, "SerializationException"),
            "{body}"
        );
        assert_eq!(a.response.header("smithy-protocol"), Some("rpc-v2-cbor"));
    }
}

#[test]
fn only_the_seller_or_the_wildcard_caller_reads_a_products_entitlements() {
    let mut m = mock();
    for wire in WIRES {
        for caller in ["test", "AKIAEXAMPLE", "999988887777"] {
            let a = m.get_entitlements_as(wire, caller, json!({"ProductCode": "contract"}));
            assert_eq!(entitlements(&a).len(), 7, "{caller}");
        }
        let a = m.get_entitlements_as(wire, "111122223333", json!({"ProductCode": "contract"}));
        invalid_parameter(
            &a,
            "Account 111122223333 cannot read the entitlements of product contract",
        );
        let a = m.get_entitlements_as(wire, "111122223333", json!({"ProductCode": "ca-contract"}));
        assert_eq!(
            entitlements(&a).len(),
            3,
            "a product that names no seller is read by any account"
        );
    }
}

#[test]
fn the_captured_rust_sdk_request_is_answered_in_cbor() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "p", "dimensions": ["seats"], "customers": [
        {"customerIdentifier": "c", "customerAWSAccountId": "111122223333", "entitlements": [
            {"dimension": "seats", "value": {"integerValue": 5}, "expirationDate": "2027-01-01T00:00:00Z"}]}]}));
    let a = m.send_cbor("AKIDEXAMPLE", hex(RUST_SDK_REQUEST));
    assert_eq!(
        ok(&a),
        &json!({"Entitlements": [{"ProductCode": "p", "Dimension": "seats", "CustomerIdentifier": "c",
            "CustomerAWSAccountId": "111122223333", "Value": {"IntegerValue": 5}, "ExpirationDate": 1798761600}]})
    );
    assert_eq!(a.response.header("smithy-protocol"), Some("rpc-v2-cbor"));
    assert!(a.response.header("x-amzn-RequestId").is_some());
}

#[test]
fn cbor_errors_name_the_absolute_shape_id_and_send_no_error_type_header() {
    let mut m = mock();
    let a = m.get_entitlements(Wire::Cbor, json!({"ProductCode": "nope"}));
    assert_eq!(
        a.body["__type"],
        "com.amazonaws.marketplaceentitlementservice#InvalidParameterException"
    );
    assert!(a.body["message"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(a.response.header("x-amzn-ErrorType"), None);
    assert_eq!(a.response.header("smithy-protocol"), Some("rpc-v2-cbor"));
    let a = m.get_entitlements(Wire::Json, json!({"ProductCode": "nope"}));
    assert_eq!(
        a.response.header("x-amzn-ErrorType"),
        Some("InvalidParameterException")
    );
    assert_eq!(a.body["__type"], "InvalidParameterException");
}

fn cbor_request(headers: &[(&str, &str)], path: &str) -> HttpRequest {
    let mut all: Vec<(String, String)> = vec![
        ("Authorization".into(), "AWS4-HMAC-SHA256 Credential=test/20260310/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=00".into()),
        ("X-Amz-Date".into(), "20260310T123000Z".into()),
    ];
    all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        headers: all,
        body: hex(RUST_SDK_REQUEST),
        ..Default::default()
    }
}

#[test]
fn rpc_v2_cbor_routing_follows_the_smithy_rules() {
    let mut m = mock();
    let cbor = [
        ("Smithy-Protocol", "rpc-v2-cbor"),
        ("Content-Type", "application/cbor"),
    ];
    let absolute = "/service/com.amazonaws.marketplaceentitlementservice.AWSMPEntitlementService/operation/GetEntitlements";
    let a = m.send(cbor_request(&cbor, absolute));
    invalid_parameter(&a, "ProductCode 'p'");
    let mut with_target = cbor.to_vec();
    with_target.push(("X-Amz-Target", "AWSMPEntitlementService.GetEntitlements"));
    for (headers, path) in [
        (&with_target[..], RPC_V2_CBOR_PATH),
        (&cbor[1..], RPC_V2_CBOR_PATH),
        (
            &cbor[..],
            "/service/AWSMPMeteringService/operation/MeterUsage",
        ),
        (&cbor[..], "/service/AWSMPEntitlementService/operation/Nope"),
    ] {
        let a = m.send(cbor_request(headers, path));
        assert_eq!(
            (a.status, a.error_name()),
            (400, "UnknownOperationException"),
            "{path} {headers:?}"
        );
        assert_eq!(a.response.header("smithy-protocol"), Some("rpc-v2-cbor"));
    }
    let a = m.send(cbor_request(
        &[
            ("Smithy-Protocol", "rpc-v2-cbor"),
            ("Content-Type", "application/json"),
        ],
        RPC_V2_CBOR_PATH,
    ));
    assert_eq!(a.error_name(), "SerializationException");
    // Namespaces prefix the path as for awsJson.
    let routed =
        route::split("/ns/team-a/service/AWSMPEntitlementService/operation/GetEntitlements")
            .unwrap();
    assert_eq!(
        (routed.namespace, routed.path.as_str()),
        ("team-a", RPC_V2_CBOR_PATH)
    );
}

#[test]
fn awsjson_targets_select_the_service_and_its_operations() {
    let mut m = mock();
    let a = m.call("GetEntitlements", json!({"ProductCode": "contract"}));
    assert_eq!(
        a.error_name(),
        "UnknownOperationException",
        "GetEntitlements is not a Metering operation"
    );
    let mut req = cbor_request(
        &[("X-Amz-Target", "AWSMPEntitlementService.MeterUsage")],
        "/",
    );
    req.body = b"{}".to_vec();
    assert_eq!(m.send(req).error_name(), "UnknownOperationException");
}

#[test]
fn queued_faults_answer_get_entitlements_on_both_wires() {
    let mut m = mock();
    for (error, count) in [
        ("ThrottlingException", 2),
        ("InternalServiceErrorException", 1),
        ("InvalidParameterException", 1),
    ] {
        let a = m.control(
            "POST",
            "/faults",
            Some(json!({"operation": "GetEntitlements", "error": error, "count": count})),
        );
        assert_eq!(a.status, 201, "{:?}", a.body);
    }
    let refused = m.control(
        "POST",
        "/faults",
        Some(json!({"operation": "GetEntitlements", "error": "DisabledApiException"})),
    );
    assert_eq!(refused.status, 400);
    let metering = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "contract", "UsageRecords": []}),
    );
    assert_eq!(metering.status, 200, "other operations are unaffected");
    let input = json!({"ProductCode": "contract"});
    let seen: Vec<(u16, String)> = [Wire::Json, Wire::Cbor, Wire::Cbor, Wire::Json, Wire::Cbor]
        .into_iter()
        .map(|wire| {
            let a = m.get_entitlements(wire, input.clone());
            (a.status, a.error_name().to_string())
        })
        .collect();
    assert_eq!(
        seen,
        [
            (400, "ThrottlingException".to_string()),
            (400, "ThrottlingException".into()),
            (500, "InternalServiceErrorException".into()),
            (400, "InvalidParameterException".into()),
            (200, "<no error>".into()),
        ]
    );
}

#[test]
fn verified_signatures_apply_to_cbor_requests_too() {
    let mut m = mock();
    m.set(json!({"signatureCredentials": {"AKIDTEAM": "s3cret"}}));
    let a = m.get_entitlements(Wire::Cbor, json!({"ProductCode": "contract"}));
    assert_eq!(
        (a.status, a.error_name()),
        (403, "UnrecognizedClientException")
    );
    let a = m.get_entitlements_as(Wire::Cbor, "AKIDTEAM", json!({"ProductCode": "contract"}));
    assert_eq!(
        (a.status, a.error_name()),
        (403, "InvalidSignatureException")
    );
}

#[test]
fn subscription_changes_show_in_the_next_listing() {
    let mut m = mock();
    let a = m.control(
        "POST",
        "/subscriptions",
        Some(json!({"productCode": "contract", "customerIdentifier": "c4", "action": "unsubscribe-success"})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let a = m.control(
        "POST",
        "/subscriptions",
        Some(json!({"productCode": "contract", "customerIdentifier": "c3", "action": "subscribe-success"})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let list = entitlements(&m.get_entitlements(
        Wire::Json,
        json!({"ProductCode": "contract", "Filter": {"DIMENSION": ["users"]}}),
    ));
    assert_eq!(
        who_and_what(&list),
        pairs(&[("c1", "users"), ("c2", "users"), ("c3", "users")])
    );
}

#[test]
fn cbor_bodies_beyond_64_kib_are_refused_before_decoding() {
    let mut m = mock();
    // {"ProductCode": [0, 0, …]}: one byte per item, the costliest shape to decode.
    let mut body = hex("a16b50726f64756374436f64659f");
    body.resize(64 * 1024, 0);
    body.push(0xff);
    let a = m.send_cbor("test", body);
    invalid_parameter(&a, "at most 65536 bytes");
    let mut fits = hex("a16b50726f64756374436f64659f");
    fits.resize(64 * 1024 - 1, 0);
    fits.push(0xff);
    assert_eq!(
        m.send_cbor("test", fits).error_name(),
        "SerializationException"
    );
}
