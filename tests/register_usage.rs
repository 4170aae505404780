//! RegisterUsage driven natively: signatures that verify against the published keys, key
//! rotation and retirement, every modeled error, the first-call rule and the registrations
//! it records.

mod common;

use common::{at, with_catalogue, Answer, Mock, NOW};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

const BUYER: &str = "111122223333";
const OTHER_BUYER: &str = "444455556666";
const STRANGER: &str = "123412341234";

/// `with_catalogue`, plus a container product `box` sold by 999988887777 in two Regions.
fn mock() -> Mock {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.add_product(json!({
        "productCode": "box", "dimensions": ["vcpu"], "sellerAccountId": "999988887777",
        "regions": ["us-east-1", "eu-west-1"],
        "customers": [
            {"customerAWSAccountId": BUYER},
            {"customerAWSAccountId": OTHER_BUYER}
        ]
    }));
    m
}

/// A RegisterUsage input for product `box`.
fn input(version: i64, nonce: Option<&str>) -> Value {
    let mut input = json!({"ProductCode": "box", "PublicKeyVersion": version});
    if let Some(nonce) = nonce {
        input["Nonce"] = json!(nonce);
    }
    input
}

fn register(m: &mut Mock, key: &str, input: Value) -> Answer {
    m.call_as(key, "us-east-1", "RegisterUsage", input)
}

fn register_task(m: &mut Mock, key: &str, task: &str, input: Value) -> Answer {
    m.call_with(
        key,
        "us-east-1",
        "RegisterUsage",
        input,
        &[("X-Mock-Task-Id", task)],
    )
}

fn jwks(m: &mut Mock) -> Vec<Value> {
    let a = m.control("GET", "/keys/jwks.json", None);
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["keys"].as_array().unwrap().clone()
}

/// Verifies a signature with the JWK of `version` and returns its claims.
fn verify(m: &mut Mock, signature: &str, version: &str) -> Result<Value, String> {
    let keys = jwks(m);
    let jwk = keys.iter().find(|k| k["kid"] == version).expect("kid");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let mut validation = Validation::new(Algorithm::PS256);
    validation.required_spec_claims.clear();
    decode::<Value>(
        signature,
        &DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .map(|t| t.claims)
    .map_err(|e| e.to_string())
}

fn signature(a: &Answer) -> &str {
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["Signature"].as_str().unwrap()
}

fn error(a: &Answer) -> (u16, &str) {
    (a.status, a.error_name())
}

#[test]
fn the_signature_is_a_ps256_jwt_over_the_request_that_verifies_with_the_published_key() {
    let mut m = mock();
    let a = register(&mut m, BUYER, input(1, Some("task-1")));
    let token = signature(&a).to_string();
    assert!(a.body.get("PublicKeyRotationTimestamp").is_none());
    let header = decode_header(&token).unwrap();
    assert_eq!(
        (header.alg, header.typ.as_deref()),
        (Algorithm::PS256, Some("JWT"))
    );
    assert_eq!(header.kid, None);
    let claims = verify(&mut m, &token, "1").unwrap();
    assert_eq!(
        claims,
        json!({
            "productCode": "box", "ProductCode": "box",
            "publicKeyVersion": 1, "PublicKeyVersion": 1,
            "nonce": "task-1", "Nonce": "task-1",
            "iat": at(NOW).millis() / 1000
        })
    );
}

#[test]
fn the_pem_and_the_jwks_publish_the_same_key() {
    let mut m = mock();
    // Reading makes no key; POST /_mock/keys makes version 1, once.
    let none = m.control("GET", "/keys", None);
    assert_eq!((none.status, none.body["keys"].clone()), (200, json!([])));
    assert_eq!(jwks(&mut m), Vec::<Value>::new());
    assert_eq!(m.control("GET", "/keys/1", None).status, 404);
    assert_eq!(m.control("POST", "/keys", None).status, 201);
    assert_eq!(m.control("POST", "/keys", None).status, 200);
    let listed = m.control("GET", "/keys", None);
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["currentVersion"], 1);
    let key = &listed.body["keys"][0];
    assert_eq!(key["version"], 1);
    assert_eq!(key["status"], "active");
    assert_eq!(key["algorithm"], "PS256");
    let pem = m.control_text("GET", "/keys/1");
    assert_eq!(pem.0, 200);
    assert_eq!(pem.1, key["publicKeyPem"].as_str().unwrap());
    assert_eq!(m.control_text("GET", "/keys/1.pem"), pem);
    let public =
        <rsa::RsaPublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_pem(&pem.1).unwrap();
    let jwk = &jwks(&mut m)[0];
    use base64::Engine;
    use rsa::traits::PublicKeyParts;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    assert_eq!(jwk["n"], b64.encode(public.n().to_bytes_be()));
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(
        (jwk["kty"].clone(), jwk["alg"].clone()),
        (json!("RSA"), json!("PS256"))
    );
    assert_eq!(public.size(), 256, "a 2048-bit modulus");

    assert_eq!(m.control("GET", "/keys/2", None).status, 404);
    assert_eq!(m.control("GET", "/keys/x", None).status, 404);
    assert_eq!(m.control("DELETE", "/keys/1", None).status, 405);
    assert_eq!(m.control("GET", "/keys/rotate", None).status, 405);
}

