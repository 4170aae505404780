//! The Marketplace Deployment Service natively: deployment parameters for an agreement's
//! buyer (versions, idempotent retries, expiry by the namespace clock, the per-agreement
//! quota, a secret never answered nor journaled), data-as-a-service configuration jobs
//! (settling by the clock, success and failure by the URL's host, one at a time, paging),
//! tags of both resources, and the rest-json door's paths, query members and 204s. Every
//! answer is held to the model (`common::agreements::deployment`).

mod common;

use common::agreements::{buy_offer, deployment, discovery, set_clock, BUYER, SELLER, STRANGER};
use common::Mock;
use serde_json::{json, Value};

const OFFER: &str = "offer-quicklaunch01";

/// The private offer of product `code`.
fn offer(code: &str) -> String {
    format!("{OFFER}{code}")
}
const SECRET: &str = "sk_live_do-not-leak-4242";
const TOKEN_A: &str = "00000000-0000-4000-8000-00000000000a";
const TOKEN_B: &str = "00000000-0000-4000-8000-00000000000b";

/// A concurrent-agreements product of `SELLER` with a private offer for `BUYER`, the clock
/// frozen, and `BUYER`'s agreement on it.
fn world() -> (Mock, String) {
    let mut mock = Mock::new();
    for code in ["quick", "other"] {
        mock.add_product(json!({
            "productCode": code, "dimensions": ["users"], "prices": {"users": "0.25"},
            "integration": "concurrent-agreements", "sellerAccountId": SELLER,
            "privateOffers": [{"offerId": offer(code), "buyerAccounts": [BUYER]}],
        }));
    }
    set_clock(&mut mock, "2026-03-01T00:00:00Z");
    let id = buy_offer(&mut mock, &offer("quick"), None);
    (mock, id)
}

