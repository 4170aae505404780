//! A namespace of a locked deployment: its control API answers only its own control token
//! (or the admin token), its AWS API only signatures by its credentials, a namespace that
//! was never provisioned stays without state, and no answer carries a secret.

mod common;

use common::{signed_meter_usage, with_catalogue, Mock};
use metering_mock::domain::time::Instant;
use metering_mock::policy::deployment::{Deployment, RateLimit};
use metering_mock::policy::rate::TokenBucket;
use metering_mock::policy::routes::{example_path, Access, ROUTES};
use metering_mock::policy::secrets::{Issued, Provision};
use metering_mock::protocol::http::HttpRequest;
use metering_mock::store::Store;
use serde_json::json;

const ADMIN: &str = "admin-token-for-native-tests";

fn issued(seed: u8) -> Issued {
    Issued::from_random(&[seed; 96])
}

/// A provisioned namespace `team` of a locked deployment, with the test catalogue.
fn locked() -> (Mock, Issued) {
    let mut m = Mock::named("team");
    let mine = issued(1);
    m.deployment = Deployment::locked_with(ADMIN);
    m.provision = Some(Provision::new("team", &mine, 7, 0));
    m.bearer = Some(mine.control_token.clone());
    with_catalogue(&mut m);
    (m, mine)
}

fn control_as(m: &mut Mock, token: Option<&str>, method: &str, path: &str) -> u16 {
    m.bearer = token.map(str::to_string);
    let inner = path.trim_start_matches("/_mock");
    m.control(method, inner, None).status
}

#[test]
fn every_control_route_needs_this_namespace_s_token_or_the_admin_token() {
    let (mut m, mine) = locked();
    let foreign = issued(2).control_token;
    for route in ROUTES.iter().filter(|r| r.access == Access::Namespace) {
        let path = example_path(route);
        for wrong in [None, Some(foreign.as_str()), Some("Bearer"), Some("")] {
            assert_eq!(
                control_as(&mut m, wrong, route.method, &path),
                401,
                "{} {path} with {wrong:?}",
                route.method
            );
        }
        for right in [mine.control_token.as_str(), ADMIN] {
            let status = control_as(&mut m, Some(right), route.method, &path);
            assert!(
                status != 401 && status != 403,
                "{} {path}: {status}",
                route.method
            );
        }
        // The store contract and a reset would clear the catalogue the next routes use.
        with_catalogue(&mut m);
    }
}

#[test]
fn a_namespace_that_was_never_provisioned_answers_and_stores_nothing() {
    let mut m = Mock::named("stranger");
    m.deployment = Deployment::locked_with(ADMIN);
    m.bearer = Some(ADMIN.into());
    assert_eq!(m.control("GET", "/health", None).status, 404);
    assert_eq!(m.control("POST", "/products", Some(json!({}))).status, 404);
    let aws = m.send(signed_meter_usage("AKIAANY", "secret", "/ns/stranger/"));
    assert_eq!(
        (aws.status, aws.error_name()),
        (403, "UnrecognizedClientException")
    );
    assert_eq!(m.store.meta("initialized").unwrap(), None);
    assert!(m.store.products().unwrap().is_empty());
}

#[test]
fn aws_calls_need_a_signature_by_the_namespace_s_credentials() {
    let (mut m, mine) = locked();
    let ok = m.send(signed_meter_usage(
        &mine.access_key_id,
        &mine.secret_access_key,
        "/ns/team/",
    ));
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let wrong_secret = m.send(signed_meter_usage(
        &mine.access_key_id,
        "guess",
        "/ns/team/",
    ));
    assert_eq!(wrong_secret.error_name(), "InvalidSignatureException");
    let other = issued(3);
    let unknown = m.send(signed_meter_usage(
        &other.access_key_id,
        &other.secret_access_key,
        "/ns/team/",
    ));
    assert_eq!(unknown.error_name(), "UnrecognizedClientException");
    let mut unsigned: HttpRequest = signed_meter_usage("k", "s", "/ns/team/");
    unsigned.headers.retain(|(n, _)| n != "Authorization");
    assert_eq!(
        m.send(unsigned).error_name(),
        "MissingAuthenticationTokenException"
    );
}