#[test]
fn each_namespace_has_its_own_keys() {
    let mut a = mock();
    let mut b = Mock::named("other");
    with_catalogue(&mut b);
    assert_eq!(a.control("POST", "/keys", None).status, 201);
    assert_eq!(b.control("POST", "/keys", None).status, 201);
    let ka = a.control("GET", "/keys", None).body["keys"][0]["publicKeyPem"].clone();
    let kb = b.control("GET", "/keys", None).body["keys"][0]["publicKeyPem"].clone();
    assert_ne!(ka, kb);
}

#[test]
fn rotation_adds_a_version_and_each_version_signs_with_its_own_key() {
    let mut m = mock();
    let v2 = register(&mut m, BUYER, input(2, None));
    assert_eq!(error(&v2), (400, "InvalidPublicKeyVersionException"));
    assert!(
        v2.message().contains("current version is 1"),
        "{}",
        v2.message()
    );

    let rotated = m.control("POST", "/keys/rotate", None);
    assert_eq!(rotated.status, 201, "{:?}", rotated.body);
    assert_eq!(rotated.body["currentVersion"], 2);
    assert_eq!(rotated.body["keys"][0]["status"], "active");

    let one = signature(&register(&mut m, BUYER, input(1, None))).to_string();
    let two = signature(&register(&mut m, BUYER, input(2, None))).to_string();
    assert_eq!(verify(&mut m, &two, "2").unwrap()["publicKeyVersion"], 2);
    assert_eq!(verify(&mut m, &one, "1").unwrap()["publicKeyVersion"], 1);
    assert!(
        verify(&mut m, &two, "1").is_err(),
        "version 1's key must not verify version 2's signature"
    );
    assert!(verify(&mut m, &one, "2").is_err());

    let bad = m.control("POST", "/keys/rotate", Some(json!({"retire": true})));
    assert_eq!(bad.status, 400);
}

#[test]
fn a_retired_version_still_signs_and_answers_its_rotation_timestamp() {
    let mut m = mock();
    let rotated = m.control(
        "POST",
        "/keys/rotate",
        Some(json!({"retirePrevious": true})),
    );
    assert_eq!(rotated.body["keys"][0]["status"], "retired");
    assert_eq!(rotated.body["keys"][0]["retiredAt"], NOW);
    let a = register(&mut m, BUYER, input(1, None));
    let token = signature(&a).to_string();
    assert_eq!(
        a.body["PublicKeyRotationTimestamp"],
        json!(at(NOW).millis() / 1000)
    );
    assert!(verify(&mut m, &token, "1").is_ok());
    let current = register(&mut m, BUYER, input(2, None));
    assert!(current.body.get("PublicKeyRotationTimestamp").is_none());

    m.set(json!({"retiredPublicKeyVersion": "invalid-public-key-version"}));
    let refused = register(&mut m, BUYER, input(1, None));
    assert_eq!(error(&refused), (400, "InvalidPublicKeyVersionException"));

    m.set(json!({"retiredPublicKeyVersion": "rotation-timestamp"}));
    let back = m.control("POST", "/keys/1/reinstate", None);
    assert_eq!(back.body["keys"][0]["status"], "active");
    let again = register(&mut m, BUYER, input(1, None));
    assert!(again.body.get("PublicKeyRotationTimestamp").is_none());
}

