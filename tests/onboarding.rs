//! Buyer onboarding driven natively: registration tokens and ResolveCustomer, the simulated
//! sign-up page, the subscription lifecycle and how metering honours it, entitlements, and
//! the notifications every change produces.

mod common;

use common::{secs, with_catalogue, Mock, LICENSE_1, NOW};
use serde_json::{json, Value};

fn resolve(m: &mut Mock, token: &str) -> common::Answer {
    m.call("ResolveCustomer", json!({ "RegistrationToken": token }))
}

fn lifecycle(m: &mut Mock, body: Value) -> common::Answer {
    m.control("POST", "/subscriptions", Some(body))
}

fn batch_status(m: &mut Mock, account: &str, quantity: u32) -> String {
    let a = m.call(
        "BatchMeterUsage",
        json!({"ProductCode": "saas", "UsageRecords": [
            {"CustomerAWSAccountId": account, "Dimension": "users", "Quantity": quantity, "Timestamp": secs(NOW)}
        ]}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["Results"][0]["Status"].as_str().unwrap().to_string()
}

#[test]
fn a_minted_token_resolves_to_its_customer_once() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let token =
        m.mint_token(json!({"productCode": "saas", "customerAWSAccountId": "111122223333"}));
    let a = resolve(&mut m, &token);
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["CustomerIdentifier"], "c1");
    assert_eq!(a.body["CustomerAWSAccountId"], "111122223333");
    assert_eq!(a.body["ProductCode"], "saas");
    let agreement = a.body["Metadata"]["AgreementId"].as_str().unwrap();
    assert!(
        agreement.starts_with("agmt-") && agreement.len() == 30,
        "{agreement}"
    );
    assert!(a.body.get("LicenseArn").is_none());

    let again = resolve(&mut m, &token);
    assert_eq!(
        (again.status, again.error_name()),
        (400, "ExpiredTokenException")
    );
    assert!(
        again.message().contains("already resolved"),
        "{}",
        again.message()
    );
}

#[test]
fn repeatable_resolution_answers_the_same_until_expiry() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.set(json!({"repeatableTokenResolution": true}));
    let token =
        m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c2", "ttlSeconds": 60}));
    let first = resolve(&mut m, &token);
    let second = resolve(&mut m, &token);
    assert_eq!(first.status, 200);
    assert_eq!(first.body, second.body);
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 60})));
    let late = resolve(&mut m, &token);
    assert_eq!(late.error_name(), "ExpiredTokenException");
    assert!(late.message().contains("expired at"), "{}", late.message());
}

#[test]
fn tokens_expire_after_their_ttl_on_the_namespace_clock() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.set(json!({"registrationTokenTtlSeconds": 120}));
    let token = m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c1"}));
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 119})));
    let fresh = m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c1"}));
    assert_eq!(resolve(&mut m, &fresh).status, 200);
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 120})));
    assert_eq!(
        resolve(&mut m, &token).error_name(),
        "ExpiredTokenException"
    );
}

#[test]
fn concurrent_agreement_tokens_carry_the_license_and_no_customer_identifier() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let token = m.mint_token(json!({"productCode": "ca", "licenseArn": LICENSE_1}));
    let a = resolve(&mut m, &token);
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["LicenseArn"], LICENSE_1);
    assert_eq!(a.body["CustomerAWSAccountId"], "111122223333");
    assert!(a.body.get("CustomerIdentifier").is_none());
    // The account alone is ambiguous: it holds two licenses.
    let ambiguous = m.control(
        "POST",
        "/registration-tokens",
        Some(json!({"productCode": "ca", "customerAWSAccountId": "111122223333"})),
    );
    assert_eq!(ambiguous.status, 400);
    assert!(ambiguous.body["error"]
        .as_str()
        .unwrap()
        .contains("licenseArn"));
}