#[test]
fn account_keys_of_the_settings_sign_as_that_account_and_are_never_shown() {
    let (mut m, mine) = locked();
    m.set(json!({"signatureCredentials": {"444455556666": "buyer-secret-value"}}));
    // 444455556666 is not a customer of `ami`: the call is checked as that account.
    let buyer = m.send(signed_meter_usage(
        "444455556666",
        "buyer-secret-value",
        "/ns/team/",
    ));
    assert_eq!(buyer.error_name(), "CustomerNotEntitledException");
    let settings = m.control("GET", "/settings", None);
    let text = settings.body.to_string();
    assert!(!text.contains("buyer-secret-value"), "{text}");
    assert!(!text.contains(&mine.secret_access_key));
    assert_eq!(
        settings.body["signatureCredentialKeyIds"],
        json!(["444455556666"])
    );
    let patched = m.control("PATCH", "/settings", Some(json!({"maxFutureSeconds": 60})));
    assert!(!patched.body.to_string().contains("buyer-secret-value"));
    // The issued key still works beside the configured one.
    let ok = m.send(signed_meter_usage(
        &mine.access_key_id,
        &mine.secret_access_key,
        "/ns/team/",
    ));
    assert_eq!(ok.status, 200, "{:?}", ok.body);
}

#[test]
fn settings_cannot_raise_the_deployment_s_webhook_caps() {
    let (mut m, _) = locked();
    let cap = m.deployment.webhooks.max_attempts;
    let over = m.control(
        "PATCH",
        "/settings",
        Some(json!({"webhookMaxAttempts": cap + 1})),
    );
    assert_eq!(over.status, 400, "{:?}", over.body);
    assert_eq!(
        m.control(
            "PATCH",
            "/settings",
            Some(json!({"webhookMaxAttempts": cap}))
        )
        .status,
        200
    );
}

#[test]
fn over_the_rate_control_calls_get_429_and_aws_calls_throttling() {
    let (mut m, mine) = locked();
    let limit = RateLimit {
        per_second: 1.0,
        burst: 2.0,
    };
    m.rate = Some(TokenBucket::new(limit, m.host_now.millis()));
    assert_eq!(m.control("GET", "/health", None).status, 200);
    let aws = |m: &mut Mock| {
        m.send(signed_meter_usage(
            &mine.access_key_id,
            &mine.secret_access_key,
            "/ns/team/",
        ))
    };
    assert_eq!(aws(&mut m).status, 200);
    let limited = m.control("GET", "/health", None);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.response.header("Retry-After"), Some("1"));
    let throttled = aws(&mut m);
    assert_eq!(
        (throttled.status, throttled.error_name()),
        (400, "ThrottlingException")
    );
    // A stranger's refused calls take nothing from the team's rate.
    m.host_now = Instant(m.host_now.millis() + 1000);
    m.bearer = Some("mmct_stranger".into());
    for _ in 0..5 {
        assert_eq!(m.control("GET", "/health", None).status, 401);
    }
    m.bearer = Some(mine.control_token.clone());
    assert_eq!(m.control("GET", "/health", None).status, 200);
}

#[test]
fn signatures_far_from_the_deployment_s_time_and_presigned_requests_are_refused() {
    let (mut m, mine) = locked();
    let signed = || signed_meter_usage(&mine.access_key_id, &mine.secret_access_key, "/ns/team/");
    let now = m.host_now;
    m.host_now = Instant(now.millis() + 16 * 60 * 1000);
    let late = m.send(signed());
    assert_eq!(late.error_name(), "InvalidSignatureException");
    assert!(late.body["message"].as_str().unwrap().contains("expired"));
    m.host_now = Instant(now.millis() + 14 * 60 * 1000);
    assert_eq!(m.send(signed()).status, 200);
    let mut presigned = signed();
    presigned.headers.retain(|(n, _)| n != "Authorization");
    presigned.query = format!(
        "X-Amz-Credential={}%2F20260310%2Fus-east-1%2Faws-marketplace%2Faws4_request&X-Amz-Date=20260310T123000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
        mine.access_key_id
    );
    assert_eq!(m.send(presigned).error_name(), "InvalidSignatureException");
}