fn put(mock: &mut Mock, key: &str, agreement_id: &str, extra: Value) -> common::Answer {
    let mut input = json!({
        "catalog": "AWSMarketplace", "productId": "quick", "agreementId": agreement_id,
        "deploymentParameter": {"name": "ApiKey", "secretString": SECRET},
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    deployment(mock, key, "PutDeploymentParameter", input)
}

fn tags_of(mock: &mut Mock, arn: &str) -> common::Answer {
    deployment(
        mock,
        SELLER,
        "ListTagsForResource",
        json!({"resourceArn": arn}),
    )
}

#[test]
fn a_parameter_is_keyed_by_agreement_and_name_and_its_secret_never_answered() {
    let (mut mock, id) = world();
    let first = put(
        &mut mock,
        SELLER,
        &id,
        json!({"clientToken": TOKEN_A, "tags": {"team": "billing"}}),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let dp = first.body["deploymentParameterId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(dp.starts_with("dp-") && dp.len() <= 32, "{dp}");
    assert_eq!(first.body["agreementId"], id.as_str());
    let arn = first.body["resourceArn"].as_str().unwrap().to_string();
    assert_eq!(
        arn,
        format!(
            "arn:aws:aws-marketplace:us-east-1:{SELLER}:AWSMarketplace/DeploymentParameter/{dp}"
        )
    );
    assert_eq!(first.body["tags"], json!({"team": "billing"}));
    // A retry (same token, same members) answers the same; a new version keeps id and tags.
    let retry = put(
        &mut mock,
        SELLER,
        &id,
        json!({"clientToken": TOKEN_A, "tags": {"team": "billing"}}),
    );
    assert_eq!(retry.body, first.body);
    let second = put(
        &mut mock,
        SELLER,
        &id,
        json!({"clientToken": TOKEN_B, "tags": {"team": "ignored"},
               "deploymentParameter": {"name": "ApiKey", "secretString": "rotated"}}),
    );
    assert_eq!(second.body, first.body);
    let reused = put(
        &mut mock,
        SELLER,
        &id,
        json!({"clientToken": TOKEN_A, "deploymentParameter": {"name": "ApiKey", "secretString": "other"}}),
    );
    assert_eq!(reused.error_name(), "ConflictException");
    assert_eq!(reused.body["resourceId"], dp.as_str());
    // Another name is another parameter; the product may be named by its catalog id.
    let got = discovery(
        &mut mock,
        BUYER,
        "GetOffer",
        json!({"offerId": offer("quick")}),
    );
    let product_id = got.body["associatedEntities"][0]["product"]["productId"]
        .as_str()
        .unwrap()
        .to_string();
    let other = put(
        &mut mock,
        SELLER,
        &id,
        json!({"productId": product_id, "deploymentParameter": {"name": "ExternalId", "secretString": "x"}}),
    );
    assert_eq!(other.status, 200, "{}", other.body);
    assert_ne!(other.body["deploymentParameterId"], dp.as_str());
    assert!(other.body.get("tags").is_none());
    let activity = mock.control("GET", "/agreement-activity", None).body;
    let kept = &activity["deploymentParameters"];
    assert_eq!(kept.as_array().unwrap().len(), 2, "{activity}");
    let api_key = kept
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ApiKey")
        .unwrap();
    assert_eq!(api_key["versions"], 2);
    assert_eq!(api_key["secretBytes"], "rotated".len());
    assert_eq!(api_key["deploymentParameterId"], dp.as_str());
    // The secret is in no answer: not the journal's, not the control API's.
    let journal = mock
        .control("GET", "/requests?limit=100", None)
        .body
        .to_string();
    let everything = format!("{journal}{activity}");
    for secret in [SECRET, "rotated"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    assert!(
        journal.contains("*** sensitive (not kept) ***"),
        "{journal}"
    );
    assert_eq!(
        tags_of(&mut mock, &arn).body,
        json!({"tags": {"team": "billing"}})
    );
}

#[test]
fn only_the_seller_finds_the_product_and_its_agreements() {
    let (mut mock, id) = world();
    for key in [BUYER, STRANGER] {
        let refused = put(&mut mock, key, &id, json!({}));
        assert_eq!(refused.error_name(), "ResourceNotFoundException", "{key}");
        assert_eq!(refused.status, 404);
    }
    let unknown = put(&mut mock, SELLER, "agmt-nosuchagreement0000000", json!({}));
    assert_eq!(unknown.error_name(), "ResourceNotFoundException");
    assert!(
        unknown.message().contains("agmt-nosuchagreement"),
        "{}",
        unknown.body
    );
    // An agreement of another of the seller's products is not this product's.
    let elsewhere = buy_offer(&mut mock, &offer("other"), None);
    let wrong = put(&mut mock, SELLER, &elsewhere, json!({}));
    assert_eq!(wrong.error_name(), "ResourceNotFoundException");
    let product = put(
        &mut mock,
        SELLER,
        &id,
        json!({"productId": "prod-nosuchproduct"}),
    );
    assert_eq!(product.error_name(), "ResourceNotFoundException");
    // The wildcard caller is every seller.
    assert_eq!(put(&mut mock, "test", &id, json!({})).status, 200);
}

#[test]
fn bad_input_is_a_validation_exception_naming_its_field() {
    let (mut mock, id) = world();
    let cases = [
        (json!({"catalog": "Other"}), "catalog"),
        (
            json!({"expirationDate": "2026-02-01T00:00:00Z"}),
            "expirationDate",
        ),
        (json!({"clientToken": "too-short"}), "clientToken"),
        (
            json!({"deploymentParameter": {"name": "has space", "secretString": "x"}}),
            "deploymentParameter.name",
        ),
        (
            json!({"deploymentParameter": {"name": "n", "secretString": "s".repeat(15_001)}}),
            "deploymentParameter.secretString",
        ),
        (
            json!({"deploymentParameter": {"name": "n"}}),
            "deploymentParameter.secretString",
        ),
        (json!({"tags": {"aws:x": "y"}}), "tags"),
        (json!({"tags": {"k": "y y"}}), "tags"),
    ];
    for (extra, field) in cases {
        let refused = put(&mut mock, SELLER, &id, extra.clone());
        assert_eq!(
            refused.error_name(),
            "ValidationException",
            "{extra}: {}",
            refused.body
        );
        assert_eq!(refused.status, 400);
        let named = refused.body["fieldName"].as_str().unwrap();
        assert!(named.starts_with(field), "{extra}: fieldName {named}");
        assert!(refused.body.get("reason").is_none());
    }
    // A timestamp that is not RFC 3339 is not one (a malformed request: SerializationException).
    let garbled = mock.rest_as(
        SELLER,
        "POST",
        "/catalogs/AWSMarketplace/products/quick/deployment-parameters",
        "",
        Some(json!({"agreementId": id, "expirationDate": "next week",
                    "deploymentParameter": {"name": "n", "secretString": SECRET}})),
    );
    assert_eq!(
        garbled.error_name(),
        "SerializationException",
        "{}",
        garbled.body
    );
    assert_eq!(garbled.status, 400, "{}", garbled.body);
    // A secret's message names its place, never its value (the journal keeps messages).
    let long = format!("{SECRET}{}", "s".repeat(15_000));
    let refused = put(
        &mut mock,
        SELLER,
        &id,
        json!({"deploymentParameter": {"name": "n", "secretString": long}}),
    );
    assert_eq!(
        refused.message(),
        "1 validation error detected: Value at 'deploymentParameter.secretString' failed to satisfy constraint: Member must have length less than or equal to 15000"
    );
    // A timestamp given as a number, or out of every range, is not RFC 3339 text.
    for when in [json!(1_773_100_000), json!(1e300)] {
        let refused = mock.rest_as(
            SELLER,
            "POST",
            "/catalogs/AWSMarketplace/products/quick/deployment-parameters",
            "",
            Some(json!({"agreementId": id, "expirationDate": when,
                        "deploymentParameter": {"name": "n", "secretString": "x"}})),
        );
        assert_eq!(refused.error_name(), "SerializationException", "{when}");
    }
    // A secret sent in another form than the model's, or under a misspelt name, is refused
    // or taken, and journaled masked either way.
    let path = "/catalogs/AWSMarketplace/products/quick/deployment-parameters";
    for body in [
        json!({"agreementId": id, "deploymentParameter": [{"name": "n", "secretString": SECRET}]}),
        json!({"agreementId": id, "deploymentParameter": format!("{{\"secretString\": \"{SECRET}\"}}")}),
        json!({"agreementId": id, "deploymentParameter": {"name": "n", "secretString": "x", "SecretString": SECRET}}),
        json!({"agreementId": id, "secretString": SECRET, "deploymentParameter": {"name": "n"}}),
    ] {
        mock.rest_as(SELLER, "POST", path, "", Some(body));
    }
    // Sent to another operation of the service, a secret is an unknown member: masked too.
    let wrong = json!({"tags": {"k": "v"}, "deploymentParameter": {"secretString": SECRET}});
    mock.rest_as(SELLER, "POST", "/tags/arn%3Aaws%3Ax", "", Some(wrong));
    // Nothing refused was kept, and refused calls journal no secret either.
    // (The misspelt one was taken: unknown members are ignored, as AWS does.)
    let activity = mock.control("GET", "/agreement-activity", None).body;
    let kept = activity["deploymentParameters"].as_array().unwrap();
    assert!(kept.iter().all(|p| p["name"] == "n"), "{activity}");
    let journal = mock
        .control("GET", "/requests?limit=100", None)
        .body
        .to_string();
    assert!(!journal.contains(SECRET), "{journal}");
    assert!(!journal.contains("ssssssssss"), "{journal}");
}

#[test]
fn a_parameter_expires_by_the_namespace_clock_and_agreements_hold_fifty() {
    let (mut mock, id) = world();
    let put_one = put(
        &mut mock,
        SELLER,
        &id,
        json!({"expirationDate": "2026-03-02T00:00:00Z"}),
    );
    let arn = put_one.body["resourceArn"].as_str().unwrap().to_string();
    assert_eq!(tags_of(&mut mock, &arn).status, 200);
    let clock = mock.control("GET", "/clock", None).body;
    assert_eq!(clock["nextDeadline"], "2026-03-02T00:00:00Z", "{clock}");
    set_clock(&mut mock, "2026-03-02T00:00:00Z");
    assert_eq!(
        tags_of(&mut mock, &arn).error_name(),
        "ResourceNotFoundException"
    );
    let again = put(&mut mock, SELLER, &id, json!({}));
    assert_ne!(again.body["resourceArn"], arn.as_str());
    for n in 1..50 {
        let name = format!("Param{n}");
        let made = put(
            &mut mock,
            SELLER,
            &id,
            json!({"deploymentParameter": {"name": name, "secretString": "v"}}),
        );
        assert_eq!(made.status, 200, "{}", made.body);
    }
    let over = put(
        &mut mock,
        SELLER,
        &id,
        json!({"deploymentParameter": {"name": "OneTooMany", "secretString": "v"}}),
    );
    assert_eq!(over.error_name(), "ServiceQuotaExceededException");
    assert_eq!(over.status, 402);
    // A new version of an existing name is still welcome.
    assert_eq!(put(&mut mock, SELLER, &id, json!({})).status, 200);
}

#[test]
fn tags_are_added_listed_and_removed_by_arn() {
    let (mut mock, id) = world();
    let arn = put(&mut mock, SELLER, &id, json!({})).body["resourceArn"]
        .as_str()
        .unwrap()
        .to_string();
    let tagged = deployment(
        &mut mock,
        SELLER,
        "TagResource",
        json!({"resourceArn": arn, "tags": {"a": "1", "b": "2", "c": "3"}}),
    );
    assert_eq!(tagged.status, 204, "{}", tagged.body);
    let untagged = deployment(
        &mut mock,
        SELLER,
        "UntagResource",
        json!({"resourceArn": arn, "tagKeys": ["a", "c", "absent"]}),
    );
    assert_eq!(untagged.status, 204, "{}", untagged.body);
    assert_eq!(tags_of(&mut mock, &arn).body, json!({"tags": {"b": "2"}}));
    let refused = [
        json!({"resourceArn": arn, "tags": {"aws:owner": "x"}}),
        json!({"resourceArn": arn, "tags": {"k": "two words"}}),
        json!({"resourceArn": arn, "tags": (0..50).map(|n| (format!("k{n}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
    ];
    for input in refused {
        let answer = deployment(&mut mock, SELLER, "TagResource", input);
        assert_eq!(
            answer.error_name(),
            "ValidationException",
            "{}",
            answer.body
        );
        assert_eq!(answer.body["fieldName"], "tags");
    }
    for (key, target) in [(STRANGER, arn.clone()), (SELLER, format!("{arn}0"))] {
        let hidden = deployment(
            &mut mock,
            key,
            "ListTagsForResource",
            json!({"resourceArn": target}),
        );
        assert_eq!(hidden.error_name(), "ResourceNotFoundException");
        let untag = deployment(
            &mut mock,
            key,
            "UntagResource",
            json!({"resourceArn": target, "tagKeys": ["b"]}),
        );
        assert_eq!(untag.error_name(), "ResourceNotFoundException");
    }
    let missing = deployment(
        &mut mock,
        SELLER,
        "UntagResource",
        json!({"resourceArn": arn}),
    );
    assert_eq!(missing.body["fieldName"], "tagKeys", "{}", missing.body);
}

fn job_input(url: &str, extra: Value) -> Value {
    let mut input = json!({
        "catalog": "AWSMarketplace", "productId": "quick", "deliveryOptionType": "data-as-a-service",
        "configuration": {"dataAsAService": {"fulfillmentUrl": url}},
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    input
}

fn product_input(extra: Value) -> Value {
    job_input("", extra)
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "configuration")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[test]
fn configuration_jobs_settle_by_the_clock_and_publish_the_newest_success() {
    let (mut mock, _) = world();
    let none = deployment(
        &mut mock,
        SELLER,
        "GetDeploymentConfiguration",
        product_input(json!({})),
    );
    assert_eq!(none.error_name(), "ResourceNotFoundException");
    let http = deployment(
        &mut mock,
        SELLER,
        "StartDeploymentConfigurationJob",
        job_input("http://seller.example.com/signup", json!({})),
    );
    assert_eq!(
        http.body["fieldName"],
        "configuration.dataAsAService.fulfillmentUrl"
    );
    let start = |mock: &mut Mock, url: &str, extra: Value| {
        deployment(
            mock,
            SELLER,
            "StartDeploymentConfigurationJob",
            job_input(url, extra),
        )
    };
    let first = start(
        &mut mock,
        "https://seller.example.com/signup",
        json!({"clientToken": TOKEN_A, "tags": {"team": "web"}}),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["status"], "IN_PROGRESS");
    assert_eq!(first.body["createdAt"], "2026-03-01T00:00:00Z");
    let job = first.body["jobId"].as_str().unwrap().to_string();
    let again = start(
        &mut mock,
        "https://seller.example.com/signup",
        json!({"clientToken": TOKEN_A, "tags": {"team": "web"}}),
    );
    assert_eq!(again.body, first.body);
    let reused = start(
        &mut mock,
        "https://other.example.com/",
        json!({"clientToken": TOKEN_A}),
    );
    assert_eq!(reused.error_name(), "ConflictException");
    let busy = start(&mut mock, "https://other.example.com/", json!({}));
    assert_eq!(busy.error_name(), "ConflictException");
    assert_eq!(busy.body["resourceId"], job.as_str());
    let get_job = |mock: &mut Mock, id: &str| {
        deployment(
            mock,
            SELLER,
            "GetDeploymentConfigurationJob",
            product_input(json!({"jobId": id})),
        )
    };
    // The clock's next deadline is the job's end.
    let clock = mock.control("GET", "/clock", None).body;
    assert_eq!(clock["nextDeadline"], "2026-03-01T00:00:05Z", "{clock}");
    let running = get_job(&mut mock, &job);
    assert_eq!(running.body["status"], "IN_PROGRESS");
    assert!(running.body.get("endedAt").is_none());
    set_clock(&mut mock, "2026-03-01T00:00:05Z");
    let done = get_job(&mut mock, &job);
    assert_eq!(done.body["status"], "SUCCEEDED", "{}", done.body);
    assert_eq!(done.body["endedAt"], "2026-03-01T00:00:05Z");
    let arn = done.body["configurationArn"].as_str().unwrap().to_string();
    assert!(arn.ends_with("/data-as-a-service"), "{arn}");
    let active = deployment(
        &mut mock,
        SELLER,
        "GetDeploymentConfiguration",
        product_input(json!({})),
    );
    assert_eq!(
        active.body,
        json!({"configuration": {"dataAsAService": {"fulfillmentUrl": "https://seller.example.com/signup"}}})
    );
    assert_eq!(
        tags_of(&mut mock, &arn).body,
        json!({"tags": {"team": "web"}})
    );
    // Tags come with the request that creates the configuration only.
    let tagged = start(
        &mut mock,
        "https://seller.example.com/v2",
        json!({"tags": {"t": "v"}}),
    );
    assert_eq!(tagged.body["fieldName"], "tags");
    // A job whose URL cannot be reached fails, and the last success stays published.
    let failing = start(&mut mock, "https://seller.invalid/signup", json!({}));
    let failing = failing.body["jobId"].as_str().unwrap().to_string();
    set_clock(&mut mock, "2026-03-01T00:01:00Z");
    let failed = get_job(&mut mock, &failing);
    assert_eq!(failed.body["status"], "FAILED");
    assert_eq!(failed.body["errorCode"], "FULFILLMENT_URL_UNREACHABLE");
    assert!(failed.body.get("configurationArn").is_none());
    let local = start(&mut mock, "https://127.0.0.1/signup", json!({}));
    let local = local.body["jobId"].as_str().unwrap().to_string();
    set_clock(&mut mock, "2026-03-01T00:02:00Z");
    assert_eq!(
        get_job(&mut mock, &local).body["errorCode"],
        "ENDPOINT_INVALID"
    );
    let still = deployment(
        &mut mock,
        SELLER,
        "GetDeploymentConfiguration",
        product_input(json!({})),
    );
    assert_eq!(still.body, active.body);
    // Jobs list newest first, a page at a time.
    let list = |mock: &mut Mock, extra: Value| {
        deployment(
            mock,
            SELLER,
            "ListDeploymentConfigurationJobs",
            product_input(extra),
        )
    };
    let page = list(&mut mock, json!({"maxResults": 2}));
    let ids: Vec<&str> = page.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["jobId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [local.as_str(), failing.as_str()]);
    let next = page.body["nextToken"].as_str().unwrap().to_string();
    let rest = list(&mut mock, json!({"maxResults": 2, "nextToken": next}));
    assert_eq!(rest.body["jobs"][0]["jobId"], job.as_str());
    assert!(rest.body.get("nextToken").is_none());
    let forged = list(&mut mock, json!({"nextToken": "forged"}));
    assert_eq!(forged.body["fieldName"], "nextToken");
    // Another account sells nothing here: no configuration, no jobs.
    let hidden = deployment(
        &mut mock,
        STRANGER,
        "GetDeploymentConfigurationJob",
        product_input(json!({"jobId": job})),
    );
    assert_eq!(hidden.error_name(), "ResourceNotFoundException");
    let empty = deployment(
        &mut mock,
        STRANGER,
        "ListDeploymentConfigurationJobs",
        product_input(json!({})),
    );
    assert_eq!(empty.body, json!({"jobs": []}));
}

#[test]
fn the_rest_door_reads_paths_queries_and_methods_as_the_model_binds_them() {
    let (mut mock, id) = world();
    let arn = put(&mut mock, SELLER, &id, json!({})).body["resourceArn"]
        .as_str()
        .unwrap()
        .to_string();
    // A path label is percent-decoded; a body member does not stand in for it.
    let encoded: String = arn.replace(':', "%3A").replace('/', "%2F");
    let listed = mock.rest_as(SELLER, "GET", &format!("/tags/{encoded}"), "", None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let wrong_method = mock.rest_as(SELLER, "PUT", &format!("/tags/{encoded}"), "", None);
    assert_eq!(wrong_method.error_name(), "UnknownOperationException");
    assert!(wrong_method.body["message"]
        .as_str()
        .unwrap()
        .contains("another method"));
    let unknown = mock.rest_as(SELLER, "GET", "/catalogs/AWSMarketplace/nothing", "", None);
    assert_eq!(unknown.error_name(), "UnknownOperationException");
    let jobs = "/catalogs/AWSMarketplace/products/quick/delivery-options/data-as-a-service/deployment-configuration/jobs";
    let bad_number = mock.rest_as(SELLER, "GET", jobs, "maxResults=many", None);
    assert_eq!(bad_number.status, 400, "{}", bad_number.body);
    let too_many = mock.rest_as(SELLER, "GET", jobs, "maxResults=101", None);
    assert_eq!(
        too_many.body["fieldName"], "maxResults",
        "{}",
        too_many.body
    );
    let other_option = mock.rest_as(
        SELLER,
        "GET",
        &jobs.replace("data-as-a-service", "saas"),
        "",
        None,
    );
    assert_eq!(
        other_option.body["fieldName"], "deliveryOptionType",
        "{}",
        other_option.body
    );
}