#[test]
fn unknown_garbled_foreign_and_reset_tokens_are_invalid() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let token = m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c1"}));
    let url_encoded = token
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let unknown = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
    for bad in [unknown, url_encoded.as_str(), "not-a-token", &token[..40]] {
        let a = resolve(&mut m, bad);
        assert_eq!(
            (a.status, a.error_name()),
            (400, "InvalidTokenException"),
            "{bad}"
        );
    }
    // A token of another namespace is unknown here.
    let mut other = Mock::named("other");
    with_catalogue(&mut other);
    assert_eq!(
        resolve(&mut other, &token).error_name(),
        "InvalidTokenException"
    );
    // A reset starts a new incarnation: older tokens are void.
    m.control("POST", "/reset", None);
    with_catalogue(&mut m);
    assert_eq!(
        resolve(&mut m, &token).error_name(),
        "InvalidTokenException"
    );
}

#[test]
fn a_stored_token_record_that_cannot_be_read_is_an_internal_error_not_an_invalid_token() {
    use metering_mock::store::Store;
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let token = m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c1"}));
    let key = metering_mock::domain::registration::token_key(&m.name, &token).unwrap();
    let forever = metering_mock::domain::time::Instant(i64::MAX);
    m.store
        .put_registration_token(&key, "{not a record", forever, common::at(NOW))
        .unwrap();
    let a = resolve(&mut m, &token);
    assert_eq!(
        (a.status, a.error_name()),
        (500, "InternalServiceErrorException"),
        "{:?}",
        a.body
    );
}

#[test]
fn only_the_seller_account_resolves_tokens() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let token = m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c1"}));
    let stranger = m.call_as(
        "111122223333",
        "us-east-1",
        "ResolveCustomer",
        json!({"RegistrationToken": token}),
    );
    assert_eq!(stranger.error_name(), "InvalidTokenException");
    // Another party's data stays out of the message: no seller account, no product.
    assert!(
        !stranger.message().contains("999988887777") && !stranger.message().contains("saas"),
        "{}",
        stranger.message()
    );
    let seller = m.call_as(
        "999988887777",
        "us-east-1",
        "ResolveCustomer",
        json!({"RegistrationToken": token}),
    );
    assert_eq!(seller.status, 200, "{:?}", seller.body);
}

#[test]
fn resolve_customer_validates_its_input() {
    let mut m = Mock::new();
    common::assert_validation_errors(
        &mut m,
        "ResolveCustomer",
        &[
            (
                json!({}),
                "'registrationToken' failed to satisfy constraint: Member must not be null",
            ),
            (
                json!({"RegistrationToken": ""}),
                "Member must satisfy regular expression pattern",
            ),
        ],
    );
    assert_eq!(
        m.call("ResolveCustomer", json!({"RegistrationToken": 5}))
            .error_name(),
        "SerializationException"
    );
}

#[test]
fn minting_refuses_unknown_products_customers_and_options() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    for body in [
        json!({"productCode": "nope", "customerIdentifier": "c1"}),
        json!({"productCode": "saas", "customerIdentifier": "nobody"}),
        json!({"productCode": "saas"}),
        json!({"customerIdentifier": "c1"}),
        json!({"productCode": "saas", "customerIdentifier": "c1", "offerType": "gratis"}),
        json!({"productCode": "saas", "customerIdentifier": "c1", "ttlSeconds": 0}),
        json!({"productCode": "saas", "customerIdentifier": "c1", "surprise": 1}),
    ] {
        let a = m.control("POST", "/registration-tokens", Some(body.clone()));
        assert_eq!(a.status, 400, "{body}: {:?}", a.body);
    }
}