#[test]
fn a_retirement_in_the_future_takes_effect_on_the_namespace_clock() {
    let mut m = mock();
    let a = m.control(
        "POST",
        "/keys/1/retire",
        Some(json!({"at": "2026-03-10T13:00:00Z"})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["keys"][0]["status"], "active");
    let before = register(&mut m, BUYER, input(1, None));
    assert!(before.body.get("PublicKeyRotationTimestamp").is_none());
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 1800})));
    let after = register(&mut m, BUYER, input(1, None));
    assert_eq!(
        after.body["PublicKeyRotationTimestamp"],
        json!(at("2026-03-10T13:00:00Z").millis() / 1000)
    );
    assert_eq!(
        m.control("POST", "/keys/1/retire", Some(json!({"at": "soon"})))
            .status,
        400
    );
    assert_eq!(m.control("POST", "/keys/7/retire", None).status, 404);
}

#[test]
fn the_request_is_checked_against_the_model() {
    let mut m = mock();
    common::assert_validation_errors(
        &mut m,
        "RegisterUsage",
        &[
            (
                json!({"PublicKeyVersion": 1}),
                "'productCode' failed to satisfy constraint: Member must not be null",
            ),
            (
                json!({"ProductCode": "box"}),
                "'publicKeyVersion' failed to satisfy constraint: Member must not be null",
            ),
            (
                input(0, None),
                "Member must have value greater than or equal to 1",
            ),
            (
                json!({"ProductCode": "box", "PublicKeyVersion": -3}),
                "greater than or equal to 1",
            ),
            (
                json!({"ProductCode": "b x", "PublicKeyVersion": 1}),
                "regular expression pattern",
            ),
            (
                json!({"ProductCode": "box", "PublicKeyVersion": 1, "Nonce": "n".repeat(256)}),
                "length less than or equal to 255",
            ),
        ],
    );
    let a = register(
        &mut m,
        BUYER,
        json!({"ProductCode": "box", "PublicKeyVersion": "1"}),
    );
    assert_eq!(error(&a), (400, "SerializationException"));
    let ok = register(
        &mut m,
        BUYER,
        json!({"ProductCode": "box", "PublicKeyVersion": 1, "Nonce": "n".repeat(255)}),
    );
    assert_eq!(ok.status, 200);
    let huge = register(
        &mut m,
        BUYER,
        json!({"ProductCode": "box", "PublicKeyVersion": 99999999999u64}),
    );
    assert_eq!(error(&huge), (400, "InvalidPublicKeyVersionException"));
    let long_task = register_task(&mut m, BUYER, &"t".repeat(256), input(1, None));
    assert_eq!(error(&long_task), (400, "ValidationException"));
}

#[test]
fn unknown_products_and_other_regions_are_refused() {
    let mut m = mock();
    let a = register(
        &mut m,
        BUYER,
        json!({"ProductCode": "nope", "PublicKeyVersion": 1}),
    );
    assert_eq!(error(&a), (400, "InvalidProductCodeException"));
    let eu = m.call_as(BUYER, "eu-west-1", "RegisterUsage", input(1, None));
    assert_eq!(eu.status, 200);
    let ap = m.call_as(BUYER, "ap-south-1", "RegisterUsage", input(1, Some("t")));
    assert_eq!(error(&ap), (400, "InvalidRegionException"));
    assert!(
        ap.message().contains("us-east-1, eu-west-1"),
        "{}",
        ap.message()
    );
    // A task registered in its Region still gets the Region error elsewhere: only
    // entitlement and platform errors are limited to the first call.
    register(&mut m, BUYER, input(1, Some("t")));
    let ap = m.call_as(BUYER, "ap-south-1", "RegisterUsage", input(1, Some("t")));
    assert_eq!(error(&ap), (400, "InvalidRegionException"));
}