#[test]
fn only_requests_with_the_namespace_s_credential_count_as_its_use() {
    let (mut m, mine) = locked();
    let control = |token: &str| HttpRequest {
        method: "GET".into(),
        path: "/_mock/health".into(),
        headers: vec![("Authorization".into(), format!("Bearer {token}"))],
        ..Default::default()
    };
    assert!(m.credited(control(&mine.control_token)));
    assert!(!m.credited(control("mmct_stranger")));
    let signed = |secret: &str| signed_meter_usage(&mine.access_key_id, secret, "/ns/team/");
    assert!(m.credited(signed(&mine.secret_access_key)));
    assert!(!m.credited(signed("guess")));
    let mut unsigned = signed(&mine.secret_access_key);
    unsigned.headers.retain(|(n, _)| n != "Authorization");
    assert!(!m.credited(unsigned));
}

/// A shared deployment keeps its namespaces small: 100 products (`MAX_PRODUCTS`), where an
/// open one takes 10,000.
#[test]
fn a_locked_namespace_holds_a_hundred_products() {
    let (mut m, _) = locked();
    let existing = m.control("GET", "/products", None).body["products"]
        .as_array()
        .map_or(0, Vec::len);
    for i in existing..100 {
        let product = json!({"productCode": format!("p{i}"), "dimensions": ["d"]});
        assert_eq!(
            m.control("POST", "/products", Some(product)).status,
            201,
            "product {i}"
        );
    }
    let one_more = json!({"productCode": "one-more", "dimensions": ["d"]});
    assert_eq!(m.control("POST", "/products", Some(one_more)).status, 409);
}