#[test]
fn metering_follows_the_subscription_lifecycle() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let c2 = json!({"productCode": "saas", "customerAWSAccountId": "444455556666"});
    let with = |action: &str| {
        let mut b = c2.clone();
        b["action"] = json!(action);
        b
    };
    assert_eq!(batch_status(&mut m, "444455556666", 1), "Success");
    assert_eq!(lifecycle(&mut m, with("unsubscribe-pending")).status, 200);
    // The final hour: still accepted.
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 3599})));
    assert_eq!(batch_status(&mut m, "444455556666", 1), "Success");
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 3600})));
    assert_eq!(
        batch_status(&mut m, "444455556666", 1),
        "CustomerNotSubscribed"
    );
    assert_eq!(lifecycle(&mut m, with("unsubscribe-success")).status, 200);
    assert_eq!(
        batch_status(&mut m, "444455556666", 1),
        "CustomerNotSubscribed"
    );
    let meter = m.call_as(
        "444455556666",
        "us-east-1",
        "MeterUsage",
        json!({"ProductCode": "saas", "Timestamp": secs(NOW), "UsageDimension": "users", "UsageQuantity": 1}),
    );
    assert_eq!(meter.error_name(), "CustomerNotEntitledException");
    // Re-subscribing restores metering; a second subscribe-success is refused.
    assert_eq!(lifecycle(&mut m, with("subscribe-success")).status, 200);
    assert_eq!(batch_status(&mut m, "444455556666", 2), "DuplicateRecord");
    let twice = lifecycle(&mut m, with("subscribe-success"));
    assert_eq!(twice.status, 409, "{:?}", twice.body);
    let unknown = lifecycle(&mut m, with("cancel"));
    assert_eq!(unknown.status, 400);
}

#[test]
fn customers_are_not_metered_before_subscribe_success_or_after_subscribe_fail() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let signup = m.control(
        "POST",
        "/marketplace/subscribe?productCode=saas&customerAWSAccountId=222233334444&outcome=pending&fulfillmentUrl=http://127.0.0.1:9/register&format=json",
        None,
    );
    assert_eq!(signup.status, 200, "{:?}", signup.body);
    assert_eq!(signup.body["customer"]["subscription"], "pending");
    assert_eq!(
        batch_status(&mut m, "222233334444", 1),
        "CustomerNotSubscribed"
    );
    let body = json!({"productCode": "saas", "customerAWSAccountId": "222233334444", "action": "subscribe-fail"});
    assert_eq!(lifecycle(&mut m, body).status, 200);
    assert_eq!(
        batch_status(&mut m, "222233334444", 1),
        "CustomerNotSubscribed"
    );
    let body = json!({"productCode": "saas", "customerAWSAccountId": "222233334444", "action": "subscribe-success"});
    assert_eq!(lifecycle(&mut m, body).status, 200);
    assert_eq!(batch_status(&mut m, "222233334444", 1), "Success");
}