#[test]
fn only_entitled_buyers_the_seller_and_the_wildcard_caller_may_register() {
    let mut m = mock();
    let stranger = register(&mut m, STRANGER, input(1, None));
    assert_eq!(error(&stranger), (400, "CustomerNotEntitledException"));
    assert!(stranger.message().contains(STRANGER));
    for key in [BUYER, "999988887777", "test", "AKIDEXAMPLE"] {
        let a = register(&mut m, key, input(1, None));
        assert_eq!(a.status, 200, "{key}: {:?}", a.body);
    }
    m.control(
        "POST",
        "/subscriptions",
        Some(json!({"productCode": "box", "customerAWSAccountId": OTHER_BUYER, "action": "unsubscribe-pending"})),
    );
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 3600})));
    let gone = register(&mut m, OTHER_BUYER, input(1, None));
    assert_eq!(error(&gone), (400, "CustomerNotEntitledException"));
}

#[test]
fn only_a_tasks_first_call_can_fail_on_entitlement_or_platform() {
    let mut m = mock();
    let first = register(&mut m, OTHER_BUYER, input(1, Some("pod-a")));
    assert_eq!(first.status, 200);
    let by_header = register_task(
        &mut m,
        OTHER_BUYER,
        "task-h",
        input(1, Some("changes-every-call-1")),
    );
    assert_eq!(by_header.status, 200);

    m.control(
        "POST",
        "/subscriptions",
        Some(json!({"productCode": "box", "customerAWSAccountId": OTHER_BUYER, "action": "unsubscribe-success"})),
    );
    m.set(json!({"containerPlatform": "ec2"}));
    let same_task = register(&mut m, OTHER_BUYER, input(1, Some("pod-a")));
    assert_eq!(same_task.status, 200, "{:?}", same_task.body);
    let header_task = register_task(
        &mut m,
        OTHER_BUYER,
        "task-h",
        input(1, Some("changes-every-call-2")),
    );
    assert_eq!(
        header_task.status, 200,
        "the header names the task, not the nonce"
    );
    assert_eq!(
        verify(&mut m, signature(&header_task), "1").unwrap()["nonce"],
        "changes-every-call-2"
    );

    let new_task = register(&mut m, OTHER_BUYER, input(1, Some("pod-b")));
    assert_eq!(error(&new_task), (400, "PlatformNotSupportedException"));
    m.set(json!({"containerPlatform": "fargate"}));
    let new_task = register(&mut m, OTHER_BUYER, input(1, Some("pod-b")));
    assert_eq!(error(&new_task), (400, "CustomerNotEntitledException"));
    let no_task = register(&mut m, OTHER_BUYER, input(1, None));
    assert_eq!(error(&no_task), (400, "CustomerNotEntitledException"));
    // Tasks belong to their caller: another account cannot borrow pod-a.
    let borrowed = register(&mut m, STRANGER, input(1, Some("pod-a")));
    assert_eq!(error(&borrowed), (400, "CustomerNotEntitledException"));
}

/// A RegisterUsage from a pod (or task) whose role signs with `session_token`.
fn register_in_session(m: &mut Mock, key: &str, session_token: &str, input: Value) -> Answer {
    m.call_with(
        key,
        "us-east-1",
        "RegisterUsage",
        input,
        &[("X-Amz-Security-Token", session_token)],
    )
}

