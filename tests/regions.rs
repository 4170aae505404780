//! Regions for every operation: a product's `regions` limit the SaaS operations too
//! (BatchMeterUsage and ResolveCustomer answer `DisabledApiException`, GetEntitlements
//! `InvalidParameterException`, its only client error), and `disabledOperations` can name
//! the Regions an operation is disabled in.

mod common;

use common::{secs, Mock, NOW};
use metering_mock::protocol::http::HttpRequest;
use serde_json::json;

/// A SaaS product offered in us-east-1 only, customer c1 (account 111122223333).
fn mock() -> Mock {
    let mut m = Mock::named("regions");
    m.add_product(json!({
        "productCode": "east", "dimensions": ["users"], "regions": ["us-east-1"],
        "customers": [{"customerIdentifier": "c1", "customerAWSAccountId": "111122223333"}]
    }));
    m
}

fn batch() -> serde_json::Value {
    json!({"ProductCode": "east", "UsageRecords": [
        {"Timestamp": secs(NOW), "CustomerIdentifier": "c1", "Dimension": "users", "Quantity": 1}]})
}

fn get_entitlements(m: &mut Mock, region: &str) -> common::Answer {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20260310/{region}/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
    );
    m.send(HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        headers: vec![
            ("Authorization".into(), auth),
            ("X-Amz-Date".into(), "20260310T123000Z".into()),
            (
                "X-Amz-Target".into(),
                "AWSMPEntitlementService.GetEntitlements".into(),
            ),
            ("Content-Type".into(), "application/x-amz-json-1.1".into()),
        ],
        body: json!({"ProductCode": "east"}).to_string().into_bytes(),
        ..Default::default()
    })
}

#[test]
fn saas_operations_of_a_product_are_limited_to_its_regions() {
    let mut m = mock();
    let other = m.call_as("test", "eu-central-1", "BatchMeterUsage", batch());
    assert_eq!(
        (other.status, other.error_name()),
        (400, "DisabledApiException")
    );
    assert!(m.usage("").is_empty(), "nothing recorded");
    assert_eq!(
        m.call_as("test", "us-east-1", "BatchMeterUsage", batch())
            .status,
        200
    );

    let token = m.mint_token(json!({"productCode": "east", "customerIdentifier": "c1"}));
    let input = json!({ "RegistrationToken": token });
    let elsewhere = m.call_as("test", "eu-central-1", "ResolveCustomer", input.clone());
    assert_eq!(elsewhere.error_name(), "DisabledApiException");
    let here = m.call_as("test", "us-east-1", "ResolveCustomer", input);
    assert_eq!(
        here.status, 200,
        "the refused call did not use the token up"
    );

    assert_eq!(
        get_entitlements(&mut m, "eu-central-1").error_name(),
        "InvalidParameterException"
    );
    assert_eq!(get_entitlements(&mut m, "us-east-1").status, 200);
}

#[test]
fn disabled_operations_can_name_regions() {
    let mut m = mock();
    m.set(json!({"disabledOperations": {"BatchMeterUsage": ["us-west-2"], "ResolveCustomer": []}}));
    m.add_product(json!({
        "productCode": "everywhere", "dimensions": ["users"],
        "customers": [{"customerIdentifier": "c9"}]
    }));
    let record = |m: &mut Mock, region: &str| {
        let input = json!({"ProductCode": "everywhere", "UsageRecords": [
            {"Timestamp": secs(NOW), "CustomerIdentifier": "c9", "Dimension": "users", "Quantity": 1}]});
        m.call_as("test", region, "BatchMeterUsage", input)
    };
    assert_eq!(
        record(&mut m, "us-west-2").error_name(),
        "DisabledApiException"
    );
    assert_eq!(record(&mut m, "eu-west-1").status, 200);
    let resolve = m.call_as(
        "test",
        "eu-west-1",
        "ResolveCustomer",
        json!({"RegistrationToken": "x"}),
    );
    assert_eq!(resolve.error_name(), "DisabledApiException");
    let shown = m.control("GET", "/settings", None).body["disabledOperations"].clone();
    assert_eq!(
        shown,
        json!({"BatchMeterUsage": ["us-west-2"], "ResolveCustomer": []})
    );
    m.set(json!({"disabledOperations": ["RegisterUsage"]}));
    assert_eq!(
        m.control("GET", "/settings", None).body["disabledOperations"],
        json!({"RegisterUsage": []})
    );
}

#[test]
fn product_and_setting_regions_are_region_names() {
    let mut m = Mock::new();
    for bad in ["US-EAST-1", "us east 1", &"r".repeat(33)] {
        let product = json!({"productCode": "p", "dimensions": ["d"], "regions": [bad]});
        let answer = m.control("POST", "/products", Some(product));
        assert_eq!(answer.status, 400, "{bad:.40}: {}", answer.body);
        assert!(
            answer.body.to_string().contains("is not a Region name"),
            "{}",
            answer.body
        );
        let setting = json!({"disabledOperations": {"BatchMeterUsage": [bad]}});
        let answer = m.control("PATCH", "/settings", Some(setting));
        assert_eq!(answer.status, 400, "{bad:.40}: {}", answer.body);
    }
    let ok =
        json!({"productCode": "p", "dimensions": ["d"], "regions": ["us-gov-west-1", "local"]});
    assert_eq!(m.control("POST", "/products", Some(ok)).status, 201);
}