#[test]
fn every_change_is_logged_as_sns_and_eventbridge_notifications_with_deliveries() {
    let mut m = Mock::new();
    m.add_product(json!({
        "productCode": "hooked", "dimensions": ["users"],
        "webhooks": [{"url": "http://127.0.0.1:9/sns"}, {"url": "http://127.0.0.1:9/eb", "format": "eventbridge"}],
        "customers": [{"customerIdentifier": "c1", "customerAWSAccountId": "111122223333"}]
    }));
    let c1 = json!({"productCode": "hooked", "customerIdentifier": "c1"});
    let mut b = c1.clone();
    b["action"] = json!("unsubscribe-pending");
    lifecycle(&mut m, b);
    let mut b = c1.clone();
    b["entitlements"] = json!([{"dimension": "users", "value": {"integerValue": 10}}]);
    let put = m.control("PUT", "/entitlements", Some(b));
    assert_eq!(put.status, 200, "{:?}", put.body);

    let events = m.control("GET", "/events", None).body["events"]
        .as_array()
        .cloned()
        .unwrap();
    assert_eq!(events.len(), 2);
    let (first, second) = (&events[0], &events[1]);
    assert_eq!(
        (first["seq"].clone(), first["action"].clone()),
        (json!(1), json!("unsubscribe-pending"))
    );
    assert_eq!(
        first["sns"]["TopicArn"],
        "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-hooked"
    );
    let message: Value = serde_json::from_str(first["sns"]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["action"], "unsubscribe-pending");
    assert_eq!(message["customer-identifier"], "c1");
    assert_eq!(message["isFreeTrialTermPresent"], "false");
    assert_eq!(
        first["eventBridge"][0]["detail-type"],
        "Purchase Agreement Ended - Proposer"
    );
    assert_eq!(
        first["eventBridge"][1]["detail-type"],
        "License Deprovisioned - Manufacturer"
    );
    // One SNS delivery, and one EventBridge delivery per event.
    assert_eq!(first["deliveries"].as_array().unwrap().len(), 3);
    assert_eq!(first["deliveries"][0]["status"], "pending");
    assert_eq!(second["action"], "entitlement-updated");
    assert!(second["sns"]["TopicArn"]
        .as_str()
        .unwrap()
        .contains("aws-mp-entitlement-notification-hooked"));
    assert_eq!(
        second["eventBridge"][0]["detail-type"],
        "License Updated - Manufacturer"
    );

    let filtered = m.control("GET", "/events?action=entitlement-updated", None);
    assert_eq!(filtered.body["count"], 1);
    let after = m.control("GET", "/events?after=1", None);
    assert_eq!(after.body["events"][0]["seq"], 2);
    assert_eq!(m.control("GET", "/events?since=1", None).status, 400);
}

#[test]
fn entitlements_are_checked_against_the_product() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    for entitlements in [
        json!([{"dimension": "nope", "value": {"integerValue": 1}}]),
        json!([{"dimension": "users", "value": {"integerValue": 1, "booleanValue": true}}]),
        json!("users"),
    ] {
        let body = json!({"productCode": "saas", "customerIdentifier": "c1", "entitlements": entitlements});
        assert_eq!(m.control("PUT", "/entitlements", Some(body)).status, 400);
    }
    assert_eq!(m.control("GET", "/events", None).body["count"], 0);
}