#[test]
fn a_pods_session_is_its_task_whatever_nonce_each_call_draws() {
    let mut m = mock();
    let first = register_in_session(&mut m, OTHER_BUYER, "pod-1-session", input(1, Some("n-1")));
    assert_eq!(first.status, 200, "{:?}", first.body);
    m.control(
        "POST",
        "/subscriptions",
        Some(json!({"productCode": "box", "customerAWSAccountId": OTHER_BUYER, "action": "unsubscribe-success"})),
    );
    // A container restarted inside the same pod draws a fresh nonce (or none).
    for nonce in [Some("n-2"), Some("n-3"), None] {
        let again = register_in_session(&mut m, OTHER_BUYER, "pod-1-session", input(1, nonce));
        assert_eq!(again.status, 200, "{:?}", again.body);
    }
    let new_pod = register_in_session(&mut m, OTHER_BUYER, "pod-2-session", input(1, Some("n-4")));
    assert_eq!(error(&new_pod), (400, "CustomerNotEntitledException"));
    // X-Mock-Task-Id still names the task over the session.
    let by_header = m.call_with(
        OTHER_BUYER,
        "us-east-1",
        "RegisterUsage",
        input(1, None),
        &[
            ("X-Amz-Security-Token", "pod-1-session"),
            ("X-Mock-Task-Id", "task-z"),
        ],
    );
    assert_eq!(error(&by_header), (400, "CustomerNotEntitledException"));

    let list = m
        .control("GET", "/registrations?productCode=box", None)
        .body;
    let tasks = list["registrations"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{list:?}");
    assert_eq!(tasks[0]["taskSource"], "session");
    let task_id = tasks[0]["taskId"].as_str().unwrap();
    assert!(
        task_id.len() == 32 && !task_id.contains("pod"),
        "a digest, never the token"
    );
}

#[test]
fn each_named_task_is_registered_once_however_often_it_calls_and_unnamed_calls_are_counted() {
    let mut m = mock();
    for _ in 0..3 {
        register(&mut m, BUYER, input(1, Some("pod-a")));
    }
    register_task(&mut m, BUYER, "task-7", input(1, None));
    register_task(&mut m, BUYER, "task-7", input(1, None));
    register(&mut m, BUYER, input(1, None));
    register(&mut m, BUYER, input(1, None));
    register(&mut m, STRANGER, input(1, Some("x")));
    let refused = register(&mut m, STRANGER, input(1, None));
    assert_eq!(error(&refused), (400, "CustomerNotEntitledException"));
    let a = m.control("GET", "/registrations?productCode=box", None);
    assert_eq!(a.status, 200, "{:?}", a.body);
    let list = a.body["registrations"].as_array().unwrap();
    let tasks: Vec<(&str, &str)> = list
        .iter()
        .map(|r| {
            (
                r["taskId"].as_str().unwrap(),
                r["taskSource"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(tasks, [("pod-a", "nonce"), ("task-7", "header")]);
    assert_eq!(a.body["count"], 2);
    assert_eq!(a.body["unnamedTasks"], 2, "{:?}", a.body);
    let first = &list[0];
    assert_eq!(first["caller"], BUYER);
    assert_eq!(first["region"], "us-east-1");
    assert_eq!(first["publicKeyVersion"], 1);
    assert_eq!(first["nonce"], "pod-a");
    assert_eq!(first["registeredAt"], NOW);
    assert!(first.get("taskKey").is_none());
    assert_eq!(
        m.control("GET", "/registrations?productCode=saas", None)
            .body["count"],
        0
    );
    assert_eq!(m.control("GET", "/registrations?limit=0", None).status, 400);
    assert_eq!(m.control("GET", "/registrations?bogus=1", None).status, 400);
}

#[test]
fn the_namespace_can_disable_the_api() {
    let mut m = mock();
    m.set(json!({"disabledOperations": ["RegisterUsage"]}));
    let a = register(&mut m, BUYER, input(1, None));
    assert_eq!(error(&a), (400, "DisabledApiException"));
    let metered = m.call(
        "MeterUsage",
        json!({"ProductCode": "box", "Timestamp": common::secs(NOW), "UsageDimension": "vcpu", "UsageQuantity": 1}),
    );
    assert_eq!(metered.status, 200, "other operations go on");
    let refused = m.control(
        "PATCH",
        "/settings",
        Some(json!({"disabledOperations": ["MeterUsage"]})),
    );
    assert_eq!(refused.status, 400);
    m.set(json!({"disabledOperations": []}));
    assert_eq!(register(&mut m, BUYER, input(1, None)).status, 200);
}

#[test]
fn a_reset_keeps_the_keys_and_forgets_the_registrations() {
    let mut m = mock();
    m.control("POST", "/keys/rotate", None);
    let before = m.control("GET", "/keys", None).body;
    register(&mut m, BUYER, input(2, Some("t")));
    register(&mut m, BUYER, input(2, None));
    assert_eq!(m.control("POST", "/reset", None).status, 200);
    assert_eq!(m.control("GET", "/keys", None).body, before);
    let listed = m.control("GET", "/registrations", None).body;
    assert_eq!(
        (listed["count"].clone(), listed["unnamedTasks"].clone()),
        (json!(0), json!(0))
    );
}