#[test]
fn the_agreement_service_and_discovery_are_locked_like_metering() {
    let (mut m, _) = locked();
    // A key the namespace did not issue: refused in the call's own protocol, not journaled.
    for cbor in [false, true] {
        let a = m.agreement_as("AKIASTRANGER", cbor, "SearchAgreements", json!({}));
        assert_eq!(
            (a.status, a.error_name()),
            (403, "UnrecognizedClientException"),
            "{:?}",
            a.body
        );
    }
    let json10 = m.agreement_as(
        "AKIASTRANGER",
        false,
        "DescribeAgreement",
        json!({"agreementId": "agmt-1"}),
    );
    assert_eq!(
        json10.response.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let d = m.discovery_as(
        "AKIASTRANGER",
        "/2026-02-05/getOffer",
        json!({"offerId": "offer-1"}),
    );
    assert_eq!(
        (d.status, d.error_name()),
        (403, "UnrecognizedClientException")
    );
    // The Deployment Service's rest-json paths, with any method.
    for (method, path) in [
        (
            "DELETE",
            "/tags/arn%3Aaws%3Aaws-marketplace%3Aus-east-1%3A1%3Ax?tagKeys=a",
        ),
        (
            "POST",
            "/catalogs/AWSMarketplace/products/p/deployment-parameters",
        ),
    ] {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let body = (method == "POST").then(|| json!({"agreementId": "agmt-1"}));
        let a = m.rest_as("AKIASTRANGER", method, path, query, body);
        assert_eq!(
            (a.status, a.error_name()),
            (403, "UnrecognizedClientException"),
            "{path}"
        );
    }
    assert_eq!(m.control("GET", "/requests", None).body["total"], 0);
    // A namespace that was never provisioned stores nothing for them either.
    let mut stranger = Mock::named("stranger");
    stranger.deployment = Deployment::locked_with(ADMIN);
    let a = stranger.agreement_as(
        "test",
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": "ar-1"}),
    );
    assert_eq!(a.error_name(), "UnrecognizedClientException");
    assert_eq!(stranger.store.meta("initialized").unwrap(), None);
}

/// A locked namespace's product `signup`, which sends buyers to the seller's page.
fn with_signup_product(m: &mut Mock, customers: serde_json::Value) {
    m.add_product(json!({
        "productCode": "signup", "dimensions": ["users"],
        "fulfillmentUrl": "https://seller.example.com/register", "customers": customers
    }));
}

/// Makes a sign-up link with the control token; its query (`link=…`).
fn signup_link(m: &mut Mock, params: serde_json::Value) -> String {
    let made = m.control("POST", "/marketplace/signup-links", Some(params));
    assert_eq!(made.status, 201, "{:?}", made.body);
    let link = made.body["link"].as_str().unwrap();
    assert!(
        link.starts_with("/ns/team/_mock/marketplace/subscribe?link="),
        "{link}"
    );
    link.split_once('?').unwrap().1.to_string()
}

/// A sign-up call with no token: its status and text.
fn by_link(m: &mut Mock, method: &str, query: &str) -> (u16, String) {
    let token = m.bearer.take();
    let answer = m.control_text(method, &format!("/marketplace/subscribe?{query}"));
    m.bearer = token;
    answer
}

#[test]
fn a_sign_up_link_needs_no_token_is_used_once_and_sends_the_buyer_to_the_product_s_url() {
    let (mut m, _mine) = locked();
    with_signup_product(&mut m, json!([]));
    // In a locked deployment the buyer goes to the product's URL, never to one a request names.
    let named = m.control(
        "POST",
        "/marketplace/subscribe?productCode=signup&fulfillmentUrl=https://elsewhere.example/r&format=json",
        None,
    );
    assert_eq!(named.status, 400, "{:?}", named.body);
    let refused = m.control(
        "POST",
        "/marketplace/signup-links",
        Some(json!({"productCode": "signup", "fulfillmentUrl": "https://elsewhere.example/r"})),
    );
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    let query = signup_link(
        &mut m,
        json!({"productCode": "signup", "offerType": "free-trial", "expiresInSeconds": 60}),
    );

    // No token: the link is the credential.
    let page = by_link(&mut m, "GET", &query);
    assert_eq!(page.0, 200, "{}", page.1);
    assert!(page.1.contains("https://seller.example.com/register"));
    let extra = by_link(
        &mut m,
        "GET",
        &format!("{query}&fulfillmentUrl=https://elsewhere.example/r"),
    );
    assert_eq!(extra.0, 400, "{}", extra.1);
    let signed = by_link(&mut m, "POST", &query);
    assert_eq!(signed.0, 200, "{}", signed.1);
    assert!(signed
        .1
        .contains("action=\"https://seller.example.com/register\""));
    assert!(signed.1.contains("x-amzn-marketplace-offer-type"));
    // Used once.
    assert_eq!(by_link(&mut m, "POST", &query).0, 404);
    // A made-up link, or none, opens nothing.
    assert_eq!(by_link(&mut m, "GET", "link=0123456789abcdef").0, 404);
    let without = "/_mock/marketplace/subscribe?productCode=signup";
    assert_eq!(control_as(&mut m, None, "GET", without), 401);
}

#[test]
fn a_refused_sign_up_leaves_its_link_unused_and_a_rotation_removes_links() {
    let (mut m, _mine) = locked();
    with_signup_product(&mut m, json!([]));
    let query = signup_link(
        &mut m,
        json!({"productCode": "signup", "customerIdentifier": "later"}),
    );
    // The customer it names does not exist yet: refused, and the link stays.
    let refused = by_link(&mut m, "POST", &query);
    assert_eq!(refused.0, 400, "{}", refused.1);
    let later = json!([{"customerIdentifier": "later", "customerAWSAccountId": "222233334444"}]);
    with_signup_product(&mut m, later);
    assert_eq!(by_link(&mut m, "POST", &query).0, 200);
    // A rotation takes every unused link with it.
    let unused = signup_link(&mut m, json!({"productCode": "signup"}));
    let removed = metering_mock::control::rotation::remove_planted(
        &mut m.store,
        metering_mock::control::rotation::Keep::default(),
    )
    .unwrap();
    assert_eq!(removed.signup_links, 1);
    assert_eq!(by_link(&mut m, "GET", &unused).0, 404);
}

#[test]
fn a_sign_up_link_expires() {
    let (mut m, _mine) = locked();
    with_signup_product(&mut m, json!([]));
    let query = signup_link(
        &mut m,
        json!({"productCode": "signup", "expiresInSeconds": 60}),
    );
    m.host_now = Instant(m.host_now.millis() + 61_000);
    assert_eq!(by_link(&mut m, "GET", &query).0, 404);
    for bad in [
        json!({"productCode": "signup", "expiresInSeconds": 0}),
        json!({"productCode": "signup", "expiresInSeconds": 3601}),
        json!({"productCode": "signup", "format": "json"}),
        json!({"productCode": "nope"}),
    ] {
        let r = m.control("POST", "/marketplace/signup-links", Some(bad.clone()));
        assert!(
            r.status == 400 || r.status == 404,
            "{bad}: {} {:?}",
            r.status,
            r.body
        );
    }
}