#[test]
fn the_signup_page_posts_the_token_to_the_fulfillment_url() {
    let mut m = Mock::new();
    m.add_product(json!({
        "productCode": "signup", "dimensions": ["users"], "fulfillmentUrl": "http://127.0.0.1:9/register"
    }));
    // The page only asks; nothing is subscribed until its button POSTs back.
    let confirm = m.control(
        "GET",
        "/marketplace/subscribe?productCode=signup&offerType=free-trial",
        None,
    );
    assert_eq!(confirm.status, 200);
    let shown = String::from_utf8(confirm.response.body.clone()).unwrap();
    assert!(shown.contains("method=\"POST\" action=\"\""), "{shown}");
    assert_eq!(confirm.response.header("X-Frame-Options"), Some("DENY"));
    assert_eq!(m.control("GET", "/events", None).body["count"], 0);
    let a = m.control(
        "POST",
        "/marketplace/subscribe?productCode=signup&offerType=free-trial",
        None,
    );
    assert_eq!(a.status, 200);
    assert_eq!(
        a.response.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let page = String::from_utf8(a.response.body.clone()).unwrap();
    assert!(
        page.contains("action=\"http://127.0.0.1:9/register\""),
        "{page}"
    );
    assert!(page.contains("name=\"x-amzn-marketplace-offer-type\" value=\"free-trial\""));
    let token = page
        .split("name=\"x-amzn-marketplace-token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();

    // A new buyer subscribed: a customer with a random account and identifier, subscribed,
    // with a free trial, and a subscribe-success notification.
    let product = m.control("GET", "/products/signup", None).body["product"].clone();
    let customer = &product["customers"][0];
    assert_eq!(customer["subscription"], "subscribed");
    assert_eq!(customer["freeTrial"], true);
    assert_eq!(customer["customerAWSAccountId"].as_str().unwrap().len(), 12);
    let resolved = resolve(&mut m, &token);
    assert_eq!(
        resolved.body["CustomerIdentifier"],
        customer["customerIdentifier"]
    );
    assert_eq!(
        resolved.body["Metadata"]["AgreementId"],
        customer["agreementId"]
    );
    let events = m.control("GET", "/events", None).body["events"].clone();
    let message: Value =
        serde_json::from_str(events[0]["sns"]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["action"], "subscribe-success");
    assert_eq!(message["isFreeTrialTermPresent"], "true");

    // Without a fulfillment URL there is nowhere to send the buyer.
    m.add_product(json!({"productCode": "nourl", "dimensions": ["users"]}));
    assert_eq!(
        m.control("GET", "/marketplace/subscribe?productCode=nourl", None)
            .status,
        400
    );
    assert_eq!(
        m.control(
            "GET",
            "/marketplace/subscribe?productCode=signup&fulfillmentUrl=ftp://x",
            None
        )
        .status,
        400
    );
}

#[test]
fn a_refused_signup_changes_nothing() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let before = m.control("GET", "/products/saas", None).body;
    for (query, status) in [
        ("productCode=saas&ttlSeconds=0&fulfillmentUrl=http://127.0.0.1:9/r", 400),
        ("productCode=saas&customerIdentifier=c1&outcome=subscribe-fail&offerIdentifier=x&offerType=free-trial&fulfillmentUrl=http://127.0.0.1:9/r", 409),
    ] {
        let a = m.control("POST", &format!("/marketplace/subscribe?{query}"), None);
        assert_eq!(a.status, status, "{query}: {:?}", a.body);
    }
    assert_eq!(m.control("GET", "/products/saas", None).body, before);
    assert_eq!(m.control("GET", "/events", None).body["count"], 0);
}

#[test]
fn a_signup_cannot_take_a_license_of_another_product() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.add_product(json!({"productCode": "ca2", "dimensions": ["requests"], "integration": "concurrent-agreements"}));
    let query = format!(
        "/marketplace/subscribe?productCode=ca2&customerAWSAccountId=111122223333&licenseArn={LICENSE_1}&fulfillmentUrl=http://127.0.0.1:9/r"
    );
    let a = m.control("POST", &query, None);
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert!(a.body["error"]
        .as_str()
        .unwrap()
        .contains("already belongs to product ca"));
}

#[test]
fn malformed_onboarding_requests_are_client_errors_never_500() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let bodies = [
        json!(null),
        json!([]),
        json!("x"),
        json!({}),
        json!({"productCode": 5}),
        json!({"productCode": "saas", "customerIdentifier": []}),
        json!({"productCode": "saas", "customerIdentifier": "c1", "action": 1}),
        json!({"productCode": "saas", "customerIdentifier": "c1", "entitlements": [{"dimension": "users"}]}),
        json!({"productCode": "saas", "customerIdentifier": "c1", "entitlements": [{"dimension": "users", "value": {"doubleValue": "NaN"}}]}),
        json!({"productCode": "saas", "customerIdentifier": "c1", "ttlSeconds": "60"}),
        json!({"productCode": "saas", "customerIdentifier": "c1", "ttlSeconds": 1e300}),
        json!({"productCode": "saas", "customerAWSAccountId": "1", "outcome": "pending"}),
        json!({"productCode": "ca", "customerAWSAccountId": "111122223333", "licenseArn": "nope"}),
        json!({"productCode": "saas", "fulfillmentUrl": "http://x y"}),
    ];
    for (method, path) in [
        ("POST", "/registration-tokens"),
        ("POST", "/subscriptions"),
        ("PUT", "/entitlements"),
        ("POST", "/marketplace/subscribe"),
    ] {
        for body in &bodies {
            let a = m.control(method, path, Some(body.clone()));
            assert!(
                (400..=409).contains(&a.status) && a.body["error"].is_string(),
                "{method} {path} {body}: {} {:?}",
                a.status,
                a.body
            );
        }
    }
    for query in [
        "productCode=saas&outcome=maybe",
        "productCode=saas&format=xml",
        "productCode=saas&ttlSeconds=abc",
        "productCode=saas&surprise=1",
        "productCode=%FF%FE",
        "after=-1",
    ] {
        let a = m.control("GET", &format!("/marketplace/subscribe?{query}"), None);
        assert!(
            (400..=409).contains(&a.status),
            "{query}: {} {:?}",
            a.status,
            a.body
        );
    }
    for query in ["after=x", "limit=0", "limit=100000", "what=1"] {
        assert_eq!(
            m.control("GET", &format!("/events?{query}"), None).status,
            400,
            "{query}"
        );
    }
}

#[test]
fn notifications_always_name_an_agreement_even_for_customers_listed_without_one() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let a = m.control(
        "PUT",
        "/entitlements",
        Some(json!({"productCode": "saas", "customerIdentifier": "c1",
            "entitlements": [{"dimension": "users", "value": {"integerValue": 3}}]})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let agreement = a.body["customer"]["agreementId"]
        .as_str()
        .unwrap()
        .to_string();
    let l = m.control(
        "POST",
        "/subscriptions",
        Some(json!({"productCode": "saas", "customerIdentifier": "c2", "action": "unsubscribe-pending"})),
    );
    assert_eq!(l.status, 200, "{:?}", l.body);
    let events = m.control("GET", "/events", None).body["events"].clone();
    for e in events.as_array().unwrap() {
        let bridged = e["eventBridge"].as_array().expect("EventBridge events");
        assert!(
            !bridged.is_empty() || e["action"] == "entitlement-updated",
            "{e}"
        );
        for eb in bridged {
            let resource = eb["resources"][0].as_str().unwrap();
            assert!(!resource.ends_with("agreement:"), "{resource}");
            assert!(!eb["detail"]["agreement"]["id"].as_str().unwrap().is_empty());
        }
    }
    assert!(events.to_string().contains(&agreement));
}

#[test]
fn a_resolved_token_never_resolves_again_however_the_clock_moves() {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    let token = m.mint_token(
        json!({"productCode": "saas", "customerIdentifier": "c1", "ttlSeconds": 30 * 86_400}),
    );
    assert_eq!(resolve(&mut m, &token).status, 200);
    for days in [20, 32, 0] {
        m.control(
            "PUT",
            "/clock",
            Some(json!({"offsetSeconds": days * 86_400})),
        );
        m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c2"}));
        assert_ne!(resolve(&mut m, &token).status, 200, "{days} days on");
    }
}

#[test]
fn a_reset_does_not_refill_the_hours_webhook_delivery_budget() {
    use metering_mock::delivery::{due, next_round};
    let mut m = Mock::new();
    let hooked = |m: &mut Mock| {
        m.add_product(json!({
            "productCode": "hooked", "dimensions": ["users"],
            "webhooks": [{"url": "http://127.0.0.1:9/sns"}],
            "customers": [{"customerIdentifier": "c1", "customerAWSAccountId": "111122223333"}]
        }));
        let a = lifecycle(
            m,
            json!({"productCode": "hooked", "customerIdentifier": "c1", "action": "unsubscribe-pending"}),
        );
        assert_eq!(a.status, 200, "{:?}", a.body);
    };
    let policy = metering_mock::policy::deployment::WebhookPolicy {
        max_deliveries_per_hour: 1,
        ..metering_mock::policy::deployment::Deployment::default().webhooks
    };
    let now = m.host_now;
    hooked(&mut m);
    assert_eq!(due(&mut m.store, now, &policy).unwrap().len(), 1);
    assert_eq!(m.control("POST", "/reset", None).status, 200);
    hooked(&mut m);
    assert!(
        due(&mut m.store, now, &policy).unwrap().is_empty(),
        "the hour's one delivery was spent before the reset"
    );
    assert!(next_round(&m.store, now, &policy).unwrap() > Some(now));
}
